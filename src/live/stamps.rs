//! The discovery read before a plan of a file with `stamps:`: the subscriptions under each
//! management group a stamp names (`management_groups::under_group`), the display names of the
//! subscriptions the caller can read (`management_groups::subscriptions`, only when a stamp lists
//! subscriptions), and in every one of them the VMs as `--discovery` says (`discovery::find`:
//! Resource Graph or list calls; a subscription Resource Graph leaves out has its VMs listed)
//! and the Recovery Services vaults (one list per subscription). The resource groups and vault
//! lists it read are kept with the VMs (`StampFacts`) for the plan's read, which takes them as
//! they are. A file without stamps reads none of this.
//!
//! Owns: [`read`]. Must not import: `cli`, `plan`, `apply`, `render`, `config`, `ops`.

use futures::future::{join_all, try_join_all};
use std::collections::BTreeSet;

use super::discovery::{self, Discovery};
use super::{management_groups, vms};
use crate::azure::{ArmClient, AzureError};
use crate::model::resource_group::normalize_location;
use crate::model::stamp::{ExistingVault, StampFacts, StampSubscription};
use crate::model::{vault, ArmId};

/// Read what stamps over `groups` (management group ids) and `listed` (subscription ids) are
/// expanded against.
pub async fn read(
    client: &ArmClient,
    groups: &[String],
    listed: &[String],
    how: Discovery,
) -> Result<StampFacts, AzureError> {
    let names = async {
        match listed.is_empty() {
            true => Ok(vec![]),
            false => management_groups::subscriptions(client).await,
        }
    };
    let under = try_join_all(groups.iter().map(|g| async move {
        let subs = management_groups::under_group(client, g).await?;
        Ok::<_, AzureError>((g.to_ascii_lowercase(), subs))
    }));
    let (names, under) = futures::try_join!(names, under)?;
    let mut facts = StampFacts::default();
    for s in names {
        facts
            .names
            .insert(s.id.to_ascii_lowercase(), s.display_name);
    }
    for (group, subs) in under {
        let subs = subs.into_iter().map(|s| StampSubscription {
            id: s.id.to_ascii_lowercase(),
            name: s.display_name,
        });
        facts.groups.insert(group, subs.collect());
    }
    let all: BTreeSet<String> = (facts.groups.values().flatten().map(|s| s.id.clone()))
        .chain(listed.iter().map(|s| s.to_ascii_lowercase()))
        .collect();
    facts.subscriptions = all.into_iter().collect();
    // A listed subscription `GET /subscriptions` did not name may not exist at all (a mistyped
    // id), and then Azure answers its lists 404 `SubscriptionNotFound`: it is left out of the
    // read, so that the file's entry is the error (`config::stamps`), not the read.
    let suspect = (listed.iter().map(|s| s.to_ascii_lowercase()))
        .filter(|s| !facts.names.contains_key(s))
        .filter(|s| !facts.groups.values().flatten().any(|g| g.id == *s));
    let missing: Vec<String> = join_all(suspect.map(|s| async move {
        let answer = client.list(&vault::list_path(&s)).await;
        let gone = answer.is_err_and(|e| {
            e.status() == Some(404)
                && e.code()
                    .is_some_and(|c| c.eq_ignore_ascii_case("SubscriptionNotFound"))
        });
        gone.then_some(s)
    }))
    .await
    .into_iter()
    .flatten()
    .collect();
    facts.subscriptions.retain(|s| !missing.contains(s));
    if facts.subscriptions.is_empty() {
        return Ok(facts);
    }
    // A subscription that refuses its vault list is one the identity may not read: noted, so
    // that the plan names it (or, with --allow-partial, leaves it out and says so).
    let vaults = try_join_all((facts.subscriptions.iter()).map(|s| async move {
        match client.list(&vault::list_path(s)).await {
            Ok(v) => Ok((s.clone(), Ok(v))),
            Err(e) => match e.authorization_failed() {
                Some(reason) => Ok((s.clone(), Err(reason.to_string()))),
                None => Err(e),
            },
        }
    }));
    // No disks: a stamped Disk Backup's are read with the plan's read.
    let no_disks = discovery::DiskScopes::new();
    let (found, vaults) = futures::try_join!(
        discovery::find(client, &facts.subscriptions, how, None, &no_disks),
        vaults
    )?;
    // The VMs Resource Graph found; a readable subscription it left out (not indexed yet), or
    // every one when the lists are the way, has its VMs listed: never taken as empty.
    let listed = try_join_all(
        (found.groups.iter())
            .filter(|(sub, _)| !found.vms_of.contains(*sub))
            .map(|(sub, groups)| vms::list(client, sub, groups)),
    )
    .await?;
    facts.vms_of = found.groups.keys().cloned().collect();
    facts.resource_groups = found.groups;
    facts.vms = found.vms.unwrap_or_default();
    facts.vms.extend(listed.into_iter().flatten());
    for (sub, read) in vaults {
        match read {
            Ok(list) => {
                facts.vault_lists.insert(sub, list);
            }
            Err(reason) => {
                facts.unreadable.insert(sub, reason);
            }
        }
    }
    facts.vaults = (facts.vault_lists.values().flatten())
        .filter_map(|v| {
            Some(ExistingVault {
                id: ArmId::new(v["id"].as_str()?),
                location: normalize_location(v["location"].as_str()?),
            })
        })
        .collect();
    Ok(facts)
}
