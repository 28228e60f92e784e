//! Is protection working? Pure finding rules of `azprotect status`: what Azure reports about
//! each protected VM, replicated VM and backup job (read from the list bodies `live` already
//! reads) in, findings out. Reading Azure: `live` and `ops::status`; formatting: `render::status`.
//!
//! Fields, as Azure sends them:
//! - a protected item of a `backupProtectedItems` list: `protectionState`, `healthStatus`,
//!   `lastBackupStatus` (`Completed`; `""` before the first backup), `lastBackupTime`,
//!   `lastRecoveryPoint` (recordings: azure-cli/test_backup_protection.yaml #54,
//!   test_backup_diskaccess_restore.yaml #1; FACTS §4), `healthDetails[{code, title, message}]`
//!   and `healthStatus` (`Passed`, `ActionRequired`, `ActionSuggested`, `Invalid`; spec
//!   RecoveryServicesBackup bms.json `AzureIaaSVMProtectedItem`, `HealthStatus`);
//! - a backup job of a `backupJobs` list: `operation`, `status` (`InProgress`, `Completed`,
//!   `Failed`, …), `entityFriendlyName`, `startTime`, `endTime`, `errorDetails[{errorCode,
//!   errorString}]` (spec bms.json `AzureIaaSVMJob`, example Common/GetJobDetails.json);
//! - a replicated item of a `replicationProtectedItems` list: `replicationHealth` (`Normal`,
//!   `Warning`, `Critical`), `healthErrors[{errorCode, errorLevel, errorMessage}]`,
//!   `protectionState`, `lastSuccessfulTestFailoverTime`, and A2A's `rpoInSeconds` and
//!   `lastRpoCalculatedTime` (recording A2A #73 L3689: `Normal` with the "no successful test
//!   failover" warning, `rpoInSeconds` 393; FACTS §2).
//!
//! Must not import: `azure`, `cli`, `ops`.

use super::restore_drill::RPO_GRACE;
use super::site_recovery::replication::ProtectionState;
use super::ArmId;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;
use time::OffsetDateTime;

/// The health Azure reports, kept by the live readers from the lists they read anyway (not part
/// of the plan's fingerprint: health changes with every backup).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Health {
    /// Protected items of declared Recovery Services vaults.
    pub backup: Vec<BackupItem>,
    /// Replicated items of the Site Recovery vaults the file names.
    pub replication: Vec<Replicated>,
}

/// Azure's time strings: RFC 3339, or without an offset (UTC, as Azure Backup writes some).
pub fn arm_time(v: &Value) -> Option<OffsetDateTime> {
    use time::format_description::well_known::Rfc3339;
    let s = v.as_str()?.trim();
    if s.is_empty() {
        return None;
    }
    OffsetDateTime::parse(s, &Rfc3339)
        .or_else(|_| OffsetDateTime::parse(&format!("{s}Z"), &Rfc3339))
        .ok()
        // Azure writes "2001-01-01T00:00:00Z" (and 0001-…) for "never".
        .filter(|t| t.year() > 2001)
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().trim().to_string()
}

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
        let vm_id = super::protected_vm::vm_of(v);
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

/// A Backup vault's job as its job list reports it (spec DataProtection `Jobs_List`,
/// `AzureBackupJob`: `operationCategory`, `status`, `dataSourceId`, `startTime`, `endTime`).
#[derive(Debug, Clone, PartialEq)]
pub struct DiskJob {
    /// The disk's id (`dataSourceId`), lower case.
    pub disk: String,
    pub category: String,
    pub status: String,
    pub start: Option<OffsetDateTime>,
}

impl DiskJob {
    pub fn from_arm(v: &Value) -> Option<DiskJob> {
        let p = &v["properties"];
        Some(DiskJob {
            disk: p["dataSourceId"].as_str()?.to_ascii_lowercase(),
            category: text(&p["operationCategory"]),
            status: text(&p["status"]),
            start: arm_time(&p["startTime"]),
        })
    }
}

/// When each disk's newest completed backup started (its newest recovery point), from a Backup
/// vault's job list: disk id (lower case) → time.
pub fn newest_disk_backups(jobs: &[DiskJob]) -> BTreeMap<String, OffsetDateTime> {
    let mut out: BTreeMap<String, OffsetDateTime> = BTreeMap::new();
    for j in jobs {
        let done = j.category.eq_ignore_ascii_case("backup")
            && (j.status.eq_ignore_ascii_case("completed")
                || j.status.eq_ignore_ascii_case("completedwithwarnings"));
        if let (true, Some(t)) = (done, j.start) {
            let e = out.entry(j.disk.clone()).or_insert(t);
            *e = (*e).max(t);
        }
    }
    out
}

/// A Disk Backup policy's interval (`every`: `4h`, `1d`), as a duration.
pub fn disk_interval(every: &str) -> Option<Duration> {
    let (n, unit) = every.split_at(every.len().checked_sub(1)?);
    let n: u64 = n.parse().ok()?;
    match unit {
        "h" => Some(Duration::from_secs(n * 3600)),
        "d" => Some(Duration::from_secs(n * 86_400)),
        _ => None,
    }
}

/// A protected disk's health: no recovery point yet, or its newest older than the policy's
/// interval plus [`RPO_GRACE`].
pub fn disk_findings(
    disk: &ArmId,
    interval: Option<Duration>,
    newest: Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> Vec<Finding> {
    let s = subject(disk);
    match (newest, interval) {
        (None, _) => vec![Finding::new(
            Kind::DiskBackup,
            "no_recovery_point",
            &s,
            "no completed backup of the disk: it cannot be restored".into(),
        )],
        (Some(t), Some(every)) if age(now, t) > every + RPO_GRACE => vec![Finding::new(
            Kind::DiskBackup,
            "rpo_breached",
            &s,
            format!(
                "the newest recovery point is {} old; its policy backs up every {}",
                hours(age(now, t)),
                hours(every)
            ),
        )],
        _ => vec![],
    }
}

/// The four kinds of finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Coverage,
    Backup,
    Replication,
    DiskBackup,
}

impl Kind {
    pub const ALL: [Kind; 4] = [
        Kind::Coverage,
        Kind::Backup,
        Kind::Replication,
        Kind::DiskBackup,
    ];
    pub fn title(self) -> &'static str {
        match self {
            Kind::Coverage => "Coverage",
            Kind::Backup => "Backup health",
            Kind::Replication => "Replication health",
            Kind::DiskBackup => "Disk backup health",
        }
    }
}

/// One thing that is not working, about one VM (or disk).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Finding {
    pub kind: Kind,
    /// A stable name for the rule (`unprotected`, `rpo_breached`, …).
    pub code: &'static str,
    /// The VM (or disk) name, `resource_group/name`.
    pub subject: String,
    pub message: String,
}

impl Finding {
    fn new(kind: Kind, code: &'static str, subject: &str, message: String) -> Finding {
        Finding {
            kind,
            code,
            subject: subject.to_string(),
            message,
        }
    }
}

/// `resource_group/name` of a VM (or disk) id.
pub fn subject(id: &ArmId) -> String {
    format!("{}/{}", id.resource_group().unwrap_or_default(), id.name())
}

/// Hours, one decimal, for messages.
pub fn hours(d: Duration) -> String {
    format!("{:.1}h", d.as_secs_f64() / 3600.0)
}

fn age(now: OffsetDateTime, t: OffsetDateTime) -> Duration {
    Duration::try_from(now - t).unwrap_or_default()
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
            .map(|t| format!(" at {}", super::snapshot::display_time(Some(t))))
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
                    super::snapshot::display_time(Some(start)),
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
                r.state
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

fn minutes(d: Duration) -> String {
    format!("{}m", d.as_secs().div_ceil(60))
}

/// A VM the file's scope looks at: in a declared vault's region and in a resource group the
/// file's lists or selectors name (or, with `--all`, anywhere in its subscriptions).
#[derive(Debug, Clone, PartialEq)]
pub struct ScopeVm {
    pub id: ArmId,
    /// Does the file want it protected (listed, or picked by a selector)?
    pub declared: bool,
    /// Is it protected (by any vault)?
    pub protected: bool,
    /// Does it carry an exemption tag (`--exempt-tag`, default `backup=none`)?
    pub exempt: bool,
}

/// Coverage: VMs the file wants protected that are not, VMs in scope that nothing protects,
/// and VMs protected in the file's vaults that the file does not declare (`outside`).
pub fn coverage_findings(scope: &[ScopeVm], outside: &[(ArmId, String)]) -> Vec<Finding> {
    let mut out = Vec::new();
    for vm in scope.iter().filter(|v| !v.protected) {
        let s = subject(&vm.id);
        if vm.declared {
            out.push(Finding::new(
                Kind::Coverage,
                "declared_not_protected",
                &s,
                "the file protects it but Azure does not: run `azprotect apply`".into(),
            ));
        } else if !vm.exempt {
            out.push(Finding::new(
                Kind::Coverage,
                "unprotected",
                &s,
                "in scope (the vault's region and a resource group the file looks at) with no backup"
                    .into(),
            ));
        }
    }
    for (vm, vault) in outside {
        out.push(Finding::new(
            Kind::Coverage,
            "protected_outside_file",
            &subject(vm),
            format!("protected in vault {vault} but not declared by the file"),
        ));
    }
    out
}

/// A protected VM's backup, one row of the per-VM table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BackupRow {
    pub vault: String,
    pub policy: String,
    pub protection_state: String,
    pub last_backup_status: String,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_backup_time: Option<OffsetDateTime>,
    /// Age of the newest recovery point, and the policy's longest gap between backups, in hours.
    pub newest_point_age_hours: Option<f64>,
    pub rpo_hours: Option<f64>,
}

/// A replicated VM's replication, one row of the per-VM table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReplicationRow {
    pub vault: String,
    pub health: String,
    pub state: String,
    pub rpo_seconds: Option<u64>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_test_failover: Option<OffsetDateTime>,
}

/// One VM of the report: what protects it and how many findings it has.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VmRow {
    /// `resource_group/name`.
    pub vm: String,
    pub vm_id: ArmId,
    pub backup: Option<BackupRow>,
    pub replication: Option<ReplicationRow>,
    pub findings: usize,
}

/// A protected disk, one row of the disk table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DiskRow {
    /// `resource_group/name`.
    pub disk: String,
    pub disk_id: ArmId,
    pub vault: String,
    pub policy: String,
    #[serde(with = "time::serde::rfc3339::option")]
    pub newest_point: Option<OffsetDateTime>,
    pub newest_point_age_hours: Option<f64>,
    pub rpo_hours: Option<f64>,
}

/// `azprotect status`'s report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    #[serde(with = "time::serde::rfc3339")]
    pub checked_at: OffsetDateTime,
    pub healthy: bool,
    /// The job window (`--since`) and drill age limit (`--drill-max-age`) applied.
    pub since_hours: f64,
    pub drill_max_age_days: u64,
    /// ARM requests the check made, in all.
    pub requests: u64,
    pub findings: Vec<Finding>,
    pub vms: Vec<VmRow>,
    /// Disks of the file's Backup vaults (Disk Backup).
    pub disks: Vec<DiskRow>,
}

impl Report {
    /// Findings of one kind.
    pub fn of(&self, kind: Kind) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(move |f| f.kind == kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-12-05 12:00 UTC);
    const VM: &str =
        "/subscriptions/s/resourceGroups/rg-app/providers/Microsoft.Compute/virtualMachines/app-01";

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

    fn codes(f: &[Finding]) -> Vec<&str> {
        f.iter().map(|f| f.code).collect()
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

    #[test]
    fn a_disk_is_judged_by_its_newest_completed_backup_job() {
        let job = |status: &str, start: &str| {
            DiskJob::from_arm(&json!({"properties": {"dataSourceId": "/S/rg/disks/D", "operationCategory": "Backup", "status": status, "startTime": start}}))
                .expect("a job")
        };
        let newest = newest_disk_backups(&[
            job("Completed", "2026-12-05T04:00:00Z"),
            job("Completed", "2026-12-05T08:00:00Z"),
            job("Failed", "2026-12-05T11:00:00Z"),
        ]);
        assert_eq!(
            newest.get("/s/rg/disks/d"),
            Some(&datetime!(2026-12-05 08:00 UTC))
        );
        let disk =
            ArmId::new("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/disks/d");
        let every = disk_interval("4h");
        assert_eq!(every, Some(Duration::from_secs(4 * 3600)));
        assert_eq!(disk_interval("1d"), Some(Duration::from_secs(86_400)));
        assert_eq!(disk_interval("x"), None);
        // 4 h old: within 4 h + 2 h grace; 7 h old: breached; none: not restorable.
        assert!(disk_findings(&disk, every, Some(datetime!(2026-12-05 08:00 UTC)), NOW).is_empty());
        let f = disk_findings(&disk, every, Some(datetime!(2026-12-05 05:00 UTC)), NOW);
        assert_eq!(codes(&f), ["rpo_breached"]);
        assert_eq!(f[0].kind, Kind::DiskBackup);
        assert_eq!(
            codes(&disk_findings(&disk, every, None, NOW)),
            ["no_recovery_point"]
        );
    }

    #[test]
    fn coverage_names_the_unapplied_the_unprotected_and_the_undeclared() {
        let id = |n: &str| {
            ArmId::new(format!("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/{n}"))
        };
        let vm = |n: &str, declared, protected, exempt| ScopeVm {
            id: id(n),
            declared,
            protected,
            exempt,
        };
        let scope = [
            vm("ok", true, true, false),
            vm("unapplied", true, false, false),
            vm("forgotten", false, false, false),
            vm("opted-out", false, false, true),
        ];
        let f = coverage_findings(&scope, &[(id("extra"), "rsv".into())]);
        let got: Vec<(&str, &str)> = f.iter().map(|f| (f.code, f.subject.as_str())).collect();
        assert_eq!(
            got,
            [
                ("declared_not_protected", "rg/unapplied"),
                ("unprotected", "rg/forgotten"),
                ("protected_outside_file", "rg/extra")
            ]
        );
    }
}
