//! What Azure holds that the plan compares against, as plain data: the live state `live`
//! reads and `plan` diffs (plan reads data, never transport).

use super::{protected_vm, ArmId, ManagedDisk, Resource, ResourceKind, VirtualMachine};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// What Azure holds that the plan compares against.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LiveState {
    /// Resource groups, vaults, and the policies and protected items of declared vaults.
    pub resources: Vec<Resource>,
    /// Every VM of the subscriptions involved (selectors and rules resolve against these).
    pub vms: Vec<VirtualMachine>,
    /// VMs registered (protected, stopped or soft-deleted) in vaults the file does not declare:
    /// VM id (lower case) → where.
    pub protected_elsewhere: BTreeMap<String, Elsewhere>,
    /// Every managed disk of the subscriptions involved — read only when the file has
    /// `disk_backup` (selectors and Disk Backup rules resolve against these).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub disks: Vec<ManagedDisk>,
    /// Disks protected by a backup instance in a Backup vault the file does not declare:
    /// disk id (lower case) → where.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub disks_protected_elsewhere: BTreeMap<String, Elsewhere>,
    /// What Site Recovery needs to exist that azprotect does not manage (cache storage accounts,
    /// mapped virtual networks, target resource groups): id (lower case) → the resource, `None`
    /// when it does not exist. Read once each for the plan-time checks.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub dependencies: BTreeMap<String, Option<serde_json::Value>>,
    /// The `azprotect-lease` tag of each vault that carries one: vault id → value
    /// (`model::lease`). Not in the fingerprint: a lease is apply's bookkeeping, not Azure's
    /// configuration.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub leases: BTreeMap<ArmId, String>,
    /// What Azure reports about each protected and replicated item's health, kept from the
    /// lists read above for `status` (`model::status`). Not in the fingerprint, not saved.
    #[serde(skip)]
    pub health: super::status::Health,
}

impl LiveState {
    /// A lookup of the live resources by ARM id (case-insensitive).
    pub fn by_id(&self) -> super::fast::FastMap<&ArmId, &Resource> {
        self.resources.iter().map(|r| (&r.arm_id, r)).collect()
    }

    /// The VM with this id, if it exists.
    pub fn vm(&self, id: &str) -> Option<&VirtualMachine> {
        let id = ArmId::new(id);
        self.vms.iter().find(|v| v.id == id)
    }

    /// How many protected items (any state) a vault holds.
    pub fn items_in_vault(&self, vault: &ArmId) -> usize {
        self.resources
            .iter()
            .filter(|r| r.address.kind == ResourceKind::ProtectedVm)
            .filter(|r| &protected_vm::vault_of(&r.arm_id) == vault)
            .count()
    }

    /// A stable hash of everything the plan depends on: a saved plan is stale when it differs.
    /// Streamed into the hash (no JSON copy of the estate is built): the bytes hashed are the canonical
    /// JSON of `Canonical`, the same as saved plans have always been fingerprinted with.
    pub fn fingerprint(&self) -> String {
        let mut resources: Vec<&Resource> = self.resources.iter().collect();
        resources.sort_by(|a, b| a.arm_id.cmp(&b.arm_id));
        let mut vms: Vec<&VirtualMachine> = self.vms.iter().collect();
        vms.sort_by(|a, b| a.id.cmp(&b.id));
        let mut disks: Vec<&ManagedDisk> = self.disks.iter().collect();
        disks.sort_by(|a, b| a.id.cmp(&b.id));
        let canonical = Canonical {
            resources: resources
                .iter()
                .map(|r| (r.arm_id.as_str().to_ascii_lowercase(), SortedKeys(&r.attrs)))
                .collect(),
            vms,
            protected_elsewhere: &self.protected_elsewhere,
            disks,
            disks_protected_elsewhere: &self.disks_protected_elsewhere,
            dependencies: self
                .dependencies
                .iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v.as_ref().map(what_rules_read)))
                .collect(),
        };
        // `Sha256` is an `io::Write` (digest's `std` feature).
        let mut hash = Sha256::new();
        serde_json::to_writer(&mut hash, &canonical).expect("the live state serializes");
        hex::encode(hash.finalize())
    }
}

/// What [`LiveState::fingerprint`] hashes, in this order (the order of its JSON object's keys).
#[derive(Serialize)]
struct Canonical<'a> {
    /// Each resource as `[lower-case id, attributes with sorted keys]`.
    resources: Vec<(String, SortedKeys<'a>)>,
    vms: Vec<&'a VirtualMachine>,
    protected_elsewhere: &'a BTreeMap<String, Elsewhere>,
    disks: Vec<&'a ManagedDisk>,
    disks_protected_elsewhere: &'a BTreeMap<String, Elsewhere>,
    /// Resources the rules read (cache accounts, target groups, networks): a plan's blocked
    /// changes depend on them.
    dependencies: BTreeMap<String, Option<RulesRead<'a>>>,
}

/// Of a dependency's ARM body, what Azure's rules read (whether it exists, its region, kind and
/// SKU): its etag or the NICs in a network's subnets change with unrelated deployments, which
/// must not make a reviewed plan stale.
#[derive(Serialize)]
struct RulesRead<'a> {
    location: Option<String>,
    kind: &'a serde_json::Value,
    sku: SortedKeys<'a>,
}

fn what_rules_read(v: &serde_json::Value) -> RulesRead<'_> {
    RulesRead {
        location: v["location"].as_str().map(str::to_ascii_lowercase),
        kind: &v["kind"],
        sku: SortedKeys(&v["sku"]),
    }
}

/// A JSON value serialized with every object's keys in sorted order: ARM promises no order for
/// maps such as `tags`, and `serde_json` keeps insertion order, so the fingerprint must not hash
/// it.
struct SortedKeys<'a>(&'a serde_json::Value);

impl Serialize for SortedKeys<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        match self.0 {
            serde_json::Value::Object(m) => {
                let mut entries: Vec<_> = m.iter().collect();
                entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
                let mut map = s.serialize_map(Some(entries.len()))?;
                for (k, v) in entries {
                    map.serialize_entry(k, &SortedKeys(v))?;
                }
                map.end()
            }
            serde_json::Value::Array(a) => {
                let mut seq = s.serialize_seq(Some(a.len()))?;
                for v in a {
                    seq.serialize_element(&SortedKeys(v))?;
                }
                seq.end()
            }
            other => other.serialize(s),
        }
    }
}

/// A VM's backup registration in a vault the file does not declare.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Elsewhere {
    pub vault: ArmId,
    /// The item's normalized `state` (`protected`, `stopped`, `suspended`, `soft_deleted`).
    pub state: String,
}
