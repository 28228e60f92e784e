//! Azure Disk Backup, the user's story end to end: the real binary against the sandbox over
//! HTTPS. Disks picked by list and by tag get scheduled snapshots with the roles the vault's
//! identity needs; the estate converges to an empty plan; recovery points appear as simulated
//! time passes and expire by retention; a retention change loses no recovery point; a disk that
//! leaves the file keeps its snapshots.

mod support;

use azprotect::sandbox::SandboxOptions;
use serde_json::Value;
use std::collections::BTreeSet;
use std::time::Duration;
use support::estate::Estate;

const SUB: &str = "00000000-0000-0000-0000-000000000001";
/// An Azure hour lasts 0.36 s, a day 8.64 s.
const TIME_SCALE: f64 = 0.0001;
const AZURE_HOUR: Duration = Duration::from_millis(360);

fn config(retention: &str, listed: &[&str]) -> String {
    let disks = listed.join(", ");
    format!(
        r#"version: 1
subscription: {SUB}
resource_groups:
  rg-protect-weu: {{location: westeurope}}
  rg-snapshots-weu: {{location: westeurope}}
disk_backup:
  bv-e2e:
    resource_group: rg-protect-weu
    location: westeurope
    policies:
      hourly: {{every: 1h, retention: {retention}}}
    protect:
      - policy: hourly
        snapshot_resource_group: rg-snapshots-weu
        disks: [{disks}]
        select: {{tags: {{snapshot: 4h}}}}
"#
    )
}

async fn estate() -> Estate {
    Estate::start_with(SandboxOptions {
        time_scale: TIME_SCALE,
        ..SandboxOptions::default()
    })
    .await
}

fn vault_id() -> String {
    format!("/subscriptions/{SUB}/resourceGroups/rg-protect-weu/providers/Microsoft.DataProtection/backupVaults/bv-e2e")
}

fn instance_id(name: &str) -> String {
    format!("{}/backupInstances/{name}", vault_id())
}

/// `(id, time, expiry)` of an instance's recovery points, oldest first.
async fn recovery_points(estate: &Estate, instance: &str) -> Vec<(String, String, Option<String>)> {
    let client = estate.client().await;
    let path = format!(
        "{}/recoveryPoints?api-version={}",
        instance_id(instance),
        azprotect::model::api::DATA_PROTECTION
    );
    let mut points: Vec<_> = client
        .list(&path)
        .await
        .expect("recovery points list")
        .iter()
        .map(|rp| {
            let p = &rp["properties"];
            (
                rp["id"].as_str().unwrap().to_string(),
                p["recoveryPointTime"].as_str().unwrap().to_string(),
                p["expiryTime"].as_str().map(str::to_string),
            )
        })
        .collect();
    points.sort_by(|a, b| a.1.cmp(&b.1));
    points
}

async fn get(estate: &Estate, path: &str) -> Option<Value> {
    estate.client().await.get_optional(path).await.expect("GET")
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

async fn plan_json(estate: &Estate, file: &str) -> support::estate::Run {
    estate.run(&["plan", "-f", file, "--format", "json"]).await
}

#[tokio::test(flavor = "multi_thread")]
async fn disks_by_list_and_tag_get_scheduled_snapshots_and_converge() {
    let estate = estate().await;
    let file = estate.write("disks.yaml", &config("1d", &["rg-app/app-01-data-0"]));

    let plan = plan_json(&estate, &file).await;
    plan.expect_code(0);
    assert_eq!(
        sorted(plan.changes()),
        sorted(
            [
                "resource_group.rg-protect-weu create",
                "resource_group.rg-snapshots-weu create",
                "backup_vault.bv-e2e create",
                "disk_policy.bv-e2e/hourly create",
                "role_assignment.bv-e2e/disk_backup_reader/rg-app/app-01-data-0 create",
                "role_assignment.bv-e2e/disk_backup_reader/rg-app/shared-data create",
                "role_assignment.bv-e2e/disk_snapshot_contributor/rg-snapshots-weu create",
                "disk_backup.bv-e2e/rg-app/app-01-data-0 create",
                "disk_backup.bv-e2e/rg-app/shared-data create",
            ]
            .map(String::from)
            .to_vec()
        )
    );

    let apply = estate.run(&["apply", "-f", &file, "--auto-approve"]).await;
    apply.expect_code(0);
    assert!(
        apply.stdout.contains("9 succeeded, 0 failed"),
        "{}",
        apply.stdout
    );

    // The vault's identity holds Disk Backup Reader on each disk.
    let vault = get(&estate, &format!("{}?api-version=2026-03-01", vault_id()))
        .await
        .expect("vault exists");
    let principal = vault["identity"]["principalId"].as_str().unwrap();
    let assignments = estate
        .client()
        .await
        .list(&format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01&$filter=principalId eq '{principal}'"))
        .await
        .unwrap();
    let scopes: BTreeSet<String> = assignments
        .iter()
        .map(|a| {
            a["properties"]["scope"]
                .as_str()
                .unwrap()
                .to_ascii_lowercase()
        })
        .collect();
    for scope in [
        format!("/subscriptions/{SUB}/resourcegroups/rg-app/providers/microsoft.compute/disks/app-01-data-0"),
        format!("/subscriptions/{SUB}/resourcegroups/rg-app/providers/microsoft.compute/disks/shared-data"),
        format!("/subscriptions/{SUB}/resourcegroups/rg-snapshots-weu"),
    ] {
        assert!(scopes.contains(&scope), "no role assignment at {scope}: {scopes:?}");
    }

    let again = estate
        .run(&["plan", "-f", &file, "--detailed-exitcode"])
        .await;
    again.expect_code(0);
    assert!(again.stdout.contains("No changes"), "{}", again.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn recovery_points_accrue_expire_and_survive_a_retention_change_and_removal() {
    let estate = estate().await;
    let file = estate.write("disks.yaml", &config("1d", &["rg-app/app-01-data-0"]));
    estate
        .run(&["apply", "-f", &file, "--auto-approve"])
        .await
        .expect_code(0);

    // Hourly snapshots appear as simulated time passes, an hour apart …
    tokio::time::sleep(AZURE_HOUR * 6).await;
    let early = recovery_points(&estate, "rg-app-app-01-data-0").await;
    assert!(early.len() >= 3, "hourly points after 6 hours: {early:?}");
    let at = |t: &str| {
        time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
            .expect("recovery point time")
    };
    for pair in early.windows(2) {
        let gap = at(&pair[1].1) - at(&pair[0].1);
        assert_eq!(
            gap.whole_milliseconds(),
            AZURE_HOUR.as_millis() as i128,
            "{pair:?}"
        );
    }
    // … and expire after one day: never more than a day's worth.
    tokio::time::sleep(AZURE_HOUR * 30).await;
    let day = recovery_points(&estate, "rg-app-app-01-data-0").await;
    assert!(
        (20..=25).contains(&day.len()),
        "a day's worth of hourly points: {}",
        day.len()
    );
    let early_ids: BTreeSet<&String> = early.iter().map(|p| &p.0).collect();
    assert!(
        day.iter().all(|p| !early_ids.contains(&p.0)),
        "points older than a day expired"
    );

    // Keep them for two days instead: a new policy version, the instances move, the old one goes.
    let longer = config("2d", &["rg-app/app-01-data-0"]);
    std::fs::write(&file, longer).unwrap();
    let plan = plan_json(&estate, &file).await;
    plan.expect_code(0);
    let changes = plan.changes();
    assert!(
        changes.contains(&"disk_policy.bv-e2e/hourly create".to_string()),
        "{changes:?}"
    );
    assert!(
        changes.contains(&"disk_backup.bv-e2e/rg-app/app-01-data-0 update".to_string()),
        "{changes:?}"
    );
    assert!(
        changes
            .iter()
            .any(|c| c.starts_with("disk_policy.bv-e2e/hourly-") && c.ends_with(" delete")),
        "the old version is deleted: {changes:?}"
    );
    assert!(
        plan.json()["changes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["data"].as_str() != Some("deleted")),
        "no change deletes data"
    );
    let before: Vec<_> = recovery_points(&estate, "rg-app-app-01-data-0").await;
    estate
        .run(&["apply", "-f", &file, "--auto-approve"])
        .await
        .expect_code(0);
    // Points whose retention (the one they were taken with) ran out during the apply are gone;
    // every point still within it must be there.
    let listed_at = time::OffsetDateTime::now_utc() + time::Duration::milliseconds(500);
    let after = recovery_points(&estate, "rg-app-app-01-data-0").await;
    let after_ids: BTreeSet<&String> = after.iter().map(|p| &p.0).collect();
    let must_survive: Vec<_> = before
        .iter()
        .filter(|p| p.2.as_deref().is_none_or(|e| at(e) > listed_at))
        .collect();
    let lost: Vec<_> = must_survive
        .iter()
        .filter(|p| !after_ids.contains(&p.0))
        .collect();
    assert!(
        before.len() >= 20 && !must_survive.is_empty() && lost.is_empty(),
        "no recovery point lost by the policy change: {lost:?}"
    );
    plan_json(&estate, &file).await.expect_code(0);
    estate.expect_no_changes(&file).await;

    // Take app-01-data-0 out of the file: protection stops, its snapshots stay.
    std::fs::write(&file, config("2d", &[])).unwrap();
    let plan = plan_json(&estate, &file).await;
    let removal = plan.change(
        "disk_backup.bv-e2e/rg-app/app-01-data-0",
        "the disk's backup is in the plan",
    );
    assert_eq!(removal["action"], "delete");
    assert_eq!(removal["data"], "retained");
    let newest = recovery_points(&estate, "rg-app-app-01-data-0")
        .await
        .pop()
        .expect("recovery points before the removal");
    estate
        .run(&["apply", "-f", &file, "--auto-approve"])
        .await
        .expect_code(0);
    let instance = get(
        &estate,
        &format!(
            "{}?api-version=2026-03-01",
            instance_id("rg-app-app-01-data-0")
        ),
    )
    .await
    .expect("the instance stays");
    assert_eq!(
        instance["properties"]["currentProtectionState"],
        "ProtectionStopped"
    );
    let stopped = recovery_points(&estate, "rg-app-app-01-data-0").await;
    assert!(
        stopped.iter().any(|p| p.0 == newest.0),
        "a disk removed from the file keeps its snapshots"
    );
    // Once stopped: no new snapshots, and none expires (kept until deleted).
    tokio::time::sleep(AZURE_HOUR * 30).await;
    let still = recovery_points(&estate, "rg-app-app-01-data-0").await;
    assert_eq!(
        still, stopped,
        "snapshots of a stopped disk stay as they were"
    );
    estate.expect_no_changes(&file).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn premium_v2_disks_only_take_12_hourly_or_daily_snapshots() {
    let estate = estate().await;
    let file = estate.write("v2.yaml", &config("1d", &["rg-app/ledger-v2"]));
    let plan = plan_json(&estate, &file).await;
    let change = plan.change(
        "disk_backup.bv-e2e/rg-app/ledger-v2",
        "ledger-v2 is planned",
    );
    let blocked = change["blocked"].as_str().expect("blocked");
    assert!(
        blocked.contains("12h") && blocked.contains("1d"),
        "{blocked}"
    );
    let apply = estate.run(&["apply", "-f", &file, "--auto-approve"]).await;
    apply.expect_code(1);
    assert!(apply.stderr.contains("blocked"), "{}", apply.stderr);
}
