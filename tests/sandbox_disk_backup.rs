//! Black-box tests of the sandbox's Azure Disk Backup emulation over HTTPS: Data Protection
//! backup vaults, policies (create-only, in-use delete refused), validateForBackup with the
//! vault identity's role assignments (and their propagation delay), backup instances and their
//! states, soft delete as recorded, Compute snapshots and disks from snapshots, state kept
//! across restarts, and role assignments (recovery points and operations:
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
    let (s, _, b) = t
        .call(
            "GET",
            &format!("{}/backupInstances", t.vault("bv-weu")),
            DPP,
            None,
        )
        .await;
    assert_eq!(
        (s, b["value"].as_array().map(Vec::len)),
        (200, Some(0)),
        "{b}"
    );
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
