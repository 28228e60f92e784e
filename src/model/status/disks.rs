//! Disk Backup health: each disk's newest completed backup (from its Backup vault's job list)
//! against its policy's interval.

use super::arm_time;
use super::findings::{age, hours, subject, Finding, Kind};
use super::text;
use crate::model::restore_drill::RPO_GRACE;
use crate::model::ArmId;
use serde_json::Value;
use std::collections::BTreeMap;
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
}
