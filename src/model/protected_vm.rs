//! `protected_vm.<vault>/<rg>/<vm>` — a VM's backup protected item in a Recovery Services vault
//! (`backupFabrics/Azure/protectionContainers/iaasvmcontainer;iaasvmcontainerv2;{rg};{vm}/
//! protectedItems/vm;iaasvmcontainerv2;{rg};{vm}`, api-version [`api::BACKUP`]).
//!
//! Attributes:
//! ```json
//! {
//!   "vm_id": "/subscriptions/…/virtualMachines/app-01",   // compared case-insensitively
//!   "policy": "gold",                                      // policy name in the same vault
//!   "exclude_disks": [2, 3],                               // sorted LUNs; key absent when none
//!   "state": "protected"                                   // desired: always "protected"
//! }
//! ```
//! Live `state`: `protected` (IRPending, Protected, ProtectionError, ProtectionPaused),
//! `stopped` (ProtectionStopped), `suspended` (BackupsSuspended), `soft_deleted`
//! (`isScheduledForDeferredDelete`). Container and item names are lower-cased by Azure; ids are
//! compared case-insensitively.

use super::family::{Family, Ownership};
use super::{api, ArmId, ArmRequest, Method, Resource};
use super::{Action, DataEffect, ItemState, ResourceKind};
use serde_json::{json, Map, Value};

/// `iaasvmcontainer;iaasvmcontainerv2;{rg};{vm}` (lower case, as Azure returns it).
pub fn container_name(resource_group: &str, vm: &str) -> String {
    format!(
        "iaasvmcontainer;iaasvmcontainerv2;{};{}",
        resource_group.to_ascii_lowercase(),
        vm.to_ascii_lowercase()
    )
}

/// `vm;iaasvmcontainerv2;{rg};{vm}` (lower case, as Azure returns it).
pub fn item_name(resource_group: &str, vm: &str) -> String {
    format!(
        "vm;iaasvmcontainerv2;{};{}",
        resource_group.to_ascii_lowercase(),
        vm.to_ascii_lowercase()
    )
}

pub fn arm_id(vault: &ArmId, resource_group: &str, vm: &str) -> ArmId {
    vault.child(&[
        "backupFabrics",
        "Azure",
        "protectionContainers",
        &container_name(resource_group, vm),
        "protectedItems",
        &item_name(resource_group, vm),
    ])
}

/// The vault id a protected item id belongs to.
pub fn vault_of(item: &ArmId) -> ArmId {
    item.parent(3)
}

/// `GET {vault}/backupProtectedItems?$filter=backupManagementType eq 'AzureIaasVM' and itemType eq 'VM'`.
pub fn list_path(vault: &ArmId) -> String {
    list_path_at(vault, api::BACKUP)
}

/// [`list_path`] at `api_version` (the secondary region's: `model::crr::PASSIVE`).
pub fn list_path_at(vault: &ArmId, api_version: &str) -> String {
    format!(
        "{vault}/backupProtectedItems?api-version={api_version}&$filter=backupManagementType%20eq%20%27AzureIaasVM%27%20and%20itemType%20eq%20%27VM%27"
    )
}

/// `GET {vault}/backupProtectableItems?$filter=backupManagementType eq 'AzureIaasVM'`: the VMs the
/// vault has discovered and nobody protects (recording: azure-cli/test_backup_protection.yaml #35).
pub fn protectable_list_path(vault: &ArmId) -> String {
    format!(
        "{vault}/backupProtectableItems?api-version={}&$filter=backupManagementType%20eq%20%27AzureIaasVM%27",
        api::BACKUP
    )
}

/// `POST {vault}/backupFabrics/Azure/refreshContainers` (no body): discover the VMs of the vault's
/// subscription and region. 202, then Azure-AsyncOperation / Location polling to 204
/// (recording: azure-cli/test_backup_protection.yaml #36–39, FACTS §4).
pub fn refresh_request(vault: &ArmId) -> ArmRequest {
    ArmRequest::new(
        Method::Post,
        format!(
            "{}?api-version={}",
            vault.child(&["backupFabrics", "Azure", "refreshContainers"]),
            api::BACKUP
        ),
        None,
    )
}

/// A listed protectable item → (its VM id, lower-cased; the protected item id to enable it with).
/// Azure names the item `vm;…` under the container of the protectable item's id; the CLI enables
/// protection at exactly that path (recording: azure-cli/test_backup_protection.yaml #40 → #41).
pub fn protectable(arm: &Value) -> Option<(String, ArmId)> {
    let id = ArmId::new(arm["id"].as_str()?);
    let vm_id = arm["properties"]["virtualMachineId"].as_str()?;
    let container = id.value_of("protectionContainers")?;
    let item = id.value_of("protectableItems")?;
    let vault = id.parent(3);
    let target = vault.child(&[
        "backupFabrics",
        "Azure",
        "protectionContainers",
        container,
        "protectedItems",
        item,
    ]);
    Some((vm_id.to_ascii_lowercase(), target))
}

/// The `protectedItemType` of an Azure Resource Manager VM.
pub const ITEM_TYPE: &str = "Microsoft.Compute/virtualMachines";

/// The VM a protected item's body protects: `sourceResourceId`, else `virtualMachineId`.
pub fn vm_of(item: &Value) -> ArmId {
    let p = &item["properties"];
    ArmId::new(
        p["sourceResourceId"]
            .as_str()
            .filter(|s| !s.is_empty())
            .or_else(|| p["virtualMachineId"].as_str())
            .unwrap_or_default(),
    )
}

/// PUT that enables protection, changes the policy or exclusions, or resumes a stopped item.
/// `policy_id` is the full id of the policy named in `attrs.policy`.
pub fn protect_request(r: &Resource, policy_id: &ArmId) -> ArmRequest {
    protect_request_from(r, policy_id, None)
}

/// [`protect_request`] for an item that exists: when the live item (`live`, its normalized
/// attributes) has a disk exclusion or inclusion list and the desired side has none, the body
/// resets it (`diskLunList: []`, `isInclusionList: false`: back up every disk) instead of leaving
/// Azure's list in place — otherwise removing `exclude_disks` would never converge.
pub fn protect_request_from(r: &Resource, policy_id: &ArmId, live: Option<&Value>) -> ArmRequest {
    let mut props = Map::new();
    props.insert("protectedItemType".into(), json!(ITEM_TYPE));
    props.insert("sourceResourceId".into(), r.attrs["vm_id"].clone());
    props.insert("policyId".into(), json!(policy_id.as_str()));
    let luns = lun_list(&r.attrs["exclude_disks"]);
    let live_has_list = live.is_some_and(|l| {
        ["exclude_disks", "include_disks"].iter().any(|k| {
            l.get(*k)
                .and_then(Value::as_array)
                .is_some_and(|a| !a.is_empty())
        })
    });
    if !luns.is_empty() || live_has_list {
        props.insert(
            "extendedProperties".into(),
            json!({"diskExclusionProperties": {"diskLunList": luns, "isInclusionList": false}}),
        );
    }
    ArmRequest::new(
        Method::Put,
        resource_path(&r.arm_id),
        Some(json!({ "properties": props })),
    )
}

/// PUT that stops protection and keeps data (`suspend = false`: ProtectionStopped) or stops
/// backups but keeps recovery points per policy (`suspend = true`: BackupsSuspended).
pub fn stop_request(id: &ArmId, vm_id: &str, suspend: bool) -> ArmRequest {
    let state = if suspend {
        "BackupsSuspended"
    } else {
        "ProtectionStopped"
    };
    let body = json!({"properties": {
        "protectedItemType": ITEM_TYPE,
        "sourceResourceId": vm_id,
        "protectionState": state,
    }});
    ArmRequest::new(Method::Put, resource_path(id), Some(body))
}

/// PUT `{"properties": {"isRehydrate": true}}`: undelete a soft-deleted item (it comes back stopped).
pub fn undelete_request(id: &ArmId, vm_id: &str) -> ArmRequest {
    let body = json!({"properties": {
        "protectedItemType": ITEM_TYPE,
        "sourceResourceId": vm_id,
        "isRehydrate": true,
    }});
    ArmRequest::new(Method::Put, resource_path(id), Some(body))
}

/// DELETE: stop protection and delete backup data (soft-deleted for 14 days where enabled).
pub fn delete_request(id: &ArmId) -> ArmRequest {
    ArmRequest::new(Method::Delete, resource_path(id), None)
}

/// Live protected item JSON → (item id, attributes). `policy` is the last segment of `policyId`
/// (empty string when none).
///
/// `None` for items that are not virtual machines (or carry no id).
pub fn normalize(arm: &Value) -> Option<(ArmId, Value)> {
    let id = arm["id"].as_str().filter(|s| !s.is_empty())?;
    let p = &arm["properties"];
    let item_type = p["protectedItemType"].as_str().unwrap_or_default();
    if !item_type.to_ascii_lowercase().ends_with("/virtualmachines") {
        return None;
    }
    let vm_id = vm_of(arm);
    let policy = p["policyId"]
        .as_str()
        .map(|s| ArmId::new(s).name().to_string())
        .unwrap_or_default();
    let mut out = Map::new();
    out.insert("vm_id".into(), json!(vm_id.as_str()));
    out.insert("policy".into(), json!(policy));
    let excl = &p["extendedProperties"]["diskExclusionProperties"];
    let luns = lun_list(&excl["diskLunList"]);
    if !luns.is_empty() {
        // An inclusion list names the disks that *are* backed up: kept under its own key so the
        // plan shows it instead of silently treating it as "no exclusions".
        let key = if excl["isInclusionList"].as_bool() == Some(true) {
            "include_disks"
        } else {
            "exclude_disks"
        };
        out.insert(key.into(), json!(luns));
    }
    out.insert("state".into(), json!(state(p)));
    Some((ArmId::new(id), Value::Object(out)))
}

/// The contract's `state` of a live item.
fn state(p: &Value) -> String {
    use super::ItemState as S;
    if p["isScheduledForDeferredDelete"].as_bool() == Some(true) {
        return S::SoftDeleted.as_str().into();
    }
    let s = p["protectionState"].as_str().unwrap_or_default();
    match s.to_ascii_lowercase().as_str() {
        "irpending" | "protected" | "protectionerror" | "protectionpaused" => {
            S::Protected.as_str().into()
        }
        "protectionstopped" => S::Stopped.as_str().into(),
        "backupssuspended" => S::Suspended.as_str().into(),
        "" => S::Unknown.as_str().into(),
        // Shown as Azure wrote it; the plan reads it as unknown.
        other => other.to_string(),
    }
}

/// Sorted, distinct LUNs.
fn lun_list(v: &Value) -> Vec<u64> {
    let mut luns: Vec<u64> = v
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_u64)
        .collect();
    luns.sort_unstable();
    luns.dedup();
    luns
}

fn resource_path(id: &ArmId) -> String {
    format!("{id}?api-version={}", api::BACKUP)
}

/// Protected VMs: protect (undeleting a soft-deleted item first), or on removal stop keeping the
/// data, suspend, or delete it, as the change's data effect says.
pub const FAMILY: Family = Family {
    kind: ResourceKind::ProtectedVm,
    prefix: "protected_vm",
    rank: 3,
    ownership: Ownership::Whole,
    removed_with_the_file: true,
    requests: |c| match c.action {
        Action::Create | Action::Update => {
            let r = c.desired()?;
            let vm_id = r.attrs["vm_id"].as_str().unwrap_or_default();
            let policy = r.attrs["policy"].as_str().ok_or("no policy")?;
            let policy_id = super::backup_policy::arm_id(&vault_of(c.id), policy);
            let mut out = Vec::new();
            if ItemState::of(c.before) == ItemState::SoftDeleted {
                out.push(undelete_request(c.id, vm_id));
            }
            let live = Some(c.before).filter(|b| !b.is_null());
            out.push(protect_request_from(r, &policy_id, live));
            Ok(out)
        }
        Action::Delete => {
            let vm_id = c.before["vm_id"].as_str().unwrap_or_default();
            Ok(match c.data {
                Some(DataEffect::Retained) => vec![stop_request(c.id, vm_id, false)],
                Some(DataEffect::Suspended) => vec![stop_request(c.id, vm_id, true)],
                Some(DataEffect::Deleted) => vec![delete_request(c.id)],
                None => {
                    return Err("a protected VM delete must say what happens to its data".into())
                }
            })
        }
        Action::Replace => c.unsupported(ResourceKind::ProtectedVm),
    },
};

/// A VM the file wants protected, by `policy`, without the data disks at `exclude` (LUNs, in
/// any order): the attributes both a listed VM and a selected one get.
pub fn desired_attrs(vm_id: &str, policy: &str, exclude: &[u32]) -> Value {
    let mut attrs = json!({"vm_id": vm_id, "policy": policy});
    if !exclude.is_empty() {
        let mut luns = exclude.to_vec();
        luns.sort_unstable();
        luns.dedup();
        attrs["exclude_disks"] = json!(luns);
    }
    attrs["state"] = json!(ItemState::Protected.as_str());
    attrs
}

attributes!(
    /// A protected VM's attributes.
    Attrs {
        vm_id: Option<&'a str> = Value::as_str,
        /// The policy's name in its vault.
        policy: Option<&'a str> = Value::as_str,
        exclude_disks: &'a Value = std::convert::identity,
        /// The state's name (see [`Attrs::item_state`]).
        state: Option<&'a str> = Value::as_str,
    }
);

impl Attrs<'_> {
    pub fn item_state(self) -> ItemState {
        ItemState::of(self.0)
    }
}
