//! What Azure answers to a PUT: the request body plus the fields the service fills in (ids,
//! eTags, counts, defaults, and its own spelling of enums and times). Used by the round-trip
//! tests: `normalize(simulate(put_request(x).body)) == x` is what makes plan → apply → plan empty.

use azprotect::model::ArmId;
use serde_json::{json, Value};

fn obj(v: &mut Value) -> &mut serde_json::Map<String, Value> {
    v.as_object_mut().expect("object")
}

/// A vault as GET returns it after the create PUT. With `defaults`, the keys the body did not set
/// get Azure's defaults, spelled the way Azure spells them.
pub fn vault(body: &Value, id: &ArmId, defaults: bool) -> Value {
    let mut v = body.clone();
    let name = id.name().to_string();
    let o = obj(&mut v);
    o.insert("id".into(), json!(id.as_str()));
    o.insert("name".into(), json!(name));
    o.insert("type".into(), json!("Microsoft.RecoveryServices/vaults"));
    o.insert(
        "etag".into(),
        json!("W/\"datetime'2026-11-25T12%3A36%3A51.68Z'\""),
    );
    o.insert("sku".into(), json!({"name": "RS0", "tier": "Standard"}));
    o.insert(
        "identity".into(),
        json!({"type": "SystemAssigned", "principalId": "3137d6c7-5d6c-411c-b934-7a2a729ee247", "tenantId": "d676e86e-2206-4a7c-999c-ece52c144b5b"}),
    );
    let p = obj(o.entry("properties").or_insert_with(|| json!({})));
    p.insert("provisioningState".into(), json!("Succeeded"));
    p.insert("secureScore".into(), json!("None"));
    p.insert("bcdrSecurityLevel".into(), json!("Poor"));
    p.insert("privateEndpointStateForBackup".into(), json!("None"));
    p.insert("privateEndpointStateForSiteRecovery".into(), json!("None"));
    p.insert(
        "monitoringSettings".into(),
        json!({"azureMonitorAlertSettings": {"alertsForAllJobFailures": "Enabled"}, "classicAlertSettings": {"alertsForCriticalOperations": "Disabled"}}),
    );
    if defaults {
        p.entry("publicNetworkAccess").or_insert(json!("Enabled"));
        let r = obj(p.entry("redundancySettings").or_insert_with(|| json!({})));
        r.entry("standardTierStorageRedundancy")
            .or_insert(json!("GeoRedundant"));
        r.entry("crossRegionRestore").or_insert(json!("Disabled"));
        let s = obj(p.entry("securitySettings").or_insert_with(|| json!({})));
        s.insert("multiUserAuthorization".into(), json!("Disabled"));
        let sd = obj(s.entry("softDeleteSettings").or_insert_with(|| json!({})));
        sd.entry("softDeleteState").or_insert(json!("Enabled"));
        sd.entry("softDeleteRetentionPeriodInDays")
            .or_insert(json!(14));
        sd.insert("enhancedSecurityState".into(), json!("Enabled"));
        s.entry("immutabilitySettings")
            .or_insert(json!({"state": "Disabled"}));
    }
    v
}

/// A backup policy as GET returns it after the PUT: server fields added, times re-spelled
/// with an explicit offset (as Azure does for retention times), nulls for unused formats.
pub fn policy(body: &Value, id: &ArmId) -> Value {
    let mut v = body.clone();
    let name = id.name().to_string();
    let o = obj(&mut v);
    o.insert("id".into(), json!(id.as_str()));
    o.insert("name".into(), json!(name));
    o.insert(
        "type".into(),
        json!("Microsoft.RecoveryServices/vaults/backupPolicies"),
    );
    let p = obj(o.get_mut("properties").expect("properties"));
    p.insert("protectedItemsCount".into(), json!(3));
    p.insert("resourceGuardOperationRequests".into(), Value::Null);
    if let Some(s) = p.get_mut("schedulePolicy").and_then(Value::as_object_mut) {
        if s.get("schedulePolicyType") == Some(&json!("SimpleSchedulePolicy")) {
            s.insert("scheduleWeeklyFrequency".into(), json!(0));
        }
    }
    if let Some(r) = p.get_mut("retentionPolicy").and_then(Value::as_object_mut) {
        for (k, rule) in r.iter_mut() {
            let Some(rule) = rule.as_object_mut() else {
                continue;
            };
            if let Some(times) = rule.get_mut("retentionTimes").and_then(Value::as_array_mut) {
                for t in times {
                    if let Some(s) = t.as_str() {
                        *t = json!(s.replace('Z', "+00:00"));
                    }
                }
            }
            if k == "monthlySchedule" || k == "yearlySchedule" {
                rule.entry("retentionScheduleDaily").or_insert(Value::Null);
            }
        }
    }
    v
}

/// A protected item as GET returns it after the protect PUT.
pub fn protected_item(body: &Value, id: &ArmId, state: &str) -> Value {
    let mut v = body.clone();
    let name = id.name().to_string();
    let o = obj(&mut v);
    // Azure spells container/item names its own way in ids.
    let shouted = id
        .as_str()
        .replace(
            "iaasvmcontainer;iaasvmcontainerv2",
            "IaasVMContainer;iaasvmcontainerv2",
        )
        .replace("/vm;", "/VM;")
        .replace("/subscriptions/", "/Subscriptions/");
    o.insert("id".into(), json!(shouted));
    o.insert("name".into(), json!(name.replacen("vm;", "VM;", 1)));
    o.insert(
        "type".into(),
        json!(
            "Microsoft.RecoveryServices/vaults/backupFabrics/protectionContainers/protectedItems"
        ),
    );
    let p = obj(o.get_mut("properties").expect("properties"));
    let vm = p["sourceResourceId"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    p.insert("backupManagementType".into(), json!("AzureIaasVM"));
    p.insert("workloadType".into(), json!("VM"));
    p.insert("friendlyName".into(), json!(ArmId::new(vm.clone()).name()));
    p.insert("virtualMachineId".into(), json!(vm));
    p.insert(
        "containerName".into(),
        json!(name.trim_start_matches("vm;")),
    );
    p.insert("protectionState".into(), json!(state));
    p.insert("protectionStatus".into(), json!("Healthy"));
    p.insert("healthStatus".into(), json!("Passed"));
    p.insert("lastBackupStatus".into(), json!(""));
    p.insert("lastRecoveryPoint".into(), Value::Null);
    p.insert("protectedItemDataId".into(), json!("636482643132986882"));
    p.insert("policyType".into(), json!("V2"));
    if let Some(pid) = p.get("policyId").and_then(Value::as_str) {
        let pname = ArmId::new(pid).name().to_string();
        p.insert("policyName".into(), json!(pname));
    }
    p.insert("isScheduledForDeferredDelete".into(), json!(false));
    v
}
