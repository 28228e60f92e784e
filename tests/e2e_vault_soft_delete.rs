//! Soft delete of a Recovery Services vault lives in its backup configuration
//! (`backupconfig/vaultconfig`), as Azure keeps it: a PATCH of the vault's own
//! `securitySettings.softDeleteSettings` answers 200 and changes nothing
//! (azure-rest-api-specs#34218), Azure's CLI reads and PATCHes `vaultconfig` (recording
//! azure-cli/test_backup_protection.yaml #4, #6; FACTS §3). azprotect reads it there, shows a
//! change on the vault as before, and sets it there.

mod support;

use azprotect::model::{api, ArmRequest, Method};
use serde_json::{json, Value};
use support::estate::{quickstart, read_quickstart, Estate};

const VAULT: &str = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-protect-weu/providers/Microsoft.RecoveryServices/vaults/rsv-prod-weu";

async fn vault_config(estate: &Estate) -> Value {
    estate
        .client()
        .await
        .get_optional(&format!(
            "{VAULT}/backupconfig/vaultconfig?api-version={}",
            api::BACKUP
        ))
        .await
        .expect("GET vaultconfig")
        .expect("a vaultconfig")["properties"]
        .clone()
}

async fn patch(estate: &Estate, path: String, body: Value) {
    estate
        .client()
        .await
        .execute(&ArmRequest::new(Method::Patch, path, Some(body)))
        .await
        .expect("PATCH");
}

#[tokio::test(flavor = "multi_thread")]
async fn soft_delete_is_read_and_set_where_azure_keeps_it() {
    let estate = Estate::start().await;
    estate
        .run(&["apply", "-f", &quickstart(), "--auto-approve"])
        .await
        .expect_code(0);
    let config = vault_config(&estate).await;
    assert_eq!(config["softDeleteFeatureState"], "Enabled");
    assert_eq!(config["softDeleteRetentionPeriodInDays"], 14);

    // Someone turns soft delete off on the vault resource itself: Azure says 200 and nothing
    // changes, so there is nothing for azprotect to put back.
    patch(
        &estate,
        format!("{VAULT}?api-version={}", api::RECOVERY_SERVICES),
        json!({"properties": {"securitySettings": {"softDeleteSettings": {"softDeleteState": "Disabled"}}}}),
    )
    .await;
    assert_eq!(
        vault_config(&estate).await["softDeleteFeatureState"],
        "Enabled"
    );
    let plan = estate
        .run(&["plan", "-f", &quickstart(), "--format", "json"])
        .await;
    plan.expect_code(0);
    assert!(plan.changes().is_empty(), "{}", plan.stdout);

    // Someone turns it off where it really lives, as Azure's CLI does (PROT #6).
    patch(
        &estate,
        format!("{VAULT}/backupconfig/vaultconfig?api-version={}", api::BACKUP),
        json!({"properties": {"enhancedSecurityState": "Enabled", "softDeleteFeatureState": "Disabled", "softDeleteRetentionPeriodInDays": 14}}),
    )
    .await;
    let plan = estate
        .run(&["plan", "-f", &quickstart(), "--format", "json"])
        .await;
    plan.expect_code(0);
    assert_eq!(plan.changes(), vec!["recovery_vault.rsv-prod-weu update"]);
    estate
        .run(&["apply", "-f", &quickstart(), "--auto-approve"])
        .await
        .expect_code(0);
    assert_eq!(
        vault_config(&estate).await["softDeleteFeatureState"],
        "Enabled"
    );

    // The file asks for a longer retention: one vault update, applied through vaultconfig.
    let longer = estate.write(
        "longer.yaml",
        &read_quickstart().replace(
            "soft_delete: {state: On, retention_days: 14}",
            "soft_delete: {state: On, retention_days: 30}",
        ),
    );
    let plan = estate
        .run(&["plan", "-f", &longer, "--format", "json"])
        .await;
    plan.expect_code(0);
    assert_eq!(plan.changes(), vec!["recovery_vault.rsv-prod-weu update"]);
    estate
        .run(&["apply", "-f", &longer, "--auto-approve"])
        .await
        .expect_code(0);
    let config = vault_config(&estate).await;
    assert_eq!(config["softDeleteFeatureState"], "Enabled");
    assert_eq!(config["softDeleteRetentionPeriodInDays"], 30);
    let again = estate
        .run(&["plan", "-f", &longer, "--format", "json"])
        .await;
    again.expect_code(0);
    assert!(again.changes().is_empty(), "{}", again.stdout);
}
