//! TLS material: a CA generated once per state (persisted so `AZPROTECT_CA_CERT` stays valid
//! across restarts) and a server certificate for 127.0.0.1 / localhost / ::1 signed by it at
//! every start. The CA is name-constrained to those three names. The rustls provider is
//! aws-lc-rs, installed explicitly.

use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, CidrSubnet, DnType, GeneralSubtree, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, NameConstraints,
};
use rustls::pki_types::pem::PemObject;

use super::state::TlsMaterial;
use super::SandboxError;

fn io(e: impl std::fmt::Display) -> SandboxError {
    SandboxError::Io(format!("tls: {e}"))
}

fn ca_params() -> Result<CertificateParams, SandboxError> {
    let mut p = CertificateParams::new(Vec::<String>::new()).map_err(io)?;
    p.distinguished_name
        .push(DnType::CommonName, "azprotect sandbox CA");
    p.distinguished_name
        .push(DnType::OrganizationName, "azprotect sandbox");
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    // A CA that can only vouch for this machine: trusting it (AZPROTECT_CA_CERT, a system
    // store) cannot let it impersonate any other host.
    p.name_constraints = Some(NameConstraints {
        permitted_subtrees: vec![
            GeneralSubtree::DnsName("localhost".into()),
            GeneralSubtree::IpAddress(CidrSubnet::V4([127, 0, 0, 1], [255; 4])),
            GeneralSubtree::IpAddress(CidrSubnet::V6(
                std::net::Ipv6Addr::LOCALHOST.octets(),
                [255; 16],
            )),
        ],
        excluded_subtrees: vec![],
    });
    p.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    p.not_before = time::OffsetDateTime::now_utc() - time::Duration::days(1);
    p.not_after = time::OffsetDateTime::now_utc() + time::Duration::days(3650);
    Ok(p)
}

/// A new CA.
pub fn generate_ca() -> Result<TlsMaterial, SandboxError> {
    let key = KeyPair::generate().map_err(io)?;
    let cert = ca_params()?.self_signed(&key).map_err(io)?;
    Ok(TlsMaterial {
        ca_cert_pem: cert.pem(),
        ca_key_pem: key.serialize_pem(),
    })
}

/// A rustls server config with a fresh leaf certificate signed by the persisted CA.
pub fn server_config(ca: &TlsMaterial) -> Result<Arc<rustls::ServerConfig>, SandboxError> {
    let ca_key = KeyPair::from_pem(&ca.ca_key_pem).map_err(io)?;
    let issuer = Issuer::new(ca_params()?, ca_key);
    let mut leaf = CertificateParams::new(vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ])
    .map_err(io)?;
    leaf.distinguished_name
        .push(DnType::CommonName, "azprotect sandbox");
    leaf.is_ca = IsCa::NoCa;
    leaf.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    leaf.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    leaf.not_before = time::OffsetDateTime::now_utc() - time::Duration::days(1);
    leaf.not_after = time::OffsetDateTime::now_utc() + time::Duration::days(365);
    let leaf_key = KeyPair::generate().map_err(io)?;
    let cert = leaf.signed_by(&leaf_key, &issuer).map_err(io)?;

    let ca_der =
        rustls::pki_types::CertificateDer::from_pem_slice(ca.ca_cert_pem.as_bytes()).map_err(io)?;
    let chain = vec![cert.der().clone(), ca_der];
    let key = rustls::pki_types::PrivateKeyDer::try_from(leaf_key.serialize_der()).map_err(io)?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(io)?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(io)?;
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(cfg))
}
