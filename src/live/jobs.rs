//! Backup jobs, one list call per vault. Recovery Services vaults' jobs in a time window, every
//! operation (`Backup`, and `ConfigureBackup` that says when an item was protected)
//! (`GET {vault}/backupJobs?$filter=startTime eq '…' and endTime eq '…'`, spec RecoveryServicesBackup bms.json `BackupJobs_List`; the filter's time format,
//! `%Y-%m-%d %I:%M:%S %p` in UTC, is the one Azure's CLI writes — no recording here lists jobs:
//! UNCONFIRMED). Backup vaults' jobs (`GET {vault}/backupJobs`, spec DataProtection
//! `Jobs_List`): one list per vault tells each disk's newest completed backup, where the
//! recovery points would take a list per backup instance.
//!
//! Must not import: `cli`, `plan`, `apply`, `render`, `config`, `ops`.

use crate::azure::{ArmClient, AzureError};
use crate::model::status::{DiskJob, Job};
use crate::model::{api, ArmId};
use futures::future::try_join_all;
use time::OffsetDateTime;

/// The list path of `vault`'s backup jobs started between `from` and `to`.
pub fn backup_jobs_path(vault: &ArmId, from: OffsetDateTime, to: OffsetDateTime) -> String {
    let fmt = time::macros::format_description!(
        "[year]-[month]-[day] [hour repr:12]:[minute]:[second] [period]"
    );
    let t = |x: OffsetDateTime| {
        x.to_offset(time::UtcOffset::UTC)
            .format(&fmt)
            .unwrap_or_default()
            .replace(' ', "%20")
    };
    format!(
        "{vault}/backupJobs?api-version={}&$filter=startTime%20eq%20%27{}%27%20and%20endTime%20eq%20%27{}%27",
        api::BACKUP,
        t(from),
        t(to)
    )
}

/// The backup jobs of each vault started in `[from, to]`, concurrently.
pub async fn backup_jobs(
    client: &ArmClient,
    vaults: &[ArmId],
    from: OffsetDateTime,
    to: OffsetDateTime,
) -> Result<Vec<(ArmId, Vec<Job>)>, AzureError> {
    try_join_all(vaults.iter().map(|v| async move {
        let list = client.list(&backup_jobs_path(v, from, to)).await?;
        Ok::<_, AzureError>((v.clone(), list.iter().filter_map(Job::from_arm).collect()))
    }))
    .await
}

/// The jobs of each Backup vault, concurrently.
pub async fn disk_backup_jobs(
    client: &ArmClient,
    vaults: &[ArmId],
) -> Result<Vec<DiskJob>, AzureError> {
    let lists = try_join_all(vaults.iter().map(|v| {
        let path = format!("{v}/backupJobs?api-version={}", api::DATA_PROTECTION);
        async move { client.list(&path).await }
    }))
    .await?;
    Ok(lists
        .iter()
        .flatten()
        .filter_map(DiskJob::from_arm)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn the_window_is_written_as_azures_cli_writes_it() {
        let v = ArmId::new(
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/v",
        );
        let p = backup_jobs_path(
            &v,
            datetime!(2026-12-04 13:05:09 UTC),
            datetime!(2026-12-05 01:00 UTC),
        );
        assert!(
            p.contains("startTime%20eq%20%272026-12-04%2001:05:09%20PM%27"),
            "{p}"
        );
        assert!(
            p.contains("endTime%20eq%20%272026-12-05%2001:00:00%20AM%27"),
            "{p}"
        );
    }
}
