//! The JSON plan is a contract: `schemas/plan.schema.json` is generated from the plan's types,
//! and real `plan --format json` output of the example estates — creates, updates, deletes with
//! their data effect, blocked changes — validates against it.
//!
//! When the plan's types change, regenerate it with
//! `AZPROTECT_UPDATE_SCHEMA=1 cargo test --test plan_schema`.

mod support;

use serde_json::Value;
use support::estate::{read_example, repo, Estate};
use support::json_schema::validate;

const PATH: &str = "schemas/plan.schema.json";

#[test]
fn the_committed_plan_schema_is_up_to_date() {
    let fresh = azprotect::render::plan_schema_text();
    if std::env::var_os("AZPROTECT_UPDATE_SCHEMA").is_some() {
        std::fs::write(repo().join(PATH), &fresh).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(repo().join(PATH)).unwrap_or_default();
    assert!(
        committed == fresh,
        "{PATH} is stale: regenerate it with `AZPROTECT_UPDATE_SCHEMA=1 cargo test --test plan_schema` and commit it"
    );
}

fn schema() -> Value {
    serde_json::from_str(&std::fs::read_to_string(repo().join(PATH)).unwrap()).unwrap()
}

fn assert_valid(plan: &Value, what: &str) {
    let errors = validate(&schema(), plan);
    assert!(
        errors.is_empty(),
        "{what}: the JSON plan does not match {PATH}:\n  {}\n{plan:#}",
        errors.join("\n  ")
    );
}

#[test]
fn the_schema_catches_what_breaks_the_contract() {
    // A checker that cannot fail proves nothing: each of these must be refused.
    let good = serde_json::json!({
        "format_version": 1,
        "subscriptions": ["00000000-0000-0000-0000-000000000001"],
        "changes": [{"address": "recovery_vault.v", "action": "create", "arm_id": "/subscriptions/x"}],
        "summary": {"create": 1, "update": 0, "replace": 0, "delete": 0, "blocked": 0}
    });
    assert!(
        validate(&schema(), &good).is_empty(),
        "{:?}",
        validate(&schema(), &good)
    );
    for (what, path, bad) in [
        (
            "an unknown action",
            "/changes/0/action",
            Value::from("destroy"),
        ),
        (
            "an address of no kind",
            "/changes/0/address",
            Value::from("vault"),
        ),
        ("a negative count", "/summary/create", Value::from(-1)),
        (
            "a data effect of no kind",
            "/changes/0/data",
            Value::from("gone"),
        ),
        (
            "attributes that are not an object",
            "/changes/0/after",
            Value::from(3),
        ),
    ] {
        let mut plan = good.clone();
        let (parent, key) = path.rsplit_once('/').unwrap();
        plan.pointer_mut(parent).unwrap()[key] = bad;
        assert!(!validate(&schema(), &plan).is_empty(), "{what} passed");
    }
    let mut missing = good.clone();
    missing.as_object_mut().unwrap().remove("summary");
    assert!(
        !validate(&schema(), &missing).is_empty(),
        "no summary passed"
    );
}

/// Plan each example estate against a fresh sandbox (all creates), apply it, then plan an edit
/// of it (updates, deletes with their data effect): every JSON plan matches the schema.
#[tokio::test(flavor = "multi_thread")]
async fn real_plans_of_the_example_estates_match_the_schema() {
    for example in ["quickstart.yaml", "disk-backup.yaml", "site-recovery.yaml"] {
        let estate = Estate::start().await;
        let text = read_example(example);
        let file = estate.write(example, &text);
        let fresh = estate.run(&["plan", "-f", &file, "--format", "json"]).await;
        fresh.expect_code(0);
        assert_valid(&fresh.json(), example);
        if example != "quickstart.yaml" {
            continue;
        }
        estate
            .run(&["apply", "-f", &file, "--auto-approve"])
            .await
            .expect_code(0);
        // Longer retention (an update) and a VM dropped from the file (a delete, data kept).
        let edited = text
            .replace("daily: 14d", "daily: 21d")
            .replace("          - rg-app/db-01\n", "");
        let file = estate.write("edited.yaml", &edited);
        let plan = estate.run(&["plan", "-f", &file, "--format", "json"]).await;
        plan.expect_code(0);
        let json = plan.json();
        let actions: Vec<&str> = json["changes"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|c| c["action"].as_str())
            .collect();
        assert!(
            actions.contains(&"update") && actions.contains(&"delete"),
            "the edit plans an update and a delete: {actions:?}"
        );
        assert_valid(&json, "the edited quickstart");
    }
}
