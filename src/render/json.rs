//! The canonical JSON plan (CONFIG.md "The JSON plan"): the serde form of [`Plan`], pretty-printed.

use crate::plan::Plan;
use std::io::{self, Write};

pub fn render<W: Write>(plan: &Plan, w: &mut W) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *w, plan)?;
    writeln!(w)
}
