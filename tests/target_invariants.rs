//! `--target subscription.X` over random landing-zone files, against the sandbox (the landing
//! zone's three subscriptions under `mg-corp`): the landing-zone stamp or not, vaults written by
//! hand in any of the subscriptions, a Backup vault in one subscription snapshotting a disk of
//! another into a group declared there, a resource group of its own — one file, then another.
//!
//! For every file, the plans of two shards (`--shard 1/2`, `2/2`) are the whole plan, each
//! change in one of them, as the whole plan has it; and each subscription's targeted plan — made as `plan --target subscription.X`
//! makes it, reading only what that subscription needs (`ops::targets::narrowed`):
//! 1. has every change of the whole plan whose ARM id is in that subscription, each exactly as
//!    the whole plan has it, and nothing else but what those changes depend on;
//! 2. together with the others', is the whole plan;
//! 3. applied one subscription after another, in any order, leaves nothing to plan,
//! 4. nor any role of the Backup vault's identity in Azure but those its instances need (a
//!    disk it stopped protecting and deleted the data of keeps none, wherever it was).

mod support;

use azprotect::azure::ArmClient;
use azprotect::model::Address;
use azprotect::ops;
use azprotect::ops::plan::{Made, Phases, PlanError, Scope};
use azprotect::ops::saved_plan::Reviewed;
use azprotect::plan::Plan;
use azprotect::progress::Silent;
use azprotect::sandbox::SandboxOptions;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;
use support::applying::apply_options;
use support::estate::Estate;
use support::landing_zone::{landing_zone_with, DEV, PROD, SANDBOX};
use support::stories::fail;

const SUBSCRIPTIONS: [&str; 3] = [PROD, DEV, SANDBOX];

/// Where a vault may be written by hand: its subscription, region and the VMs it may protect
/// (`group/name`; never one the stamp protects, tagged `backup: gold`, so that no VM is ever
/// claimed by two vaults).
const HAND: [(&str, &str, &[&str]); 3] = [
    (PROD, "westeurope", &[]),
    (DEV, "westeurope", &["rg-dev/dev-02"]),
    (SANDBOX, "swedencentral", &["rg-play/play-01"]),
];

/// The westeurope OS disks a Backup vault may snapshot: subscription, group, name.
const DISKS: [(&str, &str, &str); 4] = [
    (PROD, "rg-app-weu", "app-01-osdisk"),
    (PROD, "rg-app-weu", "app-02-osdisk"),
    (DEV, "rg-dev", "dev-01-osdisk"),
    (DEV, "rg-dev", "dev-02-osdisk"),
];

/// One random, valid file.
#[derive(Debug, Clone)]
struct Shape {
    /// examples/landing-zone.yaml's stamp, its daily retention in days.
    stamp: Option<u32>,
    /// A vault by hand at each of `HAND`: whether it protects its VMs, its daily retention.
    hand: Vec<Option<(bool, u32)>>,
    /// The disk (into `DISKS`) the Backup vault snapshots, and how often.
    disk: Option<(usize, &'static str)>,
    /// A resource group of its own in this subscription (into `SUBSCRIPTIONS`).
    group: Option<usize>,
}

fn shape() -> impl Strategy<Value = Shape> {
    (
        prop::option::of(7u32..40),
        prop::collection::vec(prop::option::of((any::<bool>(), 7u32..40)), 3),
        prop::option::weighted(0.8, (0..DISKS.len(), prop_oneof![Just("4h"), Just("1d")])),
        prop::option::of(0..SUBSCRIPTIONS.len()),
    )
        .prop_map(|(stamp, hand, disk, group)| Shape {
            stamp,
            hand,
            disk,
            group,
        })
}

impl Shape {
    /// The file; the Backup vault (in `SUBSCRIPTIONS[disk_vault]`) is declared in every file of
    /// a case, so that a disk it protected is never claimed by another vault.
    fn yaml(&self, disk_vault: usize, delete_data: bool) -> String {
        let mut y = String::from("version: 1\ntags: {managed-by: azprotect}\n");
        if let Some(days) = self.stamp {
            let stamp = support::estate::read_example("landing-zone.yaml");
            let at = stamp.find("stamps:").expect("a stamp");
            y += &stamp[at..].replace("daily: 30d", &format!("daily: {days}d"));
        }
        let bv_sub = SUBSCRIPTIONS[disk_vault];
        y += "resource_groups:\n";
        y += &format!("  rg-bv: {{location: westeurope, subscription: {bv_sub}}}\n");
        for (i, (sub, region, _)) in HAND.iter().enumerate() {
            if self.hand[i].is_some() {
                y += &format!("  rg-hand-{i}: {{location: {region}, subscription: {sub}}}\n");
            }
        }
        if let Some((d, _)) = self.disk {
            let sub = DISKS[d].0;
            y += &format!(
                "  rg-snap-{}: {{location: westeurope, subscription: {sub}}}\n",
                &sub[sub.len() - 2..]
            );
        }
        if let Some(g) = self.group {
            y += &format!(
                "  rg-own: {{location: westeurope, subscription: {}}}\n",
                SUBSCRIPTIONS[g]
            );
        }
        if self.hand.iter().any(Option::is_some) {
            y += "recovery_vaults:\n";
        }
        for (i, (sub, region, vms)) in HAND.iter().enumerate() {
            let Some((protect, days)) = self.hand[i] else {
                continue;
            };
            y += &format!(
                "  rsv-hand-{i}:\n    subscription: {sub}\n    resource_group: rg-hand-{i}\n    location: {region}\n    backup_policies:\n      daily: {{schedule: {{daily: {{at: '02:00'}}}}, retention: {{daily: {days}d}}}}\n"
            );
            if protect && !vms.is_empty() {
                y += &format!(
                    "    protect:\n      - policy: daily\n        vms: [{}]\n",
                    vms.join(", ")
                );
            }
        }
        y += &format!(
            "disk_backup:\n  bv-x:\n    subscription: {bv_sub}\n    resource_group: rg-bv\n    location: westeurope\n    on_remove: {}\n    policies:\n      snap-4h: {{every: 4h, retention: 7d}}\n      snap-1d: {{every: 1d, retention: 7d}}\n",
            if delete_data { "delete_data" } else { "retain_data" }
        );
        if let Some((d, every)) = self.disk {
            let (sub, rg, name) = DISKS[d];
            y += &format!(
                "    protect:\n      - policy: snap-{every}\n        snapshot_resource_group: /subscriptions/{sub}/resourceGroups/rg-snap-{}\n        disks: [/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Compute/disks/{name}]\n",
                &sub[sub.len() - 2..]
            );
        }
        y
    }
}

fn show(p: &Plan) -> String {
    (p.changes.iter())
        .map(|c| format!("{} {:?} {}", c.address, c.action, c.arm_id))
        .collect::<Vec<_>>()
        .join("\n")
}

struct World {
    estate: Estate,
    client: ArmClient,
    file: std::path::PathBuf,
}

impl World {
    /// `plan` as the command line makes it, targeted at `subscription` or whole.
    async fn make(&self, subscription: Option<&str>) -> Result<Made, PlanError> {
        self.make_in(Scope {
            subscription_targets: subscription
                .map(|s| vec![s.to_string()])
                .unwrap_or_default(),
            ..Scope::default()
        })
        .await
    }

    async fn make_in(&self, scope: Scope) -> Result<Made, PlanError> {
        ops::plan::make(
            &self.client,
            None,
            std::slice::from_ref(&self.file),
            &scope,
            &mut Phases::default(),
        )
        .await
    }

    async fn apply(&self, made: &Made) -> Result<(), TestCaseError> {
        // No leases: one apply at a time here, and their settle second would cost each case
        // seconds (apply_locking.rs tests them).
        let opts = ops::apply::Options {
            lock: None,
            ..apply_options(Duration::from_secs(1))
        };
        let applied = ops::apply::run(&self.client, &Reviewed::made(made), &opts, Arc::new(Silent))
            .await
            .map_err(fail)?;
        prop_assert_eq!(
            applied.report.failed(),
            0,
            "{:?}\n{}",
            applied.report,
            show(&made.plan)
        );
        Ok(())
    }
}

/// The shards' plans of two: together the whole plan, no change in both, each as the whole
/// plan has it — but for what it depends on in the other shard (an order between their applies,
/// which `plan` warns of: `NeedsAnotherShard`).
async fn check_shards(w: &World, whole: &Plan, yaml: &str) -> Result<(), TestCaseError> {
    let full: BTreeMap<&Address, &azprotect::plan::Change> =
        (whole.changes.iter()).map(|c| (&c.address, c)).collect();
    let without_needs = |c: &azprotect::plan::Change| {
        let mut v = serde_json::to_value(c).unwrap_or_default();
        v.as_object_mut().map(|o| o.remove("depends_on"));
        v
    };
    let mut union: BTreeSet<Address> = BTreeSet::new();
    for index in 1..=2 {
        let shard = azprotect::model::shard::Shard { index, count: 2 };
        let plan = (w.make_in(Scope {
            shard: Some(shard),
            ..Scope::default()
        }))
        .await
        .map_err(|e| fail(format!("{shard}: {e:?}\n{yaml}")))?
        .plan;
        let here: BTreeSet<&Address> = plan.changes.iter().map(|c| &c.address).collect();
        for c in &plan.changes {
            prop_assert!(
                union.insert(c.address.clone()),
                "{} is in both shards\n{}",
                &c.address,
                yaml
            );
            let Some(was) = full.get(&c.address) else {
                return Err(fail(format!(
                    "{shard}: {} is not in the whole plan\n{yaml}",
                    c.address
                )));
            };
            prop_assert_eq!(
                without_needs(c),
                without_needs(was),
                "{}: {} differs\n{}",
                shard,
                &c.address,
                yaml
            );
            for d in &was.depends_on {
                prop_assert!(
                    c.depends_on.contains(d) || !here.contains(d),
                    "{shard}: {} lost its need of {d}\n{yaml}",
                    c.address
                );
            }
            prop_assert!(
                c.depends_on.iter().all(|d| was.depends_on.contains(d)),
                "{}: {} needs more\n{}",
                shard,
                &c.address,
                yaml
            );
        }
    }
    let all: BTreeSet<Address> = full.keys().map(|a| (*a).clone()).collect();
    prop_assert_eq!(
        union,
        all,
        "the shards' plans together are not the whole plan\n{}",
        yaml
    );
    Ok(())
}

/// 1 and 2 for the whole plan `whole`.
async fn check_targets(w: &World, whole: &Plan, yaml: &str) -> Result<(), TestCaseError> {
    let full: BTreeMap<&Address, serde_json::Value> = (whole.changes.iter())
        .map(|c| (&c.address, serde_json::to_value(c).unwrap_or_default()))
        .collect();
    let needs: BTreeMap<&Address, &Vec<Address>> = whole
        .changes
        .iter()
        .map(|c| (&c.address, &c.depends_on))
        .collect();
    let mut union: BTreeSet<Address> = BTreeSet::new();
    for sub in SUBSCRIPTIONS {
        let in_sub = |c: &azprotect::plan::Change| {
            c.arm_id
                .subscription()
                .is_some_and(|s| s.eq_ignore_ascii_case(sub))
        };
        let mine: BTreeSet<&Address> = whole
            .changes
            .iter()
            .filter(|c| in_sub(c))
            .map(|c| &c.address)
            .collect();
        let targeted = match w.make(Some(sub)).await {
            Ok(made) => made.plan,
            // A subscription the file declares nothing in and Azure holds nothing of its in.
            Err(PlanError::UnknownTarget(u)) => {
                prop_assert!(
                    mine.is_empty(),
                    "{}: {u}\nwhole plan:\n{}\n{yaml}",
                    sub,
                    show(whole)
                );
                continue;
            }
            Err(e) => return Err(fail(format!("{sub}: {e:?}\n{yaml}"))),
        };
        let here: BTreeSet<&Address> = targeted.changes.iter().map(|c| &c.address).collect();
        for a in &mine {
            prop_assert!(
                here.contains(a),
                "{sub}: lost {a}\ntargeted:\n{}\nwhole:\n{}\n{yaml}",
                show(&targeted),
                show(whole)
            );
        }
        // What the subscription's changes depend on, through the whole plan.
        let mut closure: BTreeSet<&Address> = BTreeSet::new();
        let mut stack: Vec<&Address> = mine.iter().copied().collect();
        while let Some(a) = stack.pop() {
            if closure.insert(a) {
                stack.extend(needs.get(a).into_iter().flat_map(|d| d.iter()));
            }
        }
        for c in &targeted.changes {
            prop_assert_eq!(
                full.get(&c.address),
                Some(&serde_json::to_value(c).map_err(fail)?),
                "{}: {} differs from the whole plan\n{}",
                sub,
                &c.address,
                yaml
            );
            prop_assert!(
                closure.contains(&c.address),
                "{sub}: {} is neither its change nor needed by one\n{yaml}",
                c.address
            );
            for dep in &c.depends_on {
                prop_assert!(
                    here.contains(dep),
                    "{sub}: {} needs {dep}, left out\n{yaml}",
                    c.address
                );
            }
        }
        union.extend(here.into_iter().cloned());
    }
    let all: BTreeSet<Address> = full.keys().map(|a| (*a).clone()).collect();
    prop_assert_eq!(
        union,
        all,
        "the subscriptions' plans together are not the whole plan\n{}",
        yaml
    );
    Ok(())
}

/// One case: where the Backup vault is (into `SUBSCRIPTIONS`), whether it deletes the data of
/// a disk it stops protecting, the two files, the order the subscriptions are rolled out in.
#[derive(Debug, Clone)]
struct Case {
    disk_vault: usize,
    delete_data: bool,
    a: Shape,
    b: Shape,
    order: Vec<usize>,
}

/// File `a`, then file `b`: each checked, then rolled out one subscription at a time in `order`.
async fn story(case: Case) -> Result<(), TestCaseError> {
    let estate = landing_zone_with(SandboxOptions {
        time_scale: 0.001,
        ..SandboxOptions::default()
    })
    .await;
    let client = estate.client().await;
    let file = estate.write("azprotect.yaml", "version: 1\n").into();
    let w = World {
        estate,
        client,
        file,
    };
    for s in [&case.a, &case.b] {
        let yaml = s.yaml(case.disk_vault, case.delete_data);
        w.estate.write("azprotect.yaml", &yaml);
        let whole = w
            .make(None)
            .await
            .map_err(|e| fail(format!("{e:?}\n{yaml}")))?;
        prop_assert_eq!(
            whole.plan.summary.blocked,
            0,
            "a valid file is blocked:\n{}\n{}",
            show(&whole.plan),
            yaml
        );
        check_shards(&w, &whole.plan, &yaml).await?;
        check_targets(&w, &whole.plan, &yaml).await?;
        for &i in &case.order {
            match w.make(Some(SUBSCRIPTIONS[i])).await {
                Ok(made) if !made.plan.is_empty() => w.apply(&made).await?,
                Ok(_) | Err(PlanError::UnknownTarget(_)) => {}
                Err(e) => return Err(fail(format!("{e:?}\n{yaml}"))),
            }
        }
        let after = w.make(None).await.map_err(fail)?;
        prop_assert!(
            after.plan.is_empty(),
            "rolled out by subscription, yet:\n{}\n{}",
            show(&after.plan),
            yaml
        );
        check_roles(&w, case.disk_vault, &yaml).await?;
    }
    Ok(())
}

/// 4: the scopes (lower case) bv-x's identity holds a role at, in Azure, are exactly those of
/// its instances that are not deleted: their disks and snapshot groups.
async fn check_roles(w: &World, disk_vault: usize, yaml: &str) -> Result<(), TestCaseError> {
    use azprotect::model::disk_backup::{instance, role, vault};
    let sub = SUBSCRIPTIONS[disk_vault];
    let id = vault::arm_id(sub, "rg-bv", "bv-x");
    let vaults = w.client.list(&vault::list_path(sub)).await.map_err(fail)?;
    let body = (vaults.iter())
        .find(|v| {
            v["id"]
                .as_str()
                .is_some_and(|v| v.eq_ignore_ascii_case(id.as_str()))
        })
        .ok_or_else(|| fail(format!("bv-x is not in Azure\n{yaml}")))?;
    let principal = vault::principal_id(body).ok_or_else(|| fail("bv-x has no identity"))?;
    let instances = (w
        .client
        .list(&vault::collection_path(&id, "backupInstances"))
        .await)
        .map_err(fail)?;
    // Soft-deleted instances are not listed here (Azure keeps them in deletedBackupInstances).
    let mut needed: BTreeSet<String> = BTreeSet::new();
    for (_, attrs) in instances.iter().filter_map(instance::normalize) {
        let a = instance::Attrs(&attrs);
        needed.extend(
            [a.disk_id(), a.snapshot_resource_group_id()]
                .into_iter()
                .flatten()
                .map(str::to_ascii_lowercase),
        );
    }
    let mut held: BTreeSet<String> = BTreeSet::new();
    for s in SUBSCRIPTIONS {
        for r in w
            .client
            .list(&role::list_path(s, principal))
            .await
            .map_err(fail)?
        {
            held.extend(
                r["properties"]["scope"]
                    .as_str()
                    .map(str::to_ascii_lowercase),
            );
        }
    }
    prop_assert_eq!(held, needed, "bv-x's identity's roles in Azure\n{}", yaml);
    Ok(())
}

fn run(case: Case) -> Result<(), TestCaseError> {
    support::stories::run(story(case))
}

/// A Backup vault of Corp Prod deleting the data of the Corp Dev disk it stops protecting (in the
/// first file, then none), Corp Dev declaring a group of its own (`dev_group`) or not.
fn deleting_a_dev_disk(dev_group: bool) {
    let shape = |disk| Shape {
        stamp: None,
        hand: vec![None, None, None],
        disk,
        group: dev_group.then_some(1),
    };
    run(Case {
        disk_vault: 0,
        delete_data: true,
        a: shape(Some((2, "1d"))),
        b: shape(None),
        order: vec![0, 1, 2],
    })
    .unwrap();
}

/// Its identity's roles on that disk are Corp Dev's to remove, though the file no longer says
/// the vault reaches there.
#[test]
fn a_vault_that_deletes_a_disks_data_leaves_its_roles_there_to_that_subscriptions_plan() {
    deleting_a_dev_disk(true);
}

/// With nothing of the file but that disk in Corp Dev, only the vault's instance of it leads to
/// the roles there once the disk leaves the file.
#[test]
fn a_vault_that_deletes_a_disks_data_leaves_no_role_where_the_file_no_longer_reaches() {
    deleting_a_dev_disk(false);
}

proptest! {
    #![proptest_config(support::stories::config())]

    #[test]
    fn subscription_targets_split_the_plan_and_roll_it_out_in_any_order(
        disk_vault in 0..SUBSCRIPTIONS.len(),
        delete_data in any::<bool>(),
        a in shape(),
        b in shape(),
        order in Just(vec![0usize, 1, 2]).prop_shuffle(),
    ) {
        run(Case { disk_vault, delete_data, a, b, order })?;
    }
}
