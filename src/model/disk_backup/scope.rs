//! Plan-time expansion of a `disk_backup.<vault>` block: the disks it protects (listed and
//! selected, resolved against the live disk list), one backup instance per disk, and the role
//! assignments the vault's identity needs for them.

use super::{instance, role, DiskProtectSpec, DiskVaultScope};
use crate::model::{Address, ArmId, ManagedDisk, Resource, ResourceKind};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};

/// A disk a `protect` entry picks: the live disk when it exists, else the id the file lists.
struct Pick<'a> {
    id: String,
    resource_group: String,
    name: String,
    location: String,
    known: bool,
    spec: &'a DiskProtectSpec,
}

impl DiskVaultScope {
    /// The subscriptions (lower case) this vault's `protect` entries reach: their listed disks',
    /// snapshot resource groups' and selectors'.
    pub fn reached_subscriptions(&self) -> impl Iterator<Item = String> + '_ {
        self.protect.iter().flat_map(|p| {
            (p.disks
                .iter()
                .chain(std::iter::once(&p.snapshot_resource_group_id)))
            .filter_map(|d| {
                crate::model::ArmId::new(d.as_str())
                    .subscription()
                    .map(str::to_string)
            })
            .chain(p.select.iter().map(|s| s.subscription.clone()))
            .map(|s| s.to_ascii_lowercase())
        })
    }

    /// Disk ids (lower case) this vault's `protect` entries list explicitly.
    pub fn listed_disks(&self) -> BTreeSet<String> {
        self.protect
            .iter()
            .flat_map(|p| &p.disks)
            .map(|d| d.to_ascii_lowercase())
            .collect()
    }

    /// The vault's backup instances and role assignments, given the live disks and the live
    /// resources (a live instance or role assignment made outside azprotect for the same disk
    /// is adopted under its own ARM name instead of being created twice).
    pub fn resources(&self, disks: &[ManagedDisk], live: &[Resource]) -> Vec<Resource> {
        self.resources_except(disks, live, &BTreeSet::new())
    }

    /// [`Self::resources`], where `select` skips the disks in `claimed` (lower-case ids that
    /// the file lists explicitly for another vault: an explicit entry wins in any vault).
    ///
    /// A disk listed explicitly wins over a `select` of this vault; a disk two entries pick is
    /// protected once, by the first. Selectors pick disks of the vault's region only (a vault
    /// protects disks of its own region); an explicit disk of another region, or one that does
    /// not exist, still gets its instance so that the plan can block it with the reason.
    pub fn resources_except(
        &self,
        disks: &[ManagedDisk],
        live: &[Resource],
        claimed: &BTreeSet<String>,
    ) -> Vec<Resource> {
        let by_id: BTreeMap<String, &ManagedDisk> = disks
            .iter()
            .map(|d| (d.id.as_str().to_ascii_lowercase(), d))
            .collect();
        let listed = self.listed_disks();
        let mut seen = BTreeSet::new();
        let mut picks = Vec::new();
        for spec in &self.protect {
            for id in &spec.disks {
                if !seen.insert(id.to_ascii_lowercase()) {
                    continue;
                }
                picks.push(match by_id.get(&id.to_ascii_lowercase()) {
                    Some(d) => Pick::of(d, spec),
                    None => {
                        let arm = ArmId::new(id.as_str());
                        Pick {
                            id: id.clone(),
                            resource_group: arm.resource_group().unwrap_or_default().to_string(),
                            name: arm.name().to_string(),
                            location: self.location.clone(),
                            known: false,
                            spec,
                        }
                    }
                });
            }
        }
        for spec in &self.protect {
            let Some(sel) = &spec.select else { continue };
            let mut found: Vec<&ManagedDisk> = disks
                .iter()
                .filter(|d| d.matches_scope(&sel.subscription, &sel.resource_groups, &sel.tags))
                .filter(|d| d.location.eq_ignore_ascii_case(&self.location))
                .collect();
            found.sort_by(|a, b| a.id.cmp(&b.id));
            for d in found {
                let key = d.id.as_str().to_ascii_lowercase();
                if listed.contains(&key) || claimed.contains(&key) || !seen.insert(key) {
                    continue;
                }
                picks.push(Pick::of(d, spec));
            }
        }
        self.expand(&picks, live)
    }

    fn expand(&self, picks: &[Pick], live: &[Resource]) -> Vec<Resource> {
        let vault = &self.arm_id;
        let holder = role::holder(vault, self.user_identity.as_deref());
        let vault_addr = Address::new(ResourceKind::BackupVault, self.name.clone());
        let vault_id = json!(vault.as_str());
        // The attributes every role assignment and instance of this vault carries: the
        // user-assigned identity they are for, if any.
        let with_identity = |mut attrs: serde_json::Value| {
            if let Some(id) = &self.user_identity {
                attrs["user_identity_id"] = json!(id);
            }
            attrs
        };
        // Live instances of this vault by disk id, live role assignments of this vault.
        let mut live_instances: BTreeMap<String, Vec<&Resource>> = BTreeMap::new();
        let mut live_roles: BTreeMap<(String, String), &Resource> = BTreeMap::new();
        for r in live {
            match r.address.kind {
                ResourceKind::DiskBackup if r.arm_id.parent(1) == *vault => {
                    let a = super::instance::Attrs(&r.attrs);
                    live_instances
                        .entry(a.disk_id().unwrap_or_default().to_ascii_lowercase())
                        .or_default()
                        .push(r);
                }
                ResourceKind::RoleAssignment if self.holds(r) => {
                    let a = super::role::Attrs(&r.attrs);
                    let scope = a.scope().unwrap_or_default();
                    let role = a.role().unwrap_or_default();
                    live_roles
                        .entry((role.to_string(), scope.to_ascii_lowercase()))
                        .or_insert(r);
                }
                _ => {}
            }
        }
        // A role assignment's id and attributes: the live one's id when it exists (made by hand
        // under another name), else the stable name. A shared user-assigned identity's
        // assignment is read once, through the vault of the lowest id
        // (`live::disk_backup::once_per_shared_identity`): it keeps that vault's `vault_id` (any
        // vault with the identity attached can tell its principal).
        let role_assignment = |guid: &str, scope: &str| -> (ArmId, serde_json::Value) {
            let short = role::role_name(guid);
            let found = live_roles.get(&(short.to_string(), scope.to_ascii_lowercase()));
            let id = found.map_or_else(
                || role::arm_id(&holder, guid, &ArmId::new(scope)),
                |r| r.arm_id.clone(),
            );
            let through = (found.filter(|_| self.user_identity.is_some()))
                .and_then(|r| super::role::Attrs(&r.attrs).vault_id())
                .map_or_else(|| vault_id.clone(), |v| json!(v));
            let attrs = json!({"scope": scope, "role": short, "vault_id": through});
            (id, with_identity(attrs))
        };
        let mut out = Vec::new();
        let mut snapshot_rgs: BTreeSet<String> = BTreeSet::new();
        for p in picks {
            let Some(policy_arm_name) = self.policies.get(&p.spec.policy) else {
                continue;
            };
            let mut depends_on = vec![Address::new(
                ResourceKind::DiskPolicy,
                format!("{}/{}", self.name, p.spec.policy),
            )];
            let default_id = instance::arm_id(vault, &p.resource_group, &p.name);
            let live = live_instances.get(&p.id.to_ascii_lowercase());
            let arm_id = match live {
                Some(found) => adopted(found, default_id),
                None => default_id,
            };
            // A file silent on the identity leaves an existing instance on the one it uses.
            let kept = match self.keeps_identities {
                true => (live.into_iter().flatten())
                    .find(|r| r.arm_id == arm_id)
                    .and_then(|r| instance::Attrs(&r.attrs).user_identity_id()),
                false => None,
            };
            let srg = &p.spec.snapshot_resource_group_id;
            // The roles are granted to the identity the disk backs up with: none for one that
            // keeps a user-assigned identity the file does not name (its roles are not the
            // file's to manage).
            if self.grant_permissions && kept.is_none() {
                if p.known {
                    let a = Address::new(
                        ResourceKind::RoleAssignment,
                        format!(
                            "{}/disk_backup_reader/{}/{}",
                            self.name, p.resource_group, p.name
                        ),
                    );
                    let (arm_id, attrs) = role_assignment(role::DISK_BACKUP_READER, &p.id);
                    out.push(Resource {
                        address: a.clone(),
                        arm_id,
                        attrs,
                        depends_on: vec![vault_addr.clone()],
                    });
                    depends_on.push(a);
                }
                let a = Address::new(
                    ResourceKind::RoleAssignment,
                    format!(
                        "{}/disk_snapshot_contributor/{}",
                        self.name,
                        ArmId::new(srg.as_str()).name()
                    ),
                );
                if snapshot_rgs.insert(srg.to_ascii_lowercase()) {
                    let (arm_id, attrs) = role_assignment(role::DISK_SNAPSHOT_CONTRIBUTOR, srg);
                    out.push(Resource {
                        address: a.clone(),
                        arm_id,
                        attrs,
                        depends_on: vec![vault_addr.clone()],
                    });
                }
                depends_on.push(a);
            }
            out.push(Resource {
                address: Address::new(
                    ResourceKind::DiskBackup,
                    format!("{}/{}/{}", self.name, p.resource_group, p.name),
                ),
                arm_id,
                attrs: {
                    let mut attrs = json!({
                        "disk_id": p.id,
                        "location": p.location,
                        "policy": policy_arm_name,
                        "snapshot_resource_group_id": srg,
                        "state": crate::model::ItemState::Protected.as_str(),
                    });
                    // The file's identity, or (silent) the one the instance keeps: never both.
                    if let Some(id) = self.user_identity.as_deref().or(kept) {
                        attrs["user_identity_id"] = json!(id);
                    }
                    attrs
                },
                depends_on,
            });
        }
        out
    }

    /// Is this live role assignment one the identity this vault's disks back up with holds:
    /// the user-assigned identity's (through any vault), or the vault's own
    /// ([`Self::owns_role_assignment`])?
    pub fn holds(&self, r: &Resource) -> bool {
        let of = super::role::Attrs(&r.attrs).user_identity_id();
        match (&self.user_identity, of) {
            (Some(want), Some(of)) => want.eq_ignore_ascii_case(of),
            (None, None) => self.owns_role_assignment(r),
            _ => false,
        }
    }

    /// Is this live role assignment one of this vault's identity (by its `vault_id`, else by
    /// its address `role_assignment.<vault>/…`)?
    pub fn owns_role_assignment(&self, r: &Resource) -> bool {
        match super::role::Attrs(&r.attrs).vault_id() {
            Some(v) => ArmId::new(v) == self.arm_id,
            None => r
                .address
                .name
                .split('/')
                .next()
                .is_some_and(|v| v.eq_ignore_ascii_case(&self.name)),
        }
    }
}

impl<'a> Pick<'a> {
    fn of(d: &ManagedDisk, spec: &'a DiskProtectSpec) -> Pick<'a> {
        Pick {
            id: d.id.as_str().to_string(),
            resource_group: d.resource_group.clone(),
            name: d.name.clone(),
            location: d.location.clone(),
            known: true,
            spec,
        }
    }
}

/// Which of a vault's live instances of a disk the file's instance is: one that is not deleted
/// (azprotect's own name first), else azprotect's own name, else the first. A soft-deleted
/// instance no longer holds its disk, so a live one made since (in the portal) is the one that
/// protects it.
fn adopted(found: &[&Resource], default_id: ArmId) -> ArmId {
    let deleted = |r: &Resource| {
        instance::Attrs(&r.attrs).item_state() == crate::model::ItemState::SoftDeleted
    };
    let live: Vec<&ArmId> = (found.iter())
        .filter(|r| !deleted(r))
        .map(|r| &r.arm_id)
        .collect();
    let all: Vec<&ArmId> = found.iter().map(|r| &r.arm_id).collect();
    let among = |ids: &[&ArmId]| match ids.contains(&&default_id) {
        true => Some(default_id.clone()),
        false => ids.first().map(|id| (*id).clone()),
    };
    among(&live).or_else(|| among(&all)).unwrap_or(default_id)
}

#[cfg(test)]
mod tests {
    use super::super::DiskSelector;
    use super::*;
    use crate::model::OnRemove;

    const SUB: &str = "00000000-0000-0000-0000-000000000001";

    fn disk(rg: &str, name: &str, tags: &[(&str, &str)]) -> ManagedDisk {
        ManagedDisk {
            id: ArmId::new(format!(
                "/subscriptions/{SUB}/resourceGroups/{rg}/providers/Microsoft.Compute/disks/{name}"
            )),
            name: name.into(),
            resource_group: rg.into(),
            subscription: SUB.into(),
            location: "westeurope".into(),
            sku: "Premium_LRS".into(),
            size_gb: 128,
            tags: tags
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    fn scope(protect: Vec<DiskProtectSpec>) -> DiskVaultScope {
        DiskVaultScope {
            name: "bv".into(),
            arm_id: super::super::vault::arm_id(SUB, "rg-protect", "bv"),
            location: "westeurope".into(),
            on_remove: OnRemove::RetainData,
            grant_permissions: true,
            user_identity: None,
            keeps_identities: false,
            policies: [
                ("a".to_string(), "a-111111".to_string()),
                ("b".to_string(), "b-222222".to_string()),
            ]
            .into(),
            policy_every: BTreeMap::new(),
            protect,
        }
    }

    fn spec(policy: &str, disks: &[&str], tag: Option<&str>) -> DiskProtectSpec {
        DiskProtectSpec {
            policy: policy.into(),
            snapshot_resource_group_id: format!("/subscriptions/{SUB}/resourceGroups/rg-snap"),
            disks: disks
                .iter()
                .map(|d| {
                    let (rg, n) = d.split_once('/').unwrap();
                    format!("/subscriptions/{SUB}/resourceGroups/{rg}/providers/Microsoft.Compute/disks/{n}")
                })
                .collect(),
            select: tag.map(|t| DiskSelector {
                subscription: SUB.into(),
                resource_groups: vec![],
                tags: [("snapshot".to_string(), t.to_string())].into(),
            }),
        }
    }

    fn policy_of(rs: &[Resource], address: &str) -> String {
        rs.iter()
            .find(|r| r.address.to_string() == address)
            .unwrap_or_else(|| panic!("no {address}"))
            .attrs["policy"]
            .as_str()
            .unwrap()
            .to_string()
    }

    #[test]
    fn explicit_wins_over_select_and_each_disk_has_one_instance() {
        let disks = [
            disk("RG-App", "d1", &[("snapshot", "4h")]),
            disk("rg-app", "d2", &[("snapshot", "4h")]),
        ];
        let s = scope(vec![
            spec("a", &[], Some("4h")),
            spec("b", &["rg-app/d1"], None),
            spec("b", &["rg-app/d1"], None),
        ]);
        let rs = s.resources(&disks, &[]);
        let instances: Vec<String> = rs
            .iter()
            .filter(|r| r.address.kind == ResourceKind::DiskBackup)
            .map(|r| r.address.to_string())
            .collect();
        assert_eq!(
            instances,
            ["disk_backup.bv/RG-App/d1", "disk_backup.bv/rg-app/d2"]
        );
        assert_eq!(policy_of(&rs, "disk_backup.bv/RG-App/d1"), "b-222222");
        assert_eq!(policy_of(&rs, "disk_backup.bv/rg-app/d2"), "a-111111");
        // The live disk's spelling of the id, one contributor assignment for the shared RG.
        let d1 = rs
            .iter()
            .find(|r| r.address.to_string() == "disk_backup.bv/RG-App/d1")
            .unwrap();
        assert_eq!(d1.attrs["disk_id"], json!(disks[0].id.as_str()));
        let contributors = rs
            .iter()
            .filter(|r| r.attrs["role"] == "disk_snapshot_contributor")
            .count();
        assert_eq!(contributors, 1);
        assert_eq!(rs.len(), 2 + 2 + 1);
    }

    #[test]
    fn a_portal_made_instance_and_role_assignment_are_adopted() {
        let disks = [disk("rg-app", "d1", &[])];
        let s = scope(vec![spec("a", &["rg-app/d1"], None)]);
        let portal_id = s.arm_id.child(&["backupInstances", "d1-d1-8c5e1d"]);
        let portal_role = ArmId::new(format!(
            "{}/providers/Microsoft.Authorization/roleAssignments/0000",
            disks[0].id
        ));
        let live = vec![
            Resource {
                address: Address::new(ResourceKind::DiskBackup, "bv/rg-app/d1"),
                arm_id: portal_id.clone(),
                attrs: json!({"disk_id": disks[0].id.as_str().to_ascii_uppercase()}),
                depends_on: vec![],
            },
            Resource {
                address: Address::new(
                    ResourceKind::RoleAssignment,
                    "bv/disk_backup_reader/rg-app/d1",
                ),
                arm_id: portal_role.clone(),
                attrs: json!({"scope": disks[0].id.as_str(), "role": "disk_backup_reader", "vault_id": s.arm_id.as_str()}),
                depends_on: vec![],
            },
        ];
        let rs = s.resources(&disks, &live);
        let find = |k: ResourceKind| {
            rs.iter()
                .find(|r| r.address.kind == k && r.attrs["role"] != "disk_snapshot_contributor")
                .unwrap()
        };
        assert_eq!(find(ResourceKind::DiskBackup).arm_id, portal_id);
        assert_eq!(find(ResourceKind::RoleAssignment).arm_id, portal_role);
    }

    #[test]
    fn a_live_instance_is_adopted_over_azprotects_own_soft_deleted_one() {
        let disks = [disk("rg-app", "d1", &[])];
        let s = scope(vec![spec("a", &["rg-app/d1"], None)]);
        let own = instance::arm_id(&s.arm_id, "rg-app", "d1");
        let portal = s.arm_id.child(&["backupInstances", "d1-d1-8c5e1d"]);
        let at = |id: &ArmId, state: &str| Resource {
            address: Address::new(ResourceKind::DiskBackup, "bv/rg-app/d1"),
            arm_id: id.clone(),
            attrs: json!({"disk_id": disks[0].id.as_str(), "state": state}),
            depends_on: vec![],
        };
        let chosen = |live: Vec<Resource>| {
            let rs = s.resources(&disks, &live);
            let i = rs
                .iter()
                .find(|r| r.address.kind == ResourceKind::DiskBackup);
            i.map(|r| r.arm_id.clone())
        };
        // Soft-deleted, azprotect's own no longer holds the disk: the one made since does.
        let both = vec![at(&own, "soft_deleted"), at(&portal, "protected")];
        assert_eq!(chosen(both), Some(portal.clone()));
        // Alone, it is still the file's (to be undeleted); and a live own one wins.
        assert_eq!(chosen(vec![at(&own, "soft_deleted")]), Some(own.clone()));
        let live_own = vec![at(&portal, "protected"), at(&own, "protected")];
        assert_eq!(chosen(live_own), Some(own));
    }

    #[test]
    fn an_unknown_disk_still_gets_its_instance_without_a_reader_assignment() {
        let mut s = scope(vec![spec("a", &["rg-app/gone"], None)]);
        let rs = s.resources(&[], &[]);
        let i = rs
            .iter()
            .find(|r| r.address.kind == ResourceKind::DiskBackup)
            .unwrap();
        assert_eq!(i.attrs["location"], "westeurope");
        assert!(!rs.iter().any(|r| r.attrs["role"] == "disk_backup_reader"));
        s.grant_permissions = false;
        let rs = s.resources(&[], &[]);
        assert_eq!(rs.len(), 1);
        assert_eq!(
            rs[0].depends_on,
            vec![Address::new(ResourceKind::DiskPolicy, "bv/a")]
        );
    }
}
