//! `azprotect plan`: load the files, read live state, diff (`ops::plan`), render, optionally save.

use super::args::{PlanArgs, PlanFormat};
use super::printer::Printer;
use super::settings::{targets, GlobalSettings, Session};
use super::ExitStatus;
use crate::model::{Address, Desired, LiveState};
use crate::ops::plan::{self as op, Phases};
use crate::plan::Plan;
use crate::render;
use miette::{IntoDiagnostic, Result};
use std::path::PathBuf;

pub async fn plan(
    args: PlanArgs,
    settings: &GlobalSettings,
    printer: Printer,
) -> Result<ExitStatus> {
    let session = Session::open(settings).await?;
    let targets = targets(&args.target)?;
    let mut phases = Phases::default();
    let result = make_plan_timed(&session, &args.files.files, &targets, &mut phases).await;
    let outcome = match result {
        Ok((desired, live, plan)) => {
            phases.mark("render");
            render_plan(&plan, args.format, printer)?;
            phases.finish();
            print_timings(&phases);
            if let Some(out) = &args.out {
                op::save(out, session.client.arm_endpoint(), desired, &live, &plan)?;
                printer.note(format!(
                    "Saved the plan to {}; apply it with: azprotect apply {}",
                    out.display(),
                    out.display()
                ));
            }
            Ok(if args.detailed_exitcode && !plan.is_empty() {
                ExitStatus::Changes
            } else {
                ExitStatus::Success
            })
        }
        Err(e) => Err(e),
    };
    session.close().await;
    outcome
}

/// Files → desired → live → plan: shared by `plan` and `apply`.
pub async fn make_plan(
    session: &Session,
    files: &[PathBuf],
    targets: &[Address],
) -> Result<(Desired, LiveState, Plan)> {
    make_plan_timed(session, files, targets, &mut Phases::default()).await
}

async fn make_plan_timed(
    session: &Session,
    files: &[PathBuf],
    targets: &[Address],
    phases: &mut Phases,
) -> Result<(Desired, LiveState, Plan)> {
    phases.mark("load");
    let loaded = op::load(files, session.default_subscription.as_deref())?;
    for w in &loaded.warnings {
        eprintln!("{w:?}");
    }
    let (live, plan) = op::diff(&session.client, &loaded.desired, targets, phases).await?;
    Ok((loaded.desired, live, plan))
}

/// With `AZPROTECT_TIMINGS=1`, one stderr line of wall time per phase
/// (`timings: load_ms=… read_ms=… diff_ms=… render_ms=…`): what `cargo bench --bench scale`
/// reads.
fn print_timings(phases: &Phases) {
    if std::env::var_os("AZPROTECT_TIMINGS").is_none() {
        return;
    }
    let line: Vec<String> = phases
        .done
        .iter()
        .map(|(n, d)| format!("{n}_ms={:.1}", d.as_secs_f64() * 1000.0))
        .collect();
    eprintln!("timings: {}", line.join(" "));
}

pub fn render_plan(plan: &Plan, format: PlanFormat, printer: Printer) -> Result<()> {
    let mut out = printer.stdout();
    match format {
        PlanFormat::Text => render::text(
            plan,
            &mut out,
            render::TextOptions {
                color: printer.color,
            },
        ),
        PlanFormat::Markdown => render::markdown(plan, &mut out),
        PlanFormat::Json => render::json(plan, &mut out),
    }
    .into_diagnostic()
}
