//! `azprotect snapshot take | list | restore`: the arguments become an `ops::snapshot` input;
//! what the operation returns is rendered by `render::snapshot`.

use super::args::{SnapshotCommand, SnapshotListFormat};
use super::printer::Printer;
use super::progress::terminal;
use super::settings::{GlobalSettings, Session};
use super::ExitStatus;
use crate::ops::snapshot::{self as ops, ListInput, RestoreInput, Scope, TakeInput};
use crate::render::snapshot as render;
use miette::{IntoDiagnostic, Result};

pub async fn snapshot(
    cmd: SnapshotCommand,
    settings: &GlobalSettings,
    printer: Printer,
) -> Result<ExitStatus> {
    let input = Input::of(cmd);
    // Checks that need no connection come first: a typo fails fast.
    match &input {
        Input::Take(a) => ops::check_take(a)?,
        Input::Restore(a) => ops::check_restore(a)?,
        Input::List(..) => {}
    }
    Session::with(settings, async |s| run(&input, s, printer).await).await
}

enum Input {
    Take(TakeInput),
    List(ListInput, SnapshotListFormat),
    Restore(RestoreInput),
}

impl Input {
    fn of(cmd: SnapshotCommand) -> Input {
        match cmd {
            SnapshotCommand::Take(a) => Input::Take(TakeInput {
                disk: a.disk,
                name: a.name,
                resource_group: a.resource_group,
                full: a.full,
                tags: a.tags,
            }),
            SnapshotCommand::List(a) => Input::List(
                ListInput {
                    target: a.target,
                    files: a.files,
                },
                a.format,
            ),
            SnapshotCommand::Restore(a) => Input::Restore(RestoreInput {
                snapshot: a.snapshot,
                to_disk: a.to_disk,
                resource_group: a.resource_group,
                sku: a.sku,
                zone: a.zone,
            }),
        }
    }
}

async fn run(input: &Input, session: &Session, printer: Printer) -> Result<ExitStatus> {
    let scope = Scope {
        client: &session.client,
        default_subscription: session.default_subscription.as_deref(),
    };
    let progress = terminal(printer);
    let progress = progress.as_ref();
    let mut out = printer.stdout();
    match input {
        Input::Take(a) => render::taken(&ops::take(scope, a, progress).await?, &mut out),
        Input::Restore(a) => render::restored(&ops::restore(scope, a, progress).await?, &mut out),
        Input::List(a, format) => {
            let listing = ops::list(scope, a, progress).await?;
            match format {
                SnapshotListFormat::Json => render::listing_json(&listing, &mut out),
                SnapshotListFormat::Text => render::listing_text(&listing, &mut out),
            }
        }
    }
    .into_diagnostic()?;
    Ok(ExitStatus::Success)
}
