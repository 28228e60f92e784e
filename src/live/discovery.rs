//! How [`super::read_with`] finds which subscriptions it may read, their resource groups and
//! their virtual machines: through Azure Resource Graph or through each subscription's list
//! calls ([`Discovery`]).
//!
//! - **lists**: per subscription its resource-group list and (`vms`) its VM lists. A
//!   subscription whose resource-group list Azure refuses (403 `AuthorizationFailed`) is
//!   [`Denied`].
//! - **resource-graph**: one `ResourceContainers` query for the subscriptions and resource
//!   groups of every subscription asked and one `Resources` query for their VMs
//!   (`resource_graph`, ≤ 1,000 rows a page, paced by its quota). Resource Graph leaves out
//!   the subscriptions the caller may not read without a word, so the subscriptions it
//!   answered for (a subscription row) are compared with those asked ([`unanswered`]); each
//!   one left out is asked through its resource-group list, whose refusal names the missing
//!   permission ([`Denied`]) — or whose answer is used when Resource Graph merely had not
//!   indexed it yet.
//! - **auto** (the default): lists for one subscription; for more, Resource Graph's
//!   containers and the first page of VMs, and the remaining VM pages through Resource Graph
//!   when they fit in the quota the answers reported ([`graph_pays`]). When they do not, the
//!   pages the quota has left now (no waiting for its window) are read, given to the query's
//!   groups of subscriptions in order, and the subscriptions each group's first page and those
//!   pages hold whole ([`whole_subscriptions`]: the query orders by subscription) take their
//!   VMs from them; the others' VMs come through the lists, which run concurrently under each
//!   subscription's own ARM quota. Waiting for Resource Graph's window (15 queries per 5 s)
//!   would cost more than the lists (measured: README "Reading at tenant scale").
//! - **disks** (when the file has `disk_backup`): wherever the VMs go through Resource Graph,
//!   one `Resources` query asks for the managed disks of the [`DiskScopes`] (the groups they
//!   name, `resourceGroup in~ (…)`), its first page beside the VMs'; the pages after it are
//!   read when `resource-graph` says so or (auto) when they fit in what the VMs' pages leave
//!   of the quota; else each subscription's disks are listed (`live::disk_backup`). Only the
//!   disks in each subscription's own scope are kept ([`FoundDisks`]), as the lists read them.
//!
//! Owns: [`Discovery`], [`ReadOptions`], [`Known`], [`Denied`], [`DiskScopes`], [`FoundDisks`],
//! [`find`]. Must not import: `cli`, `plan`, `apply`, `render`, `config`, `ops`.

use std::collections::{BTreeMap, BTreeSet};

use futures::future::{join_all, try_join_all};
use serde_json::Value;

use super::resource_graph::{self, Page, Session};
use crate::azure::{ArmClient, AzureError};
use crate::model::{resource_group, ArmId, ManagedDisk, VirtualMachine};

/// How VMs (and the subscriptions' resource groups) are discovered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Discovery {
    /// Resource Graph when it pays, else lists (the module's rule).
    #[default]
    Auto,
    /// Resource Graph (lists when it is unavailable to the caller).
    ResourceGraph,
    /// Per-subscription lists only.
    Lists,
}

/// What a read before this one (a stamps' expansion) found: not read again. The VMs of
/// `subscriptions`; and, by lower-cased subscription id, resource groups and Recovery Services
/// vault lists (ARM list JSON), of the subscriptions it read them in.
#[derive(Debug, Clone, Default)]
pub struct Known {
    pub subscriptions: Vec<String>,
    pub vms: Vec<VirtualMachine>,
    pub groups: BTreeMap<String, Vec<Value>>,
    pub vault_lists: BTreeMap<String, Vec<Value>>,
}

impl Known {
    /// Whether the VMs of `sub` are known.
    pub fn covers(&self, sub: &str) -> bool {
        self.subscriptions
            .iter()
            .any(|s| s.eq_ignore_ascii_case(sub))
    }

    /// The resource groups of `sub`, when known.
    pub fn groups_of(&self, sub: &str) -> Option<&Vec<Value>> {
        self.groups.get(&sub.to_ascii_lowercase())
    }

    /// The vault list of `sub`, when known.
    pub fn vaults_of(&self, sub: &str) -> Option<&Vec<Value>> {
        self.vault_lists.get(&sub.to_ascii_lowercase())
    }
}

/// What [`super::read_with`] is told.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    pub discovery: Discovery,
    pub known: Option<Known>,
    /// Which declared vaults' backup configuration (soft delete) is read.
    pub vault_configs: VaultConfigs,
}

/// Which declared Recovery Services vaults' backup configuration
/// (`backupconfig/vaultconfig`, where Azure keeps soft delete: FACTS §3) a read asks for: one
/// GET per vault, which a plan needs only where it consults soft delete
/// (`plan::soft_delete_consulted`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum VaultConfigs {
    /// Every declared vault's (status, export: soft delete is shown).
    #[default]
    All,
    /// Only these vaults'.
    Only(BTreeSet<ArmId>),
}

impl VaultConfigs {
    /// Whether the configuration of `vault` is read.
    pub fn covers(&self, vault: &ArmId) -> bool {
        match self {
            VaultConfigs::All => true,
            VaultConfigs::Only(set) => set.contains(vault),
        }
    }
}

/// A subscription the identity may not read: Azure's refusal of its resource-group list.
#[derive(Debug)]
pub struct Denied {
    /// Lower case.
    pub subscription: String,
    pub error: AzureError,
}

/// Where the VMs came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    ResourceGraph,
    Lists,
    /// Resource Graph for the subscriptions the pages its quota had left covered whole, lists
    /// for the others.
    Mixed,
    /// Every subscription's VMs and resource groups were [`Known`].
    Known,
}

/// What [`find`] found.
#[derive(Debug)]
pub struct Found {
    /// Each readable subscription's resource groups (ARM list JSON shape: `id`, `name`, …).
    pub groups: BTreeMap<String, Vec<Value>>,
    pub denied: Vec<Denied>,
    /// The VMs Resource Graph found, of the subscriptions in `vms_of` (`None`: none found
    /// that way).
    pub vms: Option<Vec<VirtualMachine>>,
    /// The subscriptions (lower case) whose VMs `vms` holds: those Resource Graph answered for.
    /// A readable subscription it left out (not indexed yet) is not one: its VMs are listed.
    pub vms_of: BTreeSet<String>,
    pub source: Source,
    /// The managed disks Resource Graph found in the [`DiskScopes`] asked.
    pub disks: FoundDisks,
    /// Resource Graph queries sent.
    pub queries: u32,
}

impl Found {
    fn new(source: Source) -> Found {
        Found {
            groups: BTreeMap::new(),
            denied: vec![],
            vms: None,
            vms_of: BTreeSet::new(),
            disks: FoundDisks::default(),
            source,
            queries: 0,
        }
    }
}

/// Where a read needs managed disks (`model::disk_backup::disk_scopes`): subscription (lower
/// case) → `None` for every resource group, or the groups (lower case).
pub type DiskScopes = BTreeMap<String, Option<BTreeSet<String>>>;

/// The managed disks Resource Graph found: every disk in the scopes asked of the subscriptions
/// (lower case) in `of`; the others' disks are listed (`live::disk_backup`).
#[derive(Debug, Clone, Default)]
pub struct FoundDisks {
    pub of: BTreeSet<String>,
    pub disks: Vec<ManagedDisk>,
}

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

/// Whether the Resource Graph pages still to fetch, `pages_left`, fit in the quota the last
/// answer reported (`remaining`; `None` when it reported none: no quota to spend).
pub fn graph_pays(pages_left: u64, remaining: Option<u32>) -> bool {
    remaining.is_none_or(|r| pages_left <= u64::from(r))
}

/// The subscriptions of `asked` that Resource Graph gave no subscription row for (lower case).
pub fn unanswered(asked: &[String], answered: &BTreeSet<String>) -> Vec<String> {
    asked
        .iter()
        .map(|s| s.to_ascii_lowercase())
        .filter(|s| !answered.contains(s))
        .collect()
}

/// Whether `e` is Azure refusing the caller the subscription (403 `AuthorizationFailed`).
pub fn is_denied(e: &AzureError) -> bool {
    e.authorization_failed().is_some()
}

/// Find the readable subscriptions of `subscriptions`, their resource groups, and — through
/// Resource Graph, when `discovery` and its rule say so — the VMs of those not in `known` and
/// the managed disks `disks` asks for. A subscription whose resource groups and VMs are `known`
/// is taken as given, not read.
pub async fn find(
    client: &ArmClient,
    subscriptions: &[String],
    discovery: Discovery,
    known: Option<&Known>,
    disks: &DiskScopes,
) -> Result<Found, AzureError> {
    let given = |s: &String| known.is_some_and(|k| k.covers(s) && k.groups_of(s).is_some());
    let (taken, rest): (Vec<String>, Vec<String>) = subscriptions.iter().cloned().partition(given);
    let mut found = match (taken.is_empty(), rest.is_empty()) {
        (false, true) => Found::new(Source::Known),
        _ => read(client, &rest, discovery, known, disks).await?,
    };
    for sub in &taken {
        let groups = known.and_then(|k| k.groups_of(sub)).cloned();
        found
            .groups
            .insert(sub.to_ascii_lowercase(), groups.unwrap_or_default());
    }
    Ok(found)
}

/// [`find`] for the subscriptions nothing is known of.
async fn read(
    client: &ArmClient,
    subscriptions: &[String],
    discovery: Discovery,
    known: Option<&Known>,
    disks: &DiskScopes,
) -> Result<Found, AzureError> {
    let graph = match discovery {
        Discovery::Lists => false,
        Discovery::ResourceGraph => true,
        Discovery::Auto => subscriptions.len() > 1,
    };
    if graph {
        match by_graph(client, subscriptions, discovery, known, disks).await {
            Err(e) if resource_graph::unavailable(&e) => {
                tracing::info!("Resource Graph is unavailable ({e}); listing per subscription");
            }
            other => return other,
        }
    }
    let mut found = Found::new(Source::Lists);
    group_lists(client, subscriptions, &mut found).await?;
    Ok(found)
}

/// Each subscription's resource-group list, concurrently: its groups, or its refusal.
async fn group_lists(
    client: &ArmClient,
    subscriptions: &[String],
    found: &mut Found,
) -> Result<(), AzureError> {
    let lists = join_all(subscriptions.iter().map(|s| async move {
        (
            s.to_ascii_lowercase(),
            client.list(&resource_group::list_path(s)).await,
        )
    }))
    .await;
    for (sub, listed) in lists {
        match listed {
            Ok(groups) => {
                found.groups.insert(sub, groups);
            }
            Err(error) if is_denied(&error) => found.denied.push(Denied {
                subscription: sub,
                error,
            }),
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

async fn by_graph(
    client: &ArmClient,
    subscriptions: &[String],
    discovery: Discovery,
    known: Option<&Known>,
    disk_scopes: &DiskScopes,
) -> Result<Found, AzureError> {
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
        resource_graph::disk_query_in(disk_groups(disk_scopes).as_ref()),
    );
    let first_pages = |subs: &'_ [String], query: &'_ str| {
        let session = &session;
        let (subs, query) = (subs.to_vec(), query.to_string());
        async move {
            match subs.is_empty() {
                true => Ok(vec![]),
                false => session.first_pages(&subs, &query).await,
            }
        }
    };
    let (containers, first_vms, first_disks) = futures::try_join!(
        session.all(subscriptions, &containers_query),
        first_pages(&to_discover, &vm_query),
        first_pages(&disk_subs, &disk_query)
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
            super::vms::from_arm(&row)
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
    let vm = |row: Value| super::vms::from_arm(&row);
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
    fn resource_graph_goes_on_only_while_its_quota_holds_the_pages_left() {
        // 100,000 VMs: 99 pages after the first, 14 queries left in the window → lists.
        assert!(!graph_pays(99, Some(14)));
        // 5,000 VMs: 4 pages after the first fit in the 14 left.
        assert!(graph_pays(4, Some(14)));
        assert!(graph_pays(14, Some(14)));
        assert!(!graph_pays(1, Some(0)));
        // A Resource Graph that reports no quota has none to wait for.
        assert!(graph_pays(1_000, None));
        assert!(graph_pays(0, Some(0)));
    }

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
        let q = resource_graph::disk_query_in(disk_groups(&scopes).as_ref());
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
        let q = resource_graph::disk_query_in(None);
        assert!(!q.contains("resourceGroup in~"), "{q}");
        // A name that cannot be quoted is not put in the query: every group is read.
        let q = resource_graph::disk_query_in(groups(&["it's"]).as_ref());
        assert!(!q.contains("resourceGroup in~"), "{q}");
    }

    #[test]
    fn a_subscription_resource_graph_left_out_is_unanswered_whatever_its_case() {
        let asked = vec!["AAA".to_string(), "bbb".into(), "ccc".into()];
        let answered: BTreeSet<String> = ["aaa".to_string(), "ccc".into()].into();
        assert_eq!(unanswered(&asked, &answered), vec!["bbb".to_string()]);
        let all: BTreeSet<String> = ["aaa".to_string(), "bbb".into(), "ccc".into()].into();
        assert!(unanswered(&asked, &all).is_empty());
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

    #[test]
    fn only_a_refusal_of_the_subscription_counts_as_denied() {
        let arm = |status, code: &str| AzureError::Arm {
            method: "GET".into(),
            resource: "/subscriptions/s/resourcegroups".into(),
            status,
            code: code.into(),
            message: String::new(),
            request_id: "-".into(),
        };
        assert!(is_denied(&arm(403, "AuthorizationFailed")));
        assert!(!is_denied(&arm(403, "RequestDisallowedByPolicy")));
        assert!(!is_denied(&arm(404, "SubscriptionNotFound")));
    }
}
