//! `show --merge`: the plans of `plan --shard I/N` runs read as one plan for review — every
//! shard of the same split of the same estate, changes in shard order (each shard's own apply
//! order), subscriptions and summary of the whole. What is missing is said, never guessed.

use crate::model::shard::Shard;
use crate::plan::file::SavedPlan;
use crate::plan::{LeftOut, Plan};
use std::path::PathBuf;

/// Why shards' plans cannot be merged.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum MergeError {
    #[error("{path} is not a shard's plan (it was made without --shard)")]
    #[diagnostic(help(
        "merge the plans of `plan --shard I/N --out …` runs; show a whole plan without --merge"
    ))]
    NotAShard { path: PathBuf },
    #[error("{path} is shard {shard}, {first_path} is shard {first}: not the same split")]
    #[diagnostic(help("plan every shard with the same N"))]
    OtherSplit {
        path: PathBuf,
        shard: Shard,
        first_path: PathBuf,
        first: Shard,
    },
    #[error("{path} and {first_path} are both shard {shard}")]
    Twice {
        path: PathBuf,
        first_path: PathBuf,
        shard: Shard,
    },
    #[error("{path} was made against {estate}, {first_path} against {first}")]
    #[diagnostic(help("merge plans of one estate"))]
    OtherEstate {
        path: PathBuf,
        estate: String,
        first_path: PathBuf,
        first: String,
    },
}

/// Merge the shards' saved plans (`path`, plan): the plan says which shards are missing
/// (`missing_shards`) and which subscriptions any shard left out (`left_out`).
pub fn merge(plans: &[(PathBuf, SavedPlan)]) -> Result<Plan, MergeError> {
    let mut shards: Vec<(Shard, &PathBuf, &SavedPlan)> = Vec::new();
    for (path, saved) in plans {
        let Some(shard) = saved.plan.shard else {
            return Err(MergeError::NotAShard { path: path.clone() });
        };
        if let Some((first, first_path, first_saved)) = shards.first() {
            if shard.count != first.count {
                return Err(MergeError::OtherSplit {
                    path: path.clone(),
                    shard,
                    first_path: (*first_path).clone(),
                    first: *first,
                });
            }
            if !saved.estate.eq_ignore_ascii_case(&first_saved.estate) {
                return Err(MergeError::OtherEstate {
                    path: path.clone(),
                    estate: saved.estate.clone(),
                    first_path: (*first_path).clone(),
                    first: first_saved.estate.clone(),
                });
            }
        }
        if let Some((_, first_path, _)) = shards.iter().find(|(s, ..)| *s == shard) {
            return Err(MergeError::Twice {
                path: path.clone(),
                first_path: (*first_path).clone(),
                shard,
            });
        }
        shards.push((shard, path, saved));
    }
    shards.sort_by_key(|(s, ..)| *s);
    let count = shards.first().map_or(0, |(s, ..)| s.count);
    let missing_shards = (1..=count)
        .filter(|i| !shards.iter().any(|(s, ..)| s.index == *i))
        .map(|index| Shard { index, count })
        .collect();
    let mut left_out: Vec<LeftOut> = shards
        .iter()
        .flat_map(|(_, _, saved)| saved.plan.left_out.iter().cloned())
        .collect();
    left_out.sort_by(|a, b| a.subscription.cmp(&b.subscription));
    left_out.dedup_by(|a, b| a.subscription == b.subscription);
    let mut subscriptions: Vec<String> = shards
        .iter()
        .flat_map(|(_, _, saved)| saved.plan.subscriptions.iter().cloned())
        .collect();
    subscriptions.sort();
    subscriptions.dedup();
    let changes = shards
        .iter()
        .flat_map(|(_, _, saved)| saved.plan.changes.iter().cloned())
        .collect();
    let mut plan = Plan::new(subscriptions, changes);
    plan.left_out = left_out;
    plan.missing_shards = missing_shards;
    Ok(plan)
}
