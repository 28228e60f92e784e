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
/// 12 Azure hours, lasts 43 s), and its first backups taken.
async fn protected() -> (Estate, String) {
    let opts = SandboxOptions {
        time_scale: 0.001,
        ..SandboxOptions::default()
    };
    let (estate, file) = applied(opts, "azprotect.yaml", &read_quickstart()).await;
    tokio::time::sleep(Duration::from_millis(150)).await;
    (estate, file)
}

async fn files(estate: &Estate, addr: &str, file: &str, extra: &[&str]) -> Run {
    let mut args = vec!["restore", addr, "-f", file, "--files", "--auto-approve"];
    args.extend_from_slice(extra);
    estate.run(&args).await
}

/// The point's own body, as Azure reports it.
async fn point_body(estate: &Estate, point: &str) -> Value {
    let item = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-protect-weu/providers/Microsoft.RecoveryServices/vaults/rsv-prod-weu/backupFabrics/Azure/protectionContainers/IaasVMContainer;iaasvmcontainerv2;rg-app;app-01/protectedItems/VM;iaasvmcontainerv2;rg-app;app-01";
    estate
        .client()
        .await
        .get_optional(&format!(
            "{item}/recoveryPoints/{point}?api-version=2024-04-01"
        ))
        .await
        .expect("read")
        .expect("the point exists")
}

#[tokio::test]
async fn a_mount_script_is_written_with_its_expiry_and_revoke_ends_the_session() {
    let (estate, file) = protected().await;
    let out = estate.path("mount.py");
    let run = files(
        &estate,
        VM,
        &file,
        &["--script-out", &out, "--format", "json"],
    )
    .await;
    run.expect_code(0);
    let m = run.json();
    let point = m["point"].as_str().unwrap().to_string();
    assert_eq!(
        (m["os_type"].as_str(), m["renewed"].as_bool()),
        (Some("Linux"), Some(false)),
        "{m}"
    );
    // The script: Azure's Python text, runnable by its owner only, naming its password.
    let text = std::fs::read_to_string(&out).expect("the script is written");
    let password = m["password"].as_str().unwrap();
    assert_eq!(password.len(), 15);
    assert!(
        text.starts_with("#!/usr/bin/env python3") && text.contains(password),
        "{text}"
    );
    assert!(m["file_name"].as_str().unwrap().ends_with(".py"), "{m}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
    }
    assert_eq!(m["run"], format!("sudo python3 {out}"));
    // Valid for 12 hours from now.
    let expires = OffsetDateTime::parse(m["expires"].as_str().unwrap(), &Rfc3339).unwrap();
    let left = expires - OffsetDateTime::now_utc();
    assert!(
        left > time::Duration::minutes(11 * 60 + 55) && left <= time::Duration::hours(12),
        "{left}"
    );
    assert_eq!(
        point_body(&estate, &point).await["properties"]["isInstantIlrSessionActive"],
        true
    );

    // Mounting the same point again renews the open session; the text says until when.
    let run = files(
        &estate,
        VM,
        &file,
        &["--point", &point, "--script-out", &out],
    )
    .await;
    run.expect_code(0);
    assert!(
        run.stdout.contains("Renewed file recovery"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("valid until"), "{}", run.stdout);
    assert!(
        run.stdout.contains(&format!("run: sudo python3 {out}")),
        "{}",
        run.stdout
    );

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
    let run = files(
        &estate,
        VM,
        &file,
        &["--point", &point, "--revoke", "--format", "json"],
    )
    .await;
    run.expect_code(0);
    assert_eq!(run.json()["revoked"], false);
}

#[tokio::test]
async fn a_windows_vm_gets_a_powershell_script() {
    let (estate, file) = protected().await;
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
    let (estate, file) = protected().await;
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
        flat(&run.stderr).contains("has no such recovery point"),
        "{}",
        run.stderr
    );
    assert!(!std::path::Path::new(&out).exists());
    // --files needs somewhere to write, and a disk has no files to mount.
    let run = files(&estate, VM, &file, &[]).await;
    run.expect_code(1);
    assert!(
        flat(&run.stderr).contains("--files needs --script-out PATH or --revoke"),
        "{}",
        run.stderr
    );

    // Azure's own refusals, for a client that sends them anyway.
    let client = estate.client().await;
    let item = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-protect-weu/providers/Microsoft.RecoveryServices/vaults/rsv-prod-weu/backupFabrics/Azure/protectionContainers/IaasVMContainer;iaasvmcontainerv2;rg-app;app-01/protectedItems/VM;iaasvmcontainerv2;rg-app;app-01";
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
