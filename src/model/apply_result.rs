//! What an apply did, as data: per change of the plan its outcome, the counts, and where the
//! replication it enabled stands. `ops::apply` fills it from the apply's report;
//! `render::apply` writes it as `apply --format json` (documented in the README).

use super::Action;
use serde::Serialize;

/// One change of the plan and how it ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChangeResult {
    pub address: String,
    pub action: Action,
    pub outcome: ChangeOutcome,
    /// Why it failed (`failed`), or why it was not started (`not_started`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Azure's error code, when Azure refused the change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    /// The `x-ms-request-id` to quote in a support request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// `skipped`: the change it depends on that did not apply.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub because: Option<String>,
    /// Wall time from start to end (`done` and `failed`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seconds: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeOutcome {
    Done,
    Failed,
    Skipped,
    NotStarted,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub succeeded: usize,
    pub failed: usize,
    pub skipped: usize,
}

/// Where the replication the apply enabled stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReplicationResult {
    /// `none_enabled`, `continuing` (initial replication goes on in Azure), `finished`
    /// (waited for), `still_replicating` (waited, and some had not finished).
    pub state: &'static str,
    /// VMs whose replication the apply enabled (not counted when some are still replicating).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vms: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub left: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waited_minutes: Option<u64>,
}

/// What an apply did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ApplyResult {
    /// No change failed and the replication waited for finished: what exit code 0 means.
    pub succeeded: bool,
    pub counts: Counts,
    pub changes: Vec<ChangeResult>,
    pub replication: ReplicationResult,
}

impl ApplyResult {
    /// The result of applying a plan with no changes.
    pub fn nothing() -> ApplyResult {
        ApplyResult {
            succeeded: true,
            counts: Counts::default(),
            changes: vec![],
            replication: ReplicationResult {
                state: "none_enabled",
                vms: Some(0),
                left: None,
                waited_minutes: None,
            },
        }
    }
}
