//! `azprotect show PLAN`: render a saved plan; `show --merge PLAN…`: render the plans of
//! `plan --shard I/N` runs as one (`ops::merge`); the plan itself says which shards are
//! missing.

use super::args::ShowArgs;
use super::plan::render_plan;
use super::printer::Printer;
use super::ExitStatus;
use crate::ops::merge::merge;
use crate::ops::saved_plan::load_saved;
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
    render_plan(&merged, args.format, printer)?;
    Ok(ExitStatus::Success)
}
