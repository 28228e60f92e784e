//! `apply --format json`: what an apply did, for a pipeline to read (a step summary, a
//! dashboard) — `{"format_version": 1, "succeeded", "counts": {"succeeded", "failed",
//! "skipped"}, "changes": [{"address", "action", "outcome", "error", "error_code",
//! "request_id", "because", "seconds"}], "replication": {"state", "vms", "left",
//! "waited_minutes"}}`, documented in the README. `ops::apply` makes the result
//! (`model::apply_result`); this module only writes it.

pub use crate::model::apply_result::{
    ApplyResult, ChangeOutcome, ChangeResult, Counts, ReplicationResult,
};
use std::io::{self, Write};

pub fn json(r: &ApplyResult, out: &mut impl Write) -> io::Result<()> {
    super::common::json_v1(r, out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Action;

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
