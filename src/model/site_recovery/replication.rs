//! `replication.<name>/<rg>/<vm>` — a VM replicated to another region
//! (`…/replicationProtectionContainers/{c}/replicationProtectedItems/{vm}`).
//!
//! Attributes:
//! ```json
//! {
//!   "vm_id": "/subscriptions/…/virtualMachines/app-01",
//!   "target_region": "northeurope",
//!   "policy_id": "…/replicationPolicies/app-dr",
//!   "target_resource_group_id": "/subscriptions/…/resourceGroups/rg-app-dr",
//!   "cache_storage_account_id": "/subscriptions/…/storageAccounts/asrcacheweu",
//!   "target_network_id": "…/virtualNetworks/vnet-app-dr",      // optional
//!   "target_zone": "1",                                          // optional
//!   "target_vm_size": "Standard_D2s_v5",                         // optional
//!   "target_availability_set_id": "…",                           // optional
//!   "disks": [{"disk_id": "…/disks/app-01-osdisk", "target_type": "Premium_LRS"}],  // sorted by id
//!   "state": "replicating"
//! }
//! ```
//! Live `state`: `replicating` (enabling, initial replication, protected — progress is not an
//! attribute, so a converged estate stays quiet while replication catches up), `failed_over`
//! (failed over or committed, in either direction), `reversed` (re-protected after a failover:
//! the VM runs in the target region and replicates back; the plan treats it as converged, see
//! `plan::diff`), `test_failover` (a drill is running), `error`.
//!
//! `target_region` is always the declared target region (Azure's `initialRecoveryFabricLocation`),
//! whichever way replication runs now.

use super::versioned;
use crate::model::family::{Family, Ownership};
use crate::model::{Action, ResourceKind};
use crate::model::{ArmId, ArmRequest, Method, Resource};
use serde_json::{json, Map, Value};

/// The item's name: the VM's name (lower case).
pub fn item_id(container: &ArmId, vm_name: &str) -> ArmId {
    container.child(&["replicationProtectedItems", &vm_name.to_ascii_lowercase()])
}

/// The vault a replicated item belongs to.
pub fn vault_of(item: &ArmId) -> ArmId {
    item.parent(3)
}

/// PUT that enables replication (`A2AEnableProtectionInput`) into the protection container of
/// `target_region`.
pub fn enable_request(r: &Resource) -> ArmRequest {
    let a = &r.attrs;
    let target_container_id = super::container_id(
        &vault_of(&r.arm_id),
        a["target_region"].as_str().unwrap_or_default(),
    );
    let cache = &a["cache_storage_account_id"];
    let target_rg = &a["target_resource_group_id"];
    let disks: Vec<Value> = a["disks"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| {
            let mut disk = json!({
                "diskId": d["disk_id"],
                "primaryStagingAzureStorageAccountId": cache,
                "recoveryResourceGroupId": target_rg,
            });
            if let Some(t) = d.get("target_type") {
                disk["recoveryTargetDiskAccountType"] = t.clone();
                disk["recoveryReplicaDiskAccountType"] = t.clone();
            }
            disk
        })
        .collect();
    let mut details = Map::new();
    details.insert("instanceType".into(), json!("A2A"));
    details.insert("fabricObjectId".into(), a["vm_id"].clone());
    details.insert(
        "recoveryContainerId".into(),
        json!(target_container_id.as_str()),
    );
    details.insert("recoveryResourceGroupId".into(), target_rg.clone());
    details.insert("vmManagedDisks".into(), json!(disks));
    for (attr, field) in [
        ("target_network_id", "recoveryAzureNetworkId"),
        ("target_zone", "recoveryAvailabilityZone"),
        ("target_availability_set_id", "recoveryAvailabilitySetId"),
    ] {
        if let Some(v) = a.get(attr) {
            details.insert(field.into(), v.clone());
        }
    }
    let body =
        json!({"properties": {"policyId": a["policy_id"], "providerSpecificDetails": details}});
    ArmRequest::new(Method::Put, versioned(&r.arm_id), Some(body))
}

/// PATCH the settings Azure lets change in place (VM size, availability set, network).
pub fn update_request(r: &Resource) -> ArmRequest {
    let a = &r.attrs;
    let mut props = Map::new();
    if let Some(size) = a.get("target_vm_size") {
        props.insert("recoveryAzureVMSize".into(), size.clone());
    }
    if let Some(set) = a.get("target_availability_set_id") {
        props.insert("recoveryAvailabilitySetId".into(), set.clone());
    }
    if let Some(net) = a.get("target_network_id") {
        props.insert("selectedRecoveryAzureNetworkId".into(), net.clone());
    }
    props.insert(
        "providerSpecificDetails".into(),
        json!({"instanceType": "A2A"}),
    );
    ArmRequest::new(
        Method::Patch,
        versioned(&r.arm_id),
        Some(json!({"properties": props})),
    )
}

/// `POST …/remove` with `DisableProtectionInput`: stop replicating (the source VM is untouched).
/// A2A has no provider-specific disable input (the spec's only subtype is InMage's), so none is sent.
pub fn disable_request(id: &ArmId) -> ArmRequest {
    super::remove_request(
        id,
        Some(json!({"properties": {"disableProtectionReason": "NotSpecified"}})),
    )
}

/// Attributes that force a new replication when they change (disable, then enable again —
/// the target replica disks are rebuilt by a fresh initial replication).
pub const REPLACE_ON: &[&str] = &[
    "vm_id",
    "target_resource_group_id",
    "target_zone",
    "cache_storage_account_id",
    "disks",
    "policy_id",
];

/// Live replicated item → (item id, attributes).
pub fn normalize(arm: &Value) -> Option<(ArmId, Value)> {
    let id = ArmId::new(arm["id"].as_str()?);
    let p = &arm["properties"];
    let d = &p["providerSpecificDetails"];
    if !d["instanceType"]
        .as_str()
        .is_some_and(|t| t.eq_ignore_ascii_case("A2A"))
    {
        return None;
    }
    let mut disks: Vec<Value> = d["protectedManagedDisks"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|disk| {
            let mut out = json!({"disk_id": disk["diskId"]});
            if let Some(t) = disk["recoveryTargetDiskAccountType"].as_str() {
                out["target_type"] = json!(t);
            }
            out
        })
        .collect();
    disks.sort_by_key(|d| {
        d["disk_id"]
            .as_str()
            .unwrap_or_default()
            .to_ascii_lowercase()
    });
    let cache = d["protectedManagedDisks"][0]["primaryStagingAzureStorageAccountId"].clone();
    // The declared orientation, whichever way replication runs now: after a failover Azure
    // swaps `primaryFabricLocation`/`recoveryFabricLocation`; the `initial…` fields keep the
    // orientation replication was enabled in.
    let reversed = is_reversed(p);
    let target_region = d["initialRecoveryFabricLocation"]
        .as_str()
        .filter(|l| !l.is_empty())
        .or_else(|| {
            if reversed {
                d["primaryFabricLocation"].as_str()
            } else {
                d["recoveryFabricLocation"].as_str()
            }
        })
        .map(crate::model::resource_group::normalize_location);
    let mut attrs = json!({
        "vm_id": d["fabricObjectId"],
        "target_region": target_region,
        "policy_id": p["policyId"],
        "target_resource_group_id": d["recoveryAzureResourceGroupId"],
        "cache_storage_account_id": cache,
        "disks": disks,
        "state": state(p),
    });
    for (field, attr) in [
        ("selectedRecoveryAzureNetworkId", "target_network_id"),
        ("recoveryAvailabilityZone", "target_zone"),
        ("recoveryAzureVMSize", "target_vm_size"),
        ("recoveryAvailabilitySet", "target_availability_set_id"),
    ] {
        if let Some(v) = d[field].as_str().filter(|v| !v.is_empty()) {
            attrs[attr] = json!(v);
        }
    }
    Some((id, attrs))
}

/// Does the item run the other way than it was enabled: active in its recovery region (failed
/// over), or re-protected by switchprotection, which moves it under the other region's
/// container so that its primary is no longer the initial one (recording: A2A #111, FACTS §1)?
fn is_reversed(p: &Value) -> bool {
    let d = &p["providerSpecificDetails"];
    let norm = |v: &Value| {
        crate::model::resource_group::normalize_location(v.as_str().unwrap_or_default())
    };
    let switched = d["initialPrimaryFabricLocation"]
        .as_str()
        .is_some_and(|i| !i.is_empty())
        && norm(&d["initialPrimaryFabricLocation"]) != norm(&d["primaryFabricLocation"]);
    let active_recovery = p["activeLocation"]
        .as_str()
        .is_some_and(|l| l.eq_ignore_ascii_case("Recovery"));
    switched != active_recovery
}

/// The region replication was enabled from (`initialPrimaryFabricLocation`; the item's own
/// fabric region when Azure does not say): a re-protected item keeps it.
pub fn declared_source_region(arm: &Value) -> Option<String> {
    let d = &arm["properties"]["providerSpecificDetails"];
    d["initialPrimaryFabricLocation"]
        .as_str()
        .filter(|s| !s.is_empty())
        .map(crate::model::resource_group::normalize_location)
}

/// A replicated item's `protectionState`, typed (FACTS §2: `InitialReplicationInProgress` →
/// `InitialReplicationRecoveryCompletionPending` → `Protected`, recording A2A #68–73; the
/// failed-over values from the spec's ReplicationProtectedItem examples). Anything else is kept
/// as [`ProtectionState::Unknown`] and shown as Azure wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProtectionState {
    /// Initial replication (or re-replication after re-protect) runs.
    Replicating,
    /// Protected: failover and test failover possible.
    Protected,
    /// Failed over, not committed.
    FailedOver,
    /// Failover committed: nothing replicates until re-protect.
    FailoverCommitted,
    /// Protection is being enabled or disabled.
    Changing,
    Unknown(String),
}

impl ProtectionState {
    pub fn from_arm(s: &str) -> ProtectionState {
        match s.to_ascii_lowercase().as_str() {
            "protected" => ProtectionState::Protected,
            "initialreplicationinprogress"
            | "initialreplicationrecoverycompletionpending"
            | "unprotectedstatesbegin"
            | "protectedstatesbegin"
            | "reprotecting" => ProtectionState::Replicating,
            "failedover" | "plannedfailovercompleted" | "unplannedfailovercompleted" => {
                ProtectionState::FailedOver
            }
            "failovercommitted" | "plannedfailovercommitted" | "unplannedfailovercommitted" => {
                ProtectionState::FailoverCommitted
            }
            "enablingprotection" | "disablingprotection" => ProtectionState::Changing,
            _ => ProtectionState::Unknown(s.to_string()),
        }
    }

    /// Data flows from the active side to the other: false while failed over or committed.
    pub fn replicating(&self) -> bool {
        matches!(
            self,
            ProtectionState::Replicating | ProtectionState::Protected
        )
    }
}

/// Azure's name for where a replication stands (a `protectionState` or an A2A
/// `vmProtectionState`) in words a person reads in progress lines and reports; JSON keeps
/// Azure's name. Recording: azure-cli-extensions/test_siterecovery_A2A_scenarios.yaml #68–73
/// (FACTS §2): `vmProtectionState` `UnprotectedStatesBegin` ("Enabling protection") with
/// `protectionState` `InitialReplicationInProgress`, then
/// `InitialReplicationRecoveryCompletionPending`, then `Protected`. The failed-over names are the
/// spec's (ReplicationProtectedItem examples); any other name is split into lower-case words.
pub fn state_words(azure: &str) -> String {
    let words = match azure.to_ascii_lowercase().as_str() {
        "unprotectedstatesbegin" | "initialreplicationinprogress" | "enablingprotection" => {
            "initial replication"
        }
        "initialreplicationrecoverycompletionpending" => "initial replication finishing",
        "protected" => "protected",
        "failedover" | "plannedfailovercompleted" | "unplannedfailovercompleted" => {
            "failed over (not committed)"
        }
        "failovercommitted" | "plannedfailovercommitted" | "unplannedfailovercommitted" => {
            "failover committed"
        }
        "reprotecting" => "re-protecting",
        _ => return crate::progress::plain_words(azure),
    };
    words.to_string()
}

/// A replicated VM's normalized `state`, typed: what the plan decides on (the attributes carry
/// its name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplicationState {
    /// Replicating in the declared direction (also while initial replication runs).
    Replicating,
    /// Failed over (committed or not): the VMs run in the target region.
    FailedOver,
    /// Re-protected after a failover: the VMs run in the target region and replicate back to the
    /// source region (a failback restores the declared direction).
    Reversed,
    /// A test failover is in progress, or completed and waiting for cleanup: test VMs exist.
    TestFailover,
    /// Azure reports replication health Critical.
    Error,
    /// A name azprotect does not know.
    Unknown,
}

impl ReplicationState {
    const NAMES: [(ReplicationState, &'static str); 5] = [
        (ReplicationState::Replicating, "replicating"),
        (ReplicationState::FailedOver, "failed_over"),
        (ReplicationState::Reversed, "reversed"),
        (ReplicationState::TestFailover, "test_failover"),
        (ReplicationState::Error, "error"),
    ];

    pub fn as_str(self) -> &'static str {
        Self::NAMES
            .iter()
            .find(|(s, _)| *s == self)
            .map_or("unknown", |(_, n)| n)
    }

    pub fn from_name(name: &str) -> ReplicationState {
        Self::NAMES
            .iter()
            .find(|(_, n)| *n == name)
            .map_or(ReplicationState::Unknown, |(s, _)| *s)
    }
}

fn state(p: &Value) -> &'static str {
    let lower = |v: &Value| v.as_str().unwrap_or_default().to_ascii_lowercase();
    let protection = ProtectionState::from_arm(p["protectionState"].as_str().unwrap_or_default());
    let tfo = lower(&p["testFailoverState"]);
    let state = if matches!(
        protection,
        ProtectionState::FailedOver | ProtectionState::FailoverCommitted
    ) {
        ReplicationState::FailedOver
    } else if is_reversed(p) {
        ReplicationState::Reversed
    } else if !tfo.is_empty() && tfo != "none" {
        ReplicationState::TestFailover
    } else if lower(&p["replicationHealth"]) == "critical" {
        // Azure's ProtectionHealth: None, Normal, Warning (a protected VM never test-failed-over
        // is one, A2A #73), Critical.
        ReplicationState::Error
    } else {
        ReplicationState::Replicating
    };
    state.as_str()
}

/// The live progress of initial replication (percent), when Azure reports it.
pub fn progress(arm: &Value) -> Option<u64> {
    arm["properties"]["providerSpecificDetails"]["monitoringPercentageCompletion"].as_u64()
}

/// What a failed Site Recovery job says, one line per error: code, message, possible causes and
/// recommended action, from `properties.errors[]` (`ASRErrors`: `serviceErrorDetails`,
/// `providerErrorDetails`, or the error's own fields; SiteRecovery service.json).
pub fn job_errors(job: &Value) -> Vec<String> {
    let text = |v: &Value| {
        v.as_str()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    job["properties"]["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| {
            let service = &e["serviceErrorDetails"];
            let provider = &e["providerErrorDetails"];
            let code = text(&service["code"])
                .or_else(|| {
                    text(&provider["errorCode"])
                        .or_else(|| provider["errorCode"].as_i64().map(|c| c.to_string()))
                })
                .or_else(|| text(&e["errorCode"]))?;
            let message = text(&service["message"])
                .or_else(|| text(&provider["errorMessage"]))
                .or_else(|| text(&e["errorMessage"]))
                .unwrap_or_default();
            let causes = text(&service["possibleCauses"])
                .or_else(|| text(&provider["possibleCauses"]))
                .or_else(|| text(&e["possibleCauses"]));
            let action = text(&service["recommendedAction"])
                .or_else(|| text(&provider["recommendedAction"]))
                .or_else(|| text(&e["recommendedAction"]));
            let mut line = format!("{code}: {message}");
            if let Some(c) = causes {
                line.push_str(&format!(" Possible causes: {c}"));
            }
            if let Some(a) = action {
                line.push_str(&format!(" Recommended action: {a}"));
            }
            Some(line)
        })
        .collect()
}

/// Where re-protect sends replication from a committed failover: the resource group for the
/// replica disks and the cache storage account in the region the VMs run in now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwitchTarget {
    pub recovery_resource_group_id: String,
    pub cache_storage_account_id: String,
    /// Target disk type by disk id (lower case), sent as the replica and target disk types.
    pub disk_types: std::collections::BTreeMap<String, String>,
}

/// `POST {item's container}/switchprotection` (`SwitchProtectionInput` with
/// `A2ASwitchProtectionInput`): re-protect a committed failover of the live `item` the way
/// Azure's CLI does (recording: test_siterecovery_A2A_scenarios.yaml #93 L4670, FACTS §1):
/// the item's own container is where replication goes back to (`recoveryContainerId`), each
/// disk is the one the VM runs on now (the failed-over disk, `recoveryTargetDiskId`, while the
/// item is active in its recovery region) with the cache in that region. `None` when the item
/// does not say its id, policy or disks.
pub fn switch_protection_request(item: &Value, to: &SwitchTarget) -> Option<ArmRequest> {
    let id = ArmId::new(item["id"].as_str()?);
    let container = id.parent(1);
    let p = &item["properties"];
    let policy = p["policyId"].as_str()?;
    let failed_over = p["activeLocation"]
        .as_str()
        .is_some_and(|l| l.eq_ignore_ascii_case("Recovery"));
    let disks: Vec<Value> = p["providerSpecificDetails"]["protectedManagedDisks"]
        .as_array()?
        .iter()
        .filter_map(|d| {
            let running = if failed_over {
                d["recoveryTargetDiskId"].as_str().or(d["diskId"].as_str())
            } else {
                d["diskId"].as_str()
            }?;
            let mut disk = json!({
                "diskId": running,
                "primaryStagingAzureStorageAccountId": to.cache_storage_account_id,
                "recoveryResourceGroupId": to.recovery_resource_group_id,
            });
            if let Some(t) = to.disk_types.get(&running.to_ascii_lowercase()) {
                disk["recoveryTargetDiskAccountType"] = json!(t);
                disk["recoveryReplicaDiskAccountType"] = json!(t);
            }
            Some(disk)
        })
        .collect();
    if disks.is_empty() {
        return None;
    }
    let body = json!({"properties": {
        "replicationProtectedItemName": id.name(),
        "providerSpecificDetails": {
            "instanceType": "A2A",
            "policyId": policy,
            "recoveryContainerId": container.as_str(),
            "recoveryResourceGroupId": to.recovery_resource_group_id,
            "vmManagedDisks": disks,
        },
    }});
    Some(ArmRequest::new(
        Method::Post,
        versioned(container.child(&["switchprotection"])),
        Some(body),
    ))
}

/// Replicated VMs: enable, update, disable; a replace disables and enables again. Optional
/// target settings Azure fills in itself (VM size, network) are not managed unless the file
/// sets them.
pub const FAMILY: Family = Family {
    kind: ResourceKind::Replication,
    prefix: "replication",
    rank: 5,
    ownership: Ownership::Subset,
    removed_with_the_file: true,
    requests: |c| {
        Ok(match c.action {
            Action::Create => vec![enable_request(c.desired()?)],
            Action::Update => vec![update_request(c.desired()?)],
            Action::Replace => vec![disable_request(c.id), enable_request(c.desired()?)],
            Action::Delete => vec![disable_request(c.id)],
        })
    },
};

attributes!(
    /// A replicated VM's attributes.
    Attrs {
        vm_id: Option<&'a str> = Value::as_str,
        source_region: Option<&'a str> = Value::as_str,
        target_region: Option<&'a str> = Value::as_str,
        target_vm_size: Option<&'a str> = Value::as_str,
        target_fabric: Option<&'a str> = Value::as_str,
        target_resource_group_id: Option<&'a str> = Value::as_str,
        cache_storage_account_id: Option<&'a str> = Value::as_str,
        /// `[{"disk_id", "target_type"?}]`.
        disks: &'a Value = std::convert::identity,
        /// The state's name (see [`Attrs::replication_state`]).
        state: Option<&'a str> = Value::as_str,
    }
);

impl Attrs<'_> {
    pub fn replication_state(self) -> ReplicationState {
        ReplicationState::from_name(self.state().unwrap_or_default())
    }
}

impl Attrs<'_> {
    /// The declared target disk type of each disk that declares one: `(disk id in lower
    /// case, disk type)`.
    pub fn target_disk_types(self) -> Vec<(String, String)> {
        self.disks()
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|d| {
                Some((
                    d["disk_id"].as_str()?.to_ascii_lowercase(),
                    d["target_type"].as_str()?.to_string(),
                ))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::ReplicationState;

    #[test]
    fn replication_states_round_trip_by_name() {
        for s in [
            ReplicationState::Replicating,
            ReplicationState::FailedOver,
            ReplicationState::Reversed,
            ReplicationState::TestFailover,
            ReplicationState::Error,
        ] {
            assert_eq!(ReplicationState::from_name(s.as_str()), s);
        }
        assert_eq!(
            ReplicationState::from_name("paused"),
            ReplicationState::Unknown
        );
    }
}
