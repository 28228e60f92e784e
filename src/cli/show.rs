//! `azprotect show PLAN`: render a saved plan.

use super::args::ShowArgs;
use super::plan::render_plan;
use super::printer::Printer;
use super::ExitStatus;
use crate::ops::plan::load_saved;
use miette::Result;

pub fn show(args: ShowArgs, printer: Printer) -> Result<ExitStatus> {
    let saved = load_saved(&args.plan)?;
    render_plan(&saved.plan, args.format, printer)?;
    Ok(ExitStatus::Success)
}
