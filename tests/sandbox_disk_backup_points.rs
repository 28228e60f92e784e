//! Black-box tests of the sandbox's Azure Disk Backup recovery points and operations over
//! HTTPS: points over simulated time (schedule, retention, policy moves, an on-demand backup's
//! job, stop keeping points), configuring that ends in ProtectionError and `sync`, and the
//! operation status spelling, role reads and in-progress states at real time.

use std::time::Duration;

mod support;

use serde_json::{json, Value};
use support::data_protection::*;

#[tokio::test]
async fn recovery_points_follow_schedule_and_retention() {
    // 1 Azure hour = 36 ms; a day = 864 ms.
    let t = start(0.00001).await;
    let v = t.create_vault("bv-rp").await;
    let principal = v["identity"]["principalId"].as_str().unwrap().to_string();
    assert_eq!(
        t.create_policy("bv-rp", "hourly", "PT1H", "P1D").await.0,
        200
    );
    assert_eq!(
        t.create_policy("bv-rp", "twice-daily", "PT12H", "P7D")
            .await
            .0,
        200
    );
    let snap_rg = t.snapshot_rg().await;
    t.assign(&t.disk("shared-data"), DISK_BACKUP_READER, &principal)
        .await;
    // A subscription-scope Contributor also satisfies the snapshot role.
    let bi = instance(&t, "bv-rp", "shared-data", "hourly", &snap_rg);
    // The reader role on the disk takes effect (300 Azure s = 3 ms).
    tokio::time::sleep(Duration::from_millis(20)).await;
    // Before the Contributor assignment there is no snapshot permission: the PUT's operation
    // succeeds, configuring ends in ProtectionError (what azurerm users meet), with Disk
    // Backup's code for the snapshot resource group's missing role.
    let (s, _) = protect(&t, "bv-rp", "bi", &bi).await;
    assert_eq!(s, "Succeeded");
    let p = t.configured("bv-rp", "bi").await;
    assert_eq!(
        (
            &p["currentProtectionState"],
            &p["protectionStatus"]["status"],
            &p["protectionStatus"]["errorDetails"]["code"]
        ),
        (
            &json!("ProtectionError"),
            &json!("ProtectionError"),
            &json!("UserErrorNotEnoughPermissionOnSnapshotRG")
        ),
        "{p}"
    );
    // Snapshots need the roles: none is taken while in error.
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(t.points("bv-rp", "bi").await.is_empty());
    t.assign(
        &format!("/subscriptions/{}", t.sub),
        "b24988ac-6180-42a2-ab66-4c8be2c6f0d9",
        &principal,
    )
    .await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    // `sync` configures again once the roles are in effect.
    let (s, h, b) = t
        .call(
            "POST",
            &format!("{}/backupInstances/bi/sync", t.vault("bv-rp")),
            DPP,
            Some(json!({"syncType": "Default"})),
        )
        .await;
    assert_eq!(s, 202, "{b}");
    assert_eq!(
        t.poll_status(&hdr(&h, "azure-asyncoperation")).await.1["status"],
        "Succeeded"
    );
    let p = t.configured("bv-rp", "bi").await;
    assert_eq!(p["currentProtectionState"], "ProtectionConfigured", "{p}");

    tokio::time::sleep(Duration::from_millis(400)).await;
    let early = t.points("bv-rp", "bi").await;
    assert!(early.len() >= 5, "{}", early.len());
    let p = &early[0]["properties"];
    assert_eq!(p["objectType"], "AzureBackupDiscreteRecoveryPoint");
    assert_eq!(p["recoveryPointType"], "Incremental");
    assert_eq!(p["policyName"], "hourly");
    assert_eq!(
        p["recoveryPointDataStoresDetails"][0]["type"],
        "OperationalStore"
    );
    let first_id = early.last().unwrap()["name"].as_str().unwrap().to_string();
    // Each point has a backup snapshot in the snapshot resource group.
    let (_, _, snaps) = t
        .call(
            "GET",
            &format!("{snap_rg}/providers/Microsoft.Compute/snapshots"),
            DISK,
            None,
        )
        .await;
    let snaps = snaps["value"].as_array().unwrap().clone();
    assert!(
        snaps.len() >= early.len(),
        "{} < {}",
        snaps.len(),
        early.len()
    );
    assert!(snaps.iter().all(|s| s["properties"]["incremental"] == true));

    // Retention: after more than a day (864 ms) the first point has expired; at most 24 remain.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let later = t.points("bv-rp", "bi").await;
    assert!(later.iter().all(|p| p["name"] != first_id.as_str()));
    assert!(later.len() <= 25 && later.len() >= 20, "{}", later.len());

    // Move the instance to another policy: the existing points stay.
    let before: Vec<String> = later
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect();
    let moved = instance(&t, "bv-rp", "shared-data", "twice-daily", &snap_rg);
    assert_eq!(protect(&t, "bv-rp", "bi", &moved).await.0, "Succeeded");
    let p = t.instance_status("bv-rp", "bi").await;
    assert!(p["policyInfo"]["policyId"]
        .as_str()
        .unwrap()
        .ends_with("twice-daily"));
    let after = t.points("bv-rp", "bi").await;
    let newest_old = &before[..5];
    assert!(newest_old
        .iter()
        .all(|id| after.iter().any(|p| p["name"] == id.as_str())));
    // Now the old policy may be deleted.
    let (s, _, _) = t
        .call(
            "DELETE",
            &format!("{}/backupPolicies/hourly", t.vault("bv-rp")),
            DPP,
            None,
        )
        .await;
    assert_eq!(s, 200);

    // Ad-hoc backup adds a point; stop protection keeps points past their retention.
    let (s, h, _) = t
        .call(
            "POST",
            &format!("{}/backupInstances/bi/backup", t.vault("bv-rp")),
            DPP,
            Some(json!({"backupRuleOptions": {"ruleName": "BackupHourly", "triggerOption": {"retentionTagOverride": "Default"}}})),
        )
        .await;
    assert_eq!(s, 202);
    // The operation only triggers it: it names the backup's job, readable at once, which takes
    // the point when it completes (DPP create_backup_delete_disk #20–#40).
    let (_, fin) = t.poll_status(&hdr(&h, "azure-asyncoperation")).await;
    let job = fin["properties"]["jobId"]
        .as_str()
        .expect("jobId")
        .to_string();
    assert!(
        job.starts_with(&format!("{}/backupJobs/", t.vault("bv-rp"))),
        "{fin}"
    );
    let mut done = Value::Null;
    for _ in 0..200 {
        let (s, _, b) = t.call("GET", &job, DPP, None).await;
        assert_eq!(s, 200, "{b}");
        assert_eq!(
            (
                &b["properties"]["operation"],
                &b["properties"]["isUserTriggered"]
            ),
            (&json!("Backup"), &json!(true))
        );
        if b["properties"]["status"] == "Completed" {
            done = b;
            break;
        }
        assert_eq!(b["properties"]["duration"], "PT0S", "{b}");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let taken = &done["properties"]["extendedInfo"]["targetRecoverPoint"]["recoveryPointID"];
    assert!(
        t.points("bv-rp", "bi")
            .await
            .iter()
            .any(|p| p["name"] == *taken),
        "{done}"
    );
    let (s, _, _) = t
        .call(
            "POST",
            &format!("{}/backupInstances/bi/stopProtection", t.vault("bv-rp")),
            DPP,
            Some(json!({})),
        )
        .await;
    assert_eq!(s, 202);
    let stopped = t.points("bv-rp", "bi").await;
    tokio::time::sleep(Duration::from_millis(900)).await;
    let kept = t.points("bv-rp", "bi").await;
    assert_eq!(stopped.len(), kept.len());
    // Points that had expired before the stop do not come back.
    assert!(kept.len() <= 27, "{}", kept.len());
    assert!(kept
        .iter()
        .any(|p| p["properties"]["policyName"] == "hourly"));
    assert!(kept[0]["properties"]["expiryTime"].is_null());
}

#[tokio::test]
async fn operation_status_spelling_and_role_reads() {
    // Real-time scale: operations stay in progress for the whole test.
    let t = start(1.0).await;
    let (s, h, b) = t
        .call(
            "PUT",
            &t.vault("bv-slow"),
            DPP,
            Some(json!({"location": "westeurope", "identity": {"type": "SystemAssigned"},
                "properties": {"storageSettings": [{"datastoreType": "VaultStore", "type": "ZoneRedundant"}]}})),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["properties"]["provisioningState"], "Provisioning");
    assert_eq!(
        b["properties"]["securitySettings"]["softDeleteSettings"]["state"],
        "On"
    );
    let (s, _, st) = t
        .call("GET", &hdr(&h, "azure-asyncoperation"), "", None)
        .await;
    assert_eq!(
        (s, st["status"].as_str()),
        (200, Some("Inprogress")),
        "{st}"
    );
    assert_eq!(
        t.create_policy("bv-slow", "daily", "P1D", "P7D").await.0,
        200
    );
    let snap_rg = t.snapshot_rg().await;
    let bi = instance(&t, "bv-slow", "shared-data", "daily", &snap_rg);
    let (s, h, _) = t
        .call(
            "POST",
            &format!("{}/validateForBackup", t.vault("bv-slow")),
            DPP,
            Some(json!({"backupInstance": bi["properties"]})),
        )
        .await;
    assert_eq!(s, 202);
    assert_eq!(hdr(&h, "retry-after"), "", "Azure sends none (FACTS §9)");
    let (_, _, st) = t
        .call("GET", &hdr(&h, "azure-asyncoperation"), "", None)
        .await;
    assert_eq!(st["status"], "Inprogress");
    let (s, _, _) = t.call("GET", &hdr(&h, "location"), "", None).await;
    assert_eq!(s, 202);

    // Role definitions and assignment reads.
    let (s, _, b) = t
        .call(
            "GET",
            &format!("/subscriptions/{}/providers/Microsoft.Authorization/roleDefinitions?$filter=roleName eq 'Disk Backup Reader'", t.sub),
            AUTH,
            None,
        )
        .await;
    assert_eq!(
        (s, b["value"][0]["name"].as_str()),
        (200, Some(DISK_BACKUP_READER)),
        "{b}"
    );
    let principal = uuid::Uuid::new_v4().to_string();
    let (s, b) = t
        .assign(&t.disk("shared-data"), DISK_BACKUP_READER, &principal)
        .await;
    assert_eq!(s, 201);
    let id = b["id"].as_str().unwrap().to_string();
    let (s, _, g) = t.call("GET", &id, AUTH, None).await;
    assert_eq!(
        (s, g["properties"]["principalId"].as_str()),
        (200, Some(principal.as_str()))
    );
    // Listed from the resource group (assignments below the scope count without atScope()).
    let (_, _, l) = t
        .call(
            "GET",
            &format!(
                "{}/providers/Microsoft.Authorization/roleAssignments",
                t.rg_path("rg-app")
            ),
            AUTH,
            None,
        )
        .await;
    assert_eq!(l["value"].as_array().unwrap().len(), 1);
    let (_, _, l) = t
        .call(
            "GET",
            &format!(
                "{}/providers/Microsoft.Authorization/roleAssignments?$filter=atScope()",
                t.rg_path("rg-app")
            ),
            AUTH,
            None,
        )
        .await;
    assert_eq!(l["value"].as_array().unwrap().len(), 0);
    let (s, _, _) = t.call("DELETE", &id, AUTH, None).await;
    assert_eq!(s, 200);
    let (s, _, b) = t.call("GET", &id, AUTH, None).await;
    assert_eq!((s, code(&b)), (404, "RoleAssignmentNotFound"));
    let (s, _, b) = t
        .call(
            "PUT",
            &format!(
                "{}/providers/Microsoft.Authorization/roleAssignments/not-a-guid",
                t.rg_path("rg-app")
            ),
            AUTH,
            Some(json!({"properties": {}})),
        )
        .await;
    assert_eq!((s, code(&b)), (400, "InvalidRoleAssignmentId"));
}

/// As recorded (DPP create_backup_delete_disk #11–#18, #19–#40), at a time scale where the
/// states in between last long enough to be read: a new instance's PUT operation ends within a
/// second while the instance is still configuring, and an on-demand backup's operation ends at
/// once, naming a job that runs 3.5 Azure minutes before its point exists.
#[tokio::test]
async fn operations_end_before_configuring_and_the_on_demand_backup_do() {
    // 1 Azure minute = 600 ms; role propagation (300 s) 3 s.
    let t = start(0.01).await;
    let v = t.create_vault("bv-rec").await;
    let principal = v["identity"]["principalId"].as_str().unwrap().to_string();
    assert_eq!(
        t.create_policy("bv-rec", "daily", "P1D", "P7D").await.0,
        200
    );
    let snap_rg = t.snapshot_rg().await;
    t.assign(&t.disk("shared-data"), DISK_BACKUP_READER, &principal)
        .await;
    t.assign(&snap_rg, SNAPSHOT_CONTRIBUTOR, &principal).await;
    tokio::time::sleep(Duration::from_millis(3100)).await;
    let bi = instance(&t, "bv-rec", "shared-data", "daily", &snap_rg);
    let (s, _) = protect(&t, "bv-rec", "bi", &bi).await;
    assert_eq!(s, "Succeeded");
    let p = t.instance_status("bv-rec", "bi").await;
    assert_eq!(
        (
            &p["currentProtectionState"],
            &p["protectionStatus"]["status"],
            &p["provisioningState"]
        ),
        (
            &json!("ConfiguringProtection"),
            &json!("ConfiguringProtection"),
            &json!("Succeeded")
        ),
        "{p}"
    );
    let p = t.configured("bv-rec", "bi").await;
    assert_eq!(p["currentProtectionState"], "ProtectionConfigured", "{p}");

    let (s, h, _) = t
        .call(
            "POST",
            &format!("{}/backupInstances/bi/backup", t.vault("bv-rec")),
            DPP,
            Some(json!({"backupRuleOptions": {"ruleName": "BackupDaily", "triggerOption": {"retentionTagOverride": "Default"}}})),
        )
        .await;
    assert_eq!(s, 202);
    let (_, fin) = t.poll_status(&hdr(&h, "azure-asyncoperation")).await;
    assert_eq!(fin["status"], "Succeeded", "{fin}");
    let job = fin["properties"]["jobId"]
        .as_str()
        .expect("jobId")
        .to_string();
    let (s, _, b) = t.call("GET", &job, DPP, None).await;
    assert_eq!(s, 200, "{b}");
    let running = &b["properties"];
    assert_eq!(
        (
            &running["status"],
            &running["duration"],
            &running["endTime"],
            &running["extendedInfo"]["targetRecoverPoint"]
        ),
        (
            &json!("InProgress"),
            &json!("PT0S"),
            &Value::Null,
            &Value::Null
        ),
        "{b}"
    );
    assert!(t.points("bv-rec", "bi").await.is_empty());

    // The vault goes (soft delete off, its instance deleted first): a vault made again under
    // its name has none of its jobs.
    let (s, _, b) = t
        .call(
            "PATCH",
            &t.vault("bv-rec"),
            DPP,
            Some(json!({"properties": {"securitySettings": {"softDeleteSettings": {"state": "Off"}}}})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    for path in [
        format!("{}/backupInstances/bi", t.vault("bv-rec")),
        t.vault("bv-rec"),
    ] {
        let (s, h, b) = t.call("DELETE", &path, DPP, None).await;
        assert_eq!(s, 202, "{path}: {b}");
        t.poll_status(&hdr(&h, "azure-asyncoperation")).await;
    }
    t.create_vault("bv-rec").await;
    let jobs = t.listed("bv-rec", "backupJobs").await;
    assert!(jobs.is_empty(), "{jobs:?}");
}
