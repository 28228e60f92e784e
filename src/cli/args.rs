//! clap types: the command line as CONFIG.md documents it. Nothing below `cli` sees these.

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
    /// Lists for one subscription; for more, Resource Graph while its quota holds the pages
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

#[derive(Debug, Args)]
pub struct RecoveryPointsArgs {
    /// `protected_vm.<vault>/<resource-group>/<vm>`, `disk_backup.<backup-vault>/<resource-group>/<disk>`,
    /// or `<resource-group>/<vm>` when the file has one Recovery Services vault.
    pub address: String,
    /// Configuration file(s) (default: azprotect.yaml); maps merge across files.
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Only points taken at or after this time (RFC 3339, or a date: 2026-12-01).
    #[arg(long, value_name = "TIME", value_parser = crate::model::recovery_point::parse_time)]
    pub since: Option<time::OffsetDateTime>,
    /// Only points taken at or before this time (a date means its end).
    #[arg(long, value_name = "TIME", value_parser = crate::model::recovery_point::parse_end_time)]
    pub until: Option<time::OffsetDateTime>,
    /// How to print the result: text for people, markdown for a pull-request comment, json for
    /// programs (`format_version` 1).
    #[arg(long, value_enum, default_value = "text")]
    pub format: PlanFormat,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("destination").required(true).args(["as_new_vm", "disks_only", "replace_disks", "as_new_disk", "file_recovery"])))]
pub struct RestoreArgs {
    /// `protected_vm.<vault>/<resource-group>/<vm>` (or `<resource-group>/<vm>` when the file
    /// has one Recovery Services vault), or `disk_backup.<backup-vault>/<resource-group>/<disk>`.
    pub address: String,
    /// Configuration file(s) (default: azprotect.yaml); maps merge across files.
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// `latest` (the default), `latest-app-consistent`, a point's name (`recovery-points` lists
    /// them), or a time (the newest point at or before it). `--files --revoke` without it ends
    /// the session of every point that has one open.
    #[arg(long, value_name = "POINT")]
    pub point: Option<crate::ops::restore::PointChoice>,
    /// Restore as a new VM of this name (alternate location): needs --resource-group, --subnet
    /// and --staging-storage-account.
    #[arg(long, value_name = "NAME")]
    pub as_new_vm: Option<String>,
    /// Restore the disks only (all, or --disks): needs --resource-group and
    /// --staging-storage-account.
    #[arg(long)]
    pub disks_only: bool,
    /// Restore a Disk Backup point (`disk_backup.…` addresses) as a new managed disk of this
    /// name: needs --resource-group.
    #[arg(long, value_name = "NAME")]
    pub as_new_disk: Option<String>,
    /// Restore onto the VM's own disks (original location): needs --allow-overwrite and
    /// --staging-storage-account.
    #[arg(long)]
    pub replace_disks: bool,
    /// Resource group (name, in the vault's subscription, or id) of what is created.
    #[arg(long, value_name = "RG")]
    pub resource_group: Option<String>,
    /// Subnet id of the new VM.
    #[arg(long, value_name = "SUBNET_ID")]
    pub subnet: Option<String>,
    /// Storage account id Azure stages the restore in (in the vault's region).
    #[arg(long, value_name = "ID")]
    pub staging_storage_account: Option<String>,
    /// Only these data disks, by LUN (`0,2`); the OS disk always comes.
    #[arg(long, value_name = "LUNS", value_delimiter = ',')]
    pub disks: Option<Vec<u32>>,
    /// Allow --replace-disks to overwrite the VM's disks.
    #[arg(long)]
    pub allow_overwrite: bool,
    /// Item-level recovery: open a file-recovery session on the point (12 hours) and write its
    /// mount script to --script-out; with --revoke, end the session.
    #[arg(
        long = "files",
        conflicts_with_all = ["disks", "resource_group", "subnet", "staging_storage_account", "allow_overwrite"]
    )]
    pub file_recovery: bool,
    /// Where --files writes the mount script (mode 0700).
    #[arg(
        long,
        value_name = "PATH",
        requires = "file_recovery",
        conflicts_with = "revoke"
    )]
    pub script_out: Option<PathBuf>,
    /// With --files: end the point's file-recovery session.
    #[arg(long, requires = "file_recovery")]
    pub revoke: bool,
    /// Restore from the vault's copy in its paired region, into that region (a GeoRedundant
    /// vault with cross_region_restore: true; --as-new-vm or --disks-only, targets there).
    #[arg(long, conflicts_with_all = ["replace_disks", "as_new_disk", "file_recovery"])]
    pub secondary_region: bool,
    /// Do not ask for confirmation (required without a terminal).
    #[arg(long)]
    pub auto_approve: bool,
    /// How to print the result: text for people, markdown for a pull-request comment, json for
    /// programs (`format_version` 1).
    #[arg(long, value_enum, default_value = "text")]
    pub format: PlanFormat,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Configuration file(s); maps merge across files (default: azprotect.yaml).
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Every VM of the file's subscriptions is in scope, not only those in the vaults' regions
    /// and the resource groups the file looks at.
    #[arg(long)]
    pub all: bool,
    /// Failed backup jobs of this window are findings, e.g. `24h`, `90m`.
    #[arg(long, value_name = "DURATION", default_value = "24h", value_parser = parse_duration)]
    pub since: std::time::Duration,
    /// A replicated VM whose last successful test failover is older (or never) is a finding.
    #[arg(long, value_name = "DAYS", default_value_t = 180)]
    pub drill_max_age: u64,
    /// VMs with this tag are unprotected on purpose, not a coverage finding (repeatable; given
    /// tags replace the default).
    #[arg(
        long = "exempt-tag",
        value_name = "KEY=VALUE",
        default_value = "backup=none"
    )]
    pub exempt_tags: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: PlanFormat,
}

#[derive(Debug, Args)]
pub struct RestoreDrillArgs {
    /// Configuration file(s) (default: azprotect.yaml); maps merge across files.
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Only these protected VMs (addresses, or prefixes such as `protected_vm.<vault>`), those a
    /// stamp protects (`stamp.NAME`, `stamp.NAME[SUBSCRIPTION]`), or those of one subscription
    /// (`subscription.ID`, or its display name).
    #[arg(long, value_name = "ADDR")]
    pub target: Vec<String>,
    /// Only VMs with this tag (repeatable: all must match).
    #[arg(long = "tag", value_name = "KEY=VALUE")]
    pub tags: Vec<String>,
    /// Resource group to restore into (name or id); else the vault's `restore_drill.resource_group`.
    #[arg(long, value_name = "RG")]
    pub resource_group: Option<String>,
    /// Isolated virtual network (or subnet) id; else the vault's `restore_drill.network`.
    /// Networks production VMs or Site Recovery mappings use are refused.
    #[arg(long, value_name = "VNET_ID")]
    pub network: Option<String>,
    /// Staging storage account id; else the vault's `restore_drill.staging_storage_account`.
    #[arg(long, value_name = "ID")]
    pub staging_storage_account: Option<String>,
    /// Restores at once per vault (1–10; else the vault's `restore_drill.parallelism`, or 4).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=10))]
    pub parallelism: Option<u32>,
    /// Keep the restored VMs and disks (tagged `azprotect-restore-drill`) instead of removing them.
    #[arg(long)]
    pub keep: bool,
    /// Do not ask for confirmation (required without a terminal).
    #[arg(long)]
    pub auto_approve: bool,
    /// How to print the result: text for people, markdown for a pull-request comment, json for
    /// programs (`format_version` 1).
    #[arg(long, value_enum, default_value = "text")]
    pub format: PlanFormat,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Only the Recovery Services vault with this name (repeatable; each must exist).
    #[arg(long = "vault", value_name = "NAME")]
    pub vaults: Vec<String>,
    /// Only vaults in this resource group (repeatable). The subscription is the global
    /// --subscription (else AZURE_SUBSCRIPTION_ID).
    #[arg(long = "resource-group", value_name = "RG")]
    pub resource_groups: Vec<String>,
    /// Write `select:` instead of a VM list where every VM of a resource group (or with one tag
    /// value) in the vault's region has the same policy.
    #[arg(long)]
    pub selectors: bool,
    /// Write the file even when some items cannot be expressed in it (an inclusion list, no
    /// policy, an unknown state, a replication or recovery plan no group can hold): each vault
    /// holding one is left out (named in a comment), so that planning the file leaves them alone.
    #[arg(long)]
    pub skip_unsupported: bool,
    /// Write the file here instead of to stdout; an existing file is kept unless --force.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Overwrite the -o file if it exists.
    #[arg(long, requires = "output")]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct DrillArgs {
    /// The recovery plan, e.g. `recovery_plan.app-dr/app-failover`.
    pub address: String,
    /// Configuration file(s) (default: azprotect.yaml); maps merge across files.
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Isolated virtual network (id) for the test VMs; production (mapped) networks are refused.
    #[arg(long, value_name = "VNET_ID")]
    pub network: Option<String>,
    /// Keep the test VMs (skip cleanup).
    #[arg(long)]
    pub keep: bool,
    /// Do not ask for confirmation (required without a terminal).
    #[arg(long)]
    pub auto_approve: bool,
    /// How to print the result: text for people, markdown for a pull-request comment, json for
    /// programs (`format_version` 1).
    #[arg(long, value_enum, default_value = "text")]
    pub format: PlanFormat,
}

/// Arguments every failover command shares.
#[derive(Debug, Args)]
pub struct DrArgs {
    /// The recovery plan, e.g. `recovery_plan.app-dr/app-failover`.
    pub address: String,
    /// Configuration file(s) (default: azprotect.yaml); maps merge across files.
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Do not ask for confirmation (required without a terminal).
    #[arg(long)]
    pub auto_approve: bool,
    /// How to print the result: text for people, markdown for a pull-request comment, json for
    /// programs (`format_version` 1).
    #[arg(long, value_enum, default_value = "text")]
    pub format: PlanFormat,
}

#[derive(Debug, Args)]
pub struct FailoverArgs {
    #[command(flatten)]
    pub common: DrArgs,
    /// Refused: Azure-to-Azure Site Recovery has no planned failover (use --unplanned with
    /// --shut-down-source).
    #[arg(
        long,
        conflicts_with = "unplanned",
        required_unless_present = "unplanned"
    )]
    pub planned: bool,
    /// Fail over now from a recovery point (the production region may be down).
    #[arg(long)]
    pub unplanned: bool,
    /// Recovery point of an unplanned failover (default: latest).
    #[arg(long, value_enum, conflicts_with = "planned")]
    pub recovery_point: Option<RecoveryPointArg>,
    /// Unplanned: ask Azure to shut the production VMs down first (sourceSiteOperations: Required).
    #[arg(long, conflicts_with = "planned")]
    pub shut_down_source: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RecoveryPointArg {
    /// Process all data Azure has received first: the least data lost, the slowest failover
    Latest,
    /// The newest application-consistent point
    LatestAppConsistent,
    /// The newest crash-consistent point
    LatestCrashConsistent,
    /// The newest point already processed: the fastest failover
    LatestProcessed,
}

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

#[cfg(test)]
mod duration_tests {
    use super::parse_duration;
    use std::time::Duration;

    #[test]
    fn lock_timeouts_read_as_terraform_writes_them() {
        for (s, secs) in [
            ("0s", 0),
            ("90", 90),
            ("30s", 30),
            ("10m", 600),
            ("1h", 3600),
            ("1m30s", 90),
        ] {
            assert_eq!(parse_duration(s), Ok(Duration::from_secs(secs)), "{s}");
        }
        for bad in ["", "ten", "10x", "m", "5m3", "-1s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}

#[cfg(test)]
mod help_tests {
    use super::Cli;
    use clap::CommandFactory;

    /// Every argument of every command, nested ones included, says what it is for: a flag added
    /// without a `///` line fails here. clap's own `--help` and `--version` are exempt.
    #[test]
    fn every_argument_of_every_command_has_a_help_line() {
        fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for arg in cmd.get_arguments() {
                let id = arg.get_id().as_str();
                if matches!(id, "help" | "version") {
                    continue;
                }
                let help = arg
                    .get_help()
                    .or(arg.get_long_help())
                    .map(|h| h.to_string())
                    .unwrap_or_default();
                if help.trim().is_empty() {
                    missing.push(format!("{path} {id}"));
                }
            }
            for sub in cmd.get_subcommands() {
                if sub.get_name() == "help" {
                    continue;
                }
                if sub.get_about().is_none() {
                    missing.push(format!("{path} {} (the command itself)", sub.get_name()));
                }
                walk(sub, &format!("{path} {}", sub.get_name()), missing);
            }
        }
        let mut cmd = Cli::command();
        cmd.build();
        let mut missing = Vec::new();
        walk(&cmd, "azprotect", &mut missing);
        assert!(
            missing.is_empty(),
            "arguments without a help line:\n  {}",
            missing.join("\n  ")
        );
    }
}
