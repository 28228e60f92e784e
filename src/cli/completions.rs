//! `azprotect completions SHELL`: the shell's completion script for every command and flag,
//! generated from the same clap types that parse the command line (so it cannot drift).

use super::args::{Cli, CompletionsArgs};
use super::printer::Printer;
use super::ExitStatus;
use clap::CommandFactory;
use miette::{IntoDiagnostic, Result};
use std::io::Write;

pub fn completions(args: CompletionsArgs, printer: Printer) -> Result<ExitStatus> {
    let mut cmd = Cli::command();
    // Into memory first: clap_complete panics when its writer fails (a closed pipe).
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "azprotect", &mut script);
    printer.stdout().write_all(&script).into_diagnostic()?;
    Ok(ExitStatus::Success)
}
