//! The production token path: azure_identity's `ClientSecretCredential` gets its token from the
//! sandbox's Entra endpoint over HTTPS, and that token opens the ARM routes.

use std::sync::Arc;

use azprotect::sandbox::{Sandbox, SandboxOptions};
use azure_core::cloud::{CloudConfiguration, CustomConfiguration};
use azure_core::credentials::{Secret, TokenCredential};
use azure_core::http::{ClientOptions, Transport};
use azure_identity::{ClientSecretCredential, ClientSecretCredentialOptions};

fn options(sb: &Sandbox, http: &reqwest::Client) -> ClientSecretCredentialOptions {
    let mut cloud = CustomConfiguration::default();
    cloud.authority_host = sb.endpoint();
    let client_options = ClientOptions {
        transport: Some(Transport::new(Arc::new(http.clone()))),
        cloud: Some(Arc::new(CloudConfiguration::Custom(cloud))),
        ..Default::default()
    };
    ClientSecretCredentialOptions { client_options }
}

#[tokio::test]
async fn azure_identity_client_secret_flow() {
    let sb = Sandbox::start(SandboxOptions::default()).await.unwrap();
    let cert = reqwest::Certificate::from_pem(sb.ca_cert_pem().as_bytes()).unwrap();
    let http = reqwest::Client::builder()
        .tls_certs_only([cert])
        .build()
        .unwrap();
    let c = sb.credentials();
    let cred = ClientSecretCredential::new(
        &c.tenant_id,
        c.client_id.clone(),
        Secret::new(c.client_secret.clone()),
        Some(options(&sb, &http)),
    )
    .unwrap();
    let tok = cred
        .get_token(&["https://management.azure.com/.default"], None)
        .await
        .expect("token from the sandbox");
    assert!(tok.expires_on > time::OffsetDateTime::now_utc());
    let r = http
        .get(format!(
            "{}/subscriptions/{}/providers/Microsoft.Compute/virtualMachines?api-version=2025-11-01",
            sb.endpoint(),
            c.subscription_id
        ))
        .bearer_auth(tok.token.secret())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let b: serde_json::Value = r.json().await.unwrap();
    assert_eq!(b["value"].as_array().unwrap().len(), 7);

    let bad = ClientSecretCredential::new(
        &c.tenant_id,
        c.client_id.clone(),
        Secret::new("wrong".to_string()),
        Some(options(&sb, &http)),
    )
    .unwrap();
    let err = bad
        .get_token(&["https://management.azure.com/.default"], None)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("AADSTS7000215"), "{err}");
    sb.shutdown().await;
}
