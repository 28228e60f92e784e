//! `backup_policy.<vault>/<name>` — `vaults/backupPolicies` of `backupManagementType` AzureIaasVM
//! (api-version [`api::BACKUP`]).
//!
//! Attributes — the desired side fills every default, so the whole object is compared:
//! ```json
//! {
//!   "tier": "enhanced",                                 // standard (policyType V1) | enhanced (V2)
//!   "schedule": {"hourly": {"every": "4h", "start": "08:00", "duration": "12h"}},
//!       // or {"daily": {"at": "23:00"}} or {"weekly": {"on": ["Sunday"], "at": "23:00"}}
//!   "time_zone": "W. Europe Standard Time",             // default "UTC"
//!   "consistency": "application",                       // application (default) | crash_only
//!   "instant_restore_days": 7,                          // default 2 (standard) / 7 (enhanced)
//!   "retention": {                                      // each key present only when set
//!     "daily": "30d",
//!     "weekly": {"keep": 12, "on": ["Sunday"]},
//!     "monthly": {"keep": 12, "week": "First", "on": "Sunday"},
//!     "yearly": {"keep": 7, "month": "January", "week": "First", "on": "Sunday"}
//!   }
//! }
//! ```
//! Canonical forms: times `HH:MM`; day lists in week order Sunday…Saturday; `week`/`on`/`month`
//! a string when single and a list (in calendar order) when several; durations `<n>h` / `<n>d`.

use super::family::{Family, Ownership};
use super::{api, ArmId, ArmRequest, Method, Resource};
use super::{Action, ResourceKind};
use serde_json::{json, Map, Value};

/// Built-in policies Azure puts in every new vault; ignored unless declared.
pub const BUILT_IN: &[&str] = &["DefaultPolicy", "EnhancedPolicy", "HourlyLogBackup"];

pub fn arm_id(vault: &ArmId, name: &str) -> ArmId {
    vault.child(&["backupPolicies", name])
}

/// `GET {vault}/backupPolicies?$filter=backupManagementType eq 'AzureIaasVM'` (paged).
pub fn list_path(vault: &ArmId) -> String {
    format!(
        "{vault}/backupPolicies?api-version={}&$filter=backupManagementType%20eq%20%27AzureIaasVM%27",
        api::BACKUP
    )
}

/// The PUT that creates or replaces the policy (policies are always sent whole).
pub fn put_request(r: &Resource) -> ArmRequest {
    ArmRequest::new(Method::Put, resource_path(&r.arm_id), Some(body(&r.attrs)))
}

pub fn delete_request(id: &ArmId) -> ArmRequest {
    ArmRequest::new(Method::Delete, resource_path(id), None)
}

/// Live policy JSON → attributes; `None` for policies that are not AzureIaasVM policies.
pub fn normalize(arm: &Value) -> Option<Value> {
    let p = arm.get("properties")?;
    let bmt = p.get("backupManagementType").and_then(Value::as_str)?;
    if !bmt.eq_ignore_ascii_case("AzureIaasVM") {
        return None;
    }
    let sched = &p["schedulePolicy"];
    let enhanced = match p["policyType"].as_str() {
        Some(t) => t.eq_ignore_ascii_case("V2"),
        None => eq(&sched["schedulePolicyType"], "SimpleSchedulePolicyV2"),
    };
    let mut out = Map::new();
    out.insert(
        "tier".into(),
        json!(if enhanced { "enhanced" } else { "standard" }),
    );
    if let Some(s) = normalize_schedule(sched) {
        out.insert("schedule".into(), s);
    }
    let tz = p["timeZone"]
        .as_str()
        .filter(|s| !s.is_empty())
        .unwrap_or(DEFAULT_TIME_ZONE);
    out.insert("time_zone".into(), json!(tz));
    let crash = eq(&p["snapshotConsistencyType"], "OnlyCrashConsistent");
    out.insert(
        "consistency".into(),
        json!(if crash { "crash_only" } else { "application" }),
    );
    let ir = p["instantRpRetentionRangeInDays"]
        .as_u64()
        .unwrap_or(default_instant_restore_days(enhanced));
    out.insert("instant_restore_days".into(), json!(ir));
    out.insert(
        "retention".into(),
        normalize_retention(&p["retentionPolicy"]),
    );
    Some(Value::Object(out))
}

/// Azure's time zone when a policy has none.
pub const DEFAULT_TIME_ZONE: &str = "UTC";

/// Instant-restore days Azure applies when the file says nothing: 2 standard, 7 enhanced.
pub fn default_instant_restore_days(enhanced: bool) -> u64 {
    if enhanced {
        7
    } else {
        2
    }
}

/// Week days in canonical (calendar) order.
pub const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];
/// Weeks of the month in canonical order.
pub const WEEKS: [&str; 5] = ["First", "Second", "Third", "Fourth", "Last"];
/// Months in canonical order.
pub const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// The date ARM times are anchored to (only the time of day matters to Azure).
const ANCHOR_DATE: &str = "2018-01-24";

fn resource_path(id: &ArmId) -> String {
    format!("{id}?api-version={}", api::BACKUP)
}

fn eq(v: &Value, s: &str) -> bool {
    v.as_str().is_some_and(|x| x.eq_ignore_ascii_case(s))
}

// ---------------------------------------------------------------- attributes → ARM

fn body(a: &Value) -> Value {
    let enhanced = a["tier"].as_str() == Some("enhanced");
    let sched = &a["schedule"];
    let at = schedule_time(sched);
    let mut props = Map::new();
    props.insert("backupManagementType".into(), json!("AzureIaasVM"));
    props.insert(
        "policyType".into(),
        json!(if enhanced { "V2" } else { "V1" }),
    );
    props.insert("schedulePolicy".into(), schedule_to_arm(sched, enhanced));
    props.insert(
        "retentionPolicy".into(),
        retention_to_arm(&a["retention"], &at),
    );
    let tz = a["time_zone"].as_str().unwrap_or(DEFAULT_TIME_ZONE);
    props.insert("timeZone".into(), json!(tz));
    let ir = a["instant_restore_days"]
        .as_u64()
        .unwrap_or(default_instant_restore_days(enhanced));
    props.insert("instantRpRetentionRangeInDays".into(), json!(ir));
    if a["consistency"].as_str() == Some("crash_only") {
        props.insert(
            "snapshotConsistencyType".into(),
            json!("OnlyCrashConsistent"),
        );
    }
    json!({ "properties": props })
}

/// The time of day every retention rule uses: the daily/weekly time, or the hourly window start.
fn schedule_time(sched: &Value) -> String {
    let t = sched["hourly"]["start"]
        .as_str()
        .or_else(|| sched["daily"]["at"].as_str())
        .or_else(|| sched["weekly"]["at"].as_str())
        .unwrap_or("00:00");
    iso_time(t)
}

/// `HH:MM` → `2018-01-24THH:MM:00Z`.
fn iso_time(hhmm: &str) -> String {
    format!("{ANCHOR_DATE}T{hhmm}:00Z")
}

fn schedule_to_arm(sched: &Value, enhanced: bool) -> Value {
    let at = schedule_time(sched);
    if let Some(h) = sched.get("hourly") {
        return json!({
            "schedulePolicyType": "SimpleSchedulePolicyV2",
            "scheduleRunFrequency": "Hourly",
            "hourlySchedule": {
                "interval": duration_count(&h["every"]),
                "scheduleWindowStartTime": at,
                "scheduleWindowDuration": duration_count(&h["duration"]),
            },
        });
    }
    let weekly = sched.get("weekly");
    let days = weekly.map(|w| day_list(&w["on"]));
    match (enhanced, days) {
        (false, None) => json!({
            "schedulePolicyType": "SimpleSchedulePolicy",
            "scheduleRunFrequency": "Daily",
            "scheduleRunTimes": [at],
        }),
        (false, Some(days)) => json!({
            "schedulePolicyType": "SimpleSchedulePolicy",
            "scheduleRunFrequency": "Weekly",
            "scheduleRunDays": days,
            "scheduleRunTimes": [at],
        }),
        (true, None) => json!({
            "schedulePolicyType": "SimpleSchedulePolicyV2",
            "scheduleRunFrequency": "Daily",
            "dailySchedule": {"scheduleRunTimes": [at]},
        }),
        (true, Some(days)) => json!({
            "schedulePolicyType": "SimpleSchedulePolicyV2",
            "scheduleRunFrequency": "Weekly",
            "weeklySchedule": {"scheduleRunDays": days, "scheduleRunTimes": [at]},
        }),
    }
}

fn retention_to_arm(ret: &Value, at: &str) -> Value {
    let mut m = Map::new();
    m.insert(
        "retentionPolicyType".into(),
        json!("LongTermRetentionPolicy"),
    );
    if let Some(d) = ret.get("daily") {
        m.insert(
            "dailySchedule".into(),
            json!({
                "retentionTimes": [at],
                "retentionDuration": {"count": duration_count(d), "durationType": "Days"},
            }),
        );
    }
    if let Some(w) = ret.get("weekly") {
        m.insert(
            "weeklySchedule".into(),
            json!({
                "daysOfTheWeek": day_list(&w["on"]),
                "retentionTimes": [at],
                "retentionDuration": {"count": w["keep"].as_u64().unwrap_or(0), "durationType": "Weeks"},
            }),
        );
    }
    if let Some(mo) = ret.get("monthly") {
        let mut s = Map::new();
        insert_format(&mut s, mo);
        s.insert("retentionTimes".into(), json!([at]));
        s.insert(
            "retentionDuration".into(),
            json!({"count": mo["keep"].as_u64().unwrap_or(0), "durationType": "Months"}),
        );
        m.insert("monthlySchedule".into(), Value::Object(s));
    }
    if let Some(y) = ret.get("yearly") {
        let mut s = Map::new();
        s.insert("monthsOfYear".into(), json!(ordered(&y["month"], &MONTHS)));
        insert_format(&mut s, y);
        s.insert("retentionTimes".into(), json!([at]));
        s.insert(
            "retentionDuration".into(),
            json!({"count": y["keep"].as_u64().unwrap_or(0), "durationType": "Years"}),
        );
        m.insert("yearlySchedule".into(), Value::Object(s));
    }
    Value::Object(m)
}

/// Monthly/yearly retention: weekly format (`week` + `on`) or, as an extension, days of the
/// month (`days: [1, 15, "Last"]`).
fn insert_format(s: &mut Map<String, Value>, rule: &Value) {
    if let Some(days) = rule.get("days").and_then(Value::as_array) {
        let days: Vec<Value> = days
            .iter()
            .map(|d| match d.as_u64() {
                Some(n) => json!({"date": n, "isLast": false}),
                None => json!({"date": 0, "isLast": true}),
            })
            .collect();
        s.insert("retentionScheduleFormatType".into(), json!("Daily"));
        s.insert(
            "retentionScheduleDaily".into(),
            json!({ "daysOfTheMonth": days }),
        );
    } else {
        s.insert("retentionScheduleFormatType".into(), json!("Weekly"));
        s.insert(
            "retentionScheduleWeekly".into(),
            json!({
                "daysOfTheWeek": ordered(&rule["on"], &DAYS),
                "weeksOfTheMonth": ordered(&rule["week"], &WEEKS),
            }),
        );
    }
}

/// `"4h"` / `"30d"` / `4` → 4.
fn duration_count(v: &Value) -> u64 {
    if let Some(n) = v.as_u64() {
        return n;
    }
    let s = v.as_str().unwrap_or_default();
    s.trim_end_matches(|c: char| c.is_ascii_alphabetic())
        .parse()
        .unwrap_or(0)
}

/// A day list (string or list) in canonical order.
fn day_list(v: &Value) -> Vec<String> {
    ordered(v, &DAYS)
}

/// A string-or-list of names → the distinct names in canonical order (canonical spelling).
fn ordered(v: &Value, order: &[&str]) -> Vec<String> {
    let names: Vec<&str> = match v {
        Value::String(s) => vec![s.as_str()],
        Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    let mut known: Vec<String> = order
        .iter()
        .filter(|o| names.iter().any(|n| n.eq_ignore_ascii_case(o)))
        .map(|o| o.to_string())
        .collect();
    // Names outside the canonical list (e.g. ARM's `Invalid`) are kept, after the known ones.
    for n in names {
        if !order.iter().any(|o| o.eq_ignore_ascii_case(n)) && !known.iter().any(|k| k == n) {
            known.push(n.to_string());
        }
    }
    known
}

/// One name as a string, several as a list (the canonical form of `week`/`on`/`month`).
fn one_or_many(names: Vec<String>) -> Value {
    if names.len() == 1 {
        Value::String(names.into_iter().next().unwrap_or_default())
    } else {
        json!(names)
    }
}

// ---------------------------------------------------------------- ARM → attributes

/// `2018-01-24T10:00:00Z` / `2021-12-17T08:00:00+00:00` / `10:00` → `10:00`.
fn hhmm(v: &Value) -> Option<String> {
    let s = v.as_str()?;
    let t = s.split_once('T').map_or(s, |(_, t)| t);
    let mut parts = t.split(':');
    let h: u32 = parts.next()?.trim().parse().ok()?;
    let m: u32 = parts.next()?.get(..2)?.parse().ok()?;
    Some(format!("{h:02}:{m:02}"))
}

fn first_time(v: &Value) -> Option<String> {
    v.as_array()?.first().and_then(hhmm)
}

fn normalize_schedule(s: &Value) -> Option<Value> {
    let freq = s["scheduleRunFrequency"]
        .as_str()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let hourly = &s["hourlySchedule"];
    if freq == "hourly" || (freq.is_empty() && hourly.is_object()) {
        let mut h = Map::new();
        h.insert(
            "every".into(),
            json!(format!("{}h", hourly["interval"].as_u64().unwrap_or(0))),
        );
        h.insert(
            "start".into(),
            json!(hhmm(&hourly["scheduleWindowStartTime"])?),
        );
        h.insert(
            "duration".into(),
            json!(format!(
                "{}h",
                hourly["scheduleWindowDuration"].as_u64().unwrap_or(0)
            )),
        );
        return Some(json!({ "hourly": h }));
    }
    let v2 = eq(&s["schedulePolicyType"], "SimpleSchedulePolicyV2");
    let (times, days) = if v2 {
        match freq.as_str() {
            "weekly" => (
                &s["weeklySchedule"]["scheduleRunTimes"],
                &s["weeklySchedule"]["scheduleRunDays"],
            ),
            _ => (&s["dailySchedule"]["scheduleRunTimes"], &Value::Null),
        }
    } else {
        (&s["scheduleRunTimes"], &s["scheduleRunDays"])
    };
    let at = first_time(times)?;
    if freq == "weekly" {
        Some(json!({"weekly": {"on": day_list(days), "at": at}}))
    } else {
        Some(json!({"daily": {"at": at}}))
    }
}

fn normalize_retention(r: &Value) -> Value {
    let mut m = Map::new();
    let d = &r["dailySchedule"];
    if d.is_object() {
        m.insert("daily".into(), json!(format!("{}d", count(d))));
    }
    let w = &r["weeklySchedule"];
    if w.is_object() {
        m.insert(
            "weekly".into(),
            json!({"keep": count(w), "on": day_list(&w["daysOfTheWeek"])}),
        );
    }
    let mo = &r["monthlySchedule"];
    if mo.is_object() {
        let mut s = Map::new();
        s.insert("keep".into(), json!(count(mo)));
        format_from_arm(&mut s, mo);
        m.insert("monthly".into(), Value::Object(s));
    }
    let y = &r["yearlySchedule"];
    if y.is_object() {
        let mut s = Map::new();
        s.insert("keep".into(), json!(count(y)));
        s.insert(
            "month".into(),
            one_or_many(ordered(&y["monthsOfYear"], &MONTHS)),
        );
        format_from_arm(&mut s, y);
        m.insert("yearly".into(), Value::Object(s));
    }
    Value::Object(m)
}

fn count(rule: &Value) -> u64 {
    rule["retentionDuration"]["count"].as_u64().unwrap_or(0)
}

fn format_from_arm(s: &mut Map<String, Value>, rule: &Value) {
    let daily = &rule["retentionScheduleDaily"]["daysOfTheMonth"];
    if eq(&rule["retentionScheduleFormatType"], "Daily") && daily.is_array() {
        let mut dates: Vec<u64> = vec![];
        let mut last = false;
        for d in daily.as_array().into_iter().flatten() {
            if d["isLast"].as_bool() == Some(true) {
                last = true;
            } else if let Some(n) = d["date"].as_u64() {
                dates.push(n);
            }
        }
        dates.sort_unstable();
        dates.dedup();
        let mut days: Vec<Value> = dates.into_iter().map(Value::from).collect();
        if last {
            days.push(json!("Last"));
        }
        s.insert("days".into(), Value::Array(days));
        return;
    }
    let wk = &rule["retentionScheduleWeekly"];
    s.insert(
        "week".into(),
        one_or_many(ordered(&wk["weeksOfTheMonth"], &WEEKS)),
    );
    s.insert(
        "on".into(),
        one_or_many(ordered(&wk["daysOfTheWeek"], &DAYS)),
    );
}

/// VM backup policies; a replace deletes the policy and creates it again.
pub const FAMILY: Family = Family {
    kind: ResourceKind::BackupPolicy,
    prefix: "backup_policy",
    rank: 2,
    ownership: Ownership::Whole,
    removed_with_the_file: true,
    requests: |c| {
        Ok(match c.action {
            Action::Create | Action::Update => vec![put_request(c.desired()?)],
            Action::Replace => vec![delete_request(c.id), put_request(c.desired()?)],
            Action::Delete => vec![delete_request(c.id)],
        })
    },
};

attributes!(
    /// A VM backup policy's attributes.
    Attrs {
        /// `standard` or `enhanced`.
        tier: Option<&'a str> = Value::as_str,
        /// `{"hourly": …}`, `{"daily": …}` or `{"weekly": …}` (see [`normalize`]).
        schedule: &'a Value = std::convert::identity,
    }
);
