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
//! Files: [`findings`] (the finding type and its helpers), [`backup`] (protected items and
//! backup jobs), [`replication`], [`disks`] (Disk Backup), [`coverage`]; the report's rows here.
//!
//! Must not import: `azure`, `cli`, `ops`.

mod backup;
mod coverage;
mod disks;
mod findings;
mod replication;

pub use backup::{
    backup_findings, configured_at, first_backup_pending, job_findings, job_subjects, job_window,
    BackupItem, Job,
};
pub use coverage::{coverage_findings, ScopeVm};
pub use disks::{
    disk_findings, disk_first_backup_pending, disk_interval, failing_disk_backups,
    newest_disk_backups, DiskJob,
};
pub use findings::{hours, subject, Finding, Kind};
pub use replication::{replication_findings, Replicated, ReplicationLimits};

use super::ArmId;
use serde::Serialize;
use serde_json::Value;
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

pub(super) fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().trim().to_string()
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
    /// Information, not findings: items and disks waiting for their first backup
    /// (`first_backup_pending`).
    pub notes: Vec<Finding>,
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
mod testing {
    use super::Finding;
    use time::macros::datetime;
    use time::OffsetDateTime;

    pub const NOW: OffsetDateTime = datetime!(2026-12-05 12:00 UTC);
    pub const VM: &str =
        "/subscriptions/s/resourceGroups/rg-app/providers/Microsoft.Compute/virtualMachines/app-01";

    pub fn codes(f: &[Finding]) -> Vec<&str> {
        f.iter().map(|f| f.code).collect()
    }
}
