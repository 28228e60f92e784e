//! The plan pipeline shared by `plan`, `apply` and `show`: load the files, expand their stamps
//! (`ops::stamps`), take a `--shard`'s part (`ops::shard`), read live state (`ops::unreadable`,
//! the stamps' VMs handed on), diff. Saving a plan and reading it back: `ops::saved_plan`.

pub use super::targets::Targets;
use crate::azure::{ArmClient, AzureError};
use crate::config::ConfigError;
use crate::graph::{Graph, GraphError};
use crate::model::shard::Shard;
use crate::model::stamp::StampTarget;
use crate::model::{Address, Desired, LiveState};
use crate::plan::{self, Plan, PlanOptions};
use miette::Diagnostic;
use std::path::PathBuf;
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
    #[error(transparent)]
    AmbiguousTarget(#[from] super::targets::AmbiguousTarget),
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
            PlanError::AmbiguousTarget(e) => e,
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

/// A plan, and the addresses its `--target`s selected ([`Targets::select`]).
pub struct Diffed {
    pub plan: Plan,
    pub targets: Vec<Address>,
}

/// Diff `desired` against `live` (read by the caller; the `diff` phase).
pub fn diff(
    desired: &Desired,
    live: &LiveState,
    targets: &Targets,
    phases: &mut Phases,
) -> Result<Diffed, PlanError> {
    phases.mark("diff");
    let targets = targets.select(desired, live)?;
    let plan = plan::plan(
        desired,
        live,
        &PlanOptions {
            targets: targets.clone(),
        },
    );
    Ok(Diffed { plan, targets })
}

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
    let (desired, live, diffed) =
        super::unreadable::diff_readable(client, loaded.desired, &targets, scope, before, phases)
            .await?;
    let Diffed { mut plan, targets } = diffed;
    loaded.desired = desired;
    plan.shard = scope.shard;
    let mut warnings = loaded.warnings;
    warnings.extend(
        leased_vaults(&plan, &live)
            .into_iter()
            .map(miette::Report::new),
    );
    Ok(Made {
        targets,
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
