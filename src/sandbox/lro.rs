//! Long-running operations. An operation records its start time and a simulated duration (Azure
//! seconds × `time_scale`); its status is computed from the clock when polled, so completion needs
//! no background task and survives restarts. Also the time helpers and `Retry-After` headers.

use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::state::{Operation, State};

/// Simulated durations of Azure operations, in Azure seconds (scaled by `time_scale`).
pub mod durations {
    pub const RESOURCE_GROUP_DELETE: f64 = 20.0;
    pub const VAULT_DELETE: f64 = 10.0;
    pub const VAULT_CREATE: f64 = 5.0;
    pub const POLICY_PUT: f64 = 5.0;
    pub const PROTECT: f64 = 30.0;
    pub const FIRST_BACKUP: f64 = 60.0;
    pub const ITEM_UPDATE: f64 = 10.0;
    pub const ITEM_DELETE: f64 = 20.0;
    pub const REFRESH: f64 = 10.0;
}

pub fn now_ms() -> i64 {
    (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

/// `2026-11-25T10:15:00.1234567Z` (ARM's 7-digit fractional seconds).
pub fn fmt_time(ms: i64) -> String {
    let dt = OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:07}Z",
        dt.year(),
        dt.month() as u8,
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second(),
        dt.nanosecond() / 100
    )
}

/// Parse an RFC 3339 time to epoch ms.
pub fn parse_time(s: &str) -> Option<i64> {
    OffsetDateTime::parse(s, &Rfc3339)
        .ok()
        .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64)
}

/// `PT1M30.5S`-style ISO 8601 duration.
pub fn fmt_duration(ms: i64) -> String {
    let ms = ms.max(0);
    let h = ms / 3_600_000;
    let m = (ms / 60_000) % 60;
    let s = (ms % 60_000) as f64 / 1000.0;
    let mut out = String::from("PT");
    if h > 0 {
        out.push_str(&format!("{h}H"));
    }
    if m > 0 {
        out.push_str(&format!("{m}M"));
    }
    out.push_str(&format!("{s}S"));
    out
}

/// Azure seconds → sandbox milliseconds.
pub fn scaled_ms(azure_secs: f64, time_scale: f64) -> i64 {
    (azure_secs * 1000.0 * time_scale).round().max(0.0) as i64
}

/// `Retry-After` where Azure sends one (ARM's throttling 429): the wait scaled by the time
/// scale, in whole seconds (0 allowed). Long-running operations and their polls carry none
/// (recordings: "Retry-After never appears", FACTS §9): clients fall back to their own poll
/// interval (azprotect: `AZPROTECT_POLL_INTERVAL`, which the sandbox's environment sets).
pub fn retry_after(azure_secs: u64, time_scale: f64) -> (String, String) {
    let secs = (azure_secs as f64 * time_scale).round().max(0.0) as u64;
    ("Retry-After".into(), secs.to_string())
}

pub struct NewOp<'a> {
    pub kind: &'a str,
    pub duration_ms: i64,
    pub error: Option<Value>,
    pub vault_key: Option<String>,
    pub target_key: Option<String>,
    pub job_id: Option<String>,
    pub result: &'a str,
}

/// How old a finished operation may get before it is forgotten (clients poll for minutes, not
/// days), and how often at most the operations are swept for such (a sweep visits every one:
/// sweeping on every start made 100,000 protections cost 10¹⁰ steps).
const FORGET_AFTER_MS: i64 = 86_400_000;
const SWEEP_EVERY_MS: i64 = 60_000;

/// Record an operation and return its id.
pub fn start(st: &mut State, now: i64, op: NewOp<'_>) -> String {
    if now - st.ops_swept_ms >= SWEEP_EVERY_MS {
        st.ops
            .retain(|_, o| now - (o.start_ms + o.duration_ms) < FORGET_AFTER_MS);
        st.ops_swept_ms = now;
        let ops = &st.ops;
        st.ops_by_target.retain(|_, ids| {
            ids.retain(|id| ops.contains_key(id));
            !ids.is_empty()
        });
    }
    let id = uuid::Uuid::new_v4().to_string();
    insert(
        st,
        Operation {
            id: id.clone(),
            kind: op.kind.to_string(),
            start_ms: now,
            duration_ms: op.duration_ms,
            error: op.error,
            vault_key: op.vault_key,
            target_key: op.target_key,
            job_id: op.job_id,
            result: op.result.to_string(),
        },
    );
    id
}

fn insert(st: &mut State, op: Operation) {
    if let Some(t) = &op.target_key {
        st.ops_by_target
            .entry(t.clone())
            .or_default()
            .push(op.id.clone());
    }
    st.ops.insert(op.id.clone(), op);
}

/// Give an operation another id (the token its path carries).
pub fn rename(st: &mut State, from: &str, to: &str) {
    if let Some(mut op) = st.ops.remove(from) {
        op.id = to.to_string();
        if let Some(ids) = op
            .target_key
            .as_ref()
            .and_then(|t| st.ops_by_target.get_mut(t))
        {
            ids.retain(|id| id != from);
        }
        insert(st, op);
    }
}

/// The operations acting on `target_key`, oldest first: an index lookup, not a scan.
pub fn ops_on<'a>(st: &'a State, target_key: &str) -> impl Iterator<Item = &'a Operation> {
    st.ops_by_target
        .get(target_key)
        .into_iter()
        .flatten()
        .filter_map(|id| st.ops.get(id))
}

/// Rebuild [`State::ops_by_target`] from the operations (after loading a state file).
pub fn reindex(st: &mut State) {
    st.ops_by_target.clear();
    let ops: Vec<Operation> = std::mem::take(&mut st.ops).into_values().collect();
    for op in ops {
        insert(st, op);
    }
}

/// Where an operation stands at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Running,
    Succeeded,
    Failed,
}

pub fn phase(op: &Operation, now: i64) -> Phase {
    if now < op.start_ms + op.duration_ms {
        Phase::Running
    } else if op.error.is_some() {
        Phase::Failed
    } else {
        Phase::Succeeded
    }
}

pub fn status_str(p: Phase) -> &'static str {
    match p {
        Phase::Running => "InProgress",
        Phase::Succeeded => "Succeeded",
        Phase::Failed => "Failed",
    }
}

/// Find an operation by id (case-insensitive), optionally requiring its kind prefix.
pub fn find<'a>(st: &'a State, id: &str) -> Option<&'a Operation> {
    st.ops
        .get(id)
        .or_else(|| st.ops.get(&id.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(fmt_time(0), "1970-01-01T00:00:00.0000000Z");
        assert_eq!(fmt_duration(90_500), "PT1M30.5S");
        assert_eq!(scaled_ms(60.0, 0.01), 600);
        assert_eq!(parse_time("1970-01-01T00:00:01Z"), Some(1000));
    }

    fn op_on(target: &str) -> NewOp<'_> {
        NewOp {
            kind: "protect",
            duration_ms: 1_000,
            error: None,
            vault_key: None,
            target_key: Some(target.to_string()),
            job_id: None,
            result: "empty",
        }
    }

    #[test]
    fn operations_are_found_by_what_they_act_on_after_a_rename_and_a_restart() {
        let mut st = State::default();
        let id = start(&mut st, 10, op_on("v/item-a"));
        start(&mut st, 10, op_on("v/item-b"));
        rename(&mut st, &id, "token-a");
        let on_a: Vec<&str> = ops_on(&st, "v/item-a").map(|o| o.id.as_str()).collect();
        assert_eq!(on_a, ["token-a"]);
        // The index is not persisted: a loaded state rebuilds it.
        let mut loaded: State = serde_json::from_str(&serde_json::to_string(&st).unwrap()).unwrap();
        assert_eq!(ops_on(&loaded, "v/item-a").count(), 0, "not persisted");
        reindex(&mut loaded);
        assert_eq!(ops_on(&loaded, "v/item-a").count(), 1);
        assert_eq!(ops_on(&loaded, "v/item-b").count(), 1);
    }

    #[test]
    fn finished_operations_are_forgotten_after_a_day_by_the_next_sweep() {
        let mut st = State::default();
        start(&mut st, 0, op_on("v/old"));
        let later = 1_000 + FORGET_AFTER_MS;
        start(&mut st, later, op_on("v/new"));
        assert_eq!(st.ops.len(), 1);
        assert_eq!(ops_on(&st, "v/old").count(), 0);
        // Sweeps are at most a minute apart: an operation that ends within one stays until then.
        start(&mut st, later + 1, op_on("v/next"));
        assert_eq!(st.ops.len(), 2);
    }
}
