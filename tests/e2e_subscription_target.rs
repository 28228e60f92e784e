//! `--target subscription.X`: a platform team rolls a landing zone's standard out one
//! subscription at a time — plan and apply everything the files change in that subscription
//! (stamped or written by hand), nothing elsewhere — through the real binary over HTTPS.

mod support;

use azprotect::sandbox::SandboxOptions;
use support::estate::{logged_paths, multi_vault, multi_vault_estate_with, read_example, Estate};
use support::landing_zone::{
    addresses, all_in, file, landing_zone, landing_zone_without_sandbox, set, tag, vm, DEV, PROD,
    SANDBOX,
};

#[tokio::test(flavor = "multi_thread")]
async fn a_subscription_target_plans_and_applies_that_subscription_alone() {
    let estate = landing_zone().await;
    // The stamp, and a resource group written by hand in Corp Dev.
    let f = estate.write(
        "lz.yaml",
        &(read_example("landing-zone.yaml")
            + &format!("resource_groups:\n  rg-dev-shared: {{location: westeurope, subscription: {DEV}}}\n")),
    );
    let dev_part = set(&[
        "resource_group.rg-dev-shared",
        "resource_group.rg-backup-corp-dev-westeurope",
        "recovery_vault.rsv-corp-dev-westeurope",
        "backup_policy.rsv-corp-dev-westeurope/gold",
        "protected_vm.rsv-corp-dev-westeurope/rg-dev/dev-01",
    ]);

    // By id (in any case) or, for a stamp's subscription, by display name or its slug.
    for named in [DEV.to_uppercase(), "Corp Dev".into(), "corp-dev".into()] {
        let run = estate
            .plan_json(&f, &["--target", &format!("subscription.{named}")])
            .await;
        run.expect_code(0);
        assert_eq!(addresses(&run.json()), dev_part, "{named}: {}", run.stdout);
        assert!(all_in(&run.json(), DEV), "{named}: {}", run.stdout);
    }

    // Applied from the saved plan: only Corp Dev changes; Corp Prod is still to do.
    let saved = estate.path("dev.json");
    estate
        .run(&[
            "plan",
            "-f",
            &f,
            "--target",
            &format!("subscription.{DEV}"),
            "--out",
            &saved,
        ])
        .await
        .expect_code(0);
    estate
        .run(&["apply", &saved, "--auto-approve"])
        .await
        .expect_code(0);
    let rest = estate.plan_json(&f, &[]).await.json();
    assert!(all_in(&rest, PROD), "{rest}");
    assert_eq!(addresses(&rest).len(), 9, "{rest}");

    // A VM leaves scope in Corp Dev: its removal is Corp Dev's, not Corp Prod's.
    tag(&estate, &vm(DEV, "rg-dev", "dev-01"), "none").await;
    let dev = estate
        .plan_json(&f, &["--target", "subscription.Corp Dev"])
        .await
        .json();
    assert_eq!(
        addresses(&dev),
        set(&["protected_vm.rsv-corp-dev-westeurope/rg-dev/dev-01"]),
        "{dev}"
    );
    assert_eq!(dev["changes"][0]["action"], "delete", "{dev}");
    let prod = estate
        .plan_json(&f, &["--target", "subscription.Corp Prod"])
        .await
        .json();
    assert!(
        !addresses(&prod).iter().any(|a| a.contains("corp-dev")),
        "{prod}"
    );

    // A mistyped name is refused with the nearest; a shard that does not own it names the one
    // that does.
    let err = estate
        .refused(&["plan", "-f", &f, "--target", "subscription.Corp Dve"])
        .await;
    assert!(
        err.contains("--target subscription.Corp Dve matches nothing"),
        "{err}"
    );
    assert!(err.contains("did you mean `Corp Dev`"), "{err}");
    let target = format!("subscription.{DEV}");
    let err = estate
        .refused(&["plan", "-f", &f, "--shard", "1/2", "--target", &target])
        .await;
    assert!(err.contains("which shard 2/2 owns, not 1/2"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_subscription_target_the_identity_may_not_read_is_refused_even_with_allow_partial() {
    let estate = landing_zone_without_sandbox().await;
    let f = file();

    let refused = |target: String| {
        let (estate, f) = (&estate, &f);
        async move {
            let args = ["plan", "-f", f, "--allow-partial", "--target", &target];
            estate.refused(&args).await
        }
    };

    // Planned as nothing, it would read as "No changes": refused, naming what is missing.
    let err = refused(format!("subscription.{SANDBOX}")).await;
    assert!(
        err.contains(&format!(
            "--target subscription.{SANDBOX}: the identity may not read it"
        )),
        "{err}"
    );
    assert!(err.contains("vaults/read"), "the permission missing: {err}");
    // The stamp's part there is refused too, saying it was left out.
    let err = refused("stamp.landing-zone[Sandbox]".into()).await;
    assert!(
        err.contains("left out, the identity may not read them"),
        "{err}"
    );
    assert!(err.contains(SANDBOX), "{err}");

    // Another subscription of the stamp is planned without --allow-partial: what cannot be read
    // is not what is targeted.
    let dev = estate
        .plan_json(&f, &["--target", "subscription.Corp Dev"])
        .await;
    dev.expect_code(0);
    assert!(all_in(&dev.json(), DEV), "{}", dev.stdout);
    assert_eq!(addresses(&dev.json()).len(), 4, "{}", dev.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn one_subscriptions_plan_reads_that_subscription_not_the_tenant() {
    const SUB1: &str = "00000000-0000-0000-0000-000000000001";
    const SUB2: &str = "00000000-0000-0000-0000-000000000002";
    let log = tempfile::NamedTempFile::new().unwrap();
    let estate = multi_vault_estate_with(SandboxOptions {
        access_log: Some(log.path().to_path_buf()),
        ..SandboxOptions::default()
    })
    .await;
    let f = multi_vault();
    let whole = estate.plan_json(&f, &[]).await.json();
    let in_sub2: std::collections::BTreeSet<String> = (whole["changes"].as_array().unwrap())
        .iter()
        .filter(|c| c["arm_id"].as_str().unwrap().contains(SUB2))
        .map(|c| c["address"].as_str().unwrap().to_string())
        .collect();
    assert!(!in_sub2.is_empty(), "{whole}");

    let before = logged_paths(log.path()).len();
    let part = estate
        .plan_json(&f, &["--target", &format!("subscription.{SUB2}")])
        .await;
    part.expect_code(0);
    assert_eq!(addresses(&part.json()), in_sub2, "{}", part.stdout);
    let read = logged_paths(log.path());
    let read = &read[before..];
    assert!(read.iter().any(|p| p.contains(SUB2)), "{read:?}");
    assert!(
        !read.iter().any(|p| p.contains(SUB1)),
        "nothing of the other subscription is read: {read:?}"
    );

    // Named as Azure names it (the file has no stamp to name it): one look at the tenant's
    // subscription list.
    let before = logged_paths(log.path()).len();
    let named = estate
        .plan_json(&f, &["--target", "subscription.azprotect sandbox 0002"])
        .await;
    named.expect_code(0);
    assert_eq!(addresses(&named.json()), in_sub2, "{}", named.stdout);
    let read = logged_paths(log.path());
    let listed = (read[before..].iter())
        .filter(|p| p.trim_end_matches('/') == "/subscriptions")
        .count();
    assert_eq!(listed, 1, "{:?}", &read[before..]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_backup_vaults_role_assignment_on_another_subscriptions_disk_is_that_subscriptions_change(
) {
    const VAULTS: &str = "00000000-0000-0000-0000-0000000000d1";
    const DISKS: &str = "00000000-0000-0000-0000-0000000000d2";
    let inventory = format!("subscriptions:\n  {VAULTS}:\n    resource_groups:\n      rg-bv: {{location: westeurope}}\n  {DISKS}:\n    resource_groups:\n      rg-app:\n        location: westeurope\n        disks: {{d1: {{size_gb: 64}}}}\n");
    let estate = Estate::with_inventory(&inventory, SandboxOptions::default()).await;
    // A Backup vault of one subscription snapshots a disk of the other, into a group there.
    let f = estate.write(
        "disks.yaml",
        &format!("version: 1\nsubscription: {VAULTS}\nresource_groups:\n  rg-snap: {{location: westeurope, subscription: {DISKS}}}\ndisk_backup:\n  bv-a:\n    resource_group: rg-bv\n    location: westeurope\n    policies:\n      every-4h: {{every: 4h, retention: 7d}}\n    protect:\n      - policy: every-4h\n        snapshot_resource_group: /subscriptions/{DISKS}/resourceGroups/rg-snap\n        disks: [/subscriptions/{DISKS}/resourceGroups/rg-app/providers/Microsoft.Compute/disks/d1]\n"),
    );
    let first = estate.plan_json(&f, &[]).await.json();
    let assignment = (first["changes"].as_array().unwrap().iter())
        .find(|c| {
            let id = c["arm_id"].as_str().unwrap();
            c["address"]
                .as_str()
                .unwrap()
                .starts_with("role_assignment.")
                && id.contains(&format!("/subscriptions/{DISKS}/resourceGroups/rg-app/"))
        })
        .unwrap_or_else(|| panic!("a role assignment on the disk: {first}"))
        .clone();
    estate
        .run(&["apply", "-f", &f, "--auto-approve"])
        .await
        .expect_code(0);
    estate.expect_no_changes(&f).await;

    // Someone removes the vault identity's role on the disk.
    let id = assignment["arm_id"].as_str().unwrap();
    let path = format!("{id}?api-version=2022-04-01");
    let status = support::raw::delete(&estate.sandbox, &path).await;
    assert!((200..300).contains(&status), "{status}");
    let address = assignment["address"].as_str().unwrap().to_string();
    let whole = estate.plan_json(&f, &[]).await.json();
    assert_eq!(addresses(&whole), set(&[&address]), "{whole}");
    // It is the disks' subscription's change: planned there, though the vault is elsewhere.
    let there = estate
        .plan_json(&f, &["--target", &format!("subscription.{DISKS}")])
        .await
        .json();
    assert_eq!(addresses(&there), set(&[&address]), "{there}");
    let vaults = estate
        .plan_json(&f, &["--target", &format!("subscription.{VAULTS}")])
        .await
        .json();
    assert_eq!(addresses(&vaults), set(&[]), "{vaults}");
}
