//! Microsoft Entra ID emulation: the v2.0 token endpoint (client secret and client assertion
//! flows), OpenID discovery, and HS256 access tokens that every ARM route verifies.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use super::errors::ArmError;
use super::state::Identity;

type HmacSha256 = Hmac<Sha256>;

/// Token lifetime in seconds (Entra answers 3599 for client credentials).
pub const TOKEN_LIFETIME: i64 = 3599;
const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

fn sign(secret: &str, data: &[u8]) -> Vec<u8> {
    let key = base64::engine::general_purpose::STANDARD
        .decode(secret)
        .unwrap_or_else(|_| secret.as_bytes().to_vec());
    // HMAC accepts keys of any length; new_from_slice cannot fail for HMAC.
    let mut mac = match HmacSha256::new_from_slice(&key) {
        Ok(m) => m,
        Err(_) => return Vec::new(),
    };
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// Issue an HS256 access token.
pub fn issue_token(id: &Identity, audience: &str, now: i64) -> String {
    let header = json!({"typ": "JWT", "alg": "HS256", "kid": "sandbox"});
    let claims = json!({
        "aud": audience,
        "iss": format!("https://sts.windows.net/{}/", id.tenant_id),
        "iat": now, "nbf": now, "exp": now + TOKEN_LIFETIME,
        "appid": id.client_id, "appidacr": "1",
        "idp": format!("https://sts.windows.net/{}/", id.tenant_id),
        "oid": inventory_oid(&id.client_id),
        "sub": inventory_oid(&id.client_id),
        "tid": id.tenant_id,
        "uti": uuid::Uuid::new_v4().simple().to_string(),
        "ver": "1.0",
    });
    let h = URL_SAFE_NO_PAD.encode(header.to_string());
    let c = URL_SAFE_NO_PAD.encode(claims.to_string());
    let signing_input = format!("{h}.{c}");
    let sig = URL_SAFE_NO_PAD.encode(sign(&id.token_secret, signing_input.as_bytes()));
    format!("{signing_input}.{sig}")
}

fn inventory_oid(client_id: &str) -> String {
    super::inventory::stable_guid(&format!("sp:{client_id}"))
}

/// Clock skew Entra ID tolerates on `nbf`, in seconds.
const CLOCK_SKEW: i64 = 300;

/// Decode a JWT's header without verifying it.
fn decode_header(token: &str) -> Option<Value> {
    let header = token.split('.').next()?;
    let h: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header.trim_end_matches('=')).ok()?).ok()?;
    h.is_object().then_some(h)
}

/// Decode a JWT's payload without verifying it.
pub fn decode_claims(token: &str) -> Option<Value> {
    let mut parts = token.split('.');
    let header = parts.next()?;
    let payload = parts.next()?;
    let _sig = parts.next()?;
    if parts.next().is_some() {
        return None;
    }
    let h: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header.trim_end_matches('=')).ok()?).ok()?;
    if !h.is_object() {
        return None;
    }
    let c: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?)
            .ok()?;
    c.is_object().then_some(c)
}

/// [`verify`] without the lifetime (the tests' view of it).
#[cfg(test)]
fn check_bearer(
    id: &Identity,
    header: Option<&str>,
    now: i64,
    authority: &str,
) -> Result<(), ArmError> {
    verify(id, header, now, authority).map(|_| ())
}

/// When an accepted token is valid: `nbf` and `exp`, in seconds.
#[derive(Debug, Clone, Copy)]
struct Lifetime {
    nbf: i64,
    exp: i64,
}

impl Lifetime {
    fn holds(self, now: i64) -> bool {
        self.nbf <= now + CLOCK_SKEW && self.exp > now
    }
}

/// Verify an ARM request's `Authorization` header; when the token is accepted, when it is valid.
fn verify(
    id: &Identity,
    header: Option<&str>,
    now: i64,
    authority: &str,
) -> Result<Lifetime, ArmError> {
    let www = |desc: &str| {
        format!(
            "Bearer authorization_uri=\"{authority}/{}\", error=\"invalid_token\", error_description=\"{desc}\"",
            id.tenant_id
        )
    };
    let Some(h) = header else {
        return Err(ArmError::new(
            401,
            "AuthenticationFailed",
            "Authentication failed. The 'Authorization' header is missing.",
        )
        .with_header(
            "WWW-Authenticate",
            www("The authentication failed because of missing 'Authorization' header."),
        ));
    };
    let token = match h.split_once(' ') {
        Some((scheme, t)) if scheme.eq_ignore_ascii_case("bearer") => t.trim(),
        _ => {
            return Err(ArmError::new(401, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is provided in an invalid format.")
                .with_header("WWW-Authenticate", www("The authentication failed because of invalid 'Authorization' header format.")));
        }
    };
    let invalid = || {
        ArmError::new(
            401,
            "InvalidAuthenticationToken",
            "The access token is invalid.",
        )
        .with_header("WWW-Authenticate", www("The access token is invalid."))
    };
    let Some((signing_input, sig)) = token.rsplit_once('.') else {
        return Err(invalid());
    };
    let expected = URL_SAFE_NO_PAD.encode(sign(&id.token_secret, signing_input.as_bytes()));
    if !constant_eq(expected.as_bytes(), sig.as_bytes()) {
        return Err(invalid());
    }
    // Signed with our key is not enough: the header must be the one the token endpoint writes
    // (an `alg` or `kid` it does not use is not one of its tokens).
    let header = decode_header(token).ok_or_else(invalid)?;
    if header["alg"] != "HS256" || header["kid"] != "sandbox" {
        return Err(invalid());
    }
    let claims = decode_claims(token).ok_or_else(invalid)?;
    // Not valid before `nbf` (Entra ID allows five minutes of clock skew).
    let nbf = claims["nbf"].as_i64().unwrap_or(i64::MAX);
    if nbf > now + CLOCK_SKEW {
        return Err(ArmError::new(
            401,
            "InvalidAuthenticationToken",
            "The access token is not yet valid.",
        )
        .with_header(
            "WWW-Authenticate",
            www("The access token is not yet valid."),
        ));
    }
    // A token for an application this tenant does not have: Azure authenticates it, then
    // refuses it every action.
    if claims["appid"].as_str() != Some(id.client_id.as_str()) {
        return Err(ArmError::new(
            403,
            "AuthorizationFailed",
            format!(
                "The client '{}' with object id '{}' does not have authorization to perform this action or the scope is invalid.",
                claims["appid"].as_str().unwrap_or_default(),
                claims["oid"].as_str().unwrap_or_default()
            ),
        ));
    }
    if claims["tid"].as_str() != Some(id.tenant_id.as_str()) {
        return Err(ArmError::new(401, "InvalidAuthenticationTokenTenant", "The access token is from the wrong issuer. It must match the tenant associated with this subscription.")
            .with_header("WWW-Authenticate", www("The access token is from the wrong issuer.")));
    }
    let aud = claims["aud"]
        .as_str()
        .unwrap_or("")
        .trim_end_matches('/')
        .to_ascii_lowercase();
    let arm_audiences = [
        "https://management.azure.com",
        "https://management.core.windows.net",
        authority,
    ];
    if !arm_audiences
        .iter()
        .any(|a| a.trim_end_matches('/').eq_ignore_ascii_case(&aud))
    {
        return Err(ArmError::new(401, "InvalidAuthenticationToken", "The access token has been obtained for wrong audience or resource. It should exactly match with one of the allowed audiences 'https://management.core.windows.net/','https://management.core.windows.net','https://management.azure.com/','https://management.azure.com'.")
            .with_header("WWW-Authenticate", www("The access token has been obtained for wrong audience or resource.")));
    }
    let exp = claims["exp"].as_i64().unwrap_or(0);
    if exp <= now {
        let fmt = |t: i64| {
            time::OffsetDateTime::from_unix_timestamp(t)
                .map(|d| {
                    format!(
                        "{:02}/{:02}/{} {:02}:{:02}:{:02}",
                        d.month() as u8,
                        d.day(),
                        d.year(),
                        d.hour(),
                        d.minute(),
                        d.second()
                    )
                })
                .unwrap_or_default()
        };
        return Err(ArmError::new(
            401,
            "ExpiredAuthenticationToken",
            format!(
                "The access token expiry UTC time '{}' is earlier than current UTC time '{}'.",
                fmt(exp),
                fmt(now)
            ),
        )
        .with_header(
            "WWW-Authenticate",
            www("The access token expiry UTC time is earlier than current UTC time."),
        ));
    }
    Ok(Lifetime { nbf, exp })
}

/// The last bearer header [`verify`] accepted (with the signing secret it was checked
/// against) and its `nbf` and `exp`: a client sends the same token on every request for an
/// hour, so only its times need checking again — the signature and claims cannot have changed.
#[derive(Default)]
pub struct Accepted(std::sync::Mutex<Option<Seen>>);

struct Seen {
    /// The signing secret it was checked against.
    secret: String,
    header: String,
    lifetime: Lifetime,
}

impl Accepted {
    /// [`verify`], its signature and claims not checked again for the header it last
    /// accepted (the times are, in the same order, so the answer is the same).
    pub fn check(
        &self,
        id: &Identity,
        header: Option<&str>,
        now: i64,
        authority: &str,
    ) -> Result<(), ArmError> {
        let lock = || self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(h) = header {
            let hit = lock()
                .as_ref()
                .filter(|s| s.secret == id.token_secret && s.header == h)
                .map(|s| s.lifetime);
            if hit.is_some_and(|l| l.holds(now)) {
                return Ok(());
            }
        }
        let lifetime = verify(id, header, now, authority)?;
        if let Some(h) = header {
            *lock() = Some(Seen {
                secret: id.token_secret.clone(),
                header: h.to_string(),
                lifetime,
            });
        }
        Ok(())
    }
}

fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn entra_error(status: u16, error: &str, code: u32, desc: &str) -> ArmError {
    let trace = uuid::Uuid::new_v4();
    let corr = uuid::Uuid::new_v4();
    let ts = super::lro::fmt_time(super::lro::now_ms());
    let description =
        format!("AADSTS{code}: {desc} Trace ID: {trace} Correlation ID: {corr} Timestamp: {ts}");
    let mut e = ArmError::new(status, error, description.clone());
    e.raw_body = Some(Box::new(json!({
        "error": error,
        "error_description": description,
        "error_codes": [code],
        "timestamp": ts,
        "trace_id": trace.to_string(),
        "correlation_id": corr.to_string(),
        "error_uri": format!("https://login.microsoftonline.com/error?code={code}"),
    })));
    e
}

/// `POST /{tenant}/oauth2/v2.0/token`.
pub fn token(id: &Identity, tenant: &str, body: &[u8], now: i64) -> Result<Value, ArmError> {
    if !tenant.eq_ignore_ascii_case(&id.tenant_id) {
        return Err(entra_error(400, "invalid_request", 90002, &format!("Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.")));
    }
    let form: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(body).into_owned().collect();
    let get = |k: &str| form.get(k).map(|s| s.as_str());
    match get("grant_type") {
        Some("client_credentials") => {}
        None => {
            return Err(entra_error(
                400,
                "invalid_request",
                900144,
                "The request body must contain the following parameter: 'grant_type'.",
            ))
        }
        Some(g) => {
            return Err(entra_error(
                400,
                "unsupported_grant_type",
                70003,
                &format!("The app requested an unsupported grant type '{g}'."),
            ))
        }
    }
    let Some(client_id) = get("client_id") else {
        return Err(entra_error(
            400,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'client_id'.",
        ));
    };
    if !client_id.eq_ignore_ascii_case(&id.client_id) {
        return Err(entra_error(400, "unauthorized_client", 700016, &format!("Application with identifier '{client_id}' was not found in the directory '{tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.")));
    }
    let Some(scope) = get("scope") else {
        return Err(entra_error(
            400,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'scope'.",
        ));
    };
    let scope = scope.split_whitespace().next().unwrap_or("");
    let Some(resource) = scope.strip_suffix(".default") else {
        return Err(entra_error(400, "invalid_scope", 1002012, &format!("The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).")));
    };
    if let Some(assertion) = get("client_assertion") {
        if get("client_assertion_type") != Some(ASSERTION_TYPE) {
            return Err(entra_error(400, "invalid_request", 50027, "Invalid client_assertion_type. It must be 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'."));
        }
        let Some(claims) = decode_claims(assertion) else {
            return Err(entra_error(
                400,
                "invalid_request",
                50027,
                "JWT token is invalid or malformed.",
            ));
        };
        if claims.get("aud").is_none() {
            return Err(entra_error(
                400,
                "invalid_request",
                50027,
                "JWT token is invalid or malformed: the 'aud' claim is missing.",
            ));
        }
        if claims["exp"].as_i64().is_some_and(|exp| exp <= now) {
            return Err(entra_error(
                400,
                "invalid_client",
                700024,
                "Client assertion is not within its valid time range.",
            ));
        }
    } else {
        match get("client_secret") {
            Some(s) if s == id.client_secret => {}
            Some(_) => return Err(entra_error(401, "invalid_client", 7000215, &format!("Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{client_id}'."))),
            None => return Err(entra_error(401, "invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")),
        }
    }
    let audience = resource.trim_end_matches('/');
    let audience = format!("{audience}/");
    Ok(json!({
        "token_type": "Bearer",
        "expires_in": TOKEN_LIFETIME,
        "ext_expires_in": TOKEN_LIFETIME,
        "access_token": issue_token(id, &audience, now),
    }))
}

/// `GET /{tenant}/v2.0/.well-known/openid-configuration`.
pub fn openid_configuration(base: &str, tenant: &str) -> Value {
    json!({
        "token_endpoint": format!("{base}/{tenant}/oauth2/v2.0/token"),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "jwks_uri": format!("{base}/{tenant}/discovery/v2.0/keys"),
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": format!("{base}/{tenant}/v2.0"),
        "request_uri_parameter_supported": false,
        "userinfo_endpoint": format!("{base}/oidc/userinfo"),
        "authorization_endpoint": format!("{base}/{tenant}/oauth2/v2.0/authorize"),
        "device_authorization_endpoint": format!("{base}/{tenant}/oauth2/v2.0/devicecode"),
        "http_logout_supported": true,
        "frontchannel_logout_supported": true,
        "end_session_endpoint": format!("{base}/{tenant}/oauth2/v2.0/logout"),
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "acr", "nonce", "tid", "ver"],
        "tenant_region_scope": "EU",
        "cloud_instance_name": "microsoftonline.com",
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": "graph.microsoft.com",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ident() -> Identity {
        Identity {
            tenant_id: "t".into(),
            client_id: "c".into(),
            client_secret: "s".into(),
            token_secret: "c2VjcmV0".into(),
        }
    }

    #[test]
    fn token_roundtrip_and_expiry() {
        let id = ident();
        let t = issue_token(&id, "https://management.azure.com/", 1000);
        assert!(check_bearer(&id, Some(&format!("Bearer {t}")), 1001, "https://x").is_ok());
        let e = check_bearer(
            &id,
            Some(&format!("Bearer {t}")),
            1000 + TOKEN_LIFETIME + 1,
            "https://x",
        )
        .unwrap_err();
        assert_eq!(e.code, "ExpiredAuthenticationToken");
        let e = check_bearer(&id, Some(&format!("Bearer {t}x")), 1001, "https://x").unwrap_err();
        assert_eq!(e.code, "InvalidAuthenticationToken");
        let e = check_bearer(&id, None, 1001, "https://x").unwrap_err();
        assert_eq!(e.code, "AuthenticationFailed");
    }

    #[test]
    fn an_accepted_token_is_still_checked_for_time_and_against_the_current_key() {
        let id = ident();
        let accepted = Accepted::default();
        let bearer = format!(
            "Bearer {}",
            issue_token(&id, "https://management.azure.com/", 1000)
        );
        assert!(accepted
            .check(&id, Some(&bearer), 1001, "https://x")
            .is_ok());
        assert!(accepted
            .check(&id, Some(&bearer), 1002, "https://x")
            .is_ok());
        let late = accepted.check(&id, Some(&bearer), 1000 + TOKEN_LIFETIME + 1, "https://x");
        assert_eq!(late.unwrap_err().code, "ExpiredAuthenticationToken");
        let early = accepted.check(&id, Some(&bearer), 1000 - CLOCK_SKEW - 10, "https://x");
        assert_eq!(early.unwrap_err().code, "InvalidAuthenticationToken");
        let rekeyed = Identity {
            token_secret: "b3RoZXI=".into(),
            ..ident()
        };
        let e = accepted
            .check(&rekeyed, Some(&bearer), 1001, "https://x")
            .unwrap_err();
        assert_eq!(e.code, "InvalidAuthenticationToken");
        let tampered = format!("{bearer}x");
        let e = accepted
            .check(&id, Some(&tampered), 1001, "https://x")
            .unwrap_err();
        assert_eq!(e.code, "InvalidAuthenticationToken");
    }

    /// A token signed with the sandbox's key whose header or claims were chosen by someone
    /// else (who read the key from the state file).
    fn forged(id: &Identity, header: Value, edit: impl Fn(&mut Value)) -> String {
        let t = issue_token(id, "https://management.azure.com/", 1000);
        let mut claims = decode_claims(&t).unwrap();
        edit(&mut claims);
        let h = URL_SAFE_NO_PAD.encode(header.to_string());
        let c = URL_SAFE_NO_PAD.encode(claims.to_string());
        let input = format!("{h}.{c}");
        let sig = URL_SAFE_NO_PAD.encode(sign(&id.token_secret, input.as_bytes()));
        format!("Bearer {input}.{sig}")
    }

    #[test]
    fn only_tokens_the_token_endpoint_could_have_written_are_accepted() {
        let id = ident();
        let ours = json!({"typ": "JWT", "alg": "HS256", "kid": "sandbox"});
        let check = |t: String| check_bearer(&id, Some(&t), 1001, "https://x");
        assert!(check(forged(&id, ours.clone(), |_| {})).is_ok());
        for header in [
            json!({"typ": "JWT", "alg": "HS512", "kid": "sandbox"}),
            json!({"typ": "JWT", "alg": "HS256", "kid": "other"}),
            json!({"typ": "JWT", "alg": "none"}),
        ] {
            let e = check(forged(&id, header.clone(), |_| {})).unwrap_err();
            assert_eq!(e.code, "InvalidAuthenticationToken", "{header}");
        }
        // Not valid yet (beyond the clock skew), and an application the tenant does not have.
        let e = check(forged(&id, ours.clone(), |c| c["nbf"] = json!(1001 + 600))).unwrap_err();
        assert_eq!(
            (e.status, e.code.as_str()),
            (401, "InvalidAuthenticationToken")
        );
        assert!(check(forged(&id, ours.clone(), |c| c["nbf"] = json!(1001 + 60))).is_ok());
        let e = check(forged(&id, ours, |c| c["appid"] = json!("someone-else"))).unwrap_err();
        assert_eq!((e.status, e.code.as_str()), (403, "AuthorizationFailed"));
    }

    #[test]
    fn wrong_secret_is_entra_401() {
        let id = ident();
        let body = b"grant_type=client_credentials&client_id=c&client_secret=nope&scope=https%3A%2F%2Fmanagement.azure.com%2F.default";
        let e = token(&id, "t", body, 0).unwrap_err();
        assert_eq!(e.status, 401);
        assert_eq!(e.body()["error_codes"][0], 7000215);
    }
}
