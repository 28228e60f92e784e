//! Operations: the pipelines behind the commands (cargo's `commands/` → `ops/`). `cli` parses
//! arguments, calls an operation and renders what it returns; an operation prints nothing and
//! reports progress only through `progress::Progress`.
//!
//! Owns: [`plan`] (files → desired → live → plan), [`saved_plan`] (saving a plan, and reading one
//! back only while it is current), [`apply`] (refusals, the walk, waiting for initial replication),
//! [`recovery_plan`] (the declared plan an operation acts on), [`failover`] and [`drill`]
//! (prepare, then run into a report), [`snapshot`] (take, list, restore), [`recovery_points`]
//! (a protected VM's or disk's points), [`restore`] (prepare, then run a restore to its report),
//! [`restore_crr`] (a restore from the vault's copy in its paired region), [`restore_files`]
//! (item-level recovery: a point's mount script, and ending its session),
//! [`restore_permissions`] (the role a Backup vault's identity needs for a disk restore, granted
//! or explained), [`restore_drill`] (restore every protected VM, check, time, clean up: a
//! report), [`status`] (is protection working: findings and a per-VM table), [`export`] (read an
//! existing estate into a document of the v1 file), [`stamps`] (the files' stamps expanded
//! before a plan, and `--target stamp.NAME` translated), [`targets`] (what each `--target` selects),
//! [`shard`] (a `--shard`'s part of the files) and [`merge`] (shards' plans read as one), [`unreadable`] (`--allow-partial`).
//! Must not import: `cli`, `render`.

pub mod apply;
pub mod drill;
pub mod export;
pub mod failover;
pub mod merge;
pub mod plan;
pub mod recovery_plan;
pub mod recovery_points;
pub mod restore;
pub mod restore_crr;
pub mod restore_drill;
pub mod restore_files;
pub mod restore_permissions;
pub mod saved_plan;
pub mod shard;
pub mod snapshot;
pub mod stamps;
pub mod status;
pub mod targets;
pub mod unreadable;
