//! The vaults a plan writes: those that exist, leased before its first change, and those it
//! creates, leased as each comes into being.

use crate::model::lease;
use crate::model::{Action, ArmId, ResourceKind};
use crate::plan::Plan;
use std::collections::BTreeSet;

/// The vaults a plan writes, by lower-cased id: those that exist (leased before the first
/// change) and those the plan creates (leased once created).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Written {
    pub existing: BTreeSet<ArmId>,
    pub created: BTreeSet<ArmId>,
}

pub fn vaults_written(plan: &Plan) -> Written {
    // A vault the plan replaces exists until it is deleted: it is leased first, and again once
    // it exists anew.
    let created: BTreeSet<ArmId> = plan
        .changes
        .iter()
        .filter(|c| c.action == Action::Create && is_vault_creation(c.address.kind, c.action))
        .map(|c| c.arm_id.clone())
        .collect();
    let existing = plan
        .changes
        .iter()
        .filter_map(|c| lease::vault_of(&c.arm_id))
        .filter(|v| !created.contains(v))
        .collect();
    Written { existing, created }
}

/// A change that brings a vault into being (it is leased once it exists).
pub fn is_vault_creation(kind: ResourceKind, action: Action) -> bool {
    matches!(
        kind,
        ResourceKind::RecoveryVault | ResourceKind::BackupVault
    ) && matches!(action, Action::Create | Action::Replace)
}

#[cfg(test)]
mod tests {
    use super::super::tests::change;
    use super::*;

    #[test]
    fn a_plan_leases_the_vaults_it_writes_and_those_it_creates_once_they_exist() {
        let v1 =
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/v1";
        let v2 =
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/v2";
        let plan = Plan::new(
            vec![],
            vec![
                change(
                    ResourceKind::ResourceGroup,
                    Action::Create,
                    "/subscriptions/s/resourceGroups/rg",
                ),
                change(
                    ResourceKind::BackupPolicy,
                    Action::Update,
                    &format!("{v1}/backupPolicies/gold"),
                ),
                change(ResourceKind::RecoveryVault, Action::Create, v2),
                change(
                    ResourceKind::BackupPolicy,
                    Action::Create,
                    &format!("{v2}/backupPolicies/gold"),
                ),
            ],
        );
        let w = vaults_written(&plan);
        assert_eq!(
            w.existing.iter().map(ArmId::as_str).collect::<Vec<_>>(),
            [v1]
        );
        assert_eq!(
            w.created.iter().map(ArmId::as_str).collect::<Vec<_>>(),
            [v2]
        );
    }
}
