//! `disk_backup.<vault>/<rg>/<disk>` — a backup instance protecting one managed disk.

use super::versioned;
use crate::model::family::{Family, Ownership};
use crate::model::resource_group::normalize_location;
use crate::model::ItemState;
use crate::model::{Action, DataEffect, ResourceKind};
use crate::model::{ArmId, ArmRequest, Method, Resource};
use serde_json::{json, Value};

/// `{rg}-{disk}` in lower case: one instance per disk.
pub fn name(resource_group: &str, disk: &str) -> String {
    format!("{}-{}", resource_group, disk).to_ascii_lowercase()
}

pub fn arm_id(vault: &ArmId, resource_group: &str, disk: &str) -> ArmId {
    vault.child(&["backupInstances", &name(resource_group, disk)])
}

/// The instance body (also the `backupInstance` of `validateForBackup`). `policy_id` is the
/// ARM id of the policy named in `attrs.policy`; `disk_location` the disk's region.
pub fn body(r: &Resource, policy_id: &ArmId, disk_location: &str) -> Value {
    let disk = ArmId::new(r.attrs["disk_id"].as_str().unwrap_or_default());
    let mut body = json!({
        "objectType": "BackupInstance",
        "friendlyName": disk.name(),
        "dataSourceInfo": {
            "objectType": "Datasource",
            "datasourceType": "Microsoft.Compute/disks",
            "resourceID": disk.as_str(),
            "resourceLocation": disk_location,
            "resourceName": disk.name(),
            "resourceType": "Microsoft.Compute/disks",
            "resourceUri": disk.as_str(),
        },
        "policyInfo": {
            "policyId": policy_id.as_str(),
            "policyParameters": {"dataStoreParametersList": [{
                "objectType": "AzureOperationalStoreParameters",
                "dataStoreType": "OperationalStore",
                "resourceGroupId": r.attrs["snapshot_resource_group_id"],
            }]},
        },
    });
    // The vault's user-assigned identity the instance backs up with (azure-cli-extensions
    // dataprotection test_dataprotection_backup_instance_uami_create_update.yaml #23, inside
    // `backupInstance`; spec `IdentityDetails`). None: the vault's system-assigned identity,
    // sent without `identityDetails` as the recorded creations are (DPB #11).
    if let Some(id) = Attrs(&r.attrs).user_identity_id() {
        body["identityDetails"] = identity_details(id);
    }
    body
}

/// `identityDetails` naming the user-assigned identity `id` (spec `IdentityDetails`: an
/// instance's, and a restore request's — "if it is null, default will be considered as System
/// Assigned").
pub fn identity_details(id: &str) -> Value {
    json!({"useSystemAssignedIdentity": false, "userAssignedIdentityArmUrl": id})
}

/// `POST {vault}/validateForBackup`: Azure's pre-check (permissions, already protected).
pub fn validate_request(r: &Resource, policy_id: &ArmId, disk_location: &str) -> ArmRequest {
    let vault = r.arm_id.parent(1);
    ArmRequest::new(
        Method::Post,
        versioned(vault.child(&["validateForBackup"])),
        Some(json!({"backupInstance": body(r, policy_id, disk_location)})),
    )
}

/// The PUT creating or updating the instance. `before`: its live attributes, if it exists — an
/// instance that backed up with a user-assigned identity and is to use the vault's own again
/// says so (`useSystemAssignedIdentity: true`) rather than leaving the identity unsaid.
pub fn put_request(
    r: &Resource,
    policy_id: &ArmId,
    disk_location: &str,
    before: Option<&Value>,
) -> ArmRequest {
    let mut props = body(r, policy_id, disk_location);
    let had_user_identity = before.is_some_and(|b| Attrs(b).user_identity_id().is_some());
    if had_user_identity && props.get("identityDetails").is_none() {
        props["identityDetails"] = json!({"useSystemAssignedIdentity": true});
    }
    ArmRequest::new(
        Method::Put,
        versioned(&r.arm_id),
        Some(json!({"properties": props})),
    )
}

/// `POST …/stopProtection`: no new snapshots, existing ones kept until they expire.
pub fn stop_request(id: &ArmId) -> ArmRequest {
    ArmRequest::new(
        Method::Post,
        versioned(id.child(&["stopProtection"])),
        Some(json!({})),
    )
}

/// `POST …/suspendBackups`: no new snapshots, existing ones expire per the policy.
pub fn suspend_request(id: &ArmId) -> ArmRequest {
    ArmRequest::new(
        Method::Post,
        versioned(id.child(&["suspendBackups"])),
        Some(json!({})),
    )
}

/// Resume a `stopped` instance (`POST …/resumeProtection`) or a `suspended` one
/// (`POST …/resumeBackups`); neither takes a body.
pub fn resume_request(id: &ArmId, suspended: bool) -> ArmRequest {
    let action = if suspended {
        "resumeBackups"
    } else {
        "resumeProtection"
    };
    ArmRequest::new(Method::Post, versioned(id.child(&[action])), None)
}

/// `POST …/sync` (`syncType: Default`): configure again an instance whose configuration failed
/// ("Sync backup instance again in case of failure", spec `BackupInstances_SyncBackupInstance`;
/// what Azure Service Operator does for a `ProtectionError` with a user error).
pub fn sync_request(id: &ArmId) -> ArmRequest {
    ArmRequest::new(
        Method::Post,
        versioned(id.child(&["sync"])),
        Some(json!({"syncType": "Default"})),
    )
}

/// DELETE: stop protection and delete the snapshots (needs `--allow-data-loss`).
pub fn delete_request(id: &ArmId) -> ArmRequest {
    ArmRequest::new(Method::Delete, versioned(id), None)
}

/// Where Data Protection's configuration of an instance stands, from its body's
/// `protectionStatus.status` (what azurerm and Microsoft's Azure Service Operator wait on after a
/// PUT). A new instance's PUT operation ends within seconds while the instance stays
/// `ConfiguringProtection` about a minute longer (azure-cli-extensions dataprotection
/// test_dataprotection_backup_instance_create_backup_delete_disk.yaml #11–#18: operation
/// succeeded at 1 s, `ProtectionConfigured` first seen at 69 s; create_and_delete_disk: 75 s).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Configuration {
    /// `ConfiguringProtection`, `UpdatingProtection`, `SoftDeleting`: not settled yet.
    InProgress,
    /// Settled: configured, stopped, suspended…
    Done,
    /// `ProtectionError`, `ConfiguringProtectionFailed` or a state that is not protection, with
    /// the instance's error details (the code empty when Azure gives none; the message then
    /// names the state).
    Error {
        status: String,
        code: String,
        message: String,
    },
}

pub fn configuration(arm: &Value) -> Configuration {
    let p = &arm["properties"];
    let status = (p["protectionStatus"]["status"].as_str())
        .or_else(|| p["currentProtectionState"].as_str())
        .unwrap_or_default();
    match status.to_ascii_lowercase().as_str() {
        "configuringprotection" | "updatingprotection" | "softdeleting" => {
            Configuration::InProgress
        }
        // Protected, or protected and then stopped or suspended (the spec's states).
        "protectionconfigured"
        | "protectionstopped"
        | "backupssuspended"
        | "backupschedulessuspended"
        | "retentionschedulessuspended" => Configuration::Done,
        // `ProtectionError`, `ConfiguringProtectionFailed`, and what is not protection at all
        // (`NotProtected`, `Invalid`, `SoftDeleted`, none).
        _ => {
            let details = [
                &p["protectionStatus"]["errorDetails"],
                &p["protectionErrorDetails"],
            ]
            .into_iter()
            .find(|d| d.is_object())
            .cloned()
            .unwrap_or_default();
            let text = |k: &str| details[k].as_str().unwrap_or_default().to_string();
            let message = Some(text("message")).filter(|m| !m.is_empty());
            Configuration::Error {
                status: status.to_string(),
                code: text("code"),
                message: message.unwrap_or_else(|| {
                    format!(
                        "the backup instance is {status:?} after its configuration, not protected"
                    )
                }),
            }
        }
    }
}

/// Live instance → (id, attributes); `policy` is the live policy's ARM name (the last segment of
/// `policyId`, e.g. `every-4h-3fa1b2`), `state` one of `protected`, `stopped`, `suspended`,
/// `soft_deleted`. `None` for instances of other datasources.
pub fn normalize(arm: &Value) -> Option<(ArmId, Value)> {
    let id = ArmId::new(arm["id"].as_str()?);
    let p = &arm["properties"];
    if !p["dataSourceInfo"]["datasourceType"]
        .as_str()?
        .eq_ignore_ascii_case("Microsoft.Compute/disks")
    {
        return None;
    }
    let policy = ArmId::new(p["policyInfo"]["policyId"].as_str().unwrap_or_default());
    let state = match p["currentProtectionState"]
        .as_str()
        .unwrap_or_default()
        .to_ascii_lowercase()
        .as_str()
    {
        s if s.contains("stopped") => ItemState::Stopped,
        s if s.contains("suspended") => ItemState::Suspended,
        s if s.starts_with("softdelet") => ItemState::SoftDeleted,
        // `ConfiguringProtectionFailed`, `ProtectionError`: planned as an update, so that apply
        // configures it again instead of a failed instance passing for a protected one.
        s if s.contains("failed") || s.contains("error") => ItemState::Failed,
        _ => ItemState::Protected,
    }
    .as_str();
    let mut attrs = json!({
        "disk_id": p["dataSourceInfo"]["resourceID"],
        "policy": policy.name(),
        "snapshot_resource_group_id": p["policyInfo"]["policyParameters"]["dataStoreParametersList"][0]["resourceGroupId"],
        "state": state,
        "location": normalize_location(p["dataSourceInfo"]["resourceLocation"].as_str().unwrap_or_default()),
    });
    if let Some(id) = user_identity(&p["identityDetails"]) {
        attrs["user_identity_id"] = json!(id);
    }
    Some((id, attrs))
}

/// The user-assigned identity an instance's `identityDetails` names; `None` when it backs up
/// with the vault's system-assigned identity (`useSystemAssignedIdentity` true, or no details).
pub fn user_identity(details: &Value) -> Option<&str> {
    let system = details["useSystemAssignedIdentity"]
        .as_bool()
        .unwrap_or(true);
    let url = details["userAssignedIdentityArmUrl"].as_str();
    url.filter(|u| !system && !u.is_empty())
}

/// Backup instances (a disk's scheduled snapshots). Protecting needs live reads first (role
/// propagation): `apply::disk_backup` carries it out; on removal stop keeping the snapshots,
/// suspend, or delete them, as the change's data effect says.
pub const FAMILY: Family = Family {
    kind: ResourceKind::DiskBackup,
    prefix: "disk_backup",
    rank: 3,
    ownership: Ownership::Whole,
    removed_with_the_file: true,
    requests: |c| match c.action {
        Action::Delete => Ok(match c.data {
            Some(DataEffect::Retained) => vec![stop_request(c.id)],
            Some(DataEffect::Suspended) => vec![suspend_request(c.id)],
            Some(DataEffect::Deleted) => vec![delete_request(c.id)],
            None => {
                return Err("a disk backup delete must say what happens to its snapshots".into())
            }
        }),
        _ => Err(super::LIVE_READS_FIRST.into()),
    },
};

attributes!(
    /// A backup instance's attributes.
    Attrs {
        disk_id: Option<&'a str> = Value::as_str,
        /// The ARM name of its policy.
        policy: Option<&'a str> = Value::as_str,
        location: Option<&'a str> = Value::as_str,
        snapshot_resource_group_id: Option<&'a str> = Value::as_str,
        /// The state's name (see [`Attrs::item_state`]).
        state: Option<&'a str> = Value::as_str,
        /// The vault's user-assigned identity it backs up with (none: the system-assigned one).
        user_identity_id: Option<&'a str> = Value::as_str,
    }
);

impl Attrs<'_> {
    pub fn item_state(self) -> ItemState {
        ItemState::of(self.0)
    }
}
