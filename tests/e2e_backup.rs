//! The user's story, end to end: the real binary, the sandbox over HTTPS, azure_identity for the
//! token. plan → apply → plan is empty; drift shows as exactly that drift; removal keeps data;
//! a stale saved plan is refused; faults are survived by re-running.

mod support;

use serde_json::{json, Value};

use azprotect::model::{ArmRequest, Method};
use azprotect::sandbox::SandboxOptions;
use support::estate::{quickstart, read_quickstart, Estate};

const QUICKSTART_CHANGES: &[&str] = &[
    "resource_group.rg-protect-weu create",
    "recovery_vault.rsv-prod-weu create",
    "backup_policy.rsv-prod-weu/gold create",
    "backup_policy.rsv-prod-weu/silver create",
    "protected_vm.rsv-prod-weu/rg-app/app-01 create",
    "protected_vm.rsv-prod-weu/rg-app/db-01 create",
    "protected_vm.rsv-prod-weu/rg-web/web-01 create",
    "protected_vm.rsv-prod-weu/rg-web/web-02 create",
];

async fn applied_quickstart() -> Estate {
    let estate = Estate::start().await;
    estate
        .run(&["apply", "-f", &quickstart(), "--auto-approve"])
        .await
        .expect_code(0);
    estate
}

#[tokio::test(flavor = "multi_thread")]
async fn quickstart_plans_applies_and_replans_empty() {
    let estate = Estate::start().await;
    let plan = estate
        .run(&[
            "plan",
            "-f",
            &quickstart(),
            "--format",
            "json",
            "--detailed-exitcode",
        ])
        .await;
    plan.expect_code(2);
    assert_eq!(plan.changes(), QUICKSTART_CHANGES);

    let apply = estate
        .run(&["apply", "-f", &quickstart(), "--auto-approve"])
        .await;
    apply.expect_code(0);
    assert!(
        apply
            .stdout
            .contains("Apply complete: 8 succeeded, 0 failed, 0 skipped."),
        "{}",
        apply.stdout
    );

    let again = estate
        .run(&["plan", "-f", &quickstart(), "--detailed-exitcode"])
        .await;
    again.expect_code(0);
    assert!(again.stdout.contains("No changes"), "{}", again.stdout);
}

/// Edit the silver policy directly through ARM, as someone in the portal would.
async fn edit_silver_behind_our_back(estate: &Estate, edit: impl FnOnce(&mut serde_json::Value)) {
    let client = estate.client().await;
    let sub = estate.sandbox.credentials().subscription_id;
    let path = format!("/subscriptions/{sub}/resourceGroups/rg-protect-weu/providers/Microsoft.RecoveryServices/vaults/rsv-prod-weu/backupPolicies/silver?api-version=2026-01-01");
    let mut policy = client
        .get_optional(&path)
        .await
        .unwrap()
        .expect("policy exists");
    edit(&mut policy);
    client
        .execute(&ArmRequest::new(Method::Put, path, Some(policy)))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_policy_edited_behind_our_back_shows_as_exactly_that_update() {
    let estate = applied_quickstart().await;
    // The backup window moves from 23:00 to 21:30 (schedule and retention times move together).
    edit_silver_behind_our_back(&estate, |p| {
        *p = serde_json::from_str(&p.to_string().replace("T23:00:00", "T21:30:00")).unwrap();
    })
    .await;

    let plan = estate
        .run(&[
            "plan",
            "-f",
            &quickstart(),
            "--format",
            "json",
            "--detailed-exitcode",
        ])
        .await;
    plan.expect_code(2);
    assert_eq!(
        plan.changes(),
        vec!["backup_policy.rsv-prod-weu/silver update"]
    );
    let diff = &plan.json()["changes"][0]["diff"];
    assert_eq!(
        diff,
        &serde_json::json!([{"path": "schedule.daily.at", "before": "21:30", "after": "23:00"}])
    );

    estate
        .run(&["apply", "-f", &quickstart(), "--auto-approve"])
        .await
        .expect_code(0);
    estate.expect_no_changes(&quickstart()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn shortening_retention_in_an_immutable_vault_is_blocked_at_plan_time_not_at_apply() {
    let estate = applied_quickstart().await;
    // The portal raised retention to 30 days; the file still says 14 in an Unlocked (immutable) vault.
    edit_silver_behind_our_back(&estate, |p| {
        p["properties"]["retentionPolicy"]["dailySchedule"]["retentionDuration"]["count"] =
            30.into();
    })
    .await;

    let plan = estate
        .run(&["plan", "-f", &quickstart(), "--format", "json"])
        .await;
    plan.expect_code(0);
    let change = &plan.json()["changes"][0];
    assert_eq!(change["address"], "backup_policy.rsv-prod-weu/silver");
    let blocked = change["blocked"].as_str().expect("blocked");
    assert!(
        blocked.contains("UserErrorRetentionReductionNotAllowed") && blocked.contains("30d → 14d"),
        "{blocked}"
    );
    // A PR gate fails on it without reading the JSON: 3, not the 2 of an ordinary change.
    estate
        .run(&["plan", "-f", &quickstart(), "--detailed-exitcode"])
        .await
        .expect_code(3);

    let apply = estate
        .run(&["apply", "-f", &quickstart(), "--auto-approve"])
        .await;
    apply.expect_code(1);
    assert!(apply.stderr.contains("blocked"), "{}", apply.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_vm_removed_from_the_file_is_stopped_with_data_retained_then_plans_empty() {
    let estate = applied_quickstart().await;
    let without_db = read_quickstart().replace("          - rg-app/db-01\n", "");
    let file = estate.write("without-db.yaml", &without_db);

    let plan = estate.run(&["plan", "-f", &file, "--format", "json"]).await;
    plan.expect_code(0);
    assert_eq!(
        plan.changes(),
        vec!["protected_vm.rsv-prod-weu/rg-app/db-01 delete"]
    );
    assert_eq!(plan.json()["changes"][0]["data"], "retained");

    let apply = estate.run(&["apply", "-f", &file, "--auto-approve"]).await;
    apply.expect_code(0);
    estate.expect_no_changes(&file).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_saved_plan_is_refused_when_azure_changed_since() {
    let estate = Estate::start().await;
    let saved = estate.path("reviewed.plan.json");
    estate
        .run(&["plan", "-f", &quickstart(), "--out", &saved])
        .await
        .expect_code(0);
    estate
        .run(&["show", &saved, "--format", "json"])
        .await
        .expect_code(0);

    // Someone creates the resource group by hand after the review.
    let client = estate.client().await;
    let sub = estate.sandbox.credentials().subscription_id;
    let rg = format!("/subscriptions/{sub}/resourceGroups/rg-protect-weu?api-version=2021-04-01");
    client
        .execute(&ArmRequest::new(
            Method::Put,
            rg,
            Some(serde_json::json!({"location": "westeurope", "tags": {"owner": "someone"}})),
        ))
        .await
        .unwrap();

    let apply = estate.run(&["apply", &saved, "--auto-approve"]).await;
    apply.expect_code(1);
    assert!(
        apply
            .stderr
            .contains("Azure changed since this plan was made"),
        "{}",
        apply.stderr
    );
    assert!(
        apply.stderr.contains("resource_group.rg-protect-weu"),
        "{}",
        apply.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_saved_plan_edited_after_review_is_refused_and_nothing_is_applied() {
    let estate = Estate::start().await;
    let reviewed = estate.path("reviewed.plan.json");
    estate
        .run(&[
            "plan",
            "-f",
            &quickstart(),
            "--target",
            "protected_vm.rsv-prod-weu/rg-app/db-01",
            "--out",
            &reviewed,
        ])
        .await
        .expect_code(0);
    let original: Value =
        serde_json::from_str(&std::fs::read_to_string(&reviewed).unwrap()).unwrap();
    let change = |plan: &mut Value, address: &str| -> usize {
        plan["plan"]["changes"]
            .as_array()
            .unwrap()
            .iter()
            .position(|c| c["address"] == address)
            .unwrap_or_else(|| panic!("{address} in the plan"))
    };
    type Edit = fn(&mut Value, usize);
    let edits: [(&str, &str, Edit); 5] = [
        // The log would say rg-app/db-01 while another VM is protected.
        (
            "arm_id",
            "protected_vm.rsv-prod-weu/rg-app/db-01",
            |p, i| {
                let id = p["plan"]["changes"][i]["arm_id"]
                    .as_str()
                    .unwrap()
                    .replace("db-01", "app-01");
                p["plan"]["changes"][i]["arm_id"] = json!(id);
            },
        ),
        // `show` would still print the reviewed retention.
        ("after", "backup_policy.rsv-prod-weu/gold", |p, i| {
            p["plan"]["changes"][i]["after"]["retention"]["daily"] = json!("7d");
        }),
        ("added", "backup_policy.rsv-prod-weu/gold", |p, i| {
            let mut extra = p["plan"]["changes"][i].clone();
            extra["address"] = json!("backup_policy.rsv-prod-weu/extra");
            extra["arm_id"] = json!(extra["arm_id"].as_str().unwrap().replace("/gold", "/extra"));
            p["plan"]["changes"].as_array_mut().unwrap().push(extra);
        }),
        ("desired", "backup_policy.rsv-prod-weu/gold", |p, _| {
            p["desired"]["resources"][0]["attrs"]["tags"] = json!({"edited": "yes"});
        }),
        ("version", "backup_policy.rsv-prod-weu/gold", |p, _| {
            p["azprotect_version"] = json!("0.0.1");
        }),
    ];
    for (what, address, edit) in edits {
        let mut plan = original.clone();
        let i = change(&mut plan, address);
        edit(&mut plan, i);
        let file = estate.path(&format!("edited-{what}.plan.json"));
        std::fs::write(&file, serde_json::to_string_pretty(&plan).unwrap()).unwrap();
        let apply = estate.run(&["apply", &file, "--auto-approve"]).await;
        apply.expect_code(1);
        assert!(
            apply
                .stderr
                .contains("does not hold the plan its own configuration makes")
                || (what == "version" && apply.stderr.contains("made by azprotect 0.0.1")),
            "{what}: {}",
            apply.stderr
        );
    }
    // Nothing was applied: the reviewed plan is still exactly current, and applies.
    estate
        .run(&["apply", &reviewed, "--auto-approve"])
        .await
        .expect_code(0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_saved_plan_applies_exactly_what_was_reviewed() {
    let estate = Estate::start().await;
    let saved = estate.path("reviewed.plan.json");
    let plan = estate
        .run(&["plan", "-f", &quickstart(), "--out", &saved])
        .await;
    plan.expect_code(0);
    let apply = estate.run(&["apply", &saved, "--auto-approve"]).await;
    apply.expect_code(0);
    estate.expect_no_changes(&quickstart()).await;

    // Secrets never reach output or the plan file: neither the client secret nor a bearer token.
    let secret = estate.sandbox.credentials().client_secret;
    let file = std::fs::read_to_string(&saved).unwrap();
    for text in [
        &plan.stdout,
        &plan.stderr,
        &apply.stdout,
        &apply.stderr,
        &file,
    ] {
        assert!(!text.contains(&secret), "the client secret leaked");
        assert!(
            !text.contains("eyJ"),
            "something that looks like a JWT leaked"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn target_applies_one_vm_and_what_it_needs() {
    let estate = Estate::start().await;
    let only_db = ["--target", "protected_vm.rsv-prod-weu/rg-app/db-01"];
    let plan = estate
        .run(
            &[
                &["plan", "-f", &quickstart(), "--format", "json"][..],
                &only_db,
            ]
            .concat(),
        )
        .await;
    assert_eq!(
        plan.changes(),
        vec![
            "resource_group.rg-protect-weu create",
            "recovery_vault.rsv-prod-weu create",
            "backup_policy.rsv-prod-weu/gold create",
            "protected_vm.rsv-prod-weu/rg-app/db-01 create",
        ]
    );
    estate
        .run(
            &[
                &["apply", "-f", &quickstart(), "--auto-approve"][..],
                &only_db,
            ]
            .concat(),
        )
        .await
        .expect_code(0);
    let rest = estate
        .run(&["plan", "-f", &quickstart(), "--format", "json"])
        .await;
    assert_eq!(
        rest.changes().len(),
        4,
        "silver and its three VMs remain: {:?}",
        rest.changes()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_target_that_matches_nothing_is_an_error_not_no_changes() {
    let estate = applied_quickstart().await;
    // Converged: a correct target plans no changes, and says so with exit 0 …
    let db = "protected_vm.rsv-prod-weu/rg-app/db-01";
    let ok = [
        "plan",
        "-f",
        &quickstart(),
        "--detailed-exitcode",
        "--target",
        db,
    ];
    estate.run(&ok).await.expect_code(0);
    // … but a typo must not pass a CI gate as "No changes".
    for (typo, suggestion) in [
        ("protected_vm.rsv-prod-weu/rg-app/db-1", db),
        ("protected_vm.rsv-prod-wue", "protected_vm.rsv-prod-weu"),
    ] {
        let file = quickstart();
        let plan = ["plan", "-f", &file, "--detailed-exitcode", "--target", typo];
        let apply = ["apply", "-f", &file, "--auto-approve", "--target", typo];
        for (cmd, args) in [("plan", &plan), ("apply", &apply)] {
            let run = estate.run(args).await;
            run.expect_code(1);
            assert!(
                run.stderr
                    .contains(&format!("--target {typo} matches nothing"))
                    && run.stderr.contains(&format!("did you mean `{suggestion}`")),
                "{cmd} {typo}: {}",
                run.stderr
            );
            assert!(!run.stdout.contains("No changes"), "{}", run.stdout);
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn apply_under_injected_faults_converges_on_rerun() {
    let log = tempfile::NamedTempFile::new().unwrap();
    let estate = Estate::start_with(SandboxOptions {
        faults: Some("seed=11,429=0.1,500=0.05,503=0.05,drop=0.03,lro_fail=0.1".into()),
        access_log: Some(log.path().to_path_buf()),
        ..SandboxOptions::default()
    })
    .await;
    let mut converged = false;
    for _ in 0..6 {
        let apply = estate
            .run(&["apply", "-f", &quickstart(), "--auto-approve"])
            .await;
        if apply.code == 0
            && estate
                .run(&["plan", "-f", &quickstart(), "--detailed-exitcode"])
                .await
                .code
                == 0
        {
            converged = true;
            break;
        }
    }
    assert!(
        converged,
        "apply did not converge within 6 runs under faults"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn apply_without_a_terminal_refuses_to_prompt() {
    let estate = Estate::start().await;
    let apply = estate.run(&["apply", "-f", &quickstart()]).await;
    apply.expect_code(1);
    assert!(apply.stderr.contains("--auto-approve"), "{}", apply.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn what_waiting_cannot_fix_fails_at_once_and_a_refusal_says_it_retries() {
    let estate = Estate::start().await;
    // A CA the machine does not trust for this endpoint (another sandbox's): no retry can fix it.
    let other = azprotect::sandbox::Sandbox::start(SandboxOptions::default())
        .await
        .unwrap();
    let wrong_ca = estate.path("other-ca.pem");
    std::fs::write(&wrong_ca, other.ca_cert_pem()).unwrap();
    let run = support::estate::run_on(
        &estate.sandbox,
        &[("AZPROTECT_CA_CERT", wrong_ca.as_str())],
        &["plan", "-f", &quickstart()],
    )
    .await;
    run.expect_code(1);
    assert!(run.stderr.contains("certificate"), "{}", run.stderr);
    assert!(!run.stderr.contains("retrying"), "{}", run.stderr);
    // An ARM endpoint that refuses connections: retried a few times, saying so, then an error.
    let run = support::estate::run_on(
        &estate.sandbox,
        &[("AZPROTECT_ARM_ENDPOINT", "https://127.0.0.1:9")],
        &["plan", "-f", &quickstart()],
    )
    .await;
    run.expect_code(1);
    assert!(run.stderr.contains("retrying (1/4)"), "{}", run.stderr);
    assert!(run.stderr.contains("after 4 attempt(s)"), "{}", run.stderr);
}
