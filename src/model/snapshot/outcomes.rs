//! What `snapshot take` and `snapshot restore` made, for `render::snapshot` to show.

use super::Snapshot;
use crate::model::ManagedDisk;

/// A snapshot taken of `disk`.
#[derive(Debug, Clone, PartialEq)]
pub struct Taken {
    pub snapshot: Snapshot,
    /// The disk's name.
    pub disk: String,
    /// "incremental" or "full".
    pub kind: &'static str,
}

/// A disk created from `snapshot`.
#[derive(Debug, Clone, PartialEq)]
pub struct Restored {
    pub disk: ManagedDisk,
    /// The snapshot's name.
    pub snapshot: String,
    pub zone: Option<String>,
}
