//! `disk_backup` blocks → the Backup vault and disk policy resources (attributes in the exact
//! canonical form of the `model::disk_backup` contracts) and one [`DiskVaultScope`] per vault,
//! whose backup instances and role assignments expand at plan time against live disks.
//! Files are already validated: anything malformed here is skipped, never a panic.

use super::desired::{block_subscription, data_settings, tags, DeclaredGroups};
use crate::config::types::ConfigFile;
use crate::config::types_disk_backup::{DiskBackupVault, DiskPolicy};
use crate::config::validate::disk_backup::is_system;
use crate::config::validate::{names, parse_days, parse_every, parse_start};
use crate::model::disk_backup::{policy, vault, DiskProtectSpec, DiskSelector, DiskVaultScope};
use crate::model::resource_group::normalize_location;
use crate::model::{Address, Desired, Resource, ResourceKind};
use serde_json::{json, Map as JsonMap, Value};
use std::collections::BTreeMap;

/// The attributes of a disk policy, exactly as `model::disk_backup::policy::normalize` reads
/// them back from ARM (same keys, same order: the ARM name hashes this text).
pub fn policy_attrs(p: &DiskPolicy) -> Value {
    let every = parse_every(p.every.value.trim())
        .map(|i| i.to_string())
        .unwrap_or_else(|| p.every.value.trim().to_string());
    let days = parse_days(p.retention.value.trim()).unwrap_or(0);
    let start = p
        .start
        .as_ref()
        .and_then(|s| parse_start(s.value.trim()))
        .map_or_else(|| "00:00".to_string(), |(h, m)| format!("{h:02}:{m:02}"));
    let mut a = json!({"every": every, "retention": format!("{days}d"), "start": start});
    if let Some(tz) = &p.time_zone {
        a["time_zone"] = json!(tz.value.trim());
    }
    a
}

/// The attributes of a Backup vault: redundancy, soft delete and immutability only when the
/// file sets them (an adopted vault's settings are not managed unless declared; a new vault is
/// created `LocallyRedundant`); a system-assigned identity when it grants the roles of disks it
/// protects with it, the user-assigned identity (`user_identity`, the id) they back up with
/// instead; tags always (global under own).
pub fn vault_attrs(
    v: &DiskBackupVault,
    user_identity: Option<&str>,
    tag_map: JsonMap<String, Value>,
) -> Value {
    let mut a = JsonMap::new();
    a.insert(
        "location".into(),
        json!(normalize_location(&v.location.value)),
    );
    if let Some(r) = &v.redundancy {
        a.insert("redundancy".into(), json!(format!("{:?}", r.value)));
    }
    data_settings(&mut a, v.soft_delete.as_ref(), v.immutability.as_ref());
    // The identity azprotect grants the disk roles to and the instances back up with — wanted
    // only where it grants them for disks it protects: a vault whose roles someone granted to
    // its user-assigned identity (`grant_permissions: false`), or that protects nothing, keeps
    // the identities it has.
    let grants = v.grant_permissions.as_ref().is_none_or(|g| g.value);
    let protects = v.protect.as_ref().is_some_and(|p| !p.value.is_empty());
    // `identity: system`: its disks back up with it, so the vault has it, granted or not.
    let says_system = v.identity.as_ref().is_some_and(|i| is_system(&i.value));
    match user_identity {
        // Attached to the vault; the plan adds the vault's other user-assigned identities
        // (`plan::disk_backup::attached_identities`), which stay.
        Some(id) => {
            a.insert("user_identities".into(), json!([id]));
        }
        None if (grants || says_system) && protects => {
            a.insert("system_identity".into(), json!(true));
        }
        None => {}
    }
    a.insert("tags".into(), Value::Object(tag_map));
    Value::Object(a)
}

/// Every `disk_backup` vault of every file: its vault and policy resources into
/// `d.resources`, its scope into `d.disk_vaults`.
pub fn build(
    files: &[ConfigFile],
    sub: &str,
    global_tags: &BTreeMap<String, String>,
    declared_rgs: &DeclaredGroups,
    d: &mut Desired,
) {
    for f in files {
        for (vname, v) in f.disk_backup.iter().flat_map(|m| m.value.iter()) {
            let (name, v) = (vname.value.as_str(), &v.value);
            let sub = block_subscription(&v.subscription, sub);
            let vault_id = vault::arm_id(sub, &v.resource_group.value, name);
            let vault_addr = Address::new(ResourceKind::BackupVault, name);
            let depends_on = declared_rgs.dependency(sub, &v.resource_group.value);
            let identity = user_identity(v, sub);
            d.resources.push(Resource {
                address: vault_addr.clone(),
                arm_id: vault_id.clone(),
                attrs: vault_attrs(v, identity.as_deref(), tags(global_tags, v.tags.as_ref())),
                depends_on,
            });
            let mut scope = DiskVaultScope {
                name: name.to_string(),
                arm_id: vault_id.clone(),
                location: normalize_location(&v.location.value),
                on_remove: v
                    .on_remove
                    .as_ref()
                    .map(|o| o.value)
                    .unwrap_or_default()
                    .into(),
                grant_permissions: v.grant_permissions.as_ref().is_none_or(|g| g.value),
                user_identity: identity,
                keeps_identities: v.identity.is_none(),
                ..DiskVaultScope::default()
            };
            for (pname, p) in v.policies.iter().flat_map(|m| m.value.iter()) {
                let attrs = policy_attrs(&p.value);
                let arm_id = policy::arm_id(&vault_id, &pname.value, &attrs);
                scope
                    .policies
                    .insert(pname.value.clone(), arm_id.name().to_string());
                scope.policy_every.insert(
                    pname.value.clone(),
                    policy::Attrs(&attrs)
                        .every()
                        .unwrap_or_default()
                        .to_string(),
                );
                d.resources.push(Resource {
                    address: Address::new(
                        ResourceKind::DiskPolicy,
                        format!("{name}/{}", pname.value),
                    ),
                    arm_id,
                    attrs,
                    depends_on: vec![vault_addr.clone()],
                });
            }
            for e in v.protect.iter().flat_map(|p| &p.value) {
                let e = &e.value;
                let Some(snapshot_resource_group_id) =
                    names::resource_group_id(&e.snapshot_resource_group.value, sub)
                else {
                    continue;
                };
                scope.protect.push(DiskProtectSpec {
                    policy: e.policy.value.clone(),
                    snapshot_resource_group_id,
                    disks: e
                        .disks
                        .iter()
                        .flat_map(|d| &d.value)
                        .filter_map(|d| names::disk_ref(&d.value).ok())
                        .map(|r| r.arm_id(sub))
                        .collect(),
                    select: e.select.as_ref().map(|s| DiskSelector {
                        subscription: sub.to_string(),
                        resource_groups: s.value.resource_group_names(),
                        tags: s.value.tag_map(),
                    }),
                });
            }
            d.disk_vaults.push(scope);
        }
    }
}

/// The user-assigned identity (its ARM id) the vault's disks back up with; `None` for the
/// vault's system-assigned identity (`identity: system`, or no `identity`).
fn user_identity(v: &DiskBackupVault, sub: &str) -> Option<String> {
    let i = v.identity.as_ref().filter(|i| !is_system(&i.value))?;
    names::user_identity_id(&i.value, sub).ok()
}
