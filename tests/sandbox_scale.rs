//! List paging as Azure pages (backup lists, resource groups, role assignments) over a
//! generated estate, and injected LRO failures.

use std::time::Duration;

mod support;

use azprotect::sandbox::{Sandbox, SandboxOptions};
use serde_json::{json, Value};

async fn client(sb: &Sandbox) -> (reqwest::Client, String) {
    support::raw::token_client(sb).await
}

use support::raw::call as send;

/// A sandbox (simulated time stopped) seeded with the inventory `text`, and the directory that
/// holds it.
async fn generated(text: &str) -> (Sandbox, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let inv = dir.path().join("inv.yaml");
    std::fs::write(&inv, text).unwrap();
    let sb = Sandbox::start(SandboxOptions {
        inventory: Some(inv),
        time_scale: 0.0,
        ..Default::default()
    })
    .await
    .unwrap();
    (sb, dir)
}

#[tokio::test]
async fn backup_lists_page_at_200() {
    let (sb, _dir) = generated(
        "subscriptions:\n  00000000-0000-0000-0000-00000000000f: {}\ngenerate: {vms: 230, resource_groups: 2, locations: [westeurope], tags: {backup: [gold, none]}}\n",
    )
    .await;
    let (http, tok) = client(&sb).await;
    let sub = sb.credentials().subscription_id;
    assert_eq!(sub, "00000000-0000-0000-0000-00000000000f");
    let ep = sb.endpoint();
    let vault = format!("/subscriptions/{sub}/resourceGroups/rg-gen-000/providers/Microsoft.RecoveryServices/vaults/rsv");
    let (s, _, _) = send(
        &http,
        &tok,
        reqwest::Method::PUT,
        &format!("{ep}{vault}?api-version=2026-02-01"),
        Some(json!({"location": "westeurope", "sku": {"name": "Standard"}})),
    )
    .await;
    assert_eq!(s, 201);

    // Nothing is protectable until the vault discovers its VMs (recording:
    // azure-cli/test_backup_protection.yaml #35–40); time_scale 0 ends the refresh at once.
    let (s, _, _) = send(
        &http,
        &tok,
        reqwest::Method::POST,
        &format!("{ep}{vault}/backupFabrics/Azure/refreshContainers?api-version=2026-01-01"),
        None,
    )
    .await;
    assert_eq!(s, 202);
    // The protectable items list pages at 200.
    let (_, _, b) = send(&http, &tok, reqwest::Method::GET, &format!("{ep}{vault}/backupProtectableItems?api-version=2026-01-01&$filter=backupManagementType eq 'AzureIaasVM'"), None).await;
    assert_eq!(b["value"].as_array().unwrap().len(), 200);
    let next = b["nextLink"].as_str().unwrap().to_string();
    assert!(next.starts_with("https://") && next.contains("skipToken=200"));
    let (_, _, b) = send(&http, &tok, reqwest::Method::GET, &next, None).await;
    assert_eq!(b["value"].as_array().unwrap().len(), 30);
    assert!(b.get("nextLink").is_none());

    // Protect 205 VMs, list protected items.
    for i in 0..205 {
        let rg = format!("rg-gen-00{}", i % 2);
        let vm = format!("vm-{i:04}");
        let url = format!("{ep}{vault}/backupFabrics/Azure/protectionContainers/iaasvmcontainer;iaasvmcontainerv2;{rg};{vm}/protectedItems/vm;iaasvmcontainerv2;{rg};{vm}?api-version=2026-01-01");
        let body = json!({"properties": {"protectedItemType": "Microsoft.Compute/virtualMachines",
            "sourceResourceId": format!("/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachines/{vm}"),
            "policyId": format!("{vault}/backupPolicies/DefaultPolicy")}});
        let (s, _, b) = send(&http, &tok, reqwest::Method::PUT, &url, Some(body)).await;
        assert_eq!(s, 202, "{b}");
    }
    let (_, _, b) = send(&http, &tok, reqwest::Method::GET, &format!("{ep}{vault}/backupProtectedItems?api-version=2026-01-01&$filter=backupManagementType eq 'AzureIaasVM' and itemType eq 'VM'"), None).await;
    assert_eq!(b["value"].as_array().unwrap().len(), 200);
    let (_, _, b2) = send(
        &http,
        &tok,
        reqwest::Method::GET,
        b["nextLink"].as_str().unwrap(),
        None,
    )
    .await;
    assert_eq!(b2["value"].as_array().unwrap().len(), 5);
    let (_, _, p) = send(
        &http,
        &tok,
        reqwest::Method::GET,
        &format!("{ep}{vault}/backupPolicies/DefaultPolicy?api-version=2026-01-01"),
        None,
    )
    .await;
    assert_eq!(p["properties"]["protectedItemsCount"], 205);
}

/// A subscription's resource groups page at about 480 (azure-cli recordings: 483–490 a page),
/// a principal's role assignments not at all (2,176 in one recorded answer), `GET
/// /subscriptions` not at all (`sandbox::server::App`).
#[tokio::test]
async fn resource_groups_page_at_480_role_assignments_and_subscriptions_not_at_all() {
    let (sb, _dir) = generated(
        "subscriptions:\n  00000000-0000-0000-0000-00000000000d: {}\ngenerate: {vms: 500, resource_groups: 500, locations: [westeurope]}\n",
    )
    .await;
    let (http, tok) = client(&sb).await;
    let sub = sb.credentials().subscription_id;
    let ep = sb.endpoint();
    let get = |path: String| {
        let (http, tok) = (&http, &tok);
        async move { send(http, tok, reqwest::Method::GET, &path, None).await }
    };
    let (s, _, first) = get(format!(
        "{ep}/subscriptions/{sub}/resourcegroups?api-version=2021-04-01"
    ))
    .await;
    assert_eq!(s, 200);
    assert_eq!(first["value"].as_array().map(Vec::len), Some(480));
    let next = first["nextLink"].as_str().expect("a next page").to_string();
    let (_, _, rest) = get(next).await;
    assert_eq!(rest["value"].as_array().map(Vec::len), Some(20));
    assert!(rest["nextLink"].is_null(), "{}", rest["nextLink"]);

    // 120 assignments of one principal, one per group: one answer.
    let principal = "6f1e0c2a-5b7d-4c1e-9a0b-3d2f1e4c5b6a";
    let reader = format!("/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/3e5e47e6-65f7-47ef-90b5-e5dd4d455f24");
    for i in 0..120 {
        let scope = format!("/subscriptions/{sub}/resourceGroups/rg-gen-{i:03}");
        let name = uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, scope.as_bytes());
        let (s, _, b) = send(
            &http,
            &tok,
            reqwest::Method::PUT,
            &format!("{ep}{scope}/providers/Microsoft.Authorization/roleAssignments/{name}?api-version=2022-04-01"),
            Some(json!({"properties": {"roleDefinitionId": reader, "principalId": principal, "principalType": "ServicePrincipal"}})),
        )
        .await;
        assert_eq!(s, 201, "{b}");
    }
    let (s, _, all) = get(format!(
        "{ep}/subscriptions/{sub}/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01&$filter=principalId%20eq%20%27{principal}%27"
    ))
    .await;
    assert_eq!(s, 200);
    assert_eq!(all["value"].as_array().map(Vec::len), Some(120));
    assert!(
        all.get("nextLink").is_none_or(Value::is_null),
        "{}",
        all["nextLink"]
    );
    sb.shutdown().await;
}

#[tokio::test]
async fn injected_lro_failure_has_no_effect() {
    let sb = Sandbox::start(SandboxOptions {
        faults: Some("seed=3,lro_fail=1".into()),
        time_scale: 0.001,
        ..Default::default()
    })
    .await
    .unwrap();
    let (http, tok) = client(&sb).await;
    let sub = sb.credentials().subscription_id;
    let ep = sb.endpoint();
    let vault = format!("/subscriptions/{sub}/resourceGroups/rg-web/providers/Microsoft.RecoveryServices/vaults/rsv");
    let (s, _, _) = send(
        &http,
        &tok,
        reqwest::Method::PUT,
        &format!("{ep}{vault}?api-version=2026-02-01"),
        Some(json!({"location": "westeurope", "sku": {"name": "Standard"}})),
    )
    .await;
    assert_eq!(s, 201);
    let item = format!("{ep}{vault}/backupFabrics/Azure/protectionContainers/iaasvmcontainer;iaasvmcontainerv2;rg-web;web-01/protectedItems/vm;iaasvmcontainerv2;rg-web;web-01?api-version=2026-01-01");
    let body = json!({"properties": {"protectedItemType": "Microsoft.Compute/virtualMachines",
        "sourceResourceId": format!("/subscriptions/{sub}/resourceGroups/rg-web/providers/Microsoft.Compute/virtualMachines/web-01"),
        "policyId": format!("{vault}/backupPolicies/DefaultPolicy")}});
    let (s, h, _) = send(&http, &tok, reqwest::Method::PUT, &item, Some(body)).await;
    assert_eq!(s, 202);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let aao = h["azure-asyncoperation"].to_str().unwrap().to_string();
    let (s, _, st) = send(&http, &tok, reqwest::Method::GET, &aao, None).await;
    assert_eq!(s, 200);
    assert_eq!(st["status"], "Failed");
    assert!(st["error"]["code"].is_string());
    let (s, _, _) = send(
        &http,
        &tok,
        reqwest::Method::GET,
        h["location"].to_str().unwrap(),
        None,
    )
    .await;
    assert!(s >= 400);
    let (s, _, b) = send(&http, &tok, reqwest::Method::GET, &item, None).await;
    assert_eq!(
        (s, b["error"]["code"].as_str().unwrap()),
        (404, "BMSUserErrorItemNotFound")
    );
}

#[tokio::test]
async fn ten_thousand_vms_start_and_persist() {
    let dir = tempfile::tempdir().unwrap();
    let inv = dir.path().join("inv.yaml");
    std::fs::write(
        &inv,
        "subscriptions:\n  00000000-0000-0000-0000-00000000000e: {}\ngenerate: {vms: 10000, resource_groups: 50, locations: [westeurope, northeurope], tags: {backup: [gold, silver, none]}}\n",
    )
    .unwrap();
    let state = dir.path().join("state.json");
    let started = std::time::Instant::now();
    let sb = Sandbox::start(SandboxOptions {
        inventory: Some(inv),
        state: Some(state.clone()),
        time_scale: 0.0,
        ..Default::default()
    })
    .await
    .unwrap();
    let (http, tok) = client(&sb).await;
    let sub = sb.credentials().subscription_id;
    let ep = sb.endpoint();
    let (s, _, b) = send(
        &http,
        &tok,
        reqwest::Method::GET,
        &format!("{ep}/subscriptions/{sub}/providers/Microsoft.Compute/virtualMachines?api-version=2025-11-01"),
        None,
    )
    .await;
    assert_eq!(s, 200);
    // Azure's Compute lists page at 50 (`sandbox::server::App::compute_page_size`).
    assert_eq!(b["value"].as_array().unwrap().len(), 50);
    assert!(b["nextLink"].is_string());
    let vault = format!("/subscriptions/{sub}/resourceGroups/rg-gen-000/providers/Microsoft.RecoveryServices/vaults/rsv");
    let (s, _, _) = send(
        &http,
        &tok,
        reqwest::Method::PUT,
        &format!("{ep}{vault}?api-version=2026-02-01"),
        Some(json!({"location": "westeurope", "sku": {"name": "Standard"}})),
    )
    .await;
    assert_eq!(s, 201);
    sb.shutdown().await;
    let text = std::fs::read_to_string(&state).unwrap();
    assert!(text.contains("\"rsv\""));
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
}
