//! Enabling VM backup follows Azure's discovery, as Azure's own CLI does (recording:
//! azure-cli/test_backup_protection.yaml #35–41): a vault that has not discovered its VMs lists
//! none, so apply refreshes the vault's containers once, lists again and enables protection at
//! the names Azure returned (`IaasVMContainer;iaasvmcontainerv2;{rg};{vm}`). A later apply that
//! finds the VM already discovered does not refresh again, and lists the vault while its lease
//! settles.

mod support;

use azprotect::model::{api, Method};
use azprotect::sandbox::SandboxOptions;
use serde_json::Value;
use std::path::Path;
use support::estate::{quickstart, Estate};

const SUB: &str = "00000000-0000-0000-0000-000000000001";

fn vault() -> String {
    format!("/subscriptions/{SUB}/resourceGroups/rg-protect-weu/providers/Microsoft.RecoveryServices/vaults/rsv-prod-weu")
}

/// (method, path) of every ARM request in the access log, `%3B` shown as `;`.
fn requests(log: &Path) -> Vec<(String, String)> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (
                v["method"].as_str().unwrap().to_string(),
                v["path"]
                    .as_str()
                    .unwrap()
                    .replace("%3B", ";")
                    .replace("%3b", ";"),
            )
        })
        .collect()
}

/// Where the `method` requests whose path ends with `suffix` (any case) are in `reqs`.
fn positions(reqs: &[(String, String)], method: &str, suffix: &str) -> Vec<usize> {
    reqs.iter()
        .enumerate()
        .filter(|(_, (m, p))| {
            m == method
                && p.to_ascii_lowercase()
                    .ends_with(&suffix.to_ascii_lowercase())
        })
        .map(|(i, _)| i)
        .collect()
}

fn count(reqs: &[(String, String)], method: &str, suffix: &str) -> usize {
    positions(reqs, method, suffix).len()
}

#[tokio::test(flavor = "multi_thread")]
async fn new_protection_discovers_the_vms_once_and_uses_azures_names() {
    let log = tempfile::NamedTempFile::new().unwrap();
    let estate = Estate::start_with(SandboxOptions {
        access_log: Some(log.path().to_path_buf()),
        ..SandboxOptions::default()
    })
    .await;

    estate
        .run(&["apply", "-f", &quickstart(), "--auto-approve"])
        .await
        .expect_code(0);
    let reqs = requests(log.path());
    // Four VMs in two resource groups, none discovered yet: one refresh for the vault, one
    // listing before it and one after.
    assert_eq!(
        count(&reqs, "POST", "/backupFabrics/Azure/refreshContainers"),
        1,
        "{reqs:#?}"
    );
    assert_eq!(
        count(&reqs, "GET", "/backupProtectableItems"),
        2,
        "{reqs:#?}"
    );
    let puts: Vec<&String> = reqs
        .iter()
        .filter(|(m, p)| m == "PUT" && p.contains("/protectedItems/"))
        .map(|(_, p)| p)
        .collect();
    assert_eq!(puts.len(), 4, "{reqs:#?}");
    for p in &puts {
        assert!(
            p.contains("/protectionContainers/IaasVMContainer;iaasvmcontainerv2;"),
            "protection enabled at a name Azure did not return: {p}"
        );
    }
    // The refresh happened before the first enable.
    let refresh_at = positions(&reqs, "POST", "/refreshContainers")[0];
    let first_put = reqs
        .iter()
        .position(|(m, p)| m == "PUT" && p.contains("/protectedItems/"))
        .unwrap();
    assert!(refresh_at < first_put, "{reqs:#?}");
    estate.expect_no_changes(&quickstart()).await;

    // web-03 joins the vault: the vault already discovered it, so no second refresh.
    std::fs::write(log.path(), "").unwrap();
    let more = std::fs::read_to_string(quickstart()).unwrap().replace(
        "          - rg-app/db-01\n",
        "          - rg-app/db-01\n          - rg-web/web-03\n",
    );
    let file = estate.write("more.yaml", &more);
    estate
        .run(&["apply", "-f", &file, "--auto-approve"])
        .await
        .expect_code(0);
    let reqs = requests(log.path());
    assert_eq!(count(&reqs, "POST", "/refreshContainers"), 0, "{reqs:#?}");
    assert_eq!(
        count(&reqs, "GET", "/backupProtectableItems"),
        1,
        "{reqs:#?}"
    );
    // The vault exists, so its listing is made while apply waits for its lease to settle:
    // after the lease tag is written, before it is read back, not after it in front of the
    // protection.
    let at = |method: &str, suffix: &str| positions(&reqs, method, suffix);
    let lease_reads = at("GET", "/providers/microsoft.resources/tags/default");
    let (written, listed, put) = (
        at("PATCH", "/providers/microsoft.resources/tags/default")[0],
        at("GET", "/backupprotectableitems")[0],
        at("PUT", "/vm;iaasvmcontainerv2;rg-web;web-03")[0],
    );
    assert!(lease_reads.len() >= 2, "{reqs:#?}");
    assert!(
        lease_reads[0] < written
            && written < listed
            && listed < lease_reads[1]
            && lease_reads[1] < put,
        "{reqs:#?}"
    );
    let client = estate.client().await;
    let item = client
        .get_optional(&format!(
            "{}/backupFabrics/Azure/protectionContainers/IaasVMContainer;iaasvmcontainerv2;rg-web;web-03/protectedItems/VM;iaasvmcontainerv2;rg-web;web-03?api-version={}",
            vault(),
            api::BACKUP
        ))
        .await
        .unwrap()
        .expect("web-03 is protected");
    assert!(
        item["properties"]["policyId"]
            .as_str()
            .unwrap()
            .ends_with("/backupPolicies/gold"),
        "{item}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_vault_lists_no_protectable_vm_until_it_refreshes_its_containers() {
    let estate = Estate::start().await;
    let client = estate.client().await;
    let rg = azprotect::model::ArmRequest::new(
        Method::Put,
        format!("/subscriptions/{SUB}/resourcegroups/rg-protect-weu?api-version=2021-04-01"),
        Some(serde_json::json!({"location": "westeurope"})),
    );
    client.execute(&rg).await.unwrap();
    let v = azprotect::model::ArmRequest::new(
        Method::Put,
        format!("{}?api-version={}", vault(), api::RECOVERY_SERVICES),
        Some(
            serde_json::json!({"location": "westeurope", "sku": {"name": "RS0", "tier": "Standard"}, "properties": {}}),
        ),
    );
    client.execute(&v).await.unwrap();
    let vault_id = azprotect::model::ArmId::new(vault());
    let listed = client
        .list(&azprotect::model::protected_vm::protectable_list_path(
            &vault_id,
        ))
        .await
        .unwrap();
    assert!(listed.is_empty(), "nothing discovered yet: {listed:?}");

    client
        .execute(&azprotect::model::protected_vm::refresh_request(&vault_id))
        .await
        .unwrap();
    let listed = client
        .list(&azprotect::model::protected_vm::protectable_list_path(
            &vault_id,
        ))
        .await
        .unwrap();
    let found: Vec<_> = listed
        .iter()
        .filter_map(azprotect::model::protected_vm::protectable)
        .collect();
    // The westeurope VMs of the vault's subscription (six in the demo estate), not batch-01
    // (northeurope).
    assert_eq!(found.len(), 6, "{listed:#?}");
    assert!(found.iter().all(|(vm, _)| !vm.ends_with("/batch-01")));
    let (_, target) = found
        .iter()
        .find(|(vm, _)| vm.ends_with("/app-01"))
        .unwrap();
    assert!(
        target.as_str().ends_with("/protectionContainers/IaasVMContainer;iaasvmcontainerv2;rg-app;app-01/protectedItems/vm;iaasvmcontainerv2;rg-app;app-01"),
        "{target}"
    );
}
