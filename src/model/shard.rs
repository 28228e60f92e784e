//! `--shard I/N`: one of N parts of an estate, split by subscription so that N runners (a CI
//! matrix) plan and apply a tenant in parallel, each within its own subscriptions' ARM quotas.
//!
//! The subscriptions a file's declarations live in (its vaults, resource groups, Site Recovery
//! and Disk Backup vaults — not the VMs or disks they point at) are sorted and dealt out in turn:
//! shard `I` owns the subscriptions at positions `I-1`, `I-1+N`, … . Every runner loads the same
//! files, so every runner deals the same hand; the shards are as even as N allows.

use super::{ArmId, Desired};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Shard `index` (1-based) of `count`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
pub struct Shard {
    /// 1 to `count`.
    pub index: u32,
    pub count: u32,
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl std::str::FromStr for Shard {
    type Err = String;

    /// `I/N` with 1 ≤ I ≤ N.
    fn from_str(s: &str) -> Result<Shard, String> {
        let bad = || format!("'{s}' is not a shard: use I/N, e.g. 1/4 (1 ≤ I ≤ N)");
        let (i, n) = s.trim().split_once('/').ok_or_else(bad)?;
        let (index, count): (u32, u32) = (
            i.trim().parse().map_err(|_| bad())?,
            n.trim().parse().map_err(|_| bad())?,
        );
        if index == 0 || count == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

impl Shard {
    /// The subscriptions (lower case, sorted) this shard owns among `all`.
    pub fn owned(&self, all: &[String]) -> Vec<String> {
        let mut subs: Vec<String> = all.iter().map(|s| s.to_ascii_lowercase()).collect();
        subs.sort();
        subs.dedup();
        subs.into_iter()
            .enumerate()
            .filter(|(i, _)| *i as u32 % self.count == self.index - 1)
            .map(|(_, s)| s)
            .collect()
    }
}

impl Shard {
    /// The shard of `count` that owns `subscription` among `all` (`None`: not one of them).
    pub fn owning(subscription: &str, all: &[String], count: u32) -> Option<Shard> {
        (1..=count).map(|index| Shard { index, count }).find(|s| {
            s.owned(all)
                .iter()
                .any(|o| o.eq_ignore_ascii_case(subscription))
        })
    }
}

impl Desired {
    /// The subscriptions the file's declarations live in (sorted, lower case): what shards
    /// split.
    pub fn home_subscriptions(&self) -> Vec<String> {
        let ids = (self.resources.iter().map(|r| &r.arm_id))
            .chain(self.replication_groups.iter().map(|g| &g.vault_id))
            .chain(self.disk_vaults.iter().map(|v| &v.arm_id));
        let mut subs: Vec<String> = ids
            .filter_map(ArmId::subscription)
            .map(str::to_ascii_lowercase)
            .collect();
        subs.sort();
        subs.dedup();
        subs
    }

    /// What `shard` plans: the declarations of the subscriptions it owns.
    pub fn shard(&self, shard: Shard) -> Desired {
        let owned = shard.owned(&self.home_subscriptions());
        self.only(|s| owned.iter().any(|o| o.eq_ignore_ascii_case(s)))
    }

    /// The declarations whose home subscription `keep` keeps (a shard's, the readable ones).
    pub fn only(&self, keep: impl Fn(&str) -> bool) -> Desired {
        let mine = |id: &ArmId| id.subscription().is_some_and(&keep);
        let vault_names: Vec<&str> = (self.vaults.iter())
            .filter(|v| mine(&v.arm_id))
            .map(|v| v.name.as_str())
            .collect();
        Desired {
            // The default subscription is read only where it is kept (a shard that does not
            // own it, or a plan that leaves it out, must not touch it).
            subscription: match keep(&self.subscription) {
                true => self.subscription.clone(),
                false => String::new(),
            },
            resources: (self.resources.iter())
                .filter(|r| mine(&r.arm_id))
                .cloned()
                .collect(),
            selectors: (self.selectors.iter())
                .filter(|s| vault_names.contains(&s.vault.as_str()))
                .cloned()
                .collect(),
            vaults: (self.vaults.iter())
                .filter(|v| mine(&v.arm_id))
                .cloned()
                .collect(),
            replication_groups: (self.replication_groups.iter())
                .filter(|g| mine(&g.vault_id))
                .cloned()
                .collect(),
            disk_vaults: (self.disk_vaults.iter())
                .filter(|v| mine(&v.arm_id))
                .cloned()
                .collect(),
        }
    }
}

/// A resource group one part of the files needs (a Disk Backup vault's snapshot group, a Site
/// Recovery group's target group) that the files declare in a subscription the part does not
/// hold: another shard's apply creates it, so the part's apply must come after that one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NeededElsewhere {
    /// What needs it, in the file's words: `disk_backup bv-prod-weu`, `site_recovery app-dr`.
    pub needed_by: String,
    /// The group's address (`resource_group.<name>`).
    pub group: super::Address,
    /// The group's subscription (lower case).
    pub subscription: String,
}

impl Desired {
    /// The resource groups `part` (a shard of `self`) needs that `self` declares outside it.
    pub fn needed_elsewhere(&self, part: &Desired) -> Vec<NeededElsewhere> {
        let needs = (part.disk_vaults.iter()).flat_map(|v| {
            (v.protect.iter()).map(move |p| {
                (
                    format!("disk_backup {}", v.name),
                    &p.snapshot_resource_group_id,
                )
            })
        });
        let needs = needs.chain((part.replication_groups.iter()).map(|g| {
            (
                format!("site_recovery {}", g.name),
                &g.target_resource_group_id,
            )
        }));
        let mut out: Vec<NeededElsewhere> = Vec::new();
        for (needed_by, id) in needs {
            let id = ArmId::new(id.as_str());
            let declared = |d: &Desired| {
                (d.resources.iter())
                    .find(|r| {
                        r.address.kind == super::ResourceKind::ResourceGroup && r.arm_id == id
                    })
                    .map(|r| r.address.clone())
            };
            let (Some(group), None) = (declared(self), declared(part)) else {
                continue;
            };
            let found = NeededElsewhere {
                needed_by,
                group,
                subscription: id.subscription().unwrap_or_default().to_ascii_lowercase(),
            };
            if !out.contains(&found) {
                out.push(found);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subs(n: usize) -> Vec<String> {
        (0..n)
            .map(|i| format!("00000000-0000-0000-0000-{i:012}"))
            .collect()
    }

    #[test]
    fn shards_parse_as_i_of_n_and_refuse_anything_else() {
        assert_eq!("2/4".parse(), Ok(Shard { index: 2, count: 4 }));
        for bad in ["0/4", "5/4", "1/0", "1", "a/b", "1/4/2", ""] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }

    #[test]
    fn every_subscription_is_owned_by_exactly_one_shard_and_shards_are_even() {
        let all = subs(10);
        let mut seen: Vec<String> = Vec::new();
        let mut sizes = Vec::new();
        for index in 1..=4 {
            let owned = Shard { index, count: 4 }.owned(&all);
            sizes.push(owned.len());
            seen.extend(owned);
        }
        seen.sort();
        assert_eq!(seen, all);
        assert_eq!(sizes, [3, 3, 2, 2]);
    }

    #[test]
    fn the_shard_owning_a_subscription_is_found() {
        let all = subs(5);
        let s = Shard::owning(&all[3].to_ascii_uppercase(), &all, 2).unwrap();
        assert_eq!(s, Shard { index: 2, count: 2 });
        assert!(s.owned(&all).contains(&all[3]));
        assert_eq!(Shard::owning("elsewhere", &all, 2), None);
    }

    #[test]
    fn the_deal_does_not_depend_on_the_order_or_case_subscriptions_come_in() {
        let mut all = subs(7);
        let a = Shard { index: 3, count: 3 }.owned(&all);
        all.reverse();
        all[0] = all[0].to_ascii_uppercase();
        assert_eq!(Shard { index: 3, count: 3 }.owned(&all), a);
    }
}
