//! Types of the section that arrives in a later release (`disk_backup`), per CONFIG.md. It is
//! parsed (so typos are caught and editors complete it from the schema) but validation rejects
//! it as "not supported yet", and `desired()` ignores it. (`site_recovery` moved to
//! `types_sr`: validated, not planned yet.)

use super::spanned::{Map, Sp};
use schemars::JsonSchema;
use serde::Deserialize;

/// A Backup vault (Microsoft.DataProtection) taking scheduled disk snapshots. Not supported yet.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DiskBackupVault {
    pub resource_group: Sp<String>,
    pub location: Sp<String>,
    /// `LocallyRedundant`, `ZoneRedundant` or `GeoRedundant`.
    #[serde(default)]
    pub redundancy: Option<Sp<String>>,
    #[serde(default)]
    pub policies: Option<Sp<Map<DiskPolicy>>>,
    #[serde(default)]
    pub protect: Option<Sp<Vec<Sp<DiskProtect>>>>,
    /// Plan the role assignments the vault's identity needs.
    #[serde(default)]
    pub grant_permissions: Option<Sp<bool>>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DiskPolicy {
    /// `1h`, `2h`, `4h`, `6h`, `8h`, `12h` or `1d`.
    pub every: Sp<String>,
    /// e.g. `7d`.
    pub retention: Sp<String>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DiskProtect {
    pub policy: Sp<String>,
    pub snapshot_resource_group: Sp<String>,
    /// Disks as `resource-group/name` or disk ids.
    #[serde(default)]
    pub disks: Option<Sp<Vec<Sp<String>>>>,
    #[serde(default)]
    pub select: Option<Sp<super::types::Select>>,
}
