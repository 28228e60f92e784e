//! Failover and failback of a recovery plan: unplanned failover, commit, re-protect, and
//! failback, each checked against what Azure allows now (the plan's `allowedOperations`, the
//! items' protection) before anything is sent.
//!
//! Azure-to-Azure has no planned failover: the spec's `PlannedFailoverProviderSpecificFailoverInput`
//! has no A2A kind and `PlannedFailover` never appears in a recorded `allowedOperations` (FACTS §1,
//! A2A #73, #78). `failover --planned` is refused before any request ([`supported`]). Failback is
//! what the recordings show (A2A #84–#122): re-protect (if not yet), wait until the reverse
//! replication is protected, an unplanned failover back, commit, and re-protect again so that
//! replication runs primary → recovery as declared.
//!
//! The direction is read from the live items' `activeLocation`: active in the primary (declared
//! source) region → `PrimaryToRecovery`; active in the recovery region → `RecoveryToPrimary`.
//!
//! Owns: [`status`], [`plan_steps`], [`run`], and the report data [`report`] that `render` formats. Must not import: `cli`, `render`, `config`, `ops`.

use crate::azure::{ArmClient, AzureError};
use crate::model::site_recovery::recovery_plan::{self, Direction, RecoveryPoint};
use crate::model::site_recovery::replication::{self, ProtectionState};
use crate::model::{api, ArmId, ArmRequest, Resource};
use crate::progress::{track, Event, Progress, Task};
use serde::Serialize;

pub mod report;
pub use report::{FailoverReport, StepResult, VmStatus};
use serde_json::Value;
use std::time::{Duration, Instant};

/// What the user asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// `failover --planned`: not for Azure-to-Azure (refused by [`supported`]).
    PlannedFailover,
    /// `failover --unplanned`: start the VMs on the other side from a recovery point.
    UnplannedFailover {
        point: RecoveryPoint,
        shut_down_source: bool,
    },
    /// `commit`: keep the failed-over VMs.
    Commit,
    /// `reprotect`: replicate the failed-over VMs back to the region they came from.
    Reprotect,
    /// `failback`: (re-protect,) unplanned failover from the recovery region back to the primary,
    /// commit, and re-protect so that replication runs primary → recovery again.
    Failback,
}

impl Operation {
    pub fn name(self) -> &'static str {
        match self {
            Operation::PlannedFailover => "planned failover",
            Operation::UnplannedFailover { .. } => "unplanned failover",
            Operation::Commit => "commit",
            Operation::Reprotect => "re-protect",
            Operation::Failback => "failback",
        }
    }
}

/// Refuse what Azure-to-Azure cannot do, before reading or sending anything.
pub fn supported(op: Operation) -> Result<(), Refusal> {
    match op {
        Operation::PlannedFailover => Err(Refusal::NoPlannedFailover),
        _ => Ok(()),
    }
}

/// One request of an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    UnplannedFailover(Direction, RecoveryPoint, bool),
    Commit,
    Reprotect,
}

impl Step {
    /// Azure's name of the operation in `allowedOperations`.
    pub fn allowed_name(self) -> &'static str {
        match self {
            Step::UnplannedFailover(..) => "UnplannedFailover",
            Step::Commit => "FailoverCommit",
            Step::Reprotect => "ReProtect",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Step::UnplannedFailover(..) => "unplanned failover",
            Step::Commit => "commit",
            Step::Reprotect => "re-protect",
        }
    }

    pub fn request(self, plan: &ArmId) -> ArmRequest {
        match self {
            Step::UnplannedFailover(d, p, s) => {
                recovery_plan::unplanned_failover_request(plan, d, p, s)
            }
            Step::Commit => recovery_plan::failover_commit_request(plan),
            Step::Reprotect => recovery_plan::reprotect_request(plan),
        }
    }
}

/// What re-protect needs that the live items do not say: the declared caches and target
/// resource group of the plan's replication group.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Caches {
    /// Cache in the source region (replication source → target).
    pub source: String,
    /// Cache in the target region (replication back after a failover), if declared.
    pub target: Option<String>,
    /// Resource group of the replicas in the target region.
    pub target_resource_group: String,
    /// Declared target disk type by source disk id (lower case), for replication to the target.
    pub disk_types: std::collections::BTreeMap<String, String>,
}

/// The live state of a recovery plan and its VMs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanStatus {
    pub allowed_operations: Vec<String>,
    /// The declared source region (Azure's primary side).
    pub primary_region: String,
    /// The declared target region (Azure's recovery side).
    pub recovery_region: String,
    /// Are the VMs active in the recovery region?
    pub active_in_recovery: bool,
    pub vms: Vec<VmStatus>,
}

impl PlanStatus {
    pub fn allows(&self, op: &str) -> bool {
        self.allowed_operations
            .iter()
            .any(|o| o.eq_ignore_ascii_case(op))
    }

    /// The direction a failover takes now.
    pub fn failover_direction(&self) -> Direction {
        if self.active_in_recovery {
            Direction::RecoveryToPrimary
        } else {
            Direction::PrimaryToRecovery
        }
    }

    /// (from, to) regions of a failover in `d`.
    pub fn regions(&self, d: Direction) -> (&str, &str) {
        match d {
            Direction::PrimaryToRecovery => (&self.primary_region, &self.recovery_region),
            Direction::RecoveryToPrimary => (&self.recovery_region, &self.primary_region),
        }
    }

    pub fn active_region(&self) -> &str {
        if self.active_in_recovery {
            &self.recovery_region
        } else {
            &self.primary_region
        }
    }

    fn vm_names(&self) -> String {
        self.vms
            .iter()
            .map(|v| v.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Why Azure would refuse the operation now (checked before anything is sent).
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum Refusal {
    #[error("{plan}: Azure does not allow {op} now (allowed operations: {allowed})")]
    #[diagnostic(help("{hint}"))]
    NotAllowed {
        plan: String,
        op: &'static str,
        allowed: String,
        hint: String,
    },
    #[error("Azure-to-Azure Site Recovery has no planned failover")]
    #[diagnostic(help(
        "Azure offers only an unplanned failover between Azure regions (PlannedFailover is never among a replicated VM's allowed operations): use `failover --unplanned`, with --shut-down-source to have Azure shut the source VMs down first"
    ))]
    NoPlannedFailover,
    #[error("{plan}: {vm} is in a state azprotect does not know ({state})")]
    #[diagnostic(help(
        "azprotect refuses failover, commit and re-protect until Azure reports a known state; check the VM in the portal"
    ))]
    UnknownState {
        plan: String,
        vm: String,
        state: String,
    },
    #[error("{0}: {1}")]
    #[diagnostic(help(
        "a standard general-purpose v2 storage account in the target region, e.g. target_cache_storage_account: /subscriptions/…/resourceGroups/…/providers/Microsoft.Storage/storageAccounts/…"
    ))]
    NoTargetCache(String, String),
    #[error("{0} is not ready: {1}")]
    #[diagnostic(help(
        "wait for (initial) replication to finish — `plan` and `failover` show its progress — then run it again"
    ))]
    NotReady(String, String),
}

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum FailoverError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Refused(#[from] Refusal),
    #[error("{0}")]
    Azure(#[from] AzureError),
}

fn versioned(id: &ArmId) -> String {
    format!("{id}?api-version={}", api::SITE_RECOVERY)
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|x| x.as_str().map(str::to_string))
        .collect()
}

fn region(v: &Value) -> String {
    crate::model::resource_group::normalize_location(v.as_str().unwrap_or_default())
}

/// Read the plan and its items.
pub async fn status(
    client: &ArmClient,
    plan: &Resource,
    items: &[ArmId],
) -> Result<PlanStatus, FailoverError> {
    let Some(live) = client.get_optional(&versioned(&plan.arm_id)).await? else {
        return Err(Refusal::NotReady(
            plan.address.to_string(),
            "the recovery plan does not exist yet: apply first".into(),
        )
        .into());
    };
    let declared = recovery_plan::Attrs(&plan.attrs);
    let primary_region: String = declared.source_region().unwrap_or_default().into();
    let recovery_region: String = declared.target_region().unwrap_or_default().into();
    let vault = plan.arm_id.parent(1);
    let mut vms = Vec::new();
    for item in items {
        // After a re-protect the item lives in the other region's container (A2A #111).
        let moved = replication::item_id(
            &crate::model::site_recovery::container_id(&vault, &recovery_region),
            item.name(),
        );
        let mut found = None;
        for id in [item, &moved] {
            if let Some(body) = client.get_optional(&versioned(id)).await? {
                found = Some((id.clone(), body));
                break;
            }
        }
        let Some((item_id, body)) = found else {
            return Err(Refusal::NotReady(
                plan.address.to_string(),
                format!("{item} is not replicated"),
            )
            .into());
        };
        let p = &body["properties"];
        let d = &p["providerSpecificDetails"];
        let active_recovery = p["activeLocation"]
            .as_str()
            .is_some_and(|l| l.eq_ignore_ascii_case("Recovery"));
        let (own_primary, own_recovery) = (
            region(&d["primaryFabricLocation"]),
            region(&d["recoveryFabricLocation"]),
        );
        let runs_in = if active_recovery {
            own_recovery.clone()
        } else {
            own_primary.clone()
        };
        let vm_id = d["fabricObjectId"]
            .as_str()
            .map_or_else(|| item.to_string(), str::to_string);
        let raw = p["protectionState"].as_str().unwrap_or("Unknown");
        let state = ProtectionState::from_arm(raw);
        let (from, to) = if active_recovery {
            (own_recovery, own_primary)
        } else {
            (own_primary, own_recovery)
        };
        vms.push(VmStatus {
            name: ArmId::new(vm_id.as_str()).name().to_string(),
            vm_id,
            active_location: p["activeLocation"].as_str().unwrap_or("Primary").into(),
            runs_in,
            item: item_id,
            protection_state: raw.into(),
            replicating: state.replicating(),
            state: state.clone(),
            replicating_from: from,
            replicating_to: to,
            progress: replication::progress(&body)
                .filter(|p| *p < 100 && state != ProtectionState::Protected),
            live: body.clone(),
        });
    }
    let active_in_recovery = vms
        .iter()
        .any(|v| v.runs_in.eq_ignore_ascii_case(&recovery_region));
    Ok(PlanStatus {
        allowed_operations: strings(&live["properties"]["allowedOperations"]),
        primary_region,
        recovery_region,
        active_in_recovery,
        vms,
    })
}

fn hint(step: Step, s: &PlanStatus) -> String {
    let allowed = |op: &str| s.allows(op);
    if allowed("FailoverCommit") {
        "the plan has failed over: `commit` it (or fail over again to another recovery point)"
            .into()
    } else if allowed("ReProtect") {
        "the failover is committed: `reprotect` to replicate back".into()
    } else if allowed("TestFailoverCleanup") {
        "a drill is running: clean it up first".into()
    } else if s.allowed_operations.is_empty() {
        "an operation is still running on the plan: wait for it to finish".into()
    } else if matches!(step, Step::Commit | Step::Reprotect) {
        "nothing has failed over: `failover` first".into()
    } else {
        "see the allowed operations".into()
    }
}

fn require(plan: &Resource, step: Step, s: &PlanStatus) -> Result<(), Refusal> {
    if let Some(vm) = s
        .vms
        .iter()
        .find(|v| matches!(v.state, ProtectionState::Unknown(_)))
    {
        return Err(Refusal::UnknownState {
            plan: plan.address.to_string(),
            vm: vm.name.clone(),
            state: vm.protection_state.clone(),
        });
    }
    if s.allows(step.allowed_name()) {
        return Ok(());
    }
    Err(Refusal::NotAllowed {
        plan: plan.address.to_string(),
        op: step.allowed_name(),
        allowed: if s.allowed_operations.is_empty() {
            "none".into()
        } else {
            s.allowed_operations.join(", ")
        },
        hint: hint(step, s),
    })
}

fn require_protected(plan: &Resource, s: &PlanStatus) -> Result<(), Refusal> {
    if let Some(vm) = s.vms.iter().find(|v| !v.protected()) {
        let progress = vm
            .progress
            .map(|p| format!(", {p}% replicated"))
            .unwrap_or_default();
        return Err(Refusal::NotReady(
            plan.address.to_string(),
            format!(
                "{} is in {}{progress}, not protected yet",
                vm.name,
                replication::state_words(&vm.protection_state)
            ),
        ));
    }
    Ok(())
}

/// The requests `op` takes from the current state, or why Azure would refuse it.
pub fn plan_steps(plan: &Resource, op: Operation, s: &PlanStatus) -> Result<Vec<Step>, Refusal> {
    let steps = match op {
        Operation::PlannedFailover => return Err(Refusal::NoPlannedFailover),
        Operation::UnplannedFailover {
            point,
            shut_down_source,
        } => vec![Step::UnplannedFailover(
            s.failover_direction(),
            point,
            shut_down_source,
        )],
        Operation::Commit => vec![Step::Commit],
        Operation::Reprotect => vec![Step::Reprotect],
        Operation::Failback => {
            if !s.active_in_recovery {
                return Err(Refusal::NotReady(
                    plan.address.to_string(),
                    format!(
                        "its VMs already run in the primary region {}: nothing to fail back",
                        s.primary_region
                    ),
                ));
            }
            // As recorded (A2A #84–#122): the failback is an unplanned failover of the
            // re-protected items, from the latest point, without shutting anything down.
            let back =
                Step::UnplannedFailover(Direction::RecoveryToPrimary, RecoveryPoint::Latest, false);
            if s.allows("ReProtect") {
                vec![Step::Reprotect, back, Step::Commit, Step::Reprotect]
            } else {
                vec![back, Step::Commit, Step::Reprotect]
            }
        }
    };
    require(plan, steps[0], s)?;
    if matches!(steps[0], Step::UnplannedFailover(..)) {
        require_protected(plan, s)?;
    }
    Ok(steps)
}

/// What `steps` will do, in words, for the confirmation prompt.
pub fn describe(plan: &Resource, steps: &[Step], s: &PlanStatus) -> Vec<String> {
    let vms = s.vm_names();
    steps
        .iter()
        .map(|step| match *step {
            Step::UnplannedFailover(d, p, shut) => {
                let (from, to) = s.regions(d);
                let source = if shut {
                    format!("Azure tries to shut the VMs in {from} down first")
                } else {
                    format!("the VMs in {from} are not shut down")
                };
                format!("unplanned failover of {plan} ({vms}) from {from} to {to}: the VMs are started in {to} from the {point} recovery point ({source}; changes after that point are lost)", plan = plan.address, point = p.as_arm())
            }
            Step::Commit => format!("commit the failover of {} ({vms}): the VMs stay where they run now ({}), and the other recovery points can no longer be chosen", plan.address, s.active_region()),
            Step::Reprotect => {
                let from = s.active_region();
                let to = if s.active_in_recovery { &s.primary_region } else { &s.recovery_region };
                format!("re-protect {} ({vms}): replication starts from {from} to {to}; the VMs' disks in {to} are overwritten by a new initial replication", plan.address)
            }
        })
        .collect()
}

/// Run `steps` in order, stopping at the first failure. Before each step the plan is read again
/// and the step refused if Azure does not allow it. Each step is a task of `progress`.
#[allow(clippy::too_many_arguments)]
pub async fn run(
    client: &ArmClient,
    plan: &Resource,
    items: &[ArmId],
    caches: &Caches,
    op: Operation,
    steps: &[Step],
    progress: &dyn Progress,
) -> Result<FailoverReport, FailoverError> {
    let mut results = Vec::new();
    let mut error = None;
    for (i, step) in steps.iter().enumerate() {
        let mut s = status(client, plan, items).await?;
        let task = Task::named(step.name());
        if i > 0 {
            if matches!(step, Step::UnplannedFailover(..)) {
                // A failback's failover waits for the reverse replication it just started.
                s = wait_protected(client, plan, items, s, &task, progress).await?;
            }
            if let Err(e) = require(plan, *step, &s) {
                error = Some(e.to_string());
                break;
            }
        }
        let start = Instant::now();
        let work = async {
            match step {
                Step::Reprotect => reprotect(client, plan, &s, caches, progress, &task).await,
                _ => client
                    .execute_for(&step.request(&plan.arm_id), progress, &task)
                    .await
                    .map(|_| ()),
            }
        };
        let outcome = track(progress, &task, work).await;
        let direction = match step {
            Step::UnplannedFailover(d, ..) => Some(d.as_arm().to_string()),
            _ => None,
        };
        let failed = outcome.err().map(|e| e.to_string());
        results.push(StepResult {
            step: step.name().into(),
            direction,
            seconds: secs(start.elapsed()),
            succeeded: failed.is_none(),
            error: failed.clone(),
        });
        if let Some(e) = failed {
            let why = job_errors(client, plan).await;
            error = Some(if why.is_empty() {
                format!("{} failed: {e}", step.name())
            } else {
                format!("{} failed: {e}\n  {}", step.name(), why.join("\n  "))
            });
            break;
        }
    }
    let s = status(client, plan, items).await?;
    Ok(FailoverReport {
        operation: op.name().into(),
        recovery_plan: plan.address.to_string(),
        arm_id: plan.arm_id.to_string(),
        succeeded: error.is_none(),
        steps: results,
        active_region: s.active_region().into(),
        vms: s.vms,
        allowed_operations: s.allowed_operations,
        sandbox_time: false,
        error,
    })
}

/// Re-protect each VM of the plan with `switchprotection` on its item's container, as Azure's
/// CLI does (FACTS §1): replication runs from the region the VMs run in now, with that region's
/// cache, to the other.
async fn reprotect(
    client: &ArmClient,
    plan: &Resource,
    s: &PlanStatus,
    caches: &Caches,
    progress: &dyn Progress,
    task: &Task,
) -> Result<(), AzureError> {
    for vm in &s.vms {
        let to = switch_target(vm, s, caches).map_err(AzureError::Config)?;
        let req = replication::switch_protection_request(&vm.live, &to).ok_or_else(|| {
            AzureError::Config(format!(
                "{}: the replicated item {} does not say its policy or disks",
                plan.address, vm.item
            ))
        })?;
        client.execute_for(&req, progress, task).await?;
    }
    Ok(())
}

/// The resource group and cache for re-protecting `vm`: back to the source region (its
/// original resource group, the target-region cache) when it runs in the target region, else
/// to the target region (the declared target resource group, the source cache).
fn switch_target(
    vm: &VmStatus,
    s: &PlanStatus,
    caches: &Caches,
) -> Result<replication::SwitchTarget, String> {
    if vm.runs_in.eq_ignore_ascii_case(&s.recovery_region) {
        let cache = caches
            .target
            .clone()
            .ok_or_else(|| missing_target_cache(s))?;
        let vm_id = ArmId::new(vm.vm_id.as_str());
        let rg = format!(
            "/subscriptions/{}/resourceGroups/{}",
            vm_id.subscription().unwrap_or_default(),
            vm_id.resource_group().unwrap_or_default()
        );
        Ok(replication::SwitchTarget {
            recovery_resource_group_id: rg,
            cache_storage_account_id: cache,
            disk_types: Default::default(),
        })
    } else {
        Ok(replication::SwitchTarget {
            recovery_resource_group_id: caches.target_resource_group.clone(),
            cache_storage_account_id: caches.source.clone(),
            disk_types: caches.disk_types.clone(),
        })
    }
}

fn missing_target_cache(s: &PlanStatus) -> String {
    format!(
        "re-protect replicates from {} back to {} through a cache storage account in {}: declare target_cache_storage_account in the site_recovery group",
        s.recovery_region, s.primary_region, s.recovery_region
    )
}

/// Refuse, before anything changes, a re-protect that has no cache to replicate back through.
pub fn require_caches(
    plan: &Resource,
    steps: &[Step],
    s: &PlanStatus,
    caches: &Caches,
) -> Result<(), Refusal> {
    let first_back = steps.first() == Some(&Step::Reprotect) && s.active_in_recovery;
    if first_back && caches.target.is_none() {
        return Err(Refusal::NoTargetCache(
            plan.address.to_string(),
            missing_target_cache(s),
        ));
    }
    Ok(())
}

/// The failed job's own errors (code, message, possible causes, recommended action): the plan's
/// `currentScenario.jobId` names the job of the operation that just ran. Best effort: a read that
/// fails leaves the operation's error as it is.
async fn job_errors(client: &ArmClient, plan: &Resource) -> Vec<String> {
    let Ok(Some(live)) = client.get_optional(&versioned(&plan.arm_id)).await else {
        return vec![];
    };
    let Some(job) = live["properties"]["currentScenario"]["jobId"].as_str() else {
        return vec![];
    };
    match client.get_optional(&versioned(&ArmId::new(job))).await {
        Ok(Some(j)) => replication::job_errors(&j),
        _ => vec![],
    }
}

/// Poll until every VM is protected (re-replication after a re-protect takes as long as an
/// initial replication: about 25 minutes in the recordings, A2A #111–121), reporting progress.
async fn wait_protected(
    client: &ArmClient,
    plan: &Resource,
    items: &[ArmId],
    mut s: PlanStatus,
    task: &Task,
    progress: &dyn Progress,
) -> Result<PlanStatus, FailoverError> {
    let started = Instant::now();
    let mut delay = Duration::from_millis(100);
    while !s.vms.iter().all(VmStatus::protected) {
        if started.elapsed() > Duration::from_secs(4 * 3600) {
            break;
        }
        let waiting: Vec<String> = s
            .vms
            .iter()
            .filter(|v| !v.protected())
            .map(|v| {
                let pct = v.progress.map(|p| format!(" {p}%")).unwrap_or_default();
                format!(
                    "{} {}{pct}",
                    v.name,
                    replication::state_words(&v.protection_state)
                )
            })
            .collect();
        progress.event(
            task,
            Event::WaitedFor {
                what: &format!("replication back: {}", waiting.join(", ")),
            },
        );
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(60));
        s = status(client, plan, items).await?;
    }
    Ok(s)
}

fn secs(d: Duration) -> f64 {
    (d.as_secs_f64() * 10.0).round() / 10.0
}
