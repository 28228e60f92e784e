//! Disk Backup plans as a reviewer reads them: a file (YAML, through the public config API)
//! against a hand-built live estate. The live side is written the way the live readers
//! produce it (`model::disk_backup` contracts): policies addressed by their full ARM name,
//! instances depending on their live policy, role assignments with the vault's principal.

use azprotect::config;
use azprotect::live::{Elsewhere, LiveState};
use azprotect::model::disk_backup::{instance, policy, vault};
use azprotect::model::{Address, ArmId, Desired, ManagedDisk, Resource, ResourceKind};
use azprotect::plan::{plan, resolve, Action, Change, DataEffect, Plan, PlanOptions};
use serde_json::json;

const SUB: &str = "00000000-0000-0000-0000-000000000001";

fn desired(yaml: &str) -> Desired {
    let loaded = config::load_sources(vec![("azprotect.yaml".into(), yaml.into())])
        .unwrap_or_else(|e| panic!("{:?}", miette::Report::new(e)));
    loaded
        .desired(None)
        .unwrap_or_else(|e| panic!("{:?}", miette::Report::new(e)))
}

/// The base file: one Backup vault, two policies, a listed disk and a tag selector.
fn file(vault_extra: &str, policies: &str, protect: &str) -> String {
    format!(
        r#"
version: 1
subscription: {SUB}
tags: {{managed-by: azprotect}}
resource_groups:
  rg-protect-weu: {{location: westeurope}}
  rg-snapshots-weu: {{location: westeurope}}
disk_backup:
  bv:
    resource_group: rg-protect-weu
    location: westeurope
{vault_extra}    policies:
{policies}    protect:
{protect}"#
    )
}

const POLICIES: &str = "      every-4h: {every: 4h, retention: 7d}\n      daily: {every: 1d, retention: 30d, start: \"22:00\"}\n";
const PROTECT: &str = "      - policy: every-4h\n        snapshot_resource_group: rg-snapshots-weu\n        disks: [rg-app/app-01-data-0]\n        select: {tags: {snapshot: 4h}}\n";

fn base() -> String {
    file("", POLICIES, PROTECT)
}

fn disk_id(rg: &str, name: &str) -> String {
    format!("/subscriptions/{SUB}/resourceGroups/{rg}/providers/Microsoft.Compute/disks/{name}")
}

fn disk(rg: &str, name: &str, location: &str, sku: &str, tags: &[(&str, &str)]) -> ManagedDisk {
    ManagedDisk {
        id: ArmId::new(disk_id(rg, name)),
        name: name.into(),
        resource_group: rg.into(),
        subscription: SUB.into(),
        location: location.into(),
        sku: sku.into(),
        size_gb: 256,
        tags: tags
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}

/// The live disks: a listed disk, two tagged ones, a tagged one in another region, an
/// untagged one, and an Ultra disk.
fn disks() -> Vec<ManagedDisk> {
    vec![
        disk("rg-app", "app-01-data-0", "westeurope", "Premium_LRS", &[]),
        disk(
            "rg-app",
            "app-02-data-0",
            "westeurope",
            "Premium_LRS",
            &[("snapshot", "4h")],
        ),
        disk(
            "rg-db",
            "db-01-data-0",
            "westeurope",
            "StandardSSD_LRS",
            &[("Snapshot", "4h")],
        ),
        disk(
            "rg-neu",
            "far-data-0",
            "northeurope",
            "Premium_LRS",
            &[("snapshot", "4h")],
        ),
        disk("rg-app", "app-03-data-0", "westeurope", "Premium_LRS", &[]),
        disk(
            "rg-db",
            "ultra-0",
            "westeurope",
            "UltraSSD_LRS",
            &[("snapshot", "ultra")],
        ),
    ]
}

fn estate(resources: Vec<Resource>) -> LiveState {
    LiveState {
        resources,
        disks: disks(),
        ..LiveState::default()
    }
}

fn vault_id() -> ArmId {
    vault::arm_id(SUB, "rg-protect-weu", "bv")
}

/// What the live readers read back once `d` is applied: every wanted resource in its live
/// form (policies addressed by ARM name, instances depending on their live policy, Azure's
/// own spelling and extra keys where it has them).
fn applied(d: &Desired, live: &LiveState) -> Vec<Resource> {
    resolve(d, live)
        .into_iter()
        .map(|mut r| {
            let vault_name = r.address.name.split('/').next().unwrap().to_string();
            match r.address.kind {
                ResourceKind::BackupVault => {
                    r.attrs["soft_delete"] = json!({"state": "On", "retention_days": 14});
                    r.attrs["tags"]["Owner"] = json!("ops");
                }
                ResourceKind::DiskPolicy => {
                    r.address.name = format!("{vault_name}/{}", r.arm_id.name());
                }
                ResourceKind::DiskBackup => {
                    let p = r.attrs["policy"].as_str().unwrap().to_string();
                    r.depends_on = vec![Address::new(
                        ResourceKind::DiskPolicy,
                        format!("{vault_name}/{p}"),
                    )];
                    // ARM echoes ids in its own case.
                    let srg = r.attrs["snapshot_resource_group_id"].as_str().unwrap();
                    r.attrs["snapshot_resource_group_id"] =
                        json!(srg.replace("resourceGroups", "resourcegroups"));
                }
                ResourceKind::RoleAssignment => {
                    r.attrs["principal_id"] = json!("11111111-2222-3333-4444-555555555555");
                    r.depends_on.clear();
                }
                _ => {}
            }
            r
        })
        .collect()
}

fn converged(yaml: &str) -> (Desired, LiveState) {
    let d = desired(yaml);
    let live = estate(applied(&d, &estate(vec![])));
    (d, live)
}

fn run(d: &Desired, live: &LiveState) -> Plan {
    plan(d, live, &PlanOptions::default())
}

fn find<'p>(p: &'p Plan, address: &str) -> &'p Change {
    p.changes
        .iter()
        .find(|c| c.address.to_string() == address)
        .unwrap_or_else(|| panic!("no change for {address} in {}", rows(p)))
}

fn rows(p: &Plan) -> String {
    p.changes
        .iter()
        .map(|c| {
            format!(
                "{} {}{}",
                c.action.symbol(),
                c.address,
                c.blocked
                    .as_ref()
                    .map(|b| format!(" [blocked: {b}]"))
                    .unwrap_or_default()
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn addresses(p: &Plan, kind: ResourceKind) -> Vec<String> {
    p.changes
        .iter()
        .filter(|c| c.address.kind == kind)
        .map(|c| c.address.to_string())
        .collect()
}

fn addr(s: &str) -> Address {
    s.parse().unwrap()
}

fn policy_name(d: &Desired, name: &str) -> String {
    d.disk_vaults[0].policies[name].clone()
}

fn live_mut<'a>(live: &'a mut LiveState, address: &str) -> &'a mut Resource {
    live.resources
        .iter_mut()
        .find(|r| r.address.to_string() == address)
        .unwrap_or_else(|| panic!("no live {address}"))
}

#[test]
fn a_converged_estate_plans_no_changes() {
    let (d, live) = converged(&base());
    let p = run(&d, &live);
    assert!(p.is_empty(), "{}", rows(&p));
    // And with ids in another case in the live disk list and instances.
    let mut live = live;
    for r in &mut live.resources {
        if r.address.kind == ResourceKind::DiskBackup {
            let id = r.attrs["disk_id"].as_str().unwrap().to_ascii_uppercase();
            r.attrs["disk_id"] = json!(id);
        }
        if r.address.kind == ResourceKind::RoleAssignment {
            let s = r.attrs["scope"].as_str().unwrap().to_ascii_lowercase();
            r.attrs["scope"] = json!(s);
        }
    }
    let p = run(&d, &live);
    assert!(p.is_empty(), "{}", rows(&p));
}

#[test]
fn a_new_vault_plans_its_policies_role_assignments_and_instances_in_order() {
    let d = desired(&base());
    let p = run(&d, &estate(vec![]));
    assert_eq!(p.summary.blocked, 0, "{}", rows(&p));
    let v = find(&p, "backup_vault.bv");
    assert_eq!(
        v.after,
        Some(
            json!({"location": "westeurope", "system_identity": true, "tags": {"managed-by": "azprotect"}})
        )
    );
    assert_eq!(v.depends_on, vec![addr("resource_group.rg-protect-weu")]);
    let pol = find(&p, "disk_policy.bv/every-4h");
    assert_eq!(
        pol.after,
        Some(json!({"every": "4h", "retention": "7d", "start": "00:00"}))
    );
    assert_eq!(
        pol.arm_id.clone(),
        policy::arm_id(&vault_id(), "every-4h", pol.after.as_ref().unwrap())
    );
    let i = find(&p, "disk_backup.bv/rg-app/app-01-data-0");
    assert_eq!(
        i.after,
        Some(json!({
            "disk_id": disk_id("rg-app", "app-01-data-0"),
            "location": "westeurope",
            "policy": policy_name(&d, "every-4h"),
            "snapshot_resource_group_id": format!("/subscriptions/{SUB}/resourceGroups/rg-snapshots-weu"),
            "state": "protected",
        }))
    );
    assert_eq!(
        i.arm_id.clone(),
        instance::arm_id(&vault_id(), "rg-app", "app-01-data-0")
    );
    assert_eq!(
        i.depends_on,
        vec![
            addr("backup_vault.bv"),
            addr("disk_policy.bv/every-4h"),
            addr("role_assignment.bv/disk_backup_reader/rg-app/app-01-data-0"),
            addr("role_assignment.bv/disk_snapshot_contributor/rg-snapshots-weu"),
        ]
    );
    let reader = find(
        &p,
        "role_assignment.bv/disk_backup_reader/rg-app/app-01-data-0",
    );
    assert_eq!(
        reader.after,
        Some(
            json!({"scope": disk_id("rg-app", "app-01-data-0"), "role": "disk_backup_reader", "vault_id": vault_id().as_str()})
        )
    );
    assert_eq!(reader.depends_on, vec![addr("backup_vault.bv")]);
    let contributor = find(
        &p,
        "role_assignment.bv/disk_snapshot_contributor/rg-snapshots-weu",
    );
    assert_eq!(
        contributor.depends_on,
        vec![
            addr("resource_group.rg-snapshots-weu"),
            addr("backup_vault.bv"),
        ]
    );
    // The daily policy is declared but unused: it is created all the same.
    find(&p, "disk_policy.bv/daily");
    // Nothing here loses data.
    assert!(!p.loses_data());
}

#[test]
fn select_picks_tagged_disks_of_the_vault_region_and_a_list_picks_by_name() {
    let d = desired(&base());
    let p = run(&d, &estate(vec![]));
    assert_eq!(
        addresses(&p, ResourceKind::DiskBackup),
        [
            "disk_backup.bv/rg-app/app-01-data-0",
            "disk_backup.bv/rg-app/app-02-data-0",
            "disk_backup.bv/rg-db/db-01-data-0",
        ],
        "tag keys match without case; the northeurope disk is not picked"
    );
    // By resource group.
    let protect = "      - policy: daily\n        snapshot_resource_group: rg-snapshots-weu\n        select: {resource_groups: [RG-DB], tags: {snapshot: 4h}}\n";
    let p = run(&desired(&file("", POLICIES, protect)), &estate(vec![]));
    assert_eq!(
        addresses(&p, ResourceKind::DiskBackup),
        ["disk_backup.bv/rg-db/db-01-data-0"]
    );
    // One contributor assignment for the shared snapshot resource group.
    assert_eq!(
        addresses(&p, ResourceKind::RoleAssignment),
        [
            "role_assignment.bv/disk_backup_reader/rg-db/db-01-data-0",
            "role_assignment.bv/disk_snapshot_contributor/rg-snapshots-weu",
        ]
    );
}

#[test]
fn a_listed_disk_wins_over_a_select_and_each_disk_has_one_instance() {
    let protect = "      - policy: every-4h\n        snapshot_resource_group: rg-snapshots-weu\n        select: {tags: {snapshot: 4h}}\n      - policy: daily\n        snapshot_resource_group: rg-snapshots-weu\n        disks: [rg-app/app-02-data-0]\n      - policy: daily\n        snapshot_resource_group: rg-snapshots-weu\n        select: {resource_groups: [rg-db]}\n";
    let d = desired(&file("", POLICIES, protect));
    let p = run(&d, &estate(vec![]));
    let policy_of = |a: &str| find(&p, a).after.as_ref().unwrap()["policy"].clone();
    assert_eq!(
        policy_of("disk_backup.bv/rg-app/app-02-data-0"),
        json!(policy_name(&d, "daily")),
        "listed for `daily`, also selected for `every-4h`: the list wins"
    );
    assert_eq!(
        policy_of("disk_backup.bv/rg-db/db-01-data-0"),
        json!(policy_name(&d, "every-4h")),
        "picked by two selectors: the first entry wins"
    );
    assert_eq!(
        addresses(&p, ResourceKind::DiskBackup),
        [
            "disk_backup.bv/rg-app/app-02-data-0",
            "disk_backup.bv/rg-db/db-01-data-0",
            "disk_backup.bv/rg-db/ultra-0",
        ]
    );
}

#[test]
fn a_disk_another_vault_lists_is_not_picked_by_this_vaults_selector() {
    let yaml = format!(
        "{}  bv2:\n    resource_group: rg-protect-weu\n    location: westeurope\n    policies:\n      daily: {{every: 1d, retention: 30d}}\n    protect:\n      - policy: daily\n        snapshot_resource_group: rg-snapshots-weu\n        disks: [rg-app/app-02-data-0]\n",
        base()
    );
    let p = run(&desired(&yaml), &estate(vec![]));
    assert!(
        !addresses(&p, ResourceKind::DiskBackup)
            .contains(&"disk_backup.bv/rg-app/app-02-data-0".to_string()),
        "{}",
        rows(&p)
    );
    find(&p, "disk_backup.bv2/rg-app/app-02-data-0");
    assert_eq!(p.summary.blocked, 0, "{}", rows(&p));
}

#[test]
fn a_disk_whose_instance_is_soft_deleted_in_one_vault_may_be_protected_by_another() {
    // Azure protects it meanwhile (azure-cli-extensions dataprotection
    // test_dataprotection_backup_instance_softdelete.yaml #12–#26); a live one still holds it.
    let (_, mut live) = converged(&base());
    let yaml = format!(
        "{}  bv2:\n    resource_group: rg-protect-weu\n    location: westeurope\n    policies:\n      daily: {{every: 1d, retention: 30d}}\n    protect:\n      - policy: daily\n        snapshot_resource_group: rg-snapshots-weu\n        disks: [rg-app/app-02-data-0]\n",
        file("", POLICIES, "      - policy: every-4h\n        snapshot_resource_group: rg-snapshots-weu\n        disks: [rg-app/app-01-data-0]\n")
    );
    let moved = "disk_backup.bv2/rg-app/app-02-data-0";
    let held = run(&desired(&yaml), &live);
    let b = find(&held, moved).blocked.as_deref().unwrap_or_default();
    assert!(
        b.contains("still protected") && b.contains("Backup vault bv"),
        "{}",
        rows(&held)
    );
    live_mut(&mut live, "disk_backup.bv/rg-app/app-02-data-0").attrs["state"] =
        json!("soft_deleted");
    let freed = run(&desired(&yaml), &live);
    assert_eq!(find(&freed, moved).blocked, None, "{}", rows(&freed));
    assert_eq!(find(&freed, moved).action, Action::Create);
}

#[test]
fn a_stopped_instance_whose_disk_another_vault_protects_now_is_not_resumed() {
    // Azure refuses the resume (UserErrorDppDatasourceAlreadyHasBackupInstance, recording
    // azure-cli-extensions dataprotection softdelete #29): the plan says so instead.
    let (d, mut live) = converged(&base());
    let i = "disk_backup.bv/rg-app/app-02-data-0";
    live_mut(&mut live, i).attrs["state"] = json!("stopped");
    let resumed = run(&d, &live);
    assert_eq!(find(&resumed, i).blocked, None, "{}", rows(&resumed));
    live.disks_protected_elsewhere.insert(
        disk_id("rg-app", "app-02-data-0").to_ascii_lowercase(),
        Elsewhere {
            vault: vault::arm_id(SUB, "rg-other", "bv-other"),
            state: "protected".into(),
        },
    );
    let held = run(&d, &live);
    let b = find(&held, i).blocked.as_deref().unwrap_or_default();
    assert!(b.contains("bv-other"), "{}", rows(&held));
}

#[test]
fn premium_v2_and_ultra_disks_are_blocked_unless_the_policy_is_12h_or_daily() {
    let protect = "      - policy: every-4h\n        snapshot_resource_group: rg-snapshots-weu\n        disks: [rg-db/ultra-0]\n";
    let p = run(&desired(&file("", POLICIES, protect)), &estate(vec![]));
    let b = find(&p, "disk_backup.bv/rg-db/ultra-0")
        .blocked
        .clone()
        .unwrap();
    assert!(
        b.contains("UltraSSD_LRS") && b.contains("12h or 1d") && b.contains("every-4h"),
        "{b}"
    );
    let protect = "      - policy: daily\n        snapshot_resource_group: rg-snapshots-weu\n        disks: [rg-db/ultra-0]\n";
    let p = run(&desired(&file("", POLICIES, protect)), &estate(vec![]));
    assert_eq!(p.summary.blocked, 0, "{}", rows(&p));
}

#[test]
fn a_disk_in_another_region_is_blocked() {
    let protect = "      - policy: every-4h\n        snapshot_resource_group: rg-snapshots-weu\n        disks: [rg-neu/far-data-0]\n";
    let p = run(&desired(&file("", POLICIES, protect)), &estate(vec![]));
    let c = find(&p, "disk_backup.bv/rg-neu/far-data-0");
    assert_eq!(c.after.as_ref().unwrap()["location"], "northeurope");
    let b = c.blocked.as_deref().unwrap();
    assert!(b.contains("northeurope") && b.contains("westeurope"), "{b}");
}

#[test]
fn a_disk_that_does_not_exist_is_blocked() {
    let protect = "      - policy: every-4h\n        snapshot_resource_group: rg-snapshots-weu\n        disks: [rg-app/gone-0]\n";
    let p = run(&desired(&file("", POLICIES, protect)), &estate(vec![]));
    let c = find(&p, "disk_backup.bv/rg-app/gone-0");
    assert_eq!(c.action, Action::Create);
    assert!(c.blocked.as_deref().unwrap().contains("not found"), "{c:?}");
    assert_eq!(c.after.as_ref().unwrap()["location"], "westeurope");
}

#[test]
fn a_disk_protected_by_another_backup_vault_is_blocked() {
    let protect = "      - policy: every-4h\n        snapshot_resource_group: rg-snapshots-weu\n        disks: [rg-app/app-01-data-0]\n";
    let d = desired(&file("", POLICIES, protect));
    // By a vault the file does not declare.
    let mut live = estate(vec![]);
    live.disks_protected_elsewhere.insert(
        disk_id("rg-app", "app-01-data-0").to_ascii_lowercase(),
        Elsewhere {
            vault: vault::arm_id(SUB, "rg-other", "bv-portal"),
            state: "protected".into(),
        },
    );
    let p = run(&d, &live);
    let b = find(&p, "disk_backup.bv/rg-app/app-01-data-0")
        .blocked
        .clone()
        .unwrap();
    assert!(
        b.contains("bv-portal") && b.contains("does not manage"),
        "{b}"
    );

    // By another vault the file declares (it left that vault's block, with retain_data).
    let yaml = format!(
        "{}  bv2:\n    resource_group: rg-protect-weu\n    location: westeurope\n    policies:\n      daily: {{every: 1d, retention: 30d}}\n",
        file("", POLICIES, protect)
    );
    let d = desired(&yaml);
    let bv2 = vault::arm_id(SUB, "rg-protect-weu", "bv2");
    let old = Resource {
        address: addr("disk_backup.bv2/rg-app/app-01-data-0"),
        arm_id: instance::arm_id(&bv2, "rg-app", "app-01-data-0"),
        attrs: json!({"disk_id": disk_id("rg-app", "app-01-data-0"), "location": "westeurope", "policy": "daily-abcdef",
                      "snapshot_resource_group_id": format!("/subscriptions/{SUB}/resourceGroups/rg-snapshots-weu"), "state": "protected"}),
        depends_on: vec![addr("disk_policy.bv2/daily-abcdef")],
    };
    let p = run(&d, &estate(vec![old]));
    let b = find(&p, "disk_backup.bv/rg-app/app-01-data-0")
        .blocked
        .clone()
        .unwrap();
    assert!(b.contains("bv2") && b.contains("delete_data"), "{b}");
    // The old instance itself stops protection (retain_data).
    let gone = find(&p, "disk_backup.bv2/rg-app/app-01-data-0");
    assert_eq!(gone.data, Some(DataEffect::Retained));
}

#[test]
fn a_retention_change_creates_a_new_policy_moves_the_instances_then_deletes_the_old_one() {
    let (_, live) = converged(&base());
    let old = policy_name(&desired(&base()), "every-4h");
    let d = desired(&file(
        "",
        &POLICIES.replace("retention: 7d", "retention: 14d"),
        PROTECT,
    ));
    let new = policy_name(&d, "every-4h");
    assert_ne!(old, new);
    let p = run(&d, &live);
    assert_eq!(
        addresses(&p, ResourceKind::DiskPolicy),
        [
            "disk_policy.bv/every-4h".to_string(),
            format!("disk_policy.bv/{old}")
        ],
        "{}",
        rows(&p)
    );
    let created = find(&p, "disk_policy.bv/every-4h");
    assert_eq!(created.action, Action::Create);
    assert!(created.arm_id.as_str().ends_with(&new));
    let moved = addresses(&p, ResourceKind::DiskBackup);
    assert_eq!(moved.len(), 3, "{}", rows(&p));
    for a in &moved {
        let c = find(&p, a);
        assert_eq!(c.action, Action::Update);
        assert_eq!(c.diff.len(), 1, "{:?}", c.diff);
        assert_eq!(c.diff[0].path, "policy");
        assert_eq!(c.diff[0].before, Some(json!(old)));
        assert_eq!(c.diff[0].after, Some(json!(new)));
        assert!(
            c.reasons
                .iter()
                .any(|r| r.contains("new version of policy every-4h")
                    && r.contains("keep their retention")),
            "{:?}",
            c.reasons
        );
        assert_eq!(c.depends_on, vec![addr("disk_policy.bv/every-4h")]);
        assert_eq!(c.data, None);
    }
    let deleted = find(&p, &format!("disk_policy.bv/{old}"));
    assert_eq!(deleted.action, Action::Delete);
    assert_eq!(deleted.data, None);
    assert!(
        deleted.reasons[0].contains("superseded")
            && deleted.reasons[0].contains("after its instances move"),
        "{:?}",
        deleted.reasons
    );
    let mut waits: Vec<String> = deleted.depends_on.iter().map(|a| a.to_string()).collect();
    waits.sort();
    assert_eq!(waits, moved);
    // Apply order: the new policy, the moves, then the delete.
    let pos = |a: &str| {
        p.changes
            .iter()
            .position(|c| c.address.to_string() == a)
            .unwrap()
    };
    assert!(pos("disk_policy.bv/every-4h") < pos(&moved[0]));
    assert!(moved
        .iter()
        .all(|m| pos(m) < pos(&format!("disk_policy.bv/{old}"))));
    assert!(!p.loses_data());
    assert_eq!(p.summary.blocked, 0);
}

#[test]
fn a_stopped_instance_keeps_the_old_policy_which_is_not_deleted() {
    let (_, mut live) = converged(&base());
    // app-02 left the file earlier: its instance was stopped, its snapshots kept.
    live_mut(&mut live, "disk_backup.bv/rg-app/app-02-data-0").attrs["state"] = json!("stopped");
    live.disks[1].tags.clear();
    let old = policy_name(&desired(&base()), "every-4h");
    let d = desired(&file(
        "",
        &POLICIES.replace("retention: 7d", "retention: 14d"),
        PROTECT,
    ));
    let p = run(&d, &live);
    assert!(
        !p.changes
            .iter()
            .any(|c| c.address.to_string() == format!("disk_policy.bv/{old}")),
        "{}",
        rows(&p)
    );
    assert!(
        !p.changes
            .iter()
            .any(|c| c.address.to_string() == "disk_backup.bv/rg-app/app-02-data-0"),
        "a stopped instance that left the file is left alone: {}",
        rows(&p)
    );
    // Its role assignments are still needed while it holds snapshots.
    assert!(
        addresses(&p, ResourceKind::RoleAssignment).is_empty(),
        "{}",
        rows(&p)
    );
    assert_eq!(addresses(&p, ResourceKind::DiskBackup).len(), 2);
}

#[test]
fn a_soft_deleted_instance_keeps_the_old_policy_version_until_it_is_purged() {
    // Found by tests/family_invariants.rs: the old version's DELETE was refused with
    // UserErrorDppPolicyObjectInUse, as the instance deleted into soft delete still holds it.
    let (_, live) = converged(&base());
    let old = policy_name(&desired(&base()), "every-4h");
    let only_listed = "      - policy: every-4h\n        snapshot_resource_group: rg-snapshots-weu\n        disks: [rg-app/app-01-data-0]\n";
    let changed = POLICIES.replace("retention: 7d", "retention: 14d");
    let with = |soft: &str| {
        desired(&file(
            &format!("    on_remove: delete_data\n    soft_delete: {{state: {soft}, retention_days: 14}}\n"),
            &changed,
            only_listed,
        ))
    };
    let deletes_old = |p: &Plan| {
        p.changes
            .iter()
            .any(|c| c.address.to_string() == format!("disk_policy.bv/{old}"))
    };
    // app-02 leaves the file with delete_data while every-4h gets a new version.
    let p = run(&with("On"), &live);
    assert_eq!(
        find(&p, "disk_backup.bv/rg-app/app-02-data-0").data,
        Some(DataEffect::Deleted)
    );
    assert!(
        !deletes_old(&p),
        "soft delete keeps it in use: {}",
        rows(&p)
    );
    // Without soft delete the instance is gone at once, and so is the old version after it.
    let p = run(&with("Off"), &live);
    assert!(deletes_old(&p), "{}", rows(&p));
    assert!(find(&p, &format!("disk_policy.bv/{old}"))
        .depends_on
        .contains(&addr("disk_backup.bv/rg-app/app-02-data-0")));
}

#[test]
fn a_disk_leaving_the_file_stops_protection_or_deletes_its_data_per_on_remove() {
    let (_, live) = converged(&base());
    let only_listed = "      - policy: every-4h\n        snapshot_resource_group: rg-snapshots-weu\n        disks: [rg-app/app-01-data-0]\n";
    let d = desired(&file("", POLICIES, only_listed));
    let p = run(&d, &live);
    let gone = find(&p, "disk_backup.bv/rg-app/app-02-data-0");
    assert_eq!(gone.action, Action::Delete);
    assert_eq!(gone.data, Some(DataEffect::Retained));
    assert!(
        gone.reasons[0].contains("retain_data"),
        "{:?}",
        gone.reasons
    );
    assert!(!p.loses_data());
    // The reader assignment of a disk whose instance stays (stopped) is kept.
    assert!(
        addresses(&p, ResourceKind::RoleAssignment).is_empty(),
        "{}",
        rows(&p)
    );

    // Already stopped: nothing more to do.
    let mut stopped = live.clone();
    for a in ["rg-app/app-02-data-0", "rg-db/db-01-data-0"] {
        live_mut(&mut stopped, &format!("disk_backup.bv/{a}")).attrs["state"] = json!("stopped");
    }
    assert!(run(&d, &stopped).is_empty(), "{}", rows(&run(&d, &stopped)));

    // delete_data: the instance and its snapshots go, and the reader assignment after it.
    let d = desired(&file(
        "    on_remove: delete_data\n    soft_delete: {state: On, retention_days: 14}\n",
        POLICIES,
        only_listed,
    ));
    let p = run(&d, &live);
    let gone = find(&p, "disk_backup.bv/rg-app/app-02-data-0");
    assert_eq!(gone.data, Some(DataEffect::Deleted));
    assert!(
        gone.reasons.iter().any(|r| r.contains("soft delete")),
        "{:?}",
        gone.reasons
    );
    assert!(p.loses_data());
    let reader = find(
        &p,
        "role_assignment.bv/disk_backup_reader/rg-app/app-02-data-0",
    );
    assert_eq!(reader.action, Action::Delete);
    assert_eq!(
        reader.depends_on,
        vec![addr("disk_backup.bv/rg-app/app-02-data-0")]
    );
    // The snapshot resource group is still used by app-01: its assignment stays.
    assert!(!p
        .changes
        .iter()
        .any(|c| c.address.to_string().contains("disk_snapshot_contributor")));
    // Stopped instances are deleted too with delete_data.
    let p = run(&d, &stopped);
    assert_eq!(
        find(&p, "disk_backup.bv/rg-db/db-01-data-0").data,
        Some(DataEffect::Deleted)
    );
}

#[test]
fn an_instance_already_deleted_into_soft_delete_leaves_its_roles_to_the_next_plan() {
    // The apply that deleted app-02's instance (into soft delete) stopped before its reader
    // assignment's delete: running it again finishes the job, as the first plan promised.
    let (_, mut live) = converged(&base());
    let only_listed = "      - policy: every-4h\n        snapshot_resource_group: rg-snapshots-weu\n        disks: [rg-app/app-01-data-0]\n";
    let d = desired(&file(
        "    on_remove: delete_data\n    soft_delete: {state: On, retention_days: 14}\n",
        POLICIES,
        only_listed,
    ));
    let first = run(&d, &live);
    let readers = [
        "role_assignment.bv/disk_backup_reader/rg-app/app-02-data-0",
        "role_assignment.bv/disk_backup_reader/rg-db/db-01-data-0",
    ];
    for r in readers {
        assert_eq!(find(&first, r).action, Action::Delete);
    }
    for i in ["rg-app/app-02-data-0", "rg-db/db-01-data-0"] {
        live_mut(&mut live, &format!("disk_backup.bv/{i}")).attrs["state"] = json!("soft_deleted");
    }
    let again = run(&d, &live);
    assert_eq!(
        (again.changes.iter())
            .map(|c| (c.address.to_string(), c.action))
            .collect::<Vec<_>>(),
        readers.map(|r| (r.to_string(), Action::Delete)),
        "{}",
        rows(&again)
    );
}

#[test]
fn a_stopped_instance_back_in_the_file_resumes_protection() {
    let (d, mut live) = converged(&base());
    live_mut(&mut live, "disk_backup.bv/rg-app/app-01-data-0").attrs["state"] = json!("stopped");
    let p = run(&d, &live);
    assert_eq!(p.changes.len(), 1, "{}", rows(&p));
    let c = &p.changes[0];
    assert_eq!(c.action, Action::Update);
    assert_eq!(c.diff[0].path, "state");
    assert_eq!(c.diff[0].before, Some(json!("stopped")));
    assert_eq!(c.diff[0].after, Some(json!("protected")));
    assert!(
        c.reasons[0].contains("resumes protection"),
        "{:?}",
        c.reasons
    );
    assert!(c.blocked.is_none());
}

#[test]
fn without_grant_permissions_no_role_assignments_are_planned_or_removed() {
    let yaml = file("    grant_permissions: false\n", POLICIES, PROTECT);
    let d = desired(&yaml);
    assert!(!d.disk_vaults[0].grant_permissions);
    let p = run(&d, &estate(vec![]));
    assert!(addresses(&p, ResourceKind::RoleAssignment).is_empty());
    assert_eq!(
        find(&p, "disk_backup.bv/rg-app/app-01-data-0").depends_on,
        vec![addr("backup_vault.bv"), addr("disk_policy.bv/every-4h")]
    );
    // Live assignments (made when the vault granted them) are left alone.
    let (_, live) = converged(&base());
    let p = run(&d, &live);
    assert!(p.is_empty(), "{}", rows(&p));
}

#[test]
fn changing_the_snapshot_resource_group_of_a_protected_disk_is_blocked() {
    let (_, live) = converged(&base());
    let d = desired(&file(
        "",
        POLICIES,
        &PROTECT.replace("rg-snapshots-weu", "rg-snapshots-2"),
    ));
    let p = run(&d, &live);
    let c = find(&p, "disk_backup.bv/rg-app/app-01-data-0");
    assert_eq!(c.action, Action::Update);
    let b = c.blocked.as_deref().unwrap();
    assert!(
        b.contains("rg-snapshots-weu") && b.contains("delete_data"),
        "{b}"
    );
    // The old group's assignment is kept while the instances still use it.
    assert!(
        !p.changes.iter().any(|c| c.action == Action::Delete),
        "{}",
        rows(&p)
    );
}

#[test]
fn target_an_instance_pulls_its_role_assignments_and_policy() {
    let yaml = format!(
        "{}recovery_vaults:\n  rsv:\n    resource_group: rg-protect-weu\n    location: westeurope\n",
        base()
    );
    let d = desired(&yaml);
    let opts = PlanOptions {
        targets: vec![addr("disk_backup.bv")],
    };
    let p = plan(&d, &estate(vec![]), &opts);
    let mut got: Vec<String> = p.changes.iter().map(|c| c.address.to_string()).collect();
    got.sort();
    assert!(got.contains(&"disk_policy.bv/every-4h".to_string()));
    assert!(
        got.contains(&"role_assignment.bv/disk_snapshot_contributor/rg-snapshots-weu".to_string())
    );
    assert!(got.contains(&"role_assignment.bv/disk_backup_reader/rg-app/app-01-data-0".to_string()));
    assert!(got.contains(&"backup_vault.bv".to_string()));
    assert!(!got.contains(&"recovery_vault.rsv".to_string()), "{got:?}");
    assert!(
        !got.contains(&"disk_policy.bv/daily".to_string()),
        "{got:?}"
    );
    assert_eq!(addresses(&p, ResourceKind::DiskBackup).len(), 3);
}

#[test]
fn backup_vault_settings_azure_cannot_change_are_blocked() {
    let (_, mut live) = converged(&base());
    // Redundancy is fixed when the vault is created (azurerm: ForceNew), with instances in it…
    let d = desired(&file("    redundancy: GeoRedundant\n", POLICIES, PROTECT));
    let p = run(&d, &live);
    let b = find(&p, "backup_vault.bv").blocked.clone().unwrap();
    assert!(
        b.contains("redundancy") && b.contains("holds 3 backup"),
        "{b}"
    );
    // … and without: Azure refuses it either way, so the plan says so before apply.
    let mut empty = live.clone();
    empty
        .resources
        .retain(|r| r.address.kind != ResourceKind::DiskBackup);
    let p = run(&d, &empty);
    let b = find(&p, "backup_vault.bv").blocked.clone().unwrap();
    assert!(
        b.contains("fixed when it is created") && !b.contains("holds"),
        "{b}"
    );
    // Locked immutability is final; AlwaysOn soft delete is irreversible.
    let v = live_mut(&mut live, "backup_vault.bv");
    v.attrs["immutability"] = json!("Locked");
    v.attrs["soft_delete"] = json!({"state": "AlwaysOn", "retention_days": 14});
    let d = desired(&file("    immutability: Unlocked\n", POLICIES, PROTECT));
    let b = find(&run(&d, &live), "backup_vault.bv")
        .blocked
        .clone()
        .unwrap();
    assert!(b.contains("Locked") && b.contains("final"), "{b}");
    let d = desired(&file("    soft_delete: {state: On}\n", POLICIES, PROTECT));
    let b = find(&run(&d, &live), "backup_vault.bv")
        .blocked
        .clone()
        .unwrap();
    assert!(b.contains("AlwaysOn"), "{b}");
    // Unchanged settings plan nothing.
    let d = desired(&file(
        "    immutability: Locked\n    soft_delete: {state: AlwaysOn}\n",
        POLICIES,
        PROTECT,
    ));
    let p = run(&d, &live);
    assert!(p.is_empty(), "{}", rows(&p));
}

#[test]
fn a_portal_made_instance_of_a_listed_disk_is_adopted_not_duplicated() {
    let protect = "      - policy: every-4h\n        snapshot_resource_group: rg-snapshots-weu\n        disks: [rg-app/app-01-data-0]\n";
    let (d, mut live) = converged(&file("", POLICIES, protect));
    let i = live_mut(&mut live, "disk_backup.bv/rg-app/app-01-data-0");
    i.arm_id = vault_id().child(&["backupInstances", "app-01-data-0-app-01-data-0-5c3a"]);
    let p = run(&d, &live);
    assert!(p.is_empty(), "{}", rows(&p));
}

#[test]
fn an_undeclared_live_policy_nobody_uses_is_deleted() {
    let (d, mut live) = converged(&base());
    live.resources.push(Resource {
        address: addr("disk_policy.bv/old-2h-a1b2c3"),
        arm_id: vault_id().child(&["backupPolicies", "old-2h-a1b2c3"]),
        attrs: json!({"every": "2h", "retention": "3d", "start": "00:00"}),
        depends_on: vec![addr("backup_vault.bv")],
    });
    let p = run(&d, &live);
    assert_eq!(p.changes.len(), 1, "{}", rows(&p));
    let c = find(&p, "disk_policy.bv/old-2h-a1b2c3");
    assert_eq!(c.action, Action::Delete);
    assert_eq!(
        c.reasons,
        vec!["not declared in its vault any more".to_string()]
    );
}

const UAMI_FILE: &str = "    identity: rg-identity/uami-backup\n    grant_permissions: false\n";

#[test]
fn a_file_silent_on_the_identity_leaves_each_instance_on_the_one_it_uses() {
    // Instances backing up with a user-assigned identity (made so by an earlier file, or in
    // the portal); roles granted by someone else.
    let (_, live) = converged(&file(UAMI_FILE, POLICIES, PROTECT));
    assert!(
        (live.resources.iter())
            .filter(|r| r.address.kind == ResourceKind::DiskBackup)
            .all(|r| r.attrs["user_identity_id"].is_string()),
        "the instances use the identity"
    );
    // A file that says nothing of the identity moves none of them.
    let silent = desired(&file("    grant_permissions: false\n", POLICIES, PROTECT));
    let p = run(&silent, &live);
    assert!(p.changes.is_empty(), "{}", rows(&p));
    // Granting roles, it grants none for them, nor enables the vault's own identity: nothing
    // would use it.
    let granting = desired(&file("", POLICIES, PROTECT));
    let p = run(&granting, &live);
    assert!(p.changes.is_empty(), "{}", rows(&p));
    // `identity: system` moves each one, saying so.
    let system = desired(&file(
        "    identity: system\n    grant_permissions: false\n",
        POLICIES,
        PROTECT,
    ));
    let p = run(&system, &live);
    let moved = addresses(&p, ResourceKind::DiskBackup);
    assert_eq!(moved.len(), 3, "{}", rows(&p));
    for a in &moved {
        let c = find(&p, a);
        assert_eq!(c.action, Action::Update);
        assert!(
            c.reasons
                .iter()
                .any(|r| r.contains("the vault's system-assigned identity again")),
            "{:?}",
            c.reasons
        );
    }
}

#[test]
fn instances_move_to_a_user_assigned_identity_only_once_the_vault_has_it() {
    // Roles granted by hand (`grant_permissions: false`): nothing but the vault orders them.
    let (_, live) = converged(&file("    grant_permissions: false\n", POLICIES, PROTECT));
    let p = run(&desired(&file(UAMI_FILE, POLICIES, PROTECT)), &live);
    let v = find(&p, "backup_vault.bv");
    assert_eq!(
        v.diff.iter().map(|d| d.path.as_str()).collect::<Vec<_>>(),
        ["user_identities"],
        "{}",
        rows(&p)
    );
    let moved = addresses(&p, ResourceKind::DiskBackup);
    assert_eq!(moved.len(), 3, "{}", rows(&p));
    for a in &moved {
        assert!(
            find(&p, a).depends_on.contains(&addr("backup_vault.bv")),
            "{a} waits for the vault's identity: {:?}",
            find(&p, a).depends_on
        );
    }
}

#[test]
fn vaults_sharing_an_identity_and_a_snapshot_group_plan_its_role_once() {
    let vault = |name: &str, disk: &str| {
        format!("  {name}:\n    resource_group: rg-protect-weu\n    location: westeurope\n    identity: rg-identity/uami-backup\n    policies:\n      daily: {{every: 1d, retention: 7d}}\n    protect:\n      - policy: daily\n        snapshot_resource_group: rg-snapshots-weu\n        disks: [{disk}]\n")
    };
    // bv2 is declared first; the assignment goes under bv, of the lower id, as the live read
    // keeps it.
    let yaml = format!(
        "version: 1\nsubscription: {SUB}\nresource_groups:\n  rg-protect-weu: {{location: westeurope}}\n  rg-snapshots-weu: {{location: westeurope}}\ndisk_backup:\n{}{}",
        vault("bv2", "rg-app/app-02-data-0"),
        vault("bv", "rg-app/app-01-data-0")
    );
    let p = run(&desired(&yaml), &estate(vec![]));
    let mut roles = addresses(&p, ResourceKind::RoleAssignment);
    roles.sort();
    assert_eq!(
        roles,
        [
            "role_assignment.bv/disk_backup_reader/rg-app/app-01-data-0",
            "role_assignment.bv/disk_snapshot_contributor/rg-snapshots-weu",
            "role_assignment.bv2/disk_backup_reader/rg-app/app-02-data-0",
        ],
        "{}",
        rows(&p)
    );
    // bv2's disk waits for the one assignment on the shared group.
    let i = find(&p, "disk_backup.bv2/rg-app/app-02-data-0");
    assert!(
        i.depends_on.contains(&addr(
            "role_assignment.bv/disk_snapshot_contributor/rg-snapshots-weu"
        )),
        "{:?}",
        i.depends_on
    );
    // Applied, the estate plans no change.
    let (d, live) = converged(&yaml);
    let p = run(&d, &live);
    assert!(p.changes.is_empty(), "{}", rows(&p));
}
