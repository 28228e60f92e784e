//! What a CI log shows: without a terminal `apply` prints Terraform-style lines per change (no
//! timestamps); under GitHub Actions errors, failed changes and blocked changes are annotations
//! and the plan and the progress are folded into groups; `apply --format json` prints one result
//! on stdout — through the real binary against the sandbox.

mod support;

use azprotect::sandbox::SandboxOptions;
use support::estate::{quickstart, Estate};

const GITHUB: &[(&str, &str)] = &[("GITHUB_ACTIONS", "true")];

#[tokio::test(flavor = "multi_thread")]
async fn an_apply_in_a_ci_log_reads_like_terraform_and_json_goes_alone_to_stdout() {
    let estate = Estate::start().await;
    let apply = estate
        .run(&[
            "apply",
            "-f",
            &quickstart(),
            "--auto-approve",
            "--format",
            "json",
        ])
        .await;
    apply.expect_code(0);
    // stdout is the result alone: the plan and the progress went to stderr.
    let result = apply.json();
    assert_eq!(result["format_version"], 1, "{result}");
    assert_eq!(result["succeeded"], true);
    let changes = result["changes"].as_array().expect("changes");
    assert_eq!(result["counts"]["succeeded"], changes.len());
    assert_eq!(changes.len(), 8, "the quickstart creates 8 resources");
    let vm = changes
        .iter()
        .find(|c| c["address"] == "protected_vm.rsv-prod-weu/rg-app/app-01")
        .unwrap_or_else(|| panic!("{result}"));
    assert_eq!(vm["action"], "create");
    assert_eq!(vm["outcome"], "done");
    assert!(vm["seconds"].as_f64().is_some(), "{vm}");
    assert_eq!(result["replication"]["state"], "none_enabled");

    let log = &apply.stderr;
    assert!(
        log.contains("Plan: 8 to create"),
        "the plan is on stderr:\n{log}"
    );
    assert!(
        log.contains("creating protected_vm.rsv-prod-weu/rg-app/app-01…")
            && log.contains("creating protected_vm.rsv-prod-weu/rg-app/app-01: done after "),
        "{log}"
    );
    let timestamp = first_timestamp(log);
    assert!(
        timestamp.is_none(),
        "a timestamp in the log: {timestamp:?}\n{log}"
    );
    assert!(
        !log.contains("::"),
        "no workflow commands outside GitHub:\n{log}"
    );

    // Applied: a second apply has nothing to do, and says so in JSON too.
    let again = estate
        .run(&["apply", "-f", &quickstart(), "--format", "json"])
        .await;
    again.expect_code(0);
    assert_eq!(again.json()["counts"]["succeeded"], 0);
    assert_eq!(again.json()["changes"], serde_json::json!([]));
}

/// The first RFC 3339 timestamp (`2026-12-05T23:40:01…`) in `s`, if any.
fn first_timestamp(s: &str) -> Option<&str> {
    let b = s.as_bytes();
    (0..b.len().saturating_sub(19)).find_map(|i| {
        let w = &b[i..i + 19];
        let digits = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18];
        let ok = digits.iter().all(|&d| w[d].is_ascii_digit())
            && w[4] == b'-'
            && w[7] == b'-'
            && w[10] == b'T'
            && w[13] == b':'
            && w[16] == b':';
        ok.then(|| &s[i..i + 19])
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn under_github_actions_failures_are_annotations_and_long_sections_are_grouped() {
    // Every long-running operation fails: the changes that wait on one fail, and their
    // dependents are skipped.
    let estate = Estate::start_with(SandboxOptions {
        faults: Some("seed=3,lro_fail=1".into()),
        ..SandboxOptions::default()
    })
    .await;
    let apply = estate
        .run_env(GITHUB, &["apply", "-f", &quickstart(), "--auto-approve"])
        .await;
    apply.expect_code(1);
    let out = &apply.stdout;
    assert!(
        out.starts_with("::group::Plan: 8 to create") && out.contains("::endgroup::"),
        "the plan is one group:\n{out}"
    );
    let log = &apply.stderr;
    assert!(
        log.contains("::group::Applying 8 change(s)") && log.contains("::endgroup::"),
        "{log}"
    );
    let failed: Vec<&str> = log
        .lines()
        .filter(|l| l.starts_with("::error title="))
        .collect();
    assert!(
        !failed.is_empty(),
        "a failed change is an annotation:\n{log}"
    );
    for line in &failed {
        // The title names the change (its `:`/`,` escaped); the message follows the `::`.
        let (title, message) = line["::error title=".len()..]
            .split_once("::")
            .unwrap_or_else(|| panic!("{line}"));
        assert!(title.ends_with(" failed") && title.contains('.'), "{line}");
        assert!(!title.contains(':') && !title.contains(','), "{line}");
        assert!(!message.is_empty(), "{line}");
    }
    assert!(
        log.lines().any(|l| l.contains(": FAILED after ")),
        "the plain line stays as well:\n{log}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn under_github_actions_an_error_is_an_annotation() {
    let estate = Estate::start().await;
    let run = estate
        .run_env(GITHUB, &["plan", "-f", "no-such-file.yaml"])
        .await;
    run.expect_code(1);
    let annotation = run
        .stderr
        .lines()
        .find(|l| l.starts_with("::error::"))
        .unwrap_or_else(|| panic!("no ::error:: in\n{}", run.stderr));
    assert!(annotation.contains("no-such-file.yaml"), "{annotation}");
    assert!(!annotation.contains('\n'));
}
