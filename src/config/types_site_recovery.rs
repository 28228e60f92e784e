//! Azure Site Recovery (Azure-to-Azure) types of the file format: `site_recovery.<name>`, its
//! replication policy, network mappings, replicated VMs (with target overrides) and recovery
//! plans with ordered groups and actions.
//!
//! Validated fully (`validate::site_recovery`); `desired()` does not plan them yet.
//! Addresses: `replication.<name>/<rg>/<vm>`, `recovery_plan.<name>/<plan>`.

use super::spanned::{Map, Sp};
use super::types::Select;
use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use std::borrow::Cow;
use std::fmt;

/// An Azure Site Recovery (Azure-to-Azure) replication group: VMs of `source_region`
/// replicated to `target_region` through a Recovery Services vault in the target region.
/// Validated, not planned yet.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("anyOf" = [{"required": ["vms"]}, {"required": ["select"]}]))]
pub struct SiteRecovery {
    /// A recovery vault declared in `recovery_vaults` (in any file) whose `location` is
    /// `target_region`.
    pub vault: Sp<String>,
    /// The subscription of the VMs and the target resource group named without one in this
    /// block (a GUID); default: the vault's.
    #[serde(default)]
    #[schemars(schema_with = "super::types::subscription_schema")]
    pub subscription: Option<Sp<String>>,

    /// Region the VMs run in, e.g. `westeurope`.
    pub source_region: Sp<String>,
    /// Region they fail over to, e.g. `northeurope`: any region other than the source (not
    /// only the Azure-paired one).
    pub target_region: Sp<String>,
    /// Replication policy (default: recovery points kept 24h, no app-consistent snapshots).
    #[serde(default)]
    pub policy: Option<Sp<ReplicationPolicy>>,
    /// Resource group the failed-over VMs, disks and NICs are created in, in the target
    /// region: a name (in the default subscription) or a resource group id.
    pub target_resource_group: Sp<String>,
    /// Storage account id used as the replication cache; it must be in the source region:
    /// `/subscriptions/{guid}/resourceGroups/{rg}/providers/Microsoft.Storage/storageAccounts/{name}`.
    pub cache_storage_account: Sp<String>,
    /// Storage account id in the target region, the cache when replication runs back after a
    /// failover (`reprotect`, `failback`): Azure's re-protect names a cache in the region the
    /// VMs then run in. A standard general-purpose v2 account. Without it, re-protecting a
    /// failed-over plan is refused with this reason.
    #[serde(default)]
    pub target_cache_storage_account: Option<Sp<String>>,
    /// Source virtual network → target virtual network (both ids); a failed-over VM's NICs land
    /// in the target of its source network. Each source network is mapped once per vault.
    #[serde(default)]
    pub network_mappings: Option<Sp<Vec<Sp<NetworkMapping>>>>,
    /// VMs to replicate, with optional per-VM target settings.
    #[serde(default)]
    pub vms: Option<Sp<Vec<Sp<ReplicatedVm>>>>,
    /// VMs picked from the live estate at plan time (in `source_region`).
    #[serde(default)]
    pub select: Option<Sp<Select>>,
    /// Recovery plans keyed by name (≤63 characters: a letter first, then letters, digits,
    /// hyphens): ordered boot groups of this group's VMs, with actions.
    #[serde(default)]
    pub recovery_plans: Option<Sp<Map<RecoveryPlan>>>,
}

/// Replication policy. Durations are `<N>m`, `<N>h` or `<N>d` (stored in minutes):
/// recovery points are kept 0–15 days, app-consistent snapshots taken at most every 12 hours
/// (Azure-to-Azure's limits).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplicationPolicy {
    /// How long recovery points are kept, e.g. `24h` (default `24h`); `0m` keeps only the
    /// latest point.
    #[serde(default)]
    #[schemars(regex(pattern = r"^[0-9]+[mhd]$"))]
    pub recovery_points: Option<Sp<String>>,
    /// How often an app-consistent snapshot is taken, e.g. `4h`; at most `recovery_points`;
    /// absent or `0m` = crash-consistent points only (required when `recovery_points` is 0).
    #[serde(default)]
    #[schemars(regex(pattern = r"^[0-9]+[mhd]$"))]
    pub app_consistent_every: Option<Sp<String>>,
}

/// One network mapping of the vault.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NetworkMapping {
    /// Source virtual network id (in `source_region`):
    /// `/subscriptions/{guid}/resourceGroups/{rg}/providers/Microsoft.Network/virtualNetworks/{name}`.
    pub source: Sp<String>,
    /// Target virtual network id (in `target_region`).
    pub target: Sp<String>,
}

/// A replicated VM and its target settings.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("not" = {"required": ["target_zone", "target_availability_set"]}))]
pub struct ReplicatedVm {
    /// `resource-group/name` (default subscription) or a full VM id; each VM is replicated by
    /// one `site_recovery` group only.
    pub vm: Sp<String>,
    /// Availability zone of the failed-over VM in the target region: `"1"`, `"2"` or `"3"`
    /// (not with `target_availability_set`).
    #[serde(default)]
    #[schemars(extend("enum" = ["1", "2", "3"]))]
    pub target_zone: Option<Sp<String>>,
    /// VM size after failover, e.g. `Standard_D2s_v5` (default: the source VM's size).
    #[serde(default)]
    #[schemars(regex(pattern = r"^[Ss][Tt][Aa][Nn][Dd][Aa][Rr][Dd]_[A-Za-z0-9_-]+$"))]
    pub target_vm_size: Option<Sp<String>>,
    /// Availability set of the failed-over VM: a name (in `target_resource_group`) or an id
    /// (`…/providers/Microsoft.Compute/availabilitySets/{name}`); not with `target_zone`.
    #[serde(default)]
    pub target_availability_set: Option<Sp<String>>,
    /// Disk type overrides for the failed-over disks (default: each disk keeps its source
    /// type).
    #[serde(default)]
    pub disks: Option<Sp<DiskOverrides>>,
}

/// Disk type of the failed-over (and replica) disks, per disk:
/// `{os: Premium_LRS, data: StandardSSD_LRS}` (every data disk) or
/// `{os: Premium_LRS, data: {0: StandardSSD_LRS, 2: Standard_LRS}}` (by LUN; unlisted LUNs keep
/// their source type).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DiskOverrides {
    /// Type of the OS disk (not `PremiumV2_LRS`).
    #[serde(default)]
    pub os: Option<Sp<DiskType>>,
    /// One type for every data disk, or a mapping of data-disk LUN (0–63) to type.
    #[serde(default)]
    pub data: Option<Sp<DataDiskTypes>>,
}

/// A managed disk type Site Recovery can create in the target region.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct DiskType(pub String);

impl DiskType {
    /// The types A2A replicates to (Ultra disks are not supported by Site Recovery).
    pub const ALL: [&'static str; 6] = [
        "Standard_LRS",
        "StandardSSD_LRS",
        "StandardSSD_ZRS",
        "Premium_LRS",
        "Premium_ZRS",
        "PremiumV2_LRS",
    ];
}

impl JsonSchema for DiskType {
    fn schema_name() -> Cow<'static, str> {
        "DiskType".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "Managed disk type: `Standard_LRS`, `StandardSSD_LRS`, `StandardSSD_ZRS`, `Premium_LRS`, `Premium_ZRS` or `PremiumV2_LRS` (data disks only).",
            "type": "string",
            "enum": DiskType::ALL,
        })
    }
}

/// `StandardSSD_LRS` (every data disk) or `{0: StandardSSD_LRS, 1: Premium_LRS}` (by LUN).
#[derive(Debug, Clone, PartialEq)]
pub enum DataDiskTypes {
    All(DiskType),
    ByLun(Map<DiskType>),
}

impl<'de> Deserialize<'de> for DataDiskTypes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = DataDiskTypes;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a disk type or a mapping of LUN to disk type")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
                Ok(DataDiskTypes::All(DiskType(s.to_string())))
            }
            fn visit_map<A: MapAccess<'de>>(self, m: A) -> Result<Self::Value, A::Error> {
                Map::deserialize(de::value::MapAccessDeserializer::new(m)).map(DataDiskTypes::ByLun)
            }
        }
        d.deserialize_any(V)
    }
}

impl JsonSchema for DataDiskTypes {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        "DataDiskTypes".into()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let t = generator.subschema_for::<DiskType>();
        json_schema!({
            "anyOf": [
                t.clone(),
                {
                    "type": "object",
                    "propertyNames": {"pattern": "^([0-9]|[1-5][0-9]|6[0-3])$"},
                    "additionalProperties": t,
                },
            ],
        })
    }
}

/// A recovery plan: ordered boot groups (group 1 boots first). Azure adds its own shutdown
/// and failover groups in front.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecoveryPlan {
    /// Failover order: group 1 boots first.
    pub groups: Sp<Vec<Sp<RecoveryGroup>>>,
}

/// One boot group: its VMs start together, after the previous group's.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecoveryGroup {
    /// VMs of this `site_recovery` group (`resource-group/name` or VM id), each in one group
    /// of the plan.
    pub vms: Sp<Vec<Sp<String>>>,
    /// Actions run before the group's VMs start, in order.
    #[serde(default)]
    pub before: Option<Sp<Vec<Sp<PlanAction>>>>,
    /// Actions run after the group's VMs started, in order.
    #[serde(default)]
    pub after: Option<Sp<Vec<Sp<PlanAction>>>>,
}

/// A recovery plan action: exactly one of `runbook`, `manual`, `script`, with optional
/// `on`/`direction` filters (default: every failover type and direction).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend(
    "oneOf" = [{"required": ["runbook"]}, {"required": ["manual"]}, {"required": ["script"]}],
    "if" = {"required": ["manual"]},
    "then" = {"not": {"anyOf": [{"required": ["fabric_location"]}, {"required": ["timeout"]}]}}
))]
pub struct PlanAction {
    /// Azure Automation runbook id:
    /// `/subscriptions/{guid}/resourceGroups/{rg}/providers/Microsoft.Automation/automationAccounts/{account}/runbooks/{runbook}`.
    #[serde(default)]
    pub runbook: Option<Sp<String>>,
    /// Instruction the operator confirms during failover (non-empty text).
    #[serde(default)]
    pub manual: Option<Sp<String>>,
    /// Path of a script (Azure runs script actions on a VMM server; Azure-to-Azure plans use
    /// runbooks).
    #[serde(default)]
    pub script: Option<Sp<String>>,
    /// Failover types the action runs on: `failover` (unplanned), `planned_failover`,
    /// `test_failover` (default: all three).
    #[serde(default)]
    pub on: Option<Sp<Vec<Sp<FailoverType>>>>,
    /// Failover directions the action runs on: `primary_to_recovery`, `recovery_to_primary`
    /// (default: both).
    #[serde(default)]
    pub direction: Option<Sp<Vec<Sp<FailoverDirection>>>>,
    /// Where a runbook or script runs: `primary` or `recovery` (default `recovery`); not for
    /// manual actions.
    #[serde(default)]
    pub fabric_location: Option<Sp<FabricLocation>>,
    /// Time limit of a runbook or script, e.g. `30m` or `1h`; not for manual actions.
    #[serde(default)]
    #[schemars(regex(pattern = r"^[0-9]+[mhd]$"))]
    pub timeout: Option<Sp<String>>,
    /// The action's name in Azure (default: the runbook's name, the script's file name without
    /// its extension, or `manual`; `-2`, `-3`… when repeated in the plan). `export` writes it
    /// only for an action named otherwise (in the portal).
    #[serde(default)]
    pub name: Option<Sp<String>>,
}

/// A failover type (Azure: `UnplannedFailover`, `PlannedFailover`, `TestFailover`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FailoverType {
    /// Unplanned failover (`UnplannedFailover`).
    Failover,
    /// Planned failover (`PlannedFailover`).
    PlannedFailover,
    /// Test failover (`TestFailover`), as run by `azprotect drill`.
    TestFailover,
}

/// A failover direction (Azure: `PrimaryToRecovery`, `RecoveryToPrimary`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FailoverDirection {
    PrimaryToRecovery,
    RecoveryToPrimary,
}

/// Where a runbook or script action runs (Azure `fabricLocation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FabricLocation {
    Primary,
    Recovery,
}
