//! The plan pipeline shared by `plan`, `apply` and `show`: load the files, expand their stamps
//! (`ops::stamps`), take a `--shard`'s part (`ops::shard`), read live state (`ops::unreadable`,
//! the stamps' VMs handed on), diff; save a plan and read it back.

pub use super::targets::Targets;
use crate::azure::{ArmClient, AzureError};
use crate::config::ConfigError;
use crate::graph::{Graph, GraphError};
use crate::model::shard::Shard;
use crate::model::stamp::StampTarget;
use crate::model::{Address, Desired, LiveState};
use crate::plan::file::SavedPlan;
use crate::plan::{self, Plan, PlanOptions};
use miette::Diagnostic;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Why a plan could not be made: the underlying diagnostic, shown as it is.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Graph(#[from] GraphError),
    #[error(transparent)]
    Azure(Box<AzureError>),
    #[error(transparent)]
    UnknownTarget(#[from] UnknownTarget),
    #[error(transparent)]
    Unreadable(#[from] super::unreadable::Unreadable),
    #[error(transparent)]
    TargetInAnotherShard(#[from] super::shard::TargetInAnotherShard),
    #[error(transparent)]
    TargetUnreadable(#[from] super::unreadable::TargetUnreadable),
}

/// A `--target` that selects nothing: a typo must not pass as "No changes".
#[derive(Debug, thiserror::Error, Diagnostic)]
#[error("--target {target} matches nothing in the configuration or in Azure")]
#[diagnostic(code(azprotect::plan::unknown_target), help("{help}"))]
pub struct UnknownTarget {
    pub target: String,
    pub help: String,
}

impl From<AzureError> for PlanError {
    fn from(e: AzureError) -> Self {
        PlanError::Azure(Box::new(e))
    }
}

impl From<super::stamps::StampError> for PlanError {
    fn from(e: super::stamps::StampError) -> Self {
        match e {
            super::stamps::StampError::Config(e) => e.into(),
            super::stamps::StampError::Azure(e) => e.into(),
        }
    }
}

impl PlanError {
    fn inner(&self) -> &dyn Diagnostic {
        match self {
            PlanError::Config(e) => e,
            PlanError::Graph(e) => e,
            PlanError::Azure(e) => e.as_ref(),
            PlanError::UnknownTarget(e) => e,
            PlanError::Unreadable(e) => e,
            PlanError::TargetInAnotherShard(e) => e,
            PlanError::TargetUnreadable(e) => e,
        }
    }
}

impl Diagnostic for PlanError {
    fn code<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        self.inner().code()
    }
    fn severity(&self) -> Option<miette::Severity> {
        self.inner().severity()
    }
    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        self.inner().help()
    }
    fn url<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        self.inner().url()
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.inner().source_code()
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        self.inner().labels()
    }
    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn Diagnostic> + 'a>> {
        self.inner().related()
    }
    fn diagnostic_source(&self) -> Option<&dyn Diagnostic> {
        self.inner().diagnostic_source()
    }
}

/// The files to read: those given, else `azprotect.yaml`.
pub fn files_or_default(files: &[PathBuf]) -> Vec<PathBuf> {
    if files.is_empty() {
        vec!["azprotect.yaml".into()]
    } else {
        files.to_vec()
    }
}

/// The files, loaded: the desired state and the warnings to show before going on.
pub struct Loaded {
    pub desired: Desired,
    pub warnings: Vec<miette::Report>,
}

/// Load and validate the files (their dependency graph included). Stamps are not expanded
/// (that needs a discovery read: [`make`]).
pub fn load(files: &[PathBuf], default_subscription: Option<&str>) -> Result<Loaded, PlanError> {
    finish(&crate::config::load(files)?, default_subscription)
}

/// Loaded files → the desired state, its dependency graph checked.
pub(super) fn finish(
    loaded: &crate::config::Loaded,
    default_subscription: Option<&str>,
) -> Result<Loaded, PlanError> {
    let desired = loaded.desired(default_subscription)?;
    Graph::of_resources(&desired.resources)?;
    Ok(Loaded {
        desired,
        warnings: loaded.warnings(),
    })
}

/// Wall time per phase of a plan (`load`, `read`, `diff`, …), for `AZPROTECT_TIMINGS`.
#[derive(Debug, Default)]
pub struct Phases {
    current: Option<(&'static str, Instant)>,
    pub done: Vec<(&'static str, Duration)>,
}

impl Phases {
    pub fn mark(&mut self, phase: &'static str) {
        if let Some((name, at)) = self.current.take() {
            self.done.push((name, at.elapsed()));
        }
        self.current = Some((phase, Instant::now()));
    }

    /// End the last phase.
    pub fn finish(&mut self) {
        self.mark("end");
        self.current = None;
    }
}

/// Diff `desired` against `live` (read by the caller; the `diff` phase).
pub fn diff(
    desired: &Desired,
    live: &LiveState,
    targets: &Targets,
    phases: &mut Phases,
) -> Result<Plan, PlanError> {
    phases.mark("diff");
    super::targets::check(desired, live, targets)?;
    Ok(plan::plan(
        desired,
        live,
        &PlanOptions {
            targets: targets.addresses(desired, live),
        },
    ))
}

/// This azprotect's version: a saved plan is applied by the version that made it.
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// What of the files a plan covers: `--target`s (and what they depend on), a `--shard`.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    pub targets: Vec<Address>,
    /// `--target stamp.NAME[SUB]`: translated into `targets` once the stamps are expanded.
    pub stamp_targets: Vec<StampTarget>,
    /// `--target subscription.X` (X as written: an id, or a display name).
    pub subscription_targets: Vec<String>,
    pub shard: Option<Shard>,
    /// `--allow-partial`: plan the subscriptions the identity may read, and say which not.
    pub allow_partial: bool,
    /// `--discovery`: how VMs and resource groups are found (`live::discovery`).
    pub discovery: crate::live::Discovery,
}

/// A plan made from the files: what it was made from and the warnings to show.
pub struct Made {
    pub desired: Desired,
    pub live: LiveState,
    pub targets: Vec<Address>,
    /// For `--shard`: the subscriptions every shard was dealt from (`SavedPlan::dealt`).
    pub dealt: Vec<String>,
    pub plan: Plan,
    pub warnings: Vec<miette::Report>,
}

/// Files → desired → live → plan: what `plan` and `apply` run, timed by `phases`.
pub async fn make(
    client: &ArmClient,
    default_subscription: Option<&str>,
    files: &[PathBuf],
    scope: &Scope,
    phases: &mut Phases,
) -> Result<Made, PlanError> {
    phases.mark("load");
    let config = crate::config::load(files)?;
    if config.stamps_wanted().is_some() {
        phases.mark("stamps");
    }
    // Stamps expand into hand-written-like groups and vaults (a discovery read, only when the
    // files have stamps); the VMs, resource groups and vault lists it read are handed to the
    // live read, not read again.
    let mut stamps = super::stamps::expand(client, config, scope.discovery).await?;
    let known = stamps.facts.as_mut().map(|f| crate::live::Known {
        subscriptions: f.vms_of.clone(),
        vms: std::mem::take(&mut f.vms),
        groups: std::mem::take(&mut f.resource_groups),
        vault_lists: std::mem::take(&mut f.vault_lists),
    });
    let mut loaded = finish(&stamps.loaded, default_subscription)?;
    let named: Vec<_> = stamps.stamps.iter().flat_map(|(_, subs)| subs).collect();
    let mut targets = Targets {
        written: scope.targets.clone(),
        stamped: super::stamps::translate(&scope.stamp_targets, &stamps)?,
        subscriptions: super::targets::subscriptions_named(
            client,
            &scope.subscription_targets,
            &loaded.desired,
            &named,
            &stamps.left_out,
        )
        .await?,
    };
    let mut dealt = Vec::new();
    if let Some(shard) = scope.shard {
        let part = super::shard::part(&loaded.desired, shard, &targets)?;
        targets.stamped = super::shard::stamped_targets_in(
            &part.desired,
            targets.stamped,
            &scope.stamp_targets,
            shard,
        )?;
        loaded.desired = part.desired;
        loaded.warnings.extend(part.warnings);
        dealt = part.dealt;
    }
    let mut left_out = stamps.left_out;
    if let Some(part) = super::targets::narrowed(&loaded.desired, &targets) {
        // A stamp subscription that could not be read matters only if it is targeted.
        left_out.retain(|l| targets.selects(&l.subscription));
        loaded.desired = part;
    }
    let before = super::unreadable::Before { known, left_out };
    let (desired, live, mut plan) =
        super::unreadable::diff_readable(client, loaded.desired, &targets, scope, before, phases)
            .await?;
    loaded.desired = desired;
    plan.shard = scope.shard;
    let mut warnings = loaded.warnings;
    warnings.extend(
        leased_vaults(&plan, &live)
            .into_iter()
            .map(miette::Report::new),
    );
    Ok(Made {
        targets: targets.addresses(&loaded.desired, &live),
        desired: loaded.desired,
        live,
        dealt,
        plan,
        warnings,
    })
}

/// A vault the plan writes is leased by an apply that is running (`apply::lease`).
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("{vault} is being changed by another apply: {holder}")]
#[diagnostic(
    severity(Warning),
    code(azprotect::plan::vault_leased),
    help("this plan reads Azure while that apply changes it: plan again once it ends (apply refuses to run meanwhile, or waits with --lock-timeout)")
)]
pub struct VaultLeased {
    pub vault: String,
    pub holder: String,
}

/// The vaults the plan writes that another apply holds now.
fn leased_vaults(plan: &Plan, live: &LiveState) -> Vec<VaultLeased> {
    use crate::model::lease::{self, Lease};
    let now = time::OffsetDateTime::now_utc();
    let written = crate::apply::lease::vaults_written(plan);
    written
        .existing
        .iter()
        .filter_map(|id| {
            let held = live.leases.get(id).and_then(|v| Lease::parse(v))?;
            (!held.expired(now)).then(|| VaultLeased {
                vault: lease::vault_address(id).to_string(),
                holder: held.describe(),
            })
        })
        .collect()
}

/// Why a saved plan could not be written or read.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum SavedPlanError {
    #[error("could not write the plan to {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("could not read the plan {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a plan saved by `azprotect plan --out`: {source}")]
    NotAPlan {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("{path} is not a plan this azprotect can apply (format {format})")]
    Format { path: PathBuf, format: u32 },
}

/// Save `plan` with what it was made from (`plan --out`).
pub fn save(path: &Path, estate: &str, made: &Made) -> Result<(), SavedPlanError> {
    let saved = SavedPlan {
        kind: "azprotect-plan".into(),
        azprotect_version: VERSION.into(),
        live_fingerprint: made.live.fingerprint(),
        estate: estate.to_string(),
        desired: made.desired.clone(),
        targets: made.targets.clone(),
        dealt: made.dealt.clone(),
        plan: made.plan.clone(),
    };
    let json = serde_json::to_string_pretty(&saved).expect("a plan serializes");
    let write = |source| SavedPlanError::Write {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(write)?;
    }
    std::fs::write(path, json + "\n").map_err(write)
}

/// Read a plan saved by `plan --out`.
pub fn load_saved(path: &Path) -> Result<SavedPlan, SavedPlanError> {
    let text = std::fs::read_to_string(path).map_err(|source| SavedPlanError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let saved: SavedPlan =
        serde_json::from_str(&text).map_err(|source| SavedPlanError::NotAPlan {
            path: path.to_path_buf(),
            source,
        })?;
    if saved.kind != "azprotect-plan" || saved.plan.format_version != plan::FORMAT_VERSION {
        return Err(SavedPlanError::Format {
            path: path.to_path_buf(),
            format: saved.plan.format_version,
        });
    }
    Ok(saved)
}

/// Why a saved plan will not be applied.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum CurrentPlanError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Saved(#[from] SavedPlanError),
    #[error("the plan was made against {made}, not {now}")]
    OtherEndpoint { made: String, now: String },
    #[error("the plan was made by azprotect {made}; this is {now}")]
    #[diagnostic(help(
        "run `azprotect plan` again with this version, review it, and apply the new plan"
    ))]
    OtherVersion { made: String, now: String },
    #[error("the plan file does not hold the plan its own configuration makes against Azure now (was it edited after review?); nothing was applied.\n  {first_difference}")]
    #[diagnostic(
        code(azprotect::apply::edited_plan),
        help("a saved plan is applied only as `plan` wrote it: run `azprotect plan --out` again, review it, and apply that file")
    )]
    Edited { first_difference: String },
    #[error("Azure changed since this plan was made; nothing was applied.\n{what_changed}")]
    #[diagnostic(help("run `azprotect plan` again, review it, and apply the new plan"))]
    Stale { what_changed: String },
    #[error(transparent)]
    Azure(Box<AzureError>),
}

impl From<AzureError> for CurrentPlanError {
    fn from(e: AzureError) -> Self {
        CurrentPlanError::Azure(Box::new(e))
    }
}

/// A saved plan that is still current: made against this `estate` (see
/// `plan::file::SavedPlan::estate`), and Azure unchanged since (the live state's fingerprint is
/// the one the plan recorded).
pub async fn load_current(
    client: &ArmClient,
    estate: &str,
    path: &Path,
) -> Result<SavedPlan, CurrentPlanError> {
    let saved = load_saved(path)?;
    if !saved.estate.eq_ignore_ascii_case(estate) {
        return Err(CurrentPlanError::OtherEndpoint {
            made: saved.estate,
            now: estate.to_string(),
        });
    }
    if saved.azprotect_version != VERSION {
        return Err(CurrentPlanError::OtherVersion {
            made: saved.azprotect_version,
            now: VERSION.into(),
        });
    }
    let reviewed = Reviewed::saved(&saved);
    let live = still_current(client, &reviewed).await?;
    let now = reviewed.plan_against(&live);
    // Azure is as it was: the file's own configuration makes exactly the plan it holds, or the
    // file was edited after review.
    if let Some(first_difference) = first_difference(&saved.plan, &now) {
        return Err(CurrentPlanError::Edited { first_difference });
    }
    Ok(saved)
}

/// A plan as it was reviewed, with what it was made from: enough to tell whether Azure is
/// still as the plan saw it.
pub struct Reviewed<'a> {
    pub plan: &'a Plan,
    pub desired: &'a Desired,
    pub targets: &'a [Address],
    pub live_fingerprint: String,
}

impl<'a> Reviewed<'a> {
    pub fn made(made: &'a Made) -> Self {
        Reviewed {
            plan: &made.plan,
            desired: &made.desired,
            targets: &made.targets,
            live_fingerprint: made.live.fingerprint(),
        }
    }
    pub fn saved(saved: &'a SavedPlan) -> Self {
        Reviewed {
            plan: &saved.plan,
            desired: &saved.desired,
            targets: &saved.targets,
            live_fingerprint: saved.live_fingerprint.clone(),
        }
    }
}

impl Reviewed<'_> {
    /// The plan the reviewed configuration makes against `live` (for the same shard and
    /// subscriptions: the reviewed desired state is already without the others).
    fn plan_against(&self, live: &LiveState) -> Plan {
        let opts = PlanOptions {
            targets: self.targets.to_vec(),
        };
        let mut made = plan::plan(self.desired, live, &opts);
        made.shard = self.plan.shard;
        made.left_out = self.plan.left_out.clone();
        made
    }
}

/// Read Azure again: `Stale` (saying what a plan made now would change) unless it is as the
/// reviewed plan saw it. Returns what was read.
pub async fn still_current(
    client: &ArmClient,
    reviewed: &Reviewed<'_>,
) -> Result<LiveState, CurrentPlanError> {
    // The vaults' soft delete the plan was made with (`ops::unreadable::diff_readable`).
    let options = crate::live::ReadOptions {
        vault_configs: crate::live::VaultConfigs::Only(crate::plan::soft_delete_consulted(
            reviewed.desired,
            Some(reviewed.plan),
        )),
        ..Default::default()
    };
    let live = crate::live::read_every(client, reviewed.desired, &options).await?;
    if live.fingerprint() != reviewed.live_fingerprint {
        return Err(CurrentPlanError::Stale {
            what_changed: what_changed(reviewed.plan, &reviewed.plan_against(&live)),
        });
    }
    Ok(live)
}

/// Where the saved plan's changes differ from the ones its configuration makes: the first
/// change that differs, and in what.
fn first_difference(saved: &Plan, made: &Plan) -> Option<String> {
    if saved == made {
        return None;
    }
    for (i, (s, m)) in saved.changes.iter().zip(&made.changes).enumerate() {
        if s == m {
            continue;
        }
        let (sv, mv) = (
            serde_json::to_value(s).unwrap_or_default(),
            serde_json::to_value(m).unwrap_or_default(),
        );
        let fields: Vec<&str> = [
            "address",
            "action",
            "arm_id",
            "before",
            "after",
            "diff",
            "data",
            "blocked",
            "depends_on",
            "reasons",
        ]
        .into_iter()
        .filter(|f| sv.get(f) != mv.get(f))
        .collect();
        return Some(format!(
            "change {} ({}) differs in {}",
            i + 1,
            s.address,
            fields.join(", ")
        ));
    }
    Some(match saved.changes.len().cmp(&made.changes.len()) {
        std::cmp::Ordering::Greater => format!(
            "the file holds {} change(s) its configuration does not make, the first {}",
            saved.changes.len() - made.changes.len(),
            saved.changes[made.changes.len()].address
        ),
        std::cmp::Ordering::Less => format!(
            "the file lacks {} change(s) its configuration makes, the first {}",
            made.changes.len() - saved.changes.len(),
            made.changes[saved.changes.len()].address
        ),
        std::cmp::Ordering::Equal => "its summary or subscriptions differ".to_string(),
    })
}

/// A short description of how a fresh plan differs from the saved one.
fn what_changed(saved: &Plan, now: &Plan) -> String {
    let key = |p: &Plan| -> std::collections::BTreeSet<String> {
        p.changes
            .iter()
            .map(|c| format!("{} {}", c.action.symbol(), c.address))
            .collect()
    };
    let (before, after) = (key(saved), key(now));
    let mut lines: Vec<String> = Vec::new();
    for gone in before.difference(&after) {
        lines.push(format!("  no longer planned: {gone}"));
    }
    for new in after.difference(&before) {
        lines.push(format!("  newly planned:     {new}"));
    }
    if lines.is_empty() {
        lines.push("  the same changes are planned, but their live values differ".into());
    }
    lines.join("\n")
}
