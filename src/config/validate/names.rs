//! Azure's naming rules: vaults, backup policies, resource groups, VMs, subscriptions, regions,
//! and the two ways to name a VM (`rg/name` or its ARM id).

/// Recovery Services vault: 2–50 characters, a letter first, then letters, digits and hyphens.
pub fn vault_name(name: &str) -> Result<(), String> {
    let ok_len = (2..=50).contains(&name.chars().count());
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || c == '-');
    if ok_len && first_ok && rest_ok {
        Ok(())
    } else {
        Err(
            "a vault name has 2–50 characters: a letter first, then letters, digits and hyphens"
                .into(),
        )
    }
}

/// VM backup policy: `^[a-zA-Z][-_!a-zA-Z0-9]{2,149}$`.
pub fn policy_name(name: &str) -> Result<(), String> {
    let ok_len = (3..=150).contains(&name.chars().count());
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '!'));
    if ok_len && first_ok && rest_ok {
        Ok(())
    } else {
        Err("a policy name has 3–150 characters: a letter first, then letters, digits, `-`, `_` and `!`".into())
    }
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
}
