//! `protected_vm.<vault>/<rg>/<vm>` — a VM's backup protected item in a Recovery Services vault
//! (`backupFabrics/Azure/protectionContainers/iaasvmcontainer;iaasvmcontainerv2;{rg};{vm}/
//! protectedItems/vm;iaasvmcontainerv2;{rg};{vm}`, api-version [`api::BACKUP`]).
//!
//! Attributes:
//! ```json
//! {
//!   "vm_id": "/subscriptions/…/virtualMachines/app-01",   // compared case-insensitively
//!   "policy": "gold",                                      // policy name in the same vault
//!   "exclude_disks": [2, 3],                               // sorted LUNs; key absent when none
//!   "state": "protected"                                   // desired: always "protected"
//! }
//! ```
//! Live `state`: `protected` (IRPending, Protected, ProtectionError, ProtectionPaused),
//! `stopped` (ProtectionStopped), `suspended` (BackupsSuspended), `soft_deleted`
//! (`isScheduledForDeferredDelete`). Container and item names are lower-cased by Azure; ids are
//! compared case-insensitively.

use super::{api, ArmId, ArmRequest, Resource};
use serde_json::Value;

/// `iaasvmcontainer;iaasvmcontainerv2;{rg};{vm}` (lower case, as Azure returns it).
pub fn container_name(resource_group: &str, vm: &str) -> String {
    format!(
        "iaasvmcontainer;iaasvmcontainerv2;{};{}",
        resource_group.to_ascii_lowercase(),
        vm.to_ascii_lowercase()
    )
}

/// `vm;iaasvmcontainerv2;{rg};{vm}` (lower case, as Azure returns it).
pub fn item_name(resource_group: &str, vm: &str) -> String {
    format!(
        "vm;iaasvmcontainerv2;{};{}",
        resource_group.to_ascii_lowercase(),
        vm.to_ascii_lowercase()
    )
}

pub fn arm_id(vault: &ArmId, resource_group: &str, vm: &str) -> ArmId {
    vault.child(&[
        "backupFabrics",
        "Azure",
        "protectionContainers",
        &container_name(resource_group, vm),
        "protectedItems",
        &item_name(resource_group, vm),
    ])
}

/// The vault id a protected item id belongs to.
pub fn vault_of(item: &ArmId) -> ArmId {
    item.parent(3)
}

/// `GET {vault}/backupProtectedItems?$filter=backupManagementType eq 'AzureIaasVM' and itemType eq 'VM'`.
pub fn list_path(vault: &ArmId) -> String {
    format!(
        "{vault}/backupProtectedItems?api-version={}&$filter=backupManagementType%20eq%20%27AzureIaasVM%27%20and%20itemType%20eq%20%27VM%27",
        api::BACKUP
    )
}

/// PUT that enables protection, changes the policy or exclusions, or resumes a stopped item.
/// `policy_id` is the full id of the policy named in `attrs.policy`.
pub fn protect_request(r: &Resource, policy_id: &ArmId) -> ArmRequest {
    let _ = policy_id;
    todo!("protect {}", r.address)
}

/// PUT that stops protection and keeps data (`suspend = false`: ProtectionStopped) or stops
/// backups but keeps recovery points per policy (`suspend = true`: BackupsSuspended).
pub fn stop_request(id: &ArmId, vm_id: &str, suspend: bool) -> ArmRequest {
    let _ = (vm_id, suspend);
    todo!("stop {id}")
}

/// PUT `{"properties": {"isRehydrate": true}}`: undelete a soft-deleted item (it comes back stopped).
pub fn undelete_request(id: &ArmId, vm_id: &str) -> ArmRequest {
    let _ = vm_id;
    todo!("undelete {id}")
}

/// DELETE: stop protection and delete backup data (soft-deleted for 14 days where enabled).
pub fn delete_request(id: &ArmId) -> ArmRequest {
    todo!("delete {id}")
}

/// Live protected item JSON → (item id, attributes). `policy` is the last segment of `policyId`
/// (empty string when none).
pub fn normalize(arm: &Value) -> Option<(ArmId, Value)> {
    let _ = arm;
    todo!("protected item normalize")
}
