//! What the real binary prints, pinned: the quickstart's plan (text and markdown), its apply and
//! the empty plan after it, against a fresh sandbox. Only stdout, which is deterministic (the
//! progress lines on stderr carry timestamps and finish in any order); GUIDs and durations are
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
