//! The diff engine and the plan as data.
//!
//! Owns: [`Plan`], [`Change`], [`Action`], the diff of desired against live resources (with the
//! Azure rules that need live state), the saved plan file and its staleness fingerprint.
//! Must not import: `azure` (it diffs data; it does not fetch), `live` (it reads the
//! live state as model data, never a reader), `apply`, `render`, `cli`, `ops`.

mod attrs;
mod diff;
mod disk_backup;
pub mod file;
mod limits;
mod retention;
mod rules;
mod site_recovery;

pub use crate::model::{Action, DataEffect};
pub use diff::{plan, resolve, soft_delete_consulted, PlanOptions};

use crate::model::shard::Shard;
use crate::model::{Address, ArmId};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The current plan format version (`format_version` in JSON).
pub const FORMAT_VERSION: u32 = 1;

/// A whole plan: every change, in apply order (creates/updates parents first, deletes last).
/// Its JSON (`plan --format json`, `show --format json`) is a contract: `schemas/plan.schema.json`
/// is generated from these types.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Plan {
    /// The plan format's version: 1. A change that breaks readers raises it.
    #[schemars(extend("const" = FORMAT_VERSION))]
    pub format_version: u32,
    /// The subscriptions the plan read and would change.
    pub subscriptions: Vec<String>,
    /// `plan --shard I/N`: the part of the estate this plan covers (by subscription); absent
    /// for a whole plan. `show --merge` renders the shards' plans as one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<Shard>,
    /// `--allow-partial`: subscriptions the identity may not read, whose declarations this plan
    /// leaves out (and why, in Azure's words). Absent when nothing was left out.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub left_out: Vec<LeftOut>,
    /// `show --merge`: the shards no plan was given for — the merged plan is not the whole
    /// estate's. Absent when every shard is there.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing_shards: Vec<Shard>,
    /// Every change, in apply order.
    pub changes: Vec<Change>,
    pub summary: Summary,
}

/// A subscription a plan left out: the identity may not read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LeftOut {
    pub subscription: String,
    /// Azure's refusal, which names the action the identity lacks.
    pub reason: String,
}

/// One attribute that changes: a dotted path into the attributes (`retention.daily`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AttrChange {
    /// Dotted path into the attributes, e.g. `retention.daily`.
    pub path: String,
    /// `None` = the attribute is added.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<Value>,
    /// `None` = the attribute is removed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<Value>,
}

/// One change to one resource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Change {
    pub address: Address,
    pub action: Action,
    /// The resource's ARM id.
    pub arm_id: ArmId,
    /// The live attributes (absent for a create).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<serde_json::Map<String, Value>>")]
    pub before: Option<Value>,
    /// The desired attributes (absent for a delete).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<serde_json::Map<String, Value>>")]
    pub after: Option<Value>,
    /// The attributes an update changes in place.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub diff: Vec<AttrChange>,
    /// Why this change is planned (display only; apply never reads it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
    /// What a delete does to backup data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<DataEffect>,
    /// Set when Azure would refuse the change: apply refuses the whole plan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocked: Option<String>,
    /// Addresses (in this plan) that must be applied before this change.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<Address>,
}

/// How many changes of each kind; `blocked` counts those apply would refuse.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
pub struct Summary {
    pub create: usize,
    pub update: usize,
    pub replace: usize,
    pub delete: usize,
    pub blocked: usize,
}

impl Summary {
    pub fn of(changes: &[Change]) -> Summary {
        let mut s = Summary::default();
        for c in changes {
            match c.action {
                Action::Create => s.create += 1,
                Action::Update => s.update += 1,
                Action::Replace => s.replace += 1,
                Action::Delete => s.delete += 1,
            }
            if c.blocked.is_some() {
                s.blocked += 1;
            }
        }
        s
    }
}

impl Plan {
    pub fn new(subscriptions: Vec<String>, changes: Vec<Change>) -> Plan {
        let summary = Summary::of(&changes);
        Plan {
            format_version: FORMAT_VERSION,
            subscriptions,
            shard: None,
            left_out: vec![],
            missing_shards: vec![],
            changes,
            summary,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// Does any change delete backup data or a vault (needs `--allow-data-loss`)?
    pub fn loses_data(&self) -> bool {
        self.changes.iter().any(Change::loses_data)
    }
}

impl Change {
    /// A change of `address` with nothing else said yet (no attributes, reasons, effect,
    /// block or dependencies).
    pub fn new(address: Address, action: Action, arm_id: ArmId) -> Change {
        Change {
            address,
            action,
            arm_id,
            before: None,
            after: None,
            diff: vec![],
            reasons: vec![],
            data: None,
            blocked: None,
            depends_on: vec![],
        }
    }

    /// What carrying the change out is called while it runs: "creating", "suspending backups".
    pub fn verb(&self) -> &'static str {
        match (self.action, self.data) {
            (Action::Create, _) => "creating",
            (Action::Update, _) => "updating",
            (Action::Replace, _) => "replacing",
            (Action::Delete, Some(DataEffect::Retained)) => "stopping protection (data retained)",
            (Action::Delete, Some(DataEffect::Suspended)) => "suspending backups",
            (Action::Delete, _) => "deleting",
        }
    }

    pub fn loses_data(&self) -> bool {
        use crate::model::ResourceKind;
        self.data == Some(DataEffect::Deleted)
            || (matches!(self.action, Action::Delete | Action::Replace)
                && self.address.kind == ResourceKind::RecoveryVault)
    }
}
