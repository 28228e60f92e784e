//! Pure long-running-operation decisions: is a response the start of an LRO, which URL to poll,
//! how long to wait, and what each poll response means. The client does the GETs and sleeps.
//!
//! Semantics (see `azure-behaviour.md` §1):
//! - Start: 201/202 with `Azure-AsyncOperation` (or `Operation-Location`) → poll that status
//!   monitor; else with `Location` → Location polling; a 200 with `Azure-AsyncOperation` (legacy)
//!   → poll it; a PUT/PATCH 200/201/202 without headers but a non-terminal
//!   `properties.provisioningState` → GET the original URI until terminal. 202 without headers
//!   (Recovery Services policy PUT may do that) and everything else → done.
//! - Poll URLs must be absolute https URLs on the ARM endpoint's host and port (compared
//!   case-insensitively; path case and foreign api-versions such as RS's
//!   `/Subscriptions/…?api-version=2016-12-01` are kept verbatim). Anything else is refused so the
//!   bearer token never leaves ARM.
//! - Status monitor bodies: `status` compared case-insensitively: Succeeded/Completed → success;
//!   Failed; Canceled/Cancelled; anything else (InProgress, Inprogress, Running, Accepted,
//!   Creating, Updating, Pending, unknown RP values) → keep polling. 202 without a status → keep
//!   polling; 200/204 without one → success.
//! - After a status-monitor success: PUT/PATCH GET `Location` when the first response had one
//!   (a 204 there falls back to the original URI), else the original URI; POST GETs `Location`
//!   when present, else returns the status body's `properties`; DELETE is done.
//! - Location polling: 202 → keep polling (following a new `Location` if sent); 200/201 → done
//!   with the body; 204 → done (PUT/PATCH then read the original URI).
//! - Delays: `retry-after-ms` / `x-ms-retry-after-ms` exactly; `Retry-After` seconds floored at
//!   `min_delay`; `default_delay` when absent; everything capped at `max_delay`.
//! - 4xx/5xx while polling are handled by the caller (retry table, then an error).

use super::cloud::same_origin;
use super::error::parse_error_value;
use super::retry::server_retry_after;
use crate::request::Method;
use reqwest::header::HeaderMap;
use serde_json::Value;
use std::time::{Duration, SystemTime};
use url::Url;

/// Poll timing and the overall deadline.
#[derive(Debug, Clone, PartialEq)]
pub struct LroPolicy {
    /// Delay when the server sends none.
    pub default_delay: Duration,
    /// Floor for `Retry-After` seconds (not applied to `retry-after-ms`).
    pub min_delay: Duration,
    /// Cap of any poll delay.
    pub max_delay: Duration,
    /// Give up waiting for one operation after this long.
    pub deadline: Duration,
}

impl Default for LroPolicy {
    fn default() -> Self {
        LroPolicy {
            default_delay: Duration::from_secs(10),
            min_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(60),
            deadline: Duration::from_secs(2 * 3600),
        }
    }
}

impl LroPolicy {
    /// Poll every `every` when the server names no delay (`AZPROTECT_POLL_INTERVAL_MS`: the
    /// sandbox runs Azure's minutes in its time scale and, like Azure, sends no `Retry-After`);
    /// a `Retry-After` in seconds is not floored above it either.
    pub fn polling_every(self, every: Duration) -> Self {
        LroPolicy {
            default_delay: every,
            min_delay: self.min_delay.min(every),
            ..self
        }
    }

    /// No waiting between polls (tests); same deadline.
    pub fn immediate() -> Self {
        LroPolicy {
            default_delay: Duration::ZERO,
            min_delay: Duration::ZERO,
            max_delay: Duration::ZERO,
            ..Default::default()
        }
    }
}

/// How the operation is being followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PollKind {
    /// `Azure-AsyncOperation` status monitor.
    AsyncOperation,
    /// `Location` polling (202 until the final response).
    Location,
    /// GET the resource until `provisioningState` is terminal (also the final GET).
    ProvisioningState,
}

/// Where a polled operation stands.
#[derive(Debug, Clone, PartialEq)]
pub struct PollState {
    pub method: Method,
    pub kind: PollKind,
    /// The URL the next poll GETs.
    pub url: Url,
    /// The original request URL.
    pub original: Url,
    /// The first response's `Location`, kept for the final GET.
    pub location: Option<Url>,
}

/// Verdict on the first response.
#[derive(Debug, Clone, PartialEq)]
pub enum Start {
    /// Not an LRO (or already finished): use the response as is.
    Done,
    /// Poll `state.url` after `delay`.
    Poll {
        state: Box<PollState>,
        delay: Duration,
    },
}

/// Verdict on one poll response (2xx only; errors are the caller's).
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Still running: wait, then GET `state.url` again.
    Wait {
        delay: Duration,
        status: String,
        percent: Option<f64>,
    },
    /// Operation done; GET `state.url` now for the final result.
    Fetch,
    /// Finished with this final body.
    Done(Option<Value>),
    /// Finished as Failed / Canceled.
    Failed {
        status: String,
        code: String,
        message: String,
    },
}

/// A poll URL the client refuses to follow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LroError {
    #[error("the {header} URL '{url}' is not an absolute URL")]
    NotAbsolute { header: &'static str, url: String },
    #[error("refusing to send the token to the {header} URL on a different host or scheme than the ARM endpoint: {url}")]
    ForeignHost { header: &'static str, url: String },
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// Validate a polling / paging URL: absolute, https, same origin as ARM.
pub fn validate_url(raw: &str, header: &'static str, arm: &Url) -> Result<Url, LroError> {
    let url = Url::parse(raw).map_err(|_| LroError::NotAbsolute {
        header,
        url: raw.to_string(),
    })?;
    if url.scheme() != "https" || !same_origin(&url, arm) {
        return Err(LroError::ForeignHost {
            header,
            url: strip_query(&url),
        });
    }
    Ok(url)
}

/// A URL without its query (for logs and errors).
pub fn strip_query(url: &Url) -> String {
    let mut u = url.clone();
    u.set_query(None);
    u.set_fragment(None);
    u.to_string()
}

/// Provisioning-state terminal check (absent = terminal, per ARM).
fn provisioning_state(body: Option<&Value>) -> Option<&str> {
    body?.get("properties")?.get("provisioningState")?.as_str()
}

fn is_terminal(state: &str) -> bool {
    matches!(
        state.to_ascii_lowercase().as_str(),
        "succeeded" | "failed" | "canceled" | "cancelled" | "completed"
    )
}

/// Classify an operation status string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpStatus {
    InProgress,
    Succeeded,
    Failed,
    Canceled,
}

pub fn classify_status(s: &str) -> OpStatus {
    match s.trim().to_ascii_lowercase().as_str() {
        "succeeded" | "completed" | "success" => OpStatus::Succeeded,
        "failed" => OpStatus::Failed,
        "canceled" | "cancelled" => OpStatus::Canceled,
        _ => OpStatus::InProgress,
    }
}

/// Poll delay from a response's headers.
pub fn poll_delay(headers: &HeaderMap, now: SystemTime, policy: &LroPolicy) -> Duration {
    let exact_ms = ["retry-after-ms", "x-ms-retry-after-ms"]
        .iter()
        .any(|h| headers.contains_key(*h));
    let d = match server_retry_after(headers, now) {
        Some(d) if exact_ms => d,
        Some(d) => d.max(policy.min_delay),
        None => policy.default_delay,
    };
    d.min(policy.max_delay)
}

/// Decide whether a first response starts an LRO.
#[allow(clippy::too_many_arguments)]
pub fn start(
    method: Method,
    original: &Url,
    status: u16,
    headers: &HeaderMap,
    body: Option<&Value>,
    arm: &Url,
    now: SystemTime,
    policy: &LroPolicy,
) -> Result<Start, LroError> {
    if !(200..300).contains(&status) || status == 204 {
        return Ok(Start::Done);
    }
    let async_op = header(headers, "azure-asyncoperation")
        .map(|u| ("Azure-AsyncOperation", u))
        .or_else(|| header(headers, "operation-location").map(|u| ("Operation-Location", u)));
    let location = match header(headers, "location") {
        Some(l) if status != 200 => Some(validate_url(l, "Location", arm)?),
        _ => None,
    };
    let put_patch = matches!(method, Method::Put | Method::Patch);
    let state = |kind, url| PollState {
        method,
        kind,
        url,
        original: original.clone(),
        location: location.clone(),
    };
    let delay = poll_delay(headers, now, policy);
    if let Some((name, raw)) = async_op {
        let url = validate_url(raw, name, arm)?;
        return Ok(Start::Poll {
            state: Box::new(state(PollKind::AsyncOperation, url)),
            delay,
        });
    }
    if matches!(status, 201 | 202) {
        if let Some(loc) = location.clone() {
            return Ok(Start::Poll {
                state: Box::new(state(PollKind::Location, loc)),
                delay,
            });
        }
    }
    if put_patch && provisioning_state(body).is_some_and(|s| !is_terminal(s)) {
        return Ok(Start::Poll {
            state: Box::new(state(PollKind::ProvisioningState, original.clone())),
            delay,
        });
    }
    Ok(Start::Done)
}

/// Interpret one successful (2xx) poll response and advance `state`.
pub fn on_poll(
    state: &mut PollState,
    status: u16,
    headers: &HeaderMap,
    body: Option<&Value>,
    arm: &Url,
    now: SystemTime,
    policy: &LroPolicy,
) -> Result<Step, LroError> {
    let delay = poll_delay(headers, now, policy);
    let percent = body
        .and_then(|b| b.get("percentComplete"))
        .and_then(Value::as_f64);
    match state.kind {
        PollKind::AsyncOperation => {
            let text = body
                .and_then(|b| b.get("status"))
                .and_then(Value::as_str)
                .map(str::to_string);
            let op = match (&text, status) {
                (Some(t), _) => classify_status(t),
                (None, 202) => OpStatus::InProgress,
                (None, _) => OpStatus::Succeeded,
            };
            let text = text.unwrap_or_else(|| format!("HTTP {status}"));
            match op {
                OpStatus::InProgress => Ok(Step::Wait {
                    delay,
                    status: text,
                    percent,
                }),
                OpStatus::Failed | OpStatus::Canceled => Ok(failed(text, op, body)),
                OpStatus::Succeeded => Ok(after_success(state, body)),
            }
        }
        PollKind::Location => match status {
            202 => {
                if let Some(l) = header(headers, "location") {
                    state.url = validate_url(l, "Location", arm)?;
                }
                Ok(Step::Wait {
                    delay,
                    status: "InProgress".into(),
                    percent,
                })
            }
            204 if matches!(state.method, Method::Put | Method::Patch) => {
                state.kind = PollKind::ProvisioningState;
                state.url = state.original.clone();
                Ok(Step::Fetch)
            }
            _ => Ok(Step::Done(body.cloned())),
        },
        PollKind::ProvisioningState => {
            if status == 202 {
                return Ok(Step::Wait {
                    delay,
                    status: "Accepted".into(),
                    percent,
                });
            }
            match provisioning_state(body) {
                Some(s) if !is_terminal(s) => Ok(Step::Wait {
                    delay,
                    status: s.to_string(),
                    percent,
                }),
                Some(s) => match classify_status(s) {
                    op @ (OpStatus::Failed | OpStatus::Canceled) => {
                        Ok(failed(s.to_string(), op, body))
                    }
                    _ => Ok(Step::Done(body.cloned())),
                },
                None => Ok(Step::Done(body.cloned())),
            }
        }
    }
}

fn failed(status: String, op: OpStatus, body: Option<&Value>) -> Step {
    let parsed = body
        .and_then(|b| b.get("error").or_else(|| b.pointer("/properties/error")))
        .and_then(|e| parse_error_value(&serde_json::json!({ "error": e })));
    let default_code = if op == OpStatus::Canceled {
        "OperationCanceled"
    } else {
        "OperationFailed"
    };
    let (code, message) = match parsed {
        Some(p) => (
            p.code.unwrap_or_else(|| default_code.into()),
            p.message.unwrap_or_default(),
        ),
        None => (default_code.into(), String::new()),
    };
    let message = if message.is_empty() {
        "the operation reported no error details".into()
    } else {
        message
    };
    Step::Failed {
        status,
        code,
        message,
    }
}

fn after_success(state: &mut PollState, body: Option<&Value>) -> Step {
    match state.method {
        Method::Put | Method::Patch => {
            match state.location.clone() {
                Some(loc) => {
                    state.kind = PollKind::Location;
                    state.url = loc;
                }
                None => {
                    state.kind = PollKind::ProvisioningState;
                    state.url = state.original.clone();
                }
            }
            Step::Fetch
        }
        Method::Post => match state.location.clone() {
            Some(loc) => {
                state.kind = PollKind::Location;
                state.url = loc;
                Step::Fetch
            }
            None => Step::Done(body.and_then(|b| b.get("properties")).cloned()),
        },
        Method::Delete | Method::Get => Step::Done(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderName, HeaderValue};
    use serde_json::json;

    const ARM: &str = "https://management.azure.com";
    const PI: &str = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/v/backupFabrics/Azure/protectionContainers/c/protectedItems/vm;iaasvmcontainerv2;rg;vm1";

    fn arm() -> Url {
        Url::parse(ARM).unwrap()
    }
    fn orig(path: &str) -> Url {
        Url::parse(&format!("{ARM}{path}?api-version=2026-01-01")).unwrap()
    }
    fn hm(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(
                HeaderName::from_bytes(k.to_ascii_lowercase().as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }
    fn now() -> SystemTime {
        SystemTime::UNIX_EPOCH
    }
    fn start_of(
        method: Method,
        path: &str,
        status: u16,
        h: &HeaderMap,
        body: Option<Value>,
    ) -> Start {
        start(
            method,
            &orig(path),
            status,
            h,
            body.as_ref(),
            &arm(),
            now(),
            &LroPolicy::default(),
        )
        .unwrap()
    }
    fn poll_state(s: Start) -> (PollState, Duration) {
        match s {
            Start::Poll { state, delay } => (*state, delay),
            Start::Done => panic!("expected an LRO"),
        }
    }
    fn poll(st: &mut PollState, status: u16, h: &[(&str, &str)], body: Option<Value>) -> Step {
        on_poll(
            st,
            status,
            &hm(h),
            body.as_ref(),
            &arm(),
            now(),
            &LroPolicy::default(),
        )
        .unwrap()
    }

    #[test]
    fn recovery_services_protected_item_put() {
        let loc = "https://management.azure.com/Subscriptions/s/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/v/backupFabrics/Azure/protectionContainers/c/protectedItems/vm;iaasvmcontainerv2;rg;vm1/operationResults/op1?api-version=2016-12-01".to_string();
        let aso = loc.replace("operationResults", "operationsStatus");
        let h = hm(&[
            ("Location", &loc),
            ("Azure-AsyncOperation", &aso),
            ("Retry-After", "60"),
        ]);
        let (mut st, delay) = poll_state(start_of(Method::Put, PI, 202, &h, None));
        assert_eq!(st.kind, PollKind::AsyncOperation);
        assert_eq!(st.url.as_str(), aso);
        assert!(st.url.path().starts_with("/Subscriptions/"));
        assert_eq!(st.url.query(), Some("api-version=2016-12-01"));
        assert_eq!(delay, Duration::from_secs(60));
        let step = poll(
            &mut st,
            200,
            &[],
            Some(json!({"id":"op1","status":"InProgress"})),
        );
        assert!(matches!(step, Step::Wait { ref status, .. } if status == "InProgress"));
        let step = poll(
            &mut st,
            200,
            &[],
            Some(
                json!({"status":"Succeeded","properties":{"objectType":"OperationStatusJobExtendedInfo","jobId":"j"}}),
            ),
        );
        assert_eq!(step, Step::Fetch);
        assert_eq!(st.kind, PollKind::Location);
        assert_eq!(st.url.as_str(), loc);
        // operationResults: 202 while pending, then 200 with the protected item.
        assert!(matches!(poll(&mut st, 202, &[], None), Step::Wait { .. }));
        let item = json!({"id": PI, "properties": {"protectionState": "IRPending"}});
        assert_eq!(
            poll(&mut st, 200, &[], Some(item.clone())),
            Step::Done(Some(item))
        );
    }

    #[test]
    fn put_location_204_falls_back_to_original() {
        let loc = format!("{ARM}{PI}/operationResults/op1?api-version=2016-12-01");
        let aso = format!("{ARM}{PI}/operationsStatus/op1?api-version=2016-12-01");
        let h = hm(&[("Location", &loc), ("Azure-AsyncOperation", &aso)]);
        let (mut st, _) = poll_state(start_of(Method::Put, PI, 202, &h, None));
        assert_eq!(
            poll(&mut st, 200, &[], Some(json!({"status":"succeeded"}))),
            Step::Fetch
        );
        assert_eq!(poll(&mut st, 204, &[], None), Step::Fetch);
        assert_eq!(st.kind, PollKind::ProvisioningState);
        assert_eq!(st.url, orig(PI));
        let item = json!({"id": PI, "properties": {}});
        assert_eq!(
            poll(&mut st, 200, &[], Some(item.clone())),
            Step::Done(Some(item))
        );
    }

    #[test]
    fn recovery_services_protected_item_delete_vault_level() {
        let v = "/Subscriptions/s/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/v";
        let loc = format!("{ARM}{v}/backupOperationResults/op2?api-version=2016-12-01");
        let aso = format!("{ARM}{v}/backupOperations/op2?api-version=2016-12-01");
        let h = hm(&[
            ("Location", &loc),
            ("Azure-AsyncOperation", &aso),
            ("Retry-After", "60"),
        ]);
        let (mut st, _) = poll_state(start_of(Method::Delete, PI, 202, &h, None));
        assert_eq!(st.url.as_str(), aso);
        assert!(matches!(
            poll(&mut st, 200, &[], Some(json!({"status":"Running"}))),
            Step::Wait { .. }
        ));
        assert_eq!(
            poll(&mut st, 200, &[], Some(json!({"status":"Succeeded"}))),
            Step::Done(None)
        );
    }

    #[test]
    fn policy_put_202_and_refresh_containers_location_only() {
        let pol = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/v/backupPolicies/p";
        let loc = format!("{ARM}{pol}/operationResults/id?api-version=2016-12-01");
        let aso = format!("{ARM}{pol}/operations/id?api-version=2016-12-01");
        let (st, _) = poll_state(start_of(
            Method::Put,
            pol,
            202,
            &hm(&[("Location", &loc), ("Azure-AsyncOperation", &aso)]),
            None,
        ));
        assert_eq!(st.kind, PollKind::AsyncOperation);

        let rc = "/Subscriptions/s/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/v/backupFabrics/Azure/refreshContainers";
        let loc = format!("{ARM}/Subscriptions/s/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/v/backupFabrics/Azure/operationResults/op3?api-version=2016-12-01");
        let (mut st, _) = poll_state(start_of(
            Method::Post,
            rc,
            202,
            &hm(&[("Location", &loc), ("Retry-After", "60")]),
            None,
        ));
        assert_eq!(st.kind, PollKind::Location);
        assert!(
            matches!(poll(&mut st, 202, &[("Retry-After", "5")], None), Step::Wait { delay, .. } if delay == Duration::from_secs(5))
        );
        assert_eq!(poll(&mut st, 204, &[], None), Step::Done(None));
    }

    #[test]
    fn not_lro_cases() {
        let none = HeaderMap::new();
        assert_eq!(
            start_of(Method::Put, PI, 200, &none, Some(json!({}))),
            Start::Done
        );
        assert_eq!(
            start_of(
                Method::Put,
                PI,
                201,
                &none,
                Some(json!({"properties":{"provisioningState":"Succeeded"}}))
            ),
            Start::Done
        );
        assert_eq!(start_of(Method::Delete, PI, 204, &none, None), Start::Done);
        assert_eq!(start_of(Method::Put, PI, 202, &none, None), Start::Done);
        assert_eq!(start_of(Method::Get, PI, 404, &none, None), Start::Done);
        // 200 + Location (not allowed by RPC, ignored).
        let h = hm(&[("Location", &format!("{ARM}/x"))]);
        assert_eq!(start_of(Method::Put, PI, 200, &h, None), Start::Done);
    }

    #[test]
    fn legacy_200_with_async_operation() {
        let h = hm(&[("Azure-AsyncOperation", &format!("{ARM}/op?api-version=1"))]);
        let (st, _) = poll_state(start_of(Method::Put, PI, 200, &h, None));
        assert_eq!(st.kind, PollKind::AsyncOperation);
    }

    #[test]
    fn provisioning_state_polling() {
        let none = HeaderMap::new();
        let (mut st, delay) = poll_state(start_of(
            Method::Put,
            PI,
            201,
            &none,
            Some(json!({"properties":{"provisioningState":"Creating"}})),
        ));
        assert_eq!(delay, Duration::from_secs(10));
        assert_eq!(st.kind, PollKind::ProvisioningState);
        assert!(matches!(
            poll(
                &mut st,
                200,
                &[],
                Some(json!({"properties":{"provisioningState":"Updating"}}))
            ),
            Step::Wait { .. }
        ));
        let step = poll(
            &mut st,
            200,
            &[],
            Some(
                json!({"properties":{"provisioningState":"Failed","error":{"code":"X","message":"y"}}}),
            ),
        );
        assert_eq!(
            step,
            Step::Failed {
                status: "Failed".into(),
                code: "X".into(),
                message: "y".into()
            }
        );
    }

    #[test]
    fn status_strings() {
        for s in [
            "InProgress",
            "Inprogress",
            "inprogress",
            "Running",
            "Accepted",
            "Creating",
            "Updating",
            "Pending",
            "Whatever",
        ] {
            assert_eq!(classify_status(s), OpStatus::InProgress, "{s}");
        }
        for s in ["Succeeded", "succeeded", "SUCCEEDED", "Completed"] {
            assert_eq!(classify_status(s), OpStatus::Succeeded, "{s}");
        }
        assert_eq!(classify_status("Failed"), OpStatus::Failed);
        assert_eq!(classify_status("Canceled"), OpStatus::Canceled);
        assert_eq!(classify_status("Cancelled"), OpStatus::Canceled);
    }

    #[test]
    fn failed_and_canceled_operations() {
        let aso = format!("{ARM}/op?api-version=1");
        let h = hm(&[("Azure-AsyncOperation", &aso)]);
        let (mut st, _) = poll_state(start_of(Method::Put, PI, 201, &h, None));
        let step = poll(
            &mut st,
            200,
            &[],
            Some(
                json!({"status":"Failed","error":{"code":"UserErrorVmNotFound","message":"gone"}}),
            ),
        );
        assert_eq!(
            step,
            Step::Failed {
                status: "Failed".into(),
                code: "UserErrorVmNotFound".into(),
                message: "gone".into()
            }
        );
        let step = poll(&mut st, 200, &[], Some(json!({"status":"Cancelled"})));
        assert!(matches!(step, Step::Failed { ref code, .. } if code == "OperationCanceled"));
        let step = poll(
            &mut st,
            200,
            &[],
            Some(json!({"status":"Failed","error":{}})),
        );
        assert!(
            matches!(step, Step::Failed { ref code, ref message, .. } if code == "OperationFailed" && !message.is_empty())
        );
    }

    #[test]
    fn post_results() {
        let aso = format!("{ARM}/op?api-version=1");
        let h = hm(&[("Azure-AsyncOperation", &aso)]);
        let (mut st, _) = poll_state(start_of(Method::Post, "/x/backup", 202, &h, None));
        let step = poll(
            &mut st,
            200,
            &[],
            Some(json!({"status":"Succeeded","properties":{"jobId":"j"}})),
        );
        assert_eq!(step, Step::Done(Some(json!({"jobId":"j"}))));
        let loc = format!("{ARM}/res?api-version=1");
        let h = hm(&[("Azure-AsyncOperation", &aso), ("Location", &loc)]);
        let (mut st, _) = poll_state(start_of(Method::Post, "/x/backup", 202, &h, None));
        assert_eq!(
            poll(&mut st, 200, &[], Some(json!({"status":"Succeeded"}))),
            Step::Fetch
        );
        assert_eq!(st.url.as_str(), loc);
        assert_eq!(
            poll(&mut st, 200, &[], Some(json!({"r":1}))),
            Step::Done(Some(json!({"r":1})))
        );
    }

    #[test]
    fn status_monitor_without_status_field() {
        let aso = format!("{ARM}/op?api-version=1");
        let h = hm(&[("Azure-AsyncOperation", &aso)]);
        let (mut st, _) = poll_state(start_of(Method::Delete, PI, 202, &h, None));
        assert!(matches!(poll(&mut st, 202, &[], None), Step::Wait { .. }));
        assert_eq!(poll(&mut st, 204, &[], None), Step::Done(None));
    }

    #[test]
    fn foreign_and_relative_urls_rejected() {
        let bad = [
            ("Azure-AsyncOperation", "https://evil.example.com/op"),
            ("Azure-AsyncOperation", "http://management.azure.com/op"),
            (
                "Azure-AsyncOperation",
                "https://management.azure.com:444/op",
            ),
            ("Location", "https://attacker.net/Subscriptions/s"),
            ("Location", "/subscriptions/s/op"),
        ];
        for (name, url) in bad {
            let r = start(
                Method::Put,
                &orig(PI),
                202,
                &hm(&[(name, url)]),
                None,
                &arm(),
                now(),
                &LroPolicy::default(),
            );
            assert!(r.is_err(), "{name}: {url}");
        }
        // Host compared case-insensitively.
        let h = hm(&[(
            "Azure-AsyncOperation",
            "https://MANAGEMENT.AZURE.COM/Subscriptions/s/op?api-version=2016-12-01",
        )]);
        assert!(matches!(
            start_of(Method::Put, PI, 202, &h, None),
            Start::Poll { .. }
        ));
        // A new Location on a foreign host mid-poll is refused too.
        let h = hm(&[("Location", &format!("{ARM}/op"))]);
        let (mut st, _) = poll_state(start_of(Method::Post, "/x", 202, &h, None));
        let r = on_poll(
            &mut st,
            202,
            &hm(&[("Location", "https://evil.example.com/op")]),
            None,
            &arm(),
            now(),
            &LroPolicy::default(),
        );
        assert!(matches!(r, Err(LroError::ForeignHost { .. })));
    }

    #[test]
    fn delays() {
        let p = LroPolicy::default();
        assert_eq!(
            poll_delay(&hm(&[("retry-after-ms", "15")]), now(), &p),
            Duration::from_millis(15)
        );
        assert_eq!(
            poll_delay(&hm(&[("Retry-After", "0")]), now(), &p),
            Duration::from_secs(1)
        );
        assert_eq!(
            poll_delay(&hm(&[("Retry-After", "600")]), now(), &p),
            Duration::from_secs(60)
        );
        assert_eq!(
            poll_delay(&HeaderMap::new(), now(), &p),
            Duration::from_secs(10)
        );
        assert_eq!(
            poll_delay(
                &hm(&[("Retry-After", "60")]),
                now(),
                &LroPolicy::immediate()
            ),
            Duration::ZERO
        );
    }

    #[test]
    fn percent_reported() {
        let aso = format!("{ARM}/op?api-version=1");
        let (mut st, _) = poll_state(start_of(
            Method::Put,
            PI,
            202,
            &hm(&[("Azure-AsyncOperation", &aso)]),
            None,
        ));
        let step = poll(
            &mut st,
            200,
            &[],
            Some(json!({"status":"InProgress","percentComplete":42.5})),
        );
        assert!(matches!(step, Step::Wait { percent: Some(p), .. } if p == 42.5));
    }
}
