//! Recovery points of Azure Disk backup instances, generated lazily from the policy schedule
//! over simulated time (`time_scale`: an Azure hour lasts `3600 s × time_scale`), so the state
//! only stores the schedule segments. Each point has a matching incremental snapshot in the
//! instance's snapshot resource group (listed by `snapshots.rs`).
//!
//! A schedule segment starts when protection is configured (or the policy changes, or protection
//! resumes) and ends when it stops. Points fall at `start + k × interval` (k ≥ 1: Azure takes the
//! first scheduled backup one interval after configuration — UNCONFIRMED), expire `retention`
//! after they were taken (the retention of the policy they were taken under), and at most the
//! newest 450 are kept (a policy keeps at most 1 year or 450 disk snapshots; 500 is the
//! incremental snapshot limit per disk: Microsoft Learn, "Azure Disk Backup support matrix").
//! Stop protection retains points forever.
//!
//! As recorded (azure-cli-extensions dataprotection test_dataprotection_recovery_point_show.yaml,
//! 2023): a point's name, `recoveryPointId` and `friendlyName` are one 32-digit hex id; a list
//! answers `metaData: null`, a single point's GET its snapshot as JSON text (`snapshotName`
//! `AzureBackup_<guid>_<time>`, a GUID of its own, not the point's, and the time the snapshot
//! was taken, `-` for `:`; `snapshotRGName`, `snapshotSubscriptionId`, the disk's details).

use serde_json::{json, Value};

use super::super::inventory::stable_guid;
use super::super::lro;
use super::super::state::State;
use super::Instance;

pub const MAX_POINTS: usize = 450;

#[derive(Debug, Clone)]
pub struct Rp {
    pub id: String,
    pub time_ms: i64,
    pub expiry_ms: Option<i64>,
    pub policy_name: String,
}

pub fn points(inst: &Instance, now: i64) -> Vec<Rp> {
    let forever = inst.state == "Stopped";
    // Expiry is judged at the stop time for stopped instances (what was alive then stays).
    let judge = if forever {
        inst.stopped_ms.unwrap_or(now).min(now)
    } else {
        now
    };
    let stop = inst.deleted_ms.unwrap_or(i64::MAX).min(now);
    let mut out: Vec<(Rp, i64)> = Vec::new();
    let mk = |t: i64, retention: i64, policy: &str| {
        (
            Rp {
                id: point_id(&inst.disk_id, t),
                time_ms: t,
                expiry_ms: (!forever).then_some(t + retention),
                policy_name: policy.to_string(),
            },
            t + retention,
        )
    };
    for seg in &inst.segments {
        let interval = seg.interval_ms.max(1);
        let end = seg.end_ms.unwrap_or(i64::MAX).min(stop);
        if end < seg.start_ms + interval {
            continue;
        }
        let k_max = (end - seg.start_ms) / interval;
        let mut k_min = 1;
        // First k whose point has not expired: start + k·i + retention > judge.
        let lim = judge - seg.retention_ms - seg.start_ms;
        if lim >= 0 {
            k_min = k_min.max(lim / interval + 1);
        }
        k_min = k_min.max(k_max - MAX_POINTS as i64 + 1);
        for k in k_min..=k_max {
            out.push(mk(
                seg.start_ms + k * interval,
                seg.retention_ms,
                &seg.policy_name,
            ));
        }
    }
    for (t, retention, policy) in &inst.adhoc {
        if *t <= stop {
            out.push(mk(*t, *retention, policy));
        }
    }
    out.retain(|(_, expiry)| *expiry > judge);
    let mut out: Vec<Rp> = out.into_iter().map(|(p, _)| p).collect();
    out.sort_by_key(|p| std::cmp::Reverse(p.time_ms));
    out.dedup_by(|a, b| a.time_ms == b.time_ms);
    out.truncate(MAX_POINTS);
    out
}

/// The 32-hex-digit id of the point of the disk `disk_id` taken at `time_ms`.
pub fn point_id(disk_id: &str, time_ms: i64) -> String {
    stable_guid(&format!("{disk_id}/rp/{time_ms}")).replace('-', "")
}

/// The name Azure Backup gives the snapshot of `rp` of the disk `disk_id`.
pub fn snapshot_name(disk_id: &str, rp: &Rp) -> String {
    let guid = stable_guid(&format!("{disk_id}/snapshot/{}", rp.time_ms));
    let at = lro::fmt_time(rp.time_ms);
    format!(
        "AzureBackup_{guid}_{}",
        at.trim_end_matches('Z').replace(':', "-")
    )
}

/// A point's `metaData` as its single GET answers it: its snapshot and the disk's details, as
/// JSON text.
pub fn meta_data(st: &State, inst: &Instance, rp: &Rp) -> Value {
    let Some(disk) = st.disks.get(&inst.disk_key) else {
        return Value::Null;
    };
    let (snap_sub, snap_rg) = super::parse_rg_id(&inst.snapshot_rg_id).unwrap_or_default();
    let snap_rg = st
        .rg(&snap_sub, &snap_rg)
        .map(|r| r.name.clone())
        .unwrap_or(snap_rg);
    let meta = json!([{
        "diskName": disk.name,
        "sizeBytes": u64::from(disk.size_gb) * 1024 * 1024 * 1024,
        "diskSnapshotConsistency": "CrashConsistent",
        "subscriptionId": disk.subscription,
        "location": disk.location,
        "resourceGroupName": disk.resource_group,
        "skuName": disk.sku,
        "osType": disk.os_type.clone().unwrap_or_default(),
        "managedBy": disk.managed_by,
        "snapshotSubscriptionId": snap_sub,
        "snapshotRGName": snap_rg,
        "snapshotName": snapshot_name(&inst.disk_id, rp),
    }]);
    Value::String(meta.to_string())
}

/// A point as a list answers it (`meta_data` `null`), or as its GET does.
pub fn body(bi_id: &str, rp: &Rp, meta_data: Value) -> Value {
    let t = lro::fmt_time(rp.time_ms);
    let exp = rp.expiry_ms.map(lro::fmt_time);
    json!({
        "id": format!("{bi_id}/recoveryPoints/{}", rp.id),
        "name": rp.id,
        "type": "Microsoft.DataProtection/backupVaults/backupInstances/recoveryPoints",
        "properties": {
            "objectType": "AzureBackupDiscreteRecoveryPoint",
            "friendlyName": rp.id,
            "recoveryPointDataStoresDetails": [{
                "id": stable_guid(&format!("ds:{}", rp.id)),
                "type": "OperationalStore",
                "creationTime": t,
                "expiryTime": exp,
                "metaData": meta_data,
                "visible": true,
                "state": "COMMITTED",
                "rehydrationExpiryTime": null,
                "rehydrationStatus": null,
            }],
            "recoveryPointTime": t,
            "policyName": rp.policy_name,
            "policyVersion": null,
            "recoveryPointId": rp.id,
            "recoveryPointType": "Incremental",
            "retentionTagName": "Default",
            "retentionTagVersion": "637897885493185345",
            "expiryTime": exp,
            "recoveryPointState": "Completed",
        },
    })
}

/// A backup-made incremental snapshot, derived from a recovery point.
#[derive(Debug, Clone)]
pub struct BackupSnapshot {
    pub subscription: String,
    pub resource_group: String,
    pub name: String,
    pub location: String,
    pub disk_id: String,
    pub disk_unique_id: String,
    pub size_gb: u32,
    pub created_ms: i64,
}

/// Every backup snapshot that exists at `now`.
pub fn snapshots(st: &State, now: i64) -> Vec<BackupSnapshot> {
    let mut out = Vec::new();
    for inst in st.data_protection.instances.values() {
        let Some(disk) = st.disks.get(&inst.disk_key) else {
            continue;
        };
        let Some((sub, rg)) = super::parse_rg_id(&inst.snapshot_rg_id) else {
            continue;
        };
        let rgc = st.rg(&sub, &rg).map(|r| r.name.clone()).unwrap_or(rg);
        for rp in points(inst, now) {
            out.push(BackupSnapshot {
                subscription: sub.clone(),
                resource_group: rgc.clone(),
                name: snapshot_name(&inst.disk_id, &rp),
                location: disk.location.clone(),
                disk_id: inst.disk_id.clone(),
                disk_unique_id: disk.unique_id.clone(),
                size_gb: disk.size_gb,
                created_ms: rp.time_ms,
            });
        }
    }
    out
}
