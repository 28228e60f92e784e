//! Two-phase settings: clap values + environment → resolved settings, and the connection
//! (a real ARM client, or one pointed at an in-process sandbox) every online command uses.

use super::args::{AuthArg, Cli, CloudArg, ColorArg, DiscoveryArg};
use crate::azure::{ArmClient, AuthChoice, ClientSettings, Cloud, EnvCredentials};
use crate::live::Discovery;
use crate::sandbox::{Sandbox, SandboxOptions};
use is_terminal::IsTerminal;
use miette::{miette, IntoDiagnostic, Result, WrapErr};
use std::path::PathBuf;

/// Settings every command shares, resolved once.
#[derive(Debug, Clone)]
pub struct GlobalSettings {
    pub sandbox: Option<PathBuf>,
    /// `AZPROTECT_SANDBOX_TIME_SCALE` (checked when the in-process sandbox starts).
    pub sandbox_time_scale: Option<String>,
    pub subscription: Option<String>,
    pub client: ClientSettings,
    pub ca_cert: Option<PathBuf>,
    /// Colour on stdout.
    pub color: bool,
    /// `--discovery`.
    pub discovery: Discovery,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl GlobalSettings {
    pub fn resolve(cli: &Cli) -> GlobalSettings {
        let color = match cli.color {
            ColorArg::Always => true,
            ColorArg::Never => false,
            ColorArg::Auto => env("NO_COLOR").is_none() && std::io::stdout().is_terminal(),
        };
        let client = ClientSettings {
            cloud: match cli.cloud {
                CloudArg::Public => Cloud::Public,
                CloudArg::Usgov => Cloud::UsGov,
                CloudArg::China => Cloud::China,
            },
            arm_endpoint: cli.arm_endpoint.clone(),
            authority_host: env("AZURE_AUTHORITY_HOST"),
            ca_cert_pem: None,
            auth: match cli.auth {
                AuthArg::Auto => AuthChoice::Auto,
                AuthArg::ClientSecret => AuthChoice::ClientSecret,
                AuthArg::WorkloadIdentity => AuthChoice::WorkloadIdentity,
                AuthArg::GithubOidc => AuthChoice::GithubOidc,
                AuthArg::ManagedIdentity => AuthChoice::ManagedIdentity,
                AuthArg::DeveloperTools => AuthChoice::DeveloperTools,
            },
            credentials: EnvCredentials {
                tenant_id: env("AZURE_TENANT_ID"),
                client_id: env("AZURE_CLIENT_ID"),
                client_secret: env("AZURE_CLIENT_SECRET"),
                federated_token_file: env("AZURE_FEDERATED_TOKEN_FILE").map(PathBuf::from),
                actions_token_url: env("ACTIONS_ID_TOKEN_REQUEST_URL"),
                actions_token: env("ACTIONS_ID_TOKEN_REQUEST_TOKEN"),
            },
            ..ClientSettings::default()
        };
        let client = match poll_interval(env("AZPROTECT_POLL_INTERVAL_MS")) {
            Some(every) => ClientSettings {
                lro: client.lro.clone().polling_every(every),
                ..client
            },
            None => client,
        };
        GlobalSettings {
            sandbox: cli.sandbox.clone(),
            sandbox_time_scale: env("AZPROTECT_SANDBOX_TIME_SCALE"),
            subscription: cli.subscription.clone(),
            client,
            ca_cert: cli.ca_cert.clone(),
            color,
            discovery: match cli.discovery {
                DiscoveryArg::Auto => Discovery::Auto,
                DiscoveryArg::ResourceGraph => Discovery::ResourceGraph,
                DiscoveryArg::Lists => Discovery::Lists,
            },
        }
    }
}

/// `AZPROTECT_POLL_INTERVAL_MS`: how often to poll an operation whose answers name no delay
/// (the sandbox's environment sets it; unset, Azure's default of 10 s applies). Unparseable
/// values are ignored.
fn poll_interval(v: Option<String>) -> Option<std::time::Duration> {
    v.and_then(|v| v.trim().parse::<u64>().ok())
        .map(std::time::Duration::from_millis)
}

/// Where `--sandbox` keeps its state when given no path.
pub const DEFAULT_SANDBOX_STATE: &str = ".azprotect/sandbox.json";

/// An open connection to ARM (and the sandbox behind it, kept alive as long as this lives).
pub struct Session {
    pub client: ArmClient,
    /// `--subscription`, else the sandbox's subscription.
    pub default_subscription: Option<String>,
    /// `--discovery`.
    pub discovery: Discovery,
    sandbox: Option<Sandbox>,
    /// `--sandbox`'s state file.
    sandbox_state: Option<PathBuf>,
}

impl Session {
    pub async fn open(settings: &GlobalSettings) -> Result<Session> {
        let mut client_settings = settings.client.clone();
        let mut default_subscription = settings.subscription.clone();
        let mut sandbox = None;
        if let Some(state) = &settings.sandbox {
            let defaults = SandboxOptions::default();
            let time_scale = match &settings.sandbox_time_scale {
                Some(v) => v
                    .trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|f| f.is_finite() && *f >= 0.0)
                    .ok_or_else(|| {
                        miette!("AZPROTECT_SANDBOX_TIME_SCALE={v}: expected a non-negative number, e.g. 0.01")
                    })?,
                None => defaults.time_scale,
            };
            let sb = Sandbox::start(SandboxOptions {
                state: Some(state.clone()),
                time_scale,
                ..defaults
            })
            .await
            .wrap_err("could not start the sandbox")?;
            let creds = sb.credentials();
            client_settings.arm_endpoint = Some(sb.endpoint());
            client_settings.authority_host = Some(sb.endpoint());
            client_settings.ca_cert_pem = Some(sb.ca_cert_pem().into_bytes());
            client_settings.auth = AuthChoice::ClientSecret;
            client_settings.lro = client_settings.lro.polling_every(sb.poll_interval());
            client_settings.credentials = EnvCredentials {
                tenant_id: Some(creds.tenant_id),
                client_id: Some(creds.client_id),
                client_secret: Some(creds.client_secret),
                ..EnvCredentials::default()
            };
            default_subscription.get_or_insert(creds.subscription_id);
            sandbox = Some(sb);
        } else if let Some(path) = &settings.ca_cert {
            let pem = std::fs::read(path).into_diagnostic().wrap_err_with(|| {
                format!("could not read the CA certificate {}", path.display())
            })?;
            client_settings.ca_cert_pem = Some(pem);
        }
        let client = ArmClient::new(client_settings).await?;
        Ok(Session {
            client,
            default_subscription,
            discovery: settings.discovery,
            sandbox,
            sandbox_state: settings.sandbox.clone(),
        })
    }

    /// What a saved plan names as the estate it was made against: the ARM endpoint, or the
    /// in-process sandbox's state file (its port is new each run).
    pub fn estate(&self) -> String {
        match &self.sandbox_state {
            Some(state) => {
                let state = std::path::absolute(state).unwrap_or_else(|_| state.clone());
                format!("sandbox:{}", state.display())
            }
            None => self.client.arm_endpoint().to_string(),
        }
    }

    /// Whether the estate is a sandbox (in-process, or served on a loopback address, where no
    /// Azure endpoint is): its durations are simulated, and reports say so.
    pub fn on_sandbox(&self) -> bool {
        self.sandbox.is_some()
            || url::Url::parse(self.client.arm_endpoint()).is_ok_and(|u| match u.host() {
                Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
                None => false,
            })
    }

    /// The global flags a follow-up command needs to reach the same estate (`--sandbox`).
    pub fn global_flags(&self) -> String {
        match &self.sandbox_state {
            Some(s) if s == std::path::Path::new(DEFAULT_SANDBOX_STATE) => "--sandbox ".into(),
            Some(s) => format!("--sandbox={} ", s.display()),
            None => String::new(),
        }
    }

    /// Open a session, run `work` with it, and close it whatever `work` returned.
    pub async fn with<T>(
        settings: &GlobalSettings,
        work: impl AsyncFnOnce(&Session) -> Result<T>,
    ) -> Result<T> {
        let session = Session::open(settings).await?;
        let result = work(&session).await;
        session.close().await;
        result
    }

    pub async fn close(self) {
        if let Some(sb) = self.sandbox {
            sb.shutdown().await;
        }
    }
}

/// Parse `--target` values into addresses.
pub fn targets(raw: &[String]) -> Result<Vec<crate::model::Address>> {
    raw.iter()
        .map(|t| {
            t.parse()
                .map_err(|e: crate::model::AddressError| miette!("--target {t}: {e}"))
        })
        .collect()
}
