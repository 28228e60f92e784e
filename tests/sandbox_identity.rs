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

/// A certificate for `name` signed by the sandbox's CA (its key read from the state file), and
/// whether a client trusting that CA accepts it for `name`.
fn accepted_for(ca_pem: &str, ca_key_pem: &str, name: &str) -> bool {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    use rustls::client::danger::ServerCertVerifier;
    use rustls::pki_types::{pem::PemObject, CertificateDer, ServerName, UnixTime};
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.distinguished_name
        .push(DnType::CommonName, "azprotect sandbox CA");
    ca.distinguished_name
        .push(DnType::OrganizationName, "azprotect sandbox");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let issuer = Issuer::new(ca, KeyPair::from_pem(ca_key_pem).unwrap());
    let leaf = CertificateParams::new(vec![name.to_string()])
        .unwrap()
        .signed_by(&KeyPair::generate().unwrap(), &issuer)
        .unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(ca_pem.as_bytes()).unwrap())
        .unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier =
        rustls::client::WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
            .build()
            .unwrap();
    verifier
        .verify_server_cert(
            leaf.der(),
            &[],
            &ServerName::try_from(name.to_string()).unwrap(),
            &[],
            UnixTime::now(),
        )
        .is_ok()
}

#[tokio::test]
async fn the_sandbox_keeps_its_secrets_private_and_its_ca_vouches_for_this_machine_only() {
    let dir = tempfile::tempdir().unwrap();
    let (state, env) = (
        dir.path().join("state.json"),
        dir.path().join("sandbox.env"),
    );
    let sb = Sandbox::start(SandboxOptions {
        state: Some(state.clone()),
        env_file: Some(env.clone()),
        ..SandboxOptions::default()
    })
    .await
    .unwrap();
    let ca_pem = sb.ca_cert_pem();
    sb.shutdown().await;
    // The state holds the client secret and the CA and token-signing keys; the env file the
    // client secret: their owner alone reads them.
    #[cfg(unix)]
    for f in [&state, &env] {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(f).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", f.display());
    }
    // Trusting the sandbox CA lets it vouch for this machine, and for no other host.
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    let key = saved["tls"]["ca_key_pem"].as_str().expect("the CA key");
    for name in ["localhost", "127.0.0.1"] {
        assert!(accepted_for(&ca_pem, key, name), "{name}");
    }
    for name in [
        "management.azure.com",
        "login.microsoftonline.com",
        "10.0.0.1",
    ] {
        assert!(!accepted_for(&ca_pem, key, name), "{name} must be refused");
    }
}
