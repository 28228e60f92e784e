//! `azprotect snapshot list DISK|VAULT`: a disk's snapshots and recovery points, or a Backup
//! vault's recovery points, newest first, as a table or JSON.

use super::{arg, explain, get, list_of, Scope, Steps};
use crate::azure::ArmClient;
use crate::model::snapshot::{
    self as model, BackupInstance, ListTarget, Listing, RecoveryPoint, Row, Snapshot,
};
use crate::model::ArmId;
use crate::progress::Progress;
use miette::{miette, Result};
use std::path::PathBuf;

/// What to list: a disk, or a Backup vault by id or by the name the files declare.
#[derive(Debug, Clone, Default)]
pub struct ListInput {
    pub target: String,
    pub files: Vec<PathBuf>,
}

/// Each disk instance of `vault` (or only `only`'s) with its recovery points, read by `parse`.
pub(crate) async fn protected_in<P>(
    client: &ArmClient,
    vault: &ArmId,
    only: Option<&ArmId>,
    parse: impl Fn(&serde_json::Value) -> Option<P> + Copy,
) -> Result<Vec<(BackupInstance, Vec<P>)>> {
    let mut out = Vec::new();
    for inst in list_of(
        client,
        &crate::model::disk_backup::vault::collection_path(vault, "backupInstances"),
        BackupInstance::from_arm,
    )
    .await?
    {
        if only.is_some_and(|d| *d != inst.disk_id) {
            continue;
        }
        let points = list_of(client, &model::recovery_points_path(&inst.id), parse).await?;
        out.push((inst, points));
    }
    Ok(out)
}

/// The snapshots and recovery points, newest first.
pub async fn list(s: Scope<'_>, a: &ListInput, progress: &dyn Progress) -> Result<Listing> {
    let progress = Steps::new(progress);
    let progress = &progress;
    let target =
        model::list_target(&a.target, s.default_subscription).map_err(arg("DISK|VAULT"))?;
    let (source, rows) = match target {
        ListTarget::Disk(disk) => (disk.to_string(), disk_listing(&disk, s, progress).await?),
        ListTarget::Vault(vault) => (vault.to_string(), vault_listing(&vault, s, progress).await?),
        ListTarget::VaultName(name) => {
            let vault = vault_named(&name, &a.files, s)?;
            (vault.to_string(), vault_listing(&vault, s, progress).await?)
        }
    };
    progress.finish();
    Ok(Listing { source, rows })
}

async fn disk_listing(disk: &ArmId, s: Scope<'_>, progress: &Steps<'_>) -> Result<Vec<Row>> {
    let sub = disk.subscription().unwrap_or_default();
    progress.step(&format!("reading disk {disk}"));
    let req = model::get_request(disk);
    let gone = match s.client.execute(&req).await {
        Ok(_) => false,
        // A deleted disk's snapshots are what a restore needs: list them all the same.
        Err(e) if e.status() == Some(404) && e.code() == Some("ResourceNotFound") => true,
        Err(e) => return Err(explain(e, "DISK", "managed disk", &req)),
    };
    progress.step(&format!(
        "looking for Backup vaults protecting {}",
        disk.name()
    ));
    let mut protected = Vec::new();
    let vaults = s
        .client
        .list(&crate::model::disk_backup::vault::list_path(sub))
        .await?;
    for v in vaults.iter().filter_map(|v| v["id"].as_str()) {
        protected.extend(
            protected_in(
                s.client,
                &ArmId::new(v),
                Some(disk),
                RecoveryPoint::from_arm,
            )
            .await?,
        );
    }
    // After the points: a point is recorded once its snapshot is taken, so a list read after
    // them holds every point's snapshot (one read before could miss the newest point's).
    progress.step(&format!("listing the snapshots of subscription {sub}"));
    let snapshots = list_of(s.client, &model::list_path(sub), Snapshot::from_arm).await?;
    let rows = model::disk_rows(disk, &snapshots, &protected);
    if gone && rows.is_empty() {
        return Err(miette!(
            "DISK: managed disk {disk} was not found, and no snapshot of it either"
        ));
    }
    if gone {
        progress.note(&format!(
            "note: disk {disk} no longer exists; these snapshots of it remain"
        ));
    }
    Ok(rows)
}

async fn vault_listing(vault: &ArmId, s: Scope<'_>, progress: &Steps<'_>) -> Result<Vec<Row>> {
    progress.step(&format!("reading Backup vault {vault}"));
    get(
        s.client,
        &model::get_backup_request(vault),
        "VAULT",
        "Backup vault",
    )
    .await?;
    let protected = protected_in(s.client, vault, None, RecoveryPoint::from_arm).await?;
    let mut groups: Vec<ArmId> = protected
        .iter()
        .filter_map(|(i, _)| i.snapshot_resource_group.clone())
        .collect();
    groups.sort();
    groups.dedup();
    let mut snapshots = Vec::new();
    for g in &groups {
        progress.step(&format!("listing the snapshots in {g}"));
        match s.client.list(&model::list_in_group_path(g)).await {
            Ok(items) => snapshots.extend(items.iter().filter_map(Snapshot::from_arm)),
            // A deleted snapshot resource group: its points show without a snapshot id.
            Err(e) if e.status() == Some(404) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(model::vault_rows(&snapshots, &protected))
}

/// The id of the Backup vault the configuration files declare as `name`.
fn vault_named(name: &str, files: &[PathBuf], s: Scope<'_>) -> Result<ArmId> {
    let files = crate::ops::plan::files_or_default(files);
    if let Some(missing) = files.iter().find(|f| !f.exists()) {
        return Err(miette!(
            help = "pass the file declaring it with -f FILE, or the vault's id; a disk is <resource-group>/<name>",
            "DISK|VAULT: `{name}` is a Backup vault name, looked up in {}, which does not exist",
            missing.display()
        ));
    }
    let default_sub = s.default_subscription;
    let desired = crate::config::load(&files)?.desired(default_sub)?;
    if let Some(v) = desired.disk_vaults.iter().find(|v| v.name == name) {
        return Ok(v.arm_id.clone());
    }
    Err(miette!(
        help = "give a Backup vault declared under disk_backup in the file(s), or the vault's id",
        "DISK|VAULT: no Backup vault {name} is declared in {}",
        files
            .iter()
            .map(|f| f.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    ))
}
