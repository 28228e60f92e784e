//! `recovery-points`: a protected resource's points as a table, markdown, or JSON
//! (`{"format_version": 1, "address", "item", "points": [{id, name, time, consistency, tiers,
//! expires, disks}]}`).

use crate::model::recovery_point::{Listing, RecoveryPoint};
use crate::model::snapshot::display_time;
use serde_json::json;
use std::io::{self, Write};

fn cells(p: &RecoveryPoint) -> Vec<String> {
    let tiers: Vec<&str> = p.tiers.iter().map(|t| t.as_str()).collect();
    let disks: Vec<String> = p
        .disks
        .iter()
        .map(|d| d.lun.map_or("os".into(), |l| format!("lun {l}")))
        .collect();
    vec![
        display_time(Some(p.time)),
        p.consistency.as_str().to_string(),
        if tiers.is_empty() {
            "-".into()
        } else {
            tiers.join("+")
        },
        display_time(p.expires),
        if disks.is_empty() {
            "-".into()
        } else {
            disks.join(", ")
        },
        p.name.clone(),
    ]
}

const HEAD: [&str; 6] = [
    "TIME (UTC)",
    "CONSISTENCY",
    "TIER",
    "EXPIRES (UTC)",
    "DISKS",
    "POINT",
];

fn none(l: &Listing) -> String {
    format!("No recovery points of {} yet.", l.address)
}

pub fn text(l: &Listing, out: &mut impl Write) -> io::Result<()> {
    if l.points.is_empty() {
        return writeln!(out, "{}", none(l));
    }
    writeln!(
        out,
        "{} recovery point(s) of {}, newest first:",
        l.points.len(),
        l.address
    )?;
    let rows: Vec<Vec<String>> = l.points.iter().map(cells).collect();
    super::common::table(&HEAD, &rows, out)
}

pub fn markdown(l: &Listing, out: &mut impl Write) -> io::Result<()> {
    writeln!(out, "### Recovery points of `{}`\n", l.address)?;
    if l.points.is_empty() {
        return writeln!(out, "{}", none(l));
    }
    writeln!(out, "| {} |", HEAD.join(" | "))?;
    writeln!(out, "|{}", "---|".repeat(HEAD.len()))?;
    for p in &l.points {
        let c = cells(p);
        writeln!(out, "| {} |", c.join(" | "))?;
    }
    Ok(())
}

pub fn json(l: &Listing, out: &mut impl Write) -> io::Result<()> {
    let doc =
        json!({"format_version": 1, "address": l.address, "item": l.item, "points": l.points});
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)
}
