//! Azure Resource Graph: `POST /providers/Microsoft.ResourceGraph/resources` (spec:
//! ../shared/azure-rest-specs/specification/resourcegraph/.../stable/2024-04-01 `resourcegraph.json`,
//! `QueryRequest` / `QueryResponse`; recorded at 2021-03-01 in
//! azure-cli-extensions/test_dataprotection_backup_instance_restore_disk.yaml, whose answer
//! `{"totalRecords":0,"count":0,"data":[],"facets":[],"resultTruncated":"false"}` this matches:
//! `resultTruncated` is a string).
//!
//! Serves the `Resources` table's virtual machines and managed disks, and the
//! `ResourceContainers` table's subscriptions and resource groups, of the readable
//! subscriptions in scope (`subscriptions`, or every subscription under `managementGroups`, or
//! the tenant), filtered, projected, ordered and paged by the KQL subset in [`kql`]; pages of
//! `options.$top` rows (default 100, at most 1,000) continue with an opaque `$skipToken` that
//! is bound to the query and scope. Queries outside the subset answer 400 in Resource Graph's
//! shape (`BadRequest` with `InvalidQuery` and `ParserFailure` details). Its quota: [`quota`].
//!
//! Must not import: `plan`, `apply`, `config`, `cli`, `ops`.

pub mod evaluated;
pub mod kql;
pub mod quota;
mod summary;

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::BTreeSet;
use std::time::Instant;

use base64::Engine;
use serde_json::{json, Map, Value};

use super::compute::{disk_body, vm_body};
use super::errors::ArmError;
use super::handler::{Ctx, HResult, Reply};
use super::state::{Disk, ResourceGroup, State, Vm};
use evaluated::{Evaluated, RowKey};
use kql::{Op, Query, Table};

pub const API_VERSIONS: &[&str] = &[
    "2019-04-01",
    "2020-04-01-preview",
    "2021-03-01",
    "2021-06-01-preview",
    "2022-10-01",
    "2024-04-01",
];

/// Rows per page when `options.$top` is not given, and the most a page may have.
pub const DEFAULT_TOP: usize = 100;
pub const MAX_TOP: usize = 1000;
/// The most bytes an answer may have: 16 MiB (Microsoft Learn, "Paging Resource Graph
/// results": a query whose answer is over 16 MB is to be partitioned; the error users have met,
/// e.g. Azure/cosmos-explorer pull request 1877 and microsoft/ARI issue 199: "Response payload
/// size is 29972004, and has exceeded the limit of 16777216").
pub const PAYLOAD_LIMIT: usize = 16 * 1024 * 1024;

/// One row of the `Resources` or the `ResourceContainers` table.
#[derive(Clone, Copy)]
enum Row<'a> {
    Vm(&'a Vm),
    Disk(&'a Disk),
    Subscription(&'a str),
    Group(&'a ResourceGroup),
}

impl Row<'_> {
    fn scalar(&self, column: &str, st: &State) -> String {
        let (sub, rg, name, location, rtype) = match self {
            Row::Vm(v) => (
                v.subscription.as_str(),
                v.resource_group.as_str(),
                Cow::Borrowed(v.name.as_str()),
                v.location.as_str(),
                "microsoft.compute/virtualmachines",
            ),
            Row::Disk(d) => (
                d.subscription.as_str(),
                d.resource_group.as_str(),
                Cow::Borrowed(d.name.as_str()),
                d.location.as_str(),
                "microsoft.compute/disks",
            ),
            // A subscription row is named by its display name, has no group or location.
            Row::Subscription(s) => (
                *s,
                "",
                Cow::Owned(st.tenancy.name_of(s)),
                "",
                SUBSCRIPTION_TYPE,
            ),
            // A resource group's `resourceGroup` is its own name.
            Row::Group(g) => (
                g.subscription.as_str(),
                g.name.as_str(),
                Cow::Borrowed(g.name.as_str()),
                g.location.as_str(),
                GROUP_TYPE,
            ),
        };
        match column {
            "id" => match self {
                Row::Vm(_) => super::inventory::vm_id(sub, rg, &name),
                Row::Disk(_) => super::inventory::disk_id(sub, rg, &name),
                Row::Subscription(_) => format!("/subscriptions/{sub}"),
                Row::Group(_) => format!("/subscriptions/{sub}/resourceGroups/{rg}"),
            },
            "name" => name.into_owned(),
            // Resource Graph lower-cases types (spec example ResourcesBasicQuery.json).
            "type" => rtype.to_string(),
            "location" => location.to_string(),
            "resourceGroup" => rg.to_string(),
            "subscriptionId" => sub.to_string(),
            "tenantId" => st.identity.tenant_id.clone(),
            "managedBy" => match self {
                Row::Disk(d) => d.managed_by.clone().unwrap_or_default(),
                _ => String::new(),
            },
            _ => String::new(),
        }
    }

    /// The full row: the ARM resource with Resource Graph's extra columns.
    fn render(&self, st: &State) -> Map<String, Value> {
        let arm = match self {
            Row::Vm(v) => vm_body(st, v),
            Row::Disk(d) => disk_body(d),
            Row::Subscription(_) => json!({
                "id": self.scalar("id", st),
                "name": self.scalar("name", st),
                "tags": {},
                "properties": {"state": "Enabled"},
            }),
            Row::Group(g) => json!({
                "id": self.scalar("id", st),
                "name": g.name,
                "location": g.location,
                "tags": g.tags,
                "properties": {"provisioningState": "Succeeded"},
            }),
        };
        let mut row = match arm {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        for c in [
            "type",
            "resourceGroup",
            "subscriptionId",
            "tenantId",
            "managedBy",
            "location",
        ] {
            let v = self.scalar(c, st);
            row.entry(c).or_insert(json!(v));
            if c != "location" {
                row.insert(c.into(), json!(v));
            }
        }
        for c in ["kind", "sku", "plan", "identity", "zones"] {
            row.entry(c).or_insert(Value::Null);
        }
        row.entry("zones").and_modify(|z| {
            if z.is_null() {
                *z = json!([]);
            }
        });
        row
    }
}

/// `ResourceContainers` types (Resource Graph lower-cases them).
const SUBSCRIPTION_TYPE: &str = "microsoft.resources/subscriptions";
const GROUP_TYPE: &str = "microsoft.resources/subscriptions/resourcegroups";

fn invalid(message: &str, detail: Value) -> ArmError {
    ArmError::bad_request("BadRequest", message).with_details(vec![
        json!({"code": "InvalidQuery", "message": "Query is invalid. Please refer to the documentation for the Azure Resource Graph service and fix the error before retrying."}),
        detail,
    ])
}

/// An answer over the [`PAYLOAD_LIMIT`]: the body users have met (Azure/cosmos-explorer pull
/// request 1877), status 400 for its `BadRequest` code.
// Not in the recordings or specs: see README "Known to differ".
fn too_large(size: usize, limit: usize) -> ArmError {
    let message = "Please provide below info when asking for support: the answer is over Resource Graph's payload limit.";
    ArmError::bad_request("BadRequest", message).with_details(vec![json!({
        "code": "ResponsePayloadTooLarge",
        "message": format!("Response payload size is {size}, and has exceeded the limit of {limit}. Please consider querying less data at a time and make paginated call if needed."),
    })])
}

pub fn route(ctx: &Ctx<'_>, st: &mut State) -> HResult {
    if ctx.lsegs.len() != 3 || ctx.lsegs[2] != "resources" {
        return Err(ArmError::no_route(&ctx.raw_path));
    }
    if ctx.method != "POST" {
        return Err(ArmError::method_not_allowed(&ctx.method));
    }
    ctx.require_api(API_VERSIONS)?;
    let headers = match &ctx.app.graph_quota {
        Some(q) => q.take(Instant::now())?,
        None => vec![],
    };
    let body = ctx.json()?;
    let generation = ctx
        .app
        .generation
        .load(std::sync::atomic::Ordering::Relaxed);
    let version = evaluated::version(st, generation);
    let text = match answer(st, &body, ctx.app, version)? {
        Answer::Json(v) => v.to_string(),
        Answer::Text(t) => t,
    };
    let limit = (ctx.app.graph_payload_limit).load(std::sync::atomic::Ordering::Relaxed);
    if text.len() > limit {
        return Err(too_large(text.len(), limit));
    }
    let mut reply = Reply::raw_json(text);
    reply.headers = headers;
    Ok(reply)
}

fn strings(v: &Value, field: &str) -> Result<Option<Vec<String>>, ArmError> {
    match v.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(a)) => a
            .iter()
            .map(|s| s.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .map(Some)
            .ok_or_else(|| {
                ArmError::invalid_json(format!("'{field}' must be an array of strings"))
            }),
        Some(_) => Err(ArmError::invalid_json(format!(
            "'{field}' must be an array"
        ))),
    }
}

/// The subscriptions a request reaches: those listed, those under the listed groups, or every
/// subscription; only the readable ones (Resource Graph returns what the caller may read) that
/// it has indexed.
fn scope(st: &State, body: &Value) -> Result<BTreeSet<String>, ArmError> {
    let subs = strings(body, "subscriptions")?;
    let groups = strings(body, "managementGroups")?;
    let mut out = BTreeSet::new();
    match (subs, groups) {
        (Some(s), _) => out.extend(s.into_iter().map(|s| s.to_ascii_lowercase())),
        (None, Some(g)) => {
            for g in g {
                let Some(group) = super::tenancy::group(st, &g) else {
                    return Err(super::management_groups::not_authorized(st, &g));
                };
                for d in st.tenancy.descendants_of(&group) {
                    if let super::tenancy::Descendant::Subscription { id, .. } = d {
                        out.insert(id.to_ascii_lowercase());
                    }
                }
            }
        }
        (None, None) => out.extend(st.subscriptions.iter().map(|s| s.to_ascii_lowercase())),
    }
    out.retain(|s| st.tenancy.readable(s) && !st.tenancy.unindexed.contains(s));
    Ok(out)
}

/// A `$skipToken`: the next row's offset, bound to a digest of the query and its scope.
fn token(offset: usize, digest: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{offset}:{digest}"))
}

fn digest(body: &Value) -> String {
    let text = format!(
        "{}|{}|{}",
        body["query"], body["subscriptions"], body["managementGroups"]
    );
    super::inventory::stable_guid(&text)
}

/// An answer: a JSON tree, or (a summary) its text.
enum Answer {
    Json(Value),
    Text(String),
}

/// One page of the query `body` asks; `app.graph_answered` keeps the evaluated query for the
/// next pages while the state is at `version`.
fn answer(
    st: &State,
    body: &Value,
    app: &super::server::App,
    version: evaluated::Version,
) -> Result<Answer, ArmError> {
    let answered = &app.graph_answered;
    let Some(text) = body.get("query").and_then(Value::as_str) else {
        return Err(ArmError::invalid_json("'query' is required"));
    };
    let query: Query = kql::parse(text).map_err(|e| {
        invalid(
            "Please provide below info when asking for support: the query is outside the sandbox's Resource Graph subset.",
            json!({"code": "ParserFailure", "message": e.message, "line": 1,
                   "characterPositionInLine": e.position, "token": e.token}),
        )
    })?;
    let options = &body["options"];
    let top = match options.get("$top").and_then(Value::as_u64) {
        Some(t) if (1..=MAX_TOP as u64).contains(&t) => Some(t as usize),
        Some(t) => {
            return Err(invalid(
                "Please provide below info when asking for support: $top is out of range.",
                json!({"code": "InvalidParameter", "message": format!("$top must be between 1 and {MAX_TOP}; it is {t}.")}),
            ))
        }
        None => None,
    };
    let format = options
        .get("resultFormat")
        .and_then(Value::as_str)
        .unwrap_or("objectArray");
    if format != "objectArray" && format != "table" {
        return Err(ArmError::invalid_json(format!(
            "resultFormat '{format}' is not one of table, objectArray"
        )));
    }
    let dig = digest(body);
    let mut skip = options.get("$skip").and_then(Value::as_u64).unwrap_or(0) as usize;
    if let Some(t) = options.get("$skipToken").and_then(Value::as_str) {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(t)
            .ok()
            .and_then(|b| String::from_utf8(b).ok());
        match decoded.as_deref().and_then(|d| d.split_once(':')) {
            // `$skip` "overrides the next page offset when `$skipToken` is present"
            // (resourcegraph.json 2024-04-01, `QueryRequestOptions`).
            Some((off, d)) if d == dig => {
                if options.get("$skip").is_none() {
                    skip = off.parse().unwrap_or(0);
                }
            }
            _ => {
                return Err(invalid(
                    "Please provide below info when asking for support: the skip token is not valid for this query.",
                    json!({"code": "InvalidSkipToken", "message": "The $skipToken does not belong to this query and scope."}),
                ))
            }
        }
    }
    let subs = scope(st, body)?;
    if let Some(summary) = summary::summarize(st, &query, &subs, &app.graph_packed) {
        let size = top.unwrap_or(DEFAULT_TOP);
        return Ok(Answer::Text(summary::respond(summary, skip, size, format)));
    }
    let evaluated = match answered.get(&dig, &subs, version) {
        Some(e) => e,
        None => {
            let e = evaluate(st, &query, &subs);
            answered.keep(dig.clone(), subs, version, e.clone());
            e
        }
    };
    let total = evaluated.rows.len();
    let size = top.unwrap_or(DEFAULT_TOP);
    let page: Vec<Row> = (evaluated.rows.iter().skip(skip).take(size))
        .filter_map(|k| k.row(st))
        .collect();
    let next = skip + page.len();
    Ok(Answer::Json(respond(
        st,
        &page,
        evaluated.project,
        (total, next),
        format,
        &dig,
    )))
}

/// The rows of `table` in the subscriptions `subs`.
fn table_rows<'s>(st: &'s State, table: Table, subs: &BTreeSet<String>) -> Vec<Row<'s>> {
    let in_scope = |sub: &str| subs.contains(&sub.to_ascii_lowercase());
    match table {
        Table::Resources => (st.vms.values())
            .filter(|v| in_scope(&v.subscription))
            .map(Row::Vm)
            .chain(
                (st.disks.values())
                    .filter(|d| in_scope(&d.subscription))
                    .map(Row::Disk),
            )
            .collect(),
        Table::ResourceContainers => (st.subscriptions.iter())
            .filter(|s| in_scope(s))
            .map(|s| Row::Subscription(s.as_str()))
            .chain(
                (st.resource_groups.values())
                    .filter(|g| in_scope(&g.subscription))
                    .map(Row::Group),
            )
            .collect(),
    }
}

/// `rows` after one row operator (`where`, `order by`, `limit`; the others leave them).
fn apply<'s>(st: &State, mut rows: Vec<Row<'s>>, op: &Op) -> Vec<Row<'s>> {
    match op {
        Op::Where(preds) => {
            rows.retain(|r| preds.iter().all(|p| p.holds(&r.scalar(&p.column, st))))
        }
        // Each row's keys are computed once (a page of a large scope sorts it all again).
        Op::Order(keys) => {
            let mut keyed: Vec<(Vec<String>, Row)> = (rows.iter())
                .map(|r| (keys.iter().map(|(c, _)| r.scalar(c, st)).collect(), *r))
                .collect();
            keyed.sort_by(|(a, _), (b, _)| ordered(keys, a, b));
            rows = keyed.into_iter().map(|(_, r)| r).collect();
        }
        Op::Limit(n) => rows.truncate(*n),
        Op::Project(_) | Op::Summarize { .. } => {}
    }
    rows
}

/// Two rows' sort keys compared as `keys` (column, descending) say.
fn ordered(keys: &[(String, bool)], a: &[String], b: &[String]) -> Ordering {
    (keys.iter().zip(a.iter().zip(b)))
        .map(|((_, desc), (x, y))| match desc {
            true => y.cmp(x),
            false => x.cmp(y),
        })
        .find(|o| *o != Ordering::Equal)
        .unwrap_or(Ordering::Equal)
}

/// The rows of `query` over the subscriptions `subs`, in order, and its projection.
fn evaluate(st: &State, query: &Query, subs: &BTreeSet<String>) -> Evaluated {
    let mut rows = table_rows(st, query.table, subs);
    let mut project: Option<Vec<String>> = None;
    for op in &query.ops {
        if let Op::Project(cols) = op {
            project = Some(cols.clone());
        }
        rows = apply(st, rows, op);
    }
    Evaluated {
        rows: std::sync::Arc::new(rows.iter().map(RowKey::of).collect()),
        project,
    }
}

/// The rest of an answer: its page of rows rendered, with `totalRecords` and (rows after
/// `next`) the next token.
fn respond(
    st: &State,
    page: &[Row<'_>],
    project: Option<Vec<String>>,
    (total, next): (usize, usize),
    format: &str,
    dig: &str,
) -> Value {
    let more = next < total;
    // Resource Graph pages only results that carry `id`; without it a partial answer is
    // truncated (Microsoft Learn, "Working with large Azure resource data sets").
    let pageable = project
        .as_ref()
        .is_none_or(|cols| cols.iter().any(|c| c == "id"));
    let columns: Vec<String> =
        project.unwrap_or_else(|| kql::COLUMNS.iter().map(|c| c.to_string()).collect());
    let objects: Vec<Map<String, Value>> = page
        .iter()
        .map(|r| {
            let mut full = r.render(st);
            columns
                .iter()
                .map(|c| (c.clone(), full.remove(c).unwrap_or(Value::Null)))
                .collect()
        })
        .collect();
    let data = if format == "table" {
        let cols: Vec<Value> = columns
            .iter()
            .map(|c| {
                let t = if kql::SCALAR.contains(&c.as_str()) {
                    "string"
                } else {
                    "object"
                };
                json!({"name": c, "type": t})
            })
            .collect();
        let table_rows: Vec<Value> = objects
            .iter()
            .map(|o| Value::Array(columns.iter().map(|c| o[c].clone()).collect()))
            .collect();
        json!({"columns": cols, "rows": table_rows})
    } else {
        Value::Array(objects.into_iter().map(Value::Object).collect())
    };
    let mut out = json!({
        "totalRecords": total,
        "count": page.len(),
        "data": data,
        "facets": [],
        "resultTruncated": if more && !pageable { "true" } else { "false" },
    });
    if more && pageable {
        out["$skipToken"] = json!(token(next, dig));
    }
    out
}
