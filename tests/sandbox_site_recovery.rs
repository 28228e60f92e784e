//! Black-box tests of the sandbox's Azure Site Recovery (Azure-to-Azure) emulation over HTTPS:
//! fabrics → containers → policy → container mappings → network mappings → enable replication →
//! initial replication → recovery plan → test failover → cleanup → failover → commit →
//! re-protect → disable replication, and the errors Azure answers on the way.

use std::time::Duration;

mod support;

use azprotect::sandbox::{Sandbox, SandboxOptions};
use serde_json::{json, Value};

const API: &str = "2026-02-01";

struct T {
    sb: Sandbox,
    http: reqwest::Client,
    token: String,
    sub: String,
}

type Resp = (u16, reqwest::header::HeaderMap, Value);

async fn start() -> T {
    let sb = Sandbox::start(SandboxOptions {
        time_scale: 0.001,
        ..Default::default()
    })
    .await
    .expect("sandbox starts");
    with_token(sb).await
}

async fn with_token(sb: Sandbox) -> T {
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

/// The Site Recovery error code: `error.details[0].code` when Azure puts it there (its envelope),
/// else `error.code`.
fn code(b: &Value) -> &str {
    b["error"]["details"][0]["code"]
        .as_str()
        .or(b["error"]["code"].as_str())
        .unwrap_or("")
}

impl T {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Resp {
        let url = if path.starts_with("https://") {
            path.to_string()
        } else {
            let sep = if path.contains('?') { '&' } else { '?' };
            format!("{}{path}{sep}api-version={API}", self.sb.endpoint())
        };
        support::raw::call(&self.http, &self.token, method, &url, body).await
    }
    async fn get(&self, path: &str) -> Resp {
        self.call(reqwest::Method::GET, path, None).await
    }
    /// A mutating request that must be accepted (202 + polling headers); polls `Location` to the
    /// end and checks `Azure-AsyncOperation` and the job agree. Returns the final status and body.
    async fn lro(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let (s, h, b) = self.call(method, path, body).await;
        assert_eq!(s, 202, "{path}: {b}");
        let loc = hdr(&h, "location");
        let aso = hdr(&h, "azure-asyncoperation");
        assert!(loc.starts_with(&self.sb.endpoint()), "{loc}");
        assert!(loc.contains("/Subscriptions/"), "{loc}");
        assert!(loc.contains("/operationresults/"), "{loc}");
        assert!(aso.contains("/replicationOperationStatus/"), "{aso}");
        assert_eq!(hdr(&h, "retry-after"), "", "Azure sends none (FACTS §9)");
        let job = loc
            .split("/operationresults/")
            .nth(1)
            .unwrap()
            .split('?')
            .next()
            .unwrap()
            .to_string();
        let mut out = None;
        for _ in 0..400 {
            let (s, _, b) = self.get(&loc).await;
            if s != 202 {
                out = Some((s, b));
                break;
            }
            tokio::time::sleep(self.sb.poll_interval()).await;
        }
        let out = out.expect("operation finishes");
        let (s, h, st) = self.get(&aso).await;
        assert_eq!(s, 200);
        assert!(
            hdr(&h, "x-ms-request-id").ends_with(&format!("/replicationJobs/{job}")),
            "{h:?}"
        );
        let expect = if out.0 < 300 { "Succeeded" } else { "Failed" };
        assert_eq!(st["status"], expect, "{st}");
        assert_eq!(st["name"], job.as_str(), "{st}");
        if expect == "Failed" {
            assert_eq!(st["error"]["code"], out.1["error"]["code"], "{st}");
        }
        let vault = &path[..path.find("/replication").unwrap()];
        let (s, _, j) = self.get(&format!("{vault}/replicationJobs/{job}")).await;
        assert_eq!(s, 200, "{j}");
        assert_eq!(j["properties"]["state"], expect, "{j}");
        assert_eq!(
            j["properties"]["customDetails"]["instanceType"],
            "AsrJobDetails"
        );
        out
    }
    async fn put(&self, path: &str, body: Value) -> (u16, Value) {
        self.lro(reqwest::Method::PUT, path, Some(body)).await
    }
    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.lro(reqwest::Method::POST, path, Some(body)).await
    }
    /// A PUT Azure accepts whose job then fails its checks: returns the operation's (generic)
    /// error code and the failed job's error (`serviceErrorDetails`).
    async fn job_fails(&self, path: &str, body: Value) -> (String, Value) {
        let (s, b) = self.put(path, body).await;
        assert_eq!(s, 400, "{b}");
        let vault = &path[..path.find("/replication").unwrap()];
        let (_, _, jobs) = self.get(&format!("{vault}/replicationJobs")).await;
        let j = &jobs["value"][0]["properties"];
        assert_eq!(j["state"], "Failed", "{j}");
        (
            code(&b).to_string(),
            j["errors"][0]["serviceErrorDetails"].clone(),
        )
    }
    /// A request that must fail synchronously.
    async fn refused(&self, method: reqwest::Method, path: &str, body: Value) -> (u16, Value) {
        let (s, _, b) = self.call(method, path, Some(body)).await;
        assert!(s >= 400, "{path} was not refused: {s} {b}");
        (s, b)
    }
    fn vault(&self, rg: &str, v: &str) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{rg}/providers/Microsoft.RecoveryServices/vaults/{v}",
            self.sub
        )
    }
    fn arm(&self, rg: &str, rest: &str) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{rg}/providers/{rest}",
            self.sub
        )
    }
    async fn create_vault(&self, rg: &str, v: &str, location: &str) -> String {
        let path = self.vault(rg, v);
        let (s, _, b) = self
            .call(
                reqwest::Method::PUT,
                &path,
                Some(json!({"location": location, "sku": {"name": "Standard"}, "properties": {"publicNetworkAccess": "Enabled"}})),
            )
            .await;
        assert_eq!(s, 201, "{b}");
        path
    }
}

struct Infra {
    vault: String,
    weu_container: String,
    neu_container: String,
    policy_id: String,
}

/// Fabrics and containers in westeurope and northeurope, a policy and the mapping pair.
async fn setup(t: &T, rg: &str, name: &str) -> Infra {
    setup_in(t, rg, name, "northeurope").await
}

async fn setup_in(t: &T, rg: &str, name: &str, location: &str) -> Infra {
    let v = t.create_vault(rg, name, location).await;
    for region in ["westeurope", "northeurope"] {
        let f = format!("{v}/replicationFabrics/asr-a2a-default-{region}");
        let (s, b) = t
            .put(&f, json!({"properties": {"customDetails": {"instanceType": "Azure", "location": region}}}))
            .await;
        assert_eq!(s, 200, "{b}");
        assert_eq!(b["properties"]["customDetails"]["instanceType"], "Azure");
        assert_eq!(b["properties"]["customDetails"]["location"], region);
        let c = format!("{f}/replicationProtectionContainers/asr-a2a-default-{region}-container");
        let (s, b) = t
            .put(
                &c,
                json!({"properties": {"providerSpecificInput": [{"instanceType": "A2A"}]}}),
            )
            .await;
        assert_eq!(s, 200, "{b}");
        assert_eq!(b["properties"]["pairingStatus"], "NotPaired");
    }
    let policy = format!("{v}/replicationPolicies/24-hour-retention-policy");
    let (s, b) = t
        .put(
            &policy,
            json!({"properties": {"providerSpecificInput": {"instanceType": "A2A", "recoveryPointHistory": 1440, "appConsistentFrequencyInMinutes": 240, "crashConsistentFrequencyInMinutes": 5, "multiVmSyncStatus": "Enable"}}}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let policy_id = b["id"].as_str().unwrap().to_string();
    let weu = format!("{v}/replicationFabrics/asr-a2a-default-westeurope/replicationProtectionContainers/asr-a2a-default-westeurope-container");
    let neu = format!("{v}/replicationFabrics/asr-a2a-default-northeurope/replicationProtectionContainers/asr-a2a-default-northeurope-container");
    for (src, dst, n) in [(&weu, &neu, "weu-neu"), (&neu, &weu, "neu-weu")] {
        let (s, b) = t
            .put(
                &format!("{src}/replicationProtectionContainerMappings/{n}"),
                json!({"properties": {"targetProtectionContainerId": dst, "policyId": policy_id, "providerSpecificInput": {"instanceType": "A2A", "agentAutoUpdateStatus": "Disabled"}}}),
            )
            .await;
        assert_eq!(s, 200, "{b}");
        assert_eq!(b["properties"]["state"], "Paired");
        assert_eq!(
            b["properties"]["policyFriendlyName"],
            "24-hour-retention-policy"
        );
        assert_eq!(
            b["properties"]["providerSpecificDetails"]["instanceType"],
            "A2A"
        );
    }
    Infra {
        vault: v,
        weu_container: weu,
        neu_container: neu,
        policy_id,
    }
}

fn enable_body(t: &T, inf: &Infra, vm_rg: &str, vm: &str, cache: &str) -> Value {
    json!({"properties": {
        "policyId": inf.policy_id,
        "providerSpecificDetails": {
            "instanceType": "A2A",
            "fabricObjectId": t.arm(vm_rg, &format!("Microsoft.Compute/virtualMachines/{vm}")),
            "recoveryContainerId": inf.neu_container,
            "recoveryResourceGroupId": format!("/subscriptions/{}/resourceGroups/rg-app-dr", t.sub),
            "recoveryAzureNetworkId": t.arm("rg-app-dr", "Microsoft.Network/virtualNetworks/vnet-app-dr"),
            "recoveryAvailabilityZone": "1",
            "vmManagedDisks": [{
                "diskId": t.arm(vm_rg, &format!("Microsoft.Compute/disks/{vm}-osdisk")),
                "primaryStagingAzureStorageAccountId": t.arm("rg-app", &format!("Microsoft.Storage/storageAccounts/{cache}")),
                "recoveryResourceGroupId": format!("/subscriptions/{}/resourceGroups/rg-app-dr", t.sub),
                "recoveryReplicaDiskAccountType": "Standard_LRS",
                "recoveryTargetDiskAccountType": "Premium_LRS",
            }],
        },
    }})
}

#[tokio::test]
async fn replicate_test_failover_and_disable() {
    let t = start().await;
    let inf = setup(&t, "rg-app-dr", "rsv-dr").await;
    let v = &inf.vault;

    // Lists: fabrics, containers (per fabric and vault-wide), mappings, policies.
    let (_, _, b) = t.get(&format!("{v}/replicationFabrics")).await;
    assert_eq!(b["value"].as_array().unwrap().len(), 2);
    let (_, _, b) = t.get(&format!("{v}/replicationProtectionContainers")).await;
    assert_eq!(b["value"].as_array().unwrap().len(), 2);
    assert_eq!(b["value"][0]["properties"]["pairingStatus"], "Paired");
    let (_, _, b) = t
        .get(&format!("{v}/replicationProtectionContainerMappings"))
        .await;
    assert_eq!(b["value"].as_array().unwrap().len(), 2);
    let (_, _, b) = t
        .get(&format!("{v}/replicationPolicies/24-hour-retention-policy"))
        .await;
    let d = &b["properties"]["providerSpecificDetails"];
    assert_eq!(d["instanceType"], "A2A");
    assert_eq!(d["recoveryPointHistory"], 1440);
    assert_eq!(d["appConsistentFrequencyInMinutes"], 240);
    assert_eq!(d["multiVmSyncStatus"], "Enabled");

    // Network mapping vnet-app (westeurope) → vnet-app-dr (northeurope).
    let nm = format!("{v}/replicationFabrics/asr-a2a-default-westeurope/replicationNetworks/vnet-app/replicationNetworkMappings/vnet-app-to-dr");
    let (s, b) = t
        .put(
            &nm,
            json!({"properties": {"recoveryFabricName": "asr-a2a-default-northeurope", "recoveryNetworkId": t.arm("rg-app-dr", "Microsoft.Network/virtualNetworks/vnet-app-dr"), "fabricSpecificDetails": {"instanceType": "AzureToAzure", "primaryNetworkId": t.arm("rg-app", "Microsoft.Network/virtualNetworks/vnet-app")}}}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["properties"]["state"], "Paired");
    assert_eq!(
        b["properties"]["fabricSpecificSettings"]["recoveryFabricLocation"],
        "northeurope"
    );
    let (_, _, b) = t.get(&format!("{v}/replicationNetworkMappings")).await;
    assert_eq!(b["value"].as_array().unwrap().len(), 1);

    // Enable replication of app-02.
    let item = format!("{}/replicationProtectedItems/app-02", inf.weu_container);
    let sent = std::time::Instant::now();
    let (s, h, b) = t
        .call(
            reqwest::Method::PUT,
            &item,
            Some(enable_body(&t, &inf, "rg-app", "app-02", "asrcacheweu")),
        )
        .await;
    assert_eq!(s, 202, "{b}");
    let (_, _, b) = t.get(&item).await;
    let p = &b["properties"];
    if sent.elapsed() < Duration::from_millis(150) {
        // The EnableDr job lasts 180 ms at this time scale.
        assert_eq!(p["protectionState"], "EnablingProtection", "{b}");
        assert_eq!(
            p["providerSpecificDetails"]["monitoringPercentageCompletion"],
            0
        );
        // A second operation while the EnableDr job runs conflicts.
        let (s, _, b) = t
            .call(
                reqwest::Method::PATCH,
                &item,
                Some(json!({"properties": {"recoveryAzureVMName": "app-02"}})),
            )
            .await;
        if sent.elapsed() < Duration::from_millis(170) {
            assert_eq!((s, code(&b)), (409, "OperationInProgress"), "{b}");
        }
    }
    assert_eq!(p["allowedOperations"], json!(["DisableProtection"]));
    assert_eq!(p["currentScenario"]["scenarioName"], "EnableDr");

    // The recovery plan: the service puts Shutdown and Failover groups first.
    let plan = format!("{v}/replicationRecoveryPlans/rp-app");
    let vm_arm = t.arm("rg-app", "Microsoft.Compute/virtualMachines/app-02");
    let item_id = b["id"].as_str().unwrap().to_string();
    assert!(item_id.starts_with("/Subscriptions/"), "{item_id}");
    let (s, b) = t
        .put(
            &plan,
            json!({"properties": {
                "primaryFabricId": format!("{v}/replicationFabrics/asr-a2a-default-westeurope"),
                "recoveryFabricId": format!("{v}/replicationFabrics/asr-a2a-default-northeurope"),
                "failoverDeploymentModel": "ResourceManager",
                "groups": [{"groupType": "Boot", "replicationProtectedItems": [{"id": item_id, "virtualMachineId": vm_arm}],
                    "startGroupActions": [{"actionName": "check", "failoverTypes": ["TestFailover", "UnplannedFailover"], "failoverDirections": ["PrimaryToRecovery"], "customDetails": {"instanceType": "ManualActionDetails", "description": "Check the app"}}],
                    "endGroupActions": [{"actionName": "warm", "failoverTypes": ["UnplannedFailover"], "failoverDirections": ["PrimaryToRecovery"], "customDetails": {"instanceType": "AutomationRunbookActionDetails", "runbookId": "/subscriptions/x/runbooks/warm-cache", "fabricLocation": "Recovery", "timeout": "PT10M"}}]}],
            }}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let groups = b["properties"]["groups"].as_array().unwrap();
    let types: Vec<&str> = groups
        .iter()
        .map(|g| g["groupType"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["Shutdown", "Failover", "Boot"]);
    assert_eq!(
        groups[2]["replicationProtectedItems"][0]["id"],
        item_id.as_str()
    );
    assert_eq!(
        groups[2]["replicationProtectedItems"][0]["virtualMachineId"],
        vm_arm.as_str()
    );
    assert_eq!(
        groups[2]["startGroupActions"][0]["customDetails"]["instanceType"],
        "ManualActionDetails"
    );
    assert_eq!(
        b["properties"]["allowedOperations"],
        json!(["UnplannedFailover", "TestFailover"]),
        "as recorded for an A2A plan (A2A #78)"
    );
    assert_eq!(b["properties"]["replicationProviders"], json!(["A2A"]));

    // Test failover before initial replication completed is refused.
    let tfo = json!({"properties": {"failoverDirection": "PrimaryToRecovery", "networkType": "VmNetworkAsInput", "networkId": t.arm("rg-app-dr", "Microsoft.Network/virtualNetworks/vnet-app-dr-test"), "providerSpecificDetails": [{"instanceType": "A2A", "recoveryPointType": "LatestProcessed"}]}});
    let (s, b) = t
        .refused(
            reqwest::Method::POST,
            &format!("{plan}/testFailover"),
            tfo.clone(),
        )
        .await;
    assert_eq!(s, 400);
    assert_eq!(code(&b), "ProtectedItemNotProtected", "{b}");

    // The enable LRO ends with the item; initial replication then rises to 100 % → Protected.
    let loc = hdr(&h, "location");
    loop {
        let (s, _, _) = t.get(&loc).await;
        if s != 202 {
            assert_eq!(s, 200);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut seen_progress = false;
    let mut last = -1;
    let protected = loop {
        let (_, _, b) = t.get(&item).await;
        let a2a = &b["properties"]["providerSpecificDetails"];
        let pct = a2a["monitoringPercentageCompletion"].as_i64().unwrap();
        assert!(pct >= last, "progress went back");
        last = pct;
        match a2a["vmProtectionState"].as_str().unwrap() {
            "Protected" => break b,
            "UnprotectedStatesBegin" => {
                assert_eq!(
                    b["properties"]["protectionStateDescription"],
                    "Initial replication is in progress"
                );
                seen_progress |= pct > 0 && pct < 100;
            }
            "EnablingProtection" => {}
            other => panic!("unexpected state {other}"),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(seen_progress, "monitoringPercentageCompletion never rose");
    let p = &protected["properties"];
    assert_eq!(p["protectionState"], "Protected");
    assert_eq!(p["activeLocation"], "Primary");
    assert_eq!(p["replicationHealth"], "Normal");
    assert_eq!(p["testFailoverState"], "None");
    // Never test-failed-over: a warning that leaves the health Normal, as recorded (A2A #73).
    assert_eq!(p["healthErrors"][0]["errorCode"], "161011", "{p}");
    assert_eq!(p["healthErrors"][0]["errorLevel"], "Warning");
    // Replicating, the item reports the VM's NIC and the network it fails over to (A2A #73).
    let nic = &p["providerSpecificDetails"]["vmNics"][0];
    assert!(
        nic["sourceNicArmId"]
            .as_str()
            .is_some_and(|n| n.ends_with("/networkInterfaces/app-02-nic")),
        "{nic}"
    );
    assert_eq!(nic["ipConfigs"][0]["isPrimary"], true);
    assert_eq!(
        p["recoveryFabricFriendlyName"],
        "asr-a2a-default-northeurope"
    );
    assert_eq!(p["policyFriendlyName"], "24-hour-retention-policy");
    let a2a = &p["providerSpecificDetails"];
    assert_eq!(a2a["instanceType"], "A2A");
    assert_eq!(a2a["monitoringPercentageCompletion"], 100);
    assert_eq!(a2a["primaryFabricLocation"], "westeurope");
    assert_eq!(a2a["recoveryFabricLocation"], "northeurope");
    assert_eq!(a2a["recoveryAzureVMName"], "app-02");
    assert_eq!(a2a["recoveryAvailabilityZone"], "1");
    assert_eq!(
        a2a["protectedManagedDisks"][0]["recoveryTargetDiskAccountType"],
        "Premium_LRS"
    );
    let (_, _, b) = t.get(&format!("{v}/replicationProtectedItems")).await;
    assert_eq!(b["value"].as_array().unwrap().len(), 1);

    // Update the target VM name and network.
    let (s, b) = t
        .lro(
            reqwest::Method::PATCH,
            &item,
            Some(json!({"properties": {"recoveryAzureVMName": "app-02-dr", "recoveryAzureVMSize": "Standard_D2s_v5", "selectedRecoveryAzureNetworkId": t.arm("rg-app-dr", "Microsoft.Network/virtualNetworks/vnet-app-dr"), "providerSpecificDetails": {"instanceType": "A2A"}}})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        b["properties"]["providerSpecificDetails"]["recoveryAzureVMName"],
        "app-02-dr"
    );

    // Test failover → waiting for cleanup → cleanup.
    let (s, b) = t.post(&format!("{plan}/testFailover"), tfo).await;
    assert_eq!(s, 200, "{b}");
    let p = &b["properties"];
    assert_eq!(p["currentScenario"]["scenarioName"], "TestFailover");
    assert_eq!(p["currentScenarioStatus"], "Suspended");
    assert_eq!(
        p["currentScenarioStatusDescription"],
        "WaitingForStopTestFailover"
    );
    assert_eq!(p["allowedOperations"], json!(["TestFailoverCleanup"]));
    let tfo_job = p["currentScenario"]["jobId"].as_str().unwrap().to_string();
    let (_, _, j) = t.get(&tfo_job).await;
    assert_eq!(j["properties"]["scenarioName"], "TestFailover");
    assert_eq!(j["properties"]["targetObjectName"], "rp-app");
    let (_, _, b) = t.get(&item).await;
    assert_eq!(
        b["properties"]["testFailoverState"],
        "TestFailoverCompleted"
    );
    assert_eq!(
        b["properties"]["allowedOperations"],
        json!(["TestFailoverCleanup"])
    );
    // Disabling replication now is refused; so is a second test failover.
    let (_, b) = t
        .refused(
            reqwest::Method::POST,
            &format!("{item}/remove"),
            json!({"properties": {"disableProtectionReason": "NotSpecified"}}),
        )
        .await;
    assert_eq!(code(&b), "OperationNotAllowedInCurrentState");
    let (s, b) = t
        .post(
            &format!("{plan}/testFailoverCleanup"),
            json!({"properties": {"comments": "drill ok"}}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let p = &b["properties"];
    assert_eq!(p["currentScenario"]["scenarioName"], "TestFailoverCleanup");
    assert_eq!(p["currentScenarioStatus"], "Succeeded");
    assert_eq!(
        p["allowedOperations"],
        json!(["UnplannedFailover", "TestFailover"])
    );
    assert!(p["lastTestFailoverTime"].is_string());
    let (_, _, b) = t.get(&item).await;
    assert_eq!(b["properties"]["testFailoverState"], "None");
    assert!(b["properties"]["lastSuccessfulTestFailoverTime"].is_string());
    assert_eq!(
        b["properties"]["healthErrors"],
        json!([]),
        "a successful drill clears the warning"
    );

    // Failover, commit, re-protect (replication now runs northeurope → westeurope).
    let (s, b) = t
        .post(
            &format!("{plan}/unplannedFailover"),
            json!({"properties": {"failoverDirection": "PrimaryToRecovery", "sourceSiteOperations": "NotRequired", "providerSpecificDetails": [{"instanceType": "A2A", "recoveryPointType": "Latest"}]}}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        b["properties"]["allowedOperations"],
        json!(["FailoverCommit"])
    );
    let (_, _, b) = t.get(&item).await;
    assert_eq!(b["properties"]["activeLocation"], "Recovery");
    assert_eq!(b["properties"]["protectionState"], "FailedOver");
    let (s, b) = t.post(&format!("{plan}/failoverCommit"), json!({})).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["properties"]["allowedOperations"], json!(["ReProtect"]));
    let (s, b) = t.post(&format!("{plan}/reProtect"), json!({})).await;
    assert_eq!(s, 200, "{b}");
    // The plan-level reProtect keeps the item where it is: it runs in its recovery region and
    // replicates back (locations stay relative to the item; azprotect itself re-protects with
    // switchprotection, which moves it, as Azure's CLI does).
    let (_, _, b) = t.get(&item).await;
    assert_eq!(b["properties"]["activeLocation"], "Recovery");
    let a2a = &b["properties"]["providerSpecificDetails"];
    assert_eq!(a2a["primaryFabricLocation"], "westeurope");
    assert_eq!(a2a["recoveryFabricLocation"], "northeurope");
    // Once re-protected (initial replication again), an unplanned failover back to westeurope,
    // as recorded (A2A #122); Azure-to-Azure has no planned failover.
    loop {
        let (_, _, b) = t.get(&item).await;
        if b["properties"]["protectionState"] == "Protected" {
            assert_eq!(b["properties"]["activeLocation"], "Recovery");
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let back = |dir: &str| json!({"properties": {"failoverDirection": dir, "sourceSiteOperations": "NotRequired", "providerSpecificDetails": [{"instanceType": "A2A", "recoveryPointType": "Latest"}]}});
    let (_, b) = t
        .refused(
            reqwest::Method::POST,
            &format!("{plan}/plannedFailover"),
            back("RecoveryToPrimary"),
        )
        .await;
    assert!(
        b["error"]["message"]
            .as_str()
            .unwrap()
            .contains("PlannedFailover"),
        "{b}"
    );
    let (_, b) = t
        .refused(
            reqwest::Method::POST,
            &format!("{plan}/unplannedFailover"),
            back("PrimaryToRecovery"),
        )
        .await;
    assert_eq!(code(&b), "InvalidInput", "{b}");
    let (s, b) = t
        .post(
            &format!("{plan}/unplannedFailover"),
            back("RecoveryToPrimary"),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert!(b["properties"]["lastUnplannedFailoverTime"].is_string());
    let (s, _) = t.post(&format!("{plan}/failoverCommit"), json!({})).await;
    assert_eq!(s, 200);
    let (_, _, b) = t.get(&item).await;
    assert_eq!(b["properties"]["activeLocation"], "Primary");
    assert_eq!(b["properties"]["protectionState"], "FailoverCommitted");

    // Jobs.
    let (_, _, b) = t.get(&format!("{v}/replicationJobs")).await;
    let names: Vec<&str> = b["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["properties"]["scenarioName"].as_str().unwrap())
        .collect();
    for n in [
        "EnableDr",
        "TestFailover",
        "TestFailoverCleanup",
        "UnplannedFailover",
        "Commit",
        "ReverseReplicate",
    ] {
        assert!(names.contains(&n), "{n} missing from {names:?}");
    }

    // Removal order: the mapping and policy are in use while the item replicates.
    let (_, b) = t
        .refused(
            reqwest::Method::POST,
            &format!(
                "{}/replicationProtectionContainerMappings/weu-neu/remove",
                inf.weu_container
            ),
            json!({"properties": {"providerSpecificInput": {"instanceType": "A2A"}}}),
        )
        .await;
    assert_eq!(code(&b), "ContainerMappingInUse");
    let (_, b) = t
        .refused(
            reqwest::Method::DELETE,
            &format!("{v}/replicationPolicies/24-hour-retention-policy"),
            json!({}),
        )
        .await;
    assert_eq!(code(&b), "PolicyInUse");
    let (_, b) = t
        .refused(
            reqwest::Method::POST,
            &format!("{v}/replicationFabrics/asr-a2a-default-westeurope/remove"),
            json!({}),
        )
        .await;
    assert_eq!(code(&b), "FabricHasProtectedEntities");
    let (_, b) = t.refused(reqwest::Method::DELETE, v, json!({})).await;
    assert_eq!(code(&b), "ServiceResourceNotEmpty");

    // Disable replication: the item shows DisablingProtection until the DisableDr job ends; the
    // plan loses the item.
    let disable = json!({"properties": {"disableProtectionReason": "NotSpecified", "replicationProviderInput": {"instanceType": "A2A"}}});
    let sent = std::time::Instant::now();
    let (s, h, b) = t
        .call(
            reqwest::Method::POST,
            &format!("{item}/remove"),
            Some(disable.clone()),
        )
        .await;
    assert_eq!(s, 202, "{b}");
    let (s, _, b) = t.get(&item).await;
    if sent.elapsed() < Duration::from_millis(100) {
        assert_eq!(s, 200);
        assert_eq!(
            b["properties"]["protectionState"], "DisablingProtection",
            "{b}"
        );
        assert_eq!(b["properties"]["allowedOperations"], json!([]));
        let (s, _, b) = t
            .call(
                reqwest::Method::POST,
                &format!("{item}/remove"),
                Some(disable),
            )
            .await;
        assert_eq!((s, code(&b)), (409, "OperationInProgress"));
    }
    let loc = hdr(&h, "location");
    loop {
        let (s, _, _) = t.get(&loc).await;
        if s != 202 {
            assert_eq!(s, 204);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (s, _, _) = t.get(&item).await;
    assert_eq!(s, 404);
    let (_, _, b) = t.get(&plan).await;
    assert_eq!(
        b["properties"]["groups"][2]["replicationProtectedItems"],
        json!([])
    );
    let (s, _) = t.lro(reqwest::Method::DELETE, &plan, None).await;
    assert_eq!(s, 204);
    let (s, _) = t.lro(reqwest::Method::DELETE, &nm, None).await;
    assert_eq!(s, 204);
    for (c, m) in [
        (&inf.weu_container, "weu-neu"),
        (&inf.neu_container, "neu-weu"),
    ] {
        let (s, _) = t
            .post(
                &format!("{c}/replicationProtectionContainerMappings/{m}/remove"),
                json!({"properties": {"providerSpecificInput": {"instanceType": "A2A"}}}),
            )
            .await;
        assert_eq!(s, 204);
    }
    let (s, _) = t
        .lro(
            reqwest::Method::DELETE,
            &format!("{v}/replicationPolicies/24-hour-retention-policy"),
            None,
        )
        .await;
    assert_eq!(s, 204);
    for region in ["westeurope", "northeurope"] {
        let (s, _) = t
            .post(
                &format!("{v}/replicationFabrics/asr-a2a-default-{region}/remove"),
                json!({}),
            )
            .await;
        assert_eq!(s, 204);
    }
    let (_, _, b) = t.get(&format!("{v}/replicationFabrics")).await;
    assert_eq!(b["value"], json!([]));
    t.sb.shutdown().await;
}

#[tokio::test]
async fn replication_errors() {
    let t = start().await;
    let inf = setup(&t, "rg-app-dr", "rsv-dr").await;
    let v = &inf.vault;
    let put = reqwest::Method::PUT;

    // One fabric per region.
    let (s, b) = t
        .refused(put.clone(), &format!("{v}/replicationFabrics/second-weu"), json!({"properties": {"customDetails": {"instanceType": "Azure", "location": "West Europe"}}}))
        .await;
    assert_eq!(s, 409);
    assert_eq!(code(&b), "AzureFabricAlreadyExists");

    // Policy validation: malformed input is refused at once, values out of range fail the job
    // with Site Recovery's 150261.
    for bad in [
        json!({"instanceType": "A2A", "recoveryPointHistory": 0, "appConsistentFrequencyInMinutes": 60, "multiVmSyncStatus": "Enable"}),
        json!({"instanceType": "A2A", "recoveryPointHistory": 60, "appConsistentFrequencyInMinutes": 120, "multiVmSyncStatus": "Enable"}),
        json!({"instanceType": "A2A", "recoveryPointHistory": 30000, "multiVmSyncStatus": "Enable"}),
    ] {
        let (c, d) = t
            .job_fails(
                &format!("{v}/replicationPolicies/bad"),
                json!({"properties": {"providerSpecificInput": bad}}),
            )
            .await;
        assert_eq!(
            (c.as_str(), d["code"].as_str().unwrap()),
            ("150261", "InvalidPolicyInput")
        );
    }
    let (s, _, _) = t.get(&format!("{v}/replicationPolicies/bad")).await;
    assert_eq!(s, 404);
    for bad in [
        json!({"instanceType": "A2A", "recoveryPointHistory": 60, "multiVmSyncStatus": "Sometimes"}),
        json!({"instanceType": "A2A", "recoveryPointHistory": 60}),
    ] {
        let (s, b) = t
            .refused(
                put.clone(),
                &format!("{v}/replicationPolicies/bad"),
                json!({"properties": {"providerSpecificInput": bad}}),
            )
            .await;
        assert_eq!((s, code(&b)), (400, "InvalidInput"), "{b}");
    }
    // Policy update via replicationProviderSettings.
    let (s, b) = t
        .lro(
            reqwest::Method::PATCH,
            &format!("{v}/replicationPolicies/24-hour-retention-policy"),
            Some(json!({"properties": {"replicationProviderSettings": {"instanceType": "A2A", "recoveryPointHistory": 2880, "multiVmSyncStatus": "Disabled"}}})),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(
        b["properties"]["providerSpecificDetails"]["recoveryPointHistory"],
        2880
    );
    assert_eq!(
        b["properties"]["providerSpecificDetails"]["multiVmSyncStatus"],
        "Disabled"
    );
    assert_eq!(
        b["properties"]["providerSpecificDetails"]["appConsistentFrequencyInMinutes"],
        240
    );

    // Network mapping to a vnet that does not exist / in the wrong region.
    let nm = format!("{v}/replicationFabrics/asr-a2a-default-westeurope/replicationNetworks/vnet-app/replicationNetworkMappings/m");
    let primary = t.arm("rg-app", "Microsoft.Network/virtualNetworks/vnet-app");
    let (_, b) = t
        .refused(put.clone(), &nm, json!({"properties": {"recoveryFabricName": "asr-a2a-default-northeurope", "recoveryNetworkId": t.arm("rg-app-dr", "Microsoft.Network/virtualNetworks/nope"), "fabricSpecificDetails": {"instanceType": "AzureToAzure", "primaryNetworkId": primary}}}))
        .await;
    assert_eq!(code(&b), "NetworkNotFound");
    let (_, b) = t
        .refused(put.clone(), &nm, json!({"properties": {"recoveryFabricName": "asr-a2a-default-northeurope", "recoveryNetworkId": primary, "fabricSpecificDetails": {"instanceType": "AzureToAzure", "primaryNetworkId": primary}}}))
        .await;
    assert_eq!(code(&b), "NetworkLocationMismatch");

    // VM in the wrong region for the fabric (batch-01 is in northeurope).
    let (c, d) = t
        .job_fails(
            &format!("{}/replicationProtectedItems/batch-01", inf.weu_container),
            enable_body(&t, &inf, "rg-dr-neu", "batch-01", "asrcacheweu"),
        )
        .await;
    assert_eq!(
        (c.as_str(), d["code"].as_str().unwrap()),
        ("45005", "SourceVmLocationMismatch"),
        "{d}"
    );
    // Cache storage account in the target region.
    let mut body = enable_body(&t, &inf, "rg-app", "app-01", "asrcacheweu");
    body["properties"]["providerSpecificDetails"]["vmManagedDisks"][0]
        ["primaryStagingAzureStorageAccountId"] =
        json!(t.arm("rg-app-dr", "Microsoft.Storage/storageAccounts/asrcacheneu"));
    let (c, d) = t
        .job_fails(
            &format!("{}/replicationProtectedItems/app-01", inf.weu_container),
            body,
        )
        .await;
    assert_eq!(
        (c.as_str(), d["code"].as_str().unwrap()),
        ("45005", "CacheStorageAccountLocationMismatch"),
        "{d}"
    );
    // A disk that is not the VM's.
    let mut body = enable_body(&t, &inf, "rg-app", "app-01", "asrcacheweu");
    body["properties"]["providerSpecificDetails"]["vmManagedDisks"][0]["diskId"] =
        json!(t.arm("rg-app", "Microsoft.Compute/disks/shared-data"));
    let (c, d) = t
        .job_fails(
            &format!("{}/replicationProtectedItems/app-01", inf.weu_container),
            body,
        )
        .await;
    assert_eq!(
        (c.as_str(), d["code"].as_str().unwrap()),
        ("45005", "DiskNotAttachedToVm"),
        "{d}"
    );

    // Replicated once, then refused a second time (same vault, then another vault).
    let (s, b) = t
        .put(
            &format!("{}/replicationProtectedItems/app-01", inf.weu_container),
            enable_body(&t, &inf, "rg-app", "app-01", "asrcacheweu"),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        b["properties"]["providerSpecificDetails"]["fabricObjectId"],
        t.arm("rg-app", "Microsoft.Compute/virtualMachines/app-01")
    );
    let (c, d) = t
        .job_fails(
            &format!(
                "{}/replicationProtectedItems/app-01-again",
                inf.weu_container
            ),
            enable_body(&t, &inf, "rg-app", "app-01", "asrcacheweu"),
        )
        .await;
    assert_eq!(
        (c.as_str(), d["code"].as_str().unwrap()),
        ("45005", "VmAlreadyProtected"),
        "{d}"
    );
    let other = setup(&t, "rg-dr-neu", "rsv-other").await;
    let (c, d) = t
        .job_fails(
            &format!("{}/replicationProtectedItems/app-01", other.weu_container),
            enable_body(&t, &other, "rg-app", "app-01", "asrcacheweu"),
        )
        .await;
    assert_eq!(
        (c.as_str(), d["code"].as_str().unwrap()),
        ("45005", "VmAlreadyProtected"),
        "{d}"
    );
    assert!(d["message"].as_str().unwrap().contains("rsv-dr"));

    // Item-level test failover and cleanup (app-01 is still in initial replication first).
    let app01 = format!("{}/replicationProtectedItems/app-01", inf.weu_container);
    let tfo = json!({"properties": {"failoverDirection": "PrimaryToRecovery", "networkType": "VmNetworkAsInput", "networkId": t.arm("rg-app-dr", "Microsoft.Network/virtualNetworks/vnet-app-dr-test"), "providerSpecificDetails": {"instanceType": "A2A"}}});
    let (_, b) = t
        .refused(
            reqwest::Method::POST,
            &format!("{app01}/testFailover"),
            tfo.clone(),
        )
        .await;
    assert_eq!(code(&b), "OperationNotAllowedInCurrentState", "{b}");
    loop {
        let (_, _, b) = t.get(&app01).await;
        if b["properties"]["protectionState"] == "Protected" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut wrong = tfo.clone();
    wrong["properties"]["networkId"] =
        json!(t.arm("rg-app", "Microsoft.Network/virtualNetworks/vnet-app"));
    let (_, b) = t
        .refused(
            reqwest::Method::POST,
            &format!("{app01}/testFailover"),
            wrong,
        )
        .await;
    assert_eq!(code(&b), "InvalidInput", "{b}");
    let (s, b) = t.post(&format!("{app01}/testFailover"), tfo).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        b["properties"]["testFailoverState"],
        "TestFailoverCompleted"
    );
    assert_eq!(
        b["properties"]["allowedOperations"],
        json!(["TestFailoverCleanup"])
    );
    let (s, b) = t
        .post(
            &format!("{app01}/testFailoverCleanup"),
            json!({"properties": {"comments": "ok"}}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["properties"]["testFailoverState"], "None");
    assert!(b["properties"]["lastSuccessfulTestFailoverTime"].is_string());

    // A vault can't replicate VMs out of its own region.
    let local = setup_in(&t, "rg-web", "rsv-weu", "westeurope").await;
    let (c, d) = t
        .job_fails(
            &format!("{}/replicationProtectedItems/app-02", local.weu_container),
            enable_body(&t, &local, "rg-app", "app-02", "asrcacheweu"),
        )
        .await;
    assert_eq!(
        (c.as_str(), d["code"].as_str().unwrap()),
        ("45005", "VaultInSourceRegion"),
        "{d}"
    );

    // A vault with fabrics, containers, mappings and a policy but no replicated item can be
    // deleted (they go with it).
    let (s, _, b) = t.call(reqwest::Method::DELETE, &other.vault, None).await;
    assert_eq!(s, 202, "{b}");

    // Purge (DELETE) removes the item at once, whatever its state.
    let (s, _) = t
        .lro(
            reqwest::Method::DELETE,
            &format!("{}/replicationProtectedItems/app-01", inf.weu_container),
            None,
        )
        .await;
    assert_eq!(s, 204);

    // An unknown fabric: 404 in Site Recovery's envelope.
    let (s, _, b) = t.get(&format!("{v}/replicationFabrics/nope")).await;
    assert_eq!(s, 404);
    assert_eq!(b["error"]["code"], "NotFound");
    assert_eq!(
        b["error"]["message"],
        "Fabric with name nope could not be located."
    );
    assert_eq!(b["error"]["details"][0]["code"], "FabricArmEntityMissing");
    assert!(b["error"]["details"][0]["recommendedAction"].is_string());

    // Unknown child type and api-version.
    let (s, _, b) = t.get(&format!("{v}/replicationWidgets")).await;
    assert_eq!(s, 404);
    assert_eq!(code(&b), "InvalidResourceType");
    let (s, _, b) = t
        .get(&format!(
            "{}{v}/replicationFabrics?api-version=1999-01-01",
            t.sb.endpoint()
        ))
        .await;
    assert_eq!(s, 400, "{b}");
    t.sb.shutdown().await;
}

#[tokio::test]
async fn injected_failures_and_persistence() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let sb = Sandbox::start(SandboxOptions {
        time_scale: 0.001,
        state: Some(state.clone()),
        faults: Some("seed=3,lro_fail=1".into()),
        ..Default::default()
    })
    .await
    .unwrap();
    let t = with_token(sb).await;
    let v = t.create_vault("rg-app-dr", "rsv-f", "northeurope").await;
    let f = format!("{v}/replicationFabrics/asr-a2a-default-westeurope");
    let body = json!({"properties": {"customDetails": {"instanceType": "Azure", "location": "westeurope"}}});
    // Every operation fails: Location answers the error, the status and the job say Failed.
    let (s, b) = t.put(&f, body.clone()).await;
    assert_eq!(s, 500, "{b}");
    assert_eq!(code(&b), "InternalError");
    let (s, _, _) = t.get(&f).await;
    assert_eq!(s, 404);
    let (_, _, jobs) = t.get(&format!("{v}/replicationJobs")).await;
    let j = &jobs["value"][0]["properties"];
    assert_eq!(j["state"], "Failed");
    assert_eq!(
        j["errors"][0]["serviceErrorDetails"]["code"],
        "InternalError"
    );
    t.sb.shutdown().await;

    // Without faults the fabric is created, and survives a restart.
    let sb = Sandbox::start(SandboxOptions {
        time_scale: 0.001,
        state: Some(state.clone()),
        ..Default::default()
    })
    .await
    .unwrap();
    let t = with_token(sb).await;
    let (s, _) = t.put(&f, body).await;
    assert_eq!(s, 200);
    t.sb.shutdown().await;
    let sb = Sandbox::start(SandboxOptions {
        time_scale: 0.001,
        state: Some(state),
        ..Default::default()
    })
    .await
    .unwrap();
    let t = with_token(sb).await;
    let (s, _, b) = t.get(&f).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["properties"]["customDetails"]["location"], "westeurope");
    let (_, _, jobs) = t.get(&format!("{v}/replicationJobs")).await;
    assert_eq!(jobs["value"].as_array().unwrap().len(), 2);
    t.sb.shutdown().await;
}
