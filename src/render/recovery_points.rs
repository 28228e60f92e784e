//! `recovery-points`: a protected resource's points as a table, markdown, or JSON
//! (`{"format_version": 1, "address", "item", "points": [{id, name, time, consistency, tiers,
//! expires, disks, secondary_region?}], "secondary_region"?}`): for a vault that keeps a copy in
//! its paired region (cross-region restore), that region and, per point, whether its copy is
//! there yet.

use crate::model::recovery_point::{Listing, RecoveryPoint};
use crate::model::snapshot::display_time;
use serde_json::json;
use std::io::{self, Write};

fn cells(p: &RecoveryPoint) -> Vec<String> {
    let mut c = base_cells(p);
    if let Some(there) = p.secondary_region {
        c.insert(5, if there { "yes" } else { "not yet" }.into());
    }
    c
}

/// The columns, with the paired region's when the vault keeps a copy there.
fn head(l: &Listing) -> Vec<String> {
    let mut h: Vec<String> = HEAD.iter().map(|s| s.to_string()).collect();
    if let Some(r) = &l.secondary_region {
        h.insert(5, format!("IN {}", r.to_ascii_uppercase()));
    }
    h
}

fn base_cells(p: &RecoveryPoint) -> Vec<String> {
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
    let head = head(l);
    let head: Vec<&str> = head.iter().map(String::as_str).collect();
    super::common::table(&head, &rows, out)
}

pub fn markdown(l: &Listing, out: &mut impl Write) -> io::Result<()> {
    writeln!(out, "### Recovery points of `{}`\n", l.address)?;
    if l.points.is_empty() {
        return writeln!(out, "{}", none(l));
    }
    let head = head(l);
    writeln!(out, "| {} |", head.join(" | "))?;
    writeln!(out, "|{}", "---|".repeat(head.len()))?;
    for p in &l.points {
        let c = cells(p);
        writeln!(out, "| {} |", c.join(" | "))?;
    }
    Ok(())
}

pub fn json(l: &Listing, out: &mut impl Write) -> io::Result<()> {
    let mut doc =
        json!({"format_version": 1, "address": l.address, "item": l.item, "points": l.points});
    if let Some(r) = &l.secondary_region {
        doc["secondary_region"] = json!(r);
    }
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)
}
