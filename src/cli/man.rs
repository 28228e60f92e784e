//! `azprotect man [--out DIR]`: manual pages generated from the clap types — the top page on
//! stdout, or one page per command (`azprotect-plan.1`, `azprotect-snapshot-take.1`, …) in DIR.

use super::args::{Cli, ManArgs};
use super::printer::Printer;
use super::ExitStatus;
use clap::CommandFactory;
use miette::{IntoDiagnostic, Result, WrapErr};

pub fn man(args: ManArgs, printer: Printer) -> Result<ExitStatus> {
    // No page for clap's `help` subcommand (generate_to leaves it out; the top page must too).
    let cmd = Cli::command().disable_help_subcommand(true);
    match args.out {
        None => clap_mangen::Man::new(cmd)
            .render(&mut printer.stdout())
            .into_diagnostic()?,
        Some(dir) => {
            std::fs::create_dir_all(&dir)
                .into_diagnostic()
                .wrap_err_with(|| format!("could not create {}", dir.display()))?;
            clap_mangen::generate_to(cmd, &dir)
                .into_diagnostic()
                .wrap_err_with(|| {
                    format!("could not write the manual pages into {}", dir.display())
                })?;
            printer.note(format!(
                "wrote the manual pages into {} (read one with: man -l {}/azprotect-plan.1)",
                dir.display(),
                dir.display()
            ));
        }
    }
    Ok(ExitStatus::Success)
}
