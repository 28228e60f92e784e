//! Finding a declared recovery plan (`recovery_plan.<group>/<plan>`) and its replicated items,
//! for the operations that act on one: drills, failover, commit, re-protect, failback.

use super::plan::PlanError;
use crate::azure::ArmClient;
use crate::model::site_recovery::recovery_plan;
use crate::model::{Address, ArmId, Desired, Resource, ResourceKind};
use std::path::PathBuf;

/// Why the recovery plan an operation acts on was not found.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum DeclaredError {
    #[error("{0}")]
    #[diagnostic(help("an address is <kind>.<name>, e.g. recovery_plan.app-dr/app-failover"))]
    Address(String),
    #[error(
        "{what} a recovery plan: expected recovery_plan.<site_recovery>/<plan>, got {address}"
    )]
    NotARecoveryPlan { what: String, address: Address },
    #[error("{address} is not declared")]
    #[diagnostic(help("recovery plans in the file: {known}"))]
    NotDeclared { address: Address, known: String },
    #[error(transparent)]
    #[diagnostic(transparent)]
    Plan(#[from] PlanError),
}

/// A recovery plan the file declares, resolved against live state.
pub struct Declared {
    pub address: Address,
    pub plan: Resource,
    /// `(group number, replicated item id)` in boot order; group 1 boots first.
    pub items: Vec<(usize, ArmId)>,
    pub desired: Desired,
    /// The declared replications of the plan's VMs (their disks and target disk types).
    pub replications: Vec<Resource>,
}

impl Declared {
    pub fn item_ids(&self) -> Vec<ArmId> {
        self.items.iter().map(|(_, id)| id.clone()).collect()
    }
}

/// Parse `address` (`what` starts the error when it is not a recovery plan, e.g. "a drill
/// runs"), read the files and live state, and find the plan.
pub async fn declared(
    client: &ArmClient,
    default_subscription: Option<&str>,
    files: &[PathBuf],
    address: &str,
    what: &str,
) -> Result<Declared, DeclaredError> {
    let address: Address = address
        .parse()
        .map_err(|e| DeclaredError::Address(format!("{e}")))?;
    if address.kind != ResourceKind::RecoveryPlan {
        return Err(DeclaredError::NotARecoveryPlan {
            what: what.into(),
            address,
        });
    }
    let desired =
        super::plan::load(&super::plan::files_or_default(files), default_subscription)?.desired;
    let live = crate::live::read(client, &desired)
        .await
        .map_err(PlanError::from)?;
    let resources = crate::plan::resolve(&desired, &live);
    let Some(plan) = resources.iter().find(|r| r.address == address).cloned() else {
        let known: Vec<String> = resources
            .iter()
            .filter(|r| r.address.kind == ResourceKind::RecoveryPlan)
            .map(|r| r.address.to_string())
            .collect();
        let known = if known.is_empty() {
            "none".into()
        } else {
            known.join(", ")
        };
        return Err(DeclaredError::NotDeclared { address, known });
    };
    let items = recovery_plan::Attrs(&plan.attrs)
        .group_vms()
        .into_iter()
        .map(|(n, vm)| (n, recovery_plan::item_of(&plan, vm)))
        .collect::<Vec<(usize, ArmId)>>();
    let replications = resources
        .iter()
        .filter(|r| {
            r.address.kind == ResourceKind::Replication && items.iter().any(|(_, i)| *i == r.arm_id)
        })
        .cloned()
        .collect();
    Ok(Declared {
        address,
        plan,
        items,
        desired,
        replications,
    })
}
