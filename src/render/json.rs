//! The canonical JSON plan (CONFIG.md "The JSON plan"): the serde form of [`Plan`], pretty-printed.

use crate::plan::Plan;
use std::io::{self, Write};

pub fn render<W: Write>(plan: &Plan, w: &mut W) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *w, plan)?;
    writeln!(w)
}

/// The JSON Schema (draft 2020-12) of the JSON plan, generated from [`Plan`]'s types: what
/// `schemas/plan.schema.json` holds (a test fails when the committed file is stale).
pub fn plan_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(Plan)).unwrap_or_default()
}

/// The committed file's exact text: pretty JSON and a trailing newline.
pub fn plan_schema_text() -> String {
    let mut s = serde_json::to_string_pretty(&plan_schema()).unwrap_or_default();
    s.push('\n');
    s
}
