//! Azure Disk Backup types of the file format: `disk_backup.<vault>` — a Backup vault
//! (`Microsoft.DataProtection/backupVaults`), its disk backup policies and the managed disks it
//! protects with scheduled incremental snapshots (operational tier only: the snapshots live in
//! a resource group of the disk's subscription, not in the vault).
//!
//! Validated fully (`validate::disk_backup`). Addresses: `backup_vault.<vault>`,
//! `disk_policy.<vault>/<policy>`, `disk_backup.<vault>/<rg>/<disk>`.

use super::spanned::{Map, Sp};
use super::types::{Immutability, Select, SoftDelete, StorageRedundancy};
use schemars::JsonSchema;
use serde::Deserialize;

/// A Backup vault (`Microsoft.DataProtection/backupVaults`) taking scheduled incremental
/// snapshots of managed disks. Its name has 2–50 characters: a letter first, then letters,
/// digits and hyphens.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DiskBackupVault {
    /// The vault's subscription (a GUID); default: the file's. Disks and resource groups named
    /// without a subscription inside this block are in it.
    #[serde(default)]
    #[schemars(schema_with = "super::types::subscription_schema")]
    pub subscription: Option<Sp<String>>,
    /// The vault's resource group (in its subscription): declared in `resource_groups`, or one
    /// that must exist.
    pub resource_group: Sp<String>,
    /// Azure region, e.g. `westeurope`. The disks it protects must be in this region (checked
    /// at plan time).
    pub location: Sp<String>,
    /// Storage redundancy of the vault: `LocallyRedundant`, `ZoneRedundant` or
    /// `GeoRedundant`. Disk snapshots stay in the snapshot resource group whatever it is.
    #[serde(default)]
    pub redundancy: Option<Sp<StorageRedundancy>>,
    /// Soft delete of backup data: `state` `On`, `Off` or `AlwaysOn` (irreversible),
    /// `retention_days` 14–180.
    #[serde(default)]
    pub soft_delete: Option<Sp<SoftDelete>>,
    /// Immutability of the vault: `Disabled`, `Unlocked` or `Locked` (irreversible). Azure
    /// applies it to vault-tier data only, not to disk snapshots (a warning says so).
    #[serde(default)]
    pub immutability: Option<Sp<Immutability>>,
    /// Tags for this vault, merged over the file's global `tags`.
    #[serde(default)]
    pub tags: Option<Sp<Map<String>>>,
    /// Disk backup policies, keyed by name (3–150 letters, digits and hyphens). Azure cannot
    /// change a disk policy in place: a changed policy is a new policy.
    #[serde(default)]
    pub policies: Option<Sp<Map<DiskPolicy>>>,
    /// Which disks this vault backs up, with which policy, and where their snapshots go.
    #[serde(default)]
    pub protect: Option<Sp<Vec<Sp<DiskProtect>>>>,
    /// Plan the role assignments the vault's managed identity needs (default `true`):
    /// Disk Backup Reader on each disk, Disk Snapshot Contributor on each snapshot resource
    /// group. With `false`, they must already exist.
    #[serde(default)]
    pub grant_permissions: Option<Sp<bool>>,
    /// The managed identity the vault's disks back up with, and azprotect grants their roles
    /// to: `system` (the vault's system-assigned identity) or a user-assigned identity,
    /// `resource-group/name` (in the vault's subscription) or its id
    /// `/subscriptions/{guid}/resourceGroups/{rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}`.
    /// A user-assigned identity is attached to the vault (its other identities stay), and each
    /// backup instance names it (`identityDetails`). Roles granted to it are never removed by
    /// azprotect: other vaults may share it. Not set: the roles go to the vault's own identity,
    /// new disks back up with it, and a disk already protected keeps the identity it uses.
    #[serde(default)]
    pub identity: Option<Sp<String>>,
    /// What a protected disk that leaves the file gets: `retain_data` (default: stop
    /// protection, keep its snapshots) or `delete_data` (delete the backup instance and its
    /// snapshots; needs `--allow-data-loss`).
    #[serde(default)]
    pub on_remove: Option<Sp<DiskOnRemove>>,
}

/// A disk backup policy: one snapshot every `every`, each kept `retention`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DiskPolicy {
    /// How often a snapshot is taken: `1h`, `2h`, `4h`, `6h`, `8h`, `12h` or `1d` (Premium SSD
    /// v2 and Ultra disks: `12h` or `1d` only).
    #[schemars(extend("enum" = ["1h", "2h", "4h", "6h", "8h", "12h", "1d"]))]
    pub every: Sp<String>,
    /// How long each snapshot is kept, `<N>d`: 1–365 days (Azure's one-year limit for the
    /// operational tier), and at most 450 snapshots per disk (`every` × `retention`, e.g. 75
    /// days at `4h`, 18 days at `1h`).
    #[schemars(regex(pattern = r"^[0-9]+d$"))]
    pub retention: Sp<String>,
    /// Time of the first snapshot of the day, `HH:MM` (24-hour clock, in `time_zone`; default
    /// `00:00`).
    #[serde(default)]
    #[schemars(regex(pattern = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"))]
    pub start: Option<Sp<String>>,
    /// Windows time-zone name of `start`, e.g. `W. Europe Standard Time` (default `UTC`).
    #[serde(default)]
    pub time_zone: Option<Sp<String>>,
}

/// One `protect` entry: a policy, where the snapshots go, and the disks (`disks`, `select`, or
/// both). Each disk is protected by one backup instance at most, across all vaults.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("anyOf" = [{"required": ["disks"]}, {"required": ["select"]}]))]
pub struct DiskProtect {
    /// A policy declared in this vault's `policies`.
    pub policy: Sp<String>,
    /// Resource group the snapshots are created in: a name (in the default subscription) or
    /// an id `/subscriptions/{guid}/resourceGroups/{name}`. It must be in each disk's
    /// subscription, and cannot be changed once a disk is protected.
    pub snapshot_resource_group: Sp<String>,
    /// Managed disks as `resource-group/name` (default subscription) or disk ids
    /// `/subscriptions/{guid}/resourceGroups/{rg}/providers/Microsoft.Compute/disks/{name}`.
    #[serde(default)]
    pub disks: Option<Sp<Vec<Sp<String>>>>,
    /// Disks picked from the live estate at plan time (in the default subscription), by
    /// resource group and tags.
    #[serde(default)]
    pub select: Option<Sp<Select>>,
}

/// What happens to a protected disk's backup when it leaves the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DiskOnRemove {
    /// Stop protection and keep the existing snapshots (the default).
    #[default]
    RetainData,
    /// Delete the backup instance and its snapshots (needs `--allow-data-loss`).
    DeleteData,
}

impl From<DiskOnRemove> for crate::model::OnRemove {
    fn from(o: DiskOnRemove) -> Self {
        match o {
            DiskOnRemove::RetainData => crate::model::OnRemove::RetainData,
            DiskOnRemove::DeleteData => crate::model::OnRemove::DeleteData,
        }
    }
}
