//! The diff engine's story: what a reviewer sees for each kind of drift, and the Azure rules
//! that turn a would-be apply failure into a blocked change at plan time.

use azprotect::live::{Elsewhere, LiveState};
use azprotect::model::{
    backup_policy, protected_vm, vault, Address, ArmId, Desired, ManagedDisk, OnRemove, Resource,
    ResourceKind, VaultScope, VirtualMachine, VmDisk, VmSelector,
};
use azprotect::plan::{
    plan, soft_delete_consulted, Action, AttrChange, DataEffect, Plan, PlanOptions,
};
use serde_json::{json, Value};

const SUB: &str = "00000000-0000-0000-0000-000000000001";

fn vault_id() -> ArmId {
    vault::arm_id(SUB, "rg-protect", "rsv")
}

fn vm(rg: &str, name: &str, location: &str, tags: &[(&str, &str)]) -> VirtualMachine {
    VirtualMachine {
        id: ArmId::new(format!("/subscriptions/{SUB}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachines/{name}")),
        name: name.into(),
        resource_group: rg.into(),
        subscription: SUB.into(),
        location: location.into(),
        tags: tags.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        data_disk_luns: vec![0, 1],
        disks: vec![],
        size: None,
    }
}

fn vault_res(attrs: Value) -> Resource {
    Resource {
        address: Address::new(ResourceKind::RecoveryVault, "rsv"),
        arm_id: vault_id(),
        attrs,
        depends_on: vec![],
    }
}

fn policy(name: &str, attrs: Value) -> Resource {
    Resource {
        address: Address::new(ResourceKind::BackupPolicy, format!("rsv/{name}")),
        arm_id: backup_policy::arm_id(&vault_id(), name),
        attrs,
        depends_on: vec![Address::new(ResourceKind::RecoveryVault, "rsv")],
    }
}

fn item(rg: &str, name: &str, policy: &str, state: &str) -> Resource {
    let vm_id = format!("/subscriptions/{SUB}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachines/{name}");
    Resource {
        address: Address::new(ResourceKind::ProtectedVm, format!("rsv/{rg}/{name}")),
        arm_id: protected_vm::arm_id(&vault_id(), rg, name),
        attrs: json!({"vm_id": vm_id, "policy": policy, "state": state}),
        depends_on: vec![Address::new(
            ResourceKind::BackupPolicy,
            format!("rsv/{policy}"),
        )],
    }
}

fn gold() -> Value {
    json!({"tier": "standard", "schedule": {"daily": {"at": "23:00"}}, "time_zone": "UTC",
           "consistency": "application", "instant_restore_days": 2, "retention": {"daily": "14d"}})
}

fn desired(resources: Vec<Resource>, on_remove: OnRemove) -> Desired {
    Desired {
        subscription: SUB.into(),
        resources,
        selectors: vec![],
        vaults: vec![VaultScope {
            name: "rsv".into(),
            arm_id: vault_id(),
            location: "westeurope".into(),
            on_remove,
            restore_drill: None,
        }],
        replication_groups: vec![],
        disk_vaults: vec![],
    }
}

fn live(resources: Vec<Resource>) -> LiveState {
    LiveState {
        resources,
        vms: vec![
            vm("rg-app", "app-01", "westeurope", &[("backup", "gold")]),
            vm("rg-app", "app-02", "westeurope", &[]),
            vm("rg-neu", "far-01", "northeurope", &[("backup", "gold")]),
        ],
        ..LiveState::default()
    }
}

fn converged() -> (Vec<Resource>, Vec<Resource>) {
    let want = vec![
        vault_res(json!({"location": "westeurope", "storage_redundancy": "GeoRedundant"})),
        policy("gold", gold()),
        item("rg-app", "app-01", "gold", "protected"),
    ];
    let mut have = want.clone();
    have[0].attrs = json!({"location": "westeurope", "storage_redundancy": "GeoRedundant", "cross_region_restore": false,
                           "soft_delete": {"state": "On", "retention_days": 14}, "immutability": "Disabled", "tags": {"owner": "ops"}});
    (want, have)
}

#[test]
fn an_unchanged_estate_plans_no_changes() {
    let (want, have) = converged();
    let p = plan(
        &desired(want, OnRemove::RetainData),
        &live(have),
        &PlanOptions::default(),
    );
    assert!(p.is_empty(), "{:#?}", p.changes);
}

#[test]
fn a_policy_edited_behind_our_back_shows_as_exactly_that_update() {
    let (want, mut have) = converged();
    have[1].attrs["retention"]["daily"] = json!("30d");
    let p = plan(
        &desired(want, OnRemove::RetainData),
        &live(have),
        &PlanOptions::default(),
    );
    assert_eq!(p.changes.len(), 1);
    let c = &p.changes[0];
    assert_eq!(c.address.to_string(), "backup_policy.rsv/gold");
    assert_eq!(c.action, Action::Update);
    assert_eq!(
        c.diff,
        vec![AttrChange {
            path: "retention.daily".into(),
            before: Some(json!("30d")),
            after: Some(json!("14d"))
        }]
    );
    assert!(c.blocked.is_none());
}

#[test]
fn a_vm_removed_from_the_file_is_stopped_with_data_retained_and_then_plans_empty() {
    let (mut want, have) = converged();
    want.pop();
    let d = desired(want, OnRemove::RetainData);
    let p = plan(&d, &live(have.clone()), &PlanOptions::default());
    assert_eq!(p.changes.len(), 1);
    assert_eq!(p.changes[0].action, Action::Delete);
    assert_eq!(p.changes[0].data, Some(DataEffect::Retained));
    assert!(!p.loses_data());

    let mut after = have;
    after[2].attrs["state"] = json!("stopped");
    assert!(plan(&d, &live(after), &PlanOptions::default()).is_empty());
}

#[test]
fn delete_data_on_remove_is_a_data_loss_the_plan_says_so() {
    let (mut want, have) = converged();
    want.pop();
    let p = plan(
        &desired(want, OnRemove::DeleteData),
        &live(have),
        &PlanOptions::default(),
    );
    assert_eq!(p.changes[0].data, Some(DataEffect::Deleted));
    assert!(p.loses_data());
}

#[test]
fn the_vault_soft_delete_is_read_where_the_file_sets_it_or_the_plan_deletes_backup_data() {
    // Soft delete is one GET per vault (vaultconfig): read only where the plan consults it.
    let (mut want, have) = converged();
    want.pop();
    let retained = desired(want.clone(), OnRemove::RetainData);
    let p = plan(&retained, &live(have.clone()), &PlanOptions::default());
    assert!(soft_delete_consulted(&retained, Some(&p)).is_empty());
    let deleting = desired(want.clone(), OnRemove::DeleteData);
    assert!(soft_delete_consulted(&deleting, None).is_empty());
    let p = plan(&deleting, &live(have), &PlanOptions::default());
    let vaults: Vec<ArmId> = soft_delete_consulted(&deleting, Some(&p))
        .into_iter()
        .collect();
    assert_eq!(vaults, vec![vault_id()]);
    want[0].attrs["soft_delete"] = json!({"state": "On", "retention_days": 14});
    let sets = desired(want, OnRemove::RetainData);
    let vaults: Vec<ArmId> = soft_delete_consulted(&sets, None).into_iter().collect();
    assert_eq!(vaults, vec![vault_id()]);
}

/// The plan of `want` against `have`, whose first change — the vault's — is blocked saying `why`.
fn vault_blocked(want: Vec<Resource>, have: Vec<Resource>, why: &str) -> Plan {
    let p = plan(
        &desired(want, OnRemove::RetainData),
        &live(have),
        &PlanOptions::default(),
    );
    let c = &p.changes[0];
    assert_eq!(c.address.to_string(), "recovery_vault.rsv");
    assert!(
        c.blocked.as_deref().is_some_and(|b| b.contains(why)),
        "{c:?}"
    );
    p
}

#[test]
fn storage_redundancy_is_blocked_once_items_are_protected() {
    let (mut want, have) = converged();
    want[0].attrs["storage_redundancy"] = json!("LocallyRedundant");
    let p = vault_blocked(want, have, "storage redundancy is locked");
    assert_eq!(p.summary.blocked, 1);
}

#[test]
fn cross_region_restore_cannot_be_turned_off_and_locked_immutability_is_final() {
    let (mut want, mut have) = converged();
    have[0].attrs["cross_region_restore"] = json!(true);
    have[0].attrs["immutability"] = json!("Locked");
    want[0].attrs["cross_region_restore"] = json!(false);
    want[0].attrs["immutability"] = json!("Unlocked");
    let p = plan(
        &desired(want, OnRemove::RetainData),
        &live(have),
        &PlanOptions::default(),
    );
    assert!(p.changes[0].blocked.is_some());
}

#[test]
fn an_empty_vault_with_cross_region_restore_keeps_geo_redundant_storage() {
    // Nothing protected yet, so redundancy alone could change; but cross-region restore, which
    // the file leaves out, stays on and needs GeoRedundant (Azure:
    // BMSUserErrorCrossRegionRestoreNotSupported at apply).
    let (mut want, mut have) = converged();
    want.truncate(2);
    have.truncate(2);
    have[0].attrs["cross_region_restore"] = json!(true);
    want[0].attrs["storage_redundancy"] = json!("ZoneRedundant");
    vault_blocked(want, have, "cross-region restore is enabled");
}

#[test]
fn a_vm_in_another_region_or_another_vault_is_blocked_at_plan_time() {
    let (mut want, have) = converged();
    want.push(item("rg-neu", "far-01", "gold", "protected"));
    want.push(item("rg-app", "app-02", "gold", "protected"));
    let mut l = live(have);
    l.protected_elsewhere.insert(
        l.vms[1].id.as_str().to_ascii_lowercase(),
        Elsewhere {
            vault: vault::arm_id(SUB, "rg-x", "rsv-other"),
            state: "protected".into(),
        },
    );
    let p = plan(
        &desired(want, OnRemove::RetainData),
        &l,
        &PlanOptions::default(),
    );
    let far = p
        .changes
        .iter()
        .find(|c| c.address.to_string() == "protected_vm.rsv/rg-neu/far-01")
        .unwrap();
    assert!(far.blocked.as_deref().unwrap().contains("northeurope"));
    let other = p
        .changes
        .iter()
        .find(|c| c.address.to_string() == "protected_vm.rsv/rg-app/app-02")
        .unwrap();
    assert!(other.blocked.as_deref().unwrap().contains("rsv-other"));
}

#[test]
fn a_stopped_item_declared_again_is_resumed_with_a_reason() {
    let (want, mut have) = converged();
    have[2].attrs["state"] = json!("stopped");
    let p = plan(
        &desired(want, OnRemove::RetainData),
        &live(have),
        &PlanOptions::default(),
    );
    assert_eq!(p.changes.len(), 1);
    assert_eq!(p.changes[0].action, Action::Update);
    assert!(p.changes[0].reasons[0].contains("resumes protection"));
}

#[test]
fn enhanced_to_standard_is_blocked() {
    let (mut want, mut have) = converged();
    have[1].attrs["tier"] = json!("enhanced");
    want[1].attrs["tier"] = json!("standard");
    let p = plan(
        &desired(want, OnRemove::RetainData),
        &live(have),
        &PlanOptions::default(),
    );
    assert!(p.changes.iter().any(|c| c
        .blocked
        .as_deref()
        .is_some_and(|b| b.contains("downgraded"))));
}

#[test]
fn moving_vms_to_a_new_policy_orders_the_old_policys_delete_after_them() {
    let (mut want, have) = converged();
    want[1] = policy("silver", gold());
    want[2] = item("rg-app", "app-01", "silver", "protected");
    let p = plan(
        &desired(want, OnRemove::RetainData),
        &live(have),
        &PlanOptions::default(),
    );
    let by = |a: &str| {
        p.changes
            .iter()
            .find(|c| c.address.to_string() == a)
            .unwrap()
    };
    assert_eq!(by("backup_policy.rsv/silver").action, Action::Create);
    let vm = by("protected_vm.rsv/rg-app/app-01");
    assert_eq!(vm.action, Action::Update);
    assert_eq!(
        vm.depends_on,
        vec!["backup_policy.rsv/silver".parse::<Address>().unwrap()]
    );
    let old = by("backup_policy.rsv/gold");
    assert_eq!(old.action, Action::Delete);
    assert_eq!(
        old.depends_on,
        vec!["protected_vm.rsv/rg-app/app-01".parse::<Address>().unwrap()]
    );
}

#[test]
fn selectors_pick_live_vms_by_tag_in_the_vaults_region_and_targets_narrow_the_plan() {
    let (want, have) = converged();
    let want_all = want.clone();
    let mut d = desired(want, OnRemove::RetainData);
    d.selectors.push(VmSelector {
        vault: "rsv".into(),
        policy: "gold".into(),
        subscription: SUB.into(),
        resource_groups: vec![],
        tags: [("Backup".to_string(), "gold".to_string())].into(),
        exclude_disks: vec![1],
        locations: vec![],
    });
    let p = plan(&d, &live(have), &PlanOptions::default());
    let addrs: Vec<String> = p.changes.iter().map(|c| c.address.to_string()).collect();
    // app-01 is already listed explicitly (explicit entries win); far-01 matches the tag but is
    // in another region, which this vault cannot protect: a selector does not pick it.
    assert!(addrs.is_empty(), "{addrs:?}");
    d.selectors[0].tags = [("backup".to_string(), "other".to_string())].into();
    d.selectors[0].resource_groups = vec!["RG-APP".into()];
    let p = plan(&d, &live(converged().1), &PlanOptions::default());
    let addrs: Vec<String> = p.changes.iter().map(|c| c.address.to_string()).collect();
    assert!(addrs.is_empty(), "no VM has backup=other: {addrs:?}");
    d.selectors[0].tags.clear();
    let p = plan(&d, &live(converged().1), &PlanOptions::default());
    let addrs: Vec<String> = p.changes.iter().map(|c| c.address.to_string()).collect();
    assert_eq!(addrs, vec!["protected_vm.rsv/rg-app/app-02"]);
    assert_eq!(
        p.changes[0].after.as_ref().unwrap()["exclude_disks"],
        json!([1])
    );

    let mut extra = want_all;
    extra.push(item("rg-app", "app-02", "gold", "protected"));
    extra[1].attrs["retention"]["daily"] = json!("21d");
    let d2 = desired(extra, OnRemove::RetainData);
    let t = plan(
        &d2,
        &live(converged().1),
        &PlanOptions {
            targets: vec!["protected_vm.rsv/rg-app/app-02".parse().unwrap()],
        },
    );
    let addrs: Vec<String> = t.changes.iter().map(|c| c.address.to_string()).collect();
    assert_eq!(
        addrs,
        vec!["backup_policy.rsv/gold", "protected_vm.rsv/rg-app/app-02"],
        "a target brings what it depends on"
    );
}

// ---------------------------------------------------------------- regressions found by
// tests/plan_invariants.rs (each was a plan that failed at apply or never converged)

fn change<'a>(p: &'a azprotect::plan::Plan, addr: &str) -> &'a azprotect::plan::Change {
    p.changes
        .iter()
        .find(|c| c.address.to_string() == addr)
        .unwrap_or_else(|| panic!("no change for {addr}: {:#?}", p.changes))
}

fn addrs(v: &[&str]) -> Vec<Address> {
    v.iter().map(|a| a.parse().unwrap()).collect()
}

#[test]
fn a_policy_delete_waits_for_its_items_even_when_azure_reports_their_ids_in_another_case() {
    // Azure returned the VM id as …/resourceGroups/RG-APP/…/APP-01, so the live item's address
    // is `protected_vm.rsv/RG-APP/APP-01` while the file's is `protected_vm.rsv/rg-app/app-01`.
    // The old policy's delete did not wait for the item to move: Azure refuses to delete a
    // policy in use.
    let (mut want, mut have) = converged();
    want[1] = policy("silver", gold());
    want[2] = item("rg-app", "app-01", "silver", "protected");
    have[2] = item("RG-APP", "APP-01", "gold", "protected");
    let p = plan(
        &desired(want, OnRemove::RetainData),
        &live(have),
        &PlanOptions::default(),
    );
    assert_eq!(
        change(&p, "protected_vm.rsv/rg-app/app-01").action,
        Action::Update
    );
    assert_eq!(
        change(&p, "backup_policy.rsv/gold").depends_on,
        addrs(&["protected_vm.rsv/rg-app/app-01"])
    );
}

#[test]
fn deleting_backup_data_in_an_immutable_vault_is_blocked() {
    // Azure: UserErrorDeleteBackupItemOnImmutableItem, for Unlocked and Locked vaults alike.
    for state in ["Unlocked", "Locked"] {
        let (mut want, mut have) = converged();
        have[0].attrs["immutability"] = json!(state);
        want.pop();
        let p = plan(
            &desired(want, OnRemove::DeleteData),
            &live(have),
            &PlanOptions::default(),
        );
        let c = change(&p, "protected_vm.rsv/rg-app/app-01");
        assert_eq!(c.data, Some(DataEffect::Deleted));
        assert!(
            c.blocked
                .as_deref()
                .is_some_and(|b| b.contains("UserErrorDeleteBackupItemOnImmutableItem")),
            "{state}: {c:?}"
        );
    }
}

#[test]
fn deleting_data_after_disabling_an_unlocked_vaults_immutability_waits_for_the_vault() {
    let (mut want, mut have) = converged();
    have[0].attrs["immutability"] = json!("Unlocked");
    want[0].attrs["immutability"] = json!("Disabled");
    want.pop();
    let p = plan(
        &desired(want, OnRemove::DeleteData),
        &live(have),
        &PlanOptions::default(),
    );
    let c = change(&p, "protected_vm.rsv/rg-app/app-01");
    assert!(c.blocked.is_none(), "{c:?}");
    assert_eq!(c.depends_on, addrs(&["recovery_vault.rsv"]));
}

#[test]
fn suspending_backups_waits_for_the_vault_update_that_makes_it_immutable() {
    let (mut want, have) = converged();
    want[0].attrs["immutability"] = json!("Unlocked");
    want.pop();
    let p = plan(
        &desired(want, OnRemove::Suspend),
        &live(have),
        &PlanOptions::default(),
    );
    let c = change(&p, "protected_vm.rsv/rg-app/app-01");
    assert_eq!(c.data, Some(DataEffect::Suspended));
    assert!(c.blocked.is_none(), "{c:?}");
    assert_eq!(c.depends_on, addrs(&["recovery_vault.rsv"]));
}

#[test]
fn deleting_data_waits_for_the_soft_delete_the_plan_promises() {
    // The plan tells the reviewer whether deleted data stays recoverable by the file's soft
    // delete: turning it on and deleting in the same apply must not race (a CI seed found the
    // sandbox purging items that the plan said would be soft-deleted).
    let (mut want, mut have) = converged();
    have[0].attrs["soft_delete"] = json!({"state": "Off", "retention_days": 14});
    want[0].attrs["soft_delete"] = json!({"state": "AlwaysOn"});
    want.pop();
    let p = plan(
        &desired(want.clone(), OnRemove::DeleteData),
        &live(have.clone()),
        &PlanOptions::default(),
    );
    let c = change(&p, "protected_vm.rsv/rg-app/app-01");
    assert_eq!(c.data, Some(DataEffect::Deleted));
    assert_eq!(c.depends_on, addrs(&["recovery_vault.rsv"]));
    // Keeping the data does not depend on soft delete: the stop does not wait.
    let p = plan(
        &desired(want, OnRemove::RetainData),
        &live(have),
        &PlanOptions::default(),
    );
    assert!(change(&p, "protected_vm.rsv/rg-app/app-01")
        .depends_on
        .is_empty());
}

#[test]
fn a_first_item_waits_for_the_storage_redundancy_change_it_would_lock() {
    // An empty vault may still change redundancy, but not once the first VM is registered
    // (StorageModelModifyError): the new item is protected after the vault update.
    let (mut want, mut have) = converged();
    have.pop();
    want[0].attrs["storage_redundancy"] = json!("LocallyRedundant");
    let p = plan(
        &desired(want, OnRemove::RetainData),
        &live(have),
        &PlanOptions::default(),
    );
    assert!(change(&p, "recovery_vault.rsv").blocked.is_none());
    let c = change(&p, "protected_vm.rsv/rg-app/app-01");
    assert_eq!(c.action, Action::Create);
    assert_eq!(c.depends_on, addrs(&["recovery_vault.rsv"]));
}

#[test]
fn immutability_goes_from_disabled_to_locked_only_through_unlocked() {
    // Azure locks only an Unlocked vault. Locking is irreversible, so the plan does not take
    // both steps at once: it blocks with the way forward.
    let (mut want, have) = converged();
    want[0].attrs["immutability"] = json!("Locked");
    let p = plan(
        &desired(want.clone(), OnRemove::RetainData),
        &live(have.clone()),
        &PlanOptions::default(),
    );
    let c = change(&p, "recovery_vault.rsv");
    assert!(
        c.blocked
            .as_deref()
            .is_some_and(|b| b.contains("set immutability: Unlocked")),
        "{c:?}"
    );
    let mut unlocked = have;
    unlocked[0].attrs["immutability"] = json!("Unlocked");
    let p = plan(
        &desired(want, OnRemove::RetainData),
        &live(unlocked),
        &PlanOptions::default(),
    );
    let c = change(&p, "recovery_vault.rsv");
    assert!(c.blocked.is_none(), "{c:?}");
    assert!(c.reasons.iter().any(|r| r.contains("cannot be undone")));
}

// ---------------------------------------------------------------- rules (Azure facts, §3 of
// azure-behaviour.md and the prior-art pain points)

#[test]
fn a_soft_deleted_vm_declared_again_is_undeleted_then_protected() {
    // Prior art: azurerm errors on create over a soft-deleted item unless a feature flag is set.
    let (want, mut have) = converged();
    have[2].attrs = json!({"vm_id": have[2].attrs["vm_id"], "policy": "", "exclude_disks": [1], "state": "soft_deleted"});
    let p = plan(
        &desired(want, OnRemove::RetainData),
        &live(have),
        &PlanOptions::default(),
    );
    assert_eq!(p.changes.len(), 1);
    let c = &p.changes[0];
    assert_eq!(c.action, Action::Update);
    assert!(c.blocked.is_none());
    assert!(c.reasons[0].contains("undeletes"));
    let reqs = azprotect::apply::requests_for(c).unwrap();
    assert_eq!(reqs.len(), 2, "{reqs:#?}");
    let (undelete, protect) = (&reqs[0], &reqs[1]);
    assert_eq!(undelete.method, azprotect::model::Method::Put);
    assert_eq!(
        undelete.body.as_ref().unwrap()["properties"]["isRehydrate"],
        true
    );
    assert!(undelete.path.starts_with(c.arm_id.as_str()));
    let props = &protect.body.as_ref().unwrap()["properties"];
    assert_eq!(protect.path, undelete.path);
    assert!(props["policyId"]
        .as_str()
        .unwrap()
        .ends_with("/backupPolicies/gold"));
    // The live item's exclusion list is reset: the file excludes nothing.
    assert_eq!(
        props["extendedProperties"]["diskExclusionProperties"]["diskLunList"],
        json!([])
    );
}

#[test]
fn items_in_protection_error_ir_pending_or_paused_count_as_protected() {
    // Prior art: azurerm suppresses the IRPending/ProtectionPaused → Protected diff by hand.
    let (want, mut have) = converged();
    for state in [
        "IRPending",
        "ProtectionError",
        "ProtectionPaused",
        "Protected",
    ] {
        let arm = json!({
            "id": have[2].arm_id.as_str(),
            "properties": {
                "protectedItemType": "Microsoft.Compute/virtualMachines",
                "sourceResourceId": have[2].attrs["vm_id"],
                "policyId": backup_policy::arm_id(&vault_id(), "gold").as_str(),
                "protectionState": state,
                "isScheduledForDeferredDelete": false
            }
        });
        have[2].attrs = protected_vm::normalize(&arm).unwrap().1;
        let p = plan(
            &desired(want.clone(), OnRemove::RetainData),
            &live(have.clone()),
            &PlanOptions::default(),
        );
        assert!(p.is_empty(), "{state}: {:#?}", p.changes);
    }
}

#[test]
fn an_immutable_vault_refuses_shorter_retention_in_a_policy() {
    // Immutable vaults (Unlocked or Locked) only allow retention increases.
    let (mut want, mut have) = converged();
    have[0].attrs["immutability"] = json!("Unlocked");
    have[1].attrs["retention"]["daily"] = json!("30d");
    want[1].attrs["retention"]["daily"] = json!("14d");
    let p = plan(
        &desired(want.clone(), OnRemove::RetainData),
        &live(have.clone()),
        &PlanOptions::default(),
    );
    let c = change(&p, "backup_policy.rsv/gold");
    assert!(
        c.blocked
            .as_deref()
            .is_some_and(|b| b.contains("UserErrorRetentionReductionNotAllowed")
                && b.contains("retention.daily 30d → 14d")),
        "{c:?}"
    );
    // Longer retention is fine; and so is a shorter one once the file disables immutability
    // (the vault's PATCH goes first).
    want[1].attrs["retention"]["daily"] = json!("60d");
    let p = plan(
        &desired(want.clone(), OnRemove::RetainData),
        &live(have.clone()),
        &PlanOptions::default(),
    );
    assert!(change(&p, "backup_policy.rsv/gold").blocked.is_none());
    want[1].attrs["retention"]["daily"] = json!("14d");
    want[0].attrs["immutability"] = json!("Disabled");
    let p = plan(
        &desired(want, OnRemove::RetainData),
        &live(have),
        &PlanOptions::default(),
    );
    let c = change(&p, "backup_policy.rsv/gold");
    assert!(c.blocked.is_none(), "{c:?}");
    assert_eq!(c.depends_on, addrs(&["recovery_vault.rsv"]));
}

#[test]
fn an_immutable_vault_refuses_moving_a_vm_to_a_policy_with_shorter_retention() {
    let (mut want, mut have) = converged();
    have[0].attrs["immutability"] = json!("Locked");
    let mut short = gold();
    short["retention"]["daily"] = json!("7d");
    want.push(policy("short", short.clone()));
    have.push(policy("short", short));
    want[2] = item("rg-app", "app-01", "short", "protected");
    let p = plan(
        &desired(want, OnRemove::RetainData),
        &live(have),
        &PlanOptions::default(),
    );
    let c = change(&p, "protected_vm.rsv/rg-app/app-01");
    assert!(
        c.blocked
            .as_deref()
            .is_some_and(|b| b.contains("gold → short")),
        "{c:?}"
    );
}

#[test]
fn a_suspended_vm_moved_to_a_declared_policy_does_not_block_the_old_policys_delete() {
    // The old policy is in use only until the VM moves; the delete waits for the move.
    let (mut want, mut have) = converged();
    have[0].attrs["immutability"] = json!("Unlocked");
    have[2].attrs["state"] = json!("suspended");
    want[1] = policy("silver", gold());
    want[2] = item("rg-app", "app-01", "silver", "protected");
    let p = plan(
        &desired(want, OnRemove::Suspend),
        &live(have),
        &PlanOptions::default(),
    );
    let old = change(&p, "backup_policy.rsv/gold");
    assert_eq!(old.action, Action::Delete);
    assert!(old.blocked.is_none(), "{old:?}");
    assert_eq!(old.depends_on, addrs(&["protected_vm.rsv/rg-app/app-01"]));
}

#[test]
fn a_policy_still_used_by_a_suspended_vm_that_leaves_the_file_cannot_be_deleted() {
    let (mut want, mut have) = converged();
    have[0].attrs["immutability"] = json!("Unlocked");
    want.truncate(1);
    have[2].attrs["state"] = json!("suspended");
    let p = plan(
        &desired(want, OnRemove::Suspend),
        &live(have),
        &PlanOptions::default(),
    );
    assert!(change(&p, "backup_policy.rsv/gold")
        .blocked
        .as_deref()
        .is_some_and(|b| b.contains("in use")));
}

#[test]
fn cross_region_restore_needs_geo_redundant_storage() {
    let (mut want, mut have) = converged();
    have[0].attrs["storage_redundancy"] = json!("LocallyRedundant");
    want[0].attrs = json!({"location": "westeurope", "cross_region_restore": true});
    let p = plan(
        &desired(want.clone(), OnRemove::RetainData),
        &live(have.clone()),
        &PlanOptions::default(),
    );
    assert!(change(&p, "recovery_vault.rsv")
        .blocked
        .as_deref()
        .is_some_and(|b| b.contains("GeoRedundant")));
    have[0].attrs["storage_redundancy"] = json!("GeoRedundant");
    let p = plan(
        &desired(want, OnRemove::RetainData),
        &live(have),
        &PlanOptions::default(),
    );
    assert!(change(&p, "recovery_vault.rsv").blocked.is_none());
}

#[test]
fn soft_delete_always_on_is_final_whatever_order_the_file_gives_its_keys() {
    let (mut want, mut have) = converged();
    have[0].attrs["soft_delete"] = json!({"state": "AlwaysOn", "retention_days": 14});
    // retention_days first: the rule must look at the state, not at the first changed key.
    want[0].attrs["soft_delete"] = json!({"retention_days": 30, "state": "On"});
    let p = plan(
        &desired(want.clone(), OnRemove::RetainData),
        &live(have.clone()),
        &PlanOptions::default(),
    );
    assert!(change(&p, "recovery_vault.rsv")
        .blocked
        .as_deref()
        .is_some_and(|b| b.contains("AlwaysOn")));
    // Retention days alone may still change.
    want[0].attrs["soft_delete"] = json!({"retention_days": 30});
    let p = plan(
        &desired(want, OnRemove::RetainData),
        &live(have),
        &PlanOptions::default(),
    );
    assert!(change(&p, "recovery_vault.rsv").blocked.is_none());
}

#[test]
fn the_live_fingerprint_ignores_the_order_azure_lists_things_in() {
    let (_, have) = converged();
    let a = live(have.clone());
    let mut b = live(have.into_iter().rev().collect());
    b.vms.reverse();
    // Tags in another order.
    b.resources
        .iter_mut()
        .find(|r| r.address.kind == ResourceKind::RecoveryVault)
        .unwrap()
        .attrs["tags"] = json!({"z": "1", "owner": "ops"});
    let mut a2 = a.clone();
    a2.resources
        .iter_mut()
        .find(|r| r.address.kind == ResourceKind::RecoveryVault)
        .unwrap()
        .attrs["tags"] = json!({"owner": "ops", "z": "1"});
    assert_eq!(a2.fingerprint(), b.fingerprint());
    assert_ne!(a.fingerprint(), b.fingerprint(), "a real change is seen");
}

#[test]
fn a_policy_and_tags_azure_spells_in_another_case_plan_no_changes() {
    // The portal created `Gold` and the tag `Managed-By`; the file says `gold` and `managed-by`.
    // ARM names and tag names are case-insensitive and Azure keeps its spelling: updating them
    // would never converge.
    let (mut want, mut have) = converged();
    want[0].attrs["tags"] = json!({"managed-by": "azprotect"});
    have[0].attrs["tags"] = json!({"Managed-By": "azprotect", "owner": "ops"});
    have[1] = policy("Gold", gold());
    have[2] = item("rg-app", "app-01", "Gold", "protected");
    let p = plan(
        &desired(want.clone(), OnRemove::RetainData),
        &live(have.clone()),
        &PlanOptions::default(),
    );
    assert!(p.is_empty(), "{:#?}", p.changes);
    // A real change still shows, once.
    want[0].attrs["tags"] = json!({"managed-by": "terraform"});
    let p = plan(
        &desired(want, OnRemove::RetainData),
        &live(have),
        &PlanOptions::default(),
    );
    assert_eq!(p.changes.len(), 1);
    assert_eq!(p.changes[0].diff.len(), 1, "{:#?}", p.changes[0].diff);
}

#[test]
fn a_vm_listed_for_one_vault_is_not_picked_by_another_vaults_selector() {
    // Explicit entries win over selectors in every vault, not only in their own: otherwise a
    // tag selector in the second vault picks the VM too and the plan is blocked for good.
    let (want, have) = converged();
    let second = vault::arm_id(SUB, "rg-protect", "rsv2");
    let mut d = desired(want, OnRemove::RetainData);
    d.resources.push(Resource {
        address: Address::new(ResourceKind::RecoveryVault, "rsv2"),
        arm_id: second.clone(),
        attrs: json!({"location": "westeurope"}),
        depends_on: vec![],
    });
    d.resources.push(Resource {
        address: Address::new(ResourceKind::BackupPolicy, "rsv2/gold"),
        arm_id: backup_policy::arm_id(&second, "gold"),
        attrs: gold(),
        depends_on: vec![Address::new(ResourceKind::RecoveryVault, "rsv2")],
    });
    d.vaults.push(VaultScope {
        name: "rsv2".into(),
        arm_id: second,
        location: "westeurope".into(),
        on_remove: OnRemove::RetainData,
        restore_drill: None,
    });
    d.selectors.push(VmSelector {
        vault: "rsv2".into(),
        policy: "gold".into(),
        subscription: SUB.into(),
        resource_groups: vec![],
        tags: [("backup".to_string(), "gold".to_string())].into(),
        exclude_disks: vec![],
        locations: vec![],
    });
    let p = plan(&d, &live(have), &PlanOptions::default());
    let addrs: Vec<String> = p.changes.iter().map(|c| c.address.to_string()).collect();
    // app-01 (backup=gold) is listed for rsv; far-01 is in another region: nothing to select.
    assert_eq!(
        addrs,
        vec!["recovery_vault.rsv2", "backup_policy.rsv2/gold"]
    );
    assert_eq!(p.summary.blocked, 0);
}

#[test]
fn a_vm_soft_deleted_in_another_declared_vault_says_how_to_get_it_back() {
    let (mut want, mut have) = converged();
    have[2].attrs["state"] = json!("soft_deleted");
    have[2].attrs["policy"] = json!("");
    let second = vault::arm_id(SUB, "rg-protect", "rsv2");
    // The file now wants app-01 in rsv2 (declared, created by this plan), not in rsv.
    want.pop();
    let mut d = desired(want, OnRemove::RetainData);
    d.resources.push(Resource {
        address: Address::new(ResourceKind::RecoveryVault, "rsv2"),
        arm_id: second.clone(),
        attrs: json!({"location": "westeurope"}),
        depends_on: vec![],
    });
    d.resources.push(Resource {
        address: Address::new(ResourceKind::BackupPolicy, "rsv2/gold"),
        arm_id: backup_policy::arm_id(&second, "gold"),
        attrs: gold(),
        depends_on: vec![Address::new(ResourceKind::RecoveryVault, "rsv2")],
    });
    d.resources.push(Resource {
        address: Address::new(ResourceKind::ProtectedVm, "rsv2/rg-app/app-01"),
        arm_id: protected_vm::arm_id(&second, "rg-app", "app-01"),
        attrs: json!({"vm_id": have[2].attrs["vm_id"], "policy": "gold", "state": "protected"}),
        depends_on: vec![Address::new(ResourceKind::BackupPolicy, "rsv2/gold")],
    });
    d.vaults.push(VaultScope {
        name: "rsv2".into(),
        arm_id: second,
        location: "westeurope".into(),
        on_remove: OnRemove::RetainData,
        restore_drill: None,
    });
    let p = plan(&d, &live(have), &PlanOptions::default());
    let c = change(&p, "protected_vm.rsv2/rg-app/app-01");
    let why = c.blocked.as_deref().unwrap();
    assert!(
        why.contains("soft-deleted") && why.contains("undeleted"),
        "{why}"
    );
}

#[test]
fn deleting_data_in_a_soft_delete_vault_says_it_stays_recoverable() {
    let (mut want, have) = converged();
    want.pop();
    let p = plan(
        &desired(want, OnRemove::DeleteData),
        &live(have),
        &PlanOptions::default(),
    );
    let c = change(&p, "protected_vm.rsv/rg-app/app-01");
    assert_eq!(c.data, Some(DataEffect::Deleted));
    assert!(c.reasons.iter().any(|r| r.contains("soft delete")), "{c:?}");
}

#[test]
fn a_policy_schedule_edit_moves_every_retention_time_and_keeps_the_time_zone() {
    // Prior art 14: azurerm#27619 (changing the backup time fails because monthly retention
    // times still name the old time) and azure-powershell#21975 (time zone reset to UTC on
    // update). The PUT is whole and consistent.
    let (mut want, mut have) = converged();
    let full = json!({"tier": "standard", "schedule": {"daily": {"at": "23:00"}}, "time_zone": "W. Europe Standard Time",
        "consistency": "application", "instant_restore_days": 2,
        "retention": {"daily": "14d", "weekly": {"keep": 4, "on": ["Sunday"]},
                      "monthly": {"keep": 12, "week": "First", "on": "Sunday"},
                      "yearly": {"keep": 3, "month": "January", "week": "First", "on": "Sunday"}}});
    have[1].attrs = full.clone();
    want[1].attrs = full;
    want[1].attrs["schedule"]["daily"]["at"] = json!("01:30");
    let p = plan(
        &desired(want, OnRemove::RetainData),
        &live(have),
        &PlanOptions::default(),
    );
    let c = change(&p, "backup_policy.rsv/gold");
    assert_eq!(c.diff.len(), 1, "{:?}", c.diff);
    let reqs = azprotect::apply::requests_for(c).unwrap();
    assert_eq!(reqs.len(), 1);
    let props = &reqs[0].body.as_ref().unwrap()["properties"];
    assert_eq!(props["timeZone"], "W. Europe Standard Time");
    assert_eq!(
        props["schedulePolicy"]["scheduleRunTimes"],
        json!(["2018-01-24T01:30:00Z"])
    );
    for tier in [
        "dailySchedule",
        "weeklySchedule",
        "monthlySchedule",
        "yearlySchedule",
    ] {
        assert_eq!(
            props["retentionPolicy"][tier]["retentionTimes"],
            json!(["2018-01-24T01:30:00Z"]),
            "{tier}"
        );
    }
}

#[test]
fn a_policy_no_vm_uses_changes_tier_by_replacement() {
    // CONFIG.md: immutable fields force a replacement only where Azure allows one. A policy
    // holds no backup data: with no VM on it, -/+ is safe; with VMs on it, it stays blocked.
    let (mut want, mut have) = converged();
    want.pop();
    have[2].attrs["state"] = json!("stopped");
    have[2].attrs["policy"] = json!("");
    want[1].attrs["tier"] = json!("enhanced");
    want[1].attrs["instant_restore_days"] = json!(7);
    let p = plan(
        &desired(want.clone(), OnRemove::RetainData),
        &live(have.clone()),
        &PlanOptions::default(),
    );
    let c = change(&p, "backup_policy.rsv/gold");
    assert_eq!(c.action, Action::Replace);
    assert!(c.blocked.is_none());
    assert!(!p.loses_data());
    let reqs = azprotect::apply::requests_for(c).unwrap();
    let methods: Vec<_> = reqs.iter().map(|r| r.method).collect();
    assert_eq!(
        methods,
        vec![
            azprotect::model::Method::Delete,
            azprotect::model::Method::Put
        ]
    );
    // A VM on the policy: blocked, as before.
    have[2].attrs["state"] = json!("protected");
    have[2].attrs["policy"] = json!("gold");
    let p = plan(
        &desired(want, OnRemove::RetainData),
        &live(have),
        &PlanOptions::default(),
    );
    let c = change(&p, "backup_policy.rsv/gold");
    assert!(
        c.blocked.as_deref().is_some_and(|b| b.contains("1 VM(s)")),
        "{c:?}"
    );
}

#[test]
fn targeting_a_vm_does_not_pull_in_an_unrelated_blocked_vault_change() {
    // The item waits for its vault only for what it depends on (creation, storage redundancy,
    // immutability): a blocked cross-region-restore change stays out of `--target` of a VM.
    let (mut want, mut have) = converged();
    have[0].attrs["cross_region_restore"] = json!(true);
    want[0].attrs["cross_region_restore"] = json!(false);
    want.push(item("rg-app", "app-02", "gold", "protected"));
    let d = desired(want, OnRemove::RetainData);
    let full = plan(&d, &live(have.clone()), &PlanOptions::default());
    assert_eq!(full.summary.blocked, 1);
    let t = plan(
        &d,
        &live(have),
        &PlanOptions {
            targets: vec!["protected_vm.rsv/rg-app/app-02".parse().unwrap()],
        },
    );
    let addrs: Vec<String> = t.changes.iter().map(|c| c.address.to_string()).collect();
    assert_eq!(addrs, vec!["protected_vm.rsv/rg-app/app-02"]);
    assert_eq!(t.summary.blocked, 0);
}

#[test]
fn rules_read_a_blocked_vaults_live_settings() {
    // The file disables immutability of a Locked vault (blocked: final) and deletes a VM's
    // data. The vault stays Locked, so the delete is blocked too — otherwise `--target` of the
    // VM would plan a DELETE that Azure refuses (UserErrorDeleteBackupItemOnImmutableItem).
    let (mut want, mut have) = converged();
    have[0].attrs["immutability"] = json!("Locked");
    want[0].attrs["immutability"] = json!("Disabled");
    want.pop();
    let d = desired(want, OnRemove::DeleteData);
    let p = plan(&d, &live(have.clone()), &PlanOptions::default());
    assert!(change(&p, "recovery_vault.rsv").blocked.is_some());
    let c = change(&p, "protected_vm.rsv/rg-app/app-01");
    assert!(
        c.blocked
            .as_deref()
            .is_some_and(|b| b.contains("immutability is Locked")),
        "{c:?}"
    );
    let t = plan(
        &d,
        &live(have),
        &PlanOptions {
            targets: vec!["protected_vm.rsv/rg-app/app-01".parse().unwrap()],
        },
    );
    assert_eq!(t.summary.blocked, 1);
}

#[test]
fn a_replication_running_back_after_failover_and_reprotect_plans_no_changes() {
    use azprotect::model::site_recovery::{self as sr, replication};
    let vm_id = format!(
        "/subscriptions/{SUB}/resourceGroups/rg-app/providers/Microsoft.Compute/virtualMachines/app-01"
    );
    let want = Resource {
        address: Address::new(ResourceKind::Replication, "app-dr/rg-app/app-01"),
        arm_id: replication::item_id(&sr::container_id(&vault_id(), "westeurope"), "app-01"),
        attrs: json!({"vm_id": vm_id, "target_region": "northeurope", "state": "replicating",
                      "cache_storage_account_id": "/subscriptions/s/resourceGroups/rg-app/providers/Microsoft.Storage/storageAccounts/cacheweu"}),
        depends_on: vec![],
    };
    // Re-protected: Azure may describe the reverse replication from the other side (the
    // failed-over VM, a cache account in the other region).
    let mut have = want.clone();
    have.attrs = json!({"vm_id": format!("{vm_id}-dr"), "target_region": "northeurope", "state": "reversed",
                        "cache_storage_account_id": "/subscriptions/s/resourceGroups/rg-app-dr/providers/Microsoft.Storage/storageAccounts/cacheneu"});
    let p = plan(
        &desired(vec![want.clone()], OnRemove::RetainData),
        &live(vec![have]),
        &PlanOptions::default(),
    );
    assert!(p.is_empty(), "{:#?}", p.changes);

    // Failed over (not yet re-protected): edits are blocked, nothing is recreated or removed.
    let mut have = want.clone();
    have.attrs["state"] = json!("failed_over");
    let p = plan(
        &desired(vec![want], OnRemove::RetainData),
        &live(vec![have]),
        &PlanOptions::default(),
    );
    assert_eq!(p.changes.len(), 1);
    assert_eq!(p.changes[0].action, Action::Update);
    assert!(p.changes[0]
        .blocked
        .as_deref()
        .unwrap()
        .contains("failed over"));
}

#[test]
fn tags_that_would_take_a_vault_past_50_are_blocked_at_plan_time() {
    // Others tagged the vault 48 times; the file manages its own tags beside them.
    let (mut want, mut have) = converged();
    let theirs: serde_json::Map<String, Value> =
        (0..48).map(|i| (format!("team-{i}"), json!("x"))).collect();
    have[0].attrs["tags"] = Value::Object(theirs);
    want[0].attrs["tags"] = json!({"owner": "ops", "managed-by": "azprotect"});
    let p = plan(
        &desired(want.clone(), OnRemove::RetainData),
        &live(have.clone()),
        &PlanOptions::default(),
    );
    assert_eq!(p.summary.blocked, 0, "50 is allowed: {:#?}", p.changes);
    want[0].attrs["tags"] = json!({"owner": "ops", "managed-by": "azprotect", "cost": "42"});
    let p = plan(
        &desired(want, OnRemove::RetainData),
        &live(have),
        &PlanOptions::default(),
    );
    let blocked = p.changes[0].blocked.as_deref().unwrap_or_default();
    assert!(
        blocked.contains("at most 50 tags; this one would carry 51"),
        "{:#?}",
        p.changes
    );
}

/// A plan saved by an earlier azprotect stays current for this one: the fingerprint of the same
/// estate is the same hash, every part of the live state in it (resources with nested and
/// unordered attributes, VMs with disks, registrations elsewhere, disks, dependencies).
#[test]
fn a_plan_saved_by_an_earlier_version_keeps_its_fingerprint() {
    let (_, have) = converged();
    let mut live = live(have);
    let data_disk = ArmId::new(format!(
        "/subscriptions/{SUB}/resourceGroups/rg-app/providers/Microsoft.Compute/disks/app-01-data"
    ));
    live.vms[0].disks = vec![
        VmDisk {
            id: ArmId::new(format!("/subscriptions/{SUB}/resourceGroups/rg-app/providers/Microsoft.Compute/disks/app-01-os")),
            lun: None,
            sku: Some("Premium_LRS".into()),
        },
        VmDisk {
            id: data_disk.clone(),
            lun: Some(0),
            sku: None,
        },
    ];
    live.vms[1].size = Some("Standard_D2s_v5".into());
    live.resources[0].attrs["tags"] = json!({"z": "1", "owner": "ops", "nested": [{"b": 1, "a": 2.5}],
        "deep": [[{"b": 1, "a": 2}]], "text": "quote \" slash \\ line\n é"});
    live.protected_elsewhere.insert(
        format!("/subscriptions/{SUB}/resourcegroups/rg-app/providers/microsoft.compute/virtualmachines/app-02"),
        Elsewhere {
            vault: vault::arm_id(SUB, "rg-other", "rsv-other"),
            state: "protected".into(),
        },
    );
    live.disks.push(ManagedDisk {
        id: data_disk,
        name: "app-01-data".into(),
        resource_group: "rg-app".into(),
        subscription: SUB.into(),
        location: "westeurope".into(),
        sku: "PremiumV2_LRS".into(),
        size_gb: 512,
        tags: [("tier".to_string(), "db".to_string())].into(),
    });
    live.disks_protected_elsewhere.insert(
        "/subscriptions/x/disk".into(),
        Elsewhere {
            vault: ArmId::new("/subscriptions/x/resourceGroups/r/providers/Microsoft.DataProtection/backupVaults/bv"),
            state: "protected".into(),
        },
    );
    live.dependencies.insert(
        "/subscriptions/x/resourcegroups/r/providers/microsoft.storage/storageaccounts/cache".into(),
        Some(json!({"location": "WestEurope", "kind": "StorageV2", "sku": {"tier": "Standard", "name": "Standard_LRS"}, "etag": "ignored"})),
    );
    live.dependencies
        .insert("/subscriptions/x/resourcegroups/gone".into(), None);
    // A body without kind or SKU, its location not a string: each hashes as null.
    live.dependencies.insert(
        "/subscriptions/x/resourcegroups/r/providers/microsoft.network/virtualnetworks/odd".into(),
        Some(json!({"location": 1})),
    );
    // The hash azprotect wrote into saved plans before the fingerprint was streamed.
    assert_eq!(
        live.fingerprint(),
        "a1cf345952d892e5aebbf7ef8c01e9fb1ea8273932519152fad0fd7c6576fcf0"
    );
}
