//! Backup health of a protected VM: its item (state, last backup, newest recovery point) and
//! its vault's backup jobs.
//!
//! Jobs name their VM by `containerName` (`iaasvmcontainerv2;{rg};{vm}`, recording
//! azure-cli/test_backup_protection.yaml #50 L2729) as the vault's items do (#54; FACTS §4), so
//! a job is matched to its item by the vault and the container — two VMs of one name in two
//! resource groups do not share jobs. `entityFriendlyName` (the VM's name alone) is used only
//! for a job without a container, and only when one item of the vault has that name.
//!
//! **The first backup.** A newly protected item says `protectionState: "IRPending"` with
//! `lastBackupStatus: ""` and no recovery point until its first backup (recording #54 L2944;
//! FACTS §4), and the first scheduled backup may be up to the policy's longest gap away. So an
//! item without a recovery point is *waiting for its first backup* — information, not a finding
//! — while it was protected (its newest `ConfigureBackup` job started, #50) less than the
//! policy's longest gap plus [`RPO_GRACE`] ago, and when its policy's schedule is unknown. Once
//! that window has passed (the job list read covers it: no `ConfigureBackup` job in it means
//! protection is older) it is the finding `no_recovery_point`.

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
    /// `containerName`, lower case: `iaasvmcontainerv2;{rg};{vm}` (FACTS §4).
    pub container: String,
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
            container: container_of(&p["containerName"]),
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
    /// `containerName`, lower case (`iaasvmcontainerv2;{rg};{vm}`, recording #50 L2729).
    pub container: String,
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
            container: container_of(&p["containerName"]),
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

/// The container name a job or item carries, lower case, without the `iaasvmcontainer;`
/// prefix the vault's backup status adds (FACTS §4, "Casing").
fn container_of(v: &Value) -> String {
    let c = text(v).to_ascii_lowercase();
    match c.strip_prefix("iaasvmcontainer;") {
        Some(rest) => rest.to_string(),
        None => c,
    }
}

/// The subject (`resource_group/name`) of each job key of one vault's items: the container,
/// and the VM's name when only one item of the vault has it (for a job without a container).
pub fn job_subjects<'a>(
    items: impl IntoIterator<Item = &'a BackupItem>,
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut names: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for i in items {
        if !i.container.is_empty() {
            out.insert(i.container.clone(), subject(&i.vm_id));
        }
        names
            .entry(i.vm_name.to_ascii_lowercase())
            .or_default()
            .push(subject(&i.vm_id));
    }
    for (name, subjects) in names {
        if let [only] = subjects.as_slice() {
            out.entry(name).or_insert_with(|| only.clone());
        }
    }
    out
}

/// When each container of one vault's job list was last configured for backup (its newest
/// `ConfigureBackup` job's start): container → time.
pub fn configured_at(jobs: &[Job]) -> BTreeMap<String, OffsetDateTime> {
    let mut out: BTreeMap<String, OffsetDateTime> = BTreeMap::new();
    for j in jobs {
        let configure = j.operation.eq_ignore_ascii_case("configurebackup")
            && !j.status.eq_ignore_ascii_case("failed");
        if let (true, Some(t), false) = (configure, j.start, j.container.is_empty()) {
            let e = out.entry(j.container.clone()).or_insert(t);
            *e = (*e).max(t);
        }
    }
    out
}

/// Is `item` waiting for its first backup (see the module doc): no recovery point, and protected
/// at `configured` less than `rpo` + [`RPO_GRACE`] ago (its policy's schedule unknown: protected
/// within the job window at all). A stopped or suspended item waits for nothing.
pub fn first_backup_pending(
    item: &BackupItem,
    rpo: Option<Duration>,
    configured: Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> bool {
    let state = item.protection_state.to_ascii_lowercase();
    if item.last_recovery_point.is_some()
        || state == "protectionstopped"
        || state == "backupssuspended"
    {
        return false;
    }
    match (rpo, configured) {
        // Schedule unknown: waiting while its ConfigureBackup job is in the job window.
        (None, configured) => configured.is_some(),
        (Some(rpo), Some(t)) => age(now, t) <= rpo + RPO_GRACE,
        (Some(_), None) => false,
    }
}

/// The job window that tells whether items are still waiting for a first backup: the longest
/// of `since` and each policy's longest gap plus [`RPO_GRACE`].
pub fn job_window(since: Duration, rpos: impl IntoIterator<Item = Duration>) -> Duration {
    rpos.into_iter()
        .map(|r| r + RPO_GRACE)
        .fold(since, Duration::max)
}

/// A protected VM's backup health: its last backup failed, it has no recovery point yet, or
/// its newest point is older than the policy's longest gap between backups (`rpo`, from
/// `restore_drill::rpo`) plus [`RPO_GRACE`] for a scheduled backup to start and finish.
/// Stopped and suspended items take no backups: no RPO to keep. An item waiting for its first
/// backup ([`first_backup_pending`], `configured` from [`configured_at`]) has no
/// `no_recovery_point` finding yet.
pub fn backup_findings(
    item: &BackupItem,
    rpo: Option<Duration>,
    configured: Option<OffsetDateTime>,
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
            format!(
                "Azure Backup says the item's health is {}",
                crate::model::backup_state_words(health)
            ),
        ));
    }
    match item.last_recovery_point {
        None if first_backup_pending(item, rpo, configured, now) => {}
        None => {
            let since = match configured {
                Some(t) => format!("protected {} ago", hours(age(now, t))),
                None => "protected before the jobs read".to_string(),
            };
            out.push(Finding::new(
                Kind::Backup,
                "no_recovery_point",
                &s,
                format!(
                    "no recovery point yet ({since}; policy {} backs up at least every {}): the VM cannot be restored",
                    item.policy,
                    rpo.map(hours).unwrap_or_default()
                ),
            ))
        }
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

/// One vault's backup jobs of the `since` window that failed, or that have run longer than
/// `long`; `vm_subjects` from [`job_subjects`] of the vault's items.
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
        let subject = [j.container.clone(), j.vm_name.to_ascii_lowercase()]
            .iter()
            .filter(|k| !k.is_empty())
            .find_map(|k| vm_subjects.get(k))
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
    use time::macros::datetime;

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
        assert!(backup_findings(&i, Some(Duration::from_secs(16 * 3600)), None, NOW).is_empty());
    }

    #[test]
    fn a_point_older_than_the_rpo_plus_grace_is_a_breach_and_within_grace_is_not() {
        let rpo = Some(Duration::from_secs(24 * 3600));
        // 25 h old: within 24 h + 2 h grace.
        assert!(
            backup_findings(&item("Completed", "2026-12-04T11:00:00Z"), rpo, None, NOW).is_empty()
        );
        // 26 h 1 m old: breached.
        let f = backup_findings(&item("Completed", "2026-12-04T09:59:00Z"), rpo, None, NOW);
        assert_eq!(codes(&f), ["rpo_breached"]);
        assert!(f[0].message.contains("26.0h"), "{}", f[0].message);
        assert_eq!(f[0].subject, "rg-app/app-01");
    }

    #[test]
    fn a_failed_last_backup_and_a_never_backed_up_item_are_findings() {
        let f = backup_findings(&item("Failed", "2026-12-05T10:00:00Z"), None, None, NOW);
        assert_eq!(codes(&f), ["last_backup_failed"]);
        // Before the first backup Azure says IRPending, "" and 2001-01-01 (FACTS §4); protected
        // before the jobs read (which covers the gold policy's 16 h + 2 h grace): a finding.
        let mut fresh = item("", "2001-01-01T00:00:00Z");
        fresh.protection_state = "IRPending".into();
        let rpo = Some(Duration::from_secs(16 * 3600));
        let f = backup_findings(&fresh, rpo, None, NOW);
        assert_eq!(codes(&f), ["no_recovery_point"]);
        assert!(f[0].message.contains("16.0h"), "{}", f[0].message);
    }

    #[test]
    fn a_new_item_waits_for_its_first_backup_within_the_policys_gap_and_grace() {
        let mut fresh = item("", "2001-01-01T00:00:00Z");
        fresh.protection_state = "IRPending".into();
        let rpo = Some(Duration::from_secs(16 * 3600));
        // Protected 17 h 59 m ago: within 16 h + 2 h, waiting, not a finding.
        let configured = Some(datetime!(2026-12-04 18:01 UTC));
        assert!(first_backup_pending(&fresh, rpo, configured, NOW));
        assert!(backup_findings(&fresh, rpo, configured, NOW).is_empty());
        // 18 h 1 m ago: overdue.
        let configured = Some(datetime!(2026-12-04 17:59 UTC));
        assert!(!first_backup_pending(&fresh, rpo, configured, NOW));
        let f = backup_findings(&fresh, rpo, configured, NOW);
        assert_eq!(codes(&f), ["no_recovery_point"]);
        assert!(
            f[0].message.contains("protected 18.0h ago"),
            "{}",
            f[0].message
        );
        // An unknown schedule: waiting while its ConfigureBackup job is in the job window;
        // with none there, it is overdue.
        assert!(backup_findings(&fresh, None, Some(NOW), NOW).is_empty());
        assert_eq!(
            codes(&backup_findings(&fresh, None, None, NOW)),
            ["no_recovery_point"]
        );
        // A first backup that failed is a finding at once.
        let mut failed = fresh.clone();
        failed.last_backup_status = "Failed".into();
        let f = backup_findings(&failed, rpo, Some(NOW), NOW);
        assert_eq!(codes(&f), ["last_backup_failed"]);
        // The window the job list covers: the longest of --since and each gap plus grace.
        let h = |n: u64| Duration::from_secs(n * 3600);
        assert_eq!(job_window(h(24), [h(16), h(168)]), h(170));
        assert_eq!(job_window(h(24), [h(4)]), h(24));
    }

    #[test]
    fn the_newest_configure_backup_job_of_a_container_says_when_it_was_protected() {
        let job = |op: &str, status: &str, container: &str, start: &str| {
            Job::from_arm(
                &json!({"name": "j", "properties": {"operation": op, "status": status,
                "entityFriendlyName": "app-01", "containerName": container, "startTime": start}}),
            )
            .expect("a job")
        };
        let at = configured_at(&[
            job(
                "ConfigureBackup",
                "Completed",
                "iaasvmcontainerv2;rg-a;app-01",
                "2026-12-01T00:00:00Z",
            ),
            job(
                "ConfigureBackup",
                "Completed",
                "IaasVMContainerV2;RG-A;app-01",
                "2026-12-03T00:00:00Z",
            ),
            job(
                "ConfigureBackup",
                "Failed",
                "iaasvmcontainerv2;rg-a;app-01",
                "2026-12-04T00:00:00Z",
            ),
            job(
                "Backup",
                "Completed",
                "iaasvmcontainerv2;rg-a;app-01",
                "2026-12-05T00:00:00Z",
            ),
            job(
                "ConfigureBackup",
                "InProgress",
                "iaasvmcontainerv2;rg-b;app-01",
                "2026-12-05T11:00:00Z",
            ),
        ]);
        assert_eq!(
            at.get("iaasvmcontainerv2;rg-a;app-01"),
            Some(&datetime!(2026-12-03 00:00 UTC))
        );
        assert_eq!(
            at.get("iaasvmcontainerv2;rg-b;app-01"),
            Some(&datetime!(2026-12-05 11:00 UTC))
        );
    }

    #[test]
    fn jobs_of_two_same_named_vms_in_two_groups_are_told_apart_by_their_container() {
        let vm_item = |rg: &str| {
            BackupItem::from_arm(&json!({
                "id": format!("/subscriptions/s/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/v/backupFabrics/Azure/protectionContainers/IaasVMContainer;iaasvmcontainerv2;{rg};app-01/protectedItems/VM;iaasvmcontainerv2;{rg};app-01"),
                "properties": {"sourceResourceId": format!("/subscriptions/s/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachines/app-01"),
                    "containerName": format!("iaasvmcontainerv2;{rg};app-01"), "policyName": "gold",
                    "protectionState": "Protected", "healthStatus": "Passed"}
            }))
            .expect("an item")
        };
        let items = [vm_item("rg-a"), vm_item("rg-b")];
        let subjects = job_subjects(&items);
        // The name alone is ambiguous: not a key.
        assert!(!subjects.contains_key("app-01"), "{subjects:?}");
        let failed = Job::from_arm(&json!({"name": "f", "properties": {"operation": "Backup",
            "status": "Failed", "entityFriendlyName": "app-01",
            "containerName": "iaasvmcontainerv2;rg-b;app-01",
            "startTime": "2026-12-05T08:00:00Z", "endTime": "2026-12-05T08:30:00Z"}}))
        .expect("a job");
        let day = Duration::from_secs(86_400);
        let f = job_findings(&[failed], &subjects, day, day, NOW);
        assert_eq!(codes(&f), ["job_failed"]);
        assert_eq!(f[0].subject, "rg-b/app-01");
        // One item of the name: a job without a container still finds it.
        assert_eq!(
            job_subjects(&items[..1]).get("app-01").map(String::as_str),
            Some("rg-a/app-01")
        );
    }

    #[test]
    fn a_health_status_other_than_passed_is_named_by_its_details_or_itself() {
        let mut i = item("Completed", "2026-12-05T10:00:00Z");
        i.health_status = "ActionRequired".into();
        let f = backup_findings(&i, None, None, NOW);
        assert_eq!(codes(&f), ["health"]);
        assert!(f[0].message.contains("action required"), "{}", f[0].message);
        i.health_details = vec!["UserErrorGuestAgentStatusUnavailable: VM Agent unable…".into()];
        let f = backup_findings(&i, None, None, NOW);
        assert_eq!(codes(&f), ["health"]);
        assert!(f[0]
            .message
            .starts_with("UserErrorGuestAgentStatusUnavailable"));
    }

    #[test]
    fn a_stopped_item_keeps_no_rpo() {
        let mut i = item("Completed", "2026-01-01T00:00:00Z");
        i.protection_state = "ProtectionStopped".into();
        assert!(backup_findings(&i, Some(Duration::from_secs(3600)), None, NOW).is_empty());
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
