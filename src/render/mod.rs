//! Renderers: pure functions from a [`Plan`] to text, markdown or JSON, generic over the writer.
//! JSON is the canonical form; text and markdown show the same data.
//!
//! One file per format (`text`, `markdown`, `json`) plus `common` (ordering, value formatting,
//! the words for actions and data effects).
//!
//! Must not import: `azure`, `apply`, `live`, `cli`, `ops`.

pub mod apply;
mod common;
pub mod drill;
pub mod export;
pub mod failover;
mod json;
mod markdown;
pub mod recovery_points;
pub mod restore;
pub mod restore_drill;
pub mod restore_files;
pub mod snapshot;
pub mod status;
mod text;

use crate::plan::Plan;
pub use common::summary_line;
use std::io::{self, Write};

#[derive(Debug, Clone, Copy, Default)]
pub struct TextOptions {
    pub color: bool,
}

/// The terminal plan, Terraform-like; ANSI colour only when `opts.color`.
pub fn text<W: Write>(plan: &Plan, w: &mut W, opts: TextOptions) -> io::Result<()> {
    text::render(plan, w, opts)
}

/// The plan as a GitHub pull-request comment (always under GitHub's 65,535-character limit).
pub fn markdown<W: Write>(plan: &Plan, w: &mut W) -> io::Result<()> {
    markdown::render(plan, w)
}

/// The canonical JSON plan.
pub fn json<W: Write>(plan: &Plan, w: &mut W) -> io::Result<()> {
    json::render(plan, w)
}

pub use json::{plan_schema, plan_schema_text};

/// GitHub's limit on the body of an issue or pull-request comment.
pub const GITHUB_COMMENT_LIMIT: usize = 65_535;
