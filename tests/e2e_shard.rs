//! A tenant split over parallel CI runners: `plan --shard I/N` plans the subscriptions one
//! shard owns, `show --merge` renders the shards' plans as the one plan a reviewer reads, and
//! applying every shard converges the estate as one apply would.

mod support;

use azprotect::sandbox::SandboxOptions;
use std::collections::BTreeSet;
use support::estate::{multi_vault, multi_vault_estate, repo, Estate};
use support::landing_zone::{addresses, all_in};

const SUB1: &str = "00000000-0000-0000-0000-000000000001";
const SUB2: &str = "00000000-0000-0000-0000-000000000002";

#[tokio::test(flavor = "multi_thread")]
async fn two_shards_plan_their_own_subscriptions_merge_into_the_whole_plan_and_converge() {
    let estate = multi_vault_estate().await;
    let file = multi_vault();
    let whole = estate
        .run(&["plan", "-f", &file, "--format", "json"])
        .await
        .json();

    let (s1, s2) = (estate.path("shard-1.json"), estate.path("shard-2.json"));
    let mut shards = Vec::new();
    for (i, out) in [(1, &s1), (2, &s2)] {
        let shard = format!("{i}/2");
        let run = estate
            .run(&[
                "plan", "-f", &file, "--shard", &shard, "--out", out, "--format", "json",
            ])
            .await;
        run.expect_code(0);
        let plan = run.json();
        assert_eq!(plan["shard"], serde_json::json!({"index": i, "count": 2}));
        shards.push(plan);
    }
    // The subscriptions are dealt in order: …0001 to shard 1, …0002 to shard 2.
    assert!(all_in(&shards[0], SUB1), "{}", shards[0]);
    assert!(all_in(&shards[1], SUB2), "{}", shards[1]);
    // Each reads only its own: shard 2 does not touch the file's default subscription.
    assert_eq!(shards[1]["subscriptions"], serde_json::json!([SUB2]));
    assert!(addresses(&shards[1]).contains("protected_vm.rsv-shared-weu/rg-shared/ad-01"));
    let union: BTreeSet<String> = addresses(&shards[0])
        .union(&addresses(&shards[1]))
        .cloned()
        .collect();
    assert_eq!(union, addresses(&whole));

    // The reviewer's view: one plan, the whole summary, no shard.
    let merged = estate
        .run(&["show", "--merge", &s2, &s1, "--format", "json"])
        .await;
    merged.expect_code(0);
    let merged = merged.json();
    assert_eq!(addresses(&merged), addresses(&whole));
    assert_eq!(merged["summary"], whole["summary"]);
    assert!(merged.get("shard").is_none(), "{merged}");
    let md = estate
        .run(&["show", "--merge", &s1, &s2, "--format", "markdown"])
        .await;
    assert!(
        md.stdout
            .contains(&format!("subscriptions `{SUB1}`, `{SUB2}`")),
        "{}",
        md.stdout
    );

    // Each runner applies its shard: the reviewed plan, or a fresh one.
    estate
        .run(&["apply", &s1, "--auto-approve"])
        .await
        .expect_code(0);
    estate
        .run(&["apply", "-f", &file, "--shard", "2/2", "--auto-approve"])
        .await
        .expect_code(0);
    estate.expect_no_changes(&file).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_merge_says_what_is_missing_and_refuses_what_does_not_fit() {
    let estate = multi_vault_estate().await;
    let file = multi_vault();
    let (s1, whole) = (estate.path("s1.json"), estate.path("whole.json"));
    estate
        .run(&["plan", "-f", &file, "--shard", "1/2", "--out", &s1])
        .await
        .expect_code(0);
    estate
        .run(&["plan", "-f", &file, "--out", &whole])
        .await
        .expect_code(0);

    // A missing shard is said in the plan itself, in every format.
    let partial = estate.run(&["show", "--merge", &s1]).await;
    partial.expect_code(0);
    assert!(
        partial.stdout.contains("no plan for shard(s) 2/2"),
        "{}",
        partial.stdout
    );
    let json = estate
        .run(&["show", "--merge", &s1, "--format", "json"])
        .await
        .json();
    assert_eq!(
        json["missing_shards"],
        serde_json::json!([{"index": 2, "count": 2}])
    );
    let md = estate
        .run(&["show", "--merge", &s1, "--format", "markdown"])
        .await;
    assert!(
        md.stdout.contains("no plan for shard(s) 2/2"),
        "{}",
        md.stdout
    );
    let twice = estate.run(&["show", "--merge", &s1, &s1]).await;
    twice.expect_code(1);
    assert!(
        twice.stderr.contains("are both shard 1/2"),
        "{}",
        twice.stderr
    );
    // Shard 2 planned from a changed file (one more subscription) deals the subscriptions
    // differently: subscription …01 would be planned by both shards, so the merge refuses.
    let changed = estate.path("changed.yaml");
    let text = std::fs::read_to_string(&file).unwrap()
        + "\n  rsv-extra:\n    subscription: 00000000-0000-0000-0000-000000000000\n    resource_group: rg-extra\n    location: westeurope\n";
    std::fs::write(&changed, text).unwrap();
    let s2_changed = estate.path("s2-changed.json");
    estate
        .run(&[
            "plan",
            "-f",
            &changed,
            "--shard",
            "2/2",
            "--out",
            &s2_changed,
        ])
        .await
        .expect_code(0);
    let other = estate.run(&["show", "--merge", &s1, &s2_changed]).await;
    other.expect_code(1);
    let err = support::estate::flat(&other.stderr);
    assert!(
        err.contains(
            "were dealt from different files: 00000000-0000-0000-0000-000000000000 only in"
        ),
        "{err}"
    );
    let not_a_shard = estate.run(&["show", "--merge", &s1, &whole]).await;
    not_a_shard.expect_code(1);
    assert!(
        not_a_shard.stderr.contains("is not a shard's plan"),
        "{}",
        not_a_shard.stderr
    );
    // A target of the other shard's subscription names that shard.
    let elsewhere = estate
        .run(&[
            "plan",
            "-f",
            &file,
            "--shard",
            "1/2",
            "--target",
            "recovery_vault.rsv-shared-weu",
        ])
        .await;
    elsewhere.expect_code(1);
    let err = support::estate::flat(&elsewhere.stderr);
    assert!(err.contains("which shard 2/2 owns, not 1/2"), "{err}");
    let two = estate.run(&["show", &s1, &whole]).await;
    two.expect_code(1);
    assert!(two.stderr.contains("--merge"), "{}", two.stderr);
    let bad = estate.run(&["plan", "-f", &file, "--shard", "3/2"]).await;
    assert_ne!(bad.code, 0);
    assert!(bad.stderr.contains("is not a shard"), "{}", bad.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_subscription_the_identity_may_not_read_is_named_and_allow_partial_plans_the_rest() {
    // The identity holds no role on the shared-services subscription.
    let (estate, _dir) = estate_without(SUB2).await;
    let file = multi_vault();

    // Never silently skipped: the subscription and the permission Azure says is missing.
    let refused = estate.run(&["plan", "-f", &file]).await;
    refused.expect_code(1);
    let err = support::estate::flat(&refused.stderr);
    assert!(err.contains("may not read 1 subscription(s)"), "{err}");
    assert!(err.contains(SUB2), "{err}");
    assert!(
        err.contains("does not have authorization to perform action 'Microsoft."),
        "{err}"
    );
    assert!(err.contains("--allow-partial"), "{err}");

    // --allow-partial plans the rest and says what it left out.
    let partial = estate
        .run(&["plan", "-f", &file, "--allow-partial", "--format", "json"])
        .await;
    partial.expect_code(0);
    let plan = partial.json();
    assert_eq!(plan["left_out"][0]["subscription"], SUB2, "{plan}");
    assert!(all_in(&plan, SUB1), "{plan}");
    assert!(!addresses(&plan)
        .iter()
        .any(|a| a.contains("rsv-shared-weu")));
    let text = estate.run(&["plan", "-f", &file, "--allow-partial"]).await;
    assert!(
        text.stdout
            .contains(&format!("Left out: subscription {SUB2}")),
        "{}",
        text.stdout
    );

    estate
        .run(&["apply", "-f", &file, "--allow-partial", "--auto-approve"])
        .await
        .expect_code(0);
    let after = estate
        .run(&["plan", "-f", &file, "--allow-partial", "--format", "json"])
        .await;
    assert!(
        after.json()["changes"].as_array().unwrap().is_empty(),
        "{}",
        after.stdout
    );
    assert_eq!(after.json()["left_out"][0]["subscription"], SUB2);
}

/// The multi-vault estate where the identity holds no role on `sub` (the directory holding the
/// inventory lives as long as the estate needs it).
async fn estate_without(sub: &str) -> (Estate, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let inventory = dir.path().join("inventory.yaml");
    let text = std::fs::read_to_string(repo().join("examples/inventories/multi-vault.yaml"))
        .unwrap()
        .replace(
            &format!("  {sub}:\n"),
            &format!("  {sub}:\n    readable: false\n"),
        );
    assert!(text.contains("readable: false"), "{text}");
    std::fs::write(&inventory, text).unwrap();
    let estate = Estate::start_with(SandboxOptions {
        inventory: Some(inventory),
        ..SandboxOptions::default()
    })
    .await;
    (estate, dir)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_files_own_default_subscription_can_be_left_out_too() {
    let (estate, _dir) = estate_without(SUB1).await;
    let file = multi_vault();
    let refused = estate.run(&["plan", "-f", &file]).await;
    refused.expect_code(1);
    let err = support::estate::flat(&refused.stderr);
    assert!(
        err.contains("may not read 1 subscription(s)") && err.contains(SUB1),
        "{err}"
    );
    let partial = estate
        .run(&["plan", "-f", &file, "--allow-partial", "--format", "json"])
        .await;
    partial.expect_code(0);
    let plan = partial.json();
    assert_eq!(plan["left_out"][0]["subscription"], SUB1, "{plan}");
    assert_eq!(plan["subscriptions"], serde_json::json!([SUB2]), "{plan}");
    assert!(all_in(&plan, SUB2), "{plan}");
}
