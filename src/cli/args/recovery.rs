//! clap types of the commands that read or restore recovery points and run drills: recovery
//! points, restore, status, restore-drill, export, drill, failover.

use super::{parse_duration, PlanFormat};
use clap::{Args, ValueEnum};
use std::path::PathBuf;

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
