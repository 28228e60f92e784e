//! `azprotect restore-drill`: prepare (`ops::restore_drill`: scope, place, isolation), say what
//! it creates, confirm, run with progress, render the report; exit 1 when any VM failed.

use super::args::RestoreDrillArgs;
use super::confirm;
use super::printer::Printer;
use super::progress::terminal;
use super::settings::{GlobalSettings, Session};
use super::ExitStatus;
use crate::model::restore_drill::Defaults;
use crate::ops::restore_drill::{self as op, Input};
use crate::render::restore_drill as render;
use miette::{miette, Result};

fn input(a: &RestoreDrillArgs) -> Result<Input> {
    let tags = a
        .tags
        .iter()
        .map(|t| crate::model::snapshot::parse_tag(t).map_err(|e| miette!("--tag {t}: {e}")))
        .collect::<Result<_>>()?;
    // `--target` as `plan` takes it: an address, a stamp or a subscription.
    let scope = super::plan::scope(&a.target, None, false)?;
    Ok(Input {
        files: a.files.clone(),
        targets: scope.targets,
        stamp_targets: scope.stamp_targets,
        subscription_targets: scope.subscription_targets,
        tags,
        place: Defaults {
            resource_group: a.resource_group.clone(),
            network: a.network.clone(),
            staging_storage_account: a.staging_storage_account.clone(),
            parallelism: a.parallelism,
        },
        keep: a.keep,
    })
}

pub async fn restore_drill(
    args: RestoreDrillArgs,
    settings: &GlobalSettings,
    printer: Printer,
) -> Result<ExitStatus> {
    let input = input(&args)?;
    Session::with(settings, async |s| {
        let sub = s.default_subscription.as_deref();
        let prepared = op::prepare(&s.client, sub, &input).await?;
        let mut steps = prepared.will();
        steps.push(if prepared.keep {
            "keep what it creates (--keep)".to_string()
        } else {
            "then remove every VM, disk and NIC it created".to_string()
        });
        let ask = confirm::Ask {
            subject: "a restore drill",
            unattended: "run the restore drill",
            steps: &steps,
            question: "Do you want to run the restore drill? Only 'yes' is accepted:",
        };
        if !args.auto_approve && !confirm::confirm(printer, ask)? {
            printer.line("Restore drill cancelled.");
            return Ok(ExitStatus::Failure);
        }
        let progress = terminal(printer);
        let mut report = op::run(&s.client, &prepared, progress.as_ref()).await;
        report.sandbox_time = s.on_sandbox();
        printer.report(
            args.format,
            &report,
            [render::text, render::markdown, render::json],
        )?;
        Ok(if report.passed {
            ExitStatus::Success
        } else {
            ExitStatus::Failure
        })
    })
    .await
}
