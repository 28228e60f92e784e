//! `azprotect schema`: the JSON Schema of the configuration format.

use super::printer::Printer;
use super::ExitStatus;
use miette::{IntoDiagnostic, Result};

pub fn schema(printer: Printer) -> Result<ExitStatus> {
    let text = serde_json::to_string_pretty(&crate::config::json_schema()).into_diagnostic()?;
    printer.line(text);
    Ok(ExitStatus::Success)
}
