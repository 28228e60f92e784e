//! Round trips: for every desired attribute object, the body we send, as Azure would store and
//! return it (with its server-populated fields), normalizes back to the same attributes. This
//! is what guarantees that plan → apply → plan is empty.

mod support;

use azprotect::model::{backup_policy, protected_vm, vault, Method, ResourceKind};
use proptest::prelude::*;
use serde_json::{json, Value};
use support::azure_sim;
use support::cases::*;

/// Every key the desired side sets has the same value on the live side.
fn assert_managed_keys_match(desired: &Value, live: &Value) {
    for (k, v) in desired.as_object().expect("object") {
        if k == "tags" {
            for (tk, tv) in v.as_object().expect("tags") {
                assert_eq!(live["tags"].get(tk), Some(tv), "tag {tk}");
            }
        } else {
            assert_eq!(live.get(k), Some(v), "attribute {k} in {live:#}");
        }
    }
}

// ------------------------------------------------------------------------------------ vaults

#[test]
fn vault_create_round_trips_exactly_without_defaults() {
    for attrs in vault_cases() {
        let r = resource(
            ResourceKind::RecoveryVault,
            "rsv-prod-weu",
            vault_id(),
            attrs.clone(),
        );
        let req = vault::create_request(&r);
        assert_eq!(req.method, Method::Put);
        let live = vault::normalize(&azure_sim::vault(
            req.body.as_ref().unwrap(),
            &r.arm_id,
            false,
        ));
        let mut expected = attrs.clone();
        expected
            .as_object_mut()
            .unwrap()
            .entry("tags")
            .or_insert(json!({}));
        assert_eq!(live, expected);
    }
}

#[test]
fn vault_create_round_trips_with_azure_defaults_filled_in() {
    for attrs in vault_cases() {
        let r = resource(
            ResourceKind::RecoveryVault,
            "rsv-prod-weu",
            vault_id(),
            attrs.clone(),
        );
        let body = vault::create_request(&r).body.unwrap();
        let live = vault::normalize(&azure_sim::vault(&body, &r.arm_id, true));
        assert_managed_keys_match(&attrs, &live);
        // …and the live side reads every key it can.
        for k in [
            "storage_redundancy",
            "cross_region_restore",
            "soft_delete",
            "immutability",
            "public_network_access",
        ] {
            assert!(live.get(k).is_some(), "{k} missing from {live:#}");
        }
    }
}

#[test]
fn vault_update_sends_only_changed_keys_and_merges_tags() {
    let attrs = vault_cases()[2].clone();
    let r = resource(
        ResourceKind::RecoveryVault,
        "rsv-prod-weu",
        vault_id(),
        attrs,
    );
    let live = json!({"tags": {"owner": "team-a", "managed-by": "someone-else"}});
    let req =
        vault::update_request(&r, &live, &["immutability".into(), "tags".into()]).expect("a PATCH");
    assert_eq!(req.method, Method::Patch);
    assert_eq!(
        req.body.unwrap(),
        json!({
            "properties": {"securitySettings": {"immutabilitySettings": {"state": "Unlocked"}}},
            "tags": {"owner": "team-a", "managed-by": "azprotect", "env": "prod"}
        })
    );
    let req = vault::update_request(&r, &live, &["cross_region_restore".into()]).expect("a PATCH");
    assert_eq!(
        req.body.unwrap(),
        json!({"properties": {"redundancySettings": {"crossRegionRestore": "Enabled"}}})
    );
    assert!(
        req.path.ends_with("rsv-prod-weu?api-version=2026-02-01"),
        "{}",
        req.path
    );
}

/// A vault PATCH of soft delete answers 200 and changes nothing (azure-rest-api-specs#34218):
/// soft delete goes to `vaultconfig` instead, as Azure's CLI does (FACTS §3).
#[test]
fn vault_soft_delete_is_sent_to_vaultconfig_not_the_vault() {
    let r = resource(
        ResourceKind::RecoveryVault,
        "rsv-prod-weu",
        vault_id(),
        json!({"location": "westeurope", "soft_delete": {"state": "Off", "retention_days": 30}, "tags": {}}),
    );
    assert!(vault::update_request(&r, &json!({}), &["soft_delete".into()]).is_none());
    let req = vault::config_request(&r).expect("a vaultconfig PATCH");
    assert_eq!(req.method, Method::Patch);
    assert!(
        req.path
            .ends_with("rsv-prod-weu/backupconfig/vaultconfig?api-version=2026-01-01"),
        "{}",
        req.path
    );
    assert_eq!(
        req.body.unwrap(),
        json!({"properties": {"softDeleteFeatureState": "Disabled", "softDeleteRetentionPeriodInDays": 30}})
    );
    // Read back from the recorded GET body (azure-cli/test_backup_protection.yaml #4 L196).
    let recorded = json!({"properties":{"enhancedSecurityState":"Enabled","softDeleteFeatureState":"Enabled","softDeleteRetentionPeriodInDays":14,"isSoftDeleteFeatureStateEditable":true}});
    assert_eq!(
        vault::soft_delete_from_config(&recorded),
        Some(json!({"state": "On", "retention_days": 14}))
    );
    assert_eq!(
        vault::soft_delete_from_config(
            &json!({"properties":{"softDeleteFeatureState":"AlwaysON"}})
        ),
        Some(json!({"state": "AlwaysOn"}))
    );
    let unmanaged = resource(
        ResourceKind::RecoveryVault,
        "rsv-prod-weu",
        vault_id(),
        json!({"location": "westeurope", "tags": {}}),
    );
    assert!(vault::config_request(&unmanaged).is_none());
}

#[test]
fn vault_normalize_canonicalizes_azure_spellings() {
    let arm = json!({
        "location": "West Europe",
        "properties": {
            "publicNetworkAccess": "disabled",
            "redundancySettings": {"standardTierStorageRedundancy": "georedundant", "crossRegionRestore": "enabled"},
            "securitySettings": {
                "softDeleteSettings": {"softDeleteState": "AlwaysON", "softDeleteRetentionPeriodInDays": 30},
                "immutabilitySettings": {"state": "unlocked"}
            }
        }
    });
    assert_eq!(
        vault::normalize(&arm),
        json!({
            "location": "westeurope",
            "storage_redundancy": "GeoRedundant",
            "cross_region_restore": true,
            "soft_delete": {"state": "AlwaysOn", "retention_days": 30},
            "immutability": "Unlocked",
            "public_network_access": false,
            "tags": {}
        })
    );
}

#[test]
fn vault_delete_is_a_plain_delete() {
    let req = vault::delete_request(&vault_id());
    assert_eq!(req.method, Method::Delete);
    assert_eq!(req.body, None);
    assert_eq!(req.path, format!("{}?api-version=2026-02-01", vault_id()));
}

// ---------------------------------------------------------------------------------- policies

fn policy_round_trip(attrs: &Value) -> Value {
    let r = policy_resource(attrs.clone());
    let req = backup_policy::put_request(&r);
    assert_eq!(req.method, Method::Put);
    assert!(
        req.path
            .ends_with("/backupPolicies/gold?api-version=2026-01-01"),
        "{}",
        req.path
    );
    let live = azure_sim::policy(req.body.as_ref().unwrap(), &r.arm_id);
    backup_policy::normalize(&live).expect("an AzureIaasVM policy")
}

#[test]
fn policy_round_trips_exactly() {
    for attrs in policy_cases() {
        assert_eq!(policy_round_trip(&attrs), attrs);
    }
}

#[test]
fn policy_body_has_the_shape_azure_documents() {
    let body = backup_policy::put_request(&policy_resource(policy_cases()[0].clone()))
        .body
        .unwrap();
    let p = &body["properties"];
    assert_eq!(p["backupManagementType"], "AzureIaasVM");
    assert_eq!(p["policyType"], "V2");
    assert_eq!(
        p["schedulePolicy"],
        json!({
            "schedulePolicyType": "SimpleSchedulePolicyV2",
            "scheduleRunFrequency": "Hourly",
            "hourlySchedule": {"interval": 4, "scheduleWindowStartTime": "2018-01-24T08:00:00Z", "scheduleWindowDuration": 12}
        })
    );
    let r = &p["retentionPolicy"];
    assert_eq!(r["retentionPolicyType"], "LongTermRetentionPolicy");
    for rule in [
        "dailySchedule",
        "weeklySchedule",
        "monthlySchedule",
        "yearlySchedule",
    ] {
        assert_eq!(
            r[rule]["retentionTimes"],
            json!(["2018-01-24T08:00:00Z"]),
            "{rule}"
        );
    }
    assert_eq!(
        r["monthlySchedule"]["retentionScheduleFormatType"],
        "Weekly"
    );
    assert_eq!(
        r["yearlySchedule"]["retentionScheduleWeekly"],
        json!({"daysOfTheWeek": ["Sunday"], "weeksOfTheMonth": ["First"]})
    );
    assert_eq!(p["timeZone"], "W. Europe Standard Time");
    assert_eq!(p["instantRpRetentionRangeInDays"], 7);
    assert!(p.get("snapshotConsistencyType").is_none());

    let v1 = backup_policy::put_request(&policy_resource(policy_cases()[2].clone()))
        .body
        .unwrap();
    assert_eq!(
        v1["properties"]["schedulePolicy"],
        json!({
            "schedulePolicyType": "SimpleSchedulePolicy",
            "scheduleRunFrequency": "Weekly",
            "scheduleRunDays": ["Sunday", "Wednesday"],
            "scheduleRunTimes": ["2018-01-24T01:30:00Z"]
        })
    );
}

#[test]
fn policy_normalize_fills_azure_defaults_and_orders_lists() {
    let arm = json!({
        "id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/v/backupPolicies/DefaultPolicy",
        "properties": {
            "backupManagementType": "AzureIaasVM",
            "schedulePolicy": {"schedulePolicyType": "SimpleSchedulePolicy", "scheduleRunFrequency": "Weekly",
                               "scheduleRunDays": ["Friday", "Monday"], "scheduleRunTimes": ["2017-12-05T19:30:00Z"]},
            "retentionPolicy": {"retentionPolicyType": "LongTermRetentionPolicy",
                "weeklySchedule": {"daysOfTheWeek": ["Friday", "Monday"], "retentionDuration": {"count": 8, "durationType": "Weeks"}},
                "yearlySchedule": {"monthsOfYear": ["December", "March"], "retentionScheduleFormatType": "Weekly",
                    "retentionScheduleWeekly": {"daysOfTheWeek": ["Monday"], "weeksOfTheMonth": ["Last", "Second"]},
                    "retentionDuration": {"count": 3, "durationType": "Years"}}}
        }
    });
    assert_eq!(
        backup_policy::normalize(&arm).unwrap(),
        json!({
            "tier": "standard",
            "schedule": {"weekly": {"on": ["Monday", "Friday"], "at": "19:30"}},
            "time_zone": "UTC",
            "consistency": "application",
            "instant_restore_days": 2,
            "retention": {
                "weekly": {"keep": 8, "on": ["Monday", "Friday"]},
                "yearly": {"keep": 3, "month": ["March", "December"], "week": ["Second", "Last"], "on": "Monday"}
            }
        })
    );
}

#[test]
fn non_vm_policies_are_not_normalized() {
    let log = json!({"properties": {"backupManagementType": "AzureWorkload", "workLoadType": "SQLDataBase"}});
    assert_eq!(backup_policy::normalize(&log), None);
    assert_eq!(backup_policy::normalize(&json!({"name": "x"})), None);
}

#[test]
fn policy_delete_is_a_plain_delete() {
    let id = backup_policy::arm_id(&vault_id(), "gold");
    let req = backup_policy::delete_request(&id);
    assert_eq!((req.method, req.body), (Method::Delete, None));
    assert_eq!(req.path, format!("{id}?api-version=2026-01-01"));
}

// -------------------------------------------------------------- policy generator (proptest)

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn every_valid_policy_round_trips(attrs in valid_policy()) {
        prop_assert_eq!(policy_round_trip(&attrs), attrs);
    }
}

// ------------------------------------------------------------------------- protected VMs

#[test]
fn protected_vm_round_trips() {
    let policy_id = backup_policy::arm_id(&vault_id(), "gold");
    for (rg, vm, attrs) in [
        (
            "rg-app",
            "app-01",
            json!({"vm_id": vm_id("rg-app", "app-01"), "policy": "gold", "state": "protected"}),
        ),
        (
            "RG-Web",
            "Web-02",
            json!({"vm_id": vm_id("RG-Web", "Web-02"), "policy": "gold", "exclude_disks": [2, 3], "state": "protected"}),
        ),
    ] {
        let r = item_resource(rg, vm, attrs.clone());
        let req = protected_vm::protect_request(&r, &policy_id);
        assert_eq!(req.method, Method::Put);
        for state in [
            "IRPending",
            "Protected",
            "ProtectionError",
            "ProtectionPaused",
        ] {
            let live = azure_sim::protected_item(req.body.as_ref().unwrap(), &r.arm_id, state);
            let (id, got) = protected_vm::normalize(&live).expect("a VM item");
            assert_eq!(id, r.arm_id);
            assert_eq!(got, attrs, "state {state}");
        }
    }
}

#[test]
fn protect_body_matches_configure_protection_example() {
    let r = item_resource(
        "rg-app",
        "app-01",
        json!({"vm_id": vm_id("rg-app", "app-01"), "policy": "gold", "exclude_disks": [3, 2], "state": "protected"}),
    );
    let policy_id = backup_policy::arm_id(&vault_id(), "gold");
    let req = protected_vm::protect_request(&r, &policy_id);
    assert_eq!(
        req.path,
        format!("/subscriptions/{SUB}/resourceGroups/rg-protect-weu/providers/Microsoft.RecoveryServices/vaults/rsv-prod-weu/backupFabrics/Azure/protectionContainers/iaasvmcontainer;iaasvmcontainerv2;rg-app;app-01/protectedItems/vm;iaasvmcontainerv2;rg-app;app-01?api-version=2026-01-01")
    );
    assert_eq!(
        req.body.unwrap(),
        json!({"properties": {
            "protectedItemType": "Microsoft.Compute/virtualMachines",
            "sourceResourceId": vm_id("rg-app", "app-01"),
            "policyId": policy_id.as_str(),
            "extendedProperties": {"diskExclusionProperties": {"diskLunList": [2, 3], "isInclusionList": false}}
        }})
    );
}

#[test]
fn stop_suspend_undelete_and_delete_requests() {
    let id = protected_vm::arm_id(&vault_id(), "rg-app", "app-01");
    let vm = vm_id("rg-app", "app-01");
    for (suspend, state, attr) in [
        (false, "ProtectionStopped", "stopped"),
        (true, "BackupsSuspended", "suspended"),
    ] {
        let req = protected_vm::stop_request(&id, &vm, suspend);
        assert_eq!(req.method, Method::Put);
        let body = req.body.unwrap();
        assert_eq!(
            body,
            json!({"properties": {"protectedItemType": "Microsoft.Compute/virtualMachines", "sourceResourceId": vm, "protectionState": state}})
        );
        // What Azure returns after the stop normalizes to the stopped/suspended state.
        let live = azure_sim::protected_item(&body, &id, state);
        assert_eq!(protected_vm::normalize(&live).unwrap().1["state"], attr);
    }
    let req = protected_vm::undelete_request(&id, &vm);
    assert_eq!(req.body.unwrap()["properties"]["isRehydrate"], true);
    let req = protected_vm::delete_request(&id);
    assert_eq!((req.method, req.body), (Method::Delete, None));
    assert_eq!(req.path, format!("{id}?api-version=2026-01-01"));
}

#[test]
fn protected_vm_normalize_reads_every_state() {
    let base = |props: Value| json!({"id": protected_vm::arm_id(&vault_id(), "rg", "vm").as_str(), "properties": props});
    let cases = [
        (
            json!({"protectedItemType": "Microsoft.Compute/virtualMachines", "virtualMachineId": "/x/vm", "protectionState": "ProtectionStopped", "policyId": ""}),
            json!({"vm_id": "/x/vm", "policy": "", "state": "stopped"}),
        ),
        (
            json!({"protectedItemType": "Microsoft.Compute/virtualMachines", "sourceResourceId": "/x/vm", "protectionState": "ProtectionStopped", "isScheduledForDeferredDelete": true}),
            json!({"vm_id": "/x/vm", "policy": "", "state": "soft_deleted"}),
        ),
        (
            json!({"protectedItemType": "Microsoft.Compute/virtualMachines", "sourceResourceId": "/x/vm", "protectionState": "BackupsSuspended", "policyId": "/s/backupPolicies/silver",
                "extendedProperties": {"diskExclusionProperties": {"diskLunList": [0, 1], "isInclusionList": true}}}),
            json!({"vm_id": "/x/vm", "policy": "silver", "include_disks": [0, 1], "state": "suspended"}),
        ),
    ];
    for (props, want) in cases {
        assert_eq!(protected_vm::normalize(&base(props)).unwrap().1, want);
    }
    let sql = base(json!({"protectedItemType": "AzureVmWorkloadSQLDatabase"}));
    assert_eq!(protected_vm::normalize(&sql), None);
}

#[test]
fn removing_exclusions_resets_them_in_azure() {
    let policy_id = backup_policy::arm_id(&vault_id(), "gold");
    let desired =
        json!({"vm_id": vm_id("rg-app", "app-01"), "policy": "gold", "state": "protected"});
    let r = item_resource("rg-app", "app-01", desired.clone());
    let live = json!({"vm_id": vm_id("rg-app", "app-01"), "policy": "gold", "exclude_disks": [1], "state": "protected"});
    let body = protected_vm::protect_request_from(&r, &policy_id, Some(&live))
        .body
        .unwrap();
    assert_eq!(
        body["properties"]["extendedProperties"],
        json!({"diskExclusionProperties": {"diskLunList": [], "isInclusionList": false}})
    );
    // …which Azure stores and returns as "no exclusions".
    let after = azure_sim::protected_item(&body, &r.arm_id, "Protected");
    assert_eq!(protected_vm::normalize(&after).unwrap().1, desired);
    // Without live exclusions the body is the plain ConfigureProtection one.
    let plain = protected_vm::protect_request_from(&r, &policy_id, Some(&desired));
    assert_eq!(plain, protected_vm::protect_request(&r, &policy_id));
    assert!(plain.body.unwrap()["properties"]
        .get("extendedProperties")
        .is_none());
}

#[test]
fn policy_times_parse_in_every_spelling_azure_uses() {
    for (time, want) in [
        ("2018-01-24T02:00:00Z", "02:00"),
        ("2021-12-17T08:30:00+00:00", "08:30"),
        ("2018-01-24T23:30:00.000Z", "23:30"),
        ("2018-01-24T9:00:00Z", "09:00"),
    ] {
        let arm = json!({"properties": {
            "backupManagementType": "AzureIaasVM",
            "policyType": "V2",
            "schedulePolicy": {"schedulePolicyType": "SimpleSchedulePolicyV2", "scheduleRunFrequency": "Daily",
                               "dailySchedule": {"scheduleRunTimes": [time]}},
            "retentionPolicy": {"retentionPolicyType": "LongTermRetentionPolicy"}
        }});
        let attrs = backup_policy::normalize(&arm).unwrap();
        assert_eq!(attrs["schedule"], json!({"daily": {"at": want}}), "{time}");
        assert_eq!(attrs["instant_restore_days"], 7, "enhanced default");
        assert_eq!(attrs["retention"], json!({}));
    }
}
