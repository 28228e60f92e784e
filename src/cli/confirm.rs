//! The one confirmation before a command changes Azure: without a terminal it refuses and says
//! how to run unattended (`--auto-approve`); on a terminal it shows what will happen and
//! accepts only `yes`.

use super::printer::Printer;
use miette::{bail, IntoDiagnostic, Result};
use std::io::{BufRead, IsTerminal};

/// What is being confirmed.
pub struct Ask<'a> {
    /// The operation as a sentence's subject: `apply`, `a drill`, `a failover`.
    pub subject: &'a str,
    /// What `--auto-approve` lets the user do: `apply`, `run the drill`.
    pub unattended: &'a str,
    /// What will happen, shown before the question (and in the refusal, when given).
    pub steps: &'a [String],
    /// The question, ending in a colon.
    pub question: &'a str,
}

/// Ask; `Ok(true)` only for `yes`.
pub fn confirm(printer: Printer, ask: Ask<'_>) -> Result<bool> {
    confirm_typed(printer, ask, "yes")
}

/// Ask; `Ok(true)` only when `expected` is typed (a VM's name before its disks are overwritten).
pub fn confirm_typed(printer: Printer, ask: Ask<'_>, expected: &str) -> Result<bool> {
    if !std::io::stdin().is_terminal() {
        let would = if ask.steps.is_empty() {
            String::new()
        } else {
            format!(". It would: {}", ask.steps.join("; then "))
        };
        bail!(
            help = format!(
                "pass --auto-approve to {} without a prompt (for CI)",
                ask.unattended
            ),
            "{} needs confirmation, but standard input is not a terminal{would}",
            ask.subject
        );
    }
    if !ask.steps.is_empty() {
        printer.note(format!(
            "\nThis {} will:",
            ask.subject.trim_start_matches("a ")
        ));
        for (i, w) in ask.steps.iter().enumerate() {
            printer.note(format!("  {}. {w}", i + 1));
        }
        printer.note(ask.question);
    } else {
        printer.note(format!("\n{}", ask.question));
    }
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .into_diagnostic()?;
    Ok(answer.trim() == expected)
}
