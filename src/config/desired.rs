//! Validated files → [`Desired`]: resources with attributes in the exact canonical form of the
//! `model` family contracts (defaults filled for policies, optional vault keys omitted when
//! unset), selectors, vault scopes, and `depends_on` edges.

// `disk_backup` lives next to this file; declared here so that `config/mod.rs` need not change.

use super::diag::{Diag, Diags};
use super::spanned::{Map, OneOrMany, Sp};
use super::types::*;
use super::validate::names::{self, VmRef};
use super::validate::{parse_days, parse_hours};
use crate::model::{
    backup_policy, protected_vm, resource_group, vault, Address, Desired, Resource, ResourceKind,
    VaultScope,
};
use serde_json::{json, Map as JsonMap, Value};
use std::collections::BTreeMap;

fn tier_str(t: Tier) -> &'static str {
    match t {
        Tier::Standard => "standard",
        Tier::Enhanced => "enhanced",
    }
}

fn consistency_str(c: Consistency) -> &'static str {
    match c {
        Consistency::Application => "application",
        Consistency::CrashOnly => "crash_only",
    }
}

/// Global tags (all files) merged under a resource's own tags.
pub(super) fn tags(
    global: &BTreeMap<String, String>,
    own: Option<&Sp<Map<String>>>,
) -> JsonMap<String, Value> {
    let mut t: BTreeMap<String, String> = global.clone();
    for (k, v) in own.iter().flat_map(|m| m.value.iter()) {
        t.insert(k.value.clone(), v.value.clone());
    }
    t.into_iter().map(|(k, v)| (k, Value::String(v))).collect()
}

/// Names in calendar order, deduplicated: a string when one, a list when several.
fn one_or_list<T: Ord + Copy + std::fmt::Debug>(v: &OneOrMany<T>) -> Value {
    let mut items = v.to_vec();
    items.sort();
    items.dedup();
    if items.len() == 1 {
        json!(format!("{:?}", items[0]))
    } else {
        Value::Array(items.iter().map(|i| json!(format!("{i:?}"))).collect())
    }
}

fn day_list(days: &[Sp<Weekday>]) -> Value {
    let mut d: Vec<Weekday> = days.iter().map(|d| d.value).collect();
    d.sort();
    d.dedup();
    Value::Array(d.iter().map(|d| json!(format!("{d:?}"))).collect())
}

/// The attributes of a backup policy (see `model::backup_policy`).
pub fn policy_attrs(p: &BackupPolicy) -> Value {
    let tier = p.tier.as_ref().map(|t| t.value).unwrap_or(Tier::Standard);
    let s = &p.schedule.value;
    let schedule = if let Some(h) = &s.hourly {
        let every = parse_hours(&h.value.every.value).unwrap_or(0);
        let duration = parse_hours(&h.value.duration.value).unwrap_or(0);
        json!({"hourly": {"every": format!("{every}h"), "start": h.value.start.value, "duration": format!("{duration}h")}})
    } else if let Some(d) = &s.daily {
        json!({"daily": {"at": d.value.at.value}})
    } else if let Some(w) = &s.weekly {
        json!({"weekly": {"on": day_list(&w.value.on.value), "at": w.value.at.value}})
    } else {
        json!({})
    };
    let weekly = s.weekly.is_some() && s.hourly.is_none() && s.daily.is_none();
    let default_ir = match (tier, weekly) {
        (_, true) => 5,
        (Tier::Standard, false) => 2,
        (Tier::Enhanced, false) => 7,
    };
    let r = &p.retention.value;
    let mut retention = JsonMap::new();
    if let Some(d) = &r.daily {
        retention.insert(
            "daily".into(),
            json!(format!("{}d", parse_days(&d.value).unwrap_or(0))),
        );
    }
    if let Some(w) = &r.weekly {
        retention.insert(
            "weekly".into(),
            json!({"keep": w.value.keep.value, "on": day_list(&w.value.on.value)}),
        );
    }
    if let Some(m) = &r.monthly {
        retention.insert(
            "monthly".into(),
            json!({"keep": m.value.keep.value, "week": one_or_list(&m.value.week.value), "on": one_or_list(&m.value.on.value)}),
        );
    }
    if let Some(y) = &r.yearly {
        retention.insert(
            "yearly".into(),
            json!({
                "keep": y.value.keep.value,
                "month": one_or_list(&y.value.month.value),
                "week": one_or_list(&y.value.week.value),
                "on": one_or_list(&y.value.on.value),
            }),
        );
    }
    json!({
        "tier": tier_str(tier),
        "schedule": schedule,
        "time_zone": p.time_zone.as_ref().map(|t| t.value.trim().to_string()).unwrap_or_else(|| "UTC".into()),
        "consistency": consistency_str(p.consistency.as_ref().map(|c| c.value).unwrap_or(Consistency::Application)),
        "instant_restore_days": p.instant_restore_days.as_ref().map(|i| i.value).unwrap_or(default_ir),
        "retention": retention,
    })
}

/// The attributes of a vault (see `model::vault`): keys the file does not set are omitted.
/// The settings a vault of either kind (Recovery Services, Backup) keeps its data by: soft delete
/// and immutability, as far as the file sets them.
pub(super) fn data_settings(
    a: &mut JsonMap<String, Value>,
    soft_delete: Option<&Sp<SoftDelete>>,
    immutability: Option<&Sp<Immutability>>,
) {
    if let Some(sd) = soft_delete {
        let mut o = JsonMap::new();
        if let Some(s) = &sd.value.state {
            o.insert("state".into(), json!(format!("{:?}", s.value)));
        }
        if let Some(d) = &sd.value.retention_days {
            o.insert("retention_days".into(), json!(d.value));
        }
        a.insert("soft_delete".into(), Value::Object(o));
    }
    if let Some(i) = immutability {
        a.insert("immutability".into(), json!(format!("{:?}", i.value)));
    }
}

pub fn vault_attrs(v: &RecoveryVault, tag_map: JsonMap<String, Value>) -> Value {
    let mut a = JsonMap::new();
    a.insert(
        "location".into(),
        json!(resource_group::normalize_location(&v.location.value)),
    );
    if let Some(s) = &v.storage_redundancy {
        a.insert("storage_redundancy".into(), json!(format!("{:?}", s.value)));
    }
    if let Some(c) = &v.cross_region_restore {
        a.insert("cross_region_restore".into(), json!(c.value));
    }
    data_settings(&mut a, v.soft_delete.as_ref(), v.immutability.as_ref());
    if let Some(p) = &v.public_network_access {
        a.insert("public_network_access".into(), json!(p.value));
    }
    if !tag_map.is_empty() {
        a.insert("tags".into(), Value::Object(tag_map));
    }
    Value::Object(a)
}

/// A block's `subscription:`, else the file's default.
pub(super) fn block_subscription<'a>(block: &'a Option<Sp<String>>, default: &'a str) -> &'a str {
    block.as_ref().map_or(default, |s| s.value.as_str())
}

/// The resource groups the files declare, each with its subscription.
#[derive(Debug, Default)]
pub(super) struct DeclaredGroups(Vec<(String, String)>);

impl DeclaredGroups {
    /// What a vault in resource group `rg` of `sub` waits for: the group, when the files
    /// declare it in that subscription (names compared without case, as Azure does).
    pub(super) fn dependency(&self, sub: &str, rg: &str) -> Vec<Address> {
        self.0
            .iter()
            .find(|(name, s)| name.eq_ignore_ascii_case(rg) && s.eq_ignore_ascii_case(sub))
            .map(|(name, _)| vec![Address::new(ResourceKind::ResourceGroup, name.clone())])
            .unwrap_or_default()
    }
}

pub(super) fn vm_id(sub: &str, rg: &str, vm: &str) -> String {
    format!(
        "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachines/{vm}"
    )
}

/// Can the files do without a default subscription? They declare something (a stamp or a
/// block) and every block names its own subscription (a `site_recovery` group's defaults to
/// its vault's).
fn no_default_needed(files: &[ConfigFile]) -> bool {
    let vault_named = |name: &str| {
        (files
            .iter()
            .flat_map(|f| f.recovery_vaults.iter().flat_map(|m| m.value.iter())))
        .any(|(n, v)| n.value.eq_ignore_ascii_case(name) && v.value.subscription.is_some())
    };
    let mut declares = files.iter().any(|f| f.stamps.is_some());
    for b in files.iter().flat_map(ConfigFile::blocks) {
        if b.subscription.is_none() && !b.vault.is_some_and(vault_named) {
            return false;
        }
        declares = true;
    }
    declares
}

/// Build the desired state. Files are already validated; the only new failure is a missing or
/// malformed subscription.
pub fn build(
    files: &[ConfigFile],
    default_subscription: Option<&str>,
    diags: &mut Diags,
) -> Option<Desired> {
    let file_sub = files
        .iter()
        .find_map(|f| f.subscription.as_ref())
        .map(|s| s.value.clone());
    let subscription = match (file_sub, default_subscription) {
        (Some(s), _) => s,
        (None, Some(s)) if names::is_guid(s) => s.to_string(),
        (None, Some(s)) => {
            diags.push(
                Diag::global(format!(
                    "`{s}` (from --subscription or AZURE_SUBSCRIPTION_ID) is not a subscription id"
                ))
                .help("a subscription id is a GUID such as `00000000-0000-0000-0000-000000000001`"),
            );
            return None;
        }
        // Stamps, and blocks that each name their own subscription: no default is needed.
        (None, None) if no_default_needed(files) => String::new(),
        (None, None) => {
            diags.push(
                Diag::global("no subscription: the file sets none and neither --subscription nor AZURE_SUBSCRIPTION_ID is given")
                    .help("add `subscription: <GUID>` to the file, pass `--subscription <GUID>`, or set AZURE_SUBSCRIPTION_ID"),
            );
            return None;
        }
    };
    let sub = subscription.as_str();

    let mut global_tags = BTreeMap::new();
    for f in files {
        for (k, v) in f.tags.iter().flat_map(|t| t.value.iter()) {
            global_tags
                .entry(k.value.clone())
                .or_insert_with(|| v.value.clone());
        }
    }

    let mut d = Desired {
        subscription: subscription.clone(),
        ..Desired::default()
    };
    let mut declared_rgs = DeclaredGroups::default();
    for f in files {
        for (name, rg) in f.resource_groups.iter().flat_map(|m| m.value.iter()) {
            let rg_sub = block_subscription(&rg.value.subscription, sub);
            declared_rgs
                .0
                .push((name.value.clone(), rg_sub.to_string()));
            let t = tags(&global_tags, rg.value.tags.as_ref());
            d.resources.push(Resource {
                address: Address::new(ResourceKind::ResourceGroup, name.value.clone()),
                arm_id: resource_group::arm_id(rg_sub, &name.value),
                attrs: json!({"location": resource_group::normalize_location(&rg.value.location.value), "tags": t}),
                depends_on: Vec::new(),
            });
        }
    }

    let mut policies = Vec::new();
    let mut items = Vec::new();
    for f in files {
        for (vname, v) in f.recovery_vaults.iter().flat_map(|m| m.value.iter()) {
            let v = &v.value;
            let vault_sub = block_subscription(&v.subscription, sub);
            let vault_id = vault::arm_id(vault_sub, &v.resource_group.value, &vname.value);
            let depends_on = declared_rgs.dependency(vault_sub, &v.resource_group.value);
            let vault_addr = Address::new(ResourceKind::RecoveryVault, vname.value.clone());
            d.resources.push(Resource {
                address: vault_addr.clone(),
                arm_id: vault_id.clone(),
                attrs: vault_attrs(v, tags(&global_tags, v.tags.as_ref())),
                depends_on,
            });
            d.vaults.push(VaultScope {
                name: vname.value.clone(),
                arm_id: vault_id.clone(),
                location: resource_group::normalize_location(&v.location.value),
                on_remove: v.on_remove.as_ref().map(|o| o.value).unwrap_or_default(),
                restore_drill: v.restore_drill.as_ref().map(|d| {
                    let d = &d.value;
                    let s = |f: &Option<crate::config::spanned::Sp<String>>| {
                        f.as_ref().map(|x| x.value.clone())
                    };
                    crate::model::restore_drill::Defaults {
                        resource_group: s(&d.resource_group),
                        network: s(&d.network),
                        staging_storage_account: s(&d.staging_storage_account),
                        parallelism: d.parallelism.as_ref().map(|p| p.value),
                    }
                }),
            });
            for (pname, p) in v.backup_policies.iter().flat_map(|m| m.value.iter()) {
                policies.push(Resource {
                    address: Address::new(
                        ResourceKind::BackupPolicy,
                        format!("{}/{}", vname.value, pname.value),
                    ),
                    arm_id: backup_policy::arm_id(&vault_id, &pname.value),
                    attrs: policy_attrs(&p.value),
                    depends_on: vec![vault_addr.clone()],
                });
            }
            for e in v.protect.iter().flat_map(|p| &p.value) {
                let e = &e.value;
                let mut exclude: Vec<u32> = e
                    .exclude_disks
                    .iter()
                    .flat_map(|x| &x.value)
                    .map(|l| l.value)
                    .collect();
                exclude.sort();
                exclude.dedup();
                let policy_addr = Address::new(
                    ResourceKind::BackupPolicy,
                    format!("{}/{}", vname.value, e.policy.value),
                );
                for vm in e.vms.iter().flat_map(|v| &v.value) {
                    let Ok(VmRef {
                        subscription,
                        resource_group: rg,
                        name,
                    }) = names::vm_ref(&vm.value)
                    else {
                        continue;
                    };
                    let vm_sub = subscription.as_deref().unwrap_or(vault_sub);
                    let attrs = protected_vm::desired_attrs(
                        &vm_id(vm_sub, &rg, &name),
                        &e.policy.value,
                        &exclude,
                    );
                    items.push(Resource {
                        address: Address::new(
                            ResourceKind::ProtectedVm,
                            format!("{}/{rg}/{name}", vname.value),
                        ),
                        arm_id: protected_vm::arm_id(&vault_id, &rg, &name),
                        attrs,
                        depends_on: vec![policy_addr.clone()],
                    });
                }
                if let Some(sel) = &e.select {
                    d.selectors.push(sel.value.vm_selector(
                        &vname.value,
                        &e.policy.value,
                        vault_sub,
                        exclude.clone(),
                    ));
                }
            }
        }
    }
    d.resources.extend(policies);
    d.resources.extend(items);
    d.replication_groups = super::desired_site_recovery::groups(files, sub);
    super::desired_disk_backup::build(files, sub, &global_tags, &declared_rgs, &mut d);
    Some(d)
}
