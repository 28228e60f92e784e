//! The DAG walk over the plan's change graph (graph.rs): start every change whose dependencies
//! are done, at most `parallelism` at once; skip the dependents of a failure.

use super::{requests_for, ApplyOptions, ApplyReport, Outcome};
use crate::azure::ArmClient;
use crate::graph::Graph;
use crate::model::Address;
use crate::plan::{Change, Plan};
use crate::progress::{Event, Progress, Task};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use tokio::task::JoinSet;

/// Carries out one change. The ARM implementation sends the change's requests; tests use fakes
/// to exercise the walk itself.
#[async_trait::async_trait]
pub trait Executor: Send + Sync {
    /// Carry out `change`; what it waits for is reported on `task`.
    async fn execute(&self, change: &Change, progress: &dyn Progress, task: &Task) -> Outcome;
}

/// The real executor: one client, and what is learnt once per apply (vault identities).
struct Arm {
    client: ArmClient,
    principals: super::disk_backup::Principals,
    discovered: Arc<super::discovery::Discovered>,
    replicated_timeout: std::time::Duration,
    /// The vaults' leases, when apply takes them (`apply::lease`).
    leases: Option<Arc<super::lease::Leases>>,
}

#[async_trait::async_trait]
impl Executor for Arm {
    async fn execute(&self, change: &Change, progress: &dyn Progress, task: &Task) -> Outcome {
        execute(self, change, progress, task).await
    }
}

/// What apply set up before its walk (`ops::apply`).
#[derive(Default)]
pub struct Prepared {
    /// The vaults' leases, when apply takes them: the vaults the plan creates are leased once
    /// created, and writes of a leased vault's tags keep the lease.
    pub leases: Option<Arc<super::lease::Leases>>,
    /// Discovery, when it was started ahead ([`Discovered::ahead`](super::discovery::Discovered::ahead)).
    pub discovered: Arc<super::discovery::Discovered>,
}

/// Apply every change of `plan` through ARM. Never returns early: failures are recorded per change.
pub async fn apply(
    client: &ArmClient,
    plan: &Plan,
    opts: &ApplyOptions,
    prepared: Prepared,
    progress: Arc<dyn Progress>,
) -> ApplyReport {
    let arm = Arm {
        client: client.clone(),
        principals: Default::default(),
        discovered: prepared.discovered,
        replicated_timeout: opts.replicated_timeout,
        leases: prepared.leases,
    };
    walk(plan, opts, Arc::new(arm), progress).await
}

/// The DAG walk over any executor: the plan's change graph (graph.rs), built from the edges
/// the plan recorded.
pub async fn walk(
    plan: &Plan,
    opts: &ApplyOptions,
    executor: Arc<dyn Executor>,
    progress: Arc<dyn Progress>,
) -> ApplyReport {
    let changes: BTreeMap<Address, Arc<Change>> = plan
        .changes
        .iter()
        .map(|c| (c.address.clone(), Arc::new(c.clone())))
        .collect();
    let mut report = ApplyReport::default();
    let graph = match change_graph(plan) {
        Ok(g) => g,
        Err(e) => {
            // Only a hand-edited plan file can get here: nothing is started.
            for c in &plan.changes {
                let outcome = Outcome::Failed(format!("the plan cannot be applied: {e}").into());
                report_outcome(progress.as_ref(), &task_of(c), &outcome);
                report.outcomes.push((c.address.clone(), outcome));
            }
            return report;
        }
    };
    let mut waiting_on: BTreeMap<Address, usize> = plan
        .changes
        .iter()
        .map(|c| (c.address.clone(), graph.dependencies(&c.address).len()))
        .collect();
    // Ready in plan order, so output is stable for equal readiness.
    let mut ready: Vec<Address> = plan
        .changes
        .iter()
        .filter(|c| waiting_on[&c.address] == 0)
        .map(|c| c.address.clone())
        .rev()
        .collect();
    let mut skipped: BTreeSet<Address> = BTreeSet::new();
    let mut running: JoinSet<(Address, Outcome, Task)> = JoinSet::new();
    let parallelism = super::in_flight(plan, opts.parallelism);
    // Set once a change finds Azure unreachable: what is in flight finishes, nothing new starts.
    let mut halted: Option<String> = None;
    // Which change each running task carries, to report one that panics.
    let mut in_flight: std::collections::HashMap<tokio::task::Id, Address> =
        std::collections::HashMap::new();

    loop {
        while running.len() < parallelism && halted.is_none() {
            let Some(addr) = ready.pop() else { break };
            let change = changes[&addr].clone();
            let executor = executor.clone();
            let progress = progress.clone();
            let handle = running.spawn(async move {
                let task = task_of(&change);
                progress.event(&task, Event::Started);
                let outcome = executor.execute(&change, progress.as_ref(), &task).await;
                (change.address.clone(), outcome, task)
            });
            in_flight.insert(handle.id(), addr);
        }
        let Some(joined) = running.join_next_with_id().await else {
            break;
        };
        let (addr, outcome, task) = match joined {
            Ok((id, done)) => {
                in_flight.remove(&id);
                done
            }
            Err(e) => {
                // A task that panicked: its change failed (a bug of ours, said as such).
                let Some(addr) = in_flight.remove(&e.id()) else {
                    tracing::error!("apply task failed: {e}");
                    continue;
                };
                let failure = format!("azprotect failed while applying this change: {e}");
                (
                    addr.clone(),
                    Outcome::Failed(failure.into()),
                    task_of(&changes[&addr]),
                )
            }
        };
        report_outcome(progress.as_ref(), &task, &outcome);
        if let (Outcome::Failed(f), None) = (&outcome, &halted) {
            if f.unreachable {
                let why = format!("Azure could not be reached ({addr} failed: {f})");
                progress.note(&format!(
                    "{why}: no further change is started; re-run apply once Azure is reachable"
                ));
                halted = Some(why);
            }
        }
        let ok = outcome == Outcome::Done;
        report.outcomes.push((addr.clone(), outcome));
        if ok {
            for dep in graph.dependents(&addr) {
                let n = waiting_on.get_mut(&dep).expect("dependent is in the plan");
                *n -= 1;
                if *n == 0 {
                    ready.insert(0, dep);
                }
            }
        } else {
            skip_dependents(
                &addr,
                &graph,
                &changes,
                &mut skipped,
                &mut report,
                progress.as_ref(),
            );
        }
    }
    if let Some(why) = halted {
        let settled: BTreeSet<Address> = report.outcomes.iter().map(|(a, _)| a.clone()).collect();
        for c in plan
            .changes
            .iter()
            .filter(|c| !settled.contains(&c.address))
        {
            let outcome = Outcome::NotStarted { why: why.clone() };
            report_outcome(progress.as_ref(), &task_of(c), &outcome);
            report.outcomes.push((c.address.clone(), outcome));
        }
    }
    report
}

/// The plan's changes as a DAG: an edge for each dependency on another change of the plan.
fn change_graph(plan: &Plan) -> Result<Graph, crate::graph::GraphError> {
    let addresses: BTreeSet<&Address> = plan.changes.iter().map(|c| &c.address).collect();
    Graph::from_edges(
        plan.changes.iter().map(|c| c.address.clone()),
        plan.changes.iter().flat_map(|c| {
            c.depends_on
                .iter()
                .filter(|d| addresses.contains(d))
                .map(|d| (c.address.clone(), d.clone()))
        }),
    )
}

/// A change as progress names it: "creating protected_vm.v/rg/vm".
fn task_of(change: &Change) -> Task {
    Task::new(
        change.address.to_string(),
        format!("{} {}", change.verb(), change.address),
    )
}

fn report_outcome(progress: &dyn Progress, task: &Task, outcome: &Outcome) {
    progress.event(
        task,
        match outcome {
            Outcome::Done => Event::Finished,
            Outcome::Failed(e) => Event::Failed { error: &e.message },
            Outcome::Skipped { because } => {
                let because = format!("{because} did not apply");
                return progress.event(task, Event::Skipped { because: &because });
            }
            Outcome::NotStarted { why } => Event::Skipped { because: why },
        },
    );
}

fn skip_dependents(
    failed: &Address,
    graph: &Graph,
    changes: &BTreeMap<Address, Arc<Change>>,
    seen: &mut BTreeSet<Address>,
    report: &mut ApplyReport,
    progress: &dyn Progress,
) {
    let mut stack: Vec<(Address, Address)> = graph
        .dependents(failed)
        .into_iter()
        .map(|d| (d, failed.clone()))
        .collect();
    while let Some((addr, because)) = stack.pop() {
        if !seen.insert(addr.clone()) {
            continue;
        }
        let outcome = Outcome::Skipped {
            because: because.clone(),
        };
        report_outcome(progress, &task_of(&changes[&addr]), &outcome);
        report.outcomes.push((addr.clone(), outcome));
        for d in graph.dependents(&addr) {
            stack.push((d, addr.clone()));
        }
    }
}

async fn execute(arm: &Arm, change: &Change, progress: &dyn Progress, task: &Task) -> Outcome {
    if let Some(why) = arm.leases.as_ref().and_then(|l| l.lost()) {
        return Outcome::Failed(format!("not started: {why}").into());
    }
    let client = &arm.client;
    let heard = super::Heard { progress, task };
    if super::disk_backup::handles(change) {
        return match super::disk_backup::execute(client, &arm.principals, change, heard).await {
            Ok(()) => Outcome::Done,
            Err(e) => Outcome::Failed(e),
        };
    }
    if super::replication::handles(change) {
        let waiting = super::replication::Waiting {
            heard,
            timeout: arm.replicated_timeout,
        };
        return match super::replication::execute(client, change, &waiting).await {
            Ok(()) => Outcome::Done,
            Err(e) => Outcome::Failed(e),
        };
    }
    let discovered;
    let change = match enable_target(arm, change).await {
        Ok(Some(c)) => {
            discovered = c;
            &discovered
        }
        Ok(None) => change,
        Err(e) => return Outcome::Failed(e),
    };
    let requests = match requests_for(change) {
        Ok(r) => r,
        Err(e) => return Outcome::Failed(e.to_string().into()),
    };
    for mut req in requests {
        if let Some(leases) = &arm.leases {
            leases.keep_in(&mut req);
        }
        if let Err(e) = client.execute_discarding(&req).await {
            return Outcome::Failed(e.into());
        }
    }
    if let Some(leases) = &arm.leases {
        if super::lease::is_vault_creation(change.address.kind, change.action) {
            heard.waiting_for("the new vault's lease");
            if let Err(e) = leases.take_new(&change.arm_id).await {
                let why = match e {
                    super::lease::LeaseError::Locked { holder, .. } => {
                        format!(
                            "the vault was created, but another apply leased it first: {holder}"
                        )
                    }
                    other => format!("the vault was created, but could not be leased: {other}"),
                };
                return Outcome::Failed(why.into());
            }
        }
    }
    Outcome::Done
}

/// A new VM protection is enabled at the names Azure's discovery gives (`apply::discovery`):
/// the change with its id replaced, or `None` for every other change.
async fn enable_target(arm: &Arm, change: &Change) -> Result<Option<Change>, super::Failure> {
    let Some((vault, vm_id, planned)) = super::discovery::new_protection(change) else {
        return Ok(None);
    };
    let target = arm
        .discovered
        .target(&arm.client, &vault, vm_id, planned)
        .await?;
    Ok(Some(Change {
        arm_id: target,
        ..change.clone()
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Action, Plan};
    use crate::progress::{Recorded, Recorder};
    use std::sync::Mutex;
    use std::time::Duration;

    fn change(addr: &str, deps: &[&str]) -> Change {
        let id = crate::model::ArmId::new(format!("/x/{addr}"));
        Change {
            after: Some(serde_json::json!({})),
            depends_on: deps.iter().map(|d| d.parse().unwrap()).collect(),
            ..Change::new(addr.parse().unwrap(), Action::Create, id)
        }
    }

    /// Fails the listed addresses; records the order and the peak concurrency.
    struct Fake {
        fail: Vec<&'static str>,
        /// Every change finds Azure unreachable.
        unreachable: bool,
        order: Mutex<Vec<String>>,
        running: Mutex<(usize, usize)>,
    }

    impl Fake {
        fn failing(fail: Vec<&'static str>) -> Arc<Fake> {
            Arc::new(Fake {
                fail,
                unreachable: false,
                order: Mutex::default(),
                running: Mutex::default(),
            })
        }
    }

    #[async_trait::async_trait]
    impl Executor for Fake {
        async fn execute(&self, change: &Change, _: &dyn Progress, _: &Task) -> Outcome {
            {
                let mut r = self.running.lock().unwrap();
                r.0 += 1;
                r.1 = r.1.max(r.0);
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
            self.running.lock().unwrap().0 -= 1;
            self.order.lock().unwrap().push(change.address.to_string());
            if self.fail.contains(&change.address.to_string().as_str()) {
                Outcome::Failed("boom".into())
            } else if self.unreachable {
                Outcome::Failed(super::super::Failure {
                    unreachable: true,
                    ..super::super::Failure::from("connection refused")
                })
            } else {
                Outcome::Done
            }
        }
    }

    #[tokio::test]
    async fn dependents_of_a_failure_are_skipped_and_independent_branches_carry_on() {
        let plan = Plan::new(
            vec![],
            vec![
                change("recovery_vault.a", &[]),
                change("backup_policy.a/p", &["recovery_vault.a"]),
                change("protected_vm.a/rg/vm", &["backup_policy.a/p"]),
                change("recovery_vault.b", &[]),
                change("backup_policy.b/p", &["recovery_vault.b"]),
            ],
        );
        let fake = Fake::failing(vec!["recovery_vault.a"]);
        let heard = Arc::new(Recorder::default());
        let report = walk(
            &plan,
            &ApplyOptions {
                parallelism: Some(4),
                ..ApplyOptions::default()
            },
            fake.clone(),
            heard.clone(),
        )
        .await;
        // The user hears each change start and end, and why the skipped ones never started.
        let events = heard.events();
        assert!(events.contains(&Recorded::Failed("recovery_vault.a".into(), "boom".into())));
        assert!(events.contains(&Recorded::Skipped(
            "protected_vm.a/rg/vm".into(),
            "backup_policy.a/p did not apply".into()
        )));
        assert!(!events.contains(&Recorded::Started("backup_policy.a/p".into())));
        assert_eq!(
            events
                .iter()
                .filter(|e| matches!(e, Recorded::Finished(_)))
                .count(),
            2
        );
        assert_eq!(report.failed(), 1);
        assert_eq!(report.succeeded(), 2);
        assert_eq!(report.skipped(), 2);
        let skipped: Vec<String> = report
            .outcomes
            .iter()
            .filter(|(_, o)| matches!(o, Outcome::Skipped { .. }))
            .map(|(a, _)| a.to_string())
            .collect();
        assert!(skipped.contains(&"protected_vm.a/rg/vm".to_string()));
        let order = fake.order.lock().unwrap().clone();
        let pos = |a: &str| order.iter().position(|x| x == a).unwrap();
        assert!(pos("recovery_vault.b") < pos("backup_policy.b/p"));
    }

    #[tokio::test]
    async fn once_azure_is_unreachable_no_further_change_is_started() {
        let changes: Vec<Change> = (0..6)
            .map(|i| change(&format!("recovery_vault.v{i}"), &[]))
            .collect();
        let plan = Plan::new(vec![], changes);
        let fake = Arc::new(Fake {
            fail: vec![],
            unreachable: true,
            order: Mutex::default(),
            running: Mutex::default(),
        });
        let report = walk(
            &plan,
            &ApplyOptions {
                parallelism: Some(2),
                ..ApplyOptions::default()
            },
            fake.clone(),
            Arc::new(crate::progress::Silent),
        )
        .await;
        // The two in flight fail; the other four are never sent, and say why.
        assert_eq!(fake.order.lock().unwrap().len(), 2);
        assert_eq!((report.failed(), report.skipped()), (2, 4));
        assert!(report.outcomes.iter().any(|(_, o)| matches!(
            o,
            Outcome::NotStarted { why } if why.contains("Azure could not be reached")
        )));
    }

    /// Panics on one address, succeeds on the others.
    struct Panicking(&'static str);

    #[async_trait::async_trait]
    impl Executor for Panicking {
        async fn execute(&self, change: &Change, _: &dyn Progress, _: &Task) -> Outcome {
            if change.address.to_string() == self.0 {
                panic!("a bug");
            }
            Outcome::Done
        }
    }

    #[tokio::test]
    async fn a_change_whose_task_panics_is_failed_and_its_dependents_skipped() {
        let plan = Plan::new(
            vec![],
            vec![
                change("recovery_vault.a", &[]),
                change("backup_policy.a/p", &["recovery_vault.a"]),
                change("recovery_vault.b", &[]),
            ],
        );
        let report = walk(
            &plan,
            &ApplyOptions::default(),
            Arc::new(Panicking("recovery_vault.a")),
            Arc::new(crate::progress::Silent),
        )
        .await;
        assert_eq!(
            (report.succeeded(), report.failed(), report.skipped()),
            (1, 1, 1),
            "{:?}",
            report.outcomes
        );
    }

    #[tokio::test]
    async fn never_more_than_parallelism_changes_in_flight() {
        let changes: Vec<Change> = (0..20)
            .map(|i| change(&format!("recovery_vault.v{i}"), &[]))
            .collect();
        let plan = Plan::new(vec![], changes);
        let fake = Fake::failing(vec![]);
        let report = walk(
            &plan,
            &ApplyOptions {
                parallelism: Some(3),
                ..ApplyOptions::default()
            },
            fake.clone(),
            Arc::new(crate::progress::Silent),
        )
        .await;
        assert_eq!(report.succeeded(), 20);
        let peak = fake.running.lock().unwrap().1;
        assert!((2..=3).contains(&peak), "peak concurrency {peak}");
    }

    #[test]
    fn by_default_each_subscription_the_plan_changes_gets_its_own_pool() {
        let in_sub = |sub: &str, name: &str| {
            Change {
            arm_id: crate::model::ArmId::new(format!(
                "/subscriptions/{sub}/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/{name}"
            )),
            ..change(&format!("recovery_vault.{name}"), &[])
        }
        };
        let plan = Plan::new(
            vec![],
            vec![
                in_sub("S1", "a"),
                in_sub("s1", "b"),
                in_sub("s2", "c"),
                in_sub("s3", "d"),
            ],
        );
        // Three subscriptions (ids compare without case), three quotas to fill.
        assert_eq!(
            super::super::in_flight(&plan, None),
            3 * super::super::DEFAULT_IN_FLIGHT
        );
        assert_eq!(super::super::in_flight(&plan, Some(7)), 7);
        assert_eq!(super::super::in_flight(&plan, Some(0)), 1);
        let empty = Plan::new(vec![], vec![]);
        assert_eq!(
            super::super::in_flight(&empty, None),
            super::super::DEFAULT_IN_FLIGHT
        );
    }

    #[tokio::test]
    async fn a_plan_whose_changes_wait_on_each_other_starts_nothing() {
        // Only a hand-edited plan file has a cycle; the walk says so instead of stalling.
        let plan = Plan::new(
            vec![],
            vec![
                change("backup_policy.a/p", &["backup_policy.a/q"]),
                change("backup_policy.a/q", &["backup_policy.a/p"]),
            ],
        );
        let fake = Fake::failing(vec![]);
        let report = walk(
            &plan,
            &ApplyOptions::default(),
            fake.clone(),
            Arc::new(crate::progress::Silent),
        )
        .await;
        assert_eq!(report.failed(), 2);
        assert!(fake.order.lock().unwrap().is_empty());
        let Outcome::Failed(why) = &report.outcomes[0].1 else {
            panic!("{:?}", report.outcomes)
        };
        assert!(why.message.contains("dependency cycle"), "{why}");
    }
}
