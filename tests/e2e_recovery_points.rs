//! A platform engineer asks what a protected VM or disk can be restored from: `recovery-points`
//! lists the points newest first — time, consistency, tier, expiry, the disks each holds — as a
//! table, markdown or JSON, on the sandbox through the real binary. Points accrue on the policy's
//! schedule over simulated time, and an on-demand backup adds one.

mod support;

use azprotect::sandbox::SandboxOptions;
use serde_json::{json, Value};
use std::time::Duration;
use support::estate::{flat, read_example, read_quickstart, Estate, Run};

/// An Azure day lasts 86.4 ms of real time here.
const TIME_SCALE: f64 = 0.000_001;

/// The quickstart applied on a sandbox whose days pass at [`TIME_SCALE`].
async fn applied() -> (Estate, String) {
    let opts = SandboxOptions {
        time_scale: TIME_SCALE,
        ..SandboxOptions::default()
    };
    support::estate::applied(opts, "azprotect.yaml", &read_quickstart()).await
}

/// `recovery-points <addr> -f <file>` and `extra`.
async fn rp(estate: &Estate, addr: &str, file: &str, extra: &[&str]) -> Run {
    let mut args = vec!["recovery-points", addr, "-f", file];
    args.extend_from_slice(extra);
    estate.run(&args).await
}

fn points(run: &Run) -> Vec<Value> {
    let doc = run.json();
    assert_eq!(doc["format_version"], 1);
    doc["points"].as_array().expect("points").clone()
}

#[tokio::test]
async fn a_protected_vms_points_are_listed_newest_first_with_what_they_hold() {
    let (estate, file) = applied().await;
    // Some simulated days pass: the gold policy runs every 4 hours within a 12-hour window.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let addr = "protected_vm.rsv-prod-weu/rg-app/app-01";
    let run = rp(&estate, addr, &file, &["--format", "json"]).await;
    run.expect_code(0);
    let ps = points(&run);
    assert!(ps.len() >= 4, "the first backup and scheduled runs: {ps:?}");
    // Compared as times: RFC 3339 text does not sort ("…:57Z" is earlier than "…:57.5Z").
    let times: Vec<time::OffsetDateTime> = ps
        .iter()
        .map(|p| {
            let t = p["time"].as_str().unwrap();
            time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).unwrap()
        })
        .collect();
    let mut sorted = times.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(times, sorted, "newest first");
    let newest = &ps[0];
    // app-01 runs Linux: file-system consistent; fresh points are in both tiers; its two data
    // disks and the OS disk are in each point.
    assert_eq!(newest["consistency"], "file-system");
    assert_eq!(newest["tiers"], json!(["snapshot", "vault"]));
    assert_eq!(
        newest["disks"].as_array().map(Vec::len),
        Some(3),
        "{newest}"
    );
    assert!(newest["expires"].is_string());

    // db-01 runs Windows: application-consistent.
    let db = rp(
        &estate,
        "protected_vm.rsv-prod-weu/rg-app/db-01",
        &file,
        &["--format", "json"],
    )
    .await;
    db.expect_code(0);
    assert_eq!(points(&db)[0]["consistency"], "application");

    // The short form (the file has one vault), as a table.
    let table = rp(&estate, "rg-app/app-01", &file, &[]).await;
    table.expect_code(0);
    assert!(
        table
            .stdout
            .contains("recovery point(s) of protected_vm.rsv-prod-weu/rg-app/app-01")
            && table.stdout.contains("TIME (UTC)")
            && table.stdout.contains("file-system")
            && table.stdout.contains("snapshot+vault")
            && table.stdout.contains("os, lun 0, lun 1"),
        "{}",
        table.stdout
    );
    // Markdown for a ticket.
    let md = rp(&estate, addr, &file, &["--format", "markdown"]).await;
    assert!(
        md.stdout
            .starts_with("### Recovery points of `protected_vm.rsv-prod-weu/rg-app/app-01`"),
        "{}",
        md.stdout
    );
    assert!(
        md.stdout.contains("| TIME (UTC) | CONSISTENCY |"),
        "{}",
        md.stdout
    );
}

#[tokio::test]
async fn an_on_demand_backup_adds_a_point_and_the_window_filters() {
    let (estate, file) = applied().await;
    let addr = "protected_vm.rsv-prod-weu/rg-web/web-01";
    let list = || rp(&estate, addr, &file, &["--format", "json"]);
    let before = points(&list().await).len();
    // "Backup now", as the portal and `az backup protection backup-now` do.
    let client = estate.client().await;
    let item = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-protect-weu/providers/Microsoft.RecoveryServices/vaults/rsv-prod-weu/backupFabrics/Azure/protectionContainers/IaasVMContainer;iaasvmcontainerv2;rg-web;web-01/protectedItems/VM;iaasvmcontainerv2;rg-web;web-01";
    support::estate::backup_now(&client, item).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let after = points(&list().await);
    assert!(after.len() > before, "{before} → {}", after.len());

    // A window in the future holds nothing; one around today holds them all.
    let none = rp(&estate, addr, &file, &["--since", "2999-01-01"]).await;
    none.expect_code(0);
    assert!(
        none.stdout
            .contains("No recovery points of protected_vm.rsv-prod-weu/rg-web/web-01"),
        "{}",
        none.stdout
    );
    let today = time::OffsetDateTime::now_utc().date().to_string();
    let all = rp(
        &estate,
        addr,
        &file,
        &["--since", &today, "--until", &today, "--format", "json"],
    )
    .await;
    assert!(!points(&all).is_empty());
}

#[tokio::test]
async fn what_has_no_points_says_why() {
    let (estate, file) = applied().await;
    // app-02 is not protected (tagged backup: none).
    let run = rp(
        &estate,
        "protected_vm.rsv-prod-weu/rg-app/app-02",
        &file,
        &[],
    )
    .await;
    run.expect_code(1);
    assert!(
        flat(&run.stderr)
            .contains("protected_vm.rsv-prod-weu/rg-app/app-02 is not protected in Azure"),
        "{}",
        run.stderr
    );
    // A vault the file does not declare, a kind without points, an address that is not one.
    for (addr, says) in [
        (
            "protected_vm.rsv-other/rg-app/app-01",
            "no Recovery Services vault rsv-other is declared",
        ),
        (
            "backup_policy.rsv-prod-weu/gold",
            "a backup_policy has no recovery points",
        ),
        (
            "protected_vm.rsv-prod-weu/app-01",
            "does not name a protected VM or disk",
        ),
    ] {
        let run = rp(&estate, addr, &file, &[]).await;
        run.expect_code(1);
        assert!(flat(&run.stderr).contains(says), "{addr}: {}", run.stderr);
    }
}

#[tokio::test]
async fn a_disks_points_come_from_its_backup_vault() {
    let opts = SandboxOptions {
        time_scale: 0.0001,
        ..SandboxOptions::default()
    };
    let (estate, path) =
        support::estate::applied(opts, "disks.yaml", &read_example("disk-backup.yaml")).await;
    // Every 4 (simulated) hours: 1.44 s of real time each.
    tokio::time::sleep(Duration::from_millis(3200)).await;
    let run = rp(
        &estate,
        "disk_backup.bv-prod-weu/rg-app/shared-data",
        &path,
        &["--format", "json"],
    )
    .await;
    run.expect_code(0);
    let ps = points(&run);
    assert!(!ps.is_empty(), "{}", run.stdout);
    assert_eq!(ps[0]["consistency"], "crash");
    assert_eq!(ps[0]["tiers"], json!(["snapshot"]));
}
