//! Saved plans (`plan --out`, `apply PLAN`, `show`): a plan written with what it was made from
//! and a fingerprint of the live state it saw, read back only while it is current — made by
//! this version, against this estate, Azure unchanged since, and exactly the plan its own
//! configuration makes now (never a plan edited after review).

use super::plan::Made;
use crate::azure::{ArmClient, AzureError};
use crate::model::{Address, Desired, LiveState};
use crate::plan::file::SavedPlan;
use crate::plan::{self, Plan, PlanOptions};
use std::path::{Path, PathBuf};

/// This azprotect's version: a saved plan is applied by the version that made it.
const VERSION: &str = env!("CARGO_PKG_VERSION");

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
    /// What Azure held when the plan was made.
    pub seen: Seen<'a>,
}

/// What Azure held when a plan was made: the live state itself (`apply -f`), or its fingerprint
/// (a saved plan). Fingerprinted only when compared: an apply that takes no lease never is.
pub enum Seen<'a> {
    Live(&'a LiveState),
    Fingerprint(&'a str),
}

impl Seen<'_> {
    fn fingerprint(&self) -> std::borrow::Cow<'_, str> {
        match self {
            Seen::Live(live) => live.fingerprint().into(),
            Seen::Fingerprint(f) => (*f).into(),
        }
    }
}

impl<'a> Reviewed<'a> {
    pub fn made(made: &'a Made) -> Self {
        Reviewed {
            plan: &made.plan,
            desired: &made.desired,
            targets: &made.targets,
            seen: Seen::Live(&made.live),
        }
    }
    pub fn saved(saved: &'a SavedPlan) -> Self {
        Reviewed {
            plan: &saved.plan,
            desired: &saved.desired,
            targets: &saved.targets,
            seen: Seen::Fingerprint(&saved.live_fingerprint),
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
    if live.fingerprint() != reviewed.seen.fingerprint() {
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
