//! Property tests of the plan's invariants over random, valid Recovery Services estates
//! (generated in `support/estates.rs`), applied the way Azure would by `support/plan_sim.rs` (in
//! any order `depends_on` allows, refusing what Azure refuses). `simulators_agree.rs` keeps that
//! simulator honest against the sandbox; Site Recovery and Disk Backup have the same invariants
//! checked on the sandbox itself in `family_invariants.rs`.
//!
//! 1. Convergence: a plan without blocked changes, applied, leaves nothing to plan — also when
//!    the apply stops part-way and is run again.
//! 2. No noise: live state that is the file as Azure reports it plans empty; the plan does not
//!    depend on listing order; the live fingerprint neither.
//! 3. Safety: no data deleted unless `on_remove: delete_data`; no vault or resource group ever
//!    deleted or replaced; `depends_on` is a DAG over the plan's own changes, listed in order.
//! 4. Targeting: a targeted plan is a subset of the full plan, closed over dependencies, and
//!    applies when it is not blocked.
//! 5. Every non-blocked change turns into ARM requests, and a protected VM's requests carry it.

mod support;

use azprotect::apply::requests_for;
use azprotect::live::LiveState;
use azprotect::model::{protected_vm, Address, ArmId, Desired, OnRemove, Resource, ResourceKind};
use azprotect::plan::{plan, Action, DataEffect, Plan, PlanOptions};
use proptest::prelude::*;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use support::estates::*;
use support::plan_checks::listed_in_order;
use support::plan_sim::{simulate, simulate_steps};

// ------------------------------------------------------------------ checks

fn no_targets() -> PlanOptions {
    PlanOptions::default()
}

fn show(p: &Plan) -> String {
    p.changes
        .iter()
        .map(|c| {
            format!(
                "{} {:?}{}{} deps={:?} diff={:?}",
                c.address,
                c.action,
                c.data.map(|d| format!(" data={d:?}")).unwrap_or_default(),
                c.blocked
                    .as_deref()
                    .map(|b| format!(" BLOCKED({b})"))
                    .unwrap_or_default(),
                c.depends_on
                    .iter()
                    .map(|a| a.to_string())
                    .collect::<Vec<_>>(),
                c.diff
                    .iter()
                    .map(|d| format!("{}: {:?} -> {:?}", d.path, d.before, d.after))
                    .collect::<Vec<_>>()
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A protected VM's requests carry exactly the change: the last PUT names the VM, the policy and
/// the exclusions of `after`; a soft-deleted item is undeleted first; a delete's data effect
/// picks stop, suspend or DELETE.
fn check_item_requests(
    c: &azprotect::plan::Change,
    reqs: &[azprotect::model::ArmRequest],
) -> Result<(), TestCaseError> {
    use azprotect::model::Method;
    if c.address.kind != ResourceKind::ProtectedVm {
        return Ok(());
    }
    for r in reqs {
        prop_assert!(
            r.path
                .to_ascii_lowercase()
                .starts_with(&c.arm_id.as_str().to_ascii_lowercase()),
            "{}: request to {}",
            c.address,
            r.path
        );
    }
    let last = reqs.last().unwrap();
    let props = last.body.as_ref().map(|b| b["properties"].clone());
    match (c.action, c.data) {
        (Action::Delete, Some(DataEffect::Deleted)) => {
            prop_assert_eq!(last.method, Method::Delete)
        }
        (Action::Delete, Some(effect)) => {
            let want = if effect == DataEffect::Suspended {
                "BackupsSuspended"
            } else {
                "ProtectionStopped"
            };
            prop_assert_eq!(props.unwrap()["protectionState"].clone(), json!(want));
        }
        (Action::Delete, None) => prop_assert!(false, "{}: delete without data", c.address),
        _ => {
            let after = c.after.as_ref().unwrap();
            let props = props.unwrap();
            prop_assert_eq!(last.method, Method::Put);
            prop_assert_eq!(&props["sourceResourceId"], &after["vm_id"]);
            let policy = props["policyId"].as_str().unwrap_or_default();
            prop_assert!(
                ArmId::new(policy)
                    .name()
                    .eq_ignore_ascii_case(after["policy"].as_str().unwrap()),
                "{}: policyId {policy}",
                c.address
            );
            let luns = &props["extendedProperties"]["diskExclusionProperties"];
            let want = after.get("exclude_disks").cloned().unwrap_or(json!([]));
            if !luns.is_null() || want != json!([]) {
                prop_assert_eq!(&luns["diskLunList"], &want);
                prop_assert_eq!(&luns["isInclusionList"], &json!(false));
            }
            let soft_deleted = c
                .before
                .as_ref()
                .is_some_and(|b| b["state"] == "soft_deleted");
            prop_assert_eq!(reqs.len(), if soft_deleted { 2 } else { 1 });
            if soft_deleted {
                prop_assert_eq!(
                    &reqs[0].body.as_ref().unwrap()["properties"]["isRehydrate"],
                    &json!(true)
                );
            }
        }
    }
    Ok(())
}

/// Property 3 (safety) and 5 (requests) on one plan.
fn check_safety(d: &Desired, p: &Plan) -> Result<(), TestCaseError> {
    let addrs: BTreeSet<&Address> = p.changes.iter().map(|c| &c.address).collect();
    prop_assert_eq!(
        addrs.len(),
        p.changes.len(),
        "one change per address\n{}",
        show(p)
    );
    for c in &p.changes {
        if matches!(
            c.address.kind,
            ResourceKind::RecoveryVault | ResourceKind::ResourceGroup
        ) {
            prop_assert!(
                !matches!(c.action, Action::Delete | Action::Replace),
                "{} is never deleted or replaced\n{}",
                c.address,
                show(p)
            );
        }
        if c.data == Some(DataEffect::Deleted) {
            let vault = protected_vm::vault_of(&c.arm_id.clone());
            let scope = d.vaults.iter().find(|v| v.arm_id == vault);
            prop_assert_eq!(
                scope.map(|s| s.on_remove),
                Some(OnRemove::DeleteData),
                "{} deletes data without on_remove: delete_data",
                c.address
            );
        }
        if c.address.kind == ResourceKind::ProtectedVm && c.action == Action::Delete {
            prop_assert!(
                c.data.is_some(),
                "{} delete says nothing about data",
                c.address
            );
        }
        for dep in &c.depends_on {
            prop_assert!(
                addrs.contains(dep),
                "{} depends on {dep}, which is not a change of the plan\n{}",
                c.address,
                show(p)
            );
            prop_assert!(dep != &c.address, "{} depends on itself", c.address);
        }
        if c.blocked.is_none() {
            let reqs = requests_for(c);
            prop_assert!(reqs.is_ok(), "{}: {:?}", c.address, reqs.err());
            let reqs = reqs.unwrap();
            prop_assert!(!reqs.is_empty(), "{} sends no request", c.address);
            check_item_requests(c, &reqs)?;
        }
    }
    // The list is in apply order: every dependency comes earlier.
    if let Err(e) = listed_in_order(p) {
        prop_assert!(false, "{e}\n{}", show(p));
    }
    // No cycles: Kahn's algorithm consumes every change.
    let mut remaining: BTreeMap<&Address, BTreeSet<&Address>> = p
        .changes
        .iter()
        .map(|c| (&c.address, c.depends_on.iter().collect()))
        .collect();
    while !remaining.is_empty() {
        let ready: Vec<&Address> = remaining
            .iter()
            .filter(|(_, deps)| deps.is_empty())
            .map(|(a, _)| *a)
            .collect();
        prop_assert!(!ready.is_empty(), "dependency cycle\n{}", show(p));
        for a in ready {
            remaining.remove(a);
            for deps in remaining.values_mut() {
                deps.remove(a);
            }
        }
    }
    Ok(())
}

fn check_targeting(
    d: &Desired,
    live: &LiveState,
    full: &Plan,
    pick: usize,
) -> Result<(), TestCaseError> {
    let mut patterns: Vec<Address> = full.changes.iter().map(|c| c.address.clone()).collect();
    for v in VAULTS {
        for kind in [
            ResourceKind::RecoveryVault,
            ResourceKind::BackupPolicy,
            ResourceKind::ProtectedVm,
        ] {
            patterns.push(Address::new(kind, v));
        }
    }
    let target = patterns[pick % patterns.len()].clone();
    let t = plan(
        d,
        live,
        &PlanOptions {
            targets: vec![target.clone()],
        },
    );
    let by_addr: BTreeMap<&Address, &azprotect::plan::Change> =
        full.changes.iter().map(|c| (&c.address, c)).collect();
    // Closure of the matched changes over depends_on.
    let mut closure: BTreeSet<&Address> = BTreeSet::new();
    let mut stack: Vec<&Address> = t
        .changes
        .iter()
        .filter(|c| c.address.matches_target(&target))
        .map(|c| &c.address)
        .collect();
    while let Some(a) = stack.pop() {
        if closure.insert(a) {
            if let Some(c) = by_addr.get(a) {
                stack.extend(c.depends_on.iter());
            }
        }
    }
    for c in &t.changes {
        prop_assert_eq!(
            by_addr.get(&c.address).copied(),
            Some(c),
            "targeted change {} is not the full plan's",
            &c.address
        );
        prop_assert!(
            closure.contains(&c.address),
            "{} is in the plan targeted at {target} but neither matches it nor is needed by it",
            c.address
        );
    }
    // A targeted plan that is not blocked applies: its changes never need an excluded one.
    if t.summary.blocked == 0 {
        let applied = simulate(live, &t, &[]);
        prop_assert!(
            applied.is_ok(),
            "plan targeted at {target} fails at apply: {}\n{}",
            applied.as_ref().err().unwrap(),
            show(&t)
        );
    }
    // And every dependency of a kept change is kept.
    let kept: BTreeSet<&Address> = t.changes.iter().map(|c| &c.address).collect();
    for c in &t.changes {
        for dep in &c.depends_on {
            prop_assert!(
                kept.contains(dep),
                "{} kept without its dependency {dep}",
                c.address
            );
        }
    }
    Ok(())
}

// ------------------------------------------------------------------ properties

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, max_shrink_iters: 2000, ..ProptestConfig::default() })]

    /// 1 + 3 + 4 + 5 over drifted estates.
    #[test]
    fn plans_are_safe_targetable_and_converge(
        ds in desired_spec(),
        ls in live_spec(),
        order in prop::collection::vec(any::<usize>(), 48),
        pick in any::<usize>(),
    ) {
        let d = build_desired(&ds);
        let live = build_live(&ds, &ls);
        let p = plan(&d, &live, &no_targets());
        check_safety(&d, &p)?;
        check_targeting(&d, &live, &p, pick)?;
        if p.summary.blocked == 0 {
            let after = simulate(&live, &p, &order);
            prop_assert!(after.is_ok(), "apply fails: {}\nplan:\n{}", after.as_ref().err().unwrap(), show(&p));
            let again = plan(&d, &after.unwrap(), &no_targets());
            prop_assert!(again.is_empty(), "applied estate re-plans:\n{}\nfirst plan:\n{}", show(&again), show(&p));
        }
    }

    /// An apply that stops part-way (interrupted, or a change failed and its dependents were
    /// skipped) leaves an estate whose new plan is still applicable and converges.
    #[test]
    fn an_interrupted_apply_converges_on_the_next_run(
        ds in desired_spec(),
        ls in live_spec(),
        order in prop::collection::vec(any::<usize>(), 48),
        cut in 0usize..12,
    ) {
        let d = build_desired(&ds);
        let live = build_live(&ds, &ls);
        let p = plan(&d, &live, &no_targets());
        if p.summary.blocked > 0 || p.changes.len() < 2 {
            return Ok(()); // (rejecting would exhaust proptest's reject budget)
        }
        let partial = simulate_steps(&live, &p, &order, cut % p.changes.len());
        prop_assert!(partial.is_ok(), "{}", partial.as_ref().err().unwrap());
        let partial = partial.unwrap();
        let p2 = plan(&d, &partial, &no_targets());
        prop_assert_eq!(p2.summary.blocked, 0, "the rest of the apply is blocked:\n{}\nfirst plan:\n{}", show(&p2), show(&p));
        let done = simulate(&partial, &p2, &order);
        prop_assert!(done.is_ok(), "apply fails: {}\nplan:\n{}", done.as_ref().err().unwrap(), show(&p2));
        let again = plan(&d, &done.unwrap(), &no_targets());
        prop_assert!(again.is_empty(), "re-plans:\n{}", show(&again));
    }

    /// The plan does not depend on the order Azure lists resources and VMs in, nor on the
    /// order of the file's resources.
    #[test]
    fn the_plan_ignores_listing_order(
        ds in desired_spec(),
        ls in live_spec(),
        keys in prop::collection::vec(any::<u64>(), 64),
    ) {
        let d = build_desired(&ds);
        let live = build_live(&ds, &ls);
        let p = plan(&d, &live, &no_targets());
        let shuffle = |v: &mut Vec<Resource>| {
            let mut keyed: Vec<(u64, Resource)> = v
                .drain(..)
                .enumerate()
                .map(|(i, r)| (keys[i % keys.len()].rotate_left(i as u32), r))
                .collect();
            keyed.sort_by_key(|(k, _)| *k);
            v.extend(keyed.into_iter().map(|(_, r)| r));
        };
        let mut live2 = live.clone();
        shuffle(&mut live2.resources);
        live2.vms.reverse();
        let mut d2 = d.clone();
        shuffle(&mut d2.resources);
        let p2 = plan(&d2, &live2, &no_targets());
        prop_assert_eq!(&p, &p2, "\n{}\n----\n{}", show(&p), show(&p2));
    }

    /// 2: the file as Azure reports it plans empty.
    #[test]
    fn an_estate_that_matches_the_file_plans_empty(
        ds in desired_spec(),
        shout in prop::collection::vec(any::<bool>(), 1..8),
    ) {
        let d = build_desired(&ds);
        let live = live_from_desired(&d, &shout);
        let p = plan(&d, &live, &no_targets());
        prop_assert!(p.is_empty(), "noise:\n{}", show(&p));
    }

    /// The saved plan's staleness fingerprint does not depend on the order Azure lists things in.
    #[test]
    fn the_live_fingerprint_ignores_listing_order(
        ds in desired_spec(),
        ls in live_spec(),
        keys in prop::collection::vec(any::<u64>(), 64),
    ) {
        let live = build_live(&ds, &ls);
        let mut shuffled = live.clone();
        let mut rs: Vec<(u64, Resource)> = shuffled.resources.drain(..).enumerate().map(|(i, r)| (keys[i % keys.len()] ^ i as u64, r)).collect();
        rs.sort_by_key(|(k, _)| *k);
        shuffled.resources = rs.into_iter().map(|(_, r)| r).collect();
        shuffled.vms.reverse();
        let n = shuffled.vms.len();
        shuffled.vms.rotate_left(keys[0] as usize % n);
        // Tags in another order (ARM does not promise one).
        for r in &mut shuffled.resources {
            if let Some(t) = r.attrs.get_mut("tags").and_then(Value::as_object_mut) {
                let mut entries: Vec<(String, Value)> = std::mem::take(t).into_iter().collect();
                entries.reverse();
                t.extend(entries);
            }
        }
        prop_assert_eq!(live.fingerprint(), shuffled.fingerprint());
    }
}

#[test]
fn the_generators_produce_mostly_applicable_plans() {
    // Guard against a generator change that makes every plan blocked (property 1 would then
    // check nothing).
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let (mut unblocked, mut nonempty) = (0, 0);
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    let mut applied: BTreeMap<String, usize> = BTreeMap::new();
    for _ in 0..200 {
        let ds = desired_spec().new_tree(&mut runner).unwrap().current();
        let ls = live_spec().new_tree(&mut runner).unwrap().current();
        let p = plan(&build_desired(&ds), &build_live(&ds, &ls), &no_targets());
        for c in &p.changes {
            if let Some(b) = &c.blocked {
                *reasons
                    .entry(b.chars().take(40).collect::<String>())
                    .or_insert(0) += 1;
            }
        }
        if p.summary.blocked == 0 {
            unblocked += 1;
            if !p.is_empty() {
                nonempty += 1;
            }
            for c in &p.changes {
                let kind = format!("{:?} {:?} {:?}", c.address.kind, c.action, c.data);
                *applied.entry(kind).or_insert(0) += 1;
            }
        }
    }
    eprintln!("{unblocked}/200 unblocked, {nonempty} of them with changes; applied: {applied:#?}; blocked: {reasons:#?}");
    assert!(
        nonempty >= 30,
        "{unblocked} unblocked, {nonempty} with changes"
    );
    // Every kind of change reaches the convergence property.
    for kind in [
        "RecoveryVault Create None",
        "RecoveryVault Update None",
        "BackupPolicy Create None",
        "BackupPolicy Update None",
        "BackupPolicy Replace None",
        "BackupPolicy Delete None",
        "ProtectedVm Create None",
        "ProtectedVm Update None",
        "ProtectedVm Delete Some(Retained)",
        "ProtectedVm Delete Some(Suspended)",
        "ProtectedVm Delete Some(Deleted)",
        "ResourceGroup Create None",
        "ResourceGroup Update None",
    ] {
        assert!(
            applied.contains_key(kind),
            "no unblocked {kind}: {applied:#?}"
        );
    }
}
