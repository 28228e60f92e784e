//! Operations: the pipelines behind the commands (cargo's `commands/` → `ops/`). `cli` parses
//! arguments, calls one operation and renders what it returns; an operation prints nothing.
//!
//! Owns: [`plan`] (files → desired → live → plan; saving a plan, and reading one back only
//! while it is current). Must not import: `cli`, `render`.

pub mod plan;
