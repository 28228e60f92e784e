//! Estates beyond the quickstart: two regions, two subscriptions, selectors, suspend and delete
//! on removal — each must converge (plan → apply → plan is empty) and keep its data promises.

mod support;

use support::estate::{multi_vault, multi_vault_estate};

#[tokio::test(flavor = "multi_thread")]
async fn two_regions_and_two_subscriptions_converge() {
    let estate = multi_vault_estate().await;
    let plan = estate
        .run(&["plan", "-f", &multi_vault(), "--format", "json"])
        .await;
    plan.expect_code(0);
    let changes = plan.changes();
    for expected in [
        "recovery_vault.rsv-prod-weu create",
        "recovery_vault.rsv-prod-neu create",
        "protected_vm.rsv-prod-weu/rg-app/db-01 create",
        "protected_vm.rsv-shared-weu/rg-shared/ad-01 create",
        "protected_vm.rsv-prod-weu/rg-app/app-01 create",
        "protected_vm.rsv-prod-weu/rg-archive/arch-02 create",
        "protected_vm.rsv-prod-neu/rg-web-neu/gold-n1 create",
        "protected_vm.rsv-prod-neu/rg-api-neu/api-n1 create",
    ] {
        assert!(
            changes.iter().any(|c| c == expected),
            "missing {expected} in {changes:#?}"
        );
    }
    // gold-n1 carries backup=gold but lives in North Europe: the West Europe selector skips it,
    // and the North Europe vault picks it up by resource group.
    assert!(
        !changes
            .iter()
            .any(|c| c.starts_with("protected_vm.rsv-prod-weu/rg-web-neu")),
        "{changes:#?}"
    );
    assert_eq!(plan.json()["summary"]["blocked"], 0, "{}", plan.stdout);

    estate
        .run(&[
            "apply",
            "-f",
            &multi_vault(),
            "--auto-approve",
            "--parallelism",
            "4",
        ])
        .await
        .expect_code(0);
    estate.expect_no_changes(&multi_vault()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn on_remove_suspend_keeps_points_and_delete_data_needs_the_flag() {
    let estate = multi_vault_estate().await;
    estate
        .run(&["apply", "-f", &multi_vault(), "--auto-approve"])
        .await
        .expect_code(0);

    // db-01 leaves the West Europe vault (on_remove: suspend, the vault is immutable).
    let text = std::fs::read_to_string(multi_vault()).unwrap().replace(
        "      - policy: hourly-gold\n        vms: [rg-app/db-01]\n        exclude_disks: [3, 1]\n",
        "",
    );
    let file = estate.write("no-db.yaml", &text);
    let plan = estate.run(&["plan", "-f", &file, "--format", "json"]).await;
    assert_eq!(
        plan.changes(),
        vec!["protected_vm.rsv-prod-weu/rg-app/db-01 delete"]
    );
    assert_eq!(plan.json()["changes"][0]["data"], "suspended");
    estate
        .run(&["apply", "-f", &file, "--auto-approve"])
        .await
        .expect_code(0);
    estate.expect_no_changes(&file).await;

    // api-n1 leaves the North Europe vault with on_remove: delete_data: refused without the flag.
    let text = text
        .replace(
            "select: {resource_groups: [rg-web-neu, rg-api-neu]}",
            "select: {resource_groups: [rg-web-neu]}",
        )
        .replace("    on_remove: retain_data", "    on_remove: delete_data");
    let file = estate.write("no-api.yaml", &text);
    let plan = estate.run(&["plan", "-f", &file, "--format", "json"]).await;
    assert_eq!(
        plan.changes(),
        vec!["protected_vm.rsv-prod-neu/rg-api-neu/api-n1 delete"]
    );
    assert_eq!(plan.json()["changes"][0]["data"], "deleted");
    // Read only now that the plan deletes its data: the vault's soft delete (vaultconfig).
    let reasons = plan.json()["changes"][0]["reasons"].to_string();
    assert!(
        reasons.contains("soft delete keeps the deleted data recoverable"),
        "{reasons}"
    );
    let refused = estate.run(&["apply", "-f", &file, "--auto-approve"]).await;
    refused.expect_code(1);
    assert!(
        refused.stderr.contains("--allow-data-loss"),
        "{}",
        refused.stderr
    );
    estate
        .run(&["apply", "-f", &file, "--auto-approve", "--allow-data-loss"])
        .await
        .expect_code(0);
    estate.expect_no_changes(&file).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sandbox_refuses_a_vm_of_another_subscription_as_azure_backup_does() {
    // A vault protects only VMs of its own subscription: the multi-vault file protects ad-01
    // (subscription …0002) from rsv-shared-weu of that subscription, never from rsv-prod-weu.
    let estate = multi_vault_estate().await;
    estate
        .run(&["apply", "-f", &multi_vault(), "--auto-approve"])
        .await
        .expect_code(0);
    let client = estate.client().await;
    let vault = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-protect-weu/providers/Microsoft.RecoveryServices/vaults/rsv-prod-weu";
    let item = format!("{vault}/backupFabrics/Azure/protectionContainers/iaasvmcontainer;iaasvmcontainerv2;rg-shared;ad-01/protectedItems/vm;iaasvmcontainerv2;rg-shared;ad-01?api-version=2026-01-01");
    let ad = "/subscriptions/00000000-0000-0000-0000-000000000002/resourceGroups/rg-shared/providers/Microsoft.Compute/virtualMachines/ad-01";
    let err = client
        .execute(&azprotect::request::ArmRequest::new(
            azprotect::request::Method::Put,
            item,
            Some(serde_json::json!({"properties": {
                "protectedItemType": "Microsoft.Compute/virtualMachines",
                "sourceResourceId": ad,
                "policyId": format!("{vault}/backupPolicies/DefaultPolicy"),
            }})),
        ))
        .await
        .expect_err("a vault of another subscription cannot protect ad-01");
    match err {
        azprotect::azure::AzureError::Arm { status, code, .. } => {
            assert_eq!((status, code.as_str()), (400, "BMSUserErrorVMNotFound"))
        }
        other => panic!("{other}"),
    }
}
