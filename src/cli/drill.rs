//! `azprotect drill ADDRESS`: test failover of a recovery plan, verify, clean up, report.

use super::args::{DrillArgs, PlanFormat};
use super::printer::Printer;
use super::settings::{GlobalSettings, Session};
use super::ExitStatus;
use crate::drill::{self, DrillOptions};
use crate::model::site_recovery::recovery_plan;
use crate::model::{Address, ArmId, ResourceKind};
use crate::render;
use is_terminal::IsTerminal;
use miette::{bail, miette, IntoDiagnostic, Result};
use std::io::BufRead;

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
    let address: Address = args.address.parse().map_err(|e| miette!("{e}"))?;
    if address.kind != ResourceKind::RecoveryPlan {
        bail!("a drill runs a recovery plan: expected recovery_plan.<site_recovery>/<plan>, got {address}");
    }
    let files = if args.files.is_empty() {
        vec!["azprotect.yaml".into()]
    } else {
        args.files.clone()
    };
    let desired = crate::config::load(&files)?.desired(session.default_subscription.as_deref())?;
    let live = crate::live::read(&session.client, &desired).await?;
    let resources = crate::plan::resolve(&desired, &live);
    let Some(plan) = resources.iter().find(|r| r.address == address) else {
        let known: Vec<String> = resources
            .iter()
            .filter(|r| r.address.kind == ResourceKind::RecoveryPlan)
            .map(|r| r.address.to_string())
            .collect();
        bail!(
            help = format!(
                "recovery plans in the file: {}",
                if known.is_empty() {
                    "none".into()
                } else {
                    known.join(", ")
                }
            ),
            "{address} is not declared"
        );
    };
    let items: Vec<ArmId> = plan.attrs["groups"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|g| g["vms"].as_array().into_iter().flatten())
        .filter_map(|vm| vm.as_str())
        .map(|vm| recovery_plan::item_of(plan, vm))
        .collect();
    let group = address.name.split('/').next().unwrap_or_default();
    let network_id = match &args.network {
        Some(n) => n.clone(),
        None => {
            let mapped = desired
                .replication_groups
                .iter()
                .find(|g| g.name == group)
                .and_then(|g| g.network_mappings.first())
                .map(|(_, target)| target.clone());
            let Some(n) = mapped else {
                bail!(
                    help = "pass --network with an isolated virtual network in the target region",
                    "no test network: the group maps no network"
                );
            };
            printer.note(format!(
                "Testing in the failover network {n}; pass --network for an isolated one."
            ));
            n
        }
    };
    drill::check_ready(&session.client, plan, &items).await?;
    if !args.auto_approve && !confirm(printer, &address, items.len())? {
        printer.line("Drill cancelled.");
        return Ok(ExitStatus::Failure);
    }
    let report = drill::run(
        &session.client,
        plan,
        &items,
        &DrillOptions {
            network_id,
            keep: args.keep,
        },
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

fn confirm(printer: Printer, address: &Address, vms: usize) -> Result<bool> {
    if !std::io::stdin().is_terminal() {
        bail!(
            help = "pass --auto-approve to run the drill without a prompt (for CI)",
            "a drill needs confirmation, but standard input is not a terminal"
        );
    }
    printer.note(format!("\nThe drill creates {vms} test VM(s) from {address} in the test network, then removes them. Only 'yes' is accepted:"));
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .into_diagnostic()?;
    Ok(answer.trim() == "yes")
}
