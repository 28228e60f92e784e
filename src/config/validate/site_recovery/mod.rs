//! `site_recovery` rules (Azure-to-Azure): the vault reference and its region, the region pair,
//! the replication policy (azurerm_site_recovery_replication_policy ranges), target resource
//! group, cache storage account and network mapping ids, replicated VMs and their target
//! overrides, and recovery plans (names, groups, actions).
//!
//! Checked across all files at once: a vault may be declared in another file, a VM is
//! replicated by one group only, and a vault's network mappings and plans are shared by every
//! group that uses it. Rules that need live state (the cache account and the VMs in the source
//! region, the target network in the target region, the VM size and zones offered there) are
//! plan-time rules.

use super::{check_location, names, protect, suggest, Cx};
use crate::config::diag::{At, Diag, Diags};
use crate::config::spanned::Sp;
use crate::config::types::{ConfigFile, RecoveryVault};
use crate::config::types_site_recovery::SiteRecovery;
use crate::model::resource_group::normalize_location;
use std::collections::{BTreeMap, HashMap};

mod actions;
mod durations;
mod targets;

#[cfg(test)]
use targets::plausible_vm_size;

use actions::check_action;
use durations::check_policy;
pub use durations::{
    format_minutes, parse_minutes, DEFAULT_RECOVERY_POINTS_MINUTES, MAX_APP_CONSISTENT_MINUTES,
    MAX_MINUTES, MAX_RECOVERY_POINTS_MINUTES,
};
use targets::check_vm_target;

type VmKey = (String, String, String);

/// What the groups seen so far declared, across files.
#[derive(Default)]
struct Seen {
    /// Group names (lowercase) → where.
    groups: HashMap<String, At>,
    /// Replicated VM → (where, group).
    vms: HashMap<VmKey, (At, String)>,
    /// (vault, source network) → (where, target network key, group, target as written).
    mappings: HashMap<(String, String), (At, String, String, String)>,
    /// (vault, plan) → (where, group).
    plans: HashMap<(String, String), (At, String)>,
}

/// A declared vault: file, name, definition.
type VaultDecl<'a> = (usize, &'a Sp<String>, &'a Sp<RecoveryVault>);

/// Every `site_recovery` group of every file.
pub fn across(files: &[ConfigFile], default_sub: Option<&str>, diags: &mut Diags) {
    let vaults: Vec<VaultDecl> = files
        .iter()
        .enumerate()
        .flat_map(|(i, f)| {
            f.recovery_vaults
                .iter()
                .flat_map(move |m| m.value.iter().map(move |(n, v)| (i, n, v)))
        })
        .collect();
    // Which group lists each VM first (for "it is replicated by `x`" hints in plans).
    let mut owners: HashMap<VmKey, String> = HashMap::new();
    for f in files {
        for (name, sr) in f.site_recovery.iter().flat_map(|m| m.value.iter()) {
            let sub = group_subscription(&sr.value, &vaults, default_sub);
            for e in sr.value.vms.iter().flat_map(|v| &v.value) {
                if let Ok(r) = names::vm_ref(&e.value.vm.value) {
                    owners
                        .entry(r.key(sub))
                        .or_insert_with(|| name.value.clone());
                }
            }
        }
    }
    let mut seen = Seen::default();
    for (i, f) in files.iter().enumerate() {
        let Some(groups) = &f.site_recovery else {
            continue;
        };
        let mut cx = Cx { file: i, diags };
        for (name, sr) in groups.value.iter() {
            let g = Group {
                name,
                sr: &sr.value,
                default_sub: group_subscription(&sr.value, &vaults, default_sub),
                owners: &owners,
            };
            g.check(&mut cx, &vaults, &mut seen);
        }
    }
}

/// The subscription of the names in a group: its `subscription:`, else its vault's, else the
/// file's default.
fn group_subscription<'a>(
    sr: &'a SiteRecovery,
    vaults: &[VaultDecl<'a>],
    default_sub: Option<&'a str>,
) -> Option<&'a str> {
    let vault_sub = vaults
        .iter()
        .find(|(_, n, _)| n.value.eq_ignore_ascii_case(&sr.vault.value))
        .and_then(|(_, _, v)| v.value.subscription.as_ref())
        .map(|s| s.value.as_str());
    super::block_subscription(&sr.subscription, vault_sub.or(default_sub))
}

struct Group<'a> {
    name: &'a Sp<String>,
    sr: &'a SiteRecovery,
    default_sub: Option<&'a str>,
    owners: &'a HashMap<VmKey, String>,
}

fn vm_display(r: &names::VmRef) -> String {
    format!("{}/{}", r.resource_group, r.name)
}

/// "`value` is not {what}", or "invalid {what}" when the value is a long id the label already
/// points at.
fn not_a(value: &str, what: &str) -> String {
    if value.chars().count() <= 48 {
        format!("`{value}` is not {what}")
    } else {
        format!(
            "invalid {}",
            what.trim_start_matches("a ").trim_start_matches("an ")
        )
    }
}

/// A network id as `rg/name` for messages.
fn vnet_short(s: &str) -> String {
    match names::vnet_id(s) {
        Ok(id) => format!("{}/{}", id.resource_group, id.names[0]),
        Err(_) => s.to_string(),
    }
}

fn id_key(s: &str) -> String {
    s.trim_end_matches('/').to_ascii_lowercase()
}

impl Group<'_> {
    fn check(&self, cx: &mut Cx, vaults: &[VaultDecl], seen: &mut Seen) {
        let sr = self.sr;
        let name = self.name;
        if name.value.trim().is_empty() || name.value.contains('/') {
            cx.push(
                Diag::error(cx.at(name.span), format!("`{}` cannot name a site_recovery group", name.value))
                    .label("invalid name")
                    .help("the name is part of addresses such as `replication.<name>/<rg>/<vm>` and `recovery_plan.<name>/<plan>`: use letters, digits, `-` and `_`, no `/`"),
            );
        }
        let at = cx.at(name.span);
        let help = "each site_recovery group may be declared once across all files (names are case-insensitive)";
        if let Some(d) =
            super::declared_twice(&mut seen.groups, at, &name.value, "site_recovery", help)
        {
            cx.push(d);
        }

        // Regions.
        check_location(cx, &sr.source_region);
        check_location(cx, &sr.target_region);
        let source = normalize_location(&sr.source_region.value);
        let target = normalize_location(&sr.target_region.value);
        let regions_ok = names::location(&sr.source_region.value).is_ok()
            && names::location(&sr.target_region.value).is_ok();
        if regions_ok && source == target {
            cx.push(
                Diag::error(
                    cx.at(sr.target_region.span),
                    format!("the target region is the source region `{}`", sr.source_region.value),
                )
                .label("same as source_region")
                .note(cx.at(sr.source_region.span), "source region")
                .help("Azure-to-Azure Site Recovery replicates VMs to another region (any region, not only the paired one); zone-to-zone replication within one region is not supported by azprotect"),
            );
        }

        // The vault: declared, in the target region.
        let vault_key = sr.vault.value.to_ascii_lowercase();
        match vaults
            .iter()
            .find(|(_, n, _)| n.value.eq_ignore_ascii_case(&sr.vault.value))
        {
            None => {
                let declared: Vec<&str> = vaults.iter().map(|(_, n, _)| n.value.as_str()).collect();
                let help = suggest(&sr.vault.value, declared.iter().copied()).unwrap_or_else(|| {
                    if declared.is_empty() {
                        format!("declare the vault under `recovery_vaults`, with `location: {}` (the target region)", sr.target_region.value)
                    } else {
                        format!(
                            "declared vaults: {}; Site Recovery needs one in the target region `{}`",
                            declared.join(", "),
                            sr.target_region.value
                        )
                    }
                });
                cx.push(
                    Diag::error(
                        cx.at(sr.vault.span),
                        format!("no recovery vault `{}` is declared", sr.vault.value),
                    )
                    .label("unknown vault")
                    .help(help),
                );
            }
            Some((file, vname, v)) => {
                let loc = &v.value.location;
                if regions_ok
                    && names::location(&loc.value).is_ok()
                    && normalize_location(&loc.value) != target
                {
                    cx.push(
                        Diag::error(
                            cx.at(sr.vault.span),
                            format!(
                                "vault `{}` is in `{}`, not in the target region `{}`",
                                vname.value, loc.value, sr.target_region.value
                            ),
                        )
                        .label("not in the target region")
                        .note(At::new(*file, loc.span), "the vault's location")
                        .help(format!(
                            "Site Recovery keeps replicas through a vault in the target region: use a vault with `location: {}`, or change `target_region`",
                            sr.target_region.value
                        )),
                    );
                }
            }
        }

        if let Some(p) = &sr.policy {
            check_policy(cx, p);
        }

        if let Err(e) = names::resource_group_ref(&sr.target_resource_group.value) {
            cx.push(
                Diag::error(
                    cx.at(sr.target_resource_group.span),
                    not_a(&sr.target_resource_group.value, "a resource group"),
                )
                .label("invalid resource group")
                .help(e),
            );
        }

        if let Err(e) = names::storage_account_id(&sr.cache_storage_account.value) {
            cx.push(
                Diag::error(
                    cx.at(sr.cache_storage_account.span),
                    not_a(&sr.cache_storage_account.value, "a storage account id"),
                )
                .label("invalid storage account id")
                .help(e),
            );
        }

        if let Some(t) = &sr.target_cache_storage_account {
            if let Err(e) = names::storage_account_id(&t.value) {
                cx.push(
                    Diag::error(cx.at(t.span), not_a(&t.value, "a storage account id"))
                        .label("invalid storage account id")
                        .help(e),
                );
            } else if t
                .value
                .eq_ignore_ascii_case(&sr.cache_storage_account.value)
            {
                cx.push(
                    Diag::error(cx.at(t.span), "the target cache must be another storage account")
                        .label("the same as cache_storage_account")
                        .help("a replication cache lives in the region replication runs from: cache_storage_account in the source region, target_cache_storage_account in the target region"),
                );
            }
        }

        self.check_mappings(cx, &vault_key, seen);
        let listed = self.check_vms(cx, seen);
        if let Some(sel) = &sr.select {
            protect::check_select(cx, sel, "replicate", "VM", "{tags: {dr: northeurope}}");
        }
        self.check_plans(cx, &vault_key, &listed, seen);
    }

    fn check_mappings(&self, cx: &mut Cx, vault_key: &str, seen: &mut Seen) {
        let Some(maps) = &self.sr.network_mappings else {
            return;
        };
        let mut here: HashMap<String, At> = HashMap::new();
        for m in &maps.value {
            let (src, tgt) = (&m.value.source, &m.value.target);
            let mut ok = true;
            for (v, which) in [(src, "source"), (tgt, "target")] {
                if let Err(e) = names::vnet_id(&v.value) {
                    ok = false;
                    let msg = if v.value.chars().count() <= 48 {
                        format!(
                            "the {which} network `{}` is not a virtual network id",
                            v.value
                        )
                    } else {
                        format!("the {which} network is not a valid virtual network id")
                    };
                    let help = match v.value.to_ascii_lowercase().find("/subnets/") {
                        Some(i) => format!(
                            "map the virtual network, not a subnet: drop `{}`",
                            &v.value[i..]
                        ),
                        None => e,
                    };
                    cx.push(
                        Diag::error(cx.at(v.span), msg)
                            .label("invalid virtual network id")
                            .help(help),
                    );
                }
            }
            if !ok {
                continue;
            }
            let (sk, tk) = (id_key(&src.value), id_key(&tgt.value));
            if sk == tk {
                cx.push(
                    Diag::error(cx.at(tgt.span), "a network is mapped to itself")
                        .label("same as the source network")
                        .help("the target network is a virtual network in the target region"),
                );
            }
            let at = cx.at(src.span);
            if let Some(first) = here.get(&sk) {
                cx.push(
                    Diag::error(
                        at,
                        format!("network `{}` is mapped twice", vnet_short(&src.value)),
                    )
                    .label("mapped again here")
                    .note(*first, "first mapped here")
                    .help("a vault maps each source network to one target network"),
                );
                continue;
            }
            here.insert(sk.clone(), at);
            let key = (vault_key.to_string(), sk);
            match seen.mappings.get(&key) {
                Some((first, first_target, group, first_target_id)) if *first_target != tk => cx.push(
                    Diag::error(
                        at,
                        format!(
                            "network `{}` is mapped to `{}` here and to `{}` by site_recovery `{group}`",
                            vnet_short(&src.value),
                            vnet_short(&tgt.value),
                            vnet_short(first_target_id)
                        ),
                    )
                    .label("conflicting mapping")
                    .note(*first, "mapped here")
                    .help(format!(
                        "network mappings belong to vault `{}`: every group using it must map a source network to the same target",
                        self.sr.vault.value
                    )),
                ),
                Some(_) => {}
                None => {
                    seen.mappings.insert(
                        key,
                        (at, tk, self.name.value.clone(), tgt.value.clone()),
                    );
                }
            }
        }
    }

    /// The replicated VMs' rules; returns the listed VMs (key → `rg/name`).
    fn check_vms(&self, cx: &mut Cx, seen: &mut Seen) -> BTreeMap<VmKey, String> {
        let sr = self.sr;
        let mut listed = BTreeMap::new();
        if sr.vms.is_none() && sr.select.is_none() {
            cx.push(
                Diag::error(
                    cx.at(self.name.span),
                    format!("site_recovery `{}` replicates no VMs", self.name.value),
                )
                .label("needs `vms`, `select`, or both")
                .help("list VMs (`vms: [{vm: rg-app/app-01}]`) or select them (`select: {tags: {dr: northeurope}}`)"),
            );
        }
        let Some(vms) = &sr.vms else {
            return listed;
        };
        if vms.value.is_empty() && sr.select.is_none() {
            cx.push(
                Diag::error(cx.at(vms.span), "`vms` is empty")
                    .label("no VMs")
                    .help("list VMs as `- vm: rg-app/app-01`, or use `select`"),
            );
        }
        for e in &vms.value {
            let vm = &e.value.vm;
            match names::vm_ref(&vm.value) {
                Err(msg) => cx.push(
                    Diag::error(
                        cx.at(vm.span),
                        format!("`{}` is not a VM reference", vm.value),
                    )
                    .label("invalid VM")
                    .help(msg),
                ),
                Ok(r) => {
                    let key = r.key(self.default_sub);
                    let at = cx.at(vm.span);
                    let vm = vm_display(&r);
                    let group = &self.name.value;
                    super::listed_once(cx, &mut seen.vms, key.clone(), at, group, |first, same| {
                        if same {
                            (
                                format!("VM `{vm}` is listed twice in site_recovery `{group}`"),
                                "list each VM once".to_string(),
                            )
                        } else {
                            (
                                format!("VM `{vm}` is already replicated by site_recovery `{first}`"),
                                "Azure replicates a VM to one target only; remove it from one of the groups".to_string(),
                            )
                        }
                    });
                    listed.entry(key).or_insert_with(|| vm_display(&r));
                }
            }
            check_vm_target(cx, e);
        }
        listed
    }

    fn check_plans(
        &self,
        cx: &mut Cx,
        vault_key: &str,
        listed: &BTreeMap<VmKey, String>,
        seen: &mut Seen,
    ) {
        let Some(plans) = &self.sr.recovery_plans else {
            return;
        };
        for (pname, plan) in plans.value.iter() {
            super::check_name(cx, pname, names::recovery_plan_name, "recovery plan");
            let at = cx.at(pname.span);
            let key = (vault_key.to_string(), pname.value.to_ascii_lowercase());
            match seen.plans.get(&key) {
                Some((first, group)) => {
                    let msg = if *group == self.name.value {
                        format!("recovery plan `{}` is defined twice", pname.value)
                    } else {
                        format!(
                            "recovery plan `{}` is already defined in vault `{}` by site_recovery `{group}`",
                            pname.value, self.sr.vault.value
                        )
                    };
                    cx.push(
                        Diag::error(at, msg)
                            .label("defined again here")
                            .note(*first, "first defined here")
                            .help("recovery plans belong to the vault and their names are case-insensitive; rename one"),
                    );
                }
                None => {
                    seen.plans.insert(key, (at, self.name.value.clone()));
                }
            }
            let groups = &plan.value.groups;
            if groups.value.is_empty() {
                cx.push(
                    Diag::error(
                        cx.at(groups.span),
                        format!("recovery plan `{}` has no groups", pname.value),
                    )
                    .label("empty list")
                    .help("list boot groups in failover order, e.g. `groups: [{vms: [rg-app/db-01]}, {vms: [rg-app/app-01]}]`"),
                );
            }
            let mut in_plan: HashMap<VmKey, (At, usize)> = HashMap::new();
            let mut action_names = actions::ActionNames::default();
            for (gi, g) in groups.value.iter().enumerate() {
                let n = gi + 1;
                if g.value.vms.value.is_empty() {
                    cx.push(
                        Diag::error(
                            cx.at(g.value.vms.span),
                            format!("group {n} of recovery plan `{}` has no VMs", pname.value),
                        )
                        .label("empty list")
                        .help("every boot group holds at least one replicated VM; move its actions to a neighbouring group"),
                    );
                }
                for vm in &g.value.vms.value {
                    let r = match names::vm_ref(&vm.value) {
                        Ok(r) => r,
                        Err(msg) => {
                            cx.push(
                                Diag::error(
                                    cx.at(vm.span),
                                    format!("`{}` is not a VM reference", vm.value),
                                )
                                .label("invalid VM")
                                .help(msg),
                            );
                            continue;
                        }
                    };
                    let key = r.key(self.default_sub);
                    self.check_plan_member(cx, vm, &r, &key, listed);
                    let at = cx.at(vm.span);
                    match in_plan.get(&key) {
                        Some((first, fg)) => cx.push(
                            Diag::error(
                                at,
                                format!(
                                    "VM `{}` is in group {fg} and group {n} of recovery plan `{}`",
                                    vm_display(&r),
                                    pname.value
                                ),
                            )
                            .label("listed again here")
                            .note(*first, "first listed here")
                            .help("a VM boots in one group of a plan; keep it in one"),
                        ),
                        None => {
                            in_plan.insert(key, (at, n));
                        }
                    }
                }
                for list in [&g.value.before, &g.value.after].into_iter().flatten() {
                    for a in &list.value {
                        check_action(cx, a);
                        action_names.check(cx, a, &pname.value);
                    }
                }
            }
        }
    }

    /// A VM in a plan group must be one this group replicates: listed, or (with `select`)
    /// possibly selected.
    fn check_plan_member(
        &self,
        cx: &mut Cx,
        vm: &Sp<String>,
        r: &names::VmRef,
        key: &VmKey,
        listed: &BTreeMap<VmKey, String>,
    ) {
        if listed.contains_key(key) {
            return;
        }
        let me = &self.name.value;
        let select_rgs: Option<Vec<&str>> = self.sr.select.as_ref().map(|s| {
            s.value
                .resource_groups
                .iter()
                .flat_map(|r| &r.value)
                .map(|rg| rg.value.as_str())
                .collect()
        });
        let other = self.owners.get(key).filter(|o| *o != me);
        let help = match (other, &select_rgs) {
            (Some(other), _) => format!(
                "it is replicated by site_recovery `{other}`; a recovery plan holds only the VMs of its own group (one vault, one region pair)"
            ),
            // Selected at plan time: the resource group is all that can be checked now.
            (None, Some(rgs))
                if rgs.is_empty()
                    || rgs
                        .iter()
                        .any(|rg| rg.eq_ignore_ascii_case(&r.resource_group)) =>
            {
                return;
            }
            (None, Some(rgs)) => format!(
                "it is not listed in `vms`, and `select` picks only VMs in resource group{} {}",
                if rgs.len() == 1 { "" } else { "s" },
                rgs.join(", ")
            ),
            (None, None) => suggest(&vm.value, listed.values().map(String::as_str))
                .unwrap_or_else(|| format!("add it to `vms` of site_recovery `{me}`")),
        };
        cx.push(
            Diag::error(
                cx.at(vm.span),
                format!(
                    "VM `{}` is not replicated by site_recovery `{me}`",
                    vm_display(r)
                ),
            )
            .label("not a replicated VM")
            .help(help),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_minutes_hours_or_days() {
        assert_eq!(parse_minutes("90m"), Some(90));
        assert_eq!(parse_minutes("24h"), Some(1_440));
        assert_eq!(parse_minutes("3d"), Some(4_320));
        assert_eq!(parse_minutes("0m"), Some(0));
        assert_eq!(parse_minutes("365d"), Some(MAX_MINUTES));
        for bad in [
            "",
            "h",
            "24",
            "1.5h",
            "-1h",
            "4H",
            "4 h",
            "1w",
            "99999999999d",
            "2ü",
        ] {
            assert_eq!(parse_minutes(bad), None, "{bad}");
        }
        assert_eq!(format_minutes(1_440), "24h");
        assert_eq!(format_minutes(4_320), "3d");
        assert_eq!(format_minutes(240), "4h");
        assert_eq!(format_minutes(90), "90m");
        assert_eq!(format_minutes(0), "0m");
    }

    #[test]
    fn vm_sizes_must_look_like_standard_sizes() {
        for ok in [
            "Standard_D2s_v5",
            "standard_b2ms",
            "Standard_E4-2s_v5",
            "Standard_NC24ads_A100_v4",
        ] {
            assert!(plausible_vm_size(ok), "{ok}");
        }
        for bad in [
            "D2s_v5",
            "Standard_",
            "Basic_A1",
            "Standard D2s",
            "Standard_2",
            "Ständard_D2",
        ] {
            assert!(!plausible_vm_size(bad), "{bad}");
        }
    }
}
