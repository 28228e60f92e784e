//! `azprotect graph`: the dependency graph of the declared resources.

use super::args::{GraphArgs, GraphFormat};
use super::printer::Printer;
use super::settings::GlobalSettings;
use super::validate::load_offline;
use super::ExitStatus;
use miette::Result;

pub fn graph(args: GraphArgs, settings: &GlobalSettings, printer: Printer) -> Result<ExitStatus> {
    let (desired, graph, _) = load_offline(&args.files, settings)?;
    match args.format {
        GraphFormat::Dot => printer.line(graph.to_dot().trim_end()),
        GraphFormat::Text => {
            printer.line(graph.to_text().trim_end());
            for s in &desired.selectors {
                printer.line(format!(
                    "selector: {} → backup_policy.{}/{} (resource groups {:?}, tags {:?}) resolved against live VMs at plan time",
                    s.vault, s.vault, s.policy, s.resource_groups, s.tags
                ));
            }
        }
    }
    Ok(ExitStatus::Success)
}
