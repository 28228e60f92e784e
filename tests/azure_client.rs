//! End-to-end test of `azure::ArmClient` against a tiny local HTTPS server (self-signed CA via
//! rcgen, axum-server + rustls/aws-lc-rs): token from `POST /{tenant}/oauth2/v2.0/token` through
//! azure_identity's ClientSecretCredential on our CA-trusting transport, bearer on every ARM
//! call, retries (429 with retry-after-ms, 503, 401 once), LRO styles (Recovery Services PUT,
//! vault-level DELETE, Location-only POST, failed operation), paging, typed errors with request
//! ids, and that the token never shows up in error text.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use azprotect::azure::{
    ArmClient, AuthChoice, AzureError, ClientSettings, EnvCredentials, LroPolicy, RetryPolicy,
};
use azprotect::model::{ArmRequest, Method as ArmMethod};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const TENANT: &str = "00000000-0000-0000-0000-00000000000a";
const CLIENT: &str = "11111111-1111-1111-1111-11111111111b";
const SECRET: &str = "client-secret-value";
const TOKEN: &str = "eyJ0eXAiOiJKV1QiLCJhbGciOiJub25lIn0.sandbox-access-token.sig";
const GH_REQUEST_TOKEN: &str = "github-request-token";
const GH_JWT: &str = "eyJhbGciOiJSUzI1NiJ9.github-oidc.sig";
const SUB: &str = "/subscriptions/22222222-2222-2222-2222-22222222222c";

#[derive(Default)]
struct Srv {
    base: String,
    token_requests: usize,
    gh_requests: usize,
    post_content_lengths: Vec<Vec<String>>,
    arm_requests: usize,
    unauthenticated: usize,
    hits: HashMap<String, usize>,
    last_scope: String,
    user_agent: String,
    lro_paths: Vec<String>,
}

type Shared = Arc<Mutex<Srv>>;

fn json_rsp(status: u16, body: Value, extra: &[(&str, String)], rid: usize) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    headers.insert(
        "x-ms-request-id",
        HeaderValue::from_str(&format!("rid-{rid}")).unwrap(),
    );
    for (k, v) in extra {
        headers.insert(
            axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            HeaderValue::from_str(v).unwrap(),
        );
    }
    let body = if body.is_null() {
        String::new()
    } else {
        body.to_string()
    };
    (StatusCode::from_u16(status).unwrap(), headers, body).into_response()
}

/// The Data Protection error envelope (FACTS §5: `error{additionalInfo[{type: UserFacingError,
/// info{message, recommendedAction[…], code, isRetryable}}], code, message, target, details}`).
fn dpp_error(code: &str, message: &str, action: &str) -> Value {
    json!({"error":{"additionalInfo":[{"type":"UserFacingError","info":{
        "message": message, "recommendedAction": [action], "code": code,
        "isRetryable": false, "isUserError": true}}],
        "code": code, "message": message, "target": null, "details": null}})
}

fn arm_error(status: u16, code: &str, message: &str, rid: usize) -> Response {
    json_rsp(
        status,
        json!({"error": {"code": code, "message": message}}),
        &[],
        rid,
    )
}

async fn handler(
    State(st): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let query = uri.query().unwrap_or("").to_string();
    let mut s = st.lock().unwrap();

    // Identity endpoint.
    if method == Method::POST && path == format!("/{TENANT}/oauth2/v2.0/token") {
        s.token_requests += 1;
        let form: HashMap<String, String> =
            url::form_urlencoded::parse(&body).into_owned().collect();
        s.last_scope = form.get("scope").cloned().unwrap_or_default();
        let by_secret = form.get("client_secret").map(String::as_str) == Some(SECRET);
        let by_assertion = form.get("client_assertion").map(String::as_str) == Some(GH_JWT)
            && form.get("client_assertion_type").map(String::as_str)
                == Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
        if form.get("client_id").map(String::as_str) != Some(CLIENT)
            || !(by_secret || by_assertion)
            || form.get("grant_type").map(String::as_str) != Some("client_credentials")
        {
            return json_rsp(
                401,
                json!({"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided.","error_codes":[7000215]}),
                &[],
                0,
            );
        }
        return json_rsp(
            200,
            json!({"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"access_token":TOKEN}),
            &[],
            0,
        );
    }

    // GitHub Actions ID-token endpoint.
    if method == Method::GET && path == "/gh-idtoken" {
        s.gh_requests += 1;
        let audience = url::form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == "audience")
            .map(|(_, v)| v.into_owned());
        let auth = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if audience.as_deref() != Some("api://AzureADTokenExchange")
            || !query.contains("api-version=2.0")
            || !auth.eq_ignore_ascii_case(&format!("bearer {GH_REQUEST_TOKEN}"))
        {
            return json_rsp(403, json!({"message": "bad audience or token"}), &[], 0);
        }
        return json_rsp(200, json!({"count": 1, "value": GH_JWT}), &[], 0);
    }

    // ARM.
    s.arm_requests += 1;
    let rid = s.arm_requests;
    s.user_agent = headers
        .get("user-agent")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let key = format!("{method} {path}");
    *s.hits.entry(key.clone()).or_default() += 1;
    let n = s.hits[&key];
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if bearer != format!("Bearer {TOKEN}") {
        s.unauthenticated += 1;
        return arm_error(401, "InvalidAuthenticationToken", "no or bad token", rid);
    }
    if !query.contains("api-version=") {
        return arm_error(
            400,
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
            rid,
        );
    }
    let base = s.base.clone();
    let vault = format!("{SUB}/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/v");
    let vault_cap = vault.replacen("/subscriptions/", "/Subscriptions/", 1);
    let item = format!("{vault}/backupFabrics/Azure/protectionContainers/iaasvmcontainer;iaasvmcontainerv2;rg;vm1/protectedItems/vm;iaasvmcontainerv2;rg;vm1");
    let item_cap = item.replacen("/subscriptions/", "/Subscriptions/", 1);
    let ms = ("retry-after-ms", "5".to_string());

    if path != "/" && path.starts_with("/Subscriptions/") {
        s.lro_paths.push(path.clone());
    }

    if method == Method::POST {
        let cl = headers
            .get_all("content-length")
            .iter()
            .map(|v| v.to_str().unwrap_or("").to_string())
            .collect();
        s.post_content_lengths.push(cl);
    }
    let m = method.as_str();
    let p = path.as_str();
    match (m, p) {
        ("GET", p) if p == format!("{SUB}/resourceGroups/rg") => {
            json_rsp(200, json!({"id": format!("{SUB}/resourceGroups/rg"), "name": "rg", "location": "westeurope"}), &[], rid)
        }
        ("GET", p) if p == format!("{SUB}/resourceGroups/missing") => arm_error(
            404,
            "ResourceGroupNotFound",
            "Resource group 'missing' could not be found.",
            rid,
        ),
        ("GET", p) if p == format!("{SUB}/throttled") => {
            if n == 1 {
                json_rsp(
                    429,
                    json!({"error":{"code":"TooManyRequests","message":"The request is being throttled as the limit has been reached for operation type - 'Read'"}}),
                    &[("retry-after-ms", "10".into())],
                    rid,
                )
            } else {
                json_rsp(200, json!({"ok": n}), &[], rid)
            }
        }
        ("GET", p) if p == format!("{SUB}/flaky") => {
            if n <= 2 {
                arm_error(503, "ServiceUnavailable", "try again", rid)
            } else {
                json_rsp(200, json!({"ok": n}), &[], rid)
            }
        }
        ("GET", p) if p == format!("{SUB}/always503") => {
            arm_error(503, "ServiceUnavailable", "still down", rid)
        }
        ("POST", p) if p == format!("{SUB}/post500") => {
            arm_error(500, "InternalServerError", "boom", rid)
        }
        ("GET", p) if p == format!("{SUB}/reauth") => {
            if n == 1 {
                arm_error(401, "ExpiredAuthenticationToken", "The access token expiry UTC time is earlier than current UTC time.", rid)
            } else {
                json_rsp(200, json!({"ok": n}), &[], rid)
            }
        }
        ("GET", p) if p == format!("{SUB}/leaky") => arm_error(
            403,
            "AuthorizationFailed",
            &format!("The client with token '{TOKEN}' does not have authorization to perform action 'Microsoft.RecoveryServices/vaults/read'."),
            rid,
        ),
        // Paging: three pages, absolute same-host nextLinks.
        ("GET", p) if p == format!("{SUB}/providers/Microsoft.Compute/virtualMachines") => {
            let page = url::form_urlencoded::parse(query.as_bytes())
                .find(|(k, _)| k == "$skiptoken")
                .map(|(_, v)| v.parse::<u32>().unwrap())
                .unwrap_or(0);
            let next = |t: u32| format!("{base}{p}?api-version=2025-11-01&$skiptoken={t}");
            match page {
                0 => json_rsp(200, json!({"value":[{"name":"vm0"},{"name":"vm1"}],"nextLink": next(1)}), &[], rid),
                1 => json_rsp(200, json!({"value":[{"name":"vm2"}],"nextLink": next(2)}), &[], rid),
                _ => json_rsp(200, json!({"value":[{"name":"vm3"}],"nextLink": null}), &[], rid),
            }
        }
        ("GET", p) if p == format!("{SUB}/loop") => json_rsp(
            200,
            json!({"value":[1],"nextLink": format!("{base}{p}?api-version=1")}),
            &[],
            rid,
        ),
        ("GET", p) if p == format!("{SUB}/foreign") => json_rsp(
            200,
            json!({"value":[1],"nextLink": "https://evil.example.com/steal?api-version=1"}),
            &[],
            rid,
        ),
        // Recovery Services protected item PUT: 202 + operationResults / operationsStatus.
        ("PUT", p) if p == item => json_rsp(
            202,
            Value::Null,
            &[
                ("location", format!("{base}{item_cap}/operationResults/op1?api-version=2016-12-01")),
                ("azure-asyncoperation", format!("{base}{item_cap}/operationsStatus/op1?api-version=2016-12-01")),
                ("retry-after", "60".into()),
                ms,
            ],
            rid,
        ),
        ("GET", p) if p == format!("{item_cap}/operationsStatus/op1") => {
            let status = if n < 2 { "InProgress" } else { "Succeeded" };
            json_rsp(200, json!({"id":"op1","name":"op1","status":status,"startTime":"2026-01-01T00:00:00Z","properties":{"objectType":"OperationStatusJobExtendedInfo","jobId":"job-1"}}), &[ms], rid)
        }
        ("GET", p) if p == format!("{item_cap}/operationResults/op1") => json_rsp(
            200,
            json!({"id": item, "properties":{"protectedItemType":"Microsoft.Compute/virtualMachines","protectionState":"IRPending"}}),
            &[],
            rid,
        ),
        // Protected item DELETE: vault-level polling URLs.
        ("DELETE", p) if p == item => json_rsp(
            202,
            Value::Null,
            &[
                ("location", format!("{base}{vault_cap}/backupOperationResults/op2?api-version=2016-12-01")),
                ("azure-asyncoperation", format!("{base}{vault_cap}/backupOperations/op2?api-version=2016-12-01")),
                ms,
            ],
            rid,
        ),
        ("GET", p) if p == format!("{vault_cap}/backupOperations/op2") => {
            let status = if n < 3 { "Inprogress" } else { "Succeeded" };
            json_rsp(200, json!({"id":"op2","name":"op2","status":status}), &[ms], rid)
        }
        // refreshContainers: Location only, 202 then 204.
        ("POST", p) if p == format!("{vault}/backupFabrics/Azure/refreshContainers") => json_rsp(
            202,
            Value::Null,
            &[("location", format!("{base}{vault_cap}/backupFabrics/Azure/operationResults/op3?api-version=2016-12-01")), ms],
            rid,
        ),
        ("GET", p) if p == format!("{vault_cap}/backupFabrics/Azure/operationResults/op3") => {
            if n < 2 {
                json_rsp(202, Value::Null, &[("location", format!("{base}{vault_cap}/backupFabrics/Azure/operationResults/op3?api-version=2016-12-01")), ms], rid)
            } else {
                json_rsp(204, Value::Null, &[], rid)
            }
        }
        // Policy PUT: 202 not flagged as LRO, operation fails.
        ("PUT", p) if p == format!("{vault}/backupPolicies/bad") => json_rsp(
            202,
            Value::Null,
            &[
                ("location", format!("{base}{vault}/backupPolicies/bad/operationResults/op4?api-version=2016-12-01")),
                ("azure-asyncoperation", format!("{base}{vault}/backupPolicies/bad/operations/op4?api-version=2016-12-01")),
                ms,
            ],
            rid,
        ),
        ("GET", p) if p == format!("{vault}/backupPolicies/bad/operations/op4") => json_rsp(
            200,
            json!({"id":"op4","status":"Failed","error":{"code":"BMSUserErrorInvalidPolicyInput","message":"Daily retention must be at least 7 days."}}),
            &[],
            rid,
        ),
        // Data Protection: a refused PATCH and a failed operation, both in its envelope with
        // the user-facing code, message and recommended action in additionalInfo (FACTS §5).
        ("PATCH", p) if p == format!("{SUB}/resourceGroups/rg/providers/Microsoft.DataProtection/backupVaults/bv") => json_rsp(
            400,
            dpp_error("UserErrorDisableSoftDeleteNotAllowed", "Soft delete cannot be turned off for this vault.", "Soft delete is always on for this vault; leave it enabled."),
            &[],
            rid,
        ),
        ("PUT", p) if p == format!("{SUB}/resourceGroups/rg/providers/Microsoft.DataProtection/backupVaults/bv/backupInstances/bi") => json_rsp(
            201,
            json!({"properties":{"provisioningState":"Provisioning"}}),
            &[("azure-asyncoperation", format!("{base}{SUB}/resourceGroups/rg/providers/Microsoft.DataProtection/backupVaults/bv/operationStatus/b3A1?api-version=2025-07-01")), ms],
            rid,
        ),
        ("GET", p) if p == format!("{SUB}/resourceGroups/rg/providers/Microsoft.DataProtection/backupVaults/bv/operationStatus/b3A1") => json_rsp(
            200,
            json!({"id":"b3A1","name":"b3A1","status":"Failed","error": dpp_error("UserErrorDppDatasourceAlreadyHasBackupInstance", "The datasource already has a backup instance.", "Delete the existing backup instance or protect the disk from its vault.")["error"].clone()}),
            &[],
            rid,
        ),
        // An LRO pointing at a foreign host.
        ("PUT", p) if p == format!("{SUB}/evil-lro") => json_rsp(
            202,
            Value::Null,
            &[("azure-asyncoperation", "https://evil.example.com/op?api-version=1".into())],
            rid,
        ),
        // Synchronous PUT echoing the body.
        ("PUT", p) if p == format!("{SUB}/resourceGroups/rg2") => {
            let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            json_rsp(201, json!({"id": p, "location": v["location"], "properties":{"provisioningState":"Succeeded"}}), &[], rid)
        }
        _ => arm_error(404, "NotFound", &format!("no route {m} {p}"), rid),
    }
}

struct TestServer {
    base: String,
    ca_pem: String,
    state: Shared,
    handle: axum_server::Handle,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.handle.shutdown();
    }
}

async fn start_server() -> TestServer {
    use rcgen::{
        BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose,
        IsCa, KeyPair, KeyUsagePurpose,
    };
    // CA
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "azprotect test CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    // Leaf
    let mut leaf_params =
        CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).unwrap();
    leaf_params
        .distinguished_name
        .push(DnType::CommonName, "127.0.0.1");
    leaf_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = leaf_params.signed_by(&leaf_key, &ca).unwrap();

    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![leaf.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into()),
        )
        .unwrap();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let tls = axum_server::tls_rustls::RustlsConfig::from_config(Arc::new(config));

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let base = format!("https://127.0.0.1:{port}");
    let state: Shared = Arc::new(Mutex::new(Srv {
        base: base.clone(),
        ..Default::default()
    }));
    let app = axum::Router::new()
        .fallback(handler)
        .with_state(state.clone());
    let handle = axum_server::Handle::new();
    let server = axum_server::from_tcp_rustls(listener, tls).handle(handle.clone());
    tokio::spawn(async move {
        server.serve(app.into_make_service()).await.unwrap();
    });
    TestServer {
        base,
        ca_pem: ca.pem(),
        state,
        handle,
    }
}

fn settings(srv: &TestServer) -> ClientSettings {
    ClientSettings {
        arm_endpoint: Some(srv.base.clone()),
        authority_host: Some(srv.base.clone()),
        ca_cert_pem: Some(srv.ca_pem.clone().into_bytes()),
        auth: AuthChoice::Auto,
        credentials: EnvCredentials {
            tenant_id: Some(TENANT.into()),
            client_id: Some(CLIENT.into()),
            client_secret: Some(SECRET.into()),
            ..Default::default()
        },
        retry: RetryPolicy {
            initial_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(5),
            ..Default::default()
        },
        lro: LroPolicy {
            default_delay: Duration::from_millis(1),
            min_delay: Duration::ZERO,
            max_delay: Duration::from_millis(50),
            ..Default::default()
        },
        ..Default::default()
    }
}

async fn client(srv: &TestServer) -> ArmClient {
    ArmClient::new(settings(srv)).await.unwrap()
}

fn req(method: ArmMethod, path: String, body: Option<Value>) -> ArmRequest {
    ArmRequest::new(method, path, body)
}

#[tokio::test]
async fn token_through_custom_transport_and_bearer_on_arm() {
    let srv = start_server().await;
    let c = client(&srv).await;
    assert_eq!(c.arm_endpoint(), srv.base);
    let rg = c
        .get_optional(&format!("{SUB}/resourceGroups/rg?api-version=2021-04-01"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rg["name"], "rg");
    // Cached: a second call does not ask for a new token.
    c.get_optional(&format!("{SUB}/resourceGroups/rg?api-version=2021-04-01"))
        .await
        .unwrap();
    let s = srv.state.lock().unwrap();
    assert_eq!(s.token_requests, 1);
    assert_eq!(s.last_scope, "https://management.azure.com/.default");
    assert_eq!(s.unauthenticated, 0);
    assert!(s.user_agent.starts_with("azprotect/"), "{}", s.user_agent);
    assert_eq!(c.request_count(), 2);
}

#[tokio::test]
async fn untrusted_server_is_refused() {
    let srv = start_server().await;
    let mut st = settings(&srv);
    st.ca_cert_pem = None;
    st.retry.max_attempts = 1;
    let c = ArmClient::new(st).await.unwrap();
    let e = c
        .get_optional(&format!("{SUB}/resourceGroups/rg?api-version=1"))
        .await
        .unwrap_err();
    // No retry can fix an untrusted certificate: the endpoint counts as unreachable.
    assert!(
        matches!(e, AzureError::TokenEndpointUnreachable(ref m) if m.to_lowercase().contains("certificate")),
        "{e}"
    );
    assert!(e.is_unreachable());
    assert_eq!(srv.state.lock().unwrap().token_requests, 0);
}

#[tokio::test]
async fn wrong_secret_is_an_auth_error() {
    let srv = start_server().await;
    let mut st = settings(&srv);
    st.credentials.client_secret = Some("wrong".into());
    let c = ArmClient::new(st).await.unwrap();
    let e = c
        .get_optional(&format!("{SUB}/resourceGroups/rg?api-version=1"))
        .await
        .unwrap_err();
    assert!(
        matches!(e, AzureError::Auth(ref m) if m.contains("AADSTS7000215")),
        "{e}"
    );
    assert!(!e.to_string().contains("wrong"));
}

#[tokio::test]
async fn throttling_and_transient_faults_are_retried() {
    let srv = start_server().await;
    let c = client(&srv).await;
    let t0 = Instant::now();
    let v = c
        .execute(&req(
            ArmMethod::Get,
            format!("{SUB}/throttled?api-version=1"),
            None,
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(v["ok"], 2);
    assert!(
        t0.elapsed() >= Duration::from_millis(10),
        "retry-after-ms honoured"
    );
    let v = c
        .get_optional(&format!("{SUB}/flaky?api-version=1"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(v["ok"], 3);
    assert_eq!(c.request_count(), 5);
}

#[tokio::test]
async fn retries_give_up_with_the_last_error() {
    let srv = start_server().await;
    let c = client(&srv).await;
    let e = c
        .get_optional(&format!("{SUB}/always503?api-version=1"))
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(503));
    assert_eq!(e.code(), Some("ServiceUnavailable"));
    assert_eq!(c.request_count(), 8);
    // POST is not retried on 500.
    let e = c
        .execute(&req(
            ArmMethod::Post,
            format!("{SUB}/post500?api-version=1"),
            None,
        ))
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(500));
    assert_eq!(c.request_count(), 9);
}

#[tokio::test]
async fn unauthorized_once_refreshes_and_retries() {
    let srv = start_server().await;
    let c = client(&srv).await;
    let v = c
        .get_optional(&format!("{SUB}/reauth?api-version=1"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(v["ok"], 2);
}

#[tokio::test]
async fn errors_carry_code_request_id_and_no_token() {
    let srv = start_server().await;
    let c = client(&srv).await;
    assert!(c
        .get_optional(&format!("{SUB}/resourceGroups/missing?api-version=1"))
        .await
        .unwrap()
        .is_none());
    let e = c
        .execute(&req(
            ArmMethod::Get,
            format!("{SUB}/resourceGroups/missing?api-version=1"),
            None,
        ))
        .await
        .unwrap_err();
    match &e {
        AzureError::Arm {
            method,
            resource,
            status,
            code,
            request_id,
            ..
        } => {
            assert_eq!(method, "GET");
            assert_eq!(resource, &format!("{SUB}/resourceGroups/missing"));
            assert_eq!(*status, 404);
            assert_eq!(code, "ResourceGroupNotFound");
            assert!(request_id.starts_with("rid-"));
        }
        other => panic!("{other:?}"),
    }
    let e = c
        .execute(&req(
            ArmMethod::Get,
            format!("{SUB}/leaky?api-version=1"),
            None,
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("AuthorizationFailed"));
    let shown = format!("{e} {e:?}");
    assert!(!shown.contains(TOKEN), "{shown}");
    assert!(shown.contains("[REDACTED]"));
    let help = miette::Diagnostic::help(&e).unwrap().to_string();
    assert!(help.contains("role"));
    // Missing api-version: ARM's 400.
    let e = c
        .get_optional(&format!("{SUB}/resourceGroups/rg"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("MissingApiVersionParameter"));
}

#[tokio::test]
async fn paging_follows_next_links() {
    let srv = start_server().await;
    let c = client(&srv).await;
    let vms = c
        .list(&format!(
            "{SUB}/providers/Microsoft.Compute/virtualMachines?api-version=2025-11-01"
        ))
        .await
        .unwrap();
    let names: Vec<&str> = vms.iter().map(|v| v["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["vm0", "vm1", "vm2", "vm3"]);
    assert_eq!(c.request_count(), 3);
    let e = c
        .list(&format!("{SUB}/loop?api-version=1"))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("same nextLink twice"), "{e}");
    let e = c
        .list(&format!("{SUB}/foreign?api-version=1"))
        .await
        .unwrap_err();
    assert!(matches!(e, AzureError::Transport { .. }), "{e}");
}

#[tokio::test]
async fn recovery_services_lro_styles() {
    let srv = start_server().await;
    let c = client(&srv).await;
    let vault = format!("{SUB}/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/v");
    let item = format!("{vault}/backupFabrics/Azure/protectionContainers/iaasvmcontainer;iaasvmcontainerv2;rg;vm1/protectedItems/vm;iaasvmcontainerv2;rg;vm1");

    // PUT → 202, operationsStatus InProgress → Succeeded, then operationResults → the item.
    let seen = Mutex::new(Vec::new());
    let progress = |p: &azprotect::azure::OperationProgress| {
        seen.lock().unwrap().push(p.status.clone());
    };
    let v = c
        .execute_with(
            &req(
                ArmMethod::Put,
                format!("{item}?api-version=2026-01-01"),
                Some(
                    json!({"properties":{"protectedItemType":"Microsoft.Compute/virtualMachines"}}),
                ),
            ),
            &progress,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(v["properties"]["protectionState"], "IRPending");
    assert_eq!(*seen.lock().unwrap(), ["InProgress"]);

    // DELETE → vault-level backupOperations (Inprogress twice) → done, no body.
    let v = c
        .execute(&req(
            ArmMethod::Delete,
            format!("{item}?api-version=2026-01-01"),
            None,
        ))
        .await
        .unwrap();
    assert!(v.is_none());

    // refreshContainers → Location only → 202 → 204.
    let v = c
        .execute(&req(
            ArmMethod::Post,
            format!("{vault}/backupFabrics/Azure/refreshContainers?api-version=2026-01-01"),
            None,
        ))
        .await
        .unwrap();
    assert!(v.is_none());

    // Polls went to the capitalised /Subscriptions/ URLs verbatim.
    let s = srv.state.lock().unwrap();
    // ARM answers 411 to a POST without Content-Length.
    assert_eq!(s.post_content_lengths, vec![vec!["0".to_string()]]);
    assert!(s
        .lro_paths
        .iter()
        .any(|p| p.ends_with("/operationsStatus/op1")));
    assert!(s
        .lro_paths
        .iter()
        .any(|p| p.ends_with("/backupOperations/op2")));
    assert_eq!(
        s.hits[&format!(
            "GET {}",
            format!("{vault}/backupOperations/op2").replacen(
                "/subscriptions/",
                "/Subscriptions/",
                1
            )
        )],
        3
    );
    assert_eq!(s.unauthenticated, 0);
}

#[tokio::test]
async fn failed_operation_and_foreign_poll_url() {
    let srv = start_server().await;
    let c = client(&srv).await;
    let vault = format!("{SUB}/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/v");
    let e = c
        .execute(&req(
            ArmMethod::Put,
            format!("{vault}/backupPolicies/bad?api-version=2026-01-01"),
            Some(json!({"properties":{}})),
        ))
        .await
        .unwrap_err();
    match &e {
        AzureError::OperationFailed {
            resource,
            status,
            code,
            message,
            request_id,
        } => {
            assert_eq!(resource, &format!("{vault}/backupPolicies/bad"));
            assert_eq!(status, "Failed");
            assert_eq!(code, "BMSUserErrorInvalidPolicyInput");
            assert!(message.contains("at least 7 days"));
            assert!(request_id.starts_with("rid-"));
        }
        other => panic!("{other:?}"),
    }
    let before = c.request_count();
    let e = c
        .execute(&req(
            ArmMethod::Put,
            format!("{SUB}/evil-lro?api-version=1"),
            Some(json!({})),
        ))
        .await
        .unwrap_err();
    assert!(
        matches!(e, AzureError::Transport { ref message, .. } if message.contains("refusing")),
        "{e}"
    );
    assert_eq!(c.request_count(), before + 1);
}

#[tokio::test]
async fn data_protection_failures_say_what_to_do() {
    let srv = start_server().await;
    let c = client(&srv).await;
    let bv = format!("{SUB}/resourceGroups/rg/providers/Microsoft.DataProtection/backupVaults/bv");
    // A refused request.
    let e = c
        .execute(&req(
            ArmMethod::Patch,
            format!("{bv}?api-version=2025-07-01"),
            Some(json!({"properties":{"securitySettings":{"softDeleteSettings":{"state":"Off"}}}})),
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("UserErrorDisableSoftDeleteNotAllowed"));
    let shown = e.to_string();
    assert!(
        shown.contains("Soft delete cannot be turned off for this vault. Recommended action: Soft delete is always on for this vault; leave it enabled."),
        "{shown}"
    );
    // An operation that fails while running.
    let e = c
        .execute(&req(
            ArmMethod::Put,
            format!("{bv}/backupInstances/bi?api-version=2025-07-01"),
            Some(json!({"properties":{}})),
        ))
        .await
        .unwrap_err();
    match &e {
        AzureError::OperationFailed { code, message, .. } => {
            assert_eq!(code, "UserErrorDppDatasourceAlreadyHasBackupInstance");
            assert_eq!(
                message,
                "The datasource already has a backup instance. Recommended action: Delete the existing backup instance or protect the disk from its vault."
            );
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn sync_put_and_parallel_use() {
    let srv = start_server().await;
    let mut st = settings(&srv);
    st.max_in_flight = Some(4);
    let c = ArmClient::new(st).await.unwrap();
    let v = c
        .execute(&req(
            ArmMethod::Put,
            format!("{SUB}/resourceGroups/rg2?api-version=2021-04-01"),
            Some(json!({"location": "westeurope"})),
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(v["location"], "westeurope");
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let c = c.clone();
            tokio::spawn(async move {
                c.get_optional(&format!("{SUB}/resourceGroups/rg?api-version=1"))
                    .await
                    .unwrap()
            })
        })
        .collect();
    for t in tasks {
        assert!(t.await.unwrap().is_some());
    }
    assert_eq!(c.request_count(), 17);
    assert_eq!(srv.state.lock().unwrap().token_requests, 1);
}

#[tokio::test]
async fn github_actions_oidc_assertion() {
    let srv = start_server().await;
    let mut st = settings(&srv);
    st.credentials.client_secret = None;
    st.credentials.actions_token_url = Some(format!("{}/gh-idtoken?api-version=2.0", srv.base));
    st.credentials.actions_token = Some(GH_REQUEST_TOKEN.into());
    let c = ArmClient::new(st.clone()).await.unwrap();
    assert!(c
        .get_optional(&format!("{SUB}/resourceGroups/rg?api-version=1"))
        .await
        .unwrap()
        .is_some());
    {
        let s = srv.state.lock().unwrap();
        assert_eq!((s.gh_requests, s.token_requests), (1, 1));
    }
    // Explicit choice works the same; a wrong request token is an auth error without secrets.
    st.auth = AuthChoice::GithubOidc;
    st.credentials.actions_token = Some("nope-wrong-token".into());
    let e = ArmClient::new(st)
        .await
        .unwrap()
        .get_optional(&format!("{SUB}/resourceGroups/rg?api-version=1"))
        .await
        .unwrap_err();
    assert!(
        matches!(e, AzureError::Auth(ref m) if m.contains("403")),
        "{e}"
    );
    assert!(!e.to_string().contains("nope-wrong-token"));
}

#[tokio::test]
async fn workload_identity_token_file() {
    let srv = start_server().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    std::fs::write(&file, GH_JWT).unwrap();
    let mut st = settings(&srv);
    st.credentials.client_secret = None;
    st.credentials.federated_token_file = Some(file);
    st.auth = AuthChoice::WorkloadIdentity;
    let c = ArmClient::new(st).await.unwrap();
    assert!(c
        .get_optional(&format!("{SUB}/resourceGroups/rg?api-version=1"))
        .await
        .unwrap()
        .is_some());
    assert_eq!(srv.state.lock().unwrap().token_requests, 1);
}
