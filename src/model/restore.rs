//! Restoring a protected VM from a recovery point (Recovery Services): the request and the job
//! that tracks it. `POST {point}/restore` with `{"properties": {"objectType":
//! "IaasVMRestoreRequest", "recoveryPointId", "recoveryType", "sourceResourceId", "region",
//! "storageAccountId", …}}` → 202; its operation names the `Restore` job, which does the work
//! (FACTS §8; recording azure-cli/test_backup_diskaccess_restore.yaml #34–43, REST #151, #259,
//! #326). The three kinds:
//!
//! * `AlternateLocation` — a new VM: adds `targetVirtualMachineId`, `targetResourceGroupId`,
//!   `virtualNetworkId`, `subnetId`;
//! * `RestoreDisks` — managed disks in `targetResourceGroupId`;
//! * `OriginalLocation` — the source VM's disks replaced.
//!
//! `restoreDiskLunList` restores some data disks only (RecoveryServicesBackup spec,
//! IaasVMRestoreRequest).

use super::{api, ArmId, ArmRequest, Method};
use serde::Serialize;
use serde_json::{json, Map, Value};
use time::OffsetDateTime;

/// Where a restore puts the point's data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    NewVm {
        vm: ArmId,
        resource_group: ArmId,
        subnet: ArmId,
        staging: ArmId,
    },
    Disks {
        resource_group: ArmId,
        staging: ArmId,
    },
    ReplaceDisks {
        staging: Option<ArmId>,
    },
    /// A Disk Backup point as a new managed disk (Data Protection).
    NewDisk {
        instance: ArmId,
        disk: ArmId,
        /// The vault's user-assigned identity the instance backs up with: it restores too.
        user_identity: Option<String>,
    },
}

impl Target {
    fn recovery_type(&self) -> &'static str {
        match self {
            Target::NewVm { .. } => "AlternateLocation",
            Target::Disks { .. } => "RestoreDisks",
            Target::ReplaceDisks { .. } => "OriginalLocation",
            Target::NewDisk { .. } => "AlternateLocation",
        }
    }
}

/// The virtual network a subnet id belongs to.
pub fn network_of(subnet: &ArmId) -> ArmId {
    let s = subnet.as_str();
    let cut = s.to_ascii_lowercase().rfind("/subnets/").unwrap_or(s.len());
    ArmId::new(&s[..cut])
}

/// The restore `POST` of `point` (its id) of the VM `source`, in `region` (the vault's), into
/// `target`; `luns`: only these data disks.
pub fn restore_request(
    point: &ArmId,
    source: &ArmId,
    region: &str,
    target: &Target,
    luns: Option<&[u32]>,
) -> ArmRequest {
    let mut p = Map::new();
    p.insert("objectType".into(), json!("IaasVMRestoreRequest"));
    p.insert("recoveryPointId".into(), json!(point.name()));
    p.insert("recoveryType".into(), json!(target.recovery_type()));
    p.insert("sourceResourceId".into(), json!(source));
    p.insert("region".into(), json!(region));
    p.insert("createNewCloudService".into(), json!(false));
    p.insert("originalStorageAccountOption".into(), json!(false));
    match target {
        Target::NewVm {
            vm,
            resource_group,
            subnet,
            staging,
        } => {
            p.insert("targetVirtualMachineId".into(), json!(vm));
            p.insert("targetResourceGroupId".into(), json!(resource_group));
            p.insert("storageAccountId".into(), json!(staging));
            p.insert("virtualNetworkId".into(), json!(network_of(subnet)));
            p.insert("subnetId".into(), json!(subnet));
        }
        Target::Disks {
            resource_group,
            staging,
        } => {
            p.insert("targetResourceGroupId".into(), json!(resource_group));
            p.insert("storageAccountId".into(), json!(staging));
        }
        Target::ReplaceDisks { staging } => {
            if let Some(s) = staging {
                p.insert("storageAccountId".into(), json!(s));
            }
        }
        Target::NewDisk { .. } => {}
    }
    if let Some(l) = luns {
        p.insert("restoreDiskLunList".into(), json!(l));
    }
    ArmRequest::new(
        Method::Post,
        format!("{point}/restore?api-version={}", api::BACKUP),
        Some(json!({"properties": p})),
    )
}

/// A Disk Backup point restored to the new disk `disk` in `region` (FACTS §7: "FailIfExists",
/// from the snapshot tier), by the vault's user-assigned identity `user_identity` if the
/// instance backs up with one (a restore request without `identityDetails` restores with the
/// vault's system-assigned identity: spec `AzureBackupRestoreRequest.identityDetails`).
fn disk_restore_body(
    point: &str,
    disk: &ArmId,
    region: &str,
    user_identity: Option<&str>,
) -> Value {
    let mut body = json!({
        "objectType": "AzureBackupRecoveryPointBasedRestoreRequest",
        "recoveryPointId": point,
        "sourceDataStoreType": "OperationalStore",
        "restoreTargetInfo": {
            "objectType": "RestoreTargetInfo",
            "recoveryOption": "FailIfExists",
            "restoreLocation": region,
            "datasourceInfo": {
                "objectType": "Datasource",
                "resourceID": disk,
                "resourceName": disk.name(),
                "resourceType": "Microsoft.Compute/disks",
                "resourceLocation": region,
                "datasourceType": "Microsoft.Compute/disks",
            },
        },
    });
    if let Some(id) = user_identity {
        body["identityDetails"] = super::disk_backup::instance::identity_details(id);
    }
    body
}

/// `POST {instance}/validateRestore`: the restore, wrapped, checked first (DPR #3, FACTS §7).
pub fn disk_validate_request(
    instance: &ArmId,
    point: &str,
    disk: &ArmId,
    region: &str,
    user_identity: Option<&str>,
) -> ArmRequest {
    let body =
        json!({"restoreRequestObject": disk_restore_body(point, disk, region, user_identity)});
    instance_post(instance, "validateRestore", body)
}

/// `POST {instance}/restore`: its operation's result names the job (`jobId`).
pub fn disk_restore_request(
    instance: &ArmId,
    point: &str,
    disk: &ArmId,
    region: &str,
    user_identity: Option<&str>,
) -> ArmRequest {
    let body = disk_restore_body(point, disk, region, user_identity);
    instance_post(instance, "restore", body)
}

fn instance_post(instance: &ArmId, action: &str, body: Value) -> ArmRequest {
    ArmRequest::new(
        Method::Post,
        format!("{instance}/{action}?api-version={}", api::DATA_PROTECTION),
        Some(body),
    )
}

/// A Data Protection job's own URL.
pub fn disk_job_path(job: &ArmId) -> String {
    format!("{job}?api-version={}", api::DATA_PROTECTION)
}

/// A Data Protection job (recording DPR: `operation: Restore`, `status`,
/// `extendedInfo.recoveryDestination`).
pub fn disk_job_from_arm(v: &Value) -> Option<Job> {
    let p = &v["properties"];
    let status = JobStatus::from_arm(p["status"].as_str()?);
    let mut bag = Map::new();
    if let Some(d) = p["extendedInfo"]["recoveryDestination"].as_str() {
        bag.insert("recoveryDestination".into(), json!(d));
    }
    let error = first_error(&p["errorDetails"], "code", "message");
    Some(Job {
        id: ArmId::new(v["id"].as_str()?),
        status,
        vm: p["dataSourceName"].as_str().unwrap_or_default().to_string(),
        started: super::snapshot::parse_time(&p["startTime"]),
        percent: None,
        property_bag: bag,
        error,
    })
}

/// A job's own URL.
pub fn job_path(job: &ArmId) -> String {
    format!("{job}?api-version={}", api::BACKUP)
}

/// The job a restore started, from its operation status's `properties`
/// (`{"objectType": "OperationStatusJobExtendedInfo", "jobId": NAME}`: recording
/// azure-cli/test_backup_diskaccess_restore.yaml L1792, FACTS §8; the az CLI's
/// `track_backup_crr_job` reads the same for a cross-region restore) as a job of `vault`.
pub fn job_of_status(properties: &Value, vault: &ArmId) -> Option<ArmId> {
    let id = properties["jobId"]
        .as_str()
        .or_else(|| properties["properties"]["jobId"].as_str())
        .filter(|s| !s.is_empty())?;
    // A full id or, as Azure answers it, the job's name.
    let name = id.rsplit('/').next().unwrap_or(id);
    Some(ArmId::new(format!("{vault}/backupJobs/{name}")))
}

/// Where a job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum JobStatus {
    InProgress,
    Completed,
    CompletedWithWarnings,
    Failed,
    Cancelled,
}

/// "code: message" of the first entry of a job's `errorDetails`, under the keys its service uses.
fn first_error(details: &Value, code: &str, message: &str) -> Option<String> {
    let e = details.as_array()?.first()?;
    Some(format!(
        "{}: {}",
        e[code].as_str().unwrap_or("error"),
        e[message].as_str().unwrap_or_default()
    ))
}

impl JobStatus {
    /// A job's `status` (both services; an unknown one is still running).
    fn from_arm(s: &str) -> JobStatus {
        match s.to_ascii_lowercase().as_str() {
            "completed" => JobStatus::Completed,
            "completedwithwarnings" => JobStatus::CompletedWithWarnings,
            "failed" => JobStatus::Failed,
            "cancelled" | "canceled" => JobStatus::Cancelled,
            _ => JobStatus::InProgress,
        }
    }

    pub fn finished(self) -> bool {
        !matches!(self, JobStatus::InProgress)
    }
    pub fn succeeded(self) -> bool {
        matches!(
            self,
            JobStatus::Completed | JobStatus::CompletedWithWarnings
        )
    }
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::InProgress => "in progress",
            JobStatus::Completed => "completed",
            JobStatus::CompletedWithWarnings => "completed with warnings",
            JobStatus::Failed => "failed",
            JobStatus::Cancelled => "cancelled",
        }
    }
}

/// A restore job as read.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Job {
    pub id: ArmId,
    pub status: JobStatus,
    /// The VM the job restores (`entityFriendlyName`).
    pub vm: String,
    #[serde(with = "time::serde::rfc3339::option")]
    pub started: Option<OffsetDateTime>,
    pub percent: Option<f64>,
    /// `extendedInfo.propertyBag`: the target, the blobs of a disk restore.
    pub property_bag: Map<String, Value>,
    /// Azure's error, when it failed.
    pub error: Option<String>,
}

pub fn job_from_arm(v: &Value) -> Option<Job> {
    let p = &v["properties"];
    let status = JobStatus::from_arm(p["status"].as_str()?);
    let error = first_error(&p["errorDetails"], "errorCode", "errorString");
    Some(Job {
        id: ArmId::new(v["id"].as_str()?),
        status,
        vm: p["entityFriendlyName"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        started: super::snapshot::parse_time(&p["startTime"]),
        percent: p["extendedInfo"]["progressPercentage"].as_f64(),
        property_bag: p["extendedInfo"]["propertyBag"]
            .as_object()
            .cloned()
            .unwrap_or_default(),
        error,
    })
}

/// What a restore did.
#[derive(Debug, Clone, Serialize)]
pub struct Restored {
    pub address: String,
    pub point: String,
    #[serde(with = "time::serde::rfc3339")]
    pub point_time: OffsetDateTime,
    pub job: ArmId,
    pub status: JobStatus,
    pub seconds: f64,
    /// What it created: the new VM's id, the disks' group and blobs, the disks it replaced.
    pub created: Vec<String>,
    pub error: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const POINT: &str = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/v/backupFabrics/Azure/protectionContainers/IaasVMContainer;iaasvmcontainerv2;rg-app;app-01/protectedItems/VM;iaasvmcontainerv2;rg-app;app-01/recoveryPoints/22493304464643";
    const VM: &str =
        "/subscriptions/s/resourceGroups/rg-app/providers/Microsoft.Compute/virtualMachines/app-01";

    #[test]
    fn a_new_vm_restore_sends_what_the_cli_recorded() {
        let subnet = ArmId::new("/subscriptions/s/resourceGroups/rg-net/providers/Microsoft.Network/virtualNetworks/vnet/subnets/default");
        let t = Target::NewVm {
            vm: ArmId::new("/subscriptions/s/resourceGroups/rg-r/providers/Microsoft.Compute/virtualMachines/app-01-r"),
            resource_group: ArmId::new("/subscriptions/s/resourceGroups/rg-r"),
            subnet: subnet.clone(),
            staging: ArmId::new("/subscriptions/s/resourceGroups/rg-r/providers/Microsoft.Storage/storageAccounts/st"),
        };
        let r = restore_request(&ArmId::new(POINT), &ArmId::new(VM), "westeurope", &t, None);
        assert_eq!(r.method, Method::Post);
        assert!(r.path.starts_with(&format!("{POINT}/restore?api-version=")));
        let p = &r.body.unwrap()["properties"];
        // The recorded AlternateLocation body's keys (FACTS §8, REST #326).
        for k in [
            "objectType",
            "recoveryPointId",
            "recoveryType",
            "sourceResourceId",
            "targetVirtualMachineId",
            "targetResourceGroupId",
            "storageAccountId",
            "virtualNetworkId",
            "subnetId",
            "region",
            "createNewCloudService",
            "originalStorageAccountOption",
        ] {
            assert!(p.get(k).is_some(), "{k}");
        }
        assert_eq!(p["recoveryPointId"], "22493304464643");
        assert_eq!(p["virtualNetworkId"], "/subscriptions/s/resourceGroups/rg-net/providers/Microsoft.Network/virtualNetworks/vnet");
        assert!(p.get("restoreDiskLunList").is_none());
        let d = restore_request(
            &ArmId::new(POINT),
            &ArmId::new(VM),
            "westeurope",
            &Target::Disks {
                resource_group: ArmId::new("/subscriptions/s/resourceGroups/rg-r"),
                staging: ArmId::new("/x"),
            },
            Some(&[0, 2]),
        );
        let p = &d.body.unwrap()["properties"];
        assert_eq!(
            (p["recoveryType"].as_str(), &p["restoreDiskLunList"]),
            (Some("RestoreDisks"), &json!([0, 2]))
        );
    }

    #[test]
    fn a_recorded_job_reads_as_completed_with_its_target() {
        let v = json!({"id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/v/backupJobs/09dce379",
            "properties": {"jobType": "AzureIaaSVMJob", "entityFriendlyName": "zvm-jsdk2", "operation": "Restore", "status": "Completed",
                "startTime": "2024-10-11T07:57:25.0205043Z",
                "extendedInfo": {"progressPercentage": 100.0, "propertyBag": {"Target VM Name": "zvm-jsdk2-clitestrestore"}}}});
        let j = job_from_arm(&v).unwrap();
        assert_eq!(
            (j.status, j.vm.as_str(), j.percent),
            (JobStatus::Completed, "zvm-jsdk2", Some(100.0))
        );
        assert_eq!(j.property_bag["Target VM Name"], "zvm-jsdk2-clitestrestore");
        assert!(j.status.finished() && j.status.succeeded());
    }
}
