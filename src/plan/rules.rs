//! Azure's rules that need live state: a change Azure would refuse is planned as blocked, with
//! the reason, instead of failing at apply.

use super::AttrChange;
use crate::model::fast::{FastMap, FastSet};
use crate::model::site_recovery::{replication, setup};
use crate::model::ItemState;
use crate::model::LiveState;
use crate::model::{
    backup_policy, protected_vm, vault, ArmId, Desired, OnRemove, Resource, ResourceKind,
};
use serde_json::Value;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

/// What the rules say about one change.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Verdict {
    pub blocked: Option<String>,
    pub reasons: Vec<String>,
    /// The change must be a delete + create instead of an in-place update.
    pub replace: bool,
}

impl Verdict {
    pub fn block(&mut self, why: impl Into<String>) {
        if self.blocked.is_none() {
            self.blocked = Some(why.into());
        }
    }
}

/// Lookups the rules need, built once per plan (those keyed per VM or item are hashed: a
/// tenant has 100,000 of them).
pub struct Context<'a> {
    live: &'a LiveState,
    desired: &'a Desired,
    /// Vault id → desired attributes, else live attributes.
    vaults: BTreeMap<ArmId, &'a Value>,
    /// Live vault id → live attributes.
    live_vaults: BTreeMap<ArmId, &'a Value>,
    /// VM id (lower case) → the live VM: rules look VMs up once per protected VM.
    vms: FastMap<String, &'a crate::model::VirtualMachine>,
    /// Policy id → desired attributes, else live attributes.
    policies: BTreeMap<ArmId, &'a Value>,
    /// Live policy id → live attributes.
    live_policies: BTreeMap<ArmId, &'a Value>,
    /// VM id (lower case) → live protected items of declared vaults (item id, state).
    live_items_by_vm: FastMap<String, Vec<(&'a ArmId, &'a str)>>,
    /// VM id (lower case) → wanted protected items (in address order where it has several).
    wanted_items_by_vm: FastMap<String, Vec<&'a Resource>>,
    /// Every wanted protected item id.
    wanted_items: FastSet<&'a ArmId>,
    /// Azure Backup's per-vault and per-policy limits.
    limits: super::limits::Limits<'a>,
    /// Vaults whose update is blocked: they keep their live settings, so rules that depend on
    /// them read the live ones (vaults are diffed before their policies and items).
    held_vaults: RefCell<BTreeSet<ArmId>>,
    /// Lookups of the Disk Backup rules.
    pub(super) disk: super::disk_backup::DiskContext<'a>,
}

fn vm_key(attrs: &Value) -> String {
    protected_vm::Attrs(attrs)
        .vm_id()
        .unwrap_or_default()
        .to_ascii_lowercase()
}

impl<'a> Context<'a> {
    pub fn new(desired: &'a Desired, wanted: &'a [Resource], live: &'a LiveState) -> Self {
        let mut ctx = Context {
            live,
            desired,
            vaults: BTreeMap::new(),
            live_vaults: BTreeMap::new(),
            vms: live
                .vms
                .iter()
                .map(|vm| (vm.id.as_str().to_ascii_lowercase(), vm))
                .collect(),
            policies: BTreeMap::new(),
            live_policies: BTreeMap::new(),
            // Sized at once (a tenant's 100,000 items rehashed them all many times).
            live_items_by_vm: FastMap::with_capacity_and_hasher(
                live.resources.len(),
                <_>::default(),
            ),
            wanted_items_by_vm: FastMap::with_capacity_and_hasher(wanted.len(), <_>::default()),
            wanted_items: FastSet::with_capacity_and_hasher(wanted.len(), <_>::default()),
            limits: super::limits::Limits::new(wanted, live),
            held_vaults: RefCell::new(BTreeSet::new()),
            disk: super::disk_backup::DiskContext::new(desired, wanted, live),
        };
        for r in &live.resources {
            match r.address.kind {
                ResourceKind::RecoveryVault => {
                    ctx.vaults.insert(r.arm_id.clone(), &r.attrs);
                    ctx.live_vaults.insert(r.arm_id.clone(), &r.attrs);
                }
                ResourceKind::BackupPolicy => {
                    ctx.policies.insert(r.arm_id.clone(), &r.attrs);
                    ctx.live_policies.insert(r.arm_id.clone(), &r.attrs);
                }
                ResourceKind::ProtectedVm => {
                    let state = protected_vm::Attrs(&r.attrs).state().unwrap_or_default();
                    ctx.live_items_by_vm
                        .entry(vm_key(&r.attrs))
                        .or_default()
                        .push((&r.arm_id, state));
                }
                _ => {}
            }
        }
        // Vaults and policies in address order (a later one of the same id wins); a VM's items
        // too, where it has several (the first keeps it), without sorting 100,000 items.
        let is_item = |r: &&Resource| r.address.kind == ResourceKind::ProtectedVm;
        let mut wanted_sorted: Vec<&Resource> = wanted.iter().filter(|r| !is_item(r)).collect();
        wanted_sorted.sort_by(|a, b| a.address.cmp(&b.address));
        for r in wanted_sorted {
            match r.address.kind {
                ResourceKind::RecoveryVault => {
                    ctx.vaults.insert(r.arm_id.clone(), &r.attrs);
                }
                ResourceKind::BackupPolicy => {
                    ctx.policies.insert(r.arm_id.clone(), &r.attrs);
                }
                _ => {}
            }
        }
        for r in wanted.iter().filter(is_item) {
            let items = ctx.wanted_items_by_vm.entry(vm_key(&r.attrs)).or_default();
            items.push(r);
            ctx.wanted_items.insert(&r.arm_id);
        }
        for items in ctx.wanted_items_by_vm.values_mut().filter(|v| v.len() > 1) {
            items.sort_by(|a, b| a.address.cmp(&b.address));
        }
        ctx
    }

    /// Record that the vault's update is blocked (it will not be applied).
    pub fn hold_vault(&self, vault: &ArmId) {
        self.held_vaults.borrow_mut().insert(vault.clone());
    }

    /// A vault attribute as it will be when the vault's own change (ordered first) is applied:
    /// the desired value when the file sets it, else the live one — the live one when the
    /// vault's update is blocked.
    fn vault_attr(&self, vault: &ArmId, key: &str) -> Option<&'a Value> {
        let desired = self.vaults.get(vault).and_then(|a| a.get(key));
        let live = self.live_vaults.get(vault).and_then(|a| a.get(key));
        if self.held_vaults.borrow().contains(vault) {
            live.or(desired)
        } else {
            desired.or(live)
        }
    }

    /// The live VM with this id (case-insensitive).
    pub fn vm(&self, id: &str) -> Option<&'a crate::model::VirtualMachine> {
        self.vms.get(&id.to_ascii_lowercase()).copied()
    }

    /// The vault's soft delete state (`On`, `Off`, `AlwaysOn`), the file's when it sets one.
    pub fn soft_delete_state(&self, vault: &ArmId) -> Option<&'a str> {
        self.vault_attr(vault, "soft_delete")
            .and_then(|s| s["state"].as_str())
            .or_else(|| {
                self.live_vaults
                    .get(vault)
                    .and_then(|a| a["soft_delete"]["state"].as_str())
            })
    }

    /// The vault's immutability once the vault's own change (ordered first) is applied.
    fn immutable(&self, vault: &ArmId) -> Option<&'a str> {
        self.vault_attr(vault, "immutability")
            .and_then(Value::as_str)
            .filter(|s| matches!(*s, "Unlocked" | "Locked"))
    }

    /// A Site Recovery dependency as read (`Some(None)`: read and absent; `None`: not read).
    fn dependency(&self, id: &str) -> Option<Option<&'a Value>> {
        self.live
            .dependencies
            .get(&id.to_ascii_lowercase())
            .map(Option::as_ref)
    }

    /// Whether the file declares the resource `id` (a resource group it creates).
    fn declares(&self, id: &str) -> bool {
        let id = ArmId::new(id);
        self.desired.resources.iter().any(|r| r.arm_id == id)
    }

    fn policy_tier(&self, policy: &ArmId) -> Option<&'a str> {
        self.policies
            .get(policy)
            .and_then(|p| backup_policy::Attrs(p).tier())
    }

    fn live_policy_tier(&self, policy: &ArmId) -> Option<&'a str> {
        self.live_policies
            .get(policy)
            .and_then(|p| backup_policy::Attrs(p).tier())
    }
}

/// Rules for a resource that does not exist yet.
pub fn on_create<'a>(want: &'a Resource, ctx: &Context) -> Verdict {
    let mut v = Verdict::default();
    tag_count(want, None, &mut v);
    match want.address.kind {
        ResourceKind::RecoveryVault
            if vault::Attrs(&want.attrs).immutability() == Some("Locked") =>
        {
            v.block("a vault cannot be created with immutability Locked: create it Unlocked, then lock it in a later apply (locking is irreversible)");
        }
        ResourceKind::ProtectedVm => protected_vm_rules(want, None, ctx, &mut v),
        ResourceKind::BackupPolicy => {
            if let Some(why) = ctx.limits.policy_change(&want.arm_id, true) {
                v.block(why);
            }
        }
        ResourceKind::Replication => {
            let a = replication::Attrs(&want.attrs);
            let vm = ctx.vm(a.vm_id().unwrap_or_default());
            let account = ctx.dependency(a.cache_storage_account_id().unwrap_or_default());
            super::site_recovery::on_create(want, vm, account, &mut v);
            let rg = a.target_resource_group_id().unwrap_or_default();
            if ctx.dependency(rg) == Some(None) && !ctx.declares(rg) {
                v.block(format!("the target resource group {rg} does not exist (declare it in resource_groups, or create it)"));
            }
        }
        ResourceKind::NetworkMapping => {
            let a = setup::NetworkMappingAttrs(&want.attrs);
            let network = |id: Option<&'a str>| {
                let id = id.unwrap_or_default();
                (id, ctx.dependency(id))
            };
            let source = want
                .arm_id
                .value_of("replicationFabrics")
                .and_then(|f| f.strip_prefix("asr-a2a-default-"));
            let target = a
                .target_fabric()
                .and_then(|f| f.strip_prefix("asr-a2a-default-"));
            for ((id, net), region, side) in [
                (network(a.source_network_id()), source, "source"),
                (network(a.target_network_id()), target, "target"),
            ] {
                if let (Some(net), Some(region)) = (net, region) {
                    if let Some(why) = setup::network_problem(net, id, region, side) {
                        v.block(why);
                    }
                }
            }
        }
        ResourceKind::BackupVault
        | ResourceKind::DiskPolicy
        | ResourceKind::RoleAssignment
        | ResourceKind::DiskBackup => super::disk_backup::on_create(want, &ctx.disk, &mut v),
        _ => {}
    }
    v
}

/// Rules for an in-place update of `have` to `want`.
pub fn on_update(want: &Resource, have: &Resource, diff: &[AttrChange], ctx: &Context) -> Verdict {
    let mut v = Verdict::default();
    tag_count(want, Some(have), &mut v);
    let changed = |p: &str| {
        diff.iter()
            .find(|d| d.path == p || d.path.starts_with(&format!("{p}.")))
    };
    match want.address.kind {
        ResourceKind::ResourceGroup if changed("location").is_some() => {
            v.block("a resource group cannot move to another region");
        }
        ResourceKind::RecoveryVault => vault_rules(want, have, &changed, ctx, &mut v),
        ResourceKind::BackupPolicy => {
            let (from, to) = (
                backup_policy::Attrs(&have.attrs).tier(),
                backup_policy::Attrs(&want.attrs).tier(),
            );
            // Items (any state) whose live policy is this one.
            let registered = ctx
                .live
                .resources
                .iter()
                .filter(|r| r.address.kind == ResourceKind::ProtectedVm)
                .filter(|r| protected_vm::vault_of(&r.arm_id) == have.arm_id.parent(1))
                .filter(|r| uses_policy(r, have.arm_id.name()))
                .count();
            if from.is_some() && to.is_some() && from != to {
                if registered == 0 {
                    // Azure cannot change a policy's tier in place; a policy holds no backup
                    // data, so one that no item uses is deleted and created again.
                    v.replace = true;
                    v.reasons.push(format!(
                        "Azure cannot change a policy's tier in place: no VM uses this policy, so it is deleted and created again as {}",
                        to.unwrap_or_default()
                    ));
                } else if from == Some("enhanced") {
                    v.block(format!("an enhanced policy cannot be downgraded to standard while {registered} VM(s) use it (Azure cannot move a VM from enhanced to standard)"));
                } else {
                    v.block(format!("Azure cannot change a policy's tier in place, and {registered} VM(s) use this policy: declare a new enhanced policy and move the VMs to it"));
                }
            }
            let vault = have.arm_id.parent(1);
            if let (false, Some(_)) = (v.replace, ctx.immutable(&vault)) {
                let cuts = super::retention::reductions(&have.attrs, &want.attrs);
                if !cuts.is_empty() {
                    v.block(format!(
                        "vault {} is immutable, and Azure refuses to shorten retention there (UserErrorRetentionReductionNotAllowed): {}",
                        vault.name(),
                        cuts.join(", ")
                    ));
                }
            }
            if registered > 0 {
                v.reasons.push(format!(
                    "applies to the {registered} protected VM(s) that use this policy"
                ));
            }
            if v.blocked.is_none() {
                if let Some(why) = ctx.limits.policy_change(&want.arm_id, false) {
                    v.block(why);
                }
            }
        }
        ResourceKind::ProtectedVm => protected_vm_rules(want, Some(have), ctx, &mut v),
        ResourceKind::Replication => super::site_recovery::on_update(want, have, diff, &mut v),
        ResourceKind::BackupVault
        | ResourceKind::DiskPolicy
        | ResourceKind::RoleAssignment
        | ResourceKind::DiskBackup => {
            super::disk_backup::on_update(want, have, diff, &ctx.disk, &mut v)
        }
        _ => {}
    }
    v
}

fn vault_rules<'d>(
    want: &Resource,
    have: &Resource,
    changed: &dyn Fn(&str) -> Option<&'d AttrChange>,
    ctx: &Context,
    v: &mut Verdict,
) {
    if changed("location").is_some() {
        v.block(
            "a vault cannot move to another region, and replacing it would delete its backup data",
        );
    }
    if changed("storage_redundancy").is_some() {
        let items = ctx.live.items_in_vault(&have.arm_id);
        if items > 0 {
            v.block(format!("storage redundancy is locked once items are protected ({items} item(s) in this vault; Azure: StorageModelModifyError)"));
        }
    }
    let (had, wants) = (vault::Attrs(&have.attrs), vault::Attrs(&want.attrs));
    if changed("cross_region_restore").is_some()
        && had.cross_region_restore() == Some(true)
        && wants.cross_region_restore() == Some(false)
    {
        v.block("cross-region restore cannot be turned off once enabled");
    }
    let leaves_geo = changed("storage_redundancy").is_some()
        && wants
            .storage_redundancy()
            .is_some_and(|s| s != "GeoRedundant");
    if leaves_geo && wants.cross_region_restore().or(had.cross_region_restore()) == Some(true) {
        // Cross-region restore stays on (it cannot be turned off), and it needs GeoRedundant.
        v.block("storage must stay GeoRedundant: cross-region restore is enabled on this vault and cannot be turned off");
    }
    if changed("cross_region_restore").is_some() && wants.cross_region_restore() == Some(true) {
        let storage = ctx
            .vault_attr(&have.arm_id, "storage_redundancy")
            .and_then(Value::as_str);
        if storage.is_some_and(|s| s != "GeoRedundant") {
            v.block(format!(
                "cross-region restore needs GeoRedundant storage; this vault is {}",
                storage.unwrap_or_default()
            ));
        }
    }
    irreversible_settings(
        Irreversible {
            had_immutability: had.immutability(),
            had_soft_delete: had.soft_delete_state(),
            wants_soft_delete: wants.soft_delete_state(),
        },
        changed,
        v,
    );
}

/// The settings of a vault (Recovery Services or Backup) Azure makes final: Locked
/// immutability and AlwaysOn soft delete.
pub struct Irreversible<'a> {
    pub had_immutability: Option<&'a str>,
    pub had_soft_delete: Option<&'a str>,
    pub wants_soft_delete: Option<&'a str>,
}

pub fn irreversible_settings<'d>(
    s: Irreversible<'_>,
    changed: &dyn Fn(&str) -> Option<&'d AttrChange>,
    v: &mut Verdict,
) {
    if let Some(c) = changed("immutability") {
        let locks = c.after.as_ref().and_then(Value::as_str) == Some("Locked");
        if s.had_immutability == Some("Locked") {
            v.block("immutability is Locked, which is final");
        } else if locks && s.had_immutability != Some("Unlocked") {
            // Azure only locks an Unlocked vault (Disabled → Unlocked → Locked). Two PATCHes in
            // one apply would work, but locking is irreversible: the vault spends one apply
            // Unlocked (immutable, still reversible) first, as a new vault must.
            v.block("immutability can only be Locked from Unlocked: set immutability: Unlocked, apply, then set Locked in a later apply (locking is irreversible)");
        } else if locks {
            v.reasons
                .push("locks immutability: this cannot be undone".into());
        }
    }
    if changed("soft_delete").is_some() {
        if s.had_soft_delete == Some("AlwaysOn") && changed("soft_delete.state").is_some() {
            v.block("soft delete is AlwaysOn, which Azure makes irreversible: it can be neither turned off nor changed");
        } else if s.wants_soft_delete == Some("AlwaysOn") {
            v.reasons
                .push("makes soft delete AlwaysOn: this cannot be undone".into());
        }
    }
}

/// A resource group's or vault's tags are merged with the tags it already carries (azprotect
/// manages only its own): Azure refuses the result beyond 50.
fn tag_count(want: &Resource, have: Option<&Resource>, v: &mut Verdict) {
    if !matches!(
        want.address.kind,
        ResourceKind::ResourceGroup | ResourceKind::RecoveryVault | ResourceKind::BackupVault
    ) {
        return;
    }
    let sets = [Some(&want.attrs), have.map(|h| &h.attrs)];
    let n = crate::model::tags::merged_count(sets.into_iter().flatten().map(|a| &a["tags"]));
    if let Some(why) = crate::model::tags::count_problem(n) {
        v.block(format!(
            "{why} (its own tags and the file's): Azure refuses more than 50 tags on a resource"
        ));
    }
}

/// Does this protected item's live policy have this (ARM) name?
fn uses_policy(item: &Resource, policy: &str) -> bool {
    protected_vm::Attrs(&item.attrs)
        .policy()
        .is_some_and(|p| p.eq_ignore_ascii_case(policy))
}

fn protected_vm_rules(want: &Resource, have: Option<&Resource>, ctx: &Context, v: &mut Verdict) {
    let vm_id = protected_vm::Attrs(&want.attrs).vm_id().unwrap_or_default();
    let vault = protected_vm::vault_of(&want.arm_id);
    let vault_name = vault.name().to_string();
    match have {
        None => {
            let Some(vm) = ctx.vm(vm_id) else {
                v.block(format!("VM {vm_id} does not exist"));
                return;
            };
            if let Some(loc) = ctx.vault_attr(&vault, "location").and_then(Value::as_str) {
                if !vm.location.eq_ignore_ascii_case(loc) {
                    v.block(format!("VM is in {}, vault {vault_name} is in {loc}: a vault protects VMs of its own region only", vm.location));
                }
            }
            if let Some(other) = ctx
                .live
                .protected_elsewhere
                .get(&vm_id.to_ascii_lowercase())
            {
                v.block(format!(
                    "VM is already registered ({}) in vault {}, which this file does not manage: a VM can be protected by one vault only",
                    other.state, other.vault
                ));
            }
            for (item, state) in ctx
                .live_items_by_vm
                .get(&vm_id.to_ascii_lowercase())
                .into_iter()
                .flatten()
            {
                if **item != want.arm_id {
                    let there = protected_vm::vault_of(item);
                    v.block(if ItemState::from_name(state) == ItemState::SoftDeleted {
                        format!(
                            "VM's backup data in vault {} is soft-deleted, which still registers it there: a VM can be protected by one vault only — protect it in {} again (it is undeleted), or wait until the soft-deleted data is purged",
                            there.name(), there.name()
                        )
                    } else {
                        format!(
                            "VM is still registered ({state}) in vault {}: a VM can be protected by one vault only — delete its backup data there first (on_remove: delete_data with --allow-data-loss, in an apply of its own)",
                            there.name()
                        )
                    });
                }
            }
        }
        Some(have) => {
            match ItemState::of(&have.attrs) {
                ItemState::Stopped => v.reasons.push(
                    "resumes protection of a stopped item (its recovery points were retained)"
                        .into(),
                ),
                ItemState::Suspended => {
                    v.reasons.push("resumes backups of a suspended item".into())
                }
                ItemState::SoftDeleted => v
                    .reasons
                    .push("undeletes the soft-deleted item, then resumes protection".into()),
                _ => {}
            }
            let old = protected_vm::Attrs(&have.attrs)
                .policy()
                .unwrap_or_default();
            let new = protected_vm::Attrs(&want.attrs)
                .policy()
                .unwrap_or_default();
            if !old.is_empty() && !old.eq_ignore_ascii_case(new) {
                let old_tier =
                    ctx.live_policy_tier(&crate::model::backup_policy::arm_id(&vault, old));
                let new_tier = ctx.policy_tier(&crate::model::backup_policy::arm_id(&vault, new));
                if old_tier == Some("enhanced") && new_tier == Some("standard") {
                    v.block(format!("a VM protected by an enhanced policy ({old}) cannot move to a standard policy ({new})"));
                }
                let old_id = crate::model::backup_policy::arm_id(&vault, old);
                let new_id = crate::model::backup_policy::arm_id(&vault, new);
                if let (Some(state), Some(new_attrs)) =
                    (ctx.immutable(&vault), ctx.policies.get(&new_id))
                {
                    // Against the old policy as it is and as the file makes it (either may
                    // apply first).
                    let reduced = [ctx.live_policies.get(&old_id), ctx.policies.get(&old_id)]
                        .into_iter()
                        .flatten()
                        .map(|o| super::retention::reductions(o, new_attrs))
                        .find(|cuts| !cuts.is_empty())
                        .map(|cuts| cuts.join(", "));
                    if let Some(what) = reduced {
                        v.block(format!("the vault's immutability is {state}: Azure refuses to move a VM to a policy with shorter retention ({old} → {new}: {what})"));
                    }
                }
            }
        }
    }
    if let Some(why) = ctx.limits.protected_vm(want) {
        v.block(why);
    }
    if let Some(items) = ctx.wanted_items_by_vm.get(&vm_id.to_ascii_lowercase()) {
        if items.len() > 1 && items[0].arm_id != want.arm_id {
            v.block(format!(
                "VM is also selected for vault {}: a VM can be protected by one vault only",
                protected_vm::vault_of(&items[0].arm_id).name()
            ));
        }
    }
}

/// A policy can only be deleted when no item that stays in the vault uses it.
pub fn policy_delete_blocked(policy: &Resource, ctx: &Context) -> Option<String> {
    let vault = policy.arm_id.parent(1);
    let on_remove = ctx
        .desired
        .vaults
        .iter()
        .find(|v| v.arm_id == vault)
        .map(|v| v.on_remove)
        .unwrap_or_default();
    let users = ctx
        .live
        .resources
        .iter()
        .filter(|r| r.address.kind == ResourceKind::ProtectedVm)
        .filter(|r| protected_vm::vault_of(&r.arm_id) == vault)
        .filter(|r| uses_policy(r, policy.arm_id.name()))
        // An item the file still wants uses a declared policy, so it moves off this one first.
        .filter(|r| !ctx.wanted_items.contains(&r.arm_id))
        .filter(|r| {
            let state = ItemState::of(&r.attrs);
            state == ItemState::Suspended
                || (state == ItemState::Protected && on_remove == OnRemove::Suspend)
        })
        .count();
    (users > 0).then(|| format!("{users} item(s) with suspended backups still use this policy; Azure refuses to delete a policy in use"))
}

/// `on_remove: delete_data` is refused by an immutable vault (Unlocked or Locked): recovery
/// points cannot be deleted before they expire (Azure: `UserErrorOperationDeniedOnImmutableItem`,
/// also reported as `UserErrorDeleteBackupItemOnImmutableItem`).
/// The vault's immutability is the file's when it sets one (the vault update is ordered first).
pub fn delete_data_blocked(vault: &ArmId, ctx: &Context) -> Option<String> {
    match ctx.vault_attr(vault, "immutability").and_then(Value::as_str) {
        Some(state @ ("Unlocked" | "Locked")) => Some(format!(
            "the vault's immutability is {state}: Azure refuses to delete backup data before it expires (UserErrorOperationDeniedOnImmutableItem / UserErrorDeleteBackupItemOnImmutableItem) — use on_remove: retain_data{}",
            if state == "Unlocked" { ", or set immutability: Disabled first" } else { "" }
        )),
        _ => None,
    }
}

/// `on_remove: suspend` needs an immutable vault.
pub fn suspend_blocked(vault: &ArmId, ctx: &Context) -> Option<String> {
    match ctx.vault_attr(vault, "immutability").and_then(Value::as_str) {
        Some("Unlocked" | "Locked") => None,
        _ => Some("suspending backups (on_remove: suspend) needs an immutable vault (immutability Unlocked or Locked)".into()),
    }
}
