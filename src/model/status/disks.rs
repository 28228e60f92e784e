//! Disk Backup health: each disk's newest completed backup (from its Backup vault's job list)
//! against its policy's interval.

use super::arm_time;
use super::findings::{age, hours, subject, Finding, Kind};
use super::text;
use crate::model::restore_drill::RPO_GRACE;
use crate::model::ArmId;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;
use time::OffsetDateTime;

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

/// The disks whose newest backup job failed (lower-case ids): a disk with no recovery point
/// and a failed backup is not waiting for its first backup, its backups fail.
pub fn failing_disk_backups(jobs: &[DiskJob]) -> BTreeSet<String> {
    let mut newest: BTreeMap<&str, (OffsetDateTime, bool)> = BTreeMap::new();
    for j in jobs
        .iter()
        .filter(|j| j.category.eq_ignore_ascii_case("backup"))
    {
        let (Some(t), failed) = (j.start, j.status.eq_ignore_ascii_case("failed")) else {
            continue;
        };
        let e = newest.entry(j.disk.as_str()).or_insert((t, failed));
        if t >= e.0 {
            *e = (t, failed);
        }
    }
    newest
        .into_iter()
        .filter(|(_, (_, failed))| *failed)
        .map(|(d, _)| d.to_string())
        .collect()
}

/// A Disk Backup policy's interval (`every`: `4h`, `1d`), as a duration (the file's spelling,
/// parsed once: [`crate::model::disk_backup::policy::every_hours`]).
pub fn disk_interval(every: &str) -> Option<Duration> {
    crate::model::disk_backup::policy::every_hours(every)
        .map(|h| Duration::from_secs(u64::from(h) * 3600))
}

/// A protected disk's health: its newest recovery point older than the policy's interval plus
/// [`RPO_GRACE`], or no point and its last backup job failed. A disk with no point and no
/// failed backup is waiting for its first backup — information, not a finding
/// ([`disk_first_backup_pending`]): a backup instance says `ProtectionConfigured` and neither it
/// nor the vault's job list says when it was protected, so no grace window can be measured.
pub fn disk_findings(
    disk: &ArmId,
    interval: Option<Duration>,
    newest: Option<OffsetDateTime>,
    failing: bool,
    now: OffsetDateTime,
) -> Vec<Finding> {
    let s = subject(disk);
    match (newest, interval) {
        (None, _) if failing => vec![Finding::new(
            Kind::DiskBackup,
            "backup_failed",
            &s,
            "no recovery point: its last backup failed".into(),
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

/// The note of a protected disk with no recovery point yet; `None` once it has one, or when
/// its backups fail (a finding of [`disk_findings`]).
pub fn disk_first_backup_pending(
    disk: &ArmId,
    newest: Option<OffsetDateTime>,
    failing: bool,
) -> Option<Finding> {
    (newest.is_none() && !failing).then(|| {
        Finding::new(
            Kind::DiskBackup,
            "first_backup_pending",
            &subject(disk),
            "no recovery point yet (first backup pending)".into(),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::super::testing::{codes, NOW};
    use super::*;
    use serde_json::json;
    use time::macros::datetime;

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
        assert_eq!(disk_interval("3h"), None, "not a Disk Backup interval");
        // 4 h old: within 4 h + 2 h grace; 7 h old: breached; none yet: waiting, a note.
        assert!(disk_findings(
            &disk,
            every,
            Some(datetime!(2026-12-05 08:00 UTC)),
            false,
            NOW
        )
        .is_empty());
        let f = disk_findings(
            &disk,
            every,
            Some(datetime!(2026-12-05 05:00 UTC)),
            false,
            NOW,
        );
        assert_eq!(codes(&f), ["rpo_breached"]);
        assert_eq!(f[0].kind, Kind::DiskBackup);
        assert!(disk_findings(&disk, every, None, false, NOW).is_empty());
        let note = disk_first_backup_pending(&disk, None, false).expect("a note");
        assert_eq!(
            (note.kind, note.code),
            (Kind::DiskBackup, "first_backup_pending")
        );
        assert!(disk_first_backup_pending(&disk, Some(NOW), false).is_none());
        // No point and the last backup failed: a finding, not a note.
        let failing = failing_disk_backups(&[
            job("Failed", "2026-12-05T04:00:00Z"),
            job("Failed", "2026-12-05T08:00:00Z"),
        ]);
        assert!(failing.contains("/s/rg/disks/d"));
        let f = disk_findings(&disk, every, None, true, NOW);
        assert_eq!(codes(&f), ["backup_failed"]);
        assert!(disk_first_backup_pending(&disk, None, true).is_none());
        // A later completed backup ends it.
        let recovered = failing_disk_backups(&[
            job("Failed", "2026-12-05T04:00:00Z"),
            job("Completed", "2026-12-05T08:00:00Z"),
        ]);
        assert!(recovered.is_empty());
    }
}
