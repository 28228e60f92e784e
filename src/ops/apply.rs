//! Apply: refuse a plan that must not run ([`check`]), lease the vaults it writes and check
//! that Azure is still as the plan saw it, walk its changes, and — when asked — wait for the
//! initial replication of the VMs it enabled ([`run`]). The result is data (`Applied`, and
//! for `--format json` its [`ApplyResult`](crate::model::apply_result::ApplyResult)) that
//! `render::apply` formats.

use crate::apply::discovery::Discovered;
use crate::apply::lease::{self, LeaseError, LeaseOptions, Leases};
use crate::apply::Outcome;
use crate::apply::{self, wait, ApplyOptions, ApplyReport};
use crate::azure::{ArmClient, AzureError};
use crate::model::apply_result::{
    ApplyResult, ChangeOutcome, ChangeResult, Counts, ReplicationResult,
};
use crate::model::{ArmId, ResourceKind};
use crate::ops::saved_plan::{still_current, CurrentPlanError, Reviewed};
use crate::plan::{Action, Plan};
use crate::progress::Progress;
use std::sync::Arc;
use std::time::Duration;

pub use crate::apply::{check, Refusal};

/// How to apply.
#[derive(Debug, Clone)]
pub struct Options {
    pub apply: ApplyOptions,
    /// Wait for the initial replication of the VMs the plan enables, up to `wait_timeout`.
    pub wait_replicated: bool,
    pub wait_timeout: Duration,
    /// Lease the vaults the plan writes (`apply::lease`); `None` (`--no-lock`): do not.
    pub lock: Option<LeaseOptions>,
}

/// Why an apply did not run, or stopped.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ApplyError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Lease(#[from] LeaseError),
    /// Azure changed between the plan and the leases (another apply ran meanwhile).
    #[error(transparent)]
    #[diagnostic(transparent)]
    NotCurrent(#[from] CurrentPlanError),
    #[error(transparent)]
    Azure(#[from] AzureError),
}

/// Where the replication the plan enabled stands when apply ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Replication {
    /// The plan enabled none (or a change failed, and apply did not wait).
    NoneEnabled,
    /// Enabled; initial replication goes on in Azure.
    Continuing(usize),
    /// Enabled and waited for: every VM is protected.
    Finished(usize),
    /// Waited for `wait_timeout`; these VMs still replicate.
    StillReplicating { left: usize, waited: Duration },
}

/// What an apply did.
#[derive(Debug, Clone)]
pub struct Applied {
    pub report: ApplyReport,
    pub replication: Replication,
}

impl Applied {
    pub fn succeeded(&self) -> bool {
        self.report.failed() == 0
            && !matches!(self.replication, Replication::StillReplicating { .. })
    }

    /// What the apply did, per change in the plan's order (`apply --format json`); `took`
    /// is how long a change (by its address) ran, when it ran.
    pub fn result(&self, plan: &Plan, took: impl Fn(&str) -> Option<Duration>) -> ApplyResult {
        let report = &self.report;
        let changes = plan
            .changes
            .iter()
            .filter_map(|c| {
                let (_, outcome) = report.outcomes.iter().find(|(a, _)| *a == c.address)?;
                let key = c.address.to_string();
                let mut r = ChangeResult {
                    address: key.clone(),
                    action: c.action,
                    outcome: ChangeOutcome::Done,
                    error: None,
                    error_code: None,
                    request_id: None,
                    because: None,
                    seconds: took(&key).map(|d| d.as_secs_f64()),
                };
                match outcome {
                    Outcome::Done => {}
                    Outcome::Failed(f) => {
                        r.outcome = ChangeOutcome::Failed;
                        r.error = Some(f.message.clone());
                        r.error_code = f.code.clone();
                        r.request_id = f.request_id.clone();
                    }
                    Outcome::Skipped { because } => {
                        r.outcome = ChangeOutcome::Skipped;
                        r.because = Some(because.to_string());
                        r.seconds = None;
                    }
                    Outcome::NotStarted { why } => {
                        r.outcome = ChangeOutcome::NotStarted;
                        r.error = Some(why.clone());
                        r.seconds = None;
                    }
                }
                Some(r)
            })
            .collect();
        let (state, vms, left, waited_minutes) = match &self.replication {
            Replication::NoneEnabled => ("none_enabled", Some(0), None, None),
            Replication::Continuing(n) => ("continuing", Some(*n), None, None),
            Replication::Finished(n) => ("finished", Some(*n), None, None),
            Replication::StillReplicating { left, waited } => (
                "still_replicating",
                None,
                Some(*left),
                Some(waited.as_secs() / 60),
            ),
        };
        ApplyResult {
            succeeded: self.succeeded(),
            counts: Counts {
                succeeded: report.succeeded(),
                failed: report.failed(),
                skipped: report.skipped(),
            },
            changes,
            replication: ReplicationResult {
                state,
                vms,
                left,
                waited_minutes,
            },
        }
    }
}

/// The replicated items the plan creates (or re-creates).
fn enabled_replications(plan: &Plan) -> Vec<ArmId> {
    plan.changes
        .iter()
        .filter(|c| c.address.kind == ResourceKind::Replication)
        .filter(|c| matches!(c.action, Action::Create | Action::Replace))
        .map(|c| c.arm_id.clone())
        .collect()
}

/// Lease the vaults `plan` writes; once the existing ones are leased, Azure must still be as the
/// reviewed plan saw it (an apply that ended meanwhile changed it) — read during the leases'
/// settle wait (`lease::acquire_reading`), when `settling` is called too: once every vault was
/// found free and carries our lease.
async fn lease(
    client: &ArmClient,
    reviewed: &Reviewed<'_>,
    lock: &LeaseOptions,
    progress: &dyn Progress,
    settling: &(dyn Fn() + Sync),
) -> Result<Option<Arc<Leases>>, ApplyError> {
    let written = lease::vaults_written(reviewed.plan);
    if written == Default::default() {
        return Ok(None);
    }
    let existing = !written.existing.is_empty();
    let current = || async move {
        settling();
        match existing {
            true => still_current(client, reviewed).await.map(drop),
            false => Ok(()),
        }
    };
    let (leases, current) =
        lease::acquire_reading(client, &written, lock, progress, current).await?;
    if let Err(e) = current {
        leases.release().await;
        return Err(e.into());
    }
    Ok(Some(leases))
}

/// Apply the reviewed plan (already [`check`]ed and agreed to); every change is a task of
/// `progress`.
pub async fn run(
    client: &ArmClient,
    reviewed: &Reviewed<'_>,
    opts: &Options,
    progress: Arc<dyn Progress>,
) -> Result<Applied, ApplyError> {
    let plan = reviewed.plan;
    // Discovery runs in the leases' settle second (idle time), once our lease tags are written:
    // not beside the lease's own read-then-write, which must finish within the settle.
    let discovered = Arc::new(Discovered::default());
    let ahead = std::sync::OnceLock::new();
    let discover = || {
        ahead.get_or_init(|| discovered.ahead(client, plan));
    };
    let leases = match &opts.lock {
        Some(lock) => lease(client, reviewed, lock, progress.as_ref(), &discover).await?,
        None => None,
    };
    discover(); // no lease was taken (`--no-lock`, or the plan writes no vault): now
    let prepared = apply::Prepared {
        leases: leases.clone(),
        discovered,
    };
    let report = apply::apply(client, plan, &opts.apply, prepared, progress.clone()).await;
    drop(ahead);
    if let Some(leases) = leases {
        leases.release().await;
    }
    let enabled = enabled_replications(plan);
    let replication = if report.failed() > 0 || enabled.is_empty() {
        Replication::NoneEnabled
    } else if !opts.wait_replicated {
        Replication::Continuing(enabled.len())
    } else {
        let left =
            wait::wait_replicated(client, &enabled, opts.wait_timeout, progress.as_ref()).await?;
        if left.is_empty() {
            Replication::Finished(enabled.len())
        } else {
            Replication::StillReplicating {
                left: left.len(),
                waited: opts.wait_timeout,
            }
        }
    };
    Ok(Applied {
        report,
        replication,
    })
}
