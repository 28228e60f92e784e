//! Renderers: pure functions from a [`Plan`] to text, markdown or JSON, generic over the writer.
//! JSON is the canonical form; text and markdown show the same data.
//!
//! Must not import: `azure`, `apply`, `live`, `cli`.

use crate::plan::Plan;
use std::io::{self, Write};

#[derive(Debug, Clone, Copy, Default)]
pub struct TextOptions {
    pub color: bool,
}

pub fn text<W: Write>(plan: &Plan, w: &mut W, opts: TextOptions) -> io::Result<()> {
    let _ = (plan, w, opts);
    todo!()
}

pub fn markdown<W: Write>(plan: &Plan, w: &mut W) -> io::Result<()> {
    let _ = (plan, w);
    todo!()
}

pub fn json<W: Write>(plan: &Plan, w: &mut W) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *w, plan)?;
    writeln!(w)
}
