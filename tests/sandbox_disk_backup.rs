//! Black-box tests of the sandbox's Azure Disk Backup emulation over HTTPS: Data Protection
//! backup vaults, policies (create-only, in-use delete refused), validateForBackup with the
//! vault identity's role assignments (and their propagation delay), backup instances and their
//! states, recovery points over simulated time, Compute snapshots and disks from snapshots, and
//! role assignments.

use std::time::Duration;

mod support;

use azprotect::sandbox::{Sandbox, SandboxOptions};
use serde_json::{json, Value};

const DPP: &str = "2026-03-01";
const AUTH: &str = "2022-04-01";
const DISK: &str = "2026-03-02";
const RG: &str = "2021-04-01";
const DISK_BACKUP_READER: &str = "3e5e47e6-65f7-47ef-90b5-e5dd4d455f24";
const SNAPSHOT_CONTRIBUTOR: &str = "7efff54f-a5b4-42b5-a1c5-5411624893ce";

struct T {
    sb: Sandbox,
    http: reqwest::Client,
    token: String,
    sub: String,
}

type Resp = (u16, reqwest::header::HeaderMap, Value);

async fn start(time_scale: f64) -> T {
    start_with(SandboxOptions {
        time_scale,
        ..Default::default()
    })
    .await
}

async fn start_with(opts: SandboxOptions) -> T {
    let sb = Sandbox::start(opts).await.expect("sandbox starts");
    let (http, token) = support::raw::token_client(&sb).await;
    let sub = sb.credentials().subscription_id;
    T {
        token,
        sub,
        sb,
        http,
    }
}

fn hdr(h: &reqwest::header::HeaderMap, k: &str) -> String {
    support::raw::header(h, k)
}

fn code(b: &Value) -> &str {
    b["error"]["code"].as_str().unwrap_or("")
}

impl T {
    async fn call(&self, method: &str, path: &str, api: &str, body: Option<Value>) -> Resp {
        let url = if path.starts_with("https://") {
            path.to_string()
        } else {
            let sep = if path.contains('?') { '&' } else { '?' };
            format!("{}{path}{sep}api-version={api}", self.sb.endpoint())
        };
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut rb = self.http.request(m, &url).bearer_auth(&self.token);
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let r = rb.send().await.unwrap();
        let s = r.status().as_u16();
        let h = r.headers().clone();
        let text = r.text().await.unwrap();
        let v = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap()
        };
        (s, h, v)
    }
    fn rg_path(&self, rg: &str) -> String {
        format!("/subscriptions/{}/resourceGroups/{rg}", self.sub)
    }
    fn vault(&self, name: &str) -> String {
        format!(
            "{}/providers/Microsoft.DataProtection/backupVaults/{name}",
            self.rg_path("rg-app")
        )
    }
    fn disk(&self, name: &str) -> String {
        format!(
            "{}/providers/Microsoft.Compute/disks/{name}",
            self.rg_path("rg-app")
        )
    }
    /// Poll an `Azure-AsyncOperation` URL until it is no longer `Inprogress`; returns the
    /// statuses seen.
    async fn poll_status(&self, url: &str) -> (Vec<String>, Value) {
        let mut seen = vec![];
        for _ in 0..200 {
            let (s, _, b) = self.call("GET", url, "", None).await;
            assert_eq!(s, 200, "{url}: {b}");
            let st = b["status"].as_str().unwrap().to_string();
            seen.push(st.clone());
            if st != "Inprogress" && st != "InProgress" {
                return (seen, b);
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!("operation never finished: {url}");
    }
    /// Poll a `Location` URL until it stops answering 202.
    async fn poll_location(&self, url: &str) -> (u16, Value) {
        for _ in 0..200 {
            let (s, _, b) = self.call("GET", url, "", None).await;
            if s != 202 {
                return (s, b);
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!("operation never finished: {url}");
    }
    async fn create_vault(&self, name: &str) -> Value {
        let (s, h, b) = self
            .call(
                "PUT",
                &self.vault(name),
                DPP,
                Some(json!({
                    "location": "westeurope",
                    "identity": {"type": "SystemAssigned"},
                    "properties": {
                        "storageSettings": [{"datastoreType": "VaultStore", "type": "LocallyRedundant"}],
                        "securitySettings": {"softDeleteSettings": {"state": "On", "retentionDurationInDays": 14}},
                    },
                })),
            )
            .await;
        assert_eq!(s, 201, "{b}");
        let aso = hdr(&h, "azure-asyncoperation");
        assert!(aso.starts_with(&self.sb.endpoint()), "{aso}");
        assert!(aso.contains("/operationStatus/"), "{aso}");
        assert_eq!(hdr(&h, "retry-after"), "", "Azure sends none (FACTS §9)");
        let (_, fin) = self.poll_status(&aso).await;
        assert_eq!(fin["status"], "Succeeded");
        let (s, _, b) = self.call("GET", &self.vault(name), DPP, None).await;
        assert_eq!(s, 200);
        assert_eq!(b["properties"]["provisioningState"], "Succeeded");
        b
    }
    async fn create_policy(
        &self,
        vault: &str,
        name: &str,
        every: &str,
        keep: &str,
    ) -> (u16, Value) {
        let (s, _, b) = self
            .call(
                "PUT",
                &format!("{}/backupPolicies/{name}", self.vault(vault)),
                DPP,
                Some(policy(every, keep)),
            )
            .await;
        (s, b)
    }
    async fn snapshot_rg(&self) -> String {
        let (s, _, b) = self
            .call(
                "PUT",
                &self.rg_path("rg-snapshots-weu"),
                RG,
                Some(json!({"location": "westeurope"})),
            )
            .await;
        assert!(s == 201 || s == 200, "{b}");
        self.rg_path("rg-snapshots-weu")
    }
    async fn assign(&self, scope: &str, role: &str, principal: &str) -> (u16, Value) {
        let name = uuid::Uuid::new_v4();
        let (s, _, b) = self
            .call(
                "PUT",
                &format!("{scope}/providers/Microsoft.Authorization/roleAssignments/{name}"),
                AUTH,
                Some(json!({"properties": {
                    "roleDefinitionId": format!("/subscriptions/{}/providers/Microsoft.Authorization/roleDefinitions/{role}", self.sub),
                    "principalId": principal,
                    "principalType": "ServicePrincipal",
                }})),
            )
            .await;
        (s, b)
    }
    async fn validate(&self, vault: &str, bi: &Value) -> (Vec<String>, Value, Value) {
        let (s, h, b) = self
            .call(
                "POST",
                &format!("{}/validateForBackup", self.vault(vault)),
                DPP,
                Some(json!({"backupInstance": bi["properties"]})),
            )
            .await;
        assert_eq!(s, 202, "{b}");
        // Status under the vault, result in the vault's region (DPP create_backup_delete_disk #1).
        let aso = hdr(&h, "azure-asyncoperation");
        assert!(
            aso.contains(&format!("{}/operationStatus/", self.vault(vault))),
            "{aso}"
        );
        let loc = hdr(&h, "location");
        assert!(
            loc.contains("/locations/westeurope/operationResults/"),
            "{loc}"
        );
        let (seen, fin) = self.poll_status(&aso).await;
        let (_, result) = self.poll_location(&loc).await;
        (seen, fin, result)
    }
    async fn instance_status(&self, vault: &str, name: &str) -> Value {
        let (s, _, b) = self
            .call(
                "GET",
                &format!("{}/backupInstances/{name}", self.vault(vault)),
                DPP,
                None,
            )
            .await;
        assert_eq!(s, 200, "{b}");
        b["properties"].clone()
    }
    /// Read the instance until configuring has ended (about a minute of Azure time after its
    /// PUT, whose operation ends within a second); its properties then.
    async fn configured(&self, vault: &str, name: &str) -> Value {
        for _ in 0..400 {
            let p = self.instance_status(vault, name).await;
            if p["currentProtectionState"] != "ConfiguringProtection" {
                return p;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!("{name} was never configured");
    }
    async fn points(&self, vault: &str, name: &str) -> Vec<Value> {
        let (s, _, b) = self
            .call(
                "GET",
                &format!(
                    "{}/backupInstances/{name}/recoveryPoints",
                    self.vault(vault)
                ),
                DPP,
                None,
            )
            .await;
        assert_eq!(s, 200, "{b}");
        b["value"].as_array().unwrap().clone()
    }
}

fn policy(every: &str, keep: &str) -> Value {
    json!({"properties": {
        "objectType": "BackupPolicy",
        "datasourceTypes": ["Microsoft.Compute/disks"],
        "policyRules": [
            {"objectType": "AzureBackupRule", "name": "BackupHourly",
             "backupParameters": {"objectType": "AzureBackupParams", "backupType": "Incremental"},
             "dataStore": {"objectType": "DataStoreInfoBase", "dataStoreType": "OperationalStore"},
             "trigger": {"objectType": "ScheduleBasedTriggerContext",
                         "schedule": {"repeatingTimeIntervals": [format!("R/2026-01-01T00:00:00+00:00/{every}")]},
                         "taggingCriteria": [{"isDefault": true, "taggingPriority": 99, "tagInfo": {"tagName": "Default"}}]}},
            {"objectType": "AzureRetentionRule", "name": "Default", "isDefault": true,
             "lifecycles": [{"deleteAfter": {"objectType": "AbsoluteDeleteOption", "duration": keep},
                             "sourceDataStore": {"objectType": "DataStoreInfoBase", "dataStoreType": "OperationalStore"}}]},
        ],
    }})
}

fn instance(t: &T, vault: &str, disk: &str, policy: &str, snap_rg: &str) -> Value {
    json!({"properties": {
        "objectType": "BackupInstance",
        "friendlyName": disk,
        "dataSourceInfo": {
            "datasourceType": "Microsoft.Compute/disks", "objectType": "Datasource",
            "resourceID": t.disk(disk), "resourceLocation": "westeurope", "resourceName": disk,
            "resourceType": "Microsoft.Compute/disks", "resourceUri": t.disk(disk),
        },
        "policyInfo": {
            "policyId": format!("{}/backupPolicies/{policy}", t.vault(vault)),
            "policyParameters": {"dataStoreParametersList": [{
                "objectType": "AzureOperationalStoreParameters", "dataStoreType": "OperationalStore",
                "resourceGroupId": snap_rg,
            }]},
        },
    }})
}

/// PUT a backup instance and wait for its operation; returns the final operation status.
/// Protect a disk and wait: the operation's final status (`Succeeded`, `Failed`) and body.
async fn protect(t: &T, vault: &str, name: &str, bi: &Value) -> (String, Value) {
    let path = format!("{}/backupInstances/{name}", t.vault(vault));
    let (s, h, b) = t.call("PUT", &path, DPP, Some(bi.clone())).await;
    assert!(s == 201 || s == 202, "{b}");
    if s == 201 {
        assert_eq!(
            b["properties"]["currentProtectionState"],
            "ConfiguringProtection"
        );
    }
    // As recorded (DPP create_backup_delete_disk #11): the status URL under the vault, and no
    // Location: the instance itself is the result.
    let aso = hdr(&h, "azure-asyncoperation");
    assert!(
        aso.contains(&format!("{}/operationStatus/", t.vault(vault))),
        "{aso}"
    );
    assert!(!h.contains_key("location"), "{h:?}");
    let (_, fin) = t.poll_status(&aso).await;
    (fin["status"].as_str().unwrap_or_default().to_string(), fin)
}

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

    // Protect: the PUT's operation succeeds while the instance is still configuring
    // (DPP create_backup_delete_disk #12–#13), then ConfiguringProtection → ProtectionConfigured.
    let (s, _) = protect(&t, "bv-weu", "shared-data-bi", &bi).await;
    assert_eq!(s, "Succeeded");
    let p = t.instance_status("bv-weu", "shared-data-bi").await;
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
    // Before the Contributor assignment there is no snapshot permission: the PUT's operation
    // succeeds, configuring ends in ProtectionError (what azurerm users meet).
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
            &json!("UserErrorMissingRequiredPermissions")
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
