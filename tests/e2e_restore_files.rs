//! A few files back without restoring the VM: `restore --files --script-out PATH` opens a
//! file-recovery session on a recovery point and writes the script that mounts it, says how to
//! run it and until when it is valid; `--files --revoke` ends the session — on the sandbox
//! through the real binary.

mod support;

use azprotect::sandbox::SandboxOptions;
use serde_json::{json, Value};
use std::time::Duration;
use support::estate::{applied, flat, read_quickstart, Estate, Run};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

const VM: &str = "protected_vm.rsv-prod-weu/rg-app/app-01";

/// The quickstart applied on a sandbox whose Azure day lasts 86.4 s (a file-recovery session,
/// 12 Azure hours, lasts 43 s), and its first backups taken; the sandbox logs every request it
/// answers to the returned file.
async fn protected() -> (Estate, String, tempfile::NamedTempFile) {
    let log = tempfile::NamedTempFile::new().expect("access log");
    let opts = SandboxOptions {
        time_scale: 0.001,
        access_log: Some(log.path().to_path_buf()),
        ..SandboxOptions::default()
    };
    let (estate, file) = applied(opts, "azprotect.yaml", &read_quickstart()).await;
    tokio::time::sleep(Duration::from_millis(150)).await;
    (estate, file, log)
}

/// How many requests the sandbox has answered whose path contains `part`.
fn sent(log: &tempfile::NamedTempFile, part: &str) -> usize {
    std::fs::read_to_string(log.path())
        .expect("read the access log")
        .lines()
        .filter(|l| l.contains(part))
        .count()
}

/// `restore VM --files --script-out out --format json`, which succeeds.
async fn mount(estate: &Estate, file: &str, out: &str) -> Run {
    let run = files(estate, VM, file, &["--script-out", out, "--format", "json"]).await;
    run.expect_code(0);
    run
}

/// The password a sandbox script carries (`TargetPassword = "…"`).
fn password_in(script: &str) -> String {
    script
        .split("TargetPassword = \"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the script names its password")
        .to_string()
}

const ITEM: &str = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-protect-weu/providers/Microsoft.RecoveryServices/vaults/rsv-prod-weu/backupFabrics/Azure/protectionContainers/IaasVMContainer;iaasvmcontainerv2;rg-app;app-01/protectedItems/VM;iaasvmcontainerv2;rg-app;app-01";

async fn files(estate: &Estate, addr: &str, file: &str, extra: &[&str]) -> Run {
    let mut args = vec!["restore", addr, "-f", file, "--files", "--auto-approve"];
    args.extend_from_slice(extra);
    estate.run(&args).await
}

/// The point's own body, as Azure reports it.
async fn point_body(estate: &Estate, point: &str) -> Value {
    estate
        .client()
        .await
        .get_optional(&format!(
            "{ITEM}/recoveryPoints/{point}?api-version=2024-04-01"
        ))
        .await
        .expect("read")
        .expect("the point exists")
}

#[tokio::test]
async fn a_mount_script_is_written_with_its_expiry_and_revoke_ends_the_session() {
    let (estate, file, log) = protected().await;
    let out = estate.path("mount.py");
    // An old script anyone may read is in the way: it is replaced by one only its owner reads.
    std::fs::write(&out, "old").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let run = mount(&estate, &file, &out).await;
    let m = run.json();
    let point = m["point"].as_str().unwrap().to_string();
    assert_eq!(
        (m["os_type"].as_str(), m["renewed"].as_bool()),
        (Some("Linux"), Some(false)),
        "{m}"
    );
    // The script: Azure's Python text, runnable by its owner only. Its password stays out of
    // the JSON (CI logs it).
    let text = std::fs::read_to_string(&out).expect("the script is written");
    assert!(text.starts_with("#!/usr/bin/env python3"), "{text}");
    let password = password_in(&text);
    assert_eq!(password.len(), 15);
    assert!(m.get("password").is_none(), "{m}");
    assert!(!run.stdout.contains(&password), "{}", run.stdout);
    assert!(m["file_name"].as_str().unwrap().ends_with(".py"), "{m}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
    }
    assert_eq!(m["run"], format!("sudo python3 {out}"));
    assert!(
        OffsetDateTime::parse(m["expires"].as_str().unwrap(), &Rfc3339).is_ok(),
        "{m}"
    );
    assert_eq!(
        point_body(&estate, &point).await["properties"]["isInstantIlrSessionActive"],
        true
    );

    // Mounting the same point again renews the open session; the text, for the person at the
    // terminal, shows the password and says until when.
    let run = files(
        &estate,
        VM,
        &file,
        &["--point", &point, "--script-out", &out],
    )
    .await;
    run.expect_code(0);
    for said in [
        "Renewed file recovery".to_string(),
        "valid until".into(),
        format!("password: {password}"),
        format!("run: sudo python3 {out}"),
    ] {
        assert!(run.stdout.contains(&said), "{said}: {}", run.stdout);
    }

    // Revoke ends it; a second revoke has nothing to end and sends nothing.
    let run = files(&estate, VM, &file, &["--point", &point, "--revoke"]).await;
    run.expect_code(0);
    assert!(
        run.stdout.contains("Ended the file-recovery session"),
        "{}",
        run.stdout
    );
    assert_eq!(
        point_body(&estate, &point).await["properties"]["isInstantIlrSessionActive"],
        false
    );
    let revokes = sent(&log, "/revokeInstantItemRecovery");
    assert_eq!(revokes, 1);
    let run = files(
        &estate,
        VM,
        &file,
        &["--point", &point, "--revoke", "--format", "json"],
    )
    .await;
    run.expect_code(0);
    assert_eq!(run.json()["revoked"], false);
    assert_eq!(sent(&log, "/revokeInstantItemRecovery"), revokes);
}

#[tokio::test]
async fn revoke_without_a_point_ends_the_session_of_an_older_point() {
    let (estate, file, log) = protected().await;
    let out = estate.path("mount.py");
    let run = mount(&estate, &file, &out).await;
    let mounted = run.json()["point"].as_str().unwrap().to_string();
    // "Backup now": a newer point than the one mounted.
    let client = estate.client().await;
    support::estate::backup_now(&client, ITEM).await;
    tokio::time::sleep(Duration::from_millis(150)).await;
    let latest = client
        .list(&format!("{ITEM}/recoveryPoints?api-version=2024-04-01"))
        .await
        .unwrap()
        .iter()
        .max_by_key(|p| {
            p["properties"]["recoveryPointTime"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .unwrap()["name"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(latest, mounted);

    // Without --point, every open session ends: the older point's, said by name.
    let run = files(&estate, VM, &file, &["--revoke", "--format", "json"]).await;
    run.expect_code(0);
    let r = run.json();
    assert_eq!(
        (r["revoked"].as_bool(), &r["ended"]),
        (Some(true), &json!([mounted])),
        "{r}"
    );
    assert_eq!(
        point_body(&estate, &mounted).await["properties"]["isInstantIlrSessionActive"],
        false
    );
    // Nothing is open now: nothing is ended, nothing is sent.
    let run = files(&estate, VM, &file, &["--revoke"]).await;
    run.expect_code(0);
    assert!(
        run.stdout
            .contains("no file-recovery session open on any point"),
        "{}",
        run.stdout
    );
    assert_eq!(sent(&log, "/revokeInstantItemRecovery"), 1);
}

#[tokio::test]
async fn a_windows_vm_gets_a_powershell_script() {
    let (estate, file, _log) = protected().await;
    let out = estate.path("mount.ps1");
    let run = files(
        &estate,
        "rg-app/db-01",
        &file,
        &["--script-out", &out, "--format", "json"],
    )
    .await;
    run.expect_code(0);
    let m = run.json();
    assert_eq!(m["os_type"], "Windows", "{m}");
    assert!(m["run"].as_str().unwrap().starts_with("powershell"), "{m}");
    assert!(std::fs::read_to_string(&out)
        .unwrap()
        .contains("$TargetPassword"));
}

#[tokio::test]
async fn a_point_that_does_not_exist_is_refused_before_anything_starts() {
    let (estate, file, log) = protected().await;
    let out = estate.path("never.py");
    let run = files(
        &estate,
        VM,
        &file,
        &["--point", "99999999999999", "--script-out", &out],
    )
    .await;
    run.expect_code(1);
    assert!(
        flat(&run.stderr).contains("has no recovery point named 99999999999999"),
        "{}",
        run.stderr
    );
    assert!(!std::path::Path::new(&out).exists());
    assert_eq!(
        sent(&log, "provisionInstantItemRecovery"),
        0,
        "nothing was sent"
    );
    // --files needs somewhere to write.
    let run = files(&estate, VM, &file, &[]).await;
    run.expect_code(1);
    assert!(
        flat(&run.stderr).contains("--files needs --script-out PATH or --revoke"),
        "{}",
        run.stderr
    );

    // Azure's own refusals, for a client that sends them anyway.
    let client = estate.client().await;
    let item = ITEM;
    let vm = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-app/providers/Microsoft.Compute/virtualMachines/app-01";
    let post = |point: String, body: Value| {
        let client = client.clone();
        async move {
            let req = azprotect::request::ArmRequest::new(
                azprotect::request::Method::Post,
                format!("{item}/recoveryPoints/{point}/provisionInstantItemRecovery?api-version=2024-04-01"),
                Some(body),
            );
            client
                .execute(&req)
                .await
                .err()
                .map(|e| (e.status(), e.code().map(str::to_string)))
        }
    };
    let registration = |vm: &str| json!({"properties": {"objectType": "IaasVMILRRegistrationRequest", "virtualMachineId": vm}});
    assert_eq!(
        post("99999999999999".into(), registration(vm)).await,
        Some((Some(404), Some("BMSUserErrorRecoveryPointNotFound".into())))
    );
    let points = client
        .list(&format!("{item}/recoveryPoints?api-version=2024-04-01"))
        .await
        .unwrap();
    let real = points[0]["name"].as_str().unwrap().to_string();
    for body in [
        json!({"properties": {"objectType": "IaasVMRestoreRequest"}}),
        registration("/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-app/providers/Microsoft.Compute/virtualMachines/app-02"),
    ] {
        assert_eq!(
            post(real.clone(), body.clone()).await,
            Some((Some(400), Some("BMSUserErrorInvalidInput".into()))),
            "{body}"
        );
    }
}

/// A Disk Backup estate whose points come every 1.44 s, with its first point taken.
async fn disks() -> (Estate, String) {
    let opts = SandboxOptions {
        time_scale: 0.0001,
        ..SandboxOptions::default()
    };
    let (estate, file) = applied(
        opts,
        "disks.yaml",
        &support::estate::read_example("disk-backup.yaml"),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(1700)).await;
    (estate, file)
}

const SUB: &str = "00000000-0000-0000-0000-000000000001";
const DISK: &str = "disk_backup.bv-prod-weu/rg-app/shared-data";
const BV: &str = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-protect-weu/providers/Microsoft.DataProtection/backupVaults/bv-prod-weu";
const DRO: &str = "b50d9833-a0cb-478e-945f-707fcc997c13";

/// The vault identity's Disk Restore Operator assignments on `rg`.
async fn restore_operator_on(estate: &Estate, rg: &str) -> usize {
    let client = estate.client().await;
    let vault = client
        .get_optional(&format!("{BV}?api-version=2025-01-01"))
        .await
        .unwrap()
        .unwrap();
    let principal = vault["identity"]["principalId"].as_str().unwrap();
    client
        .list(&format!("/subscriptions/{SUB}/resourceGroups/{rg}/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01&$filter=principalId%20eq%20%27{principal}%27"))
        .await
        .unwrap()
        .iter()
        .filter(|a| {
            a["properties"]["roleDefinitionId"]
                .as_str()
                .unwrap()
                .ends_with(DRO)
        })
        .count()
}

/// `restore DISK --as-new-disk NAME --resource-group RG` (and `extra`).
async fn disk_restore(estate: &Estate, file: &str, name: &str, rg: &str, extra: &[&str]) -> Run {
    let mut args = vec![
        "restore",
        DISK,
        "-f",
        file,
        "--as-new-disk",
        name,
        "--resource-group",
        rg,
    ];
    args.extend_from_slice(extra);
    estate.run(&args).await
}

/// The text without miette's wrapping or any whitespace (miette wraps long ids where it likes).
fn squeezed(s: &str) -> String {
    flat(s).split_whitespace().collect()
}

#[tokio::test]
async fn a_disk_restore_grants_the_vaults_identity_disk_restore_operator_first() {
    let (estate, file) = disks().await;
    // A disk has no files to mount.
    let out = estate.path("disk.py");
    let run = files(&estate, DISK, &file, &["--script-out", &out]).await;
    run.expect_code(1);
    assert!(
        squeezed(&run.stderr).contains(&squeezed(
            "is a disk: file recovery mounts a protected VM's point"
        )),
        "{}",
        run.stderr
    );
    assert!(!std::path::Path::new(&out).exists());
    assert_eq!(restore_operator_on(&estate, "rg-app").await, 0);
    // What it will do, shown when it asks (refused without a terminal).
    let grant = squeezed(&format!("grant the Backup vault bv-prod-weu's identity Disk Restore Operator on /subscriptions/{SUB}/resourceGroups/rg-app"));
    let run = disk_restore(&estate, &file, "shared-data-back", "rg-app", &[]).await;
    run.expect_code(1);
    assert!(squeezed(&run.stderr).contains(&grant), "{}", run.stderr);
    let run = disk_restore(
        &estate,
        &file,
        "shared-data-back",
        "rg-app",
        &["--auto-approve", "--format", "json"],
    )
    .await;
    run.expect_code(0);
    let r = run.json();
    assert_eq!(r["status"], "completed", "{}", run.stdout);
    assert_eq!(restore_operator_on(&estate, "rg-app").await, 1);
    // The grant is reported with the disk it made.
    let created: Vec<&str> = r["created"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(created.len(), 2, "{r}");
    assert!(
        created[0].starts_with(
            "role assignment: Disk Restore Operator for the Backup vault bv-prod-weu's identity"
        ) && created[0].ends_with(&format!("on /subscriptions/{SUB}/resourceGroups/rg-app")),
        "{r}"
    );
    assert!(created[1].ends_with("/disks/shared-data-back"), "{r}");
    // Held now: the next restore into the group grants nothing.
    let run = disk_restore(&estate, &file, "shared-data-again", "rg-app", &[]).await;
    run.expect_code(1);
    let said = squeezed(&run.stderr);
    assert!(
        said.contains("createdisk") && !said.contains("grantthe"),
        "{}",
        run.stderr
    );
}

/// A disk restore into a new group the sandbox's story tag `deny` locks: refused, and what it
/// said (squeezed).
async fn refused_into(estate: &Estate, file: &str, rg: &str, deny: &str) -> String {
    let client = estate.client().await;
    let id = format!("/subscriptions/{SUB}/resourceGroups/{rg}");
    support::estate::tagged_group(&client, &id, json!({"azprotect-sandbox": deny})).await;
    let run = disk_restore(estate, file, "shared-data-back", rg, &["--auto-approve"]).await;
    run.expect_code(1);
    squeezed(&run.stderr)
}

#[tokio::test]
async fn a_disk_restore_says_which_role_to_assign_where_it_may_not_grant_it() {
    let (estate, file) = disks().await;
    let client = estate.client().await;
    // A group where this caller may not assign roles (the sandbox's tag for that story).
    let said = refused_into(&estate, &file, "rg-locked", "deny-role-assignment-write").await;
    let rg = format!("/subscriptions/{SUB}/resourceGroups/rg-locked");
    for part in [
        "needs the Backup vault bv-prod-weu's identity",
        "to hold Disk Restore Operator (b50d9833-a0cb-478e-945f-707fcc997c13) on /subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-locked",
        "AuthorizationFailed",
        "az role assignment create --assignee-object-id",
    ] {
        assert!(said.contains(&squeezed(part)), "{part}: {said}");
    }
    assert!(client
        .get_optional(&format!(
            "{rg}/providers/Microsoft.Compute/disks/shared-data-back?api-version=2023-04-02"
        ))
        .await
        .unwrap()
        .is_none());
    // And Data Protection itself refuses a restore there without the role.
    let bi = client
        .list(&format!("{BV}/backupInstances?api-version=2024-04-01"))
        .await
        .unwrap()[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let point = client
        .list(&format!("{bi}/recoveryPoints?api-version=2024-04-01"))
        .await
        .unwrap()[0]["name"]
        .as_str()
        .unwrap()
        .to_string();
    let req = azprotect::model::restore::disk_restore_request(
        &azprotect::model::ArmId::new(&bi),
        &point,
        &azprotect::model::ArmId::new(format!(
            "{rg}/providers/Microsoft.Compute/disks/shared-data-back"
        )),
        "westeurope",
        None,
    );
    let e = client.execute(&req).await.expect_err("refused");
    assert_eq!(
        (e.status(), e.code()),
        (Some(400), Some("UserErrorMissingRequiredPermissions"))
    );

    // A group whose role assignments this caller may not even read: said which permission.
    let said = refused_into(&estate, &file, "rg-unreadable", "deny-role-assignment-read").await;
    for part in [
        "you may not read the group's role assignments (Microsoft.Authorization/roleAssignments/read)",
        "AuthorizationFailed",
        "ask for Microsoft.Authorization/roleAssignments/read on /subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-unreadable",
    ] {
        assert!(said.contains(&squeezed(part)), "{part}: {said}");
    }
}
