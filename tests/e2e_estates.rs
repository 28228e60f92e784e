//! Estates beyond the quickstart: two regions, two subscriptions, selectors, suspend and delete
//! on removal — each must converge (plan → apply → plan is empty) and keep its data promises.

mod support;

use azprotect::sandbox::SandboxOptions;
use support::estate::{repo, Estate};

fn multi_vault() -> String {
    repo()
        .join("examples/multi-vault.yaml")
        .display()
        .to_string()
}

async fn multi_vault_estate() -> Estate {
    Estate::start_with(SandboxOptions {
        inventory: Some(repo().join("examples/inventories/multi-vault.yaml")),
        ..SandboxOptions::default()
    })
    .await
}

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
        "protected_vm.rsv-prod-weu/rg-shared/ad-01 create",
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
    estate
        .run(&["plan", "-f", &multi_vault(), "--detailed-exitcode"])
        .await
        .expect_code(0);
}

#[tokio::test(flavor = "multi_thread")]
async fn on_remove_suspend_keeps_points_and_delete_data_needs_the_flag() {
    let estate = multi_vault_estate().await;
    estate
        .run(&["apply", "-f", &multi_vault(), "--auto-approve"])
        .await
        .expect_code(0);

    // db-01 leaves the West Europe vault (on_remove: suspend, the vault is immutable).
    let text = std::fs::read_to_string(multi_vault())
        .unwrap()
        .replace("          - rg-app/db-01\n", "");
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
    estate
        .run(&["plan", "-f", &file, "--detailed-exitcode"])
        .await
        .expect_code(0);

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
    estate
        .run(&["plan", "-f", &file, "--detailed-exitcode"])
        .await
        .expect_code(0);
}
