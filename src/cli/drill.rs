//! `azprotect drill ADDRESS`: test failover of a recovery plan (`ops::drill`), confirmed, run
//! with progress, reported.

use super::args::DrillArgs;
use super::confirm;
use super::printer::Printer;
use super::progress::terminal;
use super::settings::{GlobalSettings, Session};
use super::ExitStatus;
use crate::ops::drill as ops;
use crate::render;
use miette::Result;

pub async fn drill(
    args: DrillArgs,
    settings: &GlobalSettings,
    printer: Printer,
) -> Result<ExitStatus> {
    Session::with(settings, async |s| run(&args, s, printer).await).await
}

async fn run(args: &DrillArgs, session: &Session, printer: Printer) -> Result<ExitStatus> {
    let client = &session.client;
    let prepared = ops::prepare(
        client,
        session.default_subscription.as_deref(),
        &args.files,
        &args.address,
        args.network.clone(),
        args.keep,
    )
    .await?;
    if !args.auto_approve {
        // Say "not ready" before asking, not after.
        ops::check_ready(client, &prepared).await?;
    }
    let question = format!("The drill creates {} test VM(s) from {} in the test network, then removes them. Only 'yes' is accepted:", prepared.found.items.len(), prepared.found.address);
    let ask = confirm::Ask {
        subject: "a drill",
        unattended: "run the drill",
        steps: &[],
        question: &question,
    };
    if !args.auto_approve && !confirm::confirm(printer, ask)? {
        printer.line("Drill cancelled.");
        return Ok(ExitStatus::Failure);
    }
    let mut report = ops::run(client, &prepared, terminal(printer).as_ref()).await?;
    report.sandbox_time = session.on_sandbox();
    printer.report(
        args.format,
        &report,
        [
            render::drill::text,
            render::drill::markdown,
            render::drill::json,
        ],
    )?;
    Ok(if report.succeeded {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}
