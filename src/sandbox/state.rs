//! The sandbox's persisted state: inventory-derived resources, everything clients created,
//! operations, the CA and the token secret. Serialized as JSON and written atomically
//! (temp file + rename) after each mutation.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::SandboxError;

pub const STATE_VERSION: u32 = 1;

/// Lower-cased lookup key built from name parts (`sub/rg/name`).
pub fn key(parts: &[&str]) -> String {
    parts
        .iter()
        .map(|p| p.to_ascii_lowercase())
        .collect::<Vec<_>>()
        .join("/")
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct State {
    pub version: u32,
    pub identity: Identity,
    pub tls: TlsMaterial,
    pub subscriptions: Vec<String>,
    pub resource_groups: BTreeMap<String, ResourceGroup>,
    pub vms: BTreeMap<String, Vm>,
    pub disks: BTreeMap<String, Disk>,
    /// Inventory resources the sandbox does not model in depth (vnets, storage accounts,
    /// automation accounts), keyed by lower-cased ARM id.
    pub resources: BTreeMap<String, GenericResource>,
    pub vaults: BTreeMap<String, std::sync::Arc<Vault>>,
    pub policies: BTreeMap<String, Policy>,
    /// Vault key → when its policies were created or edited (the 50-in-24-hours limit).
    #[serde(default)]
    pub policy_writes: BTreeMap<String, Vec<i64>>,
    pub items: BTreeMap<String, Item>,
    pub jobs: BTreeMap<String, Job>,
    pub ops: BTreeMap<String, Operation>,
    /// Operation ids by the key of what they act on (`target_key`): derived from `ops` (kept
    /// by `lro`, rebuilt on load), so that "is this item busy" is a lookup, not a scan.
    #[serde(skip)]
    pub ops_by_target: std::collections::HashMap<String, Vec<String>>,
    /// When `lro::start` last swept finished operations (not persisted: a loaded state sweeps
    /// on its first operation).
    #[serde(skip)]
    pub ops_swept_ms: i64,
    /// The earliest `purge_ms` among the items, once known (not persisted: a loaded state scans
    /// on its first backup request), so that `protection::purge_expired` scans the items only
    /// when one is due, not on every request.
    #[serde(skip)]
    pub items_purge_due: Option<i64>,
    /// Site Recovery resources (absent in state files written before Site Recovery existed;
    /// persisted as `asr`, the name state files have always used).
    #[serde(default, rename = "asr")]
    pub site_recovery: super::site_recovery::SiteRecoveryState,
    /// Data Protection (Azure Disk Backup) vaults, policies and instances (persisted as `dpp`).
    #[serde(default, rename = "dpp")]
    pub data_protection: super::data_protection::DataProtectionState,
    /// Role assignments keyed by lower-cased `{scope}/{name}`.
    #[serde(default)]
    pub role_assignments: BTreeMap<String, super::authorization::RoleAssignment>,
    /// Snapshots created by clients (backup-made snapshots are derived, not stored).
    #[serde(default)]
    pub snapshots: BTreeMap<String, super::snapshots::Snapshot>,
    /// Restore jobs still running, and what each leaves when it completes.
    #[serde(default)]
    pub restores: Vec<super::protection::restore::Pending>,
    /// Network interfaces whose VM was deleted (a VM's own NIC is derived from it while it
    /// exists: `network.rs`), by key.
    #[serde(default)]
    pub nics_left: BTreeMap<String, LeftNic>,
    /// Open file-recovery sessions, by `{item key}/{point}`.
    #[serde(default)]
    pub ilr_sessions: BTreeMap<String, super::protection::item_recovery::Session>,
    /// What each Recovery Services vault has discovered (`refreshContainers`), by vault key.
    #[serde(default)]
    pub discovery: BTreeMap<String, Discovery>,
    /// Subscriptions' display names, management groups and what the caller may not read
    /// (`tenancy.rs`; absent in state files written before them).
    #[serde(default)]
    pub tenancy: super::tenancy::Tenancy,
}

/// A vault's VM discovery: the VMs its last finished `refreshContainers` saw, and the one
/// running (it lands when its operation ends).
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct Discovery {
    /// Lower-cased VM ids.
    pub discovered: std::collections::BTreeSet<String>,
    /// `(ends_at_ms, VM ids)` of a refresh still running.
    pub running: Option<(i64, std::collections::BTreeSet<String>)>,
}

impl Discovery {
    /// The discovered set as of `now` (a finished refresh adds what it saw; the list of
    /// protectable items still shows only VMs that exist and are not protected).
    pub fn settle(&mut self, now: i64) -> &std::collections::BTreeSet<String> {
        if let Some((end, _)) = &self.running {
            if *end <= now {
                if let Some((_, set)) = self.running.take() {
                    self.discovered.extend(set);
                }
            }
        }
        &self.discovered
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct Identity {
    pub tenant_id: String,
    pub client_id: String,
    pub client_secret: String,
    /// Base64 HS256 key for access tokens.
    pub token_secret: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct TlsMaterial {
    pub ca_cert_pem: String,
    pub ca_key_pem: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ResourceGroup {
    pub subscription: String,
    pub name: String,
    pub location: String,
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Vm {
    pub subscription: String,
    pub resource_group: String,
    pub name: String,
    pub location: String,
    pub size: String,
    /// `Linux` or `Windows`.
    pub os: String,
    pub zone: Option<String>,
    pub tags: BTreeMap<String, String>,
    pub vm_id: String,
    pub data_disks: Vec<u32>,
    /// The subnet its NIC is on (a restore's target subnet); `None`: the first subnet of the
    /// first virtual network in its resource group, if any (`network.rs`).
    #[serde(default)]
    pub subnet: Option<String>,
}

/// A network interface its VM's deletion left behind.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LeftNic {
    pub subscription: String,
    pub resource_group: String,
    pub name: String,
    pub location: String,
    pub subnet: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Disk {
    pub subscription: String,
    pub resource_group: String,
    pub name: String,
    pub location: String,
    pub size_gb: u32,
    pub sku: String,
    pub zone: Option<String>,
    pub tags: BTreeMap<String, String>,
    pub unique_id: String,
    pub os_type: Option<String>,
    /// ARM id of the VM the disk is attached to.
    pub managed_by: Option<String>,
    pub time_created: String,
    /// ARM id of the snapshot a client-created disk was copied from.
    #[serde(default)]
    pub source_resource_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GenericResource {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub rtype: String,
    pub location: String,
    pub properties: Value,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Vault {
    pub subscription: String,
    pub resource_group: String,
    pub name: String,
    pub location: String,
    pub tags: Value,
    pub sku: Value,
    pub identity: Option<Value>,
    pub properties: Value,
    pub etag: String,
    pub created_ms: i64,
}

impl Vault {
    pub fn key(&self) -> String {
        key(&[&self.subscription, &self.resource_group, &self.name])
    }
    pub fn id(&self) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.RecoveryServices/vaults/{}",
            self.subscription, self.resource_group, self.name
        )
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Policy {
    pub vault_key: String,
    pub name: String,
    pub properties: Value,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Item {
    pub vault_key: String,
    /// VM's resource group and name as the VM stores them.
    pub vm_resource_group: String,
    pub vm_name: String,
    pub vm_id: String,
    pub vm_location: String,
    pub policy_id: Option<String>,
    pub policy_name: Option<String>,
    /// `Protected` (shown as IRPending until the first backup), `ProtectionStopped`,
    /// `BackupsSuspended`.
    pub state: String,
    /// When protection (re)started; the first backup completes at `first_backup_ms`.
    pub protect_ms: i64,
    pub first_backup_ms: i64,
    /// Set once a backup has completed (epoch ms).
    pub has_recovery_points: bool,
    pub extended_properties: Option<Value>,
    /// Soft delete: when the item was deleted and when it is purged.
    pub deleted_ms: Option<i64>,
    pub purge_ms: Option<i64>,
    pub data_id: String,
    /// Completion time of the latest on-demand backup.
    #[serde(default)]
    pub last_backup_ms: Option<i64>,
    /// Completion times of every on-demand backup (each leaves a recovery point).
    #[serde(default)]
    pub backups_ms: Vec<i64>,
}

impl Item {
    /// The container's name as Azure answers it in item ids and lists, whatever casing the
    /// request used: `IaasVMContainer;iaasvmcontainerv2;{rg};{vm}` (test_backup_protection.yaml
    /// #54, #60; test_backup_softdelete.yaml #48). `backupStatus` answers it in lower case.
    pub fn container_name(&self) -> String {
        format!(
            "IaasVMContainer;iaasvmcontainerv2;{};{}",
            self.vm_resource_group.to_ascii_lowercase(),
            self.vm_name.to_ascii_lowercase()
        )
    }
    /// The container a job of this item names: [`job_container`].
    pub fn job_container(&self) -> String {
        job_container(&self.vm_resource_group, &self.vm_name)
    }
    /// The item's name as Azure answers it: `VM;iaasvmcontainerv2;{rg};{vm}` (same recordings).
    pub fn item_name(&self) -> String {
        format!(
            "VM;iaasvmcontainerv2;{};{}",
            self.vm_resource_group.to_ascii_lowercase(),
            self.vm_name.to_ascii_lowercase()
        )
    }
}

/// The container a backup job names its VM by: `iaasvmcontainerv2;{rg};{vm}`, lower case
/// (recording test_backup_protection.yaml #50 L2729; the item's `containerName`, #54).
pub fn job_container(resource_group: &str, vm: &str) -> String {
    format!("iaasvmcontainerv2;{resource_group};{vm}").to_ascii_lowercase()
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Job {
    pub vault_key: String,
    pub id: String,
    pub operation: String,
    pub entity_friendly_name: String,
    /// The VM's container as a job names it, `iaasvmcontainerv2;{rg};{vm}` (recording
    /// test_backup_protection.yaml #50 L2729; FACTS §4): [`job_container`].
    #[serde(default)]
    pub container: String,
    pub start_ms: i64,
    pub duration_ms: i64,
    pub failed: Option<Value>,
    /// Facts the job's `extendedInfo.propertyBag` adds (a restore's target, its blobs).
    #[serde(default)]
    pub property_bag: Option<Value>,
}

/// A long-running operation: it completes when `start_ms + duration_ms` has passed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Operation {
    pub id: String,
    pub kind: String,
    pub start_ms: i64,
    pub duration_ms: i64,
    /// `{code, message}` when the operation ends Failed.
    pub error: Option<Value>,
    pub vault_key: Option<String>,
    /// Key of the protected item / policy the operation acted on.
    pub target_key: Option<String>,
    pub job_id: Option<String>,
    /// What the result URL answers when done: `resource` (200 + body) or `empty` (204).
    pub result: String,
}

impl State {
    /// The Recovery Services items of the vault whose key is `vault_key` (lower case, as
    /// [`Vault::key`]; item keys are `{vault key}/{item name}`): a range of the map, not a scan
    /// of every vault's items.
    pub fn items_in<'a>(&'a self, vault_key: &str) -> impl Iterator<Item = &'a Item> + 'a {
        under(&self.items, vault_key).map(|(_, i)| i)
    }

    /// A soft-deleted item is purged at `purge_ms`: the next purge scan is due by then
    /// (`protection::purge_expired`).
    pub fn note_purge_at(&mut self, purge_ms: i64) {
        self.items_purge_due = self.items_purge_due.map(|due| due.min(purge_ms));
    }

    pub fn subscription_known(&self, sub: &str) -> bool {
        self.subscriptions
            .iter()
            .any(|s| s.eq_ignore_ascii_case(sub))
    }
    pub fn rg(&self, sub: &str, rg: &str) -> Option<&ResourceGroup> {
        self.resource_groups.get(&key(&[sub, rg]))
    }
}

/// The entries of a map keyed by [`key`] whose key starts with the parts `prefix` (lower case,
/// as `key` makes it) — `{sub}` for a subscription's, `{sub}/{rg}/{vault}` for a vault's: a
/// range of the map, not a scan of it.
pub fn under<'a, V>(
    map: &'a BTreeMap<String, V>,
    prefix: &str,
) -> impl Iterator<Item = (&'a String, &'a V)> + 'a {
    let prefix = format!("{prefix}/");
    map.range(prefix.clone()..)
        .take_while(move |(k, _)| k.starts_with(&prefix))
}

/// Loads and saves the state file.
pub struct Persist {
    pub path: Option<PathBuf>,
}

impl Persist {
    pub fn load(path: &Path) -> Result<State, SandboxError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| SandboxError::Io(format!("reading {}: {e}", path.display())))?;
        let mut st: State = serde_json::from_str(&text).map_err(|e| {
            SandboxError::Io(format!("state file {} is not valid: {e}", path.display()))
        })?;
        super::lro::reindex(&mut st);
        Ok(st)
    }

    pub fn save(&self, st: &State) -> Result<(), SandboxError> {
        if self.path.is_none() {
            return Ok(());
        }
        self.write(&serde_json::to_vec(st).map_err(|e| SandboxError::Io(e.to_string()))?)
    }

    /// Write a serialized state to the file, if there is one.
    pub fn write(&self, bytes: &[u8]) -> Result<(), SandboxError> {
        match &self.path {
            Some(path) => write_atomic(path, bytes),
            None => Ok(()),
        }
    }
}

/// Create `path` (mode 0600 on Unix) holding `bytes`.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    let mut f = o.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

/// Write `bytes` to `path` through a temp file in the same directory and a rename. The file is
/// readable by its owner only: the state holds the client secret, the token-signing key and
/// the CA's private key, the env file the client secret.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), SandboxError> {
    if let Some(dir) = path.parent() {
        if !dir.as_os_str().is_empty() {
            std::fs::create_dir_all(dir)
                .map_err(|e| SandboxError::Io(format!("creating {}: {e}", dir.display())))?;
        }
    }
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "state.json".into());
    let tmp = path.with_file_name(format!(
        ".{file_name}.{}.tmp",
        uuid::Uuid::new_v4().simple()
    ));
    write_private(&tmp, bytes)
        .map_err(|e| SandboxError::Io(format!("writing {}: {e}", tmp.display())))?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        SandboxError::Io(format!("renaming to {}: {e}", path.display()))
    })
}

/// `Item::first_backup_ms` of an item stopped or deleted before its first backup ran: none is
/// coming until protection resumes.
pub const NO_FIRST_BACKUP: i64 = i64::MAX;
