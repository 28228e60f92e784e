//! `azprotect show PLAN`: render a saved plan; `show --merge PLAN…`: render the plans of
//! `plan --shard I/N` runs as one (`ops::merge`), saying which shards are missing.

use super::args::ShowArgs;
use super::plan::render_plan;
use super::printer::Printer;
use super::ExitStatus;
use crate::ops::merge::merge;
use crate::ops::plan::load_saved;
use miette::Result;

pub fn show(args: ShowArgs, printer: Printer) -> Result<ExitStatus> {
    if !args.merge {
        let [plan] = args.plans.as_slice() else {
            miette::bail!(
                help = "show one plan, or the plans of `plan --shard` runs with --merge",
                "{} plans given",
                args.plans.len()
            );
        };
        render_plan(&load_saved(plan)?.plan, args.format, printer)?;
        return Ok(ExitStatus::Success);
    }
    let mut saved = Vec::new();
    for path in &args.plans {
        saved.push((path.clone(), load_saved(path)?));
    }
    let merged = merge(&saved)?;
    if !merged.missing.is_empty() {
        let missing: Vec<String> = (merged.missing.iter())
            .map(|i| format!("{i}/{}", merged.count))
            .collect();
        printer.note(format!(
            "Warning: no plan for shard(s) {}: this is not the whole estate's plan.",
            missing.join(", ")
        ));
    }
    render_plan(&merged.plan, args.format, printer)?;
    Ok(ExitStatus::Success)
}
