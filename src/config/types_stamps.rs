//! `stamps:` as Rust types: a resource group and a recovery vault declared once, generated in
//! every (subscription, region) of a set of subscriptions at plan time (`config::stamps`).
//!
//! Shapes only: every rule lives in `validate::stamps` and `config::stamps`.

use super::spanned::{Map, Sp};
use super::types::{
    BackupPolicy, Immutability, ProtectEntry, RecoveryVault, RestoreDrill, SoftDelete,
    StorageRedundancy,
};
use crate::model::OnRemove;
use schemars::JsonSchema;
use serde::Deserialize;

/// A stamp: where (`management_group` or `subscriptions`, `regions`) and what (`resource_group`,
/// `recovery_vault`). Names may use `{subscription.name}` (the display name as a slug),
/// `{subscription.id}` and `{region}`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Stamp {
    /// Every subscription under this management group (at any depth), resolved at plan time.
    #[serde(default)]
    pub management_group: Option<Sp<String>>,
    /// These subscriptions (GUIDs) — instead of `management_group`.
    #[serde(default)]
    pub subscriptions: Option<Sp<Vec<Sp<String>>>>,
    /// Only these regions (default: every region where a VM is in scope).
    #[serde(default)]
    pub regions: Option<Sp<Vec<Sp<String>>>>,
    /// A vault in every listed region, even where no VM is in scope (needs `regions`).
    #[serde(default)]
    pub create_empty_regions: Option<Sp<bool>>,
    /// The vault's resource group, ensured in each subscription in the vault's region: a name
    /// pattern, e.g. `rg-backup-{subscription.name}-{region}`.
    pub resource_group: Sp<String>,
    /// The recovery vault generated in each (subscription, region).
    pub recovery_vault: Sp<StampVault>,
}

/// A stamp's recovery vault: a vault's settings without `subscription`, `location` and
/// `resource_group` (the stamp fills them in), and with a name pattern.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StampVault {
    /// The vault's name pattern, e.g. `rsv-{subscription.name}-{region}`.
    pub name: Sp<String>,
    /// Backup storage redundancy; locked once the first item is protected.
    #[serde(default)]
    pub storage_redundancy: Option<Sp<StorageRedundancy>>,
    /// Cross-region restore (GeoRedundant only); cannot be turned off again.
    #[serde(default)]
    pub cross_region_restore: Option<Sp<bool>>,
    /// Soft delete of backup data.
    #[serde(default)]
    pub soft_delete: Option<Sp<SoftDelete>>,
    /// Immutability of recovery points; `Locked` is irreversible.
    #[serde(default)]
    pub immutability: Option<Sp<Immutability>>,
    /// Allow access from public networks.
    #[serde(default)]
    pub public_network_access: Option<Sp<bool>>,
    /// Tags for each vault, merged over the file's global `tags`.
    #[serde(default)]
    pub tags: Option<Sp<Map<String>>>,
    /// VM backup policies, keyed by policy name: the same in every vault.
    #[serde(default)]
    pub backup_policies: Option<Sp<Map<BackupPolicy>>>,
    /// Which VMs each vault backs up: selectors only (`select:`), matched in the vault's own
    /// subscription and region.
    #[serde(default)]
    pub protect: Option<Sp<Vec<Sp<ProtectEntry>>>>,
    /// What a protected VM that leaves the file gets (see `recovery_vaults`).
    #[serde(default)]
    pub on_remove: Option<Sp<OnRemove>>,
    /// Where `azprotect restore-drill` restores each vault's VMs.
    #[serde(default)]
    pub restore_drill: Option<Sp<RestoreDrill>>,
}

impl StampVault {
    /// The vault as if written under `recovery_vaults`, in `subscription`, `location` and
    /// `resource_group` (each spanned where the stamp wrote what it came from).
    pub fn to_vault(
        &self,
        subscription: Sp<String>,
        location: Sp<String>,
        resource_group: Sp<String>,
    ) -> RecoveryVault {
        RecoveryVault {
            subscription: Some(subscription),
            resource_group,
            location,
            storage_redundancy: self.storage_redundancy.clone(),
            cross_region_restore: self.cross_region_restore.clone(),
            soft_delete: self.soft_delete.clone(),
            immutability: self.immutability.clone(),
            public_network_access: self.public_network_access.clone(),
            tags: self.tags.clone(),
            backup_policies: self.backup_policies.clone(),
            protect: self.protect.clone(),
            on_remove: self.on_remove.clone(),
            restore_drill: self.restore_drill.clone(),
        }
    }
}
