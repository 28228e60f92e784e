//! `azprotect apply`: plan (or load a saved plan and check it is still current), confirm,
//! execute, summarize — for people (`--format text`) or for a pipeline (`--format json`: one
//! result on stdout, the plan and progress on stderr). Under GitHub Actions the plan and the
//! progress are folded into groups (`cli::ci`).

use super::args::{ApplyArgs, ApplyFormat, PlanFormat};
use super::ci::Ci;
use super::confirm;
use super::plan::{make_plan, render_plan, scope};
use super::printer::Printer;
use super::progress::{terminal, Timed};
use super::settings::{GlobalSettings, Session};
use super::ExitStatus;
use crate::apply::lease::LeaseOptions;
use crate::apply::{ApplyOptions, Outcome};
use crate::ops;
use crate::ops::apply::{Applied, Replication};
use crate::ops::saved_plan::Reviewed;
use crate::plan::Plan;
use crate::render;
use crate::render::apply::ApplyResult;
use miette::{IntoDiagnostic, Result};
use std::sync::Arc;
use std::time::Duration;

pub async fn apply(
    args: ApplyArgs,
    settings: &GlobalSettings,
    printer: Printer,
) -> Result<ExitStatus> {
    Session::with(settings, async |s| run(&args, s, printer).await).await
}

async fn run(args: &ApplyArgs, session: &Session, printer: Printer) -> Result<ExitStatus> {
    let (ci, json) = (Ci::detect(), args.format == ApplyFormat::Json);
    let (saved, made);
    let reviewed = match &args.plan {
        Some(path) => {
            saved = ops::saved_plan::load_current(&session.client, &session.estate(), path).await?;
            Reviewed::saved(&saved)
        }
        None => {
            let files = ops::plan::files_or_default(&args.files);
            let scope = scope(&args.target, args.shard, args.allow_partial)?;
            made = make_plan(session, &files, scope, &mut Default::default()).await?;
            show_plan(&made.plan, json, ci, printer)?;
            Reviewed::made(&made)
        }
    };
    let plan = reviewed.plan;
    if plan.is_empty() {
        if json {
            render::apply::json(&ApplyResult::nothing(), &mut printer.stdout())
                .into_diagnostic()?;
        } else if args.plan.is_some() {
            printer.line("The plan has no changes.");
        }
        return Ok(ExitStatus::Success);
    }
    ops::apply::check(plan, args.allow_data_loss)?;
    let ask = confirm::Ask {
        subject: "apply",
        unattended: "apply",
        steps: &[],
        question: "Do you want to apply these changes? Only 'yes' is accepted:",
    };
    if !args.auto_approve && !confirm::confirm(printer, ask)? {
        match json {
            // stdout carries only the result under --format json.
            true => printer.note("Apply cancelled."),
            false => printer.line("Apply cancelled."),
        }
        return Ok(ExitStatus::Failure);
    }
    let wait_timeout = Duration::from_secs(args.wait_timeout * 60);
    let opts = ops::apply::Options {
        apply: ApplyOptions {
            parallelism: args.parallelism,
            replicated_timeout: wait_timeout,
        },
        wait_replicated: args.wait_replicated,
        wait_timeout,
        lock: (!args.no_lock).then(|| LeaseOptions::new(args.lock_timeout)),
    };
    let progress = Arc::new(Timed::new(terminal(printer)));
    let group = format!("Applying {} change(s)", plan.changes.len());
    ci.group(&group).inspect(|l| printer.note(l));
    let applied = ops::apply::run(&session.client, &reviewed, &opts, progress.clone()).await;
    ci.end_group().inspect(|l| printer.note(l));
    let applied = applied?;
    if json {
        let result = applied.result(plan, |key| progress.took(key));
        render::apply::json(&result, &mut printer.stdout()).into_diagnostic()?;
    } else {
        summarize(&applied, printer);
    }
    Ok(if applied.succeeded() {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}

/// The plan before it is applied: on stdout for people, on stderr when stdout carries the JSON
/// result; folded into a group under GitHub Actions.
fn show_plan(plan: &Plan, json: bool, ci: Ci, printer: Printer) -> Result<()> {
    let say = |line: String| {
        if json {
            printer.note(line)
        } else {
            printer.line(line)
        }
    };
    ci.group(&render::summary_line(&plan.summary)).map(say);
    if json {
        let mut err = std::io::stderr().lock();
        render::text(plan, &mut err, render::TextOptions { color: false }).into_diagnostic()?;
    } else {
        render_plan(plan, PlanFormat::Text, printer)?;
    }
    ci.end_group().map(say);
    Ok(())
}

/// What failed or was skipped, the counts, and where the replication it enabled stands.
fn summarize(applied: &Applied, printer: Printer) {
    let report = &applied.report;
    printer.line("");
    for (addr, outcome) in &report.outcomes {
        match outcome {
            Outcome::Failed(e) => printer.line(format!("✗ {addr}: {e}")),
            Outcome::Skipped { because } => {
                printer.line(format!("- {addr}: skipped because {because} did not apply"))
            }
            Outcome::NotStarted { why } => printer.line(format!("- {addr}: not started: {why}")),
            Outcome::Done => {}
        }
    }
    printer.line(format!(
        "Apply complete: {} succeeded, {} failed, {} skipped.",
        report.succeeded(),
        report.failed(),
        report.skipped()
    ));
    if report.failed() > 0 {
        printer.line("Re-run apply to retry: it picks up from the current state of Azure.");
    }
    match &applied.replication {
        Replication::NoneEnabled => {}
        Replication::Continuing(n) => printer.line(format!(
            "Replication is enabled for {n} VM(s); initial replication continues in Azure (use --wait-replicated to wait for it)."
        )),
        Replication::Finished(n) => {
            printer.line(format!("Initial replication finished for {n} VM(s)."))
        }
        Replication::StillReplicating { left, waited } => printer.line(format!(
            "{left} VM(s) still replicating after {} minutes.",
            waited.as_secs() / 60
        )),
    }
}
