//! A VM's data is back: `restore` brings a protected VM back from a recovery point as a new VM,
//! as some of its disks, or onto its own disks (only when told to overwrite), after checking
//! everything Azure would refuse — on the sandbox through the real binary.

mod support;

use azprotect::azure::ArmClient;
use azprotect::sandbox::SandboxOptions;
use serde_json::Value;
use std::time::Duration;
use support::estate::{applied, flat, read_example, read_quickstart, Estate, Run};

const SUB: &str = "00000000-0000-0000-0000-000000000001";

fn subnet(vnet_rg: &str, vnet: &str) -> String {
    format!("/subscriptions/{SUB}/resourceGroups/{vnet_rg}/providers/Microsoft.Network/virtualNetworks/{vnet}/subnets/default")
}

fn staging() -> String {
    format!("/subscriptions/{SUB}/resourceGroups/rg-app/providers/Microsoft.Storage/storageAccounts/asrcacheweu")
}

/// A sandbox whose Azure day lasts 8.64 s.
fn fast() -> SandboxOptions {
    SandboxOptions {
        time_scale: 0.0001,
        ..SandboxOptions::default()
    }
}

/// The quickstart applied, and its first backups taken.
async fn protected() -> (Estate, String) {
    let (estate, file) = applied(fast(), "azprotect.yaml", &read_quickstart()).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    (estate, file)
}

/// `restore <addr> -f <file>` and `extra`.
async fn restore(estate: &Estate, addr: &str, file: &str, extra: &[&str]) -> Run {
    let mut args = vec!["restore", addr, "-f", file];
    args.extend_from_slice(extra);
    estate.run(&args).await
}

async fn get(client: &ArmClient, path: &str) -> Option<Value> {
    client.get_optional(path).await.expect("read")
}

#[tokio::test]
async fn a_vm_restored_as_a_new_vm_has_its_size_and_disks_and_the_plan_stays_empty() {
    let (estate, file) = protected().await;
    let sn = subnet("rg-app", "vnet-app");
    let st = staging();
    let run = estate
        .run(&[
            "restore",
            "protected_vm.rsv-prod-weu/rg-app/app-01",
            "-f",
            &file,
            "--as-new-vm",
            "app-01-restored",
            "--resource-group",
            "rg-app",
            "--subnet",
            &sn,
            "--staging-storage-account",
            &st,
            "--auto-approve",
            "--format",
            "json",
        ])
        .await;
    run.expect_code(0);
    let r = run.json();
    assert_eq!(r["status"], "completed", "{r}");
    assert!(r["job"].as_str().unwrap().contains("/backupJobs/"), "{r}");
    let vm_id = format!("/subscriptions/{SUB}/resourceGroups/rg-app/providers/Microsoft.Compute/virtualMachines/app-01-restored");
    assert_eq!(r["created"][0], vm_id.as_str());
    let client = estate.client().await;
    let vm = get(&client, &format!("{vm_id}?api-version=2024-07-01"))
        .await
        .expect("the VM exists");
    assert_eq!(
        vm["properties"]["hardwareProfile"]["vmSize"],
        "Standard_D2s_v5"
    );
    assert_eq!(
        vm["properties"]["storageProfile"]["dataDisks"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
    assert_eq!(vm["location"], "westeurope");
    // The restored VM is not protected by the file, and the file's plan is unchanged.
    estate.expect_no_changes(&file).await;
}

#[tokio::test]
async fn two_of_three_disks_are_restored_as_disks() {
    let (estate, file) = protected().await;
    let st = staging();
    let run = estate
        .run(&[
            "restore",
            "rg-app/app-01",
            "-f",
            &file,
            "--disks-only",
            "--disks",
            "1",
            "--resource-group",
            "rg-protect-weu",
            "--staging-storage-account",
            &st,
            "--auto-approve",
        ])
        .await;
    run.expect_code(0);
    assert!(
        run.stdout
            .contains("Restored protected_vm.rsv-prod-weu/rg-app/app-01 from point")
            && run.stdout.contains("Template Blob Uri"),
        "{}",
        run.stdout
    );
    let client = estate.client().await;
    let disks = client
        .list(&format!("/subscriptions/{SUB}/resourceGroups/rg-protect-weu/providers/Microsoft.Compute/disks?api-version=2023-04-02"))
        .await
        .unwrap();
    let names: Vec<&str> = disks.iter().filter_map(|d| d["name"].as_str()).collect();
    assert_eq!(names.len(), 2, "the OS disk and LUN 1: {names:?}");
    assert!(
        names.iter().any(|n| n.starts_with("app-01-osdisk-")),
        "{names:?}"
    );
    assert!(
        names.iter().any(|n| n.starts_with("app-01-datadisk-1-")),
        "{names:?}"
    );
}

#[tokio::test]
async fn replacing_a_vms_disks_needs_the_flag_then_runs() {
    let (estate, file) = protected().await;
    let st = staging();
    let replace = |extra: &'static [&'static str]| {
        let mut args = vec!["--replace-disks", "--staging-storage-account", st.as_str()];
        args.extend(extra);
        let (estate, file) = (&estate, &file);
        async move { restore(estate, "rg-app/db-01", file, &args).await }
    };
    let refused = replace(&["--auto-approve"]).await;
    refused.expect_code(1);
    let said = flat(&refused.stderr);
    assert!(
        said.contains("--replace-disks overwrites db-01's disks")
            && said.contains("--allow-overwrite"),
        "{}",
        refused.stderr
    );
    // Without a terminal and without --auto-approve: refused, saying what it would do.
    let unattended = replace(&["--allow-overwrite"]).await;
    unattended.expect_code(1);
    assert!(
        flat(&unattended.stderr).contains("REPLACE the OS disk and 1 data disk(s) of VM"),
        "{}",
        unattended.stderr
    );
    let run = replace(&["--allow-overwrite", "--auto-approve"]).await;
    run.expect_code(0);
    assert!(run.stdout.contains("job completed"), "{}", run.stdout);
}

#[tokio::test]
async fn a_restore_azure_would_refuse_is_refused_before_it_starts() {
    let (estate, file) = protected().await;
    let st = staging();
    for (args, says) in [
        (
            vec!["--as-new-vm", "app-02", "--resource-group", "rg-app", "--subnet", &subnet("rg-app", "vnet-app"), "--staging-storage-account", &st],
            "a VM named app-02 already exists in rg-app",
        ),
        (
            vec!["--as-new-vm", "x-01", "--resource-group", "rg-app", "--subnet", &subnet("rg-app-dr", "vnet-app-dr"), "--staging-storage-account", &st],
            "is in northeurope: a restore from this vault goes to its region, westeurope",
        ),
        (
            vec!["--as-new-vm", "x-01", "--resource-group", "rg-nope", "--subnet", &subnet("rg-app", "vnet-app"), "--staging-storage-account", &st],
            "--resource-group: /subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-nope does not exist",
        ),
        (
            vec!["--disks-only", "--disks", "7", "--resource-group", "rg-app", "--staging-storage-account", &st],
            "holds no data disk at LUN 7",
        ),
        (
            vec!["--disks-only", "--point", "12345678901234", "--resource-group", "rg-app", "--staging-storage-account", &st],
            "has no recovery point named 12345678901234",
        ),
        (vec!["--as-new-vm", "x-01"], "--as-new-vm needs --resource-group"),
    ] {
        let mut all = vec!["--auto-approve"];
        all.extend(args.iter().copied());
        let run = restore(&estate, "rg-app/app-01", &file, &all).await;
        run.expect_code(1);
        assert!(flat(&run.stderr).contains(says), "{says}\n{}", run.stderr);
    }
}

#[tokio::test]
async fn the_sandbox_refuses_what_azure_refuses_whoever_asks() {
    // Checked by the sandbox too, for clients that do not check first (the az CLI, SDKs).
    let (estate, _) = protected().await;
    let client = estate.client().await;
    let item = format!("/subscriptions/{SUB}/resourceGroups/rg-protect-weu/providers/Microsoft.RecoveryServices/vaults/rsv-prod-weu/backupFabrics/Azure/protectionContainers/IaasVMContainer;iaasvmcontainerv2;rg-app;app-01/protectedItems/VM;iaasvmcontainerv2;rg-app;app-01");
    let points = client
        .list(&format!("{item}/recoveryPoints?api-version=2026-01-01"))
        .await
        .unwrap();
    let point = points[0]["id"].as_str().unwrap().to_string();
    let source = format!("/subscriptions/{SUB}/resourceGroups/rg-app/providers/Microsoft.Compute/virtualMachines/app-01");
    let post = |props: Value| {
        let client = client.clone();
        let point = point.clone();
        async move {
            let req = azprotect::model::ArmRequest::new(
                azprotect::model::Method::Post,
                format!("{point}/restore?api-version=2026-01-01"),
                Some(serde_json::json!({"properties": props})),
            );
            client
                .execute(&req)
                .await
                .err()
                .map(|e| (e.status(), e.code().map(str::to_string)))
        }
    };
    let base = serde_json::json!({
        "objectType": "IaasVMRestoreRequest", "recoveryPointId": "x", "sourceResourceId": source,
        "region": "westeurope", "recoveryType": "RestoreDisks",
        "targetResourceGroupId": format!("/subscriptions/{SUB}/resourceGroups/rg-app"),
        "storageAccountId": staging(),
    });
    let with = |k: &str, v: Value| {
        let mut b = base.clone();
        if v.is_null() {
            b.as_object_mut().unwrap().remove(k);
        } else {
            b[k] = v;
        }
        b
    };
    for (body, code) in [
        (
            with("region", "northeurope".into()),
            "UserErrorInvalidRestoreRegion",
        ),
        (
            with("storageAccountId", Value::Null),
            "UserErrorStorageAccountRequired",
        ),
        (
            with("restoreDiskLunList", serde_json::json!([5])),
            "UserErrorRestoreDiskNotInRecoveryPoint",
        ),
        (
            with("recoveryType", "Somewhere".into()),
            "BMSUserErrorInvalidInput",
        ),
        (
            with(
                "targetResourceGroupId",
                format!("/subscriptions/{SUB}/resourceGroups/rg-nope").into(),
            ),
            "UserErrorTargetResourceGroupNotFound",
        ),
    ] {
        assert_eq!(
            post(body.clone()).await,
            Some((Some(400), Some(code.to_string()))),
            "{body}"
        );
    }
    let mut taken = with("recoveryType", "AlternateLocation".into());
    for (k, v) in [
        ("targetVirtualMachineId", format!("/subscriptions/{SUB}/resourceGroups/rg-app/providers/Microsoft.Compute/virtualMachines/app-02")),
        ("virtualNetworkId", format!("/subscriptions/{SUB}/resourceGroups/rg-app/providers/Microsoft.Network/virtualNetworks/vnet-app")),
        ("subnetId", subnet("rg-app", "vnet-app")),
    ] {
        taken[k] = v.into();
    }
    assert_eq!(
        post(taken).await,
        Some((Some(409), Some("UserErrorVmAlreadyExists".into())))
    );
    // And a well-formed one runs.
    assert_eq!(post(base).await, None);
}

/// Once a point exists (every 4 simulated hours: 1.44 s each), rg-app/shared-data restored as
/// the new disk shared-data-restored in rg-app (exit 0): the JSON report.
async fn shared_data_restored(estate: &Estate, file: &str) -> Value {
    tokio::time::sleep(Duration::from_millis(1700)).await;
    let run = estate
        .run(&[
            "restore",
            "disk_backup.bv-prod-weu/rg-app/shared-data",
            "-f",
            file,
            "--as-new-disk",
            "shared-data-restored",
            "--resource-group",
            "rg-app",
            "--auto-approve",
            "--format",
            "json",
        ])
        .await;
    run.expect_code(0);
    run.json()
}

/// A disk that backs up with the landing zone's user-assigned identity restores with it: the
/// restore grants that identity (the vault has no other) Disk Restore Operator on the group
/// and names it in its request, as Data Protection restores with the vault's own otherwise.
#[tokio::test]
async fn a_disk_backing_up_with_a_user_assigned_identity_restores_with_it() {
    let yaml = read_example("disk-backup.yaml").replace(
        "    identity: system ",
        "    identity: rg-identity/uami-backup ",
    );
    assert!(yaml.contains("rg-identity/uami-backup"));
    let (estate, file) = applied(fast(), "disks.yaml", &yaml).await;
    let r = shared_data_restored(&estate, &file).await;
    assert_eq!(r["status"], "completed", "{r}");
    let created = r["created"].as_array().unwrap();
    assert!(
        created[0].as_str().is_some_and(
            |c| c.contains("Disk Restore Operator for the user-assigned identity uami-backup")
        ),
        "{r}"
    );
    let client = estate.client().await;
    let disk = format!("/subscriptions/{SUB}/resourceGroups/rg-app/providers/Microsoft.Compute/disks/shared-data-restored?api-version=2023-04-02");
    assert!(get(&client, &disk).await.is_some(), "the disk exists");
}

#[tokio::test]
async fn a_disk_backup_point_becomes_a_new_disk_through_data_protection() {
    let (estate, file) = applied(fast(), "disks.yaml", &read_example("disk-backup.yaml")).await;
    let addr = "disk_backup.bv-prod-weu/rg-app/shared-data";
    let r = shared_data_restored(&estate, &file).await;
    let disk_id = format!("/subscriptions/{SUB}/resourceGroups/rg-app/providers/Microsoft.Compute/disks/shared-data-restored");
    // The disk comes last, after the role the restore granted first (e2e_restore_files).
    let created = r["created"].as_array().unwrap();
    assert_eq!(
        (
            r["status"].as_str(),
            created.last().and_then(|c| c.as_str())
        ),
        (Some("completed"), Some(disk_id.as_str())),
        "{r}"
    );
    assert!(
        r["job"]
            .as_str()
            .unwrap()
            .contains("Microsoft.DataProtection/backupVaults/bv-prod-weu/backupJobs/"),
        "{r}"
    );
    let client = estate.client().await;
    let source = get(&client, &format!("/subscriptions/{SUB}/resourceGroups/rg-app/providers/Microsoft.Compute/disks/shared-data?api-version=2023-04-02")).await.unwrap();
    let restored = get(&client, &format!("{disk_id}?api-version=2023-04-02"))
        .await
        .expect("the disk exists");
    assert_eq!(
        restored["properties"]["diskSizeGB"],
        source["properties"]["diskSizeGB"]
    );
    // A restore never overwrites a disk; a disk does not restore as a VM.
    for (extra, says) in [
        (
            vec![
                "--as-new-disk",
                "shared-data-restored",
                "--resource-group",
                "rg-app",
            ],
            "a disk named shared-data-restored already exists",
        ),
        (
            vec![
                "--disks-only",
                "--resource-group",
                "rg-app",
                "--staging-storage-account",
                "x",
            ],
            "is a disk: it restores as a new disk",
        ),
    ] {
        let mut args = vec!["--auto-approve"];
        args.extend(extra);
        let run = restore(&estate, addr, &file, &args).await;
        run.expect_code(1);
        assert!(flat(&run.stderr).contains(says), "{says}: {}", run.stderr);
    }
    // The file still plans empty: the new disk is nobody's to protect.
    estate.expect_no_changes(&file).await;
}
