//! `restore-drill` reports: pass/fail per VM with the evidence — text for a terminal, markdown
//! for a PR or ticket, JSON for dashboards (`{"format_version": 1, "run", "started", "seconds",
//! "passed", "kept", "requests", "vms": [{"address", "source_vm", "point", "point_time",
//! "point_age_hours", "rpo_hours", "restored_vm", "job", "rto_seconds", "passed", "checks":
//! [{"check", "passed", "detail"}]}]}`, documented in the README).

use crate::model::restore_drill::{Report, VmResult};
use std::io::{self, Write};

fn counts(r: &Report) -> (usize, usize) {
    let passed = r.vms.iter().filter(|v| v.passed).count();
    (passed, r.vms.len() - passed)
}

/// What durations measured on the sandbox are: its simulated Azure runs at a fraction of Azure's
/// time. A VM restore job on Azure takes tens of minutes or more (it copies the disks out of
/// the vault), so only a drill on Azure measures the RTO to expect.
const SANDBOX_TIME: &str = "Times are sandbox time (simulated Azure at a fraction of its time): a VM restore on Azure takes tens of minutes or more; run the drill on Azure for the RTO to expect.";

fn rto(v: &VmResult) -> String {
    v.rto_seconds
        .map_or_else(|| "-".to_string(), |s| format!("{s:.0}s"))
}

/// Why a VM failed (its first failed check), or the evidence that it passed (what was attached).
fn why(v: &VmResult) -> String {
    let evidence = || {
        v.checks
            .iter()
            .find(|c| c.check == crate::model::restore_drill::CheckKind::Disks)
            .map(|c| c.detail.clone())
            .unwrap_or_default()
    };
    v.failure()
        .map(|c| format!("{}: {}", c.check.as_str(), c.detail))
        .unwrap_or_else(evidence)
}

pub fn text(r: &Report, out: &mut impl Write) -> io::Result<()> {
    let (passed, failed) = counts(r);
    let verdict = if r.passed { "passed" } else { "FAILED" };
    writeln!(
        out,
        "Restore drill {} {verdict}: {passed} VM(s) passed, {failed} failed, in {:.0}s ({} ARM requests).",
        r.run, r.seconds, r.requests
    )?;
    for v in &r.vms {
        let mark = if v.passed { "ok  " } else { "FAIL" };
        writeln!(out, "  {mark} {}  RTO {}", v.address, rto(v))?;
        for c in &v.checks {
            let m = if c.passed { "✓" } else { "✗" };
            writeln!(out, "       {m} {:<8} {}", c.check.as_str(), c.detail)?;
        }
    }
    if r.sandbox_time {
        writeln!(out, "{SANDBOX_TIME}")?;
    }
    if r.kept {
        writeln!(
            out,
            "What the drill created was kept (--keep); it is tagged {}={}.",
            crate::model::restore_drill::TAG,
            r.run
        )?;
    }
    Ok(())
}

pub fn markdown(r: &Report, out: &mut impl Write) -> io::Result<()> {
    let (passed, failed) = counts(r);
    let verdict = if r.passed { "✅ passed" } else { "❌ failed" };
    writeln!(out, "### Restore drill `{}`: {verdict}\n", r.run)?;
    writeln!(
        out,
        "{passed} VM(s) passed, {failed} failed; started {} UTC, took {:.0}s, {} ARM requests.\n",
        crate::model::snapshot::display_time(Some(r.started)),
        r.seconds,
        r.requests
    )?;
    writeln!(
        out,
        "| VM | Result | Point | Age (h) | RPO (h) | RTO | Why / evidence |\n|---|---|---|---:|---:|---:|---|"
    )?;
    for v in &r.vms {
        let opt = |x: Option<f64>| x.map_or_else(|| "-".to_string(), |h| format!("{h:.1}"));
        writeln!(
            out,
            "| `{}` | {} | {} | {} | {} | {} | {} |",
            v.address,
            if v.passed { "✅" } else { "❌" },
            v.point.as_deref().unwrap_or("-"),
            opt(v.point_age_hours),
            opt(v.rpo_hours),
            rto(v),
            super::common::md_cell(&why(v))
        )?;
    }
    if r.sandbox_time {
        writeln!(out, "\n{SANDBOX_TIME}")?;
    }
    Ok(())
}

pub fn json(r: &Report, out: &mut impl Write) -> io::Result<()> {
    super::common::json_v1(r, out)
}
