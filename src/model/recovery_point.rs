//! A recovery point as `recovery-points` lists it: one shape for a protected VM's points
//! (Recovery Services `IaasVMRecoveryPoint`, recording azure-cli/test_backup_diskaccess_restore
//! .yaml #1 L111, FACTS §8) and a disk's (Data Protection `AzureBackupDiscreteRecoveryPoint`,
//! FACTS §7).
//!
//! Tiers: `InstantRP` is the snapshot tier, `HardenedRP` the vault tier, `ArchivedRP` the
//! archive tier; a tier counts while its status is `Valid`. A Data Protection disk point lives in
//! the `OperationalStore` (snapshots): the snapshot tier, crash-consistent.

use super::snapshot::parse_time as time_of;
use super::{api, ArmId};
use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;

/// How consistent a point's data is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Consistency {
    /// Applications were quiesced (VSS on Windows, pre/post scripts on Linux).
    Application,
    FileSystem,
    Crash,
    Unknown,
}

impl Consistency {
    fn from_arm(s: &str) -> Consistency {
        match s.to_ascii_lowercase().as_str() {
            "appconsistent" => Consistency::Application,
            "filesystemconsistent" => Consistency::FileSystem,
            "crashconsistent" | "incremental" | "full" => Consistency::Crash,
            _ => Consistency::Unknown,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Consistency::Application => "application",
            Consistency::FileSystem => "file-system",
            Consistency::Crash => "crash",
            Consistency::Unknown => "unknown",
        }
    }
}

/// Where a point's data is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Tier {
    Snapshot,
    Vault,
    Archive,
}

impl Tier {
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Snapshot => "snapshot",
            Tier::Vault => "vault",
            Tier::Archive => "archive",
        }
    }
}

/// A disk a point holds: its LUN (`None` for the OS disk) and name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PointDisk {
    pub lun: Option<u32>,
    pub name: String,
}

/// One recovery point.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecoveryPoint {
    pub id: ArmId,
    pub name: String,
    #[serde(with = "time::serde::rfc3339")]
    pub time: OffsetDateTime,
    pub consistency: Consistency,
    /// The tiers that hold it now.
    pub tiers: Vec<Tier>,
    /// When Azure removes it, if it says.
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires: Option<OffsetDateTime>,
    /// The disks it holds, when Azure says (a VM's points).
    pub disks: Vec<PointDisk>,
    /// Whether its copy is in the vault's paired region yet, for a vault that keeps one
    /// (cross-region restore); `None` for any other.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secondary_region: Option<bool>,
}

/// The points of one protected resource, as `recovery-points` lists them.
#[derive(Debug, Clone, Serialize)]
pub struct Listing {
    /// The address asked for (`protected_vm.V/rg/vm`, `disk_backup.V/rg/disk`).
    pub address: String,
    /// The protected item (Recovery Services) or backup instance (Data Protection).
    pub item: ArmId,
    pub points: Vec<RecoveryPoint>,
    /// The paired region the vault restores into across regions, when it can.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secondary_region: Option<String>,
}

/// `GET {item}/recoveryPoints` of a protected VM.
pub fn vm_points_path(item: &ArmId) -> String {
    vm_points_path_at(item, api::BACKUP)
}

/// [`vm_points_path`] at `api_version` (the secondary region's: `model::crr::PASSIVE`).
pub fn vm_points_path_at(item: &ArmId, api_version: &str) -> String {
    format!("{item}/recoveryPoints?api-version={api_version}")
}

/// A protected VM's point (`IaasVMRecoveryPoint`); `None` for another kind or a body without
/// an id or time.
pub fn from_vm_point(v: &Value) -> Option<RecoveryPoint> {
    let p = &v["properties"];
    let id = ArmId::new(v["id"].as_str()?);
    let tiers = p["recoveryPointTierDetails"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| {
            t["status"]
                .as_str()
                .is_some_and(|s| s.eq_ignore_ascii_case("Valid"))
        })
        .filter_map(
            |t| match t["type"].as_str()?.to_ascii_lowercase().as_str() {
                "instantrp" => Some(Tier::Snapshot),
                "hardenedrp" => Some(Tier::Vault),
                "archivedrp" => Some(Tier::Archive),
                _ => None,
            },
        )
        .collect();
    let disks = p["recoveryPointDiskConfiguration"]["includedDiskList"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| {
            Some(PointDisk {
                lun: d["lun"].as_i64().and_then(|l| u32::try_from(l).ok()),
                name: d["name"].as_str()?.to_string(),
            })
        })
        .collect();
    Some(RecoveryPoint {
        name: v["name"].as_str().unwrap_or_else(|| id.name()).to_string(),
        time: time_of(&p["recoveryPointTime"])?,
        consistency: Consistency::from_arm(p["recoveryPointType"].as_str().unwrap_or_default()),
        tiers,
        expires: time_of(&p["recoveryPointProperties"]["expiryTime"]),
        disks,
        id,
        secondary_region: None,
    })
}

/// A disk's point from Data Protection: crash-consistent, in the snapshot tier while its
/// `OperationalStore` copy exists (a `VaultStore` copy puts it in the vault tier).
pub fn from_disk_point(v: &Value) -> Option<RecoveryPoint> {
    let base = super::snapshot::RecoveryPoint::from_arm(v)?;
    let p = &v["properties"];
    let mut tiers: Vec<Tier> = p["recoveryPointDataStoresDetails"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(
            |d| match d["type"].as_str()?.to_ascii_lowercase().as_str() {
                "operationalstore" => Some(Tier::Snapshot),
                "vaultstore" => Some(Tier::Vault),
                "archivestore" => Some(Tier::Archive),
                _ => None,
            },
        )
        .collect();
    if tiers.is_empty() {
        tiers.push(Tier::Snapshot);
    }
    tiers.sort();
    tiers.dedup();
    Some(RecoveryPoint {
        id: base.id,
        name: base.name,
        time: base.time?,
        consistency: Consistency::Crash,
        tiers,
        expires: base.expiry,
        disks: vec![],
        secondary_region: None,
    })
}

/// RFC 3339 (`2026-12-05T18:00:00Z`) or a date (`2026-12-05`, its start, UTC).
pub fn parse_time(s: &str) -> Result<OffsetDateTime, String> {
    use time::format_description::well_known::Rfc3339;
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        return Ok(t);
    }
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(s, &fmt)
        .map(|d| d.midnight().assume_utc())
        .map_err(|_| format!("'{s}' is not a time: use 2026-12-05 or 2026-12-05T18:00:00Z"))
}

/// [`parse_time`], a date meaning its last moment.
pub fn parse_end_time(s: &str) -> Result<OffsetDateTime, String> {
    let t = parse_time(s)?;
    if s.contains('T') {
        return Ok(t);
    }
    t.checked_add(time::Duration::days(1) - time::Duration::nanoseconds(1))
        .ok_or_else(|| format!("'{s}' is past the last date this tool can count to"))
}

/// Newest first, within `since..=until` when given.
pub fn select(
    mut points: Vec<RecoveryPoint>,
    since: Option<OffsetDateTime>,
    until: Option<OffsetDateTime>,
) -> Vec<RecoveryPoint> {
    points.retain(|p| since.is_none_or(|s| p.time >= s) && until.is_none_or(|u| p.time <= u));
    points.sort_by(|a, b| b.time.cmp(&a.time).then_with(|| a.name.cmp(&b.name)));
    points
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The newest point of recording azure-cli/test_backup_diskaccess_restore.yaml #1 (L114),
    /// with the disk list of the spec's example.
    fn recorded() -> Value {
        json!({"id": "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/zubairRG/providers/Microsoft.RecoveryServices/vaults/ztestvault1/backupFabrics/Azure/protectionContainers/IaasVMContainer;iaasvmcontainerv2;zubairrg;zvm-jsdk2/protectedItems/VM;iaasvmcontainerv2;zubairrg;zvm-jsdk2/recoveryPoints/22493304464643",
               "name": "22493304464643",
               "type": "Microsoft.RecoveryServices/vaults/backupFabrics/protectionContainers/protectedItems/recoveryPoints",
               "properties": {"objectType": "IaasVMRecoveryPoint", "recoveryPointType": "FileSystemConsistent",
                              "recoveryPointTime": "2024-10-10T08:36:42.4742071Z",
                              "recoveryPointTierDetails": [{"type": "InstantRP", "status": "Valid"}, {"type": "HardenedRP", "status": "Valid"}],
                              "recoveryPointProperties": {"expiryTime": "2024-11-06T08:34:25.3320276", "ruleName": "Daily", "isSoftDeleted": false},
                              "recoveryPointDiskConfiguration": {"numberOfDisksIncludedInBackup": 2, "includedDiskList": [{"lun": -1, "name": "os"}, {"lun": 0, "name": "data0"}]}}})
    }

    #[test]
    fn a_recorded_vm_point_reads_as_listed() {
        let p = from_vm_point(&recorded()).expect("parses");
        assert_eq!(p.name, "22493304464643");
        assert_eq!(p.consistency, Consistency::FileSystem);
        assert_eq!(p.tiers, [Tier::Snapshot, Tier::Vault]);
        assert_eq!(p.time.year(), 2024);
        assert!(p.expires.is_some());
        assert_eq!(
            p.disks,
            [
                PointDisk {
                    lun: None,
                    name: "os".into()
                },
                PointDisk {
                    lun: Some(0),
                    name: "data0".into()
                }
            ]
        );
        let mut older = recorded();
        older["properties"]["recoveryPointTierDetails"][0]["status"] = json!("Deleted");
        older["properties"]["recoveryPointType"] = json!("AppConsistent");
        let o = from_vm_point(&older).unwrap();
        assert_eq!(
            (o.tiers.as_slice(), o.consistency),
            ([Tier::Vault].as_slice(), Consistency::Application)
        );
    }

    #[test]
    fn points_are_listed_newest_first_within_the_window() {
        let at = |t: &str| {
            let mut v = recorded();
            v["properties"]["recoveryPointTime"] = json!(t);
            v["name"] = json!(t);
            from_vm_point(&v).unwrap()
        };
        let all = vec![
            at("2024-10-01T00:00:00Z"),
            at("2024-10-03T00:00:00Z"),
            at("2024-10-02T00:00:00Z"),
        ];
        let t = |s: &str| {
            OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).unwrap()
        };
        let names = |ps: Vec<RecoveryPoint>| ps.into_iter().map(|p| p.name).collect::<Vec<_>>();
        assert_eq!(
            names(select(all.clone(), None, None)),
            [
                "2024-10-03T00:00:00Z",
                "2024-10-02T00:00:00Z",
                "2024-10-01T00:00:00Z"
            ]
        );
        assert_eq!(
            names(select(
                all,
                Some(t("2024-10-02T00:00:00Z")),
                Some(t("2024-10-02T12:00:00Z"))
            )),
            ["2024-10-02T00:00:00Z"]
        );
    }
}
