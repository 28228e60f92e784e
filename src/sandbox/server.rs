//! The HTTPS server: one service function that applies the ARM pipeline (request ids, latency,
//! faults, authentication, throttling, api-version) and routes on `(method, path segments)` to the
//! per-provider handler files; what those files share is in `handler.rs`.

use std::collections::HashMap;
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::body::Body;
use axum::http::{HeaderValue, Request, Response, StatusCode};
use serde_json::json;

use super::errors::ArmError;
use super::faults::{Fault, Faults};
use super::handler::{require_rg, Ctx, HResult, Reply};
use super::state::{Persist, State};
use super::throttle::{Kind, Throttle};
use super::{auth, lro};

/// Shared server state.
pub struct App {
    pub state: Mutex<State>,
    pub persist: Persist,
    pub base: String,
    pub time_scale: f64,
    /// `--strict-api-versions`: refuse api-versions newer than the newest a provider lists.
    pub strict_api_versions: bool,
    pub latency: Option<super::latency::Sampler>,
    pub faults: Option<Faults>,
    pub throttle: Option<Throttle>,
    /// Resource Graph's per-user quota (on with `throttle`; `resource_graph::quota`).
    pub graph_quota: Option<super::resource_graph::quota::Quota>,
    pub access_log: Option<Mutex<std::fs::File>>,
    /// Page size of the other lists (resource groups, vaults, Site Recovery, role assignments).
    pub page_size: AtomicUsize,
    /// Page size of Microsoft.Compute's lists (VMs, disks, snapshots): 50, as users have seen
    /// Azure page a resource group's VMs since 2018 (Azure/azure-powershell pull request 7292:
    /// `Get-AzureRmVM -ResourceGroupName` "is only returning 50 results even if there are more
    /// than 50 vms in an RG"; issue 7321, closed by the fix that follows `nextLink`) and its
    /// managed disks (Azure/migAz issue 196: 50 of a group's 56). No recording or spec says.
    pub compute_page_size: AtomicUsize,
    /// Page size of backup lists (Azure: at most 200).
    pub backup_page_size: AtomicUsize,
    /// Page size of a subscription's resource groups: about 480 — recorded first pages of
    /// 490, 489 and 483–489 groups, then the rest (Azure/azure-cli `appservice`
    /// test_functionapp_workloadprofiles.yaml #80–#81, api 2022-09-01, and acr
    /// test_acr_create_function_app.yaml; the `$skiptoken` is a Cosmos continuation, so Azure's
    /// count is not fixed).
    pub group_page_size: AtomicUsize,
    /// Page size of the lists Azure answers whole: `GET /subscriptions` (237 in one answer,
    /// azure-cli-extensions machinelearningservices test_virtual_cluster.yaml #0) and role
    /// assignments (2,176 in one answer without `nextLink`, azure-cli-extensions aks-preview
    /// test_aks_create_and_update_with_http_proxy_config.yaml #26; the REST reference: `$skipToken`
    /// "only supported on provider level calls"). Unbounded unless a test sets it.
    pub whole_page_size: AtomicUsize,
    /// Set when a mutation has not been written yet (large states, see `persist_after_mutation`).
    pub dirty: AtomicBool,
    /// How long the last save took, in microseconds.
    pub last_save_us: AtomicU64,
    /// Rendered JSON of inventory VMs (read-only once seeded), by state key: large VM lists are
    /// served by joining these instead of building and serializing a JSON tree per page.
    pub vm_json: Mutex<HashMap<String, Arc<str>>>,
    /// Resource Graph's packed VMs (`summarize make_list(pack(…))`), by state key: the
    /// expression and the JSON it gave the VM. Dropped with the VM's `vm_json` entry — Resource
    /// Graph answers from an index, not by rendering every VM for every query.
    pub graph_packed: Mutex<HashMap<String, (String, Arc<str>)>>,
    /// The bearer token last accepted (`auth::Accepted`).
    pub accepted: auth::Accepted,
    /// Bumped by every request that changed the state: what an answer kept for later
    /// (`resource_graph::evaluated`) was computed from.
    pub generation: AtomicU64,
    /// Resource Graph's last evaluated query, for its next pages.
    pub graph_answered: super::resource_graph::evaluated::Answered,
    /// The most bytes a Resource Graph answer may have (`resource_graph::PAYLOAD_LIMIT`).
    pub graph_payload_limit: AtomicUsize,
    /// Requests answered so far: the flusher waits for a moment without any ([`quiet`]).
    pub answered: AtomicU64,
    /// The [`generation`](Self::generation) of the state the file holds.
    pub written: Mutex<u64>,
}

/// Saves slower than this are batched by the background flusher instead of delaying answers
/// (every answer waits for the state lock a save holds: a 2,000-VM state takes ~10 ms to
/// serialize, which would cap the sandbox near 100 mutations per second).
const SLOW_SAVE_US: u64 = 2_000;

impl App {
    /// Save after a mutation: synchronously when saving is cheap (the usual case), otherwise mark
    /// the state dirty for the flusher (`flush_dirty`, paced by [`flush_pause`]) so that a
    /// 10,000-VM state does not cost a full rewrite per request.
    pub fn persist_after_mutation(&self, st: &State) {
        if self.persist.path.is_none() {
            return;
        }
        if self.last_save_us.load(Ordering::Relaxed) > SLOW_SAVE_US {
            self.dirty.store(true, Ordering::Relaxed);
            return;
        }
        self.save_now(st);
    }

    pub fn save_now(&self, st: &State) {
        if self.persist.path.is_none() {
            return;
        }
        let t = Instant::now();
        let generation = self.generation.load(Ordering::Relaxed);
        if self.saved(t, self.write(generation, serde_json::to_vec(st))) {
            self.dirty.store(false, Ordering::Relaxed);
        }
    }

    /// Write the state if a mutation is pending: serialized under the lock, written outside it.
    pub fn flush_dirty(&self) {
        if !self.dirty.load(Ordering::Relaxed) {
            return;
        }
        let t = Instant::now();
        let (generation, bytes) = match self.state.lock() {
            Ok(st) => {
                self.dirty.store(false, Ordering::Relaxed);
                (
                    self.generation.load(Ordering::Relaxed),
                    serde_json::to_vec(&*st),
                )
            }
            Err(_) => return,
        };
        if !self.saved(t, self.write(generation, bytes)) {
            self.dirty.store(true, Ordering::Relaxed);
        }
    }

    /// Whether a save begun at `started` succeeded: how long it took is kept (it paces the
    /// next ones: [`flush_pause`]); a failure is logged.
    fn saved(&self, started: Instant, result: Result<(), super::SandboxError>) -> bool {
        match result {
            Ok(()) => {
                self.last_save_us
                    .store(started.elapsed().as_micros() as u64, Ordering::Relaxed);
                true
            }
            Err(e) => {
                tracing::error!("sandbox: saving state failed: {e}");
                false
            }
        }
    }

    /// Write `bytes`, the state as of `generation`, unless the file holds a later one already:
    /// the flusher's write (serialized under the state lock, written after it) and the save on
    /// the way out may overlap, and the older must not land last.
    fn write(
        &self,
        generation: u64,
        bytes: serde_json::Result<Vec<u8>>,
    ) -> Result<(), super::SandboxError> {
        let bytes = bytes.map_err(|e| super::SandboxError::Io(e.to_string()))?;
        let mut written = self.written.lock().unwrap_or_else(|p| p.into_inner());
        if generation < *written {
            return Ok(());
        }
        self.persist.write(&bytes)?;
        *written = generation;
        Ok(())
    }
}

/// How long the flusher waits before its next write: 250 ms, or ten times the last save when
/// that is longer, so that a large state (100,000 protected VMs serialize in about a second,
/// under the state lock) holds the lock at most a tenth of the time instead of most of it.
pub fn flush_pause(app: &App) -> std::time::Duration {
    let last = std::time::Duration::from_micros(app.last_save_us.load(Ordering::Relaxed));
    std::time::Duration::from_millis(250).max(last * 10)
}

/// How long no request must be answered before the flusher writes ([`quiet`]).
const QUIET: std::time::Duration = std::time::Duration::from_millis(100);
/// The longest the flusher defers a write while requests keep coming.
const MOST_DEFERRED: std::time::Duration = std::time::Duration::from_secs(10);

/// Wait for a moment without requests ([`QUIET`]), or [`MOST_DEFERRED`] at most: a write
/// serializes the state under its lock, which would hold up every request of a busy client (an
/// apply's burst) — Azure does not pause to save. What is not yet written when the sandbox is
/// stopped (Ctrl-C, SIGTERM) is written on the way out. `answered` counts the requests.
pub async fn quiet(answered: &AtomicU64) {
    let deadline = tokio::time::Instant::now() + MOST_DEFERRED;
    loop {
        let before = answered.load(Ordering::Relaxed);
        tokio::time::sleep(QUIET).await;
        if answered.load(Ordering::Relaxed) == before || tokio::time::Instant::now() >= deadline {
            return;
        }
    }
}

/// The error returned to hyper to close a connection without answering.
#[derive(Debug)]
pub struct Dropped;
impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by fault injection")
    }
}
impl std::error::Error for Dropped {}

fn pct_decode(s: &str) -> String {
    fn hex(c: u8) -> Option<u8> {
        (c as char).to_digit(16).map(|d| d as u8)
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push(h * 16 + l);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn routing_id(request_id: &str) -> String {
    let t = time::OffsetDateTime::now_utc();
    format!(
        "WESTEUROPE:{:04}{:02}{:02}T{:02}{:02}{:02}Z:{request_id}",
        t.year(),
        t.month() as u8,
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Handle one request. `Err` closes the connection without an answer.
pub async fn handle(
    app: Arc<App>,
    req: Request<axum::body::Body>,
) -> Result<Response<Body>, Dropped> {
    let started = Instant::now();
    let (parts, body) = req.into_parts();
    let method = parts.method.as_str().to_ascii_uppercase();
    let raw_path = parts.uri.path().to_string();
    let raw_query = parts.uri.query().unwrap_or("").to_string();
    let header = |k: &str| {
        parts
            .headers
            .get(k)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.to_string())
    };
    let request_id = uuid::Uuid::new_v4().to_string();
    let correlation = header("x-ms-correlation-request-id").unwrap_or_else(|| request_id.clone());
    let client_request_id = header("x-ms-client-request-id");
    let authorization = header("authorization");
    let url_length = parts.uri.path_and_query().map_or(0, |p| p.as_str().len());
    let header_bytes: usize = parts
        .headers
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 4)
        .sum();
    let (body, too_large) = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(b) => (b, false),
        Err(_) => (bytes_empty(), true),
    };
    if let Some(l) = &app.latency {
        tokio::time::sleep(l.next()).await;
    }

    let segs: Vec<String> = raw_path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(pct_decode)
        .collect();
    let lsegs: Vec<String> = segs.iter().map(|s| s.to_ascii_lowercase()).collect();
    let mut query = HashMap::new();
    for (k, v) in url::form_urlencoded::parse(raw_query.as_bytes()) {
        query.insert(k.to_ascii_lowercase(), v.into_owned());
    }
    let now = lro::now_ms();

    let mut extra_headers: Vec<(String, String)> = Vec::new();
    let mut arm_route = false;
    let result: Result<Reply, ArmError> = 'done: {
        if too_large {
            // Not an empty body: a body the server would not read. UNCONFIRMED: ARM's code.
            break 'done Err(ArmError::new(
                413,
                "RequestEntityTooLarge",
                format!(
                    "The request content exceeds the maximum size of {} MB.",
                    MAX_BODY / (1024 * 1024)
                ),
            ));
        }
        // Below hyper's own limits (a 64 KB URL, 400 KB of head), which answer with no body.
        // UNCONFIRMED: the codes, and the limits (HTTP.sys's defaults, MaxFieldLength and
        // MaxRequestBytes, 16 KB each).
        if url_length > MAX_URL {
            break 'done Err(ArmError::new(
                414,
                "RequestUriTooLong",
                format!("The request URL is {url_length} characters long; at most {MAX_URL} are accepted."),
            ));
        }
        if header_bytes > MAX_HEADERS {
            break 'done Err(ArmError::new(
                431,
                "RequestHeaderFieldsTooLarge",
                format!("The request headers are {header_bytes} bytes long; at most {MAX_HEADERS} are accepted."),
            ));
        }
        // Entra ID routes: /{tenant}/oauth2/v2.0/token, /{tenant}/v2.0/.well-known/openid-configuration
        if lsegs.len() == 4 && lsegs[1] == "oauth2" && lsegs[2] == "v2.0" && lsegs[3] == "token" {
            if method != "POST" {
                break 'done Err(ArmError::method_not_allowed(&method));
            }
            let ident = match app.state.lock() {
                Ok(st) => st.identity.clone(),
                Err(_) => break 'done Err(ArmError::internal("state lock poisoned")),
            };
            break 'done auth::token(&ident, &segs[0], &body, now / 1000).map(Reply::ok);
        }
        if lsegs.len() == 4
            && lsegs[1] == "v2.0"
            && lsegs[2] == ".well-known"
            && lsegs[3] == "openid-configuration"
        {
            break 'done Ok(Reply::ok(auth::openid_configuration(&app.base, &segs[0])));
        }
        if lsegs.len() == 4 && lsegs[1] == "discovery" && lsegs[2] == "v2.0" && lsegs[3] == "keys" {
            break 'done Ok(Reply::ok(json!({"keys": []})));
        }

        // ARM pipeline.
        arm_route = true;
        // Resource Graph answers with its own quota headers, not ARM's buckets (recorded answer:
        // azure-cli-extensions/test_dataprotection_backup_instance_restore_disk.yaml).
        let graph =
            lsegs.len() > 1 && lsegs[0] == "providers" && lsegs[1] == "microsoft.resourcegraph";
        if let Some(f) = &app.faults {
            if graph && f.next_graph_query_fails() {
                break 'done Err(super::faults::fault_error(503, app.time_scale));
            }
            match f.next_request() {
                Fault::None => {}
                Fault::Drop => {
                    log_access(&app, &method, &raw_path, 0, started, &request_id);
                    return Err(Dropped);
                }
                Fault::Status(s) => break 'done Err(super::faults::fault_error(s, app.time_scale)),
            }
        }
        let ident = match app.state.lock() {
            Ok(st) => st.identity.clone(),
            Err(_) => break 'done Err(ArmError::internal("state lock poisoned")),
        };
        let bearer = authorization.as_deref();
        if let Err(e) = (app.accepted).check(&ident, bearer, now / 1000, &app.base) {
            break 'done Err(e);
        }
        if let Some(t) = app.throttle.as_ref().filter(|_| !graph) {
            let sub =
                if lsegs.first().map(|s| s.as_str()) == Some("subscriptions") && lsegs.len() > 1 {
                    lsegs[1].clone()
                } else {
                    ident.tenant_id.clone()
                };
            match t.take(&sub, Kind::of(&method), app.time_scale) {
                Ok(h) => extra_headers.extend(h),
                Err(e) => break 'done Err(super::throttle::for_route(e, &method, &lsegs)),
            }
        }
        let Some(api_version) = query.get("api-version").cloned() else {
            break 'done Err(ArmError::bad_request(
                "MissingApiVersionParameter",
                "The api-version query parameter (?api-version=) is required for all requests.",
            ));
        };
        let ctx = Ctx {
            method: method.clone(),
            segs,
            lsegs,
            raw_path: raw_path.clone(),
            query,
            body: &body,
            base: &app.base,
            api_version,
            now,
            app: &app,
        };
        let mut st = match app.state.lock() {
            Ok(st) => st,
            Err(_) => break 'done Err(ArmError::internal("state lock poisoned")),
        };
        let r = dispatch(&ctx, &mut st);
        if let Ok(reply) = &r {
            if reply.mutated {
                app.generation.fetch_add(1, Ordering::Relaxed);
                app.persist_after_mutation(&st);
            }
        }
        r
    };

    let (status, mut headers, body) = match result {
        Ok(r) => (
            r.status,
            r.headers,
            r.raw.or_else(|| r.body.map(|b| b.to_string())),
        ),
        Err(e) => (e.status, e.headers.clone(), Some(e.body().to_string())),
    };
    headers.extend(extra_headers);
    let body = match (&app.faults, body) {
        (Some(f), Some(b)) if arm_route && status < 300 => Some(f.maybe_garble(b)),
        (_, b) => b,
    };
    let has_body = body.is_some();
    let mut resp = Response::new(match body {
        Some(b) => Body::from(b),
        None => Body::empty(),
    });
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let h = resp.headers_mut();
    let mut put = |k: &str, v: &str| {
        if let (Ok(name), Ok(val)) = (
            axum::http::HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_str(v),
        ) {
            h.append(name, val);
        }
    };
    if has_body {
        put("content-type", "application/json; charset=utf-8");
    }
    put("cache-control", "no-cache");
    put("pragma", "no-cache");
    put("expires", "-1");
    put("x-content-type-options", "nosniff");
    put(
        "strict-transport-security",
        "max-age=31536000; includeSubDomains",
    );
    // A handler may name the request itself (Site Recovery polling answers carry the job id).
    if !headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("x-ms-request-id"))
    {
        put("x-ms-request-id", &request_id);
    }
    put("x-ms-correlation-request-id", &correlation);
    put("x-ms-routing-request-id", &routing_id(&request_id));
    if let Some(c) = &client_request_id {
        // Recovery Services echoes the client request id twice (two header values; observed in
        // Azure PowerShell debug traces as "<id>,<id>").
        if raw_path
            .to_ascii_lowercase()
            .contains("/microsoft.recoveryservices/")
        {
            put("x-ms-client-request-id", c);
            put("x-ms-client-request-id", c);
        } else {
            put("x-ms-client-request-id", c);
        }
    }
    for (k, v) in &headers {
        put(k, v);
    }
    log_access(&app, &method, &raw_path, status, started, &request_id);
    Ok(resp)
}

/// The largest request body read.
const MAX_BODY: usize = 16 * 1024 * 1024;
/// The longest URL (path and query) answered.
const MAX_URL: usize = 16 * 1024;
/// The most header bytes answered (names, values, separators).
const MAX_HEADERS: usize = 16 * 1024;

fn bytes_empty() -> axum::body::Bytes {
    axum::body::Bytes::new()
}

fn log_access(
    app: &App,
    method: &str,
    path: &str,
    status: u16,
    started: Instant,
    request_id: &str,
) {
    app.answered.fetch_add(1, Ordering::Relaxed);
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    tracing::debug!(target: "azprotect::sandbox", %method, %path, status, duration_ms = ms, "request");
    if let Some(f) = &app.access_log {
        let line = json!({
            "time": lro::fmt_time(lro::now_ms()),
            "method": method,
            "path": path,
            "status": status,
            "duration_ms": (ms * 1000.0).round() / 1000.0,
            "request_id": request_id,
        });
        // One write per line: readers (the bench) see whole lines while the sandbox runs.
        let mut text = line.to_string();
        text.push('\n');
        if let Ok(mut f) = f.lock() {
            let _ = f.write_all(text.as_bytes());
        }
    }
}

/// Route an ARM request.
/// ARM checks the tags of every resource it is asked to write, whatever the provider
/// (`model::tags`). UNCONFIRMED: the codes besides `InvalidTagNameCharacters` (README "Known to
/// differ").
fn check_tags(ctx: &Ctx<'_>) -> Result<(), ArmError> {
    let Ok(body) = serde_json::from_slice::<serde_json::Value>(ctx.body) else {
        return Ok(());
    };
    match body.get("tags") {
        Some(t) if t.is_object() => check_tag_set(t),
        _ => Ok(()),
    }
}

/// Azure's rules on one resource's tags (`model::tags`).
pub(super) fn check_tag_set(set: &serde_json::Value) -> Result<(), ArmError> {
    use crate::model::tags;
    let Some(t) = set.as_object() else {
        return Ok(());
    };
    for (k, v) in t {
        if let Some(why) = tags::name_problem(k) {
            let code = if k.chars().count() > tags::MAX_NAME_CHARS {
                "InvalidTagNameLength"
            } else {
                "InvalidTagNameCharacters"
            };
            return Err(ArmError::bad_request(
                code,
                format!("The tag names '{k}' are not valid: {why}."),
            ));
        }
        if let Some(why) = v.as_str().and_then(tags::value_problem) {
            return Err(ArmError::bad_request(
                "InvalidTagValueLength",
                format!("The value of tag '{k}' is not valid: {why}."),
            ));
        }
    }
    if let Some(why) = tags::count_problem(tags::merged_count([set])) {
        return Err(ArmError::bad_request(
            "InvalidTagsCount",
            format!("The tags are not valid: {why}."),
        ));
    }
    Ok(())
}

fn dispatch(ctx: &Ctx<'_>, st: &mut State) -> HResult {
    // What finished restore jobs leave is in place before anything reads it.
    super::protection::restore::land(st, ctx.now);
    let l = &ctx.lsegs;
    if l.first().map(|s| s.as_str()) == Some("providers") {
        match l.get(1).map(|s| s.as_str()) {
            Some("microsoft.management") => return super::management_groups::route(ctx, st),
            Some("microsoft.resourcegraph") => return super::resource_graph::route(ctx, st),
            _ => {}
        }
    }
    if l.first().map(|s| s.as_str()) != Some("subscriptions") {
        return Err(ArmError::no_route(&ctx.raw_path));
    }
    if l.len() >= 2 && !st.subscription_known(&ctx.segs[1]) && l.len() > 1 {
        // Resource group and resource routes under an unknown subscription.
        return Err(ArmError::subscription_not_found(&ctx.segs[1]));
    }
    if l.len() >= 2 && !st.tenancy.readable(&ctx.segs[1]) {
        return Err(super::tenancy::no_role(ctx, st));
    }
    // Provider namespace: /subscriptions/{s}/providers/{ns}/... or .../resourceGroups/{rg}/providers/{ns}/...
    let ns = if l.len() > 2 && l[2] == "providers" {
        l.get(3).cloned()
    } else if l.len() > 4 && l[2] == "resourcegroups" && l[4] == "providers" {
        l.get(5).cloned()
    } else {
        None
    };
    if let Some(at) = super::tags::provider_index(l) {
        return super::tags::route(ctx, st, at);
    }
    if let Some(p) = super::authorization::provider_index(l) {
        return super::authorization::route(ctx, st, p);
    }
    if matches!(ctx.method.as_str(), "PUT" | "PATCH") {
        check_tags(ctx)?;
    }
    match ns.as_deref() {
        None => super::resources::route(ctx, st),
        Some("microsoft.compute") => {
            if let Some(r) = super::snapshots::route(ctx, st) {
                return r;
            }
            super::compute::route(ctx, st)
        }
        Some("microsoft.dataprotection") => super::data_protection::route(ctx, st),
        Some("microsoft.recoveryservices") => {
            if let Some(e) = super::protection::crr::region_down(ctx, st) {
                return Err(e);
            }
            if let Some(r) = super::vaults::route(ctx, st) {
                return r;
            }
            if let Some(r) = super::site_recovery::route(ctx, st) {
                return r;
            }
            if let Some(r) = super::backup::route(ctx, st) {
                return r;
            }
            super::protection::route(ctx, st)
        }
        Some("microsoft.network") => match super::network::route(ctx, st) {
            Some(r) => r,
            None => generic_get(ctx, st),
        },
        Some("microsoft.storage") | Some("microsoft.automation") => generic_get(ctx, st),
        Some(_) => Err(ArmError::not_found(
            "InvalidResourceNamespace",
            format!(
                "The resource namespace '{}' is invalid or not modelled by the sandbox.",
                ctx.segs
                    .get(if l[2] == "providers" { 3 } else { 5 })
                    .cloned()
                    .unwrap_or_default()
            ),
        )),
    }
}

/// Read-only inventory resources (virtual networks, storage accounts, automation accounts).
fn generic_get(ctx: &Ctx<'_>, st: &State) -> HResult {
    if ctx.method != "GET" {
        return Err(ArmError::bad_request(
            "OperationNotAllowed",
            "The sandbox models this resource type read-only, from its inventory.",
        ));
    }
    ctx.require_well_formed_api()?;
    let l = &ctx.lsegs;
    if l.len() >= 4 && l[2] == "resourcegroups" {
        require_rg(st, &ctx.segs[1], &ctx.segs[3])?;
    }
    let id = format!("/{}", ctx.lsegs.join("/"));
    match st.resources.get(&id) {
        Some(r) => {
            let mut b = json!({
                "id": r.id, "name": r.name, "type": r.rtype, "location": r.location, "tags": {},
                "properties": r.properties,
            });
            // A storage account names its kind and SKU at the top level (Storage spec
            // StorageAccount): the inventory's accounts are standard general-purpose v2.
            if r.rtype
                .eq_ignore_ascii_case("Microsoft.Storage/storageAccounts")
            {
                b["kind"] = r.properties["kind"].clone();
                b["sku"] = json!({"name": "Standard_LRS", "tier": "Standard"});
            }
            Ok(Reply::ok(b))
        }
        None if l.len() == 8 && l[2] == "resourcegroups" => Err(ArmError::resource_not_found(
            &format!("{}/{}", ctx.segs[5], ctx.segs[6]),
            &ctx.segs[3],
            &ctx.segs[7],
        )),
        None => Err(ArmError::no_route(&ctx.raw_path)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding() {
        assert_eq!(
            pct_decode("vm%3Biaasvmcontainerv2%3brg"),
            "vm;iaasvmcontainerv2;rg"
        );
        assert_eq!(pct_decode("a%zz%4"), "a%zz%4");
        assert_eq!(pct_decode("%e2%82%ac"), "€");
    }

    #[tokio::test(start_paused = true)]
    async fn a_large_state_is_written_in_a_quiet_moment_or_after_ten_seconds_of_requests() {
        let answered = Arc::new(AtomicU64::new(0));
        // No request meanwhile: written after one quiet window.
        let t = tokio::time::Instant::now();
        quiet(&answered).await;
        assert_eq!(t.elapsed(), QUIET);
        // Requests for a while, then none: written once they stop.
        let busy = |until: std::time::Duration| {
            let answered = answered.clone();
            tokio::spawn(async move {
                let end = tokio::time::Instant::now() + until;
                while tokio::time::Instant::now() < end {
                    answered.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                }
            })
        };
        let t = tokio::time::Instant::now();
        let stops = busy(std::time::Duration::from_millis(1_000));
        quiet(&answered).await;
        assert!(
            t.elapsed() > std::time::Duration::from_millis(1_000),
            "{:?}",
            t.elapsed()
        );
        assert!(
            t.elapsed() <= std::time::Duration::from_millis(1_200),
            "{:?}",
            t.elapsed()
        );
        stops.await.unwrap();
        // Requests without end: written after the longest deferral all the same.
        let t = tokio::time::Instant::now();
        let endless = busy(std::time::Duration::from_secs(3_600));
        quiet(&answered).await;
        assert!(t.elapsed() >= MOST_DEFERRED && t.elapsed() < MOST_DEFERRED + QUIET * 2);
        endless.abort();
    }
}
