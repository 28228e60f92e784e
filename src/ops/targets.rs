//! `--target`s in the plan pipeline: what a plan is made with ([`Targets`]) and whether each
//! selects something. A target is an address (or a prefix of one), a stamp
//! (`stamp.NAME[SUB]`, translated by `ops::stamps`) or a subscription (`subscription.ID`, or its
//! display name): everything the plan would change there, and what that depends on elsewhere.

use super::plan::{PlanError, UnknownTarget};
use crate::config::diag::did_you_mean;
use crate::config::validate::names::is_guid;
use crate::model::stamp::{slug, StampSubscription};
use crate::model::{Address, ArmId, Desired, LiveState};
use crate::plan;
use std::collections::BTreeSet;

/// A `--target subscription.NAME` whose display name several subscriptions share.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("--target subscription.{name} names {} subscriptions: {}", .ids.len(), .ids.join(", "))]
#[diagnostic(
    code(azprotect::plan::ambiguous_target),
    help("display names need not be unique: name the subscription by its id")
)]
pub struct AmbiguousTarget {
    pub name: String,
    pub ids: Vec<String>,
}

/// The prefix that makes a `--target` a subscription's.
pub const SUBSCRIPTION_PREFIX: &str = "subscription.";

/// The subscription a `--target subscription.X` names (X trimmed), `None` for another target.
pub fn subscription_named(target: &str) -> Option<&str> {
    target.strip_prefix(SUBSCRIPTION_PREFIX).map(str::trim)
}

/// The `--target`s a plan is made with.
#[derive(Debug, Clone, Default)]
pub struct Targets {
    /// As written: each must select something ([`Targets::select`]).
    pub written: Vec<Address>,
    /// What `--target stamp.…` was translated into (`ops::stamps::translate`): every kind of
    /// resource a stamp generates, some of which may select nothing (a vault without
    /// protections yet).
    pub stamped: Vec<Address>,
    /// `--target subscription.…`: the subscriptions (lower-case ids) whose every change is
    /// planned ([`subscriptions`] resolves them).
    pub subscriptions: Vec<String>,
}

impl Targets {
    /// Is `subscription` one of the subscription targets?
    pub fn selects(&self, subscription: &str) -> bool {
        (self.subscriptions.iter()).any(|s| s.eq_ignore_ascii_case(subscription))
    }
}

/// What a plan whose every target is a subscription reads and plans, not the whole tenant: the
/// declarations of those subscriptions, of those whose Backup vaults reach into them (their role
/// assignments on its disks are its changes; their claims on its disks decide which vault
/// protects one) or may have roles left there (any that grants permissions: a disk it no
/// longer protects), and of those declaring a resource group either needs (a Disk Backup
/// vault's snapshot group, a Site Recovery target group). `None` when another kind of target is
/// given (it may be anywhere).
pub fn narrowed(whole: &Desired, targets: &Targets) -> Option<Desired> {
    if targets.subscriptions.is_empty()
        || !targets.written.is_empty()
        || !targets.stamped.is_empty()
    {
        return None;
    }
    let mut kept: Vec<String> = targets.subscriptions.clone();
    // A vault whose instance of a disk is deleted (with `on_remove: delete_data`, or by hand
    // after a stop) leaves its identity's roles on that disk to be removed, wherever the disk
    // was: the file no longer says where, so the vault is read whatever the target (its
    // instances lead the read there). Backup vaults are few.
    let reaching = (whole.disk_vaults.iter())
        .filter(|v| v.grant_permissions || v.reached_subscriptions().any(|s| targets.selects(&s)))
        .filter_map(|v| v.arm_id.subscription().map(str::to_ascii_lowercase));
    kept.extend(reaching);
    let keeps = |kept: &[String], s: &str| kept.iter().any(|k| k.eq_ignore_ascii_case(s));
    let part = whole.only(|s| keeps(&kept, s));
    kept.extend(
        whole
            .needed_elsewhere(&part)
            .into_iter()
            .map(|n| n.subscription),
    );
    Some(whole.only(|s| keeps(&kept, s)))
}

/// The subscriptions `written` (`--target subscription.X`, X without the prefix) name, as
/// lower-case ids: one the files declare something in or reach (their default, a disk's), one
/// of `stamped` (by id, display name or its slug: a stamp's, or the tenant's), one a stamp
/// could not read (`left_out`: refused later, by name), or any other subscription id — Azure may
/// hold something of the files' there that they no longer name (the roles of a disk a Backup
/// vault stopped protecting): [`Targets::select`] refuses it if it selects nothing. Anything
/// else is an [`UnknownTarget`] with a did-you-mean.
pub fn subscriptions(
    written: &[String],
    desired: &Desired,
    stamped: &[&StampSubscription],
    left_out: &[plan::LeftOut],
) -> Result<Vec<String>, PlanError> {
    let mut ids: Vec<String> = desired.subscriptions();
    ids.extend(stamped.iter().map(|s| s.id.to_ascii_lowercase()));
    ids.extend(left_out.iter().map(|l| l.subscription.to_ascii_lowercase()));
    ids.sort();
    ids.dedup();
    let mut out = Vec::new();
    for want in written {
        // Display names need not be unique: one naming several subscriptions is refused.
        let mut by_name: Vec<String> = (stamped.iter())
            .filter(|s| want.eq_ignore_ascii_case(&s.name) || *want == slug(&s.name))
            .map(|s| s.id.to_ascii_lowercase())
            .collect();
        by_name.sort();
        by_name.dedup();
        let by_id = ids.iter().find(|id| id.eq_ignore_ascii_case(want)).cloned();
        if by_id.is_none() && by_name.len() > 1 {
            return Err(AmbiguousTarget {
                name: want.clone(),
                ids: by_name,
            }
            .into());
        }
        let any_id = || is_guid(want).then(|| want.to_ascii_lowercase());
        let found = by_id.or(by_name.pop()).or_else(any_id);
        let Some(id) = found else {
            let names = stamped.iter().map(|s| s.name.as_str());
            let known: Vec<&str> = ids.iter().map(String::as_str).chain(names).collect();
            let help = did_you_mean(want, known.iter().copied()).unwrap_or_else(|| {
                format!(
                    "the files' subscriptions: {} (or their display names)",
                    ids.join(", ")
                )
            });
            return Err(UnknownTarget {
                target: format!("{SUBSCRIPTION_PREFIX}{want}"),
                help,
            }
            .into());
        };
        if !out.contains(&id) {
            out.push(id);
        }
    }
    Ok(out)
}

/// [`subscriptions`], naming a subscription by the display name Azure gives it where the files'
/// stamps do not: one `GET /subscriptions`, sent only when a target names none of theirs.
pub async fn subscriptions_named(
    client: &crate::azure::ArmClient,
    written: &[String],
    desired: &Desired,
    stamped: &[&StampSubscription],
    left_out: &[plan::LeftOut],
) -> Result<Vec<String>, PlanError> {
    let unknown = match subscriptions(written, desired, stamped, left_out) {
        Err(PlanError::UnknownTarget(unknown)) => unknown,
        known => return known,
    };
    let Ok(listed) = crate::live::management_groups::subscriptions(client).await else {
        return Err(unknown.into());
    };
    let tenant: Vec<StampSubscription> = (listed.into_iter())
        .map(|s| StampSubscription {
            id: s.id,
            name: s.display_name,
        })
        .collect();
    let named: Vec<&StampSubscription> = stamped.iter().copied().chain(&tenant).collect();
    subscriptions(written, desired, &named, left_out)
}

impl Targets {
    /// The addresses a plan of `desired` against `live` keeps (with what they depend on): those
    /// written and stamped, and every address the files declare or Azure holds in a targeted
    /// subscription; one read of what the plan compares, which also checks that every written
    /// and subscription target selects something (else an error with the nearest address). A
    /// saved plan records these, so `apply PLAN` plans exactly them again.
    pub fn select(&self, desired: &Desired, live: &LiveState) -> Result<Vec<Address>, PlanError> {
        let mut out: Vec<Address> = self.written.iter().chain(&self.stamped).cloned().collect();
        if self.written.is_empty() && self.subscriptions.is_empty() {
            return Ok(out);
        }
        let resolved = plan::resolve(desired, live);
        let known: Vec<(&Address, &ArmId)> = (resolved.iter())
            .chain(&live.resources)
            .map(|r| (&r.address, &r.arm_id))
            .collect();
        // One pass: what the subscription targets select, and which of them selected anything.
        let mut seen: BTreeSet<Address> = out.iter().cloned().collect();
        let mut selected = Vec::new();
        let mut hit: BTreeSet<String> = BTreeSet::new();
        for (a, id) in &known {
            let Some(sub) = id.subscription().filter(|s| self.selects(s)) else {
                continue;
            };
            hit.insert(sub.to_ascii_lowercase());
            if seen.insert((*a).clone()) {
                selected.push((*a).clone());
            }
        }
        if let Some(sub) =
            (self.subscriptions.iter()).find(|s| !hit.contains(&s.to_ascii_lowercase()))
        {
            let theirs = desired.subscriptions();
            let nothing = "the files declare nothing in it and Azure holds nothing of theirs there";
            let help = match did_you_mean(sub, theirs.iter().map(String::as_str)) {
                Some(nearest) => format!("{nothing}; {nearest}"),
                None => format!("{nothing} (theirs: {})", theirs.join(", ")),
            };
            return Err(UnknownTarget {
                target: format!("{SUBSCRIPTION_PREFIX}{sub}"),
                help,
            }
            .into());
        }
        let addresses: BTreeSet<&Address> = known.iter().map(|(a, _)| *a).collect();
        if let Some(t) =
            (self.written.iter()).find(|t| !addresses.iter().any(|a| a.matches_target(t)))
        {
            return Err(unknown_address(t, &addresses).into());
        }
        out.extend(selected);
        Ok(out)
    }

    /// Is `id` in one of the subscription targets?
    pub fn selects_id(&self, id: &ArmId) -> bool {
        id.subscription().is_some_and(|s| self.selects(s))
    }
}

/// A written target that selects nothing of `known`: the nearest address (or any prefix of its
/// name, `protected_vm.v`) as the help.
fn unknown_address(t: &Address, known: &BTreeSet<&Address>) -> UnknownTarget {
    let mut candidates: Vec<String> = Vec::new();
    for a in known {
        let parts: Vec<&str> = a.name.split('/').collect();
        for n in 1..=parts.len() {
            candidates.push(format!("{}.{}", a.kind.prefix(), parts[..n].join("/")));
        }
    }
    candidates.sort();
    candidates.dedup();
    let target = t.to_string();
    let help = did_you_mean(&target, candidates.iter().map(String::as_str)).unwrap_or_else(|| {
        format!(
            "a target is an address of `plan`'s output, or a prefix of one (e.g. `protected_vm.<vault>` for a vault's VMs); {} address(es) are known",
            known.len()
        )
    });
    UnknownTarget { target, help }
}

#[cfg(test)]
mod tests {
    use super::super::shard::fixture::{snapshots_in_another_subscription, SUB1, SUB2};
    use super::*;

    fn subscriptions_of(subs: &[&str]) -> Targets {
        Targets {
            subscriptions: subs.iter().map(|s| s.to_string()).collect(),
            ..Targets::default()
        }
    }

    #[test]
    fn a_subscription_target_reads_its_subscription_and_those_declaring_what_it_needs() {
        let whole = snapshots_in_another_subscription();
        // Subscription 1's Backup vault snapshots into a group subscription 2 declares.
        let one = narrowed(&whole, &subscriptions_of(&[SUB1])).expect("narrowed");
        assert_eq!(one.home_subscriptions(), [SUB1, SUB2]);
        // Subscription 2's disks are snapshotted by subscription 1's vault: its role assignments
        // there are subscription 2's changes, so that vault is read too.
        let two = narrowed(&whole, &subscriptions_of(&[SUB2])).expect("narrowed");
        assert_eq!(two.home_subscriptions(), [SUB1, SUB2]);
        assert_eq!(two.disk_vaults.len(), 1);
        // Another kind of target may be anywhere: the whole files are read.
        let mixed = Targets {
            written: vec![Address::new(
                crate::model::ResourceKind::RecoveryVault,
                "rsv-b",
            )],
            ..subscriptions_of(&[SUB1])
        };
        assert!(narrowed(&whole, &mixed).is_none());
    }

    #[test]
    fn a_subscription_is_named_by_id_in_any_case_or_as_a_stamp_names_it() {
        let whole = snapshots_in_another_subscription();
        let stamp = StampSubscription {
            id: "00000000-0000-0000-0000-0000000000C9".into(),
            name: "Corp Prod".into(),
        };
        let named = |w: &[&str]| {
            let written: Vec<String> = w.iter().map(|s| s.to_string()).collect();
            subscriptions(&written, &whole, &[&stamp], &[])
        };
        assert_eq!(named(&[&SUB2.to_uppercase()]).unwrap(), [SUB2]);
        assert_eq!(
            named(&["Corp Prod", "corp-prod", SUB1]).unwrap(),
            ["00000000-0000-0000-0000-0000000000c9", SUB1]
        );
        let unknown = |w: &str| match named(&[w]) {
            Err(PlanError::UnknownTarget(u)) => u,
            other => panic!("{w}: {other:?}"),
        };
        let typo = unknown("Corp Prd");
        assert_eq!(typo.target, "subscription.Corp Prd");
        assert!(typo.help.contains("Corp Prod"), "{}", typo.help);
        let unnamed = unknown("Sandbox");
        assert!(unnamed.help.contains(SUB2), "{}", unnamed.help);
        // Any other subscription id is taken: Azure may hold something of the files' there
        // (`select` refuses it when nothing is).
        let elsewhere = "11111111-2222-3333-4444-555555555555";
        assert_eq!(named(&[elsewhere]).unwrap(), [elsewhere]);
        let nothing = Targets {
            subscriptions: vec![elsewhere.into()],
            ..Targets::default()
        };
        match nothing.select(&whole, &LiveState::default()) {
            Err(PlanError::UnknownTarget(u)) => {
                assert_eq!(u.target, format!("subscription.{elsewhere}"));
                assert!(u.help.contains(SUB2), "{}", u.help);
            }
            other => panic!("{:?}", other.map(|_| ())),
        }
        // Display names need not be unique: a shared one is refused, never the first taken.
        let twin = StampSubscription {
            id: SUB2.into(),
            name: "Corp Prod".into(),
        };
        let shared = subscriptions(&["Corp Prod".into()], &whole, &[&stamp, &twin], &[]);
        match shared {
            Err(PlanError::AmbiguousTarget(a)) => {
                assert_eq!(a.ids, [SUB2, "00000000-0000-0000-0000-0000000000c9"])
            }
            other => panic!("{other:?}"),
        }
        // By id it is one.
        let by_id = subscriptions(&[SUB2.into()], &whole, &[&stamp, &twin], &[]);
        assert_eq!(by_id.unwrap(), [SUB2]);
    }
}
