//! `azprotect failover | commit | reprotect | failback ADDRESS`: one recovery plan, checked
//! against what Azure allows now (`ops::failover`), confirmed, run with progress, reported.

use super::args::{DrArgs, FailoverArgs, RecoveryPointArg};
use super::confirm;
use super::printer::Printer;
use super::progress::terminal;
use super::settings::{GlobalSettings, Session};
use super::ExitStatus;
use crate::failover::Operation;
use crate::model::site_recovery::recovery_plan::RecoveryPoint;
use crate::ops::failover as ops;
use crate::render;
use miette::Result;

#[derive(Debug, Clone, Copy)]
pub enum Kind {
    Commit,
    Reprotect,
    Failback,
}

pub async fn failover(
    args: FailoverArgs,
    settings: &GlobalSettings,
    printer: Printer,
) -> Result<ExitStatus> {
    let op = if args.planned {
        Operation::PlannedFailover
    } else {
        Operation::UnplannedFailover {
            point: match args.recovery_point.unwrap_or(RecoveryPointArg::Latest) {
                RecoveryPointArg::Latest => RecoveryPoint::Latest,
                RecoveryPointArg::LatestAppConsistent => RecoveryPoint::LatestAppConsistent,
                RecoveryPointArg::LatestCrashConsistent => RecoveryPoint::LatestCrashConsistent,
                RecoveryPointArg::LatestProcessed => RecoveryPoint::LatestProcessed,
            },
            shut_down_source: args.shut_down_source,
        }
    };
    execute(&args.common, op, settings, printer).await
}

pub async fn run(
    args: DrArgs,
    kind: Kind,
    settings: &GlobalSettings,
    printer: Printer,
) -> Result<ExitStatus> {
    let op = match kind {
        Kind::Commit => Operation::Commit,
        Kind::Reprotect => Operation::Reprotect,
        Kind::Failback => Operation::Failback,
    };
    execute(&args, op, settings, printer).await
}

async fn execute(
    args: &DrArgs,
    op: Operation,
    settings: &GlobalSettings,
    printer: Printer,
) -> Result<ExitStatus> {
    Session::with(settings, async |s| go(args, op, s, printer).await).await
}

async fn go(
    args: &DrArgs,
    op: Operation,
    session: &Session,
    printer: Printer,
) -> Result<ExitStatus> {
    let client = &session.client;
    let sub = session.default_subscription.as_deref();
    let prepared = ops::prepare(client, sub, &args.files, &args.address, op).await?;
    let status = &prepared.status;
    printer.note(format!(
        "{}: VMs run in {}; Azure allows: {}",
        prepared.found.address,
        status.active_region(),
        if status.allowed_operations.is_empty() {
            "nothing now (an operation is running)".to_string()
        } else {
            status.allowed_operations.join(", ")
        }
    ));
    let subject = format!("a {}", op.name());
    let unattended = format!("run the {}", op.name());
    let ask = confirm::Ask {
        subject: &subject,
        unattended: &unattended,
        steps: &prepared.description,
        question: "Only 'yes' is accepted:",
    };
    if !args.auto_approve && !confirm::confirm(printer, ask)? {
        printer.line(format!("{} cancelled.", op.name()));
        return Ok(ExitStatus::Failure);
    }
    let mut report = ops::run(client, &prepared, terminal(printer).as_ref()).await?;
    report.sandbox_time = session.on_sandbox();
    printer.report(
        args.format,
        &report,
        [
            render::failover::text,
            render::failover::markdown,
            render::failover::json,
        ],
    )?;
    Ok(if report.succeeded {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}
