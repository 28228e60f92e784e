//! `restore --files`: a file-recovery session opened (the script, its password, how to run it,
//! when it closes) or ended — text, markdown for a ticket, or JSON (`{"format_version": 1, …}`
//! with the fields of `model::item_recovery::Mounted` / `Revoked`; never the password).

use crate::model::item_recovery::{Mounted, Revoked};
use std::io::{self, Write};

fn utc(t: time::OffsetDateTime) -> String {
    crate::model::snapshot::display_time(Some(t))
}

pub fn text(m: &Mounted, out: &mut impl Write) -> io::Result<()> {
    let verb = if m.renewed { "Renewed" } else { "Opened" };
    writeln!(
        out,
        "{verb} file recovery of {} from point {} ({} UTC) in {:.0}s.",
        m.address,
        m.point,
        utc(m.point_time),
        m.seconds
    )?;
    writeln!(
        out,
        "  script: {} ({}, Azure names it {})",
        m.script, m.os_type, m.file_name
    )?;
    writeln!(out, "  password: {}", m.password)?;
    writeln!(out, "  run: {}", m.run)?;
    writeln!(
        out,
        "  valid until {} UTC (12 hours); end it sooner with --files --revoke",
        utc(m.expires)
    )
}

pub fn markdown(m: &Mounted, out: &mut impl Write) -> io::Result<()> {
    writeln!(out, "### `{}`: file recovery open\n", m.address)?;
    writeln!(out, "| | |\n|---|---|")?;
    writeln!(out, "| Point | `{}` ({}) |", m.point, m.point_time)?;
    writeln!(out, "| Script | `{}` ({}) |", m.script, m.os_type)?;
    writeln!(out, "| Run | `{}` |", m.run)?;
    writeln!(out, "| Valid until | {} |", m.expires)
}

pub fn json(m: &Mounted, out: &mut impl Write) -> io::Result<()> {
    super::common::json_v1(m, out)
}

pub fn revoked_text(r: &Revoked, out: &mut impl Write) -> io::Result<()> {
    for p in &r.ended {
        writeln!(
            out,
            "Ended the file-recovery session of {} point {p}.",
            r.address
        )?;
    }
    match (&r.point, r.ended.is_empty()) {
        (_, false) => Ok(()),
        (Some(p), true) => writeln!(
            out,
            "{} point {p} has no file-recovery session open: nothing to end.",
            r.address
        ),
        (None, true) => writeln!(
            out,
            "{} has no file-recovery session open on any point: nothing to end.",
            r.address
        ),
    }
}

pub fn revoked_markdown(r: &Revoked, out: &mut impl Write) -> io::Result<()> {
    if r.ended.is_empty() {
        return writeln!(
            out,
            "### `{}`: file recovery: no session was open",
            r.address
        );
    }
    writeln!(out, "### `{}`: file recovery: sessions ended\n", r.address)?;
    for p in &r.ended {
        writeln!(out, "- point `{p}`")?;
    }
    Ok(())
}

pub fn revoked_json(r: &Revoked, out: &mut impl Write) -> io::Result<()> {
    super::common::json_v1(r, out)
}
