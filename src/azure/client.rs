//! `ArmClient`: one shared client per run (cheap to clone).
//!
//! Sends requests with a bearer token, applies the pure retry table ([`super::retry`]) and LRO
//! decisions ([`super::lro`]), sleeps between them, follows `nextLink`s ([`super::paging`]) and
//! turns error responses into [`AzureError`]s carrying the ARM code and `x-ms-request-id`.
//! Only URLs on the ARM endpoint's origin ever receive the token. Logs (tracing, debug level)
//! carry method, host + path (no query), status, request ids and duration — never headers'
//! secrets or the token.

use super::auth::{self, AuthContext, TokenProvider};
use super::cloud::{self, same_origin, Endpoints};
use super::error::{parse_error_body, redact};
use super::http::{self, HttpTimeouts};
use super::lro::{self, LroPolicy, Start, Step};
use super::paging::{parse_page, LoopGuard};
use super::ratelimit::{BucketKey, LimiterStats, RateLimiter, RateLimits, Remaining};
use super::retry::{retry_decision, AttemptInfo, Decision, Outcome, RetryPolicy, TransportFailure};
use super::AzureError;
use crate::progress::{Event, Progress, Task};
use crate::request::{ArmRequest, Method};
use reqwest::header::HeaderMap;
use serde_json::Value;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use url::Url;

/// The national clouds azprotect knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Cloud {
    #[default]
    Public,
    UsGov,
    China,
}

/// Which credential to use (`--auth`). `Auto` tries them in the documented order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuthChoice {
    #[default]
    Auto,
    ClientSecret,
    WorkloadIdentity,
    GithubOidc,
    ManagedIdentity,
    DeveloperTools,
}

/// Credential material read from the environment by `cli` (nothing below `cli` reads env vars).
#[derive(Clone, Default)]
pub struct EnvCredentials {
    pub tenant_id: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub federated_token_file: Option<PathBuf>,
    /// `ACTIONS_ID_TOKEN_REQUEST_URL` / `ACTIONS_ID_TOKEN_REQUEST_TOKEN` (GitHub Actions OIDC).
    pub actions_token_url: Option<String>,
    pub actions_token: Option<String>,
}

impl std::fmt::Debug for EnvCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let set = |v: &Option<String>| v.as_ref().map(|_| "<set>");
        f.debug_struct("EnvCredentials")
            .field("tenant_id", &self.tenant_id)
            .field("client_id", &self.client_id)
            .field("client_secret", &set(&self.client_secret))
            .field("federated_token_file", &self.federated_token_file)
            .field("actions_token_url", &set(&self.actions_token_url))
            .field("actions_token", &set(&self.actions_token))
            .finish()
    }
}

/// Everything the client needs, resolved by `cli`.
#[derive(Debug, Clone, Default)]
pub struct ClientSettings {
    pub cloud: Cloud,
    /// Overrides the cloud's ARM endpoint (`AZPROTECT_ARM_ENDPOINT`, the sandbox).
    pub arm_endpoint: Option<String>,
    /// Overrides the cloud's authority host (`AZURE_AUTHORITY_HOST`, the sandbox).
    pub authority_host: Option<String>,
    /// Extra trusted root certificate(s), PEM (`AZPROTECT_CA_CERT`, the sandbox).
    pub ca_cert_pem: Option<Vec<u8>>,
    pub auth: AuthChoice,
    pub credentials: EnvCredentials,
    /// Token audience override (`https://…` or `https://…/.default`); default: the cloud's ARM
    /// audience, even when `arm_endpoint` is overridden.
    pub arm_audience: Option<String>,
    /// Retry limits for throttling and transient faults.
    pub retry: RetryPolicy,
    /// LRO poll timing and deadline.
    pub lro: LroPolicy,
    /// HTTP timeouts.
    pub timeouts: HttpTimeouts,
    /// User agent; default `azprotect/<version>`.
    pub user_agent: Option<String>,
    /// Cap on HTTP requests in flight at once across all clones (`None` = no cap). Sleeping
    /// between retries or polls does not hold a slot.
    pub max_in_flight: Option<usize>,
    /// The ARM token buckets every request waits for (default: ARM's documented limits).
    pub rate_limits: RateLimits,
}

/// LRO progress reported to [`ArmClient::execute_with`]'s callback after each poll.
#[derive(Debug, Clone, PartialEq)]
pub struct OperationProgress {
    /// The resource path (no query) of the request that started the operation.
    pub resource: String,
    /// The status the service reported (`InProgress`, `Running`, a provisioning state…).
    pub status: String,
    /// `percentComplete`, when the service sends it.
    pub percent: Option<f64>,
    /// Polls so far.
    pub polls: u32,
    /// Time since the operation started.
    pub elapsed: Duration,
}

/// The ARM client.
#[derive(Clone)]
pub struct ArmClient {
    inner: Arc<Inner>,
}

struct Inner {
    endpoints: Endpoints,
    http: http::Connections,
    tokens: TokenProvider,
    retry: RetryPolicy,
    lro: LroPolicy,
    requests: AtomicU64,
    in_flight: Option<tokio::sync::Semaphore>,
    /// Held only for the limiter's arithmetic, never across an await.
    limiter: std::sync::Mutex<RateLimiter>,
    /// Time spent waiting for the limiter, in microseconds (all requests together).
    limiter_wait_us: AtomicU64,
}

impl std::fmt::Debug for ArmClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArmClient")
            .field("arm_endpoint", &self.inner.endpoints.arm)
            .finish_non_exhaustive()
    }
}

/// One HTTP response, body read.
struct Response {
    status: u16,
    headers: HeaderMap,
    bytes: Vec<u8>,
    /// The token this request carried — only to redact it from error texts.
    token: String,
}

impl Response {
    fn request_id(&self) -> String {
        header(&self.headers, "x-ms-request-id")
            .or_else(|| header(&self.headers, "x-ms-correlation-request-id"))
            .unwrap_or("-")
            .to_string()
    }

    fn json(&self, method: Method, resource: &str) -> Result<Option<Value>, AzureError> {
        if self.bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        serde_json::from_slice(&self.bytes)
            .map(Some)
            .map_err(|e| self.not_json(method, resource, e))
    }

    fn not_json(&self, method: Method, resource: &str, e: serde_json::Error) -> AzureError {
        AzureError::Transport {
            method: method_str(method).into(),
            resource: resource.into(),
            message: format!(
                "{} response is not valid JSON ({e}; x-ms-request-id: {})",
                self.status,
                self.request_id()
            ),
            unreachable: false,
        }
    }

    fn into_error(self, method: Method, resource: &str) -> AzureError {
        let parsed = parse_error_body(self.status, &self.bytes);
        AzureError::Arm {
            method: method_str(method).into(),
            resource: resource.into(),
            status: self.status,
            code: redact(&parsed.code, &self.token),
            message: redact(&parsed.message, &self.token),
            request_id: self.request_id(),
        }
    }
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

/// The most specific `x-ms-ratelimit-remaining-*` header present (for logs).
fn ratelimit_remaining(h: &HeaderMap) -> Option<&str> {
    [
        "x-ms-ratelimit-remaining-subscription-reads",
        "x-ms-ratelimit-remaining-subscription-writes",
        "x-ms-ratelimit-remaining-subscription-deletes",
        "x-ms-ratelimit-remaining-tenant-reads",
        "x-ms-ratelimit-remaining-tenant-writes",
    ]
    .iter()
    .find_map(|n| header(h, n))
}

fn method_str(m: Method) -> &'static str {
    match m {
        Method::Get => "GET",
        Method::Put => "PUT",
        Method::Patch => "PATCH",
        Method::Post => "POST",
        Method::Delete => "DELETE",
    }
}

fn to_reqwest(m: Method) -> reqwest::Method {
    match m {
        Method::Get => reqwest::Method::GET,
        Method::Put => reqwest::Method::PUT,
        Method::Patch => reqwest::Method::PATCH,
        Method::Post => reqwest::Method::POST,
        Method::Delete => reqwest::Method::DELETE,
    }
}

/// The path of a URL without query, for errors and logs.
fn resource_of(url: &Url) -> String {
    url.path().to_string()
}

async fn sleep(d: Duration) {
    if !d.is_zero() {
        tokio::time::sleep(d).await;
    }
}

impl ArmClient {
    /// Build the client: resolve endpoints, build the HTTP client (trusting `ca_cert_pem`), and
    /// the credential. No network traffic happens here; the first token is fetched lazily.
    pub async fn new(settings: ClientSettings) -> Result<ArmClient, AzureError> {
        let endpoints = cloud::resolve(&settings)?;
        let ua = settings.user_agent.as_deref();
        let http = http::Connections::build(
            settings.ca_cert_pem.as_deref(),
            &settings.timeouts,
            ua,
            http::CONNECTIONS,
        )?;
        let probe_timeouts = HttpTimeouts {
            connect: Duration::from_secs(3),
            ..settings.timeouts.clone()
        };
        let probe_http = http::build_client(settings.ca_cert_pem.as_deref(), &probe_timeouts, ua)?;
        let cloud_config = cloud_configuration(settings.cloud, &endpoints);
        let kind = auth::select(settings.auth, &settings.credentials)?;
        tracing::debug!(credential = ?kind, arm = %endpoints.arm, authority = %endpoints.authority, "ARM client");
        let ctx = AuthContext {
            http: http.first().clone(),
            probe_http,
            cloud: cloud_config,
            token_retry: auth::token_retry_options(&settings.retry),
            max_refusals: settings.retry.max_connect_attempts,
        };
        let cred = auth::build(kind, &settings.credentials, &ctx)?;
        let tokens = TokenProvider::new(cred, endpoints.scope.clone());
        Ok(ArmClient {
            inner: Arc::new(Inner {
                endpoints,
                http,
                tokens,
                retry: settings.retry,
                lro: settings.lro,
                requests: AtomicU64::new(0),
                in_flight: settings
                    .max_in_flight
                    .map(|n| tokio::sync::Semaphore::new(n.max(1))),
                limiter: std::sync::Mutex::new(RateLimiter::new(settings.rate_limits)),
                limiter_wait_us: AtomicU64::new(0),
            }),
        })
    }

    /// The ARM endpoint requests go to, e.g. `https://management.azure.com`.
    pub fn arm_endpoint(&self) -> &str {
        &self.inner.endpoints.arm
    }

    /// The token scope in use, e.g. `https://management.azure.com/.default`.
    pub fn token_scope(&self) -> &str {
        &self.inner.endpoints.scope
    }

    /// Send a request, retrying throttling and transient faults, and wait for any long-running
    /// operation it starts. Returns the final body (`None` for 204 / no body).
    pub async fn execute(&self, req: &ArmRequest) -> Result<Option<Value>, AzureError> {
        self.execute_with(req, &|_| {}).await
    }

    /// [`execute`](Self::execute) for a caller that needs no result body: once a long-running
    /// operation reports success, the final GET of the resource is skipped (one read fewer per
    /// change, which counts at estate scale against ARM's read quota).
    pub async fn execute_discarding(&self, req: &ArmRequest) -> Result<(), AzureError> {
        self.run(req, &|_| {}, false).await.map(|_| ())
    }

    /// [`execute`](Self::execute) for a POST whose result is its operation status's
    /// `properties`, not what its `Location` answers: Recovery Services names a restore's job
    /// there (FACTS §8) and returns item-level recovery's scripts there (the az CLI reads
    /// `backupOperations/{id}`: custom_help.py `track_backup_ilr`, `track_backup_crr_job`).
    pub async fn execute_status(&self, req: &ArmRequest) -> Result<Option<Value>, AzureError> {
        self.run_inner(req, &|_| {}, true, true).await
    }

    /// [`execute`](Self::execute), reporting each LRO poll to `progress`.
    pub async fn execute_with(
        &self,
        req: &ArmRequest,
        progress: &(dyn Fn(&OperationProgress) + Send + Sync),
    ) -> Result<Option<Value>, AzureError> {
        self.run(req, progress, true).await
    }

    /// [`execute`](Self::execute), each LRO poll reported as progress of `task`.
    pub async fn execute_for(
        &self,
        req: &ArmRequest,
        progress: &dyn Progress,
        task: &Task,
    ) -> Result<Option<Value>, AzureError> {
        let on_poll = |p: &OperationProgress| {
            progress.event(
                task,
                Event::Progressed {
                    status: &p.status,
                    percent: p.percent,
                },
            )
        };
        self.run(req, &on_poll, true).await
    }

    async fn run(
        &self,
        req: &ArmRequest,
        progress: &(dyn Fn(&OperationProgress) + Send + Sync),
        want_body: bool,
    ) -> Result<Option<Value>, AzureError> {
        self.run_inner(req, progress, want_body, false).await
    }

    async fn run_inner(
        &self,
        req: &ArmRequest,
        progress: &(dyn Fn(&OperationProgress) + Send + Sync),
        want_body: bool,
        status_result: bool,
    ) -> Result<Option<Value>, AzureError> {
        let url = self.url_for(&req.path, req.method)?;
        let resource = resource_of(&url);
        let rsp = self.send(req.method, &url, req.body.as_ref()).await?;
        if rsp.status >= 300 {
            return Err(rsp.into_error(req.method, &resource));
        }
        let body = rsp.json(req.method, &resource)?;
        let verdict = lro::start(
            req.method,
            &url,
            rsp.status,
            &rsp.headers,
            body.as_ref(),
            &self.inner.endpoints.arm_url,
            SystemTime::now(),
            &self.inner.lro,
        )
        .map_err(|e| self.transport_err(req.method, &resource, e.to_string()))?;
        let (mut state, mut delay) = match verdict {
            Start::Done => return Ok(body),
            Start::Poll { state, delay } => (*state, delay),
        };
        tracing::debug!(resource = %resource, kind = ?state.kind, poll = %state.url.path(), "waiting for a long-running operation");
        let started = Instant::now();
        let mut polls = 0u32;
        loop {
            if started.elapsed() + delay > self.inner.lro.deadline {
                return Err(self.transport_err(
                    req.method,
                    &resource,
                    format!(
                        "the long-running operation did not finish within {}s (polling {})",
                        self.inner.lro.deadline.as_secs(),
                        lro::strip_query(&state.url)
                    ),
                ));
            }
            sleep(delay).await;
            polls += 1;
            let poll_url = state.url.clone();
            let rsp = self.send(Method::Get, &poll_url, None).await?;
            if rsp.status >= 300 {
                // Location polling returns what the synchronous call would have: this is the
                // operation's own error. For a status monitor it is a failure to read status
                // that outlived the retry table. Either way: report it against the resource.
                return Err(rsp.into_error(req.method, &resource));
            }
            let poll_body = rsp.json(Method::Get, &resource)?;
            let step = lro::on_poll(
                &mut state,
                rsp.status,
                &rsp.headers,
                poll_body.as_ref(),
                &self.inner.endpoints.arm_url,
                SystemTime::now(),
                &self.inner.lro,
            )
            .map_err(|e| self.transport_err(req.method, &resource, e.to_string()))?;
            match step {
                Step::Fetch if status_result && req.method == Method::Post => {
                    return Ok(poll_body.and_then(|b| b.get("properties").cloned()))
                }
                Step::Wait {
                    delay: d,
                    status,
                    percent,
                } => {
                    progress(&OperationProgress {
                        resource: resource.clone(),
                        status,
                        percent,
                        polls,
                        elapsed: started.elapsed(),
                    });
                    delay = d;
                }
                Step::Fetch if !want_body => return Ok(None),
                Step::Fetch => delay = Duration::ZERO,
                Step::Done(b) => return Ok(b),
                Step::Failed {
                    status,
                    code,
                    message,
                } => {
                    return Err(AzureError::OperationFailed {
                        resource,
                        status,
                        code: redact(&code, &rsp.token),
                        message: redact(&message, &rsp.token),
                        request_id: rsp.request_id(),
                    })
                }
            }
        }
    }

    /// GET a resource; `Ok(None)` on 404.
    pub async fn get_optional(&self, path: &str) -> Result<Option<Value>, AzureError> {
        let url = self.url_for(path, Method::Get)?;
        let resource = resource_of(&url);
        let rsp = self.send(Method::Get, &url, None).await?;
        match rsp.status {
            404 => Ok(None),
            s if s >= 300 => Err(rsp.into_error(Method::Get, &resource)),
            _ => rsp.json(Method::Get, &resource),
        }
    }

    /// GET a collection and follow every `nextLink`; returns all `value` items.
    pub async fn list(&self, path: &str) -> Result<Vec<Value>, AzureError> {
        // Items of a page are valid JSON (the page parsed): none is dropped here.
        self.list_with(path, |raw| serde_json::from_str(raw.get()).ok())
            .await
    }

    /// [`ArmClient::list`], each item made a `T` (or skipped) from its JSON text as its page
    /// arrives: a long list's JSON is never all held at once, and an item can be read into a
    /// typed body without building its JSON tree.
    pub async fn list_with<T>(
        &self,
        path: &str,
        mut each: impl FnMut(&serde_json::value::RawValue) -> Option<T>,
    ) -> Result<Vec<T>, AzureError> {
        let mut url = self.url_for(path, Method::Get)?;
        let resource = resource_of(&url);
        let mut guard = LoopGuard::default();
        let mut items = Vec::new();
        loop {
            guard
                .visit(&url)
                .map_err(|e| self.transport_err(Method::Get, &resource, e.to_string()))?;
            let rsp = self.send(Method::Get, &url, None).await?;
            if rsp.status >= 300 {
                return Err(rsp.into_error(Method::Get, &resource));
            }
            let page = parse_page(&rsp.bytes, &self.inner.endpoints.arm_url)
                .map_err(|e| rsp.not_json(Method::Get, &resource, e))?
                .map_err(|e| self.transport_err(Method::Get, &resource, e.to_string()))?;
            items.extend(page.items.into_iter().filter_map(&mut each));
            match page.next {
                Some(next) => url = next,
                None => return Ok(items),
            }
        }
    }

    /// POST a read-only query (Azure Resource Graph) and return its body with the answer's
    /// headers, which carry the service's own quota. Retried per the table (a POST: 429 and
    /// 503 only); no long-running operation is followed.
    pub async fn post_query(
        &self,
        path: &str,
        body: &Value,
    ) -> Result<(Option<Value>, reqwest::header::HeaderMap), AzureError> {
        let url = self.url_for(path, Method::Post)?;
        let resource = resource_of(&url);
        let rsp = self.send(Method::Post, &url, Some(body)).await?;
        if rsp.status >= 300 {
            return Err(rsp.into_error(Method::Post, &resource));
        }
        let value = rsp.json(Method::Post, &resource)?;
        Ok((value, rsp.headers))
    }

    /// How long to wait between reads of something Azure is still working on when it names no
    /// delay: the long-running-operation policy's default (10 s; the sandbox's poll interval).
    pub fn poll_interval(&self) -> Duration {
        self.inner.lro.default_delay
    }

    /// How many HTTP requests this client has sent to ARM (retries and polls included).
    pub fn request_count(&self) -> u64 {
        self.inner.requests.load(Ordering::Relaxed)
    }

    /// The rate limiter's counters, and the total time requests spent waiting for it.
    pub fn limiter_stats(&self) -> (LimiterStats, Duration) {
        let stats = self.with_limiter(|l| l.stats());
        let waited = Duration::from_micros(self.inner.limiter_wait_us.load(Ordering::Relaxed));
        (stats, waited)
    }

    fn with_limiter<T>(&self, f: impl FnOnce(&mut RateLimiter) -> T) -> T {
        // A poisoned lock only means a panic elsewhere mid-arithmetic; the buckets stay usable.
        let mut guard = match self.inner.limiter.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        f(&mut guard)
    }

    /// Wait until the limiter admits one request to `key`.
    async fn admit(&self, key: &BucketKey) {
        let mut waited = Duration::ZERO;
        loop {
            match self.with_limiter(|l| l.acquire(key, Instant::now())) {
                Ok(()) => break,
                Err(d) => {
                    waited += d;
                    tokio::time::sleep(d).await;
                }
            }
        }
        if !waited.is_zero() {
            self.inner
                .limiter_wait_us
                .fetch_add(waited.as_micros() as u64, Ordering::Relaxed);
            tracing::debug!(
                target: "azprotect::ratelimit",
                bucket = %key,
                wait_ms = waited.as_millis() as u64,
                "rate limiter waited"
            );
        }
    }

    fn transport_err(&self, method: Method, resource: &str, message: String) -> AzureError {
        AzureError::Transport {
            method: method_str(method).into(),
            resource: resource.into(),
            message,
            unreachable: false,
        }
    }

    /// `path` relative to the ARM endpoint (or an absolute URL on the same origin).
    fn url_for(&self, path: &str, method: Method) -> Result<Url, AzureError> {
        let arm = &self.inner.endpoints.arm_url;
        let url = if path.starts_with('/') {
            Url::parse(&format!("{}{}", self.inner.endpoints.arm, path))
        } else {
            Url::parse(path)
        }
        .map_err(|e| {
            AzureError::Config(format!(
                "{} {path}: not a valid ARM path: {e}",
                method_str(method)
            ))
        })?;
        if !same_origin(&url, arm) {
            return Err(AzureError::Config(format!(
                "{} {}: refusing to send the ARM token to a host other than {}",
                method_str(method),
                lro::strip_query(&url),
                self.inner.endpoints.arm
            )));
        }
        Ok(url)
    }

    /// One logical request: token, send, retry per the table, sleep between attempts.
    async fn send(
        &self,
        method: Method,
        url: &Url,
        body: Option<&Value>,
    ) -> Result<Response, AzureError> {
        let inner = &self.inner;
        let resource = resource_of(url);
        let bucket = BucketKey::for_request(method, url.path());
        let started = Instant::now();
        let mut attempt = 0u32;
        let mut reauthenticated = false;
        let payload = match body {
            Some(b) => Some(serde_json::to_vec(b).map_err(|e| {
                AzureError::Config(format!("cannot serialise the request body: {e}"))
            })?),
            None => None,
        };
        loop {
            attempt += 1;
            let token = inner.tokens.token().await?;
            let client_request_id = uuid::Uuid::new_v4().to_string();
            let mut rb = (inner.http.next())
                .request(to_reqwest(method), url.clone())
                .bearer_auth(token.secret())
                .header("Accept", "application/json")
                .header("x-ms-client-request-id", &client_request_id);
            rb = match (&payload, method) {
                (Some(p), _) => rb
                    .header("Content-Type", "application/json")
                    .body(p.clone()),
                (None, Method::Post | Method::Put | Method::Patch) => {
                    rb.header("Content-Length", "0").body(Vec::<u8>::new())
                }
                (None, _) => rb,
            };
            self.admit(&bucket).await;
            let permit = match &inner.in_flight {
                Some(sem) => Some(sem.acquire().await.map_err(|_| {
                    AzureError::Config("the ARM client's request limiter was closed".into())
                })?),
                None => None,
            };
            inner.requests.fetch_add(1, Ordering::Relaxed);
            let t0 = Instant::now();
            let result = match rb.send().await {
                Ok(mut r) => {
                    let status = r.status().as_u16();
                    // Taken, not cloned: the body is all that is read from `r` after them.
                    let headers = std::mem::take(r.headers_mut());
                    r.bytes().await.map(|b| (status, headers, b.to_vec()))
                }
                Err(e) => Err(e),
            };
            drop(permit);
            self.with_limiter(|l| match &result {
                Ok((status, headers, bytes)) => {
                    let now = Instant::now();
                    let remaining = Remaining::from_headers(headers, &bucket);
                    l.observe(&bucket, remaining, now);
                    if *status == 429 {
                        let wait =
                            super::retry::server_delay(429, headers, bytes, SystemTime::now());
                        l.throttled(&bucket, remaining, wait, now);
                    }
                }
                Err(_) => l.abandon(&bucket),
            });
            let info = |reauthenticated| AttemptInfo {
                attempt,
                elapsed: started.elapsed(),
                idempotent: super::retry::is_idempotent(method == Method::Post, url.path()),
                reauthenticated,
                now: SystemTime::now(),
                jitter: rand::random::<f64>(),
            };
            match result {
                Ok((status, headers, bytes)) => {
                    tracing::debug!(
                        method = method_str(method),
                        host = url.host_str().unwrap_or(""),
                        path = url.path(),
                        status,
                        attempt,
                        request_id = header(&headers, "x-ms-request-id").unwrap_or("-"),
                        client_request_id = %client_request_id,
                        duration_ms = t0.elapsed().as_millis() as u64,
                        ratelimit_remaining = ratelimit_remaining(&headers).unwrap_or("-"),
                        "ARM request"
                    );
                    let outcome = Outcome::Response {
                        status,
                        headers: &headers,
                        body: &bytes,
                    };
                    let decision = retry_decision(&outcome, &info(reauthenticated), &inner.retry);
                    let response = Response {
                        status,
                        headers,
                        bytes,
                        token: token.secret().to_string(),
                    };
                    match decision {
                        Decision::Retry(d) => {
                            tracing::debug!(status, delay_ms = d.as_millis() as u64, "retrying");
                            sleep(d).await;
                        }
                        Decision::Reauthenticate => {
                            reauthenticated = true;
                            inner.tokens.invalidate().await;
                        }
                        Decision::Done | Decision::GiveUp => return Ok(response),
                    }
                }
                Err(e) => {
                    let kind = http::classify(&e);
                    let message = redact(&http::chain(&e), token.secret());
                    tracing::debug!(
                        method = method_str(method),
                        host = url.host_str().unwrap_or(""),
                        path = url.path(),
                        attempt,
                        error = %message,
                        "ARM request failed"
                    );
                    match retry_decision(&Outcome::Transport(kind), &info(true), &inner.retry) {
                        Decision::Retry(d) => {
                            // Visible (warn): a run that cannot reach Azure says why while it
                            // waits, not only when it gives up.
                            let max = match kind {
                                TransportFailure::Connect => inner.retry.max_connect_attempts,
                                _ => inner.retry.max_attempts,
                            };
                            tracing::warn!(
                                "retrying ({attempt}/{max}) in {:.0}s: {} {}: {message}",
                                d.as_secs_f64(),
                                method_str(method),
                                url.host_str().unwrap_or("")
                            );
                            sleep(d).await
                        }
                        _ => {
                            return Err(AzureError::Transport {
                                method: method_str(method).into(),
                                resource,
                                message: format!("{message} (after {attempt} attempt(s))"),
                                unreachable: matches!(
                                    kind,
                                    TransportFailure::Connect
                                        | TransportFailure::Certificate
                                        | TransportFailure::Dns
                                ),
                            })
                        }
                    }
                }
            }
        }
    }
}

fn cloud_configuration(
    cloud: Cloud,
    endpoints: &Endpoints,
) -> azure_core::cloud::CloudConfiguration {
    use azure_core::cloud::{CloudConfiguration, CustomConfiguration};
    if endpoints.authority_overridden {
        let mut custom = CustomConfiguration::default();
        custom.authority_host = endpoints.authority.clone();
        return CloudConfiguration::Custom(custom);
    }
    match cloud {
        Cloud::Public => CloudConfiguration::AzurePublic,
        Cloud::UsGov => CloudConfiguration::AzureGovernment,
        Cloud::China => CloudConfiguration::AzureChina,
    }
}

/// Settings of a client that can be built but reaches nothing (port 9, discard): for unit tests
/// of code that holds a client and must send nothing.
#[cfg(test)]
pub(crate) fn offline_settings() -> ClientSettings {
    ClientSettings {
        arm_endpoint: Some("https://127.0.0.1:9".into()),
        authority_host: Some("https://127.0.0.1:9".into()),
        auth: AuthChoice::ClientSecret,
        credentials: EnvCredentials {
            tenant_id: Some("tenant".into()),
            client_id: Some("client".into()),
            client_secret: Some("shh-secret".into()),
            ..Default::default()
        },
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn builds_offline_and_checks_origin() {
        let c = ArmClient::new(offline_settings()).await.unwrap();
        assert_eq!(c.arm_endpoint(), "https://127.0.0.1:9");
        assert_eq!(c.token_scope(), "https://management.azure.com/.default");
        assert_eq!(c.request_count(), 0);
        assert!(c
            .url_for("/subscriptions/x?api-version=1", Method::Get)
            .is_ok());
        assert!(c.url_for("https://127.0.0.1:9/x", Method::Get).is_ok());
        let e = c
            .url_for("https://evil.example.com/x", Method::Get)
            .unwrap_err();
        assert!(matches!(e, AzureError::Config(_)));
        assert!(!format!("{c:?}").contains("shh-secret"));
    }

    #[test]
    fn client_and_futures_are_send() {
        fn check<T: Send + Sync + Clone + 'static>() {}
        check::<ArmClient>();
        fn is_send<T: Send>(_: &T) {}
        #[allow(dead_code)]
        async fn uses(c: ArmClient, r: ArmRequest) {
            let f = async move { c.execute(&r).await };
            is_send(&f);
            let _ = f.await;
        }
    }

    #[tokio::test]
    async fn settings_debug_hides_secrets() {
        let s = offline_settings();
        assert!(!format!("{s:?}").contains("shh-secret"));
    }

    #[tokio::test]
    async fn explicit_auth_without_inputs_is_config_error() {
        let mut s = offline_settings();
        s.credentials.client_secret = None;
        let e = ArmClient::new(s).await.unwrap_err();
        assert!(matches!(e, AzureError::Config(m) if m.contains("AZURE_CLIENT_SECRET")));
    }

    #[tokio::test]
    async fn transport_failure_is_typed_and_counted() {
        let mut s = offline_settings();
        s.retry = RetryPolicy {
            max_attempts: 2,
            ..RetryPolicy::immediate()
        };
        let c = ArmClient::new(s).await.unwrap();
        // The token endpoint itself is unreachable: an authentication error that says so and
        // counts as unreachable (apply stops starting changes), no ARM request counted.
        let e = c
            .get_optional("/subscriptions/x?api-version=1")
            .await
            .unwrap_err();
        assert!(
            matches!(e, AzureError::TokenEndpointUnreachable(_)) && e.is_unreachable(),
            "{e:?}"
        );

        assert!(!e.to_string().contains("shh-secret"));
    }
}
