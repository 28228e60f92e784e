//! What the real binary prints, pinned: the quickstart's plan (text and markdown), its apply and
//! the empty plan after it, against a fresh sandbox. Only stdout, which is deterministic (the
//! progress lines on stderr carry durations and finish in any order); GUIDs and durations are
//! filtered all the same, should a change start printing them.

mod support;

use support::estate::{quickstart, Estate};

fn settings() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.add_filter(
        r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
        "[guid]",
    );
    s.add_filter(r"\b\d+(\.\d+)?\s?(ms|s)\b", "[duration]");
    s
}

#[tokio::test(flavor = "multi_thread")]
async fn the_quickstart_plan_apply_and_replan_read_as_pinned() {
    let estate = Estate::start().await;
    let file = quickstart();
    let plan = estate.run(&["plan", "-f", &file]).await;
    plan.expect_code(0);
    let markdown = estate
        .run(&["plan", "-f", &file, "--format", "markdown"])
        .await;
    markdown.expect_code(0);
    let apply = estate.run(&["apply", "-f", &file, "--auto-approve"]).await;
    apply.expect_code(0);
    let replan = estate.run(&["plan", "-f", &file]).await;
    replan.expect_code(0);
    settings().bind(|| {
        insta::assert_snapshot!("quickstart_plan_text", plan.stdout);
        insta::assert_snapshot!("quickstart_plan_markdown", markdown.stdout);
        insta::assert_snapshot!("quickstart_apply", apply.stdout);
        insta::assert_snapshot!("quickstart_replan", replan.stdout);
    });
}

#[tokio::test(flavor = "multi_thread")]
async fn a_drill_and_a_failover_read_as_pinned() {
    // Initial replication takes 30 minutes in Azure: under 2 s at this scale.
    let estate = Estate::start_with(azprotect::sandbox::SandboxOptions {
        time_scale: 0.001,
        ..azprotect::sandbox::SandboxOptions::default()
    })
    .await;
    let file = support::estate::repo()
        .join("examples/site-recovery.yaml")
        .display()
        .to_string();
    estate
        .run(&["apply", "-f", &file, "--auto-approve", "--wait-replicated"])
        .await
        .expect_code(0);
    let plan = "recovery_plan.app-dr/app-failover";
    let test_vnet = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-app-dr/providers/Microsoft.Network/virtualNetworks/vnet-app-dr-test";
    let drill = estate
        .run(&[
            "drill",
            plan,
            "-f",
            &file,
            "--network",
            test_vnet,
            "--auto-approve",
        ])
        .await;
    drill.expect_code(0);
    let failover = estate
        .run(&[
            "failover",
            plan,
            "-f",
            &file,
            "--unplanned",
            "--auto-approve",
        ])
        .await;
    failover.expect_code(0);
    let mut s = settings();
    // The drill's start and end times.
    s.add_filter(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z", "[time]");
    s.bind(|| {
        insta::assert_snapshot!("drill", drill.stdout);
        insta::assert_snapshot!("failover", failover.stdout);
    });
}

/// The help a new user reads first: every flag says what it is for and shows its default
/// (`src/cli/args.rs` has the test that no argument lacks a help line).
#[test]
fn the_help_of_the_first_commands_reads_as_pinned() {
    for args in [
        vec!["--help"],
        vec!["plan", "--help"],
        vec!["apply", "--help"],
        vec!["show", "--help"],
        vec!["sandbox", "serve", "--help"],
    ] {
        let out = assert_cmd::Command::cargo_bin("azprotect")
            .unwrap()
            .env_clear()
            .env("NO_COLOR", "1")
            .args(&args)
            .output()
            .unwrap();
        assert!(out.status.success());
        let name = format!(
            "help_{}",
            ["azprotect"]
                .iter()
                .chain(&args[..args.len() - 1])
                .cloned()
                .collect::<Vec<_>>()
                .join("_")
        );
        insta::assert_snapshot!(name, String::from_utf8_lossy(&out.stdout));
    }
}
