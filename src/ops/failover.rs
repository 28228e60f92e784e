//! Failover, commit, re-protect and failback of one declared recovery plan: find it, read what
//! Azure allows now, work out and check the steps ([`prepare`]); after the user agreed, run them
//! ([`run`]) into a report `render` formats.

use super::recovery_plan::{declared, Declared, DeclaredError};
use crate::azure::ArmClient;
use crate::failover::{self, Caches, FailoverError, FailoverReport, Operation, PlanStatus, Step};
use crate::model::site_recovery::replication;
use crate::model::{Desired, Resource};
use crate::progress::Progress;
use std::path::PathBuf;

/// Why an operation did not start.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum PrepareError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Declared(#[from] DeclaredError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Failover(#[from] FailoverError),
}

impl From<failover::Refusal> for PrepareError {
    fn from(e: failover::Refusal) -> Self {
        PrepareError::Failover(e.into())
    }
}

/// An operation ready to run: where the plan stands and what each step will do.
pub struct Prepared {
    pub op: Operation,
    pub found: Declared,
    pub status: PlanStatus,
    pub steps: Vec<Step>,
    pub caches: Caches,
    /// One sentence per step, for the user to agree to.
    pub description: Vec<String>,
}

/// Find the recovery plan `address` in `files`, read its status, and refuse what Azure would
/// refuse before anything is sent.
pub async fn prepare(
    client: &ArmClient,
    default_subscription: Option<&str>,
    files: &[PathBuf],
    address: &str,
    op: Operation,
) -> Result<Prepared, PrepareError> {
    failover::supported(op)?;
    let what = format!("{} acts on", op.name());
    let found = declared(client, default_subscription, files, address, &what).await?;
    let status = failover::status(client, &found.plan, &found.item_ids()).await?;
    let steps = failover::plan_steps(&found.plan, op, &status)?;
    let caches = caches(&found.desired, &found.plan, &found.replications);
    failover::require_caches(&found.plan, &steps, &status, &caches)?;
    let description = failover::describe(&found.plan, &steps, &status);
    Ok(Prepared {
        op,
        found,
        status,
        steps,
        caches,
        description,
    })
}

/// Run the prepared steps, each a task of `progress`.
pub async fn run(
    client: &ArmClient,
    p: &Prepared,
    progress: &dyn Progress,
) -> Result<FailoverReport, FailoverError> {
    failover::run(
        client,
        &p.found.plan,
        &p.found.item_ids(),
        &p.caches,
        p.op,
        &p.steps,
        progress,
    )
    .await
}

/// The declared caches and target resource group of the plan's replication group.
fn caches(desired: &Desired, plan: &Resource, replications: &[Resource]) -> Caches {
    let group = plan.address.name.split('/').next().unwrap_or_default();
    let disk_types = replications
        .iter()
        .flat_map(|r| replication::Attrs(&r.attrs).target_disk_types())
        .collect();
    desired
        .replication_groups
        .iter()
        .find(|g| g.name == group)
        .map(|g| Caches {
            source: g.cache_storage_account_id.clone(),
            target: g.target_cache_storage_account_id.clone(),
            target_resource_group: g.target_resource_group_id.clone(),
            disk_types,
        })
        .unwrap_or_default()
}
