//! The primary region is down: `restore … --secondary-region` brings a protected VM back in the
//! vault's paired region from the copy Azure keeps there — for a GeoRedundant vault with
//! cross-region restore, once a point has been copied (up to 12 hours after it is taken) — and
//! `recovery-points` says which points are there yet. On the sandbox through the real binary.

mod support;

use azprotect::sandbox::SandboxOptions;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use support::estate::{applied, flat, read_quickstart, Estate, Run};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

const SUB: &str = "00000000-0000-0000-0000-000000000001";
const APP: &str = "protected_vm.rsv-prod-weu/rg-app/app-01";

/// An Azure day lasts 8.64 s: a point reaches the paired region 4.32 s after it is taken.
const TIME_SCALE: f64 = 0.0001;
/// Azure's 12 hours at [`TIME_SCALE`].
const LAG: Duration = Duration::from_millis(4_320);

fn fast() -> SandboxOptions {
    SandboxOptions {
        time_scale: TIME_SCALE,
        ..SandboxOptions::default()
    }
}

/// Where a restore in North Europe goes: rg-app-dr's network and storage account.
fn neu_target(vm: &str) -> Vec<String> {
    let dr = format!("/subscriptions/{SUB}/resourceGroups/rg-app-dr");
    [
        "--as-new-vm",
        vm,
        "--resource-group",
        "rg-app-dr",
        "--subnet",
        &format!("{dr}/providers/Microsoft.Network/virtualNetworks/vnet-app-dr/subnets/default"),
        "--staging-storage-account",
        &format!("{dr}/providers/Microsoft.Storage/storageAccounts/asrcacheneu"),
    ]
    .map(String::from)
    .to_vec()
}

/// `app-01` restored as `app-01-neu` in the paired region, completed: its JSON result.
async fn restored_in_neu(estate: &Estate, file: &str) -> serde_json::Value {
    let run = restore_in_neu(
        estate,
        file,
        "app-01-neu",
        &["--auto-approve", "--format", "json"],
    )
    .await;
    run.expect_code(0);
    let r = run.json();
    assert_eq!(r["status"], "completed", "{r}");
    r
}

async fn restore_in_neu(estate: &Estate, file: &str, vm: &str, extra: &[&str]) -> Run {
    let target = neu_target(vm);
    let mut args = vec!["restore", APP, "-f", file, "--secondary-region"];
    args.extend(target.iter().map(String::as_str));
    args.extend_from_slice(extra);
    estate.run(&args).await
}

async fn points(estate: &Estate, file: &str) -> Value {
    let run = estate
        .run(&["recovery-points", APP, "-f", file, "--format", "json"])
        .await;
    run.expect_code(0);
    run.json()
}

/// Wait (at most 20 s) until `recovery-points` shows a point in the paired region.
async fn until_copied(estate: &Estate, file: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let doc = points(estate, file).await;
        let copied = doc["points"]
            .as_array()
            .is_some_and(|ps| ps.iter().any(|p| p["secondary_region"] == true));
        if copied {
            return doc;
        }
        assert!(Instant::now() < deadline, "no point was copied: {doc}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

fn vm_id(rg: &str, vm: &str) -> String {
    format!(
        "/subscriptions/{SUB}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachines/{vm}"
    )
}

#[tokio::test]
async fn a_vm_just_backed_up_has_no_point_in_the_paired_region_yet() {
    // A slower clock, so that apply and the restore stay within the lag on a loaded machine:
    // an Azure day lasts 86.4 s, a point reaches the paired region 43.2 s after it is taken.
    let slow = SandboxOptions {
        time_scale: 0.001,
        ..SandboxOptions::default()
    };
    let lag = Duration::from_millis(43_200);
    let start = Instant::now();
    let (estate, file) = applied(slow, "azprotect.yaml", &read_quickstart()).await;
    // Just backed up (the first backups run during apply): nothing has reached North Europe.
    let early = restore_in_neu(&estate, &file, "app-01-early", &["--auto-approve"]).await;
    assert!(
        start.elapsed() < lag,
        "apply and the restore took {:?}, longer than the lag: the check below proves nothing",
        start.elapsed()
    );
    early.expect_code(1);
    let said = flat(&early.stderr);
    assert!(
        said.contains("has no recovery point in northeurope yet") && said.contains("12 hours"),
        "{}",
        early.stderr
    );
}

#[tokio::test]
async fn a_vm_is_restored_in_the_paired_region_once_a_point_has_been_copied_there() {
    let (estate, file) = applied(fast(), "azprotect.yaml", &read_quickstart()).await;
    until_copied(&estate, &file).await;
    // Without a terminal: what it would do, and nothing done.
    let unattended = restore_in_neu(&estate, &file, "app-01-neu", &[]).await;
    unattended.expect_code(1);
    let said = flat(&unattended.stderr);
    assert!(
        said.contains("paired region, northeurope (cross-region restore)")
            && said.contains("virtualMachines/app-01-neu in northeurope from point"),
        "{}",
        unattended.stderr
    );

    let r = restored_in_neu(&estate, &file).await;
    let job = r["job"].as_str().unwrap();
    assert!(
        job.contains("/vaults/rsv-prod-weu/backupJobs/"),
        "the job is the vault's, read from the paired region: {r}"
    );
    let id = vm_id("rg-app-dr", "app-01-neu");
    assert_eq!(r["created"][0], id.as_str());
    let client = estate.client().await;
    let vm = client
        .get_optional(&format!("{id}?api-version=2024-07-01"))
        .await
        .unwrap()
        .expect("the VM exists");
    assert_eq!(vm["location"], "northeurope");
    assert_eq!(
        vm["properties"]["storageProfile"]["dataDisks"]
            .as_array()
            .map(Vec::len),
        Some(2),
        "app-01's two data disks"
    );
    // The job lives in the secondary region: the vault's own restore jobs do not list it.
    let primary = client
        .list(&format!("/subscriptions/{SUB}/resourceGroups/rg-protect-weu/providers/Microsoft.RecoveryServices/vaults/rsv-prod-weu/backupJobs?api-version=2026-01-01"))
        .await
        .unwrap();
    let job_name = job.rsplit('/').next().unwrap();
    assert!(primary.iter().all(|j| j["name"] != job_name), "{primary:?}");
}

#[tokio::test]
async fn points_newer_than_the_replication_lag_are_not_offered_in_the_paired_region() {
    let (estate, file) = applied(fast(), "azprotect.yaml", &read_quickstart()).await;
    until_copied(&estate, &file).await;
    // "Backup now": a point that cannot have reached the paired region yet.
    let item = format!("/subscriptions/{SUB}/resourceGroups/rg-protect-weu/providers/Microsoft.RecoveryServices/vaults/rsv-prod-weu/backupFabrics/Azure/protectionContainers/IaasVMContainer;iaasvmcontainerv2;rg-app;app-01/protectedItems/VM;iaasvmcontainerv2;rg-app;app-01");
    let client = estate.client().await;
    support::estate::backup_now(&client, &item).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let before = OffsetDateTime::now_utc();
    let doc = points(&estate, &file).await;
    let after = OffsetDateTime::now_utc();
    assert_eq!(doc["secondary_region"], "northeurope", "{doc}");
    let ps = doc["points"].as_array().unwrap();
    let (mut there, mut not_yet) = (Vec::new(), Vec::new());
    for p in ps {
        let t = OffsetDateTime::parse(p["time"].as_str().unwrap(), &Rfc3339).unwrap();
        match p["secondary_region"].as_bool() {
            Some(true) => there.push((t, p["name"].as_str().unwrap().to_string())),
            Some(false) => not_yet.push((t, p["name"].as_str().unwrap().to_string())),
            None => panic!("every point of a CRR vault says where it is: {p}"),
        }
    }
    // A point is there only once the lag has passed, and each newer one is not (yet).
    for (t, n) in &there {
        assert!(*t + LAG <= after, "{n} at {t} was copied too early");
    }
    for (t, n) in &not_yet {
        assert!(*t + LAG > before, "{n} at {t} should have been copied");
    }
    assert!(!there.is_empty() && !not_yet.is_empty(), "{doc}");
    let newest_there = there.iter().map(|(t, _)| *t).max().unwrap();
    assert!(
        not_yet.iter().all(|(t, _)| *t > newest_there),
        "copies arrive oldest first: {doc}"
    );
    // A point that has not been copied is not offered for a restore there.
    let (_, name) = not_yet.iter().max().unwrap();
    let run = restore_in_neu(
        &estate,
        &file,
        "app-01-neu",
        &["--point", name, "--auto-approve"],
    )
    .await;
    run.expect_code(1);
    assert!(
        flat(&run.stderr).contains(&format!("has no recovery point named {name}")),
        "{}",
        run.stderr
    );
    // The table says so too.
    let table = estate.run(&["recovery-points", APP, "-f", &file]).await;
    table.expect_code(0);
    assert!(
        table.stdout.contains("IN NORTHEUROPE") && table.stdout.contains("yes"),
        "{}",
        table.stdout
    );
}

#[tokio::test]
async fn a_locally_redundant_vault_refuses_a_cross_region_restore_and_nothing_is_created() {
    let yaml = read_quickstart().replace(
        "storage_redundancy: GeoRedundant\n    cross_region_restore: true\n",
        "storage_redundancy: LocallyRedundant\n",
    );
    assert!(yaml.contains("LocallyRedundant"));
    let (estate, file) = applied(fast(), "lrs.yaml", &yaml).await;
    tokio::time::sleep(LAG + Duration::from_millis(200)).await;
    let run = restore_in_neu(&estate, &file, "app-01-neu", &["--auto-approve"]).await;
    run.expect_code(1);
    assert!(
        flat(&run.stderr).contains(
            "rsv-prod-weu cannot restore across regions: its storage is LocallyRedundant"
        ),
        "{}",
        run.stderr
    );
    let client = estate.client().await;
    let vm = client
        .get_optional(&format!(
            "{}?api-version=2024-07-01",
            vm_id("rg-app-dr", "app-01-neu")
        ))
        .await
        .unwrap();
    assert!(vm.is_none(), "nothing was created: {vm:?}");
    // Its points say nothing of a secondary region; Azure refuses to list one.
    let doc = points(&estate, &file).await;
    assert!(doc.get("secondary_region").is_none(), "{doc}");
    assert!(
        doc["points"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p.get("secondary_region").is_none()),
        "{doc}"
    );
    let item = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-protect-weu/providers/Microsoft.RecoveryServices/vaults/rsv-prod-weu/backupFabrics/Azure/protectionContainers/IaasVMContainer;iaasvmcontainerv2;rg-app;app-01/protectedItems/VM;iaasvmcontainerv2;rg-app;app-01";
    let err = client
        .list(&format!("{item}/recoveryPoints?api-version=2021-11-15"))
        .await
        .expect_err("no secondary copy");
    assert_eq!(
        err.code(),
        Some("BMSUserErrorCrossRegionRestoreNotEnabledInThisVault")
    );
    // Replacing the source VM's disks from the paired region is not a thing.
    let replace = estate
        .run(&[
            "restore",
            APP,
            "-f",
            &file,
            "--secondary-region",
            "--replace-disks",
        ])
        .await;
    assert_ne!(replace.code, 0);
    assert!(
        replace.stderr.contains("cannot be used with"),
        "{}",
        replace.stderr
    );
    // A program using azprotect as a library is refused too, before anything is read.
    use azprotect::ops::restore::{prepare, Destination, Input, PointChoice};
    let input = Input {
        address: APP.into(),
        files: vec![file.clone().into()],
        point: PointChoice::Latest,
        destination: Destination::ReplaceDisks {
            allow_overwrite: true,
            staging: format!("/subscriptions/{SUB}/resourceGroups/rg-app-dr/providers/Microsoft.Storage/storageAccounts/asrcacheneu"),
        },
        disks: None,
        secondary_region: true,
    };
    let err = prepare(&client, Some(SUB), &input)
        .await
        .expect_err("refused");
    assert!(
        err.to_string()
            .contains("--secondary-region cannot --replace-disks"),
        "{err}"
    );
}

#[tokio::test]
async fn the_sandbox_refuses_a_cross_region_restore_azure_would_refuse_whoever_asks() {
    use azprotect::model::crr;
    use azprotect::model::ArmId;
    let (estate, file) = applied(fast(), "azprotect.yaml", &read_quickstart()).await;
    let doc = until_copied(&estate, &file).await;
    let point = doc["points"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["secondary_region"] == true)
        .unwrap();
    let point_id = ArmId::new(point["id"].as_str().unwrap());
    let client = estate.client().await;
    let aad = client
        .get_optional(&crr::aad_properties_path(SUB, "northeurope"))
        .await
        .unwrap()
        .expect("AAD properties");
    assert!(aad["properties"]["audience"].is_string(), "{aad}");
    let token = client
        .execute(&crr::access_token_request(&point_id, &aad))
        .await
        .unwrap()
        .expect("an access token");
    assert_eq!(token["properties"]["objectType"], "CrrAccessToken");
    assert_eq!(token["properties"]["resourceName"], "rsv-prod-weu");
    let target = |kind: &str| {
        let dr = format!("/subscriptions/{SUB}/resourceGroups/rg-app-dr");
        json!({"properties": {
            "objectType": "IaasVMRestoreRequest",
            "recoveryPointId": point_id.name(),
            "recoveryType": kind,
            "sourceResourceId": vm_id("rg-app", "app-01"),
            "region": "northeurope",
            "targetVirtualMachineId": vm_id("rg-app-dr", "app-01-x"),
            "targetResourceGroupId": dr,
            "storageAccountId": format!("{dr}/providers/Microsoft.Storage/storageAccounts/asrcacheneu"),
            "virtualNetworkId": format!("{dr}/providers/Microsoft.Network/virtualNetworks/vnet-app-dr"),
            "subnetId": format!("{dr}/providers/Microsoft.Network/virtualNetworks/vnet-app-dr/subnets/default"),
        }})
    };
    let mut forged = token.clone();
    forged["properties"]["accessTokenString"] = json!("forged");
    for (region, tok, kind, code) in [
        (
            "westeurope",
            &token,
            "AlternateLocation",
            "UserErrorInvalidRestoreRegion",
        ),
        (
            "northeurope",
            &token,
            "OriginalLocation",
            "BMSUserErrorInvalidInput",
        ),
        (
            "northeurope",
            &forged,
            "AlternateLocation",
            "BMSUserErrorInvalidAccessToken",
        ),
    ] {
        let err = client
            .execute(&crr::trigger_request(SUB, region, tok, &target(kind)))
            .await
            .expect_err("refused");
        assert_eq!(
            (err.status(), err.code()),
            (Some(400), Some(code)),
            "{region} {kind}: {err}"
        );
    }
    let vm = client
        .get_optional(&format!(
            "{}?api-version=2024-07-01",
            vm_id("rg-app-dr", "app-01-x")
        ))
        .await
        .unwrap();
    assert!(vm.is_none(), "nothing was created: {vm:?}");
    // The same request, as Azure takes it, starts the restore.
    client
        .execute_discarding(&crr::trigger_request(
            SUB,
            "northeurope",
            &token,
            &target("AlternateLocation"),
        ))
        .await
        .expect("accepted");
}

#[tokio::test]
async fn with_west_europe_down_a_vm_is_still_restored_in_north_europe() {
    let (estate, file) = applied(fast(), "azprotect.yaml", &read_quickstart()).await;
    until_copied(&estate, &file).await;
    // Azure Backup in West Europe goes down: the vault's own backup service answers 503.
    let estate = estate
        .restart(SandboxOptions {
            faults: Some("region_down=westeurope".into()),
            ..fast()
        })
        .await;
    let ordinary = estate
        .run(&[
            "restore",
            APP,
            "-f",
            &file,
            "--disks-only",
            "--resource-group",
            "rg-app",
            "--staging-storage-account",
            &format!("/subscriptions/{SUB}/resourceGroups/rg-app/providers/Microsoft.Storage/storageAccounts/x"),
            "--auto-approve",
        ])
        .await;
    ordinary.expect_code(1);
    assert!(
        ordinary.stderr.contains("ServiceUnavailable"),
        "the primary region is down: {}",
        ordinary.stderr
    );
    // recovery-points says so, and lists the copy's points.
    let listed = estate
        .run(&["recovery-points", APP, "-f", &file, "--format", "json"])
        .await;
    listed.expect_code(0);
    assert!(
        flat(&listed.stderr).contains("westeurope did not answer")
            && flat(&listed.stderr).contains("the copy in the paired region, northeurope"),
        "{}",
        listed.stderr
    );
    let doc = listed.json();
    assert_eq!(doc["secondary_region"], "northeurope", "{doc}");
    let ps = doc["points"].as_array().unwrap();
    assert!(
        !ps.is_empty() && ps.iter().all(|p| p["secondary_region"] == true),
        "{doc}"
    );
    // The restore from the paired region needs nothing of West Europe.
    let r = restored_in_neu(&estate, &file).await;
    let id = vm_id("rg-app-dr", "app-01-neu");
    assert_eq!(r["created"][0], id.as_str(), "{r}");
    let vm = estate
        .client()
        .await
        .get_optional(&format!("{id}?api-version=2024-07-01"))
        .await
        .unwrap()
        .expect("the VM exists");
    assert_eq!(vm["location"], "northeurope");
}

#[tokio::test]
async fn with_north_europe_down_the_points_are_listed_and_where_their_copies_are_is_unknown() {
    let (estate, file) = applied(
        SandboxOptions {
            faults: Some("region_down=northeurope".into()),
            ..fast()
        },
        "azprotect.yaml",
        &read_quickstart(),
    )
    .await;
    let listed = estate
        .run(&["recovery-points", APP, "-f", &file, "--format", "json"])
        .await;
    listed.expect_code(0);
    assert!(
        flat(&listed.stderr).contains("which points are in the paired region is unknown")
            && listed.stderr.contains("ServiceUnavailable"),
        "{}",
        listed.stderr
    );
    let doc = listed.json();
    assert!(doc.get("secondary_region").is_none(), "{doc}");
    let ps = doc["points"].as_array().unwrap();
    assert!(
        !ps.is_empty() && ps.iter().all(|p| p.get("secondary_region").is_none()),
        "{doc}"
    );
    // A restore from there cannot start.
    let run = restore_in_neu(&estate, &file, "app-01-neu", &["--auto-approve"]).await;
    run.expect_code(1);
    assert!(run.stderr.contains("ServiceUnavailable"), "{}", run.stderr);
}
