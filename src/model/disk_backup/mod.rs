//! Azure Disk Backup (`Microsoft.DataProtection`): backup vaults, disk backup policies, backup
//! instances, and the role assignments the vault's identity needs (api-versions
//! [`super::api::DATA_PROTECTION`], [`super::api::AUTHORIZATION`]).
//!
//! Addresses and attribute contracts (user vocabulary; ids compared case-insensitively):
//! - `backup_vault.<vault>` `{"location", "redundancy"?, "soft_delete": {"state", "retention_days"}?,
//!   "immutability"?, "system_identity"?, "user_identities"?, "tags"}` (optional keys omitted
//!   when unmanaged, like recovery vaults; ownership: subset; `system_identity: true` where the
//!   vault grants the roles of disks it protects with its own identity — an adopted vault with
//!   only user-assigned identities gets the system-assigned one too; `user_identities` (ids) when
//!   its disks back up with a user-assigned identity: that one attached, the vault's others kept;
//!   live has `user_identities` when it has any).
//! - `disk_policy.<vault>/<name>` `{"every": "4h", "retention": "7d", "start": "00:00",
//!   "time_zone"?}` — Azure policies cannot be updated, so the ARM name carries a hash of the
//!   attributes ([`policy::arm_name`]): a changed policy is a *new* policy, the instances move to
//!   it, and the old one is deleted once unused — no recovery point is lost. A *live* policy is
//!   addressed by its full ARM name (`disk_policy.<vault>/every-4h-3fa1b2`), so the old and the
//!   new version are two rows of the plan.
//! - `disk_backup.<vault>/<rg>/<disk>` `{"disk_id", "location", "policy": "<ARM name of the
//!   policy>", "snapshot_resource_group_id", "state": "protected" | "stopped" | "suspended" |
//!   "soft_deleted" | "failed", "user_identity_id"?}` (desired: always `protected`; `location` is
//!   the disk's region, resolved from the live disk list; `user_identity_id`: the user-assigned
//!   identity it backs up with, absent for the vault's system-assigned one — a file naming no
//!   `identity` keeps what an existing instance has).
//! - `role_assignment.<vault>/disk_backup_reader/<rg>/<disk>` and
//!   `role_assignment.<vault>/disk_snapshot_contributor/<rg>` `{"scope", "role":
//!   "disk_backup_reader" | "disk_snapshot_contributor", "vault_id", "user_identity_id"?}` (live
//!   adds `principal_id`; ownership: subset; `user_identity_id` when granted to the vault's
//!   user-assigned identity rather than its own — `vault_id` is then the vault of the lowest id
//!   that read it (or, new, wants it), one assignment serving every vault sharing the identity).
//!   The ARM name is a stable GUID ([`role::assignment_name`]) of the identity's holder (the
//!   vault, or the user-assigned identity, which vaults may share), the role and the scope.

pub mod instance;
pub mod policy;
pub mod role;
mod scope;
pub mod vault;

use super::{api, ArmId, OnRemove};

/// Why a Disk Backup create is not a plain request list: it needs live reads first (the vault's
/// identity, role propagation), which `apply::disk_backup` does.
pub const LIVE_READS_FIRST: &str = "this change needs live reads first (the vault's identity, role propagation): it is carried out by apply::disk_backup";
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A `disk_backup.<vault>` block as data: its instances and role assignments are expanded at
/// plan time against the live disk list (explicit disks and `select` alike). The vault and its
/// policies are ordinary desired resources.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DiskVaultScope {
    /// The vault's name in the file (`backup_vault.<name>`).
    pub name: String,
    pub arm_id: ArmId,
    /// Normalized region.
    pub location: String,
    /// `RetainData` (stop protection, keep snapshots) or `DeleteData`.
    pub on_remove: OnRemove,
    /// Plan the vault identity's role assignments (CONFIG.md `grant_permissions`, default true).
    pub grant_permissions: bool,
    /// The user-assigned identity (ARM id) the vault's disks back up with and the roles are
    /// granted to; `None`: the vault's system-assigned identity.
    #[serde(default)]
    pub user_identity: Option<String>,
    /// The file names no `identity`: each existing instance keeps the identity it backs up with
    /// (one made outside azprotect may use a user-assigned one; no role is then granted for
    /// it), new ones use the vault's own.
    #[serde(default)]
    pub keeps_identities: bool,
    /// Policy name in the file → its ARM name ([`policy::arm_name`]).
    pub policies: BTreeMap<String, String>,
    /// Policy name in the file → its `every` (`4h`), for the Premium SSD v2 / Ultra rule.
    #[serde(default)]
    pub policy_every: BTreeMap<String, String>,
    pub protect: Vec<DiskProtectSpec>,
}

/// Where a plan needs the live disks: subscription (lower case) → `None` for every resource
/// group (a `select` without `resource_groups`), or the resource groups (lower case) that listed
/// disks and selectors name. Subscriptions absent from the map need no disk read at all.
pub fn disk_scopes(
    vaults: &[DiskVaultScope],
) -> BTreeMap<String, Option<std::collections::BTreeSet<String>>> {
    let mut out: BTreeMap<String, Option<std::collections::BTreeSet<String>>> = BTreeMap::new();
    let mut add = |sub: &str, rg: Option<&str>| {
        let entry = out
            .entry(sub.to_ascii_lowercase())
            .or_insert_with(|| Some(Default::default()));
        match (entry.as_mut(), rg) {
            (Some(groups), Some(rg)) => {
                groups.insert(rg.to_ascii_lowercase());
            }
            (Some(_), None) => *entry = None,
            (None, _) => {}
        }
    };
    for p in vaults.iter().flat_map(|v| &v.protect) {
        for d in &p.disks {
            let id = ArmId::new(d.as_str());
            if let (Some(sub), Some(rg)) = (id.subscription(), id.resource_group()) {
                add(sub, Some(rg));
            }
        }
        if let Some(s) = &p.select {
            if s.resource_groups.is_empty() {
                add(&s.subscription, None);
            }
            for rg in &s.resource_groups {
                add(&s.subscription, Some(rg));
            }
        }
    }
    out
}

/// One `protect` entry, ids resolved.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DiskProtectSpec {
    /// The policy's name in the file.
    pub policy: String,
    /// `/subscriptions/{sub}/resourceGroups/{rg}`.
    pub snapshot_resource_group_id: String,
    /// Disk ids the file lists (`rg/name` resolved against the vault block's subscription).
    #[serde(default)]
    pub disks: Vec<String>,
    /// Disks picked from the live disk list at plan time.
    #[serde(default)]
    pub select: Option<DiskSelector>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DiskSelector {
    pub subscription: String,
    /// Empty = every resource group. Compared case-insensitively.
    pub resource_groups: Vec<String>,
    /// Every tag must match (key case-insensitive, value exact).
    pub tags: BTreeMap<String, String>,
}

/// `{path}?api-version=…` for Data Protection.
pub(crate) fn versioned(path: impl std::fmt::Display) -> String {
    format!("{path}?api-version={}", api::DATA_PROTECTION)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(disks: &[&str], select: Option<(&str, &[&str])>) -> DiskProtectSpec {
        DiskProtectSpec {
            disks: disks.iter().map(|d| d.to_string()).collect(),
            select: select.map(|(sub, rgs)| DiskSelector {
                subscription: sub.into(),
                resource_groups: rgs.iter().map(|r| r.to_string()).collect(),
                tags: BTreeMap::new(),
            }),
            ..DiskProtectSpec::default()
        }
    }

    #[test]
    fn disks_are_read_only_where_the_file_can_pick_them() {
        let vault = |protect| DiskVaultScope {
            protect,
            ..DiskVaultScope::default()
        };
        let listed = "/subscriptions/S1/resourceGroups/RG-App/providers/Microsoft.Compute/disks/d";
        let scopes = disk_scopes(&[
            vault(vec![spec(&[listed], Some(("s1", &["rg-db"])))]),
            vault(vec![spec(&[], Some(("s2", &[])))]),
        ]);
        let groups = |g: &[&str]| Some(g.iter().map(|s| s.to_string()).collect());
        assert_eq!(scopes.get("s1"), Some(&groups(&["rg-app", "rg-db"])));
        // A selector without resource groups needs the whole subscription.
        assert_eq!(scopes.get("s2"), Some(&None));
        assert_eq!(scopes.get("s3"), None);
    }
}
