//! `status` reports: a summary line, the findings grouped by kind, the notes (items waiting for a
//! first backup), then a per-VM table, Azure's state names in plain words — text
//! for a terminal, markdown for a scheduled issue or PR comment (within GitHub's comment limit,
//! a hidden marker first so that a workflow updates one comment), JSON for dashboards
//! (`{"format_version": 1, "checked_at", "healthy", "since_hours", "drill_max_age_days",
//! "requests", "findings": [{"kind", "code", "subject", "message"}], "notes": [the same: items
//! waiting for a first backup, not findings], "vms": [{"vm", "vm_id",
//! "backup": {…} | null, "replication": {…} | null, "findings"}], "disks": [{"disk", "disk_id",
//! "vault", "policy", "newest_point", "newest_point_age_hours", "rpo_hours"}]}`, documented in the
//! README).

use super::common::md_cell;
use crate::model::backup_state_words;
use crate::model::site_recovery::replication::state_words;
use crate::model::status::{BackupRow, DiskRow, Kind, Report, VmRow};
use std::fmt::Write as _;
use std::io::{self, Write};

/// The marker a workflow finds its status comment by.
pub const MARKER: &str = "<!-- azprotect-status -->";

fn summary(r: &Report) -> String {
    let vms = r.vms.len();
    let disks = match r.disks.len() {
        0 => String::new(),
        n => format!(" and {n} disk(s)"),
    };
    let waiting = match r.notes.len() {
        0 => String::new(),
        n => format!(" {n} waiting for a first backup."),
    };
    if r.healthy {
        format!("Protection is working: {vms} VM(s){disks} checked, no findings.{waiting}")
    } else {
        let with = r.vms.iter().filter(|v| v.findings > 0).count();
        let by_kind: Vec<String> = Kind::ALL
            .iter()
            .filter_map(|k| {
                let n = r.of(*k).count();
                (n > 0).then(|| format!("{n} {}", k.title().to_lowercase()))
            })
            .collect();
        format!(
            "{} finding(s) ({}); {with} of {vms} VM(s){disks} checked have findings.{waiting}",
            r.findings.len(),
            by_kind.join(", ")
        )
    }
}

fn opt<T: std::fmt::Display>(x: Option<T>) -> String {
    x.map_or_else(|| "-".to_string(), |v| v.to_string())
}

fn time(t: Option<time::OffsetDateTime>) -> String {
    t.map_or_else(
        || "never".to_string(),
        |t| crate::model::snapshot::display_time(Some(t)),
    )
}

/// The last backup in plain words (Azure's names stay in JSON): `completed 2026-12-05 08:00`,
/// `waiting for first backup`, and the item's state when backups do not run.
fn last_backup(b: &BackupRow) -> String {
    let state = b.protection_state.to_ascii_lowercase();
    let mut out = if b.last_backup_status.is_empty() {
        backup_state_words(if state == "irpending" {
            &b.protection_state
        } else {
            ""
        })
    } else {
        format!(
            "{} {}",
            backup_state_words(&b.last_backup_status),
            time(b.last_backup_time)
        )
    };
    if !matches!(state.as_str(), "protected" | "irpending" | "") {
        out = format!("{out} ({})", backup_state_words(&b.protection_state));
    }
    out
}

/// The cells of a VM's row: backup (vault/policy, last backup, point age / RPO), replication
/// (health, state, RPO, last test failover), findings.
fn cells(v: &VmRow) -> [String; 8] {
    let (vault, last, age) = match &v.backup {
        Some(b) => (
            format!("{}/{}", b.vault, b.policy),
            last_backup(b),
            format!(
                "{} / {}",
                opt(b.newest_point_age_hours.map(|h| format!("{h:.1}h"))),
                opt(b.rpo_hours.map(|h| format!("{h:.0}h")))
            ),
        ),
        None => ("-".into(), "-".into(), "-".into()),
    };
    let (health, rpo, drill) = match &v.replication {
        Some(r) => (
            format!("{} {}", r.health, state_words(&r.state)),
            opt(r.rpo_seconds.map(|s| format!("{s}s"))),
            time(r.last_test_failover),
        ),
        None => ("-".into(), "-".into(), "-".into()),
    };
    [
        v.vm.clone(),
        vault,
        last,
        age,
        health,
        rpo,
        drill,
        v.findings.to_string(),
    ]
}

const DISK_HEADERS: [&str; 4] = [
    "Disk",
    "Backup (vault/policy)",
    "Newest point",
    "Point age / RPO",
];

fn disk_cells(d: &DiskRow) -> [String; 4] {
    [
        d.disk.clone(),
        format!("{}/{}", d.vault, d.policy),
        time(d.newest_point),
        format!(
            "{} / {}",
            opt(d.newest_point_age_hours.map(|h| format!("{h:.1}h"))),
            opt(d.rpo_hours.map(|h| format!("{h:.0}h")))
        ),
    ]
}

/// `rows` under `headers`, columns padded to their widest cell.
fn table<const N: usize>(
    out: &mut impl Write,
    headers: [&str; N],
    rows: &[[String; N]],
) -> io::Result<()> {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut s = String::new();
        for (c, w) in cells.iter().zip(&widths) {
            let _ = write!(s, "{c:<w$}  ");
        }
        s.trim_end().to_string()
    };
    writeln!(out, "{}", line(headers.to_vec()))?;
    for row in rows {
        writeln!(out, "{}", line(row.iter().map(String::as_str).collect()))?;
    }
    Ok(())
}

/// The section of the report's notes (information, not findings).
const NOTES_TITLE: &str = "Waiting for a first backup";

const HEADERS: [&str; 8] = [
    "VM",
    "Backup (vault/policy)",
    "Last backup",
    "Point age / RPO",
    "Replication",
    "Repl. RPO",
    "Last test failover",
    "Findings",
];

pub fn text(r: &Report, out: &mut impl Write) -> io::Result<()> {
    writeln!(out, "{}", summary(r))?;
    for k in Kind::ALL {
        let fs: Vec<_> = r.of(k).collect();
        if fs.is_empty() {
            continue;
        }
        writeln!(out, "\n{}:", k.title())?;
        for f in fs {
            writeln!(out, "  ✗ {:<22} {}  {}", f.code, f.subject, f.message)?;
        }
    }
    if !r.notes.is_empty() {
        writeln!(out, "\n{NOTES_TITLE} (not findings):")?;
        for n in &r.notes {
            writeln!(out, "  … {}  {}", n.subject, n.message)?;
        }
    }
    writeln!(out)?;
    let rows: Vec<[String; 8]> = r.vms.iter().map(cells).collect();
    table(out, HEADERS, &rows)?;
    if !r.disks.is_empty() {
        writeln!(out)?;
        let rows: Vec<[String; 4]> = r.disks.iter().map(disk_cells).collect();
        table(out, DISK_HEADERS, &rows)?;
    }
    writeln!(
        out,
        "\nChecked {} UTC with {} ARM requests; backup jobs of the last {:.0}h, test failovers within {} days.",
        crate::model::snapshot::display_time(Some(r.checked_at)),
        r.requests,
        r.since_hours,
        r.drill_max_age_days
    )
}

/// `rows` as a collapsed markdown table under `headers`, appended to `out` while it stays within
/// `budget` bytes; the rows left out are counted.
fn md_table<const N: usize>(
    out: &mut String,
    what: &str,
    headers: [&str; N],
    rows: &[[String; N]],
    budget: usize,
) -> usize {
    let mut table = format!(
        "<details><summary>{} {what}</summary>\n\n| {} |\n|{}\n",
        rows.len(),
        headers.join(" | "),
        "---|".repeat(N)
    );
    let mut left = 0;
    for row in rows {
        let line = format!(
            "| {} |\n",
            row.iter()
                .map(|c| md_cell(c))
                .collect::<Vec<_>>()
                .join(" | ")
        );
        if out.len() + table.len() + line.len() > budget {
            left += 1;
            continue;
        }
        table.push_str(&line);
    }
    table.push_str("\n</details>\n");
    out.push_str(&table);
    left
}

/// The comment, at most `limit` bytes: findings first; what does not fit is counted, not cut.
pub fn markdown_within(r: &Report, limit: usize) -> String {
    let budget = limit.saturating_sub(600);
    let mut out = format!("{MARKER}\n### azprotect status: ");
    out.push_str(if r.healthy {
        "✅ healthy\n\n"
    } else {
        "❌ findings\n\n"
    });
    let _ = writeln!(
        out,
        "**{}** Checked {} UTC.\n",
        summary(r),
        crate::model::snapshot::display_time(Some(r.checked_at))
    );
    let mut left_out = 0usize;
    for k in Kind::ALL {
        let fs: Vec<_> = r.of(k).collect();
        if fs.is_empty() {
            continue;
        }
        let _ = writeln!(out, "#### {}\n", k.title());
        for f in fs {
            let item = format!(
                "- `{}` **{}** — {}\n",
                f.subject,
                f.code,
                md_cell(&f.message)
            );
            if out.len() + item.len() > budget {
                left_out += 1;
                continue;
            }
            out.push_str(&item);
        }
        out.push('\n');
    }
    let mut notes_left = 0;
    if !r.notes.is_empty() {
        let _ = writeln!(out, "#### {NOTES_TITLE} (not findings)\n");
        for n in &r.notes {
            let item = format!("- `{}` — {}\n", n.subject, md_cell(&n.message));
            if out.len() + item.len() > budget {
                notes_left += 1;
                continue;
            }
            out.push_str(&item);
        }
        out.push('\n');
    }
    let vm_rows: Vec<[String; 8]> = r.vms.iter().map(cells).collect();
    let rows_left = md_table(&mut out, "VM(s)", HEADERS, &vm_rows, budget);
    let mut disks_left = 0;
    if !r.disks.is_empty() {
        out.push('\n');
        let disk_rows: Vec<[String; 4]> = r.disks.iter().map(disk_cells).collect();
        disks_left = md_table(&mut out, "disk(s)", DISK_HEADERS, &disk_rows, budget);
    }
    if left_out + notes_left + rows_left + disks_left > 0 {
        let _ = writeln!(
            out,
            "\n_{left_out} finding(s), {notes_left} note(s), {rows_left} VM row(s) and {disks_left} disk row(s) left out to fit a comment: run `azprotect status --format json` for all._"
        );
    }
    out
}

pub fn markdown(r: &Report, out: &mut impl Write) -> io::Result<()> {
    out.write_all(markdown_within(r, super::GITHUB_COMMENT_LIMIT).as_bytes())
}

pub fn json(r: &Report, out: &mut impl Write) -> io::Result<()> {
    super::common::json_v1(r, out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::status::Finding;
    use crate::model::ArmId;

    fn report(n: usize) -> Report {
        let vm = |i: usize| {
            VmRow {
            vm: format!("rg/vm-{i:05}"),
            vm_id: ArmId::new(format!("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm-{i:05}")),
            backup: None,
            replication: None,
            findings: 1,
        }
        };
        Report {
            checked_at: time::macros::datetime!(2026-12-05 12:00 UTC),
            healthy: n == 0,
            since_hours: 24.0,
            drill_max_age_days: 180,
            requests: 9,
            findings: (0..n)
                .map(|i| Finding {
                    kind: Kind::Coverage,
                    code: "unprotected",
                    subject: format!("rg/vm-{i:05}"),
                    message: "in scope with no backup".into(),
                })
                .collect(),
            notes: vec![],
            vms: (0..n).map(vm).collect(),
            disks: vec![],
        }
    }

    #[test]
    fn a_large_report_fits_a_github_comment_and_says_what_it_left_out() {
        let md = markdown_within(&report(5_000), super::super::GITHUB_COMMENT_LIMIT);
        assert!(
            md.len() <= super::super::GITHUB_COMMENT_LIMIT,
            "{}",
            md.len()
        );
        assert!(md.starts_with(MARKER));
        assert!(
            md.contains("left out to fit a comment"),
            "{}",
            &md[md.len() - 300..]
        );
    }

    #[test]
    fn a_healthy_report_says_so_in_each_format() {
        let r = report(0);
        let mut t = Vec::new();
        text(&r, &mut t).unwrap();
        assert!(String::from_utf8(t)
            .unwrap()
            .starts_with("Protection is working"));
        assert!(markdown_within(&r, 65_535).contains("✅ healthy"));
    }
}
