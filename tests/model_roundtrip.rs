//! Round trips: for every desired attribute object, the body we send, as Azure would store and
//! return it (with its server-populated fields), normalizes back to the same attributes. This
//! is what guarantees that plan → apply → plan is empty.

mod support;

use azprotect::model::{
    backup_policy, protected_vm, vault, Address, ArmId, Method, Resource, ResourceKind,
};
use proptest::prelude::*;
use serde_json::{json, Value};
use support::azure_sim;

const SUB: &str = "00000000-0000-0000-0000-000000000001";

fn vault_id() -> ArmId {
    vault::arm_id(SUB, "rg-protect-weu", "rsv-prod-weu")
}

fn resource(kind: ResourceKind, name: &str, arm_id: ArmId, attrs: Value) -> Resource {
    Resource {
        address: Address::new(kind, name),
        arm_id,
        attrs,
        depends_on: vec![],
    }
}

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

fn vault_cases() -> Vec<Value> {
    vec![
        json!({"location": "westeurope"}),
        json!({"location": "westeurope", "tags": {"managed-by": "azprotect"}}),
        json!({
            "location": "westeurope",
            "storage_redundancy": "GeoRedundant",
            "cross_region_restore": true,
            "soft_delete": {"state": "AlwaysOn", "retention_days": 14},
            "immutability": "Unlocked",
            "public_network_access": false,
            "tags": {"managed-by": "azprotect", "env": "prod"}
        }),
        json!({
            "location": "northeurope",
            "storage_redundancy": "LocallyRedundant",
            "cross_region_restore": false,
            "soft_delete": {"state": "Off", "retention_days": 14},
            "immutability": "Disabled",
            "public_network_access": true
        }),
        json!({
            "location": "eastus2",
            "storage_redundancy": "ZoneRedundant",
            "soft_delete": {"state": "On", "retention_days": 180},
            "immutability": "Locked"
        }),
    ]
}

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
    let req = vault::update_request(&r, &live, &["immutability".into(), "tags".into()]);
    assert_eq!(req.method, Method::Patch);
    assert_eq!(
        req.body.unwrap(),
        json!({
            "properties": {"securitySettings": {"immutabilitySettings": {"state": "Unlocked"}}},
            "tags": {"owner": "team-a", "managed-by": "azprotect", "env": "prod"}
        })
    );
    let req = vault::update_request(&r, &live, &["cross_region_restore".into()]);
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

fn policy_resource(attrs: Value) -> Resource {
    let id = backup_policy::arm_id(&vault_id(), "gold");
    resource(ResourceKind::BackupPolicy, "rsv-prod-weu/gold", id, attrs)
}

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

fn policy_cases() -> Vec<Value> {
    vec![
        // CONFIG.md's example policy.
        json!({
            "tier": "enhanced",
            "schedule": {"hourly": {"every": "4h", "start": "08:00", "duration": "12h"}},
            "time_zone": "W. Europe Standard Time",
            "consistency": "application",
            "instant_restore_days": 7,
            "retention": {
                "daily": "30d",
                "weekly": {"keep": 12, "on": ["Sunday"]},
                "monthly": {"keep": 12, "week": "First", "on": "Sunday"},
                "yearly": {"keep": 7, "month": "January", "week": "First", "on": "Sunday"}
            }
        }),
        json!({
            "tier": "standard",
            "schedule": {"daily": {"at": "23:00"}},
            "time_zone": "UTC",
            "consistency": "application",
            "instant_restore_days": 2,
            "retention": {"daily": "7d"}
        }),
        json!({
            "tier": "standard",
            "schedule": {"weekly": {"on": ["Sunday", "Wednesday"], "at": "01:30"}},
            "time_zone": "Pacific Standard Time",
            "consistency": "application",
            "instant_restore_days": 5,
            "retention": {
                "weekly": {"keep": 52, "on": ["Sunday", "Wednesday"]},
                "monthly": {"keep": 24, "week": ["First", "Last"], "on": ["Sunday", "Wednesday"]},
                "yearly": {"keep": 10, "month": ["January", "July"], "week": "Last", "on": "Sunday"}
            }
        }),
        json!({
            "tier": "enhanced",
            "schedule": {"daily": {"at": "10:00"}},
            "time_zone": "India Standard Time",
            "consistency": "crash_only",
            "instant_restore_days": 30,
            "retention": {"daily": "180d", "monthly": {"keep": 60, "days": [1, 15, "Last"]}}
        }),
        json!({
            "tier": "enhanced",
            "schedule": {"weekly": {"on": ["Saturday"], "at": "00:00"}},
            "time_zone": "UTC",
            "consistency": "application",
            "instant_restore_days": 5,
            "retention": {"weekly": {"keep": 4, "on": ["Saturday"]}}
        }),
    ]
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

fn subset(all: &'static [&'static str]) -> impl Strategy<Value = Vec<String>> {
    proptest::sample::subsequence(all, 1..=all.len())
        .prop_map(|v| v.into_iter().map(str::to_string).collect())
}

fn one_or_many(v: Vec<String>) -> Value {
    if v.len() == 1 {
        json!(v[0])
    } else {
        json!(v)
    }
}

fn time() -> impl Strategy<Value = String> {
    (0u32..24, prop::bool::ANY)
        .prop_map(|(h, half)| format!("{h:02}:{}", if half { "30" } else { "00" }))
}

#[derive(Debug, Clone)]
enum Sched {
    Hourly(u64, String, u64),
    Daily(String),
    Weekly(Vec<String>, String),
}

fn schedule(enhanced: bool) -> BoxedStrategy<Sched> {
    let daily = time().prop_map(Sched::Daily);
    let weekly = (subset(&backup_policy::DAYS), time()).prop_map(|(d, t)| Sched::Weekly(d, t));
    if enhanced {
        let hourly = (prop::sample::select(vec![4u64, 6, 8, 12]), time(), 1u64..=6)
            .prop_filter_map("window 4-24h, multiple of interval", |(every, start, k)| {
                let duration = every * k;
                (4..=24)
                    .contains(&duration)
                    .then(|| Sched::Hourly(every, start, duration))
            });
        prop_oneof![hourly, daily, weekly].boxed()
    } else {
        prop_oneof![daily, weekly].boxed()
    }
}

fn valid_policy() -> impl Strategy<Value = Value> {
    prop::bool::ANY
        .prop_flat_map(|enhanced| {
            (
                Just(enhanced),
                schedule(enhanced),
                prop::sample::select(vec!["UTC", "W. Europe Standard Time", "India Standard Time", "Pacific Standard Time"]),
                prop::bool::ANY,
                if enhanced { 1u64..=30 } else { 1u64..=5 },
                7u64..=9999,
                prop::option::of((1u64..=5163, subset(&backup_policy::DAYS))),
                prop::option::of((1u64..=1188, subset(&backup_policy::WEEKS), subset(&backup_policy::DAYS))),
                prop::option::of((
                    1u64..=99,
                    subset(&backup_policy::MONTHS),
                    subset(&backup_policy::WEEKS),
                    subset(&backup_policy::DAYS),
                )),
            )
        })
        .prop_map(|(enhanced, sched, tz, crash, ir, daily, weekly, monthly, yearly)| {
            let (schedule, weekly_days) = match &sched {
                Sched::Hourly(e, s, d) => (json!({"hourly": {"every": format!("{e}h"), "start": s, "duration": format!("{d}h")}}), None),
                Sched::Daily(t) => (json!({"daily": {"at": t}}), None),
                Sched::Weekly(days, t) => (json!({"weekly": {"on": days, "at": t}}), Some(days.clone())),
            };
            let mut retention = serde_json::Map::new();
            if weekly_days.is_none() {
                retention.insert("daily".into(), json!(format!("{daily}d")));
            }
            if let Some((keep, on)) = weekly {
                // A weekly schedule keeps weekly points only on its own days.
                let on = weekly_days.clone().unwrap_or(on);
                retention.insert("weekly".into(), json!({"keep": keep, "on": on}));
            }
            if let Some((keep, week, on)) = monthly {
                retention.insert("monthly".into(), json!({"keep": keep, "week": one_or_many(week), "on": one_or_many(on)}));
            }
            if let Some((keep, month, week, on)) = yearly {
                retention.insert(
                    "yearly".into(),
                    json!({"keep": keep, "month": one_or_many(month), "week": one_or_many(week), "on": one_or_many(on)}),
                );
            }
            json!({
                "tier": if enhanced { "enhanced" } else { "standard" },
                "schedule": schedule,
                "time_zone": tz,
                "consistency": if enhanced && crash { "crash_only" } else { "application" },
                "instant_restore_days": ir,
                "retention": retention,
            })
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn every_valid_policy_round_trips(attrs in valid_policy()) {
        prop_assert_eq!(policy_round_trip(&attrs), attrs);
    }
}

// ------------------------------------------------------------------------- protected VMs

fn vm_id(rg: &str, vm: &str) -> String {
    format!(
        "/subscriptions/{SUB}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachines/{vm}"
    )
}

fn item_resource(rg: &str, vm: &str, attrs: Value) -> Resource {
    let id = protected_vm::arm_id(&vault_id(), rg, vm);
    resource(
        ResourceKind::ProtectedVm,
        &format!("rsv-prod-weu/{rg}/{vm}"),
        id,
        attrs,
    )
}

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
