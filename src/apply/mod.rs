//! The executor: walks the plan's changes as a DAG with a concurrency bound, waits on
//! long-running operations (through the client), skips the dependents of a failed change and
//! carries on with independent branches. Re-running after any failure converges, because every
//! request is an idempotent PUT/DELETE of a desired end state.
//!
//! Owns: [`apply`], [`check`], the pure mapping change → requests (`requests.rs`).
//! Must not import: `render`, `cli`, `config`, `ops`.

pub mod discovery;
pub mod disk_backup;
pub mod lease;
mod replication;
mod requests;
pub mod wait;
mod walk;

pub use requests::requests_for;
pub use walk::{apply, walk, Executor, Prepared};

use crate::model::Address;
use crate::plan::Plan;

/// How apply runs.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// At most this many changes in flight at once; `None`: [`DEFAULT_IN_FLIGHT`] per
    /// subscription the plan changes ([`in_flight`]).
    pub parallelism: Option<usize>,
    /// How long a replication setting waits for initial replication to finish (Azure takes it
    /// only then).
    pub replicated_timeout: std::time::Duration,
}

/// Initial replication of a large VM takes hours: wait this long by default (`--wait-timeout`).
pub const DEFAULT_REPLICATED_TIMEOUT: std::time::Duration =
    std::time::Duration::from_secs(180 * 60);

/// Changes in flight by default, per subscription the plan changes: enough that ARM's write
/// quota (200 at once, then 10 per second per subscription), enforced by the client's rate
/// limiter, is the bound rather than a small fixed pool whose slots sit idle while long-running
/// operations finish. Per subscription because the quotas are: a plan over 100 subscriptions
/// has 100 quotas to fill, and one pool of 256 would leave 99 of them idle.
pub const DEFAULT_IN_FLIGHT: usize = 256;

/// How many changes of `plan` run at once: `parallelism` when set, else [`DEFAULT_IN_FLIGHT`]
/// per subscription its changes are in.
pub fn in_flight(plan: &Plan, parallelism: Option<usize>) -> usize {
    parallelism
        .unwrap_or_else(|| {
            let subscriptions: std::collections::HashSet<String> = plan
                .changes
                .iter()
                .filter_map(|c| c.arm_id.subscription())
                .map(str::to_ascii_lowercase)
                .collect();
            DEFAULT_IN_FLIGHT * subscriptions.len().max(1)
        })
        .max(1)
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            parallelism: None,
            replicated_timeout: DEFAULT_REPLICATED_TIMEOUT,
        }
    }
}

/// What happened to one change.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Done,
    Failed(Failure),
    /// Not attempted because a change it depends on failed or was skipped.
    Skipped {
        because: Address,
    },
    /// Not started because Azure could not be reached: apply stops starting changes once a
    /// change finds the endpoint unreachable, rather than failing every one in turn.
    NotStarted {
        why: String,
    },
}

/// Why a change failed: what to show, and, when Azure refused, its error code and the
/// `x-ms-request-id` to quote in a support request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub message: String,
    pub code: Option<String>,
    pub request_id: Option<String>,
    /// Azure could not be reached at all (see `AzureError::is_unreachable`).
    pub unreachable: bool,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<String> for Failure {
    fn from(message: String) -> Self {
        Failure {
            message,
            code: None,
            request_id: None,
            unreachable: false,
        }
    }
}

impl From<&str> for Failure {
    fn from(message: &str) -> Self {
        message.to_string().into()
    }
}

impl From<crate::azure::AzureError> for Failure {
    fn from(e: crate::azure::AzureError) -> Self {
        use crate::azure::AzureError as E;
        let (code, request_id) = match &e {
            E::Arm {
                code, request_id, ..
            }
            | E::OperationFailed {
                code, request_id, ..
            } => (Some(code.clone()), Some(request_id.clone())),
            _ => (None, None),
        };
        Failure {
            message: e.to_string(),
            code,
            request_id,
            unreachable: e.is_unreachable(),
        }
    }
}

/// A running change as progress knows it: where to say what it waits for.
#[derive(Clone, Copy)]
pub struct Heard<'a> {
    pub progress: &'a dyn crate::progress::Progress,
    pub task: &'a crate::progress::Task,
}

impl Heard<'_> {
    pub fn waiting_for(&self, what: &str) {
        self.progress
            .event(self.task, crate::progress::Event::WaitedFor { what });
    }
}

/// The result of an apply, in the order changes finished.
#[derive(Debug, Clone, Default)]
pub struct ApplyReport {
    pub outcomes: Vec<(Address, Outcome)>,
}

impl ApplyReport {
    pub fn count(&self, f: impl Fn(&Outcome) -> bool) -> usize {
        self.outcomes.iter().filter(|(_, o)| f(o)).count()
    }
    pub fn succeeded(&self) -> usize {
        self.count(|o| *o == Outcome::Done)
    }
    pub fn failed(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Failed(_)))
    }
    pub fn skipped(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Skipped { .. } | Outcome::NotStarted { .. }))
    }
}

/// Why apply refuses to start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, miette::Diagnostic)]
pub enum Refusal {
    #[error("the plan has {0} blocked change(s); nothing was applied")]
    #[diagnostic(
        code(azprotect::apply::blocked),
        help("fix the configuration so that no change is blocked, then plan again")
    )]
    Blocked(usize),
    #[error("the plan deletes backup data or a vault: {0}")]
    #[diagnostic(
        code(azprotect::apply::data_loss),
        help("re-run with --allow-data-loss if that is really intended")
    )]
    DataLoss(String),
}

/// Refuse plans Azure would reject or that lose data without `allow_data_loss`.
pub fn check(plan: &Plan, allow_data_loss: bool) -> Result<(), Refusal> {
    if plan.summary.blocked > 0 {
        return Err(Refusal::Blocked(plan.summary.blocked));
    }
    if !allow_data_loss {
        let lossy: Vec<String> = plan
            .changes
            .iter()
            .filter(|c| c.loses_data())
            .map(|c| c.address.to_string())
            .collect();
        if !lossy.is_empty() {
            return Err(Refusal::DataLoss(lossy.join(", ")));
        }
    }
    Ok(())
}

#[cfg(test)]
mod failure_tests {
    use super::Failure;
    use crate::azure::AzureError;

    #[test]
    fn a_failure_azure_answered_keeps_its_code_and_request_id() {
        let f = Failure::from(AzureError::Arm {
            method: "PUT".into(),
            resource: "/subscriptions/s/…/backupPolicies/gold".into(),
            status: 400,
            code: "BMSUserErrorInvalidPolicyInput".into(),
            message: "Invalid input".into(),
            request_id: "8b0c-42".into(),
        });
        assert_eq!(f.code.as_deref(), Some("BMSUserErrorInvalidPolicyInput"));
        assert_eq!(f.request_id.as_deref(), Some("8b0c-42"));
        // What is shown is what was shown before: Azure's whole message.
        assert!(
            f.to_string().contains(
                "400 BMSUserErrorInvalidPolicyInput: Invalid input (x-ms-request-id: 8b0c-42)"
            ),
            "{f}"
        );
        let plain = Failure::from("the change has no `after` attributes");
        assert_eq!((plain.code, plain.request_id), (None, None));
    }
}
