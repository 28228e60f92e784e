//! Disk Backup rules that need live state (where a disk is, what it is, who protects it, what
//! a Backup vault's settings allow once it holds instances), and what removing a live
//! instance, policy or role assignment of a declared Backup vault means.
//!
//! Disk policies cannot be updated in Azure: a changed policy is a new policy (its ARM name
//! carries a hash of its settings), the instances move to it, and the old version is deleted
//! once no instance that stays uses it. A policy made outside azprotect (no hash) is adopted
//! when its name and settings are the declared ones ([`adopt_policies`]).

use super::rules::Verdict;
use super::{AttrChange, Change, DataEffect};
use crate::model::disk_backup::{instance, policy, role, vault as backup_vault, DiskVaultScope};
use crate::model::ItemState;
use crate::model::LiveState;
use crate::model::{ArmId, Desired, ManagedDisk, OnRemove, Resource, ResourceKind};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// A Disk Backup policy made outside azprotect (the portal, the CLI) has no `-{hash}` suffix,
/// while a declared policy is named `{name}-{hash}` (`policy::arm_name`). A declared policy
/// whose hashed id is not live is that live policy when its vault holds one of exactly the
/// declared name (case-insensitive) with the same settings: the file adopts it instead of
/// planning a copy and moving the instances. With other settings it is not adopted (Azure
/// cannot update a disk policy: a new hashed version is planned, as for azprotect's own).
/// `None` when nothing is adopted; else the desired state with the adopted ids (the policy's
/// resource and its vault's `policies`, which the instances' `policy_id` come from).
pub fn adopt_policies(desired: &Desired, live: &LiveState) -> Option<Desired> {
    let live_policies: Vec<&Resource> = live
        .resources
        .iter()
        .filter(|r| r.address.kind == ResourceKind::DiskPolicy)
        .collect();
    let ownership = crate::model::family::of(ResourceKind::DiskPolicy).ownership;
    let adopted: Vec<(usize, ArmId)> = desired
        .resources
        .iter()
        .enumerate()
        .filter(|(_, r)| r.address.kind == ResourceKind::DiskPolicy)
        .filter(|(_, r)| !live_policies.iter().any(|l| l.arm_id == r.arm_id))
        .filter_map(|(i, r)| {
            let (_, declared) = r.address.name.split_once('/')?;
            let vault = r.arm_id.parent(1);
            let found = live_policies.iter().find(|l| {
                l.arm_id.parent(1) == vault
                    && l.arm_id.name().eq_ignore_ascii_case(declared)
                    && super::attrs::diff(&r.attrs, &l.attrs, ownership).is_empty()
            })?;
            Some((i, found.arm_id.clone()))
        })
        .collect();
    if adopted.is_empty() {
        return None;
    }
    let mut d = desired.clone();
    for (i, id) in adopted {
        let r = &mut d.resources[i];
        let declared = r.address.name.split_once('/').map(|(_, n)| n.to_string());
        let vault = r.arm_id.parent(1);
        if let (Some(name), Some(scope)) = (
            declared,
            d.disk_vaults.iter_mut().find(|s| s.arm_id == vault),
        ) {
            scope.policies.insert(name, id.name().to_string());
        }
        r.arm_id = id;
    }
    Some(d)
}

/// Lookups the Disk Backup rules need, built once per plan.
pub struct DiskContext<'a> {
    live: &'a LiveState,
    /// Disk id (lower case) → the live disk.
    disks: BTreeMap<String, &'a ManagedDisk>,
    /// Declared Backup vaults by id.
    scopes: BTreeMap<ArmId, &'a DiskVaultScope>,
    /// Backup vault id → desired attributes, else live attributes.
    vaults: BTreeMap<ArmId, &'a Value>,
    /// Live Backup vault id → live attributes.
    live_vaults: BTreeMap<ArmId, &'a Value>,
    /// Disk policy id → desired attributes, else live attributes.
    policies: BTreeMap<ArmId, &'a Value>,
    /// Live instances of declared vaults, by disk id (lower case) and by vault.
    live_by_disk: BTreeMap<String, Vec<&'a Resource>>,
    live_by_vault: BTreeMap<ArmId, Vec<&'a Resource>>,
    /// Wanted instances by id.
    wanted: BTreeMap<&'a ArmId, &'a Resource>,
    /// Disk id (lower case) → wanted instances, in address order.
    wanted_by_disk: BTreeMap<String, Vec<&'a Resource>>,
}

fn disk_key(attrs: &Value) -> String {
    instance::Attrs(attrs)
        .disk_id()
        .unwrap_or_default()
        .to_ascii_lowercase()
}

fn vault_of(instance: &ArmId) -> ArmId {
    instance.parent(1)
}

impl<'a> DiskContext<'a> {
    pub fn new(desired: &'a Desired, wanted: &'a [Resource], live: &'a LiveState) -> Self {
        let mut ctx = DiskContext {
            live,
            disks: live
                .disks
                .iter()
                .map(|d| (d.id.as_str().to_ascii_lowercase(), d))
                .collect(),
            scopes: desired
                .disk_vaults
                .iter()
                .map(|s| (s.arm_id.clone(), s))
                .collect(),
            vaults: BTreeMap::new(),
            live_vaults: BTreeMap::new(),
            policies: BTreeMap::new(),
            live_by_disk: BTreeMap::new(),
            live_by_vault: BTreeMap::new(),
            wanted: BTreeMap::new(),
            wanted_by_disk: BTreeMap::new(),
        };
        for r in &live.resources {
            match r.address.kind {
                ResourceKind::BackupVault => {
                    ctx.vaults.insert(r.arm_id.clone(), &r.attrs);
                    ctx.live_vaults.insert(r.arm_id.clone(), &r.attrs);
                }
                ResourceKind::DiskPolicy => {
                    ctx.policies.insert(r.arm_id.clone(), &r.attrs);
                }
                ResourceKind::DiskBackup => {
                    ctx.live_by_disk
                        .entry(disk_key(&r.attrs))
                        .or_default()
                        .push(r);
                    ctx.live_by_vault
                        .entry(vault_of(&r.arm_id))
                        .or_default()
                        .push(r);
                }
                _ => {}
            }
        }
        let mut sorted: Vec<&Resource> = wanted.iter().collect();
        sorted.sort_by(|a, b| a.address.cmp(&b.address));
        for r in sorted {
            match r.address.kind {
                ResourceKind::BackupVault => {
                    ctx.vaults.insert(r.arm_id.clone(), &r.attrs);
                }
                ResourceKind::DiskPolicy => {
                    ctx.policies.insert(r.arm_id.clone(), &r.attrs);
                }
                ResourceKind::DiskBackup => {
                    ctx.wanted.insert(&r.arm_id, r);
                    ctx.wanted_by_disk
                        .entry(disk_key(&r.attrs))
                        .or_default()
                        .push(r);
                }
                _ => {}
            }
        }
        ctx
    }

    fn disk(&self, id: &str) -> Option<&'a ManagedDisk> {
        self.disks.get(&id.to_ascii_lowercase()).copied()
    }

    /// A Backup vault's attribute once its own change (ordered first) is applied.
    fn vault_attr(&self, vault: &ArmId, key: &str) -> Option<&'a Value> {
        self.vaults
            .get(vault)
            .and_then(|a| a.get(key))
            .or_else(|| self.live_vaults.get(vault).and_then(|a| a.get(key)))
    }

    /// `every` of the policy an instance names (its ARM name, in the instance's vault).
    fn policy_every(&self, vault: &ArmId, arm_name: &str) -> Option<&'a str> {
        self.policies
            .get(&vault.child(&["backupPolicies", arm_name]))
            .and_then(|p| policy::Attrs(p).every())
    }

    /// The file's name of the policy an instance names (its ARM name, in the instance's vault):
    /// `policy::file_name` with the policy's attributes, else the ARM name.
    fn policy_file_name<'n>(&self, vault: &ArmId, arm_name: &'n str) -> &'n str {
        self.policies
            .get(&vault.child(&["backupPolicies", arm_name]))
            .map_or(arm_name, |a| policy::file_name(arm_name, a))
    }

    /// Live instances (any state) of a vault.
    fn instances_in(&self, vault: &ArmId) -> impl Iterator<Item = &'a Resource> + '_ {
        self.live_by_vault.get(vault).into_iter().flatten().copied()
    }

    /// What removing a live instance the file no longer wants does; `None` when nothing
    /// changes (already stopped with `retain_data`, soft-deleted, or not a declared vault's).
    fn removal_effect(&self, have: &Resource) -> Option<(&'a DiskVaultScope, DataEffect)> {
        let scope = self.scopes.get(&vault_of(&have.arm_id)).copied()?;
        match (scope.on_remove, ItemState::of(&have.attrs)) {
            (_, ItemState::SoftDeleted) => None,
            (OnRemove::DeleteData, _) => Some((scope, DataEffect::Deleted)),
            (_, s) if s.retained() => None,
            _ => Some((scope, DataEffect::Retained)),
        }
    }

    /// Does this live instance still exist after the plan (wanted, or removed keeping its
    /// data)?
    fn stays(&self, have: &Resource) -> bool {
        self.wanted.contains_key(&have.arm_id)
            || !matches!(self.removal_effect(have), Some((_, DataEffect::Deleted)))
    }

    /// Does this live instance still need its vault identity's roles after the plan: wanted,
    /// or kept with its data (stopped)? Not once deleted, into soft delete or not: the plan that
    /// deletes an instance deletes its roles after it, so a plan made after a soft delete (an
    /// apply interrupted, or the instance's and the roles' subscriptions applied apart) does the
    /// same rather than leave them until the purge, when no file leads to them any more. (A
    /// wanted soft-deleted instance's roles are the file's own, so never removed.)
    fn needs_roles(&self, have: &Resource) -> bool {
        ItemState::of(&have.attrs) != ItemState::SoftDeleted && self.stays(have)
    }

    /// Does this live instance still hold its policy after the plan? Also when it is deleted
    /// into the vault's soft delete: a soft-deleted instance keeps its policy, and Azure
    /// refuses to delete a policy any instance is associated with
    /// (`UserErrorDppPolicyObjectInUse`) until the instance is purged.
    fn holds_policy(&self, have: &Resource) -> bool {
        self.stays(have) || self.soft_deletes(&vault_of(&have.arm_id))
    }

    /// Does a delete in this vault leave the instance soft-deleted?
    fn soft_deletes(&self, vault: &ArmId) -> bool {
        self.vault_attr(vault, "soft_delete")
            .and_then(|s| s["state"].as_str())
            .is_some_and(|s| s != "Off")
    }
}

/// A Backup vault whose disks back up with a user-assigned identity wants that identity
/// attached, and keeps the user-assigned identities it has: the desired `user_identities`
/// become the live ones (as Azure spells them) with the file's added when missing, so that the
/// plan shows only what is added. Vaults that name no user-assigned identity are left alone.
pub fn attached_identities(resources: &mut [Resource], live: &LiveState) {
    let wanting: BTreeSet<ArmId> = (resources.iter())
        .filter(|r| r.address.kind == ResourceKind::BackupVault)
        .filter(|r| r.attrs.get("user_identities").is_some())
        .map(|r| r.arm_id.clone())
        .collect();
    if wanting.is_empty() {
        return;
    }
    let had: BTreeMap<&ArmId, &Value> = (live.resources.iter())
        .filter(|r| r.address.kind == ResourceKind::BackupVault && wanting.contains(&r.arm_id))
        .filter_map(|r| Some((&r.arm_id, r.attrs.get("user_identities")?)))
        .collect();
    for r in resources
        .iter_mut()
        .filter(|r| r.address.kind == ResourceKind::BackupVault)
    {
        let (Some(Value::Array(want)), Some(Value::Array(have))) =
            (r.attrs.get("user_identities"), had.get(&r.arm_id))
        else {
            continue;
        };
        let (have, want) = (
            have.iter().filter_map(Value::as_str).collect(),
            want.iter().filter_map(Value::as_str).collect(),
        );
        let all: Vec<String> = (backup_vault::with_identities(have, want).into_iter())
            .map(str::to_string)
            .collect();
        r.attrs["user_identities"] = serde_json::json!(all);
    }
}

/// Vaults sharing a user-assigned identity and a scope (a snapshot group) want the same role
/// assignment (its name derives from the identity): it is planned once, under the address of
/// the vault of the lowest id — the one the live read keeps it under
/// (`live::disk_backup::once_per_shared_identity`) — and what the others' instances wait for
/// is that one.
pub fn one_per_shared_assignment(resources: &mut Vec<Resource>) {
    let redirect = role::drop_shared_copies(resources);
    if redirect.is_empty() {
        return;
    }
    for r in resources.iter_mut() {
        for d in r.depends_on.iter_mut() {
            if let Some(to) = redirect.get(d) {
                d.clone_from(to);
            }
        }
        let mut seen = BTreeSet::new();
        r.depends_on.retain(|d| seen.insert(d.clone()));
    }
}

/// A vault whose file is silent on `identity` wants its own identity to grant the roles of the
/// disks it protects (`config::desired_disk_backup::vault_attrs`) — unless every one of them
/// keeps a user-assigned identity (`DiskVaultScope::keeps_identities`): then nothing would use
/// it, and the vault is left as it is.
pub fn own_identity_where_used(resources: &mut [Resource], scopes: &[DiskVaultScope]) {
    let keeping: BTreeSet<&ArmId> = (scopes.iter())
        .filter(|s| s.keeps_identities && s.user_identity.is_none())
        .map(|s| &s.arm_id)
        .collect();
    if keeping.is_empty() {
        return;
    }
    // Per vault with instances: whether every one keeps a user-assigned identity.
    let mut all_keep: BTreeMap<ArmId, bool> = BTreeMap::new();
    for r in resources
        .iter()
        .filter(|r| r.address.kind == ResourceKind::DiskBackup)
    {
        let vault = vault_of(&r.arm_id);
        if keeping.contains(&vault) {
            let keeps = instance::Attrs(&r.attrs).user_identity_id().is_some();
            *all_keep.entry(vault).or_insert(true) &= keeps;
        }
    }
    let unused: BTreeSet<ArmId> = (all_keep.into_iter())
        .filter_map(|(vault, all)| all.then_some(vault))
        .collect();
    if unused.is_empty() {
        return;
    }
    for r in resources.iter_mut() {
        if r.address.kind == ResourceKind::BackupVault && unused.contains(&r.arm_id) {
            if let Some(a) = r.attrs.as_object_mut() {
                a.remove("system_identity");
            }
        }
    }
}

/// Rules for a Disk Backup resource that does not exist yet.
pub fn on_create(want: &Resource, ctx: &DiskContext, v: &mut Verdict) {
    if want.address.kind == ResourceKind::DiskBackup {
        instance_rules(want, None, ctx, v);
    }
}

/// Rules for an in-place update of a Disk Backup resource.
pub fn on_update(
    want: &Resource,
    have: &Resource,
    diff: &[AttrChange],
    ctx: &DiskContext,
    v: &mut Verdict,
) {
    let changed = |p: &str| {
        diff.iter()
            .find(|d| d.path == p || d.path.starts_with(&format!("{p}.")))
    };
    match want.address.kind {
        ResourceKind::BackupVault => {
            if changed("location").is_some() {
                v.block("a Backup vault cannot move to another region, and replacing it would delete its backup data");
            }
            if changed("user_identities").is_some() {
                v.reasons.push("a user-assigned identity is attached to the vault: its disks back up with it and azprotect grants their roles to it (the vault's other identities stay)".into());
            }
            if changed("system_identity").is_some() {
                v.reasons.push("the vault's system-assigned identity is enabled: azprotect grants the disk roles to it (any user-assigned identities stay)".into());
            }
            if changed("redundancy").is_some() {
                // Fixed at creation (azurerm: `redundancy` is ForceNew); replacing the vault
                // would delete what it protects.
                let n = ctx.instances_in(&have.arm_id).count();
                let holds = if n > 0 {
                    format!(", and this vault holds {n} backup instance(s)")
                } else {
                    String::new()
                };
                v.block(format!(
                    "a Backup vault's storage redundancy is fixed when it is created (azurerm treats a change as a new vault){holds}; create a new vault for the new redundancy"
                ));
            }
            let (had, wants) = (
                backup_vault::Attrs(&have.attrs),
                backup_vault::Attrs(&want.attrs),
            );
            super::rules::irreversible_settings(
                super::rules::Irreversible {
                    had_immutability: had.immutability(),
                    had_soft_delete: had.soft_delete_state(),
                    wants_soft_delete: wants.soft_delete_state(),
                },
                &changed,
                v,
            );
        }
        ResourceKind::DiskPolicy => {
            // Same ARM name (same declared settings), different live settings: the policy was
            // made or changed outside azprotect.
            let users = ctx
                .instances_in(&have.arm_id.parent(1))
                .filter(|r| uses(r, have.arm_id.name()))
                .count();
            if users == 0 {
                v.replace = true;
                v.reasons.push("Azure cannot update a disk backup policy in place: no instance uses it, so it is deleted and created again".into());
            } else {
                v.block(format!("the live policy differs from its declared settings and Azure cannot update a disk backup policy in place; {users} instance(s) use it — rename the policy in the file (its instances move to the new one)"));
            }
        }
        ResourceKind::DiskBackup => instance_rules(want, Some((have, &changed)), ctx, v),
        _ => {}
    }
}

type Changed<'c, 'd> = &'c dyn Fn(&str) -> Option<&'d AttrChange>;

fn uses(r: &Resource, policy_arm_name: &str) -> bool {
    instance::Attrs(&r.attrs)
        .policy()
        .is_some_and(|p| p.eq_ignore_ascii_case(policy_arm_name))
}

/// Another instance protects the disk `want` would protect (or resume): a vault this file
/// does not manage, or another live instance the file knows, in this vault or another.
fn other_holders(want: &Resource, disk_id: &str, ctx: &DiskContext, v: &mut Verdict) {
    let vault = vault_of(&want.arm_id);
    if let Some(other) = ctx
        .live
        .disks_protected_elsewhere
        .get(&disk_id.to_ascii_lowercase())
    {
        v.block(format!(
            "disk is already protected ({}) by Backup vault {}, which this file does not manage: a disk can be protected by one Backup vault only",
            other.state,
            other.vault.name()
        ));
    }
    let same_disk = ctx.live_by_disk.get(&disk_id.to_ascii_lowercase());
    for r in same_disk.into_iter().flatten() {
        // A soft-deleted instance no longer holds its disk: Azure protects it in another
        // vault meanwhile (recording: azure-cli-extensions dataprotection
        // test_dataprotection_backup_instance_softdelete.yaml #12–#26).
        let a = instance::Attrs(&r.attrs);
        if r.arm_id == want.arm_id || a.item_state() == ItemState::SoftDeleted {
            continue;
        }
        let there = vault_of(&r.arm_id);
        let state = a.state().unwrap_or_default();
        v.block(if there == vault {
            format!("the vault already holds another backup instance of this disk ({})", r.arm_id.name())
        } else {
            format!("disk is still protected ({state}) by Backup vault {}: a disk can be protected by one Backup vault only — delete its backup instance there first (on_remove: delete_data with --allow-data-loss, in an apply of its own)", there.name())
        });
    }
}

fn instance_rules(
    want: &Resource,
    have: Option<(&Resource, Changed)>,
    ctx: &DiskContext,
    v: &mut Verdict,
) {
    let wants = instance::Attrs(&want.attrs);
    let disk_id = wants.disk_id().unwrap_or_default();
    let vault = vault_of(&want.arm_id);
    let policy = wants.policy().unwrap_or_default();
    let file_policy = ctx.policy_file_name(&vault, policy);
    match have {
        None => {
            let Some(disk) = ctx.disk(disk_id) else {
                v.block(format!("disk {disk_id} not found"));
                return;
            };
            let loc = ctx
                .scopes
                .get(&vault)
                .map(|s| s.location.as_str())
                .or_else(|| ctx.vault_attr(&vault, "location").and_then(Value::as_str));
            if let Some(loc) = loc.filter(|l| !disk.location.eq_ignore_ascii_case(l)) {
                v.block(format!(
                    "disk is in {}, Backup vault {} is in {loc}: a Backup vault protects disks of its own region only",
                    disk.location,
                    vault.name()
                ));
            }
            v2_or_ultra(disk, &vault, policy, file_policy, ctx, v);
            other_holders(want, disk_id, ctx, v);
        }
        Some((have, changed)) => {
            match ItemState::of(&have.attrs) {
                ItemState::Stopped => v.reasons.push(
                    "resumes protection of a stopped instance (its snapshots were retained)".into(),
                ),
                ItemState::Suspended => v.reasons.push("resumes backups of a suspended instance".into()),
                ItemState::SoftDeleted => v.block(format!(
                    "the disk's backup instance is soft-deleted: undelete it in Azure (Backup vault {}, deleted backup instances) first, then plan again",
                    vault.name()
                )),
                _ => {}
            }
            if ItemState::of(&have.attrs).retained() {
                // Azure refuses to resume one whose disk another instance protects
                // (UserErrorDppDatasourceAlreadyHasBackupInstance, same recording #29).
                other_holders(want, disk_id, ctx, v);
            }
            if let Some(c) = changed("snapshot_resource_group_id") {
                let old = c
                    .before
                    .as_ref()
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                v.block(format!(
                    "Azure cannot change the snapshot resource group of a protected disk: keep snapshot_resource_group: {} — or, to move it, remove the disk from the file with on_remove: delete_data (apply with --allow-data-loss, which deletes its snapshots), then add it back",
                    ArmId::new(old).name()
                ));
            }
            if let Some(c) = changed("user_identity_id") {
                v.reasons.push(match &c.after {
                    Some(Value::String(id)) => format!(
                        "backs up with the user-assigned identity {} from now on (the roles it needs are granted to it)",
                        ArmId::new(id.as_str()).name()
                    ),
                    _ => "backs up with the vault's system-assigned identity again".into(),
                });
            }
            if let Some(c) = changed("policy") {
                let old = c
                    .before
                    .as_ref()
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let old_file = ctx.policy_file_name(&vault, old);
                v.reasons.push(if old_file.eq_ignore_ascii_case(file_policy) {
                    format!("moves to the new version of policy {file_policy}; existing snapshots keep their retention")
                } else {
                    format!("moves from policy {old_file} to policy {file_policy}; existing snapshots keep their retention")
                });
                if let Some(disk) = ctx.disk(disk_id) {
                    v2_or_ultra(disk, &vault, policy, file_policy, ctx, v);
                }
            }
        }
    }
    if let Some(rs) = ctx.wanted_by_disk.get(&disk_id.to_ascii_lowercase()) {
        if rs.len() > 1 && rs[0].arm_id != want.arm_id {
            v.block(format!(
                "disk is also selected for Backup vault {}: a disk can be protected by one Backup vault only",
                vault_of(&rs[0].arm_id).name()
            ));
        }
    }
}

/// Premium SSD v2 and Ultra disks take a snapshot every 12h or 1d only.
fn v2_or_ultra(
    disk: &ManagedDisk,
    vault: &ArmId,
    policy: &str,
    file_policy: &str,
    ctx: &DiskContext,
    v: &mut Verdict,
) {
    let every = ctx.policy_every(vault, policy);
    if disk.is_v2_or_ultra() && every.is_some_and(|e| !matches!(e, "12h" | "1d")) {
        v.block(format!(
            "disk is {} (Premium SSD v2 / Ultra): Azure backs it up every 12h or 1d only, policy {file_policy} takes a snapshot every {}",
            disk.sku,
            every.unwrap_or_default()
        ));
    }
}

/// A live Disk Backup resource the file no longer wants. Fills `c` (a delete) and returns
/// `None` when nothing is to be done: Backup vaults are never removed implicitly; a policy
/// that an instance which stays still uses is kept (Azure refuses to delete it); role
/// assignments go only when the vault grants permissions and no instance that stays needs
/// them.
pub fn removal(have: &Resource, ctx: &DiskContext, mut c: Change) -> Option<Change> {
    match have.address.kind {
        ResourceKind::DiskBackup => {
            let (scope, effect) = ctx.removal_effect(have)?;
            c.data = Some(effect);
            c.reasons.push(match effect {
                DataEffect::Deleted => "not in the file any more; on_remove: delete_data — the backup instance and its snapshots are deleted".into(),
                _ => "not in the file any more; on_remove: retain_data — protection stops, the existing snapshots are kept".to_string(),
            });
            if effect == DataEffect::Deleted && ctx.soft_deletes(&scope.arm_id) {
                c.reasons.push("the vault's soft delete keeps the deleted instance recoverable for its retention days".into());
            }
        }
        ResourceKind::DiskPolicy => {
            let vault = have.arm_id.parent(1);
            let scope = ctx.scopes.get(&vault)?;
            let name = have.arm_id.name();
            let users: Vec<&Resource> =
                ctx.instances_in(&vault).filter(|r| uses(r, name)).collect();
            if users.iter().any(|r| {
                ctx.wanted
                    .get(&r.arm_id)
                    .map_or(ctx.holds_policy(r), |w| uses(w, name))
            }) {
                return None;
            }
            let moving = users.iter().any(|r| ctx.wanted.contains_key(&r.arm_id));
            let file = policy::file_name(name, &have.attrs);
            let superseded = scope
                .policies
                .iter()
                .any(|(k, arm)| k.eq_ignore_ascii_case(file) && !arm.eq_ignore_ascii_case(name));
            let then = if moving {
                "; deleted after its instances move"
            } else if !users.is_empty() {
                "; deleted after its instances are deleted"
            } else {
                ""
            };
            c.reasons.push(if superseded {
                format!("superseded by the new version of policy {file}{then}")
            } else {
                format!("not declared in its vault any more{then}")
            });
        }
        ResourceKind::RoleAssignment => {
            let scope = ctx.scopes.values().find(|s| s.owns_role_assignment(have))?;
            let had = role::Attrs(&have.attrs);
            // A user-assigned identity's roles are not the vault's to remove: other vaults (and
            // whatever else uses the identity) may rely on them.
            if had.user_identity_id().is_some() {
                return None;
            }
            // What of an instance the role is granted on.
            let granted_on: fn(instance::Attrs) -> Option<&str> = match had.role() {
                Some("disk_backup_reader") => |i| i.disk_id(),
                Some("disk_snapshot_contributor") => |i| i.snapshot_resource_group_id(),
                _ => return None,
            };
            if !scope.grant_permissions {
                return None;
            }
            let target = had.scope().unwrap_or_default();
            let needed = ctx.instances_in(&scope.arm_id).any(|r| {
                ctx.needs_roles(r)
                    && granted_on(instance::Attrs(&r.attrs))
                        .is_some_and(|s| s.eq_ignore_ascii_case(target))
            });
            if needed {
                return None;
            }
            c.reasons.push(format!(
                "the identity of Backup vault {} no longer needs this role here: no disk it protects uses it",
                scope.name
            ));
        }
        _ => return None,
    }
    Some(c)
}

/// The Disk Backup instance changes of a plan by vault: what [`delete_waits_for`] looks in,
/// built once per plan.
pub fn instance_changes_by_vault(changes: &[Change]) -> BTreeMap<ArmId, Vec<&Change>> {
    let mut out: BTreeMap<ArmId, Vec<&Change>> = BTreeMap::new();
    for c in changes
        .iter()
        .filter(|c| c.address.kind == ResourceKind::DiskBackup)
    {
        out.entry(vault_of(&c.arm_id.clone())).or_default().push(c);
    }
    out
}

/// Extra apply order for Disk Backup deletes that the live `depends_on` edges may not carry:
/// a policy's delete waits for the changes of the instances that used it; a role assignment's
/// delete waits for the deletes of the instances it served (deleting snapshots needs it).
pub fn delete_waits_for(
    c: &Change,
    instances: &BTreeMap<ArmId, Vec<&Change>>,
) -> Vec<crate::model::Address> {
    let Some(before) = &c.before else {
        return vec![];
    };
    let id = c.arm_id.clone();
    let vault = match c.address.kind {
        ResourceKind::DiskPolicy => id.parent(1),
        ResourceKind::RoleAssignment => match role::Attrs(before).vault_id() {
            Some(v) => ArmId::new(v),
            None => return vec![],
        },
        _ => return vec![],
    };
    let target = role::Attrs(before).scope().unwrap_or_default();
    let mut out = BTreeSet::new();
    for other in instances.get(&vault).into_iter().flatten() {
        let Some(ob) = &other.before else { continue };
        let ob = instance::Attrs(ob);
        let hit = match c.address.kind {
            ResourceKind::DiskPolicy => ob
                .policy()
                .is_some_and(|p| p.eq_ignore_ascii_case(id.name())),
            _ => {
                other.action == super::Action::Delete
                    && [ob.disk_id(), ob.snapshot_resource_group_id()]
                        .into_iter()
                        .flatten()
                        .any(|s| s.eq_ignore_ascii_case(target))
            }
        };
        if hit {
            out.insert(other.address.clone());
        }
    }
    out.into_iter().collect()
}
