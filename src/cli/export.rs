//! `azprotect export`: read an existing estate (`ops::export`) and write it as a v1 file
//! (`render::export`) to stdout or `-o FILE` (never over an existing file without `--force`).

use super::args::ExportArgs;
use super::printer::Printer;
use super::settings::{GlobalSettings, Session};
use super::ExitStatus;
use crate::ops::export::{self as op, Input};
use crate::render::export as render;
use miette::{miette, IntoDiagnostic, Result};
use std::io::Write;

/// The command line as the header records it (global flags aside).
fn command(a: &ExportArgs) -> String {
    let mut c = vec!["azprotect export".to_string()];
    c.extend(a.vaults.iter().map(|v| format!("--vault {v}")));
    c.extend(
        a.resource_groups
            .iter()
            .map(|g| format!("--resource-group {g}")),
    );
    if a.selectors {
        c.push("--selectors".into());
    }
    if a.skip_unsupported {
        c.push("--skip-unsupported".into());
    }
    if let Some(o) = &a.output {
        c.push(format!("-o {}", o.display()));
    }
    c.join(" ")
}

pub async fn export(
    args: ExportArgs,
    settings: &GlobalSettings,
    printer: Printer,
) -> Result<ExitStatus> {
    if let Some(path) = args.output.as_ref().filter(|p| p.exists() && !args.force) {
        return Err(miette!(
            help = "pass --force to overwrite it, or choose another -o",
            "{} exists; export does not overwrite it",
            path.display()
        ));
    }
    let doc = Session::with(settings, async |s| {
        let input = Input {
            vaults: args.vaults.clone(),
            resource_groups: args.resource_groups.clone(),
            selectors: args.selectors,
            skip_unsupported: args.skip_unsupported,
            command: command(&args),
            estate: s.estate(),
        };
        let sub = s.default_subscription.as_deref().ok_or_else(|| {
            miette!(
                help = "pass --subscription <GUID> or set AZURE_SUBSCRIPTION_ID",
                "no subscription to export from"
            )
        })?;
        Ok(op::export(&s.client, sub, &input).await?)
    })
    .await?;
    let mut text = Vec::new();
    render::yaml(&doc, &mut text).into_diagnostic()?;
    match &args.output {
        Some(path) => {
            std::fs::write(path, &text)
                .map_err(|e| miette!("could not write {}: {e}", path.display()))?;
            let vms: usize = doc
                .vaults
                .iter()
                .flat_map(|v| &v.protect)
                .map(|p| p.covers)
                .sum();
            printer.note(format!(
                "Wrote {} vault(s) with {vms} protected VM(s) to {}. Check it: azprotect plan -f {} --detailed-exitcode",
                doc.vaults.len(),
                path.display(),
                path.display()
            ));
        }
        None => printer.stdout().write_all(&text).into_diagnostic()?,
    }
    if !doc.left_out.is_empty() {
        printer.note(format!(
            "Left out with --skip-unsupported (named in the file's header; planning the file leaves them alone):\n  {}",
            doc.left_out.join("\n  ")
        ));
    }
    Ok(ExitStatus::Success)
}
