//! Backup health of a protected VM: its item (state, last backup, newest recovery point) and
//! its vault's backup jobs.

use super::findings::{age, hours, subject, Finding, Kind};
use super::{arm_time, text};
use crate::model::restore_drill::RPO_GRACE;
use crate::model::ArmId;
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;
use time::OffsetDateTime;

/// A protected VM as its vault's item list reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct BackupItem {
    pub item: ArmId,
    pub vm_id: ArmId,
    pub vm_name: String,
    pub policy: String,
    pub protection_state: String,
    pub health_status: String,
    /// `Completed`, `Failed`, …; empty before the first backup.
    pub last_backup_status: String,
    pub last_backup_time: Option<OffsetDateTime>,
    pub last_recovery_point: Option<OffsetDateTime>,
    /// The `healthDetails` messages that are not Azure's "OK" verdict.
    pub health_details: Vec<String>,
}

impl BackupItem {
    pub fn from_arm(v: &Value) -> Option<BackupItem> {
        let p = &v["properties"];
        let vm_id = crate::model::protected_vm::vm_of(v);
        if vm_id.as_str().is_empty() {
            return None;
        }
        let health_details = p["healthDetails"]
            .as_array()
            .into_iter()
            .flatten()
            // 400239 IaasVmHealthGreenDefault: "Backup pre-check status of this virtual machine
            // is OK." (test_backup_diskaccess_restore.yaml #1).
            .filter(|d| !text(&d["title"]).ends_with("GreenDefault"))
            .map(|d| format!("{}: {}", text(&d["title"]), text(&d["message"])))
            .collect();
        Some(BackupItem {
            item: ArmId::new(v["id"].as_str()?),
            vm_name: vm_id.name().to_string(),
            vm_id,
            policy: text(&p["policyName"]),
            protection_state: text(&p["protectionState"]),
            health_status: text(&p["healthStatus"]),
            last_backup_status: text(&p["lastBackupStatus"]),
            last_backup_time: arm_time(&p["lastBackupTime"]),
            last_recovery_point: arm_time(&p["lastRecoveryPoint"]),
            health_details,
        })
    }
}

/// A backup job as the vault's job list reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub id: String,
    pub operation: String,
    pub status: String,
    /// The VM's name (`entityFriendlyName`).
    pub vm_name: String,
    pub start: Option<OffsetDateTime>,
    pub end: Option<OffsetDateTime>,
    /// `errorCode: errorString` of each error.
    pub errors: Vec<String>,
}

impl Job {
    pub fn from_arm(v: &Value) -> Option<Job> {
        let p = &v["properties"];
        Some(Job {
            id: v["name"].as_str()?.to_string(),
            operation: text(&p["operation"]),
            status: text(&p["status"]),
            vm_name: text(&p["entityFriendlyName"]),
            start: arm_time(&p["startTime"]),
            end: arm_time(&p["endTime"]),
            errors: p["errorDetails"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|e| format!("{}: {}", text(&e["errorCode"]), text(&e["errorString"])))
                .collect(),
        })
    }
}

/// A protected VM's backup health: its last backup failed, it has no recovery point yet, or
/// its newest point is older than the policy's longest gap between backups (`rpo`, from
/// `restore_drill::rpo`) plus [`RPO_GRACE`] for a scheduled backup to start and finish.
/// Stopped and suspended items take no backups: no RPO to keep.
pub fn backup_findings(
    item: &BackupItem,
    rpo: Option<Duration>,
    now: OffsetDateTime,
) -> Vec<Finding> {
    let s = subject(&item.vm_id);
    let mut out = Vec::new();
    let state = item.protection_state.to_ascii_lowercase();
    if state == "protectionstopped" || state == "backupssuspended" {
        return out;
    }
    if item.last_backup_status.eq_ignore_ascii_case("failed") {
        let when = item
            .last_backup_time
            .map(|t| format!(" at {}", crate::model::snapshot::display_time(Some(t))))
            .unwrap_or_default();
        out.push(Finding::new(
            Kind::Backup,
            "last_backup_failed",
            &s,
            format!("the last backup{when} failed"),
        ));
    }
    for d in &item.health_details {
        out.push(Finding::new(Kind::Backup, "health", &s, d.clone()));
    }
    // `HealthStatus`: Passed, ActionRequired, ActionSuggested, Invalid (spec bms.json).
    let health = item.health_status.as_str();
    if item.health_details.is_empty()
        && !health.is_empty()
        && !health.eq_ignore_ascii_case("passed")
    {
        out.push(Finding::new(
            Kind::Backup,
            "health",
            &s,
            format!("Azure Backup says the item's health is {health}"),
        ));
    }
    match item.last_recovery_point {
        None => out.push(Finding::new(
            Kind::Backup,
            "no_recovery_point",
            &s,
            "no recovery point yet: the VM cannot be restored".into(),
        )),
        Some(t) => {
            if let Some(rpo) = rpo {
                let a = age(now, t);
                if a > rpo + RPO_GRACE {
                    out.push(Finding::new(
                        Kind::Backup,
                        "rpo_breached",
                        &s,
                        format!(
                            "the newest recovery point is {} old; policy {} backs up at least every {}",
                            hours(a),
                            item.policy,
                            hours(rpo)
                        ),
                    ));
                }
            }
        }
    }
    out
}

/// Backup jobs of the `since` window that failed, or that have run longer than `long`.
pub fn job_findings(
    jobs: &[Job],
    vm_subjects: &BTreeMap<String, String>,
    since: Duration,
    long: Duration,
    now: OffsetDateTime,
) -> Vec<Finding> {
    let mut out = Vec::new();
    for j in jobs {
        if !j.operation.eq_ignore_ascii_case("backup") {
            continue;
        }
        let Some(start) = j.start else { continue };
        let subject = vm_subjects
            .get(&j.vm_name.to_ascii_lowercase())
            .cloned()
            .unwrap_or_else(|| j.vm_name.clone());
        let ended_in_window = j.end.unwrap_or(now) >= now - since;
        if j.status.eq_ignore_ascii_case("failed") && ended_in_window {
            let why = if j.errors.is_empty() {
                String::new()
            } else {
                format!(": {}", j.errors.join("; "))
            };
            out.push(Finding::new(
                Kind::Backup,
                "job_failed",
                &subject,
                format!(
                    "the backup started {} failed{why} (job {})",
                    crate::model::snapshot::display_time(Some(start)),
                    j.id
                ),
            ));
        } else if j.status.eq_ignore_ascii_case("inprogress") && age(now, start) > long {
            out.push(Finding::new(
                Kind::Backup,
                "job_long_running",
                &subject,
                format!(
                    "backup job {} has been running for {} (longer than {})",
                    j.id,
                    hours(age(now, start)),
                    hours(long)
                ),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::testing::{codes, NOW, VM};
    use super::*;
    use serde_json::json;
    use std::collections::BTreeMap;

    fn item(status: &str, point: &str) -> BackupItem {
        BackupItem::from_arm(&json!({
            "id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/v/backupFabrics/Azure/protectionContainers/c/protectedItems/vm;x",
            "properties": {"sourceResourceId": VM, "policyName": "gold", "protectionState": "Protected",
                "healthStatus": "Passed", "lastBackupStatus": status, "lastBackupTime": point,
                "lastRecoveryPoint": point,
                "healthDetails": [{"code": 400239, "title": "IaasVmHealthGreenDefault", "message": "Backup pre-check status of this virtual machine is OK."}]}
        }))
        .expect("an item")
    }

    #[test]
    fn a_fresh_completed_backup_is_healthy_and_the_green_verdict_is_not_a_finding() {
        let i = item("Completed", "2026-12-05T08:00:00.1234567Z");
        assert!(i.health_details.is_empty());
        assert!(backup_findings(&i, Some(Duration::from_secs(16 * 3600)), NOW).is_empty());
    }

    #[test]
    fn a_point_older_than_the_rpo_plus_grace_is_a_breach_and_within_grace_is_not() {
        let rpo = Some(Duration::from_secs(24 * 3600));
        // 25 h old: within 24 h + 2 h grace.
        assert!(backup_findings(&item("Completed", "2026-12-04T11:00:00Z"), rpo, NOW).is_empty());
        // 26 h 1 m old: breached.
        let f = backup_findings(&item("Completed", "2026-12-04T09:59:00Z"), rpo, NOW);
        assert_eq!(codes(&f), ["rpo_breached"]);
        assert!(f[0].message.contains("26.0h"), "{}", f[0].message);
        assert_eq!(f[0].subject, "rg-app/app-01");
    }

    #[test]
    fn a_failed_last_backup_and_a_never_backed_up_item_are_findings() {
        let f = backup_findings(&item("Failed", "2026-12-05T10:00:00Z"), None, NOW);
        assert_eq!(codes(&f), ["last_backup_failed"]);
        // Before the first backup Azure says "" and 2001-01-01 (FACTS §4).
        let f = backup_findings(&item("", "2001-01-01T00:00:00Z"), None, NOW);
        assert_eq!(codes(&f), ["no_recovery_point"]);
    }

    #[test]
    fn a_health_status_other_than_passed_is_named_by_its_details_or_itself() {
        let mut i = item("Completed", "2026-12-05T10:00:00Z");
        i.health_status = "ActionRequired".into();
        let f = backup_findings(&i, None, NOW);
        assert_eq!(codes(&f), ["health"]);
        assert!(f[0].message.contains("ActionRequired"));
        i.health_details = vec!["UserErrorGuestAgentStatusUnavailable: VM Agent unable…".into()];
        let f = backup_findings(&i, None, NOW);
        assert_eq!(codes(&f), ["health"]);
        assert!(f[0]
            .message
            .starts_with("UserErrorGuestAgentStatusUnavailable"));
    }

    #[test]
    fn a_stopped_item_keeps_no_rpo() {
        let mut i = item("Completed", "2026-01-01T00:00:00Z");
        i.protection_state = "ProtectionStopped".into();
        assert!(backup_findings(&i, Some(Duration::from_secs(3600)), NOW).is_empty());
    }

    #[test]
    fn failed_jobs_count_in_the_window_and_long_running_ones_past_the_limit() {
        let job = |id: &str, status: &str, start: &str, end: Option<&str>| {
            Job::from_arm(&json!({"name": id, "properties": {"operation": "Backup", "status": status,
                "entityFriendlyName": "APP-01", "startTime": start, "endTime": end,
                "errorDetails": [{"errorCode": "UserErrorGuestAgentStatusUnavailable", "errorString": "VM Agent unable to communicate with the Azure Backup Service."}]}}))
            .expect("a job")
        };
        let jobs = [
            job(
                "old",
                "Failed",
                "2026-12-01T00:00:00Z",
                Some("2026-12-01T01:00:00Z"),
            ),
            job(
                "new",
                "Failed",
                "2026-12-05T02:00:00Z",
                Some("2026-12-05T03:00:00Z"),
            ),
            job("slow", "InProgress", "2026-12-04T20:00:00Z", None),
            job("quick", "InProgress", "2026-12-05T11:00:00Z", None),
            job(
                "fine",
                "Completed",
                "2026-12-05T09:00:00Z",
                Some("2026-12-05T09:30:00Z"),
            ),
        ];
        let subjects = BTreeMap::from([("app-01".to_string(), "rg-app/app-01".to_string())]);
        let day = Duration::from_secs(24 * 3600);
        let f = job_findings(&jobs, &subjects, day, Duration::from_secs(12 * 3600), NOW);
        assert_eq!(codes(&f), ["job_failed", "job_long_running"]);
        assert!(f[0]
            .message
            .contains("UserErrorGuestAgentStatusUnavailable"));
        assert_eq!(f[0].subject, "rg-app/app-01");
    }
}
