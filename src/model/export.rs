//! What `azprotect export` writes, as data: an estate read from Azure, shaped like the v1 file
//! (CONFIG.md) so that `render::export` only has to spell it as YAML. Attribute trees are the
//! families' normalized attributes (`vault`, `backup_policy`), which are already in the file's
//! vocabulary — that is what makes an exported file plan empty against the estate it came from.

use serde_json::Value;
use std::collections::BTreeMap;

/// One exported file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Document {
    /// The file's `subscription:`.
    pub subscription: String,
    /// The command line that made it (for the header).
    pub command: String,
    /// When it was read (RFC 3339, UTC).
    pub generated_at: String,
    /// The estate it was read from: the ARM endpoint, or `sandbox:<state>`.
    pub endpoint: String,
    /// What was searched (`vaults named …`, `resource groups …`, or the whole subscription).
    pub searched: String,
    pub vaults: Vec<Vault>,
    /// Site Recovery groups (`site_recovery.<name>`).
    pub site_recovery: Vec<SiteRecovery>,
    /// Backup vaults (`disk_backup.<name>`).
    pub disk_vaults: Vec<DiskVault>,
    /// Items the file cannot express and that planning it would change (stop protecting,
    /// disable replication, delete a recovery plan) if they were only left out. `export`
    /// refuses while there are any, unless `--skip-unsupported`, which leaves their vaults out.
    pub unsupported: Vec<Unsupported>,
    /// With `--skip-unsupported`: what was left out, and why (comment lines of the header).
    pub left_out: Vec<String>,
}

/// One item that the file cannot express (see [`Document::unsupported`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Unsupported {
    /// The Recovery Services vault holding it.
    pub vault: String,
    /// A replicated VM or recovery plan (else a protected VM).
    pub site_recovery: bool,
    /// `what: why`, for the error and the file's comment.
    pub line: String,
}

/// A Recovery Services vault (`recovery_vaults.<name>`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Vault {
    pub name: String,
    pub resource_group: String,
    /// `model::vault` attributes: `location`, `storage_redundancy`, … (keys to emit only).
    pub settings: Value,
    pub policies: Vec<Policy>,
    pub protect: Vec<Protect>,
    /// Items not exported and why (stopped, suspended, soft-deleted, inexpressible).
    pub skipped: Vec<String>,
}

/// A VM backup policy (`backup_policies.<name>`): `model::backup_policy` attributes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Policy {
    pub name: String,
    pub attrs: Value,
    /// Shown above the policy (e.g. that it is one of Azure's built-ins).
    pub note: Option<String>,
}

/// One `protect:` entry.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Protect {
    pub policy: String,
    /// `rg/name` (default subscription) or a full VM id, sorted.
    pub vms: Vec<String>,
    /// `select.resource_groups` (empty: none).
    pub select_resource_groups: Vec<String>,
    /// `select.tags` (empty: none).
    pub select_tags: BTreeMap<String, String>,
    pub exclude_disks: Vec<u64>,
    /// How many VMs the entry protected when it was exported (listed or selected).
    pub covers: usize,
}

impl Protect {
    pub fn has_selector(&self) -> bool {
        !self.select_resource_groups.is_empty() || !self.select_tags.is_empty()
    }
}

/// A Backup vault taking disk snapshots (`disk_backup.<name>`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DiskVault {
    pub name: String,
    /// The user-assigned identity its disks back up with (`rg/name` or an id), if not its own.
    pub identity: Option<String>,
    pub resource_group: String,
    /// `model::disk_backup::vault` attributes (keys to emit only).
    pub settings: Value,
    /// Disk policies by their name in the file; attributes of `model::disk_backup::policy`.
    pub policies: Vec<Policy>,
    pub protect: Vec<DiskProtect>,
    /// `Some(false)` when the vault's identity lacks a role the file would otherwise grant.
    pub grant_permissions: Option<bool>,
    /// Instances not exported and why.
    pub skipped: Vec<String>,
}

/// One `protect:` entry of a Backup vault.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DiskProtect {
    pub policy: String,
    /// A name (default subscription) or a resource group id.
    pub snapshot_resource_group: String,
    /// `rg/name` (default subscription) or disk ids, sorted.
    pub disks: Vec<String>,
}

/// A Site Recovery group (`site_recovery.<name>`), named after its replication policy (the
/// planner names a group's policy after the group).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SiteRecovery {
    pub name: String,
    pub vault: String,
    pub source_region: String,
    pub target_region: String,
    /// `policy.recovery_points`, e.g. `24h`.
    pub recovery_points: String,
    /// `policy.app_consistent_every` (`None`: crash-consistent only).
    pub app_consistent_every: Option<String>,
    /// A name (default subscription) or a resource group id.
    pub target_resource_group: String,
    pub cache_storage_account: String,
    /// `(source network id, target network id)`.
    pub network_mappings: Vec<(String, String)>,
    /// Sorted by VM reference.
    pub vms: Vec<ReplicatedVm>,
    /// Sorted by name.
    pub recovery_plans: Vec<RecoveryPlan>,
}

/// One `vms:` entry of a Site Recovery group.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReplicatedVm {
    /// `rg/name` (default subscription) or a full VM id.
    pub vm: String,
    pub target_zone: Option<String>,
    pub target_vm_size: Option<String>,
    /// An availability set id.
    pub target_availability_set: Option<String>,
    /// `disks.os`: only when it differs from the source disk's type.
    pub os_disk: Option<String>,
    pub data_disks: DataDisks,
}

/// `disks.data`.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum DataDisks {
    /// Every data disk keeps its source type (the key is left out).
    #[default]
    Keep,
    /// One type for every data disk.
    All(String),
    /// By LUN, only those that differ from the source.
    ByLun(BTreeMap<u32, String>),
}

/// A recovery plan (`recovery_plans.<name>`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecoveryPlan {
    pub name: String,
    pub groups: Vec<RecoveryGroup>,
}

/// One boot group of a recovery plan.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecoveryGroup {
    /// VM references, sorted.
    pub vms: Vec<String>,
    /// Actions in the file's keys (`runbook`/`manual`/`script`, `on`, `direction`,
    /// `fabric_location`, `timeout`), defaults left out.
    pub before: Vec<Value>,
    pub after: Vec<Value>,
}
