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
fn a_vault_of_another_subscription_protects_that_subscriptions_vms() {
    let d = desired(
        &std::fs::read_to_string("examples/multi-vault.yaml").unwrap(),
        None,
    );
    let shared =
        "/subscriptions/00000000-0000-0000-0000-000000000002/resourceGroups/rg-protect-shared";
    let rg = resource(&d, "resource_group.rg-protect-shared");
    assert_eq!(rg.arm_id.as_str(), shared);
    let vault = resource(&d, "recovery_vault.rsv-shared-weu");
    assert_eq!(
        vault.arm_id.as_str(),
        format!("{shared}/providers/Microsoft.RecoveryServices/vaults/rsv-shared-weu")
    );
    assert_eq!(
        vault
            .depends_on
            .iter()
            .map(|a| a.to_string())
            .collect::<Vec<_>>(),
        ["resource_group.rg-protect-shared"]
    );
    // `rg-shared/ad-01` is named in the vault's subscription, exclusions sorted.
    let vm = resource(&d, "protected_vm.rsv-shared-weu/rg-shared/ad-01");
    assert_eq!(
        vm.attrs,
        json!({
            "vm_id": "/subscriptions/00000000-0000-0000-0000-000000000002/resourceGroups/rg-shared/providers/Microsoft.Compute/virtualMachines/ad-01",
            "policy": "daily-ad",
            "exclude_disks": [1, 3],
            "state": "protected"
        })
    );
    assert!(vm.arm_id.as_str().starts_with(shared), "{}", vm.arm_id);
    assert_eq!(
        d.subscriptions(),
        [
            "00000000-0000-0000-0000-000000000001",
            "00000000-0000-0000-0000-000000000002"
        ]
    );
}

#[test]
fn a_blocks_subscription_is_the_default_for_the_names_inside_it() {
    let d = desired(
        r#"
version: 1
subscription: 00000000-0000-0000-0000-000000000001
recovery_vaults:
  rsv-b:
    subscription: 00000000-0000-0000-0000-0000000000b0
    resource_group: rg-b
    location: westeurope
    backup_policies: {daily: {schedule: {daily: {at: "22:00"}}, retention: {daily: 7d}}}
    protect:
      - {policy: daily, select: {tags: {backup: daily}}}
site_recovery:
  dr-b:
    vault: rsv-b
    source_region: northeurope
    target_region: westeurope
    target_resource_group: rg-b-dr
    cache_storage_account: /subscriptions/00000000-0000-0000-0000-0000000000b0/resourceGroups/rg-b/providers/Microsoft.Storage/storageAccounts/cacheb
    vms: [{vm: rg-app/app-01}]
disk_backup:
  bv-c:
    subscription: 00000000-0000-0000-0000-0000000000c0
    resource_group: rg-c
    location: westeurope
    policies: {nightly: {every: 1d, start: "02:00", retention: 7d}}
    protect:
      - {policy: nightly, snapshot_resource_group: rg-snaps, disks: [rg-c/data-01]}
"#,
        None,
    );
    let b = "/subscriptions/00000000-0000-0000-0000-0000000000b0";
    let c = "/subscriptions/00000000-0000-0000-0000-0000000000c0";
    assert!(resource(&d, "recovery_vault.rsv-b")
        .arm_id
        .as_str()
        .starts_with(b));
    assert_eq!(d.selectors[0].subscription, &b["/subscriptions/".len()..]);
    let g = &d.replication_groups[0];
    assert!(g.vault_id.as_str().starts_with(b), "{}", g.vault_id);
    assert_eq!(
        g.target_resource_group_id,
        format!("{b}/resourceGroups/rg-b-dr")
    );
    assert!(g.vms[0].vm_id.starts_with(b), "{}", g.vms[0].vm_id);
    assert!(resource(&d, "backup_vault.bv-c")
        .arm_id
        .as_str()
        .starts_with(c));
    let p = &d.disk_vaults[0].protect[0];
    assert_eq!(
        p.snapshot_resource_group_id,
        format!("{c}/resourceGroups/rg-snaps")
    );
    assert!(p.disks[0].starts_with(c), "{:?}", p.disks);
}

#[test]
fn a_file_whose_every_block_names_its_subscription_needs_no_default() {
    let blocks = r#"
version: 1
resource_groups:
  rg-b: {location: westeurope, subscription: 00000000-0000-0000-0000-0000000000b0}
recovery_vaults:
  rsv-b: {subscription: 00000000-0000-0000-0000-0000000000b0, resource_group: rg-b, location: westeurope}
"#;
    let d = desired(blocks, None);
    assert_eq!(
        d.home_subscriptions(),
        ["00000000-0000-0000-0000-0000000000b0"]
    );
    // A site_recovery group takes its vault's.
    let with_group = format!(
        "{blocks}site_recovery:\n  dr-b:\n    vault: rsv-b\n    source_region: northeurope\n    target_region: westeurope\n    target_resource_group: rg-b-dr\n    cache_storage_account: /subscriptions/00000000-0000-0000-0000-0000000000b0/resourceGroups/rg-b/providers/Microsoft.Storage/storageAccounts/cacheb\n    vms: [{{vm: rg-app/app-01}}]\n"
    );
    let g = &desired(&with_group, None).replication_groups[0];
    assert!(g.vms[0]
        .vm_id
        .starts_with("/subscriptions/00000000-0000-0000-0000-0000000000b0/"));
    // One block without its own: the default is needed, and there is none.
    let loaded = config::load_sources(vec![(
        "azprotect.yaml".into(),
        format!("{blocks}  rsv-c: {{resource_group: rg-b, location: westeurope}}\n"),
    )])
    .unwrap();
    let err = loaded.desired(None).expect_err("no default subscription");
    let said = format!("{:?}", miette::Report::new(err));
    assert!(
        said.contains("no subscription: the file sets none"),
        "{said}"
    );
    // A file that declares nothing still names no subscription to plan.
    let empty =
        config::load_sources(vec![("azprotect.yaml".into(), "version: 1\n".into())]).unwrap();
    assert!(empty.desired(None).is_err());
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
            locations: vec![],
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

#[test]
fn a_disk_backup_block_becomes_a_backup_vault_versioned_policies_and_a_scope() {
    use azprotect::model::disk_backup::{policy, vault, DiskProtectSpec, DiskSelector};
    let other = "00000000-0000-0000-0000-000000000002";
    let d = desired(
        &format!(
            r#"version: 1
subscription: {SUB}
tags: {{managed-by: azprotect}}
resource_groups:
  rg-protect-weu: {{location: westeurope}}
disk_backup:
  bv-prod-weu:
    resource_group: rg-protect-weu
    location: West Europe
    soft_delete: {{state: AlwaysOn}}
    tags: {{team: storage}}
    on_remove: delete_data
    policies:
      every-4h: {{every: 4h, retention: 7d}}
      nightly: {{every: 1d, retention: 30d, start: "22:30", time_zone: W. Europe Standard Time}}
    protect:
      - policy: every-4h
        snapshot_resource_group: rg-snapshots-weu
        disks: [rg-app/app-01-data-0]
        select: {{resource_groups: [rg-db], tags: {{snapshot: 4h}}}}
      - policy: nightly
        snapshot_resource_group: /subscriptions/{other}/resourceGroups/rg-snap
        disks: [/subscriptions/{other}/resourceGroups/rg-x/providers/Microsoft.Compute/disks/x-0]
"#
        ),
        None,
    );
    let vault_id = vault::arm_id(SUB, "rg-protect-weu", "bv-prod-weu");
    let v = resource(&d, "backup_vault.bv-prod-weu");
    assert_eq!(v.arm_id, vault_id);
    assert_eq!(
        v.attrs,
        json!({"location": "westeurope", "soft_delete": {"state": "AlwaysOn"}, "system_identity": true,
               "tags": {"managed-by": "azprotect", "team": "storage"}})
    );
    assert_eq!(
        v.depends_on,
        vec!["resource_group.rg-protect-weu".parse().unwrap()]
    );

    let p4 = resource(&d, "disk_policy.bv-prod-weu/every-4h");
    assert_eq!(
        p4.attrs,
        json!({"every": "4h", "retention": "7d", "start": "00:00"})
    );
    assert_eq!(p4.arm_id, policy::arm_id(&vault_id, "every-4h", &p4.attrs));
    assert_eq!(
        p4.depends_on,
        vec!["backup_vault.bv-prod-weu".parse().unwrap()]
    );
    let nightly = resource(&d, "disk_policy.bv-prod-weu/nightly");
    assert_eq!(
        nightly.attrs.to_string(),
        json!({"every": "1d", "retention": "30d", "start": "22:30", "time_zone": "W. Europe Standard Time"}).to_string(),
        "the key order is the live normalizer's: the ARM name hashes this text"
    );
    // What the live side reads back from the policy azprotect creates is the same tree.
    let body = policy::put_request(nightly).body.unwrap();
    assert_eq!(policy::normalize(&body), Some(nightly.attrs.clone()));

    let s = &d.disk_vaults[0];
    assert_eq!(s.name, "bv-prod-weu");
    assert_eq!(s.arm_id, vault_id);
    assert_eq!(s.location, "westeurope");
    assert_eq!(s.on_remove, OnRemove::DeleteData);
    assert!(s.grant_permissions, "grant_permissions defaults to true");
    assert_eq!(s.policies["every-4h"], p4.arm_id.name());
    assert_eq!(s.policies["nightly"], nightly.arm_id.name());
    assert_eq!(s.policy_every["nightly"], "1d");
    assert_eq!(
        s.protect,
        vec![
            DiskProtectSpec {
                policy: "every-4h".into(),
                snapshot_resource_group_id: format!("/subscriptions/{SUB}/resourceGroups/rg-snapshots-weu"),
                disks: vec![format!("/subscriptions/{SUB}/resourceGroups/rg-app/providers/Microsoft.Compute/disks/app-01-data-0")],
                select: Some(DiskSelector {
                    subscription: SUB.into(),
                    resource_groups: vec!["rg-db".into()],
                    tags: [("snapshot".to_string(), "4h".to_string())].into(),
                }),
            },
            DiskProtectSpec {
                policy: "nightly".into(),
                snapshot_resource_group_id: format!("/subscriptions/{other}/resourceGroups/rg-snap"),
                disks: vec![format!("/subscriptions/{other}/resourceGroups/rg-x/providers/Microsoft.Compute/disks/x-0")],
                select: None,
            },
        ]
    );
    assert!(d.subscriptions().contains(&other.to_string()));
    // Instances and role assignments are expanded at plan time, not here.
    assert!(!d
        .resources
        .iter()
        .any(|r| r.address.to_string().starts_with("disk_backup.")));
}

#[test]
fn a_default_subscription_from_the_command_line_gets_the_same_cross_subscription_checks() {
    // The file sets no `subscription:`; `--subscription` (or AZURE_SUBSCRIPTION_ID) gives it.
    let yaml = "version: 1\nrecovery_vaults:\n  rsv-a:\n    resource_group: rg-a\n    location: westeurope\n    backup_policies: {daily: {schedule: {daily: {at: \"22:00\"}}, retention: {daily: 7d}}}\n    protect:\n      - policy: daily\n        vms: [/subscriptions/00000000-0000-0000-0000-000000000002/resourceGroups/rg-s/providers/Microsoft.Compute/virtualMachines/ad-01]\n";
    let loaded = config::load_sources(vec![("azprotect.yaml".into(), yaml.into())])
        .expect("without a default subscription nothing says where the vault is");
    let err = loaded.desired(Some(SUB)).unwrap_err();
    let messages: Vec<String> = err.diagnostics.iter().map(|d| d.to_string()).collect();
    let text = format!("{:?}", miette::Report::new(err));
    assert!(
        messages.contains(&format!(
            "VM `rg-s/ad-01` is in subscription `00000000-0000-0000-0000-000000000002`, vault `rsv-a` in `{SUB}`"
        )),
        "{messages:?}"
    );
    assert!(
        text.contains("azprotect.yaml:9:"),
        "points at the VM: {text}"
    );
    // The same VM named twice, once by `rg/name` in the default subscription and once by id.
    let twice = format!("version: 1\nrecovery_vaults:\n  rsv-a:\n    resource_group: rg-a\n    location: westeurope\n    backup_policies: {{daily: {{schedule: {{daily: {{at: \"22:00\"}}}}, retention: {{daily: 7d}}}}}}\n    protect:\n      - policy: daily\n        vms: [rg-app/app-01, /subscriptions/{SUB}/resourceGroups/rg-app/providers/Microsoft.Compute/virtualMachines/app-01]\n");
    let loaded = config::load_sources(vec![("azprotect.yaml".into(), twice)]).unwrap();
    let err = loaded.desired(Some(SUB)).unwrap_err();
    let messages: Vec<String> = err.diagnostics.iter().map(|d| d.to_string()).collect();
    assert_eq!(
        messages,
        ["VM `rg-app/app-01` is listed twice in vault `rsv-a`"]
    );
    // With the VM in the default subscription, the file plans.
    let fine = yaml.replace("0000-000000000002", &SUB[SUB.len() - 17..]);
    assert!(config::load_sources(vec![("azprotect.yaml".into(), fine)])
        .unwrap()
        .desired(Some(SUB))
        .is_ok());
}
