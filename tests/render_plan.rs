//! Render tests: one rich plan, snapshotted as text (plain and coloured), markdown and JSON;
//! the empty plan in each format; and a huge plan cut to fit a GitHub comment.

mod support;

use azprotect::plan::Plan;
use azprotect::render::{self, TextOptions, GITHUB_COMMENT_LIMIT};
use support::plan_fixture::{empty_plan, huge_plan, rich_plan};

fn text(plan: &Plan, color: bool) -> String {
    let mut out = Vec::new();
    render::text(plan, &mut out, TextOptions { color }).unwrap();
    String::from_utf8(out).unwrap()
}

fn markdown(plan: &Plan) -> String {
    let mut out = Vec::new();
    render::markdown(plan, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

fn json(plan: &Plan) -> String {
    let mut out = Vec::new();
    render::json(plan, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn rich_plan_as_text() {
    let out = text(&rich_plan(), false);
    assert!(!out.contains('\x1b'), "no escape codes without colour");
    insta::assert_snapshot!(out);
}

#[test]
fn rich_plan_as_coloured_text() {
    let out = text(&rich_plan(), true);
    assert!(out.contains("\x1b[32m"), "green for creates");
    assert!(out.contains("\x1b[33m"), "yellow for updates");
    assert!(out.contains("\x1b[31m"), "red for deletes");
    assert!(out.contains("\x1b[1m"), "bold addresses");
    // Stripping the escape codes gives the plain rendering back.
    assert_eq!(strip_ansi(&out), text(&rich_plan(), false));
    insta::assert_snapshot!(out.replace('\x1b', "\\e"));
}

#[test]
fn rich_plan_as_markdown() {
    insta::assert_snapshot!(markdown(&rich_plan()));
}

#[test]
fn rich_plan_as_json() {
    let out = json(&rich_plan());
    let back: Plan = serde_json::from_str(&out).unwrap();
    assert_eq!(back, rich_plan(), "the JSON plan is lossless");
    insta::assert_snapshot!(out);
}

#[test]
fn empty_plan_in_every_format() {
    let plan = empty_plan();
    assert_eq!(
        text(&plan, false),
        "No changes. Azure matches the configuration.\n"
    );
    assert!(!text(&plan, true).contains("Plan:"));
    insta::assert_snapshot!("empty_markdown", markdown(&plan));
    insta::assert_snapshot!("empty_json", json(&plan));
}

#[test]
fn summary_line_counts_every_action() {
    let out = text(&rich_plan(), false);
    assert!(
        out.ends_with("Plan: 4 to create, 2 to update, 1 to replace, 2 to delete, 1 blocked.\n"),
        "{out}"
    );
}

#[test]
fn huge_plan_markdown_fits_a_github_comment() {
    let plan = huge_plan(5_000);
    let out = markdown(&plan);
    assert!(out.len() <= GITHUB_COMMENT_LIMIT, "{} bytes", out.len());
    assert!(out.chars().count() <= GITHUB_COMMENT_LIMIT);
    assert!(out.contains("too large for one comment"), "says it was cut");
    assert!(out.contains(
        "**Plan: 5000 to create, 0 to update, 0 to replace, 500 to delete, 0 blocked.**"
    ));
    assert!(
        out.contains("⚠️ **Deletes backup data**"),
        "data loss is called out at the top"
    );
    assert!(out.contains("…and 475 more"), "call-outs are capped");
    assert_eq!(
        out.matches("```").count() % 2,
        0,
        "code fences are balanced"
    );
    assert_eq!(
        out.matches("<details").count(),
        out.matches("</details>").count()
    );
}

#[test]
fn medium_plan_markdown_keeps_the_list_and_cuts_the_details() {
    let plan = huge_plan(300);
    let out = markdown(&plan);
    assert!(out.len() <= GITHUB_COMMENT_LIMIT);
    // Every change is listed…
    assert!(out.contains("`protected_vm.rsv-prod-weu/rg-fleet/vm-00299`"));
    assert!(out.contains("`protected_vm.rsv-prod-weu/rg-fleet/old-00029`"));
    // …but not every diff block fits.
    assert!(
        out.contains("not shown here"),
        "{}",
        &out[out.len() - 400..]
    );
    assert_eq!(out.matches("```").count() % 2, 0);
    assert_eq!(
        out.matches("<details").count(),
        out.matches("</details>").count()
    );
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for c in chars.by_ref() {
                if c == 'm' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn attribute_order_does_not_depend_on_how_the_producer_built_the_object() {
    let mut plan = rich_plan();
    let mut reversed = plan.clone();
    for c in &mut reversed.changes {
        if let Some(serde_json::Value::Object(m)) = &mut c.after {
            let mut entries: Vec<_> = std::mem::take(m).into_iter().collect();
            entries.reverse();
            m.extend(entries);
        }
    }
    assert_ne!(
        serde_json::to_string(&plan.changes[0].after).unwrap(),
        serde_json::to_string(&reversed.changes[0].after).unwrap(),
        "the fixture really is reordered"
    );
    assert_eq!(text(&plan, false), text(&reversed, false));
    assert_eq!(markdown(&plan), markdown(&reversed));
    plan.changes.truncate(1);
    let out = text(&plan, false);
    let pos = |k: &str| out.find(k).unwrap_or_else(|| panic!("{k} in {out}"));
    assert!(pos("+ location") < pos("+ storage_redundancy"));
    assert!(pos("+ immutability") < pos("+ tags"));
}

#[test]
fn small_plans_show_their_details_expanded() {
    let mut plan = rich_plan();
    plan.changes
        .retain(|c| c.address.to_string() == "protected_vm.rsv-prod-weu/rg-web/web-2");
    let plan = Plan::new(plan.subscriptions.clone(), plan.changes);
    let out = markdown(&plan);
    assert!(out.contains("<details open>"), "{out}");
    assert!(
        out.contains("```diff\n- protected_vm.rsv-prod-weu/rg-web/web-2\n"),
        "{out}"
    );
    assert!(
        !out.contains("[!CAUTION]"),
        "retaining data is not a data-loss warning"
    );
}
