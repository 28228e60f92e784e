//! `Loaded::desired`: resources carry exactly the attribute trees the `model` family contracts
//! document, with the right ids, addresses, selectors, scopes and dependencies.

use azprotect::config;
use azprotect::model::{Desired, OnRemove, Resource, VmSelector};
use serde_json::json;
use std::collections::BTreeMap;

fn desired(yaml: &str, default_sub: Option<&str>) -> Desired {
    let loaded = config::load_sources(vec![("azprotect.yaml".into(), yaml.into())])
        .unwrap_or_else(|e| panic!("{:?}", miette::Report::new(e)));
    loaded
        .desired(default_sub)
        .unwrap_or_else(|e| panic!("{:?}", miette::Report::new(e)))
}

fn resource<'a>(d: &'a Desired, address: &str) -> &'a Resource {
    d.resources
        .iter()
        .find(|r| r.address.to_string() == address)
        .unwrap_or_else(|| {
            panic!(
                "no {address} in {:#?}",
                d.resources
                    .iter()
                    .map(|r| r.address.to_string())
                    .collect::<Vec<_>>()
            )
        })
}

fn quickstart() -> Desired {
    desired(
        &std::fs::read_to_string("examples/quickstart.yaml").unwrap(),
        None,
    )
}

const SUB: &str = "00000000-0000-0000-0000-000000000001";

#[test]
fn an_enhanced_hourly_policy_becomes_the_documented_attribute_tree() {
    let d = quickstart();
    let gold = resource(&d, "backup_policy.rsv-prod-weu/gold");
    assert_eq!(
        gold.attrs,
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
        })
    );
    assert_eq!(
        gold.arm_id.as_str(),
        format!("/subscriptions/{SUB}/resourceGroups/rg-protect-weu/providers/Microsoft.RecoveryServices/vaults/rsv-prod-weu/backupPolicies/gold")
    );
    assert_eq!(
        gold.depends_on
            .iter()
            .map(|a| a.to_string())
            .collect::<Vec<_>>(),
        ["recovery_vault.rsv-prod-weu"]
    );
}

#[test]
fn a_minimal_standard_policy_gets_every_default_filled_in() {
    let d = quickstart();
    assert_eq!(
        resource(&d, "backup_policy.rsv-prod-weu/silver").attrs,
        json!({
            "tier": "standard",
            "schedule": {"daily": {"at": "23:00"}},
            "time_zone": "UTC",
            "consistency": "application",
            "instant_restore_days": 2,
            "retention": {"daily": "14d"}
        })
    );
}

#[test]
fn weekly_policies_list_days_in_week_order_and_default_to_5_instant_restore_days() {
    let yaml = format!(
        "version: 1\nsubscription: {SUB}\nrecovery_vaults:\n  rsv-a:\n    resource_group: rg-a\n    location: westeurope\n    backup_policies:\n      weekly:\n        schedule: {{weekly: {{on: [Saturday, Monday, Wednesday], at: \"21:30\"}}}}\n        retention:\n          weekly: {{keep: 52, on: [Wednesday, Monday]}}\n          monthly: {{keep: 12, week: [Last, First], on: [Saturday, Monday]}}\n          yearly: {{keep: 3, month: [July, January], week: Second, on: Monday}}\n"
    );
    let d = desired(&yaml, None);
    assert_eq!(
        resource(&d, "backup_policy.rsv-a/weekly").attrs,
        json!({
            "tier": "standard",
            "schedule": {"weekly": {"on": ["Monday", "Wednesday", "Saturday"], "at": "21:30"}},
            "time_zone": "UTC",
            "consistency": "application",
            "instant_restore_days": 5,
            "retention": {
                "weekly": {"keep": 52, "on": ["Monday", "Wednesday"]},
                "monthly": {"keep": 12, "week": ["First", "Last"], "on": ["Monday", "Saturday"]},
                "yearly": {"keep": 3, "month": ["January", "July"], "week": "Second", "on": "Monday"}
            }
        })
    );
}

#[test]
fn a_vault_carries_only_the_keys_the_file_sets_plus_managed_tags() {
    let d = quickstart();
    let v = resource(&d, "recovery_vault.rsv-prod-weu");
    assert_eq!(
        v.attrs,
        json!({
            "location": "westeurope",
            "storage_redundancy": "GeoRedundant",
            "cross_region_restore": true,
            "soft_delete": {"state": "On", "retention_days": 14},
            "immutability": "Unlocked",
            "public_network_access": false,
            "tags": {"managed-by": "azprotect"}
        })
    );
    assert_eq!(
        v.depends_on
            .iter()
            .map(|a| a.to_string())
            .collect::<Vec<_>>(),
        ["resource_group.rg-protect-weu"]
    );

    let bare = desired(
        "version: 1\nrecovery_vaults:\n  rsv-a:\n    resource_group: rg-existing\n    location: West Europe\n",
        Some(SUB),
    );
    let v = resource(&bare, "recovery_vault.rsv-a");
    assert_eq!(v.attrs, json!({"location": "westeurope"}));
    assert!(
        v.depends_on.is_empty(),
        "an undeclared resource group must already exist"
    );
    assert_eq!(bare.subscription, SUB);
}

#[test]
fn resource_groups_merge_global_and_own_tags() {
    let d = desired(
        &format!("version: 1\nsubscription: {SUB}\ntags: {{managed-by: azprotect, env: prod}}\nresource_groups:\n  rg-a: {{location: North Europe, tags: {{env: dr}}}}\n"),
        None,
    );
    let rg = resource(&d, "resource_group.rg-a");
    assert_eq!(
        rg.attrs,
        json!({"location": "northeurope", "tags": {"env": "dr", "managed-by": "azprotect"}})
    );
    assert_eq!(
        rg.arm_id.as_str(),
        format!("/subscriptions/{SUB}/resourceGroups/rg-a")
    );
}

#[test]
fn listed_vms_become_protected_items_that_depend_on_their_policy() {
    let d = quickstart();
    let vm = resource(&d, "protected_vm.rsv-prod-weu/rg-app/app-01");
    assert_eq!(
        vm.attrs,
        json!({
            "vm_id": format!("/subscriptions/{SUB}/resourceGroups/rg-app/providers/Microsoft.Compute/virtualMachines/app-01"),
            "policy": "gold",
            "state": "protected"
        })
    );
    assert_eq!(
        vm.arm_id.as_str(),
        format!("/subscriptions/{SUB}/resourceGroups/rg-protect-weu/providers/Microsoft.RecoveryServices/vaults/rsv-prod-weu/backupFabrics/Azure/protectionContainers/iaasvmcontainer;iaasvmcontainerv2;rg-app;app-01/protectedItems/vm;iaasvmcontainerv2;rg-app;app-01")
    );
    assert_eq!(
        vm.depends_on
            .iter()
            .map(|a| a.to_string())
            .collect::<Vec<_>>(),
        ["backup_policy.rsv-prod-weu/gold"]
    );
}

#[test]
fn a_vm_in_another_subscription_keeps_its_subscription_and_sorted_exclusions() {
    let d = desired(
        &std::fs::read_to_string("examples/multi-vault.yaml").unwrap(),
        None,
    );
    let vm = resource(&d, "protected_vm.rsv-prod-weu/rg-shared/ad-01");
    assert_eq!(
        vm.attrs,
        json!({
            "vm_id": "/subscriptions/00000000-0000-0000-0000-000000000002/resourceGroups/rg-shared/providers/Microsoft.Compute/virtualMachines/ad-01",
            "policy": "hourly-gold",
            "exclude_disks": [1, 3],
            "state": "protected"
        })
    );
}

#[test]
fn select_entries_become_selectors_and_vaults_become_scopes() {
    let d = quickstart();
    assert_eq!(
        d.selectors,
        [VmSelector {
            vault: "rsv-prod-weu".into(),
            policy: "silver".into(),
            subscription: SUB.into(),
            resource_groups: vec!["rg-web".into()],
            tags: BTreeMap::from([("backup".to_string(), "silver".to_string())]),
            exclude_disks: vec![1],
        }]
    );
    assert_eq!(d.vaults.len(), 1);
    assert_eq!(d.vaults[0].name, "rsv-prod-weu");
    assert_eq!(d.vaults[0].on_remove, OnRemove::RetainData);
    assert_eq!(d.vaults[0].location, "westeurope");
}

#[test]
fn the_default_subscription_applies_when_the_file_sets_none() {
    let d = desired(
        "version: 1\nresource_groups:\n  rg-a: {location: westeurope}\n",
        Some(SUB),
    );
    assert_eq!(d.subscription, SUB);
    assert_eq!(
        resource(&d, "resource_group.rg-a").attrs,
        json!({"location": "westeurope", "tags": {}})
    );
}

#[test]
fn without_any_subscription_desired_explains_where_to_set_one() {
    let loaded =
        config::load_sources(vec![("azprotect.yaml".into(), "version: 1\n".into())]).unwrap();
    let err = loaded.desired(None).unwrap_err();
    let text = format!("{:?}", miette::Report::new(err));
    assert!(text.contains("AZURE_SUBSCRIPTION_ID"), "{text}");
    let err = loaded.desired(Some("not-a-guid")).unwrap_err();
    assert_eq!(err.diagnostics.len(), 1);
}

#[test]
fn files_merge_their_maps_into_one_desired_state() {
    let a = format!("version: 1\nsubscription: {SUB}\ntags: {{managed-by: azprotect}}\nresource_groups:\n  rg-a: {{location: westeurope}}\n");
    let b = "version: 1\ntags: {team: platform}\nrecovery_vaults:\n  rsv-a:\n    resource_group: RG-A\n    location: westeurope\n";
    let loaded =
        config::load_sources(vec![("a.yaml".into(), a), ("b.yaml".into(), b.into())]).unwrap();
    let d = loaded.desired(None).unwrap();
    let v = resource(&d, "recovery_vault.rsv-a");
    assert_eq!(
        v.depends_on
            .iter()
            .map(|a| a.to_string())
            .collect::<Vec<_>>(),
        ["resource_group.rg-a"]
    );
    assert_eq!(
        v.attrs["tags"],
        json!({"managed-by": "azprotect", "team": "platform"})
    );
    assert_eq!(v.arm_id.subscription(), Some(SUB));
}

#[test]
fn tag_values_that_look_like_numbers_or_booleans_stay_text() {
    let d = desired(
        &format!("version: 1\nsubscription: {SUB}\ntags: {{backup: true, tier: 1, note: On}}\nresource_groups:\n  rg-a: {{location: westeurope}}\n"),
        None,
    );
    assert_eq!(
        resource(&d, "resource_group.rg-a").attrs["tags"],
        json!({"backup": "true", "tier": "1", "note": "On"})
    );
}

#[test]
fn unquoted_times_are_read_as_written() {
    let d = desired(
        &format!("version: 1\nsubscription: {SUB}\nrecovery_vaults:\n  rsv-a:\n    resource_group: rg-a\n    location: westeurope\n    backup_policies:\n      pol:\n        schedule: {{daily: {{at: 23:30}}}}\n        retention: {{daily: 7d}}\n"),
        None,
    );
    assert_eq!(
        resource(&d, "backup_policy.rsv-a/pol").attrs["schedule"],
        json!({"daily": {"at": "23:30"}})
    );
}
