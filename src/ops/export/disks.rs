//! Disk Backup's part of the document: Backup vaults with their disk policies (by their name in
//! the file: `model::disk_backup::policy::file_name`), the disks their instances protect,
//! grouped by policy and snapshot resource group, and `grant_permissions: false` only when the
//! vault's identity lacks a role that the file would otherwise plan to grant.

use crate::model::disk_backup::{instance, policy, role, DiskVaultScope};
use crate::model::export::{DiskProtect, DiskVault, Policy};
use crate::model::{ArmId, ItemState, LiveState, ResourceKind};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

pub fn vault(live: &LiveState, scope: &DiskVaultScope, sub: &str) -> Option<DiskVault> {
    let of_vault = |kind| super::of_vault(&live.resources, &scope.name, kind);
    let body = of_vault(ResourceKind::BackupVault).next()?;
    let roles: BTreeSet<String> = of_vault(ResourceKind::RoleAssignment)
        .map(|r| r.address.name.to_ascii_lowercase())
        .collect();
    let mut skipped = Vec::new();
    let mut groups: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    let mut used: BTreeSet<String> = BTreeSet::new();
    let mut missing_role = false;
    for r in of_vault(ResourceKind::DiskBackup) {
        let a = instance::Attrs(&r.attrs);
        let disk = ArmId::new(a.disk_id().unwrap_or_default());
        let name = super::reference(&disk, sub);
        let why = match ItemState::of(&r.attrs) {
            ItemState::Stopped => Some("protection stopped, snapshots retained"),
            ItemState::Suspended => Some("backups suspended"),
            ItemState::SoftDeleted => Some("soft-deleted"),
            _ => None,
        };
        if let Some(why) = why {
            skipped.push(format!(
                "{name}: {why} — not listed (listing it would resume protection)"
            ));
            continue;
        }
        let arm_policy = a.policy().unwrap_or_default().to_string();
        let snapshots = ArmId::new(a.snapshot_resource_group_id().unwrap_or_default());
        let needs = [
            role::address_name(&scope.name, "disk_backup_reader", &disk),
            role::address_name(&scope.name, "disk_snapshot_contributor", &snapshots),
        ];
        missing_role |= needs
            .iter()
            .flatten()
            .any(|n| !roles.contains(&n.to_ascii_lowercase()));
        let snapshot_rg = match snapshots.subscription() {
            Some(s) if s.eq_ignore_ascii_case(sub) => {
                snapshots.resource_group().unwrap_or_default().to_string()
            }
            _ => snapshots.as_str().to_string(),
        };
        used.insert(arm_policy.to_ascii_lowercase());
        groups
            .entry((policy::file_name(&arm_policy).to_string(), snapshot_rg))
            .or_default()
            .push(name);
    }
    skipped.sort();
    // One policy per name in the file: the version instances use wins over an older one.
    let mut policies: BTreeMap<String, (bool, Policy)> = BTreeMap::new();
    for p in of_vault(ResourceKind::DiskPolicy) {
        let arm_name = p.arm_id.name();
        let file_name = policy::file_name(arm_name).to_string();
        let in_use = used.contains(&arm_name.to_ascii_lowercase());
        if policies.get(&file_name).is_some_and(|(u, _)| *u) {
            continue;
        }
        policies.insert(
            file_name.clone(),
            (
                in_use,
                Policy {
                    name: file_name,
                    attrs: policy_attrs(&p.attrs),
                    note: None,
                },
            ),
        );
    }
    let protect = groups
        .into_iter()
        .map(|((policy, snapshot_resource_group), mut disks)| {
            disks.sort_by_key(|d| d.to_ascii_lowercase());
            DiskProtect {
                policy,
                snapshot_resource_group,
                disks,
            }
        })
        .collect();
    Some(DiskVault {
        name: scope.name.clone(),
        resource_group: body.arm_id.resource_group().unwrap_or_default().to_string(),
        settings: settings(&body.attrs),
        policies: policies.into_values().map(|(_, p)| p).collect(),
        protect,
        grant_permissions: missing_role.then_some(false),
        skipped,
    })
}

/// The vault's keys without empty tags.
fn settings(attrs: &Value) -> Value {
    let mut a = attrs.clone();
    if let Some(o) = a.as_object_mut() {
        if o.get("tags")
            .and_then(Value::as_object)
            .is_some_and(|t| t.is_empty())
        {
            o.remove("tags");
        }
    }
    a
}

/// A disk policy without the default start a person leaves out.
fn policy_attrs(attrs: &Value) -> Value {
    let mut a = attrs.clone();
    if let Some(o) = a.as_object_mut() {
        if o.get("start").and_then(Value::as_str) == Some("00:00") {
            o.remove("start");
        }
    }
    a
}
