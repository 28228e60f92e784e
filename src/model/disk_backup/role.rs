//! Role assignments for a backup vault's identity: Disk Backup Reader on each disk, Disk
//! Snapshot Contributor on each snapshot resource group (api-version [`api::AUTHORIZATION`]).

use crate::model::{api, ArmId, ArmRequest, Method};
use serde_json::{json, Value};

pub const DISK_BACKUP_READER: &str = "3e5e47e6-65f7-47ef-90b5-e5dd4d455f24";
pub const DISK_SNAPSHOT_CONTRIBUTOR: &str = "7efff54f-a5b4-42b5-a1c5-5411624893ce";

/// The role's short name in attributes and addresses.
pub fn role_name(guid: &str) -> &'static str {
    if guid.eq_ignore_ascii_case(DISK_BACKUP_READER) {
        "disk_backup_reader"
    } else if guid.eq_ignore_ascii_case(DISK_SNAPSHOT_CONTRIBUTOR) {
        "disk_snapshot_contributor"
    } else {
        "other"
    }
}

pub fn role_definition_id(subscription: &str, guid: &str) -> String {
    format!(
        "/subscriptions/{subscription}/providers/Microsoft.Authorization/roleDefinitions/{guid}"
    )
}

/// A stable assignment name (a GUID) for (vault, role, scope): re-running apply finds the same
/// assignment instead of adding another.
pub fn assignment_name(vault: &ArmId, role: &str, scope: &ArmId) -> String {
    let key = format!(
        "{}|{}|{}",
        vault.as_str().to_ascii_lowercase(),
        role.to_ascii_lowercase(),
        scope.as_str().to_ascii_lowercase()
    );
    uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, key.as_bytes()).to_string()
}

pub fn arm_id(vault: &ArmId, role: &str, scope: &ArmId) -> ArmId {
    scope.child(&[
        "providers",
        "Microsoft.Authorization",
        "roleAssignments",
        &assignment_name(vault, role, scope),
    ])
}

/// PUT granting `role` (GUID) on the assignment's scope to the vault's identity.
pub fn put_request(id: &ArmId, subscription: &str, role: &str, principal_id: &str) -> ArmRequest {
    let body = json!({"properties": {
        "roleDefinitionId": role_definition_id(subscription, role),
        "principalId": principal_id,
        "principalType": "ServicePrincipal",
    }});
    ArmRequest::new(
        Method::Put,
        format!("{id}?api-version={}", api::AUTHORIZATION),
        Some(body),
    )
}

pub fn delete_request(id: &ArmId) -> ArmRequest {
    ArmRequest::new(
        Method::Delete,
        format!("{id}?api-version={}", api::AUTHORIZATION),
        None,
    )
}

/// Live assignment → attributes.
pub fn normalize(arm: &Value) -> Value {
    let p = &arm["properties"];
    let role = ArmId::new(p["roleDefinitionId"].as_str().unwrap_or_default());
    json!({"scope": p["scope"], "role": role_name(role.name()), "principal_id": p["principalId"]})
}
