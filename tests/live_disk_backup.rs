//! Disk Backup against the sandbox over HTTPS: the live readers return exactly the contract
//! shapes of `model::disk_backup` with a bounded number of list calls, and apply protects a disk
//! right after granting the vault's roles despite the role-propagation delay.

mod support;

use azprotect::apply::{self, ApplyOptions, Outcome};
use azprotect::azure::ArmClient;
use azprotect::live::{self, Elsewhere};
use azprotect::model::disk_backup::{
    instance, policy, role, vault, DiskProtectSpec, DiskVaultScope,
};
use azprotect::model::{
    api, Address, ArmId, ArmRequest, Desired, Method, OnRemove, Resource, ResourceKind,
};
use azprotect::plan::{Action, Change, DataEffect, Plan};
use azprotect::sandbox::SandboxOptions;
use serde_json::{json, Value};
use std::path::Path;
use std::sync::Arc;
use support::estate::Estate;

const SNAP_RG: &str = "rg-snapshots-weu";

struct Ids {
    sub: String,
}

impl Ids {
    fn vault(&self, name: &str) -> ArmId {
        vault::arm_id(&self.sub, "rg-app", name)
    }
    fn disk(&self, name: &str) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/rg-app/providers/Microsoft.Compute/disks/{name}",
            self.sub
        )
    }
    fn snap_rg(&self) -> String {
        format!("/subscriptions/{}/resourceGroups/{SNAP_RG}", self.sub)
    }
}

fn res(kind: ResourceKind, name: &str, arm_id: ArmId, attrs: Value) -> Resource {
    Resource {
        address: Address::new(kind, name),
        arm_id,
        attrs,
        depends_on: vec![],
    }
}

fn vault_attrs() -> Value {
    json!({"location": "westeurope", "redundancy": "LocallyRedundant",
           "soft_delete": {"state": "On", "retention_days": 14}, "tags": {"managed-by": "azprotect"}})
}

fn policy_attrs(every: &str) -> Value {
    json!({"every": every, "retention": "7d", "start": "00:00"})
}

async fn snapshot_rg(client: &ArmClient, ids: &Ids) {
    let req = ArmRequest::new(
        Method::Put,
        format!("{}?api-version={}", ids.snap_rg(), api::RESOURCES),
        Some(json!({"location": "westeurope"})),
    );
    client.execute(&req).await.expect("snapshot resource group");
}

/// Vault, policy, both role assignments and an instance, straight from the model's requests
/// (the sandbox runs at time scale 0, so the roles are effective at once). Returns the policy's
/// ARM name and the vault identity's principal id.
async fn protect(
    client: &ArmClient,
    ids: &Ids,
    vault_name: &str,
    disk: &str,
    every: &str,
) -> (String, String) {
    let (v, p_id) = vault_and_policy(client, ids, vault_name, every).await;
    let body = client
        .get_optional(&format!(
            "{}?api-version={}",
            v.arm_id,
            api::DATA_PROTECTION
        ))
        .await
        .unwrap()
        .unwrap();
    let principal = vault::principal_id(&body).expect("identity").to_string();
    for (guid, scope) in [
        (role::DISK_BACKUP_READER, ArmId::new(ids.disk(disk))),
        (role::DISK_SNAPSHOT_CONTRIBUTOR, ArmId::new(ids.snap_rg())),
    ] {
        let id = role::arm_id(&v.arm_id, guid, &scope);
        client
            .execute(&role::put_request(&id, &ids.sub, guid, &principal))
            .await
            .expect("role assignment");
    }
    let i = res(
        ResourceKind::DiskBackup,
        "x",
        instance::arm_id(&v.arm_id, "rg-app", disk),
        json!({"disk_id": ids.disk(disk), "location": "westeurope", "policy": p_id.name(),
               "snapshot_resource_group_id": ids.snap_rg(), "state": "protected"}),
    );
    client
        .execute(&instance::validate_request(&i, &p_id, "westeurope"))
        .await
        .expect("validateForBackup");
    client
        .execute(&instance::put_request(&i, &p_id, "westeurope", None))
        .await
        .expect("backup instance");
    (p_id.name().to_string(), principal)
}

/// A sandbox at `time_scale` logging every request to `log`, a client of it, its ids, and the
/// snapshot resource group.
async fn logged_estate(time_scale: f64) -> (tempfile::NamedTempFile, Estate, ArmClient, Ids) {
    let log = tempfile::NamedTempFile::new().unwrap();
    let estate = Estate::start_with(SandboxOptions {
        time_scale,
        access_log: Some(log.path().to_path_buf()),
        ..SandboxOptions::default()
    })
    .await;
    let client = estate.client().await;
    let ids = Ids {
        sub: estate.sandbox.credentials().subscription_id,
    };
    snapshot_rg(&client, &ids).await;
    (log, estate, client, ids)
}

/// A Backup vault and a disk policy of `every`, from the model's requests: the vault resource
/// and the policy's id.
async fn vault_and_policy(
    client: &ArmClient,
    ids: &Ids,
    vault_name: &str,
    every: &str,
) -> (Resource, ArmId) {
    let v = res(
        ResourceKind::BackupVault,
        vault_name,
        ids.vault(vault_name),
        vault_attrs(),
    );
    client
        .execute(&vault::put_request(&v, &Value::Null))
        .await
        .expect("vault");
    let p_attrs = policy_attrs(every);
    let p_id = policy::arm_id(&v.arm_id, "snap", &p_attrs);
    let p = res(ResourceKind::DiskPolicy, "x", p_id.clone(), p_attrs);
    client
        .execute(&policy::put_request(&p))
        .await
        .expect("policy");
    (v, p_id)
}

fn desired(ids: &Ids, disk_vaults: Vec<DiskVaultScope>) -> Desired {
    Desired {
        subscription: ids.sub.clone(),
        disk_vaults,
        ..Desired::default()
    }
}

fn scope(ids: &Ids, name: &str, policy_arm_name: &str, disk: &str) -> DiskVaultScope {
    DiskVaultScope {
        name: name.into(),
        arm_id: ids.vault(name),
        location: "westeurope".into(),
        on_remove: OnRemove::RetainData,
        grant_permissions: true,
        user_identity: None,
        keeps_identities: false,
        policies: [("snap".to_string(), policy_arm_name.to_string())].into(),
        policy_every: Default::default(),
        protect: vec![DiskProtectSpec {
            policy: "snap".into(),
            snapshot_resource_group_id: ids.snap_rg(),
            disks: vec![ids.disk(disk)],
            select: None,
        }],
    }
}

fn log_lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// `METHOD path` of the ARM requests logged after the first `skip` lines.
fn calls_since(path: &Path, skip: usize) -> Vec<String> {
    log_lines(path)
        .iter()
        .skip(skip)
        .map(|l| {
            format!(
                "{} {}",
                l["method"].as_str().unwrap(),
                l["path"].as_str().unwrap()
            )
        })
        .filter(|c| c.contains("/subscriptions/"))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn live_disk_backup_reads_the_contract_shapes_with_few_calls() {
    let (log, _estate, client, ids) = logged_estate(0.0).await;
    let (p_name, principal) = protect(&client, &ids, "bv-test", "shared-data", "4h").await;
    // An undeclared vault protecting another disk, stopped: it is only "protected elsewhere".
    let (_, other_principal) = protect(&client, &ids, "bv-other", "ledger-v2", "12h").await;
    let other_instance = instance::arm_id(&ids.vault("bv-other"), "rg-app", "ledger-v2");
    client
        .execute(&instance::stop_request(&other_instance))
        .await
        .expect("stop");
    // A role of the vault identity azprotect does not manage is not read as one of its own.
    let contributor = ArmId::new(format!("/subscriptions/{}/resourceGroups/rg-web", ids.sub));
    let id = role::arm_id(
        &ids.vault("bv-test"),
        "b24988ac-6180-42a2-ab66-4c8be2c6f0d9",
        &contributor,
    );
    client
        .execute(&role::put_request(
            &id,
            &ids.sub,
            "b24988ac-6180-42a2-ab66-4c8be2c6f0d9",
            &principal,
        ))
        .await
        .expect("contributor");
    assert_ne!(principal, other_principal);

    // Baseline: the same read without disk_backup.
    let before = log_lines(log.path()).len();
    let plain = live::read(&client, &desired(&ids, vec![])).await.unwrap();
    let plain_calls = calls_since(log.path(), before);
    assert!(plain.disks.is_empty() && plain.disks_protected_elsewhere.is_empty());
    assert!(
        !plain
            .resources
            .iter()
            .any(|r| r.address.kind == ResourceKind::BackupVault),
        "no Disk Backup reads without disk_backup"
    );

    let before = log_lines(log.path()).len();
    let live = live::read(
        &client,
        &desired(&ids, vec![scope(&ids, "bv-test", &p_name, "shared-data")]),
    )
    .await
    .unwrap();
    let calls = calls_since(log.path(), before);
    let vault_id = ids.vault("bv-test");
    let extra: Vec<&String> = calls.iter().filter(|c| !plain_calls.contains(c)).collect();
    let mut expected = vec![
        format!(
            "GET /subscriptions/{}/providers/Microsoft.DataProtection/backupVaults",
            ids.sub
        ),
        // Only the resource group the file lists disks in.
        format!(
            "GET /subscriptions/{}/resourceGroups/rg-app/providers/Microsoft.Compute/disks",
            ids.sub
        ),
        format!("GET {vault_id}/backupPolicies"),
        format!("GET {vault_id}/backupInstances"),
        // Soft-deleted instances leave backupInstances for their own list.
        format!("GET {vault_id}/deletedBackupInstances"),
        format!(
            "GET /subscriptions/{}/providers/Microsoft.Authorization/roleAssignments",
            ids.sub
        ),
        format!("GET {}/backupInstances", ids.vault("bv-other")),
    ];
    expected.sort();
    let mut got: Vec<String> = extra.into_iter().cloned().collect();
    got.sort();
    assert_eq!(got, expected, "Disk Backup calls");
    assert_eq!(calls.len(), plain_calls.len() + 7, "{calls:#?}");

    let by_addr = |a: &str| -> &Resource {
        live.resources
            .iter()
            .find(|r| r.address.to_string() == a)
            .unwrap_or_else(|| panic!("{a} missing from {:#?}", live.resources))
    };
    let disk_kinds = [
        ResourceKind::BackupVault,
        ResourceKind::DiskPolicy,
        ResourceKind::DiskBackup,
        ResourceKind::RoleAssignment,
    ];
    let mut addrs: Vec<String> = live
        .resources
        .iter()
        .filter(|r| disk_kinds.contains(&r.address.kind))
        .map(|r| r.address.to_string())
        .collect();
    addrs.sort();
    assert_eq!(
        addrs,
        [
            "backup_vault.bv-test".to_string(),
            "disk_backup.bv-test/rg-app/shared-data".to_string(),
            format!("disk_policy.bv-test/{p_name}"),
            "role_assignment.bv-test/disk_backup_reader/rg-app/shared-data".into(),
            format!("role_assignment.bv-test/disk_snapshot_contributor/{SNAP_RG}"),
        ]
    );

    let v = by_addr("backup_vault.bv-test");
    assert_eq!(v.arm_id, vault_id);
    assert_eq!(
        v.attrs,
        json!({"location": "westeurope", "tags": {"managed-by": "azprotect"}, "redundancy": "LocallyRedundant",
               "system_identity": true, "soft_delete": {"state": "On", "retention_days": 14}, "immutability": "Disabled"})
    );

    let p = by_addr(&format!("disk_policy.bv-test/{p_name}"));
    assert_eq!(p.attrs, policy_attrs("4h"));
    assert_eq!(p.arm_id, vault_id.child(&["backupPolicies", &p_name]));
    assert_eq!(
        p.depends_on,
        vec![Address::new(ResourceKind::BackupVault, "bv-test")]
    );

    let i = by_addr("disk_backup.bv-test/rg-app/shared-data");
    assert_eq!(
        i.arm_id,
        instance::arm_id(&vault_id, "rg-app", "shared-data")
    );
    assert_eq!(
        i.attrs,
        json!({"disk_id": ids.disk("shared-data"), "location": "westeurope", "policy": p_name,
               "snapshot_resource_group_id": ids.snap_rg(), "state": "protected"})
    );
    assert_eq!(
        i.depends_on,
        vec![Address::new(
            ResourceKind::DiskPolicy,
            format!("bv-test/{p_name}")
        )]
    );

    let reader = by_addr("role_assignment.bv-test/disk_backup_reader/rg-app/shared-data");
    assert_eq!(
        reader.arm_id,
        role::arm_id(
            &vault_id,
            role::DISK_BACKUP_READER,
            &ArmId::new(ids.disk("shared-data"))
        )
    );
    assert_eq!(
        reader.attrs,
        json!({"scope": ids.disk("shared-data"), "role": "disk_backup_reader",
               "vault_id": vault_id.as_str(), "principal_id": principal})
    );
    let contrib = by_addr(&format!(
        "role_assignment.bv-test/disk_snapshot_contributor/{SNAP_RG}"
    ));
    assert_eq!(
        contrib.attrs,
        json!({"scope": ids.snap_rg(), "role": "disk_snapshot_contributor",
               "vault_id": vault_id.as_str(), "principal_id": principal})
    );

    assert_eq!(
        live.disks_protected_elsewhere,
        [(
            ids.disk("ledger-v2").to_ascii_lowercase(),
            Elsewhere {
                vault: ids.vault("bv-other"),
                state: "stopped".into()
            }
        )]
        .into()
    );
    for (name, sku) in [
        ("shared-data", "Premium_LRS"),
        ("ledger-v2", "PremiumV2_LRS"),
    ] {
        let d = live
            .disks
            .iter()
            .find(|d| d.id == ArmId::new(ids.disk(name)))
            .unwrap_or_else(|| panic!("{name} not in {:#?}", live.disks));
        assert_eq!((d.sku.as_str(), d.location.as_str()), (sku, "westeurope"));
    }
    // The rest of the live state is untouched by the Disk Backup reader.
    assert_eq!(live.vms, plain.vms);
}

fn change(
    address: &str,
    action: Action,
    arm_id: &ArmId,
    before: Option<Value>,
    after: Option<Value>,
    deps: &[&str],
) -> Change {
    Change {
        address: address.parse().unwrap(),
        action,
        arm_id: arm_id.clone(),
        before,
        after,
        diff: vec![],
        reasons: vec![],
        data: None,
        blocked: None,
        depends_on: deps.iter().map(|d| d.parse().unwrap()).collect(),
    }
}

async fn apply_all(client: &ArmClient, changes: Vec<Change>) {
    let plan = Plan::new(vec![], changes);
    let report = apply::apply(
        client,
        &plan,
        &ApplyOptions::default(),
        apply::Prepared::default(),
        Arc::new(azprotect::progress::Silent),
    )
    .await;
    let failed: Vec<_> = report
        .outcomes
        .iter()
        .filter(|(_, o)| *o != Outcome::Done)
        .collect();
    assert!(failed.is_empty(), "{failed:#?}");
}

fn instance_of<'a>(live: &'a live::LiveState, addr: &str) -> &'a Resource {
    live.resources
        .iter()
        .find(|r| r.address.to_string() == addr)
        .unwrap_or_else(|| panic!("{addr} missing"))
}

#[tokio::test(flavor = "multi_thread")]
async fn apply_protects_a_disk_right_after_granting_roles_despite_propagation() {
    // Role propagation: 300 Azure s × 0.006 = 1.8 s: far longer than the first validation takes
    // to follow the role assignments, shorter than the first 2 s retry wait.
    let (log, _estate, client, ids) = logged_estate(0.006).await;
    let vault_id = ids.vault("bv-apply");
    let p_attrs = policy_attrs("4h");
    let p_id = policy::arm_id(&vault_id, "every-4h", &p_attrs);
    let p_addr = format!("disk_policy.bv-apply/{}", p_id.name());
    let disk = ArmId::new(ids.disk("shared-data"));
    let snap = ArmId::new(ids.snap_rg());
    let reader = "role_assignment.bv-apply/disk_backup_reader/rg-app/shared-data";
    let contrib = format!("role_assignment.bv-apply/disk_snapshot_contributor/{SNAP_RG}");
    let inst_addr = "disk_backup.bv-apply/rg-app/shared-data";
    let inst_id = instance::arm_id(&vault_id, "rg-app", "shared-data");
    let inst_attrs = json!({"disk_id": disk.as_str(), "location": "westeurope", "policy": p_id.name(),
                            "snapshot_resource_group_id": snap.as_str(), "state": "protected"});
    apply_all(
        &client,
        vec![
            change("backup_vault.bv-apply", Action::Create, &vault_id, None, Some(vault_attrs()), &[]),
            change(&p_addr, Action::Create, &p_id, None, Some(p_attrs.clone()), &["backup_vault.bv-apply"]),
            change(
                reader,
                Action::Create,
                &role::arm_id(&vault_id, role::DISK_BACKUP_READER, &disk),
                None,
                Some(json!({"scope": disk.as_str(), "role": "disk_backup_reader", "vault_id": vault_id.as_str()})),
                &["backup_vault.bv-apply"],
            ),
            change(
                &contrib,
                Action::Create,
                &role::arm_id(&vault_id, role::DISK_SNAPSHOT_CONTRIBUTOR, &snap),
                None,
                Some(json!({"scope": snap.as_str(), "role": "disk_snapshot_contributor", "vault_id": vault_id.as_str()})),
                &["backup_vault.bv-apply"],
            ),
            change(inst_addr, Action::Create, &inst_id, None, Some(inst_attrs.clone()), &[&p_addr, reader, &contrib]),
        ],
    )
    .await;
    let validations = calls_since(log.path(), 0)
        .iter()
        .filter(|c| c.starts_with("POST ") && c.ends_with("/validateForBackup"))
        .count();
    assert!(
        validations >= 2,
        "validateForBackup was not retried after UserErrorMissingRequiredPermissions ({validations} call(s)): the test proves nothing"
    );

    let desired = desired(
        &ids,
        vec![scope(&ids, "bv-apply", p_id.name(), "shared-data")],
    );
    let live = live::read(&client, &desired).await.unwrap();
    let i = instance_of(&live, inst_addr);
    assert_eq!(i.attrs, inst_attrs);
    assert_eq!(i.arm_id, inst_id);
    let r = instance_of(&live, reader);
    assert_eq!(r.attrs["principal_id"].as_str().map(str::len), Some(36));

    // Removal with data retained stops protection; bringing it back resumes it (no PUT needed).
    let mut stop = change(
        inst_addr,
        Action::Delete,
        &inst_id,
        Some(i.attrs.clone()),
        None,
        &[],
    );
    stop.data = Some(DataEffect::Retained);
    apply_all(&client, vec![stop]).await;
    let live = live::read(&client, &desired).await.unwrap();
    let stopped = instance_of(&live, inst_addr).attrs.clone();
    assert_eq!(stopped["state"], "stopped");
    let before = log_lines(log.path()).len();
    apply_all(
        &client,
        vec![change(
            inst_addr,
            Action::Update,
            &inst_id,
            Some(stopped),
            Some(inst_attrs.clone()),
            &[],
        )],
    )
    .await;
    let calls = calls_since(log.path(), before);
    assert_eq!(
        calls
            .iter()
            .filter(|c| !c.contains("/operation"))
            .collect::<Vec<_>>(),
        vec![&format!("POST {inst_id}/resumeProtection")],
        "{calls:#?}"
    );
    let live = live::read(&client, &desired).await.unwrap();
    assert_eq!(instance_of(&live, inst_addr).attrs, inst_attrs);
}

/// Someone protected a disk by hand before granting the vault's roles: Data Protection accepted
/// the PUT (its operation succeeded) and configuring ended in `ProtectionError`. azprotect reads
/// it as failed, grants the roles and configures the instance again in the same apply — waiting
/// for configuring to end, and again while the new roles propagate — rather than reporting
/// success for a PUT whose configuration then fails.
#[tokio::test(flavor = "multi_thread")]
async fn apply_repairs_an_instance_left_in_protection_error() {
    // Configuring: 60 Azure s × 0.006 = 0.36 s; role propagation 300 s × 0.006 = 1.8 s.
    let (log, _estate, client, ids) = logged_estate(0.006).await;
    let (v, p_id) = vault_and_policy(&client, &ids, "bv-fix", "4h").await;
    let inst_id = instance::arm_id(&v.arm_id, "rg-app", "shared-data");
    let inst_attrs = json!({"disk_id": ids.disk("shared-data"), "location": "westeurope", "policy": p_id.name(),
                            "snapshot_resource_group_id": ids.snap_rg(), "state": "protected"});
    let by_hand = res(
        ResourceKind::DiskBackup,
        "x",
        inst_id.clone(),
        inst_attrs.clone(),
    );
    client
        .execute_discarding(&instance::put_request(&by_hand, &p_id, "westeurope", None))
        .await
        .expect("the PUT's operation succeeds without the roles");
    let instance_path = format!("{inst_id}?api-version={}", api::DATA_PROTECTION);
    let status = |b: &Value| b["properties"]["protectionStatus"].clone();
    let mut body = Value::Null;
    for _ in 0..100 {
        body = client.get_optional(&instance_path).await.unwrap().unwrap();
        if instance::configuration(&body) != instance::Configuration::InProgress {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(status(&body)["status"], "ProtectionError", "{body}");

    let desired = desired(
        &ids,
        vec![scope(&ids, "bv-fix", p_id.name(), "shared-data")],
    );
    let live = live::read(&client, &desired).await.unwrap();
    let failed = instance_of(&live, "disk_backup.bv-fix/rg-app/shared-data")
        .attrs
        .clone();
    assert_eq!(failed["state"], "failed");

    let disk = ArmId::new(ids.disk("shared-data"));
    let snap = ArmId::new(ids.snap_rg());
    let reader = "role_assignment.bv-fix/disk_backup_reader/rg-app/shared-data";
    let contrib = format!("role_assignment.bv-fix/disk_snapshot_contributor/{SNAP_RG}");
    let before = log_lines(log.path()).len();
    apply_all(
        &client,
        vec![
            change(
                reader,
                Action::Create,
                &role::arm_id(&v.arm_id, role::DISK_BACKUP_READER, &disk),
                None,
                Some(json!({"scope": disk.as_str(), "role": "disk_backup_reader", "vault_id": v.arm_id.as_str()})),
                &[],
            ),
            change(
                &contrib,
                Action::Create,
                &role::arm_id(&v.arm_id, role::DISK_SNAPSHOT_CONTRIBUTOR, &snap),
                None,
                Some(json!({"scope": snap.as_str(), "role": "disk_snapshot_contributor", "vault_id": v.arm_id.as_str()})),
                &[],
            ),
            change(
                "disk_backup.bv-fix/rg-app/shared-data",
                Action::Update,
                &inst_id,
                Some(failed),
                Some(inst_attrs.clone()),
                &[reader, &contrib],
            ),
        ],
    )
    .await;
    // Done means configured: read at once, the instance is protected (not in error, not still
    // configuring).
    let body = client.get_optional(&instance_path).await.unwrap().unwrap();
    assert_eq!(status(&body)["status"], "ProtectionConfigured", "{body}");
    let calls = calls_since(log.path(), before);
    let count = |prefix: &str, suffix: &str| {
        calls
            .iter()
            .filter(|c| {
                c.starts_with(prefix) && c.contains("/backupInstances/") && c.ends_with(suffix)
            })
            .count()
    };
    // One PUT; the configuration that met the roles still propagating synced, not PUT again.
    assert_eq!(count("PUT ", ""), 1, "{calls:#?}");
    assert!(
        count("POST ", "/sync") >= 1,
        "no sync: configuring never met the roles still propagating, so the test proves \
         nothing\n{calls:#?}"
    );
}
