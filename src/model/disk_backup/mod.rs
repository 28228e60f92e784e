//! Azure Disk Backup (`Microsoft.DataProtection`): backup vaults, disk backup policies, backup
//! instances, and the role assignments the vault's identity needs (api-versions
//! [`super::api::DATA_PROTECTION`], [`super::api::AUTHORIZATION`]).
//!
//! Attribute contracts (user vocabulary):
//! - backup vault `{"location", "redundancy", "soft_delete": {"state", "retention_days"}?, "immutability"?, "tags"}`
//!   (optional keys omitted when unmanaged, like recovery vaults)
//! - disk policy `{"every": "4h", "retention": "7d", "start": "08:00", "time_zone": "UTC"}` —
//!   Azure policies cannot be updated, so the ARM name carries a hash of the attributes
//!   ([`policy::arm_name`]): a changed policy is a *new* policy, the instances move to it, and the
//!   old one is deleted once unused — no recovery point is lost.
//! - disk backup instance `{"disk_id", "policy": "<name in the file>", "snapshot_resource_group_id"}`
//! - role assignment `{"scope", "role": "disk_backup_reader" | "disk_snapshot_contributor", "vault": "<vault name>"}`

pub mod instance;
pub mod policy;
pub mod role;
pub mod vault;

use super::api;

fn versioned(path: impl std::fmt::Display) -> String {
    format!("{path}?api-version={}", api::DATA_PROTECTION)
}
