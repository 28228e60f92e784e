//! The official example responses (`../shared/azure-rest-specs`) normalize to the attributes a
//! user would write for them. Skipped, with a notice, when the specs are not next to the repository.

mod support;

use azprotect::model::{backup_policy, protected_vm, vault};
use serde_json::{json, Value};
use support::{load_json, specs_or_skip, BMS_EXAMPLES, BMS_SPEC, RS_SPEC};

fn example(rel: &str) -> Option<Value> {
    let root = specs_or_skip(rel)?;
    Some(load_json(&root, rel)["responses"]["200"]["body"].clone())
}

#[test]
fn get_vault_example() {
    let Some(body) = example(&format!("{RS_SPEC}/examples/GETVault.json")) else {
        return;
    };
    assert_eq!(
        vault::normalize(&body),
        json!({
            "location": "westus",
            "storage_redundancy": "GeoRedundant",
            "cross_region_restore": true,
            "soft_delete": {"state": "On", "retention_days": 14},
            "immutability": "Disabled",
            "public_network_access": true,
            "tags": {"TestUpdatedKey": "TestUpdatedValue"}
        })
    );
}

#[test]
fn put_and_patch_vault_example_responses() {
    for file in [
        "PUTVault.json",
        "PUTVault_WithRedundancySettings.json",
        "PATCHVault.json",
    ] {
        let Some(body) = example(&format!("{RS_SPEC}/examples/{file}")) else {
            return;
        };
        let attrs = vault::normalize(&body);
        assert_eq!(attrs["location"], "westus", "{file}");
        assert_eq!(attrs["public_network_access"], true, "{file}");
        if file.contains("Redundancy") {
            assert_eq!(attrs["storage_redundancy"], "GeoRedundant");
            assert_eq!(attrs["cross_region_restore"], true);
        }
    }
}

#[test]
fn standard_policy_example() {
    let Some(body) = example(&format!(
        "{BMS_EXAMPLES}/AzureIaasVm/ProtectionPolicies_Get.json"
    )) else {
        return;
    };
    assert_eq!(
        backup_policy::normalize(&body).unwrap(),
        json!({
            "tier": "standard",
            "schedule": {"daily": {"at": "02:00"}},
            "time_zone": "Pacific Standard Time",
            "consistency": "application",
            "instant_restore_days": 2,
            "retention": {"daily": "1d"}
        })
    );
}

#[test]
fn enhanced_hourly_policy_example() {
    let Some(body) = example(&format!(
        "{BMS_SPEC}/examples/AzureIaasVm/V2Policy/IaaS_v2_hourly.json"
    )) else {
        return;
    };
    assert_eq!(
        backup_policy::normalize(&body).unwrap(),
        json!({
            "tier": "enhanced",
            "schedule": {"hourly": {"every": "4h", "start": "08:00", "duration": "16h"}},
            "time_zone": "India Standard Time",
            "consistency": "crash_only",
            "instant_restore_days": 30,
            "retention": {
                "daily": "180d",
                "weekly": {"keep": 12, "on": ["Sunday"]},
                "monthly": {"keep": 60, "week": "First", "on": "Sunday"},
                "yearly": {"keep": 10, "month": "January", "week": "First", "on": "Sunday"}
            }
        })
    );
}

#[test]
fn enhanced_daily_policy_examples() {
    let Some(body) = example(&format!(
        "{BMS_SPEC}/examples/AzureIaasVm/V2Policy/IaaS_v2_daily.json"
    )) else {
        return;
    };
    let attrs = backup_policy::normalize(&body).unwrap();
    assert_eq!(attrs["tier"], "enhanced");
    assert_eq!(attrs["schedule"], json!({"daily": {"at": "10:00"}}));
    assert_eq!(
        attrs["retention"]["monthly"],
        json!({"keep": 60, "week": "First", "on": "Sunday"})
    );

    let Some(body) = example(&format!(
        "{BMS_SPEC}/examples/AzureIaasVm/V2Policy/v2-Get-Policy.json"
    )) else {
        return;
    };
    assert_eq!(
        backup_policy::normalize(&body).unwrap(),
        json!({
            "tier": "enhanced",
            "schedule": {"daily": {"at": "10:00"}},
            "time_zone": "Pacific Standard Time",
            "consistency": "crash_only",
            "instant_restore_days": 30,
            "retention": {"daily": "1d"}
        })
    );
}

#[test]
fn policy_list_example_defaults_the_time_zone() {
    let Some(body) = example(&format!(
        "{BMS_SPEC}/examples/AzureIaasVm/BackupPolicies_List.json"
    )) else {
        return;
    };
    let all: Vec<Value> = body["value"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(backup_policy::normalize)
        .collect();
    assert_eq!(all.len(), 2);
    assert_eq!(
        all[0],
        json!({
            "tier": "standard",
            "schedule": {"daily": {"at": "19:00"}},
            "time_zone": "UTC",
            "consistency": "application",
            "instant_restore_days": 2,
            "retention": {"daily": "30d"}
        })
    );
    assert_eq!(all[1]["time_zone"], "Pacific Standard Time");
}

#[test]
fn protected_item_examples() {
    let Some(body) = example(&format!(
        "{BMS_EXAMPLES}/AzureIaasVm/Compute_ProtectedItem_Get.json"
    )) else {
        return;
    };
    let (id, attrs) = protected_vm::normalize(&body).unwrap();
    assert_eq!(id.name(), "VM;iaasvmcontainerv2;iaasvm-rg;iaasvm-1");
    assert_eq!(
        attrs,
        json!({
            "vm_id": "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/providers/Microsoft.Compute/virtualMachines/iaasvm-1",
            "policy": "testPolicy1",
            "state": "protected"
        })
    );
    // The id Azure returns matches the one azprotect computes (ids compare case-insensitively).
    let vault = vault::arm_id(
        "00000000-0000-0000-0000-000000000000",
        "PythonSDKBackupTestRg",
        "PySDKBackupTestRsVault",
    );
    assert_eq!(id, protected_vm::arm_id(&vault, "iaasvm-rg", "iaasvm-1"));
    assert_eq!(protected_vm::vault_of(&id), vault);

    let Some(list) = example(&format!(
        "{BMS_EXAMPLES}/AzureIaasVm/BackupProtectedItems_List.json"
    )) else {
        return;
    };
    let items: Vec<_> = list["value"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(protected_vm::normalize)
        .collect();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].1["policy"], "testPolicy1");
    assert_eq!(items[0].1["state"], "protected");

    let Some(stopped) = example(&format!("{BMS_EXAMPLES}/AzureIaasVm/StopProtection.json")) else {
        return;
    };
    assert_eq!(
        protected_vm::normalize(&stopped).unwrap().1["state"],
        "stopped"
    );

    let Some(configured) = example(&format!(
        "{BMS_SPEC}/examples/AzureIaasVm/ConfigureProtection.json"
    )) else {
        return;
    };
    let (_, attrs) = protected_vm::normalize(&configured).unwrap();
    assert_eq!(attrs["vm_id"], "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/netsdktestrg/providers/Microsoft.Compute/virtualMachines/netvmtestv2vm1");
}
