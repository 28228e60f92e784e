//! Types of the sections that arrive in later releases (`site_recovery`, `disk_backup`), per
//! CONFIG.md. They are parsed (so typos are caught and editors complete them from the schema)
//! but validation rejects them as "not supported yet", and `desired()` ignores them.

use super::spanned::{Map, Sp};
use schemars::JsonSchema;
use serde::Deserialize;

/// An Azure Site Recovery (Azure-to-Azure) replication group. Not supported yet.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SiteRecovery {
    /// A recovery vault declared in `recovery_vaults`, in the target region.
    pub vault: Sp<String>,
    pub source_region: Sp<String>,
    pub target_region: Sp<String>,
    #[serde(default)]
    pub policy: Option<Sp<ReplicationPolicy>>,
    #[serde(default)]
    pub target_resource_group: Option<Sp<String>>,
    /// Storage account id in the source region used as replication cache.
    #[serde(default)]
    pub cache_storage_account: Option<Sp<String>>,
    #[serde(default)]
    pub network_mappings: Option<Sp<Vec<Sp<NetworkMapping>>>>,
    #[serde(default)]
    pub vms: Option<Sp<Vec<Sp<ReplicatedVm>>>>,
    #[serde(default)]
    pub recovery_plans: Option<Sp<Map<RecoveryPlan>>>,
}

/// Replication policy: how long recovery points are kept, how often app-consistent ones are taken.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplicationPolicy {
    /// e.g. `24h`.
    #[serde(default)]
    pub recovery_points: Option<Sp<String>>,
    /// e.g. `4h`.
    #[serde(default)]
    pub app_consistent_every: Option<Sp<String>>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NetworkMapping {
    /// Source virtual network id.
    pub source: Sp<String>,
    /// Target virtual network id.
    pub target: Sp<String>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplicatedVm {
    /// `resource-group/name` or a VM id.
    pub vm: Sp<String>,
    #[serde(default)]
    pub target_zone: Option<Sp<String>>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecoveryPlan {
    /// Failover order: group 1 boots first.
    pub groups: Sp<Vec<Sp<RecoveryGroup>>>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecoveryGroup {
    pub vms: Sp<Vec<Sp<String>>>,
    #[serde(default)]
    pub before: Option<Sp<Vec<Sp<PlanAction>>>>,
    #[serde(default)]
    pub after: Option<Sp<Vec<Sp<PlanAction>>>>,
}

/// A recovery plan step: a runbook or a manual action.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanAction {
    /// Automation runbook id.
    #[serde(default)]
    pub runbook: Option<Sp<String>>,
    /// Instruction shown to the operator.
    #[serde(default)]
    pub manual: Option<Sp<String>>,
    /// When the step runs: `failover`, `test_failover`, …
    #[serde(default)]
    pub on: Option<Sp<Vec<Sp<String>>>>,
}

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
