//! azprotect: declarative Azure VM protection.
//!
//! Data flows one way: `config` → `model` resources → `graph` (DAG) → `live` state read through
//! `azure` → `plan` (diff) → `render` / `apply`. The `sandbox` is an ARM-compatible emulator that
//! every test (and `--sandbox`) talks to over real HTTPS. See `../shared/design/ARCHITECTURE.md`.

pub mod apply;
pub mod azure;
pub mod cli;
pub mod config;
pub mod drill;
pub mod failover;
pub mod graph;
pub mod live;
pub mod model;
pub mod ops;
pub mod plan;
pub mod progress;
pub mod render;
pub mod request;
pub mod sandbox;
