//! The sandbox: a local ARM-compatible emulator over HTTPS, with a token endpoint, persisted
//! state, long-running operations, ARM throttling, latency and fault injection.
//!
//! Layout: `server` (TLS, pipeline, routing), `auth` (Entra token endpoint, JWT), `state`
//! (persisted state), `inventory` (seeding), `lro`, `faults`, `throttle`, `errors`, and one
//! handler file per resource provider: `resources`, `compute`, `vaults`, `backup` (policies),
//! `protection` (protected VMs, backup operations), `jobs`, `discovery` (containers,
//! protectable items, refreshContainers, backupStatus), `site_recovery` (Azure-to-Azure Site
//! Recovery: fabrics, containers, policies, mappings, replicated items, recovery plans, jobs),
//! `data_protection` (Azure Disk Backup: backup vaults, policies, instances, recovery points),
//! `snapshots` (Compute snapshots, disks created from snapshots), `authorization` (role
//! assignments and the permission checks that use them), `tenancy` (subscription names,
//! management groups, unreadable subscriptions), `management_groups` (Microsoft.Management),
//! `resource_graph` (Azure Resource Graph queries, a documented KQL subset, its own quota),
//! `identity` (the managed identities fabricated for both kinds of vault).
//!
//! Must not import: `plan`, `apply`, `config`, `cli`, `ops`.

mod auth;
mod authorization;
mod backup;
mod compute;
mod data_protection;
mod discovery;
mod errors;
mod faults;
mod garble;
mod handler;
mod identity;
mod inventory;
mod jobs;
mod latency;
mod lro;
mod management_groups;
mod network;
mod protection;
mod resource_graph;
mod resources;
mod server;
mod site_recovery;
mod snapshots;
mod state;
mod tags;
mod tenancy;
mod throttle;
mod tls;
mod vaults;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;

pub use faults::FaultSpec;
pub use latency::Latency;
pub use resource_graph::quota::GraphQuota;
pub use throttle::{BucketLimit, ThrottleLimits};

/// How to run a sandbox (`sandbox serve` flags, or the in-process `--sandbox`).
#[derive(Debug, Clone)]
pub struct SandboxOptions {
    /// Where state persists (`None`: in memory only).
    pub state: Option<PathBuf>,
    /// Inventory YAML to seed a state that does not exist yet (`None`: the demo inventory).
    pub inventory: Option<PathBuf>,
    pub listen: SocketAddr,
    /// Simulated latency of every ARM answer (log-normal around a median, seeded).
    pub latency: Option<Latency>,
    /// Seeded fault injection spec, e.g. `seed=7,429=0.05,500=0.02,503=0.02,drop=0.01,lro_fail=0.02`
    /// (see `faults.rs`).
    pub faults: Option<String>,
    /// Enforce ARM's token buckets and send `x-ms-ratelimit-remaining-*`.
    pub throttle: bool,
    /// The buckets `throttle` enforces (default: ARM's; tests shrink them). Real time always.
    pub throttle_limits: ThrottleLimits,
    /// Resource Graph's per-user quota, enforced with `throttle` (default: Azure's 15 queries
    /// per 5 seconds; benchmarks and tests change it).
    pub resource_graph_quota: GraphQuota,
    pub access_log: Option<PathBuf>,
    pub env_file: Option<PathBuf>,
    /// Refuse api-versions newer than the newest a provider lists (`sandbox serve
    /// --strict-api-versions`); by default they are served as the newest.
    pub strict_api_versions: bool,
    /// Multiplier applied to simulated Azure durations (LROs, first backup, fault `Retry-After`);
    /// throttling buckets keep real time.
    pub time_scale: f64,
}

impl Default for SandboxOptions {
    fn default() -> Self {
        SandboxOptions {
            state: None,
            inventory: None,
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            latency: None,
            faults: None,
            throttle: false,
            throttle_limits: ThrottleLimits::default(),
            resource_graph_quota: GraphQuota::default(),
            access_log: None,
            env_file: None,
            strict_api_versions: false,
            time_scale: 0.01,
        }
    }
}

/// The client credentials the sandbox's token endpoint accepts.
#[derive(Debug, Clone)]
pub struct SandboxCredentials {
    pub tenant_id: String,
    pub client_id: String,
    pub client_secret: String,
    pub subscription_id: String,
}

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum SandboxError {
    #[error("sandbox: {0}")]
    Io(String),
    #[error("sandbox inventory {path}: {message}")]
    Inventory { path: String, message: String },
}

/// A running sandbox.
pub struct Sandbox {
    endpoint: String,
    ca_pem: String,
    ca_path: PathBuf,
    /// Whether `ca_path` is this sandbox's own file in the temporary directory (no env file
    /// beside which to keep it): removed when the sandbox is dropped.
    ca_temporary: bool,
    creds: SandboxCredentials,
    handle: axum_server::Handle,
    task: tokio::task::JoinHandle<()>,
    flusher: tokio::task::JoinHandle<()>,
    app: Arc<server::App>,
}

/// A fresh state seeded from `inventory` (or the demo inventory).
fn fresh_state(inventory: Option<&std::path::Path>) -> Result<state::State, SandboxError> {
    let mut st = state::State {
        version: state::STATE_VERSION,
        ..Default::default()
    };
    match inventory {
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|e| SandboxError::Inventory {
                path: p.display().to_string(),
                message: format!("cannot read: {e}"),
            })?;
            inventory::seed(&mut st, &text, &p.display().to_string())?;
        }
        None => inventory::seed(&mut st, inventory::DEMO_INVENTORY, "<demo inventory>")?,
    }
    ensure_secrets(&mut st)?;
    Ok(st)
}

/// The sandbox's tenant: the id its tokens carry, and its root management group's.
pub const TENANT_ID: &str = "00000000-0000-0000-0000-0000000000aa";

/// Fill in identity and TLS material a state lacks.
fn ensure_secrets(st: &mut state::State) -> Result<(), SandboxError> {
    use rand::Rng;
    let mut rng = rand::rng();
    if st.identity.tenant_id.is_empty() {
        st.identity.tenant_id = TENANT_ID.into();
        st.identity.client_id = "00000000-0000-0000-0000-0000000000bb".into();
    }
    if st.identity.client_secret.is_empty() {
        let mut b = [0u8; 24];
        rng.fill_bytes(&mut b);
        st.identity.client_secret = format!(
            "sbx~{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
        );
    }
    if st.identity.token_secret.is_empty() {
        let mut b = [0u8; 32];
        rng.fill_bytes(&mut b);
        st.identity.token_secret = base64::engine::general_purpose::STANDARD.encode(b);
    }
    if st.tls.ca_cert_pem.is_empty() || st.tls.ca_key_pem.is_empty() {
        st.tls = tls::generate_ca()?;
    }
    Ok(())
}

fn io(e: impl std::fmt::Display) -> SandboxError {
    SandboxError::Io(e.to_string())
}

impl Sandbox {
    pub async fn start(opts: SandboxOptions) -> Result<Sandbox, SandboxError> {
        let faults = match &opts.faults {
            Some(spec) => Some(faults::Faults::new(
                FaultSpec::parse(spec).map_err(|e| SandboxError::Io(format!("--faults: {e}")))?,
            )),
            None => None,
        };
        if !(opts.time_scale.is_finite() && opts.time_scale >= 0.0) {
            return Err(SandboxError::Io(format!(
                "time scale must be a non-negative number, got {}",
                opts.time_scale
            )));
        }
        let mut st = match &opts.state {
            Some(p) if p.exists() => state::Persist::load(p)?,
            _ => fresh_state(opts.inventory.as_deref())?,
        };
        ensure_secrets(&mut st)?;
        let persist = state::Persist {
            path: opts.state.clone(),
        };
        persist.save(&st)?;

        let listener = std::net::TcpListener::bind(opts.listen)
            .map_err(|e| SandboxError::Io(format!("binding {}: {e}", opts.listen)))?;
        listener.set_nonblocking(true).map_err(io)?;
        let addr = listener.local_addr().map_err(io)?;
        let host = match addr.ip() {
            ip if ip.is_unspecified() || ip.is_loopback() && ip.is_ipv4() => {
                "127.0.0.1".to_string()
            }
            std::net::IpAddr::V6(ip) => format!("[{ip}]"),
            ip => ip.to_string(),
        };
        let endpoint = format!("https://{host}:{}", addr.port());
        let tls_cfg = tls::server_config(&st.tls)?;
        let ca_pem = st.tls.ca_cert_pem.clone();
        let creds = SandboxCredentials {
            tenant_id: st.identity.tenant_id.clone(),
            client_id: st.identity.client_id.clone(),
            client_secret: st.identity.client_secret.clone(),
            subscription_id: st.subscriptions.first().cloned().unwrap_or_default(),
        };
        let access_log = match &opts.access_log {
            Some(p) => Some(Mutex::new(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(p)
                    .map_err(|e| {
                        SandboxError::Io(format!("opening access log {}: {e}", p.display()))
                    })?,
            )),
            None => None,
        };
        let app = Arc::new(server::App {
            state: Mutex::new(st),
            persist,
            base: endpoint.clone(),
            time_scale: opts.time_scale,
            strict_api_versions: opts.strict_api_versions,
            latency: opts.latency.map(latency::Sampler::new),
            faults,
            throttle: opts
                .throttle
                .then(|| throttle::Throttle::new(opts.throttle_limits)),
            graph_quota: opts
                .throttle
                .then(|| resource_graph::quota::Quota::new(opts.resource_graph_quota)),
            access_log,
            page_size: AtomicUsize::new(100),
            compute_page_size: AtomicUsize::new(50),
            backup_page_size: AtomicUsize::new(200),
            group_page_size: AtomicUsize::new(480),
            whole_page_size: AtomicUsize::new(usize::MAX),
            dirty: std::sync::atomic::AtomicBool::new(false),
            last_save_us: std::sync::atomic::AtomicU64::new(0),
            vm_json: Mutex::default(),
            graph_packed: Mutex::default(),
            accepted: Default::default(),
            generation: Default::default(),
            graph_answered: Default::default(),
            graph_payload_limit: AtomicUsize::new(resource_graph::PAYLOAD_LIMIT),
            answered: Default::default(),
            written: Default::default(),
        });
        let flusher = {
            let app = Arc::downgrade(&app);
            tokio::spawn(async move {
                loop {
                    let pause = match app.upgrade() {
                        Some(app) => server::flush_pause(&app),
                        None => break,
                    };
                    tokio::time::sleep(pause).await;
                    let Some(app) = app.upgrade() else { break };
                    if app.dirty.load(std::sync::atomic::Ordering::Relaxed) {
                        server::quiet(&app.answered).await;
                    }
                    let a = app.clone();
                    let _ = tokio::task::spawn_blocking(move || a.flush_dirty()).await;
                }
            })
        };

        // The CA file clients point AZPROTECT_CA_CERT at: beside the env file, or the
        // sandbox's own in the temporary directory.
        let (ca_path, ca_temporary) = match &opts.env_file {
            Some(env) => {
                let name = env
                    .file_name()
                    .map(|n| n.to_string_lossy().to_string())
                    .unwrap_or_else(|| "sandbox.env".into());
                (env.with_file_name(format!("{name}.ca.pem")), false)
            }
            None => {
                let name = format!("azprotect-sandbox-{}-ca.pem", addr.port());
                (std::env::temp_dir().join(name), true)
            }
        };
        // Absolute: the env file names it, and is read from anywhere (`. /path/sandbox.env`).
        let ca_path = std::path::absolute(&ca_path).unwrap_or(ca_path);
        state::write_atomic(&ca_path, ca_pem.as_bytes())?;

        let handle = axum_server::Handle::new();
        let svc_app = app.clone();
        let svc = tower::service_fn(move |req: axum::http::Request<hyper::body::Incoming>| {
            let app = svc_app.clone();
            async move { server::handle(app, req.map(axum::body::Body::new)).await }
        });
        let make = tower::make::Shared::new(svc);
        let mut srv = axum_server::from_tcp_rustls(
            listener,
            axum_server::tls_rustls::RustlsConfig::from_config(tls_cfg),
        )
        .handle(handle.clone());
        // hyper's own limits (16 KB of HTTP/2 headers) answer with no body: raised above the
        // ones the handler enforces with ARM-style answers (`server::MAX_URL`, `MAX_HEADERS`).
        srv.http_builder().http1().max_buf_size(1024 * 1024);
        srv.http_builder().http2().max_header_list_size(1024 * 1024);
        let task = tokio::spawn(async move {
            if let Err(e) = srv.serve(make).await {
                tracing::error!("sandbox server stopped: {e}");
            }
        });
        let sandbox = Sandbox {
            endpoint,
            ca_pem,
            ca_path,
            ca_temporary,
            creds,
            handle,
            task,
            flusher,
            app,
        };
        if let Some(env) = &opts.env_file {
            let text: String = sandbox
                .env_vars()
                .iter()
                .map(|(k, v)| format!("{k}={v}\n"))
                .collect();
            state::write_atomic(env, text.as_bytes())?;
        }
        tracing::info!("sandbox listening on {}", sandbox.endpoint);
        Ok(sandbox)
    }

    /// `https://127.0.0.1:PORT` — both the ARM endpoint and the authority host.
    pub fn endpoint(&self) -> String {
        self.endpoint.clone()
    }
    /// The PEM of the CA that signed the server certificate (clients add it to trusted roots).
    pub fn ca_cert_pem(&self) -> String {
        self.ca_pem.clone()
    }
    pub fn credentials(&self) -> SandboxCredentials {
        self.creds.clone()
    }
    /// How often a client should poll an operation here: Azure sends no `Retry-After` on these
    /// providers' operations (FACTS §9), so clients use their own interval; 10 Azure seconds in
    /// this sandbox's time scale (100 ms at the default 0.01), at least 5 ms.
    pub fn poll_interval(&self) -> std::time::Duration {
        let ms = lro::scaled_ms(10.0, self.app.time_scale).max(5);
        std::time::Duration::from_millis(ms as u64)
    }
    /// `AZURE_TENANT_ID`, `AZURE_CLIENT_ID`, `AZURE_CLIENT_SECRET`, `AZURE_AUTHORITY_HOST`,
    /// `AZURE_SUBSCRIPTION_ID`, `AZPROTECT_ARM_ENDPOINT`, `AZPROTECT_CA_CERT` (a file path),
    /// `AZPROTECT_POLL_INTERVAL_MS` ([`poll_interval`](Self::poll_interval)).
    pub fn env_vars(&self) -> Vec<(String, String)> {
        vec![
            ("AZURE_TENANT_ID".into(), self.creds.tenant_id.clone()),
            ("AZURE_CLIENT_ID".into(), self.creds.client_id.clone()),
            (
                "AZURE_CLIENT_SECRET".into(),
                self.creds.client_secret.clone(),
            ),
            ("AZURE_AUTHORITY_HOST".into(), self.endpoint.clone()),
            (
                "AZURE_SUBSCRIPTION_ID".into(),
                self.creds.subscription_id.clone(),
            ),
            ("AZPROTECT_ARM_ENDPOINT".into(), self.endpoint.clone()),
            (
                "AZPROTECT_CA_CERT".into(),
                self.ca_path.display().to_string(),
            ),
            (
                "AZPROTECT_POLL_INTERVAL_MS".into(),
                self.poll_interval().as_millis().to_string(),
            ),
        ]
    }
    /// Page size of every non-backup list (by default 50 for Microsoft.Compute's, about 480
    /// for resource groups, none for subscriptions and role assignments, 100 for the others),
    /// so tests can exercise paging.
    pub fn set_page_size(&self, n: usize) {
        let app = &self.app;
        for size in [
            &app.page_size,
            &app.compute_page_size,
            &app.group_page_size,
            &app.whole_page_size,
        ] {
            size.store(n.max(1), std::sync::atomic::Ordering::Relaxed);
        }
    }
    /// The most bytes a Resource Graph answer may have (default Azure's 16 MiB:
    /// `resource_graph::PAYLOAD_LIMIT`), so tests can exercise a split without 20,000 VMs.
    pub fn set_graph_payload_limit(&self, n: usize) {
        self.app
            .graph_payload_limit
            .store(n.max(1), std::sync::atomic::Ordering::Relaxed);
    }
    /// Page size of backup lists (default 200, Azure's maximum).
    pub fn set_backup_page_size(&self, n: usize) {
        self.app
            .backup_page_size
            .store(n.max(1), std::sync::atomic::Ordering::Relaxed);
    }
    pub async fn shutdown(mut self) {
        // While the port is still ours: no other sandbox can have written a file of its name.
        self.remove_own_ca();
        self.handle.graceful_shutdown(Some(Duration::from_secs(2)));
        let _ = (&mut self.task).await;
        self.flusher.abort();
        if let Ok(st) = self.app.state.lock() {
            self.app.save_now(&st);
        }
    }
}

impl Sandbox {
    /// Remove the CA file when it is this sandbox's own (`ca_temporary`), once.
    fn remove_own_ca(&mut self) {
        if std::mem::take(&mut self.ca_temporary) {
            let _ = std::fs::remove_file(&self.ca_path);
        }
    }
}

impl Drop for Sandbox {
    /// A sandbox dropped without [`Sandbox::shutdown`] (a command that failed half-way) still
    /// writes the mutations the flusher has not written yet. Its CA file in the temporary
    /// directory goes with it (one beside an env file stays, as the env file does) — while its
    /// server still holds the port the file is named by.
    fn drop(&mut self) {
        self.flusher.abort();
        self.app.flush_dirty();
        self.remove_own_ca();
    }
}

/// `sandbox init`: create or reset a state file from an inventory.
pub fn init(inventory: &std::path::Path, state: &std::path::Path) -> Result<(), SandboxError> {
    let st = fresh_state(Some(inventory))?;
    state::Persist {
        path: Some(state.to_path_buf()),
    }
    .save(&st)
}
