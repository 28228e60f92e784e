//! Role assignments for a backup vault's identity: Disk Backup Reader on each disk, Disk
//! Snapshot Contributor on each snapshot resource group (api-version [`api::AUTHORIZATION`]).

use crate::model::family::{Family, Ownership};
use crate::model::{api, Address, ArmId, ArmRequest, Method};
use crate::model::{Action, ResourceKind};
use serde_json::{json, Value};
use std::collections::BTreeMap;

pub const DISK_BACKUP_READER: &str = "3e5e47e6-65f7-47ef-90b5-e5dd4d455f24";
pub const DISK_SNAPSHOT_CONTRIBUTOR: &str = "7efff54f-a5b4-42b5-a1c5-5411624893ce";
/// What the vault's identity needs on the resource group a disk is restored into
/// (learn.microsoft.com/azure/backup/restore-managed-disks).
pub const DISK_RESTORE_OPERATOR: &str = "b50d9833-a0cb-478e-945f-707fcc997c13";

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

/// The role's GUID from its short name (the inverse of [`role_name`]).
pub fn role_guid(short: &str) -> Option<&'static str> {
    match short {
        "disk_backup_reader" => Some(DISK_BACKUP_READER),
        "disk_snapshot_contributor" => Some(DISK_SNAPSHOT_CONTRIBUTOR),
        _ => None,
    }
}

pub fn role_definition_id(subscription: &str, guid: &str) -> String {
    format!(
        "/subscriptions/{subscription}/providers/Microsoft.Authorization/roleDefinitions/{guid}"
    )
}

/// A stable assignment name (a GUID) for (holder, role, scope): re-running apply finds the same
/// assignment instead of adding another. The holder is the vault for its system-assigned
/// identity, the user-assigned identity itself for one (so that vaults sharing it share the
/// assignment, and a vault that changes identity gets a new one: Azure cannot move an
/// assignment to another principal).
pub fn assignment_name(holder: &ArmId, role: &str, scope: &ArmId) -> String {
    let key = format!(
        "{}|{}|{}",
        holder.as_str().to_ascii_lowercase(),
        role.to_ascii_lowercase(),
        scope.as_str().to_ascii_lowercase()
    );
    uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, key.as_bytes()).to_string()
}

/// Whose name an assignment takes ([`assignment_name`]): the user-assigned identity the vault's
/// disks back up with, else the vault (its system-assigned identity).
pub fn holder(vault: &ArmId, user_identity: Option<&str>) -> ArmId {
    user_identity.map_or_else(|| vault.clone(), ArmId::new)
}

pub fn arm_id(holder: &ArmId, role: &str, scope: &ArmId) -> ArmId {
    scope.child(&[
        "providers",
        "Microsoft.Authorization",
        "roleAssignments",
        &assignment_name(holder, role, scope),
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

/// `GET /subscriptions/{sub}/providers/Microsoft.Authorization/roleAssignments?$filter=principalId
/// eq '{principal}'`: every assignment of the principal in the subscription (at, above and below
/// the subscription scope).
pub fn list_path(subscription: &str, principal_id: &str) -> String {
    list_path_at(&format!("/subscriptions/{subscription}"), principal_id)
}

/// The same list at any `scope` (a resource group: the assignments at, above and below it).
pub fn list_path_at(scope: &str, principal_id: &str) -> String {
    format!(
        "{scope}/providers/Microsoft.Authorization/roleAssignments?api-version={}&$filter=principalId%20eq%20%27{principal_id}%27",
        api::AUTHORIZATION
    )
}

/// The address name (after `role_assignment.`) of `role` (short name) at `scope` for the vault
/// named `vault` in the file: `<vault>/disk_backup_reader/<rg>/<disk>` (scope: a disk) or
/// `<vault>/disk_snapshot_contributor/<rg>` (scope: a resource group). `None` for any other
/// role or a scope of another shape.
pub fn address_name(vault: &str, role: &str, scope: &ArmId) -> Option<String> {
    let rg = scope.resource_group()?;
    match role {
        "disk_backup_reader" if scope.is_resource_of("Microsoft.Compute", "disks") => {
            Some(format!("{vault}/{role}/{rg}/{}", scope.name()))
        }
        "disk_snapshot_contributor" if is_resource_group(scope) => {
            Some(format!("{vault}/{role}/{rg}"))
        }
        _ => None,
    }
}

fn is_resource_group(scope: &ArmId) -> bool {
    let parts: Vec<&str> = scope.as_str().trim_matches('/').split('/').collect();
    parts.len() == 4
        && parts[0].eq_ignore_ascii_case("subscriptions")
        && parts[2].eq_ignore_ascii_case("resourceGroups")
}

/// Live assignment of the vault `vault_id`'s identity → attributes `{"scope", "role",
/// "vault_id", "principal_id", "user_identity_id"?}` (ids as Azure returns them;
/// `user_identity`: the vault's user-assigned identity it was listed for, none for its own);
/// `None` for roles other than Disk Backup Reader and Disk Snapshot Contributor.
pub fn normalize(arm: &Value, vault_id: &ArmId, user_identity: Option<&str>) -> Option<Value> {
    let p = &arm["properties"];
    let role = ArmId::new(p["roleDefinitionId"].as_str()?);
    let role = role_name(role.name());
    if role == "other" {
        return None;
    }
    let mut attrs = json!({
        "scope": p["scope"].as_str()?,
        "role": role,
        "vault_id": vault_id.as_str(),
        "principal_id": p["principalId"].as_str()?,
    });
    if let Some(id) = user_identity {
        attrs["user_identity_id"] = json!(id);
    }
    Some(attrs)
}

/// The copies of a shared user-assigned identity's assignments among `resources` (its name
/// derives from the identity, so every vault sharing it reads or wants the same one): each
/// extra copy, by address and lower-case id ([`copy_key`]) → the address of the copy kept, that
/// of the lowest vault id (then address), whatever order the vaults come in.
fn shared_copies(resources: &[crate::model::Resource]) -> BTreeMap<(Address, String), Address> {
    let mut kept: BTreeMap<String, (String, &Address)> = BTreeMap::new();
    let mut all = Vec::new();
    for r in resources.iter().filter(|r| is_shared(r)) {
        let vault = Attrs(&r.attrs)
            .vault_id()
            .unwrap_or_default()
            .to_ascii_lowercase();
        let key = r.arm_id.as_str().to_ascii_lowercase();
        let candidate = (vault, &r.address);
        kept.entry(key.clone())
            .and_modify(|k| {
                if candidate < *k {
                    k.clone_from(&candidate);
                }
            })
            .or_insert(candidate);
        all.push((key, &r.address));
    }
    (all.into_iter())
        .filter_map(|(key, address)| {
            let (_, keep) = kept[&key];
            (keep != address).then(|| ((address.clone(), key), keep.clone()))
        })
        .collect()
}

/// Drop the extra copies of shared assignments from `resources` ([`shared_copies`]): what each
/// dropped address becomes (the copy kept), for what depended on it.
pub fn drop_shared_copies(
    resources: &mut Vec<crate::model::Resource>,
) -> BTreeMap<Address, Address> {
    let copies = shared_copies(resources);
    if !copies.is_empty() {
        resources.retain(|r| !(is_shared(r) && copies.contains_key(&copy_key(r))));
    }
    (copies.into_iter())
        .map(|((address, _), keep)| (address, keep))
        .collect()
}

/// A role assignment's key in [`shared_copies`].
fn copy_key(r: &crate::model::Resource) -> (Address, String) {
    (r.address.clone(), r.arm_id.as_str().to_ascii_lowercase())
}

/// Is this a role assignment of a user-assigned identity (which vaults may share)?
pub fn is_shared(r: &crate::model::Resource) -> bool {
    r.address.kind == ResourceKind::RoleAssignment && Attrs(&r.attrs).user_identity_id().is_some()
}

/// The vault identity's role assignments. Creating one needs live reads first (the vault's
/// principal): `apply::disk_backup` carries it out; a delete is one request.
pub const FAMILY: Family = Family {
    kind: ResourceKind::RoleAssignment,
    prefix: "role_assignment",
    rank: 2,
    ownership: Ownership::Subset,
    removed_with_the_file: true,
    requests: |c| match c.action {
        Action::Delete => Ok(vec![delete_request(c.id)]),
        _ => Err(super::LIVE_READS_FIRST.into()),
    },
};

attributes!(
    /// A role assignment's attributes.
    Attrs {
        /// `disk_backup_reader` or `disk_snapshot_contributor`.
        role: Option<&'a str> = Value::as_str,
        /// The disk or resource group it is granted on.
        scope: Option<&'a str> = Value::as_str,
        /// The Backup vault whose identity holds it; for a user-assigned identity vaults share,
        /// the vault it was read (and its principal is read) through.
        vault_id: Option<&'a str> = Value::as_str,
        /// The vault's user-assigned identity it is granted to (none: the vault's own).
        user_identity_id: Option<&'a str> = Value::as_str,
    }
);
