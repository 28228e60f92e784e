//! The HTTPS server: one service function that applies the ARM pipeline (request ids, latency,
//! faults, authentication, throttling, api-version) and routes on `(method, path segments)` to the
//! per-provider handler files. Also the request context, replies and paging helpers they share.

use std::collections::HashMap;
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::body::Body;
use axum::http::{HeaderValue, Request, Response, StatusCode};
use serde_json::{json, Value};

use super::errors::ArmError;
use super::faults::{Fault, Faults};
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
    pub access_log: Option<Mutex<std::fs::File>>,
    /// Page size of non-backup lists (resource groups, VMs, disks, vaults).
    pub page_size: AtomicUsize,
    /// Page size of backup lists (Azure: at most 200).
    pub backup_page_size: AtomicUsize,
    /// Set when a mutation has not been written yet (large states, see `persist_after_mutation`).
    pub dirty: AtomicBool,
    /// How long the last save took, in microseconds.
    pub last_save_us: AtomicU64,
    /// Rendered JSON of inventory VMs (read-only once seeded), by state key: large VM lists are
    /// served by joining these instead of building and serializing a JSON tree per page.
    pub vm_json: Mutex<HashMap<String, Arc<str>>>,
}

/// Saves slower than this are batched by the background flusher instead of delaying answers
/// (every answer waits for the state lock a save holds: a 2,000-VM state takes ~10 ms to
/// serialize, which would cap the sandbox near 100 mutations per second).
const SLOW_SAVE_US: u64 = 2_000;

impl App {
    /// Save after a mutation: synchronously when saving is cheap (the usual case), otherwise mark
    /// the state dirty for the flusher (`flush_dirty`, every 250 ms) so that a 10,000-VM state
    /// does not cost a full rewrite per request.
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
        let t = Instant::now();
        match self.persist.save(st) {
            Ok(()) => {
                self.dirty.store(false, Ordering::Relaxed);
                self.last_save_us
                    .store(t.elapsed().as_micros() as u64, Ordering::Relaxed);
            }
            Err(e) => tracing::error!("sandbox: saving state failed: {e}"),
        }
    }

    /// Write the state if a mutation is pending: serialized under the lock, written outside it.
    pub fn flush_dirty(&self) {
        if !self.dirty.load(Ordering::Relaxed) {
            return;
        }
        let t = Instant::now();
        let bytes = match self.state.lock() {
            Ok(st) => {
                self.dirty.store(false, Ordering::Relaxed);
                serde_json::to_vec(&*st)
            }
            Err(_) => return,
        };
        let result = match (bytes, &self.persist.path) {
            (Ok(b), Some(path)) => super::state::write_atomic(path, &b),
            (Ok(_), None) => Ok(()),
            (Err(e), _) => Err(super::SandboxError::Io(e.to_string())),
        };
        match result {
            Ok(()) => self
                .last_save_us
                .store(t.elapsed().as_micros() as u64, Ordering::Relaxed),
            Err(e) => {
                self.dirty.store(true, Ordering::Relaxed);
                tracing::error!("sandbox: saving state failed: {e}");
            }
        }
    }
}

/// One ARM request, parsed.
pub struct Ctx<'a> {
    pub method: String,
    /// Percent-decoded path segments as sent.
    pub segs: Vec<String>,
    /// The same, lower-cased, for matching.
    pub lsegs: Vec<String>,
    pub raw_path: String,
    /// Query parameters with lower-cased keys.
    pub query: HashMap<String, String>,
    pub body: &'a [u8],
    pub base: &'a str,
    pub api_version: String,
    pub now: i64,
    pub app: &'a App,
}

impl Ctx<'_> {
    /// Accept the request's api-version for a provider that knows `versions`
    /// ([`api_version_verdict`]): a known one, or a well-formed one newer than all of them
    /// (served as the newest) unless `--strict-api-versions`. Otherwise ARM's answers: 400
    /// `InvalidApiVersionParameter` for a malformed value, 400 `NoRegisteredProviderFound` for
    /// a well-formed one the provider does not have.
    pub fn require_api(&self, versions: &[&str]) -> Result<(), ArmError> {
        let verdict =
            api_version_verdict(&self.api_version, versions, self.app.strict_api_versions);
        let rtype = self.resource_type();
        match verdict {
            ApiVersionVerdict::Known | ApiVersionVerdict::Newer => Ok(()),
            // ARM's own routes (resource groups, subscriptions) answer this for any version
            // they lack; resource providers' types answer NoRegisteredProviderFound.
            ApiVersionVerdict::Malformed | ApiVersionVerdict::Unsupported if rtype.is_empty() => Err(ArmError::bad_request(
                "InvalidApiVersionParameter",
                format!(
                    "The api-version '{}' is invalid. The supported versions are '{}'.",
                    self.api_version,
                    versions.join(",")
                ),
            )),
            // ARM's message (e.g. Azure/azure-cli#28496, Azure/azure-sdk-for-js#4097, which has
            // location '*' for a subscription-wide list as here).
            ApiVersionVerdict::Malformed => Err(ArmError::bad_request(
                "InvalidApiVersionParameter",
                format!("The api-version '{}' is invalid.", self.api_version),
            )),
            ApiVersionVerdict::Unsupported => Err(ArmError::bad_request(
                "NoRegisteredProviderFound",
                format!(
                    "No registered resource provider found for location '*' and API version '{}' for type '{}'. The supported api-versions are '{}'.",
                    self.api_version,
                    rtype,
                    versions.join(", ")
                ),
            )),
        }
    }

    /// The ARM resource type the path names, e.g. `vaults/backupPolicies`.
    fn resource_type(&self) -> String {
        let Some(p) = self.lsegs.iter().rposition(|s| s == "providers") else {
            return String::new();
        };
        self.segs[p + 2..]
            .iter()
            .step_by(2)
            .cloned()
            .collect::<Vec<_>>()
            .join("/")
    }

    /// The JSON body (400 `InvalidRequestContent` when malformed or not an object).
    pub fn json(&self) -> Result<Value, ArmError> {
        if self.body.iter().all(|b| b.is_ascii_whitespace()) {
            return Err(ArmError::bad_request("InvalidRequestContent", "The request content was invalid and could not be deserialized: 'The request body is empty.'."));
        }
        let v: Value = serde_json::from_slice(self.body).map_err(ArmError::invalid_json)?;
        if !v.is_object() {
            return Err(ArmError::invalid_json(
                "the request body must be a JSON object",
            ));
        }
        Ok(v)
    }

    pub fn q(&self, k: &str) -> Option<&str> {
        self.query.get(&k.to_ascii_lowercase()).map(|s| s.as_str())
    }

    pub fn lro_fails(&self) -> bool {
        self.app.faults.as_ref().is_some_and(|f| f.next_lro_fails())
    }

    pub fn scaled(&self, azure_secs: f64) -> i64 {
        lro::scaled_ms(azure_secs, self.app.time_scale)
    }

    /// Match the lower-cased path against a pattern like `subscriptions/*/resourcegroups/*`;
    /// returns the original-cased values of the `*` segments.
    pub fn m(&self, pattern: &str) -> Option<Vec<String>> {
        let pat: Vec<&str> = pattern.split('/').collect();
        if pat.len() != self.lsegs.len() {
            return None;
        }
        let mut out = Vec::new();
        for (i, p) in pat.iter().enumerate() {
            if *p == "*" {
                out.push(self.segs[i].clone());
            } else if *p != self.lsegs[i] {
                return None;
            }
        }
        Some(out)
    }

    /// One page of `items` with an absolute `nextLink` carrying `$skipToken`.
    pub fn page(&self, items: Vec<Value>, backup: bool) -> Value {
        self.page_map(items, backup, |v| v)
    }

    /// [`page`](Self::page), building the JSON of only the items on the page: listing a large
    /// collection page by page must not render every item for every page.
    pub fn page_map<T>(
        &self,
        items: Vec<T>,
        backup: bool,
        render: impl FnMut(T) -> Value,
    ) -> Value {
        let (skip, size, next) = self.page_window(items.len(), backup);
        let page: Vec<Value> = items
            .into_iter()
            .skip(skip)
            .take(size)
            .map(render)
            .collect();
        let mut out = json!({ "value": page });
        if let Some(next) = next {
            out["nextLink"] = json!(next);
        }
        out
    }

    /// [`page_map`](Self::page_map) over items already rendered as JSON text: the page's body.
    pub fn page_raw<T>(
        &self,
        items: Vec<T>,
        backup: bool,
        render: impl FnMut(T) -> Arc<str>,
    ) -> String {
        let (skip, size, next) = self.page_window(items.len(), backup);
        let page: Vec<Arc<str>> = items
            .into_iter()
            .skip(skip)
            .take(size)
            .map(render)
            .collect();
        let mut out = String::with_capacity(page.iter().map(|p| p.len() + 1).sum::<usize>() + 64);
        out.push_str("{\"value\":[");
        for (i, item) in page.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(item);
        }
        out.push(']');
        if let Some(next) = next {
            out.push_str(",\"nextLink\":");
            out.push_str(&Value::String(next).to_string());
        }
        out.push('}');
        out
    }

    /// Which page of a list of `total` items to answer: (skip, size, nextLink).
    fn page_window(&self, total: usize, backup: bool) -> (usize, usize, Option<String>) {
        let size = if backup {
            self.app.backup_page_size.load(Ordering::Relaxed)
        } else {
            self.app.page_size.load(Ordering::Relaxed)
        }
        .max(1);
        let skip: usize = self
            .q("$skiptoken")
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        if skip + size >= total {
            return (skip, size, None);
        }
        let mut ser = url::form_urlencoded::Serializer::new(String::new());
        let mut keys: Vec<_> = self
            .query
            .iter()
            .filter(|(k, _)| k.as_str() != "$skiptoken")
            .collect();
        keys.sort();
        for (k, v) in keys {
            ser.append_pair(k, v);
        }
        ser.append_pair("$skipToken", &(skip + size).to_string());
        let next = format!("{}{}?{}", self.base, self.raw_path, ser.finish());
        (skip, size, Some(next))
    }

    /// `https://host` + `path`.
    pub fn abs(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }
}

/// A successful answer.
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Option<Value>,
    /// A body already serialized (wins over `body`).
    pub raw: Option<String>,
    /// Whether the state changed (and must be saved).
    pub mutated: bool,
}

impl Reply {
    pub fn ok(body: Value) -> Reply {
        Reply {
            status: 200,
            headers: vec![],
            body: Some(body),
            raw: None,
            mutated: false,
        }
    }
    /// 200 with a body that is already JSON text.
    pub fn raw_json(text: String) -> Reply {
        Reply {
            raw: Some(text),
            ..Reply::status(200, None)
        }
    }
    pub fn status(status: u16, body: Option<Value>) -> Reply {
        Reply {
            status,
            headers: vec![],
            body,
            raw: None,
            mutated: false,
        }
    }
    pub fn mutated(mut self) -> Reply {
        self.mutated = true;
        self
    }
    pub fn header(mut self, k: &str, v: impl Into<String>) -> Reply {
        self.headers.push((k.to_string(), v.into()));
        self
    }
    pub fn headers(mut self, h: Vec<(String, String)>) -> Reply {
        self.headers.extend(h);
        self
    }
}

pub type HResult = Result<Reply, ArmError>;

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
    let body = match axum::body::to_bytes(body, 16 * 1024 * 1024).await {
        Ok(b) => b,
        Err(_) => bytes_empty(),
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
    let result: Result<Reply, ArmError> = 'done: {
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
        if let Some(f) = &app.faults {
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
        if let Err(e) = auth::check_bearer(&ident, authorization.as_deref(), now / 1000, &app.base)
        {
            break 'done Err(e);
        }
        if let Some(t) = &app.throttle {
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
        if let Ok(mut f) = f.lock() {
            let _ = writeln!(f, "{line}");
        }
    }
}

/// Route an ARM request.
fn dispatch(ctx: &Ctx<'_>, st: &mut State) -> HResult {
    let l = &ctx.lsegs;
    if l.first().map(|s| s.as_str()) != Some("subscriptions") {
        return Err(ArmError::no_route(&ctx.raw_path));
    }
    if l.len() >= 2 && !st.subscription_known(&ctx.segs[1]) && l.len() > 1 {
        // Resource group and resource routes under an unknown subscription.
        return Err(ArmError::subscription_not_found(&ctx.segs[1]));
    }
    // Provider namespace: /subscriptions/{s}/providers/{ns}/... or .../resourceGroups/{rg}/providers/{ns}/...
    let ns = if l.len() > 2 && l[2] == "providers" {
        l.get(3).cloned()
    } else if l.len() > 4 && l[2] == "resourcegroups" && l[4] == "providers" {
        l.get(5).cloned()
    } else {
        None
    };
    if let Some(p) = super::authorization::provider_index(l) {
        return super::authorization::route(ctx, st, p);
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
        Some("microsoft.network") | Some("microsoft.storage") | Some("microsoft.automation") => {
            generic_get(ctx, st)
        }
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
    if !valid_api_version(&ctx.api_version) {
        return Err(ArmError::bad_request(
            "InvalidApiVersionParameter",
            format!("The api-version '{}' is invalid.", ctx.api_version),
        ));
    }
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

/// What the sandbox does with a request's api-version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiVersionVerdict {
    /// One the provider lists.
    Known,
    /// Well-formed and dated after every listed one: served as the newest. Microsoft's current
    /// SDKs send versions newer than the specs the sandbox follows; their shapes are supersets.
    Newer,
    /// Well-formed, not listed, and not newer (or `--strict-api-versions`).
    Unsupported,
    /// Not `YYYY-MM-DD[-suffix]`.
    Malformed,
}

/// Pure decision for [`Ctx::require_api`]. A preview suffix counts by its date: a newer
/// `2027-01-01-preview` is served as the newest too.
pub fn api_version_verdict(requested: &str, versions: &[&str], strict: bool) -> ApiVersionVerdict {
    if versions.iter().any(|v| v.eq_ignore_ascii_case(requested)) {
        return ApiVersionVerdict::Known;
    }
    if !valid_api_version(requested) {
        return ApiVersionVerdict::Malformed;
    }
    let date = &requested[..10];
    let newest = versions.iter().map(|v| &v[..v.len().min(10)]).max();
    match newest {
        Some(n) if !strict && date > n => ApiVersionVerdict::Newer,
        _ => ApiVersionVerdict::Unsupported,
    }
}

/// `YYYY-MM-DD` with an optional `-preview`-style suffix.
fn valid_api_version(v: &str) -> bool {
    let b = v.as_bytes();
    b.len() >= 10
        && b[..10].iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        })
        && (b.len() == 10 || b[10] == b'-')
}

/// A request property by name, matched without regard to case as Azure's services read JSON:
/// Azure's CLI sends `dataSourceInfo.resourceId` where the spec says `resourceID`, and Azure
/// accepts it (test_dataprotection_backup_instance_create_backup_delete_disk.yaml #1).
pub fn prop<'a>(v: &'a Value, name: &str) -> &'a Value {
    static NULL: Value = Value::Null;
    match v.as_object() {
        Some(o) => o.get(name).unwrap_or_else(|| {
            o.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map_or(&NULL, |(_, x)| x)
        }),
        None => &NULL,
    }
}

/// A tracked resource's `location` (normalized), or ARM's answer when it is missing.
pub fn required_location(body: &Value) -> Result<String, ArmError> {
    let location = body["location"]
        .as_str()
        .map(crate::model::resource_group::normalize_location)
        .unwrap_or_default();
    if location.is_empty() {
        return Err(ArmError::bad_request(
            "LocationRequired",
            "The location property is required for this definition.",
        ));
    }
    Ok(location)
}

/// Helper for handlers: the resource group must exist.
pub fn require_rg(st: &State, sub: &str, rg: &str) -> Result<(), ArmError> {
    if st.rg(sub, rg).is_none() {
        return Err(ArmError::resource_group_not_found(rg));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoding_and_versions() {
        assert_eq!(
            pct_decode("vm%3Biaasvmcontainerv2%3brg"),
            "vm;iaasvmcontainerv2;rg"
        );
        assert_eq!(pct_decode("a%zz%4"), "a%zz%4");
        assert_eq!(pct_decode("%e2%82%ac"), "€");
        assert!(valid_api_version("2024-05-01"));
        assert!(valid_api_version("2024-05-01-preview"));
        assert!(!valid_api_version("2024-5-01"));
        assert!(!valid_api_version("latest"));
    }

    #[test]
    fn api_versions_newer_than_known_are_served_as_the_newest() {
        use ApiVersionVerdict::*;
        let known = ["2024-04-01", "2025-02-28-preview", "2026-01-01"];
        assert_eq!(api_version_verdict("2026-01-01", &known, false), Known);
        assert_eq!(
            api_version_verdict("2025-02-28-PREVIEW", &known, true),
            Known
        );
        // Microsoft's current Python SDK for Recovery Services Backup.
        assert_eq!(api_version_verdict("2026-11-01", &known, false), Newer);
        assert_eq!(
            api_version_verdict("2027-01-01-preview", &known, false),
            Newer
        );
        assert_eq!(api_version_verdict("2026-11-01", &known, true), Unsupported);
        // Unknown older ones are refused as ARM refuses them.
        assert_eq!(
            api_version_verdict("2025-06-01", &known, false),
            Unsupported
        );
        assert_eq!(
            api_version_verdict("2026-01-01-preview", &known, false),
            Unsupported
        );
        assert_eq!(api_version_verdict("latest", &known, false), Malformed);
        assert_eq!(api_version_verdict("2026-1-01", &known, false), Malformed);
    }
}
