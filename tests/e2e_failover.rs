//! Failover and failback end to end on the sandbox, as Azure-to-Azure allows them (FACTS §1):
//! an unplanned failover, commit, re-protect and failback (an unplanned failover back, commit,
//! re-protect) return a DR estate to where it started, `plan` never proposes to undo a failover
//! or a reversed replication, and a planned failover is refused before anything is sent.

mod support;

use azprotect::model::api;
use azprotect::sandbox::SandboxOptions;
use serde_json::Value;
use std::time::Duration;
use support::estate::{flat, repo, Estate, Run};

const PLAN: &str = "recovery_plan.app-dr/app-failover";
const VAULT: &str = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-protect-neu/providers/Microsoft.RecoveryServices/vaults/rsv-dr-neu";

fn site_recovery() -> String {
    repo()
        .join("examples/site-recovery.yaml")
        .display()
        .to_string()
}

async fn fast_estate() -> Estate {
    // Initial replication takes 30 minutes in Azure: 1.8 s at this scale.
    let estate = Estate::start_with(SandboxOptions {
        time_scale: 0.001,
        ..SandboxOptions::default()
    })
    .await;
    estate
        .run(&["apply", "-f", &site_recovery(), "--auto-approve"])
        .await
        .expect_code(0);
    estate
}

/// Run a DR command until initial replication has finished (it refuses while it runs).
async fn when_protected(estate: &Estate, args: &[&str]) -> Run {
    for _ in 0..40 {
        let run = estate.run(args).await;
        if run.code == 0 || !flat(&run.stderr).contains("is not ready") {
            return run;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("{args:?} never became ready");
}

/// The names of a DR report's steps, in order.
fn steps(report: &Value) -> Vec<&str> {
    report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["step"].as_str().unwrap())
        .collect()
}

/// The run's stderr (line wrapping undone) says `text`.
fn says(run: &Run, text: &str) {
    assert!(flat(&run.stderr).contains(text), "{}", run.stderr);
}

fn dr<'a>(cmd: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec![cmd, PLAN];
    v.extend_from_slice(extra);
    v
}

fn file_args(file: &str) -> [&str; 5] {
    ["-f", file, "--auto-approve", "--format", "json"]
}

/// The plan's changes, asserting none of them would undo the failover.
async fn plan_changes(estate: &Estate) -> Vec<Value> {
    let plan = estate
        .run(&["plan", "-f", &site_recovery(), "--format", "json"])
        .await;
    plan.expect_code(0);
    let changes = plan.json()["changes"].as_array().unwrap().clone();
    for c in &changes {
        let action = c["action"].as_str().unwrap();
        let address = c["address"].as_str().unwrap();
        assert!(
            action == "update" && address.starts_with("replication."),
            "only (blocked) replication updates may show after a failover: {c:#}"
        );
        assert!(c["blocked"].is_string(), "{c:#}");
    }
    changes
}

async fn items(estate: &Estate) -> Vec<Value> {
    estate
        .client()
        .await
        .list(&format!(
            "{VAULT}/replicationProtectedItems?api-version={}",
            api::SITE_RECOVERY
        ))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn failover_commit_reprotect_and_failback_return_to_the_start() {
    let estate = fast_estate().await;
    let file = site_recovery();
    let f = file_args(&file);

    // Failover westeurope → northeurope (the only kind Azure-to-Azure has).
    let run = when_protected(
        &estate,
        &dr(
            "failover",
            &[&["--unplanned", "--shut-down-source"][..], &f].concat(),
        ),
    )
    .await;
    run.expect_code(0);
    let report = run.json();
    assert_eq!(report["succeeded"], true, "{report:#}");
    assert_eq!(report["active_region"], "northeurope");
    assert_eq!(report["steps"][0]["direction"], "PrimaryToRecovery");
    assert!(report["allowed_operations"]
        .as_array()
        .unwrap()
        .iter()
        .any(|o| o == "FailoverCommit"));
    // Failed over: the plan blocks replication edits, and never recreates or deletes.
    let changes = plan_changes(&estate).await;
    assert!(
        changes.iter().all(|c| c["diff"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["path"] == "state")),
        "only the state differs: {changes:#?}"
    );

    // The text report, as a terminal shows it.
    let run = estate
        .run(&dr("commit", &["-f", &file, "--auto-approve"]))
        .await;
    run.expect_code(0);
    assert!(
        run.stdout
            .starts_with("Commit of recovery_plan.app-dr/app-failover: succeeded"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("Azure allows next: ReProtect")
            && run
                .stdout
                .contains("db-01: failover committed, not replicating (failed over)"),
        "{}",
        run.stdout
    );
    says(&run, "commit: done");
    plan_changes(&estate).await;

    let run = estate.run(&dr("reprotect", &f)).await;
    run.expect_code(0);
    for vm in run.json()["vms"].as_array().unwrap() {
        assert_eq!(vm["replicating_from"], "northeurope", "{vm}");
        assert_eq!(vm["replicating_to"], "westeurope", "{vm}");
    }
    // Reversed replication is understood: nothing to do.
    estate.expect_no_changes(&file).await;

    // Failback once the reverse initial replication is done.
    let run = when_protected(&estate, &dr("failback", &f)).await;
    run.expect_code(0);
    let report = run.json();
    let steps = steps(&report);
    assert_eq!(steps, ["unplanned failover", "commit", "re-protect"]);
    assert_eq!(report["steps"][0]["direction"], "RecoveryToPrimary");
    assert_eq!(report["active_region"], "westeurope");

    estate.expect_no_changes(&file).await;
    let items = items(&estate).await;
    assert_eq!(items.len(), 2);
    for i in &items {
        let p = &i["properties"];
        assert_eq!(p["activeLocation"], "Primary", "{i:#}");
        let d = &p["providerSpecificDetails"];
        assert_eq!(d["primaryFabricLocation"], "westeurope", "{i:#}");
        assert_eq!(d["recoveryFabricLocation"], "northeurope", "{i:#}");
    }
    // Back at the start: Azure allows a new failover again, not a commit.
    let run = estate.run(&dr("commit", &f)).await;
    run.expect_code(1);
    says(&run, "allowed operations: UnplannedFailover, TestFailover");
}

#[tokio::test(flavor = "multi_thread")]
async fn failback_right_after_commit_reprotects_waits_and_fails_back() {
    let estate = fast_estate().await;
    let file = site_recovery();
    let f = file_args(&file);
    when_protected(
        &estate,
        &dr("failover", &[&["--unplanned"][..], &f].concat()),
    )
    .await
    .expect_code(0);
    estate.run(&dr("commit", &f)).await.expect_code(0);
    // No re-protect yet: failback does it, waits for the replication back, then fails back.
    let run = estate.run(&dr("failback", &f)).await;
    run.expect_code(0);
    let report = run.json();
    let steps = steps(&report);
    assert_eq!(
        steps,
        ["re-protect", "unplanned failover", "commit", "re-protect"],
        "{report:#}"
    );
    assert_eq!(report["steps"][1]["direction"], "RecoveryToPrimary");
    assert_eq!(report["active_region"], "westeurope");
    says(&run, "waiting for replication back");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_planned_failover_is_refused_before_any_request() {
    let log = tempfile::NamedTempFile::new().unwrap();
    let estate = Estate::start_with(SandboxOptions {
        access_log: Some(log.path().to_path_buf()),
        ..SandboxOptions::default()
    })
    .await;
    let file = site_recovery();
    let run = estate
        .run(&dr(
            "failover",
            &[&["--planned"][..], &file_args(&file)].concat(),
        ))
        .await;
    run.expect_code(1);
    let err = flat(&run.stderr);
    assert!(
        err.contains("Azure-to-Azure Site Recovery has no planned failover")
            && err.contains("--unplanned"),
        "{}",
        run.stderr
    );
    let sent = std::fs::read_to_string(log.path()).unwrap();
    assert!(sent.is_empty(), "nothing may be sent: {sent}");
}

#[tokio::test(flavor = "multi_thread")]
async fn commit_without_a_failover_is_refused_with_the_allowed_operations() {
    let estate = fast_estate().await;
    let file = site_recovery();
    let run = estate.run(&dr("commit", &file_args(&file))).await;
    run.expect_code(1);
    says(&run, "does not allow FailoverCommit");
    says(&run, "allowed operations: UnplannedFailover, TestFailover");
    says(&run, "failover` first");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failover_needs_confirmation_or_auto_approve() {
    let estate = fast_estate().await;
    let file = site_recovery();
    let run = when_protected(&estate, &["failover", PLAN, "--unplanned", "-f", &file]).await;
    run.expect_code(1);
    says(&run, "standard input is not a terminal");
    says(&run, "the VMs are started in northeurope");
    // Nothing was sent: the estate still replicates westeurope → northeurope.
    for i in items(&estate).await {
        assert_eq!(i["properties"]["activeLocation"], "Primary");
    }
    // `--planned` or `--unplanned` is required, not both.
    estate
        .run(&["failover", PLAN, "-f", &file])
        .await
        .expect_code(2);
    estate
        .run(&[
            "failover",
            PLAN,
            "--planned",
            "--recovery-point",
            "latest",
            "-f",
            &file,
        ])
        .await
        .expect_code(2);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unplanned_failover_from_an_app_consistent_point_then_commit() {
    let estate = fast_estate().await;
    let file = site_recovery();
    let f = file_args(&file);
    let args = dr(
        "failover",
        &[
            &["--unplanned", "--recovery-point", "latest-app-consistent"][..],
            &f,
        ]
        .concat(),
    );
    let run = when_protected(&estate, &args).await;
    run.expect_code(0);
    let report = run.json();
    assert_eq!(report["operation"], "unplanned failover");
    assert_eq!(report["steps"][0]["direction"], "PrimaryToRecovery");
    assert_eq!(report["active_region"], "northeurope");
    plan_changes(&estate).await;
    estate.run(&dr("commit", &f)).await.expect_code(0);
    // A second failover now would go nowhere Azure allows: refused, naming what is allowed.
    let run = estate
        .run(&dr("failover", &[&["--unplanned"][..], &f].concat()))
        .await;
    run.expect_code(1);
    says(&run, "allowed operations: ReProtect");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_failover_reports_what_azure_says_went_wrong_and_what_to_do() {
    use azprotect::sandbox::Sandbox;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let file = site_recovery();
    let f = file_args(&file);
    // Set the estate up and let it replicate.
    let sb = Sandbox::start(SandboxOptions {
        state: Some(state.clone()),
        time_scale: 0.001,
        ..SandboxOptions::default()
    })
    .await
    .unwrap();
    support::estate::run_on(
        &sb,
        &[],
        &["apply", "-f", &file, "--auto-approve", "--wait-replicated"],
    )
    .await
    .expect_code(0);
    sb.shutdown().await;
    // The same estate, where every operation now fails.
    let sb = Sandbox::start(SandboxOptions {
        state: Some(state),
        time_scale: 0.001,
        faults: Some("seed=3,lro_fail=1".into()),
        ..SandboxOptions::default()
    })
    .await
    .unwrap();
    let run = support::estate::run_on(
        &sb,
        &[],
        &dr("failover", &[&["--unplanned"][..], &f].concat()),
    )
    .await;
    run.expect_code(1);
    let report = run.json();
    assert_eq!(report["succeeded"], false, "{report:#}");
    let error = report["error"].as_str().unwrap();
    assert!(
        error.contains("unplanned failover failed") && error.contains("Recommended action:"),
        "the job's own error, with what to do: {error}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn reprotect_switches_protection_as_azures_cli_does_and_needs_a_target_cache() {
    let log = tempfile::NamedTempFile::new().unwrap();
    let estate = Estate::start_with(SandboxOptions {
        time_scale: 0.001,
        access_log: Some(log.path().to_path_buf()),
        ..SandboxOptions::default()
    })
    .await;
    let file = site_recovery();
    estate
        .run(&["apply", "-f", &file, "--auto-approve", "--wait-replicated"])
        .await
        .expect_code(0);
    let f = file_args(&file);
    estate
        .run(&dr("failover", &[&["--unplanned"][..], &f].concat()))
        .await
        .expect_code(0);
    estate.run(&dr("commit", &f)).await.expect_code(0);

    // Without a cache in the target region there is nothing to replicate back through.
    let text = std::fs::read_to_string(&file).unwrap();
    let without: String = text
        .lines()
        .filter(|l| {
            !l.contains("target_cache_storage_account")
                && !l.contains("the cache for replicating back")
        })
        .map(|l| format!("{l}\n"))
        .collect();
    let bare = estate.write("no-target-cache.yaml", &without);
    std::fs::write(log.path(), "").unwrap();
    let run = estate.run(&dr("reprotect", &file_args(&bare))).await;
    run.expect_code(1);
    says(&run, "declare target_cache_storage_account");
    let sent = std::fs::read_to_string(log.path()).unwrap();
    assert!(
        !sent
            .lines()
            .any(|l| l.contains("\"POST\"") && l.contains("\"path\":\"/subscriptions/")),
        "nothing changes before the refusal: {sent}"
    );

    // With it: one switchprotection per VM, on the container its item lives in, as recorded.
    let run = estate.run(&dr("reprotect", &f)).await;
    run.expect_code(0);
    let sent = std::fs::read_to_string(log.path()).unwrap();
    let switches = sent
        .lines()
        .filter(|l| l.contains("\"POST\"") && l.contains("/switchprotection"))
        .count();
    assert_eq!(switches, 2, "{sent}");
    assert!(
        !sent.contains("/reProtect"),
        "no plan-level reProtect: {sent}"
    );
    // The items now live under the northeurope container (same names) and replicate back.
    for i in items(&estate).await {
        let id = i["id"].as_str().unwrap();
        assert!(
            id.contains("/replicationFabrics/asr-a2a-default-northeurope/"),
            "{id}"
        );
        let d = &i["properties"]["providerSpecificDetails"];
        assert_eq!(d["initialPrimaryFabricLocation"], "westeurope", "{i:#}");
        assert_eq!(i["properties"]["activeLocation"], "Primary", "{i:#}");
    }
    estate.expect_no_changes(&file).await;
}
