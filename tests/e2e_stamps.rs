//! One declaration for a landing zone: `examples/landing-zone.yaml`'s stamp over the three
//! subscriptions under `mg-corp` (examples/inventories/landing-zone.yaml) plans a resource group
//! and a vault in each (subscription, region) with VMs tagged for backup, applies, converges,
//! grows when a VM comes into scope elsewhere, and plans one subscription's part with
//! `--target 'stamp.landing-zone[<subscription>]'` — through the real binary over HTTPS.

mod support;

use azprotect::sandbox::SandboxOptions;
use std::collections::BTreeSet;
use support::estate::{logged_paths, read_example, Estate};
use support::landing_zone::{
    addresses, all_in, file, inventory_without_sandbox, landing_zone, landing_zone_with,
    landing_zone_without_sandbox, set, tag, vm, DEV, PROD, SANDBOX,
};

#[tokio::test(flavor = "multi_thread")]
async fn a_stamp_plans_a_vault_per_subscription_and_region_with_vms_and_follows_the_estate() {
    let estate = landing_zone().await;
    let f = file();

    // Offline, the file is valid and its stamp waits for the plan.
    let valid = estate.run(&["validate", "-f", &f]).await;
    valid.expect_code(0);
    assert!(
        valid.stdout.contains("1 stamp(s) expanded at plan time"),
        "{}",
        valid.stdout
    );

    // Corp Prod has gold VMs in two regions, Corp Dev in one, Sandbox none.
    let plan = estate.plan_json(&f, &[]).await;
    plan.expect_code(0);
    let planned = addresses(&plan.json());
    let generated = [
        ("corp-prod", "westeurope"),
        ("corp-prod", "northeurope"),
        ("corp-dev", "westeurope"),
    ];
    let mut expected = BTreeSet::new();
    for (sub, region) in generated {
        expected.insert(format!("resource_group.rg-backup-{sub}-{region}"));
        expected.insert(format!("recovery_vault.rsv-{sub}-{region}"));
        expected.insert(format!("backup_policy.rsv-{sub}-{region}/gold"));
    }
    expected.extend(set(&[
        "protected_vm.rsv-corp-prod-westeurope/rg-app-weu/app-01",
        "protected_vm.rsv-corp-prod-westeurope/rg-app-weu/app-02",
        "protected_vm.rsv-corp-prod-northeurope/rg-app-neu/app-n1",
        "protected_vm.rsv-corp-dev-westeurope/rg-dev/dev-01",
    ]));
    assert_eq!(planned, expected, "{}", plan.stdout);
    let vault = plan.change("recovery_vault.rsv-corp-dev-westeurope", "Corp Dev's vault");
    assert!(
        vault["arm_id"].as_str().unwrap().starts_with(&format!(
            "/subscriptions/{DEV}/resourceGroups/rg-backup-corp-dev-westeurope/"
        )),
        "{vault}"
    );
    assert_eq!(vault["after"]["location"], "westeurope");

    estate
        .run(&["apply", "-f", &f, "--auto-approve"])
        .await
        .expect_code(0);
    estate.expect_no_changes(&f).await;
    // `status` reads the stamped vaults as `plan` does.
    let status = estate.run(&["status", "-f", &f, "--format", "json"]).await;
    let report = status.json();
    assert_eq!(report["vms"].as_array().map(Vec::len), Some(4), "{report}");
    assert!(
        status.stdout.contains("rsv-corp-prod-northeurope"),
        "{}",
        status.stdout
    );

    // A VM of the Sandbox subscription comes into scope in a region no vault covers yet.
    tag(&estate, &vm(SANDBOX, "rg-play", "play-01"), "gold").await;
    let grown = estate.plan_json(&f, &[]).await;
    assert_eq!(
        addresses(&grown.json()),
        set(&[
            "resource_group.rg-backup-sandbox-swedencentral",
            "recovery_vault.rsv-sandbox-swedencentral",
            "backup_policy.rsv-sandbox-swedencentral/gold",
            "protected_vm.rsv-sandbox-swedencentral/rg-play/play-01",
        ]),
        "{}",
        grown.stdout
    );

    // One subscription's part: by display name, and nothing of the others.
    tag(&estate, &vm(PROD, "rg-app-weu", "app-02"), "none").await;
    let part = estate
        .plan_json(&f, &["--target", "stamp.landing-zone[Sandbox]"])
        .await;
    part.expect_code(0);
    let part = part.json();
    assert_eq!(addresses(&part).len(), 4, "{part}");
    assert!(all_in(&part, SANDBOX), "{part}");
    let err = estate
        .refused(&["plan", "-f", &f, "--target", "stamp.landing-zone[sandbx]"])
        .await;
    assert!(
        err.contains("--target stamp.landing-zone[sandbx] matches nothing"),
        "{err}"
    );
    assert!(err.contains("sandbox"), "did you mean: {err}");
    estate
        .run(&[
            "apply",
            "-f",
            &f,
            "--target",
            "stamp.landing-zone[sandbox]",
            "--auto-approve",
        ])
        .await
        .expect_code(0);

    // Corp Prod's app-02 left scope; its vault stays generated, so its protection is planned
    // for removal (on_remove), not left unmanaged.
    let rest = estate.plan_json(&f, &[]).await;
    assert_eq!(
        addresses(&rest.json()),
        set(&["protected_vm.rsv-corp-prod-westeurope/rg-app-weu/app-02"]),
        "{}",
        rest.stdout
    );
    // The last VM of Corp Dev's region leaves scope: the vault is still the stamp's.
    tag(&estate, &vm(DEV, "rg-dev", "dev-01"), "none").await;
    let gone = estate.plan_json(&f, &[]).await;
    let gone = addresses(&gone.json());
    assert!(
        gone.contains("protected_vm.rsv-corp-dev-westeurope/rg-dev/dev-01"),
        "{gone:?}"
    );
    assert!(
        !gone.iter().any(|a| a.starts_with("recovery_vault.")),
        "{gone:?}"
    );
}

/// A discovery read's requests: the tenant's subscription list, management groups, Resource Graph.
fn discovery(paths: &[String]) -> Vec<&String> {
    paths
        .iter()
        .filter(|p| {
            p.trim_end_matches('/') == "/subscriptions"
                || p.contains("Microsoft.Management")
                || p.contains("Microsoft.ResourceGraph")
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_file_without_stamps_makes_no_discovery_read_of_its_own() {
    let log = tempfile::NamedTempFile::new().unwrap();
    let estate = landing_zone_with(SandboxOptions {
        access_log: Some(log.path().to_path_buf()),
        ..SandboxOptions::default()
    })
    .await;
    let plain = estate.write(
        "plain.yaml",
        &format!("version: 1\nresource_groups:\n  rg-x: {{location: westeurope, subscription: {PROD}}}\n"),
    );
    estate.run(&["plan", "-f", &plain]).await.expect_code(0);
    let before = logged_paths(log.path());
    assert!(
        before.iter().any(|p| p.contains(PROD)),
        "the log is of this plan: {before:?}"
    );
    // No subscription list, no management group: only the plan's own read asks Resource Graph
    // once, to count its one subscription's VMs (`auto` lists them unless there are many).
    let graph = "/providers/Microsoft.ResourceGraph/resources".to_string();
    assert_eq!(discovery(&before), vec![&graph]);

    estate.run(&["plan", "-f", &file()]).await.expect_code(0);
    let after = logged_paths(log.path());
    let read: Vec<&String> = discovery(&after[before.len()..]);
    assert!(
        read.iter()
            .any(|p| p.contains("managementGroups/mg-corp/descendants")),
        "{read:?}"
    );
    assert!(
        read.iter()
            .any(|p| p.contains("Microsoft.ResourceGraph/resources")),
        "{read:?}"
    );
    // One page of the group's descendants, one query for the subscriptions and resource
    // groups, one counting the VMs and one for them; the plan's read asks nothing again: the
    // VMs, resource groups and vault lists the stamps read are handed to it.
    assert_eq!(read.len(), 4, "{read:?}");
    let vault_lists = after[before.len()..]
        .iter()
        .filter(|p| p.ends_with("/providers/Microsoft.RecoveryServices/vaults"))
        .count();
    assert_eq!(
        vault_lists, 3,
        "the three subscriptions' vault lists, once, by the discovery read"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn shards_deal_stamped_resources_by_their_subscription_and_merge_into_the_whole() {
    let estate = landing_zone().await;
    let f = file();
    let whole = estate.plan_json(&f, &[]).await.json();
    let mut shards = Vec::new();
    for (i, sub) in [(1, PROD), (2, DEV)] {
        let out = estate.path(&format!("shard-{i}.json"));
        let run = estate
            .plan_json(&f, &["--shard", &format!("{i}/2"), "--out", &out])
            .await;
        run.expect_code(0);
        let plan = run.json();
        let changes = plan["changes"].as_array().unwrap();
        assert!(!changes.is_empty(), "{plan}");
        assert!(
            changes
                .iter()
                .all(|c| c["arm_id"].as_str().unwrap().contains(sub)),
            "shard {i} holds only {sub}'s: {plan}"
        );
        shards.push(out);
    }
    let merged = estate
        .run(&[
            "show", "--merge", &shards[0], &shards[1], "--format", "json",
        ])
        .await;
    merged.expect_code(0);
    assert_eq!(addresses(&merged.json()), addresses(&whole));
    assert_eq!(merged.json()["summary"], whole["summary"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_subscription_under_the_group_the_identity_may_not_read_is_named_and_allow_partial_plans_the_rest(
) {
    let estate = landing_zone_without_sandbox().await;
    let f = file();

    let err = estate.refused(&["plan", "-f", &f]).await;
    assert!(err.contains("may not read 1 subscription(s)"), "{err}");
    assert!(err.contains(SANDBOX), "{err}");
    assert!(
        err.contains("Microsoft.RecoveryServices/vaults/read"),
        "the permission missing: {err}"
    );

    let partial = estate.plan_json(&f, &["--allow-partial"]).await;
    partial.expect_code(0);
    let plan = partial.json();
    assert_eq!(plan["left_out"][0]["subscription"], SANDBOX, "{plan}");
    assert!(
        addresses(&plan).contains("recovery_vault.rsv-corp-prod-westeurope"),
        "{plan}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stamp_target_plans_what_it_generates_shard_by_shard_even_a_vault_without_vms() {
    let estate = landing_zone().await;
    let f = file();
    // The stamp spans both shards' subscriptions: each shard plans its own part of it.
    let untargeted = estate.plan_json(&f, &["--shard", "1/2"]).await.json();
    let targeted = estate
        .plan_json(&f, &["--shard", "1/2", "--target", "stamp.landing-zone"])
        .await;
    targeted.expect_code(0);
    assert_eq!(addresses(&targeted.json()), addresses(&untargeted));
    // Nothing of the stamp in Dev is in shard 1: refused, never planned as the whole shard.
    let elsewhere = estate
        .run(&[
            "plan",
            "-f",
            &f,
            "--shard",
            "1/2",
            "--target",
            "stamp.landing-zone[Corp Dev]",
        ])
        .await;
    assert_ne!(elsewhere.code, 0, "{}", elsewhere.stdout);

    // A region asked for without VMs in scope gets a vault with no protections: the stamp's
    // target still plans it (its `protected_vm.…` part selects nothing, and is not an error).
    let text = std::fs::read_to_string(&f).unwrap().replace(
        "    # regions: [westeurope, northeurope]   # optional: only these regions\n    # create_empty_regions: true           # with regions: a vault even where no VM is in scope\n",
        "    regions: [westeurope, northeurope]\n    create_empty_regions: true\n",
    );
    let empty = estate.write("empty-regions.yaml", &text);
    let run = estate
        .plan_json(&empty, &["--target", "stamp.landing-zone[Sandbox]"])
        .await;
    run.expect_code(0);
    let plan = run.json();
    assert!(
        addresses(&plan).contains("recovery_vault.rsv-sandbox-northeurope"),
        "{plan}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_mistyped_subscription_in_a_stamp_is_pointed_at_in_the_file() {
    let estate = landing_zone().await;
    let typo = "00000000-0000-0000-0000-0000000000c9";
    let text = read_example("landing-zone.yaml").replace(
        "management_group: mg-corp ",
        &format!("subscriptions: [{PROD}, {typo}]"),
    );
    assert!(text.contains(typo));
    let listed = estate.write("listed.yaml", &text);
    let err = estate.refused(&["plan", "-f", &listed]).await;
    assert!(
        err.contains(&format!(
            "subscription `{typo}` is not one the identity can read"
        )),
        "the entry is the error, not Azure's 404: {err}"
    );
    assert!(err.contains("listed.yaml:10:"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn every_subscription_the_identity_may_not_read_is_named_at_once_stamped_or_hand_written() {
    let other = "00000000-0000-0000-0000-0000000000c4";
    let locked = inventory_without_sandbox().replacen(
        "subscriptions:\n",
        &format!("subscriptions:\n  {other}: {{name: Shared, readable: false}}\n"),
        1,
    );
    let estate = Estate::with_inventory(&locked, SandboxOptions::default()).await;
    // The stamp, and a vault written by hand in another subscription the identity may not read.
    let f = estate.write(
        "both.yaml",
        &(read_example("landing-zone.yaml")
            + &format!("recovery_vaults:\n  rsv-shared:\n    subscription: {other}\n    resource_group: rg-shared\n    location: westeurope\n")),
    );
    let err = estate.refused(&["plan", "-f", &f]).await;
    assert!(err.contains("may not read 2 subscription(s)"), "{err}");
    assert!(err.contains(SANDBOX) && err.contains(other), "{err}");
    let partial = estate.plan_json(&f, &["--allow-partial"]).await;
    partial.expect_code(0);
    let plan = partial.json();
    let left: Vec<&str> = (plan["left_out"].as_array().unwrap().iter())
        .map(|l| l["subscription"].as_str().unwrap())
        .collect();
    assert_eq!(left, [SANDBOX, other], "{plan}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_restore_drill_takes_a_stamp_target_as_plan_does() {
    let estate = landing_zone().await;
    let f = file();
    estate
        .run(&["apply", "-f", &f, "--auto-approve"])
        .await
        .expect_code(0);
    // One subscription's part of the stamp: only its vault's VMs are chosen, so the drill asks
    // where to restore those alone (the landing zone's vaults have no drill defaults).
    for (named, vault) in [
        ("Corp Dev", "rsv-corp-dev-westeurope"),
        ("corp-prod", "rsv-corp-prod-"),
    ] {
        let target = format!("stamp.landing-zone[{named}]");
        let err = estate
            .refused(&["restore-drill", "-f", &f, "--target", &target])
            .await;
        assert!(
            err.contains(&format!("the restore drill of {vault}")),
            "{target}: {err}"
        );
    }
    let err = estate
        .refused(&["restore-drill", "-f", &f, "--target", "stamp.landing-zon"])
        .await;
    assert!(
        err.contains("matches nothing") && err.contains("stamp.landing-zone"),
        "{err}"
    );
}
