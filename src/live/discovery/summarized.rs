//! The VMs of many subscriptions through Resource Graph, one row per subscription
//! ([`resource_graph::vm_summary_query`]).
//!
//! Resource Graph refuses an answer over 16 MB (`ResponsePayloadTooLarge`, which names the
//! size), and a refused query costs as much as an answered one. So first one small query per
//! 100 subscriptions counts each one's VMs ([`count`]); then the subscriptions with VMs are
//! packed, in order, into parts of at most [`VMS_PER_ANSWER`] VMs (and 100 subscriptions),
//! and each part is asked for concurrently — Microsoft Learn's partitioning ("Paging Resource
//! Graph results"), by the `subscriptions` a request names rather than by a hash of the ids. A
//! part refused all the same (VMs larger than reckoned) is split into as many parts as its
//! size says, with a quarter to spare, and asked again. A subscription too large for one
//! answer by itself, or whose list came back shorter than its count (a cut Resource Graph does
//! not otherwise report), is left to its VM lists.
//!
//! Owns: [`count`], [`Counted`], [`read`], [`SummarizedVms`]. Must not import: `cli`, `plan`,
//! `apply`, `render`, `config`, `ops`.

use std::collections::{BTreeMap, BTreeSet};

use futures::future::{try_join_all, BoxFuture, FutureExt};

use crate::azure::AzureError;
use crate::live::resource_graph::{self, At, Session, SUBSCRIPTIONS_PER_QUERY};
use crate::live::vms;
use crate::model::VirtualMachine;

/// What [`read`] found.
#[derive(Debug, Default)]
pub struct SummarizedVms {
    /// The VMs of each subscription (lower case) in `of`.
    pub vms: BTreeMap<String, Vec<VirtualMachine>>,
    /// The subscriptions (lower case) whose VMs `vms` holds all of.
    pub of: BTreeSet<String>,
    /// The subscriptions (lower case) left to their lists.
    pub left: BTreeSet<String>,
}

impl SummarizedVms {
    fn merge(&mut self, other: SummarizedVms) {
        self.vms.extend(other.vms);
        self.of.extend(other.of);
        self.left.extend(other.left);
    }
}

/// The VMs a part of [`read`] asks for at most: 12 MiB (a quarter under Resource Graph's
/// 16 MiB) at 1 KiB a VM — a packed VM with a few disks and tags is about half that.
pub const VMS_PER_ANSWER: u64 = 12 * 1024;

/// What [`count`] found of some subscriptions' VMs.
#[derive(Debug, Clone, Default)]
pub struct Counted {
    /// The subscriptions to ask for, with their VM counts ([`VMS_PER_ANSWER`] for one counted
    /// in part: a group with more rows than a page), in order.
    pub vms: Vec<(String, u64)>,
    /// The subscriptions (lower case) with no VMs: answered without a row.
    pub none: BTreeSet<String>,
}

impl Counted {
    /// The VMs counted in `subscription` (any case); `None` when it was not counted.
    pub fn of(&self, subscription: &str) -> Option<u64> {
        let is = |s: &str| s.eq_ignore_ascii_case(subscription);
        match self.vms.iter().find(|(s, _)| is(s)) {
            Some((_, n)) => Some(*n),
            None => self.none.iter().any(|s| is(s)).then_some(0),
        }
    }
}

/// How many VMs each of `subscriptions` has ([`resource_graph::vm_count_query`], a query per
/// [`SUBSCRIPTIONS_PER_QUERY`]; none asked when there are none).
pub async fn count(session: &Session<'_>, subscriptions: &[String]) -> Result<Counted, AzureError> {
    let count_query = resource_graph::vm_count_query();
    let groups = subscriptions.chunks(SUBSCRIPTIONS_PER_QUERY.max(1));
    let counted = try_join_all(groups.map(|g| session.page(g, &count_query, At::First))).await?;
    let mut counts = BTreeMap::new();
    for row in counted.iter().flat_map(|p| &p.rows) {
        if let (Some(sub), Some(n)) = (row["subscriptionId"].as_str(), row["vmCount"].as_u64()) {
            counts.insert(sub.to_ascii_lowercase(), n);
        }
    }
    let mut out = Counted::default();
    // A group whose counts came in part (more rows than a page) is asked whole.
    for page in &counted {
        for s in &page.subscriptions {
            match (counts.get(&s.to_ascii_lowercase()), page.is_whole()) {
                (Some(n), _) => out.vms.push((s.clone(), *n)),
                // No row: no VMs.
                (None, true) => {
                    out.none.insert(s.to_ascii_lowercase());
                }
                (None, false) => out.vms.push((s.clone(), VMS_PER_ANSWER)),
            }
        }
    }
    Ok(out)
}

/// The VMs of the subscriptions [`count`] counted.
pub async fn read(session: &Session<'_>, counted: Counted) -> Result<SummarizedVms, AzureError> {
    let mut out = SummarizedVms {
        of: counted.none,
        ..SummarizedVms::default()
    };
    let query = resource_graph::vm_summary_query();
    let parts = pack(&counted.vms, VMS_PER_ANSWER, SUBSCRIPTIONS_PER_QUERY);
    for part in try_join_all(parts.into_iter().map(|p| group(session, p, &query))).await? {
        out.merge(part);
    }
    Ok(out)
}

/// `counted` subscriptions (with their VM counts), in order, packed into parts of at most
/// `per_part` VMs and `subscriptions` subscriptions; one larger than `per_part` by itself is a
/// part of its own.
pub fn pack(counted: &[(String, u64)], per_part: u64, subscriptions: usize) -> Vec<Vec<String>> {
    let mut parts: Vec<Vec<String>> = Vec::new();
    let mut load: u64 = 0;
    for (sub, n) in counted {
        let full = parts.last().is_none_or(|p| p.len() >= subscriptions.max(1))
            || load.saturating_add(*n) > per_part;
        if full {
            parts.push(Vec::new());
            load = 0;
        }
        if let Some(last) = parts.last_mut() {
            last.push(sub.clone());
        }
        load = load.saturating_add(*n);
    }
    parts
}

/// How many parts an answer of `size` bytes over a `limit` is split into: each a quarter under
/// the limit, at least two, at most one per subscription.
pub fn parts(size: u64, limit: Option<u64>, subscriptions: usize) -> usize {
    let limit = limit.unwrap_or(resource_graph::PAYLOAD_LIMIT).max(4);
    let target = limit - limit / 4;
    let wanted = usize::try_from(size.div_ceil(target)).unwrap_or(usize::MAX);
    wanted.clamp(2, subscriptions.max(2))
}

/// One group's VMs, split while Resource Graph says its answer is too large.
fn group<'a>(
    session: &'a Session<'a>,
    subscriptions: Vec<String>,
    query: &'a str,
) -> BoxFuture<'a, Result<SummarizedVms, AzureError>> {
    async move {
        let page = match session.page(&subscriptions, query, At::First).await {
            Ok(page) => page,
            Err(e) => {
                let Some((size, limit)) = resource_graph::too_large(&e) else {
                    return Err(e);
                };
                if subscriptions.len() == 1 {
                    tracing::info!(
                        subscription = subscriptions[0],
                        size,
                        "one subscription's VMs are too many for one Resource Graph answer; listing them"
                    );
                    let left = subscriptions.iter().map(|s| s.to_ascii_lowercase());
                    return Ok(SummarizedVms {
                        left: left.collect(),
                        ..SummarizedVms::default()
                    });
                }
                let n = parts(size, limit, subscriptions.len());
                let per = subscriptions.len().div_ceil(n);
                let split = subscriptions.chunks(per).map(|c| group(session, c.to_vec(), query));
                let mut out = SummarizedVms::default();
                for part in try_join_all(split).await? {
                    out.merge(part);
                }
                return Ok(out);
            }
        };
        let mut out = SummarizedVms::default();
        let mut rowless: BTreeSet<String> =
            subscriptions.iter().map(|s| s.to_ascii_lowercase()).collect();
        for row in &page.rows {
            let Some(sub) = row["subscriptionId"].as_str().map(str::to_ascii_lowercase) else {
                continue;
            };
            rowless.remove(&sub);
            let listed = row["vms"].as_array().map(Vec::as_slice).unwrap_or_default();
            let count = row["vmCount"].as_u64();
            if count != Some(listed.len() as u64) {
                tracing::info!(
                    subscription = sub,
                    listed = listed.len(),
                    count = count.unwrap_or_default(),
                    "Resource Graph's list of a subscription's VMs is short of its count; listing them"
                );
                out.left.insert(sub);
                continue;
            }
            let found = listed.iter().filter_map(vms::from_arm).collect();
            out.vms.insert(sub.clone(), found);
            out.of.insert(sub);
        }
        // A group answered in part (more rows than a page): the rest are listed. A
        // subscription answered without a row has no VMs.
        match page.is_whole() {
            true => out.of.extend(rowless),
            false => out.left.extend(rowless),
        }
        Ok(out)
    }
    .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counted_subscriptions_pack_in_order_into_parts_of_at_most_the_vms_an_answer_holds() {
        let counted = |ns: &[u64]| -> Vec<(String, u64)> {
            (ns.iter().enumerate())
                .map(|(i, n)| (format!("s{i}"), *n))
                .collect()
        };
        let names =
            |parts: Vec<Vec<String>>| -> Vec<usize> { parts.iter().map(Vec::len).collect() };
        // 100 subscriptions of 1,000 VMs: parts of 12 (12,000 VMs), the last of 4.
        let tenant = pack(&counted(&[1000; 100]), 12_288, 100);
        assert_eq!(names(tenant.clone()), [12, 12, 12, 12, 12, 12, 12, 12, 4]);
        assert_eq!(tenant[1][0], "s12", "in order");
        // One larger than a part alone, between small ones.
        let big = pack(&counted(&[10, 20_000, 10, 10]), 12_288, 100);
        assert_eq!(names(big), [1, 1, 2]);
        // At most `subscriptions` to a part, however few their VMs.
        assert_eq!(names(pack(&counted(&[1; 5]), 12_288, 2)), [2, 2, 1]);
        assert!(pack(&[], 12_288, 100).is_empty());
    }

    #[test]
    fn an_answer_too_large_splits_a_quarter_under_the_limit_into_at_least_two_parts() {
        let mib16 = Some(16_777_216);
        // 80 MB over 100 subscriptions: 7 parts of at most 12 MiB.
        assert_eq!(parts(80_000_000, mib16, 100), 7);
        // Just over the limit: two.
        assert_eq!(parts(16_777_217, mib16, 100), 2);
        // Never more parts than subscriptions.
        assert_eq!(parts(1_000_000_000, mib16, 3), 3);
        // A refusal that names no size or limit still splits, at Azure's limit.
        assert_eq!(parts(0, None, 10), 2);
        assert_eq!(parts(50_331_648, None, 10), 4);
    }
}
