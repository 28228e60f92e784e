//! Authentication: pick a credential (pure: [`select`]), build it with azure_identity 1.0 on our
//! reqwest transport and cloud/authority, and hand out bearer tokens from a cache.
//!
//! Order for `AuthChoice::Auto` (azure_identity 1.0 has no default chain):
//! 1. client secret — tenant, client id and secret all present (a secret without tenant or client
//!    id is a configuration error, not silently skipped);
//! 2. workload identity — tenant, client id and federated token file;
//! 3. GitHub Actions OIDC — tenant, client id, `ACTIONS_ID_TOKEN_REQUEST_URL` and `…_TOKEN`
//!    (a [`ClientAssertion`] that fetches the GitHub ID token with our reqwest client);
//! 4. otherwise managed identity, then developer tools (Azure CLI, azd), tried at the first token
//!    request; the first that answers is kept.
//!
//! An explicit choice uses only that credential and errors when its inputs are missing.
//!
//! Caching: ClientSecret / ClientAssertion credentials cache inside azure_identity (refresh 5 min
//! before expiry); managed identity and the CLI do not, so [`TokenProvider`] caches every
//! credential's token itself with the same 5-minute margin. A 401 from ARM invalidates our cache
//! (azure_identity's own cache cannot be bypassed in 1.0; the retry then mostly helps with clock
//! skew and credential-propagation races).

use super::client::{AuthChoice, EnvCredentials};
use super::http::chain;
use super::retry::RetryPolicy;
use super::AzureError;
use azure_core::cloud::CloudConfiguration;
use azure_core::credentials::{AccessToken, Secret, TokenCredential, TokenRequestOptions};
use azure_core::error::ErrorKind;
use azure_core::http::{
    ClientMethodOptions, ClientOptions, ExponentialRetryOptions, RetryOptions, Transport,
};
use azure_identity::{
    ClientAssertion, ClientAssertionCredential, ClientAssertionCredentialOptions,
    ClientSecretCredential, ClientSecretCredentialOptions, DeveloperToolsCredential,
    ManagedIdentityCredential, ManagedIdentityCredentialOptions, UserAssignedId,
    WorkloadIdentityCredential, WorkloadIdentityCredentialOptions,
};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;

/// The credential [`select`] settled on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialKind {
    ClientSecret,
    WorkloadIdentity,
    GithubOidc,
    ManagedIdentity,
    DeveloperTools,
    /// Managed identity, then developer tools (Auto without explicit inputs).
    Ambient,
}

fn present(v: &Option<String>) -> bool {
    v.as_deref().is_some_and(|s| !s.trim().is_empty())
}

fn missing(kind: &str, what: &[(&str, bool)]) -> Result<(), AzureError> {
    let absent: Vec<&str> = what.iter().filter(|(_, p)| !p).map(|(n, _)| *n).collect();
    if absent.is_empty() {
        Ok(())
    } else {
        Err(AzureError::Config(format!(
            "--auth {kind} needs {}",
            absent.join(", ")
        )))
    }
}

/// Choose the credential from the flag and the inputs present. Pure.
pub fn select(choice: AuthChoice, c: &EnvCredentials) -> Result<CredentialKind, AzureError> {
    let tenant = ("AZURE_TENANT_ID", present(&c.tenant_id));
    let client = ("AZURE_CLIENT_ID", present(&c.client_id));
    let secret = ("AZURE_CLIENT_SECRET", present(&c.client_secret));
    let file = (
        "AZURE_FEDERATED_TOKEN_FILE",
        c.federated_token_file
            .as_ref()
            .is_some_and(|p| !p.as_os_str().is_empty()),
    );
    let gh_url = (
        "ACTIONS_ID_TOKEN_REQUEST_URL",
        present(&c.actions_token_url),
    );
    let gh_tok = ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", present(&c.actions_token));
    match choice {
        AuthChoice::ClientSecret => {
            missing("client-secret", &[tenant, client, secret])?;
            Ok(CredentialKind::ClientSecret)
        }
        AuthChoice::WorkloadIdentity => {
            missing("workload-identity", &[tenant, client, file])?;
            Ok(CredentialKind::WorkloadIdentity)
        }
        AuthChoice::GithubOidc => {
            missing("github-oidc", &[tenant, client, gh_url, gh_tok]).map_err(|e| {
                AzureError::Config(format!(
                    "{e} (the job needs `permissions: id-token: write`)"
                ))
            })?;
            Ok(CredentialKind::GithubOidc)
        }
        AuthChoice::ManagedIdentity => Ok(CredentialKind::ManagedIdentity),
        AuthChoice::DeveloperTools => Ok(CredentialKind::DeveloperTools),
        AuthChoice::Auto => {
            if secret.1 {
                missing("client-secret", &[tenant, client]).map_err(|e| {
                    AzureError::Config(format!("AZURE_CLIENT_SECRET is set but {e}"))
                })?;
                return Ok(CredentialKind::ClientSecret);
            }
            if tenant.1 && client.1 && file.1 {
                return Ok(CredentialKind::WorkloadIdentity);
            }
            if tenant.1 && client.1 && gh_url.1 && gh_tok.1 {
                return Ok(CredentialKind::GithubOidc);
            }
            Ok(CredentialKind::Ambient)
        }
    }
}

/// What building a credential needs besides the inputs.
pub struct AuthContext {
    pub http: reqwest::Client,
    /// Client with a short connect timeout for managed identity endpoints.
    pub probe_http: reqwest::Client,
    pub cloud: CloudConfiguration,
    /// Retry options for token requests (azure_core's pipeline retries them).
    pub token_retry: RetryOptions,
    /// Refused connections to the token endpoint before giving up.
    pub max_refusals: u32,
}

/// azure_core retry options mirroring our retry policy (token requests go through azure_core).
pub fn token_retry_options(p: &RetryPolicy) -> RetryOptions {
    if p.max_attempts <= 1 {
        return RetryOptions::none();
    }
    let conv = |d: Duration| azure_core::time::Duration::milliseconds(d.as_millis() as i64);
    RetryOptions::exponential(ExponentialRetryOptions {
        initial_delay: conv(p.initial_backoff),
        // Throttling and server faults keep the full retry; a refused token endpoint is cut
        // short by the transport (`TokenTransport`).
        max_retries: p.max_attempts - 1,
        max_total_elapsed: conv(p.total_budget.min(Duration::from_secs(120))),
        max_delay: conv(p.max_backoff),
    })
}

impl AuthContext {
    fn client_options(&self, http: &reqwest::Client) -> ClientOptions {
        ClientOptions {
            transport: Some(Transport::new(Arc::new(super::http::TokenTransport::new(
                http.clone(),
                self.max_refusals,
            )))),
            cloud: Some(Arc::new(self.cloud.clone())),
            retry: self.token_retry.clone(),
            ..Default::default()
        }
    }
}

fn auth_err(e: azure_core::Error) -> AzureError {
    if super::http::token_endpoint_unreachable(&e) {
        AzureError::TokenEndpointUnreachable(chain(&e))
    } else {
        AzureError::Auth(chain(&e))
    }
}

fn s(v: &Option<String>) -> String {
    v.as_deref().unwrap_or_default().trim().to_string()
}

/// Build the azure_identity credential for `kind`.
pub fn build(
    kind: CredentialKind,
    c: &EnvCredentials,
    ctx: &AuthContext,
) -> Result<Arc<dyn TokenCredential>, AzureError> {
    let cred: Arc<dyn TokenCredential> = match kind {
        CredentialKind::ClientSecret => ClientSecretCredential::new(
            &s(&c.tenant_id),
            s(&c.client_id),
            Secret::new(s(&c.client_secret)),
            Some(ClientSecretCredentialOptions {
                client_options: ctx.client_options(&ctx.http),
            }),
        )
        .map_err(auth_err)?,
        CredentialKind::WorkloadIdentity => {
            WorkloadIdentityCredential::new(Some(WorkloadIdentityCredentialOptions {
                credential_options: ClientAssertionCredentialOptions {
                    client_options: ctx.client_options(&ctx.http),
                },
                client_id: Some(s(&c.client_id)),
                tenant_id: Some(s(&c.tenant_id)),
                token_file_path: c.federated_token_file.clone(),
            }))
            .map_err(auth_err)?
        }
        CredentialKind::GithubOidc => ClientAssertionCredential::new(
            s(&c.tenant_id),
            s(&c.client_id),
            GithubOidcAssertion {
                http: ctx.http.clone(),
                url: s(&c.actions_token_url),
                token: Secret::new(s(&c.actions_token)),
            },
            Some(ClientAssertionCredentialOptions {
                client_options: ctx.client_options(&ctx.http),
            }),
        )
        .map_err(auth_err)?,
        CredentialKind::ManagedIdentity => managed_identity(c, ctx)?,
        CredentialKind::DeveloperTools => DeveloperToolsCredential::new(None).map_err(auth_err)?,
        CredentialKind::Ambient => Arc::new(FirstThatWorks {
            sources: vec![
                ("managed identity", managed_identity(c, ctx)?),
                (
                    "developer tools (Azure CLI, azd)",
                    DeveloperToolsCredential::new(None).map_err(auth_err)?,
                ),
            ],
            chosen: std::sync::OnceLock::new(),
        }),
    };
    Ok(cred)
}

fn managed_identity(
    c: &EnvCredentials,
    ctx: &AuthContext,
) -> Result<Arc<dyn TokenCredential>, AzureError> {
    let user_assigned_id = c
        .client_id
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|id| UserAssignedId::ClientId(id.to_string()));
    let cred = ManagedIdentityCredential::new(Some(ManagedIdentityCredentialOptions {
        user_assigned_id,
        client_options: ctx.client_options(&ctx.probe_http),
    }))
    .map_err(auth_err)?;
    Ok(cred)
}

/// GitHub Actions OIDC: GET `ACTIONS_ID_TOKEN_REQUEST_URL&audience=api://AzureADTokenExchange`
/// with `Authorization: bearer ACTIONS_ID_TOKEN_REQUEST_TOKEN`, return the `value` JWT.
pub struct GithubOidcAssertion {
    pub http: reqwest::Client,
    pub url: String,
    pub token: Secret,
}

impl fmt::Debug for GithubOidcAssertion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GithubOidcAssertion")
            .finish_non_exhaustive()
    }
}

/// The audience Entra expects in federated GitHub tokens.
pub const GITHUB_AUDIENCE: &str = "api://AzureADTokenExchange";

/// The GitHub ID-token request URL with the audience appended.
pub fn github_token_url(base: &str) -> Result<url::Url, String> {
    let mut url = url::Url::parse(base)
        .map_err(|e| format!("ACTIONS_ID_TOKEN_REQUEST_URL is not a URL: {e}"))?;
    url.query_pairs_mut()
        .append_pair("audience", GITHUB_AUDIENCE);
    Ok(url)
}

#[async_trait::async_trait]
impl ClientAssertion for GithubOidcAssertion {
    async fn secret(&self, _: Option<ClientMethodOptions<'_>>) -> azure_core::Result<String> {
        let cred_err = |m: String| azure_core::Error::with_message(ErrorKind::Credential, m);
        let url = github_token_url(&self.url).map_err(cred_err)?;
        let rsp = self
            .http
            .get(url)
            .header("Authorization", format!("bearer {}", self.token.secret()))
            .header("Accept", "application/json")
            .send()
            .await
            .map_err(|e| cred_err(format!("GitHub OIDC token request failed: {}", chain(&e))))?;
        let status = rsp.status();
        let body: serde_json::Value = rsp.json().await.map_err(|e| {
            cred_err(format!(
                "GitHub OIDC token response unreadable ({status}): {e}"
            ))
        })?;
        if !status.is_success() {
            return Err(cred_err(format!(
                "GitHub OIDC token request answered {status} (does the job have `permissions: id-token: write`?)"
            )));
        }
        body.get("value")
            .and_then(|v| v.as_str())
            .filter(|v| !v.is_empty())
            .map(str::to_string)
            .ok_or_else(|| cred_err("GitHub OIDC token response has no `value`".into()))
    }
}

/// Tries each source in order at the first token request; keeps the first that works.
struct FirstThatWorks {
    sources: Vec<(&'static str, Arc<dyn TokenCredential>)>,
    chosen: std::sync::OnceLock<usize>,
}

impl fmt::Debug for FirstThatWorks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FirstThatWorks").finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl TokenCredential for FirstThatWorks {
    async fn get_token(
        &self,
        scopes: &[&str],
        options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        if let Some(i) = self.chosen.get() {
            return self.sources[*i].1.get_token(scopes, options).await;
        }
        let mut errors = Vec::new();
        for (i, (name, src)) in self.sources.iter().enumerate() {
            match src.get_token(scopes, options.clone()).await {
                Ok(t) => {
                    tracing::debug!(credential = name, "authenticated");
                    let _ = self.chosen.set(i);
                    return Ok(t);
                }
                Err(e) => errors.push(format!("{name}: {}", chain(&e))),
            }
        }
        Err(azure_core::Error::with_message(
            ErrorKind::Credential,
            format!(
                "no credential found (no AZURE_CLIENT_SECRET, federated token file or GitHub OIDC \
                 variables; then tried: {})",
                errors.join("; ")
            ),
        ))
    }
}

/// Refresh this long before expiry.
pub const REFRESH_MARGIN: Duration = Duration::from_secs(300);

/// Hands out bearer tokens for the ARM scope, cached until `REFRESH_MARGIN` before expiry.
pub struct TokenProvider {
    cred: Arc<dyn TokenCredential>,
    scope: String,
    cache: Mutex<Option<AccessToken>>,
}

impl fmt::Debug for TokenProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenProvider")
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

impl TokenProvider {
    pub fn new(cred: Arc<dyn TokenCredential>, scope: String) -> Self {
        TokenProvider {
            cred,
            scope,
            cache: Mutex::new(None),
        }
    }

    /// A valid token (from cache when fresh).
    pub async fn token(&self) -> Result<Secret, AzureError> {
        let mut cache = self.cache.lock().await;
        let now = time::OffsetDateTime::now_utc();
        if let Some(t) = cache.as_ref() {
            if t.expires_on > now + REFRESH_MARGIN {
                return Ok(t.token.clone());
            }
        }
        let t = self
            .cred
            .get_token(&[self.scope.as_str()], None)
            .await
            .map_err(auth_err)?;
        tracing::debug!(expires_on = %t.expires_on, "obtained an ARM token");
        let secret = t.token.clone();
        *cache = Some(t);
        Ok(secret)
    }

    /// Forget the cached token (after a 401).
    pub async fn invalidate(&self) {
        *self.cache.lock().await = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn creds() -> EnvCredentials {
        EnvCredentials::default()
    }

    #[test]
    fn auto_order() {
        let mut c = creds();
        assert_eq!(
            select(AuthChoice::Auto, &c).unwrap(),
            CredentialKind::Ambient
        );
        c.tenant_id = Some("t".into());
        c.client_id = Some("c".into());
        c.actions_token_url = Some("https://gh/x?a=1".into());
        c.actions_token = Some("gh".into());
        assert_eq!(
            select(AuthChoice::Auto, &c).unwrap(),
            CredentialKind::GithubOidc
        );
        c.federated_token_file = Some(PathBuf::from("/var/run/token"));
        assert_eq!(
            select(AuthChoice::Auto, &c).unwrap(),
            CredentialKind::WorkloadIdentity
        );
        c.client_secret = Some("s".into());
        assert_eq!(
            select(AuthChoice::Auto, &c).unwrap(),
            CredentialKind::ClientSecret
        );
    }

    #[test]
    fn auto_partial_secret_is_an_error() {
        let mut c = creds();
        c.client_secret = Some("s".into());
        c.client_id = Some("c".into());
        let e = select(AuthChoice::Auto, &c).unwrap_err().to_string();
        assert!(e.contains("AZURE_TENANT_ID"), "{e}");
        assert!(!e.contains("AZURE_CLIENT_ID,"), "{e}");
    }

    #[test]
    fn auto_skips_incomplete_federation() {
        let mut c = creds();
        c.federated_token_file = Some(PathBuf::from("/f"));
        c.actions_token_url = Some("https://gh".into());
        assert_eq!(
            select(AuthChoice::Auto, &c).unwrap(),
            CredentialKind::Ambient
        );
        c.tenant_id = Some("  ".into());
        c.client_id = Some("c".into());
        assert_eq!(
            select(AuthChoice::Auto, &c).unwrap(),
            CredentialKind::Ambient
        );
    }

    #[test]
    fn explicit_choices_name_missing_inputs() {
        let c = creds();
        let e = select(AuthChoice::ClientSecret, &c)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET"),
            "{e}"
        );
        let e = select(AuthChoice::WorkloadIdentity, &c)
            .unwrap_err()
            .to_string();
        assert!(e.contains("AZURE_FEDERATED_TOKEN_FILE"), "{e}");
        let e = select(AuthChoice::GithubOidc, &c).unwrap_err().to_string();
        assert!(
            e.contains("ACTIONS_ID_TOKEN_REQUEST_TOKEN") && e.contains("id-token"),
            "{e}"
        );
        assert_eq!(
            select(AuthChoice::ManagedIdentity, &c).unwrap(),
            CredentialKind::ManagedIdentity
        );
        assert_eq!(
            select(AuthChoice::DeveloperTools, &c).unwrap(),
            CredentialKind::DeveloperTools
        );
    }

    #[test]
    fn github_url_gets_audience() {
        let u = github_token_url(
            "https://pipelines.actions.githubusercontent.com/abc/idtoken?api-version=2.0",
        )
        .unwrap();
        assert_eq!(
            u.as_str(),
            "https://pipelines.actions.githubusercontent.com/abc/idtoken?api-version=2.0&audience=api%3A%2F%2FAzureADTokenExchange"
        );
        let pairs: Vec<_> = u.query_pairs().collect();
        assert_eq!(pairs[1].1, GITHUB_AUDIENCE);
        assert!(github_token_url("nope").is_err());
    }

    #[test]
    fn assertion_debug_hides_token() {
        let a = GithubOidcAssertion {
            http: reqwest::Client::new(),
            url: "https://x".into(),
            token: Secret::new("super-secret-value"),
        };
        assert!(!format!("{a:?}").contains("super-secret-value"));
    }
}
