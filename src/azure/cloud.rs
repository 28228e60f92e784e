//! Clouds and endpoints: the ARM endpoint, the Entra authority host and the token scope for
//! each national cloud, and how `--arm-endpoint` / authority overrides combine with them.
//!
//! Audience rule: the token scope is `{cloud ARM endpoint}/.default` for the selected cloud. An
//! overridden ARM endpoint (a private cloud, the sandbox) keeps the *cloud's* audience — the
//! sandbox and ARM proxies accept it — unless `arm_audience` is set explicitly.

use super::client::{ClientSettings, Cloud};
use super::AzureError;
use url::Url;

impl Cloud {
    /// The cloud's ARM endpoint, without a trailing slash.
    pub fn arm_endpoint(self) -> &'static str {
        match self {
            Cloud::Public => "https://management.azure.com",
            Cloud::UsGov => "https://management.usgovcloudapi.net",
            Cloud::China => "https://management.chinacloudapi.cn",
        }
    }

    /// The cloud's Entra ID authority host.
    pub fn authority_host(self) -> &'static str {
        match self {
            Cloud::Public => "https://login.microsoftonline.com",
            Cloud::UsGov => "https://login.microsoftonline.us",
            Cloud::China => "https://login.chinacloudapi.cn",
        }
    }

    /// The scope asked for when requesting ARM tokens in this cloud.
    pub fn arm_scope(self) -> String {
        format!("{}/.default", self.arm_endpoint())
    }
}

/// Endpoints resolved from settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// ARM base URL, e.g. `https://management.azure.com` (no trailing slash).
    pub arm: String,
    /// Parsed ARM base URL (host and port are what poll and next links must match).
    pub arm_url: Url,
    /// Authority host (https).
    pub authority: String,
    /// Whether the authority differs from the cloud's default (then azure_identity gets a
    /// `CloudConfiguration::Custom`).
    pub authority_overridden: bool,
    /// Token scope, `{audience}/.default`.
    pub scope: String,
}

/// Resolve and validate endpoints: both must be absolute `https` URLs with a host.
pub fn resolve(settings: &ClientSettings) -> Result<Endpoints, AzureError> {
    let cloud = settings.cloud;
    let arm_raw = settings
        .arm_endpoint
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or(cloud.arm_endpoint());
    let arm_url = parse_https(arm_raw, "ARM endpoint")?;
    if arm_url.query().is_some() || arm_url.fragment().is_some() {
        return Err(AzureError::Config(format!(
            "ARM endpoint '{arm_raw}' must not carry a query or fragment"
        )));
    }
    let arm = arm_raw.trim_end_matches('/').to_string();

    let authority_raw = settings
        .authority_host
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let authority = match authority_raw {
        Some(a) => {
            parse_https(a, "authority host")?;
            a.trim_end_matches('/').to_string()
        }
        None => cloud.authority_host().to_string(),
    };
    let authority_overridden = authority != cloud.authority_host();

    let scope = match settings.arm_audience.as_deref().map(str::trim) {
        Some(a) if !a.is_empty() => {
            let a = a.trim_end_matches('/');
            if a.ends_with("/.default") {
                a.to_string()
            } else {
                format!("{a}/.default")
            }
        }
        _ => cloud.arm_scope(),
    };
    Ok(Endpoints {
        arm,
        arm_url,
        authority,
        authority_overridden,
        scope,
    })
}

fn parse_https(raw: &str, what: &str) -> Result<Url, AzureError> {
    let url = Url::parse(raw)
        .map_err(|e| AzureError::Config(format!("{what} '{raw}' is not a valid URL: {e}")))?;
    if url.scheme() != "https" {
        return Err(AzureError::Config(format!(
            "{what} '{raw}' must use https (TLS is always verified; pass --ca-cert for a private CA)"
        )));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(AzureError::Config(format!("{what} '{raw}' has no host")));
    }
    Ok(url)
}

/// Same scheme, host (case-insensitive) and port as the ARM endpoint. Tokens go nowhere else.
pub fn same_origin(url: &Url, arm: &Url) -> bool {
    url.scheme() == arm.scheme()
        && url
            .host_str()
            .zip(arm.host_str())
            .is_some_and(|(a, b)| a.eq_ignore_ascii_case(b))
        && url.port_or_known_default() == arm.port_or_known_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(cloud: Cloud) -> ClientSettings {
        ClientSettings {
            cloud,
            ..Default::default()
        }
    }

    #[test]
    fn national_clouds() {
        let e = resolve(&settings(Cloud::Public)).unwrap();
        assert_eq!(e.arm, "https://management.azure.com");
        assert_eq!(e.authority, "https://login.microsoftonline.com");
        assert_eq!(e.scope, "https://management.azure.com/.default");
        assert!(!e.authority_overridden);
        let e = resolve(&settings(Cloud::UsGov)).unwrap();
        assert_eq!(e.arm, "https://management.usgovcloudapi.net");
        assert_eq!(e.authority, "https://login.microsoftonline.us");
        assert_eq!(e.scope, "https://management.usgovcloudapi.net/.default");
        let e = resolve(&settings(Cloud::China)).unwrap();
        assert_eq!(e.arm, "https://management.chinacloudapi.cn");
        assert_eq!(e.authority, "https://login.chinacloudapi.cn");
    }

    #[test]
    fn overrides_keep_cloud_audience() {
        let mut s = settings(Cloud::Public);
        s.arm_endpoint = Some("https://127.0.0.1:8443/".into());
        s.authority_host = Some("https://127.0.0.1:8443".into());
        let e = resolve(&s).unwrap();
        assert_eq!(e.arm, "https://127.0.0.1:8443");
        assert_eq!(e.scope, "https://management.azure.com/.default");
        assert!(e.authority_overridden);
        s.arm_audience = Some("https://management.core.windows.net/".into());
        assert_eq!(
            resolve(&s).unwrap().scope,
            "https://management.core.windows.net/.default"
        );
    }

    #[test]
    fn rejects_http_and_garbage() {
        let mut s = settings(Cloud::Public);
        s.arm_endpoint = Some("http://localhost:8080".into());
        assert!(matches!(resolve(&s), Err(AzureError::Config(m)) if m.contains("https")));
        s.arm_endpoint = Some("not a url".into());
        assert!(resolve(&s).is_err());
        s.arm_endpoint = None;
        s.authority_host = Some("http://login".into());
        assert!(resolve(&s).is_err());
    }

    #[test]
    fn origin_check() {
        let arm = Url::parse("https://management.azure.com").unwrap();
        let ok = Url::parse("https://Management.Azure.com/Subscriptions/x?api-version=2016-12-01")
            .unwrap();
        assert!(same_origin(&ok, &arm));
        assert!(same_origin(
            &Url::parse("https://management.azure.com:443/x").unwrap(),
            &arm
        ));
        assert!(!same_origin(
            &Url::parse("https://evil.example.com/x").unwrap(),
            &arm
        ));
        assert!(!same_origin(
            &Url::parse("http://management.azure.com/x").unwrap(),
            &arm
        ));
        assert!(!same_origin(
            &Url::parse("https://management.azure.com:8443/x").unwrap(),
            &arm
        ));
    }
}
