//! `summarize` (the grammar is in [`super::kql`]): the rows the operators before it leave,
//! grouped by its `by` columns into one row each — the `by` columns, then each aggregate —
//! and ordered or cut by the operators after it.
//!
//! Such an answer is not paged: its rows carry no `id`, and Resource Graph pages only answers
//! that do (Microsoft Learn, "Working with large Azure resource data sets"; its operator table
//! says "Simplified first page only" of `summarize`). A page holds the first `$top` groups,
//! `resultTruncated` says whether there were more, and no `$skipToken` follows: a client that
//! needs them all asks for fewer groups at a time.
//!
//! The answer is built as JSON text, each VM's `make_list` element kept by VM
//! (`App::graph_packed`): a tenant's 100,000 VMs are rendered once, not for every query.
//!
//! Must not import: `plan`, `apply`, `config`, `cli`, `ops`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value};

use super::kql::{Agg, Expr, Op, Query};
use super::{apply, ordered, table_rows, Row, State};
use crate::sandbox::state::key;

/// Packed VMs by state key: the expression and its JSON (`App::graph_packed`).
pub(super) type Packed = Mutex<HashMap<String, (String, Arc<str>)>>;

/// One summarized answer: its columns (name, Resource Graph's type) and rows, each cell JSON
/// text in column order.
pub(super) struct Summary {
    pub columns: Vec<(String, &'static str)>,
    pub rows: Vec<Vec<String>>,
}

/// One group's aggregates as they build.
enum Acc {
    List(Vec<Arc<str>>),
    Count(u64),
}

/// `query`'s summary over `subs`; `None` when it does not summarize.
pub(super) fn summarize(
    st: &State,
    query: &Query,
    subs: &BTreeSet<String>,
    packed: &Packed,
) -> Option<Summary> {
    let at = (query.ops.iter()).position(|o| matches!(o, Op::Summarize { .. }))?;
    let Op::Summarize { aggs, by } = &query.ops[at] else {
        return None;
    };
    let mut rows = table_rows(st, query.table, subs);
    for op in &query.ops[..at] {
        rows = apply(st, rows, op);
    }
    let mut cache = packed.lock().unwrap_or_else(|p| p.into_inner());
    // What a kept element was packed by: each `make_list`'s expression, spelled out once.
    let shapes: Vec<String> = aggs.iter().map(|(_, a)| format!("{a:?}")).collect();
    let mut groups: BTreeMap<Vec<String>, Vec<Acc>> = BTreeMap::new();
    for r in &rows {
        let key: Vec<String> = by.iter().map(|c| r.scalar(c, st)).collect();
        let accs = groups.entry(key).or_insert_with(|| {
            (aggs.iter())
                .map(|(_, a)| match a {
                    Agg::MakeList(_) => Acc::List(Vec::new()),
                    Agg::Count => Acc::Count(0),
                })
                .collect()
        });
        for (((_, agg), acc), shape) in aggs.iter().zip(accs.iter_mut()).zip(&shapes) {
            match (agg, acc) {
                (Agg::MakeList(e), Acc::List(list)) => {
                    list.push(element(st, r, (e, shape), &mut cache))
                }
                (Agg::Count, Acc::Count(n)) => *n += 1,
                _ => {}
            }
        }
    }
    let mut keyed: Vec<(Vec<String>, Vec<Acc>)> = groups.into_iter().collect();
    for op in &query.ops[at + 1..] {
        match op {
            Op::Order(keys) => {
                let of = |k: &[String]| -> Vec<String> {
                    (keys.iter())
                        .map(|(c, _)| by.iter().position(|b| b == c).map(|i| k[i].clone()))
                        .map(Option::unwrap_or_default)
                        .collect()
                };
                keyed.sort_by(|(a, _), (b, _)| ordered(keys, &of(a), &of(b)));
            }
            Op::Limit(n) => keyed.truncate(*n),
            _ => {}
        }
    }
    let mut columns: Vec<(String, &'static str)> =
        by.iter().map(|c| (c.clone(), "string")).collect();
    columns.extend(aggs.iter().map(|(name, a)| {
        let t = match a {
            Agg::MakeList(_) => "object",
            Agg::Count => "integer",
        };
        (name.clone(), t)
    }));
    let rows = (keyed.into_iter())
        .map(|(key, accs)| {
            let keys = key.iter().map(|k| Value::String(k.clone()).to_string());
            let aggregates = accs.into_iter().map(|a| match a {
                Acc::List(items) => format!("[{}]", items.join(",")),
                Acc::Count(n) => n.to_string(),
            });
            keys.chain(aggregates).collect()
        })
        .collect();
    Some(Summary { columns, rows })
}

/// The JSON of `expr` over the row `r` — a VM's kept in `cache` for the same expression
/// (`shape`, its spelling).
fn element(
    st: &State,
    r: &Row<'_>,
    (expr, shape): (&Expr, &String),
    cache: &mut HashMap<String, (String, Arc<str>)>,
) -> Arc<str> {
    let fresh = || Arc::from(eval(expr, &r.render(st)).to_string());
    let Row::Vm(vm) = r else {
        return fresh();
    };
    let k = key(&[&vm.subscription, &vm.resource_group, &vm.name]);
    match cache.get(&k) {
        Some((s, json)) if s == shape => json.clone(),
        _ => {
            let json = fresh();
            cache.insert(k, (shape.clone(), json.clone()));
            json
        }
    }
}

/// `expr`'s value in the rendered row `full` (null where a path leads nowhere).
fn eval(expr: &Expr, full: &Map<String, Value>) -> Value {
    match expr {
        Expr::Path(column, path) => {
            let mut at = full.get(column);
            for p in path {
                at = at.and_then(|v| v.get(p));
            }
            at.cloned().unwrap_or(Value::Null)
        }
        Expr::Pack(pairs) => Value::Object(
            (pairs.iter())
                .map(|(k, e)| (k.clone(), eval(e, full)))
                .collect(),
        ),
    }
}

/// One page of `summary` as JSON text: its first `top` rows after `skip`, never a `$skipToken`.
pub(super) fn respond(summary: Summary, skip: usize, top: usize, format: &str) -> String {
    let total = summary.rows.len();
    let page: Vec<Vec<String>> = summary.rows.into_iter().skip(skip).take(top).collect();
    let more = skip + page.len() < total;
    let count = page.len();
    let data = if format == "table" {
        let columns: Vec<String> = (summary.columns.iter())
            .map(|(n, t)| serde_json::json!({"name": n, "type": t}).to_string())
            .collect();
        let rows: Vec<String> = (page.iter())
            .map(|cells| format!("[{}]", cells.join(",")))
            .collect();
        format!(
            r#"{{"columns":[{}],"rows":[{}]}}"#,
            columns.join(","),
            rows.join(",")
        )
    } else {
        let objects: Vec<String> = (page.iter())
            .map(|cells| {
                let fields = (summary.columns.iter().zip(cells))
                    .map(|((n, _), cell)| format!("{}:{cell}", Value::String(n.clone())));
                format!("{{{}}}", fields.collect::<Vec<_>>().join(","))
            })
            .collect();
        format!("[{}]", objects.join(","))
    };
    let truncated = if more { "true" } else { "false" };
    format!(
        r#"{{"totalRecords":{total},"count":{count},"data":{data},"facets":[],"resultTruncated":"{truncated}"}}"#
    )
}
