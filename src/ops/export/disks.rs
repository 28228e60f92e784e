//! Disk Backup's part of the document: Backup vaults with their disk policies (by their name in
//! the file: `model::disk_backup::policy::file_name`, exact for azprotect's own `{name}-{hash}`;
//! a policy whose name another already takes in the file keeps its ARM name, which the planner
//! adopts: `plan::disk_backup::adopt_policies`), the disks their instances protect,
//! grouped by policy and snapshot resource group, the user-assigned identity they back up with
//! (`identity`, when they share one), and `grant_permissions: false` only when that identity
//! lacks a role that the file would otherwise plan to grant.

use crate::model::disk_backup::{instance, policy, role, DiskVaultScope};
use crate::model::export::{DiskProtect, DiskVault, Policy};
use crate::model::{ArmId, ItemState, LiveState, ResourceKind};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

pub fn vault(live: &LiveState, scope: &DiskVaultScope, sub: &str) -> Option<DiskVault> {
    let of_vault = |kind| super::of_vault(&live.resources, &scope.name, kind);
    let body = of_vault(ResourceKind::BackupVault).next()?;
    // (role, scope) the identity the disks back up with holds — a shared user-assigned
    // identity's assignments were read through one of the vaults sharing it, any of them.
    let held: BTreeSet<(String, String)> = (live.resources.iter())
        .filter(|r| r.address.kind == ResourceKind::RoleAssignment && scope.holds(r))
        .filter_map(|r| {
            let a = role::Attrs(&r.attrs);
            Some((a.role()?.to_string(), a.scope()?.to_ascii_lowercase()))
        })
        .collect();
    let mut skipped = Vec::new();
    let mut groups: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    let used: BTreeSet<String> = of_vault(ResourceKind::DiskBackup)
        .filter(|r| !ItemState::of(&r.attrs).retained())
        .filter_map(|r| instance::Attrs(&r.attrs).policy())
        .map(str::to_ascii_lowercase)
        .collect();
    let (policies, names) = policies(of_vault(ResourceKind::DiskPolicy), &used, &mut skipped);
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
            ("disk_backup_reader", &disk),
            ("disk_snapshot_contributor", &snapshots),
        ];
        missing_role |= (needs.iter())
            .filter(|(r, s)| role::address_name(&scope.name, r, s).is_some())
            .any(|(r, s)| !held.contains(&(r.to_string(), s.as_str().to_ascii_lowercase())));
        let snapshot_rg = match snapshots.subscription() {
            Some(s) if s.eq_ignore_ascii_case(sub) => {
                snapshots.resource_group().unwrap_or_default().to_string()
            }
            _ => snapshots.as_str().to_string(),
        };
        let file_policy = names
            .get(&arm_policy.to_ascii_lowercase())
            .cloned()
            .unwrap_or(arm_policy);
        groups
            .entry((file_policy, snapshot_rg))
            .or_default()
            .push(name);
    }
    skipped.sort();
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
        identity: scope
            .user_identity
            .as_deref()
            .map(|id| super::reference(&ArmId::new(id), sub)),
        name: scope.name.clone(),
        resource_group: body.arm_id.resource_group().unwrap_or_default().to_string(),
        settings: settings(&body.attrs),
        policies,
        protect,
        grant_permissions: missing_role.then_some(false),
        skipped,
    })
}

/// The user-assigned identity the vault's protected disks back up with, when they all use the
/// same one (the file names one identity per vault); `None` when they use the vault's own, or
/// mix identities (the plan then shows the instances that would change).
pub fn backup_identity(live: &LiveState, scope: &DiskVaultScope) -> Option<String> {
    let mut ids = super::of_vault(&live.resources, &scope.name, ResourceKind::DiskBackup)
        .filter(|r| !ItemState::of(&r.attrs).retained())
        .map(|r| instance::Attrs(&r.attrs).user_identity_id());
    let first = ids.next()??;
    ids.all(|i| i.is_some_and(|i| i.eq_ignore_ascii_case(first)))
        .then(|| first.to_string())
}

/// The vault's disk policies by their name in the file, sorted, and ARM name (lower case) →
/// that name. A policy a person named keeps its name; azprotect's own `{name}-{hash}` is
/// `name` — unless a policy already takes it (a portal policy of that name, or another version
/// of it that disks use; versions in use first), then it keeps its ARM name. Every policy is
/// written: the planner deletes a vault's undeclared disk policies.
fn policies<'a>(
    live: impl Iterator<Item = &'a crate::model::Resource>,
    used: &BTreeSet<String>,
    skipped: &mut Vec<String>,
) -> (Vec<Policy>, BTreeMap<String, String>) {
    let mut all: Vec<(&str, &Value, bool)> = live
        .map(|p| {
            let name = p.arm_id.name();
            (name, &p.attrs, used.contains(&name.to_ascii_lowercase()))
        })
        .collect();
    // People's names first (they cannot be renamed), then versions in use, then by name.
    all.sort_by_key(|(name, attrs, in_use)| {
        (
            policy::file_name(name, attrs) != *name,
            !in_use,
            name.to_ascii_lowercase(),
        )
    });
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    let mut out = Vec::new();
    for (arm_name, attrs, _) in all {
        let taken = |n: &str| names.values().any(|t| t.eq_ignore_ascii_case(n));
        let file_name = [policy::file_name(arm_name, attrs), arm_name]
            .into_iter()
            .find(|n| !taken(n));
        let Some(file_name) = file_name else {
            skipped.push(format!(
                "disk policy {arm_name}: its name in the file is another policy's — not listed"
            ));
            continue;
        };
        names.insert(arm_name.to_ascii_lowercase(), file_name.to_string());
        out.push(Policy {
            name: file_name.to_string(),
            attrs: policy_attrs(attrs),
            note: None,
        });
    }
    out.sort_by_key(|p| p.name.to_ascii_lowercase());
    (out, names)
}

/// The vault's keys without empty tags.
fn settings(attrs: &Value) -> Value {
    let mut a = attrs.clone();
    if let Some(o) = a.as_object_mut() {
        // Identities are not written in the file (it has no key for them).
        o.remove("system_identity");
        o.remove("user_identities");
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
