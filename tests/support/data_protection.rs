//! The sandbox's Data Protection over raw HTTPS, for the sandbox Disk Backup stories: a token
//! client, calls with an api-version, polling, and the bodies a test sends (vaults, policies,
//! instances, role assignments).

use azprotect::sandbox::{Sandbox, SandboxOptions};
use serde_json::{json, Value};
use std::time::Duration;

pub const DPP: &str = "2026-03-01";
pub const AUTH: &str = "2022-04-01";
pub const DISK: &str = "2026-03-02";
pub const RG: &str = "2021-04-01";
pub const DISK_BACKUP_READER: &str = "3e5e47e6-65f7-47ef-90b5-e5dd4d455f24";
pub const SNAPSHOT_CONTRIBUTOR: &str = "7efff54f-a5b4-42b5-a1c5-5411624893ce";
pub const DISK_RESTORE_OPERATOR: &str = "b50d9833-a0cb-478e-945f-707fcc997c13";

pub struct T {
    pub sb: Sandbox,
    pub http: reqwest::Client,
    pub token: String,
    pub sub: String,
}

pub type Resp = (u16, reqwest::header::HeaderMap, Value);

pub async fn start(time_scale: f64) -> T {
    start_with(SandboxOptions {
        time_scale,
        ..Default::default()
    })
    .await
}

pub async fn start_with(opts: SandboxOptions) -> T {
    let sb = Sandbox::start(opts).await.expect("sandbox starts");
    let (http, token) = super::raw::token_client(&sb).await;
    let sub = sb.credentials().subscription_id;
    T {
        token,
        sub,
        sb,
        http,
    }
}

pub fn hdr(h: &reqwest::header::HeaderMap, k: &str) -> String {
    super::raw::header(h, k)
}

pub fn code(b: &Value) -> &str {
    b["error"]["code"].as_str().unwrap_or("")
}

impl T {
    pub async fn call(&self, method: &str, path: &str, api: &str, body: Option<Value>) -> Resp {
        let url = if path.starts_with("https://") {
            path.to_string()
        } else {
            let sep = if path.contains('?') { '&' } else { '?' };
            format!("{}{path}{sep}api-version={api}", self.sb.endpoint())
        };
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        super::raw::call(&self.http, &self.token, m, &url, body).await
    }
    pub fn rg_path(&self, rg: &str) -> String {
        format!("/subscriptions/{}/resourceGroups/{rg}", self.sub)
    }
    pub fn vault(&self, name: &str) -> String {
        format!(
            "{}/providers/Microsoft.DataProtection/backupVaults/{name}",
            self.rg_path("rg-app")
        )
    }
    pub fn disk(&self, name: &str) -> String {
        format!(
            "{}/providers/Microsoft.Compute/disks/{name}",
            self.rg_path("rg-app")
        )
    }
    /// Poll an `Azure-AsyncOperation` URL until it is no longer `Inprogress`; returns the
    /// statuses seen.
    pub async fn poll_status(&self, url: &str) -> (Vec<String>, Value) {
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
    pub async fn poll_location(&self, url: &str) -> (u16, Value) {
        for _ in 0..200 {
            let (s, _, b) = self.call("GET", url, "", None).await;
            if s != 202 {
                return (s, b);
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!("operation never finished: {url}");
    }
    pub async fn create_vault(&self, name: &str) -> Value {
        self.create_vault_with(name, json!({"type": "SystemAssigned"}))
            .await
    }
    /// Create a vault with the `identity` given and wait for it; its GET then.
    pub async fn create_vault_with(&self, name: &str, identity: Value) -> Value {
        let (s, h, b) = self
            .call(
                "PUT",
                &self.vault(name),
                DPP,
                Some(json!({
                    "location": "westeurope",
                    "identity": identity,
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
    pub async fn create_policy(
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
    pub async fn snapshot_rg(&self) -> String {
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
    pub async fn assign(&self, scope: &str, role: &str, principal: &str) -> (u16, Value) {
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
    pub async fn validate(&self, vault: &str, bi: &Value) -> (Vec<String>, Value, Value) {
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
    pub async fn instance_status(&self, vault: &str, name: &str) -> Value {
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
    pub async fn configured(&self, vault: &str, name: &str) -> Value {
        for _ in 0..400 {
            let p = self.instance_status(vault, name).await;
            if p["currentProtectionState"] != "ConfiguringProtection" {
                return p;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!("{name} was never configured");
    }
    pub async fn points(&self, vault: &str, name: &str) -> Vec<Value> {
        (self.listed(vault, &format!("backupInstances/{name}/recoveryPoints"))).await
    }
    /// The vault's list `collection` (`backupInstances`, `backupJobs`, …): answered 200, its
    /// `value`.
    pub async fn listed(&self, vault: &str, collection: &str) -> Vec<Value> {
        let path = format!("{}/{collection}", self.vault(vault));
        let (s, _, b) = self.call("GET", &path, DPP, None).await;
        assert_eq!(s, 200, "{b}");
        b["value"].as_array().unwrap().clone()
    }
}

pub fn policy(every: &str, keep: &str) -> Value {
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

/// A user-assigned identity's id in the test's subscription (the sandbox does not check that it
/// exists).
pub fn uami(t: &T, name: &str) -> String {
    format!(
        "{}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}",
        t.rg_path("rg-app")
    )
}

pub fn instance(t: &T, vault: &str, disk: &str, policy: &str, snap_rg: &str) -> Value {
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
pub async fn protect(t: &T, vault: &str, name: &str, bi: &Value) -> (String, Value) {
    let path = format!("{}/backupInstances/{name}", t.vault(vault));
    let (s, h, b) = t.call("PUT", &path, DPP, Some(bi.clone())).await;
    assert!(s == 201 || s == 202, "{b}");
    if s == 201 {
        assert_eq!(
            b["properties"]["currentProtectionState"],
            "ConfiguringProtection"
        );
    }
    // As recorded: the status URL under the vault; a creation has no Location, the instance
    // itself is the result (DPP create_backup_delete_disk #11); an update's Location is under
    // the instance (DPP update_policy, 2026).
    let aso = hdr(&h, "azure-asyncoperation");
    assert!(
        aso.contains(&format!("{}/operationStatus/", t.vault(vault))),
        "{aso}"
    );
    if s == 201 {
        assert!(!h.contains_key("location"), "{h:?}");
    } else {
        let location = hdr(&h, "location");
        assert!(
            location.contains(&format!("{path}/operationResults/")),
            "{location}"
        );
        let (code, _) = t.poll_location(&location).await;
        assert!(code == 200 || code == 204, "{location}: {code}");
    }
    let (_, fin) = t.poll_status(&aso).await;
    (fin["status"].as_str().unwrap_or_default().to_string(), fin)
}
