//! `azprotect status`: read and evaluate (`ops::status`), render the report; exit 0 healthy,
//! 2 findings, 1 error.

use super::args::StatusArgs;
use super::printer::Printer;
use super::settings::{GlobalSettings, Session};
use super::ExitStatus;
use crate::ops::status::{self as op, Input};
use crate::render::status as render;
use miette::{miette, Result};
use std::time::Duration;

fn input(a: &StatusArgs) -> Result<Input> {
    let exempt = a
        .exempt_tags
        .iter()
        .map(|t| crate::model::snapshot::parse_tag(t).map_err(|e| miette!("--exempt-tag {t}: {e}")))
        .collect::<Result<Vec<_>>>()?;
    Ok(Input {
        files: a.files.clone(),
        all: a.all,
        since: a.since,
        drill_max_age: Duration::from_secs(a.drill_max_age.saturating_mul(86_400)),
        exempt,
    })
}

pub async fn status(
    args: StatusArgs,
    settings: &GlobalSettings,
    printer: Printer,
) -> Result<ExitStatus> {
    let input = input(&args)?;
    Session::with(settings, async |s| {
        let sub = s.default_subscription.as_deref();
        let report = op::run(&s.client, sub, &input).await?;
        printer.report(
            args.format,
            &report,
            [render::text, render::markdown, render::json],
        )?;
        Ok(if report.healthy {
            ExitStatus::Success
        } else {
            ExitStatus::Changes
        })
    })
    .await
}
