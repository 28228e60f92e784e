//! `examples/landing-zone.yaml` on its sandbox tenant (`examples/inventories/landing-zone.yaml`:
//! three subscriptions under `mg-corp`), and what its stories read of a plan.

use super::estate::{example_estate, read_example, repo, Estate};
use azprotect::sandbox::SandboxOptions;
use std::collections::BTreeSet;

pub const PROD: &str = "00000000-0000-0000-0000-0000000000c1";
pub const DEV: &str = "00000000-0000-0000-0000-0000000000c2";
pub const SANDBOX: &str = "00000000-0000-0000-0000-0000000000c3";

pub async fn landing_zone() -> Estate {
    landing_zone_with(SandboxOptions::default()).await
}

/// The landing zone on a sandbox started with `options` (its inventory replaced).
pub async fn landing_zone_with(options: SandboxOptions) -> Estate {
    example_estate("landing-zone.yaml", options).await
}

/// The landing zone's inventory with its Sandbox subscription unreadable to the caller
/// (`readable: false`).
pub fn inventory_without_sandbox() -> String {
    let text = read_example("inventories/landing-zone.yaml");
    let locked = text.replace(
        "    name: Sandbox\n",
        "    name: Sandbox\n    readable: false\n",
    );
    assert_ne!(locked, text);
    locked
}

/// The landing zone with its Sandbox subscription unreadable to the caller.
pub async fn landing_zone_without_sandbox() -> Estate {
    Estate::with_inventory(&inventory_without_sandbox(), SandboxOptions::default()).await
}

/// The example file's path.
pub fn file() -> String {
    repo()
        .join("examples/landing-zone.yaml")
        .display()
        .to_string()
}

/// The addresses a JSON plan changes.
pub fn addresses(plan: &serde_json::Value) -> BTreeSet<String> {
    plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["address"].as_str().unwrap().to_string())
        .collect()
}

/// Every change of a JSON plan has its ARM id in `sub`.
pub fn all_in(plan: &serde_json::Value, sub: &str) -> bool {
    plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["arm_id"].as_str().unwrap().contains(sub))
}

pub fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// Tag a VM as Azure's tags API does (`az tag update --operation Merge`), behind azprotect's back.
pub async fn tag(estate: &Estate, vm: &str, value: &str) {
    let (http, token) = super::raw::token_client(&estate.sandbox).await;
    let url = format!(
        "{}{vm}/providers/Microsoft.Resources/tags/default?api-version=2021-04-01",
        estate.sandbox.endpoint()
    );
    let body = serde_json::json!({"operation": "Merge", "properties": {"tags": {"backup": value}}});
    let r = http
        .patch(&url)
        .bearer_auth(&token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
}

pub fn vm(sub: &str, rg: &str, name: &str) -> String {
    format!("/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachines/{name}")
}
