//! What Azure answers about snapshots, Backup instances and their recovery points, parsed; and
//! which snapshot a recovery point is.

use super::super::resource_group::normalize_location;
use super::super::ArmId;
use serde_json::Value;
use std::collections::BTreeMap;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// A recovery point and its snapshot are "the same backup" when created this close together
/// (when the snapshot's name does not carry the point's id).
const MATCH_WINDOW_SECS: i64 = 15 * 60;

/// An ARM timestamp; a zone-less one is UTC.
pub fn parse_time(v: &Value) -> Option<OffsetDateTime> {
    let s = v.as_str()?;
    OffsetDateTime::parse(s, &Rfc3339)
        .or_else(|_| OffsetDateTime::parse(&format!("{s}Z"), &Rfc3339))
        .ok()
}

/// A snapshot as read from Azure.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    pub id: ArmId,
    pub name: String,
    /// Normalized region.
    pub location: String,
    pub size_gb: u64,
    pub incremental: bool,
    /// `creationData.sourceResourceId` (the disk it copies).
    pub source_id: Option<ArmId>,
    pub time_created: Option<OffsetDateTime>,
    pub sku: String,
    pub tags: BTreeMap<String, String>,
    /// `completionPercent` (background copy of an incremental snapshot), when reported.
    pub completion_percent: Option<f64>,
    /// `snapshotAccessState` (`Pending`, `Available`, …), when reported.
    pub access_state: Option<String>,
}

impl Snapshot {
    pub fn from_arm(v: &Value) -> Option<Snapshot> {
        let id = ArmId::new(v["id"].as_str()?);
        let p = &v["properties"];
        let size_gb = p["diskSizeGB"].as_u64().or_else(|| {
            p["diskSizeBytes"]
                .as_u64()
                .map(|b| b.div_ceil(1024 * 1024 * 1024))
        })?;
        Some(Snapshot {
            name: id.name().to_string(),
            location: normalize_location(v["location"].as_str().unwrap_or_default()),
            size_gb,
            incremental: p["incremental"].as_bool().unwrap_or(false),
            source_id: p["creationData"]["sourceResourceId"]
                .as_str()
                .map(ArmId::new),
            time_created: parse_time(&p["timeCreated"]),
            sku: v["sku"]["name"].as_str().unwrap_or_default().to_string(),
            tags: v["tags"]
                .as_object()
                .map(|t| {
                    t.iter()
                        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                        .collect()
                })
                .unwrap_or_default(),
            completion_percent: p["completionPercent"].as_f64(),
            access_state: p["snapshotAccessState"].as_str().map(str::to_string),
            id,
        })
    }

    /// Taken by Azure Backup (Disk Backup's scheduled snapshots) rather than by someone.
    pub fn by_backup(&self) -> bool {
        self.name.starts_with("AzureBackup_")
            || self
                .tags
                .iter()
                .any(|(k, v)| k.eq_ignore_ascii_case("CreatedBy") && v == "AzureBackup")
    }

    /// Still copying in the background: a disk cannot be created from it yet.
    pub fn pending(&self) -> bool {
        self.completion_percent.is_some_and(|p| p < 100.0)
            || self
                .access_state
                .as_deref()
                .is_some_and(|s| s.eq_ignore_ascii_case("Pending"))
    }

    pub(super) fn copies(&self, disk: &ArmId) -> bool {
        self.source_id.as_ref() == Some(disk)
    }
}

/// A Disk Backup instance protecting a managed disk.
#[derive(Debug, Clone, PartialEq)]
pub struct BackupInstance {
    pub id: ArmId,
    pub disk_id: ArmId,
    /// Where its snapshots go (`dataStoreParametersList[].resourceGroupId`).
    pub snapshot_resource_group: Option<ArmId>,
    /// The vault's user-assigned identity it backs up (and restores) with; none: the vault's own.
    pub user_identity: Option<String>,
}

impl BackupInstance {
    /// `None` for instances of other datasources.
    pub fn from_arm(v: &Value) -> Option<BackupInstance> {
        let p = &v["properties"];
        let ds = &p["dataSourceInfo"];
        if !ds["datasourceType"]
            .as_str()?
            .eq_ignore_ascii_case("Microsoft.Compute/disks")
        {
            return None;
        }
        Some(BackupInstance {
            id: ArmId::new(v["id"].as_str()?),
            disk_id: ArmId::new(ds["resourceID"].as_str()?),
            snapshot_resource_group: p["policyInfo"]["policyParameters"]["dataStoreParametersList"]
                .as_array()
                .into_iter()
                .flatten()
                .find_map(|d| d["resourceGroupId"].as_str())
                .map(ArmId::new),
            user_identity: crate::model::disk_backup::instance::user_identity(
                &p["identityDetails"],
            )
            .map(str::to_string),
        })
    }
}

/// A Disk Backup recovery point.
#[derive(Debug, Clone, PartialEq)]
pub struct RecoveryPoint {
    pub id: ArmId,
    /// `recoveryPointId` (the point's name).
    pub name: String,
    pub time: Option<OffsetDateTime>,
    pub expiry: Option<OffsetDateTime>,
    /// The name of its snapshot, when Azure said it: a single point's GET carries it in its
    /// data store's `metaData` (JSON text: `snapshotName`), a list does not (`metaData: null`).
    /// Recording: azure-cli-extensions dataprotection test_dataprotection_recovery_point_show
    /// .yaml — `AzureBackup_<guid>_<time>`, the GUID not the point's.
    pub snapshot: Option<String>,
    /// The resource group it named for that snapshot (`snapshotSubscriptionId`,
    /// `snapshotRGName`): where it was taken, whatever the instance's group is now.
    pub snapshot_group: Option<ArmId>,
}

impl RecoveryPoint {
    pub fn from_arm(v: &Value) -> Option<RecoveryPoint> {
        let id = ArmId::new(v["id"].as_str()?);
        let p = &v["properties"];
        let meta = (p["recoveryPointDataStoresDetails"]
            .as_array()
            .into_iter()
            .flatten())
        .find_map(|d| snapshot_in_meta_data(&d["metaData"]));
        Some(RecoveryPoint {
            name: p["recoveryPointId"]
                .as_str()
                .unwrap_or_else(|| id.name())
                .to_string(),
            time: parse_time(&p["recoveryPointTime"]),
            expiry: parse_time(&p["expiryTime"]).or_else(|| {
                p["recoveryPointDataStoresDetails"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find_map(|d| parse_time(&d["expiryTime"]))
            }),
            snapshot: meta.as_ref().map(|m| m.0.clone()),
            snapshot_group: meta.and_then(|m| m.1),
            id,
        })
    }

    /// Where its snapshot is: the group the point names, else the instance's snapshot group.
    pub fn snapshot_group_in<'a>(&'a self, instance: &'a BackupInstance) -> Option<&'a ArmId> {
        (self.snapshot_group.as_ref()).or(instance.snapshot_resource_group.as_ref())
    }
}

/// `snapshotName` of a data store's `metaData` (JSON text of an array of objects), and the
/// resource group its `snapshotSubscriptionId` and `snapshotRGName` name.
fn snapshot_in_meta_data(meta: &Value) -> Option<(String, Option<ArmId>)> {
    let parsed: Value = serde_json::from_str(meta.as_str()?).ok()?;
    parsed.as_array()?.iter().find_map(|m| {
        let name = m["snapshotName"].as_str().filter(|n| !n.is_empty())?;
        let group = match (
            m["snapshotSubscriptionId"].as_str(),
            m["snapshotRGName"].as_str(),
        ) {
            (Some(sub), Some(rg)) if !sub.is_empty() && !rg.is_empty() => Some(ArmId::new(
                format!("/subscriptions/{sub}/resourceGroups/{rg}"),
            )),
            _ => None,
        };
        Some((name.to_string(), group))
    })
}

/// The snapshot Azure Backup took for `point` of `instance`: one of the instance's disk, in its
/// snapshot resource group (when known) — the one the point names (`snapshot`, from its own
/// GET; none if that one is gone), else one whose name carries the point's id, else the closest
/// in time within 15 minutes among those whose name carries none of `points`' ids (the
/// instance's other points: a snapshot named for another point is never taken for this one — a
/// restore from it would restore that point).
pub fn snapshot_of_point<'a>(
    point: &RecoveryPoint,
    instance: &BackupInstance,
    snapshots: &'a [Snapshot],
    points: &[RecoveryPoint],
) -> Option<&'a Snapshot> {
    let group = point.snapshot_group_in(instance);
    let candidates: Vec<&Snapshot> = snapshots
        .iter()
        .filter(|s| s.copies(&instance.disk_id) && s.by_backup())
        .filter(|s| group.is_none_or(|rg| s.id.parent(2) == *rg))
        .collect();
    if let Some(name) = &point.snapshot {
        return candidates
            .into_iter()
            .find(|s| s.name.eq_ignore_ascii_case(name));
    }
    let key = |p: &RecoveryPoint| p.name.replace('-', "").to_ascii_lowercase();
    let named = |s: &Snapshot, k: &str| !k.is_empty() && s.name.to_ascii_lowercase().contains(k);
    let own = key(point);
    if let Some(s) = candidates.iter().find(|s| named(s, &own)) {
        return Some(s);
    }
    let others: Vec<String> = points.iter().map(key).collect();
    let at = point.time?;
    candidates
        .into_iter()
        .filter(|s| !others.iter().any(|k| named(s, k)))
        // To the millisecond: a sandbox at a small time scale takes points under a second apart.
        .filter_map(|s| Some((s, (s.time_created? - at).whole_milliseconds().abs())))
        .filter(|(_, d)| *d <= i128::from(MATCH_WINDOW_SECS) * 1000)
        .min_by_key(|(_, d)| *d)
        .map(|(s, _)| s)
}
