//! Item-level unplanned failover, commit and re-protect: what Azure allows in each state, and
//! the job each starts.

use super::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::sandbox) enum Op {
    Failover,
    Commit,
    Reprotect,
}

pub(super) fn not_allowed(name: &str, what: &str, state: &str) -> ArmError {
    // Not in the recordings or specs: see README "Known to differ".
    bad(
        "OperationNotAllowedInCurrentState",
        format!("{what} is not allowed for '{name}' in its current state '{state}'."),
    )
}

/// Check and apply an item-level failover step (used by items and recovery plans). With
/// `job_id` the step joins a recovery-plan job instead of starting its own. Returns the job id.
#[allow(clippy::too_many_arguments)]
pub(in crate::sandbox) fn failover_op(
    ctx: &Ctx<'_>,
    st: &mut State,
    vk: &str,
    ik: &str,
    it: &ReplicatedItem,
    op: Op,
    props: &Value,
    job_id: Option<(&str, i64)>,
) -> Result<String, ArmError> {
    let ph = phase(it, ctx.now);
    let state_name = format!("{ph:?}");
    match op {
        Op::Failover => {
            if ph != Phase::Protected || it.test_failover.is_some() {
                return Err(not_allowed(&it.name, "Failover", &state_name));
            }
            if let Some(dir) = props["failoverDirection"].as_str() {
                let expect = if it.active_location == "Recovery" {
                    "RecoveryToPrimary"
                } else {
                    "PrimaryToRecovery"
                };
                if !eq(dir, expect) {
                    return Err(bad(
                        "InvalidInput",
                        format!(
                            "failoverDirection must be '{expect}' for '{}' (active location {}).",
                            it.name, it.active_location
                        ),
                    ));
                }
            }
        }
        Op::Commit => {
            if ph != Phase::FailedOver {
                return Err(not_allowed(&it.name, "Commit", &state_name));
            }
        }
        Op::Reprotect => {
            if ph != Phase::Committed {
                return Err(not_allowed(&it.name, "Re-protect", &state_name));
            }
        }
    }
    let (scenario, friendly, dur, tasks): (&str, &str, f64, &[&str]) = match op {
        Op::Failover => (
            "UnplannedFailover",
            "Failover",
            durations::FAILOVER,
            &[
                "Prerequisites check for failover",
                "Creating the recovery virtual machine",
                "Starting the virtual machine",
            ],
        ),
        Op::Commit => (
            "Commit",
            "Commit",
            durations::COMMIT,
            &["Committing the failover"],
        ),
        Op::Reprotect => (
            "ReverseReplicate",
            "Reprotect",
            durations::REPROTECT,
            &[
                "Prerequisites check for re-protect",
                "Reversing replication",
                "Starting initial replication",
            ],
        ),
    };
    let (error, job) = match job_id {
        Some((j, _)) => (None, j.to_string()),
        None => {
            let error = fault(ctx, friendly);
            let j = start_job(
                st,
                vk,
                JobSpec {
                    scenario,
                    friendly,
                    target_id: super::vm_guid(st, it),
                    target_name: it.vm_name.clone(),
                    target_type: "ProtectionEntity",
                    tasks,
                    duration_ms: ctx.scaled(dur),
                    start_ms: ctx.now,
                },
                error.clone(),
                &format!("item|{ik}"),
            );
            (error, j)
        }
    };
    if error.is_none() {
        let start = job_id.map(|(_, s)| s).unwrap_or(ctx.now);
        let end = ctx.now + ctx.scaled(dur);
        if let Some(x) = st.site_recovery.items.get_mut(ik) {
            x.scenario = Some((scenario.into(), job.clone(), start));
            match op {
                Op::Failover => {
                    x.failover = "FailedOver".into();
                    x.last_failover_ms = Some(end);
                    x.active_location = if x.active_location == "Recovery" {
                        "Primary".into()
                    } else {
                        "Recovery".into()
                    };
                }
                Op::Commit => x.failover = "Committed".into(),
                Op::Reprotect => {
                    // Replication now runs the other way; initial replication starts over.
                    x.failover = "Reprotecting".into();
                    x.enabled_ms = end;
                    x.protected_ms = end + ctx.scaled(durations::INITIAL_REPLICATION);
                }
            }
        }
    }
    Ok(job)
}
