//! Replication policy durations: `<N>m|h|d`, Azure-to-Azure's limits, and the policy's own rules.

use super::super::Cx;
use crate::config::diag::Diag;
use crate::config::spanned::Sp;
use crate::config::types_site_recovery::ReplicationPolicy;

/// Upper bound of a duration `<N>m|h|d` the parser takes: 525,600 minutes (365 days).
pub const MAX_MINUTES: u32 = 525_600;

/// Azure-to-Azure keeps recovery points at most 15 days (21,600 minutes) and takes
/// app-consistent snapshots at least every 12 hours (720 minutes): Microsoft's A2A FAQ and
/// replication-policy docs (learn.microsoft.com/azure/site-recovery/azure-to-azure-common-questions),
/// narrower than the 0–525,600 minutes the API's schema and Terraform accept.
pub const MAX_RECOVERY_POINTS_MINUTES: u32 = 21_600;
/// See [`MAX_RECOVERY_POINTS_MINUTES`].
pub const MAX_APP_CONSISTENT_MINUTES: u32 = 720;

/// Default recovery point retention when `policy.recovery_points` is absent (24 hours).
pub const DEFAULT_RECOVERY_POINTS_MINUTES: u32 = 1_440;

/// `90m` → 90, `24h` → 1440, `3d` → 4320 (minutes); `None` if not `<N>m|h|d`.
pub fn parse_minutes(s: &str) -> Option<u32> {
    let (n, mult) = if let Some(n) = s.strip_suffix('m') {
        (n, 1u64)
    } else if let Some(n) = s.strip_suffix('h') {
        (n, 60)
    } else if let Some(n) = s.strip_suffix('d') {
        (n, 1_440)
    } else {
        return None;
    };
    if n.is_empty() || n.len() > 9 || !n.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let minutes = n.parse::<u64>().ok()?.checked_mul(mult)?;
    u32::try_from(minutes).ok()
}

/// Minutes in the largest whole unit (but a day as `24h`, as Azure shows it): 4320 → `3d`,
/// 1440 → `24h`, 240 → `4h`, 90 → `90m`.
pub fn format_minutes(m: u32) -> String {
    if m > 0 && m.is_multiple_of(1_440) && m != 1_440 {
        format!("{}d", m / 1_440)
    } else if m > 0 && m.is_multiple_of(60) {
        format!("{}h", m / 60)
    } else {
        format!("{m}m")
    }
}

pub(super) fn duration(cx: &mut Cx, d: &Sp<String>, key: &str, max: u32) -> Option<u32> {
    match parse_minutes(&d.value) {
        None => {
            cx.push(
                Diag::error(cx.at(d.span), format!("`{}` is not a duration", d.value))
                    .label("expected `<N>m`, `<N>h` or `<N>d`")
                    .help(format!(
                        "write `{key}` in minutes, hours or days, e.g. `90m`, `24h`, `3d`"
                    )),
            );
            None
        }
        Some(m) if m > max => {
            cx.push(
                Diag::error(
                    cx.at(d.span),
                    format!("`{key}: {}` is {m} minutes, more than Azure allows", d.value),
                )
                .label(format!("must be 0–{}", format_minutes(max)))
                .help(format!(
                    "Azure-to-Azure replication keeps recovery points up to {} and takes app-consistent snapshots at least every {}",
                    format_minutes(MAX_RECOVERY_POINTS_MINUTES),
                    format_minutes(MAX_APP_CONSISTENT_MINUTES)
                )),
            );
            None
        }
        Some(m) => Some(m),
    }
}

pub(super) fn check_policy(cx: &mut Cx, p: &Sp<ReplicationPolicy>) {
    let p = &p.value;
    let ret = match &p.recovery_points {
        Some(r) => duration(cx, r, "recovery_points", MAX_RECOVERY_POINTS_MINUTES),
        None => Some(DEFAULT_RECOVERY_POINTS_MINUTES),
    };
    let Some(app_sp) = &p.app_consistent_every else {
        return;
    };
    let (Some(app), Some(ret)) = (
        duration(
            cx,
            app_sp,
            "app_consistent_every",
            MAX_APP_CONSISTENT_MINUTES,
        ),
        ret,
    ) else {
        return;
    };
    if app == 0 {
        return;
    }
    let ret_text = match &p.recovery_points {
        Some(r) => r.value.clone(),
        None => format!("{}, the default", format_minutes(ret)),
    };
    let ret_note = |d: Diag| match &p.recovery_points {
        Some(r) => d.note(
            cx.at(r.span),
            format!("recovery points are kept {}", r.value),
        ),
        None => d,
    };
    if ret == 0 {
        let d = Diag::error(
            cx.at(app_sp.span),
            "app-consistent snapshots need recovery points to be kept",
        )
        .label("must be 0 or absent")
        .help("with `recovery_points: 0m` Site Recovery keeps only the latest crash-consistent point: remove `app_consistent_every`, or keep recovery points longer");
        let d = ret_note(d);
        cx.push(d);
    } else if app > ret {
        let d = Diag::error(
            cx.at(app_sp.span),
            format!(
                "`app_consistent_every` ({}) is longer than `recovery_points` ({ret_text})",
                app_sp.value
            ),
        )
        .label("more than recovery_points")
        .help("an app-consistent snapshot must be taken at least once within the retention of recovery points: take them more often, or keep recovery points longer");
        let d = ret_note(d);
        cx.push(d);
    }
}
