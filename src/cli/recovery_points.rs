//! `azprotect recovery-points ADDRESS`: list, then render in the format asked for.

use super::args::{PlanFormat, RecoveryPointsArgs};
use super::printer::Printer;
use super::progress::terminal;
use super::settings::{GlobalSettings, Session};
use super::ExitStatus;
use crate::ops::recovery_points::{list, Input};
use crate::render::recovery_points as render;
use miette::{IntoDiagnostic, Result};

pub async fn recovery_points(
    args: RecoveryPointsArgs,
    settings: &GlobalSettings,
    printer: Printer,
) -> Result<ExitStatus> {
    let input = Input {
        address: args.address,
        files: args.files,
        since: args.since,
        until: args.until,
    };
    let format = args.format;
    Session::with(settings, async |s| {
        let progress = terminal(printer);
        let sub = s.default_subscription.as_deref();
        let listing = list(&s.client, sub, &input, progress.as_ref()).await?;
        let mut out = printer.stdout();
        match format {
            PlanFormat::Text => render::text(&listing, &mut out),
            PlanFormat::Markdown => render::markdown(&listing, &mut out),
            PlanFormat::Json => render::json(&listing, &mut out),
        }
        .into_diagnostic()?;
        Ok(ExitStatus::Success)
    })
    .await
}
