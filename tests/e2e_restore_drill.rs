//! Backups that are proven to restore: `restore-drill` restores the latest point of every
//! protected VM of the file into an isolated group and network, checks each VM runs with its
//! disks within the policy's RPO, times it, removes it and reports — on the sandbox through the
//! real binary.

mod support;

use azprotect::sandbox::SandboxOptions;
use serde_json::Value;
use support::estate::{applied, flat, read_quickstart, Estate};

const SUB: &str = "00000000-0000-0000-0000-000000000001";

/// A sandbox whose Azure day lasts 8.64 s, with `faults`.
fn fast(faults: Option<&str>) -> SandboxOptions {
    SandboxOptions {
        time_scale: 0.0001,
        faults: faults.map(str::to_string),
        ..SandboxOptions::default()
    }
}

/// The names of the `kind` (`virtualMachines`, `disks`) in the drill's resource group.
async fn left_in_drill_group(estate: &Estate, kind: &str) -> Vec<Value> {
    let api = if kind == "disks" {
        "2023-04-02"
    } else {
        "2024-07-01"
    };
    estate
        .client()
        .await
        .list(&format!("/subscriptions/{SUB}/resourceGroups/rg-restore-drill/providers/Microsoft.Compute/{kind}?api-version={api}"))
        .await
        .expect("list")
}

/// `restore-drill -f <file> --auto-approve` and `extra`.
async fn drill(estate: &Estate, file: &str, extra: &[&str]) -> support::estate::Run {
    let mut args = vec!["restore-drill", "-f", file, "--auto-approve"];
    args.extend_from_slice(extra);
    estate.run(&args).await
}

fn vm<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["vms"]
        .as_array()
        .and_then(|vms| {
            vms.iter()
                .find(|v| v["address"].as_str().is_some_and(|a| a.ends_with(name)))
        })
        .unwrap_or_else(|| panic!("{name} is not in the report: {report}"))
}

fn check<'a>(vm: &'a Value, name: &str) -> &'a Value {
    vm["checks"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["check"] == name))
        .unwrap_or_else(|| panic!("no {name} check: {vm}"))
}

#[tokio::test]
async fn a_drill_over_four_vms_with_one_failing_says_which_and_why_and_leaves_nothing_behind() {
    // db-01's restores fail as Azure fails a restore whose VM size is not available.
    let (estate, file) = applied(
        fast(Some("restore_fail=db-01")),
        "azprotect.yaml",
        &read_quickstart(),
    )
    .await;
    let run = drill(&estate, &file, &["--format", "json"]).await;
    run.expect_code(1);
    let report = run.json();
    assert_eq!(report["format_version"], 1, "{report}");
    // Measured on the sandbox: its times are not the RTO to expect on Azure, and it says so.
    assert_eq!(report["sandbox_time"], true, "{report}");
    assert_eq!(report["passed"], false);
    assert_eq!(report["vms"].as_array().map(Vec::len), Some(4), "{report}");
    let db = vm(&report, "rg-app/db-01");
    assert_eq!(db["passed"], false);
    let restore = check(db, "restore");
    assert_eq!(restore["passed"], false);
    assert!(
        restore["detail"]
            .as_str()
            .is_some_and(|d| d.contains("UserErrorSkuNotAvailable") && d.contains("failed")),
        "{db}"
    );
    assert!(db["rto_seconds"].is_null(), "{db}");
    for name in ["rg-app/app-01", "rg-web/web-01", "rg-web/web-02"] {
        let v = vm(&report, name);
        assert_eq!(v["passed"], true, "{v}");
        assert!(v["rto_seconds"].as_f64().is_some_and(|s| s > 0.0), "{v}");
        assert!(
            v["restored_vm"].as_str().is_some_and(|id| id
                .contains("/resourceGroups/rg-restore-drill/")
                && id.contains("-drill-")),
            "{v}"
        );
        for c in ["point", "rpo", "restore", "running", "disks", "cleanup"] {
            assert_eq!(check(v, c)["passed"], true, "{c}: {v}");
        }
    }
    // app-01's point holds both data disks; web-01's silver policy excludes LUN 1.
    assert!(check(vm(&report, "app-01"), "disks")["detail"]
        .as_str()
        .unwrap()
        .contains("2 data disk(s) attached (64, 128 GB)"));
    assert!(check(vm(&report, "web-01"), "disks")["detail"]
        .as_str()
        .unwrap()
        .contains("1 data disk(s) attached (32 GB)"));
    assert!(
        report["requests"].as_u64().is_some_and(|n| n > 0),
        "{report}"
    );
    // Nothing the drill created is left, and the plan is as empty as before.
    assert_eq!(
        left_in_drill_group(&estate, "virtualMachines").await,
        Vec::<Value>::new()
    );
    assert_eq!(
        left_in_drill_group(&estate, "disks").await,
        Vec::<Value>::new()
    );
    estate.expect_no_changes(&file).await;
    // The text report says the same for a person.
    let text = drill(
        &estate,
        &file,
        &["--target", "protected_vm.rsv-prod-weu/rg-app/db-01"],
    )
    .await;
    text.expect_code(1);
    assert!(
        text.stdout.contains("0 VM(s) passed, 1 failed")
            && text
                .stdout
                .contains("FAIL protected_vm.rsv-prod-weu/rg-app/db-01")
            && text.stdout.contains("UserErrorSkuNotAvailable")
            && text.stdout.contains("Times are sandbox time"),
        "{}",
        text.stdout
    );
}

#[tokio::test]
async fn kept_drill_vms_are_tagged_and_never_picked_by_a_tag_selector() {
    // Silver picks VMs by tag anywhere in the subscription: the restored copies of web-01 and
    // web-02 carry their source's `backup: silver`, and the drill's own tag.
    let yaml = read_quickstart().replace(
        "select: {resource_groups: [rg-web], tags: {backup: silver}}",
        "select: {tags: {backup: silver}}",
    );
    let (estate, file) = applied(fast(None), "azprotect.yaml", &yaml).await;
    let run = drill(
        &estate,
        &file,
        &["--keep", "--tag", "backup=silver", "--format", "markdown"],
    )
    .await;
    run.expect_code(0);
    assert!(
        run.stdout.contains("passed")
            && run
                .stdout
                .contains("| `protected_vm.rsv-prod-weu/rg-web/web-01` | ✅ |"),
        "{}",
        run.stdout
    );
    assert!(
        !run.stdout.contains("app-01"),
        "--tag narrows the drill: {}",
        run.stdout
    );
    let kept = left_in_drill_group(&estate, "virtualMachines").await;
    assert_eq!(kept.len(), 2, "{kept:?}");
    for v in &kept {
        assert_eq!(v["tags"]["backup"], "silver", "{v}");
        assert!(v["tags"]["azprotect-restore-drill"].is_string(), "{v}");
    }
    for d in left_in_drill_group(&estate, "disks").await {
        assert!(d["tags"]["azprotect-restore-drill"].is_string(), "{d}");
    }
    estate.expect_no_changes(&file).await;
}

#[tokio::test]
async fn a_drill_refuses_production_networks_and_says_where_to_restore() {
    let (estate, file) = applied(fast(None), "azprotect.yaml", &read_quickstart()).await;
    // app-01's NIC is on vnet-app: production.
    let vnet_app = format!("/subscriptions/{SUB}/resourceGroups/rg-app/providers/Microsoft.Network/virtualNetworks/vnet-app");
    let refused = drill(&estate, &file, &["--network", &vnet_app]).await;
    refused.expect_code(1);
    let said = flat(&refused.stderr);
    assert!(
        said.contains("vnet-app is a production network") && said.contains("is on it"),
        "{}",
        refused.stderr
    );
    assert_eq!(
        left_in_drill_group(&estate, "virtualMachines").await,
        Vec::<Value>::new()
    );
    // Narrowed to rg-web, whose VMs are on no network: vnet-app is still production (app-01,
    // db-01 and app-02 are on it).
    let narrowed = drill(
        &estate,
        &file,
        &[
            "--target",
            "protected_vm.rsv-prod-weu/rg-web",
            "--network",
            &vnet_app,
        ],
    )
    .await;
    narrowed.expect_code(1);
    assert!(
        flat(&narrowed.stderr).contains("vnet-app is a production network"),
        "{}",
        narrowed.stderr
    );
    // Narrowed to the subscription (as `plan --target subscription.X`): its VMs are chosen, so
    // the same refusal; a subscription the file has nothing in is an error, not an empty drill.
    let subscription = format!("subscription.{SUB}");
    let by_sub = [
        "restore-drill",
        "-f",
        &file,
        "--target",
        &subscription,
        "--network",
        &vnet_app,
    ];
    let err = estate.refused(&by_sub).await;
    assert!(err.contains("vnet-app is a production network"), "{err}");
    let unknown = "subscription.11111111-2222-3333-4444-555555555555";
    let err = estate
        .refused(&["restore-drill", "-f", &file, "--target", unknown])
        .await;
    assert!(
        err.contains(&format!("--target {unknown} matches nothing")),
        "{err}"
    );
    // A file with no drill defaults and no flags: what is missing, and where to say it.
    let bare = estate.write(
        "bare.yaml",
        read_quickstart()
            .split("    # Where `azprotect restore-drill`")
            .next()
            .unwrap(),
    );
    let run = drill(&estate, &bare, &[]).await;
    run.expect_code(1);
    let said = flat(&run.stderr);
    assert!(
        said.contains("needs --resource-group") && said.contains("restore_drill.resource_group"),
        "{}",
        run.stderr
    );
    // Unattended without --auto-approve: refused, after saying what it would create.
    let unattended = estate.run(&["restore-drill", "-f", &file]).await;
    unattended.expect_code(1);
    assert!(
        flat(&unattended.stderr).contains("restore 4 VM(s) of rsv-prod-weu into"),
        "{}",
        unattended.stderr
    );
}
