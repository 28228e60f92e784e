//! Change → the ARM requests that carry it out, in order. Pure: no I/O.

use crate::model::disk_backup::{instance, policy as disk_policy, role, vault as backup_vault};
use crate::model::site_recovery as sr;
use crate::model::ItemState;
use crate::model::{
    backup_policy, protected_vm, resource_group, vault, ArmRequest, Resource, ResourceKind,
};
use crate::plan::{Action, Change, DataEffect};
use serde_json::Value;

/// Why a change cannot be turned into requests (a malformed or hand-edited plan).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{address}: {message}")]
pub struct RequestError {
    pub address: String,
    pub message: String,
}

/// The requests for one change, to be sent one after the other.
pub fn requests_for(change: &Change) -> Result<Vec<ArmRequest>, RequestError> {
    let err = |m: &str| RequestError {
        address: change.address.to_string(),
        message: m.to_string(),
    };
    let id = change.arm_id.clone();
    let desired = || -> Result<Resource, RequestError> {
        Ok(Resource {
            address: change.address.clone(),
            arm_id: id.clone(),
            attrs: change
                .after
                .clone()
                .ok_or_else(|| err("the change has no `after` attributes"))?,
            depends_on: vec![],
        })
    };
    let before = change.before.clone().unwrap_or(Value::Null);
    let kind = change.address.kind;
    Ok(match (kind, change.action) {
        (ResourceKind::ResourceGroup, Action::Create | Action::Update) => {
            vec![resource_group::put_request(&desired()?, before.get("tags"))]
        }
        // Soft delete is set on `vaultconfig` after the vault's own request, and re-asserted
        // after every vault update (FACTS §3; see model::vault).
        (ResourceKind::RecoveryVault, Action::Create) => {
            let d = desired()?;
            let mut v = vec![vault::create_request(&d)];
            v.extend(vault::config_request(&d));
            v
        }
        (ResourceKind::RecoveryVault, Action::Update) => {
            let mut keys: Vec<String> = change
                .diff
                .iter()
                .map(|d| d.path.split('.').next().unwrap_or_default().to_string())
                .collect();
            keys.dedup();
            let d = desired()?;
            let mut v: Vec<ArmRequest> = vault::update_request(&d, &before, &keys)
                .into_iter()
                .collect();
            v.extend(vault::config_request(&d));
            v
        }
        (ResourceKind::BackupPolicy, Action::Create | Action::Update) => {
            vec![backup_policy::put_request(&desired()?)]
        }
        (ResourceKind::BackupPolicy, Action::Replace) => {
            vec![
                backup_policy::delete_request(&id),
                backup_policy::put_request(&desired()?),
            ]
        }
        (ResourceKind::BackupPolicy, Action::Delete) => vec![backup_policy::delete_request(&id)],
        (ResourceKind::ProtectedVm, Action::Create | Action::Update) => {
            let r = desired()?;
            let vm_id = r.attrs["vm_id"].as_str().unwrap_or_default().to_string();
            let policy = r.attrs["policy"].as_str().ok_or_else(|| err("no policy"))?;
            let policy_id = backup_policy::arm_id(&protected_vm::vault_of(&id), policy);
            let mut out = Vec::new();
            if ItemState::of(&before) == ItemState::SoftDeleted {
                out.push(protected_vm::undelete_request(&id, &vm_id));
            }
            out.push(protected_vm::protect_request_from(
                &r,
                &policy_id,
                change.before.as_ref(),
            ));
            out
        }
        (ResourceKind::ProtectedVm, Action::Delete) => {
            let vm_id = before["vm_id"].as_str().unwrap_or_default();
            match change.data {
                Some(DataEffect::Retained) => vec![protected_vm::stop_request(&id, vm_id, false)],
                Some(DataEffect::Suspended) => vec![protected_vm::stop_request(&id, vm_id, true)],
                Some(DataEffect::Deleted) => vec![protected_vm::delete_request(&id)],
                None => {
                    return Err(err(
                        "a protected VM delete must say what happens to its data",
                    ))
                }
            }
        }
        (ResourceKind::ReplicationFabric, Action::Create) => {
            vec![sr::setup::fabric_request(&desired()?)]
        }
        (ResourceKind::ProtectionContainer, Action::Create) => {
            vec![sr::setup::container_request(&desired()?)]
        }
        (ResourceKind::ReplicationPolicy, Action::Create) => {
            vec![sr::setup::policy_request(&desired()?)]
        }
        (ResourceKind::ReplicationPolicy, Action::Update) => {
            vec![sr::setup::policy_update_request(&desired()?)]
        }
        (ResourceKind::ContainerMapping, Action::Create | Action::Update) => {
            vec![sr::setup::mapping_request(&desired()?)]
        }
        (ResourceKind::NetworkMapping, Action::Create | Action::Update) => {
            vec![sr::setup::network_mapping_request(&desired()?)]
        }
        (ResourceKind::Replication, Action::Create) => {
            vec![sr::replication::enable_request(&desired()?)]
        }
        (ResourceKind::Replication, Action::Update) => {
            vec![sr::replication::update_request(&desired()?)]
        }
        (ResourceKind::Replication, Action::Replace) => vec![
            sr::replication::disable_request(&id),
            sr::replication::enable_request(&desired()?),
        ],
        (ResourceKind::Replication, Action::Delete) => vec![sr::replication::disable_request(&id)],
        (ResourceKind::RecoveryPlan, Action::Create | Action::Update) => {
            vec![sr::recovery_plan::put_request(&desired()?)]
        }
        (ResourceKind::RecoveryPlan, Action::Delete) => {
            vec![sr::recovery_plan::delete_request(&id)]
        }
        (ResourceKind::BackupVault, Action::Create | Action::Update) => {
            vec![backup_vault::put_request(&desired()?, &before)]
        }
        (ResourceKind::BackupVault, Action::Delete) => vec![backup_vault::delete_request(&id)],
        // Azure cannot update a disk policy: a changed policy is a new one (a new ARM name).
        (ResourceKind::DiskPolicy, Action::Create) => vec![disk_policy::put_request(&desired()?)],
        (ResourceKind::DiskPolicy, Action::Delete) => vec![disk_policy::delete_request(&id)],
        (ResourceKind::DiskBackup, Action::Delete) => match change.data {
            Some(DataEffect::Retained) => vec![instance::stop_request(&id)],
            Some(DataEffect::Suspended) => vec![instance::suspend_request(&id)],
            Some(DataEffect::Deleted) => vec![instance::delete_request(&id)],
            None => {
                return Err(err(
                    "a disk backup delete must say what happens to its snapshots",
                ))
            }
        },
        (ResourceKind::RoleAssignment, Action::Delete) => vec![role::delete_request(&id)],
        (ResourceKind::DiskBackup | ResourceKind::RoleAssignment, _) => {
            return Err(err(
                "this change needs live reads first (the vault's identity, role propagation): \
                 it is carried out by apply::disk_backup",
            ))
        }
        (kind, action) => {
            return Err(err(&format!(
                "{action:?} of a {} is not supported",
                kind.prefix()
            )))
        }
    })
}
