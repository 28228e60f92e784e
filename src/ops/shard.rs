//! `--shard I/N` in the plan pipeline: the part of the files a shard plans, the `--target`s
//! it may take, and what it needs from another shard's apply (`model::shard` deals the
//! subscriptions).

use super::plan::{PlanError, UnknownTarget};
use super::targets::{Targets, SUBSCRIPTION_PREFIX};
use crate::model::shard::Shard;
use crate::model::stamp::StampTarget;
use crate::model::{Address, Desired};
use miette::Diagnostic;

/// What a shard plans: its part of the files, every subscription dealt, and warnings.
pub struct Part {
    pub desired: Desired,
    /// Every subscription the shards were dealt from (`SavedPlan::dealt`).
    pub dealt: Vec<String>,
    /// What the part needs from another shard ([`NeedsAnotherShard`]).
    pub warnings: Vec<miette::Report>,
}

/// Shard `shard` of `whole`, refusing a `--target` another shard owns.
pub fn part(whole: &Desired, shard: Shard, targets: &Targets) -> Result<Part, PlanError> {
    let dealt = whole.home_subscriptions();
    let desired = whole.shard(shard);
    targets_in_shard(whole, &desired, &targets.written, shard)?;
    for sub in &targets.subscriptions {
        match Shard::owning(sub, &dealt, shard.count) {
            Some(owner) if owner != shard => {
                return Err(TargetInAnotherShard {
                    target: format!("{SUBSCRIPTION_PREFIX}{sub}"),
                    subscription: sub.clone(),
                    owner,
                    shard,
                }
                .into())
            }
            _ => {}
        }
    }
    let warnings = (whole.needed_elsewhere(&desired).into_iter())
        .map(|need| {
            let owner = Shard::owning(&need.subscription, &dealt, shard.count);
            miette::Report::new(NeedsAnotherShard { need, owner })
        })
        .collect();
    Ok(Part {
        desired,
        dealt,
        warnings,
    })
}

/// A `--target` that the file declares in a subscription another shard owns.
#[derive(Debug, thiserror::Error, Diagnostic)]
#[error(
    "--target {target} is in subscription {subscription}, which shard {owner} owns, not {shard}"
)]
#[diagnostic(
    code(azprotect::plan::target_in_another_shard),
    help("plan it with --shard {owner}, or without --shard")
)]
pub struct TargetInAnotherShard {
    pub target: String,
    pub subscription: String,
    pub owner: Shard,
    pub shard: Shard,
}

/// The addresses a `--target stamp.…` was translated into that are `part`'s (the vaults and
/// groups it declares, what is under them): a stamp spanning shards is planned shard by shard.
/// A stamp target with nothing in this shard is refused, never planned as the whole shard.
pub fn stamped_targets_in(
    part: &Desired,
    stamped: Vec<Address>,
    written: &[StampTarget],
    shard: Shard,
) -> Result<Vec<Address>, PlanError> {
    let declared = |name: &str| {
        let top = name.split('/').next().unwrap_or(name);
        part.resources.iter().any(|r| r.address.name == top)
    };
    let mine: Vec<Address> = stamped.into_iter().filter(|a| declared(&a.name)).collect();
    match (mine.is_empty(), written.first()) {
        (true, Some(t)) => Err(UnknownTarget {
            target: t.to_string(),
            help: format!("the stamp's subscriptions are dealt to other shards than {shard}: plan it without --shard, or with the shard that owns them"),
        }
        .into()),
        _ => Ok(mine),
    }
}

/// A shard needs a resource group another shard creates: their applies are ordered.
#[derive(Debug, thiserror::Error, Diagnostic)]
#[error(
    "{} needs {}, which {} creates (subscription {})",
    need.needed_by,
    need.group,
    owner.map_or("another shard".to_string(), |o| format!("shard {o}")),
    need.subscription
)]
#[diagnostic(
    severity(Warning),
    code(azprotect::plan::needs_another_shard),
    help("apply that shard first (until it has, this shard's apply fails where the group is missing), or declare the group in this shard's subscription")
)]
pub struct NeedsAnotherShard {
    pub need: crate::model::shard::NeededElsewhere,
    pub owner: Option<Shard>,
}

/// Every `--target` the file declares is in `part` (the shard's), else the shard that owns it
/// is named — not "matches nothing" after a read.
fn targets_in_shard(
    whole: &Desired,
    part: &Desired,
    targets: &[Address],
    shard: Shard,
) -> Result<(), PlanError> {
    let all = whole.home_subscriptions();
    for t in targets {
        if part.resources.iter().any(|r| r.address.matches_target(t)) {
            continue;
        }
        let Some(sub) = (whole.resources.iter())
            .find(|r| r.address.matches_target(t))
            .and_then(|r| r.arm_id.subscription())
        else {
            continue;
        };
        if let Some(owner) = Shard::owning(sub, &all, shard.count) {
            return Err(TargetInAnotherShard {
                target: t.to_string(),
                subscription: sub.to_ascii_lowercase(),
                owner,
                shard,
            }
            .into());
        }
    }
    Ok(())
}

/// Files over two subscriptions, for tests of shards and targets: a Backup vault of
/// subscription 1 snapshotting a disk of subscription 2 into a group the file creates there, and
/// a vault of subscription 2 so that shards split 1 | 2.
#[cfg(test)]
pub(super) mod fixture {
    use crate::model::Desired;

    pub const SUB1: &str = "00000000-0000-0000-0000-000000000001";
    pub const SUB2: &str = "00000000-0000-0000-0000-000000000002";

    pub fn snapshots_in_another_subscription() -> Desired {
        let yaml = format!(
            "version: 1\nsubscription: {SUB1}\nresource_groups:\n  rg-snap: {{location: westeurope, subscription: {SUB2}}}\n  rg-b: {{location: westeurope, subscription: {SUB2}}}\nrecovery_vaults:\n  rsv-b: {{subscription: {SUB2}, resource_group: rg-b, location: westeurope}}\ndisk_backup:\n  bv-a:\n    resource_group: rg-a\n    location: westeurope\n    policies:\n      every-4h: {{every: 4h, retention: 7d}}\n    protect:\n      - policy: every-4h\n        snapshot_resource_group: /subscriptions/{SUB2}/resourceGroups/rg-snap\n        disks: [/subscriptions/{SUB2}/resourceGroups/rg-app/providers/Microsoft.Compute/disks/d1]\n"
        );
        let loaded = crate::config::load_sources(vec![("azprotect.yaml".into(), yaml)])
            .unwrap_or_else(|e| panic!("{:?}", miette::Report::new(e)));
        loaded.desired(None).expect("desired")
    }
}

#[cfg(test)]
mod tests {
    use super::fixture::{snapshots_in_another_subscription as whole, SUB1, SUB2};
    use super::*;

    #[test]
    fn a_shard_that_needs_a_group_another_shard_creates_is_warned_with_that_shard() {
        let whole = whole();
        let one = part(&whole, Shard { index: 1, count: 2 }, &Targets::default()).unwrap();
        let said: Vec<String> = one.warnings.iter().map(|w| w.to_string()).collect();
        assert_eq!(
            said,
            [format!("disk_backup bv-a needs resource_group.rg-snap, which shard 2/2 creates (subscription {SUB2})")]
        );
        assert_eq!(one.dealt, [SUB1, SUB2]);
        // The shard that creates the group needs nothing from the other.
        let two = part(&whole, Shard { index: 2, count: 2 }, &Targets::default()).unwrap();
        assert!(two.warnings.is_empty());
        // Unsharded, nothing is elsewhere.
        assert!(whole.needed_elsewhere(&whole).is_empty());
    }
}
