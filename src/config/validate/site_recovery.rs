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
use crate::config::types_sr::{
    DataDiskTypes, DiskType, PlanAction, ReplicatedVm, ReplicationPolicy, SiteRecovery,
};
use crate::model::resource_group::normalize_location;
use miette::SourceSpan;
use std::collections::{BTreeMap, HashMap};

/// Upper bound of a duration `<N>m|h|d` the parser takes: 525,600 minutes (365 days).
pub const MAX_MINUTES: u32 = 525_600;

/// Azure-to-Azure keeps recovery points at most 15 days (21,600 minutes) and takes
/// app-consistent snapshots at least every 12 hours (720 minutes): Microsoft's A2A FAQ and
/// replication-policy docs (learn.microsoft.com/azure/site-recovery/azure-to-azure-common-questions),
/// narrower than the 0–525,600 minutes the API's schema and Terraform accept.
pub const MAX_RECOVERY_POINTS_MINUTES: u32 = 21_600;
/// See [`MAX_RECOVERY_POINTS_MINUTES`].
pub const MAX_APP_CONSISTENT_MINUTES: u32 = 720;

/// Default recovery point retention when `policy.recovery_points` is absent (24 hours).
pub const DEFAULT_RECOVERY_POINTS_MINUTES: u32 = 1_440;

/// `90m` → 90, `24h` → 1440, `3d` → 4320 (minutes); `None` if not `<N>m|h|d`.
pub fn parse_minutes(s: &str) -> Option<u32> {
    let (n, mult) = if let Some(n) = s.strip_suffix('m') {
        (n, 1u64)
    } else if let Some(n) = s.strip_suffix('h') {
        (n, 60)
    } else if let Some(n) = s.strip_suffix('d') {
        (n, 1_440)
    } else {
        return None;
    };
    if n.is_empty() || n.len() > 9 || !n.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let minutes = n.parse::<u64>().ok()?.checked_mul(mult)?;
    u32::try_from(minutes).ok()
}

/// Minutes in the largest whole unit (but a day as `24h`, as Azure shows it): 4320 → `3d`,
/// 1440 → `24h`, 240 → `4h`, 90 → `90m`.
pub fn format_minutes(m: u32) -> String {
    if m > 0 && m.is_multiple_of(1_440) && m != 1_440 {
        format!("{}d", m / 1_440)
    } else if m > 0 && m.is_multiple_of(60) {
        format!("{}h", m / 60)
    } else {
        format!("{m}m")
    }
}

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
            for e in sr.value.vms.iter().flat_map(|v| &v.value) {
                if let Ok(r) = names::vm_ref(&e.value.vm.value) {
                    owners
                        .entry(r.key(default_sub))
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
                default_sub,
                owners: &owners,
            };
            g.check(&mut cx, &vaults, &mut seen);
        }
    }
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
        match seen.groups.get(&name.value.to_ascii_lowercase()) {
            Some(first) => cx.push(
                Diag::error(at, format!("site_recovery `{}` is defined twice", name.value))
                    .label("defined again here")
                    .note(*first, "first defined here")
                    .help("each site_recovery group may be declared once across all files (names are case-insensitive)"),
            ),
            None => {
                seen.groups.insert(name.value.to_ascii_lowercase(), at);
            }
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
                    match seen.vms.get(&key) {
                        Some((first, group)) => {
                            let (msg, help) = if *group == self.name.value {
                                (
                                    format!(
                                        "VM `{}` is listed twice in site_recovery `{group}`",
                                        vm_display(&r)
                                    ),
                                    "list each VM once".to_string(),
                                )
                            } else {
                                (
                                    format!(
                                        "VM `{}` is already replicated by site_recovery `{group}`",
                                        vm_display(&r)
                                    ),
                                    "Azure replicates a VM to one target only; remove it from one of the groups".to_string(),
                                )
                            };
                            cx.push(
                                Diag::error(at, msg)
                                    .label("listed again here")
                                    .note(*first, "first listed here")
                                    .help(help),
                            );
                        }
                        None => {
                            seen.vms.insert(key.clone(), (at, self.name.value.clone()));
                        }
                    }
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
            if let Err(e) = names::recovery_plan_name(&pname.value) {
                cx.push(
                    Diag::error(
                        cx.at(pname.span),
                        format!("invalid recovery plan name `{}`", pname.value),
                    )
                    .label("invalid name")
                    .help(e),
                );
            }
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
                for actions in [&g.value.before, &g.value.after].into_iter().flatten() {
                    for a in &actions.value {
                        check_action(cx, a);
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

fn duration(cx: &mut Cx, d: &Sp<String>, key: &str, max: u32) -> Option<u32> {
    match parse_minutes(&d.value) {
        None => {
            cx.push(
                Diag::error(cx.at(d.span), format!("`{}` is not a duration", d.value))
                    .label("expected `<N>m`, `<N>h` or `<N>d`")
                    .help(format!(
                        "write `{key}` in minutes, hours or days, e.g. `90m`, `24h`, `3d`"
                    )),
            );
            None
        }
        Some(m) if m > max => {
            cx.push(
                Diag::error(
                    cx.at(d.span),
                    format!("`{key}: {}` is {m} minutes, more than Azure allows", d.value),
                )
                .label(format!("must be 0–{}", format_minutes(max)))
                .help(format!(
                    "Azure-to-Azure replication keeps recovery points up to {} and takes app-consistent snapshots at least every {}",
                    format_minutes(MAX_RECOVERY_POINTS_MINUTES),
                    format_minutes(MAX_APP_CONSISTENT_MINUTES)
                )),
            );
            None
        }
        Some(m) => Some(m),
    }
}

fn check_policy(cx: &mut Cx, p: &Sp<ReplicationPolicy>) {
    let p = &p.value;
    let ret = match &p.recovery_points {
        Some(r) => duration(cx, r, "recovery_points", MAX_RECOVERY_POINTS_MINUTES),
        None => Some(DEFAULT_RECOVERY_POINTS_MINUTES),
    };
    let Some(app_sp) = &p.app_consistent_every else {
        return;
    };
    let (Some(app), Some(ret)) = (
        duration(
            cx,
            app_sp,
            "app_consistent_every",
            MAX_APP_CONSISTENT_MINUTES,
        ),
        ret,
    ) else {
        return;
    };
    if app == 0 {
        return;
    }
    let ret_text = match &p.recovery_points {
        Some(r) => r.value.clone(),
        None => format!("{}, the default", format_minutes(ret)),
    };
    let ret_note = |d: Diag| match &p.recovery_points {
        Some(r) => d.note(
            cx.at(r.span),
            format!("recovery points are kept {}", r.value),
        ),
        None => d,
    };
    if ret == 0 {
        let d = Diag::error(
            cx.at(app_sp.span),
            "app-consistent snapshots need recovery points to be kept",
        )
        .label("must be 0 or absent")
        .help("with `recovery_points: 0m` Site Recovery keeps only the latest crash-consistent point: remove `app_consistent_every`, or keep recovery points longer");
        let d = ret_note(d);
        cx.push(d);
    } else if app > ret {
        let d = Diag::error(
            cx.at(app_sp.span),
            format!(
                "`app_consistent_every` ({}) is longer than `recovery_points` ({ret_text})",
                app_sp.value
            ),
        )
        .label("more than recovery_points")
        .help("an app-consistent snapshot must be taken at least once within the retention of recovery points: take them more often, or keep recovery points longer");
        let d = ret_note(d);
        cx.push(d);
    }
}

/// Target zone, size, availability set and disk types of one replicated VM.
fn check_vm_target(cx: &mut Cx, e: &Sp<ReplicatedVm>) {
    let e = &e.value;
    if let Some(z) = &e.target_zone {
        if !matches!(z.value.as_str(), "1" | "2" | "3") {
            cx.push(
                Diag::error(cx.at(z.span), format!("`{}` is not an availability zone", z.value))
                    .label("expected \"1\", \"2\" or \"3\"")
                    .help("availability zones are numbered 1–3 within a region, e.g. `target_zone: \"1\"`"),
            );
        }
    }
    if let Some(s) = &e.target_vm_size {
        if !plausible_vm_size(&s.value) {
            cx.push(
                Diag::error(cx.at(s.span), format!("`{}` is not a VM size", s.value))
                    .label("expected `Standard_…`")
                    .help("VM sizes look like `Standard_D2s_v5` (`az vm list-sizes -l <target region>`); whether the target region offers it is checked at plan time"),
            );
        }
    }
    if let Some(a) = &e.target_availability_set {
        let r = if a.value.starts_with('/') {
            names::availability_set_id(&a.value).map(|_| ())
        } else {
            names::availability_set_name(&a.value)
        };
        if let Err(msg) = r {
            cx.push(
                Diag::error(cx.at(a.span), not_a(&a.value, "an availability set"))
                    .label("invalid availability set")
                    .help(format!(
                        "{msg}; write its name (in `target_resource_group`) or its id"
                    )),
            );
        }
        if let Some(z) = &e.target_zone {
            cx.push(
                Diag::error(
                    cx.at(a.span),
                    "a VM fails over into an availability zone or an availability set, not both",
                )
                .label("availability set")
                .note(cx.at(z.span), "availability zone")
                .help("remove `target_zone` or `target_availability_set`"),
            );
        }
    }
    if let Some(d) = &e.disks {
        if let Some(os) = &d.value.os {
            check_disk_type(cx, &os.value, os.span, true);
        }
        if let Some(data) = &d.value.data {
            match &data.value {
                DataDiskTypes::All(t) => check_disk_type(cx, t, data.span, false),
                DataDiskTypes::ByLun(m) => {
                    let mut luns: BTreeMap<u32, At> = BTreeMap::new();
                    for (k, t) in m.iter() {
                        let lun =
                            k.value.parse::<u32>().ok().filter(|l| {
                                *l <= 63 && k.value.bytes().all(|b| b.is_ascii_digit())
                            });
                        match lun {
                            None => cx.push(
                                Diag::error(
                                    cx.at(k.span),
                                    format!("`{}` is not a data-disk LUN", k.value),
                                )
                                .label("expected 0–63")
                                .help("key data-disk types by LUN, e.g. `data: {0: StandardSSD_LRS}`; the OS disk is `os`"),
                            ),
                            Some(l) => {
                                let at = cx.at(k.span);
                                if let Some(first) = luns.get(&l) {
                                    cx.push(
                                        Diag::error(at, format!("LUN {l} is listed twice"))
                                            .label("repeated LUN")
                                            .note(*first, "first listed here"),
                                    );
                                } else {
                                    luns.insert(l, at);
                                }
                            }
                        }
                        check_disk_type(cx, &t.value, t.span, false);
                    }
                }
            }
        }
    }
}

/// `Standard_D2s_v5`, `Standard_E4-2s_v5`, `standard_b2ms` (Azure compares sizes
/// case-insensitively).
fn plausible_vm_size(s: &str) -> bool {
    let Some(prefix) = s.get(..9) else {
        return false;
    };
    let rest = &s[9..];
    prefix.eq_ignore_ascii_case("Standard_")
        && rest.starts_with(|c: char| c.is_ascii_alphabetic())
        && rest
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
}

fn check_disk_type(cx: &mut Cx, t: &DiskType, span: SourceSpan, os: bool) {
    let v = t.0.as_str();
    if DiskType::ALL.contains(&v) {
        if os && v == "PremiumV2_LRS" {
            cx.push(
                Diag::error(cx.at(span), "a Premium SSD v2 disk cannot be an OS disk")
                    .label("PremiumV2_LRS")
                    .help("Premium SSD v2 is for data disks; use `Premium_LRS` or `Premium_ZRS` for the OS disk"),
            );
        }
        return;
    }
    let (msg, help) = if v.eq_ignore_ascii_case("UltraSSD_LRS") {
        (
            "Site Recovery does not replicate Ultra disks".to_string(),
            "use `PremiumV2_LRS` (data disks) or `Premium_LRS`".to_string(),
        )
    } else {
        (
            format!("`{v}` is not a disk type"),
            suggest(v, DiskType::ALL).map_or_else(
                || format!("expected {}", crate::config::diag::one_of(&DiskType::ALL)),
                |d| {
                    format!(
                        "{d} expected {}",
                        crate::config::diag::one_of(&DiskType::ALL)
                    )
                },
            ),
        )
    };
    cx.push(
        Diag::error(cx.at(span), msg)
            .label("unsupported disk type")
            .help(help),
    );
}

fn check_action(cx: &mut Cx, a: &Sp<PlanAction>) {
    let v = &a.value;
    let kinds: Vec<(&str, &Sp<String>)> = [
        ("runbook", &v.runbook),
        ("manual", &v.manual),
        ("script", &v.script),
    ]
    .into_iter()
    .filter_map(|(k, s)| s.as_ref().map(|s| (k, s)))
    .collect();
    match kinds.as_slice() {
        [] => cx.push(
            Diag::error(cx.at(a.span), "an action needs one of `runbook`, `manual` or `script`")
                .label("no action")
                .help("e.g. `{runbook: /subscriptions/…/runbooks/warm-cache}` or `{manual: \"Drain traffic from the load balancer\"}`"),
        ),
        [_] => {}
        [(first, f), (second, s), ..] => cx.push(
            Diag::error(
                cx.at(s.span),
                format!("an action is one of `runbook`, `manual` or `script`, not `{first}` and `{second}`"),
            )
            .label(format!("`{second}` in a `{first}` action"))
            .note(cx.at(f.span), format!("`{first}` here"))
            .help("split it into two actions of the list; they run in order"),
        ),
    }
    if let Some(rb) = &v.runbook {
        if let Err(e) = names::runbook_id(&rb.value) {
            cx.push(
                Diag::error(cx.at(rb.span), not_a(&rb.value, "a runbook id"))
                    .label("invalid runbook id")
                    .help(e),
            );
        }
    }
    if let Some(m) = &v.manual {
        if m.value.trim().is_empty() {
            cx.push(
                Diag::error(cx.at(m.span), "a manual action needs an instruction")
                    .label("empty text")
                    .help("write what the operator must do, e.g. `manual: \"Drain traffic from the load balancer\"`"),
            );
        }
        for (key, span) in [
            (
                "fabric_location",
                v.fabric_location.as_ref().map(|f| f.span),
            ),
            ("timeout", v.timeout.as_ref().map(|t| t.span)),
        ] {
            if let Some(span) = span {
                cx.push(
                    Diag::error(cx.at(span), format!("a manual action has no `{key}`"))
                        .label("not for manual actions")
                        .help(format!("`{key}` applies to runbook and script actions; Azure rejects it on a manual action: remove it")),
                );
            }
        }
    }
    if let Some(s) = &v.script {
        if s.value.trim().is_empty() {
            cx.push(
                Diag::error(cx.at(s.span), "a script action needs a path")
                    .label("empty path")
                    .help("write the script's path, e.g. `script: /RecoveryPlanScripts/warm-cache.ps1`"),
            );
        } else {
            cx.push(
                Diag::warning(cx.at(s.span), "script actions run on a VMM server")
                    .label("script action")
                    .help("Azure runs recovery-plan scripts in Hyper-V (VMM) to Azure scenarios; an Azure-to-Azure plan usually runs an Automation `runbook` instead"),
            );
        }
    }
    if let Some(t) = &v.timeout {
        match parse_minutes(&t.value) {
            None => cx.push(
                Diag::error(cx.at(t.span), format!("`{}` is not a duration", t.value))
                    .label("expected `<N>m`, `<N>h` or `<N>d`")
                    .help("write the timeout in minutes or hours, e.g. `30m` or `1h`"),
            ),
            Some(0) => cx.push(
                Diag::error(
                    cx.at(t.span),
                    "a timeout of 0 would stop the action at once",
                )
                .label("must be more than 0")
                .help(
                    "give the action time to run, e.g. `30m`; omit `timeout` for Azure's default",
                ),
            ),
            Some(_) => {}
        }
    }
    if let Some(on) = &v.on {
        check_distinct(
            cx,
            on,
            "on",
            "`failover`, `planned_failover` or `test_failover`; omit `on` to run on all three",
        );
    }
    if let Some(d) = &v.direction {
        check_distinct(
            cx,
            d,
            "direction",
            "`primary_to_recovery` or `recovery_to_primary`; omit `direction` to run in both",
        );
    }
}

fn check_distinct<T: Ord + Copy + std::fmt::Debug + serde_snake::Snake>(
    cx: &mut Cx,
    list: &Sp<Vec<Sp<T>>>,
    key: &str,
    values: &str,
) {
    if list.value.is_empty() {
        cx.push(
            Diag::error(
                cx.at(list.span),
                format!("`{key}` needs at least one value"),
            )
            .label("empty list")
            .help(format!("list {values}")),
        );
    }
    let mut seen: BTreeMap<T, At> = BTreeMap::new();
    for item in &list.value {
        let at = cx.at(item.span);
        if let Some(first) = seen.get(&item.value) {
            cx.push(
                Diag::error(
                    at,
                    format!("`{}` is listed twice in `{key}`", item.value.snake()),
                )
                .label("repeated value")
                .note(*first, "first listed here"),
            );
        } else {
            seen.insert(item.value, at);
        }
    }
}

/// The YAML spelling of `on`/`direction` values, for messages.
mod serde_snake {
    use crate::config::types_sr::{FailoverDirection, FailoverType};

    pub trait Snake {
        fn snake(&self) -> &'static str;
    }
    impl Snake for FailoverType {
        fn snake(&self) -> &'static str {
            match self {
                FailoverType::Failover => "failover",
                FailoverType::PlannedFailover => "planned_failover",
                FailoverType::TestFailover => "test_failover",
            }
        }
    }
    impl Snake for FailoverDirection {
        fn snake(&self) -> &'static str {
            match self {
                FailoverDirection::PrimaryToRecovery => "primary_to_recovery",
                FailoverDirection::RecoveryToPrimary => "recovery_to_primary",
            }
        }
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
