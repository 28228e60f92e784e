//! `snapshot restore SNAPSHOT --to-disk NAME`: a new managed disk from a snapshot (or
//! from the snapshot of a Disk Backup recovery point); never over an existing disk.

use super::{arg, ensure_free, explain, get, list_of, sku_of, Scope, Steps};
use crate::model::snapshot::{
    self as model, BackupInstance, RecoveryPoint, Restored, Snapshot, SnapshotRef,
};
use crate::model::{ArmId, ManagedDisk};
use crate::progress::Progress;
use miette::{miette, Result};

/// What to restore, and to which new disk.
#[derive(Debug, Clone, Default)]
pub struct RestoreInput {
    /// A snapshot id or `<resource-group>/<name>`, or a Disk Backup recovery point id.
    pub snapshot: String,
    pub to_disk: String,
    pub resource_group: Option<String>,
    pub sku: Option<String>,
    pub zone: Option<String>,
}

/// Create the disk; an existing disk is never overwritten.
pub async fn restore(s: Scope<'_>, a: &RestoreInput, progress: &dyn Progress) -> Result<Restored> {
    let progress = Steps::new(progress);
    let progress = &progress;
    let sku = sku_of(a.sku.as_deref(), a.zone.as_deref())?;
    let source =
        model::snapshot_ref(&a.snapshot, s.default_subscription).map_err(arg("SNAPSHOT"))?;
    let snap = match source {
        SnapshotRef::Snapshot(id) => {
            progress.step(&format!("reading snapshot {id}"));
            let v = get(s.client, &model::get_request(&id), "SNAPSHOT", "snapshot").await?;
            Snapshot::from_arm(&v)
                .ok_or_else(|| miette!("SNAPSHOT: Azure's answer for {id} is not a snapshot"))?
        }
        SnapshotRef::RecoveryPoint(id) => snapshot_of_recovery_point(&id, s, progress).await?,
    };
    if snap.pending() {
        return Err(miette!(
            help = "an incremental snapshot copies in the background; retry when it is complete",
            "SNAPSHOT: {} is still copying ({:.0}% done) and cannot be restored yet",
            snap.id,
            snap.completion_percent.unwrap_or(0.0)
        ));
    }
    let sub = snap.id.subscription().unwrap_or_default().to_string();
    let rg = a
        .resource_group
        .clone()
        .or_else(|| snap.id.resource_group().map(str::to_string))
        .unwrap_or_default();
    let target = model::disk_id(&sub, &rg, &a.to_disk);
    progress.step(&format!("checking that disk {} does not exist", a.to_disk));
    ensure_free(s.client, &target, || {
        miette!(
            help = "restore never overwrites a disk: choose another --to-disk name (or --resource-group)",
            "--to-disk: disk {target} already exists"
        )
    })
    .await?;
    let probe = model::get_request(&target);
    // Default type: the source disk's, when it still exists (an incremental snapshot is always
    // Standard HDD, which says nothing about the disk it copies).
    let sku = match (sku, &snap.source_id) {
        (Some(s), _) => Some(s.to_string()),
        (None, Some(src)) => match s.client.execute(&model::get_request(src)).await {
            Ok(Some(v)) => ManagedDisk::from_arm(&v)
                .map(|d| d.sku)
                .filter(|s| !s.is_empty()),
            _ => None,
        },
        (None, None) => None,
    };
    let step = format!("creating disk {} from {}", a.to_disk, snap.name);
    progress.step(&step);
    let req = model::restore_request(&target, &snap, sku.as_deref(), a.zone.as_deref());
    progress
        .execute(s.client, &req)
        .await
        .map_err(|e| explain(e, "--resource-group", "resource group", &req))?;
    let v = get(s.client, &probe, "--to-disk", "managed disk").await?;
    let disk = ManagedDisk::from_arm(&v)
        .ok_or_else(|| miette!("--to-disk: Azure's answer for {target} is not a managed disk"))?;
    progress.finish();
    Ok(Restored {
        zone: v["zones"][0].as_str().map(str::to_string),
        disk,
        snapshot: snap.name,
    })
}

/// The snapshot Azure Backup took for a Disk Backup recovery point.
async fn snapshot_of_recovery_point(
    id: &ArmId,
    s: Scope<'_>,
    progress: &Steps<'_>,
) -> Result<Snapshot> {
    progress.step(&format!("reading recovery point {}", id.name()));
    let v = get(
        s.client,
        &model::get_backup_request(id),
        "SNAPSHOT",
        "recovery point",
    )
    .await?;
    let point = RecoveryPoint::from_arm(&v)
        .ok_or_else(|| miette!("SNAPSHOT: Azure's answer for {id} is not a recovery point"))?;
    let inst_id = id.parent(1);
    let v = get(
        s.client,
        &model::get_backup_request(&inst_id),
        "SNAPSHOT",
        "backup instance",
    )
    .await?;
    let inst = BackupInstance::from_arm(&v)
        .ok_or_else(|| miette!("SNAPSHOT: {inst_id} does not protect a managed disk"))?;
    let path = match point.snapshot_group_in(&inst) {
        Some(g) => model::list_in_group_path(g),
        None => model::list_path(inst.disk_id.subscription().unwrap_or_default()),
    };
    // The instance's points, so that a snapshot named for another point is never taken for
    // this one (read before the snapshots: a point is recorded once its snapshot is taken).
    let points = list_of(
        s.client,
        &model::recovery_points_path(&inst_id),
        RecoveryPoint::from_arm,
    )
    .await?;
    let snapshots = list_of(s.client, &path, Snapshot::from_arm).await?;
    model::snapshot_of_point(&point, &inst, &snapshots, &points)
        .cloned()
        .ok_or_else(|| {
            miette!(
                help = "list the disk's snapshots with `azprotect snapshot list` and restore one by its id",
                "SNAPSHOT: no snapshot of recovery point {} was found{}",
                point.name,
                inst.snapshot_resource_group
                    .as_ref()
                    .map(|g| format!(" in {g}"))
                    .unwrap_or_default()
            )
        })
}
