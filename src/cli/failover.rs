//! `azprotect failover | commit | reprotect | failback ADDRESS`: one recovery plan, checked
//! against what Azure allows now, confirmed, run with progress, reported.

use super::args::{DrArgs, FailoverArgs, PlanFormat, RecoveryPointArg};
use super::confirm;
use super::printer::Printer;
use super::settings::{GlobalSettings, Session};
use super::ExitStatus;
use crate::failover::{self, Operation};
use crate::model::site_recovery::recovery_plan::RecoveryPoint;
use crate::render;
use miette::{IntoDiagnostic, Result};

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
    failover::supported(op)?;
    let session = Session::open(settings).await?;
    let result = go(args, op, &session, printer).await;
    session.close().await;
    result
}

async fn go(
    args: &DrArgs,
    op: Operation,
    session: &Session,
    printer: Printer,
) -> Result<ExitStatus> {
    let what = format!("{} acts on", op.name());
    let found = super::recovery_plan::declared(session, &args.files, &args.address, &what).await?;
    let (plan, items) = (found.plan.clone(), found.item_ids());
    let status = failover::status(&session.client, &plan, &items).await?;
    printer.note(format!(
        "{}: VMs run in {}; Azure allows: {}",
        plan.address,
        status.active_region(),
        if status.allowed_operations.is_empty() {
            "nothing now (an operation is running)".to_string()
        } else {
            status.allowed_operations.join(", ")
        }
    ));
    let steps = failover::plan_steps(&plan, op, &status)?;
    let caches = caches(&found.desired, &plan, &found.replications);
    failover::require_caches(&plan, &steps, &status, &caches)?;
    let what = failover::describe(&plan, &steps, &status);
    let subject = format!("a {}", op.name());
    let unattended = format!("run the {}", op.name());
    let ask = confirm::Ask {
        subject: &subject,
        unattended: &unattended,
        steps: &what,
        question: "Only 'yes' is accepted:",
    };
    if !args.auto_approve && !confirm::confirm(printer, ask)? {
        printer.line(format!("{} cancelled.", op.name()));
        return Ok(ExitStatus::Failure);
    }
    let progress = move |line: &str| printer.note(format!("  {line}"));
    let report = failover::run(
        &session.client,
        &plan,
        &items,
        &caches,
        op,
        &steps,
        &progress,
    )
    .await?;
    let mut out = printer.stdout();
    match args.format {
        PlanFormat::Text => render::failover::text(&report, &mut out),
        PlanFormat::Markdown => render::failover::markdown(&report, &mut out),
        PlanFormat::Json => render::failover::json(&report, &mut out),
    }
    .into_diagnostic()?;
    Ok(if report.succeeded {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}

/// The declared caches and target resource group of the plan's replication group.
fn caches(
    desired: &crate::model::Desired,
    plan: &crate::model::Resource,
    replications: &[crate::model::Resource],
) -> failover::Caches {
    let group = plan.address.name.split('/').next().unwrap_or_default();
    let disk_types = replications
        .iter()
        .flat_map(|r| r.attrs["disks"].as_array().cloned().unwrap_or_default())
        .filter_map(|d| {
            Some((
                d["disk_id"].as_str()?.to_ascii_lowercase(),
                d["target_type"].as_str()?.to_string(),
            ))
        })
        .collect();
    desired
        .replication_groups
        .iter()
        .find(|g| g.name == group)
        .map(|g| failover::Caches {
            source: g.cache_storage_account_id.clone(),
            target: g.target_cache_storage_account_id.clone(),
            target_resource_group: g.target_resource_group_id.clone(),
            disk_types,
        })
        .unwrap_or_default()
}
