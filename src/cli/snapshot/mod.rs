//! `azprotect snapshot take | list | restore`: snapshots on demand — a named, tagged snapshot of
//! a managed disk before a risky change, the snapshots and Disk Backup recovery points of a disk
//! or a Backup vault, and a new disk from a snapshot. Requests and parsing live in
//! `model::snapshot`; these files send them, show progress and print.
//!
//! One file per subcommand (`take`, `list`, `restore`); this one dispatches, checks arguments
//! that need no connection, explains Azure's errors against the argument, and shows progress.

mod list;
mod restore;
mod take;

use super::args::{SnapshotCommand, SnapshotRestoreArgs};
use super::printer::Printer;
use super::settings::{GlobalSettings, Session};
use super::ExitStatus;
use crate::azure::{ArmClient, AzureError, OperationProgress};
use crate::model::snapshot::{self as model, Snapshot};
use crate::model::{ArmId, ArmRequest, Method};
use indicatif::{ProgressBar, ProgressStyle};
use is_terminal::IsTerminal;
use miette::{miette, Report, Result};
use serde_json::Value;
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
        SnapshotCommand::Take(a) => take::take(a, &session, &progress, printer).await,
        SnapshotCommand::List(a) => list::list(a, &session, &progress, printer).await,
        SnapshotCommand::Restore(a) => restore::restore(a, &session, &progress, printer).await,
    };
    progress.finish();
    session.close().await;
    result
}

/// Prefix a reference error with the argument it came from.
pub(super) fn arg(name: &'static str) -> impl Fn(model::RefError) -> Report {
    move |e| miette!("{name}: {e}")
}

fn check_group(rg: Option<&str>) -> Result<()> {
    match rg {
        Some(rg) => model::check_resource_group(rg).map_err(arg("--resource-group")),
        None => Ok(()),
    }
}

pub(super) fn tags_of(raw: &[String]) -> Result<Vec<(String, String)>> {
    raw.iter()
        .map(|t| model::parse_tag(t).map_err(arg("--tag")))
        .collect()
}

pub(super) fn sku_of(a: &SnapshotRestoreArgs) -> Result<Option<&'static str>> {
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
pub(super) async fn get(
    client: &ArmClient,
    req: &ArmRequest,
    arg: &str,
    what: &str,
) -> Result<Value> {
    match client.execute(req).await {
        Ok(Some(v)) => Ok(v),
        Ok(None) => Err(miette!("{arg}: Azure returned no body for the {what}")),
        Err(e) => Err(explain(e, arg, what, req)),
    }
}

/// Not found / wrong subscription / no access, pointing at the argument; anything else as is.
pub(super) fn explain(e: AzureError, arg: &str, what: &str, req: &ArmRequest) -> Report {
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

pub(super) async fn read_snapshot(client: &ArmClient, id: &ArmId, arg: &str) -> Result<Snapshot> {
    let v = get(client, &model::get_request(id), arg, "snapshot").await?;
    Snapshot::from_arm(&v)
        .ok_or_else(|| miette!("{arg}: Azure's answer for {id} is not a snapshot"))
}

/// Every item of a list call, parsed; unparsable items are skipped.
pub(super) async fn list_of<T>(
    client: &ArmClient,
    path: &str,
    parse: impl Fn(&Value) -> Option<T>,
) -> Result<Vec<T>> {
    Ok(client.list(path).await?.iter().filter_map(parse).collect())
}

/// Progress on stderr: a spinner on a TTY, timestamped lines otherwise (one per change).
pub(super) struct Progress {
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

    pub(super) fn step(&self, msg: &str) {
        match &self.bar {
            Some(bar) => bar.set_message(msg.to_string()),
            None => self.line(msg),
        }
    }

    pub(super) fn poll(&self, step: &str, p: &OperationProgress) {
        let pct = p.percent.map(|p| format!(" {p:.0}%")).unwrap_or_default();
        self.step(&format!("{step}: {}{pct}", p.status));
    }

    pub(super) fn note(&self, msg: &str) {
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

    pub(super) fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
