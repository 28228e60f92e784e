//! Test-failover drills of a recovery plan: check every VM is ready, fail the plan over into an
//! isolated network, verify, clean up (unless kept), and report. Production is never touched:
//! only `testFailover` / `testFailoverCleanup` are sent.
//!
//! Owns: [`run`], and the report data [`report`] that `render` formats. Must not import: `cli`, `render`, `config`, `ops`.

use crate::azure::{ArmClient, AzureError};
use crate::model::site_recovery::{recovery_plan, replication};
use crate::model::{ArmId, Resource};
use crate::progress::{track, Progress, Task};
use serde_json::Value;
use std::time::{Duration, Instant};

pub mod report;
pub use report::{DrillReport, VmResult};

/// What the drill was asked to do.
#[derive(Debug, Clone)]
pub struct DrillOptions {
    /// The isolated virtual network the test VMs are created in.
    pub network_id: String,
    /// Leave the test VMs running (no cleanup).
    pub keep: bool,
}

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum DrillError {
    #[error("{0} is not ready for a drill: {1}")]
    #[diagnostic(help(
        "wait for initial replication to finish (plan shows it), then run the drill again"
    ))]
    NotReady(String, String),
    #[error("{0}")]
    Azure(#[from] AzureError),
}

/// Are the plan and its VMs ready? Every replicated item must be protected (initial replication
/// finished) and no other drill may be running.
pub async fn check_ready(
    client: &ArmClient,
    plan: &Resource,
    items: &[ArmId],
) -> Result<(), DrillError> {
    let path = format!(
        "{}?api-version={}",
        plan.arm_id,
        crate::model::api::SITE_RECOVERY
    );
    let Some(live) = client.get_optional(&path).await? else {
        return Err(DrillError::NotReady(
            plan.address.to_string(),
            "the recovery plan does not exist yet: apply first".into(),
        ));
    };
    let allowed = live["properties"]["allowedOperations"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if !allowed.iter().any(|o| {
        o.as_str()
            .is_some_and(|o| o.eq_ignore_ascii_case("TestFailover"))
    }) {
        return Err(DrillError::NotReady(
            plan.address.to_string(),
            format!(
                "Azure does not allow a test failover now (allowed: {})",
                join(&allowed)
            ),
        ));
    }
    for item in items {
        let path = format!("{item}?api-version={}", crate::model::api::SITE_RECOVERY);
        let Some(body) = client.get_optional(&path).await? else {
            return Err(DrillError::NotReady(
                plan.address.to_string(),
                format!("{item} is not replicated"),
            ));
        };
        let vm_state = body["properties"]["providerSpecificDetails"]["vmProtectionState"]
            .as_str()
            .unwrap_or_default();
        if !vm_state.eq_ignore_ascii_case("Protected") {
            let progress = replication::progress(&body)
                .map(|p| format!(", {p}% replicated"))
                .unwrap_or_default();
            return Err(DrillError::NotReady(
                plan.address.to_string(),
                format!(
                    "{} is in {}{progress}, not protected yet",
                    ArmId::new(item.as_str()).name(),
                    replication::state_words(vm_state)
                ),
            ));
        }
    }
    Ok(())
}

fn join(v: &[Value]) -> String {
    v.iter()
        .filter_map(Value::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

fn now() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Run the drill. `items` are `(group number, replicated item id)`. Failures after the failover
/// started are reported in the report (and cleanup is still attempted), so the caller always
/// learns what happened. The failover and the cleanup are tasks of `progress`, with every poll.
pub async fn run(
    client: &ArmClient,
    plan: &Resource,
    items: &[(usize, ArmId)],
    opts: &DrillOptions,
    progress: &dyn Progress,
) -> Result<DrillReport, DrillError> {
    let ids: Vec<ArmId> = items.iter().map(|(_, i)| i.clone()).collect();
    check_ready(client, plan, &ids).await?;
    let mut report = DrillReport {
        recovery_plan: plan.address.to_string(),
        arm_id: plan.arm_id.to_string(),
        network_id: opts.network_id.clone(),
        succeeded: false,
        started_at: now(),
        finished_at: String::new(),
        failover_seconds: 0.0,
        sandbox_time: false,
        cleanup_seconds: None,
        vms: vec![],
        error: None,
    };
    let start = Instant::now();
    let from_recovery = active_in_recovery(client, &ids).await?;
    let request =
        recovery_plan::test_failover_request(&plan.arm_id, &opts.network_id, from_recovery);
    let failover = step(client, &request, "test failover", progress).await;
    report.failover_seconds = secs(start.elapsed());
    if let Err(e) = failover {
        report.error = Some(format!("test failover failed: {e}"));
    }
    for (group, item) in items {
        let path = format!("{item}?api-version={}", crate::model::api::SITE_RECOVERY);
        let body = client.get_optional(&path).await?.unwrap_or_default();
        let state = body["properties"]["testFailoverState"]
            .as_str()
            .unwrap_or("unknown")
            .to_string();
        let vm_id = body["properties"]["providerSpecificDetails"]["fabricObjectId"]
            .as_str()
            .map_or_else(|| item.to_string(), str::to_string);
        if report.error.is_none() && !test_failed_over(&state) {
            report.error = Some(format!(
                "{vm_id} did not reach a test-failed-over state ({state})"
            ));
        }
        report.vms.push(VmResult {
            group: *group,
            vm_id,
            test_failover_state: state,
        });
    }
    if !opts.keep {
        let comments = if report.error.is_none() {
            "azprotect drill: succeeded"
        } else {
            "azprotect drill: failed"
        };
        let start = Instant::now();
        let cleanup = recovery_plan::test_failover_cleanup_request(&plan.arm_id, comments);
        if let Err(e) = step(client, &cleanup, "cleanup", progress).await {
            let prior = report
                .error
                .take()
                .map(|p| format!("{p}; "))
                .unwrap_or_default();
            report.error = Some(format!("{prior}cleanup failed: {e}"));
        }
        report.cleanup_seconds = Some(secs(start.elapsed()));
    }
    report.finished_at = now();
    report.succeeded = report.error.is_none();
    Ok(report)
}

/// One long-running request of the drill as a task of `progress`.
async fn step(
    client: &ArmClient,
    request: &crate::model::ArmRequest,
    name: &str,
    progress: &dyn Progress,
) -> Result<Option<serde_json::Value>, AzureError> {
    let task = Task::named(name);
    track(
        progress,
        &task,
        client.execute_for(request, progress, &task),
    )
    .await
}

/// Do the plan's VMs run in the recovery region (failed over and re-protected)?
async fn active_in_recovery(client: &ArmClient, items: &[ArmId]) -> Result<bool, AzureError> {
    let Some(first) = items.first() else {
        return Ok(false);
    };
    let path = format!("{first}?api-version={}", crate::model::api::SITE_RECOVERY);
    let body = client.get_optional(&path).await?.unwrap_or_default();
    Ok(body["properties"]["activeLocation"]
        .as_str()
        .is_some_and(|l| l.eq_ignore_ascii_case("Recovery")))
}

/// Did a VM reach a test-failed-over state (`TestFailoverCompleted`, …, not `…Failed`)?
fn test_failed_over(state: &str) -> bool {
    let s = state.to_ascii_lowercase();
    s.starts_with("testfailover") && !s.ends_with("failed")
}

fn secs(d: Duration) -> f64 {
    (d.as_secs_f64() * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::test_failed_over;

    #[test]
    fn only_a_completed_or_running_test_failover_counts() {
        assert!(test_failed_over("TestFailoverCompleted"));
        assert!(test_failed_over("TestFailoverInProgress"));
        assert!(!test_failed_over("TestFailoverFailed"));
        assert!(!test_failed_over("None"));
    }
}
