//! Replication health of a replicated VM (Site Recovery A2A).

use super::findings::{age, minutes, subject, Finding, Kind};
use super::{arm_time, text};
use crate::model::site_recovery::replication::ProtectionState;
use crate::model::ArmId;
use serde_json::Value;
use std::time::Duration;
use time::OffsetDateTime;

/// A replicated VM as the vault's replicated item list reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct Replicated {
    pub item: ArmId,
    pub vm_id: ArmId,
    pub vm_name: String,
    /// `replicationHealth`: `Normal`, `Warning`, `Critical`.
    pub health: String,
    /// `protectionState`: `Protected`, `InitialReplicationInProgress`, `FailedOver`, …
    pub state: String,
    /// `errorLevel` and message of each health error (the test-failover reminder left out: it
    /// is the drill finding).
    pub errors: Vec<(String, String)>,
    pub rpo_seconds: Option<u64>,
    pub rpo_calculated: Option<OffsetDateTime>,
    pub last_test_failover: Option<OffsetDateTime>,
}

/// Azure's warning on a VM never test-failed-over (A2A #73: errorCode 161011).
const NO_TEST_FAILOVER: &str = "161011";

impl Replicated {
    pub fn from_arm(v: &Value) -> Option<Replicated> {
        let p = &v["properties"];
        let d = &p["providerSpecificDetails"];
        let vm_id = ArmId::new(d["fabricObjectId"].as_str().unwrap_or_default());
        let errors = p["healthErrors"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|e| text(&e["errorCode"]) != NO_TEST_FAILOVER)
            .map(|e| (text(&e["errorLevel"]), text(&e["errorMessage"])))
            .collect();
        Some(Replicated {
            item: ArmId::new(v["id"].as_str()?),
            vm_name: if vm_id.as_str().is_empty() {
                text(&p["friendlyName"])
            } else {
                vm_id.name().to_string()
            },
            vm_id,
            health: text(&p["replicationHealth"]),
            state: text(&p["protectionState"]),
            errors,
            rpo_seconds: d["rpoInSeconds"].as_u64(),
            rpo_calculated: arm_time(&d["lastRpoCalculatedTime"]),
            last_test_failover: arm_time(&p["lastSuccessfulTestFailoverTime"]),
        })
    }
}

/// Thresholds of replication health.
#[derive(Debug, Clone, Copy)]
pub struct ReplicationLimits {
    /// The RPO above which a replicated VM is a finding.
    pub rpo: Duration,
    /// A test failover older than this (or none) is a finding.
    pub drill_max_age: Duration,
}

/// A replicated VM's health: Azure's `replicationHealth` and health errors, its state, its
/// current RPO against `limits.rpo`, and its last successful test failover.
pub fn replication_findings(
    r: &Replicated,
    limits: ReplicationLimits,
    now: OffsetDateTime,
) -> Vec<Finding> {
    let s = if r.vm_id.as_str().is_empty() {
        r.vm_name.clone()
    } else {
        subject(&r.vm_id)
    };
    let mut out = Vec::new();
    if !r.health.is_empty() && !r.health.eq_ignore_ascii_case("normal") {
        let errors: Vec<String> = r.errors.iter().map(|(l, m)| format!("{l}: {m}")).collect();
        let why = if errors.is_empty() {
            String::new()
        } else {
            format!(" — {}", errors.join("; "))
        };
        out.push(Finding::new(
            Kind::Replication,
            "replication_unhealthy",
            &s,
            format!("replication health is {}{why}", r.health),
        ));
    }
    // One reading of Azure's states (`ProtectionState`): enabling and initial replication are
    // not judged yet; failed over, committed or unknown is not protected by replication.
    let state = ProtectionState::from_arm(&r.state);
    let replicating = state == ProtectionState::Protected;
    if !matches!(
        state,
        ProtectionState::Protected | ProtectionState::Replicating | ProtectionState::Changing
    ) {
        out.push(Finding::new(
            Kind::Replication,
            "not_replicating",
            &s,
            format!(
                "replication state is {}: the VM is not protected by replication",
                crate::model::site_recovery::replication::state_words(&r.state)
            ),
        ));
    }
    if let Some(rpo) = r.rpo_seconds.map(Duration::from_secs) {
        if replicating && rpo > limits.rpo {
            out.push(Finding::new(
                Kind::Replication,
                "rpo_breached",
                &s,
                format!(
                    "current RPO is {} (limit {})",
                    minutes(rpo),
                    minutes(limits.rpo)
                ),
            ));
        }
    }
    if replicating {
        match r.last_test_failover {
            None => out.push(Finding::new(
                Kind::Replication,
                "never_drilled",
                &s,
                "no successful test failover ever: run `azprotect drill`".into(),
            )),
            Some(t) if age(now, t) > limits.drill_max_age => out.push(Finding::new(
                Kind::Replication,
                "drill_too_old",
                &s,
                format!(
                    "the last successful test failover was {} days ago (limit {} days)",
                    age(now, t).as_secs() / 86_400,
                    limits.drill_max_age.as_secs() / 86_400
                ),
            )),
            Some(_) => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::testing::{codes, NOW, VM};
    use super::*;
    use serde_json::json;

    fn replicated(health: &str, state: &str, rpo: u64, tfo: Option<&str>) -> Replicated {
        Replicated::from_arm(&json!({"id": "/x/replicationProtectedItems/i", "properties": {
            "replicationHealth": health, "protectionState": state,
            "lastSuccessfulTestFailoverTime": tfo,
            "healthErrors": [
                {"errorCode": "161011", "errorLevel": "Warning", "errorMessage": "No successful test failover has been done on the virtual machine 'app-01'."},
                {"errorCode": "153007", "errorLevel": "Error", "errorMessage": "Replication is lagging."}],
            "providerSpecificDetails": {"instanceType": "A2A", "fabricObjectId": VM, "rpoInSeconds": rpo}}}))
        .expect("an item")
    }

    const LIMITS: ReplicationLimits = ReplicationLimits {
        rpo: Duration::from_secs(30 * 60),
        drill_max_age: Duration::from_secs(180 * 86_400),
    };

    #[test]
    fn a_healthy_drilled_replication_has_no_finding() {
        let r = replicated("Normal", "Protected", 393, Some("2026-11-01T00:00:00Z"));
        assert!(replication_findings(&r, LIMITS, NOW).is_empty());
    }

    #[test]
    fn critical_health_a_breached_rpo_and_an_old_drill_are_each_named() {
        let r = replicated(
            "Critical",
            "Protected",
            3 * 3600,
            Some("2026-01-01T00:00:00Z"),
        );
        let f = replication_findings(&r, LIMITS, NOW);
        assert_eq!(
            codes(&f),
            ["replication_unhealthy", "rpo_breached", "drill_too_old"]
        );
        // The test-failover reminder is the drill finding, not repeated as a health error.
        assert!(!f[0].message.contains("test failover"), "{}", f[0].message);
        assert!(f[0].message.contains("Replication is lagging"));
        assert!(f[1].message.contains("180m"), "{}", f[1].message);
    }

    #[test]
    fn never_drilled_is_a_finding_but_initial_replication_is_not_yet_judged() {
        let f = replication_findings(&replicated("Normal", "Protected", 30, None), LIMITS, NOW);
        assert_eq!(codes(&f), ["never_drilled"]);
        // Right after apply Azure says EnablingProtection, then the A2A phases: none is judged.
        for state in [
            "InitialReplicationInProgress",
            "EnablingProtection",
            "UnprotectedStatesBegin",
            "Reprotecting",
        ] {
            let r = replicated("Normal", state, 0, None);
            assert!(replication_findings(&r, LIMITS, NOW).is_empty(), "{state}");
        }
        let r = replicated("Normal", "FailedOver", 0, None);
        assert_eq!(
            codes(&replication_findings(&r, LIMITS, NOW)),
            ["not_replicating"]
        );
    }
}
