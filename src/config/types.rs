//! The file format (v1) as Rust types: what serde reads (with spans) and what schemars
//! describes. Field docs become the JSON Schema's descriptions, which editors show on hover.
//!
//! Shapes only: every range and cross-field rule lives in `validate`.

use super::spanned::{Map, OneOrMany, Sp};
use crate::model::OnRemove;
use schemars::JsonSchema;
use serde::Deserialize;

/// An azprotect desired-state file (format v1).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "azprotect desired-state file (v1)")]
pub struct ConfigFile {
    /// Format version; must be 1.
    #[schemars(extend("const" = 1))]
    pub version: Sp<u32>,
    /// Default subscription (a GUID) for everything in the file; else `--subscription` /
    /// `AZURE_SUBSCRIPTION_ID`.
    #[serde(default)]
    #[schemars(schema_with = "subscription_schema")]
    pub subscription: Option<Sp<String>>,
    /// Tags added to every taggable resource azprotect creates.
    #[serde(default)]
    pub tags: Option<Sp<Map<String>>>,
    /// Resource groups azprotect ensures exist.
    #[serde(default)]
    pub resource_groups: Option<Sp<Map<ResourceGroup>>>,
    /// Recovery Services vaults (`Microsoft.RecoveryServices/vaults`), their VM backup
    /// policies and the VMs they protect.
    #[serde(default)]
    pub recovery_vaults: Option<Sp<Map<RecoveryVault>>>,
    /// Azure Site Recovery (Azure-to-Azure) groups, keyed by name (addresses
    /// `replication.<name>/<rg>/<vm>`, `recovery_plan.<name>/<plan>`). Validated, but not
    /// planned yet: a warning says so.
    #[serde(default)]
    pub site_recovery: Option<Sp<Map<super::types_site_recovery::SiteRecovery>>>,
    /// Azure Disk Backup: Backup vaults (`Microsoft.DataProtection/backupVaults`) keyed by
    /// name, their disk policies and the managed disks they snapshot (addresses
    /// `backup_vault.<vault>`, `disk_policy.<vault>/<policy>`, `disk_backup.<vault>/<rg>/<disk>`).
    #[serde(default)]
    pub disk_backup: Option<Sp<Map<super::types_disk_backup::DiskBackupVault>>>,
    /// Stamps, keyed by name: one resource group and one recovery vault declared once and
    /// generated in every (subscription, region) of a set of subscriptions (listed, or every
    /// subscription under a management group) that has VMs in scope, at plan time. Each
    /// generated resource has its own address, its expanded name (`--target stamp.<name>`
    /// selects all of them).
    #[serde(default)]
    pub stamps: Option<Sp<Map<super::types_stamps::Stamp>>>,
}

/// A subscription id's schema: a GUID (`subscription:` of the file and of its blocks), or
/// null as when it is left out.
pub fn subscription_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": ["string", "null"],
        "pattern": "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
    })
}

/// A resource group azprotect ensures exists.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResourceGroup {
    /// The group's subscription (a GUID); default: the file's.
    #[serde(default)]
    #[schemars(schema_with = "subscription_schema")]
    pub subscription: Option<Sp<String>>,
    /// Azure region, e.g. `westeurope` (`West Europe` is accepted too).
    pub location: Sp<String>,
    /// Tags for this group, merged over the file's global `tags`.
    #[serde(default)]
    pub tags: Option<Sp<Map<String>>>,
}

/// A Recovery Services vault.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecoveryVault {
    /// The vault's subscription (a GUID); default: the file's. It is also the subscription of
    /// the VMs it protects (Azure Backup protects a VM only from a vault of its own
    /// subscription and region) and of its selectors.
    #[serde(default)]
    #[schemars(schema_with = "subscription_schema")]
    pub subscription: Option<Sp<String>>,
    /// The vault's resource group, in its subscription: declared in `resource_groups`, or one
    /// that must exist.
    pub resource_group: Sp<String>,
    /// Azure region, e.g. `westeurope`.
    pub location: Sp<String>,
    /// Backup storage redundancy; locked once the first item is protected.
    #[serde(default)]
    pub storage_redundancy: Option<Sp<StorageRedundancy>>,
    /// Cross-region restore (GeoRedundant only); cannot be turned off again.
    #[serde(default)]
    pub cross_region_restore: Option<Sp<bool>>,
    /// Soft delete of backup data.
    #[serde(default)]
    pub soft_delete: Option<Sp<SoftDelete>>,
    /// Immutability of recovery points; `Locked` is irreversible.
    #[serde(default)]
    pub immutability: Option<Sp<Immutability>>,
    /// Allow access from public networks.
    #[serde(default)]
    pub public_network_access: Option<Sp<bool>>,
    /// Tags for this vault, merged over the file's global `tags`.
    #[serde(default)]
    pub tags: Option<Sp<Map<String>>>,
    /// VM backup policies (`vaults/backupPolicies`, AzureIaasVM), keyed by policy name.
    #[serde(default)]
    pub backup_policies: Option<Sp<Map<BackupPolicy>>>,
    /// Which VMs this vault backs up, with which policy.
    #[serde(default)]
    pub protect: Option<Sp<Vec<Sp<ProtectEntry>>>>,
    /// What a protected VM that leaves the file gets: `retain_data` (default), `suspend`
    /// (needs immutability) or `delete_data` (needs `--allow-data-loss`).
    #[serde(default)]
    pub on_remove: Option<Sp<OnRemove>>,
    /// Where `azprotect restore-drill` restores this vault's VMs (its flags win).
    #[serde(default)]
    pub restore_drill: Option<Sp<RestoreDrill>>,
}

/// Defaults for `azprotect restore-drill` of a vault's VMs: an isolated place to restore to.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RestoreDrill {
    /// Resource group the drill restores into (a name in the vault's subscription, or an id);
    /// it must exist, in the vault's region.
    #[serde(default)]
    pub resource_group: Option<Sp<String>>,
    /// Isolated virtual network the restored VMs join: the id of the network (its first subnet
    /// is used) or of one of its subnets. Never a network production VMs use.
    #[serde(default)]
    pub network: Option<Sp<String>>,
    /// Storage account (id) the restores stage through, in the vault's region.
    #[serde(default)]
    pub staging_storage_account: Option<Sp<String>>,
    /// Restores run at once (1–10; default 4).
    #[serde(default)]
    #[schemars(range(min = 1, max = 10))]
    pub parallelism: Option<Sp<u32>>,
}

/// Backup storage redundancy of a vault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
pub enum StorageRedundancy {
    LocallyRedundant,
    ZoneRedundant,
    GeoRedundant,
}

/// Soft delete settings of a vault.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SoftDelete {
    /// `On`, `Off` or `AlwaysOn` (irreversible).
    #[serde(default)]
    pub state: Option<Sp<SoftDeleteState>>,
    /// Days deleted backup data is kept, 14–180.
    #[serde(default)]
    #[schemars(range(min = 14, max = 180))]
    pub retention_days: Option<Sp<u32>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
pub enum SoftDeleteState {
    On,
    Off,
    AlwaysOn,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
pub enum Immutability {
    Disabled,
    Unlocked,
    Locked,
}

/// A VM backup policy.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BackupPolicy {
    /// `standard` (policyType V1, the default) or `enhanced` (V2: hourly schedules, up to 30
    /// instant-restore days, crash-consistent snapshots).
    #[serde(default)]
    pub tier: Option<Sp<Tier>>,
    /// Exactly one of `hourly`, `daily`, `weekly`.
    pub schedule: Sp<Schedule>,
    /// Windows time-zone name, e.g. `W. Europe Standard Time` (default `UTC`).
    #[serde(default)]
    pub time_zone: Option<Sp<String>>,
    /// `application` (default) or `crash_only` (enhanced only).
    #[serde(default)]
    pub consistency: Option<Sp<Consistency>>,
    /// Days snapshots are kept for instant restore: 1–5 standard, 1–30 enhanced, 5 for weekly
    /// schedules (default 2 standard, 7 enhanced, 5 weekly).
    #[serde(default)]
    #[schemars(range(min = 1, max = 30))]
    pub instant_restore_days: Option<Sp<u32>>,
    /// How long recovery points are kept.
    pub retention: Sp<Retention>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    Standard,
    Enhanced,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Consistency {
    Application,
    CrashOnly,
}

/// When backups run: exactly one of `hourly` (enhanced only), `daily`, `weekly`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    #[serde(default)]
    pub hourly: Option<Sp<Hourly>>,
    #[serde(default)]
    pub daily: Option<Sp<Daily>>,
    #[serde(default)]
    pub weekly: Option<Sp<Weekly>>,
}

/// Every `every` hours within a window of `duration` hours starting at `start`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Hourly {
    /// `4h`, `6h`, `8h` or `12h`.
    #[schemars(regex(pattern = r"^(4|6|8|12)h$"))]
    pub every: Sp<String>,
    /// Window start, `HH:00` or `HH:30`.
    #[schemars(regex(pattern = r"^([01][0-9]|2[0-3]):[03]0$"))]
    pub start: Sp<String>,
    /// Window length, `4h`–`24h`, a multiple of `every`.
    #[schemars(regex(pattern = r"^[0-9]+h$"))]
    pub duration: Sp<String>,
}

/// Once a day.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Daily {
    /// `HH:00` or `HH:30`.
    #[schemars(regex(pattern = r"^([01][0-9]|2[0-3]):[03]0$"))]
    pub at: Sp<String>,
}

/// On some weekdays.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Weekly {
    /// Distinct weekdays, e.g. `[Sunday, Wednesday]`.
    pub on: Sp<Vec<Sp<Weekday>>>,
    /// `HH:00` or `HH:30`.
    #[schemars(regex(pattern = r"^([01][0-9]|2[0-3]):[03]0$"))]
    pub at: Sp<String>,
}

/// Retention of recovery points; at least one kind.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Retention {
    /// `<N>d`, 7 ≤ N ≤ 9999; required for hourly and daily schedules, not allowed for weekly.
    #[serde(default)]
    #[schemars(regex(pattern = r"^[0-9]+d$"))]
    pub daily: Option<Sp<String>>,
    #[serde(default)]
    pub weekly: Option<Sp<WeeklyRetention>>,
    #[serde(default)]
    pub monthly: Option<Sp<MonthlyRetention>>,
    #[serde(default)]
    pub yearly: Option<Sp<YearlyRetention>>,
}

/// Keep the backups of some weekdays for `keep` weeks.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WeeklyRetention {
    /// Weeks, 1–5163.
    #[schemars(range(min = 1, max = 5163))]
    pub keep: Sp<u32>,
    /// Weekdays (for weekly schedules, a subset of the schedule's days).
    pub on: Sp<Vec<Sp<Weekday>>>,
}

/// Keep one backup a month for `keep` months.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MonthlyRetention {
    /// Months, 1–1188.
    #[schemars(range(min = 1, max = 1188))]
    pub keep: Sp<u32>,
    /// `First`…`Fourth`, `Last`, or a list of them.
    pub week: Sp<OneOrMany<WeekOfMonth>>,
    /// A weekday or a list of weekdays.
    pub on: Sp<OneOrMany<Weekday>>,
}

/// Keep one backup a year for `keep` years.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct YearlyRetention {
    /// Years, 1–99.
    #[schemars(range(min = 1, max = 99))]
    pub keep: Sp<u32>,
    /// A month name or a list of them.
    pub month: Sp<OneOrMany<Month>>,
    /// `First`…`Fourth`, `Last`, or a list of them.
    pub week: Sp<OneOrMany<WeekOfMonth>>,
    /// A weekday or a list of weekdays.
    pub on: Sp<OneOrMany<Weekday>>,
}

/// Days of the week, in Azure's order (Sunday first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, JsonSchema)]
pub enum Weekday {
    Sunday,
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, JsonSchema)]
pub enum WeekOfMonth {
    First,
    Second,
    Third,
    Fourth,
    Last,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, JsonSchema)]
pub enum Month {
    January,
    February,
    March,
    April,
    May,
    June,
    July,
    August,
    September,
    October,
    November,
    December,
}

/// One `protect` entry: a policy and the VMs it applies to (`vms`, `select`, or both).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProtectEntry {
    /// A policy declared in this vault's `backup_policies`.
    pub policy: Sp<String>,
    /// VMs as `resource-group/name` (default subscription) or a full VM ARM id.
    #[serde(default)]
    pub vms: Option<Sp<Vec<Sp<String>>>>,
    /// VMs picked from the live estate at plan time.
    #[serde(default)]
    pub select: Option<Sp<Select>>,
    /// Data-disk LUNs (0–63) excluded from backup.
    #[serde(default)]
    pub exclude_disks: Option<Sp<Vec<Sp<u32>>>>,
}

/// A live-VM selector: every condition given must match.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Select {
    /// Resource groups (case-insensitive) the VMs must be in.
    #[serde(default)]
    pub resource_groups: Option<Sp<Vec<Sp<String>>>>,
    /// Tags the VMs must carry (key case-insensitive, value exact).
    #[serde(default)]
    pub tags: Option<Sp<Map<String>>>,
    /// Regions the VMs must be in (`westeurope`; `West Europe` is accepted too). A vault
    /// protects only VMs of its own region whatever this says.
    #[serde(default)]
    pub locations: Option<Sp<Vec<Sp<String>>>>,
}

impl Select {
    /// The resource groups, as written.
    pub fn resource_group_names(&self) -> Vec<String> {
        self.resource_groups
            .iter()
            .flat_map(|r| &r.value)
            .map(|r| r.value.clone())
            .collect()
    }

    /// This selector of `vault`'s `protect` entry with `policy`, in `subscription`.
    pub fn vm_selector(
        &self,
        vault: &str,
        policy: &str,
        subscription: &str,
        exclude_disks: Vec<u32>,
    ) -> crate::model::VmSelector {
        crate::model::VmSelector {
            vault: vault.to_string(),
            policy: policy.to_string(),
            subscription: subscription.to_string(),
            resource_groups: self.resource_group_names(),
            tags: self.tag_map(),
            exclude_disks,
            locations: self.location_names(),
        }
    }

    /// The regions, normalized (`westeurope`).
    pub fn location_names(&self) -> Vec<String> {
        self.locations
            .iter()
            .flat_map(|r| &r.value)
            .map(|r| crate::model::resource_group::normalize_location(&r.value))
            .collect()
    }

    /// The tags, as written.
    pub fn tag_map(&self) -> std::collections::BTreeMap<String, String> {
        self.tags
            .iter()
            .flat_map(|t| t.value.iter())
            .map(|(k, v)| (k.value.clone(), v.value.clone()))
            .collect()
    }
}

impl Weekday {
    pub const ALL: [Weekday; 7] = [
        Weekday::Sunday,
        Weekday::Monday,
        Weekday::Tuesday,
        Weekday::Wednesday,
        Weekday::Thursday,
        Weekday::Friday,
        Weekday::Saturday,
    ];
}
