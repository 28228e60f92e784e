//! Desired vs live → changes. Family rules that need live state live in `rules.rs`.

use super::attrs;
use super::rules::{self, Context, Verdict};
use super::{Action, Change, DataEffect, Plan};
use crate::graph::Graph;
use crate::model::disk_backup::role;
use crate::model::fast::{FastMap, FastSet};
use crate::model::site_recovery::replication;
use crate::model::ItemState;
use crate::model::LiveState;
use crate::model::{
    protected_vm, Address, ArmId, Desired, OnRemove, Resource, ResourceKind, VaultScope,
};
use std::collections::{BTreeMap, BTreeSet};

/// What the user asked the plan to cover.
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    /// `--target`: only these addresses (and their children), plus what they depend on.
    pub targets: Vec<Address>,
}

/// Resolve selectors against live VMs of the vault's region (a vault protects only VMs of its
/// own region, as Azure Policy's built-in tag-based backup assignment does): explicit entries win
/// over selectors, in any vault (a VM the file lists for one vault is not also picked by another
/// vault's selector, which could only be blocked); a VM two selectors of the same vault pick is
/// protected once (by the first).
pub fn resolve(desired: &Desired, live: &LiveState) -> Vec<Resource> {
    let adopted = super::disk_backup::adopt_policies(desired, live);
    let desired = adopted.as_ref().unwrap_or(desired);
    let mut resources = desired.resources.clone();
    super::disk_backup::attached_identities(&mut resources, live);
    // Site Recovery groups expand into their setup, replications and plans; groups sharing a
    // vault share its fabrics, containers and network mappings (the first declaration wins).
    let mut seen: BTreeSet<Address> = resources.iter().map(|r| r.address.clone()).collect();
    for group in &desired.replication_groups {
        for r in group.resources(&live.vms) {
            if seen.insert(r.address.clone()) {
                resources.push(r);
            }
        }
    }
    // Mappings and policies made in the portal are adopted by what they connect.
    super::site_recovery::adopt_setup(&mut resources, live);
    // Disk Backup vaults expand into their instances and role assignments; a disk the file
    // lists for one vault is not also picked by another vault's selector.
    // (A vault's own listed disks are skipped by its selectors anyway, so one set serves all.)
    let listed: BTreeSet<String> = desired
        .disk_vaults
        .iter()
        .flat_map(|v| v.listed_disks())
        .collect();
    let declared_rgs: BTreeMap<&ArmId, &Address> = desired
        .resources
        .iter()
        .filter(|g| g.address.kind == ResourceKind::ResourceGroup)
        .map(|g| (&g.arm_id, &g.address))
        .collect();
    for scope in &desired.disk_vaults {
        for mut r in scope.resources_except(&live.disks, &live.resources, &listed) {
            if r.address.kind == ResourceKind::RoleAssignment {
                // A snapshot resource group the file declares is created first.
                let target = ArmId::new(role::Attrs(&r.attrs).scope().unwrap_or_default());
                if let Some(rg) = declared_rgs.get(&target) {
                    r.depends_on.push((*rg).clone());
                }
            }
            if seen.insert(r.address.clone()) {
                resources.push(r);
            }
        }
    }
    super::disk_backup::one_per_shared_assignment(&mut resources);
    super::disk_backup::own_identity_where_used(&mut resources, &desired.disk_vaults);
    // Sized for every live VM at once: growing to a tenant's 100,000 rehashed it 17 times.
    let mut taken: FastSet<ArmId> =
        FastSet::with_capacity_and_hasher(resources.len() + live.vms.len(), Default::default());
    taken.extend(
        (resources.iter())
            .filter(|r| r.address.kind == ResourceKind::ProtectedVm)
            .map(|r| r.arm_id.clone()),
    );
    let listed: FastSet<ArmId> = resources
        .iter()
        .filter(|r| r.address.kind == ResourceKind::ProtectedVm)
        .filter_map(|r| protected_vm::Attrs(&r.attrs).vm_id().map(ArmId::new))
        .collect();
    // A selector searches its own subscription's VMs: grouped once, not a scan of the whole
    // tenant's VMs per selector (200 vaults × 100,000 VMs was 20 million matches).
    let vms_of = crate::model::VirtualMachine::by_subscription(&live.vms);
    for sel in &desired.selectors {
        let Some(scope) = desired.vaults.iter().find(|v| v.name == sel.vault) else {
            continue;
        };
        let mut vms: Vec<_> = vms_of
            .get(&sel.subscription.to_ascii_lowercase())
            .into_iter()
            .flatten()
            .copied()
            .filter(|vm| vm.location.eq_ignore_ascii_case(&scope.location) && vm.matches(sel))
            .collect();
        vms.sort_by(|a, b| a.id.cmp(&b.id));
        for vm in vms {
            if listed.contains(&vm.id) {
                continue;
            }
            let id = protected_vm::arm_id(&scope.arm_id, &vm.resource_group, &vm.name);
            if !taken.insert(id.clone()) {
                continue;
            }
            let attrs =
                protected_vm::desired_attrs(vm.id.as_str(), &sel.policy, &sel.exclude_disks);
            resources.push(Resource {
                address: Address::new(
                    ResourceKind::ProtectedVm,
                    format!("{}/{}/{}", sel.vault, vm.resource_group, vm.name),
                ),
                arm_id: id,
                attrs,
                depends_on: vec![Address::new(
                    ResourceKind::BackupPolicy,
                    format!("{}/{}", sel.vault, sel.policy),
                )],
            });
        }
    }
    resources
}

/// Diff the desired state against live state.
pub fn plan(desired: &Desired, live: &LiveState, opts: &PlanOptions) -> Plan {
    // Disk policies made outside azprotect are adopted by name (`disk_backup::adopt_policies`).
    let adopted = super::disk_backup::adopt_policies(desired, live);
    let desired = adopted.as_ref().unwrap_or(desired);
    let wanted = resolve(desired, live);
    let live_by_id = live.by_id();
    // A re-protected replicated item lives under the other region's container (same name,
    // recording A2A #111): it is found by its address, not its declared id.
    let moved: BTreeMap<&Address, &Resource> = live
        .resources
        .iter()
        .filter(|r| r.address.kind == ResourceKind::Replication)
        .map(|r| (&r.address, r))
        .collect();
    // Ids are looked up by hash: a tenant's 100,000 items made ordered lookups a second.
    let mut matched: FastSet<&ArmId> =
        FastSet::with_capacity_and_hasher(live.resources.len(), Default::default());
    let ctx = Context::new(desired, &wanted, live);
    let mut changes = Vec::new();

    // One graph orders the plan and links its changes (graph.rs): the resolved desired state's
    // for creates and updates, the live state's for deletes.
    let graph = Graph::within(&wanted);
    let live_graph = Graph::within(&live.resources);
    let mut wanted_by_addr: FastMap<&Address, Vec<&Resource>> = FastMap::default();
    for r in &wanted {
        wanted_by_addr.entry(&r.address).or_default().push(r);
    }
    let presented = |a: &Address| (a.kind.rank(), a.clone());
    let ordered = graph.order_by(true, presented);
    for want in ordered
        .iter()
        .flat_map(|a| wanted_by_addr.get(a).into_iter().flatten().copied())
    {
        let have = live_by_id.get(&want.arm_id).copied().or_else(|| {
            (want.address.kind == ResourceKind::Replication)
                .then(|| moved.get(&want.address).copied())
                .flatten()
        });
        if let Some(h) = have {
            matched.insert(&h.arm_id);
        }
        match have {
            None => {
                let verdict = rules::on_create(want, &ctx);
                let mut c = change(want, Action::Create, None, vec![], verdict);
                without_own_size(&mut c, want, &ctx);
                changes.push(c);
            }
            Some(have) if reversed_replication(have) => {
                // Failed over and re-protected: the VM runs in the target region and replicates
                // back. That is where `failover`/`reprotect` put it on purpose; `failback`
                // restores the declared direction. Neither re-creating nor editing it is planned.
            }
            Some(have) => {
                let ownership = crate::model::family::of(want.address.kind).ownership;
                let diff = attrs::diff(&want.attrs, &have.attrs, ownership);
                if diff.is_empty() {
                    continue;
                }
                let verdict = rules::on_update(want, have, &diff, &ctx);
                if want.address.kind == ResourceKind::RecoveryVault && verdict.blocked.is_some() {
                    ctx.hold_vault(&want.arm_id);
                }
                let action = if verdict.replace {
                    Action::Replace
                } else {
                    Action::Update
                };
                changes.push(change(want, action, Some(have), diff, verdict));
            }
        }
    }

    let wanted_ids: FastSet<&ArmId> = wanted.iter().map(|r| &r.arm_id).collect();
    let mut live_by_addr: FastMap<&Address, Vec<&Resource>> = FastMap::default();
    for r in &live.resources {
        live_by_addr.entry(&r.address).or_default().push(r);
    }
    let dependents_first = |a: &Address| (std::cmp::Reverse(a.kind.rank()), a.clone());
    for addr in live_graph.order_by(false, dependents_first) {
        for have in live_by_addr.get(&addr).into_iter().flatten() {
            if wanted_ids.contains(&have.arm_id) || matched.contains(&have.arm_id) {
                continue;
            }
            if let Some(c) = removal(have, desired, &ctx) {
                changes.push(c);
            }
        }
    }

    link_dependencies(&mut changes, &graph, &live_graph);
    if !opts.targets.is_empty() {
        changes = targeted(changes, &opts.targets);
    }
    Plan::new(desired.subscriptions(), changes)
}

/// A replica takes the source VM's size: a new replication that asks for that size needs no
/// update after initial replication (apply would wait for one), so the change sends none.
fn without_own_size(c: &mut Change, want: &Resource, ctx: &Context) {
    if want.address.kind != ResourceKind::Replication {
        return;
    }
    // The rules' lookup by VM id, not a scan of every live VM per replication.
    let a = replication::Attrs(&want.attrs);
    let vm = ctx.vm(a.vm_id().unwrap_or_default());
    let size = a.target_vm_size();
    if let (Some(vm), Some(size)) = (vm, size) {
        if super::site_recovery::same_size(vm, size) {
            if let Some(a) = c.after.as_mut().and_then(|a| a.as_object_mut()) {
                a.remove("target_vm_size");
            }
        }
    }
}

/// A replicated item replicating in the reverse direction after failover + re-protect.
fn reversed_replication(have: &Resource) -> bool {
    have.address.kind == ResourceKind::Replication
        && replication::Attrs(&have.attrs).replication_state()
            == replication::ReplicationState::Reversed
}

fn change(
    want: &Resource,
    action: Action,
    have: Option<&Resource>,
    diff: Vec<super::AttrChange>,
    verdict: Verdict,
) -> Change {
    Change {
        address: want.address.clone(),
        action,
        arm_id: want.arm_id.clone(),
        before: have.map(|h| h.attrs.clone()),
        after: Some(want.attrs.clone()),
        diff,
        reasons: verdict.reasons,
        data: None,
        blocked: verdict.blocked,
        depends_on: vec![],
    }
}

/// A live resource the file no longer declares. Only policies and protected items of declared
/// vaults are in scope; resource groups and vaults are never removed implicitly.
fn removal(have: &Resource, desired: &Desired, ctx: &Context) -> Option<Change> {
    let mut c = Change {
        before: Some(have.attrs.clone()),
        ..Change::new(have.address.clone(), Action::Delete, have.arm_id.clone())
    };
    if !crate::model::family::of(have.address.kind).removed_with_the_file {
        return None;
    }
    match have.address.kind {
        ResourceKind::DiskPolicy | ResourceKind::RoleAssignment | ResourceKind::DiskBackup => {
            return super::disk_backup::removal(have, &ctx.disk, c);
        }
        ResourceKind::Replication => {
            c.reasons.push("not in the file any more: replication is disabled (the source VM is untouched; its replica disks and recovery points in the target region are removed)".into());
        }
        ResourceKind::RecoveryPlan => {
            c.reasons.push("not in the file any more".into());
        }
        ResourceKind::BackupPolicy => {
            let name = have.arm_id.name();
            if crate::model::backup_policy::BUILT_IN
                .iter()
                .any(|b| b.eq_ignore_ascii_case(name))
            {
                return None;
            }
            c.reasons.push("not declared in its vault any more".into());
            c.blocked = rules::policy_delete_blocked(have, ctx);
        }
        ResourceKind::ProtectedVm => {
            let scope = scope_of(desired, &have.arm_id)?;
            let state = ItemState::of(&have.attrs);
            let effect = match (scope.on_remove, state) {
                (_, ItemState::SoftDeleted) => return None,
                (OnRemove::RetainData | OnRemove::Suspend, s) if s.retained() => return None,
                (OnRemove::RetainData, _) => DataEffect::Retained,
                (OnRemove::Suspend, _) => DataEffect::Suspended,
                (OnRemove::DeleteData, _) => DataEffect::Deleted,
            };
            c.data = Some(effect);
            c.reasons.push(format!(
                "not in the file any more; on_remove: {}",
                match scope.on_remove {
                    OnRemove::RetainData =>
                        "retain_data — protection stops, recovery points are kept",
                    OnRemove::Suspend =>
                        "suspend — backups stop, recovery points expire per policy",
                    OnRemove::DeleteData =>
                        "delete_data — protection stops and backup data is deleted",
                }
            ));
            if effect == DataEffect::Deleted {
                let soft = ctx.soft_delete_state(&scope.arm_id);
                if soft.is_some_and(|s| s != "Off") {
                    c.reasons.push(
                        "the vault's soft delete keeps the deleted data recoverable for its retention days"
                            .into(),
                    );
                }
            }
            c.blocked = match effect {
                DataEffect::Suspended => rules::suspend_blocked(&scope.arm_id, ctx),
                DataEffect::Deleted => rules::delete_data_blocked(&scope.arm_id, ctx),
                DataEffect::Retained => None,
            };
        }
        // Never removed with the file (model::family).
        _ => return None,
    }
    Some(c)
}

/// The Recovery Services vaults whose soft delete the plan of `desired` consults, so whose
/// backup configuration (where Azure keeps it, FACTS §3) the live read must hold: those the file
/// sets `soft_delete` on (their attribute is diffed), and — once a first `plan` is known — those
/// whose items' backup data it deletes (the change says whether soft delete keeps it
/// recoverable). Soft delete changes neither set: the second plan consults the same vaults.
pub fn soft_delete_consulted(desired: &Desired, plan: Option<&Plan>) -> BTreeSet<ArmId> {
    let set_in_file = (desired.resources.iter())
        .filter(|r| r.address.kind == ResourceKind::RecoveryVault)
        .filter(|r| r.attrs.get("soft_delete").is_some_and(|v| !v.is_null()))
        .map(|r| r.arm_id.clone());
    let deleting = (plan.iter().flat_map(|p| &p.changes))
        .filter(|c| c.address.kind == ResourceKind::ProtectedVm)
        .filter(|c| c.data == Some(DataEffect::Deleted))
        .map(|c| protected_vm::vault_of(&c.arm_id));
    set_in_file.chain(deleting).collect()
}

fn scope_of<'a>(desired: &'a Desired, item: &ArmId) -> Option<&'a VaultScope> {
    let vault = protected_vm::vault_of(item);
    desired.vaults.iter().find(|v| v.arm_id == vault)
}

/// Apply order: a change waits for the changes of what it depends on (creates/updates), and a
/// delete waits for the changes of everything that depended on the deleted resource.
///
/// Addresses are matched without case: a live address is built from the ids Azure returns
/// (`protected_vm.v/RG-APP/APP-01`), the desired one from the file (`protected_vm.v/rg-app/app-01`),
/// and ARM names are case-insensitive. Besides the declared edges, a protected VM's (or a disk
/// backup instance's) change waits for its vault's creation or for an update of its storage
/// redundancy (which can only change before the first item is registered) or immutability
/// (which suspending backups and deleting data depend on), and a delete of backup data for an
/// update of the vault's soft delete; a disk policy's delete waits for the
/// changes of the instances that used it, and a role assignment's delete for the deletes of the
/// instances it served.
fn link_dependencies(changes: &mut [Change], graph: &Graph, live_graph: &Graph) {
    type Key = (ResourceKind, String);
    let key = |a: &Address| -> Key { (a.kind, a.name.to_ascii_lowercase()) };
    let changed: BTreeMap<Key, (Address, Action)> = changes
        .iter()
        .map(|c| (key(&c.address), (c.address.clone(), c.action)))
        .collect();
    // Vault changes an item change must wait for: the vault's creation, or an applicable
    // update of the settings items depend on (a blocked vault change is never applied, and
    // waiting for it would pull it into every `--target` of the vault's items). A delete of
    // backup data also waits for a change of the vault's soft delete: the plan promises the
    // file's soft delete (recoverable or gone), so the setting must be in place first.
    let vault_changes: BTreeMap<ArmId, (Address, VaultWait)> = changes
        .iter()
        .filter(|c| {
            matches!(
                c.address.kind,
                ResourceKind::RecoveryVault | ResourceKind::BackupVault
            )
        })
        .filter_map(|c| {
            let changes_path = |prefixes: &[&str]| {
                c.diff
                    .iter()
                    .any(|d| prefixes.iter().any(|p| d.path.starts_with(p)))
            };
            let wait = match (c.action, c.blocked.is_none()) {
                (Action::Create, _) => VaultWait::Every,
                // A Backup vault's identity: its instances name it and its roles are granted to it
                // only once the vault has it (an instance naming an identity the vault lacks is
                // refused: azure-sdk-for-net issue 47031).
                (Action::Update, true)
                    if changes_path(&[
                        "storage_redundancy",
                        "redundancy",
                        "immutability",
                        "user_identities",
                        "system_identity",
                    ]) =>
                {
                    VaultWait::Every
                }
                (Action::Update, true) if changes_path(&["soft_delete"]) => VaultWait::DataDeletes,
                _ => return None,
            };
            Some((c.arm_id.clone(), (c.address.clone(), wait)))
        })
        .collect();
    let instances = super::disk_backup::instance_changes_by_vault(changes);
    let disk_delete_waits: Vec<Vec<Address>> = changes
        .iter()
        .map(|c| match c.action {
            Action::Delete => super::disk_backup::delete_waits_for(c, &instances),
            _ => vec![],
        })
        .collect();
    for (c, extra) in changes.iter_mut().zip(disk_delete_waits) {
        let mut deps: BTreeSet<Address> = extra.into_iter().collect();
        if c.action == Action::Delete {
            // A delete waits for the changes of what depends on it (Azure's state says what).
            for dependent in live_graph.dependents(&c.address) {
                if let Some((addr, _)) = changed.get(&key(&dependent)) {
                    deps.insert(addr.clone());
                }
            }
        } else {
            for d in graph.dependencies(&c.address) {
                if let Some((addr, Action::Create | Action::Replace | Action::Update)) =
                    changed.get(&key(&d))
                {
                    deps.insert(addr.clone());
                }
            }
        }
        let item = match c.address.kind {
            ResourceKind::ProtectedVm => Some(protected_vm::vault_of(&c.arm_id.clone())),
            ResourceKind::DiskBackup => Some(c.arm_id.clone().parent(1)),
            _ => None,
        };
        if let (Some(vault), true) = (
            item,
            c.action != Action::Delete || c.data != Some(DataEffect::Retained),
        ) {
            match vault_changes.get(&vault) {
                Some((addr, VaultWait::Every)) => {
                    deps.insert(addr.clone());
                }
                Some((addr, VaultWait::DataDeletes)) if c.data == Some(DataEffect::Deleted) => {
                    deps.insert(addr.clone());
                }
                _ => {}
            }
        }
        deps.remove(&c.address);
        c.depends_on = deps.into_iter().collect();
    }
}

/// Which item changes wait for a change of their vault.
#[derive(Clone, Copy)]
enum VaultWait {
    /// Every item change (the vault is created, or a setting items depend on changes).
    Every,
    /// Only deletes of backup data (the vault's soft delete changes).
    DataDeletes,
}

/// Keep the targeted changes and, transitively, the changes they depend on.
fn targeted(changes: Vec<Change>, targets: &[Address]) -> Vec<Change> {
    let by_addr: BTreeMap<&Address, &Change> = changes.iter().map(|c| (&c.address, c)).collect();
    let mut keep: BTreeSet<Address> = BTreeSet::new();
    let mut stack: Vec<Address> = changes
        .iter()
        .filter(|c| targets.iter().any(|t| c.address.matches_target(t)))
        .map(|c| c.address.clone())
        .collect();
    while let Some(a) = stack.pop() {
        if keep.insert(a.clone()) {
            if let Some(c) = by_addr.get(&a) {
                stack.extend(c.depends_on.iter().cloned());
            }
        }
    }
    changes
        .into_iter()
        .filter(|c| keep.contains(&c.address))
        .collect()
}
