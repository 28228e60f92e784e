//! `azprotect plan`: load the files, read live state, diff, render, optionally save.

use super::args::{PlanArgs, PlanFormat};
use super::printer::Printer;
use super::settings::{targets, GlobalSettings, Session};
use super::ExitStatus;
use crate::live::{self, LiveState};
use crate::model::{Address, Desired};
use crate::plan::file::SavedPlan;
use crate::plan::{self, Plan, PlanOptions};
use crate::render;
use miette::{IntoDiagnostic, Result, WrapErr};
use std::path::{Path, PathBuf};

pub async fn plan(
    args: PlanArgs,
    settings: &GlobalSettings,
    printer: Printer,
) -> Result<ExitStatus> {
    let session = Session::open(settings).await?;
    let targets = targets(&args.target)?;
    let mut phases = Phases::start();
    let result = make_plan_timed(&session, &args.files.files, &targets, &mut phases).await;
    let outcome = match result {
        Ok((desired, live, plan)) => {
            phases.mark("render");
            render_plan(&plan, args.format, printer)?;
            phases.finish();
            if let Some(out) = &args.out {
                save(out, &session, desired, &live, &plan)?;
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
    make_plan_timed(session, files, targets, &mut Phases::start()).await
}

async fn make_plan_timed(
    session: &Session,
    files: &[PathBuf],
    targets: &[Address],
    phases: &mut Phases,
) -> Result<(Desired, LiveState, Plan)> {
    phases.mark("load");
    let loaded = crate::config::load(files)?;
    for w in loaded.warnings() {
        eprintln!("{w:?}");
    }
    let desired = loaded.desired(session.default_subscription.as_deref())?;
    crate::graph::Graph::of_resources(&desired.resources)?;
    phases.mark("read");
    let live = live::read(&session.client, &desired).await?;
    phases.mark("diff");
    let plan = plan::plan(
        &desired,
        &live,
        &PlanOptions {
            targets: targets.to_vec(),
        },
    );
    Ok((desired, live, plan))
}

/// Wall time per phase of a plan. With `AZPROTECT_TIMINGS=1`, `plan` prints them on stderr as
/// one line (`timings: load_ms=… read_ms=… diff_ms=… render_ms=…`): what
/// `cargo bench --bench scale` reads.
struct Phases {
    current: Option<(&'static str, std::time::Instant)>,
    done: Vec<(&'static str, std::time::Duration)>,
}

impl Phases {
    fn start() -> Phases {
        Phases {
            current: None,
            done: Vec::new(),
        }
    }

    fn mark(&mut self, phase: &'static str) {
        if let Some((name, at)) = self.current.take() {
            self.done.push((name, at.elapsed()));
        }
        self.current = Some((phase, std::time::Instant::now()));
    }

    fn finish(mut self) {
        self.mark("end");
        if std::env::var_os("AZPROTECT_TIMINGS").is_none() {
            return;
        }
        let line: Vec<String> = self
            .done
            .iter()
            .map(|(n, d)| format!("{n}_ms={:.1}", d.as_secs_f64() * 1000.0))
            .collect();
        eprintln!("timings: {}", line.join(" "));
    }
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

fn save(
    path: &Path,
    session: &Session,
    desired: Desired,
    live: &LiveState,
    plan: &Plan,
) -> Result<()> {
    let saved = SavedPlan {
        kind: "azprotect-plan".into(),
        azprotect_version: env!("CARGO_PKG_VERSION").into(),
        live_fingerprint: live.fingerprint(),
        arm_endpoint: session.client.arm_endpoint().to_string(),
        desired,
        plan: plan.clone(),
    };
    let json = serde_json::to_string_pretty(&saved).into_diagnostic()?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).into_diagnostic()?;
    }
    std::fs::write(path, json + "\n")
        .into_diagnostic()
        .wrap_err_with(|| format!("could not write the plan to {}", path.display()))
}

/// Read a plan saved by `plan --out`.
pub fn load_saved(path: &Path) -> Result<SavedPlan> {
    let text = std::fs::read_to_string(path)
        .into_diagnostic()
        .wrap_err_with(|| format!("could not read the plan {}", path.display()))?;
    let saved: SavedPlan = serde_json::from_str(&text)
        .into_diagnostic()
        .wrap_err_with(|| {
            format!(
                "{} is not a plan saved by `azprotect plan --out`",
                path.display()
            )
        })?;
    if saved.kind != "azprotect-plan" || saved.plan.format_version != plan::FORMAT_VERSION {
        miette::bail!(
            "{} is not a plan this azprotect can apply (format {})",
            path.display(),
            saved.plan.format_version
        );
    }
    Ok(saved)
}
