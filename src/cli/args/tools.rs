//! clap types of show, graph, snapshot and sandbox.

use super::{FilesArg, GraphFormat, PlanFormat};
use clap::{Args, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// A plan saved with `plan --out` (with `--merge`: the shards' plans).
    #[arg(value_name = "PLAN", required = true)]
    pub plans: Vec<PathBuf>,
    /// Render the plans of `plan --shard I/N` runs as one plan (every shard of the same N).
    #[arg(long)]
    pub merge: bool,
    /// How to print the result: text for people, markdown for a pull-request comment, json for
    /// programs (`format_version` 1).
    #[arg(long, value_enum, default_value = "text")]
    pub format: PlanFormat,
}

#[derive(Debug, Args)]
pub struct GraphArgs {
    #[command(flatten)]
    pub files: FilesArg,
    /// How to print the graph: text (its dependency layers), or dot for Graphviz.
    #[arg(long, value_enum, default_value = "text")]
    pub format: GraphFormat,
}

#[derive(Debug, Subcommand)]
pub enum SnapshotCommand {
    /// Take a named, tagged snapshot of a managed disk (incremental unless --full).
    Take(SnapshotTakeArgs),
    /// List a disk's snapshots and Disk Backup recovery points, or a Backup vault's recovery
    /// points, newest first.
    List(SnapshotListArgs),
    /// Create a new managed disk from a snapshot (never overwrites an existing disk).
    Restore(SnapshotRestoreArgs),
}

#[derive(Debug, Args)]
pub struct SnapshotTakeArgs {
    /// The disk: <resource-group>/<name> in the default subscription, or a disk id.
    #[arg(value_name = "DISK")]
    pub disk: String,
    /// Snapshot name (default: <disk>-<UTC yyyymmdd-hhmmss>).
    #[arg(long)]
    pub name: Option<String>,
    /// Resource group of the snapshot, in the disk's subscription (default: the disk's).
    #[arg(long, value_name = "RG")]
    pub resource_group: Option<String>,
    /// An incremental snapshot: only the changes since the disk's previous one are billed
    /// (the default).
    #[arg(long, conflicts_with = "full")]
    pub incremental: bool,
    /// A full copy of the disk instead.
    #[arg(long)]
    pub full: bool,
    /// A tag on the snapshot, besides created-by and source-disk (repeatable).
    #[arg(long = "tag", value_name = "KEY=VALUE")]
    pub tags: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SnapshotListFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct SnapshotListArgs {
    /// A disk (<resource-group>/<name> or a disk id), or a Backup vault (its name in the
    /// configuration file, or its id).
    #[arg(value_name = "DISK|VAULT")]
    pub target: String,
    /// Configuration file(s) declaring the Backup vault (default: azprotect.yaml).
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// How to print the list: text for people, json for programs (`format_version` 1).
    #[arg(long, value_enum, default_value = "text")]
    pub format: SnapshotListFormat,
}

#[derive(Debug, Args)]
pub struct SnapshotRestoreArgs {
    /// The snapshot: <resource-group>/<name>, a snapshot id, or a Disk Backup recovery point id.
    #[arg(value_name = "SNAPSHOT")]
    pub snapshot: String,
    /// Name of the new disk.
    #[arg(long, value_name = "NAME")]
    pub to_disk: String,
    /// Resource group of the new disk, in the snapshot's subscription (default: the snapshot's).
    #[arg(long, value_name = "RG")]
    pub resource_group: Option<String>,
    /// Disk type, e.g. Premium_LRS (default: the source disk's when it still exists).
    #[arg(long)]
    pub sku: Option<String>,
    /// Availability zone of the new disk (1, 2 or 3).
    #[arg(long, value_name = "Z")]
    pub zone: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum SandboxCommand {
    /// Create or reset a sandbox state from an inventory.
    Init {
        /// The inventory to seed from: subscriptions, resource groups, VMs, disks, networks
        /// (YAML; see src/sandbox/demo_inventory.yaml).
        #[arg(long, value_name = "FILE")]
        inventory: PathBuf,
        /// Where the sandbox's state is written (replaced if it exists).
        #[arg(long, value_name = "FILE", default_value = ".azprotect/sandbox.json")]
        state: PathBuf,
    },
    /// Serve the sandbox until interrupted.
    Serve(ServeArgs),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The sandbox's state: read at start, written as it changes.
    #[arg(long, value_name = "FILE", default_value = ".azprotect/sandbox.json")]
    pub state: PathBuf,
    /// Seeds the state when it does not exist yet (default: the demo inventory).
    #[arg(long, value_name = "FILE")]
    pub inventory: Option<PathBuf>,
    /// Address and port to serve HTTPS on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8443")]
    pub listen: std::net::SocketAddr,
    /// Write the variables a client needs (AZURE_*, AZPROTECT_*) to this file, readable by
    /// its owner only (default: the state's path with `.env`).
    #[arg(long, value_name = "PATH")]
    pub env_file: Option<PathBuf>,
    /// Append one JSON line per request to this file.
    #[arg(long, value_name = "PATH")]
    pub access_log: Option<PathBuf>,
    /// Added to every response: log-normal around a median of MS milliseconds (σ 0.5: p99 ≈ 3×
    /// the median), from a seeded sequence; `sigma=0` makes it constant.
    #[arg(long, value_name = "MS[,sigma=S][,seed=N]", value_parser = crate::sandbox::Latency::parse)]
    pub latency: Option<crate::sandbox::Latency>,
    /// Simulated Azure durations (long-running operations, first backups, injected faults'
    /// Retry-After) run at F × real time; ARM's throttling buckets keep real time.
    #[arg(long, value_name = "F", default_value_t = 0.01)]
    pub time_scale: f64,
    /// Seeded fault injection, e.g. `seed=7,429=0.05,500=0.02,drop=0.01,lro_fail=0.02`.
    #[arg(long, value_name = "SPEC")]
    pub faults: Option<String>,
    /// Throttle as ARM does (per-subscription read/write/delete buckets answering 429 with
    /// Retry-After), or not at all.
    #[arg(long, value_enum, default_value = "off")]
    pub throttle: ThrottleArg,
    /// Refuse api-versions newer than the newest each provider lists (by default a well-formed
    /// newer one, as Microsoft's current SDKs send, is served as the newest).
    #[arg(long)]
    pub strict_api_versions: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ThrottleArg {
    /// ARM's per-subscription buckets
    Arm,
    /// No throttling
    Off,
}
