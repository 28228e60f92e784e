//! `azprotect restore ADDRESS [--point …] --files (--script-out PATH | --revoke)`: prepare, say
//! what it will do, confirm, open (or end) the file-recovery session, render the result.

use super::args::RestoreArgs;
use super::confirm;
use super::printer::Printer;
use super::progress::terminal;
use super::settings::{GlobalSettings, Session};
use super::ExitStatus;
use crate::ops::restore_files::{self as op, Input};
use crate::render::restore_files as render;
use miette::{miette, Result};

pub async fn restore_files(
    args: RestoreArgs,
    settings: &GlobalSettings,
    printer: Printer,
) -> Result<ExitStatus> {
    if args.script_out.is_none() && !args.revoke {
        return Err(miette!(
            help = "--files --script-out mount.py writes the mount script; --files --revoke ends the session",
            "--files needs --script-out PATH or --revoke"
        ));
    }
    let input = Input {
        address: args.address.clone(),
        files: args.files.clone(),
        point: args.point.clone(),
        script_out: args.script_out.clone(),
        revoke: args.revoke,
    };
    Session::with(settings, async |s| {
        let sub = s.default_subscription.as_deref();
        let prepared = op::prepare(&s.client, sub, &input).await?;
        if !prepared.will.is_empty() {
            let ask = confirm::Ask {
                subject: "a file recovery",
                unattended: "restore",
                steps: &prepared.will,
                question: "Do you want to go on? Only 'yes' is accepted:",
            };
            if !args.auto_approve && !confirm::confirm(printer, ask)? {
                printer.line("File recovery cancelled.");
                return Ok(ExitStatus::Failure);
            }
        }
        if input.revoke {
            let r = op::revoke(&s.client, &prepared).await?;
            let renderers = [
                render::revoked_text,
                render::revoked_markdown,
                render::revoked_json,
            ];
            printer.report(args.format, &r, renderers)?;
            return Ok(ExitStatus::Success);
        }
        let progress = terminal(printer);
        let m = op::mount(&s.client, &prepared, progress.as_ref()).await?;
        printer.report(
            args.format,
            &m,
            [render::text, render::markdown, render::json],
        )?;
        Ok(ExitStatus::Success)
    })
    .await
}
