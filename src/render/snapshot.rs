//! What the snapshot operations return, for the terminal: a snapshot taken, a disk restored,
//! and the listing as a table or JSON.

use crate::model::snapshot::{self as model, Listing, Restored, Row, Taken};
use crate::model::ArmId;
use serde_json::json;
use std::io::{self, Write};

pub fn taken(t: &Taken, out: &mut impl Write) -> io::Result<()> {
    let snap = &t.snapshot;
    writeln!(
        out,
        "Snapshot {} of {} taken: {}, {} GB, {} UTC",
        snap.name,
        t.disk,
        t.kind,
        snap.size_gb,
        model::display_time(snap.time_created)
    )?;
    writeln!(out, "  id: {}", snap.id)
}

pub fn restored(r: &Restored, out: &mut impl Write) -> io::Result<()> {
    let disk = &r.disk;
    let zone = r
        .zone
        .as_ref()
        .map(|z| format!(", zone {z}"))
        .unwrap_or_default();
    writeln!(
        out,
        "Disk {} created from snapshot {}: {} GB {}, {}{zone}",
        disk.name, r.snapshot, disk.size_gb, disk.sku, disk.location
    )?;
    writeln!(out, "  id: {}", disk.id)
}

/// `{"format_version": 1, "source": …, "snapshots": [rows]}`.
pub fn listing_json(l: &Listing, out: &mut impl Write) -> io::Result<()> {
    let doc = json!({"format_version": 1, "source": l.source, "snapshots": l.rows});
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)
}

pub fn listing_text(l: &Listing, out: &mut impl Write) -> io::Result<()> {
    if l.rows.is_empty() {
        return writeln!(out, "No snapshots or recovery points of {}.", l.source);
    }
    table(&l.rows, out)
}

fn table(rows: &[Row], out: &mut impl Write) -> std::io::Result<()> {
    let many_disks = rows.iter().any(|r| r.disk != rows[0].disk);
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let mut c = vec![
                model::display_time(r.time),
                r.kind.as_str().to_string(),
                r.name.clone(),
            ];
            if many_disks {
                c.push(r.disk.clone());
            }
            c.push(r.size_gb.map_or("-".into(), |g| format!("{g} GB")));
            c.push(model::display_time(r.expiry));
            c.push(r.snapshot_id.as_ref().map_or("-".into(), ArmId::to_string));
            c
        })
        .collect();
    let mut head = vec!["TIME (UTC)", "KIND", "NAME"];
    if many_disks {
        head.push("DISK");
    }
    head.extend(["SIZE", "EXPIRES (UTC)", "SNAPSHOT ID"]);
    super::common::table(&head, &cells, out)
}
