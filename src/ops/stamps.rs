//! Stamps in the plan pipeline: the discovery read (only when the files have stamps), the
//! expansion into hand-written-like groups and vaults (`config::stamps`), and `--target
//! stamp.NAME[SUB]` translated into the ordinary addresses of what the stamp generated — so that
//! the graph, the plan and apply see nothing new.

use super::plan::UnknownTarget;
use crate::azure::{ArmClient, AzureError};
use crate::config::diag::did_you_mean;
use crate::config::stamps::Stamped;
use crate::config::{ConfigError, Loaded};
use crate::live::Discovery;
use crate::model::stamp::{slug, StampFacts, StampSubscription, StampTarget};
use crate::model::{Address, ResourceKind};

/// The files with their stamps expanded, and what that took.
pub struct Expanded {
    pub loaded: Loaded,
    /// What each (subscription, region) generated, in the files' order.
    pub stamped: Vec<Stamped>,
    /// Every stamp of the files with its subscriptions (those without VMs in scope included).
    pub stamps: Vec<(String, Vec<StampSubscription>)>,
    /// Stamp subscriptions the identity may not read: nothing is generated in them; `plan`
    /// refuses to go on unless `--allow-partial`, and then says they were left out.
    pub left_out: Vec<crate::plan::LeftOut>,
    /// What the discovery read gathered (`None`: no stamps, nothing was read). `ops::plan::make`
    /// hands its VMs, resource groups and vault lists to the live read (`live::Known`), which
    /// does not read them again.
    pub facts: Option<StampFacts>,
}

/// Why the stamps could not be expanded.
#[derive(Debug, thiserror::Error)]
pub enum StampError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Azure(#[from] AzureError),
}

/// Read what the files' stamps need and expand them; files without stamps are returned as
/// they are, without a request.
pub async fn expand(
    client: &ArmClient,
    loaded: Loaded,
    how: Discovery,
) -> Result<Expanded, StampError> {
    let Some(wanted) = loaded.stamps_wanted() else {
        return Ok(Expanded {
            loaded,
            stamped: vec![],
            stamps: vec![],
            left_out: vec![],
            facts: None,
        });
    };
    let facts =
        crate::live::stamps::read(client, &wanted.groups, &wanted.subscriptions, how).await?;
    let (expanded, stamped, stamps) = loaded.expand_stamps(&facts)?;
    let left_out = (facts.unreadable.iter())
        .map(|(sub, reason)| crate::plan::LeftOut {
            subscription: sub.clone(),
            reason: reason.clone(),
        })
        .collect();
    Ok(Expanded {
        loaded: expanded,
        stamped,
        stamps,
        left_out,
        facts: Some(facts),
    })
}

/// The files loaded as `plan` sees them, stamps expanded (for the commands that read what the
/// files declare without planning: `status`, `restore-drill`).
pub async fn load(
    client: &ArmClient,
    files: &[std::path::PathBuf],
    default_subscription: Option<&str>,
) -> Result<super::plan::Loaded, super::plan::PlanError> {
    Ok(load_targeted(client, files, default_subscription, &[])
        .await?
        .loaded)
}

/// What [`load_targeted`] gives: the files loaded, what the stamp targets select, and the
/// stamps' subscriptions (by which `subscription.NAME` is known, as for `plan`).
pub struct Targeted {
    pub loaded: super::plan::Loaded,
    pub stamped: Vec<Address>,
    pub subscriptions: Vec<StampSubscription>,
}

/// [`load`], and the addresses `stamp_targets` select ([`translate`]).
pub async fn load_targeted(
    client: &ArmClient,
    files: &[std::path::PathBuf],
    default_subscription: Option<&str>,
    stamp_targets: &[StampTarget],
) -> Result<Targeted, super::plan::PlanError> {
    let expanded = expand(client, crate::config::load(files)?, Discovery::default()).await?;
    if !expanded.left_out.is_empty() {
        return Err(super::unreadable::Unreadable(expanded.left_out).into());
    }
    let stamped = translate(stamp_targets, &expanded)?;
    Ok(Targeted {
        loaded: super::plan::finish(&expanded.loaded, default_subscription)?,
        stamped,
        subscriptions: expanded.stamps.into_iter().flat_map(|(_, s)| s).collect(),
    })
}

/// The addresses `targets` select: for each stamp (in one subscription, if given) the groups,
/// vaults, policies and protections it generated. An unknown stamp or subscription, or one where
/// the stamp generates nothing, is an [`UnknownTarget`] with a did-you-mean.
pub fn translate(targets: &[StampTarget], ex: &Expanded) -> Result<Vec<Address>, UnknownTarget> {
    let mut out = Vec::new();
    for t in targets {
        let unknown = |help: String| UnknownTarget {
            target: t.to_string(),
            help,
        };
        let Some((_, subs)) = ex.stamps.iter().find(|(n, _)| *n == t.stamp) else {
            let names: Vec<String> = ex
                .stamps
                .iter()
                .map(|(n, _)| format!("stamp.{n}"))
                .collect();
            return Err(unknown(
                did_you_mean(
                    &format!("stamp.{}", t.stamp),
                    names.iter().map(String::as_str),
                )
                .unwrap_or_else(|| match names.is_empty() {
                    true => "the files declare no `stamps:`".to_string(),
                    false => format!("the files' stamps: {}", names.join(", ")),
                }),
            ));
        };
        if let Some(want) = &t.subscription {
            if !subs.iter().any(|s| t.selects(s)) {
                let known: Vec<String> = subs
                    .iter()
                    .flat_map(|s| [s.name.clone(), slug(&s.name), s.id.clone()])
                    .collect();
                let left_out: Vec<&str> = (ex.left_out.iter())
                    .map(|l| l.subscription.as_str())
                    .collect();
                let left_out = match left_out.is_empty() {
                    true => String::new(),
                    false => format!(
                        "; left out, the identity may not read them: {}",
                        left_out.join(", ")
                    ),
                };
                return Err(unknown(
                    did_you_mean(want, known.iter().map(String::as_str)).unwrap_or_else(|| {
                        format!(
                            "stamp `{}` covers {} subscription(s): {}{left_out}",
                            t.stamp,
                            subs.len(),
                            subs.iter()
                                .map(|s| s.name.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    }),
                ));
            }
        }
        let before = out.len();
        for s in (ex.stamped.iter()).filter(|s| s.stamp == t.stamp && t.selects(&s.subscription)) {
            out.extend(addresses(s));
        }
        if out.len() == before {
            return Err(unknown(format!(
                "stamp `{}` generates nothing there: no VM is in scope (a vault is generated where one of its selectors matches a VM, or in every listed region with `create_empty_regions: true`)",
                t.stamp
            )));
        }
    }
    Ok(out)
}

/// What one (subscription, region) of a stamp generated, as `--target` prefixes.
fn addresses(s: &Stamped) -> [Address; 4] {
    [
        Address::new(ResourceKind::ResourceGroup, s.resource_group.clone()),
        Address::new(ResourceKind::RecoveryVault, s.vault.clone()),
        Address::new(ResourceKind::BackupPolicy, s.vault.clone()),
        Address::new(ResourceKind::ProtectedVm, s.vault.clone()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub(id: &str, name: &str) -> StampSubscription {
        StampSubscription {
            id: id.into(),
            name: name.into(),
        }
    }

    fn expanded() -> Expanded {
        let (a, b, c) = (
            sub("a1", "Corp Prod"),
            sub("a2", "Corp Dev"),
            sub("a3", "Empty"),
        );
        let stamped = |s: &StampSubscription, region: &str| Stamped {
            stamp: "lz".into(),
            subscription: s.clone(),
            region: region.into(),
            resource_group: format!("rg-{}-{region}", slug(&s.name)),
            vault: format!("rsv-{}-{region}", slug(&s.name)),
        };
        Expanded {
            loaded: crate::config::load_sources(vec![("f".into(), "version: 1\n".into())]).unwrap(),
            stamped: vec![
                stamped(&a, "westeurope"),
                stamped(&a, "northeurope"),
                stamped(&b, "westeurope"),
            ],
            stamps: vec![("lz".into(), vec![a, b, c])],
            left_out: vec![],
            facts: None,
        }
    }

    fn target(s: &str) -> StampTarget {
        StampTarget::parse(s).unwrap().unwrap()
    }

    #[test]
    fn a_stamp_target_becomes_the_addresses_of_what_it_generated() {
        let ex = expanded();
        let all = translate(&[target("stamp.lz")], &ex).unwrap();
        assert_eq!(all.len(), 12, "{all:?}");
        let one = translate(&[target("stamp.lz[corp-dev]")], &ex).unwrap();
        let one: Vec<String> = one.iter().map(Address::to_string).collect();
        assert_eq!(
            one,
            [
                "resource_group.rg-corp-dev-westeurope",
                "recovery_vault.rsv-corp-dev-westeurope",
                "backup_policy.rsv-corp-dev-westeurope",
                "protected_vm.rsv-corp-dev-westeurope"
            ]
        );
        let policy: Address = "backup_policy.rsv-corp-dev-westeurope/gold"
            .parse()
            .unwrap();
        assert!(policy.matches_target(&translate(&[target("stamp.lz[a2]")], &ex).unwrap()[2]));
    }

    #[test]
    fn an_unknown_stamp_or_subscription_suggests_the_nearest_and_an_empty_one_is_said() {
        let ex = expanded();
        let e = translate(&[target("stamp.l")], &ex).unwrap_err();
        assert!(e.help.contains("stamp.lz"), "{}", e.help);
        let e = translate(&[target("stamp.lz[corp-pro]")], &ex).unwrap_err();
        assert!(e.help.contains("corp-prod"), "{}", e.help);
        let e = translate(&[target("stamp.lz[Empty]")], &ex).unwrap_err();
        assert!(e.help.contains("generates nothing"), "{}", e.help);
    }
}
