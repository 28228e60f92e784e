//! `azprotect recovery-points ADDRESS`: list, then render in the format asked for.

use super::args::RecoveryPointsArgs;
use super::printer::Printer;
use super::progress::terminal;
use super::settings::{GlobalSettings, Session};
use super::ExitStatus;
use crate::ops::recovery_points::{list, Input};
use crate::render::recovery_points as render;
use miette::Result;

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
        printer.report(
            format,
            &listing,
            [render::text, render::markdown, render::json],
        )?;
        Ok(ExitStatus::Success)
    })
    .await
}
