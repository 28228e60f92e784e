//! A protected VM takes one protection change at a time. Azure refuses a change while another
//! runs on the same item ("Another configure protection operation is in progress for this item",
//! BMSUserErrorConflictingProtectionOperation — Microsoft Learn, Azure Backup troubleshooting);
//! azprotect waits and sends it again instead of failing the apply.

mod support;

use azprotect::model::api;
use azprotect::sandbox::SandboxOptions;
use serde_json::{json, Value};
use support::estate::Estate;

const SUB: &str = "00000000-0000-0000-0000-000000000001";

/// The vault and its two policies, and (`Some(policy)`) app-01 protected by one of them.
fn config(protect: Option<&str>) -> String {
    let mut s = format!(
        "version: 1\nsubscription: {SUB}\nresource_groups:\n  rg-protect-weu: {{location: westeurope}}\n\
         recovery_vaults:\n  rsv-c:\n    resource_group: rg-protect-weu\n    location: westeurope\n\
         \x20   backup_policies:\n      gold: {{schedule: {{daily: {{at: \"23:00\"}}}}, retention: {{daily: 30d}}}}\n\
         \x20     silver: {{schedule: {{daily: {{at: \"22:00\"}}}}, retention: {{daily: 14d}}}}\n"
    );
    if let Some(p) = protect {
        s.push_str(&format!(
            "    protect:\n      - policy: {p}\n        vms: [rg-app/app-01]\n"
        ));
    }
    s
}

fn item_url(endpoint: &str) -> String {
    format!(
        "{endpoint}/subscriptions/{SUB}/resourceGroups/rg-protect-weu/providers/Microsoft.RecoveryServices/vaults/rsv-c/backupFabrics/Azure/protectionContainers/IaasVMContainer;iaasvmcontainerv2;rg-app;app-01/protectedItems/VM;iaasvmcontainerv2;rg-app;app-01?api-version={}",
        api::BACKUP
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_policy_change_waits_for_someone_elses_change_on_the_same_vm() {
    let log = tempfile::NamedTempFile::new().unwrap();
    // Enabling protection takes 3 s here (30 Azure seconds × 0.1).
    let estate = Estate::start_with(SandboxOptions {
        time_scale: 0.1,
        access_log: Some(log.path().to_path_buf()),
        ..SandboxOptions::default()
    })
    .await;
    let vault_only = estate.write("vault.yaml", &config(None));
    estate
        .run(&["apply", "-f", &vault_only, "--auto-approve"])
        .await
        .expect_code(0);

    // Someone protects the VM with silver through the API and does not wait for it.
    let sb = &estate.sandbox;
    let (http, token) = support::raw::token_client(sb).await;
    let vault = format!("/subscriptions/{SUB}/resourceGroups/rg-protect-weu/providers/Microsoft.RecoveryServices/vaults/rsv-c");
    let body = json!({"properties": {
        "protectedItemType": "Microsoft.Compute/virtualMachines",
        "sourceResourceId": format!("/subscriptions/{SUB}/resourceGroups/rg-app/providers/Microsoft.Compute/virtualMachines/app-01"),
        "policyId": format!("{vault}/backupPolicies/silver"),
    }});
    let put = || {
        http.put(item_url(&sb.endpoint()))
            .bearer_auth(&token)
            .json(&body)
            .send()
    };
    assert_eq!(put().await.unwrap().status(), 202);
    // While it runs, a second change is refused as Azure documents it.
    let r = put().await.unwrap();
    assert_eq!(r.status(), 409);
    let e: Value = r.json().await.unwrap();
    assert_eq!(
        e["error"]["code"], "BMSUserErrorConflictingProtectionOperation",
        "{e}"
    );

    // The file says gold: apply's PUT meets the running change, waits, and lands.
    let gold = estate.write("gold.yaml", &config(Some("gold")));
    std::fs::write(log.path(), "").unwrap();
    let apply = estate.run(&["apply", "-f", &gold, "--auto-approve"]).await;
    apply.expect_code(0);
    let log = std::fs::read_to_string(log.path()).unwrap();
    let puts: Vec<u64> = log
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| {
            v["method"] == "PUT" && v["path"].as_str().unwrap().contains("/protectedItems/")
        })
        .map(|v| v["status"].as_u64().unwrap())
        .collect();
    assert_eq!(
        puts.first(),
        Some(&409),
        "apply met the running change: {puts:?}"
    );
    assert_eq!(
        puts.last(),
        Some(&202),
        "and sent it again once it finished: {puts:?}"
    );
    estate.expect_no_changes(&gold).await;
}
