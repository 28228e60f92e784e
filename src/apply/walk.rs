//! The DAG walk: start every change whose dependencies are done, at most `parallelism` at once.

use super::{requests_for, ApplyOptions, ApplyReport, Outcome, Reporter};
use crate::azure::ArmClient;
use crate::model::Address;
use crate::plan::{Change, Plan};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Instant;
use tokio::task::JoinSet;

/// Apply every change of `plan`. Never returns early: failures are recorded per change.
pub async fn apply(
    client: &ArmClient,
    plan: &Plan,
    opts: &ApplyOptions,
    reporter: Arc<dyn Reporter>,
) -> ApplyReport {
    let changes: BTreeMap<Address, Arc<Change>> = plan
        .changes
        .iter()
        .map(|c| (c.address.clone(), Arc::new(c.clone())))
        .collect();
    let mut waiting_on: BTreeMap<Address, BTreeSet<Address>> = BTreeMap::new();
    let mut dependents: BTreeMap<Address, Vec<Address>> = BTreeMap::new();
    for c in &plan.changes {
        let deps: BTreeSet<Address> = c
            .depends_on
            .iter()
            .filter(|d| changes.contains_key(*d))
            .cloned()
            .collect();
        for d in &deps {
            dependents
                .entry(d.clone())
                .or_default()
                .push(c.address.clone());
        }
        waiting_on.insert(c.address.clone(), deps);
    }
    // Ready in plan order, so output is stable for equal readiness.
    let mut ready: Vec<Address> = plan
        .changes
        .iter()
        .filter(|c| waiting_on[&c.address].is_empty())
        .map(|c| c.address.clone())
        .rev()
        .collect();
    let mut report = ApplyReport::default();
    let mut skipped: BTreeSet<Address> = BTreeSet::new();
    let mut running: JoinSet<(Address, Outcome, std::time::Duration)> = JoinSet::new();
    let parallelism = opts.parallelism.max(1);

    loop {
        while running.len() < parallelism {
            let Some(addr) = ready.pop() else { break };
            let change = changes[&addr].clone();
            let client = client.clone();
            let reporter = reporter.clone();
            running.spawn(async move {
                reporter.started(&change);
                let start = Instant::now();
                let outcome = execute(&client, &change).await;
                (change.address.clone(), outcome, start.elapsed())
            });
        }
        let Some(joined) = running.join_next().await else {
            break;
        };
        let (addr, outcome, elapsed) = match joined {
            Ok(done) => done,
            Err(e) => {
                // A panicked task: we no longer know which change it was; nothing else to do.
                tracing::error!("apply task failed: {e}");
                continue;
            }
        };
        reporter.finished(&changes[&addr], &outcome, elapsed);
        let ok = outcome == Outcome::Done;
        report.outcomes.push((addr.clone(), outcome));
        if ok {
            for dep in dependents.get(&addr).cloned().unwrap_or_default() {
                let set = waiting_on.get_mut(&dep).expect("dependent is in the plan");
                set.remove(&addr);
                if set.is_empty() {
                    ready.insert(0, dep);
                }
            }
        } else {
            skip_dependents(
                &addr,
                &dependents,
                &changes,
                &mut skipped,
                &mut report,
                reporter.as_ref(),
            );
        }
    }
    report
}

fn skip_dependents(
    failed: &Address,
    dependents: &BTreeMap<Address, Vec<Address>>,
    changes: &BTreeMap<Address, Arc<Change>>,
    seen: &mut BTreeSet<Address>,
    report: &mut ApplyReport,
    reporter: &dyn Reporter,
) {
    let mut stack: Vec<(Address, Address)> = dependents
        .get(failed)
        .into_iter()
        .flatten()
        .map(|d| (d.clone(), failed.clone()))
        .collect();
    while let Some((addr, because)) = stack.pop() {
        if !seen.insert(addr.clone()) {
            continue;
        }
        let outcome = Outcome::Skipped {
            because: because.clone(),
        };
        reporter.finished(&changes[&addr], &outcome, std::time::Duration::ZERO);
        report.outcomes.push((addr.clone(), outcome));
        for d in dependents.get(&addr).into_iter().flatten() {
            stack.push((d.clone(), addr.clone()));
        }
    }
}

async fn execute(client: &ArmClient, change: &Change) -> Outcome {
    let requests = match requests_for(change) {
        Ok(r) => r,
        Err(e) => return Outcome::Failed(e.to_string()),
    };
    for req in &requests {
        if let Err(e) = client.execute(req).await {
            return Outcome::Failed(e.to_string());
        }
    }
    Outcome::Done
}
