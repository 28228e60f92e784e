//! `azprotect apply`: plan (or load a saved plan and check it is still current), confirm,
//! execute, summarize.

use super::args::{ApplyArgs, PlanFormat};
use super::confirm;
use super::plan::{make_plan, render_plan};
use super::printer::Printer;
use super::progress::reporter;
use super::settings::{targets, GlobalSettings, Session};
use super::ExitStatus;
use crate::apply::{self, wait, ApplyOptions, Outcome};
use crate::model::{ArmId, ResourceKind};
use crate::plan::Action;
use miette::Result;

pub async fn apply(
    args: ApplyArgs,
    settings: &GlobalSettings,
    printer: Printer,
) -> Result<ExitStatus> {
    let session = Session::open(settings).await?;
    let result = run(&args, &session, printer).await;
    session.close().await;
    result
}

async fn run(args: &ApplyArgs, session: &Session, printer: Printer) -> Result<ExitStatus> {
    let plan = match &args.plan {
        Some(path) => {
            crate::ops::plan::load_current(&session.client, path)
                .await?
                .plan
        }
        None => {
            let files = super::recovery_plan::files_or_default(&args.files);
            let (_, _, plan) = make_plan(session, &files, &targets(&args.target)?).await?;
            render_plan(&plan, PlanFormat::Text, printer)?;
            plan
        }
    };
    if plan.is_empty() {
        if args.plan.is_some() {
            printer.line("The plan has no changes.");
        }
        return Ok(ExitStatus::Success);
    }
    apply::check(&plan, args.allow_data_loss)?;
    let ask = confirm::Ask {
        subject: "apply",
        unattended: "apply",
        steps: &[],
        question: "Do you want to apply these changes? Only 'yes' is accepted:",
    };
    if !args.auto_approve && !confirm::confirm(printer, ask)? {
        printer.line("Apply cancelled.");
        return Ok(ExitStatus::Failure);
    }
    let report = apply::apply(
        &session.client,
        &plan,
        &ApplyOptions {
            parallelism: args.parallelism,
            replicated_timeout: std::time::Duration::from_secs(args.wait_timeout * 60),
        },
        reporter(printer),
    )
    .await;
    printer.line("");
    for (addr, outcome) in &report.outcomes {
        match outcome {
            Outcome::Failed(e) => printer.line(format!("✗ {addr}: {e}")),
            Outcome::Skipped { because } => {
                printer.line(format!("- {addr}: skipped because {because} did not apply"))
            }
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
        return Ok(ExitStatus::Failure);
    }
    let enabled: Vec<ArmId> = plan
        .changes
        .iter()
        .filter(|c| c.address.kind == ResourceKind::Replication)
        .filter(|c| matches!(c.action, Action::Create | Action::Replace))
        .map(|c| c.arm_id.clone())
        .collect();
    if !enabled.is_empty() && args.wait_replicated {
        let timeout = std::time::Duration::from_secs(args.wait_timeout * 60);
        let show = |s: &[wait::ReplicationStatus]| {
            for st in s {
                let pct = st.percent.map(|p| format!(" {p}%")).unwrap_or_default();
                eprintln!(
                    "initial replication {}: {}{pct}",
                    st.item.name(),
                    st.vm_state
                );
            }
        };
        let left = wait::wait_replicated(&session.client, &enabled, timeout, &show).await?;
        if !left.is_empty() {
            printer.line(format!(
                "{} VM(s) still replicating after {} minutes.",
                left.len(),
                args.wait_timeout
            ));
            return Ok(ExitStatus::Failure);
        }
        printer.line(format!(
            "Initial replication finished for {} VM(s).",
            enabled.len()
        ));
    } else if !enabled.is_empty() {
        printer.line(format!(
            "Replication is enabled for {} VM(s); initial replication continues in Azure (use --wait-replicated to wait for it).",
            enabled.len()
        ));
    }
    Ok(ExitStatus::Success)
}
