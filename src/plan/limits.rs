//! Azure Backup's documented per-vault and per-policy limits, checked at plan time so that a
//! plan past them says so instead of failing part-way through apply:
//! - at most 1000 Azure VMs in one Recovery Services vault, and at most 200 policies in it
//!   (learn.microsoft.com/azure/backup/backup-azure-backup-faq, "Are there limits on the number
//!   of servers/machines…", "How many policies can I create per vault?"; backup-support-matrix);
//! - at most 50 policy creations or edits per vault through ARM in 24 hours (the same FAQ
//!   answer): a plan may not take more than that in one apply.
//!
//! (Azure's CLI also refuses a 1001st VM for one policy — `enable_protection_for_vm`: "Cannot
//! configure backup for more than 1000 VMs per policy" — which the vault limit implies.)
//!
//! Items over a limit are the last ones: what Azure already has counts first, then new ones in
//! address order, so an estate at a limit keeps everything it has.

use crate::model::LiveState;
use crate::model::{protected_vm, ArmId, Resource, ResourceKind};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

pub const MAX_VMS_PER_VAULT: usize = 1000;
pub const MAX_POLICIES_PER_VAULT: usize = 200;
pub const MAX_POLICY_CHANGES_PER_DAY: usize = 50;

/// What the limits say about the wanted state, and the running counts of one plan's changes.
#[derive(Default)]
pub struct Limits<'a> {
    /// Protected items past [`MAX_VMS_PER_VAULT`], with the VMs the vault would protect.
    over_vault: BTreeMap<&'a ArmId, usize>,
    /// Vault → live policies (Azure's built-in ones included).
    live_policies: BTreeMap<ArmId, usize>,
    /// Vault → policies created and changed so far in this plan.
    planned: RefCell<BTreeMap<ArmId, (usize, usize)>>,
}

impl<'a> Limits<'a> {
    pub fn new(wanted: &'a [Resource], live: &LiveState) -> Self {
        let live_items: Vec<&Resource> = kind(&live.resources, ResourceKind::ProtectedVm).collect();
        let wanted_items: Vec<&'a Resource> = kind(wanted, ResourceKind::ProtectedVm).collect();
        let mut live_policies: BTreeMap<ArmId, usize> = BTreeMap::new();
        for p in kind(&live.resources, ResourceKind::BackupPolicy) {
            *live_policies.entry(p.arm_id.parent(1)).or_default() += 1;
        }
        Limits {
            over_vault: overflow(&wanted_items, &live_items, vault_of, MAX_VMS_PER_VAULT),
            live_policies,
            planned: RefCell::default(),
        }
    }

    /// Why a protected VM's create or move is past the vault's limit, if it is.
    pub fn protected_vm(&self, want: &Resource) -> Option<String> {
        self.over_vault.get(&want.arm_id).map(|n| {
            format!(
                "vault {} would protect {n} VMs: Azure Backup protects at most {MAX_VMS_PER_VAULT} VMs in one vault — use another vault for the rest",
                protected_vm::vault_of(&want.arm_id).name()
            )
        })
    }

    /// Count a policy create (`created`) or edit of this plan; why it is past a limit, if it is.
    pub fn policy_change(&self, policy: &ArmId, created: bool) -> Option<String> {
        let vault = policy.parent(1);
        let mut planned = self.planned.borrow_mut();
        let (creates, changes) = planned.entry(vault.clone()).or_default();
        let existing = self.live_policies.get(&vault).copied().unwrap_or_default();
        if created && existing + *creates >= MAX_POLICIES_PER_VAULT {
            return Some(format!(
                "vault {} would hold more than {MAX_POLICIES_PER_VAULT} policies, Azure Backup's limit (it has {existing}, Azure's built-in ones included)",
                vault.name()
            ));
        }
        if *changes >= MAX_POLICY_CHANGES_PER_DAY {
            return Some(format!(
                "this plan creates or edits more than {MAX_POLICY_CHANGES_PER_DAY} policies in vault {}: Azure Backup takes at most {MAX_POLICY_CHANGES_PER_DAY} policy creations or edits per vault in 24 hours — apply the rest the next day",
                vault.name()
            ));
        }
        *creates += usize::from(created);
        *changes += 1;
        None
    }
}

fn kind(resources: &[Resource], k: ResourceKind) -> impl Iterator<Item = &Resource> {
    resources.iter().filter(move |r| r.address.kind == k)
}

fn vault_of(r: &Resource) -> String {
    protected_vm::vault_of(&r.arm_id)
        .as_str()
        .to_ascii_lowercase()
}

/// Wanted items past `max` in their group (`group_of`): those Azure already has in the same
/// group first, then new ones in address order. Each with the group's wanted size.
fn overflow<'a>(
    wanted: &[&'a Resource],
    live: &[&Resource],
    group_of: fn(&Resource) -> String,
    max: usize,
) -> BTreeMap<&'a ArmId, usize> {
    let mut groups: BTreeMap<String, Vec<(bool, &'a Resource)>> = BTreeMap::new();
    for r in wanted {
        groups.entry(group_of(r)).or_default().push((false, r));
    }
    let mut over = BTreeMap::new();
    // What Azure already has is looked up only in the groups past the limit (a tenant's
    // 100,000 items are otherwise all keyed for nothing).
    groups.retain(|_, items| items.len() > max);
    if groups.is_empty() {
        return over;
    }
    let already: BTreeSet<(&ArmId, String)> = live
        .iter()
        .map(|r| (&r.arm_id, group_of(r)))
        .filter(|(_, g)| groups.contains_key(g))
        .collect();
    for (g, items) in &mut groups {
        for (kept, r) in items.iter_mut() {
            *kept = already.contains(&(&r.arm_id, g.clone()));
        }
        items.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.address.cmp(&b.1.address)));
        for (_, r) in &items[max..] {
            over.insert(&r.arm_id, items.len());
        }
    }
    over
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(n: usize) -> ArmId {
        ArmId::new(format!(
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/v/backupPolicies/p{n}"
        ))
    }

    #[test]
    fn a_plan_takes_at_most_50_policy_changes_per_vault() {
        let limits = Limits::default();
        for n in 0..MAX_POLICY_CHANGES_PER_DAY {
            assert_eq!(limits.policy_change(&policy(n), n % 2 == 0), None, "{n}");
        }
        let why = limits.policy_change(&policy(50), false).unwrap();
        assert!(why.contains("more than 50 policies in vault v"), "{why}");
    }

    #[test]
    fn a_vault_holds_at_most_200_policies_built_ins_included() {
        let mut limits = Limits::default();
        limits.live_policies.insert(policy(0).parent(1), 199);
        assert_eq!(limits.policy_change(&policy(1), true), None);
        let why = limits.policy_change(&policy(2), true).unwrap();
        assert!(why.contains("more than 200 policies"), "{why}");
        // An edit adds no policy.
        assert_eq!(limits.policy_change(&policy(3), false), None);
    }
}
