//! The `reqwest::Client`s of a run: rustls with the platform verifier, extra trusted roots
//! from `ca_cert_pem` merged in (TLS is always verified), `azprotect/<version>` user agent,
//! timeouts, no redirects (a redirect must never carry the bearer token anywhere). ARM requests
//! are spread over [`CONNECTIONS`] clients ([`Connections`]); the first is also the transport
//! azure_identity uses for token requests, so they trust the same CA.

use super::retry::TransportFailure;
use super::AzureError;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// How many clients — each its own pool, so its own HTTP/2 connection — ARM requests are spread
/// over. One HTTP/2 connection carries at most the server's `SETTINGS_MAX_CONCURRENT_STREAMS`
/// requests at once (hyper's default 200, Kestrel's and HTTP.sys's 100) and queues the rest in
/// the client, whatever ARM's quotas would allow: its throughput is its streams over the
/// latency (200 / 60 ms ≈ 3,300 requests/s, the ceiling the 10,000-protection apply met).
/// Several connections also spread the requests over ARM's front ends (azure-service-operator
/// issue 2672, "Use multiple HTTP connections to ARM").
pub const CONNECTIONS: usize = 8;

/// Clients taken in turn, one per request.
#[derive(Debug)]
pub struct Connections {
    clients: Vec<reqwest::Client>,
    next: AtomicUsize,
}

impl Connections {
    /// `n` (at least one) clients as [`build_client`] makes them.
    pub fn build(
        ca_cert_pem: Option<&[u8]>,
        timeouts: &HttpTimeouts,
        user_agent: Option<&str>,
        n: usize,
    ) -> Result<Connections, AzureError> {
        let clients = (0..n.max(1))
            .map(|_| build_client(ca_cert_pem, timeouts, user_agent))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Connections {
            clients,
            next: AtomicUsize::new(0),
        })
    }

    /// The client for the next request.
    pub fn next(&self) -> &reqwest::Client {
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        &self.clients[i % self.clients.len()]
    }

    /// The first client (token requests).
    pub fn first(&self) -> &reqwest::Client {
        &self.clients[0]
    }
}

/// `azprotect/<version>`.
pub const USER_AGENT: &str = concat!("azprotect/", env!("CARGO_PKG_VERSION"));

/// Timeouts of the shared client.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpTimeouts {
    pub connect: Duration,
    /// Per read (idle) timeout.
    pub read: Duration,
    /// Whole request, headers and body.
    pub request: Duration,
}

impl Default for HttpTimeouts {
    fn default() -> Self {
        HttpTimeouts {
            connect: Duration::from_secs(20),
            read: Duration::from_secs(60),
            request: Duration::from_secs(120),
        }
    }
}

/// Build the shared client. `ca_cert_pem` may hold one or more PEM certificates.
pub fn build_client(
    ca_cert_pem: Option<&[u8]>,
    timeouts: &HttpTimeouts,
    user_agent: Option<&str>,
) -> Result<reqwest::Client, AzureError> {
    let mut builder = reqwest::Client::builder()
        .user_agent(user_agent.unwrap_or(USER_AGENT))
        .connect_timeout(timeouts.connect)
        .read_timeout(timeouts.read)
        .timeout(timeouts.request)
        .redirect(reqwest::redirect::Policy::none())
        .https_only(false) // managed identity's IMDS endpoint is plain http; ARM URLs are checked
        .pool_idle_timeout(Duration::from_secs(90));
    if let Some(pem) = ca_cert_pem {
        let certs = reqwest::Certificate::from_pem_bundle(pem)
            .map_err(|e| AzureError::Config(format!("the CA certificate is not valid PEM: {e}")))?;
        if certs.is_empty() {
            return Err(AzureError::Config(
                "the CA certificate file holds no PEM certificate".into(),
            ));
        }
        builder = builder.tls_certs_merge(certs);
    }
    builder
        .build()
        .map_err(|e| AzureError::Config(format!("cannot build the HTTP client: {}", chain(&e))))
}

/// Classify a reqwest failure for the retry table: its sources say whether the certificate was
/// refused (rustls) or the name did not resolve, which no retry can fix.
pub fn classify(err: &reqwest::Error) -> TransportFailure {
    classify_chain(err, err.is_connect(), err.is_timeout())
}

/// [`classify`] over any error chain.
pub fn classify_chain(
    err: &(dyn std::error::Error + 'static),
    connect: bool,
    timeout: bool,
) -> TransportFailure {
    let mut src: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = src {
        if e.downcast_ref::<rustls::Error>().is_some_and(|r| {
            matches!(
                r,
                rustls::Error::InvalidCertificate(_) | rustls::Error::NoCertificatesPresented
            )
        }) {
            return TransportFailure::Certificate;
        }
        let text = e.to_string().to_ascii_lowercase();
        if text.contains("invalid peer certificate") || text.contains("unknownissuer") {
            return TransportFailure::Certificate;
        }
        // A name that does not exist is final; a resolver that did not answer this time
        // ("Temporary failure in name resolution") is not.
        if text.contains("name or service not known")
            || text.contains("no such host is known")
            || text.contains("nodename nor servname")
            || text.contains("no address associated with hostname")
        {
            return TransportFailure::Dns;
        }
        src = e.source();
    }
    // A connect that timed out is a timeout (the network may come back), not a refusal.
    if timeout {
        TransportFailure::Timeout
    } else if connect {
        TransportFailure::Connect
    } else {
        TransportFailure::Other
    }
}

/// An error and its sources on one line (reqwest's Display alone hides the cause, e.g. the TLS
/// verification failure). URLs inside are stripped of their query.
pub fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![err.to_string()];
    let mut src = err.source();
    while let Some(s) = src {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        src = s.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_with_and_without_ca() {
        build_client(None, &HttpTimeouts::default(), None).unwrap();
        let err = build_client(Some(b"not pem"), &HttpTimeouts::default(), None).unwrap_err();
        assert!(matches!(err, AzureError::Config(_)));
    }

    #[test]
    fn requests_take_the_connections_in_turn() {
        let c = Connections::build(None, &HttpTimeouts::default(), None, 3).unwrap();
        let taken: Vec<*const reqwest::Client> = (0..6).map(|_| c.next() as *const _).collect();
        assert_eq!(taken[0], c.first() as *const _);
        assert_eq!(
            taken[..3],
            taken[3..],
            "the fourth request takes the first again"
        );
        assert!(taken[0] != taken[1] && taken[1] != taken[2] && taken[0] != taken[2]);
        // Never none.
        let one = Connections::build(None, &HttpTimeouts::default(), None, 0).unwrap();
        assert!(std::ptr::eq(one.next(), one.first()));
    }

    #[test]
    fn user_agent_has_version() {
        assert!(USER_AGENT.starts_with("azprotect/"));
        assert!(USER_AGENT.len() > "azprotect/".len());
    }
}

/// azure_identity's transport: the same reqwest client, except that a certificate the client
/// does not trust, or a host name that does not resolve, comes back as a final error rather than
/// the I/O error azure_core would retry for minutes without a word.
#[derive(Debug)]
pub struct TokenTransport {
    pub http: reqwest::Client,
    /// Refused connections in a row; azure_core's retry is ended after `max_refusals`.
    refused: std::sync::atomic::AtomicU32,
    max_refusals: u32,
}

impl TokenTransport {
    pub fn new(http: reqwest::Client, max_refusals: u32) -> TokenTransport {
        TokenTransport {
            http,
            refused: Default::default(),
            max_refusals,
        }
    }
}

/// The token endpoint could not be reached, and retrying will not help: the source of the
/// token error, so that authentication can tell it from a refused credential.
#[derive(Debug)]
pub struct TokenEndpointUnreachable(pub String);

impl std::fmt::Display for TokenEndpointUnreachable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TokenEndpointUnreachable {}

/// A final error (azure_core does not retry `Other`) that says the endpoint is unreachable.
fn unreachable(message: String) -> azure_core::Error {
    azure_core::Error::new(
        azure_core::error::ErrorKind::Other,
        TokenEndpointUnreachable(message),
    )
}

/// Whether `err` (an azure_identity error) comes from an unreachable token endpoint.
pub fn token_endpoint_unreachable(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut src = Some(err);
    while let Some(e) = src {
        // Ours (final), or azure_core's own retries run out on a connection never made. An
        // azure_core error's source is the error it wraps: the walk reaches each in turn.
        let connection = e
            .downcast_ref::<azure_core::Error>()
            .is_some_and(|c| *c.kind() == azure_core::error::ErrorKind::Connection);
        if connection
            || e.downcast_ref::<TokenEndpointUnreachable>().is_some()
            || e.downcast_ref::<reqwest::Error>()
                .is_some_and(reqwest::Error::is_connect)
        {
            return true;
        }
        src = e.source();
    }
    false
}

#[async_trait::async_trait]
impl azure_core::http::HttpClient for TokenTransport {
    async fn execute_request(
        &self,
        request: &azure_core::http::Request,
    ) -> azure_core::Result<azure_core::http::AsyncRawResponse> {
        use std::sync::atomic::Ordering;
        let result = self.http.execute_request(request).await;
        if result.is_ok() {
            self.refused.store(0, Ordering::Relaxed);
        }
        match result {
            Err(e)
                if matches!(
                    classify_chain(&e, false, false),
                    TransportFailure::Certificate | TransportFailure::Dns
                ) =>
            {
                Err(unreachable(chain(&e)))
            }
            Err(e) if *e.kind() == azure_core::error::ErrorKind::Connection => {
                let n = self.refused.fetch_add(1, Ordering::Relaxed) + 1;
                let host = request.url().host_str().unwrap_or("");
                if n >= self.max_refusals {
                    // Final: azure_core does not retry `Other`.
                    return Err(unreachable(format!("{} (after {n} attempts)", chain(&e))));
                }
                // azure_core retries it: say so while it waits — except for the managed
                // identity endpoint, which ambient authentication probes on every machine.
                if host == "169.254.169.254" {
                    tracing::debug!("no managed identity endpoint here: {}", chain(&e));
                } else {
                    tracing::warn!(
                        "retrying ({n}/{}): the token endpoint {host} could not be reached: {}",
                        self.max_refusals,
                        chain(&e)
                    );
                }
                Err(e)
            }
            other => other,
        }
    }
}

#[cfg(test)]
mod classify_tests {
    use super::*;

    fn io(text: &str) -> std::io::Error {
        std::io::Error::other(text.to_string())
    }

    #[test]
    fn only_what_waiting_cannot_fix_is_final() {
        let final_ = [
            "dns error: failed to lookup address information: Name or service not known",
            "invalid peer certificate: UnknownIssuer",
        ];
        for t in final_ {
            assert!(
                matches!(
                    classify_chain(&io(t), true, false),
                    TransportFailure::Dns | TransportFailure::Certificate
                ),
                "{t}"
            );
        }
        // A resolver that did not answer this time, a refusal, a connect that timed out.
        let temporary =
            "dns error: failed to lookup address information: Temporary failure in name resolution";
        assert_eq!(
            classify_chain(&io(temporary), true, false),
            TransportFailure::Connect
        );
        assert_eq!(
            classify_chain(&io("Connection refused"), true, false),
            TransportFailure::Connect
        );
        assert_eq!(
            classify_chain(&io("timed out"), true, true),
            TransportFailure::Timeout
        );
    }
}
