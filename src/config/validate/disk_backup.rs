//! `disk_backup` rules (Azure Disk Backup, `Microsoft.DataProtection`): Backup vault names,
//! regions, resource groups and soft delete, a warning that immutability does not cover disk
//! snapshots (operational backups); disk policies (`every` in Azure's set, retention
//! 1–365 days, at most 450 snapshots per disk, `start`, `time_zone`); `protect` entries (the
//! policy reference, the snapshot resource group and its subscription, disk references,
//! selectors) and, across all files, a vault declared twice or a disk protected twice.
//!
//! Limits (Azure Disk Backup support matrix, 2026): snapshots every 1, 2, 4, 6, 8 or 12 hours
//! or daily; a disk keeps at most 500 incremental snapshots, of which a policy may keep 450
//! (the rest is room for on-demand backups), and retention is at most one year — whichever
//! comes first (e.g. 225 days at `12h`). Snapshots are created in the disk's own subscription.
//!
//! Rules that need live state are plan-time rules: Premium SSD v2 and Ultra disks take
//! snapshots only every `12h` or `1d` ([`Interval::allowed_for_premium_v2_and_ultra`]); a disk
//! must be in its vault's region; a disk already protected by a backup instance azprotect does
//! not manage; the snapshot resource group of a protected disk cannot change.

use super::{check_location, names, protect, suggest, timezones, Cx};
use crate::config::diag::{At, Diag, Diags};
use crate::config::spanned::Sp;
use crate::config::types::{ConfigFile, Immutability};
use crate::config::types_disk_backup::{DiskBackupVault, DiskPolicy, DiskProtect};
use std::collections::HashMap;
use std::fmt;

/// Longest retention of a disk snapshot: one year (the operational tier's limit).
pub const MAX_RETENTION_DAYS: u32 = 365;

/// Scheduled snapshots a disk policy may keep per disk (Azure leaves the rest of the
/// [`MAX_SNAPSHOTS_PER_DISK`] for on-demand backups).
pub const MAX_POLICY_SNAPSHOTS: u32 = 450;

/// Incremental snapshots a managed disk can have at all.
pub const MAX_SNAPSHOTS_PER_DISK: u32 = 500;

/// How often a disk policy takes a snapshot: every 1, 2, 4, 6, 8 or 12 hours, or daily.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Interval {
    /// Every N hours, N ∈ {1, 2, 4, 6, 8, 12}.
    Hours(u32),
    /// Once a day (`1d`).
    Daily,
}

impl Interval {
    /// Every interval Azure offers, most frequent first.
    pub const ALL: [Interval; 7] = [
        Interval::Hours(1),
        Interval::Hours(2),
        Interval::Hours(4),
        Interval::Hours(6),
        Interval::Hours(8),
        Interval::Hours(12),
        Interval::Daily,
    ];

    /// The interval in hours (24 for daily).
    pub fn hours(self) -> u32 {
        match self {
            Interval::Hours(h) => h,
            Interval::Daily => 24,
        }
    }

    /// Snapshots per day.
    pub fn per_day(self) -> u32 {
        24 / self.hours()
    }

    /// The ISO 8601 duration of `repeatingTimeIntervals` (`R/<start>/PT4H`, `R/<start>/P1D`).
    pub fn iso8601(self) -> String {
        match self {
            Interval::Hours(h) => format!("PT{h}H"),
            Interval::Daily => "P1D".to_string(),
        }
    }

    /// Premium SSD v2 and Ultra disks take snapshots every 12 hours or daily only (a
    /// plan-time rule: the disk's SKU is live state).
    pub fn allowed_for_premium_v2_and_ultra(self) -> bool {
        matches!(self, Interval::Hours(12) | Interval::Daily)
    }

    /// The longest retention (days) this interval allows: 450 snapshots or one year.
    pub fn max_retention_days(self) -> u32 {
        (MAX_POLICY_SNAPSHOTS / self.per_day()).min(MAX_RETENTION_DAYS)
    }
}

impl fmt::Display for Interval {
    /// The file's spelling: `4h`, `1d`.
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            Interval::Hours(h) => write!(f, "{h}h"),
            Interval::Daily => f.write_str("1d"),
        }
    }
}

/// `every`: `1h`, `2h`, `4h`, `6h`, `8h`, `12h` → [`Interval::Hours`], `1d` →
/// [`Interval::Daily`]; anything else → `None`.
pub fn parse_every(s: &str) -> Option<Interval> {
    match crate::model::disk_backup::policy::every_hours(s)? {
        24 => Some(Interval::Daily),
        h => Some(Interval::Hours(h)),
    }
}

/// `start`: `HH:MM` (00–23, 00–59) → (hour, minute).
pub fn parse_start(s: &str) -> Option<(u32, u32)> {
    let b = s.as_bytes();
    if b.len() != 5
        || b[2] != b':'
        || !s[..2]
            .bytes()
            .chain(s[3..].bytes())
            .all(|c| c.is_ascii_digit())
    {
        return None;
    }
    let (h, m) = (s[..2].parse().ok()?, s[3..].parse().ok()?);
    (h < 24 && m < 60).then_some((h, m))
}

/// The policy's `repeatingTimeIntervals` entry: `R/2024-01-01T{start}:00+00:00/{period}`, e.g.
/// `R/2024-01-01T02:00:00+00:00/PT4H` (`start` `HH:MM`, default `00:00`; the clock time is
/// read in the policy's `timeZone`). The anchor date is fixed so the same file always gives
/// the same text; Azure only uses it as the first occurrence. `None` if `start` is invalid.
pub fn repeating_interval(every: Interval, start: Option<&str>) -> Option<String> {
    let (h, m) = match start {
        Some(s) => parse_start(s)?,
        None => (0, 0),
    };
    Some(format!(
        "R/2024-01-01T{h:02}:{m:02}:00+00:00/{}",
        every.iso8601()
    ))
}

/// Snapshots a policy keeps of each disk: one per interval for `retention_days`.
pub fn snapshots_kept(every: Interval, retention_days: u32) -> u64 {
    u64::from(retention_days) * u64::from(every.per_day())
}

type DiskKey = (String, String, String);

/// What the vaults seen so far declared, across files.
#[derive(Default)]
struct Seen {
    /// Vault names (lowercase) → where.
    vaults: HashMap<String, At>,
    /// Protected disk → (where, vault).
    disks: HashMap<DiskKey, (At, String)>,
}

/// Every `disk_backup` vault of every file.
pub fn across(files: &[ConfigFile], default_sub: Option<&str>, diags: &mut Diags) {
    let mut seen = Seen::default();
    for (i, f) in files.iter().enumerate() {
        let Some(vaults) = &f.disk_backup else {
            continue;
        };
        let mut cx = Cx { file: i, diags };
        for (name, v) in vaults.value.iter() {
            let sub = super::block_subscription(&v.value.subscription, default_sub);
            check_vault(&mut cx, name, &v.value, sub, &mut seen);
        }
    }
}

fn check_vault(
    cx: &mut Cx,
    name: &Sp<String>,
    v: &DiskBackupVault,
    default_sub: Option<&str>,
    seen: &mut Seen,
) {
    let at = cx.at(name.span);
    super::check_name(cx, name, names::backup_vault_name, "Backup vault");
    let help = "Azure names are case-insensitive; each vault under `disk_backup` may be declared once across all files";
    if let Some(d) = super::declared_twice(&mut seen.vaults, at, &name.value, "Backup vault", help)
    {
        cx.push(d);
    }
    check_location(cx, &v.location);
    super::check_name(
        cx,
        &v.resource_group,
        names::resource_group_name,
        "resource group",
    );
    super::vault::check_soft_delete_days(cx, v.soft_delete.as_ref());
    if let Some(i) = &v.immutability {
        if matches!(i.value, Immutability::Unlocked | Immutability::Locked) {
            cx.push(
                Diag::warning(cx.at(i.span), "immutability does not cover disk snapshots")
                    .label(format!("{:?}", i.value))
                    .help("Azure's immutable vaults protect vault-tier backup data; Disk Backup keeps operational snapshots in the snapshot resource group, which immutability does not apply to (protect them with a delete lock on that resource group instead)"),
            );
        }
    }
    if let Some(i) = v.identity.as_ref().filter(|i| !is_system(&i.value)) {
        if let Err(msg) = names::user_identity_id(&i.value, default_sub.unwrap_or_default()) {
            cx.push(
                Diag::error(cx.at(i.span), "not a managed identity")
                    .label("invalid identity")
                    .help(format!("`system` (the vault's own identity), or {msg}")),
            );
        }
    }
    let mut declared: Vec<&Sp<String>> = Vec::new();
    for (pname, p) in v.policies.iter().flat_map(|m| m.value.iter()) {
        let vault = format!("Backup vault `{}`", name.value);
        super::check_policy_name(
            cx,
            &mut declared,
            pname,
            names::disk_policy_name,
            "disk policy",
            &vault,
        );
        check_policy(cx, &p.value);
    }
    for e in v.protect.iter().flat_map(|p| &p.value) {
        check_protect(cx, name, v, e, default_sub, seen);
    }
}

/// `identity: system`: the vault's system-assigned identity (the default).
pub fn is_system(identity: &str) -> bool {
    identity.trim().eq_ignore_ascii_case("system")
}

fn check_policy(cx: &mut Cx, p: &DiskPolicy) {
    let every = parse_every(&p.every.value);
    if every.is_none() {
        let v = p.every.value.trim();
        let help = match v {
            "24h" | "1440m" | "daily" => "write a daily schedule as `every: 1d`".to_string(),
            _ if v.ends_with('m') => "Azure Disk Backup takes at most one snapshot an hour: use `1h`, `2h`, `4h`, `6h`, `8h`, `12h` or `1d`".to_string(),
            _ if v.ends_with('d') || v.ends_with('w') => "Azure Disk Backup takes at least one snapshot a day: use `1d`, or an hourly interval".to_string(),
            _ => "Azure Disk Backup takes a snapshot every `1h`, `2h`, `4h`, `6h`, `8h`, `12h` or `1d` (Premium SSD v2 and Ultra disks: `12h` or `1d`)".to_string(),
        };
        cx.push(
            Diag::error(
                cx.at(p.every.span),
                format!("`every: {}` is not a disk backup interval", p.every.value),
            )
            .label("not 1h, 2h, 4h, 6h, 8h, 12h or 1d")
            .help(help),
        );
    }

    let r = &p.retention;
    let days = match super::parse_days(&r.value) {
        None => {
            let v = r.value.trim();
            let help = match v.strip_suffix('w').and_then(|n| n.parse::<u32>().ok()) {
                Some(w) => format!("write retention in days: {w} weeks is `{}d`", w * 7),
                None => format!("write retention in days, e.g. `7d` (1–{MAX_RETENTION_DAYS} days)"),
            };
            cx.push(
                Diag::error(
                    cx.at(r.span),
                    format!("`{}` is not a number of days", r.value),
                )
                .label("expected `<N>d`")
                .help(help),
            );
            None
        }
        Some(0) => {
            cx.push(
                Diag::error(cx.at(r.span), "a retention of 0 days keeps no snapshot")
                    .label("must be 1d–365d")
                    .help(
                        "keep each snapshot at least a day (and at least one interval), e.g. `7d`",
                    ),
            );
            None
        }
        Some(d) if d > MAX_RETENTION_DAYS => {
            cx.push(
                Diag::error(
                    cx.at(r.span),
                    format!("disk snapshots are kept at most {MAX_RETENTION_DAYS} days, not {d}"),
                )
                .label(format!("must be 1d–{MAX_RETENTION_DAYS}d"))
                .help("Azure Disk Backup keeps snapshots in the operational tier only, for up to a year; use a Recovery Services vault (VM backup) for longer retention"),
            );
            None
        }
        Some(d) => Some(d),
    };

    if let (Some(every), Some(days)) = (every, days) {
        let kept = snapshots_kept(every, days);
        if kept > u64::from(MAX_POLICY_SNAPSHOTS) {
            let max = every.max_retention_days();
            let fits = Interval::ALL
                .into_iter()
                .find(|i| snapshots_kept(*i, days) <= u64::from(MAX_POLICY_SNAPSHOTS));
            let alt = match fits {
                Some(i) => format!(
                    ", or take snapshots less often: `every: {i}` keeps {days}d as {} snapshots",
                    snapshots_kept(i, days)
                ),
                None => String::new(),
            };
            cx.push(
                Diag::error(
                    cx.at(r.span),
                    format!(
                        "`every: {every}` with `retention: {days}d` keeps {} × {days} = {kept} snapshots of each disk; Azure allows {MAX_POLICY_SNAPSHOTS}",
                        every.per_day()
                    ),
                )
                .label(format!("{kept} snapshots per disk"))
                .note(cx.at(p.every.span), format!("{} snapshots a day", every.per_day()))
                .help(format!(
                    "a disk holds at most {MAX_SNAPSHOTS_PER_DISK} incremental snapshots and a policy may keep {MAX_POLICY_SNAPSHOTS} of them: at `every: {every}` keep at most `{max}d`{alt}"
                )),
            );
        }
    }

    if let Some(s) = &p.start {
        if parse_start(&s.value).is_none() {
            cx.push(
                Diag::error(cx.at(s.span), format!("`{}` is not a time of day", s.value))
                    .label("expected HH:MM")
                    .help("write the time of the first snapshot of the day as `HH:MM` (24-hour clock), quoted, e.g. `start: \"02:00\"`"),
            );
        }
    }
    if let Some(tz) = &p.time_zone {
        timezones::check(cx, tz);
    }
}

fn disk_display(r: &names::DiskRef) -> String {
    format!("{}/{}", r.resource_group, r.name)
}

fn same_sub(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

fn check_protect(
    cx: &mut Cx,
    vault_name: &Sp<String>,
    v: &DiskBackupVault,
    e: &Sp<DiskProtect>,
    default_sub: Option<&str>,
    seen: &mut Seen,
) {
    let e = &e.value;
    let declared: Vec<&str> = v
        .policies
        .as_ref()
        .map(|m| m.value.keys().collect())
        .unwrap_or_default();
    let p = &e.policy;
    if !declared.contains(&p.value.as_str()) {
        let help = suggest(&p.value, declared.iter().copied()).unwrap_or_else(|| {
            if declared.is_empty() {
                format!(
                    "Backup vault `{}` declares no `policies`; add one, e.g. `policies: {{{}: {{every: 4h, retention: 7d}}}}`",
                    vault_name.value, p.value
                )
            } else {
                format!("policies of Backup vault `{}`: {}", vault_name.value, declared.join(", "))
            }
        });
        cx.push(
            Diag::error(
                cx.at(p.span),
                format!(
                    "Backup vault `{}` has no disk policy `{}`",
                    vault_name.value, p.value
                ),
            )
            .label("unknown policy")
            .help(help),
        );
    }

    // The snapshot resource group: a name (default subscription) or an id.
    let srg = &e.snapshot_resource_group;
    let srg_sub: Option<String> = match names::resource_group_ref(&srg.value) {
        Err(msg) => {
            let what = if srg.value.chars().count() <= 48 {
                format!("`{}` is not a resource group", srg.value)
            } else {
                "invalid resource group id".to_string()
            };
            cx.push(
                Diag::error(cx.at(srg.span), what)
                    .label("invalid snapshot resource group")
                    .help(msg),
            );
            None
        }
        Ok((sub, _)) => sub.or_else(|| default_sub.map(str::to_string)),
    };
    let srg_by_name = !srg.value.starts_with('/');

    if e.disks.is_none() && e.select.is_none() {
        cx.push(
            Diag::error(cx.at(p.span), "a `protect` entry needs `disks`, `select`, or both")
                .label("protects nothing")
                .help("list disks (`disks: [rg-app/shared-data]`) or select them (`select: {tags: {snapshot: 4h}}`)"),
        );
    }
    let mut sub_conflict = false;
    if let Some(disks) = &e.disks {
        if disks.value.is_empty() && e.select.is_none() {
            cx.push(
                Diag::error(cx.at(disks.span), "`disks` is empty")
                    .label("no disks")
                    .help("list disks as `resource-group/name` or disk ids, or use `select`"),
            );
        }
        for d in &disks.value {
            let r = match names::disk_ref(&d.value) {
                Ok(r) => r,
                Err(msg) => {
                    let lower = d.value.to_ascii_lowercase();
                    let help = if lower.contains("/providers/microsoft.compute/virtualmachines/") {
                        "this is a VM id: Disk Backup protects managed disks, by `resource-group/name` or disk id (`…/providers/Microsoft.Compute/disks/{name}`); back up whole VMs in `recovery_vaults`".to_string()
                    } else {
                        msg
                    };
                    let what = if d.value.chars().count() <= 48 {
                        format!("`{}` is not a disk reference", d.value)
                    } else {
                        "invalid disk id".to_string()
                    };
                    cx.push(
                        Diag::error(cx.at(d.span), what)
                            .label("invalid disk")
                            .help(help),
                    );
                    continue;
                }
            };
            let at = cx.at(d.span);
            let key = r.key(default_sub);
            let disk = disk_display(&r);
            super::listed_once(
                cx,
                &mut seen.disks,
                key,
                at,
                &vault_name.value,
                |first_vault, same| {
                    if same {
                        (
                            format!(
                                "disk `{disk}` is listed twice in Backup vault `{}`",
                                vault_name.value
                            ),
                            "list each disk once: a disk has one backup instance and one policy"
                                .to_string(),
                        )
                    } else {
                        (
                        format!("disk `{disk}` is already protected by Backup vault `{first_vault}`"),
                        "Azure protects a disk with one backup instance at most; remove it from one of the vaults".to_string(),
                    )
                    }
                },
            );
            // Snapshots are created in the disk's own subscription.
            let disk_sub = r.subscription.as_deref().or(default_sub);
            if let (Some(ds), Some(ss), false) = (disk_sub, srg_sub.as_deref(), sub_conflict) {
                if !same_sub(ds, ss) {
                    sub_conflict = true;
                    let how = if srg_by_name {
                        format!("a resource group given by name is in the default subscription `{ss}`; give the snapshot resource group as an id in `{ds}` (`/subscriptions/{ds}/resourceGroups/…`), in a `protect` entry of its own")
                    } else {
                        format!("use a resource group of subscription `{ds}`, in a `protect` entry for that subscription's disks")
                    };
                    cx.push(
                        Diag::error(
                            cx.at(srg.span),
                            format!("snapshots of disk `{}` cannot go to another subscription", disk_display(&r)),
                        )
                        .label(format!("in subscription `{ss}`"))
                        .note(at, format!("in subscription `{ds}`"))
                        .help(format!("Azure creates a disk's incremental snapshots in the disk's own subscription: {how}")),
                    );
                }
            }
        }
    }
    if let Some(sel) = &e.select {
        protect::check_select(cx, sel, "back up", "disk", "{tags: {snapshot: 4h}}");
        if let (Some(ds), Some(ss), false) = (default_sub, srg_sub.as_deref(), sub_conflict) {
            if !same_sub(ds, ss) {
                cx.push(
                    Diag::error(
                        cx.at(srg.span),
                        "snapshots of the selected disks cannot go to another subscription",
                    )
                    .label(format!("in subscription `{ss}`"))
                    .note(cx.at(sel.span), format!("selects disks in the default subscription `{ds}`"))
                    .help(format!("Azure creates a disk's incremental snapshots in the disk's own subscription: use a resource group of `{ds}` (its name is enough)")),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_are_azures_seven() {
        let all: Vec<String> = Interval::ALL.iter().map(|i| i.to_string()).collect();
        assert_eq!(all, ["1h", "2h", "4h", "6h", "8h", "12h", "1d"]);
        for i in Interval::ALL {
            assert_eq!(parse_every(&i.to_string()), Some(i));
        }
        for bad in ["", "3h", "24h", "1H", "01h", "30m", "2d", "1w", " 4h"] {
            assert_eq!(parse_every(bad), None, "{bad}");
        }
        assert_eq!(Interval::Hours(4).iso8601(), "PT4H");
        assert_eq!(Interval::Daily.iso8601(), "P1D");
        assert!(Interval::Hours(12).allowed_for_premium_v2_and_ultra());
        assert!(!Interval::Hours(4).allowed_for_premium_v2_and_ultra());
    }

    #[test]
    fn retention_is_capped_by_450_snapshots_or_a_year() {
        let max: Vec<u32> = Interval::ALL
            .iter()
            .map(|i| i.max_retention_days())
            .collect();
        assert_eq!(max, [18, 37, 75, 112, 150, 225, 365]);
        assert_eq!(snapshots_kept(Interval::Hours(4), 75), 450);
        assert_eq!(snapshots_kept(Interval::Hours(1), 30), 720);
    }

    #[test]
    fn the_schedule_becomes_a_repeating_iso8601_interval() {
        assert_eq!(
            repeating_interval(Interval::Hours(4), None).as_deref(),
            Some("R/2024-01-01T00:00:00+00:00/PT4H")
        );
        assert_eq!(
            repeating_interval(Interval::Daily, Some("02:30")).as_deref(),
            Some("R/2024-01-01T02:30:00+00:00/P1D")
        );
        assert_eq!(repeating_interval(Interval::Daily, Some("2:30")), None);
    }

    #[test]
    fn start_is_a_time_of_day() {
        assert_eq!(parse_start("00:00"), Some((0, 0)));
        assert_eq!(parse_start("23:59"), Some((23, 59)));
        assert_eq!(parse_start("08:15"), Some((8, 15)));
        for bad in [
            "24:00", "8:00", "08:60", "0800", "08:00:00", "ab:cd", "+1:00",
        ] {
            assert_eq!(parse_start(bad), None, "{bad}");
        }
    }
}
