//! The rows `snapshot list` shows: a disk's ad-hoc snapshots beside its recovery points, newest
//! first.

use super::super::ArmId;
use serde::Serialize;
use time::OffsetDateTime;

use super::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RowKind {
    /// Azure Disk Backup's, on the policy's schedule (or an on-demand backup of the instance).
    Scheduled,
    /// A snapshot someone took (`snapshot take`, the portal, …).
    AdHoc,
}

impl RowKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RowKind::Scheduled => "scheduled",
            RowKind::AdHoc => "ad-hoc",
        }
    }
}

/// One line of `snapshot list`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    #[serde(with = "time::serde::rfc3339::option")]
    pub time: Option<OffsetDateTime>,
    pub kind: RowKind,
    /// The snapshot's name, or the recovery point's when its snapshot is not found.
    pub name: String,
    /// The disk it copies.
    pub disk: String,
    pub size_gb: Option<u64>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub expiry: Option<OffsetDateTime>,
    /// What `snapshot restore` takes.
    pub snapshot_id: Option<ArmId>,
    pub recovery_point_id: Option<ArmId>,
}

/// Recovery points of each instance, with their snapshots found in `snapshots`.
fn point_rows(
    snapshots: &[Snapshot],
    protected: &[(BackupInstance, Vec<RecoveryPoint>)],
) -> Vec<Row> {
    protected
        .iter()
        .flat_map(|(inst, points)| {
            points.iter().map(move |p| {
                let snap = snapshot_of_point(p, inst, snapshots, points);
                Row {
                    time: p.time.or(snap.and_then(|s| s.time_created)),
                    kind: RowKind::Scheduled,
                    name: snap.map_or_else(|| p.name.clone(), |s| s.name.clone()),
                    disk: inst.disk_id.name().to_string(),
                    size_gb: snap.map(|s| s.size_gb),
                    expiry: p.expiry,
                    snapshot_id: snap.map(|s| s.id.clone()),
                    recovery_point_id: Some(p.id.clone()),
                }
            })
        })
        .collect()
}

fn snapshot_row(s: &Snapshot, kind: RowKind) -> Row {
    Row {
        time: s.time_created,
        kind,
        name: s.name.clone(),
        disk: s
            .source_id
            .as_ref()
            .map(|d| d.name().to_string())
            .unwrap_or_default(),
        size_gb: Some(s.size_gb),
        expiry: None,
        snapshot_id: Some(s.id.clone()),
        recovery_point_id: None,
    }
}

fn newest_first(mut rows: Vec<Row>) -> Vec<Row> {
    // `None` (no time known) sorts last; ties by name for a stable listing.
    rows.sort_by(|a, b| b.time.cmp(&a.time).then_with(|| a.name.cmp(&b.name)));
    rows
}

/// `snapshot list DISK`: the disk's ad-hoc snapshots, the recovery points of the instances
/// protecting it, and any backup snapshot of it no point accounts for (e.g. kept after its
/// instance was deleted), newest first. `snapshots` may hold other disks' snapshots.
pub fn disk_rows(
    disk: &ArmId,
    snapshots: &[Snapshot],
    protected: &[(BackupInstance, Vec<RecoveryPoint>)],
) -> Vec<Row> {
    let protected: Vec<(BackupInstance, Vec<RecoveryPoint>)> = protected
        .iter()
        .filter(|(i, _)| i.disk_id == *disk)
        .cloned()
        .collect();
    let mut rows = point_rows(snapshots, &protected);
    let used: Vec<ArmId> = rows.iter().filter_map(|r| r.snapshot_id.clone()).collect();
    rows.extend(
        snapshots
            .iter()
            .filter(|s| s.copies(disk) && !used.contains(&s.id))
            .map(|s| {
                let kind = if s.by_backup() {
                    RowKind::Scheduled
                } else {
                    RowKind::AdHoc
                };
                snapshot_row(s, kind)
            }),
    );
    newest_first(rows)
}

/// `snapshot list VAULT`: every instance's recovery points, newest first.
pub fn vault_rows(
    snapshots: &[Snapshot],
    protected: &[(BackupInstance, Vec<RecoveryPoint>)],
) -> Vec<Row> {
    newest_first(point_rows(snapshots, protected))
}

/// `yyyy-mm-dd hh:mm:ss` in UTC, `-` when unknown.
pub fn display_time(t: Option<OffsetDateTime>) -> String {
    match t.map(|t| t.to_offset(time::UtcOffset::UTC)) {
        Some(t) => format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
            t.year(),
            t.month() as u8,
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        ),
        None => "-".to_string(),
    }
}

/// What `snapshot list` found: the disk or vault asked about, and its rows newest first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Listing {
    pub source: String,
    pub rows: Vec<Row>,
}
