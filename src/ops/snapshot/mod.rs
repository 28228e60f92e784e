//! Snapshots on demand — a named, tagged snapshot of a managed disk before a risky change
//! ([`take`]), the snapshots and Disk Backup recovery points of a disk or a Backup vault
//! ([`list`]), and a new disk from a snapshot ([`restore`]). Requests and parsing live in
//! `model::snapshot`; these send them, explain Azure's errors against the argument that named
//! the resource, and report each step as a task of `progress`. What they return is data that
//! `render::snapshot` formats.
//!
//! Errors are `miette` reports naming the argument (`DISK`, `--to-disk`, …) they are about.

mod list;
mod restore;
mod take;

pub(crate) use list::protected_in;
pub use list::{list, ListInput};
pub use restore::{restore, RestoreInput};
pub use take::{take, TakeInput};

use crate::azure::{ArmClient, AzureError};
use crate::model::snapshot::{self as model, Snapshot};
use crate::model::{ArmId, ArmRequest, Method};
use crate::progress::{Event, Progress, Task};
use miette::{miette, Report, Result};
use serde_json::Value;
use std::sync::Mutex;

/// Where a snapshot operation runs: the client, and the subscription of references without one.
#[derive(Clone, Copy)]
pub struct Scope<'a> {
    pub client: &'a ArmClient,
    pub default_subscription: Option<&'a str>,
}

/// Checks that need no connection, so that a typo fails before anything is read: a snapshot
/// or disk name, tags, a resource group, a disk type and zone.
pub fn check_take(input: &TakeInput) -> Result<()> {
    if let Some(n) = &input.name {
        model::check_name(n, "snapshot").map_err(arg("--name"))?;
    }
    tags_of(&input.tags)?;
    check_group(input.resource_group.as_deref())
}

/// See [`check_take`].
pub fn check_restore(input: &RestoreInput) -> Result<()> {
    model::check_name(&input.to_disk, "disk").map_err(arg("--to-disk"))?;
    check_group(input.resource_group.as_deref())?;
    sku_of(input.sku.as_deref(), input.zone.as_deref()).map(|_| ())
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

fn tags_of(raw: &[String]) -> Result<Vec<(String, String)>> {
    raw.iter()
        .map(|t| model::parse_tag(t).map_err(arg("--tag")))
        .collect()
}

fn sku_of(sku: Option<&str>, zone: Option<&str>) -> Result<Option<&'static str>> {
    let sku = sku
        .map(|s| model::check_sku(s).map_err(arg("--sku")))
        .transpose()?;
    if let Some(z) = zone {
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

/// Refuse to go on when `id` exists: azprotect never overwrites a snapshot or a disk. A
/// missing resource group is explained against `--resource-group`.
pub(super) async fn ensure_free(
    client: &ArmClient,
    id: &ArmId,
    refusal: impl FnOnce() -> Report,
) -> Result<()> {
    let probe = model::get_request(id);
    match client.execute(&probe).await {
        Ok(_) => Err(refusal()),
        Err(e) if e.status() == Some(404) && e.code() != Some("ResourceGroupNotFound") => Ok(()),
        Err(e) => Err(explain(e, "--resource-group", "resource group", &probe)),
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

/// A snapshot operation's steps, one task of `progress` at a time: a step ends when the next
/// starts, or at [`Steps::finish`].
pub(super) struct Steps<'a> {
    progress: &'a dyn Progress,
    current: Mutex<Option<Task>>,
}

impl<'a> Steps<'a> {
    pub(super) fn new(progress: &'a dyn Progress) -> Steps<'a> {
        Steps {
            progress,
            current: Mutex::new(None),
        }
    }

    pub(super) fn step(&self, label: &str) {
        let task = Task::named(label);
        self.progress.event(&task, Event::Started);
        let done = self
            .current
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .replace(task);
        if let Some(done) = done {
            self.progress.event(&done, Event::Finished);
        }
    }

    /// The running step, for its long-running operation's polls.
    pub(super) async fn execute(
        &self,
        client: &ArmClient,
        req: &ArmRequest,
    ) -> Result<Option<Value>, AzureError> {
        let task = self
            .current
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        match task {
            Some(task) => client.execute_for(req, self.progress, &task).await,
            None => client.execute(req).await,
        }
    }

    pub(super) fn note(&self, line: &str) {
        self.progress.note(line);
    }

    pub(super) fn finish(&self) {
        let done = self
            .current
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        self.end(done, Event::Finished);
    }

    fn end(&self, task: Option<Task>, how: Event<'_>) {
        if let Some(task) = task {
            self.progress.event(&task, how);
        }
    }
}

impl Drop for Steps<'_> {
    /// A step cut short by an error ends with it.
    fn drop(&mut self) {
        let left = self
            .current
            .get_mut()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        self.end(
            left,
            Event::Failed {
                error: "did not finish",
            },
        );
    }
}
