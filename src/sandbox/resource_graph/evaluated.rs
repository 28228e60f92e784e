//! The last query Resource Graph evaluated, kept for its next pages: a client pages a large
//! answer 1,000 rows at a time, and evaluating the whole query (every VM of the tenant
//! filtered and sorted) for each page made paging quadratic. Kept by the query's digest and
//! scope and the state's [`Version`] (`App::generation`, bumped by every request that changes
//! the state, and the sizes of what the tables hold), so a page never answers from a state
//! that has changed since.
//!
//! Must not import: `plan`, `apply`, `config`, `cli`, `ops`.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use super::Row;
use crate::sandbox::state::{key, State};

/// Where a row lives in the state, so that a kept answer borrows nothing.
#[derive(Debug, Clone)]
pub(super) enum RowKey {
    Vm(String),
    Disk(String),
    Subscription(String),
    Group(String),
}

impl RowKey {
    pub(super) fn of(row: &Row<'_>) -> RowKey {
        match row {
            Row::Vm(v) => RowKey::Vm(key(&[&v.subscription, &v.resource_group, &v.name])),
            Row::Disk(d) => RowKey::Disk(key(&[&d.subscription, &d.resource_group, &d.name])),
            Row::Subscription(s) => RowKey::Subscription(s.to_string()),
            Row::Group(g) => RowKey::Group(key(&[&g.subscription, &g.name])),
        }
    }

    /// The row again (`None` only if the state lost it, which the generation rules out).
    pub(super) fn row<'a>(&self, st: &'a State) -> Option<Row<'a>> {
        match self {
            RowKey::Vm(k) => st.vms.get(k).map(Row::Vm),
            RowKey::Disk(k) => st.disks.get(k).map(Row::Disk),
            RowKey::Subscription(s) => (st.subscriptions.iter())
                .find(|x| *x == s)
                .map(|x| Row::Subscription(x.as_str())),
            RowKey::Group(k) => st.resource_groups.get(k).map(Row::Group),
        }
    }
}

/// What a kept answer was computed from: the state's generation and the number of VMs,
/// disks, subscriptions and resource groups it held.
pub type Version = (u64, [usize; 4]);

/// The [`Version`] of `st` at `generation`.
pub fn version(st: &State, generation: u64) -> Version {
    let sizes = [
        st.vms.len(),
        st.disks.len(),
        st.subscriptions.len(),
        st.resource_groups.len(),
    ];
    (generation, sizes)
}

/// One evaluated query: its rows in order (after `where`, `order by`, `limit`) and projection.
#[derive(Debug, Clone)]
pub(super) struct Evaluated {
    pub rows: Arc<Vec<RowKey>>,
    pub project: Option<Vec<String>>,
}

struct Kept {
    digest: String,
    scope: BTreeSet<String>,
    version: Version,
    answer: Evaluated,
}

/// The last evaluated query (one: a client pages one query at a time).
#[derive(Default)]
pub struct Answered(Mutex<Option<Kept>>);

impl Answered {
    pub(super) fn get(
        &self,
        digest: &str,
        scope: &BTreeSet<String>,
        version: Version,
    ) -> Option<Evaluated> {
        let kept = self.0.lock().unwrap_or_else(|p| p.into_inner());
        kept.as_ref()
            .filter(|k| k.digest == digest && k.version == version && k.scope == *scope)
            .map(|k| k.answer.clone())
    }

    pub(super) fn keep(
        &self,
        digest: String,
        scope: BTreeSet<String>,
        version: Version,
        answer: Evaluated,
    ) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(Kept {
            digest,
            scope,
            version,
            answer,
        });
    }
}
