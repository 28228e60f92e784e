//! Disk Backup with a user-assigned managed identity, the platform team's story: the landing
//! zone has one identity for backups, granted its roles once and shared by the Backup vaults.
//! The file names it as a vault's `identity`: apply attaches it to the vault, grants the disk
//! roles to it (not to the vault's own identity) and has each backup instance name it; a vault
//! switches to it and back with the plan saying so; a vault that stops protecting a disk does
//! not take away roles the shared identity may still need elsewhere. The real binary against
//! the sandbox over HTTPS.

mod support;

use azprotect::azure::ArmClient;
use azprotect::model::api;
use azprotect::sandbox::SandboxOptions;
use serde_json::Value;
use support::estate::Estate;

const SUB: &str = "00000000-0000-0000-0000-000000000001";
const UAMI: &str = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-identity/providers/Microsoft.ManagedIdentity/userAssignedIdentities/uami-backup";

async fn estate() -> Estate {
    logged_estate(None).await
}

/// The sandbox, its requests logged to `log` if given.
async fn logged_estate(log: Option<std::path::PathBuf>) -> Estate {
    Estate::start_with(SandboxOptions {
        time_scale: 0.001,
        access_log: log,
        ..SandboxOptions::default()
    })
    .await
}

/// How many role-assignment lists the sandbox logged to `log` so far.
fn role_lists(log: &std::path::Path) -> usize {
    (support::estate::logged(log).iter())
        .filter(|r| r["method"] == "GET")
        .filter(|r| {
            r["path"]
                .as_str()
                .is_some_and(|p| p.ends_with("/roleAssignments"))
        })
        .count()
}

/// One Backup vault per `(name, disks)`, each backing up with `identity` (none: the vault's own),
/// snapshots in one shared group.
fn config(identity: Option<&str>, vaults: &[(&str, &[&str])]) -> String {
    let mut s = format!(
        "version: 1\nsubscription: {SUB}\nresource_groups:\n  rg-protect-weu: {{location: westeurope}}\n  rg-snapshots-weu: {{location: westeurope}}\ndisk_backup:\n"
    );
    for (name, disks) in vaults {
        s.push_str(&format!(
            "  {name}:\n    resource_group: rg-protect-weu\n    location: westeurope\n    policies:\n      daily: {{every: 1d, retention: 7d}}\n"
        ));
        if let Some(i) = identity {
            s.push_str(&format!("    identity: {i}\n"));
        }
        if !disks.is_empty() {
            s.push_str(&format!(
                "    protect:\n      - policy: daily\n        snapshot_resource_group: rg-snapshots-weu\n        disks: [{}]\n",
                disks.join(", ")
            ));
        }
    }
    s
}

fn vault_path(name: &str) -> String {
    format!(
        "/subscriptions/{SUB}/resourceGroups/rg-protect-weu/providers/Microsoft.DataProtection/backupVaults/{name}?api-version={}",
        api::DATA_PROTECTION
    )
}

async fn vault(client: &ArmClient, name: &str) -> Value {
    client
        .get_optional(&vault_path(name))
        .await
        .unwrap()
        .expect("the vault exists")
}

/// The vault's backup instances, as Azure answers them.
async fn instances(client: &ArmClient, name: &str) -> Vec<Value> {
    let path = vault_path(name).replace("?api-version", "/backupInstances?api-version");
    client.list(&path).await.unwrap()
}

/// `(role definition GUID, scope)` of every assignment of `principal` in the subscription.
async fn roles_of(client: &ArmClient, principal: &str) -> Vec<(String, String)> {
    let path = format!(
        "/subscriptions/{SUB}/providers/Microsoft.Authorization/roleAssignments?$filter=principalId eq '{principal}'&api-version={}",
        api::AUTHORIZATION
    );
    let mut out: Vec<(String, String)> = (client.list(&path).await.unwrap().iter())
        .map(|r| {
            let p = &r["properties"];
            let role = p["roleDefinitionId"].as_str().unwrap_or_default();
            let guid = role.rsplit('/').next().unwrap_or_default().to_string();
            (guid, p["scope"].as_str().unwrap_or_default().to_string())
        })
        .collect();
    out.sort();
    out
}

fn user_principal(vault: &Value) -> String {
    let users = vault["identity"]["userAssignedIdentities"]
        .as_object()
        .expect("user-assigned identities");
    let (_, entry) = (users.iter())
        .find(|(k, _)| k.eq_ignore_ascii_case(UAMI))
        .expect("the identity is attached");
    entry["principalId"]
        .as_str()
        .expect("its principal")
        .to_string()
}

async fn apply(estate: &Estate, file: &str) {
    let run = estate.run(&["apply", "-f", file, "--auto-approve"]).await;
    run.expect_code(0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_vault_backs_its_disks_up_with_the_landing_zones_identity() {
    let estate = estate().await;
    let client = estate.client().await;
    let file = estate.write(
        "uami.yaml",
        &config(
            Some("rg-identity/uami-backup"),
            &[("bv-weu", &["rg-app/shared-data"])],
        ),
    );
    apply(&estate, &file).await;

    // The vault has the identity (and no system-assigned one it does not need).
    let v = vault(&client, "bv-weu").await;
    assert_eq!(v["identity"]["type"], "UserAssigned", "{v}");
    let principal = user_principal(&v);
    // The roles are the identity's: Disk Backup Reader on the disk, Disk Snapshot Contributor
    // on the snapshot group.
    let disk = format!(
        "/subscriptions/{SUB}/resourceGroups/rg-app/providers/Microsoft.Compute/disks/shared-data"
    );
    let snapshots = format!("/subscriptions/{SUB}/resourceGroups/rg-snapshots-weu");
    let roles = roles_of(&client, &principal).await;
    assert!(
        roles.iter().any(
            |(r, s)| r == azprotect::model::disk_backup::role::DISK_BACKUP_READER
                && s.eq_ignore_ascii_case(&disk)
        ),
        "{roles:?}"
    );
    assert!(
        roles.iter().any(|(r, s)| r
            == azprotect::model::disk_backup::role::DISK_SNAPSHOT_CONTRIBUTOR
            && s.eq_ignore_ascii_case(&snapshots)),
        "{roles:?}"
    );
    // The instance names the identity and is protected.
    let bis = instances(&client, "bv-weu").await;
    assert_eq!(bis.len(), 1, "{bis:#?}");
    let p = &bis[0]["properties"];
    assert_eq!(
        p["identityDetails"]["useSystemAssignedIdentity"], false,
        "{p}"
    );
    assert!(
        p["identityDetails"]["userAssignedIdentityArmUrl"]
            .as_str()
            .is_some_and(|u| u.eq_ignore_ascii_case(UAMI)),
        "{p}"
    );
    assert_eq!(p["currentProtectionState"], "ProtectionConfigured", "{p}");
    estate.expect_no_changes(&file).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_vault_moves_to_a_user_assigned_identity_and_back_with_the_plan_saying_so() {
    let estate = estate().await;
    let client = estate.client().await;
    let own = estate.write(
        "own.yaml",
        &config(None, &[("bv-weu", &["rg-app/shared-data"])]),
    );
    apply(&estate, &own).await;
    let system = vault(&client, "bv-weu").await["identity"]["principalId"]
        .as_str()
        .expect("the vault's own identity")
        .to_string();
    assert_eq!(roles_of(&client, &system).await.len(), 2);

    // The same vault, now backing up with the shared identity.
    let shared = estate.write(
        "shared.yaml",
        &config(Some(UAMI), &[("bv-weu", &["rg-app/shared-data"])]),
    );
    let plan = estate.plan_json(&shared, &[]).await;
    plan.expect_code(0);
    let mut changes = plan.changes();
    changes.sort();
    assert_eq!(
        changes,
        [
            "backup_vault.bv-weu update",
            "disk_backup.bv-weu/rg-app/shared-data update",
            "role_assignment.bv-weu/disk_backup_reader/rg-app/shared-data create",
            "role_assignment.bv-weu/disk_snapshot_contributor/rg-snapshots-weu create",
        ],
        "{}",
        plan.stdout
    );
    let text = estate.run(&["plan", "-f", &shared]).await;
    assert!(
        text.stdout
            .contains("backs up with the user-assigned identity uami-backup from now on")
            && text
                .stdout
                .contains("a user-assigned identity is attached to the vault"),
        "{}",
        text.stdout
    );
    apply(&estate, &shared).await;
    let v = vault(&client, "bv-weu").await;
    // Attached beside the vault's own identity, which stays.
    assert_eq!(v["identity"]["type"], "SystemAssigned,UserAssigned", "{v}");
    assert_eq!(v["identity"]["principalId"], system.as_str(), "{v}");
    assert_eq!(roles_of(&client, &user_principal(&v)).await.len(), 2);
    let p = &instances(&client, "bv-weu").await[0]["properties"];
    assert_eq!(
        p["identityDetails"]["useSystemAssignedIdentity"], false,
        "{p}"
    );
    assert_eq!(p["currentProtectionState"], "ProtectionConfigured", "{p}");
    estate.expect_no_changes(&shared).await;

    // A file silent on the identity again (as at first) leaves the instance where it is.
    estate.expect_no_changes(&own).await;
    // Back to the vault's own identity, said: its roles are still there, only the instance
    // changes.
    let own = estate.write(
        "system.yaml",
        &config(Some("system"), &[("bv-weu", &["rg-app/shared-data"])]),
    );
    let plan = estate.plan_json(&own, &[]).await;
    plan.expect_code(0);
    assert_eq!(
        plan.changes(),
        ["disk_backup.bv-weu/rg-app/shared-data update"],
        "{}",
        plan.stdout
    );
    let text = estate.run(&["plan", "-f", &own]).await;
    assert!(
        text.stdout
            .contains("backs up with the vault's system-assigned identity again"),
        "{}",
        text.stdout
    );
    apply(&estate, &own).await;
    let p = &instances(&client, "bv-weu").await[0]["properties"];
    assert_eq!(
        p["identityDetails"]["useSystemAssignedIdentity"], true,
        "{p}"
    );
    estate.expect_no_changes(&own).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_vault_that_lets_a_disk_go_leaves_the_shared_identitys_roles_alone() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let estate = logged_estate(Some(log.clone())).await;
    let client = estate.client().await;
    // Two vaults share the identity and the snapshot group: one assignment serves both there.
    let both = estate.write(
        "both.yaml",
        &config(
            Some(UAMI),
            &[
                ("bv-app", &["rg-app/shared-data"]),
                ("bv-ledger", &["rg-app/ledger-v2"]),
            ],
        ),
    );
    apply(&estate, &both).await;
    // The plan lists the shared identity's roles once (one subscription), not once per vault.
    let before = role_lists(&log);
    estate.expect_no_changes(&both).await;
    assert_eq!(role_lists(&log) - before, 1);
    let principal = user_principal(&vault(&client, "bv-app").await);
    let before = roles_of(&client, &principal).await;
    assert_eq!(
        before.len(),
        3,
        "two disks and one shared snapshot group: {before:?}"
    );

    // bv-app protects nothing any more and deletes its disk's backup: its instance goes, and
    // no role of the shared identity with it — bv-ledger still needs the one on the snapshot
    // group (a vault's own identity would lose both of this disk's roles here).
    let yaml = config(
        Some(UAMI),
        &[("bv-app", &[]), ("bv-ledger", &["rg-app/ledger-v2"])],
    )
    .replace(
        "  bv-app:\n    resource_group: rg-protect-weu\n",
        "  bv-app:\n    resource_group: rg-protect-weu\n    on_remove: delete_data\n",
    );
    assert!(yaml.contains("on_remove: delete_data"));
    let one = estate.write("one.yaml", &yaml);
    let plan = estate.plan_json(&one, &[]).await;
    plan.expect_code(0);
    assert_eq!(
        plan.changes(),
        ["disk_backup.bv-app/rg-app/shared-data delete"],
        "{}",
        plan.stdout
    );
    let run = (estate.run(&["apply", "-f", &one, "--auto-approve", "--allow-data-loss"])).await;
    run.expect_code(0);
    assert_eq!(roles_of(&client, &principal).await, before);
    let p = &instances(&client, "bv-ledger").await[0]["properties"];
    assert_eq!(p["currentProtectionState"], "ProtectionConfigured", "{p}");
    estate.expect_no_changes(&one).await;
}
