//! `azprotect plan`: load the files, read live state, diff (`ops::plan`), render, optionally save.

use super::args::{PlanArgs, PlanFormat};
use super::ci::Ci;
use super::printer::Printer;
use super::settings::{targets, GlobalSettings, Session};
use super::ExitStatus;
use crate::model::shard::Shard;
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
    Session::with(settings, async |s| run(&args, s, printer).await).await
}

async fn run(args: &PlanArgs, session: &Session, printer: Printer) -> Result<ExitStatus> {
    let mut phases = Phases::default();
    let scope = scope(&args.target, args.shard, args.allow_partial)?;
    let made = make_plan(session, &args.files.files, scope, &mut phases).await?;
    phases.mark("render");
    render_plan(&made.plan, args.format, printer)?;
    phases.finish();
    print_timings(&phases);
    if let Some(out) = &args.out {
        crate::ops::saved_plan::save(out, &session.estate(), &made)?;
        printer.note(format!(
            "Saved the plan to {}; apply it with: azprotect {}apply {}",
            out.display(),
            session.global_flags(),
            out.display()
        ));
    }
    let blocked = crate::plan::Summary::of(&made.plan.changes).blocked > 0;
    Ok(
        match (args.detailed_exitcode, made.plan.is_empty(), blocked) {
            (false, ..) | (true, true, _) => ExitStatus::Success,
            (true, false, false) => ExitStatus::Changes,
            (true, false, true) => ExitStatus::Blocked,
        },
    )
}

/// What of the files `plan` and `apply` cover, from the command line: `--target`s parsed
/// (`stamp.…` and `subscription.…` apart from addresses).
pub fn scope(target: &[String], shard: Option<Shard>, allow_partial: bool) -> Result<op::Scope> {
    use crate::model::stamp::{StampTarget, STAMP_PREFIX};
    use crate::ops::targets::subscription_named;
    let mut scope = op::Scope {
        shard,
        allow_partial,
        ..op::Scope::default()
    };
    let mut addresses: Vec<String> = Vec::new();
    for t in target {
        if t.starts_with(STAMP_PREFIX) {
            let stamp = StampTarget::parse(t)
                .unwrap_or_else(|| Err(format!("`{t}` is not a stamp target")))
                .map_err(|e| miette::miette!("--target {t}: {e}"))?;
            scope.stamp_targets.push(stamp);
        } else if let Some(sub) = subscription_named(t) {
            if sub.is_empty() {
                miette::bail!(
                    "--target {t}: name the subscription: subscription.ID (or its display name)"
                );
            }
            scope.subscription_targets.push(sub.to_string());
        } else {
            addresses.push(t.clone());
        }
    }
    scope.targets = targets(&addresses).map_err(|e| {
        miette::miette!(
            help = "a target may also be a stamp (stamp.NAME, 'stamp.NAME[SUBSCRIPTION]') or a subscription (subscription.ID)",
            "{e}"
        )
    })?;
    Ok(scope)
}

/// `ops::plan::make` for the files and the scope given, its warnings shown.
pub async fn make_plan(
    session: &Session,
    files: &[PathBuf],
    scope: op::Scope,
    phases: &mut Phases,
) -> Result<op::Made> {
    let sub = session.default_subscription.as_deref();
    let scope = op::Scope {
        discovery: session.discovery,
        ..scope
    };
    let made = op::make(&session.client, sub, files, &scope, phases).await?;
    for w in &made.warnings {
        eprintln!("{w:?}");
        if let Some(line) = Ci::detect().warning(&w.to_string()) {
            eprintln!("{line}");
        }
    }
    annotate_blocked(&made.plan, Ci::detect());
    Ok(made)
}

/// Under GitHub Actions, one `::error` annotation per blocked change (apply refuses the plan).
fn annotate_blocked(plan: &Plan, ci: Ci) {
    for line in blocked_annotations(plan, ci) {
        eprintln!("{line}");
    }
}

fn blocked_annotations(plan: &Plan, ci: Ci) -> Vec<String> {
    plan.changes
        .iter()
        .filter_map(|c| {
            let why = c.blocked.as_deref()?;
            ci.error(Some(&format!("blocked: {}", c.address)), why)
        })
        .collect()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ArmId;
    use crate::plan::{Action, Change};

    #[test]
    fn each_blocked_change_is_an_error_annotation_under_github_actions_only() {
        let change = |addr: &str, blocked: Option<&str>| Change {
            blocked: blocked.map(str::to_string),
            ..Change::new(
                addr.parse().unwrap(),
                Action::Replace,
                ArmId::new(format!("/x/{addr}")),
            )
        };
        let plan = Plan::new(
            vec![],
            vec![
                change(
                    "recovery_vault.rsv",
                    Some("storage redundancy is fixed, 100%"),
                ),
                change("backup_policy.rsv/daily", None),
            ],
        );
        assert_eq!(
            blocked_annotations(&plan, Ci::GitHub),
            ["::error title=blocked%3A recovery_vault.rsv::storage redundancy is fixed, 100%25"]
        );
        assert!(blocked_annotations(&plan, Ci::Plain).is_empty());
    }
}
