//! The Resource Graph half of [`super::find`]: the containers, VM and disk queries of one
//! session, and what `auto` does when their pages do not fit in the quota (the module doc of
//! [`super`] says the rule).

use std::collections::BTreeSet;

use futures::future::try_join_all;
use serde_json::Value;

use super::{graph_pays, group_lists, unanswered, Discovery, DiskScopes, Found, FoundDisks};
use super::{Ask, Source};
use crate::azure::{ArmClient, AzureError};
use crate::live::resource_graph::{self, Page, Session};
use crate::live::vms;
use crate::model::{ManagedDisk, VirtualMachine};

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

/// [`super::read`] through Resource Graph.
pub(super) async fn by_graph(client: &ArmClient, ask: &Ask<'_>) -> Result<Found, AzureError> {
    let (subscriptions, discovery, known, disk_scopes) =
        (ask.subscriptions, ask.discovery, ask.known, ask.disks);
    let session = Session::new(client);
    let to_discover: Vec<String> = (subscriptions.iter())
        .filter(|s| !known.is_some_and(|k| k.covers(s)))
        .cloned()
        .collect();
    let disk_subs: Vec<String> = (subscriptions.iter())
        .filter(|s| disk_scopes.contains_key(&s.to_ascii_lowercase()))
        .cloned()
        .collect();
    let (vm_query, containers_query, disk_query) = (
        resource_graph::vm_query(),
        resource_graph::containers_query(),
        resource_graph::disk_query(disk_groups(disk_scopes).as_ref()),
    );
    // No subscriptions, no query: their first pages are none.
    let (containers, first_vms, first_disks) = futures::try_join!(
        session.all(subscriptions, &containers_query),
        session.first_pages(&to_discover, &vm_query),
        session.first_pages(&disk_subs, &disk_query)
    )?;
    let mut found = Found::new(Source::ResourceGraph);
    let mut answered = BTreeSet::new();
    for row in containers {
        let Some(sub) = row["subscriptionId"].as_str().map(str::to_ascii_lowercase) else {
            continue;
        };
        let kind = row["type"]
            .as_str()
            .unwrap_or_default()
            .to_ascii_lowercase();
        if kind == "microsoft.resources/subscriptions" {
            answered.insert(sub.clone());
            found.groups.entry(sub).or_default();
        } else if kind == "microsoft.resources/subscriptions/resourcegroups" {
            found.groups.entry(sub).or_default().push(row);
        }
    }
    // Resource Graph says nothing of the subscriptions it left out: ask each one's own list.
    let missing = unanswered(subscriptions, &answered);
    if !missing.is_empty() {
        tracing::info!(
            count = missing.len(),
            "Resource Graph did not answer for every subscription; asking their lists"
        );
        group_lists(client, &missing, &mut found).await?;
    }
    let pages_left: u64 = first_vms.iter().map(|p| p.pages_left(p.rows.len())).sum();
    let disk_pages_left: u64 = first_disks.iter().map(|p| p.pages_left(p.rows.len())).sum();
    let remaining = quota_left(first_vms.iter().chain(&first_disks));
    let vms_pay = discovery == Discovery::ResourceGraph || graph_pays(pages_left, remaining);
    // The disks' pages with what the VMs' leave of the quota; else their lists.
    let after_vms = remaining.map(|r| match vms_pay {
        true => r.saturating_sub(u32::try_from(pages_left).unwrap_or(u32::MAX)),
        false => r,
    });
    let disks_pay = !first_disks.is_empty()
        && (discovery == Discovery::ResourceGraph || graph_pays(disk_pages_left, after_vms));
    let disks = async {
        if !disks_pay {
            return Ok(FoundDisks::default());
        }
        let disk = |row: Value| {
            ManagedDisk::from_arm(&row).filter(|d| {
                in_scope(disk_scopes, d) && answered.contains(&d.subscription.to_ascii_lowercase())
            })
        };
        let disks = session.rest_with(first_disks, &disk_query, &disk).await?;
        let of = (disk_subs.iter())
            .map(|s| s.to_ascii_lowercase())
            .filter(|s| answered.contains(s))
            .collect();
        Ok::<_, AzureError>(FoundDisks { of, disks })
    };
    let reserved = if disks_pay { disk_pages_left } else { 0 };
    let vms = vms_by_graph(&session, first_vms, vms_pay, remaining, reserved, &answered);
    let ((vms, vms_of, source), disks) = futures::try_join!(vms, disks)?;
    found.vms = vms;
    found.vms_of = vms_of;
    found.source = source;
    found.disks = disks;
    found.queries = session.queries();
    Ok(found)
}

/// The VMs of the subscriptions `answered`, from the rest of the pages `first_vms` began when
/// they `pay`; else from the pages the quota has left now (`remaining` as the first pages said,
/// less the `reserved` pages the disks take), of the subscriptions those hold whole
/// ([`whole_subscriptions`]). With the subscriptions they are of, and where they came from.
async fn vms_by_graph(
    session: &Session<'_>,
    first_vms: Vec<Page>,
    pay: bool,
    remaining: Option<u32>,
    reserved: u64,
    answered: &BTreeSet<String>,
) -> Result<(Option<Vec<VirtualMachine>>, BTreeSet<String>, Source), AzureError> {
    let vm_query = resource_graph::vm_query();
    if pay {
        let answered_vm = |row: Value| {
            vms::from_arm(&row)
                .filter(|vm| answered.contains(&vm.subscription.to_ascii_lowercase()))
        };
        let vms: Vec<VirtualMachine> = session
            .rest_with(first_vms, &vm_query, &answered_vm)
            .await?;
        return Ok((Some(vms), answered.clone(), Source::ResourceGraph));
    }
    let pages_left: u64 = first_vms.iter().map(|p| p.pages_left(p.rows.len())).sum();
    tracing::info!(
        pages_left,
        remaining = remaining.unwrap_or_default(),
        "Resource Graph's quota would make the VMs wait; listing the subscriptions its quota leaves"
    );
    // What the quota has left now (the containers' answer may have come after the VMs').
    let budget =
        u64::from(session.spare().or(remaining).unwrap_or_default()).saturating_sub(reserved);
    // Each group of subscriptions has its first page already; the pages the quota has left go
    // to the groups in order. The subscriptions a group's pages hold whole take their VMs from
    // them; the others are listed.
    let mut left = budget;
    let allotted: Vec<(Page, u64)> = (first_vms.into_iter())
        .map(|first| {
            let extra = first.pages_left(first.rows.len()).min(left);
            left -= extra;
            (first, extra)
        })
        .collect();
    let vm = |row: Value| vms::from_arm(&row);
    let vm = &vm;
    let read = try_join_all(allotted.into_iter().map(|(first, extra)| {
        let query = &vm_query;
        async move { session.leading(first, query, 1 + extra, vm).await }
    }))
    .await?;
    let (mut vms, mut covered) = (Vec::new(), BTreeSet::new());
    for (group, all) in read.into_iter().flatten() {
        let whole = whole_subscriptions(&group, all, answered);
        let is_whole = |v: &VirtualMachine| whole.contains(&v.subscription.to_ascii_lowercase());
        vms.extend(group.into_iter().filter(is_whole));
        covered.extend(whole);
    }
    if covered.is_empty() {
        return Ok((None, covered, Source::Lists));
    }
    Ok((Some(vms), covered, Source::Mixed))
}

/// Of VMs read from a query's leading pages (in `subscriptionId` order: `resource_graph::
/// vm_query`), the subscriptions (lower case, answered for) whose VMs they hold all of: every one
/// but the last's, unless the pages were `all` of the query.
pub fn whole_subscriptions(
    vms: &[VirtualMachine],
    all: bool,
    answered: &BTreeSet<String>,
) -> BTreeSet<String> {
    let last = (vms.last())
        .filter(|_| !all)
        .map(|v| v.subscription.to_ascii_lowercase());
    (vms.iter())
        .map(|v| v.subscription.to_ascii_lowercase())
        .filter(|s| Some(s) != last.as_ref() && answered.contains(s))
        .collect()
}

/// The lowest quota the first pages reported (the latest state of one user's quota).
fn quota_left<'p>(pages: impl Iterator<Item = &'p Page>) -> Option<u32> {
    pages.filter_map(|p| p.quota).map(|q| q.remaining).min()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leading_pages_hold_whole_every_subscription_but_the_last_unless_they_are_all() {
        let vm = |sub: &str| VirtualMachine {
            subscription: sub.into(),
            ..VirtualMachine::default()
        };
        let vms = [vm("aaa"), vm("AAA"), vm("bbb"), vm("ccc"), vm("ccc")];
        let answered: BTreeSet<String> = ["aaa".to_string(), "ccc".into()].into();
        let set = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
        // ccc's last row may not be its last: ccc is listed; bbb was not answered for.
        assert_eq!(whole_subscriptions(&vms, false, &answered), set(&["aaa"]));
        assert_eq!(
            whole_subscriptions(&vms, true, &answered),
            set(&["aaa", "ccc"])
        );
        assert!(whole_subscriptions(&[], false, &answered).is_empty());
    }

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
            quota: None,
        };
        assert_eq!(page(None, Some(5_000)).pages_left(1_000), 0);
        assert_eq!(page(Some("t"), Some(100_000)).pages_left(1_000), 99);
        assert_eq!(page(Some("t"), Some(1_500)).pages_left(1_000), 1);
        assert_eq!(page(Some("t"), None).pages_left(1_000), 1);
    }
}
