//! Snapshots on demand: ad-hoc snapshots of managed disks (`Microsoft.Compute/snapshots`), disks
//! restored from a snapshot, and the rows `snapshot list` shows — a disk's ad-hoc snapshots beside
//! the recovery points of the Azure Disk Backup instances protecting it.
//!
//! Pure: argument parsing (`rg/name` or ids), request builders (api-version [`api::DISKS`];
//! Data Protection reads use [`api::DATA_PROTECTION`]), response parsers and the listing. The
//! command (`cli::snapshot`) sends the requests.
//!
//! Recovery points carry no snapshot id in the Data Protection API: a point's snapshot is found
//! among the disk's snapshots in the instance's snapshot resource group, by the point's id in
//! the snapshot's name, else by the closest creation time ([`snapshot_of_point`]).
//!
//! Must not import: the `azure` transport, `cli`.

use super::disk::ManagedDisk;
use super::resource_group::normalize_location;
use super::{api, ArmId, ArmRequest, Method};
use serde::Serialize;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// The disk types Azure accepts for a managed disk (`DiskStorageAccountTypes`).
pub const DISK_SKUS: &[&str] = &[
    "Standard_LRS",
    "Premium_LRS",
    "StandardSSD_LRS",
    "UltraSSD_LRS",
    "Premium_ZRS",
    "StandardSSD_ZRS",
    "PremiumV2_LRS",
];

/// A recovery point and its snapshot are "the same backup" when created this close together
/// (when the snapshot's name does not carry the point's id).
const MATCH_WINDOW_SECS: i64 = 15 * 60;

/// A command-line reference that cannot name what it should.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefError {
    #[error("`{raw}` is not a {what} reference: expected <resource-group>/<name> or a {what} id ({example})")]
    Malformed {
        raw: String,
        what: &'static str,
        example: &'static str,
    },
    #[error("`{raw}` is the id of a {found}, not of a {what}")]
    WrongType {
        raw: String,
        what: &'static str,
        found: String,
    },
    #[error("`{raw}` names no subscription: give the {what}'s full id, or set --subscription / AZURE_SUBSCRIPTION_ID")]
    NoSubscription { raw: String, what: &'static str },
    #[error("`{raw}` is not a valid {what} name: 1–80 letters, digits, `_`, `.` and `-`, starting with a letter or digit and ending with a letter, digit or `_`")]
    BadName { raw: String, what: &'static str },
    #[error("`{raw}` is not a valid resource group name: 1–90 letters, digits, `_`, `.`, `-`, `(` and `)`, not ending with `.`")]
    BadResourceGroup { raw: String },
    #[error("`{raw}` is not a tag: expected KEY=VALUE (a non-empty key of at most 512 characters without <>%&\\?/, a value of at most 256)")]
    BadTag { raw: String },
    #[error("{count} tags: Azure allows at most 50 on a resource")]
    TooManyTags { count: usize },
    #[error("`{raw}` is not a disk type: expected one of {}", DISK_SKUS.join(", "))]
    BadSku { raw: String },
    #[error("`{raw}` is not an availability zone: expected 1, 2 or 3")]
    BadZone { raw: String },
}

const DISK_EXAMPLE: &str =
    "/subscriptions/…/resourceGroups/<rg>/providers/Microsoft.Compute/disks/<name>";
const SNAPSHOT_EXAMPLE: &str =
    "/subscriptions/…/resourceGroups/<rg>/providers/Microsoft.Compute/snapshots/<name>, or a Disk Backup recovery point id";

fn segments(raw: &str) -> Vec<&str> {
    raw.split('/').filter(|s| !s.is_empty()).collect()
}

/// `provider/type` of a well-formed resource id (8 segments), for "is the id of a …" errors.
fn type_of(id: &str) -> Option<String> {
    let s = segments(id);
    (s.len() >= 8
        && s[0].eq_ignore_ascii_case("subscriptions")
        && s[2].eq_ignore_ascii_case("resourceGroups")
        && s[4].eq_ignore_ascii_case("providers"))
    .then(|| {
        let mut t = format!("{}/{}", s[5], s[6]);
        for pair in s[8..].chunks(2) {
            t.push('/');
            t.push_str(pair[0]);
        }
        t
    })
}

/// A Compute resource (`disks`, `snapshots`) given as `rg/name` (default subscription) or an id.
fn compute_ref(
    raw: &str,
    default_subscription: Option<&str>,
    rtype: &str,
    what: &'static str,
    example: &'static str,
) -> Result<ArmId, RefError> {
    let raw = raw.trim();
    let malformed = || RefError::Malformed {
        raw: raw.to_string(),
        what,
        example,
    };
    if raw.starts_with('/') {
        let id = ArmId::new(raw);
        if id.is_resource_of("Microsoft.Compute", rtype) {
            return Ok(id);
        }
        return Err(match type_of(raw) {
            Some(found) => RefError::WrongType {
                raw: raw.to_string(),
                what,
                found,
            },
            None => malformed(),
        });
    }
    let parts: Vec<&str> = raw.split('/').collect();
    let [rg, name] = parts.as_slice() else {
        return Err(malformed());
    };
    check_resource_group(rg)?;
    if name.is_empty() || name.chars().any(char::is_whitespace) {
        return Err(malformed());
    }
    let Some(sub) = default_subscription.filter(|s| !s.is_empty()) else {
        return Err(RefError::NoSubscription {
            raw: raw.to_string(),
            what,
        });
    };
    Ok(ArmId::new(format!(
        "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Compute/{rtype}/{name}"
    )))
}

/// `DISK`: `rg/name` in the default subscription, or a managed disk id.
pub fn disk_ref(raw: &str, default_subscription: Option<&str>) -> Result<ArmId, RefError> {
    compute_ref(
        raw,
        default_subscription,
        "disks",
        "managed disk",
        DISK_EXAMPLE,
    )
}

/// What `snapshot restore` restores from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnapshotRef {
    Snapshot(ArmId),
    /// A Disk Backup recovery point (`…/backupInstances/{bi}/recoveryPoints/{rp}`): restored
    /// from the snapshot Azure Backup took for it.
    RecoveryPoint(ArmId),
}

fn is_recovery_point(id: &str) -> bool {
    let s = segments(id);
    s.len() == 12
        && type_of(id).is_some_and(|t| {
            t.eq_ignore_ascii_case(
                "Microsoft.DataProtection/backupVaults/backupInstances/recoveryPoints",
            )
        })
}

/// `SNAPSHOT`: `rg/name`, a snapshot id, or a Disk Backup recovery point id.
pub fn snapshot_ref(
    raw: &str,
    default_subscription: Option<&str>,
) -> Result<SnapshotRef, RefError> {
    if is_recovery_point(raw.trim()) {
        return Ok(SnapshotRef::RecoveryPoint(ArmId::new(raw.trim())));
    }
    compute_ref(
        raw,
        default_subscription,
        "snapshots",
        "snapshot",
        SNAPSHOT_EXAMPLE,
    )
    .map(SnapshotRef::Snapshot)
}

/// What `snapshot list` lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListTarget {
    Disk(ArmId),
    Vault(ArmId),
    /// A Backup vault named in the configuration files.
    VaultName(String),
}

/// `DISK|VAULT`: `rg/name` or a disk id; a Backup vault id; or a Backup vault's name (no `/`).
pub fn list_target(raw: &str, default_subscription: Option<&str>) -> Result<ListTarget, RefError> {
    let t = raw.trim();
    if t.starts_with('/') {
        let id = ArmId::new(t);
        if id.is_resource_of("Microsoft.DataProtection", "backupVaults") {
            return Ok(ListTarget::Vault(id));
        }
    } else if !t.contains('/') {
        if t.is_empty() || !t.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(RefError::Malformed {
                raw: raw.to_string(),
                what: "managed disk or Backup vault",
                example: "or the name of a Backup vault in the configuration file",
            });
        }
        return Ok(ListTarget::VaultName(t.to_string()));
    }
    disk_ref(raw, default_subscription).map(ListTarget::Disk)
}

/// Azure's rule for disk and snapshot names.
pub fn check_name(name: &str, what: &'static str) -> Result<(), RefError> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-');
    let first_ok = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric());
    let last_ok = name
        .chars()
        .last()
        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
    if name.len() <= 80 && first_ok && last_ok && name.chars().all(ok_char) {
        Ok(())
    } else {
        Err(RefError::BadName {
            raw: name.to_string(),
            what,
        })
    }
}

/// Azure's rule for resource group names.
pub fn check_resource_group(rg: &str) -> Result<(), RefError> {
    let ok = !rg.is_empty()
        && rg.chars().count() <= 90
        && !rg.ends_with('.')
        && rg
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | '-' | '(' | ')'));
    if ok {
        Ok(())
    } else {
        Err(RefError::BadResourceGroup {
            raw: rg.to_string(),
        })
    }
}

/// `--sku`, case-insensitively, spelt as Azure spells it.
pub fn check_sku(raw: &str) -> Result<&'static str, RefError> {
    DISK_SKUS
        .iter()
        .find(|s| s.eq_ignore_ascii_case(raw))
        .copied()
        .ok_or_else(|| RefError::BadSku {
            raw: raw.to_string(),
        })
}

pub fn check_zone(raw: &str) -> Result<(), RefError> {
    if matches!(raw, "1" | "2" | "3") {
        Ok(())
    } else {
        Err(RefError::BadZone {
            raw: raw.to_string(),
        })
    }
}

/// `--tag KEY=VALUE`.
pub fn parse_tag(raw: &str) -> Result<(String, String), RefError> {
    let bad = || RefError::BadTag {
        raw: raw.to_string(),
    };
    let (k, v) = raw.split_once('=').ok_or_else(bad)?;
    let k = k.trim();
    if k.is_empty()
        || k.chars().count() > 512
        || v.chars().count() > 256
        || k.chars().any(|c| "<>%&\\?/".contains(c))
    {
        return Err(bad());
    }
    Ok((k.to_string(), v.to_string()))
}

/// The tags of a snapshot azprotect takes: `created-by: azprotect`, `source-disk: <name>`, then
/// the user's (which win on the same key).
pub fn snapshot_tags(
    disk_name: &str,
    extra: &[(String, String)],
) -> Result<BTreeMap<String, String>, RefError> {
    let mut tags = BTreeMap::from([
        ("created-by".to_string(), "azprotect".to_string()),
        ("source-disk".to_string(), disk_name.to_string()),
    ]);
    tags.extend(extra.iter().cloned());
    if tags.len() > 50 {
        return Err(RefError::TooManyTags { count: tags.len() });
    }
    Ok(tags)
}

/// `<disk>-<UTC yyyymmdd-hhmmss>`, the disk part shortened so the name stays within 80
/// characters.
pub fn default_name(disk: &str, at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    let stamp = format!(
        "{:04}{:02}{:02}-{:02}{:02}{:02}",
        at.year(),
        at.month() as u8,
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    );
    let keep: String = disk.chars().take(80 - stamp.len() - 1).collect();
    format!("{keep}-{stamp}")
}

fn versioned(id: impl std::fmt::Display) -> String {
    format!("{id}?api-version={}", api::DISKS)
}

/// GET a disk or a snapshot.
pub fn get_request(id: &ArmId) -> ArmRequest {
    ArmRequest::new(Method::Get, versioned(id), None)
}

/// GET a Disk Backup recovery point or backup instance.
pub fn get_backup_request(id: &ArmId) -> ArmRequest {
    ArmRequest::new(Method::Get, super::disk_backup::versioned(id), None)
}

/// The id of snapshot `name` in `resource_group` of `subscription`.
pub fn snapshot_id(subscription: &str, resource_group: &str, name: &str) -> ArmId {
    ArmId::new(format!(
        "/subscriptions/{subscription}/resourceGroups/{resource_group}/providers/Microsoft.Compute/snapshots/{name}"
    ))
}

/// The id of disk `name` in `resource_group` of `subscription`.
pub fn disk_id(subscription: &str, resource_group: &str, name: &str) -> ArmId {
    ArmId::new(format!(
        "/subscriptions/{subscription}/resourceGroups/{resource_group}/providers/Microsoft.Compute/disks/{name}"
    ))
}

fn tags_value(tags: &BTreeMap<String, String>) -> Value {
    Value::Object(
        tags.iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect::<Map<String, Value>>(),
    )
}

/// `PUT …/snapshots/{name}`: a copy of `disk` in the disk's region, incremental unless `full`.
pub fn take_request(
    snapshot: &ArmId,
    disk: &ManagedDisk,
    incremental: bool,
    tags: &BTreeMap<String, String>,
) -> ArmRequest {
    let body = json!({
        "location": disk.location,
        "tags": tags_value(tags),
        "properties": {
            "creationData": {"createOption": "Copy", "sourceResourceId": disk.id.as_str()},
            "incremental": incremental,
        },
    });
    ArmRequest::new(Method::Put, versioned(snapshot), Some(body))
}

/// `PUT …/disks/{name}`: a new disk copied from `snapshot`, its size, in its region. `sku`
/// `None` leaves Azure's default (Standard_LRS).
pub fn restore_request(
    disk: &ArmId,
    snapshot: &Snapshot,
    sku: Option<&str>,
    zone: Option<&str>,
) -> ArmRequest {
    let mut body = json!({
        "location": snapshot.location,
        "tags": {"created-by": "azprotect", "source-snapshot": snapshot.name},
        "properties": {
            "creationData": {"createOption": "Copy", "sourceResourceId": snapshot.id.as_str()},
            "diskSizeGB": snapshot.size_gb,
        },
    });
    if let Some(sku) = sku {
        body["sku"] = json!({"name": sku});
    }
    if let Some(z) = zone {
        body["zones"] = json!([z]);
    }
    ArmRequest::new(Method::Put, versioned(disk), Some(body))
}

/// `GET /subscriptions/{sub}/providers/Microsoft.Compute/snapshots`.
pub fn list_path(subscription: &str) -> String {
    versioned(format!(
        "/subscriptions/{subscription}/providers/Microsoft.Compute/snapshots"
    ))
}

/// `GET {resource group}/providers/Microsoft.Compute/snapshots`.
pub fn list_in_group_path(resource_group_id: &ArmId) -> String {
    versioned(resource_group_id.child(&["providers", "Microsoft.Compute", "snapshots"]))
}

pub fn recovery_points_path(instance: &ArmId) -> String {
    super::disk_backup::versioned(instance.child(&["recoveryPoints"]))
}

/// An ARM timestamp; a zone-less one is UTC.
pub fn parse_time(v: &Value) -> Option<OffsetDateTime> {
    let s = v.as_str()?;
    OffsetDateTime::parse(s, &Rfc3339)
        .or_else(|_| OffsetDateTime::parse(&format!("{s}Z"), &Rfc3339))
        .ok()
}

/// A snapshot as read from Azure.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    pub id: ArmId,
    pub name: String,
    /// Normalized region.
    pub location: String,
    pub size_gb: u64,
    pub incremental: bool,
    /// `creationData.sourceResourceId` (the disk it copies).
    pub source_id: Option<ArmId>,
    pub time_created: Option<OffsetDateTime>,
    pub sku: String,
    pub tags: BTreeMap<String, String>,
    /// `completionPercent` (background copy of an incremental snapshot), when reported.
    pub completion_percent: Option<f64>,
    /// `snapshotAccessState` (`Pending`, `Available`, …), when reported.
    pub access_state: Option<String>,
}

impl Snapshot {
    pub fn from_arm(v: &Value) -> Option<Snapshot> {
        let id = ArmId::new(v["id"].as_str()?);
        let p = &v["properties"];
        let size_gb = p["diskSizeGB"].as_u64().or_else(|| {
            p["diskSizeBytes"]
                .as_u64()
                .map(|b| b.div_ceil(1024 * 1024 * 1024))
        })?;
        Some(Snapshot {
            name: id.name().to_string(),
            location: normalize_location(v["location"].as_str().unwrap_or_default()),
            size_gb,
            incremental: p["incremental"].as_bool().unwrap_or(false),
            source_id: p["creationData"]["sourceResourceId"]
                .as_str()
                .map(ArmId::new),
            time_created: parse_time(&p["timeCreated"]),
            sku: v["sku"]["name"].as_str().unwrap_or_default().to_string(),
            tags: v["tags"]
                .as_object()
                .map(|t| {
                    t.iter()
                        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                        .collect()
                })
                .unwrap_or_default(),
            completion_percent: p["completionPercent"].as_f64(),
            access_state: p["snapshotAccessState"].as_str().map(str::to_string),
            id,
        })
    }

    /// Taken by Azure Backup (Disk Backup's scheduled snapshots) rather than by someone.
    pub fn by_backup(&self) -> bool {
        self.name.starts_with("AzureBackup_")
            || self
                .tags
                .iter()
                .any(|(k, v)| k.eq_ignore_ascii_case("CreatedBy") && v == "AzureBackup")
    }

    /// Still copying in the background: a disk cannot be created from it yet.
    pub fn pending(&self) -> bool {
        self.completion_percent.is_some_and(|p| p < 100.0)
            || self
                .access_state
                .as_deref()
                .is_some_and(|s| s.eq_ignore_ascii_case("Pending"))
    }

    fn copies(&self, disk: &ArmId) -> bool {
        self.source_id.as_ref() == Some(disk)
    }
}

/// A Disk Backup instance protecting a managed disk.
#[derive(Debug, Clone, PartialEq)]
pub struct BackupInstance {
    pub id: ArmId,
    pub disk_id: ArmId,
    /// Where its snapshots go (`dataStoreParametersList[].resourceGroupId`).
    pub snapshot_resource_group: Option<ArmId>,
}

impl BackupInstance {
    /// `None` for instances of other datasources.
    pub fn from_arm(v: &Value) -> Option<BackupInstance> {
        let p = &v["properties"];
        let ds = &p["dataSourceInfo"];
        if !ds["datasourceType"]
            .as_str()?
            .eq_ignore_ascii_case("Microsoft.Compute/disks")
        {
            return None;
        }
        Some(BackupInstance {
            id: ArmId::new(v["id"].as_str()?),
            disk_id: ArmId::new(ds["resourceID"].as_str()?),
            snapshot_resource_group: p["policyInfo"]["policyParameters"]["dataStoreParametersList"]
                .as_array()
                .into_iter()
                .flatten()
                .find_map(|d| d["resourceGroupId"].as_str())
                .map(ArmId::new),
        })
    }
}

/// A Disk Backup recovery point.
#[derive(Debug, Clone, PartialEq)]
pub struct RecoveryPoint {
    pub id: ArmId,
    /// `recoveryPointId` (the point's name).
    pub name: String,
    pub time: Option<OffsetDateTime>,
    pub expiry: Option<OffsetDateTime>,
}

impl RecoveryPoint {
    pub fn from_arm(v: &Value) -> Option<RecoveryPoint> {
        let id = ArmId::new(v["id"].as_str()?);
        let p = &v["properties"];
        Some(RecoveryPoint {
            name: p["recoveryPointId"]
                .as_str()
                .unwrap_or_else(|| id.name())
                .to_string(),
            time: parse_time(&p["recoveryPointTime"]),
            expiry: parse_time(&p["expiryTime"]).or_else(|| {
                p["recoveryPointDataStoresDetails"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find_map(|d| parse_time(&d["expiryTime"]))
            }),
            id,
        })
    }
}

/// The snapshot Azure Backup took for `point` of `instance`: one of the instance's disk, in its
/// snapshot resource group (when known), whose name carries the point's id, else the closest in
/// time within 15 minutes.
pub fn snapshot_of_point<'a>(
    point: &RecoveryPoint,
    instance: &BackupInstance,
    snapshots: &'a [Snapshot],
) -> Option<&'a Snapshot> {
    let candidates: Vec<&Snapshot> = snapshots
        .iter()
        .filter(|s| s.copies(&instance.disk_id) && s.by_backup())
        .filter(|s| {
            instance
                .snapshot_resource_group
                .as_ref()
                .is_none_or(|rg| s.id.parent(2) == *rg)
        })
        .collect();
    let key = point.name.replace('-', "").to_ascii_lowercase();
    if let Some(s) = candidates
        .iter()
        .find(|s| !key.is_empty() && s.name.to_ascii_lowercase().contains(&key))
    {
        return Some(s);
    }
    let at = point.time?;
    candidates
        .into_iter()
        .filter_map(|s| Some((s, (s.time_created? - at).whole_seconds().abs())))
        .filter(|(_, d)| *d <= MATCH_WINDOW_SECS)
        .min_by_key(|(_, d)| *d)
        .map(|(s, _)| s)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RowKind {
    /// Azure Disk Backup's, on the policy's schedule (or an on-demand backup of the instance).
    Scheduled,
    /// A snapshot someone took (`snapshot take`, the portal, …).
    AdHoc,
}

impl RowKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RowKind::Scheduled => "scheduled",
            RowKind::AdHoc => "ad-hoc",
        }
    }
}

/// One line of `snapshot list`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    #[serde(with = "time::serde::rfc3339::option")]
    pub time: Option<OffsetDateTime>,
    pub kind: RowKind,
    /// The snapshot's name, or the recovery point's when its snapshot is not found.
    pub name: String,
    /// The disk it copies.
    pub disk: String,
    pub size_gb: Option<u64>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub expiry: Option<OffsetDateTime>,
    /// What `snapshot restore` takes.
    pub snapshot_id: Option<ArmId>,
    pub recovery_point_id: Option<ArmId>,
}

/// Recovery points of each instance, with their snapshots found in `snapshots`.
fn point_rows(
    snapshots: &[Snapshot],
    protected: &[(BackupInstance, Vec<RecoveryPoint>)],
) -> Vec<Row> {
    protected
        .iter()
        .flat_map(|(inst, points)| {
            points.iter().map(move |p| {
                let snap = snapshot_of_point(p, inst, snapshots);
                Row {
                    time: p.time.or(snap.and_then(|s| s.time_created)),
                    kind: RowKind::Scheduled,
                    name: snap.map_or_else(|| p.name.clone(), |s| s.name.clone()),
                    disk: inst.disk_id.name().to_string(),
                    size_gb: snap.map(|s| s.size_gb),
                    expiry: p.expiry,
                    snapshot_id: snap.map(|s| s.id.clone()),
                    recovery_point_id: Some(p.id.clone()),
                }
            })
        })
        .collect()
}

fn snapshot_row(s: &Snapshot, kind: RowKind) -> Row {
    Row {
        time: s.time_created,
        kind,
        name: s.name.clone(),
        disk: s
            .source_id
            .as_ref()
            .map(|d| d.name().to_string())
            .unwrap_or_default(),
        size_gb: Some(s.size_gb),
        expiry: None,
        snapshot_id: Some(s.id.clone()),
        recovery_point_id: None,
    }
}

fn newest_first(mut rows: Vec<Row>) -> Vec<Row> {
    // `None` (no time known) sorts last; ties by name for a stable listing.
    rows.sort_by(|a, b| b.time.cmp(&a.time).then_with(|| a.name.cmp(&b.name)));
    rows
}

/// `snapshot list DISK`: the disk's ad-hoc snapshots, the recovery points of the instances
/// protecting it, and any backup snapshot of it no point accounts for (e.g. kept after its
/// instance was deleted), newest first. `snapshots` may hold other disks' snapshots.
pub fn disk_rows(
    disk: &ArmId,
    snapshots: &[Snapshot],
    protected: &[(BackupInstance, Vec<RecoveryPoint>)],
) -> Vec<Row> {
    let protected: Vec<(BackupInstance, Vec<RecoveryPoint>)> = protected
        .iter()
        .filter(|(i, _)| i.disk_id == *disk)
        .cloned()
        .collect();
    let mut rows = point_rows(snapshots, &protected);
    let used: Vec<ArmId> = rows.iter().filter_map(|r| r.snapshot_id.clone()).collect();
    rows.extend(
        snapshots
            .iter()
            .filter(|s| s.copies(disk) && !used.contains(&s.id))
            .map(|s| {
                let kind = if s.by_backup() {
                    RowKind::Scheduled
                } else {
                    RowKind::AdHoc
                };
                snapshot_row(s, kind)
            }),
    );
    newest_first(rows)
}

/// `snapshot list VAULT`: every instance's recovery points, newest first.
pub fn vault_rows(
    snapshots: &[Snapshot],
    protected: &[(BackupInstance, Vec<RecoveryPoint>)],
) -> Vec<Row> {
    newest_first(point_rows(snapshots, protected))
}

/// `yyyy-mm-dd hh:mm:ss` in UTC, `-` when unknown.
pub fn display_time(t: Option<OffsetDateTime>) -> String {
    match t.map(|t| t.to_offset(time::UtcOffset::UTC)) {
        Some(t) => format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
            t.year(),
            t.month() as u8,
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        ),
        None => "-".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const SUB: &str = "00000000-0000-0000-0000-000000000001";

    fn disk() -> ArmId {
        disk_id(SUB, "rg-app", "shared-data")
    }

    fn snap(name: &str, rg: &str, created: &str, tags: Value) -> Value {
        json!({
            "id": snapshot_id(SUB, rg, name).as_str(),
            "location": "West Europe",
            "tags": tags,
            "sku": {"name": "Standard_LRS"},
            "properties": {
                "creationData": {"createOption": "Copy", "sourceResourceId": disk().as_str()},
                "diskSizeGB": 512, "incremental": true, "timeCreated": created,
                "completionPercent": 100.0, "snapshotAccessState": "Available",
            },
        })
    }

    #[test]
    fn references_resolve_against_the_default_subscription_or_stand_alone() {
        assert_eq!(disk_ref("rg-app/shared-data", Some(SUB)), Ok(disk()));
        assert_eq!(disk_ref(disk().as_str(), None), Ok(disk()));
        assert!(matches!(
            disk_ref("rg-app/shared-data", None),
            Err(RefError::NoSubscription { .. })
        ));
        for bad in ["shared-data/", "a/b/c", "/subscriptions/x", "rg app/d", ""] {
            assert!(
                matches!(
                    disk_ref(bad, Some(SUB)),
                    Err(RefError::Malformed { .. } | RefError::BadResourceGroup { .. })
                ),
                "{bad}"
            );
        }
        let snap_id = snapshot_id(SUB, "rg", "s");
        let err = disk_ref(snap_id.as_str(), Some(SUB)).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "`{snap_id}` is the id of a Microsoft.Compute/snapshots, not of a managed disk"
            )
        );
        assert_eq!(
            snapshot_ref("rg/s", Some(SUB)),
            Ok(SnapshotRef::Snapshot(snap_id))
        );
        let rp = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.DataProtection/backupVaults/v/backupInstances/bi/recoveryPoints/p1";
        assert_eq!(
            snapshot_ref(rp, None),
            Ok(SnapshotRef::RecoveryPoint(ArmId::new(rp)))
        );
        let vault =
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.DataProtection/backupVaults/v";
        assert_eq!(
            list_target(vault, None),
            Ok(ListTarget::Vault(ArmId::new(vault)))
        );
        assert_eq!(
            list_target("bv-prod-weu", None),
            Ok(ListTarget::VaultName("bv-prod-weu".into()))
        );
        assert_eq!(
            list_target("rg-app/shared-data", Some(SUB)),
            Ok(ListTarget::Disk(disk()))
        );
        assert!(list_target("bv prod", None).is_err());
    }

    #[test]
    fn names_tags_skus_and_zones_follow_azure_rules() {
        assert!(check_name("shared-data-20260101-000000", "snapshot").is_ok());
        assert!(check_name("x_", "snapshot").is_ok());
        for bad in ["-x", "x-", "x.", "a b", "", &"x".repeat(81)] {
            assert!(check_name(bad, "snapshot").is_err(), "{bad}");
        }
        assert_eq!(parse_tag("owner=ops"), Ok(("owner".into(), "ops".into())));
        assert_eq!(parse_tag("empty="), Ok(("empty".into(), String::new())));
        for bad in ["novalue", "=x", "a/b=c"] {
            assert!(parse_tag(bad).is_err(), "{bad}");
        }
        let tags = snapshot_tags("shared-data", &[("owner".into(), "ops".into())]).unwrap();
        assert_eq!(
            tags_value(&tags),
            json!({"created-by": "azprotect", "owner": "ops", "source-disk": "shared-data"})
        );
        let many: Vec<(String, String)> = (0..49).map(|i| (format!("k{i}"), "v".into())).collect();
        assert_eq!(
            snapshot_tags("d", &many),
            Err(RefError::TooManyTags { count: 51 })
        );
        assert_eq!(check_sku("premium_lrs"), Ok("Premium_LRS"));
        assert!(check_sku("Premium").is_err());
        assert!(check_zone("2").is_ok() && check_zone("4").is_err());
    }

    #[test]
    fn the_default_name_is_the_disk_and_the_utc_time_within_80_characters() {
        let at = datetime!(2026-05-01 09:08:07 +02:00);
        assert_eq!(
            default_name("shared-data", at),
            "shared-data-20260501-070807"
        );
        let long = default_name(&"d".repeat(80), at);
        assert_eq!(long.len(), 80);
        assert!(check_name(&long, "snapshot").is_ok());
    }

    #[test]
    fn take_and_restore_bodies_copy_their_source_in_its_region() {
        let d = ManagedDisk::from_arm(&json!({"id": disk().as_str(), "location": "westeurope",
            "sku": {"name": "Premium_LRS"}, "properties": {"diskSizeGB": 512}}))
        .unwrap();
        let id = snapshot_id(SUB, "rg-app", "s1");
        let req = take_request(&id, &d, true, &snapshot_tags("shared-data", &[]).unwrap());
        assert_eq!(req.method, Method::Put);
        assert_eq!(req.path, format!("{id}?api-version={}", api::DISKS));
        assert_eq!(
            req.body.unwrap(),
            json!({"location": "westeurope",
                   "tags": {"created-by": "azprotect", "source-disk": "shared-data"},
                   "properties": {"creationData": {"createOption": "Copy", "sourceResourceId": disk().as_str()},
                                  "incremental": true}})
        );
        let s = Snapshot::from_arm(&snap(
            "s1",
            "rg-app",
            "2026-05-01T07:08:07.1234567Z",
            json!({}),
        ))
        .unwrap();
        let target = disk_id(SUB, "rg-app", "restored");
        let req = restore_request(&target, &s, Some("Premium_LRS"), Some("1"));
        assert_eq!(
            req.body.unwrap(),
            json!({"location": "westeurope",
                   "tags": {"created-by": "azprotect", "source-snapshot": "s1"},
                   "properties": {"creationData": {"createOption": "Copy", "sourceResourceId": s.id.as_str()},
                                  "diskSizeGB": 512},
                   "sku": {"name": "Premium_LRS"}, "zones": ["1"]})
        );
        let plain = restore_request(&target, &s, None, None).body.unwrap();
        assert!(plain.get("sku").is_none() && plain.get("zones").is_none());
    }

    #[test]
    fn snapshots_parse_with_their_state_and_origin() {
        let s = Snapshot::from_arm(&snap(
            "s1",
            "rg-app",
            "2026-05-01T07:08:07Z",
            json!({"created-by": "azprotect"}),
        ))
        .unwrap();
        assert_eq!(
            (s.size_gb, s.incremental, s.location.as_str()),
            (512, true, "westeurope")
        );
        assert_eq!(s.time_created, Some(datetime!(2026-05-01 07:08:07 UTC)));
        assert!(!s.by_backup() && !s.pending());
        let mut pending = snap(
            "s2",
            "rg-app",
            "2026-05-01T07:08:07",
            json!({"CreatedBy": "AzureBackup"}),
        );
        pending["properties"]["completionPercent"] = json!(40.0);
        let p = Snapshot::from_arm(&pending).unwrap();
        assert!(p.by_backup() && p.pending());
        assert_eq!(
            p.time_created,
            Some(datetime!(2026-05-01 07:08:07 UTC)),
            "zone-less is UTC"
        );
        assert!(Snapshot::from_arm(&json!({"id": 1})).is_none());
        assert_eq!(display_time(s.time_created), "2026-05-01 07:08:07");
        assert_eq!(display_time(None), "-");
    }

    fn instance() -> BackupInstance {
        BackupInstance::from_arm(&json!({
            "id": "/subscriptions/s/resourceGroups/rg-p/providers/Microsoft.DataProtection/backupVaults/bv/backupInstances/bi",
            "properties": {
                "dataSourceInfo": {"datasourceType": "Microsoft.Compute/disks", "resourceID": disk().as_str()},
                "policyInfo": {"policyParameters": {"dataStoreParametersList": [
                    {"resourceGroupId": format!("/subscriptions/{SUB}/resourceGroups/rg-snap")}]}},
            },
        }))
        .unwrap()
    }

    fn point(name: &str, time: &str) -> RecoveryPoint {
        RecoveryPoint::from_arm(&json!({
            "id": format!("{}/recoveryPoints/{name}", instance().id),
            "name": name,
            "properties": {"recoveryPointId": name, "recoveryPointTime": time,
                           "recoveryPointDataStoresDetails": [{"expiryTime": "2026-05-08T04:00:00Z"}]},
        }))
        .unwrap()
    }

    #[test]
    fn recovery_points_find_their_snapshot_by_id_else_by_time() {
        let i = instance();
        assert_eq!(
            i.snapshot_resource_group,
            Some(ArmId::new(format!(
                "/subscriptions/{SUB}/resourceGroups/rg-snap"
            )))
        );
        let backup = json!({"CreatedBy": "AzureBackup"});
        let snaps: Vec<Snapshot> = [
            snap(
                "AzureBackup_shared-data_aaaa1111",
                "rg-snap",
                "2026-05-01T04:00:00Z",
                backup.clone(),
            ),
            snap("bk-2", "rg-snap", "2026-05-01T08:03:00Z", backup.clone()),
            snap(
                "elsewhere",
                "rg-other",
                "2026-05-01T12:00:00Z",
                backup.clone(),
            ),
            snap("mine", "rg-app", "2026-05-01T09:00:00Z", json!({})),
        ]
        .iter()
        .map(|v| Snapshot::from_arm(v).unwrap())
        .collect();
        let by_id = point("aaaa-1111", "2026-05-01T03:00:00Z");
        assert_eq!(
            snapshot_of_point(&by_id, &i, &snaps).unwrap().name,
            "AzureBackup_shared-data_aaaa1111"
        );
        let by_time = point("bbbb", "2026-05-01T08:00:00Z");
        assert_eq!(
            snapshot_of_point(&by_time, &i, &snaps).unwrap().name,
            "bk-2"
        );
        // Outside the snapshot resource group, or too far in time: no match.
        assert!(snapshot_of_point(&point("cccc", "2026-05-01T12:00:00Z"), &i, &snaps).is_none());
        assert_eq!(by_id.expiry, Some(datetime!(2026-05-08 04:00:00 UTC)));

        let rows = disk_rows(
            &disk(),
            &snaps,
            &[(i.clone(), vec![by_id.clone(), by_time.clone()])],
        );
        let view: Vec<(String, &str, Option<String>)> = rows
            .iter()
            .map(|r| {
                (
                    display_time(r.time),
                    r.kind.as_str(),
                    r.snapshot_id.as_ref().map(|s| s.name().to_string()),
                )
            })
            .collect();
        assert_eq!(
            view,
            vec![
                (
                    "2026-05-01 12:00:00".into(),
                    "scheduled",
                    Some("elsewhere".into())
                ),
                ("2026-05-01 09:00:00".into(), "ad-hoc", Some("mine".into())),
                (
                    "2026-05-01 08:00:00".into(),
                    "scheduled",
                    Some("bk-2".into())
                ),
                (
                    "2026-05-01 03:00:00".into(),
                    "scheduled",
                    Some("AzureBackup_shared-data_aaaa1111".into())
                ),
            ]
        );
        assert!(rows[2].recovery_point_id.is_some() && rows[1].recovery_point_id.is_none());
        let json = serde_json::to_value(&rows[1]).unwrap();
        assert_eq!(json["kind"], "ad-hoc");
        assert_eq!(json["time"], "2026-05-01T09:00:00Z");
        // A vault lists its points only.
        assert_eq!(vault_rows(&snaps, &[(i, vec![by_time])]).len(), 1);
        // Another disk's instance is not this disk's.
        assert!(disk_rows(&disk_id(SUB, "rg-app", "other"), &snaps, &[]).is_empty());
    }

    #[test]
    fn other_datasources_are_not_disk_instances() {
        assert!(BackupInstance::from_arm(&json!({"id": "/x", "properties": {"dataSourceInfo": {"datasourceType": "Microsoft.Storage/storageAccounts/blobServices", "resourceID": "/y"}}})).is_none());
    }
}
