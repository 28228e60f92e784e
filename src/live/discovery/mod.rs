//! How [`super::read_with`] finds which subscriptions it may read, their resource groups and
//! their virtual machines: through Azure Resource Graph or through each subscription's list
//! calls ([`Discovery`]).
//!
//! - **lists**: per subscription its resource-group list and (`vms`) its VM lists. A
//!   subscription whose resource-group list Azure refuses (403 `AuthorizationFailed`) is
//!   [`Denied`].
//! - **resource-graph**: one `ResourceContainers` query for the subscriptions and resource
//!   groups of every subscription asked and one `Resources` query for their VMs, one row per
//!   subscription ([`summarized`], paced by its quota). Resource Graph leaves out
//!   the subscriptions the caller may not read without a word, so the subscriptions it
//!   answered for (a subscription row) are compared with those asked ([`unanswered`]); each
//!   one left out is asked through its resource-group list, whose refusal names the missing
//!   permission ([`Denied`]) — or whose answer is used when Resource Graph merely had not
//!   indexed it yet.
//! - **auto** (the default): for more than one subscription, Resource Graph's containers and
//!   VMs. The VMs come one row per subscription (`summarized`: a few queries for a tenant,
//!   each answer under Resource Graph's 16 MB); a subscription too large for one answer, or
//!   whose list came back short of its count, is listed. One subscription is listed, unless
//!   Resource Graph counts more than [`AUTO_GRAPH_ABOVE`] VMs in it ([`large_one`], its count
//!   asked beside the subscription's lists): then its VMs (and disks) come as for many, its
//!   resource groups still from its list ([`Large`]).
//! - **disks** (when the file has `disk_backup`): wherever the VMs go through Resource Graph,
//!   one `Resources` query asks for the managed disks of the [`DiskScopes`] (the groups they
//!   name, `resourceGroup in~ (…)`), its first page beside the VMs'; the pages after it are
//!   read when `resource-graph` says so or (auto) when they fit in what the quota has left
//!   ([`graph_pays`]); else each subscription's disks are listed (`live::disk_backup`). Only the
//!   disks in each subscription's own scope are kept ([`FoundDisks`]), as the lists read them.
//!
//! Owns: [`Discovery`], [`ReadOptions`], [`Known`], [`Denied`], [`DiskScopes`], [`FoundDisks`],
//! [`find`] and its halves ([`groups`], [`graph_vms`], [`settle`]), [`uses_graph`],
//! [`large_one`] with [`Large`], [`AUTO_GRAPH_ABOVE`] and [`COUNT_PATIENCE`]. Must not
//! import: `cli`, `plan`, `apply`, `render`, `config`, `ops`.

pub mod graph;
pub mod summarized;

use std::collections::{BTreeMap, BTreeSet};

use futures::future::join_all;
use serde_json::Value;

use super::resource_graph;
use crate::azure::{ArmClient, AzureError};
use crate::model::{resource_group, ArmId, ManagedDisk, VirtualMachine};

/// How VMs (and the subscriptions' resource groups) are discovered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Discovery {
    /// Resource Graph for more than one subscription, and for one with more than
    /// [`AUTO_GRAPH_ABOVE`] VMs; lists for a smaller one (the module's rule).
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
    /// Resource Graph for most subscriptions, lists for those too large for one of its
    /// answers (or whose list it cut short).
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
    /// The subscriptions (lower case) Resource Graph gave a subscription row for, or (the
    /// [`Large`] one) counted the VMs of.
    pub answered: BTreeSet<String>,
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
            answered: BTreeSet::new(),
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

/// Whether `discovery` reads `n` subscriptions (those nothing is known of) through Resource
/// Graph, their resource groups included (`auto`'s one large subscription, [`Large`], is
/// decided apart: its VMs only).
pub fn uses_graph(discovery: Discovery, n: usize) -> bool {
    match discovery {
        Discovery::Lists => false,
        Discovery::ResourceGraph => n > 0,
        Discovery::Auto => n > 1,
    }
}

/// `auto` reads one subscription's VMs through Resource Graph when it has more than this
/// many: 50 pages of a VM list, which Azure pages at 50 (`sandbox::server::App::
/// compute_page_size` cites the recordings), against the two queries Resource Graph needs. At
/// or under it the lists answer: they see a VM the moment it exists, where Resource Graph lags
/// writes by seconds to minutes.
pub const AUTO_GRAPH_ABOVE: u64 = 2_500;

/// The one subscription whose VMs `auto` reads through Resource Graph though it is alone, for
/// it has more than [`AUTO_GRAPH_ABOVE`] of them ([`large_one`]). Its resource groups still
/// come from its own list, whose refusal names a missing permission.
#[derive(Debug, Clone)]
pub struct Large {
    /// Lower case.
    pub subscription: String,
    pub counted: summarized::Counted,
}

/// How long [`large_one`] waits for its count: past it (Resource Graph throttled by other
/// tools of the same user, or failing and being retried), the lists answer.
pub const COUNT_PATIENCE: std::time::Duration = std::time::Duration::from_secs(5);

/// Under `auto`, when exactly one of `subscriptions` is to be read (its resource groups not
/// `known`), how many VMs Resource Graph counts in it (one query); [`Large`] when more than
/// [`AUTO_GRAPH_ABOVE`]. `None` otherwise — and when the count fails, takes longer than
/// [`COUNT_PATIENCE`] or Resource Graph is not there: the count only chooses the way, and the
/// lists are always a way (as they are when the large one's VMs then fail: [`graph_vms`]).
pub async fn large_one(
    session: &resource_graph::Session<'_>,
    subscriptions: &[String],
    discovery: Discovery,
    known: Option<&Known>,
) -> Option<Large> {
    if discovery != Discovery::Auto {
        return None;
    }
    let rest = unknown(subscriptions, known);
    let vms_unknown = to_discover(&rest, known);
    let ([_], [sub]) = (rest.as_slice(), vms_unknown.as_slice()) else {
        return None;
    };
    let count = summarized::count(session, std::slice::from_ref(sub));
    let counted = match tokio::time::timeout(COUNT_PATIENCE, count).await {
        Ok(Ok(counted)) => counted,
        Ok(Err(e)) => {
            tracing::info!("Resource Graph did not count the VMs ({e}); listing them");
            return None;
        }
        Err(_) => {
            tracing::info!(
                "Resource Graph did not count the VMs in {COUNT_PATIENCE:?}; listing them"
            );
            return None;
        }
    };
    let vms = counted.of(sub)?;
    tracing::debug!(subscription = sub, vms, "Resource Graph counted the VMs");
    (vms > AUTO_GRAPH_ABOVE).then(|| Large {
        subscription: sub.to_ascii_lowercase(),
        counted,
    })
}

/// Those of `rest` (the subscriptions a read asks about: [`unknown`]) whose VMs are not `known`.
fn to_discover(rest: &[String], known: Option<&Known>) -> Vec<String> {
    (rest.iter())
        .filter(|s| !known.is_some_and(|k| k.covers(s)))
        .cloned()
        .collect()
}

/// The subscriptions of `subscriptions` whose resource groups are not `known` (those a read
/// asks about).
fn unknown(subscriptions: &[String], known: Option<&Known>) -> Vec<String> {
    let given = |s: &String| known.is_some_and(|k| k.covers(s) && k.groups_of(s).is_some());
    subscriptions
        .iter()
        .filter(|s| !given(s))
        .cloned()
        .collect()
}

/// Find the readable subscriptions of `subscriptions`, their resource groups, and — through
/// Resource Graph, when `discovery` and its rule say so — the VMs of those not in `known` and
/// the managed disks `disks` asks for. A subscription whose resource groups and VMs are `known`
/// is taken as given, not read. [`groups`] beside [`large_one`] and then [`graph_vms`].
pub async fn find(
    client: &ArmClient,
    subscriptions: &[String],
    discovery: Discovery,
    known: Option<&Known>,
    disks: &DiskScopes,
) -> Result<Found, AzureError> {
    let session = resource_graph::Session::new(client);
    let (found, (vms, large)) = futures::join!(
        groups(client, &session, subscriptions, discovery, known),
        async {
            let large = large_one(&session, subscriptions, discovery, known).await;
            let sub = large.as_ref().map(|l| l.subscription.clone());
            let vms = graph_vms(&session, subscriptions, discovery, known, disks, large);
            (vms.await, sub)
        }
    );
    let mut found = found?;
    settle(&mut found, vms, large.as_deref())?;
    found.queries = session.queries();
    Ok(found)
}

/// The first half of [`find`]: which subscriptions are readable and their resource groups
/// (Resource Graph's containers, or each one's list), without their VMs — so that a caller can
/// read vault contents while [`graph_vms`] runs.
pub async fn groups(
    client: &ArmClient,
    session: &resource_graph::Session<'_>,
    subscriptions: &[String],
    discovery: Discovery,
    known: Option<&Known>,
) -> Result<Found, AzureError> {
    let rest = unknown(subscriptions, known);
    let mut found = match rest.is_empty() {
        true => Found::new(Source::Known),
        false => read(client, session, &rest, discovery).await?,
    };
    for sub in subscriptions.iter().filter(|s| !rest.contains(s)) {
        let groups = known.and_then(|k| k.groups_of(sub)).cloned();
        found
            .groups
            .insert(sub.to_ascii_lowercase(), groups.unwrap_or_default());
    }
    Ok(found)
}

/// The second half of [`find`], once [`large_one`] has said whether the one subscription is
/// `large`: when the subscriptions go through Resource Graph (or the one is large), the VMs of
/// those whose VMs are not `known` and the disks `disks` asks for. `None`: not through
/// Resource Graph, or it is unavailable — or, for the large one, it failed: the lists answer.
pub async fn graph_vms(
    session: &resource_graph::Session<'_>,
    subscriptions: &[String],
    discovery: Discovery,
    known: Option<&Known>,
    disks: &DiskScopes,
    large: Option<Large>,
) -> Result<Option<graph::GraphVms>, AzureError> {
    let rest = unknown(subscriptions, known);
    if large.is_none() && !uses_graph(discovery, rest.len()) {
        return Ok(None);
    }
    let to_discover = to_discover(&rest, known);
    let is_large = large.is_some();
    let counted = large.map(|l| l.counted);
    match graph::vms_and_disks(session, &rest, &to_discover, counted, disks, discovery).await {
        // A large one's lists are a way still, as when its count failed.
        Err(e) if is_large || resource_graph::unavailable(&e) => {
            tracing::info!("Resource Graph did not answer the VMs ({e}); listing them");
            Ok(None)
        }
        other => other.map(Some),
    }
}

/// [`groups`]'s `found` with what [`graph_vms`] found — unless the groups came through the
/// lists (Resource Graph unavailable, or one subscription and not the `large` one, lower
/// case), whose reader lists the VMs too: then whatever [`graph_vms`] found or failed with is
/// not used.
pub fn settle(
    found: &mut Found,
    vms: Result<Option<graph::GraphVms>, AzureError>,
    large: Option<&str>,
) -> Result<(), AzureError> {
    let refused = |l: &&str| found.denied.iter().any(|d| d.subscription == *l);
    let large = large.filter(|l| !refused(l));
    if found.source != Source::ResourceGraph && large.is_none() {
        return Ok(());
    }
    // Resource Graph answered for the large one when it counted its VMs.
    if let Some(large) = large {
        found.answered.insert(large.to_string());
    }
    match vms? {
        Some(vms) => vms.fill(found),
        None => found.source = Source::Lists,
    }
    Ok(())
}

/// [`groups`] for the subscriptions nothing is known of.
async fn read(
    client: &ArmClient,
    session: &resource_graph::Session<'_>,
    subscriptions: &[String],
    discovery: Discovery,
) -> Result<Found, AzureError> {
    if uses_graph(discovery, subscriptions.len()) {
        match graph::containers(client, session, subscriptions).await {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_graph_goes_on_only_while_its_quota_holds_the_pages_left() {
        // 99,000 disks: 99 pages after the first, 14 queries left in the window → lists.
        assert!(!graph_pays(99, Some(14)));
        // 5,000 disks: 4 pages after the first fit in the 14 left.
        assert!(graph_pays(4, Some(14)));
        assert!(graph_pays(14, Some(14)));
        assert!(!graph_pays(1, Some(0)));
        // A Resource Graph that reports no quota has none to wait for.
        assert!(graph_pays(1_000, None));
        assert!(graph_pays(0, Some(0)));
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
