//! The plan's invariants for Site Recovery and Disk Backup, against the sandbox itself (no
//! in-test simulator that could drift from it): random valid files over the demo inventory —
//! which VMs replicate (with or without a target size), the replication policy, a recovery plan
//! in one or two boot groups, which disks get scheduled snapshots, how often, how long, and
//! what happens on removal — planned, applied (cut off part-way, then run again), and changed
//! into another random file.
//!
//! For every plan:
//! 1. Safe: no vault or resource group deleted or replaced; nothing that loses backup data
//!    unless the file says `on_remove: delete_data`; nothing blocked for a valid file.
//! 2. Ordered: every change comes after the changes it depends on.
//! 3. Order-independent: the same plan whatever order Azure lists things in.
//! 4. Targetable: a plan targeted at any of its addresses is a subset of it (the same changes),
//!    closed over dependencies.
//! 5. Convergent: applied — also after an apply cut off part-way and run again, and under
//!    seeded faults (throttling, server errors, failed operations) by re-running apply — the
//!    next plan is empty, and no plan on the way deletes what the file declares.

mod support;

use azprotect::azure::ArmClient;
use azprotect::model::{Address, Desired, LiveState, ResourceKind};
use azprotect::ops;
use azprotect::ops::saved_plan::Reviewed;
use azprotect::plan::{plan, Action, Plan, PlanOptions};
use azprotect::progress::Silent;
use azprotect::sandbox::SandboxOptions;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use support::applying::{apply_options, reviewed};
use support::estate::Estate;
use support::plan_checks::listed_in_order;
use support::stories::fail;

const SUB: &str = "00000000-0000-0000-0000-000000000001";
/// The demo inventory's VMs in westeurope that share `vnet-app`.
const VMS: [&str; 3] = ["db-01", "app-01", "app-02"];
/// Its standalone disks; ledger-v2 (Premium SSD v2) takes only 12-hourly or daily snapshots.
const DISKS: [&str; 2] = ["shared-data", "ledger-v2"];

/// One random, valid file.
#[derive(Debug, Clone)]
struct Shape {
    /// Replicated VMs (index into `VMS`) and their target size.
    replicated: Vec<(usize, Option<&'static str>)>,
    recovery_points: &'static str,
    app_consistent: bool,
    /// Boot groups of the recovery plan (`None`: no plan).
    plan_groups: Option<usize>,
    /// Disks with scheduled snapshots (index into `DISKS`).
    disks: Vec<usize>,
    every: &'static str,
    retention: &'static str,
    delete_data: bool,
}

fn shape() -> impl Strategy<Value = Shape> {
    let size = prop_oneof![
        Just(None),
        Just(Some("Standard_E4s_v5")),
        Just(Some("Standard_D4s_v5"))
    ];
    (
        proptest::sample::subsequence(vec![0usize, 1, 2], 0..=3),
        proptest::collection::vec(size, 3),
        prop_oneof![Just("24h"), Just("12h"), Just("4h")],
        any::<bool>(),
        prop_oneof![Just(None), Just(Some(1usize)), Just(Some(2usize))],
        proptest::sample::subsequence(vec![0usize, 1], 0..=2),
        prop_oneof![Just("12h"), Just("1d")],
        prop_oneof![Just("7d"), Just("30d")],
        any::<bool>(),
    )
        .prop_map(
            |(
                vms,
                sizes,
                recovery_points,
                app_consistent,
                groups,
                disks,
                every,
                retention,
                delete_data,
            )| Shape {
                replicated: vms.iter().map(|&v| (v, sizes[v])).collect(),
                recovery_points,
                app_consistent,
                plan_groups: groups.filter(|_| !vms.is_empty()),
                disks,
                every,
                retention,
                delete_data,
            },
        )
}

impl Shape {
    fn yaml(&self) -> String {
        let rg = |name: &str, kind: &str, res: &str| {
            format!("/subscriptions/{SUB}/resourceGroups/{name}/providers/{kind}/{res}")
        };
        let mut y = format!(
            "version: 1\nsubscription: {SUB}\nresource_groups:\n  rg-protect-neu: {{location: northeurope}}\n  rg-app-dr: {{location: northeurope}}\n  rg-protect-weu: {{location: westeurope}}\n  rg-snapshots-weu: {{location: westeurope}}\n"
        );
        y += "recovery_vaults:\n  rsv-dr-neu: {resource_group: rg-protect-neu, location: northeurope, storage_redundancy: LocallyRedundant}\n";
        if !self.replicated.is_empty() {
            y += &format!(
                "site_recovery:\n  app-dr:\n    vault: rsv-dr-neu\n    source_region: westeurope\n    target_region: northeurope\n    policy: {{recovery_points: {}{}}}\n    target_resource_group: rg-app-dr\n    cache_storage_account: {}\n    network_mappings:\n      - source: {}\n        target: {}\n    vms:\n",
                self.recovery_points,
                if self.app_consistent { ", app_consistent_every: 4h" } else { "" },
                rg("rg-app", "Microsoft.Storage/storageAccounts", "asrcacheweu"),
                rg("rg-app", "Microsoft.Network/virtualNetworks", "vnet-app"),
                rg("rg-app-dr", "Microsoft.Network/virtualNetworks", "vnet-app-dr"),
            );
            for (vm, size) in &self.replicated {
                y += &format!("      - vm: rg-app/{}\n", VMS[*vm]);
                if let Some(size) = size {
                    y += &format!("        target_vm_size: {size}\n");
                }
            }
            if let Some(groups) = self.plan_groups {
                y += "    recovery_plans:\n      app-failover:\n        groups:\n";
                let mut by_group: BTreeMap<usize, Vec<String>> = BTreeMap::new();
                for (i, (vm, _)) in self.replicated.iter().enumerate() {
                    by_group
                        .entry(i % groups)
                        .or_default()
                        .push(format!("rg-app/{}", VMS[*vm]));
                }
                for vms in by_group.values() {
                    y += &format!("          - vms: [{}]\n", vms.join(", "));
                }
            }
        }
        y += &format!(
            "disk_backup:\n  bv-inv:\n    resource_group: rg-protect-weu\n    location: westeurope\n    redundancy: LocallyRedundant\n    policies:\n      snaps: {{every: {}, retention: {}}}\n    grant_permissions: true\n    on_remove: {}\n",
            self.every,
            self.retention,
            if self.delete_data { "delete_data" } else { "retain_data" }
        );
        if !self.disks.is_empty() {
            let disks: Vec<String> = self
                .disks
                .iter()
                .map(|d| format!("rg-app/{}", DISKS[*d]))
                .collect();
            y += &format!(
                "    protect:\n      - policy: snaps\n        snapshot_resource_group: rg-snapshots-weu\n        disks: [{}]\n",
                disks.join(", ")
            );
        }
        y
    }
}

fn show(p: &Plan) -> String {
    p.changes
        .iter()
        .map(|c| {
            let deps: Vec<String> = c.depends_on.iter().map(|d| d.to_string()).collect();
            format!(
                "{} {:?}{} after [{}]",
                c.address,
                c.action,
                c.blocked
                    .as_deref()
                    .map(|b| format!(" BLOCKED({b})"))
                    .unwrap_or_default(),
                deps.join(", ")
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Apply as the command line does: leasing the vaults it writes. An apply cut off part-way
/// releases its leases in the background; the next one waits for that.
fn leased() -> ops::apply::Options {
    apply_options(Duration::from_secs(10))
}

struct World {
    estate: Estate,
    client: ArmClient,
}

impl World {
    fn desired(&self, s: &Shape) -> Result<Desired, TestCaseError> {
        let file = self.estate.write("azprotect.yaml", &s.yaml());
        ops::plan::load(&[file.into()], Some(SUB))
            .map(|l| l.desired)
            .map_err(|e| fail(format!("{e:?}\n{}", s.yaml())))
    }

    async fn live(&self, d: &Desired) -> Result<LiveState, TestCaseError> {
        azprotect::live::read(&self.client, d).await.map_err(fail)
    }

    async fn apply(
        &self,
        reviewed: &Reviewed<'_>,
        cut_after: Option<Duration>,
    ) -> Result<(), TestCaseError> {
        let opts = leased();
        let run = ops::apply::run(&self.client, reviewed, &opts, Arc::new(Silent));
        let applied = match cut_after {
            // Cut off part-way, as a killed CI job would be.
            Some(t) => match tokio::time::timeout(t, run).await {
                Ok(done) => done,
                Err(_) => return Ok(()),
            },
            None => run.await,
        };
        let applied = applied.map_err(fail)?;
        prop_assert_eq!(
            applied.report.failed(),
            0,
            "{:?}\n{}",
            applied.report,
            show(reviewed.plan)
        );
        Ok(())
    }
}

/// Invariants 1–4 of one plan of `d` against `live`.
fn check_plan(d: &Desired, live: &LiveState, s: &Shape) -> Result<Plan, TestCaseError> {
    let p = plan(d, live, &PlanOptions::default());
    for c in &p.changes {
        let kind = c.address.kind;
        let keeps = matches!(
            kind,
            ResourceKind::ResourceGroup | ResourceKind::RecoveryVault | ResourceKind::BackupVault
        );
        prop_assert!(
            !(keeps && matches!(c.action, Action::Delete | Action::Replace)),
            "{} must never be deleted or replaced:\n{}",
            c.address,
            show(&p)
        );
        prop_assert!(
            !c.loses_data() || (kind == ResourceKind::DiskBackup && s.delete_data),
            "{} loses data though the file keeps it:\n{}",
            c.address,
            show(&p)
        );
        prop_assert!(
            c.blocked.is_none(),
            "a valid file is blocked:\n{}",
            show(&p)
        );
    }
    // Ordered.
    listed_in_order(&p).map_err(|e| fail(format!("{e}\n{}", show(&p))))?;
    // Order-independent.
    let mut shuffled = live.clone();
    shuffled.resources.reverse();
    shuffled.vms.reverse();
    shuffled.disks.reverse();
    let again = plan(d, &shuffled, &PlanOptions::default());
    prop_assert_eq!(
        serde_json::to_value(&again.changes).map_err(fail)?,
        serde_json::to_value(&p.changes).map_err(fail)?,
        "the plan depends on listing order"
    );
    // Targetable, at every address.
    let full: BTreeMap<&Address, serde_json::Value> = p
        .changes
        .iter()
        .map(|c| (&c.address, serde_json::to_value(c).unwrap_or_default()))
        .collect();
    for c in &p.changes {
        let targeted = plan(
            d,
            live,
            &PlanOptions {
                targets: vec![c.address.clone()],
            },
        );
        let here: Vec<&Address> = targeted.changes.iter().map(|t| &t.address).collect();
        prop_assert!(here.contains(&&c.address), "--target {} lost it", c.address);
        for t in &targeted.changes {
            prop_assert_eq!(
                full.get(&t.address),
                Some(&serde_json::to_value(t).map_err(fail)?),
                "--target {}: {} differs from the full plan",
                &c.address,
                &t.address
            );
            for dep in &t.depends_on {
                prop_assert!(
                    here.contains(&dep),
                    "--target {}: {} needs {dep}, left out",
                    &c.address,
                    &t.address
                );
            }
        }
    }
    Ok(p)
}

/// File `a`, then file `b`, each planned (checked), applied and planned again.
async fn story(a: Shape, b: Shape, cut_ms: u64) -> Result<(), TestCaseError> {
    // Initial replication takes 22 simulated minutes: 1.3 s at this scale.
    let estate = Estate::start_with(SandboxOptions {
        time_scale: 0.001,
        ..SandboxOptions::default()
    })
    .await;
    let client = estate.client().await;
    let w = World { estate, client };
    for (i, s) in [a, b].iter().enumerate() {
        let d = w.desired(s)?;
        let live = w.live(&d).await?;
        let p = check_plan(&d, &live, s)?;
        if i == 0 {
            let cut = Some(Duration::from_millis(cut_ms));
            w.apply(&reviewed(&p, &d, &live), cut).await?;
            let live = w.live(&d).await?;
            let p = check_plan(&d, &live, s)?;
            w.apply(&reviewed(&p, &d, &live), None).await?;
        } else {
            w.apply(&reviewed(&p, &d, &live), None).await?;
        }
        let after = plan(&d, &w.live(&d).await?, &PlanOptions::default());
        prop_assert!(
            after.is_empty(),
            "not converged after file {i}:\n{}\n{}",
            show(&after),
            s.yaml()
        );
    }
    Ok(())
}

/// File `s` applied under seeded faults (throttling, server errors, failed long-running
/// operations): every plan on the way is safe and ordered, and re-running apply converges.
async fn under_faults(s: Shape, seed: u64) -> Result<(), TestCaseError> {
    let estate = Estate::start_with(SandboxOptions {
        time_scale: 0.001,
        faults: Some(format!(
            "seed={seed},429=0.03,500=0.03,503=0.03,lro_fail=0.05"
        )),
        ..SandboxOptions::default()
    })
    .await;
    let client = estate.client().await;
    let w = World { estate, client };
    let d = w.desired(&s)?;
    for _ in 0..8 {
        let live = w.live(&d).await?;
        let p = check_plan(&d, &live, &s)?;
        if p.is_empty() {
            return Ok(());
        }
        // Nothing the file still declares is ever deleted, however the last apply ended.
        for c in p.changes.iter().filter(|c| c.action == Action::Delete) {
            prop_assert!(
                !d.resources.iter().any(|r| r.address == c.address),
                "{} is declared, yet planned for deletion",
                c.address
            );
        }
        // A failed change is expected here; the next round picks up from Azure's state.
        let _ = ops::apply::run(
            &w.client,
            &reviewed(&p, &d, &live),
            &leased(),
            Arc::new(Silent),
        )
        .await;
    }
    Err(fail(format!(
        "not converged after 8 applies under faults (seed {seed})\n{}",
        s.yaml()
    )))
}

proptest! {
    // Each case runs two files through a sandbox.
    #![proptest_config(support::stories::config())]

    #[test]
    fn site_recovery_and_disk_backup_plans_are_safe_ordered_targetable_and_converge(
        a in shape(),
        b in shape(),
        cut_ms in 0u64..400,
    ) {
        support::stories::run(story(a, b, cut_ms))?;
    }

    #[test]
    fn under_seeded_faults_re_running_apply_converges_and_deletes_nothing_declared(
        a in shape(),
        seed in 0u64..10_000,
    ) {
        support::stories::run(under_faults(a, seed))?;
    }
}
