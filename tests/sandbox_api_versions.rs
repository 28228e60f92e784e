//! Microsoft's current SDKs send api-versions newer than the specs the sandbox follows
//! (Recovery Services Backup 2026-11-01, Data Protection 2026-06-01, Compute 2026-04-01…): the
//! sandbox serves them as the newest it knows. An unknown older one, or a malformed one, is
//! refused as ARM refuses it; `--strict-api-versions` keeps the exact lists.

mod support;

use azprotect::sandbox::{Sandbox, SandboxOptions};

use support::raw::get;

fn vaults(sub: &str, api: &str) -> String {
    format!("/subscriptions/{sub}/providers/Microsoft.RecoveryServices/vaults?api-version={api}")
}

fn backup_vaults(sub: &str, api: &str) -> String {
    format!(
        "/subscriptions/{sub}/providers/Microsoft.DataProtection/backupVaults?api-version={api}"
    )
}

#[tokio::test]
async fn current_sdk_api_versions_are_served_and_unknown_ones_refused_as_arm_does() {
    let sb = Sandbox::start(SandboxOptions::default()).await.unwrap();
    let sub = sb.credentials().subscription_id;

    let (s, b) = get(&sb, &vaults(&sub, "2026-11-01")).await;
    assert_eq!(s, 200, "a newer Recovery Services version is served: {b}");
    assert!(b["value"].is_array());
    let (s, b) = get(&sb, &backup_vaults(&sub, "2026-06-01")).await;
    assert_eq!(s, 200, "a newer Data Protection version is served: {b}");

    let (s, b) = get(&sb, &vaults(&sub, "2015-03-15")).await;
    assert_eq!(s, 400);
    assert_eq!(b["error"]["code"], "NoRegisteredProviderFound", "{b}");
    let msg = b["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("API version '2015-03-15' for type 'vaults'") && msg.contains("2026-02-01"),
        "{msg}"
    );

    let (s, b) = get(&sb, &vaults(&sub, "latest")).await;
    assert_eq!(s, 400);
    assert_eq!(b["error"]["code"], "InvalidApiVersionParameter", "{b}");
}

#[tokio::test]
async fn strict_api_versions_keeps_the_exact_lists() {
    let sb = Sandbox::start(SandboxOptions {
        strict_api_versions: true,
        ..SandboxOptions::default()
    })
    .await
    .unwrap();
    let sub = sb.credentials().subscription_id;
    let (s, b) = get(&sb, &vaults(&sub, "2026-11-01")).await;
    assert_eq!(s, 400, "{b}");
    assert_eq!(b["error"]["code"], "NoRegisteredProviderFound", "{b}");
    let (s, _) = get(&sb, &vaults(&sub, "2026-02-01")).await;
    assert_eq!(s, 200);
}
