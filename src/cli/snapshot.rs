//! `azprotect snapshot take | list | restore`: snapshots on demand — a named, tagged snapshot of
//! a managed disk before a risky change, the snapshots and Disk Backup recovery points of a disk
//! or a Backup vault, and a new disk from a snapshot. Requests and parsing live in
//! `model::snapshot`; this file sends them, shows progress and prints.

use super::args::{
    SnapshotCommand, SnapshotListArgs, SnapshotListFormat, SnapshotRestoreArgs, SnapshotTakeArgs,
};
use super::printer::Printer;
use super::settings::{GlobalSettings, Session};
use super::ExitStatus;
use crate::azure::{ArmClient, AzureError, OperationProgress};
use crate::model::snapshot::{
    self as model, BackupInstance, ListTarget, RecoveryPoint, Row, Snapshot, SnapshotRef,
};
use crate::model::{ArmId, ArmRequest, ManagedDisk, Method, ResourceKind};
use indicatif::{ProgressBar, ProgressStyle};
use is_terminal::IsTerminal;
use miette::{miette, IntoDiagnostic, Report, Result};
use serde_json::{json, Value};
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

pub async fn snapshot(
    cmd: SnapshotCommand,
    settings: &GlobalSettings,
    printer: Printer,
) -> Result<ExitStatus> {
    // Checks that need no connection come first: a typo fails fast.
    match &cmd {
        SnapshotCommand::Take(a) => {
            if let Some(n) = &a.name {
                model::check_name(n, "snapshot").map_err(arg("--name"))?;
            }
            tags_of(&a.tags)?;
            check_group(a.resource_group.as_deref())?;
        }
        SnapshotCommand::Restore(a) => {
            model::check_name(&a.to_disk, "disk").map_err(arg("--to-disk"))?;
            check_group(a.resource_group.as_deref())?;
            sku_of(a)?;
        }
        SnapshotCommand::List(_) => {}
    }
    let session = Session::open(settings).await?;
    let progress = Progress::new(printer);
    let result = match &cmd {
        SnapshotCommand::Take(a) => take(a, &session, &progress, printer).await,
        SnapshotCommand::List(a) => list(a, &session, &progress, printer).await,
        SnapshotCommand::Restore(a) => restore(a, &session, &progress, printer).await,
    };
    progress.finish();
    session.close().await;
    result
}

/// Prefix a reference error with the argument it came from.
fn arg(name: &'static str) -> impl Fn(model::RefError) -> Report {
    move |e| miette!("{name}: {e}")
}

fn check_group(rg: Option<&str>) -> Result<()> {
    match rg {
        Some(rg) => model::check_resource_group(rg).map_err(arg("--resource-group")),
        None => Ok(()),
    }
}

fn tags_of(raw: &[String]) -> Result<Vec<(String, String)>> {
    raw.iter()
        .map(|t| model::parse_tag(t).map_err(arg("--tag")))
        .collect()
}

fn sku_of(a: &SnapshotRestoreArgs) -> Result<Option<&'static str>> {
    let sku = a
        .sku
        .as_deref()
        .map(|s| model::check_sku(s).map_err(arg("--sku")))
        .transpose()?;
    if let Some(z) = &a.zone {
        model::check_zone(z).map_err(arg("--zone"))?;
        if sku.is_some_and(|s| s.ends_with("_ZRS")) {
            return Err(miette!(
                help = "a zone-redundant disk spans zones: drop --zone, or pick an _LRS --sku",
                "--zone {z}: a {} disk cannot be pinned to a zone",
                sku.unwrap_or_default()
            ));
        }
    }
    Ok(sku)
}

/// A GET that says what was not found, against the argument that named it.
async fn get(client: &ArmClient, req: &ArmRequest, arg: &str, what: &str) -> Result<Value> {
    match client.execute(req).await {
        Ok(Some(v)) => Ok(v),
        Ok(None) => Err(miette!("{arg}: Azure returned no body for the {what}")),
        Err(e) => Err(explain(e, arg, what, req)),
    }
}

/// Not found / wrong subscription / no access, pointing at the argument; anything else as is.
fn explain(e: AzureError, arg: &str, what: &str, req: &ArmRequest) -> Report {
    let id = ArmId::new(req.path.split('?').next().unwrap_or_default());
    let sub = id.subscription().unwrap_or("?").to_string();
    match (e.status(), e.code().unwrap_or_default()) {
        (Some(404), "SubscriptionNotFound" | "InvalidSubscriptionId") => miette!(
            help = "check the subscription in the id, or --subscription / AZURE_SUBSCRIPTION_ID",
            "{arg}: subscription {sub} was not found, or these credentials cannot see it"
        ),
        (Some(404), "ResourceGroupNotFound") => miette!(
            "{arg}: resource group {} was not found in subscription {sub}",
            id.resource_group().unwrap_or("?")
        ),
        (Some(404), _) if req.method == Method::Get => {
            miette!("{arg}: {what} {id} was not found")
        }
        (Some(403), code) => miette!(
            help = "these credentials need read access there; is it the right subscription?",
            "{arg}: access to {id} was denied ({code})"
        ),
        _ => Report::new(e),
    }
}

async fn take(
    a: &SnapshotTakeArgs,
    s: &Session,
    progress: &Progress,
    printer: Printer,
) -> Result<ExitStatus> {
    let extra = tags_of(&a.tags)?;
    let disk_id =
        model::disk_ref(&a.disk, s.default_subscription.as_deref()).map_err(arg("DISK"))?;
    progress.step(&format!("reading disk {disk_id}"));
    let v = get(
        &s.client,
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
    let get_snap = model::get_request(&id);
    match s.client.execute(&get_snap).await {
        Ok(_) => {
            return Err(miette!(
                help = "pass another --name; a snapshot is never overwritten",
                "--name: snapshot {id} already exists"
            ))
        }
        Err(e) if e.status() == Some(404) && e.code() != Some("ResourceGroupNotFound") => {}
        Err(e) => return Err(explain(e, "--resource-group", "resource group", &get_snap)),
    }
    let tags = model::snapshot_tags(&disk.name, &extra).map_err(arg("--tag"))?;
    let kind = if a.full { "full" } else { "incremental" };
    let step = format!("taking {kind} snapshot {name} of {}", disk.name);
    progress.step(&step);
    let req = model::take_request(&id, &disk, !a.full, &tags);
    let body = s
        .client
        .execute_with(&req, &|p| progress.poll(&step, p))
        .await
        .map_err(|e| explain(e, "--resource-group", "resource group", &req))?;
    let snap = match body.as_ref().and_then(Snapshot::from_arm) {
        Some(snap) => snap,
        None => read_snapshot(&s.client, &id, "--name").await?,
    };
    progress.finish();
    printer.line(format!(
        "Snapshot {} of {} taken: {kind}, {} GB, {} UTC",
        snap.name,
        disk.name,
        snap.size_gb,
        model::display_time(snap.time_created)
    ));
    printer.line(format!("  id: {}", snap.id));
    Ok(ExitStatus::Success)
}

async fn read_snapshot(client: &ArmClient, id: &ArmId, arg: &str) -> Result<Snapshot> {
    let v = get(client, &model::get_request(id), arg, "snapshot").await?;
    Snapshot::from_arm(&v)
        .ok_or_else(|| miette!("{arg}: Azure's answer for {id} is not a snapshot"))
}

/// Every item of a list call, parsed; unparsable items are skipped.
async fn list_of<T>(
    client: &ArmClient,
    path: &str,
    parse: impl Fn(&Value) -> Option<T>,
) -> Result<Vec<T>> {
    Ok(client.list(path).await?.iter().filter_map(parse).collect())
}

/// Each disk instance of `vault` with its recovery points.
async fn protected_in(
    client: &ArmClient,
    vault: &ArmId,
    only: Option<&ArmId>,
) -> Result<Vec<(BackupInstance, Vec<RecoveryPoint>)>> {
    let mut out = Vec::new();
    for inst in list_of(
        client,
        &model::instances_path(vault),
        BackupInstance::from_arm,
    )
    .await?
    {
        if only.is_some_and(|d| *d != inst.disk_id) {
            continue;
        }
        let points = list_of(
            client,
            &model::recovery_points_path(&inst.id),
            RecoveryPoint::from_arm,
        )
        .await?;
        out.push((inst, points));
    }
    Ok(out)
}

async fn list(
    a: &SnapshotListArgs,
    s: &Session,
    progress: &Progress,
    printer: Printer,
) -> Result<ExitStatus> {
    let target = model::list_target(&a.target, s.default_subscription.as_deref())
        .map_err(arg("DISK|VAULT"))?;
    let (what, rows) = match target {
        ListTarget::Disk(disk) => (disk.to_string(), disk_listing(&disk, s, progress).await?),
        ListTarget::Vault(vault) => (vault.to_string(), vault_listing(&vault, s, progress).await?),
        ListTarget::VaultName(name) => {
            let vault = vault_named(&name, &a.files, s)?;
            (vault.to_string(), vault_listing(&vault, s, progress).await?)
        }
    };
    progress.finish();
    let mut out = printer.stdout();
    match a.format {
        SnapshotListFormat::Json => {
            let doc = json!({"format_version": 1, "source": what, "snapshots": rows});
            serde_json::to_writer_pretty(&mut out, &doc).into_diagnostic()?;
            writeln!(out).into_diagnostic()?;
        }
        SnapshotListFormat::Text if rows.is_empty() => {
            writeln!(out, "No snapshots or recovery points of {what}.").into_diagnostic()?
        }
        SnapshotListFormat::Text => table(&rows, &mut out).into_diagnostic()?,
    }
    Ok(ExitStatus::Success)
}

async fn disk_listing(disk: &ArmId, s: &Session, progress: &Progress) -> Result<Vec<Row>> {
    let sub = disk.subscription().unwrap_or_default();
    progress.step(&format!("reading disk {disk}"));
    let req = model::get_request(disk);
    let gone = match s.client.execute(&req).await {
        Ok(_) => false,
        // A deleted disk's snapshots are what a restore needs: list them all the same.
        Err(e) if e.status() == Some(404) && e.code() == Some("ResourceNotFound") => true,
        Err(e) => return Err(explain(e, "DISK", "managed disk", &req)),
    };
    progress.step(&format!("listing the snapshots of subscription {sub}"));
    let snapshots = list_of(&s.client, &model::list_path(sub), Snapshot::from_arm).await?;
    progress.step(&format!(
        "looking for Backup vaults protecting {}",
        disk.name()
    ));
    let mut protected = Vec::new();
    let vaults = s.client.list(&model::backup_vaults_path(sub)).await?;
    for v in vaults.iter().filter_map(|v| v["id"].as_str()) {
        protected.extend(protected_in(&s.client, &ArmId::new(v), Some(disk)).await?);
    }
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

async fn vault_listing(vault: &ArmId, s: &Session, progress: &Progress) -> Result<Vec<Row>> {
    progress.step(&format!("reading Backup vault {vault}"));
    get(
        &s.client,
        &model::get_backup_request(vault),
        "VAULT",
        "Backup vault",
    )
    .await?;
    let protected = protected_in(&s.client, vault, None).await?;
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
fn vault_named(name: &str, files: &[std::path::PathBuf], s: &Session) -> Result<ArmId> {
    let files = super::recovery_plan::files_or_default(files);
    if let Some(missing) = files.iter().find(|f| !f.exists()) {
        return Err(miette!(
            help = "pass the file declaring it with -f FILE, or the vault's id; a disk is <resource-group>/<name>",
            "DISK|VAULT: `{name}` is a Backup vault name, looked up in {}, which does not exist",
            missing.display()
        ));
    }
    let default_sub = s.default_subscription.as_deref();
    let desired = crate::config::load(&files)?.desired(default_sub)?;
    let declared = desired
        .disk_vaults
        .iter()
        .find(|v| v.name == name)
        .map(|v| v.arm_id.clone())
        .or_else(|| {
            desired
                .resources
                .iter()
                .find(|r| r.address.kind == ResourceKind::BackupVault && r.address.name == name)
                .map(|r| r.arm_id.clone())
        });
    if let Some(id) = declared {
        return Ok(id);
    }
    // Until `Desired` carries every `disk_backup` vault: read the vault's resource group (and
    // the file's subscription) from the file itself; `config::load` validated it above.
    for f in &files {
        if let Some(id) = vault_in_file(f, name, default_sub) {
            return Ok(id);
        }
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

fn vault_in_file(file: &Path, name: &str, default_sub: Option<&str>) -> Option<ArmId> {
    let text = std::fs::read_to_string(file).ok()?;
    let doc: Value = serde_saphyr::from_str(&text).ok()?;
    let rg = doc["disk_backup"][name]["resource_group"].as_str()?;
    let sub = doc["subscription"].as_str().or(default_sub)?;
    Some(crate::model::disk_backup::vault::arm_id(sub, rg, name))
}

fn table(rows: &[Row], out: &mut impl Write) -> std::io::Result<()> {
    let many_disks = rows.iter().any(|r| r.disk != rows[0].disk);
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let mut c = vec![
                model::display_time(r.time),
                r.kind.as_str().to_string(),
                r.name.clone(),
            ];
            if many_disks {
                c.push(r.disk.clone());
            }
            c.push(r.size_gb.map_or("-".into(), |g| format!("{g} GB")));
            c.push(model::display_time(r.expiry));
            c.push(r.snapshot_id.as_ref().map_or("-".into(), ArmId::to_string));
            c
        })
        .collect();
    let mut head = vec!["TIME (UTC)", "KIND", "NAME"];
    if many_disks {
        head.push("DISK");
    }
    head.extend(["SIZE", "EXPIRES (UTC)", "SNAPSHOT ID"]);
    let widths: Vec<usize> = (0..head.len())
        .map(|i| {
            cells
                .iter()
                .map(|c| c[i].chars().count())
                .chain([head[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |c: Vec<&str>, out: &mut dyn Write| {
        let last = c.len() - 1;
        let text: Vec<String> = c
            .iter()
            .enumerate()
            .map(|(i, s)| {
                if i == last {
                    s.to_string()
                } else {
                    format!("{s:<w$}", w = widths[i])
                }
            })
            .collect();
        writeln!(out, "{}", text.join("  "))
    };
    line(head, out)?;
    for c in &cells {
        line(c.iter().map(String::as_str).collect(), out)?;
    }
    Ok(())
}

async fn restore(
    a: &SnapshotRestoreArgs,
    s: &Session,
    progress: &Progress,
    printer: Printer,
) -> Result<ExitStatus> {
    let sku = sku_of(a)?;
    let source = model::snapshot_ref(&a.snapshot, s.default_subscription.as_deref())
        .map_err(arg("SNAPSHOT"))?;
    let snap = match source {
        SnapshotRef::Snapshot(id) => {
            progress.step(&format!("reading snapshot {id}"));
            let v = get(&s.client, &model::get_request(&id), "SNAPSHOT", "snapshot").await?;
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
    let probe = model::get_request(&target);
    match s.client.execute(&probe).await {
        Ok(_) => {
            return Err(miette!(
                help = "restore never overwrites a disk: choose another --to-disk name (or --resource-group)",
                "--to-disk: disk {target} already exists"
            ))
        }
        Err(e) if e.status() == Some(404) && e.code() != Some("ResourceGroupNotFound") => {}
        Err(e) => return Err(explain(e, "--resource-group", "resource group", &probe)),
    }
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
    s.client
        .execute_with(&req, &|p| progress.poll(&step, p))
        .await
        .map_err(|e| explain(e, "--resource-group", "resource group", &req))?;
    let v = get(&s.client, &probe, "--to-disk", "managed disk").await?;
    let disk = ManagedDisk::from_arm(&v)
        .ok_or_else(|| miette!("--to-disk: Azure's answer for {target} is not a managed disk"))?;
    progress.finish();
    let zone = v["zones"][0]
        .as_str()
        .map(|z| format!(", zone {z}"))
        .unwrap_or_default();
    printer.line(format!(
        "Disk {} created from snapshot {}: {} GB {}, {}{zone}",
        disk.name, snap.name, disk.size_gb, disk.sku, disk.location
    ));
    printer.line(format!("  id: {}", disk.id));
    Ok(ExitStatus::Success)
}

/// The snapshot Azure Backup took for a Disk Backup recovery point.
async fn snapshot_of_recovery_point(
    id: &ArmId,
    s: &Session,
    progress: &Progress,
) -> Result<Snapshot> {
    progress.step(&format!("reading recovery point {}", id.name()));
    let v = get(
        &s.client,
        &model::get_backup_request(id),
        "SNAPSHOT",
        "recovery point",
    )
    .await?;
    let point = RecoveryPoint::from_arm(&v)
        .ok_or_else(|| miette!("SNAPSHOT: Azure's answer for {id} is not a recovery point"))?;
    let inst_id = id.parent(1);
    let v = get(
        &s.client,
        &model::get_backup_request(&inst_id),
        "SNAPSHOT",
        "backup instance",
    )
    .await?;
    let inst = BackupInstance::from_arm(&v)
        .ok_or_else(|| miette!("SNAPSHOT: {inst_id} does not protect a managed disk"))?;
    let path = match &inst.snapshot_resource_group {
        Some(g) => model::list_in_group_path(g),
        None => model::list_path(inst.disk_id.subscription().unwrap_or_default()),
    };
    let snapshots = list_of(&s.client, &path, Snapshot::from_arm).await?;
    model::snapshot_of_point(&point, &inst, &snapshots)
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

/// Progress on stderr: a spinner on a TTY, timestamped lines otherwise (one per change).
struct Progress {
    bar: Option<ProgressBar>,
    printer: Printer,
    last: Mutex<String>,
}

impl Progress {
    fn new(printer: Printer) -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Progress {
            bar,
            printer,
            last: Mutex::new(String::new()),
        }
    }

    fn step(&self, msg: &str) {
        match &self.bar {
            Some(bar) => bar.set_message(msg.to_string()),
            None => self.line(msg),
        }
    }

    fn poll(&self, step: &str, p: &OperationProgress) {
        let pct = p.percent.map(|p| format!(" {p:.0}%")).unwrap_or_default();
        self.step(&format!("{step}: {}{pct}", p.status));
    }

    fn note(&self, msg: &str) {
        match &self.bar {
            Some(bar) => bar.println(msg),
            None => self.printer.note(msg),
        }
    }

    fn line(&self, msg: &str) {
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        if *last != msg {
            let now = time::OffsetDateTime::now_utc()
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default();
            self.printer.note(format!("{now}  {msg}"));
            *last = msg.to_string();
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
