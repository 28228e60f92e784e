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
    #[error("{first_path} and {path} were dealt from different files: {difference}")]
    #[diagnostic(help(
        "plan every shard from the same commit of the same files, then merge their plans"
    ))]
    OtherFiles {
        path: PathBuf,
        first_path: PathBuf,
        difference: String,
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
        if let Some((_, first_path, first_saved)) = shards.first() {
            let names = [first_path.display().to_string(), path.display().to_string()];
            let deals = [first_saved.dealt.as_slice(), saved.dealt.as_slice()];
            if let Some(difference) = deal_difference(deals, [&names[0], &names[1]]) {
                return Err(MergeError::OtherFiles {
                    path: path.clone(),
                    first_path: (*first_path).clone(),
                    difference,
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

/// How two shards' deals differ, naming each plan by `names` (`None`: the same subscriptions
/// were dealt): a subscription one deal has and the other not would be planned twice or by no
/// shard.
fn deal_difference(deals: [&[String]; 2], names: [&str; 2]) -> Option<String> {
    let only = |a: &[String], b: &[String]| -> Vec<String> {
        a.iter()
            .filter(|s| !b.iter().any(|t| t.eq_ignore_ascii_case(s)))
            .cloned()
            .collect()
    };
    let parts: Vec<String> = [(0, 1), (1, 0)]
        .into_iter()
        .map(|(a, b)| (only(deals[a], deals[b]), names[a]))
        .filter(|(subs, _)| !subs.is_empty())
        .map(|(subs, name)| format!("{} only in {name}", subs.join(", ")))
        .collect();
    (!parts.is_empty()).then(|| parts.join("; "))
}

#[cfg(test)]
mod tests {
    use super::deal_difference;

    fn subs(ids: &[u8]) -> Vec<String> {
        ids.iter()
            .map(|i| format!("00000000-0000-0000-0000-{i:012}"))
            .collect()
    }

    #[test]
    fn shards_dealt_from_the_same_subscriptions_agree_and_any_difference_is_named() {
        let names = ["s1.json", "s2.json"];
        assert_eq!(
            deal_difference([&subs(&[1, 2]), &subs(&[1, 2])], names),
            None
        );
        let upper: Vec<String> = subs(&[1]).iter().map(|s| s.to_uppercase()).collect();
        assert_eq!(deal_difference([&subs(&[1]), &upper], names), None);
        assert_eq!(
            deal_difference([&subs(&[1, 2]), &subs(&[1, 3])], names).as_deref(),
            Some("00000000-0000-0000-0000-000000000002 only in s1.json; 00000000-0000-0000-0000-000000000003 only in s2.json")
        );
    }
}
