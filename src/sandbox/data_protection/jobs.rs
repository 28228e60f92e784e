//! Disk Backup jobs (`{vault}/backupJobs/{id}`): a restore's (`restore`), and an on-demand
//! backup's (`actions`), kept by name (lower case) in the sandbox's state and answered as
//! recorded.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::super::lro;
use super::super::state::State;

/// What a Disk Backup job does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum JobKind {
    #[default]
    Restore,
    /// An on-demand backup (`backupInstances/{i}/backup`): `point` is the point it takes at its
    /// end, `destination` empty.
    Backup,
}

/// A Disk Backup restore or on-demand backup job.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Job {
    #[serde(default)]
    pub kind: JobKind,
    pub id: String,
    pub vault_key: String,
    pub instance_id: String,
    pub disk_id: String,
    pub destination: String,
    pub point: String,
    pub point_ms: i64,
    pub start_ms: i64,
    pub duration_ms: i64,
    pub failed: Option<Value>,
    /// Properties fixed when the job starts (an on-demand backup's policy, vault, region…),
    /// answered as they are.
    #[serde(default)]
    pub facts: Value,
}

/// `GET {vault}/backupJobs/{id}`, shaped as recorded.
pub fn job_body(j: &Job, now: i64) -> Value {
    let (done, status, elapsed) =
        super::super::jobs::progress(j.start_ms, j.duration_ms, j.failed.is_some(), now);
    if j.kind == JobKind::Backup {
        return backup_job_body(j, done, status);
    }
    json!({
        "id": j.id,
        "name": j.id.rsplit('/').next().unwrap_or_default(),
        "type": "Microsoft.DataProtection/backupVaults/backupJobs",
        "properties": {
            "backupInstanceId": j.instance_id,
            "dataSourceId": j.disk_id,
            "dataSourceType": "Microsoft.Compute/disks",
            "operationCategory": "Restore",
            "operation": "Restore",
            "status": status,
            "isUserTriggered": true,
            "sourceDataStoreType": "OperationalStore",
            "startTime": lro::fmt_time(j.start_ms),
            "endTime": done.then(|| lro::fmt_time(j.start_ms + j.duration_ms)),
            "duration": lro::fmt_duration(elapsed),
            "errorDetails": if done { j.failed.clone().map(|e| json!([e])) } else { None },
            "extendedInfo": {
                "sourceRecoverPoint": {"recoveryPointID": j.point, "recoveryPointTime": lro::fmt_time(j.point_ms)},
                "recoveryDestination": j.destination,
                "subTasks": [{"taskId": 1, "taskName": "Trigger Restore", "taskStatus": if done { status } else { "InProgress" }}],
            },
        }
    })
}

/// An on-demand backup's job as recorded (DPP create_backup_delete_disk #22–#40): `duration`
/// `PT0S` and no `endTime` while it runs, the point it took in `targetRecoverPoint` (time
/// `0001-01-01T00:00:00Z`, sic) once completed; `facts` holds the policy, vault and disk
/// details named when it started.
fn backup_job_body(j: &Job, done: bool, status: &str) -> Value {
    let name = j.id.rsplit('/').next().unwrap_or_default();
    let activity = super::super::inventory::stable_guid(&j.id);
    let end_ms = j.start_ms + j.duration_ms;
    let completed = done && j.failed.is_none();
    let mut p = json!({
        "activityID": activity,
        "backupInstanceId": j.instance_id,
        "dataSourceId": j.disk_id,
        "dataSourceSetName": null,
        "sourceDataStoreName": null,
        "sourceDataStoreType": null,
        "destinationDataStoreName": completed.then_some("OperationalTierStore"),
        "progressEnabled": false,
        "etag": format!("W/\"datetime'{}'\"", lro::fmt_time(if done { end_ms } else { j.start_ms }).replace(':', "%3A")),
        "startTime": lro::fmt_time(j.start_ms),
        "endTime": done.then(|| lro::fmt_time(end_ms)),
        "dataSourceType": "Microsoft.Compute/disks",
        "operationCategory": "Backup",
        "operation": "Backup",
        "status": status,
        "restoreType": null,
        "isUserTriggered": true,
        "rehydrationPriority": null,
        "supportedActions": [""],
        "duration": lro::fmt_duration(if done { j.duration_ms } else { 0 }),
        "progressUrl": null,
        "isCrossRegionRestore": null,
        "errorDetails": if done { j.failed.clone().map(|e| json!([e])) } else { None },
        "extendedInfo": {
            "backupInstanceState": null,
            "dataTransferredInBytes": null,
            "targetRecoverPoint": completed.then(|| json!({"recoveryPointID": j.point, "recoveryPointTime": "0001-01-01T00:00:00Z"})),
            "sourceRecoverPoint": null,
            "recoveryDestination": null,
            "subTasks": [{
                "taskId": 1, "taskName": "Trigger Backup",
                "taskStatus": if done { status } else { "InProgress" },
                "taskProgress": null,
                "additionalDetails": done.then(|| json!({
                    "OriginalDatasourceSizeInBytes": j.facts["sizeBytes"].as_u64().unwrap_or(0).to_string(),
                    "TaskId": activity,
                    "DatasourceType": "Microsoft.Compute/disks",
                })),
            }],
            "additionalDetails": {"RetentionTag": "default"},
            "warningDetails": null,
        },
    });
    if let Some(facts) = j.facts["properties"].as_object() {
        for (k, v) in facts {
            p[k] = v.clone();
        }
    }
    json!({
        "properties": p,
        "id": j.id,
        "name": name,
        "type": "Microsoft.DataProtection/backupVaults/backupJobs",
    })
}

/// Keep `job` under its name (lower case), as `GET {vault}/backupJobs/{id}` finds it.
pub fn insert(st: &mut State, job: Job) {
    let name = job
        .id
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    st.data_protection.jobs.insert(name, job);
}
