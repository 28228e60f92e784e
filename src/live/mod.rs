//! Bulk readers of live state: list calls per subscription and per vault, never one GET per
//! item, issued concurrently. The result is normalized through the `model` families so that it
//! compares directly with the desired side.
//!
//! Owns: [`read`] (into `model::LiveState`). Must not import: `cli`, `plan`, `apply`, `render`, `config`, `ops`.

pub mod disk_backup;
pub mod jobs;
pub mod management_groups;
pub mod resource_graph;
pub mod site_recovery;
// Stamps' discovery read (issue 14, Configuration: Stamps).
pub mod stamps;
pub mod vms;

pub use crate::model::{Elsewhere, LiveState};

use crate::azure::{ArmClient, AzureError};
use crate::model::{
    backup_policy, protected_vm, resource_group, vault, Address, ArmId, Desired, Resource,
    ResourceKind,
};
use futures::future::try_join_all;
use std::collections::{BTreeMap, BTreeSet};

/// Read everything the desired state needs to be diffed: per subscription one list of resource
/// groups, vaults and VMs; per vault one list of policies (declared vaults) and protected items.
pub async fn read(client: &ArmClient, desired: &Desired) -> Result<LiveState, AzureError> {
    let declared: BTreeMap<ArmId, &str> = desired
        .vaults
        .iter()
        .map(|v| (v.arm_id.clone(), v.name.as_str()))
        .collect();
    let declared_rgs: BTreeSet<ArmId> = desired
        .resources
        .iter()
        .filter(|r| r.address.kind == ResourceKind::ResourceGroup)
        .map(|r| r.arm_id.clone())
        .collect();
    let subscriptions = try_join_all(
        desired
            .subscriptions()
            .into_iter()
            .map(|sub| read_subscription(client, sub, &declared, &declared_rgs)),
    );
    let subs = desired.subscriptions();
    let disk_backup = async {
        if desired.disk_vaults.is_empty() {
            Ok(LiveState::default())
        } else {
            disk_backup::read(client, &subs, &desired.disk_vaults).await
        }
    };
    let (mut live, per_sub, disks) = futures::try_join!(
        site_recovery::read(client, &desired.replication_groups),
        subscriptions,
        disk_backup
    )?;
    for part in per_sub {
        live.resources.extend(part.resources);
        live.vms.extend(part.vms);
        live.protected_elsewhere.extend(part.protected_elsewhere);
        live.leases.extend(part.leases);
        live.health.backup.extend(part.health.backup);
    }
    live.resources.extend(disks.resources);
    live.leases.extend(disks.leases);
    live.dependencies.extend(disks.dependencies);
    live.disks.extend(disks.disks);
    live.disks_protected_elsewhere
        .extend(disks.disks_protected_elsewhere);
    Ok(live)
}

async fn read_subscription(
    client: &ArmClient,
    sub: String,
    declared: &BTreeMap<ArmId, &str>,
    declared_rgs: &BTreeSet<ArmId>,
) -> Result<LiveState, AzureError> {
    let (rg_path, vault_path) = (resource_group::list_path(&sub), vault::list_path(&sub));
    let (groups, vaults) = futures::try_join!(client.list(&rg_path), client.list(&vault_path))?;
    // The VM lists use the group list (see `vms`); they run alongside the vault reads below.
    let vms = vms::list(client, &sub, &groups);
    let mut live = LiveState::default();
    for g in &groups {
        let id = ArmId::new(g["id"].as_str().unwrap_or_default());
        if declared_rgs.contains(&id) {
            live.resources.push(Resource {
                address: Address::new(ResourceKind::ResourceGroup, id.name()),
                arm_id: id.clone(),
                attrs: resource_group::normalize(g),
                depends_on: vec![],
            });
        }
    }
    let vault_reads = vaults.iter().map(|v| {
        let id = ArmId::new(v["id"].as_str().unwrap_or_default());
        let name = declared.get(&id).copied();
        read_vault(client, id, v, name)
    });
    let (vms, vault_parts) = futures::try_join!(vms, try_join_all(vault_reads))?;
    live.vms = vms;
    for part in vault_parts {
        live.resources.extend(part.resources);
        live.protected_elsewhere.extend(part.protected_elsewhere);
        live.leases.extend(part.leases);
        live.health.backup.extend(part.health.backup);
    }
    Ok(live)
}

/// One vault: the vault itself, its policies (declared vaults only) and its protected items.
async fn read_vault(
    client: &ArmClient,
    id: ArmId,
    body: &serde_json::Value,
    declared_name: Option<&str>,
) -> Result<LiveState, AzureError> {
    let mut live = LiveState::default();
    let policies = async {
        match declared_name {
            Some(_) => client.list(&backup_policy::list_path(&id)).await,
            None => Ok(vec![]),
        }
    };
    // Soft delete is read where Azure keeps it: the vault's backup configuration (FACTS §3).
    let config = async {
        match declared_name {
            Some(_) => client.get_optional(&vault::config_path(&id)).await,
            None => Ok(None),
        }
    };
    let items_path = protected_vm::list_path(&id);
    let (items, policies, config) = futures::try_join!(client.list(&items_path), policies, config)?;
    let Some(vault_name) = declared_name else {
        for item in &items {
            if let Some((_, attrs)) = protected_vm::normalize(item) {
                let a = protected_vm::Attrs(&attrs);
                let vm = a.vm_id().unwrap_or_default().to_ascii_lowercase();
                let state = a.state().unwrap_or_default().to_string();
                live.protected_elsewhere.insert(
                    vm,
                    Elsewhere {
                        vault: id.clone(),
                        state,
                    },
                );
            }
        }
        return Ok(live);
    };
    let vault_addr = Address::new(ResourceKind::RecoveryVault, vault_name);
    note_lease(&mut live, &id, body);
    let mut attrs = vault::normalize(body);
    if let Some(sd) = config.as_ref().and_then(vault::soft_delete_from_config) {
        attrs = vault::with_soft_delete(attrs, sd);
    }
    live.resources.push(Resource {
        address: vault_addr.clone(),
        arm_id: id.clone(),
        attrs,
        depends_on: vec![],
    });
    for p in policies {
        let Some(attrs) = backup_policy::normalize(&p) else {
            continue;
        };
        let name = p["name"].as_str().unwrap_or_default();
        live.resources.push(Resource {
            address: Address::new(ResourceKind::BackupPolicy, format!("{vault_name}/{name}")),
            arm_id: backup_policy::arm_id(&id, name),
            attrs,
            depends_on: vec![vault_addr.clone()],
        });
    }
    for item in &items {
        let Some((item_id, attrs)) = protected_vm::normalize(item) else {
            continue;
        };
        live.health
            .backup
            .extend(crate::model::status::BackupItem::from_arm(item));
        let a = protected_vm::Attrs(&attrs);
        let vm_id = ArmId::new(a.vm_id().unwrap_or_default());
        let rg = vm_id.resource_group().unwrap_or_default().to_string();
        let policy = a.policy().unwrap_or_default().to_string();
        let depends_on = if policy.is_empty() {
            vec![]
        } else {
            vec![Address::new(
                ResourceKind::BackupPolicy,
                format!("{vault_name}/{policy}"),
            )]
        };
        live.resources.push(Resource {
            address: Address::new(
                ResourceKind::ProtectedVm,
                format!("{vault_name}/{rg}/{}", vm_id.name()),
            ),
            arm_id: item_id,
            attrs,
            depends_on,
        });
    }
    Ok(live)
}

/// Keep a vault's lease tag, if it has one, aside from its attributes (`model::lease`).
pub(crate) fn note_lease(live: &mut LiveState, vault: &ArmId, body: &serde_json::Value) {
    if let Some(v) = crate::model::lease::value_in(&body["tags"]) {
        live.leases.insert(vault.clone(), v.to_string());
    }
}
