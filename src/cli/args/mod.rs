//! clap types: the command line as CONFIG.md documents it. Nothing below `cli` sees these.
//! Here the global options and the plan/apply commands; `recovery` has the commands that read
//! or restore recovery points and run drills, `tools` show, graph, snapshot and sandbox.

mod recovery;
mod tools;

pub use recovery::*;
pub use tools::*;

use crate::model::shard::Shard;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "azprotect",
    version,
    about = "Declarative Azure VM protection: plan and apply backup like Terraform"
)]
pub struct Cli {
    /// Run against a local sandbox whose state persists in STATE (default .azprotect/sandbox.json).
    /// Its simulated Azure durations run at AZPROTECT_SANDBOX_TIME_SCALE × real time (default 0.01).
    #[arg(long, global = true, help_heading = "Global options", value_name = "STATE", num_args = 0..=1, require_equals = true,
          default_missing_value = super::settings::DEFAULT_SANDBOX_STATE, env = "AZPROTECT_SANDBOX")]
    pub sandbox: Option<PathBuf>,
    /// Default subscription for resources that name none (else AZURE_SUBSCRIPTION_ID).
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        value_name = "ID",
        env = "AZURE_SUBSCRIPTION_ID"
    )]
    pub subscription: Option<String>,
    /// The Azure cloud: its ARM and sign-in endpoints.
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        value_enum,
        default_value = "public"
    )]
    pub cloud: CloudArg,
    /// ARM endpoint override (private clouds; a sandbox started with `sandbox serve`).
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        value_name = "URL",
        env = "AZPROTECT_ARM_ENDPOINT"
    )]
    pub arm_endpoint: Option<String>,
    /// A PEM file of extra trusted root certificates.
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        value_name = "PEM",
        env = "AZPROTECT_CA_CERT"
    )]
    pub ca_cert: Option<PathBuf>,
    /// Credential to use (default: the first that is configured, in this order).
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        value_enum,
        default_value = "auto"
    )]
    pub auth: AuthArg,
    /// How VMs and resource groups are found across subscriptions (README "Reading at tenant scale").
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        value_enum,
        default_value = "auto",
        env = "AZPROTECT_DISCOVERY"
    )]
    pub discovery: DiscoveryArg,
    /// Colour in output: auto colours on a terminal unless NO_COLOR is set.
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        value_enum,
        default_value = "auto"
    )]
    pub color: ColorArg,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum CloudArg {
    /// Azure (management.azure.com)
    Public,
    /// Azure US Government
    Usgov,
    /// Azure operated by 21Vianet (China)
    China,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum AuthArg {
    /// The first configured of those below, in their order
    Auto,
    /// AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET
    ClientSecret,
    /// AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_FEDERATED_TOKEN_FILE
    WorkloadIdentity,
    /// GitHub Actions' OIDC token (permissions: id-token: write) with AZURE_TENANT_ID, AZURE_CLIENT_ID
    GithubOidc,
    /// The managed identity of the Azure machine it runs on
    ManagedIdentity,
    /// Azure CLI, then Azure Developer CLI sign-in
    DeveloperTools,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiscoveryArg {
    /// Resource Graph for many subscriptions or one of over 2,500 VMs; else lists (and where it cannot answer)
    Auto,
    /// Azure Resource Graph queries (lists when it is unavailable)
    ResourceGraph,
    /// Per-subscription list calls only
    Lists,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorArg {
    /// On a terminal, unless NO_COLOR is set
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    /// For people on a terminal or in a log
    Text,
    /// For a pull-request comment or an issue
    Markdown,
    /// For programs: versioned (`format_version` 1)
    Json,
}

/// `apply --format`: how the result is printed on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ApplyFormat {
    /// The plan, then a summary for people (progress on stderr).
    Text,
    /// One JSON result (`format_version` 1) on stdout; the plan and progress go to stderr.
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    Text,
    Dot,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Offline: parse, validate and build the graph.
    Validate(FilesArg),
    /// Read live state and show what apply would change.
    Plan(PlanArgs),
    /// Apply the configuration (or a saved plan).
    Apply(ApplyArgs),
    /// Render a saved plan.
    Show(ShowArgs),
    /// Print the dependency graph.
    Graph(GraphArgs),
    /// Print the JSON Schema of the configuration format.
    Schema,
    /// Test failover of a recovery plan into an isolated network, verify, clean up, report.
    Drill(DrillArgs),
    /// Fail a recovery plan over (unplanned: Azure-to-Azure has no planned failover).
    Failover(FailoverArgs),
    /// Commit a failover: keep the failed-over VMs.
    Commit(DrArgs),
    /// Re-protect after a committed failover: replicate back to the region the VMs came from.
    Reprotect(DrArgs),
    /// Fail back to the primary region: (re-protect,) unplanned failover back, commit, re-protect.
    Failback(DrArgs),
    /// The recovery points of a protected VM or disk, newest first.
    RecoveryPoints(RecoveryPointsArgs),
    /// Restore a protected VM from a recovery point: as a new VM, as disks, or onto its disks.
    Restore(RestoreArgs),
    /// Prove backups restore: restore the latest point of each protected VM into an isolated
    /// group and network, check it runs with its disks within the RPO, time it, clean up, report.
    RestoreDrill(RestoreDrillArgs),
    /// Is protection working? Coverage, backup, replication and disk backup health of the
    /// file's scope: exit 0 healthy, 2 findings, 1 error.
    Status(StatusArgs),
    /// Adopt an existing estate: write its vaults, policies and protected VMs as a v1 file that
    /// validates and plans empty.
    Export(ExportArgs),
    /// Snapshots on demand: take one before a risky change, list them, restore one to a new disk.
    #[command(subcommand)]
    Snapshot(SnapshotCommand),
    /// Run or prepare a local ARM-compatible sandbox.
    #[command(subcommand)]
    Sandbox(SandboxCommand),
    /// Print the completion script of a shell (bash, zsh, fish, powershell, elvish).
    Completions(CompletionsArgs),
    /// Print the manual page, or write one page per command into a directory.
    Man(ManArgs),
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete in, e.g. `azprotect completions bash >
    /// ~/.local/share/bash-completion/completions/azprotect`.
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write `azprotect.1` and one page per command (`azprotect-plan.1`, …) into this directory
    /// (created if missing) instead of printing the top page on stdout.
    #[arg(long, value_name = "DIR")]
    pub out: Option<std::path::PathBuf>,
}

#[derive(Debug, Args)]
pub struct FilesArg {
    /// Configuration file(s); maps merge across files.
    #[arg(
        short = 'f',
        long = "file",
        value_name = "FILE",
        default_value = "azprotect.yaml"
    )]
    pub files: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub files: FilesArg,
    /// Save the plan for `apply PLAN`.
    #[arg(long, value_name = "PLAN")]
    pub out: Option<PathBuf>,
    /// How to print the result: text for people, markdown for a pull-request comment, json for
    /// programs (`format_version` 1).
    #[arg(long, value_enum, default_value = "text")]
    pub format: PlanFormat,
    /// Exit 2 when the plan has changes, 3 when some of them are blocked (apply would refuse
    /// them); 0 when none, 1 on error.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Only these addresses (and what they depend on); `stamp.NAME` for everything a stamp
    /// generates, `stamp.NAME[SUBSCRIPTION]` for its part in one subscription,
    /// `subscription.ID` for everything the files change in one subscription.
    #[arg(long, value_name = "ADDR")]
    pub target: Vec<String>,
    /// Plan part I of N of the estate, split by subscription (for N parallel CI runners;
    /// `show --merge` renders the parts as one plan).
    #[arg(long, value_name = "I/N")]
    pub shard: Option<Shard>,
    /// Plan the subscriptions the identity may read and list the ones it may not (with the
    /// permission Azure says is missing) instead of failing.
    #[arg(long)]
    pub allow_partial: bool,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// A plan saved with `plan --out` (instead of -f).
    #[arg(value_name = "PLAN", conflicts_with = "files")]
    pub plan: Option<PathBuf>,
    /// Configuration file(s) (default: azprotect.yaml); maps merge across files.
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Do not ask for confirmation.
    #[arg(long)]
    pub auto_approve: bool,
    /// At most N changes in flight (default: 256 per subscription the plan changes). The
    /// default lets ARM's quotas, which are per subscription, set the pace: the client's rate
    /// limiter spaces requests to each subscription's read/write/delete buckets, and a change
    /// waiting on a long-running operation costs a timer, not a request.
    #[arg(long, value_name = "N")]
    pub parallelism: Option<usize>,
    /// Allow changes that delete backup data or a vault.
    #[arg(long)]
    pub allow_data_loss: bool,
    /// Only these addresses (and what they depend on); repeatable. `stamp.NAME`,
    /// `stamp.NAME[SUBSCRIPTION]` and `subscription.ID` as for `plan`.
    #[arg(long, value_name = "ADDR")]
    pub target: Vec<String>,
    /// Plan and apply part I of N of the estate, split by subscription as `plan --shard` does.
    #[arg(long, value_name = "I/N", conflicts_with = "plan")]
    pub shard: Option<Shard>,
    /// Plan and apply the subscriptions the identity may read, as `plan --allow-partial` does.
    #[arg(long, conflicts_with = "plan")]
    pub allow_partial: bool,
    /// After enabling replication, wait (showing progress) until initial replication finished.
    #[arg(long)]
    pub wait_replicated: bool,
    /// How long `--wait-replicated` waits, in minutes; also how long a replication setting
    /// Azure takes only after initial replication (the target VM size) waits for it.
    #[arg(long, default_value_t = 180, value_name = "MINUTES")]
    pub wait_timeout: u64,
    /// How long to wait for a vault another apply is changing (it holds the vault's
    /// `azprotect-lease` tag), e.g. `30s`, `10m`, `1h`; `0s`, the default, fails at once.
    #[arg(long, value_name = "DURATION", default_value = "0s", value_parser = parse_duration)]
    pub lock_timeout: std::time::Duration,
    /// Do not lease the vaults apply writes: only when nothing else applies to them (leasing
    /// needs Microsoft.Resources/tags/write on each vault).
    #[arg(long, conflicts_with = "lock_timeout")]
    pub no_lock: bool,
    /// `json`: print one machine-readable result on stdout (per change: outcome, error,
    /// duration; counts; replication), the plan and progress on stderr.
    #[arg(long, value_enum, default_value = "text")]
    pub format: ApplyFormat,
}

/// `90`, `90s`, `10m`, `1h`, `1m30s`: a duration as Terraform's `-lock-timeout` takes it.
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let bad = || format!("'{s}' is not a duration: use e.g. 30s, 10m or 1h");
    let t = s.trim();
    if t.is_empty() {
        return Err(bad());
    }
    if let Ok(n) = t.parse::<u64>() {
        return Ok(std::time::Duration::from_secs(n));
    }
    let (mut total, mut number) = (0u64, String::new());
    for c in t.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            _ => return Err(bad()),
        };
        let n: u64 = number.parse().map_err(|_| bad())?;
        total = n
            .checked_mul(unit)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(bad)?;
        number.clear();
    }
    if !number.is_empty() {
        return Err(bad());
    }
    Ok(std::time::Duration::from_secs(total))
}

#[cfg(test)]
mod tests;
