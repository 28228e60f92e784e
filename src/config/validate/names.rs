//! Azure's naming rules: vaults, backup policies, resource groups, VMs, subscriptions, regions,
//! and the two ways to name a VM (`rg/name` or its ARM id).

/// Recovery Services vault: 2–50 characters, a letter first, then letters, digits and hyphens.
pub fn vault_name(name: &str) -> Result<(), String> {
    Charset::of(2..=50, alpha, anything, alnum_or_hyphen).check(name, || {
        "a vault name has 2–50 characters: a letter first, then letters, digits and hyphens".into()
    })
}

/// VM backup policy: `^[a-zA-Z][-_!a-zA-Z0-9]{2,149}$`.
pub fn policy_name(name: &str) -> Result<(), String> {
    let any = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '!');
    Charset::of(3..=150, alpha, anything, any).check(name, || {
        "a policy name has 3–150 characters: a letter first, then letters, digits, `-`, `_` and `!`".into()
    })
}

/// Resource group: 1–90 characters of letters, digits, `_`, `-`, `.`, `(`, `)`; not ending in `.`.
pub fn resource_group_name(name: &str) -> Result<(), String> {
    let n = name.chars().count();
    if !(1..=90).contains(&n) {
        return Err("a resource group name has 1–90 characters".into());
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '(' | ')')))
    {
        return Err(format!(
            "`{c}` is not allowed in a resource group name (letters, digits, `_`, `-`, `.`, `(`, `)`)"
        ));
    }
    if name.ends_with('.') {
        return Err("a resource group name cannot end with a period".into());
    }
    Ok(())
}

/// Virtual machine: 1–64 characters, none of `\/"[]:|<>+=;,?*@&~!#$%^'{}` or whitespace,
/// not starting with `_`, not ending with `.` or `-`.
pub fn vm_name(name: &str) -> Result<(), String> {
    let n = name.chars().count();
    if !(1..=64).contains(&n) {
        return Err("a VM name has 1–64 characters".into());
    }
    if let Some(c) = name
        .chars()
        .find(|c| c.is_whitespace() || "\\/\"[]:|<>+=;,?*@&~!#$%^'{}`".contains(*c))
    {
        return Err(format!("`{c}` is not allowed in a VM name"));
    }
    if name.starts_with('_') || name.ends_with('.') || name.ends_with('-') {
        return Err("a VM name cannot start with `_` or end with `.` or `-`".into());
    }
    Ok(())
}

/// A subscription id: a GUID (`xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`).
pub fn is_guid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    let lens = [8, 4, 4, 4, 12];
    parts.len() == 5
        && parts
            .iter()
            .zip(lens)
            .all(|(p, l)| p.len() == l && p.chars().all(|c| c.is_ascii_hexdigit()))
}

/// A plausible Azure region (`westeurope`, `West Europe`, `eastus2`): letters and digits,
/// 3–40 characters once spaces are removed, starting with a letter.
pub fn location(loc: &str) -> Result<(), String> {
    let norm = crate::model::resource_group::normalize_location(loc);
    let ok = (3..=40).contains(&norm.len())
        && norm.starts_with(|c: char| c.is_ascii_alphabetic())
        && norm.chars().all(|c| c.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err("a region name is letters and digits, e.g. `westeurope` or `eastus2`".into())
    }
}

/// A VM as written in `vms:`: resolved to (subscription if given, resource group, name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VmRef {
    pub subscription: Option<String>,
    pub resource_group: String,
    pub name: String,
}

impl VmRef {
    /// Identity for duplicate detection (case-insensitive, default subscription filled in).
    pub fn key(&self, default_subscription: Option<&str>) -> (String, String, String) {
        (
            self.subscription
                .as_deref()
                .or(default_subscription)
                .unwrap_or("")
                .to_ascii_lowercase(),
            self.resource_group.to_ascii_lowercase(),
            self.name.to_ascii_lowercase(),
        )
    }
}

const VM_ID_SHAPE: &str =
    "/subscriptions/{guid}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachines/{name}";

/// Parse `rg/name` or a full VM ARM id.
pub fn vm_ref(s: &str) -> Result<VmRef, String> {
    if s.starts_with('/') {
        let segs: Vec<&str> = s.trim_end_matches('/').split('/').skip(1).collect();
        let shape_ok = segs.len() == 8
            && segs[0].eq_ignore_ascii_case("subscriptions")
            && segs[2].eq_ignore_ascii_case("resourceGroups")
            && segs[4].eq_ignore_ascii_case("providers")
            && segs[5].eq_ignore_ascii_case("Microsoft.Compute")
            && segs[6].eq_ignore_ascii_case("virtualMachines");
        if !shape_ok {
            return Err(format!("a VM id has the form `{VM_ID_SHAPE}`"));
        }
        if !is_guid(segs[1]) {
            return Err(format!(
                "`{}` in the VM id is not a subscription GUID",
                segs[1]
            ));
        }
        resource_group_name(segs[3])?;
        vm_name(segs[7])?;
        return Ok(VmRef {
            subscription: Some(segs[1].to_string()),
            resource_group: segs[3].to_string(),
            name: segs[7].to_string(),
        });
    }
    let Some((rg, name)) = s.split_once('/') else {
        return Err(format!(
            "write a VM as `resource-group/name` or as its id `{VM_ID_SHAPE}`"
        ));
    };
    if name.contains('/') {
        return Err(format!(
            "write a VM as `resource-group/name` or as its id `{VM_ID_SHAPE}`"
        ));
    }
    resource_group_name(rg)?;
    vm_name(name)?;
    Ok(VmRef {
        subscription: None,
        resource_group: rg.to_string(),
        name: name.to_string(),
    })
}

/// A resource id of one provider type: subscription, resource group and the names along the
/// type path (e.g. `[account, runbook]` for `automationAccounts/{a}/runbooks/{r}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceId {
    pub subscription: String,
    pub resource_group: String,
    pub names: Vec<String>,
}

/// A name rule: `Ok` or why not.
pub type NameRule = fn(&str) -> Result<(), String>;

/// Parse `/subscriptions/{guid}/resourceGroups/{rg}/providers/{namespace}/{t1}/{n1}[/{t2}/{n2}]`
/// for the given namespace and type path (compared case-insensitively, as ARM does), checking
/// each name with its rule. `what` names the resource in messages ("a storage account id").
pub fn resource_id(
    s: &str,
    what: &str,
    namespace: &str,
    path: &[(&str, NameRule)],
) -> Result<ResourceId, String> {
    let mut shape = format!("/subscriptions/{{guid}}/resourceGroups/{{rg}}/providers/{namespace}");
    for (t, _) in path {
        let placeholder = match t.strip_suffix('s') {
            Some(singular) => singular.to_string(),
            None => t.to_string(),
        };
        shape.push_str(&format!("/{t}/{{{placeholder}}}"));
    }
    let bad_shape = || format!("{what} has the form `{shape}`");
    let Some(rest) = s.strip_prefix('/') else {
        return Err(bad_shape());
    };
    let segs: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
    let shape_ok = segs.len() == 6 + 2 * path.len()
        && segs[0].eq_ignore_ascii_case("subscriptions")
        && segs[2].eq_ignore_ascii_case("resourceGroups")
        && segs[4].eq_ignore_ascii_case("providers")
        && segs[5].eq_ignore_ascii_case(namespace)
        && path
            .iter()
            .enumerate()
            .all(|(i, (t, _))| segs[6 + 2 * i].eq_ignore_ascii_case(t));
    if !shape_ok {
        return Err(bad_shape());
    }
    if !is_guid(segs[1]) {
        return Err(format!(
            "`{}` in {what} is not a subscription GUID",
            segs[1]
        ));
    }
    resource_group_name(segs[3])?;
    let mut names = Vec::new();
    for (i, (_, rule)) in path.iter().enumerate() {
        let n = segs[7 + 2 * i];
        rule(n)?;
        names.push(n.to_string());
    }
    Ok(ResourceId {
        subscription: segs[1].to_string(),
        resource_group: segs[3].to_string(),
        names,
    })
}

/// Which characters an Azure name may have: length (in characters), first, last, any.
struct Charset {
    len: std::ops::RangeInclusive<usize>,
    first: fn(char) -> bool,
    last: fn(char) -> bool,
    any: fn(char) -> bool,
}

impl Charset {
    fn of(
        len: std::ops::RangeInclusive<usize>,
        first: fn(char) -> bool,
        last: fn(char) -> bool,
        any: fn(char) -> bool,
    ) -> Charset {
        Charset {
            len,
            first,
            last,
            any,
        }
    }

    /// Letters, digits, `_`, `-`, `.`; a letter or digit first, a letter, digit or `_` last
    /// (virtual networks, availability sets, managed disks).
    fn dotted(len: std::ops::RangeInclusive<usize>) -> Charset {
        Charset::of(
            len,
            alnum,
            alnum_or_underscore,
            alnum_or_dash_dot_underscore,
        )
    }

    fn allows(&self, name: &str) -> bool {
        self.len.contains(&name.chars().count())
            && name.starts_with(self.first)
            && name.ends_with(self.last)
            && name.chars().all(self.any)
    }

    /// `Ok(())`, or the message `describe` gives.
    fn check(&self, name: &str, describe: impl FnOnce() -> String) -> Result<(), String> {
        if self.allows(name) {
            Ok(())
        } else {
            Err(describe())
        }
    }
}

fn alnum(c: char) -> bool {
    c.is_ascii_alphanumeric()
}

fn alpha(c: char) -> bool {
    c.is_ascii_alphabetic()
}

fn alnum_or_underscore(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

fn alnum_or_hyphen(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-'
}

fn alnum_or_dash_dot_underscore(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')
}

fn anything(_: char) -> bool {
    true
}

/// Storage account: 3–24 lowercase letters and digits.
pub fn storage_account_name(name: &str) -> Result<(), String> {
    let any = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    Charset::of(3..=24, anything, anything, any).check(name, || {
        format!("`{name}` is not a storage account name: 3–24 lowercase letters and digits")
    })
}

/// Virtual network: 2–64 characters of letters, digits, `_`, `-`, `.`; a letter or digit
/// first, a letter, digit or `_` last.
pub fn vnet_name(name: &str) -> Result<(), String> {
    Charset::dotted(2..=64).check(name, || format!("`{name}` is not a virtual network name: 2–64 letters, digits, `_`, `-`, `.`, starting with a letter or digit and ending with a letter, digit or `_`"))
}

/// Automation account: 6–50 characters, a letter first, letters, digits and hyphens, a letter
/// or digit last.
pub fn automation_account_name(name: &str) -> Result<(), String> {
    Charset::of(6..=50, alpha, alnum, alnum_or_hyphen).check(name, || format!("`{name}` is not an Automation account name: 6–50 letters, digits and hyphens, a letter first, a letter or digit last"))
}

/// Runbook: 1–63 characters, a letter first, then letters, digits, `_` and `-`.
pub fn runbook_name(name: &str) -> Result<(), String> {
    let any = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-');
    Charset::of(1..=63, alpha, anything, any).check(name, || {
        format!("`{name}` is not a runbook name: 1–63 letters, digits, `_` and `-`, a letter first")
    })
}

/// Availability set: 1–80 characters of letters, digits, `_`, `-`, `.`; a letter or digit
/// first, a letter, digit or `_` last.
pub fn availability_set_name(name: &str) -> Result<(), String> {
    Charset::dotted(1..=80).check(name, || format!("`{name}` is not an availability set name: 1–80 letters, digits, `_`, `-`, `.`, starting with a letter or digit and ending with a letter, digit or `_`"))
}

/// Recovery plan: 1–63 characters, a letter first, then letters, digits and hyphens.
pub fn recovery_plan_name(name: &str) -> Result<(), String> {
    Charset::of(1..=63, alpha, anything, alnum_or_hyphen).check(name, || {
        "a recovery plan name has 1–63 characters: a letter first, then letters, digits and hyphens".into()
    })
}

/// Backup vault (`Microsoft.DataProtection/backupVaults`): 2–50 characters, a letter first,
/// then letters, digits and hyphens. (azurerm's `^[-a-zA-Z0-9]{2,50}$` does not ask for the
/// letter; the portal does, and a vault name that starts with a digit or hyphen is refused.)
pub fn backup_vault_name(name: &str) -> Result<(), String> {
    vault_name(name).map_err(|_| {
        "a Backup vault name has 2–50 characters: a letter first, then letters, digits and hyphens"
            .to_string()
    })
}

/// Disk backup policy (`backupVaults/backupPolicies`): `^[-a-zA-Z0-9]{3,150}$` (azurerm
/// `data_protection_backup_policy_disk`).
pub fn disk_policy_name(name: &str) -> Result<(), String> {
    Charset::of(3..=150, anything, anything, alnum_or_hyphen).check(name, || {
        "a disk backup policy name has 3–150 characters: letters, digits and hyphens".into()
    })
}

/// Managed disk: 1–80 characters of letters, digits, `_`, `-`, `.`; a letter or digit first,
/// a letter, digit or `_` last.
pub fn disk_name(name: &str) -> Result<(), String> {
    Charset::dotted(1..=80).check(name, || format!("`{name}` is not a managed disk name: 1–80 letters, digits, `_`, `-`, `.`, starting with a letter or digit and ending with a letter, digit or `_`"))
}

/// A managed disk as written in `disks:`: (subscription if given, resource group, name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskRef {
    pub subscription: Option<String>,
    pub resource_group: String,
    pub name: String,
}

impl DiskRef {
    /// Identity for duplicate detection (case-insensitive, default subscription filled in).
    pub fn key(&self, default_subscription: Option<&str>) -> (String, String, String) {
        (
            self.subscription
                .as_deref()
                .or(default_subscription)
                .unwrap_or("")
                .to_ascii_lowercase(),
            self.resource_group.to_ascii_lowercase(),
            self.name.to_ascii_lowercase(),
        )
    }
}

impl DiskRef {
    /// The disk's ARM id (`/subscriptions/…/providers/Microsoft.Compute/disks/{name}`), the
    /// default subscription filled in for `rg/name`.
    pub fn arm_id(&self, default_subscription: &str) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Compute/disks/{}",
            self.subscription.as_deref().unwrap_or(default_subscription),
            self.resource_group,
            self.name
        )
    }
}

/// The id `/subscriptions/{sub}/resourceGroups/{name}` of a resource group written as a name
/// (in `default_subscription`) or as an id; `None` if it is neither.
pub fn resource_group_id(s: &str, default_subscription: &str) -> Option<String> {
    let (sub, name) = resource_group_ref(s).ok()?;
    Some(format!(
        "/subscriptions/{}/resourceGroups/{name}",
        sub.as_deref().unwrap_or(default_subscription)
    ))
}

/// A resource in a resource group written as `rg/name` or as its id
/// (`/subscriptions/…/providers/{namespace}/{rtype}/{name}`), `what` naming it in errors: its
/// subscription (`None` for `rg/name`), group and name.
fn group_name_ref(
    s: &str,
    what: &str,
    (namespace, rtype): (&str, &str),
    name_rule: NameRule,
) -> Result<(Option<String>, String, String), String> {
    if s.starts_with('/') {
        let id = resource_id(s, &format!("{what} id"), namespace, &[(rtype, name_rule)])?;
        let name = id.names[0].clone();
        return Ok((Some(id.subscription), id.resource_group, name));
    }
    let shape = || {
        format!("write {what} as `resource-group/name` or as its id `/subscriptions/{{guid}}/resourceGroups/{{rg}}/providers/{namespace}/{rtype}/{{name}}`")
    };
    let Some((rg, name)) = s.split_once('/').filter(|(_, n)| !n.contains('/')) else {
        return Err(shape());
    };
    resource_group_name(rg)?;
    name_rule(name)?;
    Ok((None, rg.to_string(), name.to_string()))
}

/// Parse `rg/name` or a managed disk id.
pub fn disk_ref(s: &str) -> Result<DiskRef, String> {
    let (subscription, resource_group, name) =
        group_name_ref(s, "a disk", ("Microsoft.Compute", "disks"), disk_name)?;
    Ok(DiskRef {
        subscription,
        resource_group,
        name,
    })
}

/// A user-assigned managed identity's name: 3–128 letters, digits, `-` and `_`, a letter or
/// digit first (Microsoft.ManagedIdentity's naming rules).
pub fn user_identity_name(name: &str) -> Result<(), String> {
    Charset::of(3..=128, alnum, alnum_or_dash_underscore, alnum_or_dash_underscore).check(name, || format!("`{name}` is not a user-assigned identity name: 3–128 letters, digits, `-` and `_`, starting with a letter or digit"))
}

fn alnum_or_dash_underscore(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-')
}

/// A user-assigned managed identity as written in a file — `resource-group/name` (in
/// `default_subscription`) or its id — as its ARM id.
pub fn user_identity_id(s: &str, default_subscription: &str) -> Result<String, String> {
    let (sub, rg, name) = group_name_ref(
        s,
        "a user-assigned identity",
        ("Microsoft.ManagedIdentity", "userAssignedIdentities"),
        user_identity_name,
    )?;
    let sub = sub.as_deref().unwrap_or(default_subscription);
    Ok(format!(
        "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}"
    ))
}

/// A storage account id.
pub fn storage_account_id(s: &str) -> Result<ResourceId, String> {
    resource_id(
        s,
        "a storage account id",
        "Microsoft.Storage",
        &[("storageAccounts", storage_account_name)],
    )
}

/// A virtual network id.
pub fn vnet_id(s: &str) -> Result<ResourceId, String> {
    resource_id(
        s,
        "a virtual network id",
        "Microsoft.Network",
        &[("virtualNetworks", vnet_name)],
    )
}

/// An Azure Automation runbook id.
pub fn runbook_id(s: &str) -> Result<ResourceId, String> {
    resource_id(
        s,
        "a runbook id",
        "Microsoft.Automation",
        &[
            ("automationAccounts", automation_account_name),
            ("runbooks", runbook_name),
        ],
    )
}

/// An availability set id.
pub fn availability_set_id(s: &str) -> Result<ResourceId, String> {
    resource_id(
        s,
        "an availability set id",
        "Microsoft.Compute",
        &[("availabilitySets", availability_set_name)],
    )
}

/// A resource group as a name or as its id `/subscriptions/{guid}/resourceGroups/{rg}`:
/// (subscription if given, name).
pub fn resource_group_ref(s: &str) -> Result<(Option<String>, String), String> {
    if !s.starts_with('/') {
        resource_group_name(s)?;
        return Ok((None, s.to_string()));
    }
    let segs: Vec<&str> = s.trim_end_matches('/').split('/').skip(1).collect();
    if segs.len() != 4
        || !segs[0].eq_ignore_ascii_case("subscriptions")
        || !segs[2].eq_ignore_ascii_case("resourceGroups")
    {
        return Err("write a resource group as its name or as its id `/subscriptions/{guid}/resourceGroups/{name}`".into());
    }
    if !is_guid(segs[1]) {
        return Err(format!(
            "`{}` in the resource group id is not a subscription GUID",
            segs[1]
        ));
    }
    resource_group_name(segs[3])?;
    Ok((Some(segs[1].to_string()), segs[3].to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_azure_rules() {
        assert!(vault_name("rsv-prod-weu").is_ok());
        assert!(vault_name("1rsv").is_err());
        assert!(vault_name("r").is_err());
        assert!(vault_name("rsv_prod").is_err());
        assert!(policy_name("gold").is_ok());
        assert!(policy_name("go").is_err());
        assert!(policy_name("gold!-_1").is_ok());
        assert!(resource_group_name("rg.app(1)").is_ok());
        assert!(resource_group_name("rg.").is_err());
        assert!(resource_group_name("rg app").is_err());
        assert!(is_guid("00000000-0000-0000-0000-000000000001"));
        assert!(!is_guid("00000000-0000-0000-0000-00000000000g"));
        assert!(location("West Europe").is_ok());
        assert!(location("west-europe").is_err());
    }

    #[test]
    fn vm_refs_parse_both_forms() {
        let r = vm_ref("rg-app/app-01").unwrap();
        assert_eq!(
            (r.resource_group.as_str(), r.name.as_str()),
            ("rg-app", "app-01")
        );
        let id = "/subscriptions/00000000-0000-0000-0000-000000000002/resourceGroups/rg-x/providers/Microsoft.Compute/virtualMachines/vm-1";
        let r = vm_ref(id).unwrap();
        assert_eq!(
            r.subscription.as_deref(),
            Some("00000000-0000-0000-0000-000000000002")
        );
        assert!(vm_ref("app-01").is_err());
        assert!(vm_ref("a/b/c").is_err());
        assert!(vm_ref(
            "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/v"
        )
        .is_err());
    }
    #[test]
    fn user_identities_are_a_group_and_name_or_an_id() {
        let sub = "00000000-0000-0000-0000-000000000001";
        let id = format!("/subscriptions/{sub}/resourceGroups/rg-id/providers/Microsoft.ManagedIdentity/userAssignedIdentities/uami-backup");
        assert_eq!(user_identity_id("rg-id/uami-backup", sub).unwrap(), id);
        assert_eq!(user_identity_id(&id, "other").unwrap(), id);
        let lower = id.replace("Microsoft.ManagedIdentity", "microsoft.managedidentity");
        assert!(
            user_identity_id(&lower, sub).is_ok(),
            "ARM namespaces are case-insensitive"
        );
        assert!(user_identity_id("uami-backup", sub)
            .unwrap_err()
            .contains("resource-group/name"));
        assert!(user_identity_id("rg-id/ab", sub)
            .unwrap_err()
            .contains("3–128"));
        assert!(user_identity_id("rg-id/a.b.c", sub).is_err());
        assert!(
            user_identity_id(&id.replace("userAssignedIdentities", "identities"), sub).is_err()
        );
    }

    #[test]
    fn resource_ids_are_checked_by_shape_and_names() {
        let sa = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-app/providers/Microsoft.Storage/storageAccounts/asrcacheweu";
        assert_eq!(storage_account_id(sa).unwrap().names, ["asrcacheweu"]);
        assert!(storage_account_id(&sa.replace("asrcacheweu", "AsrCache")).is_err());
        assert!(storage_account_id(&sa.replace("Microsoft.Storage", "Microsoft.Compute")).is_err());
        let rb = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-app/providers/Microsoft.Automation/automationAccounts/aa-ops/runbooks/warm-cache";
        assert_eq!(runbook_id(rb).unwrap().names, ["aa-ops", "warm-cache"]);
        assert!(
            runbook_id(&rb.replace("aa-ops", "aa-op")).is_err(),
            "5 characters is too short"
        );
        assert!(runbook_id(&rb.replace("/runbooks/", "/jobs/")).is_err());
        let err = vnet_id(
            "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v1",
        )
        .unwrap_err();
        assert!(err.contains("GUID"), "{err}");
        let err = vnet_id("vnet-app").unwrap_err();
        assert!(
            err.contains("/providers/Microsoft.Network/virtualNetworks/{virtualNetwork}"),
            "{err}"
        );
        assert_eq!(
            resource_group_ref("rg-app-dr").unwrap(),
            (None, "rg-app-dr".into())
        );
        assert!(resource_group_ref(
            "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-x"
        )
        .is_ok());
        assert!(
            resource_group_ref("/subscriptions/00000000-0000-0000-0000-000000000001/rg-x").is_err()
        );
        assert!(recovery_plan_name("app-failover").is_ok());
        assert!(recovery_plan_name("1-plan").is_err());
        assert!(recovery_plan_name(&"a".repeat(64)).is_err());
    }

    #[test]
    fn backup_vaults_policies_and_disks_follow_azure_rules() {
        assert!(backup_vault_name("bv-prod-weu").is_ok());
        assert!(backup_vault_name("1bv").is_err());
        assert!(backup_vault_name(&"b".repeat(51)).is_err());
        assert!(disk_policy_name("every-4h").is_ok());
        assert!(disk_policy_name("4h-policy").is_ok());
        assert!(disk_policy_name("4h").is_err());
        assert!(disk_policy_name("every_4h").is_err());
        assert!(disk_name("app-01-data-0").is_ok());
        assert!(disk_name("disk.").is_err());
        assert!(disk_name("_disk").is_err());
        let r = disk_ref("rg-app/shared-data").unwrap();
        assert_eq!(
            (r.resource_group.as_str(), r.name.as_str()),
            ("rg-app", "shared-data")
        );
        let id = "/subscriptions/00000000-0000-0000-0000-000000000002/resourceGroups/rg-x/providers/Microsoft.Compute/disks/d-1";
        let r = disk_ref(id).unwrap();
        assert_eq!(
            r.subscription.as_deref(),
            Some("00000000-0000-0000-0000-000000000002")
        );
        assert!(disk_ref("shared-data").is_err());
        assert!(disk_ref("a/b/c").is_err());
        assert!(disk_ref(&id.replace("/disks/", "/snapshots/")).is_err());
        assert_eq!(
            disk_ref("rg-app/shared-data").unwrap().arm_id("00000000-0000-0000-0000-000000000001"),
            "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-app/providers/Microsoft.Compute/disks/shared-data"
        );
        assert_eq!(disk_ref(id).unwrap().arm_id("ignored"), id);
        assert_eq!(
            resource_group_id("rg-snap", "s1").as_deref(),
            Some("/subscriptions/s1/resourceGroups/rg-snap")
        );
        let rg = "/subscriptions/00000000-0000-0000-0000-000000000002/resourceGroups/rg-snap";
        assert_eq!(resource_group_id(rg, "s1").as_deref(), Some(rg));
        assert_eq!(resource_group_id("rg snap", "s1"), None);
    }
}
