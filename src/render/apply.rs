//! `apply --format json`: what an apply did, for a pipeline to read (a step summary, a
//! dashboard) — `{"format_version": 1, "succeeded", "counts": {"succeeded", "failed",
//! "skipped"}, "changes": [{"address", "action", "outcome", "error", "error_code",
//! "request_id", "because", "seconds"}], "replication": {"state", "vms", "left",
//! "waited_minutes"}}`, documented in the README. `cli::apply` fills it from the apply's
//! report; this module only shapes and writes it.

use crate::plan::Action;
use serde::Serialize;
use std::io::{self, Write};

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

pub fn json(r: &ApplyResult, out: &mut impl Write) -> io::Result<()> {
    super::common::json_v1(r, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_json_result_is_versioned_and_leaves_out_what_does_not_apply() {
        let r = ApplyResult {
            succeeded: false,
            counts: Counts {
                succeeded: 1,
                failed: 1,
                skipped: 0,
            },
            changes: vec![
                ChangeResult {
                    address: "recovery_vault.rsv".into(),
                    action: Action::Create,
                    outcome: ChangeOutcome::Done,
                    error: None,
                    error_code: None,
                    request_id: None,
                    because: None,
                    seconds: Some(4.0),
                },
                ChangeResult {
                    address: "protected_vm.rsv/rg/vm".into(),
                    action: Action::Create,
                    outcome: ChangeOutcome::Failed,
                    error: Some("busy".into()),
                    error_code: Some("Conflict".into()),
                    request_id: Some("r-1".into()),
                    because: None,
                    seconds: Some(3.0),
                },
            ],
            ..ApplyResult::nothing()
        };
        let mut out = Vec::new();
        json(&r, &mut out).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["format_version"], 1);
        assert_eq!(v["counts"]["failed"], 1);
        assert_eq!(v["changes"][0]["outcome"], "done");
        assert!(v["changes"][0].get("error").is_none());
        assert_eq!(v["changes"][1]["error_code"], "Conflict");
        assert_eq!(v["replication"]["state"], "none_enabled");
    }
}
