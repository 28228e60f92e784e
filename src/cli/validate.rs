//! `azprotect validate`: offline parse, validation and graph check.

use super::args::FilesArg;
use super::printer::Printer;
use super::settings::GlobalSettings;
use super::ExitStatus;
use crate::graph::Graph;
use crate::model::Desired;
use miette::Result;

/// A subscription stand-in for offline commands when neither the file nor the environment names one.
const OFFLINE_SUBSCRIPTION: &str = "00000000-0000-0000-0000-000000000000";

pub fn load_offline(files: &FilesArg, settings: &GlobalSettings) -> Result<(Desired, Graph)> {
    let loaded = crate::config::load(&files.files)?;
    for w in loaded.warnings() {
        eprintln!("{w:?}");
    }
    let sub = settings
        .subscription
        .as_deref()
        .unwrap_or(OFFLINE_SUBSCRIPTION);
    let desired = loaded.desired(Some(sub))?;
    // Offline, Site Recovery groups expand without live VMs (replications of listed VMs only).
    let resources = crate::plan::resolve(&desired, &crate::live::LiveState::default());
    let graph = Graph::of_resources(&resources)?;
    Ok((desired, graph))
}

pub fn validate(
    files: FilesArg,
    settings: &GlobalSettings,
    printer: Printer,
) -> Result<ExitStatus> {
    let (desired, graph) = load_offline(&files, settings)?;
    printer.line(format!(
        "The configuration is valid: {} resources in {} dependency layers, {} selector(s) resolved at plan time.",
        graph.len(),
        graph.layers().len(),
        desired.selectors.len()
    ));
    Ok(ExitStatus::Success)
}
