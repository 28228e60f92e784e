//! Snapshots on demand: ad-hoc snapshots of managed disks (`Microsoft.Compute/snapshots`), disks
//! restored from a snapshot, and the rows `snapshot list` shows — a disk's ad-hoc snapshots beside
//! the recovery points of the Azure Disk Backup instances protecting it.
//!
//! Pure, by concern: [`refs`] (command-line references and values), the request builders here
//! (api-version [`api::DISKS`]; Data Protection reads use [`api::DATA_PROTECTION`]),
//! [`answers`] (what Azure answers, parsed), [`rows`] (the listing) and [`outcomes`] (what was
//! made). The operations (`ops::snapshot`) send the requests.
//!
//! Recovery points carry no snapshot id in the Data Protection API: a point's snapshot is found
//! among the disk's snapshots in the instance's snapshot resource group, by the point's id in
//! the snapshot's name, else by the closest creation time ([`snapshot_of_point`]).
//!
//! Must not import: the `azure` transport, `cli`.

use super::disk::ManagedDisk;
use super::{api, ArmId, ArmRequest, Method};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

pub mod answers;
pub mod outcomes;
pub mod refs;
pub mod rows;

pub use answers::*;
pub use outcomes::*;
pub use refs::*;
pub use rows::*;

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
            snapshot_of_point(&by_id, &i, &snaps, &[]).unwrap().name,
            "AzureBackup_shared-data_aaaa1111"
        );
        let by_time = point("bbbb", "2026-05-01T08:00:00Z");
        assert_eq!(
            snapshot_of_point(&by_time, &i, &snaps, &[]).unwrap().name,
            "bk-2"
        );
        // Outside the snapshot resource group, or too far in time: no match.
        assert!(
            snapshot_of_point(&point("cccc", "2026-05-01T12:00:00Z"), &i, &snaps, &[]).is_none()
        );
        // A point whose own snapshot is not (yet) listed never takes one named for another
        // point, however close in time.
        let late = point("dddd", "2026-05-01T04:05:00Z");
        assert_eq!(
            snapshot_of_point(&late, &i, &snaps, &[]).map(|s| s.name.as_str()),
            Some("AzureBackup_shared-data_aaaa1111"),
            "without the other points, time decides"
        );
        assert!(
            snapshot_of_point(&late, &i, &snaps, &[by_id.clone(), late.clone()]).is_none(),
            "aaaa1111 is by_id's"
        );
        assert_eq!(by_id.expiry, Some(datetime!(2026-05-08 04:00:00 UTC)));
        // A point read on its own names its snapshot (metaData): that one, however far or near
        // the others are in time; none when it is gone.
        let named = |snapshot: &str| {
            let meta = json!([{"snapshotName": snapshot, "snapshotRGName": "rg-snap"}]).to_string();
            RecoveryPoint::from_arm(&json!({
                "id": format!("{}/recoveryPoints/eeee", i.id),
                "properties": {"recoveryPointId": "eeee", "recoveryPointTime": "2026-05-01T08:00:00Z",
                               "recoveryPointDataStoresDetails": [{"metaData": meta}]},
            }))
            .unwrap()
        };
        let exact = named("azurebackup_shared-data_aaaa1111");
        assert_eq!(
            exact.snapshot.as_deref(),
            Some("azurebackup_shared-data_aaaa1111")
        );
        assert_eq!(
            snapshot_of_point(&exact, &i, &snaps, &[]).map(|s| s.name.as_str()),
            Some("AzureBackup_shared-data_aaaa1111")
        );
        assert!(snapshot_of_point(&named("AzureBackup_gone"), &i, &snaps, &[]).is_none());
        // Taken in another group than the instance's now: where the point says.
        let moved = {
            let meta = json!([{"snapshotName": "elsewhere", "snapshotRGName": "RG-OTHER",
                               "snapshotSubscriptionId": SUB}])
            .to_string();
            RecoveryPoint::from_arm(&json!({
                "id": format!("{}/recoveryPoints/ffff", i.id),
                "properties": {"recoveryPointId": "ffff", "recoveryPointTime": "2026-05-01T12:00:00Z",
                               "recoveryPointDataStoresDetails": [{"metaData": meta}]},
            }))
            .unwrap()
        };
        assert_eq!(
            moved.snapshot_group,
            Some(ArmId::new(format!(
                "/subscriptions/{SUB}/resourceGroups/rg-other"
            )))
        );
        assert_eq!(
            snapshot_of_point(&moved, &i, &snaps, &[]).map(|s| s.name.as_str()),
            Some("elsewhere")
        );
        assert_eq!(by_time.snapshot, None, "a list's points say no snapshot");

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
