//! `azprotect drill ADDRESS`: test failover of a recovery plan, verify, clean up, report.

use super::args::{DrillArgs, PlanFormat};
use super::confirm;
use super::printer::Printer;
use super::settings::{GlobalSettings, Session};
use super::ExitStatus;
use crate::drill::{self, DrillOptions};
use crate::render;
use miette::{bail, IntoDiagnostic, Result};

pub async fn drill(
    args: DrillArgs,
    settings: &GlobalSettings,
    printer: Printer,
) -> Result<ExitStatus> {
    let session = Session::open(settings).await?;
    let result = run(&args, &session, printer).await;
    session.close().await;
    result
}

async fn run(args: &DrillArgs, session: &Session, printer: Printer) -> Result<ExitStatus> {
    let found =
        super::recovery_plan::declared(session, &args.files, &args.address, "a drill runs").await?;
    let (address, plan, items, desired) =
        (&found.address, &found.plan, &found.items, &found.desired);
    let ids = found.item_ids();
    let group = address.name.split('/').next().unwrap_or_default();
    // Networks the failed-over VMs use in production (and their sources): never a drill's.
    let production: Vec<&str> = desired
        .replication_groups
        .iter()
        .filter(|g| g.name == group)
        .flat_map(|g| g.network_mappings.iter())
        .flat_map(|(s, t)| [s.as_str(), t.as_str()])
        .collect();
    let Some(network_id) = args.network.clone() else {
        bail!(
            help = "create an isolated virtual network in the target region (no peering, no gateway) and pass it with --network",
            "a drill needs --network: the test VMs must boot in a network isolated from production"
        );
    };
    if production
        .iter()
        .any(|p| p.eq_ignore_ascii_case(&network_id))
    {
        bail!(
            help = "pass an isolated virtual network with --network; the test VMs would otherwise join production traffic",
            "{network_id} is a production network of {group} (a network mapping uses it): a drill never runs there"
        );
    }
    if !args.auto_approve {
        // Say "not ready" before asking, not after; `drill::run` checks again right before it
        // starts, as the answer may take a while.
        drill::check_ready(&session.client, plan, &ids).await?;
    }
    let question = format!("The drill creates {} test VM(s) from {address} in the test network, then removes them. Only 'yes' is accepted:", items.len());
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
    let progress = |step: &str, p: &crate::azure::OperationProgress| {
        let pct = p.percent.map(|p| format!(" {p:.0}%")).unwrap_or_default();
        eprintln!(
            "{step}: {}{pct} ({:.0}s)",
            p.status,
            p.elapsed.as_secs_f64()
        );
    };
    let report = drill::run(
        &session.client,
        plan,
        items,
        &DrillOptions {
            network_id,
            keep: args.keep,
        },
        &progress,
    )
    .await?;
    let mut out = printer.stdout();
    match args.format {
        PlanFormat::Text => render::drill::text(&report, &mut out),
        PlanFormat::Markdown => render::drill::markdown(&report, &mut out),
        PlanFormat::Json => render::drill::json(&report, &mut out),
    }
    .into_diagnostic()?;
    Ok(if report.succeeded {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}
