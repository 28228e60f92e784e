//! `azprotect schema`: the JSON Schema of the configuration format.

use super::printer::Printer;
use super::ExitStatus;
use miette::{IntoDiagnostic, Result};

pub fn schema(printer: Printer) -> Result<ExitStatus> {
    use std::io::Write;
    printer
        .stdout()
        .write_all(crate::config::json_schema_text().as_bytes())
        .into_diagnostic()?;
    Ok(ExitStatus::Success)
}
