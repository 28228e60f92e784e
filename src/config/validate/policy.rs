//! VM backup policy rules (azurerm_backup_policy_vm and Azure's enhanced-policy docs): schedule
//! shape and times, hourly windows, instant restore, consistency, retention ranges and days.

use super::{timezones, Cx};
use crate::config::diag::Diag;
use crate::config::spanned::{OneOrMany, Sp};
use crate::config::types::{BackupPolicy, Consistency, Tier, Weekday};
use std::collections::BTreeSet;

/// `4h` → 4.
pub fn parse_hours(s: &str) -> Option<u32> {
    let n = s.strip_suffix('h')?;
    if n.is_empty() || !n.chars().all(|c| c.is_ascii_digit()) || n.len() > 4 {
        return None;
    }
    n.parse().ok()
}

/// `30d` → 30.
pub fn parse_days(s: &str) -> Option<u32> {
    let n = s.strip_suffix('d')?;
    if n.is_empty() || !n.chars().all(|c| c.is_ascii_digit()) || n.len() > 6 {
        return None;
    }
    n.parse().ok()
}

/// `HH:00` or `HH:30`, 00 ≤ HH ≤ 23.
pub fn valid_time(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 5
        && b[2] == b':'
        && b[0].is_ascii_digit()
        && b[1].is_ascii_digit()
        && matches!(&s[3..], "00" | "30")
        && s[..2].parse::<u32>().is_ok_and(|h| h < 24)
}

fn check_time(cx: &mut Cx, t: &Sp<String>, what: &str) {
    if !valid_time(&t.value) {
        cx.push(
            Diag::error(cx.at(t.span), format!("`{}` is not a valid {what}", t.value))
                .label("not HH:00 or HH:30")
                .help("Azure runs backups on the hour or half hour: write `HH:00` or `HH:30` (24-hour clock), quoted, e.g. \"23:00\""),
        );
    }
}

fn check_distinct_days(cx: &mut Cx, days: &Sp<Vec<Sp<Weekday>>>, what: &str) {
    if days.value.is_empty() {
        cx.push(
            Diag::error(
                cx.at(days.span),
                format!("{what} needs at least one weekday"),
            )
            .label("empty list"),
        );
    }
    let mut seen = BTreeSet::new();
    for d in &days.value {
        if !seen.insert(d.value) {
            cx.push(
                Diag::error(cx.at(d.span), format!("`{:?}` is listed twice", d.value))
                    .label("repeated weekday"),
            );
        }
    }
}

fn check_list<T: Ord + Copy + std::fmt::Debug>(cx: &mut Cx, v: &Sp<OneOrMany<T>>, what: &str) {
    if let OneOrMany::Many(items) = &v.value {
        if items.is_empty() {
            cx.push(
                Diag::error(cx.at(v.span), format!("`{what}` needs at least one value"))
                    .label("empty list"),
            );
        }
        let mut seen = BTreeSet::new();
        for i in items {
            if !seen.insert(*i) {
                cx.push(
                    Diag::error(
                        cx.at(v.span),
                        format!("`{i:?}` is listed twice in `{what}`"),
                    )
                    .label("repeated value"),
                );
            }
        }
    }
}

fn check_keep(cx: &mut Cx, keep: &Sp<u32>, max: u32, unit: &str, kind: &str) {
    if !(1..=max).contains(&keep.value) {
        cx.push(
            Diag::error(
                cx.at(keep.span),
                format!("{kind} retention keeps 1–{max} {unit}, not {}", keep.value),
            )
            .label(format!("must be 1–{max}")),
        );
    }
}

/// All rules for one policy (its name is checked by the vault).
pub fn check(cx: &mut Cx, name: &Sp<String>, p: &Sp<BackupPolicy>) {
    let p_at = cx.at(name.span);
    let tier = p
        .value
        .tier
        .as_ref()
        .map(|t| t.value)
        .unwrap_or(Tier::Standard);
    let s = &p.value.schedule;
    let kinds = [
        s.value.hourly.is_some(),
        s.value.daily.is_some(),
        s.value.weekly.is_some(),
    ];
    let n = kinds.iter().filter(|k| **k).count();
    if n != 1 {
        cx.push(
            Diag::error(
                cx.at(s.span),
                format!("a schedule has exactly one of `hourly`, `daily`, `weekly` (found {n})"),
            )
            .label("schedule")
            .help("e.g. `schedule: {daily: {at: \"23:00\"}}`"),
        );
    }

    let mut weekly_days: Option<BTreeSet<Weekday>> = None;
    if let Some(h) = &s.value.hourly {
        if tier != Tier::Enhanced {
            cx.push(
                Diag::error(cx.at(h.span), "hourly schedules need an enhanced policy")
                    .label("hourly schedule")
                    .help("add `tier: enhanced` to this policy, or use a daily schedule"),
            );
        }
        let every = parse_hours(&h.value.every.value);
        match every {
            Some(4 | 6 | 8 | 12) => {}
            _ => cx.push(
                Diag::error(
                    cx.at(h.value.every.span),
                    format!(
                        "`every: {}` is not a supported interval",
                        h.value.every.value
                    ),
                )
                .label("not 4h, 6h, 8h or 12h")
                .help("hourly backups run every `4h`, `6h`, `8h` or `12h`"),
            ),
        }
        check_time(cx, &h.value.start, "start time");
        match parse_hours(&h.value.duration.value) {
            Some(d) if (4..=24).contains(&d) => {
                if let Some(e @ (4 | 6 | 8 | 12)) = every {
                    if d % e != 0 {
                        cx.push(
                            Diag::error(
                                cx.at(h.value.duration.span),
                                format!("the window `{d}h` is not a multiple of `every: {e}h`"),
                            )
                            .label(format!("not a multiple of {e}h"))
                            .help(format!(
                                "use a duration that divides into {e}h steps, e.g. `{}h`",
                                (d / e).max(1) * e
                            )),
                        );
                    }
                }
            }
            _ => cx.push(
                Diag::error(
                    cx.at(h.value.duration.span),
                    format!(
                        "`duration: {}` is not a window of 4h–24h",
                        h.value.duration.value
                    ),
                )
                .label("must be 4h–24h")
                .help("write the window in hours, e.g. `12h`"),
            ),
        }
    }
    if let Some(d) = &s.value.daily {
        check_time(cx, &d.value.at, "backup time");
    }
    if let Some(w) = &s.value.weekly {
        check_time(cx, &w.value.at, "backup time");
        check_distinct_days(cx, &w.value.on, "a weekly schedule");
        if n == 1 && !w.value.on.value.is_empty() {
            weekly_days = Some(w.value.on.value.iter().map(|d| d.value).collect());
        }
    }

    // Instant restore.
    if let Some(ir) = &p.value.instant_restore_days {
        let (max, tier_name) = match tier {
            Tier::Standard => (5, "a standard"),
            Tier::Enhanced => (30, "an enhanced"),
        };
        if !(1..=max).contains(&ir.value) {
            cx.push(
                Diag::error(
                    cx.at(ir.span),
                    format!(
                        "{tier_name} policy keeps instant-restore snapshots 1–{max} days, not {}",
                        ir.value
                    ),
                )
                .label(format!("must be 1–{max}"))
                .maybe_help((tier == Tier::Standard && ir.value <= 30).then(|| {
                    "an enhanced policy (`tier: enhanced`) allows up to 30 days".to_string()
                })),
            );
        } else if n == 1 && s.value.weekly.is_some() && ir.value != 5 {
            cx.push(
                Diag::error(cx.at(ir.span), format!("weekly schedules keep instant-restore snapshots exactly 5 days, not {}", ir.value))
                    .label("must be 5")
                    .help("Azure fixes instant restore at 5 days for weekly backups; set 5 or omit the key"),
            );
        }
    }

    // Only an enhanced (V2) policy chooses the consistency type: "The Enhanced VM backup policy
    // now enables you to configure the consistency type of the backups" (learn.microsoft.com
    // azure/backup/backup-azure-vms-agentless-multi-disk-crash-consistent-overview); the spec's
    // `snapshotConsistencyType: OnlyCrashConsistent` appears only in its V2Policy examples
    // (RecoveryServicesBackup 2026-01-01 examples/AzureIaasVm/V2Policy). A standard policy is
    // application-consistent (file-system-consistent where the VM has no VSS writer or
    // pre/post scripts), which is what `consistency: application` (the default) means.
    if let Some(c) = &p.value.consistency {
        if c.value == Consistency::CrashOnly && tier != Tier::Enhanced {
            cx.push(
                Diag::error(
                    cx.at(c.span),
                    "crash-consistent-only snapshots need an enhanced policy",
                )
                .label("crash_only")
                .help("add `tier: enhanced`, or use `consistency: application`"),
            );
        }
    }

    if let Some(tz) = &p.value.time_zone {
        timezones::check(cx, tz);
    }

    // Retention.
    let r = &p.value.retention;
    let rv = &r.value;
    let weekly_schedule = n == 1 && s.value.weekly.is_some();
    let no_retention =
        rv.daily.is_none() && rv.weekly.is_none() && rv.monthly.is_none() && rv.yearly.is_none();
    // (Hourly and daily schedules get the more specific "need daily retention" below.)
    if no_retention && (weekly_schedule || n != 1) {
        cx.push(
            Diag::error(
                cx.at(r.span),
                "retention needs at least one of `daily`, `weekly`, `monthly`, `yearly`",
            )
            .label("no retention"),
        );
    }
    match (&rv.daily, weekly_schedule) {
        (Some(d), true) => cx.push(
            Diag::error(
                cx.at(d.span),
                "daily retention does not apply to a weekly schedule",
            )
            .label("remove this")
            .help("weekly schedules keep backups with `weekly`, `monthly` or `yearly` retention"),
        ),
        (None, true) if rv.weekly.is_none() && !no_retention => cx.push(
            Diag::error(p_at, "a weekly schedule needs weekly retention")
                .label("this policy")
                .help("add e.g. `weekly: {keep: 12, on: [Sunday]}` under retention (Azure refuses a weekly policy without it, as azurerm's backup_policy_vm checks)"),
        ),
        (None, false) if n == 1 => cx.push(
            Diag::error(p_at, "hourly and daily schedules need daily retention")
                .label("this policy")
                .help("add e.g. `retention: {daily: 30d}`"),
        ),
        _ => {}
    }
    if let Some(d) = &rv.daily {
        match parse_days(&d.value) {
            Some(n) if (7..=9999).contains(&n) => {}
            Some(n) => cx.push(
                Diag::error(
                    cx.at(d.span),
                    format!("daily retention keeps 7–9999 days, not {n}"),
                )
                .label("must be 7d–9999d")
                .help("Azure requires at least 7 days of daily retention"),
            ),
            None => cx.push(
                Diag::error(
                    cx.at(d.span),
                    format!("`{}` is not a number of days", d.value),
                )
                .label("expected `<N>d`")
                .help("write daily retention in days, e.g. `30d`"),
            ),
        }
    }
    let check_subset = |cx: &mut Cx, days: Vec<(Weekday, miette::SourceSpan)>, kind: &str| {
        if let Some(sched) = &weekly_days {
            for (d, span) in days {
                if !sched.contains(&d) {
                    let list: Vec<String> = sched.iter().map(|d| format!("{d:?}")).collect();
                    cx.push(
                        Diag::error(cx.at(span), format!("{kind} retention keeps `{d:?}` backups, but the schedule does not run on {d:?}"))
                            .label("not a backup day")
                            .help(format!("the weekly schedule runs on {}", list.join(", "))),
                    );
                }
            }
        }
    };
    if let Some(w) = &rv.weekly {
        check_keep(cx, &w.value.keep, 5163, "weeks", "weekly");
        check_distinct_days(cx, &w.value.on, "weekly retention");
        let days = w.value.on.value.iter().map(|d| (d.value, d.span)).collect();
        check_subset(cx, days, "weekly");
    }
    if let Some(m) = &rv.monthly {
        check_keep(cx, &m.value.keep, 1188, "months", "monthly");
        check_list(cx, &m.value.week, "week");
        check_list(cx, &m.value.on, "on");
        let days = m
            .value
            .on
            .value
            .to_vec()
            .into_iter()
            .map(|d| (d, m.value.on.span))
            .collect();
        check_subset(cx, days, "monthly");
    }
    if let Some(y) = &rv.yearly {
        check_keep(cx, &y.value.keep, 99, "years", "yearly");
        check_list(cx, &y.value.month, "month");
        check_list(cx, &y.value.week, "week");
        check_list(cx, &y.value.on, "on");
        let days = y
            .value
            .on
            .value
            .to_vec()
            .into_iter()
            .map(|d| (d, y.value.on.span))
            .collect();
        check_subset(cx, days, "yearly");
    }
}
