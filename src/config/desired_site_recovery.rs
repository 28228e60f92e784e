//! `site_recovery` blocks → [`ReplicationGroup`]s (ids resolved, defaults filled in, recovery
//! plan groups in the attribute form of `model::site_recovery::recovery_plan`). Files are
//! already validated: anything malformed here is skipped, never a panic.

use super::desired::{block_subscription, vm_id};
use super::types::ConfigFile;
use super::types_site_recovery::{
    DataDiskTypes, FabricLocation, FailoverDirection, FailoverType, PlanAction, SiteRecovery,
};
use super::validate::{names, site_recovery::parse_minutes};
use crate::model::site_recovery::recovery_plan::{action_base, DerivedNames};
use crate::model::site_recovery::{GroupSelector, ReplicatedVmSpec, ReplicationGroup};
use crate::model::{resource_group::normalize_location, vault, ArmId};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Every `site_recovery` group of every file.
pub fn groups(files: &[ConfigFile], sub: &str) -> Vec<ReplicationGroup> {
    let vaults: BTreeMap<String, ArmId> = files
        .iter()
        .flat_map(|f| f.recovery_vaults.iter().flat_map(|m| m.value.iter()))
        .map(|(k, v)| {
            let v = &v.value;
            let vault_sub = block_subscription(&v.subscription, sub);
            (
                k.value.to_ascii_lowercase(),
                vault::arm_id(vault_sub, &v.resource_group.value, &k.value),
            )
        })
        .collect();
    let mut out = Vec::new();
    for f in files {
        for (name, g) in f.site_recovery.iter().flat_map(|m| m.value.iter()) {
            let Some(vault_id) = vaults.get(&g.value.vault.value.to_ascii_lowercase()) else {
                continue;
            };
            // Names in the block default to its `subscription:`, else the vault's.
            let vault_sub = vault_id.subscription().unwrap_or(sub);
            let sub = block_subscription(&g.value.subscription, vault_sub);
            out.push(group(&name.value, &g.value, sub, vault_id.clone()));
        }
    }
    out
}

fn vm_ref_id(s: &str, sub: &str) -> Option<String> {
    let r = names::vm_ref(s).ok()?;
    Some(vm_id(
        r.subscription.as_deref().unwrap_or(sub),
        &r.resource_group,
        &r.name,
    ))
}

fn group(name: &str, g: &SiteRecovery, sub: &str, vault_id: ArmId) -> ReplicationGroup {
    let policy = g.policy.as_ref().map(|p| &p.value);
    let minutes = |v: Option<&super::spanned::Sp<String>>| {
        v.and_then(|s| parse_minutes(&s.value)).map(u64::from)
    };
    let target_rg =
        crate::model::resource_group::id_or_name(&g.target_resource_group.value, sub).to_string();
    let vms = g
        .vms
        .iter()
        .flat_map(|v| &v.value)
        .filter_map(|v| {
            let v = &v.value;
            let disks = v.disks.as_ref().map(|d| &d.value);
            let (data_disk_type, data_disk_types) =
                match disks.and_then(|d| d.data.as_ref()).map(|d| &d.value) {
                    Some(DataDiskTypes::All(t)) => (Some(t.0.clone()), BTreeMap::new()),
                    Some(DataDiskTypes::ByLun(m)) => (
                        None,
                        m.iter()
                            .filter_map(|(lun, t)| {
                                Some((lun.value.parse::<u32>().ok()?, t.value.0.clone()))
                            })
                            .collect(),
                    ),
                    None => (None, BTreeMap::new()),
                };
            Some(ReplicatedVmSpec {
                vm_id: vm_ref_id(&v.vm.value, sub)?,
                target_zone: v.target_zone.as_ref().map(|z| z.value.clone()),
                target_vm_size: v.target_vm_size.as_ref().map(|s| s.value.clone()),
                target_availability_set_id: v.target_availability_set.as_ref().map(|a| {
                    if a.value.starts_with('/') {
                        a.value.clone()
                    } else {
                        format!(
                            "{target_rg}/providers/Microsoft.Compute/availabilitySets/{}",
                            a.value
                        )
                    }
                }),
                os_disk_type: disks.and_then(|d| d.os.as_ref()).map(|t| t.value.0.clone()),
                data_disk_type,
                data_disk_types,
            })
        })
        .collect();
    let select = g.select.as_ref().map(|s| GroupSelector {
        subscription: sub.to_string(),
        resource_groups: s.value.resource_group_names(),
        tags: s.value.tag_map(),
    });
    let recovery_plans = g
        .recovery_plans
        .iter()
        .flat_map(|m| m.value.iter())
        .map(|(plan, p)| (plan.value.clone(), plan_attrs(&p.value.groups.value, sub)))
        .collect();
    ReplicationGroup {
        name: name.to_string(),
        vault: g.vault.value.clone(),
        vault_id,
        source_region: normalize_location(&g.source_region.value),
        target_region: normalize_location(&g.target_region.value),
        recovery_points_minutes: minutes(policy.and_then(|p| p.recovery_points.as_ref()))
            .unwrap_or(24 * 60),
        app_consistent_minutes: minutes(policy.and_then(|p| p.app_consistent_every.as_ref()))
            .unwrap_or(0),
        target_resource_group_id: target_rg,
        cache_storage_account_id: g.cache_storage_account.value.clone(),
        target_cache_storage_account_id: g
            .target_cache_storage_account
            .as_ref()
            .map(|t| t.value.clone()),
        network_mappings: g
            .network_mappings
            .iter()
            .flat_map(|m| &m.value)
            .map(|m| (m.value.source.value.clone(), m.value.target.value.clone()))
            .collect(),
        vms,
        select,
        recovery_plans,
    }
}

/// Recovery plan groups in attribute form; action names are derived and unique within the plan.
fn plan_attrs(
    groups: &[super::spanned::Sp<super::types_site_recovery::RecoveryGroup>],
    sub: &str,
) -> Value {
    let mut derived = DerivedNames::default();
    let mut name_for = |base: String| derived.take(&base);
    let mut out = Vec::new();
    for g in groups {
        let g = &g.value;
        let mut vms: Vec<String> = g
            .vms
            .value
            .iter()
            .filter_map(|v| vm_ref_id(&v.value, sub))
            .collect();
        vms.sort_by_key(|v| v.to_ascii_lowercase());
        let mut actions = |list: &Option<
            super::spanned::Sp<Vec<super::spanned::Sp<PlanAction>>>,
        >|
         -> Vec<Value> {
            list.iter()
                .flat_map(|l| &l.value)
                .map(|a| action(&a.value, &mut name_for))
                .collect()
        };
        let before = actions(&g.before);
        let after = actions(&g.after);
        out.push(json!({"vms": vms, "before": before, "after": after}));
    }
    json!({"groups": out})
}

fn action(a: &PlanAction, name_for: &mut dyn FnMut(String) -> String) -> Value {
    let mut on: Vec<&str> = match &a.on {
        Some(on) => on.value.iter().map(|t| failover_type(t.value)).collect(),
        None => vec!["failover", "planned_failover", "test_failover"],
    };
    on.sort_unstable();
    on.dedup();
    let mut direction: Vec<&str> = match &a.direction {
        Some(d) => d.value.iter().map(|d| direction_name(d.value)).collect(),
        None => vec!["primary_to_recovery", "recovery_to_primary"],
    };
    direction.sort_unstable();
    direction.dedup();
    let fabric = match a.fabric_location.as_ref().map(|f| f.value) {
        Some(FabricLocation::Primary) => "primary",
        _ => "recovery",
    };
    let mut out = json!({"on": on, "direction": direction});
    // A declared name as it is; else one derived (`recovery_plan::action_base`), numbered.
    let mut name = |base: String| match &a.name {
        Some(n) => json!(n.value.trim()),
        None => json!(name_for(base)),
    };
    if let Some(r) = &a.runbook {
        out["name"] = name(action_base(Some(&r.value), None));
        out["runbook"] = json!(r.value);
        out["fabric_location"] = json!(fabric);
    } else if let Some(s) = &a.script {
        out["name"] = name(action_base(None, Some(&s.value)));
        out["script"] = json!(s.value);
        out["fabric_location"] = json!(fabric);
    } else if let Some(m) = &a.manual {
        out["name"] = name(action_base(None, None));
        out["manual"] = json!(m.value);
    }
    // A runbook's or script's time limit, as the model sends and reads it
    // (`recovery_plan::action_to_arm`); manual actions have none (the schema refuses it).
    if let (Some(t), None) = (&a.timeout, &a.manual) {
        out["timeout"] = json!(t.value.trim());
    }
    out
}

fn failover_type(t: FailoverType) -> &'static str {
    match t {
        FailoverType::Failover => "failover",
        FailoverType::PlannedFailover => "planned_failover",
        FailoverType::TestFailover => "test_failover",
    }
}

fn direction_name(d: FailoverDirection) -> &'static str {
    match d {
        FailoverDirection::PrimaryToRecovery => "primary_to_recovery",
        FailoverDirection::RecoveryToPrimary => "recovery_to_primary",
    }
}
