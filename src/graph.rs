//! The dependency graph of resources (petgraph).
//!
//! Must not import: `azure`.
