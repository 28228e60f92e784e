//! Site Recovery's part of the document: the resources `live::site_recovery::read_vaults` read
//! (normalized by `model::site_recovery`) as `site_recovery:` groups that plan empty.
//!
//! The planner names a group's replication policy and container mappings after the group
//! (`model::site_recovery::group`), so a group is what one replication policy of a vault
//! replicates, named after that policy; its regions, target resource group and cache come from
//! its VMs, which must agree on them (a VM that does not is named in a comment). Disk types are
//! written only where the replica's differs from the source disk's (the planner's default is the
//! source's type); the target VM size only where it differs from the VM's own size. A recovery
//! plan goes to the group that replicates all its VMs.

use super::reference;
use crate::model::export::{
    DataDisks, RecoveryGroup, RecoveryPlan, ReplicatedVm, SiteRecovery, Unsupported,
};
use crate::model::site_recovery::{fabric_name, recovery_plan, replication};
use crate::model::{ArmId, LiveState, Resource, ResourceKind, VaultScope, VirtualMachine};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// The groups of `scopes`' vaults, and what they could not hold. Every item left out is
/// [`Unsupported`]: the planner reads the replications and recovery plans of every vault a group
/// names, and disables (deletes) those no group declares.
pub fn groups(
    live: &LiveState,
    sr: &[Resource],
    scopes: &[VaultScope],
    sub: &str,
) -> (Vec<SiteRecovery>, Vec<Unsupported>) {
    let mut out: Vec<SiteRecovery> = Vec::new();
    let mut unsupported = Vec::new();
    for scope in scopes {
        let mut skipped = Vec::new();
        vault(live, sr, scope, sub, &mut out, &mut skipped);
        unsupported.extend(skipped.into_iter().map(|line| Unsupported {
            vault: scope.name.clone(),
            site_recovery: true,
            line: line.trim_end_matches(" — not listed").to_string(),
        }));
    }
    out.sort_by_key(|g| g.name.to_ascii_lowercase());
    unsupported.sort();
    (out, unsupported)
}

/// One replicated item: the group it would belong to and its `vms:` entry.
struct Item<'a> {
    source: String,
    attrs: &'a Value,
    vm_id: ArmId,
    entry: ReplicatedVm,
}

fn vault(
    live: &LiveState,
    sr: &[Resource],
    scope: &VaultScope,
    sub: &str,
    out: &mut Vec<SiteRecovery>,
    skipped: &mut Vec<String>,
) {
    let of_vault = |kind| super::of_vault(sr, &scope.name, kind);
    // policy name (lower case) → items, in VM order.
    let mut by_policy: BTreeMap<String, Vec<Item>> = BTreeMap::new();
    for r in of_vault(ResourceKind::Replication) {
        let a = replication::Attrs(&r.attrs);
        let vm_id = ArmId::new(a.vm_id().unwrap_or_default());
        let source = r.address.name.split('/').nth(1).unwrap_or_default();
        let policy = ArmId::new(r.attrs["policy_id"].as_str().unwrap_or_default());
        by_policy
            .entry(policy.name().to_string())
            .or_default()
            .push(Item {
                source: source.to_string(),
                attrs: &r.attrs,
                entry: replicated_vm(live, &r.attrs, &vm_id, sub),
                vm_id,
            });
    }
    let policies: BTreeMap<String, &Value> = of_vault(ResourceKind::ReplicationPolicy)
        .map(|p| (p.arm_id.name().to_ascii_lowercase(), &p.attrs))
        .collect();
    let mut mapped: BTreeSet<(String, String)> = BTreeSet::new();
    let mut made = Vec::new();
    for (policy, mut items) in by_policy {
        items.sort_by_key(|i| i.entry.vm.to_ascii_lowercase());
        let Some(first) = items.first() else { continue };
        let key = |i: &Item| {
            let a = &i.attrs;
            let s = |k: &str| a[k].as_str().unwrap_or_default().to_ascii_lowercase();
            (
                i.source.clone(),
                s("target_region"),
                s("target_resource_group_id"),
                s("cache_storage_account_id"),
            )
        };
        let want = key(first);
        let (source, target) = (first.source.clone(), want.1.clone());
        let s = |k: &str| first.attrs[k].as_str().unwrap_or_default().to_string();
        let target_rg = reference_rg(&s("target_resource_group_id"), sub);
        let cache = s("cache_storage_account_id");
        if policy.is_empty() || out.iter().any(|g| g.name.eq_ignore_ascii_case(&policy)) {
            for i in &items {
                skipped.push(format!(
                    "{} (vault {}): its replication policy `{policy}` names another group too — not listed",
                    i.entry.vm, scope.name
                ));
            }
            continue;
        }
        let Some(p) = policies.get(&policy.to_ascii_lowercase()) else {
            for i in &items {
                skipped.push(format!(
                    "{} (vault {}): its replication policy `{policy}` was not found — not listed",
                    i.entry.vm, scope.name
                ));
            }
            continue;
        };
        let (mut vms, mut ids) = (Vec::new(), Vec::new());
        for i in items {
            if key(&i) == want {
                ids.push(i.vm_id.clone());
                vms.push(i.entry);
            } else {
                skipped.push(format!(
                    "{} (vault {}): replicates with policy `{policy}` but from another region, into another resource group or through another cache than {} — a group has one of each — not listed",
                    i.entry.vm, scope.name, vms.first().map_or("the group's first VM", |v: &ReplicatedVm| v.vm.as_str())
                ));
            }
        }
        let minutes = |k: &str| p[k].as_u64().unwrap_or_default();
        let (points, app) = (
            minutes("recovery_points_minutes"),
            minutes("app_consistent_minutes"),
        );
        // Each source network is mapped once per vault: the first group of a region pair says so.
        let network_mappings = if mapped.insert((source.clone(), target.clone())) {
            network_mappings(of_vault(ResourceKind::NetworkMapping), &source, &target)
        } else {
            vec![]
        };
        made.push((
            SiteRecovery {
                name: policy.clone(),
                vault: scope.name.clone(),
                source_region: source,
                target_region: target,
                recovery_points: duration(points),
                app_consistent_every: (app > 0 || points == 0).then(|| duration(app)),
                target_resource_group: target_rg,
                cache_storage_account: cache,
                network_mappings,
                vms,
                recovery_plans: vec![],
            },
            ids,
        ));
    }
    for plan in of_vault(ResourceKind::RecoveryPlan) {
        let name = plan.arm_id.name();
        let a = &plan.attrs;
        let vms: Vec<ArmId> = a["groups"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|g| g["vms"].as_array().into_iter().flatten())
            .filter_map(Value::as_str)
            .map(ArmId::new)
            .collect();
        let regions = (
            a["source_region"].as_str().unwrap_or_default(),
            a["target_region"].as_str().unwrap_or_default(),
        );
        let home = made.iter_mut().find(|(g, ids)| {
            let same = (g.source_region.as_str(), g.target_region.as_str()) == regions
                || (g.target_region.as_str(), g.source_region.as_str()) == regions;
            same && vms.iter().all(|vm| ids.contains(vm))
        });
        let why = if a.get("shutdown").is_some() || a.get("failover").is_some() {
            Some("has actions in Azure's own shutdown or failover group, which the file cannot express")
        } else if home.is_none() {
            Some("its VMs are not all replicated by one exported group")
        } else {
            None
        };
        match (why, home) {
            (None, Some((g, _))) => g.recovery_plans.push(RecoveryPlan {
                name: name.to_string(),
                groups: plan_groups(a, sub),
            }),
            (why, _) => skipped.push(format!(
                "recovery plan {name} (vault {}): {} — not listed",
                scope.name,
                why.unwrap_or_default()
            )),
        }
    }
    for (mut g, _) in made {
        g.recovery_plans
            .sort_by_key(|p| p.name.to_ascii_lowercase());
        out.push(g);
    }
}

/// A target resource group as the file names it.
fn reference_rg(id: &str, sub: &str) -> String {
    let rg = ArmId::new(id);
    match (rg.subscription(), rg.value_of("resourceGroups")) {
        (Some(s), Some(name)) if s.eq_ignore_ascii_case(sub) => name.to_string(),
        _ => id.to_string(),
    }
}

/// The forward mappings of a region pair: under the source region's fabric, to the target's.
fn network_mappings<'a>(
    all: impl Iterator<Item = &'a Resource>,
    source: &str,
    target: &str,
) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = all
        .filter(|m| {
            m.arm_id
                .value_of("replicationFabrics")
                .is_some_and(|f| f.eq_ignore_ascii_case(&fabric_name(source)))
                && m.attrs["target_fabric"]
                    .as_str()
                    .is_some_and(|f| f.eq_ignore_ascii_case(&fabric_name(target)))
        })
        .map(|m| {
            let s = |k: &str| m.attrs[k].as_str().unwrap_or_default().to_string();
            (s("source_network_id"), s("target_network_id"))
        })
        .collect();
    out.sort_by_key(|(s, _)| s.to_ascii_lowercase());
    out
}

/// Minutes as the file writes a duration: `24h`, `4h`, `2d`, `90m`.
/// Minutes as the file writes them (`24h`, `2d`, `90m`): the validator's own formatting.
fn duration(minutes: u64) -> String {
    u32::try_from(minutes).map_or_else(
        |_| format!("{minutes}m"),
        crate::config::validate::site_recovery::format_minutes,
    )
}

/// A replicated item's `vms:` entry: overrides only where they differ from what the planner
/// would choose by default.
fn replicated_vm(live: &LiveState, attrs: &Value, vm_id: &ArmId, sub: &str) -> ReplicatedVm {
    let a = replication::Attrs(attrs);
    let vm: Option<&VirtualMachine> = live.vm(vm_id.as_str());
    let id = vm.map_or(vm_id.clone(), |v| v.id.clone());
    let target: BTreeMap<ArmId, String> = a
        .target_disk_types()
        .into_iter()
        .map(|(d, t)| (ArmId::new(&d), t))
        .collect();
    let differs = |d: &crate::model::VmDisk| {
        target
            .get(&d.id)
            .filter(|t| d.sku.as_deref().is_none_or(|s| !s.eq_ignore_ascii_case(t)))
            .cloned()
    };
    let disks = vm.map(|v| v.disks.as_slice()).unwrap_or_default();
    let os_disk = disks.iter().find(|d| d.lun.is_none()).and_then(differs);
    let data: Vec<_> = disks.iter().filter(|d| d.lun.is_some()).collect();
    let changed: BTreeMap<u32, String> = data
        .iter()
        .filter_map(|d| Some((d.lun?, differs(d)?)))
        .collect();
    let types: BTreeSet<String> = data
        .iter()
        .filter_map(|d| target.get(&d.id).cloned())
        .collect();
    let data_disks = match (changed.is_empty(), types.len()) {
        (true, _) => DataDisks::Keep,
        (false, 1) if data.iter().all(|d| target.contains_key(&d.id)) => {
            DataDisks::All(types.into_iter().next().unwrap_or_default())
        }
        _ => DataDisks::ByLun(changed),
    };
    let own_size = vm.and_then(|v| v.size.as_deref());
    let text = |k: &str| attrs[k].as_str().map(str::to_string);
    ReplicatedVm {
        vm: reference(&id, sub),
        target_zone: text("target_zone"),
        target_vm_size: a
            .target_vm_size()
            .filter(|s| own_size.is_none_or(|o| !o.eq_ignore_ascii_case(s)))
            .map(str::to_string),
        target_availability_set: text("target_availability_set_id"),
        os_disk,
        data_disks,
    }
}

/// A recovery plan's boot groups in the file's form.
fn plan_groups(a: &Value, sub: &str) -> Vec<RecoveryGroup> {
    let mut derived = recovery_plan::DerivedNames::default();
    a["groups"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|g| {
            let mut vms: Vec<String> = g["vms"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(|id| reference(&ArmId::new(id), sub))
                .collect();
            vms.sort_by_key(|v| v.to_ascii_lowercase());
            let mut actions = |k: &str| -> Vec<Value> {
                g[k].as_array()
                    .into_iter()
                    .flatten()
                    .map(|x| named(action(x), x, &mut derived))
                    .collect()
            };
            let before = actions("before");
            let after = actions("after");
            RecoveryGroup { vms, before, after }
        })
        .collect()
}

/// `out` with the action's `name` when the planner would not derive it: the planner names an
/// unnamed action `recovery_plan::action_base`, numbered in the plan's order (before, then
/// after, group by group) — as `recovery_plan::DerivedNames` counts them.
fn named(mut out: Value, a: &Value, derived: &mut recovery_plan::DerivedNames) -> Value {
    let text = |k: &str| a[k].as_str();
    let base = recovery_plan::action_base(text("runbook"), text("script"));
    match text("name") {
        Some(name) if name != derived.peek(&base) => out["name"] = json!(name),
        _ => {
            derived.take(&base);
        }
    }
    out
}

/// An action (`model::site_recovery::recovery_plan` attributes) in the file's keys, Azure's
/// defaults left out: every failover type, both directions, `fabric_location: recovery`.
fn action(a: &Value) -> Value {
    let mut out = Map::new();
    for k in ["runbook", "manual", "script"] {
        if let Some(v) = a.get(k).filter(|v| !v.is_null()) {
            out.insert(k.into(), v.clone());
        }
    }
    let all = |k: &str, n: usize| a[k].as_array().is_some_and(|v| v.len() == n);
    if !all("on", 3) {
        out.insert("on".into(), a["on"].clone());
    }
    if !all("direction", 2) {
        out.insert("direction".into(), a["direction"].clone());
    }
    if a.get("manual").is_none() && a["fabric_location"].as_str() != Some("recovery") {
        out.insert("fabric_location".into(), json!(a["fabric_location"]));
    }
    if let Some(t) = a.get("timeout") {
        out.insert("timeout".into(), t.clone());
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::duration;

    #[test]
    fn durations_read_as_a_person_writes_them() {
        for (m, s) in [
            (1440, "24h"),
            (240, "4h"),
            (90, "90m"),
            (0, "0m"),
            (2880, "2d"),
            (21600, "15d"),
        ] {
            assert_eq!(duration(m), s);
        }
    }
}
