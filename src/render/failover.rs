//! Failover / commit / re-protect / failback reports, for a terminal, a PR or incident comment,
//! or CI (JSON).

use crate::failover::report::FailoverReport;
use crate::model::site_recovery::replication::state_words;
use std::io::{self, Write};

fn direction(r: &crate::failover::report::StepResult) -> String {
    r.direction
        .as_deref()
        .map(|d| format!(" ({d})"))
        .unwrap_or_default()
}

pub fn text<W: Write>(r: &FailoverReport, w: &mut W) -> io::Result<()> {
    let verdict = if r.succeeded { "succeeded" } else { "FAILED" };
    writeln!(
        w,
        "{} of {}: {verdict}",
        capital(&r.operation),
        r.recovery_plan
    )?;
    for s in &r.steps {
        let ok = if s.succeeded { "done" } else { "FAILED" };
        writeln!(w, "  {}{}: {ok} in {:.1}s", s.step, direction(s), s.seconds)?;
    }
    if r.sandbox_time {
        writeln!(w, "  ({})", super::drill::SANDBOX_TIME)?;
    }
    writeln!(w, "  VMs run in {}", r.active_region)?;
    for vm in &r.vms {
        writeln!(
            w,
            "  {}: {}, {}",
            vm.name,
            state_words(&vm.protection_state),
            replication(vm)
        )?;
    }
    writeln!(
        w,
        "  Azure allows next: {}",
        if r.allowed_operations.is_empty() {
            "nothing yet (an operation is running)".to_string()
        } else {
            r.allowed_operations.join(", ")
        }
    )?;
    if let Some(e) = &r.error {
        writeln!(w, "  error: {e}")?;
    }
    Ok(())
}

pub fn markdown<W: Write>(r: &FailoverReport, w: &mut W) -> io::Result<()> {
    let verdict = if r.succeeded {
        "✅ succeeded"
    } else {
        "❌ failed"
    };
    writeln!(
        w,
        "### {} of `{}`: {verdict}\n",
        capital(&r.operation),
        r.recovery_plan
    )?;
    writeln!(w, "| Step | Direction | Result | Time |\n|---|---|---|---|")?;
    for s in &r.steps {
        writeln!(
            w,
            "| {} | {} | {} | {:.1}s |",
            s.step,
            s.direction.as_deref().unwrap_or(""),
            if s.succeeded { "done" } else { "failed" },
            s.seconds
        )?;
    }
    if r.sandbox_time {
        writeln!(w, "\nTimes are {}.", super::drill::SANDBOX_TIME)?;
    }
    writeln!(w, "\nVMs run in **{}**.\n", r.active_region)?;
    writeln!(w, "| VM | State | Replicating |\n|---|---|---|")?;
    for vm in &r.vms {
        writeln!(
            w,
            "| `{}` | {} | {} |",
            vm.vm_id,
            state_words(&vm.protection_state),
            replication(vm)
        )?;
    }
    writeln!(
        w,
        "\nAzure allows next: {}",
        r.allowed_operations.join(", ")
    )?;
    if let Some(e) = &r.error {
        writeln!(w, "\n> ⚠️ {e}")?;
    }
    Ok(())
}

/// `{"format_version": 1, …}` with the fields of [`FailoverReport`], as the other reports.
pub fn json<W: Write>(r: &FailoverReport, w: &mut W) -> io::Result<()> {
    super::common::json_v1(r, w)
}

fn replication(vm: &crate::failover::report::VmStatus) -> String {
    if !vm.replicating {
        return "not replicating (failed over)".into();
    }
    let progress = vm
        .progress
        .map(|p| format!(" ({p}% of initial replication)"))
        .unwrap_or_default();
    format!(
        "replicating {} → {}{progress}",
        vm.replicating_from, vm.replicating_to
    )
}

fn capital(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}
