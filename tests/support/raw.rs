//! Raw HTTPS access to a sandbox for the black-box sandbox tests: a reqwest client that trusts
//! only the sandbox's CA, and a bearer token from its token endpoint (client credentials).

use azprotect::sandbox::Sandbox;
use serde_json::Value;

/// A client trusting the sandbox CA, and a fresh access token.
pub async fn token_client(sb: &Sandbox) -> (reqwest::Client, String) {
    let cert = reqwest::Certificate::from_pem(sb.ca_cert_pem().as_bytes()).unwrap();
    let http = reqwest::Client::builder()
        .tls_certs_only([cert])
        .build()
        .unwrap();
    let c = sb.credentials();
    let r = http
        .post(format!(
            "{}/{}/oauth2/v2.0/token",
            sb.endpoint(),
            c.tenant_id
        ))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", c.client_id.as_str()),
            ("client_secret", c.client_secret.as_str()),
            ("scope", "https://management.azure.com/.default"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "the sandbox issues a token");
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["token_type"], "Bearer");
    (http, b["access_token"].as_str().unwrap().to_string())
}

/// A response header as text ("" when absent).
pub fn header(h: &reqwest::header::HeaderMap, k: &str) -> String {
    h.get(k)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

/// `method url` with `token` and an optional JSON body: (status, headers, JSON body or null).
pub async fn call(
    http: &reqwest::Client,
    token: &str,
    method: reqwest::Method,
    url: &str,
    body: Option<Value>,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut rb = http.request(method, url).bearer_auth(token);
    if let Some(b) = body {
        rb = rb.json(&b);
    }
    let r = rb.send().await.unwrap();
    let s = r.status().as_u16();
    let h = r.headers().clone();
    let text = r.text().await.unwrap();
    let v = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap()
    };
    (s, h, v)
}

/// `{method} {endpoint}{path}` with a fresh token and no body: the response.
async fn send(sb: &Sandbox, method: reqwest::Method, path: &str) -> reqwest::Response {
    let (http, token) = token_client(sb).await;
    (http.request(method, format!("{}{path}", sb.endpoint())))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
}

/// `DELETE {endpoint}{path}` with a fresh token: the status.
pub async fn delete(sb: &Sandbox, path: &str) -> u16 {
    send(sb, reqwest::Method::DELETE, path)
        .await
        .status()
        .as_u16()
}

/// `GET {endpoint}{path}` with a fresh token: (status, JSON body or null).
pub async fn get(sb: &Sandbox, path: &str) -> (u16, Value) {
    let r = send(sb, reqwest::Method::GET, path).await;
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or_default())
}
