//! Black-box tests of the sandbox over real HTTPS with reqwest.

use std::time::Duration;

mod support;

use azprotect::sandbox::{Sandbox, SandboxOptions};
use serde_json::{json, Value};

struct T {
    sb: Sandbox,
    http: reqwest::Client,
    token: String,
    sub: String,
}

async fn start(opts: SandboxOptions) -> T {
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

type Resp = (u16, reqwest::header::HeaderMap, Value);

impl T {
    fn url(&self, path: &str, api: &str) -> String {
        let sep = if path.contains('?') { '&' } else { '?' };
        format!("{}{path}{sep}api-version={api}", self.sb.endpoint())
    }
    async fn call(&self, method: reqwest::Method, url: &str, body: Option<Value>) -> Resp {
        support::raw::call(&self.http, &self.token, method, url, body).await
    }
    async fn get(&self, path: &str, api: &str) -> Resp {
        self.call(reqwest::Method::GET, &self.url(path, api), None)
            .await
    }
    async fn put(&self, path: &str, api: &str, body: Value) -> Resp {
        self.call(reqwest::Method::PUT, &self.url(path, api), Some(body))
            .await
    }
    async fn delete(&self, path: &str, api: &str) -> Resp {
        self.call(reqwest::Method::DELETE, &self.url(path, api), None)
            .await
    }
    async fn patch(&self, path: &str, api: &str, body: Value) -> Resp {
        self.call(reqwest::Method::PATCH, &self.url(path, api), Some(body))
            .await
    }
    fn vault(&self, rg: &str, v: &str) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{rg}/providers/Microsoft.RecoveryServices/vaults/{v}",
            self.sub
        )
    }
    async fn create_vault(&self, rg: &str, v: &str, location: &str) -> Value {
        let (s, _, b) = self
            .put(
                &self.vault(rg, v),
                "2026-02-01",
                json!({"location": location, "sku": {"name": "Standard"}, "properties": {"publicNetworkAccess": "Enabled"}}),
            )
            .await;
        assert_eq!(s, 201, "{b}");
        b
    }
    /// Poll an absolute URL until it stops answering 202.
    async fn poll(&self, url: &str) -> (u16, Value) {
        for _ in 0..200 {
            let (s, h, b) = self.call(reqwest::Method::GET, url, None).await;
            if s != 202 {
                return (s, b);
            }
            // Azure names no delay (FACTS §9): poll at the sandbox's pace.
            assert!(h.get("retry-after").is_none(), "{url}");
            tokio::time::sleep(self.sb.poll_interval()).await;
        }
        panic!("operation did not finish");
    }
}

/// The CA file the sandbox's clients are pointed at (`AZPROTECT_CA_CERT`).
fn ca_file_of(sb: &azprotect::sandbox::Sandbox) -> std::path::PathBuf {
    let vars = sb.env_vars();
    let (_, path) = (vars.iter())
        .find(|(k, _)| k == "AZPROTECT_CA_CERT")
        .unwrap();
    std::path::PathBuf::from(path)
}

fn hdr(h: &reqwest::header::HeaderMap, k: &str) -> String {
    support::raw::header(h, k)
}

fn code(b: &Value) -> &str {
    b["error"]["code"].as_str().unwrap_or("")
}

fn fast() -> SandboxOptions {
    SandboxOptions {
        time_scale: 0.002,
        ..Default::default()
    }
}

#[tokio::test]
async fn auth_errors() {
    let t = start(fast()).await;
    let c = t.sb.credentials();
    let token_url = format!("{}/{}/oauth2/v2.0/token", t.sb.endpoint(), c.tenant_id);
    let r = t
        .http
        .post(&token_url)
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", c.client_id.as_str()),
            ("client_secret", "wrong"),
            ("scope", "https://management.azure.com/.default"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["error"], "invalid_client");
    assert_eq!(b["error_codes"][0], 7000215);
    assert!(b["error_description"]
        .as_str()
        .unwrap()
        .starts_with("AADSTS7000215: Invalid client secret provided"));

    // No token / bad token on ARM.
    let url = t.url(
        &format!("/subscriptions/{}/resourcegroups", t.sub),
        "2021-04-01",
    );
    let r = t.http.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert!(hdr(r.headers(), "www-authenticate").contains("error=\"invalid_token\""));
    let b: Value = r.json().await.unwrap();
    assert_eq!(code(&b), "AuthenticationFailed");
    let r = t
        .http
        .get(&url)
        .bearer_auth(format!("{}x", t.token))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let b: Value = r.json().await.unwrap();
    assert_eq!(code(&b), "InvalidAuthenticationToken");

    // Assertion flow.
    use base64::Engine;
    let e = |v: Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let assertion = format!(
        "{}.{}.sig",
        e(json!({"alg": "RS256"})),
        e(json!({"aud": "api://AzureADTokenExchange", "exp": 4_000_000_000u64}))
    );
    let r = t
        .http
        .post(&token_url)
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", c.client_id.as_str()),
            ("client_assertion", assertion.as_str()),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("scope", "https://management.azure.com/.default"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = t
        .http
        .get(format!(
            "{}/{}/v2.0/.well-known/openid-configuration",
            t.sb.endpoint(),
            c.tenant_id
        ))
        .send()
        .await
        .unwrap();
    let b: Value = r.json().await.unwrap();
    assert!(b["token_endpoint"]
        .as_str()
        .unwrap()
        .ends_with("/oauth2/v2.0/token"));
}

#[tokio::test]
async fn conventions_and_paging() {
    let t = start(fast()).await;
    let path = format!("/subscriptions/{}/resourcegroups", t.sub);
    let r = t
        .http
        .get(format!("{}{path}", t.sb.endpoint()))
        .bearer_auth(&t.token)
        .header("x-ms-client-request-id", "abc")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(hdr(r.headers(), "x-ms-client-request-id"), "abc");
    assert!(!hdr(r.headers(), "x-ms-request-id").is_empty());
    assert!(!hdr(r.headers(), "x-ms-correlation-request-id").is_empty());
    assert!(hdr(r.headers(), "x-ms-routing-request-id").starts_with("WESTEUROPE:"));
    let b: Value = r.json().await.unwrap();
    assert_eq!(code(&b), "MissingApiVersionParameter");
    let (s, _, b) = t.get(&path, "1999-01-01").await;
    assert_eq!((s, code(&b)), (400, "InvalidApiVersionParameter"));

    // Paging with nextLink; case-insensitive segment keys.
    t.sb.set_page_size(2);
    let mut url = t.url(
        &format!("/subscriptions/{}/resourceGroups", t.sub),
        "2021-04-01",
    );
    let mut names = vec![];
    let mut pages = 0;
    loop {
        let (s, _, b) = t.call(reqwest::Method::GET, &url, None).await;
        assert_eq!(s, 200);
        pages += 1;
        names.extend(
            b["value"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v["name"].as_str().unwrap().to_string()),
        );
        match b["nextLink"].as_str() {
            Some(n) => url = n.to_string(),
            None => break,
        }
    }
    assert_eq!((names.len(), pages), (5, 3));

    // VM body and missing resources.
    let vms = format!(
        "/subscriptions/{}/resourceGroups/RG-APP/providers/Microsoft.Compute/virtualMachines",
        t.sub
    );
    let (s, _, vm) = t.get(&format!("{vms}/app-01"), "2025-11-01").await;
    assert_eq!(s, 200);
    assert_eq!(vm["name"], "app-01");
    let sp = &vm["properties"]["storageProfile"];
    assert_eq!(sp["osDisk"]["name"], "app-01-osdisk");
    assert_eq!(sp["dataDisks"][1]["name"], "app-01-data-1");
    assert_eq!(vm["zones"][0], "1");
    let (s, _, b) = t.get(&format!("{vms}/nope"), "2025-11-01").await;
    assert_eq!((s, code(&b)), (404, "ResourceNotFound"));
    let (s, _, b) = t
        .get(
            &format!(
                "/subscriptions/{}/resourceGroups/nope/providers/Microsoft.Compute/virtualMachines/x",
                t.sub
            ),
            "2025-11-01",
        )
        .await;
    assert_eq!((s, code(&b)), (404, "ResourceGroupNotFound"));
    let (s, _, b) = t
        .get(
            &format!(
                "/subscriptions/{}/resourceGroups/rg-app/providers/Microsoft.Compute/disks/shared-data",
                t.sub
            ),
            "2026-03-02",
        )
        .await;
    assert_eq!(s, 200, "{b}");

    // Resource group create/delete LRO.
    let rg = format!("/subscriptions/{}/resourcegroups/rg-new", t.sub);
    let (s, _, _) = t
        .put(
            &rg,
            "2021-04-01",
            json!({"location": "westeurope", "tags": {"a": "b"}}),
        )
        .await;
    assert_eq!(s, 201);
    let (s, h, _) = t.delete(&rg, "2021-04-01").await;
    assert_eq!(s, 202);
    let (s, _) = t.poll(&hdr(&h, "location")).await;
    assert_eq!(s, 200);
    let (s, _, _) = t.get(&rg, "2021-04-01").await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn vault_policies_and_protection_flow() {
    let t = start(fast()).await;
    let v = t.vault("rg-app", "rsv-weu");
    let body = t.create_vault("rg-app", "rsv-weu", "westeurope").await;
    assert_eq!(body["properties"]["provisioningState"], "Succeeded");
    assert_eq!(
        body["properties"]["redundancySettings"]["standardTierStorageRedundancy"],
        "GeoRedundant"
    );

    // Built-in policies, with the IaaS filter.
    let (s, _, b) = t
        .get(
            &format!("{v}/backupPolicies?$filter=backupManagementType eq 'AzureIaasVM'"),
            "2026-01-01",
        )
        .await;
    assert_eq!(s, 200);
    let names: Vec<&str> = b["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["DefaultPolicy", "EnhancedPolicy"]);
    let (s, _, _) = t
        .get(&format!("{v}/backupPolicies/HourlyLogBackup"), "2026-10-01")
        .await;
    assert_eq!(s, 200);

    // Policy PUT → 200 with the policy at once (azure-cli backup test_backup_policy #9).
    let t2 = "2026-01-24T02:00:00Z";
    let policy = json!({"properties": {"backupManagementType": "AzureIaasVM", "instantRpRetentionRangeInDays": 2,
        "schedulePolicy": {"schedulePolicyType": "SimpleSchedulePolicy", "scheduleRunFrequency": "Daily", "scheduleRunTimes": [t2]},
        "retentionPolicy": {"retentionPolicyType": "LongTermRetentionPolicy", "dailySchedule": {"retentionTimes": [t2], "retentionDuration": {"count": 14, "durationType": "Days"}}},
        "timeZone": "UTC"}});
    let (s, h, b) = t
        .put(
            &format!("{v}/backupPolicies/gold"),
            "2026-01-01",
            policy.clone(),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(hdr(&h, "azure-asyncoperation"), "", "nothing to poll");
    assert_eq!(b["name"], "gold");
    assert_eq!(b["properties"]["protectedItemsCount"], 0);
    let mut bad = policy.clone();
    bad["properties"]["retentionPolicy"]["dailySchedule"]["retentionDuration"]["count"] = json!(3);
    let (s, _, b) = t
        .put(&format!("{v}/backupPolicies/bad"), "2026-01-01", bad)
        .await;
    assert_eq!((s, code(&b)), (400, "BMSUserErrorInvalidPolicyInput"));

    // Protect app-01.
    let item = format!("{v}/backupFabrics/Azure/protectionContainers/IaasVMContainer;iaasvmcontainerv2;rg-app;app-01/protectedItems/VM;iaasvmcontainerv2;rg-app;app-01");
    let vm_id = format!(
        "/subscriptions/{}/resourceGroups/rg-app/providers/Microsoft.Compute/virtualMachines/app-01",
        t.sub
    );
    let enable = json!({"properties": {"protectedItemType": "Microsoft.Compute/virtualMachines", "sourceResourceId": vm_id, "policyId": format!("{v}/backupPolicies/gold"),
        "extendedProperties": {"diskExclusionProperties": {"diskLunList": [1], "isInclusionList": false}}}});
    let (s, h, _) = t.put(&item, "2026-01-01", enable.clone()).await;
    assert_eq!(s, 202);
    let loc = hdr(&h, "location");
    let aao = hdr(&h, "azure-asyncoperation");
    // As recorded (azure-cli backup test_backup_protection.yaml): /subscriptions/ in lower case
    // and the request's api-version.
    let expect = format!("{}/subscriptions/{}/resourceGroups/rg-app/providers/Microsoft.RecoveryServices/vaults/rsv-weu/backupFabrics/Azure/protectionContainers/iaasvmcontainer;iaasvmcontainerv2;rg-app;app-01/protectedItems/vm;iaasvmcontainerv2;rg-app;app-01/", t.sb.endpoint(), t.sub);
    assert!(
        loc.starts_with(&format!("{expect}operationResults/"))
            && loc.ends_with("?api-version=2026-01-01"),
        "{loc}"
    );
    assert!(
        aao.starts_with(&format!("{expect}operationsStatus/"))
            && aao.ends_with("?api-version=2026-01-01"),
        "{aao}"
    );
    assert_eq!(hdr(&h, "retry-after"), "", "Azure sends none (FACTS §9)");
    let (s, _, b) = t.get(&item, "2026-01-01").await;
    assert_eq!(s, 200);
    assert_eq!(b["properties"]["protectionState"], "IRPending");
    assert_eq!(
        b["properties"]["extendedProperties"]["diskExclusionProperties"]["diskLunList"][0],
        1
    );
    let (s, b) = t.poll(&loc).await;
    assert_eq!(s, 200);
    // Azure names the item `VM;…` whatever the casing it was created at (test_backup_protection
    // #41 PUT `vm;…`, #54 lists `VM;…`).
    assert_eq!(b["name"], "VM;iaasvmcontainerv2;rg-app;app-01");
    let (_, _, st) = t.call(reqwest::Method::GET, &aao, None).await;
    assert_eq!(st["status"], "Succeeded");
    assert_eq!(
        st["properties"]["objectType"],
        "OperationStatusJobExtendedInfo"
    );
    let job = st["properties"]["jobId"].as_str().unwrap().to_string();
    let (s, _, j) = t.get(&format!("{v}/backupJobs/{job}"), "2026-01-01").await;
    assert_eq!(s, 200);
    assert_eq!(j["properties"]["operation"], "ConfigureBackup");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (_, _, b) = t.get(&item, "2026-01-01").await;
    assert_eq!(b["properties"]["protectionState"], "Protected");
    assert_eq!(b["properties"]["lastBackupStatus"], "Completed");

    // On-demand backup.
    let (s, h, _) = t
        .call(
            reqwest::Method::POST,
            &t.url(&format!("{item}/backup"), "2026-01-01"),
            Some(json!({"properties": {"objectType": "IaasVMBackupRequest"}})),
        )
        .await;
    assert_eq!(s, 202);
    assert!(hdr(&h, "azure-asyncoperation").contains("/operationsStatus/"));
    let (s, _) = t.poll(&hdr(&h, "location")).await;
    assert_eq!(s, 204);

    // backupStatus, list.
    let status_url = t.url(
        &format!(
            "/subscriptions/{}/providers/Microsoft.RecoveryServices/locations/westeurope/backupStatus",
            t.sub
        ),
        "2026-01-01",
    );
    let (s, _, b) = t
        .call(
            reqwest::Method::POST,
            &status_url,
            Some(json!({"resourceId": vm_id, "resourceType": "VM"})),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(b["protectionStatus"], "Protected");
    assert_eq!(b["policyName"], "gold");
    let (_, _, b) = t
        .get(
            &format!("{v}/backupProtectedItems?$filter=backupManagementType eq 'AzureIaasVM' and itemType eq 'VM'"),
            "2026-01-01",
        )
        .await;
    assert_eq!(b["value"].as_array().unwrap().len(), 1);

    // Policy in use cannot be deleted; storage redundancy locked.
    let (s, _, _) = t
        .delete(&format!("{v}/backupPolicies/gold"), "2026-01-01")
        .await;
    assert_eq!(s, 400);
    // A policy its items use is rewritten as the spec's example answers (202, to poll; no
    // recording shows it); an unused one deletes at once (test_backup_policy #84).
    let (s, h, _) = t
        .put(
            &format!("{v}/backupPolicies/gold"),
            "2026-01-01",
            policy.clone(),
        )
        .await;
    assert_eq!(s, 202);
    assert!(hdr(&h, "azure-asyncoperation").contains("/backupPolicies/gold/operations/"));
    let (s, b) = t.poll(&hdr(&h, "location")).await;
    assert_eq!(s, 200, "{b}");
    let (s, _, _) = t
        .put(
            &format!("{v}/backupPolicies/spare"),
            "2026-01-01",
            policy.clone(),
        )
        .await;
    assert_eq!(s, 200);
    let (s, h, b) = t
        .delete(&format!("{v}/backupPolicies/spare"), "2026-01-01")
        .await;
    assert_eq!((s, &b), (200, &Value::Null));
    assert_eq!(hdr(&h, "location"), "");
    let (s, _, b) = t
        .patch(
            &v,
            "2026-02-01",
            json!({"properties": {"redundancySettings": {"standardTierStorageRedundancy": "LocallyRedundant"}}}),
        )
        .await;
    assert_eq!((s, code(&b)), (400, "StorageModelModifyError"));

    let (s, _, b) = t.delete(&v, "2026-02-01").await;
    assert_eq!((s, code(&b)), (400, "ServiceResourceNotEmpty"));

    // Another vault cannot protect the same VM; a VM in another region is refused.
    let v2 = t.vault("rg-web", "rsv-weu-2");
    t.create_vault("rg-web", "rsv-weu-2", "westeurope").await;
    let mut again = enable.clone();
    again["properties"]["policyId"] = json!(format!("{v2}/backupPolicies/DefaultPolicy"));
    let item2 = format!("{v2}/backupFabrics/Azure/protectionContainers/iaasvmcontainer;iaasvmcontainerv2;rg-app;app-01/protectedItems/vm;iaasvmcontainerv2;rg-app;app-01");
    let (s, _, _) = t.put(&item2, "2026-01-01", again).await;
    assert_eq!(s, 400);
    let other = format!("{v}/backupFabrics/Azure/protectionContainers/iaasvmcontainer;iaasvmcontainerv2;rg-dr-neu;batch-01/protectedItems/vm;iaasvmcontainerv2;rg-dr-neu;batch-01");
    let batch = format!(
        "/subscriptions/{}/resourceGroups/rg-dr-neu/providers/Microsoft.Compute/virtualMachines/batch-01",
        t.sub
    );
    let (s, _, b) = t
        .put(
            &other,
            "2026-01-01",
            json!({"properties": {"protectedItemType": "Microsoft.Compute/virtualMachines", "sourceResourceId": batch, "policyId": format!("{v}/backupPolicies/DefaultPolicy")}}),
        )
        .await;
    assert_eq!(
        (s, code(&b)),
        (400, "BMSUserErrorContainerLocationMismatch")
    );

    // Stop, then delete with soft delete; the item stays listed; vault delete refused.
    let (s, h, _) = t
        .put(
            &item,
            "2026-01-01",
            json!({"properties": {"protectedItemType": "Microsoft.Compute/virtualMachines", "sourceResourceId": vm_id, "protectionState": "ProtectionStopped"}}),
        )
        .await;
    assert_eq!(s, 202);
    t.poll(&hdr(&h, "location")).await;
    let (s, h, _) = t.delete(&item, "2026-01-01").await;
    assert_eq!(s, 202);
    assert!(hdr(&h, "location").contains("/vaults/rsv-weu/backupOperationResults/"));
    assert!(hdr(&h, "azure-asyncoperation").contains("/vaults/rsv-weu/backupOperations/"));
    let (s, _) = t.poll(&hdr(&h, "location")).await;
    assert_eq!(s, 204);
    let (_, _, b) = t.get(&item, "2026-01-01").await;
    assert_eq!(b["properties"]["isScheduledForDeferredDelete"], true);
    assert_eq!(b["properties"]["protectionState"], "ProtectionStopped");
    assert!(b["properties"]["deferredDeleteTimeInUTC"].is_string());
    let (s, _, _) = t.put(&item, "2026-01-01", enable.clone()).await;
    assert_eq!(s, 400, "re-enable without undelete");
    let (s, _, b) = t.delete(&v, "2026-02-01").await;
    assert_eq!(
        (s, code(&b)),
        (400, "ServiceResourceNotEmptyWithBackendMessage")
    );
    let (s, h, _) = t
        .put(
            &item,
            "2026-01-01",
            json!({"properties": {"isRehydrate": true}}),
        )
        .await;
    assert_eq!(s, 202);
    let (_, b) = t.poll(&hdr(&h, "location")).await;
    // Azure leaves the flag out unless it is true (azure-cli backup recordings: 133 of 135 items).
    assert!(
        b["properties"]
            .get("isScheduledForDeferredDelete")
            .is_none(),
        "{b}"
    );
    assert_eq!(b["properties"]["protectionState"], "ProtectionStopped");
}

#[tokio::test]
async fn vault_rules() {
    let t = start(fast()).await;
    let v = t.vault("rg-app", "rsv-rules");
    let (s, _, b) = t
        .put(
            &v,
            "2026-02-01",
            json!({"location": "westeurope", "sku": {"name": "Standard"}, "properties": {"securitySettings": {"immutabilitySettings": {"state": "Locked"}}}}),
        )
        .await;
    assert_eq!(s, 400, "{b}");
    t.create_vault("rg-app", "rsv-rules", "westeurope").await;
    let patch = |p: Value| t.patch(&v, "2026-02-01", json!({"properties": p}));
    let (s, _, _) = patch(json!({"redundancySettings": {"standardTierStorageRedundancy": "LocallyRedundant", "crossRegionRestore": "Enabled"}})).await;
    assert_eq!(s, 400, "CRR needs GRS");
    let (s, _, _) = patch(json!({"redundancySettings": {"crossRegionRestore": "Enabled"}})).await;
    assert_eq!(s, 200);
    let (s, _, _) = patch(json!({"redundancySettings": {"crossRegionRestore": "Disabled"}})).await;
    assert_eq!(s, 400, "CRR cannot be turned off");
    // Soft delete changes through backupconfig/vaultconfig (FACTS §3); on the vault resource
    // they answer 200 and change nothing (azure-rest-api-specs#34218).
    let config = format!("{v}/backupconfig/vaultconfig");
    let set = |p: Value| t.patch(&config, "2026-01-01", json!({"properties": p}));
    let (s, _, b) = set(json!({"softDeleteFeatureState": "AlwaysON"})).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["properties"]["isSoftDeleteFeatureStateEditable"], false);
    let (s, _, b) =
        patch(json!({"securitySettings": {"softDeleteSettings": {"softDeleteState": "Disabled"}}}))
            .await;
    assert_eq!(s, 200, "{b}");
    let (_, _, b) = t.get(&config, "2026-01-01").await;
    assert_eq!(b["properties"]["softDeleteFeatureState"], "AlwaysON");
    let (s, _, b) = set(json!({"softDeleteFeatureState": "Disabled"})).await;
    assert_eq!((s, code(&b)), (400, "BMSUserErrorSoftDeleteStateAlwaysOn"));
    let (s, _, _) = set(json!({"softDeleteRetentionPeriodInDays": 200})).await;
    assert_eq!(s, 400);
    let (s, _, _) =
        patch(json!({"securitySettings": {"immutabilitySettings": {"state": "Locked"}}})).await;
    assert_eq!(s, 400, "Disabled → Locked directly");
    // Immutable (Unlocked) vault: retention cannot be reduced.
    let (s, _, _) =
        patch(json!({"securitySettings": {"immutabilitySettings": {"state": "Unlocked"}}})).await;
    assert_eq!(s, 200);
    let tm = "2026-01-24T02:00:00Z";
    let pol = |days: i64| {
        json!({"properties": {"backupManagementType": "AzureIaasVM",
        "schedulePolicy": {"schedulePolicyType": "SimpleSchedulePolicy", "scheduleRunFrequency": "Daily", "scheduleRunTimes": [tm]},
        "retentionPolicy": {"retentionPolicyType": "LongTermRetentionPolicy", "dailySchedule": {"retentionTimes": [tm], "retentionDuration": {"count": days, "durationType": "Days"}}}}})
    };
    let (s, _, _) = t
        .put(&format!("{v}/backupPolicies/p"), "2026-01-01", pol(30))
        .await;
    assert_eq!(s, 200);
    let (s, _, b) = t
        .put(&format!("{v}/backupPolicies/p"), "2026-01-01", pol(10))
        .await;
    assert_eq!(
        (s, code(&b)),
        (400, "UserErrorRetentionReductionNotAllowed")
    );

    // Inventory resources of other providers are readable.
    let (s, _, b) = t
        .get(
            &format!(
                "/subscriptions/{}/resourceGroups/rg-app/providers/Microsoft.Network/virtualNetworks/vnet-app",
                t.sub
            ),
            "2024-05-01",
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        b["properties"]["addressSpace"]["addressPrefixes"][0],
        "10.1.0.0/16"
    );

    let (_, _, cfg) = t
        .get(&format!("{v}/backupconfig/vaultconfig"), "2026-01-01")
        .await;
    assert_eq!(cfg["properties"]["softDeleteFeatureState"], "AlwaysON");
    // Exactly the recorded keys (azure-cli/test_backup_protection.yaml #4 L215).
    let keys: Vec<&String> = cfg["properties"].as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "enhancedSecurityState",
            "softDeleteFeatureState",
            "softDeleteRetentionPeriodInDays",
            "isSoftDeleteFeatureStateEditable"
        ]
    );
    let (_, _, sc) = t
        .get(
            &format!("{v}/backupstorageconfig/vaultstorageconfig"),
            "2026-01-01",
        )
        .await;
    assert_eq!(sc["properties"]["storageTypeState"], "Unlocked");
    let (s, h, _) = t.delete(&v, "2026-02-01").await;
    assert_eq!(s, 202);
    let (_, _, st) = t
        .call(reqwest::Method::GET, &hdr(&h, "azure-asyncoperation"), None)
        .await;
    assert!(st["status"].is_string());
    let (s, _, _) = t.get(&v, "2026-02-01").await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn faults_are_deterministic() {
    async fn run() -> Vec<u16> {
        let t = start(SandboxOptions {
            faults: Some("seed=7,429=0.2,500=0.1,503=0.1,drop=0.1".into()),
            ..fast()
        })
        .await;
        let mut out = vec![];
        let url = t.url(
            &format!("/subscriptions/{}/resourcegroups", t.sub),
            "2021-04-01",
        );
        for _ in 0..30 {
            let r = t.http.get(&url).bearer_auth(&t.token).send().await;
            out.push(match r {
                Ok(r) => {
                    if r.status() == 429 {
                        assert!(r.headers().contains_key("retry-after"));
                    }
                    r.status().as_u16()
                }
                Err(_) => 0,
            });
        }
        out
    }
    let a = run().await;
    let b = run().await;
    assert_eq!(a, b);
    for c in [0, 200, 429, 500, 503] {
        assert!(a.contains(&c), "{c} missing from {a:?}");
    }
}

#[tokio::test]
async fn throttling_headers() {
    let t = start(SandboxOptions {
        throttle: true,
        ..fast()
    })
    .await;
    let (s, h, _) = t
        .get(
            &format!("/subscriptions/{}/resourcegroups", t.sub),
            "2021-04-01",
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(
        hdr(&h, "x-ms-ratelimit-remaining-subscription-reads"),
        "249"
    );
    assert_eq!(
        hdr(&h, "x-ms-ratelimit-remaining-subscription-global-reads"),
        "3749"
    );
    let rg = format!("/subscriptions/{}/resourcegroups/rg-x", t.sub);
    let mut last = 0;
    for _ in 0..260 {
        let (s, h, b) = t
            .put(&rg, "2021-04-01", json!({"location": "westeurope"}))
            .await;
        last = s;
        if s == 429 {
            assert_eq!(code(&b), "SubscriptionRequestsThrottled");
            assert!(!hdr(&h, "retry-after").is_empty());
            break;
        }
    }
    assert_eq!(last, 429);
}

#[tokio::test]
async fn state_persists_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let env = dir.path().join("sandbox.env");
    let log = dir.path().join("access.log");
    let opts = SandboxOptions {
        state: Some(state.clone()),
        env_file: Some(env.clone()),
        access_log: Some(log.clone()),
        ..fast()
    };
    let t = start(opts.clone()).await;
    t.create_vault("rg-app", "rsv-keep", "westeurope").await;
    let ca = t.sb.ca_cert_pem();
    let secret = t.sb.credentials().client_secret;
    let ca_file = ca_file_of(&t.sb);
    t.sb.shutdown().await;
    let text = std::fs::read_to_string(&env).unwrap();
    assert!(text.contains(&format!("AZPROTECT_CA_CERT={}", ca_file.display())));
    assert!(text.contains(&format!("AZURE_CLIENT_SECRET={secret}")));
    assert!(ca_file.exists(), "the CA file beside the env file stays");

    // Without an env file the CA file is the sandbox's own, in the temporary directory: it
    // goes when the sandbox does.
    let own = start(fast()).await;
    let own_ca = ca_file_of(&own.sb);
    assert_eq!(
        std::fs::read_to_string(&own_ca).unwrap(),
        own.sb.ca_cert_pem()
    );
    own.sb.shutdown().await;
    assert!(!own_ca.exists(), "{} left behind", own_ca.display());

    let line = std::fs::read_to_string(&log).unwrap();
    let first: Value = serde_json::from_str(line.lines().next().unwrap()).unwrap();
    assert_eq!(first["method"], "POST");
    assert!(first["request_id"].is_string() && first["duration_ms"].is_number());

    let t = start(opts).await;
    assert_eq!(t.sb.ca_cert_pem(), ca);
    let (s, _, subs) = t.get("/subscriptions", "2022-12-01").await;
    assert_eq!(s, 200);
    assert_eq!(subs["value"][0]["subscriptionId"], t.sub);
    let (s, _, b) = t.get(&t.vault("rg-app", "RSV-KEEP"), "2026-02-01").await;
    assert_eq!(s, 200);
    assert_eq!(b["name"], "rsv-keep");

    // init resets from an inventory; inventory errors are errors.
    let inv = dir.path().join("inv.yaml");
    std::fs::write(
        &inv,
        "subscriptions:\n  00000000-0000-0000-0000-000000000002:\n    resource_groups:\n      rg: {location: northeurope}\n",
    )
    .unwrap();
    azprotect::sandbox::init(&inv, &dir.path().join("s2.json")).unwrap();
    std::fs::write(&inv, "subscriptions: nope").unwrap();
    assert!(azprotect::sandbox::init(&inv, &dir.path().join("s3.json")).is_err());
}

#[tokio::test]
async fn a_vault_takes_at_most_50_policy_writes_a_day() {
    // Azure Backup: policy creations and edits through ARM are limited to 50 per vault in 24
    // hours (backup-azure-backup-faq). At this scale a day is 864 real seconds.
    let t = start(SandboxOptions::default()).await;
    let v = t.vault("rg-app", "rsv-limits");
    t.create_vault("rg-app", "rsv-limits", "westeurope").await;
    let at = "2026-01-24T02:00:00Z";
    let policy = json!({"properties": {"backupManagementType": "AzureIaasVM", "instantRpRetentionRangeInDays": 2,
        "schedulePolicy": {"schedulePolicyType": "SimpleSchedulePolicy", "scheduleRunFrequency": "Daily", "scheduleRunTimes": [at]},
        "retentionPolicy": {"retentionPolicyType": "LongTermRetentionPolicy", "dailySchedule": {"retentionTimes": [at], "retentionDuration": {"count": 14, "durationType": "Days"}}},
        "timeZone": "UTC"}});
    for n in 0..50 {
        let (s, _, b) = t
            .put(
                &format!("{v}/backupPolicies/p{n}"),
                "2026-01-01",
                policy.clone(),
            )
            .await;
        assert_eq!(s, 200, "policy {n}: {b}");
    }
    let (s, _, b) = t
        .put(&format!("{v}/backupPolicies/p50"), "2026-01-01", policy)
        .await;
    assert_eq!(
        (s, code(&b)),
        (400, "BMSUserErrorPolicyWriteLimitReached"),
        "{b}"
    );
}

#[tokio::test]
async fn arm_refuses_tags_azure_refuses_on_any_resource() {
    let t = start(fast()).await;
    let rg = format!("/subscriptions/{}/resourcegroups/rg-tags", t.sub);
    let (s, _, b) = t
        .put(
            &rg,
            "2021-04-01",
            json!({"location": "westeurope", "tags": {"cost/center": "42"}}),
        )
        .await;
    assert_eq!((s, code(&b)), (400, "InvalidTagNameCharacters"), "{b}");
    let (s, _, b) = t
        .put(
            &rg,
            "2021-04-01",
            json!({"location": "westeurope", "tags": {"owner": "v".repeat(257)}}),
        )
        .await;
    assert_eq!((s, code(&b)), (400, "InvalidTagValueLength"), "{b}");
    let many: serde_json::Map<String, Value> =
        (0..51).map(|i| (format!("t{i}"), json!("x"))).collect();
    let (s, _, b) = t
        .put(
            &rg,
            "2021-04-01",
            json!({"location": "westeurope", "tags": many}),
        )
        .await;
    assert_eq!((s, code(&b)), (400, "InvalidTagsCount"), "{b}");
    // 50 is fine, and nothing was created by the refusals before.
    let fifty: serde_json::Map<String, Value> =
        (0..50).map(|i| (format!("t{i}"), json!("x"))).collect();
    let (s, _, b) = t
        .put(
            &rg,
            "2021-04-01",
            json!({"location": "westeurope", "tags": fifty}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
}

#[tokio::test]
async fn a_body_too_large_to_read_is_refused_not_read_as_empty() {
    let t = start(fast()).await;
    let rg = format!("/subscriptions/{}/resourcegroups/rg-big", t.sub);
    let pad = "a".repeat(17 * 1024 * 1024);
    let (s, _, b) = t
        .put(
            &rg,
            "2021-04-01",
            json!({"location": "westeurope", "properties": {"pad": pad}}),
        )
        .await;
    assert_eq!((s, code(&b)), (413, "RequestEntityTooLarge"), "{b}");
}

#[tokio::test]
async fn a_url_or_headers_too_long_are_refused_with_an_error_body() {
    let t = start(fast()).await;
    let long = format!(
        "/subscriptions/{}/resourcegroups/{}",
        t.sub,
        "g".repeat(20 * 1024)
    );
    let (s, _, b) = t.get(&long, "2021-04-01").await;
    assert_eq!((s, code(&b)), (414, "RequestUriTooLong"), "{b}");
    let url = t.url(
        &format!("/subscriptions/{}/resourcegroups", t.sub),
        "2021-04-01",
    );
    let r = t
        .http
        .get(&url)
        .bearer_auth(&t.token)
        .header("x-ms-padding", "p".repeat(20 * 1024))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 431);
    let b: Value = r.json().await.expect("a JSON error body");
    assert_eq!(code(&b), "RequestHeaderFieldsTooLarge", "{b}");
    // Within the limits, the same request is answered.
    let (s, _, _) = t
        .get(
            &format!("/subscriptions/{}/resourcegroups", t.sub),
            "2021-04-01",
        )
        .await;
    assert_eq!(s, 200);
}

/// A VM whose protection stops before its first backup ran has no backup afterwards (soft
/// deleted or not): none comes until protection resumes, and then it does.
#[tokio::test]
async fn an_item_stopped_before_its_first_backup_gets_none_until_it_resumes() {
    let t = start(fast()).await;
    let v = t.vault("rg-app", "rsv-first");
    t.create_vault("rg-app", "rsv-first", "westeurope").await;
    let at = "2026-01-24T02:00:00Z";
    let policy = json!({"properties": {"backupManagementType": "AzureIaasVM", "instantRpRetentionRangeInDays": 2,
        "schedulePolicy": {"schedulePolicyType": "SimpleSchedulePolicy", "scheduleRunFrequency": "Daily", "scheduleRunTimes": [at]},
        "retentionPolicy": {"retentionPolicyType": "LongTermRetentionPolicy", "dailySchedule": {"retentionTimes": [at], "retentionDuration": {"count": 14, "durationType": "Days"}}},
        "timeZone": "UTC"}});
    let (s, _, _) = t
        .put(&format!("{v}/backupPolicies/gold"), "2026-01-01", policy)
        .await;
    assert_eq!(s, 200);
    let item = format!("{v}/backupFabrics/Azure/protectionContainers/IaasVMContainer;iaasvmcontainerv2;rg-app;app-01/protectedItems/VM;iaasvmcontainerv2;rg-app;app-01");
    let vm_id = format!(
        "/subscriptions/{}/resourceGroups/rg-app/providers/Microsoft.Compute/virtualMachines/app-01",
        t.sub
    );
    let enable = json!({"properties": {"protectedItemType": "Microsoft.Compute/virtualMachines",
        "sourceResourceId": vm_id, "policyId": format!("{v}/backupPolicies/gold")}});
    let (s, h, _) = t.put(&item, "2026-01-01", enable.clone()).await;
    assert_eq!(s, 202);
    t.poll(&hdr(&h, "location")).await;
    let stop = json!({"properties": {"protectedItemType": "Microsoft.Compute/virtualMachines",
        "sourceResourceId": vm_id, "protectionState": "ProtectionStopped"}});
    let (s, h, _) = t.put(&item, "2026-01-01", stop).await;
    assert_eq!(s, 202);
    t.poll(&hdr(&h, "location")).await;
    // Well past when the first backup would have run (60 Azure seconds = 120 ms).
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    let last = |b: &Value| {
        b["properties"]["lastBackupStatus"]
            .as_str()
            .unwrap_or("?")
            .to_string()
    };
    let (_, _, b) = t.get(&item, "2026-01-01").await;
    assert_eq!(last(&b), "", "{b}");
    let (_, _, points) = t.get(&format!("{item}/recoveryPoints"), "2026-01-01").await;
    assert_eq!(
        points["value"].as_array().map(Vec::len),
        Some(0),
        "{points}"
    );
    // Resumed, its first backup comes.
    let (s, h, _) = t.put(&item, "2026-01-01", enable).await;
    assert_eq!(s, 202);
    t.poll(&hdr(&h, "location")).await;
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    let (_, _, b) = t.get(&item, "2026-01-01").await;
    assert_eq!(last(&b), "Completed", "{b}");
}
