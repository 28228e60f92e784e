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
    /// The ARM endpoint it was read from.
    pub endpoint: String,
    /// What was searched (`vaults named …`, `resource groups …`, or the whole subscription).
    pub searched: String,
    pub vaults: Vec<Vault>,
    /// Backup vaults (`disk_backup.<name>`).
    pub disk_vaults: Vec<DiskVault>,
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
    /// VMs (`rg/name`) the vault replicates with Site Recovery, which is not exported yet.
    pub replicated_vms: Vec<String>,
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
