//! The canonical resources azprotect manages, independent of where they came from.
//!
//! Owns: [`Address`], [`ArmId`], [`ResourceKind`], [`Action`] and [`DataEffect`], the
//! [`Resource`] record shared by the desired side (built by `config`) and the live side (built
//! by `live`), and one file per resource family that knows its ARM paths, api-versions, request
//! bodies, and how to normalize what ARM returns into the same attribute tree the desired side
//! produces. Each family describes itself once in its module's `FAMILY` ([`family`]: prefix,
//! creation rank, ownership, whether it is removed with the file, its requests).
//!
//! Attributes are a JSON tree in the *user's* vocabulary (the YAML field names of CONFIG.md), so a
//! diff reads `retention.daily: 14d → 30d`, not ARM's nesting. Both sides must produce exactly
//! the same canonical form for the same intent; that is what makes an unchanged estate plan empty.
//!
//! Must not import: the `azure` transport, `cli`, `plan`, `apply`, `ops`.

/// A family's attributes read by name: `attributes!(Attrs { vm_id: Option<&'a str> = Value::as_str })`
/// makes `Attrs(&resource.attrs).vm_id()`. Each key is spelled once, in its family's module, so
/// what `plan`, `live` and `apply` read is a method the compiler checks.
macro_rules! attributes {
    ($(#[$doc:meta])* $view:ident { $($(#[$fdoc:meta])* $field:ident: $ty:ty = $read:expr),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy)]
        pub struct $view<'a>(pub &'a serde_json::Value);

        impl<'a> $view<'a> {
            $(
                $(#[$fdoc])*
                pub fn $field(self) -> $ty {
                    ($read)(&self.0[stringify!($field)])
                }
            )*
        }
    };
}

mod action;
mod address;
pub mod apply_result;
mod arm_id;
pub mod backup_policy;
pub mod crr;
pub mod disk;
pub mod disk_backup;
pub mod export;
pub mod family;
pub mod fast;
pub mod item_recovery;
mod item_state;
pub mod lease;
mod live_state;
pub mod protected_vm;
pub mod recovery_point;
pub mod resource_group;
pub mod restore;
pub mod restore_drill;
pub mod shard;
pub mod site_recovery;
pub mod snapshot;
pub mod stamp;
pub mod status;
pub mod tags;
pub mod vault;

pub use crate::request::{ArmRequest, Method};
pub use action::{Action, DataEffect};
pub use address::{Address, AddressError, ResourceKind};
pub use arm_id::ArmId;
pub use disk::ManagedDisk;
pub use family::{ChangeInput, Family, Ownership};
pub use item_state::{backup_state_words, ItemState};
pub use live_state::{Elsewhere, LiveState};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};

/// One resource, desired or live: where it lives, what it is, and its normalized attributes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resource {
    pub address: Address,
    pub arm_id: ArmId,
    /// Normalized attributes in the user's vocabulary (see each family's module doc).
    pub attrs: Value,
    /// Addresses this resource needs to exist first (parent vault, policy, resource group…).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<Address>,
}

/// What a protected VM that leaves the file gets (CONFIG.md `on_remove`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum OnRemove {
    /// Stop protection, keep every recovery point (the default).
    #[default]
    RetainData,
    /// Stop backups, keep recovery points per policy retention (needs an immutable vault).
    Suspend,
    /// Stop protection and delete backup data (needs `--allow-data-loss`).
    DeleteData,
}

/// A vault declared in the file: it is authoritative for its policies and protected items.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VaultScope {
    /// The vault's name in the file (its address is `recovery_vault.<name>`).
    pub name: String,
    pub arm_id: ArmId,
    pub location: String,
    pub on_remove: OnRemove,
    /// `restore_drill:` defaults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore_drill: Option<restore_drill::Defaults>,
}

/// A `protect` entry with `select:` — resolved against the live VM list at plan time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VmSelector {
    /// The vault's name in the file.
    pub vault: String,
    /// The policy's name in that vault.
    pub policy: String,
    /// Subscription whose VMs are searched.
    pub subscription: String,
    /// Empty = every resource group of the subscription. Compared case-insensitively.
    pub resource_groups: Vec<String>,
    /// Every tag must match (key case-insensitive, value exact). Empty = no tag condition.
    pub tags: BTreeMap<String, String>,
    /// Data-disk LUNs excluded from backup for every VM this selector picks.
    pub exclude_disks: Vec<u32>,
    /// Regions (normalized, `westeurope`) the VMs must be in; empty = any region.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub locations: Vec<String>,
}

/// Everything the file asks for, before live state is known.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Desired {
    /// The default subscription (file `subscription` or `AZURE_SUBSCRIPTION_ID`).
    pub subscription: String,
    /// Resource groups, vaults, policies and explicitly listed protected VMs.
    pub resources: Vec<Resource>,
    /// `protect` entries with `select`, resolved by the plan against live VMs.
    pub selectors: Vec<VmSelector>,
    /// Declared recovery vaults (authoritative scopes for removal).
    pub vaults: Vec<VaultScope>,
    /// `site_recovery` groups, expanded into resources at plan time against live VMs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replication_groups: Vec<site_recovery::ReplicationGroup>,
    /// `disk_backup` vaults; their instances and role assignments expand at plan time against
    /// live disks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub disk_vaults: Vec<disk_backup::DiskVaultScope>,
}

impl Desired {
    /// Every subscription the desired state touches, sorted.
    pub fn subscriptions(&self) -> Vec<String> {
        let mut subs: Vec<String> = self
            .resources
            .iter()
            .filter_map(|r| r.arm_id.subscription().map(str::to_string))
            .chain(self.resources.iter().filter_map(|r| {
                let vm = ArmId::new(r.attrs.get("vm_id")?.as_str()?);
                vm.subscription().map(str::to_string)
            }))
            .chain(self.selectors.iter().map(|s| s.subscription.clone()))
            .chain(
                self.disk_vaults
                    .iter()
                    .flat_map(|v| v.reached_subscriptions()),
            )
            .chain(std::iter::once(self.subscription.clone()))
            .filter(|s| !s.is_empty())
            .map(|s| s.to_ascii_lowercase())
            .collect();
        subs.sort();
        subs.dedup();
        subs
    }
}

/// A virtual machine as read from Azure: what selectors and live rules need.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VirtualMachine {
    pub id: ArmId,
    pub name: String,
    pub resource_group: String,
    pub subscription: String,
    pub location: String,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// LUNs of the VM's data disks.
    #[serde(default)]
    pub data_disk_luns: Vec<u32>,
    /// The VM's managed disks: the OS disk first (`lun: None`), then data disks by LUN.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub disks: Vec<VmDisk>,
    /// `hardwareProfile.vmSize`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<String>,
}

/// One managed disk of a VM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VmDisk {
    pub id: ArmId,
    /// `None` for the OS disk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lun: Option<u32>,
    /// The disk's type (`managedDisk.storageAccountType`, e.g. `Premium_LRS`), when reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sku: Option<String>,
}

impl VirtualMachine {
    /// `vms` by lower-cased subscription id: a selector, or a stamp's subscription, searches
    /// only its own subscription's VMs, not the whole tenant's.
    pub fn by_subscription(vms: &[VirtualMachine]) -> HashMap<String, Vec<&VirtualMachine>> {
        let mut by: HashMap<String, Vec<&VirtualMachine>> = HashMap::new();
        for vm in vms {
            by.entry(vm.subscription.to_ascii_lowercase())
                .or_default()
                .push(vm);
        }
        by
    }

    /// Does this VM match a selector? (resource groups, tags and locations, case rules as
    /// documented there)
    pub fn matches(&self, sel: &VmSelector) -> bool {
        self.matches_scope(&sel.subscription, &sel.resource_groups, &sel.tags)
            && self.in_locations(&sel.locations)
    }

    /// In one of `locations` (normalized region names; any when empty).
    pub fn in_locations(&self, locations: &[String]) -> bool {
        locations.is_empty()
            || locations
                .iter()
                .any(|l| *l == resource_group::normalize_location(&self.location))
    }

    /// In `subscription`, in one of `resource_groups` (any when empty, case-insensitive), with
    /// every tag (key case-insensitive, value exact).
    pub fn matches_scope(
        &self,
        subscription: &str,
        resource_groups: &[String],
        tags: &BTreeMap<String, String>,
    ) -> bool {
        in_scope(
            (&self.subscription, &self.resource_group, &self.tags),
            subscription,
            resource_groups,
            tags,
        )
    }
}

/// The selector rule VMs and disks share: `subscription`, one of `resource_groups` (any when
/// empty; names case-insensitive), and every tag (key case-insensitive, value exact) — never
/// what a restore drill created.
pub(crate) fn in_scope(
    (sub, rg, have): (&str, &str, &BTreeMap<String, String>),
    subscription: &str,
    resource_groups: &[String],
    tags: &BTreeMap<String, String>,
) -> bool {
    // What a restore drill created is never selected (`restore_drill::TAG`).
    !restore_drill::is_drill(have)
        && sub.eq_ignore_ascii_case(subscription)
        && (resource_groups.is_empty()
            || resource_groups.iter().any(|g| g.eq_ignore_ascii_case(rg)))
        && tags.iter().all(|(k, v)| {
            have.iter()
                .any(|(lk, lv)| lk.eq_ignore_ascii_case(k) && lv == v)
        })
}

/// api-versions azprotect sends, one per provider surface (from `../shared/azure-rest-specs/`).
pub mod api {
    pub const RESOURCES: &str = "2021-04-01";
    pub const COMPUTE: &str = "2025-11-01";
    pub const RECOVERY_SERVICES: &str = "2026-02-01";
    pub const BACKUP: &str = "2026-01-01";
    pub const SITE_RECOVERY: &str = "2026-02-01";
    pub const DATA_PROTECTION: &str = "2026-03-01";
    pub const AUTHORIZATION: &str = "2022-04-01";
    pub const DISKS: &str = "2026-03-02";
    /// Storage accounts (only read: the Site Recovery cache). Recorded: FACTS §10.
    pub const STORAGE: &str = "2022-09-01";
    /// Virtual networks (only read: Site Recovery network mappings). Recorded: FACTS §10.
    pub const NETWORK: &str = "2022-01-01";
}
