//! Typed ARM errors: the ARM error code and message, the resource id, and `x-ms-request-id`.
//!
//! Also owns [`parse_error_body`], which understands the ARM error envelope
//! (`{"error":{"code","message","details":[…]}}`) and the odd shapes some services send instead
//! (bare `{"code","message"}`, capitalised `Code`/`Message`, Entra `error`/`error_description`,
//! `odata.error`). Data Protection puts the code users can act on, its message and the
//! recommended action in `additionalInfo[].info` (FACTS §5); those are kept in the message.
//! Nothing here ever holds a token: the client redacts the current bearer token
//! from every server-supplied string before it becomes an error.

use miette::Diagnostic;
use serde_json::Value;
use std::fmt::Display;

/// Anything that can go wrong talking to Azure.
#[derive(Debug, thiserror::Error)]
pub enum AzureError {
    /// ARM answered with an error status.
    #[error("{method} {resource}: {status} {code}: {message} (x-ms-request-id: {request_id})")]
    Arm {
        method: String,
        resource: String,
        status: u16,
        code: String,
        message: String,
        request_id: String,
    },
    /// A long-running operation finished as Failed or Canceled.
    #[error("{resource}: operation {status}: {code}: {message} (x-ms-request-id: {request_id})")]
    OperationFailed {
        resource: String,
        status: String,
        code: String,
        message: String,
        request_id: String,
    },
    /// Could not obtain a token.
    #[error("authentication failed: {0}")]
    Auth(String),
    /// The token endpoint could not be reached at all (refused after retries, untrusted
    /// certificate, unknown name): no request gets a token until it is back.
    #[error("authentication failed: the token endpoint could not be reached: {0}")]
    TokenEndpointUnreachable(String),
    /// Connection, TLS or protocol failure after retries (also: an LRO that outlived its deadline,
    /// a polling URL on a foreign host).
    #[error("{method} {resource}: {message}")]
    Transport {
        method: String,
        resource: String,
        message: String,
        /// The endpoint could not be reached at all (refused, untrusted certificate, unknown
        /// name): every other request to it will fail the same way.
        unreachable: bool,
    },
    /// Client configuration is unusable (bad endpoint URL, unreadable CA file…).
    #[error("{0}")]
    Config(String),
}

impl AzureError {
    /// The HTTP status, when ARM answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            AzureError::Arm { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The ARM error code (`BMSUserErrorPolicyInUse`, `ResourceNotFound`…), when known.
    pub fn code(&self) -> Option<&str> {
        match self {
            AzureError::Arm { code, .. } | AzureError::OperationFailed { code, .. } => Some(code),
            _ => None,
        }
    }

    /// Azure's refusal of the caller (403 `AuthorizationFailed`): its message, which names the
    /// action the identity may not perform.
    pub fn authorization_failed(&self) -> Option<&str> {
        match self {
            AzureError::Arm {
                status: 403,
                code,
                message,
                ..
            } if code.eq_ignore_ascii_case("AuthorizationFailed") => Some(message),
            _ => None,
        }
    }

    /// The `x-ms-request-id` ARM returned, when known (`-` is stored when the header was absent).
    pub fn request_id(&self) -> Option<&str> {
        match self {
            AzureError::Arm { request_id, .. } | AzureError::OperationFailed { request_id, .. }
                if request_id != "-" =>
            {
                Some(request_id)
            }
            _ => None,
        }
    }

    /// Worth retrying later (throttling or a server fault that outlived the retry budget).
    pub fn is_transient(&self) -> bool {
        match self {
            AzureError::Arm { status, .. } => matches!(status, 408 | 429 | 500 | 502 | 503 | 504),
            AzureError::Transport { .. } => true,
            _ => false,
        }
    }

    /// Whether the endpoint could not be reached at all (see [`AzureError::Transport`]).
    pub fn is_unreachable(&self) -> bool {
        matches!(
            self,
            AzureError::Transport {
                unreachable: true,
                ..
            } | AzureError::TokenEndpointUnreachable(_)
        )
    }

    /// A help line for the common cases (used as the miette `help`).
    fn help_text(&self) -> Option<String> {
        match self {
            AzureError::Arm { status: 401, .. } => Some(
                "the token was rejected: check AZURE_TENANT_ID / AZURE_CLIENT_ID / the secret or \
                 federated credential, and that --cloud matches the tenant's cloud"
                    .into(),
            ),
            AzureError::Arm { status: 403, .. } => Some(
                "the identity lacks permission: assign it a role on the scope (for example \
                 'Backup Contributor' on the vault's resource group, 'Virtual Machine \
                 Contributor' on the VMs), then wait a few minutes for the assignment to apply"
                    .into(),
            ),
            AzureError::Arm { status: 429, .. } => Some(
                "ARM kept throttling after every retry: lower --parallelism or try again later"
                    .into(),
            ),
            AzureError::Arm { code, .. } if code == "MissingSubscriptionRegistration" => Some(
                "register the resource provider: az provider register --namespace \
                 Microsoft.RecoveryServices"
                    .into(),
            ),
            AzureError::Arm { status, .. } if *status >= 500 => Some(
                "Azure reported a server fault after every retry; quote the x-ms-request-id if \
                 you open a support request"
                    .into(),
            ),
            AzureError::Auth(_) => Some(
                "azprotect tries, in order: client secret (AZURE_TENANT_ID, AZURE_CLIENT_ID, \
                 AZURE_CLIENT_SECRET), workload identity (AZURE_FEDERATED_TOKEN_FILE), GitHub \
                 Actions OIDC (permissions: id-token: write), managed identity, then Azure CLI / \
                 azd; pick one with --auth"
                    .into(),
            ),
            AzureError::TokenEndpointUnreachable(_) => Some(
                "check the network path to the authority host (AZURE_AUTHORITY_HOST, proxies, \
                 the CA trusted with --ca-cert), then re-run: apply picks up where it stopped"
                    .into(),
            ),
            AzureError::OperationFailed { .. } => Some(
                "the operation was accepted by Azure but failed while running; see the backup \
                 or replication job in the vault for details"
                    .into(),
            ),
            _ => None,
        }
    }
}

impl Diagnostic for AzureError {
    fn code<'a>(&'a self) -> Option<Box<dyn Display + 'a>> {
        let c = match self {
            AzureError::Arm { .. } => "azprotect::azure::arm",
            AzureError::OperationFailed { .. } => "azprotect::azure::operation_failed",
            AzureError::Auth(_) | AzureError::TokenEndpointUnreachable(_) => {
                "azprotect::azure::auth"
            }
            AzureError::Transport { .. } => "azprotect::azure::transport",
            AzureError::Config(_) => "azprotect::azure::config",
        };
        Some(Box::new(c))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn Display + 'a>> {
        self.help_text()
            .map(|h| Box::new(h) as Box<dyn Display + 'a>)
    }
}

/// Code and message extracted from an error body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorBody {
    pub code: String,
    pub message: String,
}

/// Longest raw (non-JSON) body excerpt kept in a message.
const MAX_RAW: usize = 512;

/// Parse an ARM (or RS / Entra / odata) error body. Never fails: unknown shapes fall back to
/// `HttpStatus<status>` and a truncated excerpt of the body text.
pub fn parse_error_body(status: u16, body: &[u8]) -> ErrorBody {
    let fallback_code = format!("HttpStatus{status}");
    let text = String::from_utf8_lossy(body);
    let Ok(json) = serde_json::from_slice::<Value>(body) else {
        let trimmed = text.trim();
        let message = if trimmed.is_empty() {
            default_reason(status).to_string()
        } else {
            truncate(trimmed, MAX_RAW)
        };
        return ErrorBody {
            code: fallback_code,
            message,
        };
    };
    if let Some(parsed) = parse_error_value(&json) {
        return ErrorBody {
            code: parsed.code.unwrap_or(fallback_code),
            message: parsed
                .message
                .unwrap_or_else(|| default_reason(status).to_string()),
        };
    }
    ErrorBody {
        code: fallback_code,
        message: truncate(text.trim(), MAX_RAW),
    }
}

#[derive(Default)]
struct Parsed {
    code: Option<String>,
    message: Option<String>,
}

/// Extract code/message from an error JSON value (an envelope or an error object itself).
/// Used for operation-status `error` objects as well.
pub(crate) fn parse_error_value(json: &Value) -> Option<ParsedPublic> {
    let obj = json.as_object()?;
    // {"error": {...}} / {"Error": {...}} / {"odata.error": {...}}
    for key in ["error", "Error", "odata.error"] {
        if let Some(inner) = obj.get(key) {
            if inner.is_object() {
                let p = parse_error_object(inner);
                if p.code.is_some() || p.message.is_some() {
                    return Some(p.into());
                }
            }
        }
    }
    // Entra: {"error": "invalid_client", "error_description": "..."}
    if let Some(Value::String(code)) = obj.get("error") {
        let message = obj
            .get("error_description")
            .and_then(Value::as_str)
            .map(first_line);
        return Some(ParsedPublic {
            code: Some(code.clone()),
            message,
        });
    }
    let p = parse_error_object(json);
    if p.code.is_some() || p.message.is_some() {
        return Some(p.into());
    }
    None
}

/// Public face of [`Parsed`] for other files of this module.
pub(crate) struct ParsedPublic {
    pub code: Option<String>,
    pub message: Option<String>,
}

impl From<Parsed> for ParsedPublic {
    fn from(p: Parsed) -> Self {
        ParsedPublic {
            code: p.code,
            message: p.message,
        }
    }
}

fn get_ci<'a>(obj: &'a Value, key: &str) -> Option<&'a Value> {
    obj.as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v)
}

fn string_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        // odata: "message": {"lang": "en-US", "value": "..."}
        Value::Object(_) => get_ci(v, "value").and_then(string_of),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn parse_error_object(obj: &Value) -> Parsed {
    let code = get_ci(obj, "code").and_then(string_of);
    let mut message = get_ci(obj, "message").and_then(string_of);
    // Append the details' codes/messages (ARM nests the useful part there surprisingly often).
    if let Some(Value::Array(details)) = get_ci(obj, "details") {
        let parts: Vec<String> = details
            .iter()
            .filter_map(|d| {
                let c = get_ci(d, "code").and_then(string_of);
                let m = get_ci(d, "message").and_then(string_of);
                match (c, m) {
                    (Some(c), Some(m)) => Some(format!("{c}: {m}")),
                    (None, Some(m)) => Some(m),
                    (Some(c), None) => Some(c),
                    (None, None) => None,
                }
            })
            .filter(|p| message.as_deref() != Some(p.as_str()))
            .collect();
        if !parts.is_empty() {
            let joined = parts.join("; ");
            message = Some(match message {
                Some(m) => format!("{m} (details: {joined})"),
                None => joined,
            });
        }
    }
    if let Some(extra) = user_facing_info(obj, code.as_deref(), message.as_deref()) {
        message = Some(match message {
            Some(m) => format!("{m}{extra}"),
            None => extra.trim_start().to_string(),
        });
    }
    Parsed { code, message }
}

/// Data Protection's `additionalInfo[{type: UserFacingError, info{code, message,
/// recommendedAction[…]}}]` (FACTS §5, DPVU #17, DPSD #26): the inner code and message when
/// they add to the outer ones, then the recommended action — the part a user can act on.
fn user_facing_info(obj: &Value, code: Option<&str>, message: Option<&str>) -> Option<String> {
    let Some(Value::Array(infos)) = get_ci(obj, "additionalInfo") else {
        return None;
    };
    let mut out = String::new();
    for info in infos.iter().filter_map(|a| get_ci(a, "info")) {
        let c = get_ci(info, "code").and_then(string_of);
        let m = get_ci(info, "message").and_then(string_of);
        let new_code = c
            .as_deref()
            .filter(|c| !code.is_some_and(|o| o.eq_ignore_ascii_case(c)));
        let new_message = m.as_deref().filter(|m| message != Some(*m));
        match (new_code, new_message) {
            (Some(c), Some(m)) => out += &format!(" ({c}: {m})"),
            (Some(c), None) => out += &format!(" ({c})"),
            (None, Some(m)) => out += &format!(" ({m})"),
            (None, None) => {}
        }
        let actions: Vec<String> = match get_ci(info, "recommendedAction") {
            Some(Value::Array(a)) => a.iter().filter_map(string_of).collect(),
            Some(v) => string_of(v).into_iter().collect(),
            None => vec![],
        };
        if !actions.is_empty() {
            out += &format!(" Recommended action: {}", actions.join(" "));
        }
    }
    (!out.is_empty()).then_some(out)
}

fn first_line(s: &str) -> String {
    // Entra descriptions carry "Trace ID: … Correlation ID: … Timestamp: …" on later lines.
    s.lines().next().unwrap_or("").trim().to_string()
}

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

fn default_reason(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        408 => "Request Timeout",
        409 => "Conflict",
        412 => "Precondition Failed",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "no error details in the response",
    }
}

/// Remove every occurrence of `secret` from `s` (no-op for empty secrets).
pub(crate) fn redact(s: &str, secret: &str) -> String {
    if secret.len() < 8 || !s.contains(secret) {
        return s.to_string();
    }
    s.replace(secret, "[REDACTED]")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(status: u16, v: Value) -> ErrorBody {
        parse_error_body(status, v.to_string().as_bytes())
    }

    #[test]
    fn arm_envelope() {
        let e = parse(
            409,
            json!({"error":{"code":"BMSUserErrorPolicyInUse","message":"Policy in use"}}),
        );
        assert_eq!(e.code, "BMSUserErrorPolicyInUse");
        assert_eq!(e.message, "Policy in use");
    }

    #[test]
    fn envelope_with_details() {
        let e = parse(
            400,
            json!({"error":{"code":"InvalidTemplate","message":"Bad","details":[
                {"code":"A","message":"first"},{"message":"second"}]}}),
        );
        assert_eq!(e.code, "InvalidTemplate");
        assert_eq!(e.message, "Bad (details: A: first; second)");
    }

    /// FACTS §5: the Data Protection envelope (shape of DPVU #17 / DPSD #26).
    fn dpp(code: &str, message: &str, info: Value) -> Value {
        json!({"error":{"additionalInfo":[{"type":"UserFacingError","info":info}],
            "code":code,"message":message,"target":null,"details":null}})
    }

    #[test]
    fn data_protection_errors_keep_the_recommended_action() {
        let e = parse(
            400,
            dpp(
                "UserErrorDisableSoftDeleteNotAllowed",
                "Soft delete cannot be disabled once it is always on.",
                json!({"message":"Soft delete cannot be disabled once it is always on.",
                    "recommendedAction":["Keep soft delete enabled.","Use a new vault."],
                    "code":"UserErrorDisableSoftDeleteNotAllowed","isRetryable":false}),
            ),
        );
        assert_eq!(e.code, "UserErrorDisableSoftDeleteNotAllowed");
        assert_eq!(
            e.message,
            "Soft delete cannot be disabled once it is always on. Recommended action: Keep soft delete enabled. Use a new vault."
        );
    }

    #[test]
    fn data_protection_inner_code_shows_when_the_outer_one_is_generic() {
        let e = parse(
            500,
            dpp(
                "InternalError",
                "The operation failed.",
                json!({"message":"The disk already has a backup instance.",
                    "recommendedAction":"Delete the other backup instance first.",
                    "code":"UserErrorDppDatasourceAlreadyHasBackupInstance"}),
            ),
        );
        assert_eq!(e.code, "InternalError");
        assert_eq!(
            e.message,
            "The operation failed. (UserErrorDppDatasourceAlreadyHasBackupInstance: The disk already has a backup instance.) Recommended action: Delete the other backup instance first."
        );
        // An empty recommendation and a repeated code/message add nothing.
        let e = parse(
            404,
            dpp(
                "UserErrorGenericResourceNotFound",
                "Not there.",
                json!({"message":"Not there.","recommendedAction":[],
                    "code":"UserErrorGenericResourceNotFound"}),
            ),
        );
        assert_eq!(e.message, "Not there.");
    }

    #[test]
    fn envelope_missing_fields() {
        let e = parse(404, json!({"error":{"code":"ResourceNotFound"}}));
        assert_eq!(e.code, "ResourceNotFound");
        assert_eq!(e.message, "Not Found");
        let e = parse(500, json!({"error":{"message":"boom"}}));
        assert_eq!(e.code, "HttpStatus500");
        assert_eq!(e.message, "boom");
        let e = parse(503, json!({"error":{}}));
        assert_eq!(e.code, "HttpStatus503");
    }

    #[test]
    fn bare_and_capitalised_shapes() {
        let e = parse(400, json!({"code":"BadRequest","message":"nope"}));
        assert_eq!(
            (e.code.as_str(), e.message.as_str()),
            ("BadRequest", "nope")
        );
        let e = parse(400, json!({"Code":"UserError","Message":"RS says no"}));
        assert_eq!(
            (e.code.as_str(), e.message.as_str()),
            ("UserError", "RS says no")
        );
        let e = parse(400, json!({"Error":{"Code":"X","Message":"y"}}));
        assert_eq!((e.code.as_str(), e.message.as_str()), ("X", "y"));
    }

    #[test]
    fn entra_shape() {
        let e = parse(
            401,
            json!({"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret.\r\nTrace ID: x","error_codes":[7000215]}),
        );
        assert_eq!(e.code, "invalid_client");
        assert_eq!(e.message, "AADSTS7000215: Invalid client secret.");
    }

    #[test]
    fn odata_shape() {
        let e = parse(
            403,
            json!({"odata.error":{"code":"Authorization_RequestDenied","message":{"lang":"en","value":"Insufficient privileges"}}}),
        );
        assert_eq!(e.code, "Authorization_RequestDenied");
        assert_eq!(e.message, "Insufficient privileges");
    }

    #[test]
    fn non_json_and_empty() {
        let e = parse_error_body(502, b"<html>Bad gateway</html>");
        assert_eq!(e.code, "HttpStatus502");
        assert_eq!(e.message, "<html>Bad gateway</html>");
        let e = parse_error_body(503, b"");
        assert_eq!(e.message, "Service Unavailable");
        let long = "x".repeat(2000);
        assert!(parse_error_body(500, long.as_bytes()).message.len() < 600);
        let e = parse(500, json!({"unexpected": true}));
        assert_eq!(e.code, "HttpStatus500");
    }

    #[test]
    fn help_and_request_id() {
        let e = AzureError::Arm {
            method: "GET".into(),
            resource: "/subscriptions/s".into(),
            status: 403,
            code: "AuthorizationFailed".into(),
            message: "no".into(),
            request_id: "rid".into(),
        };
        assert!(Diagnostic::help(&e).unwrap().to_string().contains("role"));
        assert_eq!(e.request_id(), Some("rid"));
        assert!(e.to_string().contains("x-ms-request-id: rid"));
        assert!(!e.is_transient());
    }

    #[test]
    fn redaction() {
        assert_eq!(
            redact("token eyJabcdefgh leaked", "eyJabcdefgh"),
            "token [REDACTED] leaked"
        );
        assert_eq!(redact("short", ""), "short");
    }
}
