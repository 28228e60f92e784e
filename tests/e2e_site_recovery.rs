//! Site Recovery, end to end: the derived setup appears in dependency order, a converged DR
//! estate plans empty while initial replication is still running, a drill waits for protection,
//! then fails over into an isolated network and cleans up without touching production.

mod support;

use azprotect::model::api;
use azprotect::sandbox::SandboxOptions;
use std::time::Duration;
use support::estate::{repo, Estate};

fn site_recovery() -> String {
    repo()
        .join("examples/site-recovery.yaml")
        .display()
        .to_string()
}

const TEST_VNET: &str = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-app-dr/providers/Microsoft.Network/virtualNetworks/vnet-app-dr-test";

async fn fast_estate() -> Estate {
    // Initial replication takes 30 minutes in Azure: 1.8 s at this scale.
    Estate::start_with(SandboxOptions {
        time_scale: 0.001,
        ..SandboxOptions::default()
    })
    .await
}

/// Run the app-failover drill into the test network once initial replication lets it (the
/// drill refuses, saying it is not ready, until then). `None` if it never became ready.
async fn drill_when_ready(estate: &Estate, extra: &[&str]) -> Option<support::estate::Run> {
    let file = site_recovery();
    let mut args = vec![
        "drill",
        "recovery_plan.app-dr/app-failover",
        "-f",
        &file,
        "--network",
        TEST_VNET,
        "--auto-approve",
    ];
    args.extend_from_slice(extra);
    for _ in 0..20 {
        let run = estate.run(&args).await;
        if run.code == 0 {
            return Some(run);
        }
        assert!(
            run.stderr.contains("not ready for a drill"),
            "{}",
            run.stderr
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    None
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dr_setup_is_derived_applied_and_replans_empty() {
    let estate = fast_estate().await;
    let plan = estate
        .run(&[
            "plan",
            "-f",
            &site_recovery(),
            "--format",
            "json",
            "--detailed-exitcode",
        ])
        .await;
    plan.expect_code(2);
    let changes = plan.changes();
    let pos = |a: &str| {
        changes
            .iter()
            .position(|c| c.starts_with(a))
            .unwrap_or_else(|| panic!("{a} missing: {changes:#?}"))
    };
    // Dependency order: fabrics → containers → mappings → replications → the recovery plan.
    assert!(
        pos("replication_fabric.rsv-dr-neu/westeurope")
            < pos("protection_container.rsv-dr-neu/westeurope")
    );
    assert!(
        pos("container_mapping.rsv-dr-neu/app-dr-westeurope-to-northeurope")
            < pos("replication.app-dr/rg-app/db-01")
    );
    assert!(pos("replication.app-dr/rg-app/db-01") < pos("recovery_plan.app-dr/app-failover"));
    // The reverse mapping that failback needs is planned too, never asked of the user.
    pos("container_mapping.rsv-dr-neu/app-dr-northeurope-to-westeurope");
    assert_eq!(plan.json()["summary"]["blocked"], 0);

    let apply = estate
        .run(&["apply", "-f", &site_recovery(), "--auto-approve"])
        .await;
    apply.expect_code(0);
    // Right after enabling, initial replication is still running: no noise about it.
    estate.expect_no_changes(&site_recovery()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_drill_waits_for_protection_then_fails_over_in_isolation_and_cleans_up() {
    let estate = fast_estate().await;
    estate
        .run(&["apply", "-f", &site_recovery(), "--auto-approve"])
        .await
        .expect_code(0);
    let report = drill_when_ready(&estate, &["--format", "json"])
        .await
        .map(|run| run.json());
    let report = report.expect("the drill ran once initial replication finished");
    assert_eq!(report["succeeded"], true);
    assert_eq!(report["network_id"], TEST_VNET);
    assert_eq!(report["vms"].as_array().unwrap().len(), 2);
    assert!(
        report["cleanup_seconds"].is_number(),
        "cleaned up: {report}"
    );

    // Production replication is untouched and the drill left nothing behind.
    estate.expect_no_changes(&site_recovery()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_kept_drill_shows_in_the_plan_as_blocking_replication_changes() {
    let estate = fast_estate().await;
    estate
        .run(&["apply", "-f", &site_recovery(), "--auto-approve"])
        .await
        .expect_code(0);
    let ran = drill_when_ready(&estate, &["--keep"]).await.is_some();
    assert!(ran, "the kept drill ran");
    // The file now asks for a different target VM size for app-01 while its test VMs exist.
    let text = std::fs::read_to_string(site_recovery()).unwrap().replace(
        "        target_zone: \"1\"\n",
        "        target_zone: \"1\"\n        target_vm_size: Standard_D4s_v5\n",
    );
    let file = estate.write("bigger.yaml", &text);
    let plan = estate.run(&["plan", "-f", &file, "--format", "json"]).await;
    let change = plan.change("replication.app-dr/rg-app/app-01", "a change");
    assert!(
        change["blocked"]
            .as_str()
            .unwrap()
            .contains("test failover"),
        "{change}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_drill_into_a_production_network_is_refused() {
    let estate = fast_estate().await;
    estate
        .run(&["apply", "-f", &site_recovery(), "--auto-approve"])
        .await
        .expect_code(0);
    let production = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-app-dr/providers/Microsoft.Network/virtualNetworks/vnet-app-dr";
    let refused = estate
        .run(&[
            "drill",
            "recovery_plan.app-dr/app-failover",
            "-f",
            &site_recovery(),
            "--network",
            production,
            "--auto-approve",
        ])
        .await;
    refused.expect_code(1);
    assert!(
        refused.stderr.contains("production network"),
        "{}",
        refused.stderr
    );
    let no_network = estate
        .run(&[
            "drill",
            "recovery_plan.app-dr/app-failover",
            "-f",
            &site_recovery(),
            "--auto-approve",
        ])
        .await;
    no_network.expect_code(1);
    assert!(
        no_network.stderr.contains("--network"),
        "{}",
        no_network.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn adding_a_vm_replicates_it_and_updates_the_plan_without_touching_the_others() {
    let estate = fast_estate().await;
    estate
        .run(&["apply", "-f", &site_recovery(), "--auto-approve"])
        .await
        .expect_code(0);
    let text = std::fs::read_to_string(site_recovery())
        .unwrap()
        .replace(
            "      - vm: rg-app/app-01\n",
            "      - vm: rg-app/app-02\n      - vm: rg-app/app-01\n",
        )
        .replace(
            "          - vms: [rg-app/app-01]",
            "          - vms: [rg-app/app-01, rg-app/app-02]",
        );
    let file = estate.write("with-app-02.yaml", &text);
    let plan = estate.run(&["plan", "-f", &file, "--format", "json"]).await;
    assert_eq!(
        plan.changes(),
        vec![
            "replication.app-dr/rg-app/app-02 create",
            "recovery_plan.app-dr/app-failover update"
        ],
        "{}",
        plan.stdout
    );
    let update = &plan.json()["changes"][1];
    assert_eq!(
        update["depends_on"],
        serde_json::json!(["replication.app-dr/rg-app/app-02"])
    );
    estate
        .run(&["apply", "-f", &file, "--auto-approve"])
        .await
        .expect_code(0);
    estate.expect_no_changes(&file).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn apply_can_wait_for_initial_replication_showing_progress() {
    let estate = fast_estate().await;
    let apply = estate
        .run(&[
            "apply",
            "-f",
            &site_recovery(),
            "--auto-approve",
            "--wait-replicated",
        ])
        .await;
    apply.expect_code(0);
    assert!(
        apply
            .stdout
            .contains("Initial replication finished for 2 VM(s)."),
        "{}",
        apply.stdout
    );
    // Progress speaks in words, not Azure's state names (`UnprotectedStatesBegin`).
    assert!(
        apply
            .stderr
            .contains("initial replication db-01: protected"),
        "{}",
        apply.stderr
    );
    assert!(
        !apply.stderr.contains("StatesBegin"),
        "Azure's enum reached the user: {}",
        apply.stderr
    );
    // Replicated and protected: a drill runs straight away.
    let drill = estate
        .run(&[
            "drill",
            "recovery_plan.app-dr/app-failover",
            "-f",
            &site_recovery(),
            "--network",
            TEST_VNET,
            "--auto-approve",
        ])
        .await;
    drill.expect_code(0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cache_account_in_the_wrong_region_or_missing_blocks_replication_at_plan_time() {
    let estate = Estate::start().await;
    let weu = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-app/providers/Microsoft.Storage/storageAccounts/asrcacheweu";
    let neu = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-app-dr/providers/Microsoft.Storage/storageAccounts/asrcacheneu";
    let gone = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-app/providers/Microsoft.Storage/storageAccounts/nosuchcache";
    // Without the target-region cache line (re-protect is not what this checks).
    let text: String = std::fs::read_to_string(site_recovery())
        .unwrap()
        .lines()
        .filter(|l| !l.contains("target_cache_storage_account"))
        .map(|l| format!("{l}\n"))
        .collect();
    for (cache, why) in [
        (
            neu,
            "is in northeurope: a replication cache must be in the source region westeurope",
        ),
        (gone, "does not exist"),
    ] {
        let file = estate.write("dr.yaml", &text.replace(weu, cache));
        let plan = estate.run(&["plan", "-f", &file, "--format", "json"]).await;
        plan.expect_code(0);
        let blocked: Vec<String> = plan.json()["changes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["address"].as_str().unwrap().starts_with("replication."))
            .map(|c| c["blocked"].as_str().unwrap_or_default().to_string())
            .collect();
        assert!(!blocked.is_empty(), "{}", plan.stdout);
        assert!(
            blocked.iter().all(|b| b.contains(why)),
            "every replication is blocked because the cache {why}: {blocked:#?}"
        );
    }
    // The declared cache (westeurope, standard StorageV2) blocks nothing.
    let plan = estate
        .run(&["plan", "-f", &site_recovery(), "--format", "json"])
        .await;
    plan.expect_code(0);
    assert_eq!(plan.json()["summary"]["blocked"], 0, "{}", plan.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_target_resource_group_or_network_blocks_at_plan_time() {
    let estate = Estate::start().await;
    let text = std::fs::read_to_string(site_recovery()).unwrap();
    let blocked = |plan: &support::estate::Run, prefix: &str| -> Vec<String> {
        plan.json()["changes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["address"].as_str().unwrap().starts_with(prefix))
            .filter_map(|c| c["blocked"].as_str().map(str::to_string))
            .collect()
    };
    // The failed-over VMs' resource group does not exist, and the file does not create it.
    let file = estate.write(
        "dr.yaml",
        &text.replace(
            "target_resource_group: rg-app-dr",
            "target_resource_group: rg-app-dr-missing",
        ),
    );
    let plan = estate.run(&["plan", "-f", &file, "--format", "json"]).await;
    plan.expect_code(0);
    let why = blocked(&plan, "replication.");
    assert!(
        !why.is_empty()
            && why
                .iter()
                .all(|b| b.contains("rg-app-dr-missing does not exist")),
        "{why:#?}"
    );
    // The recovery network of a mapping does not exist.
    let file = estate.write(
        "dr.yaml",
        &text.replace(
            "virtualNetworks/vnet-app-dr\n",
            "virtualNetworks/vnet-gone\n",
        ),
    );
    let plan = estate.run(&["plan", "-f", &file, "--format", "json"]).await;
    plan.expect_code(0);
    let why = blocked(&plan, "network_mapping.");
    assert!(
        why.iter()
            .any(|b| b.contains("the target virtual network")
                && b.contains("vnet-gone does not exist")),
        "{}",
        plan.stdout
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_target_vm_size_is_set_once_initial_replication_lets_azure_take_it() {
    let estate = fast_estate().await;
    // Asking for the size db-01 already has (E4s_v5, as the example does) needs nothing more:
    // the replica takes the source VM's size, so the change sends none and apply does not wait.
    let stock = estate
        .run(&["plan", "-f", &site_recovery(), "--format", "json"])
        .await;
    let db = stock.change("replication.app-dr/rg-app/db-01", "db-01 is replicated");
    assert!(db["after"].get("target_vm_size").is_none(), "{db}");
    assert!(!db.to_string().contains("apply waits for it"), "{db}");
    // db-01 is an E4s_v5; fail it over onto a bigger size. Azure's enable input cannot carry a
    // size and its update waits for initial replication, so apply enables, waits, then sets it.
    let text = std::fs::read_to_string(site_recovery()).unwrap().replace(
        "target_vm_size: Standard_E4s_v5",
        "target_vm_size: Standard_E8s_v5",
    );
    let file = estate.write("bigger.yaml", &text);
    let plan = estate.run(&["plan", "-f", &file, "--format", "json"]).await;
    let db = plan.change("replication.app-dr/rg-app/db-01", "db-01 is replicated");
    assert!(
        db["reasons"].as_array().unwrap().iter().any(|r| r
            .as_str()
            .unwrap()
            .contains("Standard_E8s_v5 is set once initial replication has finished")),
        "{db}"
    );
    estate
        .run(&["apply", "-f", &file, "--auto-approve"])
        .await
        .expect_code(0);
    let (_, item) = support::raw::get(
        &estate.sandbox,
        &format!(
            "{}?api-version={}",
            db["arm_id"].as_str().unwrap(),
            api::SITE_RECOVERY
        ),
    )
    .await;
    let a2a = &item["properties"]["providerSpecificDetails"];
    assert_eq!(a2a["recoveryAzureVMSize"], "Standard_E8s_v5", "{item}");
    assert_eq!(a2a["vmProtectionState"], "Protected");
    estate.expect_no_changes(&file).await;
}
