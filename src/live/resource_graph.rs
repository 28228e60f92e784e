//! Discovery of the virtual machines and managed disks of many subscriptions through Azure
//! Resource Graph (`POST /providers/Microsoft.ResourceGraph/resources`, api-version
//! [`API_VERSION`] from ../shared/azure-rest-specs/specification/resourcegraph), into the same
//! [`VirtualMachine`] and [`ManagedDisk`] values the list readers (`vms`, `disk_backup`)
//! produce, so that a caller cannot tell the source.
//!
//! How (Microsoft Learn, "Guidance for throttled requests in Azure Resource Graph"):
//! - subscriptions are grouped, [`SUBSCRIPTIONS_PER_QUERY`] per query (the guide's "Grouping
//!   queries" sample), the groups queried concurrently;
//! - each query pages [`PAGE_ROWS`] rows at a time (Resource Graph's most) with `$skipToken`,
//!   ordered by `id` so that pages are stable;
//! - before every query the reader waits while the last answer said no quota is left
//!   (`azure::graph_quota::decide`; answers arriving out of order never raise it:
//!   `graph_quota::replaces`); a 429 all the same is retried by the client.
//!
//! When Resource Graph is not there for the caller (403, 404, or its provider not registered:
//! [`unavailable`]), [`discover`] falls back to the per-subscription list calls.
//!
//! Owns: [`discover`], [`query_all`], the queries and request bodies. Must not import: `cli`,
//! `plan`, `apply`, `render`, `config`, `ops`.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use futures::future::try_join_all;
use serde_json::{json, Value};

use crate::azure::graph_quota::{self, Pace, QuotaReading};
use crate::azure::{ArmClient, AzureError};
use crate::model::{disk, ManagedDisk, VirtualMachine};

/// Resource Graph's stable api-version in ../shared/azure-rest-specs (2024-04-01).
pub const API_VERSION: &str = "2024-04-01";
/// The most rows a page may have (`QueryRequestOptions.$top`, maximum 1000).
pub const PAGE_ROWS: u32 = 1000;
/// Subscriptions per query.
pub const SUBSCRIPTIONS_PER_QUERY: usize = 100;

/// The query path.
pub fn path() -> String {
    format!("/providers/Microsoft.ResourceGraph/resources?api-version={API_VERSION}")
}

const COLUMNS: &str =
    "id, name, type, location, resourceGroup, subscriptionId, tags, sku, properties";

/// The query for the virtual machines.
pub fn vm_query() -> String {
    format!("Resources | where type =~ 'microsoft.compute/virtualmachines' | project {COLUMNS} | order by id asc")
}

/// The query for the managed disks.
pub fn disk_query() -> String {
    format!(
        "Resources | where type =~ 'microsoft.compute/disks' | project {COLUMNS} | order by id asc"
    )
}

/// The body of one page's query (`QueryRequest`).
pub fn request_body(subscriptions: &[String], query: &str, skip_token: Option<&str>) -> Value {
    let mut options = json!({"$top": PAGE_ROWS, "resultFormat": "objectArray"});
    if let Some(t) = skip_token {
        options["$skipToken"] = json!(t);
    }
    json!({"subscriptions": subscriptions, "query": query, "options": options})
}

/// What [`discover`] read, and from where.
#[derive(Debug, Clone, Default)]
pub struct Discovered {
    pub vms: Vec<VirtualMachine>,
    pub disks: Vec<ManagedDisk>,
    /// `false` when Resource Graph was unavailable and the list calls answered.
    pub from_resource_graph: bool,
    /// Queries sent to Resource Graph (pages, retries not counted).
    pub queries: u32,
}

/// Whether an error means "Resource Graph is not there for this caller" rather than a failure
/// worth reporting: 403 (no right to query), 404, or the provider not registered.
pub fn unavailable(e: &AzureError) -> bool {
    matches!(e.status(), Some(403 | 404))
        || e.code().is_some_and(|c| {
            c.eq_ignore_ascii_case("MissingSubscriptionRegistration")
                || c.eq_ignore_ascii_case("NoRegisteredProviderFound")
                || c.eq_ignore_ascii_case("InvalidResourceNamespace")
        })
}

/// The quota as last seen, shared by the concurrent queries of one discovery.
#[derive(Default)]
struct Pacer {
    state: Mutex<PacerState>,
}

#[derive(Default)]
struct PacerState {
    /// The reading held and when it arrived.
    reading: Option<(QuotaReading, Instant)>,
    /// Queries sent since it arrived.
    sent: u32,
    in_flight: u32,
}

impl Pacer {
    /// Wait until the quota allows one more query, then count it as sent.
    async fn admit(&self) {
        loop {
            let pace = {
                let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
                let (reading, since) = match s.reading {
                    Some((r, at)) => (Some(r), at.elapsed()),
                    None => (None, Duration::ZERO),
                };
                let pace = graph_quota::decide(reading, since, s.sent, s.in_flight);
                if pace == Pace::Go {
                    s.sent += 1;
                    s.in_flight += 1;
                }
                pace
            };
            let wait = match pace {
                Pace::Go => return,
                Pace::Wait(d) => d,
                Pace::AwaitAnswer => Duration::from_millis(10),
            };
            tracing::debug!(
                wait_ms = wait.as_millis() as u64,
                "Resource Graph quota: waiting"
            );
            tokio::time::sleep(wait).await;
        }
    }

    /// An answer arrived (with its quota reading, if any).
    fn answered(&self, reading: Option<QuotaReading>) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.in_flight = s.in_flight.saturating_sub(1);
        if let Some(r) = reading {
            let held = s.reading.map(|(h, at)| (h, at.elapsed()));
            if graph_quota::replaces(held, r) {
                s.reading = Some((r, Instant::now()));
                s.sent = 0;
            }
        }
    }
}

/// Every row `query` returns for `subscriptions`: grouped, paged and paced as the module says.
/// Returns the rows (in each group's order, groups in order) and the number of queries sent.
pub async fn query_all(
    client: &ArmClient,
    subscriptions: &[String],
    query: &str,
) -> Result<(Vec<Value>, u32), AzureError> {
    query_paced(client, &Pacer::default(), subscriptions, query).await
}

/// [`query_all`] with a pacer shared by every query of one discovery (one user, one quota).
async fn query_paced(
    client: &ArmClient,
    pacer: &Pacer,
    subscriptions: &[String],
    query: &str,
) -> Result<(Vec<Value>, u32), AzureError> {
    let groups = subscriptions.chunks(SUBSCRIPTIONS_PER_QUERY.max(1));
    let parts = try_join_all(groups.map(|g| query_group(client, pacer, g, query))).await?;
    let queries = parts.iter().map(|p| p.1).sum();
    Ok((parts.into_iter().flat_map(|p| p.0).collect(), queries))
}

async fn query_group(
    client: &ArmClient,
    pacer: &Pacer,
    subscriptions: &[String],
    query: &str,
) -> Result<(Vec<Value>, u32), AzureError> {
    let mut rows = Vec::new();
    let mut token: Option<String> = None;
    let mut queries = 0;
    loop {
        pacer.admit().await;
        let answer = client
            .post_query(
                &path(),
                &request_body(subscriptions, query, token.as_deref()),
            )
            .await;
        let (body, headers) = match answer {
            Ok(a) => a,
            Err(e) => {
                pacer.answered(None);
                return Err(e);
            }
        };
        pacer.answered(graph_quota::reading(&headers));
        queries += 1;
        let mut body = body.unwrap_or(Value::Null);
        match body.get_mut("data").map(Value::take) {
            Some(Value::Array(data)) => rows.extend(data),
            _ => {
                return Err(AzureError::Transport {
                    method: "POST".into(),
                    resource: "Microsoft.ResourceGraph/resources".into(),
                    message:
                        "the Resource Graph answer has no `data` array (objectArray was asked)"
                            .into(),
                    unreachable: false,
                })
            }
        }
        match body.get("$skipToken").and_then(Value::as_str) {
            Some(t) if !t.is_empty() => token = Some(t.to_string()),
            _ => return Ok((rows, queries)),
        }
    }
}

/// The VMs and managed disks of `subscriptions`: from Resource Graph, or — when it is
/// [`unavailable`] — from each subscription's VM and disk lists (concurrently).
pub async fn discover(
    client: &ArmClient,
    subscriptions: &[String],
) -> Result<Discovered, AzureError> {
    let graph = async {
        let (vm_q, disk_q, pacer) = (vm_query(), disk_query(), Pacer::default());
        let (vms, disks) = futures::try_join!(
            query_paced(client, &pacer, subscriptions, &vm_q),
            query_paced(client, &pacer, subscriptions, &disk_q)
        )?;
        Ok::<_, AzureError>(Discovered {
            vms: vms.0.iter().filter_map(super::vms::from_arm).collect(),
            disks: disks.0.iter().filter_map(ManagedDisk::from_arm).collect(),
            from_resource_graph: true,
            queries: vms.1 + disks.1,
        })
    };
    match graph.await {
        Err(e) if unavailable(&e) => {
            tracing::info!("Resource Graph is unavailable ({e}); listing per subscription");
            by_lists(client, subscriptions).await
        }
        other => other,
    }
}

/// The fallback: each subscription's VM list and disk list.
pub async fn by_lists(
    client: &ArmClient,
    subscriptions: &[String],
) -> Result<Discovered, AzureError> {
    let per_sub = try_join_all(subscriptions.iter().map(|s| async move {
        let (vm_path, disk_path) = (super::vms::subscription_path(s), disk::list_path(s));
        futures::try_join!(client.list(&vm_path), client.list(&disk_path))
    }))
    .await?;
    let mut out = Discovered::default();
    for (vms, disks) in per_sub {
        out.vms.extend(vms.iter().filter_map(super::vms::from_arm));
        out.disks
            .extend(disks.iter().filter_map(ManagedDisk::from_arm));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_asks_for_full_pages_and_carries_the_token() {
        let subs = vec!["s1".to_string()];
        let first = request_body(&subs, &vm_query(), None);
        assert_eq!(first["options"]["$top"], 1000);
        assert!(first["options"].get("$skipToken").is_none());
        let next = request_body(&subs, &vm_query(), Some("abc"));
        assert_eq!(next["options"]["$skipToken"], "abc");
        assert_eq!(next["subscriptions"], json!(["s1"]));
        assert!(vm_query().contains("order by id asc"));
    }

    #[test]
    fn forbidden_missing_or_unregistered_resource_graph_falls_back_and_other_errors_do_not() {
        let arm = |status, code: &str| AzureError::Arm {
            method: "POST".into(),
            resource: "Microsoft.ResourceGraph/resources".into(),
            status,
            code: code.into(),
            message: String::new(),
            request_id: "-".into(),
        };
        assert!(unavailable(&arm(403, "AuthorizationFailed")));
        assert!(unavailable(&arm(404, "NotFound")));
        assert!(unavailable(&arm(409, "MissingSubscriptionRegistration")));
        assert!(unavailable(&arm(400, "NoRegisteredProviderFound")));
        assert!(
            !unavailable(&arm(400, "BadRequest")),
            "a query error is ours to report"
        );
        assert!(!unavailable(&arm(429, "RateLimiting")));
        assert!(!unavailable(&arm(500, "InternalServerError")));
    }
}
