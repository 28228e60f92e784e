//! The Resource Graph half of [`super::find`]: the containers query ([`containers`]), and the
//! VM and disk queries ([`vms_and_disks`]) — two halves a caller may run side by side, reading
//! vault contents as soon as the first is in — and what `auto` does when the disks' pages do
//! not fit in the quota (the module doc of [`super`] says the rule).

use std::collections::BTreeSet;

use serde_json::Value;

use super::Source;
use super::{
    graph_pays, group_lists, summarized, unanswered, Discovery, DiskScopes, Found, FoundDisks,
};
use crate::azure::{ArmClient, AzureError};
use crate::live::resource_graph::{self, Session};
use crate::model::ManagedDisk;

/// Whether `disk` is in the scope `scopes` gives its subscription.
fn in_scope(scopes: &DiskScopes, disk: &ManagedDisk) -> bool {
    match scopes.get(&disk.subscription.to_ascii_lowercase()) {
        None => false,
        Some(None) => true,
        Some(Some(groups)) => groups.contains(&disk.resource_group.to_ascii_lowercase()),
    }
}

/// The resource groups one disk query names for `scopes`: their union, or `None` (every
/// group) when a subscription needs all of its own.
fn disk_groups(scopes: &DiskScopes) -> Option<BTreeSet<String>> {
    let mut all = BTreeSet::new();
    for groups in scopes.values() {
        all.extend(groups.as_ref()?.iter().cloned());
    }
    Some(all)
}

/// The subscriptions and resource groups of `subscriptions` through Resource Graph's
/// `ResourceContainers` (each one it left out asked through its own list). The answered
/// subscriptions go in `Found::answered`; the VMs and disks come from [`vms_and_disks`].
pub(super) async fn containers(
    client: &ArmClient,
    session: &Session<'_>,
    subscriptions: &[String],
) -> Result<Found, AzureError> {
    let rows = session
        .all(subscriptions, &resource_graph::containers_query())
        .await?;
    let mut found = Found::new(Source::ResourceGraph);
    for row in rows {
        let Some(sub) = row["subscriptionId"].as_str().map(str::to_ascii_lowercase) else {
            continue;
        };
        let kind = row["type"]
            .as_str()
            .unwrap_or_default()
            .to_ascii_lowercase();
        if kind == "microsoft.resources/subscriptions" {
            found.answered.insert(sub.clone());
            found.groups.entry(sub).or_default();
        } else if kind == "microsoft.resources/subscriptions/resourcegroups" {
            found.groups.entry(sub).or_default().push(row);
        }
    }
    // Resource Graph says nothing of the subscriptions it left out: ask each one's own list.
    let missing = unanswered(subscriptions, &found.answered);
    if !missing.is_empty() {
        tracing::info!(
            count = missing.len(),
            "Resource Graph did not answer for every subscription; asking their lists"
        );
        group_lists(client, &missing, &mut found).await?;
    }
    Ok(found)
}

/// What Resource Graph found of VMs and disks, before it is known which subscriptions it
/// answered for ([`GraphVms::fill`] keeps those).
#[derive(Debug, Default)]
pub struct GraphVms {
    vms: summarized::SummarizedVms,
    /// The subscriptions whose disks were asked, and the disks (`None`: to be listed).
    disks: Option<(Vec<String>, Vec<ManagedDisk>)>,
}

impl GraphVms {
    /// Into `found` (whose `answered` is known): the VMs and disks of the subscriptions
    /// Resource Graph answered for, and where the VMs came from.
    pub fn fill(self, found: &mut Found) {
        let answered = &found.answered;
        let is_answered = |s: &String| answered.contains(s);
        found.vms_of = self.vms.of.into_iter().filter(is_answered).collect();
        found.source = match self.vms.left.iter().any(is_answered) {
            true => Source::Mixed,
            false => Source::ResourceGraph,
        };
        let of = &found.vms_of;
        let vms = (self.vms.vms.into_iter())
            .filter(|(sub, _)| of.contains(sub))
            .flat_map(|(_, vms)| vms)
            .collect();
        found.vms = (!of.is_empty()).then_some(vms);
        if let Some((asked, disks)) = self.disks {
            let disks = (disks.into_iter())
                .filter(|d| answered.contains(&d.subscription.to_ascii_lowercase()))
                .collect();
            let of = (asked.iter())
                .map(|s| s.to_ascii_lowercase())
                .filter(is_answered)
                .collect();
            found.disks = FoundDisks { of, disks };
        }
    }
}

/// The VMs of `to_discover` ([`summarized`]; counted first unless `counted` holds their
/// counts) and the managed disks `disk_scopes` asks for in `subscriptions`: the disks' first
/// pages beside the VMs, the rest when `resource-graph` says so or (auto) when they fit in what
/// the quota has left; else the disks are to be listed.
pub(super) async fn vms_and_disks(
    session: &Session<'_>,
    subscriptions: &[String],
    to_discover: &[String],
    counted: Option<summarized::Counted>,
    disk_scopes: &DiskScopes,
    discovery: Discovery,
) -> Result<GraphVms, AzureError> {
    let disk_subs: Vec<String> = (subscriptions.iter())
        .filter(|s| disk_scopes.contains_key(&s.to_ascii_lowercase()))
        .cloned()
        .collect();
    let disk_query = resource_graph::disk_query(disk_groups(disk_scopes).as_ref());
    // No subscriptions, no query: their first pages are none.
    let (vms, first_disks) = futures::try_join!(
        async {
            let counted = match counted {
                Some(counted) => counted,
                None => summarized::count(session, to_discover).await?,
            };
            summarized::read(session, counted).await
        },
        session.first_pages(&disk_subs, &disk_query)
    )?;
    let disk_pages_left: u64 = first_disks.iter().map(|p| p.pages_left(p.rows.len())).sum();
    let remaining = session.spare();
    let disks_pay = !first_disks.is_empty()
        && (discovery == Discovery::ResourceGraph || graph_pays(disk_pages_left, remaining));
    let disks = match disks_pay {
        true => {
            let disk =
                |row: Value| ManagedDisk::from_arm(&row).filter(|d| in_scope(disk_scopes, d));
            let disks = session.rest_with(first_disks, &disk_query, &disk).await?;
            Some((disk_subs, disks))
        }
        false => None,
    };
    Ok(GraphVms { vms, disks })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live::resource_graph::Page;

    #[test]
    fn one_disk_query_names_every_group_asked_unless_a_subscription_needs_all_of_its_own() {
        let groups = |g: &[&str]| Some(g.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>());
        let mut scopes = DiskScopes::new();
        scopes.insert("aaa".into(), groups(&["rg-a"]));
        scopes.insert("bbb".into(), groups(&["rg-b", "rg-a"]));
        assert_eq!(disk_groups(&scopes), groups(&["rg-a", "rg-b"]));
        let q = resource_graph::disk_query(disk_groups(&scopes).as_ref());
        assert!(
            q.contains("| where resourceGroup in~ ('rg-a', 'rg-b') |"),
            "{q}"
        );
        // Each subscription's own scope still decides which of the rows are kept.
        let disk = |sub: &str, rg: &str| ManagedDisk {
            subscription: sub.into(),
            resource_group: rg.into(),
            ..ManagedDisk::default()
        };
        assert!(in_scope(&scopes, &disk("AAA", "RG-A")));
        assert!(!in_scope(&scopes, &disk("aaa", "rg-b")), "rg-b is bbb's");
        assert!(
            !in_scope(&scopes, &disk("ccc", "rg-a")),
            "ccc asked nothing"
        );
        scopes.insert("ccc".into(), None);
        assert_eq!(disk_groups(&scopes), None);
        assert!(in_scope(&scopes, &disk("ccc", "anything")));
        let q = resource_graph::disk_query(None);
        assert!(!q.contains("resourceGroup in~"), "{q}");
        // A name that cannot be quoted is not put in the query: every group is read.
        let q = resource_graph::disk_query(groups(&["it's"]).as_ref());
        assert!(!q.contains("resourceGroup in~"), "{q}");
    }

    #[test]
    fn pages_left_follow_total_records_and_the_token() {
        let page = |next: Option<&str>, total| Page {
            subscriptions: vec![],
            rows: vec![],
            next: next.map(str::to_string),
            total,
        };
        assert_eq!(page(None, Some(5_000)).pages_left(1_000), 0);
        assert_eq!(page(Some("t"), Some(100_000)).pages_left(1_000), 99);
        assert_eq!(page(Some("t"), Some(1_500)).pages_left(1_000), 1);
        assert_eq!(page(Some("t"), None).pages_left(1_000), 1);
    }
}
