//! Black-box tests of the sandbox's Azure Disk Backup emulation over HTTPS: Data Protection
//! backup vaults, policies (create-only, in-use delete refused), validateForBackup with the
//! vault identity's role assignments (and their propagation delay), backup instances and their
//! states, soft delete as recorded, Compute snapshots and disks from snapshots, state kept
//! across restarts, role assignments, and a vault's user-assigned identities and the instances
//! that back up (and restore) as one (recovery points and operations:
//! `sandbox_disk_backup_points`).

use std::time::Duration;

mod support;

use azprotect::sandbox::SandboxOptions;
use serde_json::{json, Value};
use support::data_protection::*;

#[tokio::test]
async fn disk_backup_vault_policy_permissions_and_protection() {
    // 1 Azure second = 1 ms: role propagation (300 s) takes 300 ms.
    let t = start(0.001).await;
    let v = t.create_vault("bv-weu").await;
    let principal = v["identity"]["principalId"].as_str().unwrap().to_string();
    assert!(uuid::Uuid::parse_str(&principal).is_ok(), "{v}");
    assert_eq!(v["identity"]["type"], "SystemAssigned");
    assert_eq!(v["type"], "Microsoft.DataProtection/backupVaults");

    // Redundancy is fixed at creation.
    let (s, _, b) = t
        .call(
            "PATCH",
            &t.vault("bv-weu"),
            DPP,
            Some(json!({"properties": {"storageSettings": [{"datastoreType": "VaultStore", "type": "GeoRedundant"}]}})),
        )
        .await;
    assert_eq!(
        (s, code(&b)),
        (400, "UserErrorStorageSettingUpdateNotSupported")
    );
    // Listed by resource group and subscription.
    let (s, _, b) = t
        .call(
            "GET",
            &format!(
                "/subscriptions/{}/providers/Microsoft.DataProtection/backupVaults",
                t.sub
            ),
            DPP,
            None,
        )
        .await;
    assert_eq!((s, b["value"].as_array().unwrap().len()), (200, 1));

    // Policies: create, identical re-PUT, refused update, invalid frequency.
    assert_eq!(
        t.create_policy("bv-weu", "disk-4h", "PT4H", "P7D").await.0,
        200
    );
    assert_eq!(
        t.create_policy("bv-weu", "disk-4h", "PT4H", "P7D").await.0,
        200
    );
    let (s, b) = t.create_policy("bv-weu", "disk-4h", "PT4H", "P14D").await;
    assert_eq!((s, code(&b)), (400, "UserErrorBMSUpdatePolicyNotSupported"));
    let (s, _) = t.create_policy("bv-weu", "disk-3h", "PT3H", "P7D").await;
    assert_eq!(s, 400);
    assert_eq!(
        t.create_policy("bv-weu", "disk-daily", "P1D", "P30D")
            .await
            .0,
        200
    );

    let snap_rg = t.snapshot_rg().await;
    let bi = instance(&t, "bv-weu", "shared-data", "disk-4h", &snap_rg);

    // Without roles: validation fails with the permissions error.
    let (seen, fin, result) = t.validate("bv-weu", &bi).await;
    assert!(
        seen.iter().all(|s| s == "Inprogress" || s == "Failed"),
        "{seen:?}"
    );
    assert_eq!(fin["status"], "Failed");
    assert_eq!(fin["error"]["code"], "UserErrorMissingRequiredPermissions");
    assert_eq!(code(&result), "UserErrorMissingRequiredPermissions");

    // Grant the roles; a duplicate assignment under another name is a 409.
    let (s, b) = t
        .assign(&t.disk("shared-data"), DISK_BACKUP_READER, &principal)
        .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["type"], "Microsoft.Authorization/roleAssignments");
    let (s, b) = t.assign(&snap_rg, SNAPSHOT_CONTRIBUTOR, &principal).await;
    assert_eq!(s, 201, "{b}");
    let (s, b) = t.assign(&snap_rg, SNAPSHOT_CONTRIBUTOR, &principal).await;
    assert_eq!((s, code(&b)), (409, "RoleAssignmentExists"));

    // Right after granting, the assignments have not propagated yet.
    let (_, fin, _) = t.validate("bv-weu", &bi).await;
    assert_eq!(
        fin["error"]["code"], "UserErrorMissingRequiredPermissions",
        "{fin}"
    );
    tokio::time::sleep(Duration::from_millis(350)).await;
    let (_, fin, result) = t.validate("bv-weu", &bi).await;
    assert_eq!(fin["status"], "Succeeded", "{fin}");
    assert_eq!(result["objectType"], "OperationJobExtendedInfo");

    // Role assignment lists.
    let (s, _, b) = t
        .call(
            "GET",
            &format!(
                "{snap_rg}/providers/Microsoft.Authorization/roleAssignments?$filter=atScope()"
            ),
            AUTH,
            None,
        )
        .await;
    assert_eq!((s, b["value"].as_array().unwrap().len()), (200, 1), "{b}");
    let (s, _, b) = t
        .call(
            "GET",
            &format!(
                "/subscriptions/{}/providers/Microsoft.Authorization/roleAssignments?$filter=principalId eq '{principal}'",
                t.sub
            ),
            AUTH,
            None,
        )
        .await;
    assert_eq!((s, b["value"].as_array().unwrap().len()), (200, 2), "{b}");

    // Protect: ConfiguringProtection → ProtectionConfigured (the states in between:
    // `sandbox_disk_backup_points`).
    let (s, _) = protect(&t, "bv-weu", "shared-data-bi", &bi).await;
    assert_eq!(s, "Succeeded");
    let p = t.configured("bv-weu", "shared-data-bi").await;
    assert_eq!(p["currentProtectionState"], "ProtectionConfigured", "{p}");
    assert_eq!(p["protectionStatus"]["status"], "ProtectionConfigured");
    assert_eq!(p["provisioningState"], "Succeeded");

    // The same disk cannot be protected twice.
    let (s, _, b) = t
        .call(
            "PUT",
            &format!("{}/backupInstances/other", t.vault("bv-weu")),
            DPP,
            Some(bi.clone()),
        )
        .await;
    assert_eq!(
        (s, code(&b)),
        (400, "UserErrorDppDatasourceAlreadyProtected")
    );
    let (_, fin, _) = t.validate("bv-weu", &bi).await;
    assert_eq!(
        fin["error"]["code"],
        "UserErrorDppDatasourceAlreadyProtected"
    );

    // A policy in use cannot be deleted; an unused one can.
    let (s, _, b) = t
        .call(
            "DELETE",
            &format!("{}/backupPolicies/disk-4h", t.vault("bv-weu")),
            DPP,
            None,
        )
        .await;
    assert_eq!((s, code(&b)), (400, "UserErrorDppPolicyObjectInUse"));

    // Premium SSD v2 only accepts 12-hourly or daily policies.
    let v2 = instance(&t, "bv-weu", "ledger-v2", "disk-4h", &snap_rg);
    let (s, _, b) = t
        .call(
            "PUT",
            &format!("{}/backupInstances/ledger", t.vault("bv-weu")),
            DPP,
            Some(v2),
        )
        .await;
    assert_eq!(
        (s, code(&b)),
        (400, "UserErrorUnsupportedBackupFrequency"),
        "{b}"
    );
    let v2 = instance(&t, "bv-weu", "ledger-v2", "disk-daily", &snap_rg);
    let (_, fin, _) = t.validate("bv-weu", &v2).await;
    // Only the roles on the other disk were granted.
    assert_eq!(fin["error"]["code"], "UserErrorMissingRequiredPermissions");

    // A vault with instances cannot be deleted.
    let (s, _, _) = t.call("DELETE", &t.vault("bv-weu"), DPP, None).await;
    assert_eq!(s, 400);

    // Stop protection; then delete the instance (soft delete is on).
    let (s, h, _) = t
        .call(
            "POST",
            &format!(
                "{}/backupInstances/shared-data-bi/stopProtection",
                t.vault("bv-weu")
            ),
            DPP,
            Some(json!({})),
        )
        .await;
    assert_eq!(s, 202);
    t.poll_status(&hdr(&h, "azure-asyncoperation")).await;
    let p = t.instance_status("bv-weu", "shared-data-bi").await;
    assert_eq!(p["currentProtectionState"], "ProtectionStopped");
    let (s, h, _) = t
        .call(
            "DELETE",
            &format!("{}/backupInstances/shared-data-bi", t.vault("bv-weu")),
            DPP,
            None,
        )
        .await;
    assert_eq!(s, 202);
    assert!(hdr(&h, "location").contains("/operationResults/"));
    t.poll_status(&hdr(&h, "azure-asyncoperation")).await;
    soft_deleted_instance_as_recorded(&t, &snap_rg).await;
}

/// The soft-deleted instance `shared-data-bi` of bv-weu, as the recording
/// azure-cli-extensions dataprotection `test_dataprotection_backup_instance_softdelete.yaml`
/// (DPSD #n) shows it: gone from `backupInstances`, listed and read under
/// `deletedBackupInstances` (#10, #11); its disk protected by another vault meanwhile
/// (#12–#26); undeleted (200, no body, #27) it is stopped (#28) and cannot resume while the other
/// vault protects the disk (#29); an undelete of nothing is a 404 (#2).
async fn soft_deleted_instance_as_recorded(t: &T, snap_rg: &str) {
    let bi_path = format!("{}/backupInstances/shared-data-bi", t.vault("bv-weu"));
    let deleted = format!(
        "{}/deletedBackupInstances/shared-data-bi",
        t.vault("bv-weu")
    );
    let (s, _, _) = t.call("GET", &bi_path, DPP, None).await;
    assert_eq!(s, 404);
    let listed = t.listed("bv-weu", "backupInstances").await;
    assert!(listed.is_empty(), "{listed:?}");
    // Deleting it again finds nothing to delete (#0).
    let (s, _, _) = t.call("DELETE", &bi_path, DPP, None).await;
    assert_eq!(s, 204);
    let (s, _, b) = t
        .call(
            "GET",
            &format!("{}/deletedBackupInstances", t.vault("bv-weu")),
            DPP,
            None,
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let listed = &b["value"][0];
    let (s, _, one) = t.call("GET", &deleted, DPP, None).await;
    assert_eq!(s, 200, "{one}");
    assert_eq!(&one, listed);
    assert_eq!(one["id"].as_str(), Some(deleted.as_str()));
    assert_eq!(
        one["type"],
        "Microsoft.DataProtection/backupVaults/deletedBackupInstances"
    );
    let p = &one["properties"];
    assert_eq!(p["objectType"], "DeletedBackupInstance");
    assert_eq!(p["currentProtectionState"], "SoftDeleted");
    assert_eq!(p["protectionStatus"]["status"], "SoftDeleted");
    assert_eq!(
        p["dataSourceInfo"]["resourceID"].as_str(),
        Some(t.disk("shared-data").as_str())
    );
    for k in [
        "deletionTime",
        "billingEndDate",
        "scheduledPurgeTime",
        "deleteActivityID",
    ] {
        assert!(p["deletionInfo"][k].is_string(), "{k}: {p}");
    }

    // Another vault protects the disk meanwhile.
    let v2 = t.create_vault("bv-two").await;
    let p2 = v2["identity"]["principalId"].as_str().unwrap().to_string();
    assert_eq!(
        t.create_policy("bv-two", "disk-4h", "PT4H", "P7D").await.0,
        200
    );
    t.assign(&t.disk("shared-data"), DISK_BACKUP_READER, &p2)
        .await;
    t.assign(snap_rg, SNAPSHOT_CONTRIBUTOR, &p2).await;
    tokio::time::sleep(Duration::from_millis(350)).await;
    let bi2 = instance(t, "bv-two", "shared-data", "disk-4h", snap_rg);
    let (s, fin) = protect(t, "bv-two", "shared-data-bi", &bi2).await;
    assert_eq!(s, "Succeeded", "{fin}");

    // Undeleted: stopped, in backupInstances again; it cannot resume while bv-two protects it.
    let (s, h, b) = t
        .call("POST", &format!("{deleted}/undelete"), DPP, None)
        .await;
    assert_eq!((s, &b), (200, &Value::Null));
    assert!(
        !h.contains_key("azure-asyncoperation") && !h.contains_key("location"),
        "{h:?}"
    );
    let p = t.instance_status("bv-weu", "shared-data-bi").await;
    assert_eq!(p["currentProtectionState"], "ProtectionStopped", "{p}");
    let (s, _, b) = t
        .call(
            "POST",
            &format!("{bi_path}/resumeProtection"),
            DPP,
            Some(json!({})),
        )
        .await;
    assert_eq!(
        (s, code(&b)),
        (400, "UserErrorDppDatasourceAlreadyHasBackupInstance"),
        "{b}"
    );
    assert!(
        b["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains(&t.vault("bv-two"))),
        "{b}"
    );
    let (s, _, b) = t
        .call("POST", &format!("{deleted}/undelete"), DPP, None)
        .await;
    assert_eq!(
        (s, code(&b)),
        (404, "UserErrorGenericResourceNotFound"),
        "{b}"
    );
}

#[tokio::test]
async fn snapshots_and_disks_from_snapshots() {
    let t = start(0.001).await;
    let snap_rg = t.snapshot_rg().await;
    let snap = |n: &str| format!("{snap_rg}/providers/Microsoft.Compute/snapshots/{n}");
    let body = json!({"location": "westeurope", "properties": {
        "creationData": {"createOption": "Copy", "sourceResourceId": t.disk("shared-data")},
        "incremental": true,
    }});
    let (s, h, b) = t
        .call("PUT", &snap("snap-1"), DISK, Some(body.clone()))
        .await;
    assert_eq!(s, 202, "{b}");
    assert!(hdr(&h, "azure-asyncoperation").contains("/DiskOperations/"));
    let (s, b) = t.poll_location(&hdr(&h, "location")).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["properties"]["incremental"], true);
    assert_eq!(b["sku"]["name"], "Standard_LRS");
    assert_eq!(b["properties"]["diskSizeGB"], 512);
    assert_eq!(b["properties"]["completionPercent"], 100.0);
    assert_eq!(
        b["properties"]["creationData"]["sourceResourceId"],
        t.disk("shared-data")
    );

    // At most 7 incremental snapshots of a disk per 5 minutes.
    for i in 2..=7 {
        let (s, _, b) = t
            .call("PUT", &snap(&format!("snap-{i}")), DISK, Some(body.clone()))
            .await;
        assert_eq!(s, 202, "{b}");
    }
    let (s, _, _) = t
        .call("PUT", &snap("snap-8"), DISK, Some(body.clone()))
        .await;
    assert_eq!(s, 409);
    let (s, _, b) = t
        .call(
            "GET",
            &format!("{snap_rg}/providers/Microsoft.Compute/snapshots"),
            DISK,
            None,
        )
        .await;
    assert_eq!((s, b["value"].as_array().unwrap().len()), (200, 7));

    // A disk from a snapshot has its size.
    let restored = format!(
        "{}/providers/Microsoft.Compute/disks/restored-data",
        snap_rg
    );
    let (s, h, b) = t
        .call(
            "PUT",
            &restored,
            DISK,
            Some(
                json!({"location": "westeurope", "sku": {"name": "Premium_LRS"}, "properties": {
                    "creationData": {"createOption": "Copy", "sourceResourceId": snap("snap-1")},
                }}),
            ),
        )
        .await;
    assert_eq!(s, 202, "{b}");
    let (s, _) = t.poll_location(&hdr(&h, "location")).await;
    assert_eq!(s, 200);
    let (s, _, b) = t.call("GET", &restored, DISK, None).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["properties"]["diskSizeGB"], 512);
    assert_eq!(b["sku"]["name"], "Premium_LRS");
    assert_eq!(b["properties"]["creationData"]["createOption"], "Copy");
    // Inventory disks stay read-only; snapshots delete.
    let (s, _, _) = t
        .call(
            "PUT",
            &t.disk("shared-data"),
            DISK,
            Some(json!({"location": "westeurope"})),
        )
        .await;
    assert_eq!(s, 400);
    let (s, _, _) = t.call("DELETE", &snap("snap-2"), DISK, None).await;
    assert_eq!(s, 202);
    let (s, _, _) = t.call("GET", &snap("snap-2"), DISK, None).await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn disk_backup_state_persists_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let opts = SandboxOptions {
        state: Some(dir.path().join("state.json")),
        time_scale: 0.001,
        ..Default::default()
    };
    let t = start_with(opts.clone()).await;
    let v = t.create_vault("bv-keep").await;
    let principal = v["identity"]["principalId"].as_str().unwrap().to_string();
    assert_eq!(
        t.create_policy("bv-keep", "daily", "P1D", "P7D").await.0,
        200
    );
    let (s, b) = t
        .assign(&t.disk("shared-data"), DISK_BACKUP_READER, &principal)
        .await;
    assert_eq!(s, 201);
    let ra = b["id"].as_str().unwrap().to_string();
    t.sb.shutdown().await;

    let t = start_with(opts).await;
    let (s, _, b) = t.call("GET", &t.vault("bv-keep"), DPP, None).await;
    assert_eq!(
        (s, b["identity"]["principalId"].as_str()),
        (200, Some(principal.as_str()))
    );
    let (s, _, _) = t
        .call(
            "GET",
            &format!("{}/backupPolicies/daily", t.vault("bv-keep")),
            DPP,
            None,
        )
        .await;
    assert_eq!(s, 200);
    let (s, _, _) = t.call("GET", &ra, AUTH, None).await;
    assert_eq!(s, 200);

    // An empty vault deletes: 202, the status under the group's region, the result under the
    // subscription's (DPP vault_create_and_delete #5).
    let (s, h, _) = t.call("DELETE", &t.vault("bv-keep"), DPP, None).await;
    assert_eq!(s, 202);
    let aso = hdr(&h, "azure-asyncoperation");
    assert!(
        aso.contains("/resourceGroups/rg-app/providers/Microsoft.DataProtection/locations/westeurope/operationStatus/"),
        "{aso}"
    );
    let loc = hdr(&h, "location");
    assert!(
        loc.contains(&format!("/subscriptions/{}/providers/Microsoft.DataProtection/locations/westeurope/operationResults/", t.sub)),
        "{loc}"
    );
    let (_, fin) = t.poll_status(&aso).await;
    assert_eq!(fin["status"], "Succeeded");
    let (s, _) = t.poll_location(&hdr(&h, "location")).await;
    assert_eq!(s, 204);
    let (s, _, _) = t.call("GET", &t.vault("bv-keep"), DPP, None).await;
    assert_eq!(s, 404);
}

/// Recording: DPVU test_dataprotection_backup_vault_update #17 L849 (FACTS §5): turning off
/// AlwaysOn soft delete is refused with `UserErrorDisableSoftDeleteNotAllowed`.
#[tokio::test]
async fn turning_off_always_on_soft_delete_is_refused_with_azures_code() {
    let t = start(0.001).await;
    let mut vault = t.create_vault("bv-always-on").await;
    let sd = |state: &str| json!({"state": state, "retentionDurationInDays": 14});
    vault["properties"]["securitySettings"]["softDeleteSettings"] = sd("AlwaysOn");
    let (s, h, b) = t
        .call("PUT", &t.vault("bv-always-on"), DPP, Some(vault.clone()))
        .await;
    assert!(s == 200 || s == 201, "{s} {b}");
    let aso = hdr(&h, "azure-asyncoperation");
    if !aso.is_empty() {
        t.poll_status(&aso).await;
    }
    vault["properties"]["securitySettings"]["softDeleteSettings"] = sd("Off");
    let (s, _, b) = t
        .call("PUT", &t.vault("bv-always-on"), DPP, Some(vault))
        .await;
    assert_eq!(
        (s, code(&b)),
        (400, "UserErrorDisableSoftDeleteNotAllowed"),
        "{b}"
    );
}

#[tokio::test]
async fn a_new_vault_identity_is_not_in_the_directory_yet_unless_the_principal_type_is_given() {
    // A minute of Azure time is 3 s here: the identity's replication window stays open while
    // the test runs.
    let t = start(0.05).await;
    let vault = t.create_vault("bv-new").await;
    let principal = vault["identity"]["principalId"]
        .as_str()
        .unwrap()
        .to_string();
    let rg = t.snapshot_rg().await;
    let name = uuid::Uuid::new_v4();
    let path = format!("{rg}/providers/Microsoft.Authorization/roleAssignments/{name}");
    let body = |typed: bool| {
        let mut p = json!({
            "roleDefinitionId": format!("/subscriptions/{}/providers/Microsoft.Authorization/roleDefinitions/7efff54f-a5b4-42b5-a1c5-5411624893ce", t.sub),
            "principalId": principal,
        });
        if typed {
            p["principalType"] = json!("ServicePrincipal");
        }
        json!({ "properties": p })
    };
    // As Azure's CLI met it (recording #28): the identity was just created.
    let (s, _, b) = t.call("PUT", &path, AUTH, Some(body(false))).await;
    assert_eq!((s, code(&b)), (400, "PrincipalNotFound"), "{b}");
    assert!(
        b["error"]["message"]
            .as_str()
            .unwrap()
            .contains("set the role assignment principalType property"),
        "{b}"
    );
    // The fix Azure names: say what kind of principal it is (azprotect always does).
    let (s, _, b) = t.call("PUT", &path, AUTH, Some(body(true))).await;
    assert_eq!(s, 201, "{b}");
}

const UA_NOT_ATTACHED: &str = "The User Identity provided in input is not attached to the Backup Vault. Please attach the User Identity to the Backup Vault first and then perform any backup or restore related operations.";

/// `identityDetails` naming the user-assigned identity `ua` (spec `IdentityDetails`, sent in
/// the instance's properties as the recorded validateForBackup, UAMI #23).
fn as_user(ua: &str) -> Value {
    json!({"useSystemAssignedIdentity": false, "userAssignedIdentityArmUrl": ua})
}

fn with_identity(bi: &Value, details: Value) -> Value {
    let mut bi = bi.clone();
    bi["properties"]["identityDetails"] = details;
    bi
}

/// A Backup vault's user-assigned identities as recorded (azure-cli-extensions dataprotection
/// test_dataprotection_backup_instance_uami_create_update, "UAMI" in FACTS): keyed as sent, each
/// exactly `clientId` and `principalId` (#0, #6); `{}` while an update runs, with no system
/// principal once the type is `UserAssigned` (#7), filled again after it (#9). One identity has
/// one principal, whatever the case of its id.
#[tokio::test]
async fn a_backup_vaults_user_assigned_identity_as_recorded() {
    let t = start(0.001).await;
    let ua = uami(&t, "ua-Backup");
    let both =
        json!({"type": "SystemAssigned,UserAssigned", "userAssignedIdentities": {ua.as_str(): {}}});
    let v = t.create_vault_with("bv-ua", both).await;
    let identity = &v["identity"];
    assert_eq!(identity["type"], "SystemAssigned,UserAssigned");
    assert!(
        identity["principalId"].is_string() && identity["tenantId"].is_string(),
        "{v}"
    );
    let entry = &identity["userAssignedIdentities"][ua.as_str()];
    let keys: Vec<&String> = entry.as_object().expect("keyed as sent").keys().collect();
    assert_eq!(keys, ["clientId", "principalId"], "{v}");
    let principal = entry["principalId"].as_str().unwrap().to_string();
    assert!(uuid::Uuid::parse_str(&principal).is_ok(), "{v}");
    assert_ne!(entry["clientId"], entry["principalId"]);
    assert_ne!(identity["principalId"], entry["principalId"]);

    // The same identity, its id spelled in capitals, on another vault: the same principal.
    let upper = ua.to_ascii_uppercase();
    let only = json!({"type": "UserAssigned", "userAssignedIdentities": {upper.as_str(): {}}});
    let v2 = t.create_vault_with("bv-ua-two", only).await;
    let entry2 = &v2["identity"]["userAssignedIdentities"][upper.as_str()];
    assert_eq!(entry2, entry, "{v2}");
    assert!(v2["identity"].get("principalId").is_none(), "{v2}");

    // #7: the vault updated to UserAssigned only answers `Updating`, its entries `{}` and no
    // system principal; #9: done, the entries are back.
    let mut update = v.clone();
    update["identity"] =
        json!({"type": "UserAssigned", "userAssignedIdentities": {ua.as_str(): {}}});
    let (s, h, b) = t.call("PUT", &t.vault("bv-ua"), DPP, Some(update)).await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["properties"]["provisioningState"], "Updating", "{b}");
    assert_eq!(
        b["identity"],
        json!({"type": "UserAssigned", "userAssignedIdentities": {ua.as_str(): {}}}),
        "{b}"
    );
    let (_, fin) = t.poll_status(&hdr(&h, "azure-asyncoperation")).await;
    assert_eq!(fin["status"], "Succeeded");
    let (s, _, b) = t.call("GET", &t.vault("bv-ua"), DPP, None).await;
    assert_eq!(s, 200);
    assert_eq!(b["properties"]["provisioningState"], "Succeeded");
    assert_eq!(
        b["identity"],
        json!({"type": "UserAssigned", "userAssignedIdentities": {ua.as_str(): entry}}),
        "{b}"
    );
}

/// An instance (or its validation) naming a user-assigned identity its vault lacks is refused
/// with the message Azure answered (Azure/azure-sdk-for-net issue 47031); `false` without an
/// identity is invalid.
#[tokio::test]
async fn an_instance_naming_a_user_identity_its_vault_lacks_is_refused() {
    let t = &start(0.001).await;
    let ua = uami(t, "ua-backup");
    let other = uami(t, "ua-elsewhere");
    let both =
        json!({"type": "SystemAssigned,UserAssigned", "userAssignedIdentities": {ua.as_str(): {}}});
    t.create_vault_with("bv-ua", both).await;
    t.create_vault("bv-system").await;
    for vault in ["bv-ua", "bv-system"] {
        assert_eq!(
            t.create_policy(vault, "disk-4h", "PT4H", "P7D").await.0,
            200
        );
    }
    let snap_rg = t.snapshot_rg().await;
    let put = |vault: &str, bi: Value| {
        let path = format!("{}/backupInstances/shared-data-bi", t.vault(vault));
        async move { t.call("PUT", &path, DPP, Some(bi)).await }
    };
    let bi = instance(t, "bv-ua", "shared-data", "disk-4h", &snap_rg);
    let (s, _, b) = put("bv-ua", with_identity(&bi, as_user(&other))).await;
    assert_eq!(
        (s, code(&b), b["error"]["message"].as_str()),
        (
            400,
            "UserErrorUserIdentityNotAttachedToVault",
            Some(UA_NOT_ATTACHED)
        ),
        "{b}"
    );
    // A vault with only its system-assigned identity has no user identity to use.
    let bi_system = instance(t, "bv-system", "shared-data", "disk-4h", &snap_rg);
    let (s, _, b) = put("bv-system", with_identity(&bi_system, as_user(&ua))).await;
    assert_eq!(
        (s, code(&b)),
        (400, "UserErrorUserIdentityNotAttachedToVault"),
        "{b}"
    );
    let (s, _, b) = put(
        "bv-ua",
        with_identity(&bi, json!({"useSystemAssignedIdentity": false})),
    )
    .await;
    assert_eq!(
        (s, code(&b)),
        (400, "UserErrorInvalidRequestParameter"),
        "{b}"
    );
    // Nothing was created.
    let (s, _, _) = t
        .call(
            "GET",
            &format!("{}/backupInstances/shared-data-bi", t.vault("bv-ua")),
            DPP,
            None,
        )
        .await;
    assert_eq!(s, 404);
    // validateForBackup answers through its operation, as for its other refusals.
    let (_, fin, result) = t
        .validate("bv-ua", &with_identity(&bi, as_user(&other)))
        .await;
    assert_eq!(fin["status"], "Failed");
    assert_eq!(
        fin["error"]["code"],
        "UserErrorUserIdentityNotAttachedToVault"
    );
    assert_eq!(fin["error"]["message"], UA_NOT_ATTACHED);
    assert_eq!(code(&result), "UserErrorUserIdentityNotAttachedToVault");
}

/// A vault with both identities, the user-assigned ones `ua` and `ua2`, whose system-assigned
/// identity holds both Disk Backup roles (propagated): (ua, ua2, ua's principal, snapshot group).
async fn vault_whose_system_identity_holds_the_roles(t: &T) -> (String, String, String, String) {
    let (ua, ua2) = (uami(t, "ua-backup"), uami(t, "ua-other"));
    let both = json!({"type": "SystemAssigned,UserAssigned",
                      "userAssignedIdentities": {ua.as_str(): {}, ua2.as_str(): {}}});
    let v = t.create_vault_with("bv-ua", both).await;
    let system = v["identity"]["principalId"].as_str().unwrap().to_string();
    let ua_principal = v["identity"]["userAssignedIdentities"][ua.as_str()]["principalId"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        t.create_policy("bv-ua", "disk-4h", "PT4H", "P7D").await.0,
        200
    );
    let snap_rg = t.snapshot_rg().await;
    let (s, b) = t
        .assign(&t.disk("shared-data"), DISK_BACKUP_READER, &system)
        .await;
    assert_eq!(s, 201, "{b}");
    let (s, b) = t.assign(&snap_rg, SNAPSHOT_CONTRIBUTOR, &system).await;
    assert_eq!(s, 201, "{b}");
    tokio::time::sleep(Duration::from_millis(350)).await;
    (ua, ua2, ua_principal, snap_rg)
}

/// validateForBackup checks the roles of the identity the instance names: the user-assigned
/// one's, not the vault's system-assigned one's (Azure's CLI checks them for the `--uami`,
/// UAMI #10–#21).
#[tokio::test]
async fn validate_for_backup_checks_the_user_assigned_identitys_roles() {
    let t = start(0.001).await;
    let (ua, _, ua_principal, snap_rg) = vault_whose_system_identity_holds_the_roles(&t).await;
    let bi = instance(&t, "bv-ua", "shared-data", "disk-4h", &snap_rg);
    let (_, fin, _) = t.validate("bv-ua", &bi).await;
    assert_eq!(fin["status"], "Succeeded", "{fin}");
    let as_ua = with_identity(&bi, as_user(&ua));
    let (_, fin, result) = t.validate("bv-ua", &as_ua).await;
    assert_eq!(fin["status"], "Failed");
    assert_eq!(fin["error"]["code"], "UserErrorMissingRequiredPermissions");
    assert_eq!(code(&result), "UserErrorMissingRequiredPermissions");
    let message = fin["error"]["message"].as_str().unwrap();
    assert!(message.contains(&ua), "{message}");
    // Explicitly the system-assigned identity: as without identityDetails.
    let as_system = with_identity(&bi, json!({"useSystemAssignedIdentity": true}));
    let (_, fin, _) = t.validate("bv-ua", &as_system).await;
    assert_eq!(fin["status"], "Succeeded", "{fin}");
    // The roles granted to the user-assigned identity's principal: valid.
    t.assign(&t.disk("shared-data"), DISK_BACKUP_READER, &ua_principal)
        .await;
    t.assign(&snap_rg, SNAPSHOT_CONTRIBUTOR, &ua_principal)
        .await;
    tokio::time::sleep(Duration::from_millis(350)).await;
    let (_, fin, _) = t.validate("bv-ua", &as_ua).await;
    assert_eq!(fin["status"], "Succeeded", "{fin}");
}

/// An instance backing up as a user-assigned identity: configured only once that identity holds
/// the roles (the vault's system-assigned identity holding them does not count), its GET echoing
/// `identityDetails`; a PUT that switches identity configures again; a restore acts as the
/// identity its own request names (system-assigned when it names none, as the spec says).
#[tokio::test]
async fn an_instance_backs_up_and_restores_as_the_user_assigned_identity_it_names() {
    let t = &start(0.001).await;
    let (ua, ua2, ua_principal, snap_rg) = vault_whose_system_identity_holds_the_roles(t).await;
    let bi = instance(t, "bv-ua", "shared-data", "disk-4h", &snap_rg);
    // The identity named in lower case: the vault's, whatever the case.
    let details = as_user(&ua.to_ascii_lowercase());
    let as_ua = with_identity(&bi, details.clone());
    let (s, fin) = protect(t, "bv-ua", "bi", &as_ua).await;
    assert_eq!(s, "Succeeded", "{fin}");
    let p = t.configured("bv-ua", "bi").await;
    assert_eq!(p["currentProtectionState"], "ProtectionError", "{p}");
    assert_eq!(
        p["protectionErrorDetails"]["code"],
        "UserErrorDiskBackupAuthorizationFailed"
    );

    t.assign(&t.disk("shared-data"), DISK_BACKUP_READER, &ua_principal)
        .await;
    t.assign(&snap_rg, SNAPSHOT_CONTRIBUTOR, &ua_principal)
        .await;
    tokio::time::sleep(Duration::from_millis(350)).await;
    let (s, fin) = protect(t, "bv-ua", "bi", &as_ua).await;
    assert_eq!(s, "Succeeded", "{fin}");
    let p = t.configured("bv-ua", "bi").await;
    assert_eq!(p["currentProtectionState"], "ProtectionConfigured", "{p}");
    assert_eq!(p["identityDetails"], details, "{p}");

    // A restore validated as the user-assigned identity needs its Disk Restore Operator; one
    // whose request names no identity restores as the system-assigned identity.
    let restore_rg = t.rg_path("rg-app");
    let (s, b) = t
        .assign(
            &restore_rg,
            DISK_RESTORE_OPERATOR,
            &system_principal(t).await,
        )
        .await;
    assert_eq!(s, 201, "{b}");
    tokio::time::sleep(Duration::from_millis(350)).await;
    let point = backup_now(t).await;
    let request = |details: Option<Value>| {
        let mut r = json!({
            "objectType": "AzureBackupRecoveryPointBasedRestoreRequest",
            "recoveryPointId": point,
            "sourceDataStoreType": "OperationalStore",
            "restoreTargetInfo": {
                "objectType": "RestoreTargetInfo", "recoveryOption": "FailIfExists",
                "restoreLocation": "westeurope",
                "datasourceInfo": {
                    "datasourceType": "Microsoft.Compute/disks", "objectType": "Datasource",
                    "resourceID": t.disk("shared-data-back"), "resourceLocation": "westeurope",
                    "resourceName": "shared-data-back", "resourceType": "Microsoft.Compute/disks",
                    "resourceUri": t.disk("shared-data-back"),
                },
            },
        });
        if let Some(d) = details {
            r["identityDetails"] = d;
        }
        json!({"restoreRequestObject": r})
    };
    let validate_restore = |body: Value| async move {
        let path = format!("{}/backupInstances/bi/validateRestore", t.vault("bv-ua"));
        let (s, h, b) = t.call("POST", &path, DPP, Some(body)).await;
        assert_eq!(s, 202, "{b}");
        t.poll_status(&hdr(&h, "azure-asyncoperation")).await.1
    };
    let fin = validate_restore(request(None)).await;
    assert_eq!(fin["status"], "Succeeded", "{fin}");
    let fin = validate_restore(request(Some(as_user(&ua)))).await;
    assert_eq!(
        fin["error"]["code"], "UserErrorMissingRequiredPermissions",
        "{fin}"
    );
    assert!(
        fin["error"]["message"].as_str().unwrap().contains(&ua),
        "{fin}"
    );
    let fin = validate_restore(request(Some(as_user(&uami(t, "ua-elsewhere"))))).await;
    assert_eq!(
        fin["error"]["code"], "UserErrorUserIdentityNotAttachedToVault",
        "{fin}"
    );

    // Switched to the other user-assigned identity, which holds no role: configured again,
    // and in error.
    let (s, fin) = protect(t, "bv-ua", "bi", &with_identity(&bi, as_user(&ua2))).await;
    assert_eq!(s, "Succeeded", "{fin}");
    let p = t.configured("bv-ua", "bi").await;
    assert_eq!(p["currentProtectionState"], "ProtectionError", "{p}");
    // Back to the system-assigned identity, which holds them.
    let (s, fin) = protect(t, "bv-ua", "bi", &bi).await;
    assert_eq!(s, "Succeeded", "{fin}");
    let p = t.configured("bv-ua", "bi").await;
    assert_eq!(p["currentProtectionState"], "ProtectionConfigured", "{p}");
    assert!(p.get("identityDetails").is_none(), "{p}");
}

async fn system_principal(t: &T) -> String {
    let (s, _, v) = t.call("GET", &t.vault("bv-ua"), DPP, None).await;
    assert_eq!(s, 200, "{v}");
    v["identity"]["principalId"].as_str().unwrap().to_string()
}

/// An on-demand backup of `bv-ua`'s instance `bi`, waited for: its recovery point's id.
async fn backup_now(t: &T) -> String {
    let bi = format!("{}/backupInstances/bi", t.vault("bv-ua"));
    let (s, h, b) = t
        .call(
            "POST",
            &format!("{bi}/backup"),
            DPP,
            Some(json!({"backupRuleOptions": {"ruleName": "BackupHourly", "triggerOption": {}}})),
        )
        .await;
    assert_eq!(s, 202, "{b}");
    let (_, fin) = t.poll_status(&hdr(&h, "azure-asyncoperation")).await;
    let job = fin["properties"]["jobId"].as_str().unwrap().to_string();
    for _ in 0..400 {
        let (_, _, b) = t.call("GET", &job, DPP, None).await;
        if b["properties"]["status"] == "Completed" {
            let points = t.points("bv-ua", "bi").await;
            return points[0]["name"].as_str().unwrap().to_string();
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("the backup never completed");
}
