//! The sandbox: a local ARM-compatible emulator over HTTPS, with a token endpoint, persisted
//! state, long-running operations, ARM throttling, latency and fault injection.
//!
//! Must not import: `plan`, `apply`, `config`, `cli`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// How to run a sandbox (`sandbox serve` flags, or the in-process `--sandbox`).
#[derive(Debug, Clone)]
pub struct SandboxOptions {
    /// Where state persists (`None`: in memory only).
    pub state: Option<PathBuf>,
    /// Inventory YAML to seed a state that does not exist yet (`None`: the demo inventory).
    pub inventory: Option<PathBuf>,
    pub listen: SocketAddr,
    pub latency: Option<Duration>,
    /// Seeded fault injection spec (see the README).
    pub faults: Option<String>,
    /// Enforce ARM's token buckets and send `x-ms-ratelimit-remaining-*`.
    pub throttle: bool,
    pub access_log: Option<PathBuf>,
    pub env_file: Option<PathBuf>,
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
            access_log: None,
            env_file: None,
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
pub struct Sandbox {}

impl Sandbox {
    pub async fn start(opts: SandboxOptions) -> Result<Sandbox, SandboxError> {
        let _ = opts;
        todo!()
    }
    /// `https://127.0.0.1:PORT` — both the ARM endpoint and the authority host.
    pub fn endpoint(&self) -> String {
        todo!()
    }
    /// The PEM of the CA that signed the server certificate (clients add it to trusted roots).
    pub fn ca_cert_pem(&self) -> String {
        todo!()
    }
    pub fn credentials(&self) -> SandboxCredentials {
        todo!()
    }
    /// `AZURE_TENANT_ID`, `AZURE_CLIENT_ID`, `AZURE_CLIENT_SECRET`, `AZURE_AUTHORITY_HOST`,
    /// `AZURE_SUBSCRIPTION_ID`, `AZPROTECT_ARM_ENDPOINT`, `AZPROTECT_CA_CERT` (a file path).
    pub fn env_vars(&self) -> Vec<(String, String)> {
        todo!()
    }
    pub async fn shutdown(self) {}
}

/// `sandbox init`: create or reset a state file from an inventory.
pub fn init(inventory: &std::path::Path, state: &std::path::Path) -> Result<(), SandboxError> {
    let _ = (inventory, state);
    todo!()
}
