//! Adopting a Backup vault (Data Protection) that someone made geo-redundant, with a
//! user-assigned identity and cross-region restore: the file declares only its place and a tag,
//! and a tag change must not send a redundancy, security setting, identity or feature the file
//! does not manage — the vault stays GeoRedundant and keeps its identities and features.

mod support;

use azprotect::azure::ArmClient;
use azprotect::model::{api, ArmRequest, Method};
use serde_json::json;
use support::estate::Estate;

const SUB: &str = "00000000-0000-0000-0000-000000000001";
const UAMI: &str = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-geo/providers/Microsoft.ManagedIdentity/userAssignedIdentities/uami-backup";

fn vault_path() -> String {
    format!(
        "/subscriptions/{SUB}/resourceGroups/rg-geo/providers/Microsoft.DataProtection/backupVaults/bv-geo?api-version={}",
        api::DATA_PROTECTION
    )
}

/// The resource groups `groups` and the vault `bv-geo` as `vault` says, made through the API.
async fn made_elsewhere(client: &ArmClient, groups: &[&str], vault: serde_json::Value) {
    for rg in groups {
        client
            .execute(&ArmRequest::new(
                Method::Put,
                format!("/subscriptions/{SUB}/resourcegroups/{rg}?api-version=2021-04-01"),
                Some(json!({"location": "westeurope"})),
            ))
            .await
            .expect("resource group");
    }
    client
        .execute(&ArmRequest::new(Method::Put, vault_path(), Some(vault)))
        .await
        .expect("vault");
}

/// `apply` of `file` succeeds: the vault as Azure has it then.
async fn applied(estate: &Estate, client: &ArmClient, file: &str) -> serde_json::Value {
    estate
        .run(&["apply", "-f", file, "--auto-approve"])
        .await
        .expect_code(0);
    client
        .get_optional(&vault_path())
        .await
        .unwrap()
        .expect("vault")
}

fn config(owner: &str) -> String {
    format!(
        "version: 1\nsubscription: {SUB}\ndisk_backup:\n  bv-geo:\n    resource_group: rg-geo\n    location: westeurope\n    tags: {{owner: {owner}}}\n"
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_vault_made_elsewhere_keeps_its_redundancy_identities_and_features_when_a_tag_changes() {
    let estate = Estate::start().await;
    let client = estate.client().await;
    // Someone made the vault through the API: geo-redundant, soft delete on for 30 days.
    made_elsewhere(
        &client,
        &["rg-geo"],
        json!({
            "location": "westeurope",
            "identity": {"type": "SystemAssigned,UserAssigned", "userAssignedIdentities": {UAMI: {}}},
            "properties": {
                "storageSettings": [{"datastoreType": "VaultStore", "type": "GeoRedundant"}],
                "securitySettings": {"softDeleteSettings": {"state": "On", "retentionDurationInDays": 30}},
                "featureSettings": {"crossRegionRestoreSettings": {"state": "Enabled"}},
            },
            "tags": {"owner": "team-a"},
        }),
    )
    .await;

    // Declared with its tag as it is: nothing to do.
    let file = estate.write("geo.yaml", &config("team-a"));
    let plan = estate.run(&["plan", "-f", &file, "--format", "json"]).await;
    plan.expect_code(0);
    assert!(plan.changes().is_empty(), "{}", plan.stdout);

    // The owner changes: one tag update, and the vault is still geo-redundant afterwards.
    let file = estate.write("geo.yaml", &config("team-b"));
    let plan = estate.run(&["plan", "-f", &file, "--format", "json"]).await;
    plan.expect_code(0);
    assert_eq!(
        plan.changes(),
        vec!["backup_vault.bv-geo update".to_string()]
    );
    let vault = applied(&estate, &client, &file).await;
    let p = &vault["properties"];
    assert_eq!(p["storageSettings"][0]["type"], "GeoRedundant", "{vault}");
    assert_eq!(
        p["securitySettings"]["softDeleteSettings"]["retentionDurationInDays"]
            .as_f64()
            .map(|d| d as u64),
        Some(30),
        "{vault}"
    );
    assert_eq!(vault["tags"]["owner"], "team-b");
    // The user-assigned identity (which its instances may use) and cross-region restore stay.
    assert!(
        vault["identity"]["userAssignedIdentities"][UAMI].is_object(),
        "{vault}"
    );
    assert_eq!(
        p["featureSettings"]["crossRegionRestoreSettings"]["state"], "Enabled",
        "{vault}"
    );
    let again = estate.run(&["plan", "-f", &file, "--format", "json"]).await;
    again.expect_code(0);
    assert!(again.changes().is_empty(), "{}", again.stdout);
}

/// A Backup vault made elsewhere with only a user-assigned identity: azprotect grants the disk
/// roles to a vault's system-assigned identity, so the plan says it enables one (keeping the
/// user-assigned identity), and the same apply grants the roles to it and protects the disk.
#[tokio::test(flavor = "multi_thread")]
async fn a_vault_with_only_a_user_assigned_identity_gets_a_system_one_to_grant_roles_to() {
    let estate = Estate::start().await;
    let client = estate.client().await;
    made_elsewhere(
        &client,
        &["rg-geo", "rg-snapshots-weu"],
        json!({
            "location": "westeurope",
            "identity": {"type": "UserAssigned", "userAssignedIdentities": {UAMI: {}}},
            "properties": {
                "storageSettings": [{"datastoreType": "VaultStore", "type": "LocallyRedundant"}],
            },
        }),
    )
    .await;
    let file = estate.write(
        "uami.yaml",
        &format!(
            "version: 1\nsubscription: {SUB}\ndisk_backup:\n  bv-geo:\n    resource_group: rg-geo\n    location: westeurope\n    policies:\n      daily: {{every: 1d, retention: 7d}}\n    protect:\n      - policy: daily\n        snapshot_resource_group: rg-snapshots-weu\n        disks: [rg-app/shared-data]\n"
        ),
    );
    let plan = estate.run(&["plan", "-f", &file, "--format", "json"]).await;
    plan.expect_code(0);
    let changes = plan.changes();
    assert!(
        changes.contains(&"backup_vault.bv-geo update".to_string()),
        "{changes:?}"
    );
    let text = estate.run(&["plan", "-f", &file]).await;
    assert!(
        text.stdout.contains("system_identity: false → true")
            && text.stdout.contains("any user-assigned identities stay"),
        "the plan says how and why the vault changes:\n{}",
        text.stdout
    );
    let vault = applied(&estate, &client, &file).await;
    let principal = vault["identity"]["principalId"]
        .as_str()
        .expect("a system-assigned identity")
        .to_string();
    assert!(
        vault["identity"]["userAssignedIdentities"][UAMI].is_object(),
        "the user-assigned identity stays: {vault}"
    );
    let roles = client
        .list(&format!(
            "/subscriptions/{SUB}/providers/Microsoft.Authorization/roleAssignments?$filter=principalId eq '{principal}'&api-version={}",
            api::AUTHORIZATION
        ))
        .await
        .unwrap();
    assert_eq!(roles.len(), 2, "{roles:#?}");
    let again = estate.run(&["plan", "-f", &file, "--format", "json"]).await;
    again.expect_code(0);
    assert!(again.changes().is_empty(), "{}", again.stdout);
}
