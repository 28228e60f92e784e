//! `restore`: what a restore did — text, markdown for a ticket, or JSON
//! (`{"format_version": 1, "address", "point", "point_time", "job", "status", "seconds",
//! "created", "error"}`).

use crate::model::restore::Restored;
use std::io::{self, Write};

pub fn text(r: &Restored, out: &mut impl Write) -> io::Result<()> {
    let verdict = if r.status.succeeded() {
        "Restored"
    } else {
        "Restore FAILED:"
    };
    writeln!(
        out,
        "{verdict} {} from point {} ({} UTC) in {:.0}s: job {}.",
        r.address,
        r.point,
        crate::model::snapshot::display_time(Some(r.point_time)),
        r.seconds,
        r.status.as_str()
    )?;
    if let Some(e) = &r.error {
        writeln!(out, "  error: {e}")?;
    }
    for c in &r.created {
        writeln!(out, "  created: {c}")?;
    }
    writeln!(out, "  job: {}", r.job)
}

pub fn markdown(r: &Restored, out: &mut impl Write) -> io::Result<()> {
    let verdict = if r.status.succeeded() {
        "✅ restored"
    } else {
        "❌ restore failed"
    };
    writeln!(out, "### `{}`: {verdict}\n", r.address)?;
    writeln!(out, "| | |\n|---|---|")?;
    writeln!(out, "| Point | `{}` ({}) |", r.point, r.point_time)?;
    writeln!(out, "| Took | {:.0}s |", r.seconds)?;
    writeln!(out, "| Job | `{}` ({}) |", r.job, r.status.as_str())?;
    for c in &r.created {
        writeln!(out, "| Created | `{c}` |")?;
    }
    if let Some(e) = &r.error {
        writeln!(out, "| Error | {e} |")?;
    }
    Ok(())
}

pub fn json(r: &Restored, out: &mut impl Write) -> io::Result<()> {
    super::common::json_v1(r, out)
}
