//! Each resource family described once: its address prefix, its place in the creation order,
//! how much of the live resource the file owns, and the ARM requests that carry out a change.
//! The description lives in the family's own module (`vault::FAMILY`, `site_recovery::
//! replication::FAMILY`, …); [`of`] is the one list of them. `ResourceKind` answers its prefix
//! and rank from here, `plan` compares by its ownership, `apply` sends its requests.
//!
//! Adding a family: a `ResourceKind` variant, its module with a `FAMILY`, a line in [`of`], its
//! reader in `live` and its declaration in `config`.

use super::{Action, ArmId, ArmRequest, DataEffect, Resource, ResourceKind};
use serde_json::Value;

/// How much of the live attribute tree the desired tree owns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ownership {
    /// Only keys the desired side sets are compared (optional settings, tags).
    Subset,
    /// Every key is compared: a live key the desired side lacks is removed.
    Whole,
}

/// A change as a family's request builder needs it.
#[derive(Debug, Clone, Copy)]
pub struct ChangeInput<'a> {
    pub action: Action,
    pub id: &'a ArmId,
    /// The desired resource (`None` for a delete).
    pub desired: Option<&'a Resource>,
    /// The live attributes (`Null` for a create).
    pub before: &'a Value,
    pub data: Option<DataEffect>,
    /// The top-level attributes an update changes (`retention`, `soft_delete`, …).
    pub changed: &'a [String],
}

impl ChangeInput<'_> {
    /// The desired resource, or why a create/update cannot be built without it.
    pub fn desired(&self) -> Result<&Resource, String> {
        self.desired
            .ok_or_else(|| "the change has no `after` attributes".to_string())
    }

    /// Not a change this family supports.
    pub fn unsupported<T>(&self, kind: ResourceKind) -> Result<T, String> {
        Err(format!(
            "{:?} of a {} is not supported",
            self.action,
            kind.prefix()
        ))
    }
}

/// One resource family.
pub struct Family {
    pub kind: ResourceKind,
    /// The address prefix: `recovery_vault` in `recovery_vault.rsv-prod-weu`.
    pub prefix: &'static str,
    /// Creation order: parents before children (deletes run in reverse).
    pub rank: u8,
    pub ownership: Ownership,
    /// Whether a live resource the file no longer declares is removed (the plan decides how).
    /// Resource groups, vaults and the shared Site Recovery setup (which may serve replications
    /// made elsewhere) never are.
    pub removed_with_the_file: bool,
    /// The requests for one change, sent one after the other. Pure.
    pub requests: fn(&ChangeInput) -> Result<Vec<ArmRequest>, String>,
}

/// The family of `kind`: the one list of families.
pub fn of(kind: ResourceKind) -> &'static Family {
    use super::disk_backup::{instance, policy as disk_policy, role, vault as backup_vault};
    use super::site_recovery::{recovery_plan, replication, setup};
    use super::{backup_policy, protected_vm, resource_group, vault};
    match kind {
        ResourceKind::ResourceGroup => &resource_group::FAMILY,
        ResourceKind::RecoveryVault => &vault::FAMILY,
        ResourceKind::BackupPolicy => &backup_policy::FAMILY,
        ResourceKind::ProtectedVm => &protected_vm::FAMILY,
        ResourceKind::ReplicationFabric => &setup::FABRIC,
        ResourceKind::ProtectionContainer => &setup::CONTAINER,
        ResourceKind::ReplicationPolicy => &setup::POLICY,
        ResourceKind::ContainerMapping => &setup::CONTAINER_MAPPING,
        ResourceKind::NetworkMapping => &setup::NETWORK_MAPPING,
        ResourceKind::Replication => &replication::FAMILY,
        ResourceKind::RecoveryPlan => &recovery_plan::FAMILY,
        ResourceKind::BackupVault => &backup_vault::FAMILY,
        ResourceKind::DiskPolicy => &disk_policy::FAMILY,
        ResourceKind::RoleAssignment => &role::FAMILY,
        ResourceKind::DiskBackup => &instance::FAMILY,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_own_family_with_a_distinct_prefix() {
        let mut prefixes = std::collections::BTreeSet::new();
        for kind in ResourceKind::ALL {
            let f = of(kind);
            assert_eq!(f.kind, kind, "{kind:?} is described by {:?}", f.kind);
            assert!(prefixes.insert(f.prefix), "{} twice", f.prefix);
        }
        // Containers of data and shared setup are never removed implicitly.
        for kind in [
            ResourceKind::ResourceGroup,
            ResourceKind::RecoveryVault,
            ResourceKind::BackupVault,
            ResourceKind::ReplicationFabric,
            ResourceKind::NetworkMapping,
        ] {
            assert!(!of(kind).removed_with_the_file, "{kind:?}");
        }
    }
}
