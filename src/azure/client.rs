//! `ArmClient`: one shared client per run (cheap to clone).

use super::AzureError;
use crate::model::ArmRequest;
use serde_json::Value;
use std::path::PathBuf;

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
#[derive(Debug, Clone, Default)]
pub struct EnvCredentials {
    pub tenant_id: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub federated_token_file: Option<PathBuf>,
    /// `ACTIONS_ID_TOKEN_REQUEST_URL` / `ACTIONS_ID_TOKEN_REQUEST_TOKEN` (GitHub Actions OIDC).
    pub actions_token_url: Option<String>,
    pub actions_token: Option<String>,
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
}

/// The ARM client.
#[derive(Clone)]
pub struct ArmClient {}

impl ArmClient {
    pub async fn new(settings: ClientSettings) -> Result<ArmClient, AzureError> {
        let _ = settings;
        todo!()
    }

    /// The ARM endpoint requests go to, e.g. `https://management.azure.com`.
    pub fn arm_endpoint(&self) -> &str {
        todo!()
    }

    /// Send a request, retrying throttling and transient faults, and wait for any long-running
    /// operation it starts. Returns the final body (`None` for 204 / no body).
    pub async fn execute(&self, req: &ArmRequest) -> Result<Option<Value>, AzureError> {
        let _ = req;
        todo!()
    }

    /// GET a resource; `Ok(None)` on 404.
    pub async fn get_optional(&self, path: &str) -> Result<Option<Value>, AzureError> {
        let _ = path;
        todo!()
    }

    /// GET a collection and follow every `nextLink`; returns all `value` items.
    pub async fn list(&self, path: &str) -> Result<Vec<Value>, AzureError> {
        let _ = path;
        todo!()
    }

    /// How many HTTP requests this client has sent to ARM (retries and polls included).
    pub fn request_count(&self) -> u64 {
        todo!()
    }
}
