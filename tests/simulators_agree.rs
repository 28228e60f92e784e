//! The in-test Azure simulator the plan invariants run on (`support/plan_sim.rs`, fast enough for
//! hundreds of cases) checked against the sandbox (which is itself checked against Azure's
//! recordings), so that the two cannot drift apart: random files of `support/estates.rs` are
//! planned, applied both by the simulator and, over HTTPS, by the sandbox, and the live state
//! each leaves must be the same — what Azure refuses included. A second random file then changes
//! the estate (updates, removals with every `on_remove`), and is compared the same way.
//!
//! The answers `support/azure_sim.rs` makes up for the round-trip tests are checked the same
//! way: for every vault, policy and protected VM a file creates, what the model reads from the
//! simulator's answer to the create request is what it reads from the sandbox's.

mod support;

use azprotect::azure::ArmClient;
use azprotect::model::{
    backup_policy, protected_vm, vault, Desired, LiveState, Resource, ResourceKind,
};
use azprotect::ops;
use azprotect::plan::{plan, Action, Change, Plan, PlanOptions};
use azprotect::progress::Silent;
use azprotect::sandbox::SandboxOptions;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use support::applying::{apply_options, reviewed};
use support::azure_sim;
use support::cases::SUB;
use support::estate::Estate;
use support::estates::{build_desired, desired_spec, DesiredSpec, INVENTORY, VAULT_RG};
use support::plan_sim::simulate;
use support::stories::fail;

/// The sandbox inventory for `estates::INVENTORY`: each VM with the three data disks the
/// generated exclusions pick from, and the vaults' resource group (the estates assume it).
fn inventory() -> String {
    let mut groups: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (rg, name, region, tag) in INVENTORY {
        let tags = tag
            .map(|t| format!(", tags: {{backup: {t}}}"))
            .unwrap_or_default();
        groups.entry(rg).or_default().push(format!(
            "          {name}: {{size: Standard_D2s_v5, os: linux, location: {region}{tags}, data_disks: [32, 32, 32]}}"
        ));
    }
    let mut y = format!("subscriptions:\n  {SUB}:\n    resource_groups:\n");
    for (rg, vms) in groups {
        let region = INVENTORY
            .iter()
            .find(|(r, ..)| *r == rg)
            .map(|(_, _, l, _)| *l)
            .unwrap_or("westeurope");
        y += &format!(
            "      {rg}:\n        location: {region}\n        vms:\n{}\n",
            vms.join("\n")
        );
    }
    y + &format!("      {VAULT_RG}: {{location: westeurope}}\n")
}

/// The Recovery Services resources of a live state, by address, as the model reads them.
fn backup_resources(live: &LiveState) -> BTreeMap<String, Value> {
    live.resources
        .iter()
        .filter(|r| {
            matches!(
                r.address.kind,
                ResourceKind::RecoveryVault
                    | ResourceKind::BackupPolicy
                    | ResourceKind::ProtectedVm
            )
        })
        .map(|r| (r.address.to_string(), r.attrs.clone()))
        .collect()
}

/// Where the two disagree: `address: simulator → sandbox`, one line each.
fn differences(sim: &BTreeMap<String, Value>, real: &BTreeMap<String, Value>) -> Vec<String> {
    let mut out = Vec::new();
    for addr in sim.keys().chain(real.keys()) {
        let (s, r) = (sim.get(addr), real.get(addr));
        if s != r
            && !out
                .iter()
                .any(|o: &String| o.starts_with(&format!("{addr}:")))
        {
            out.push(format!("{addr}: {s:?} → {r:?}"));
        }
    }
    out
}

fn show(p: &Plan) -> String {
    p.changes
        .iter()
        .map(|c| format!("{} {:?}", c.address, c.action))
        .collect::<Vec<_>>()
        .join("\n")
}

/// What the model reads from `azure_sim`'s answer to each create request of `p` (an item's
/// protection state aside: the simulator is told it).
fn created_as_azure_sim_answers(p: &Plan) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    for c in p.changes.iter().filter(|c| c.action == Action::Create) {
        let Some(attrs) = c.after.clone() else {
            continue;
        };
        let r = Resource {
            address: c.address.clone(),
            arm_id: c.arm_id.clone(),
            attrs,
            depends_on: vec![],
        };
        let read = match c.address.kind {
            ResourceKind::RecoveryVault => vault::create_request(&r)
                .body
                .map(|b| vault::normalize(&azure_sim::vault(&b, &r.arm_id, true))),
            ResourceKind::BackupPolicy => backup_policy::put_request(&r)
                .body
                .and_then(|b| backup_policy::normalize(&azure_sim::policy(&b, &r.arm_id))),
            ResourceKind::ProtectedVm => {
                let policy = r.attrs["policy"].as_str().unwrap_or_default();
                let policy_id = backup_policy::arm_id(&protected_vm::vault_of(&r.arm_id), policy);
                protected_vm::protect_request(&r, &policy_id)
                    .body
                    .and_then(|b| {
                        protected_vm::normalize(&azure_sim::protected_item(
                            &b,
                            &r.arm_id,
                            "Protected",
                        ))
                        .map(|(_, a)| a)
                    })
            }
            _ => None,
        };
        if let Some(read) = read {
            out.insert(c.address.to_string(), without_state(&read));
        }
    }
    out
}

fn without_state(attrs: &Value) -> Value {
    let mut a = attrs.clone();
    if let Some(o) = a.as_object_mut() {
        o.remove("state");
    }
    a
}

/// The changes of `p` that are not blocked and depend on no blocked change.
fn applicable_part(p: Plan) -> Plan {
    let mut out: Vec<Change> = Vec::new();
    for c in &p.changes {
        // Changes come after what they depend on.
        let ok = c.blocked.is_none()
            && c.depends_on.iter().all(|d| {
                out.iter().any(|o| &o.address == d) || !p.changes.iter().any(|x| &x.address == d)
            });
        if ok {
            out.push(c.clone());
        }
    }
    Plan::new(p.subscriptions.clone(), out)
}

async fn read(client: &ArmClient, d: &Desired) -> Result<LiveState, TestCaseError> {
    azprotect::live::read(client, d).await.map_err(fail)
}

async fn story(files: [DesiredSpec; 2], order: Vec<usize>) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().map_err(fail)?;
    let inv = dir.path().join("inventory.yaml");
    std::fs::write(&inv, inventory()).map_err(fail)?;
    let estate = Estate::start_with(SandboxOptions {
        inventory: Some(inv),
        time_scale: 0.001,
        ..SandboxOptions::default()
    })
    .await;
    let client = estate.client().await;
    for (i, spec) in files.iter().enumerate() {
        let d = build_desired(spec);
        let live = read(&client, &d).await?;
        let p = plan(&d, &live, &PlanOptions::default());
        // Azure would refuse the blocked changes (apply refuses the whole plan): compare on the
        // changes that neither are blocked nor wait for one.
        let p = applicable_part(p);
        if p.is_empty() {
            return Ok(());
        }
        let simulated = simulate(&live, &p, &order);
        let opts = apply_options(Duration::ZERO);
        let reviewed = reviewed(&p, &d, &live);
        let applied = ops::apply::run(&client, &reviewed, &opts, Arc::new(Silent))
            .await
            .map_err(fail)?;
        let real = read(&client, &d).await?;
        match simulated {
            Err(refused) => {
                prop_assert!(
                    applied.report.failed() > 0,
                    "file {i}: the simulator refuses ({refused}) what the sandbox applied:\n{}",
                    show(&p)
                );
                return Ok(());
            }
            Ok(sim) => {
                prop_assert_eq!(
                    applied.report.failed(),
                    0,
                    "file {}: the sandbox refused what the simulator applied: {:?}\n{}",
                    i,
                    applied.report,
                    show(&p)
                );
                let created = created_as_azure_sim_answers(&p);
                let read_back = backup_resources(&real);
                for (addr, simulated) in &created {
                    let from_sandbox = read_back.get(addr).map(without_state);
                    prop_assert_eq!(
                        Some(simulated),
                        from_sandbox.as_ref(),
                        "azure_sim and the sandbox answer the create of {} differently",
                        addr
                    );
                }
                let diff = differences(&backup_resources(&sim), &read_back);
                prop_assert!(
                    diff.is_empty(),
                    "file {i}: simulator and sandbox disagree after\n{}\n\n{}",
                    show(&p),
                    diff.join("\n")
                );
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 6,
        max_shrink_iters: 16,
        ..ProptestConfig::default()
    })]

    #[test]
    fn the_plan_simulator_applies_plans_as_the_sandbox_does(
        first in desired_spec(),
        second in desired_spec(),
        order in prop::collection::vec(any::<usize>(), 48),
    ) {
        support::stories::run(story([first, second], order))?;
    }
}
