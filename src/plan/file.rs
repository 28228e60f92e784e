//! The saved plan (`plan --out PLAN`): versioned JSON with a fingerprint of the live state the
//! plan was made from, so `apply PLAN` can refuse when Azure changed since, and with what the
//! plan was made from (the desired state, the targets), so that apply can make it again and
//! refuse a file whose changes are not exactly those: a saved plan is applied as reviewed, not
//! as edited.

use super::Plan;
use crate::model::{Address, Desired};
use serde::{Deserialize, Serialize};

/// What `--out` writes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedPlan {
    /// `azprotect-plan` (guards against applying some other JSON file).
    pub kind: String,
    pub azprotect_version: String,
    /// Hex SHA-256 of the canonical live state the plan was diffed against.
    pub live_fingerprint: String,
    /// The estate the plan was made against (apply refuses another): the ARM endpoint, or
    /// `sandbox:<state file>` for `--sandbox`, whose in-process server's port changes each run.
    #[serde(alias = "arm_endpoint")]
    pub estate: String,
    /// What the plan was made for: apply re-reads live state for exactly this.
    pub desired: Desired,
    /// `--target`s the plan was made with.
    #[serde(default)]
    pub targets: Vec<Address>,
    /// For `--shard`: every subscription the shards were dealt from (all shards', sorted), so
    /// that `show --merge` refuses shards dealt from different files.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dealt: Vec<String>,
    pub plan: Plan,
}
