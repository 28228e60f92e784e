//! Drill reports: what a test failover showed, for a terminal, a PR/issue comment, or CI (JSON).

use crate::drill::report::DrillReport;
use crate::progress::plain_words;
use std::io::{self, Write};

/// What a duration measured on the sandbox is. The sandbox runs Azure's durations scaled down
/// (0.01× by default); Site Recovery's SLA for Azure-to-Azure failover is a 2-hour RTO
/// (https://azure.microsoft.com/support/legal/sla/site-recovery/).
pub(crate) const SANDBOX_TIME: &str =
    "sandbox time; on Azure it takes minutes, up to the 2-hour RTO Site Recovery promises";

pub fn text<W: Write>(r: &DrillReport, w: &mut W) -> io::Result<()> {
    let verdict = if r.succeeded { "succeeded" } else { "FAILED" };
    writeln!(w, "Drill of {}: {verdict}", r.recovery_plan)?;
    writeln!(w, "  test network: {}", r.network_id)?;
    writeln!(w, "  started {}, finished {}", r.started_at, r.finished_at)?;
    writeln!(
        w,
        "  test failover took {:.1}s ({})",
        r.failover_seconds,
        if r.sandbox_time {
            SANDBOX_TIME
        } else {
            "the recovery time to expect"
        }
    )?;
    match r.cleanup_seconds {
        Some(s) => writeln!(w, "  cleanup took {s:.1}s (test VMs removed)")?,
        None => writeln!(
            w,
            "  test VMs kept (--keep): clean up with testFailoverCleanup when done"
        )?,
    }
    for vm in &r.vms {
        writeln!(
            w,
            "  group {}  {}  {}",
            vm.group,
            plain_words(&vm.test_failover_state),
            vm.vm_id
        )?;
    }
    if let Some(e) = &r.error {
        writeln!(w, "  error: {e}")?;
    }
    Ok(())
}

pub fn markdown<W: Write>(r: &DrillReport, w: &mut W) -> io::Result<()> {
    let verdict = if r.succeeded {
        "✅ succeeded"
    } else {
        "❌ failed"
    };
    writeln!(w, "### Drill of `{}`: {verdict}\n", r.recovery_plan)?;
    writeln!(w, "| | |\n|---|---|")?;
    writeln!(w, "| Test network | `{}` |", r.network_id)?;
    writeln!(w, "| Started | {} |", r.started_at)?;
    writeln!(w, "| Finished | {} |", r.finished_at)?;
    writeln!(
        w,
        "| Test failover ({}) | {:.1}s |",
        if r.sandbox_time {
            SANDBOX_TIME
        } else {
            "recovery time"
        },
        r.failover_seconds
    )?;
    match r.cleanup_seconds {
        Some(s) => writeln!(w, "| Cleanup | {s:.1}s |")?,
        None => writeln!(w, "| Cleanup | kept (`--keep`) |")?,
    }
    writeln!(w, "\n| Group | VM | Test failover state |\n|---:|---|---|")?;
    for vm in &r.vms {
        writeln!(
            w,
            "| {} | `{}` | {} |",
            vm.group,
            vm.vm_id,
            plain_words(&vm.test_failover_state)
        )?;
    }
    if let Some(e) = &r.error {
        writeln!(w, "\n> ⚠️ {e}")?;
    }
    Ok(())
}

/// `{"format_version": 1, …}` with the fields of [`DrillReport`], as the other reports.
pub fn json<W: Write>(r: &DrillReport, w: &mut W) -> io::Result<()> {
    super::common::json_v1(r, w)
}
