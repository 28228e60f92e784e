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

/// The files' desired state (stamps not expanded: that needs Azure), its graph, and how many
/// stamps the files declare.
pub fn load_offline(
    files: &FilesArg,
    settings: &GlobalSettings,
) -> Result<(Desired, Graph, usize)> {
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
    let stamps = loaded.stamp_count();
    Ok((desired, graph, stamps))
}

pub fn validate(
    files: FilesArg,
    settings: &GlobalSettings,
    printer: Printer,
) -> Result<ExitStatus> {
    let (desired, graph, stamps) = load_offline(&files, settings)?;
    let stamps = match stamps {
        0 => String::new(),
        n => format!(" {n} stamp(s) expanded at plan time."),
    };
    printer.line(format!(
        "The configuration is valid: {} resources in {} dependency layers, {} selector(s) resolved at plan time.{stamps}",
        graph.len(),
        graph.layers().len(),
        desired.selectors.len()
    ));
    Ok(ExitStatus::Success)
}
