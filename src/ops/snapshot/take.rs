//! `snapshot take DISK`: a named, tagged snapshot of a managed disk.

use super::{arg, ensure_free, explain, get, read_snapshot, tags_of, Scope, Steps};
use crate::model::snapshot::{self as model, Snapshot, Taken};
use crate::model::ManagedDisk;
use crate::progress::Progress;
use miette::{miette, Result};

/// What to snapshot, as the user named it.
#[derive(Debug, Clone, Default)]
pub struct TakeInput {
    /// `<resource-group>/<disk>` or a disk id.
    pub disk: String,
    pub name: Option<String>,
    /// Where the snapshot goes (default: the disk's resource group).
    pub resource_group: Option<String>,
    pub full: bool,
    /// `KEY=VALUE`.
    pub tags: Vec<String>,
}

/// Take the snapshot; a snapshot of that name is never overwritten.
pub async fn take(s: Scope<'_>, a: &TakeInput, progress: &dyn Progress) -> Result<Taken> {
    let progress = Steps::new(progress);
    let extra = tags_of(&a.tags)?;
    let disk_id = model::disk_ref(&a.disk, s.default_subscription).map_err(arg("DISK"))?;
    progress.step(&format!("reading disk {disk_id}"));
    let v = get(
        s.client,
        &model::get_request(&disk_id),
        "DISK",
        "managed disk",
    )
    .await?;
    let disk = ManagedDisk::from_arm(&v)
        .ok_or_else(|| miette!("DISK: Azure's answer for {disk_id} is not a managed disk"))?;
    let name = a
        .name
        .clone()
        .unwrap_or_else(|| model::default_name(&disk.name, time::OffsetDateTime::now_utc()));
    let rg = a.resource_group.as_deref().unwrap_or(&disk.resource_group);
    let id = model::snapshot_id(&disk.subscription, rg, &name);
    ensure_free(s.client, &id, || {
        miette!(
            help = "pass another --name; a snapshot is never overwritten",
            "--name: snapshot {id} already exists"
        )
    })
    .await?;
    let tags = model::snapshot_tags(&disk.name, &extra).map_err(arg("--tag"))?;
    let kind = if a.full { "full" } else { "incremental" };
    let step = format!("taking {kind} snapshot {name} of {}", disk.name);
    progress.step(&step);
    let req = model::take_request(&id, &disk, !a.full, &tags);
    let body = progress
        .execute(s.client, &req)
        .await
        .map_err(|e| explain(e, "--resource-group", "resource group", &req))?;
    let snap = match body.as_ref().and_then(Snapshot::from_arm) {
        Some(snap) => snap,
        None => read_snapshot(s.client, &id, "--name").await?,
    };
    progress.finish();
    Ok(Taken {
        snapshot: snap,
        disk: disk.name,
        kind,
    })
}
