//! `azprotect snapshot take | list | restore` through the real binary against the sandbox, and
//! the snapshot request bodies against the official Compute spec.

mod support;

use azprotect::model::disk_backup::{instance, policy, role, vault};
use azprotect::model::snapshot as model;
use azprotect::model::{Address, ArmId, ArmRequest, ManagedDisk, Method, Resource, ResourceKind};
use azprotect::sandbox::SandboxOptions;
use serde_json::{json, Value};
use std::time::Duration;
use support::estate::{repo, Estate};

const DISK_SPEC: &str =
    "specification/compute/resource-manager/Microsoft.Compute/Compute/stable/2026-03-02/DiskRP.json";

fn sub(e: &Estate) -> String {
    e.sandbox.credentials().subscription_id
}

async fn get(e: &Estate, id: &ArmId) -> Value {
    e.client()
        .await
        .execute(&ArmRequest::new(
            Method::Get,
            format!("{id}?api-version={}", azprotect::model::api::DISKS),
            None,
        ))
        .await
        .unwrap_or_else(|err| panic!("GET {id}: {err}"))
        .expect("a body")
}

fn no_panic(r: &support::estate::Run) {
    assert!(
        !r.stderr.contains("panicked") && !r.stdout.contains("panicked"),
        "{}",
        r.stderr
    );
}

#[tokio::test]
async fn take_list_restore_and_a_second_restore_to_the_same_name_is_refused() {
    let e = Estate::start().await;
    let s = sub(&e);
    let r = e
        .run(&[
            "snapshot",
            "take",
            "rg-app/shared-data",
            "--name",
            "before-upgrade",
            "--tag",
            "change=CHG-42",
        ])
        .await;
    r.expect_code(0);
    let id = model::snapshot_id(&s, "rg-app", "before-upgrade");
    assert!(r.stdout.contains(id.as_str()), "{}", r.stdout);
    assert!(
        r.stdout.contains("incremental, 512 GB"),
        "size and kind: {}",
        r.stdout
    );
    // Without a terminal, progress is timestamped lines on stderr.
    assert!(
        r.stderr
            .contains("taking incremental snapshot before-upgrade"),
        "{}",
        r.stderr
    );
    let snap = get(&e, &id).await;
    assert_eq!(snap["properties"]["incremental"], true);
    assert_eq!(
        snap["properties"]["creationData"]["sourceResourceId"]
            .as_str()
            .unwrap()
            .to_ascii_lowercase(),
        model::disk_id(&s, "rg-app", "shared-data")
            .as_str()
            .to_ascii_lowercase()
    );
    assert_eq!(
        snap["tags"],
        json!({"change": "CHG-42", "created-by": "azprotect", "source-disk": "shared-data"})
    );

    // A full copy, named by default after the disk and the time.
    let r = e
        .run(&["snapshot", "take", "rg-app/app-01-osdisk", "--full"])
        .await;
    r.expect_code(0);
    assert!(
        r.stdout.contains("/snapshots/app-01-osdisk-20"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("full,"), "{}", r.stdout);

    // The list shows it, newest first, with the id restore takes.
    let r = e
        .run(&["snapshot", "list", "rg-app/shared-data", "--format", "json"])
        .await;
    r.expect_code(0);
    let rows = r.json()["snapshots"].as_array().unwrap().clone();
    let row = rows
        .iter()
        .find(|x| x["name"] == "before-upgrade")
        .unwrap_or_else(|| panic!("{rows:?}"));
    assert_eq!(row["kind"], "ad-hoc");
    assert_eq!(row["size_gb"], 512);
    assert_eq!(row["snapshot_id"], id.as_str());
    assert!(
        rows.iter().all(|x| x["disk"] == "shared-data"),
        "only shared-data's snapshots: {rows:?}"
    );
    let text = e.run(&["snapshot", "list", "rg-app/shared-data"]).await;
    text.expect_code(0);
    assert!(text.stdout.starts_with("TIME (UTC)"), "{}", text.stdout);
    assert!(
        text.stdout.contains("ad-hoc") && text.stdout.contains("before-upgrade"),
        "{}",
        text.stdout
    );

    // Restore to a new disk: same size, the snapshot's region, the source disk's type.
    let r = e
        .run(&[
            "snapshot",
            "restore",
            id.as_str(),
            "--to-disk",
            "shared-data-restored",
        ])
        .await;
    r.expect_code(0);
    let disk_id = model::disk_id(&s, "rg-app", "shared-data-restored");
    assert!(r.stdout.contains(disk_id.as_str()), "{}", r.stdout);
    let disk = get(&e, &disk_id).await;
    let d = ManagedDisk::from_arm(&disk).unwrap();
    assert_eq!(
        (d.size_gb, d.location.as_str(), d.sku.as_str()),
        (512, "westeurope", "Premium_LRS")
    );
    assert_eq!(
        disk["properties"]["creationData"]["sourceResourceId"]
            .as_str()
            .unwrap()
            .to_ascii_lowercase(),
        id.as_str().to_ascii_lowercase()
    );

    // Never over an existing disk.
    let r = e
        .run(&[
            "snapshot",
            "restore",
            "rg-app/before-upgrade",
            "--to-disk",
            "shared-data-restored",
            "--sku",
            "standardssd_lrs",
        ])
        .await;
    r.expect_code(1);
    no_panic(&r);
    assert!(
        r.stderr.contains("--to-disk") && r.stderr.contains("already exists"),
        "{}",
        r.stderr
    );
    assert_eq!(
        ManagedDisk::from_arm(&get(&e, &disk_id).await).unwrap().sku,
        "Premium_LRS",
        "the existing disk is untouched"
    );

    // An explicit type and zone.
    let r = e
        .run(&[
            "snapshot",
            "restore",
            "rg-app/before-upgrade",
            "--to-disk",
            "zonal-copy",
            "--sku",
            "standardssd_lrs",
            "--zone",
            "2",
        ])
        .await;
    r.expect_code(0);
    let z = get(&e, &model::disk_id(&s, "rg-app", "zonal-copy")).await;
    assert_eq!(z["sku"]["name"], "StandardSSD_LRS");
    assert_eq!(z["zones"], json!(["2"]));
}

#[tokio::test]
async fn bad_references_and_arguments_exit_1_naming_the_argument_without_a_panic() {
    let e = Estate::start().await;
    let other_sub =
        "/subscriptions/99999999-9999-9999-9999-999999999999/resourceGroups/rg-app/providers/Microsoft.Compute/disks/shared-data";
    let vm = format!(
        "/subscriptions/{}/resourceGroups/rg-app/providers/Microsoft.Compute/virtualMachines/app-01",
        sub(&e)
    );
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["take", "rg-app/no-such-disk"], "DISK: managed disk"),
        (
            vec!["take", "no-such-rg/disk"],
            "resource group no-such-rg was not found",
        ),
        (vec!["take", other_sub], "subscription 99999999"),
        (vec!["take", "a/b/c"], "is not a managed disk reference"),
        (vec!["take", &vm], "not of a managed disk"),
        (vec!["take", "rg-app/shared-data", "--tag", "oops"], "--tag"),
        (
            vec!["take", "rg-app/shared-data", "--name", "bad name"],
            "--name",
        ),
        (
            vec!["take", "rg-app/shared-data", "--resource-group", "rg-none"],
            "--resource-group: resource group rg-none",
        ),
        (
            vec!["list", "rg-app/no-such-disk"],
            "no snapshot of it either",
        ),
        (vec!["list", "bv-unknown"], "is a Backup vault name"),
        (
            vec!["list", "bv-unknown", "-f", "examples/disk-backup.yaml"],
            "no Backup vault bv-unknown",
        ),
        (
            vec!["restore", "rg-app/none", "--to-disk", "x"],
            "SNAPSHOT: snapshot",
        ),
        (
            vec!["restore", "rg-app/none", "--to-disk", "x-"],
            "--to-disk",
        ),
        (
            vec!["restore", "rg-app/none", "--to-disk", "x", "--sku", "Gold"],
            "--sku",
        ),
        (
            vec!["restore", "rg-app/none", "--to-disk", "x", "--zone", "4"],
            "--zone",
        ),
    ];
    for (args, expect) in cases {
        let mut full = vec!["snapshot"];
        full.extend(args.iter().copied());
        let r = e.run(&full).await;
        assert_eq!(r.code, 1, "{full:?}\n{}\n{}", r.stdout, r.stderr);
        no_panic(&r);
        assert!(
            r.stderr.contains(expect),
            "{full:?}: want {expect:?} in\n{}",
            r.stderr
        );
    }
}

fn res(kind: ResourceKind, arm_id: ArmId, attrs: Value) -> Resource {
    Resource {
        address: Address::new(kind, "x"),
        arm_id,
        attrs,
        depends_on: vec![],
    }
}

async fn put_group(e: &Estate, name: &str) -> ArmId {
    let id = ArmId::new(format!("/subscriptions/{}/resourceGroups/{name}", sub(e)));
    e.client()
        .await
        .execute(&ArmRequest::new(
            Method::Put,
            format!("{id}?api-version={}", azprotect::model::api::RESOURCES),
            Some(json!({"location": "westeurope"})),
        ))
        .await
        .expect("resource group");
    id
}

/// `bv-prod-weu` of examples/disk-backup.yaml protecting rg-app/shared-data every hour,
/// created with the model's own request builders (as `apply` would).
async fn protect_shared_data(e: &Estate) -> ArmId {
    let s = sub(e);
    let c = e.client().await;
    put_group(e, "rg-protect-weu").await;
    let snap_rg = put_group(e, "rg-snapshots-weu").await;
    let v = res(
        ResourceKind::BackupVault,
        vault::arm_id(&s, "rg-protect-weu", "bv-prod-weu"),
        json!({"location": "westeurope", "redundancy": "LocallyRedundant"}),
    );
    c.execute(&vault::put_request(&v, &serde_json::Value::Null))
        .await
        .expect("vault");
    let body = c
        .get_optional(&format!(
            "{}?api-version={}",
            v.arm_id,
            azprotect::model::api::DATA_PROTECTION
        ))
        .await
        .unwrap()
        .unwrap();
    let principal = vault::principal_id(&body).expect("identity").to_string();
    let attrs = json!({"every": "1h", "retention": "7d", "start": "00:00"});
    let p = res(
        ResourceKind::DiskPolicy,
        policy::arm_id(&v.arm_id, "hourly", &attrs),
        attrs,
    );
    c.execute(&policy::put_request(&p)).await.expect("policy");
    let disk = model::disk_id(&s, "rg-app", "shared-data");
    for (scope, r) in [
        (&disk, role::DISK_BACKUP_READER),
        (&snap_rg, role::DISK_SNAPSHOT_CONTRIBUTOR),
    ] {
        let id = role::arm_id(&v.arm_id, r, scope);
        c.execute(&role::put_request(&id, &s, r, &principal))
            .await
            .expect("role assignment");
    }
    // Role assignments propagate (5 simulated minutes).
    tokio::time::sleep(Duration::from_millis(100)).await;
    let i = res(
        ResourceKind::DiskBackup,
        instance::arm_id(&v.arm_id, "rg-app", "shared-data"),
        json!({"disk_id": disk.as_str(), "snapshot_resource_group_id": snap_rg.as_str()}),
    );
    c.execute(&instance::put_request(&i, &p.arm_id, "westeurope", None))
        .await
        .expect("backup instance");
    v.arm_id
}

#[tokio::test]
async fn list_shows_disk_backup_recovery_points_beside_ad_hoc_snapshots_and_restores_one() {
    // 1 simulated hour = 360 ms.
    let e = Estate::start_with(SandboxOptions {
        time_scale: 0.0001,
        ..SandboxOptions::default()
    })
    .await;
    let vault_id = protect_shared_data(&e).await;
    e.run(&["snapshot", "take", "rg-app/shared-data", "--name", "mine"])
        .await
        .expect_code(0);
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let r = e
        .run(&["snapshot", "list", "rg-app/shared-data", "--format", "json"])
        .await;
    r.expect_code(0);
    let rows = r.json()["snapshots"].as_array().unwrap().clone();
    let scheduled: Vec<&Value> = rows.iter().filter(|x| x["kind"] == "scheduled").collect();
    let (with_point, without): (Vec<&Value>, Vec<&Value>) = scheduled
        .iter()
        .partition(|p| p["recovery_point_id"].is_string());
    assert!(with_point.len() >= 2, "{rows:#?}");
    // The snapshots are listed after the points: a backup that landed in between shows its
    // snapshot before its point, and only such a newest one may lack it.
    let oldest_without = without.iter().filter_map(|p| p["time"].as_str()).min();
    let newest_with = with_point.iter().filter_map(|p| p["time"].as_str()).max();
    assert!(
        without.len() <= 1 && oldest_without.is_none_or(|t| Some(t) > newest_with),
        "{rows:#?}"
    );
    for p in &with_point {
        assert!(p["expiry"].is_string(), "{p}");
        let snap = p["snapshot_id"].as_str().expect("a snapshot id to restore");
        assert!(snap.contains("/resourceGroups/rg-snapshots-weu/"), "{snap}");
    }
    assert!(rows
        .iter()
        .any(|x| x["kind"] == "ad-hoc" && x["name"] == "mine"));
    let times: Vec<&str> = rows.iter().map(|x| x["time"].as_str().unwrap()).collect();
    let mut sorted = times.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(times, sorted, "newest first");

    // A vault, by id or by its name in the file, lists its recovery points only.
    let by_id = e
        .run(&["snapshot", "list", vault_id.as_str(), "--format", "json"])
        .await;
    by_id.expect_code(0);
    let vault_rows = by_id.json()["snapshots"].as_array().unwrap().clone();
    assert!(!vault_rows.is_empty());
    assert!(vault_rows.iter().all(|x| x["kind"] == "scheduled"));
    let file = repo().join("examples/disk-backup.yaml");
    let by_name = e
        .run(&[
            "snapshot",
            "list",
            "bv-prod-weu",
            "-f",
            &file.display().to_string(),
        ])
        .await;
    by_name.expect_code(0);
    assert!(by_name.stdout.contains("scheduled"), "{}", by_name.stdout);

    // A recovery point id restores from the snapshot Azure Backup took for it.
    let point = with_point[0]["recovery_point_id"].as_str().unwrap();
    let r = e
        .run(&["snapshot", "restore", point, "--to-disk", "from-backup"])
        .await;
    r.expect_code(0);
    let d = get(
        &e,
        &model::disk_id(&sub(&e), "rg-snapshots-weu", "from-backup"),
    )
    .await;
    assert_eq!(d["properties"]["diskSizeGB"], 512);
    assert_eq!(
        d["properties"]["creationData"]["sourceResourceId"],
        with_point[0]["snapshot_id"]
    );
}

#[test]
fn snapshot_help_is_stable() {
    for args in [
        vec!["snapshot", "--help"],
        vec!["snapshot", "take", "--help"],
        vec!["snapshot", "list", "--help"],
        vec!["snapshot", "restore", "--help"],
    ] {
        let out = assert_cmd::Command::cargo_bin("azprotect")
            .unwrap()
            .env_clear()
            .env("NO_COLOR", "1")
            .args(&args)
            .output()
            .unwrap();
        assert!(out.status.success());
        let name = args[..args.len() - 1].join("_");
        insta::assert_snapshot!(name, String::from_utf8_lossy(&out.stdout));
    }
}

fn method(m: Method) -> &'static str {
    match m {
        Method::Get => "get",
        Method::Put => "put",
        Method::Patch => "patch",
        Method::Post => "post",
        Method::Delete => "delete",
    }
}

#[test]
fn snapshot_and_disk_bodies_conform_to_the_compute_spec() {
    let Some(root) = support::specs_or_skip("snapshot_and_disk_bodies_conform_to_the_compute_spec")
    else {
        return;
    };
    let specs = support::spec_schema::Specs::new(&root);
    let s = "00000000-0000-0000-0000-000000000001";
    let disk = ManagedDisk::from_arm(&json!({
        "id": model::disk_id(s, "rg-app", "shared-data").as_str(),
        "location": "westeurope", "sku": {"name": "Premium_LRS"}, "properties": {"diskSizeGB": 512},
    }))
    .unwrap();
    let tags = model::snapshot_tags("shared-data", &[("owner".into(), "ops".into())]).unwrap();
    let snap_id = model::snapshot_id(s, "rg-app", "before-upgrade");
    let snap = model::Snapshot::from_arm(&json!({
        "id": snap_id.as_str(), "location": "westeurope",
        "properties": {"diskSizeGB": 512, "incremental": true,
                       "creationData": {"createOption": "Copy", "sourceResourceId": disk.id.as_str()}},
    }))
    .unwrap();
    let target = model::disk_id(s, "rg-app", "restored");
    for req in [
        model::take_request(&snap_id, &disk, true, &tags),
        model::take_request(&snap_id, &disk, false, &tags),
        model::restore_request(&target, &snap, None, None),
        model::restore_request(&target, &snap, Some("PremiumV2_LRS"), Some("1")),
        model::get_request(&snap_id),
        model::get_request(&target),
    ] {
        let errors = match (
            specs.body_schema(DISK_SPEC, method(req.method), &req.path),
            &req.body,
        ) {
            (Err(e), _) => vec![e],
            (Ok(Some(node)), Some(body)) => specs.check(body, &node),
            (Ok(None), None) => vec![],
            (Ok(s), b) => vec![format!(
                "body mismatch: spec wants {}, sent {}",
                s.is_some(),
                b.is_some()
            )],
        };
        assert!(
            errors.is_empty(),
            "{:?} {}:\n{}\n{:#}",
            req.method,
            req.path,
            errors.join("\n"),
            req.body.clone().unwrap_or_default()
        );
    }
}
