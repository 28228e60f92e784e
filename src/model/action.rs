//! What a change does to a resource, and what a delete does to its backup data: the
//! vocabulary the plan decides in and each family's requests are built from.

use serde::{Deserialize, Serialize};

/// What a change does. `before` and `after` on a plan change mean:
/// - `Create`: `before` none, `after` the desired attributes.
/// - `Update`: both present; `diff` lists the attributes that change in place.
/// - `Replace`: both present; the live resource is deleted and created again (`-/+`).
/// - `Delete`: `before` the live attributes, `after` none; `data` says what happens to backups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Create,
    Update,
    Replace,
    Delete,
}

impl Action {
    pub fn symbol(self) -> &'static str {
        match self {
            Action::Create => "+",
            Action::Update => "~",
            Action::Replace => "-/+",
            Action::Delete => "-",
        }
    }
}

/// What a delete does to backup data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DataEffect {
    /// Protection stops; every recovery point is kept.
    Retained,
    /// Backups stop; recovery points are kept per policy retention.
    Suspended,
    /// Backup data is deleted (needs `--allow-data-loss`).
    Deleted,
}
