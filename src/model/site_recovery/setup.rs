//! The setup resources replication needs: fabrics, protection containers, the replication
//! policy, container mappings and network mappings.

use super::{versioned, ArmId};
use crate::model::family::{ChangeInput, Family, Ownership};
use crate::model::resource_group::normalize_location;
use crate::model::{Action, ResourceKind};
use crate::model::{ArmRequest, Method, Resource};
use serde_json::{json, Value};

/// PUT a fabric: `{"properties": {"customDetails": {"instanceType": "Azure", "location": …}}}`.
pub fn fabric_request(r: &Resource) -> ArmRequest {
    let body = json!({"properties": {"customDetails": {"instanceType": "Azure", "location": r.attrs["location"]}}});
    ArmRequest::new(Method::Put, versioned(&r.arm_id), Some(body))
}

pub fn normalize_fabric(arm: &Value) -> Value {
    let loc = arm["properties"]["customDetails"]["location"]
        .as_str()
        .unwrap_or_default();
    json!({"location": normalize_location(loc)})
}

/// PUT a protection container for A2A.
pub fn container_request(r: &Resource) -> ArmRequest {
    let body = json!({"properties": {"providerSpecificInput": [{"instanceType": "A2A"}]}});
    ArmRequest::new(Method::Put, versioned(&r.arm_id), Some(body))
}

/// A container's attributes: the region of its fabric (read from its id's fabric name).
pub fn normalize_container(arm: &Value) -> Value {
    let id = ArmId::new(arm["id"].as_str().unwrap_or_default());
    let fabric = id.value_of("replicationFabrics").unwrap_or_default();
    let location = fabric.strip_prefix("asr-a2a-default-").unwrap_or(fabric);
    json!({"location": normalize_location(location)})
}

/// PUT a replication policy (`A2APolicyCreationInput`; multi-VM sync always on, as azurerm does).
pub fn policy_request(r: &Resource) -> ArmRequest {
    let mut input = json!({
        "instanceType": "A2A",
        "recoveryPointHistory": r.attrs["recovery_points_minutes"],
        "multiVmSyncStatus": "Enable",
    });
    let app = r.attrs["app_consistent_minutes"].as_u64().unwrap_or(0);
    input["appConsistentFrequencyInMinutes"] = json!(app);
    ArmRequest::new(
        Method::Put,
        versioned(&r.arm_id),
        Some(json!({"properties": {"providerSpecificInput": input}})),
    )
}

/// PATCH a replication policy's retention and app-consistent frequency in place.
pub fn policy_update_request(r: &Resource) -> ArmRequest {
    let settings = json!({
        "instanceType": "A2A",
        "recoveryPointHistory": r.attrs["recovery_points_minutes"],
        "appConsistentFrequencyInMinutes": r.attrs["app_consistent_minutes"].as_u64().unwrap_or(0),
        "multiVmSyncStatus": "Enable",
    });
    ArmRequest::new(
        Method::Patch,
        versioned(&r.arm_id),
        Some(json!({"properties": {"replicationProviderSettings": settings}})),
    )
}

pub fn policy_delete_request(id: &ArmId) -> ArmRequest {
    ArmRequest::new(Method::Delete, versioned(id), None)
}

pub fn normalize_policy(arm: &Value) -> Option<Value> {
    let d = &arm["properties"]["providerSpecificDetails"];
    if !d["instanceType"]
        .as_str()
        .is_some_and(|t| t.eq_ignore_ascii_case("A2A"))
    {
        return None;
    }
    Some(json!({
        "recovery_points_minutes": d["recoveryPointHistory"].as_u64().unwrap_or(0),
        "app_consistent_minutes": d["appConsistentFrequencyInMinutes"].as_u64().unwrap_or(0),
    }))
}

/// PUT a container mapping (source container → target container with a policy).
pub fn mapping_request(r: &Resource) -> ArmRequest {
    let body = json!({"properties": {
        "targetProtectionContainerId": r.attrs["target_container_id"],
        "policyId": r.attrs["policy_id"],
        "providerSpecificInput": {"instanceType": "A2A", "agentAutoUpdateStatus": "Disabled"},
    }});
    ArmRequest::new(Method::Put, versioned(&r.arm_id), Some(body))
}

pub fn normalize_mapping(arm: &Value) -> Value {
    let p = &arm["properties"];
    json!({"target_container_id": p["targetProtectionContainerId"], "policy_id": p["policyId"]})
}

/// Removing a mapping takes `RemoveProtectionContainerMappingInput`.
pub fn mapping_remove_request(id: &ArmId) -> ArmRequest {
    super::remove_request(
        id,
        Some(json!({"properties": {"providerSpecificInput": {"instanceType": "A2A"}}})),
    )
}

/// PUT a network mapping from a source vnet to a target vnet.
pub fn network_mapping_request(r: &Resource) -> ArmRequest {
    let body = json!({"properties": {
        "recoveryFabricName": r.attrs["target_fabric"],
        "recoveryNetworkId": r.attrs["target_network_id"],
        "fabricSpecificDetails": {"instanceType": "AzureToAzure", "primaryNetworkId": r.attrs["source_network_id"]},
    }});
    ArmRequest::new(Method::Put, versioned(&r.arm_id), Some(body))
}

pub fn network_mapping_delete_request(id: &ArmId) -> ArmRequest {
    ArmRequest::new(Method::Delete, versioned(id), None)
}

pub fn normalize_network_mapping(arm: &Value) -> Value {
    let p = &arm["properties"];
    let target_fabric = p["recoveryFabricArmId"]
        .as_str()
        .map(|id| ArmId::new(id).name().to_string())
        .or_else(|| p["recoveryFabricName"].as_str().map(str::to_string))
        .unwrap_or_default();
    json!({
        "source_network_id": p["primaryNetworkId"],
        "target_network_id": p["recoveryNetworkId"],
        "target_fabric": target_fabric,
    })
}

/// `GET` of a resource Site Recovery depends on: a storage account (the replication cache), a
/// virtual network, or a resource group, each at its provider's api-version.
pub fn dependency_path(id: &str) -> String {
    let lower = id.to_ascii_lowercase();
    let api = if lower.contains("/providers/microsoft.storage/") {
        super::super::api::STORAGE
    } else if lower.contains("/providers/microsoft.network/") {
        super::super::api::NETWORK
    } else {
        super::super::api::RESOURCES
    };
    format!("{id}?api-version={api}")
}

/// Why the virtual network `id` (`net`, `None` when it does not exist) cannot be mapped from or
/// to `region`.
pub fn network_problem(net: Option<&Value>, id: &str, region: &str, side: &str) -> Option<String> {
    let Some(n) = net else {
        return Some(format!("the {side} virtual network {id} does not exist"));
    };
    let loc = normalize_location(n["location"].as_str().unwrap_or_default());
    (!loc.is_empty() && !loc.eq_ignore_ascii_case(region))
        .then(|| format!("the {side} virtual network {id} is in {loc}, not in {region}"))
}

/// Why `account` (the live storage account `id`, `None` when it does not exist) cannot be the
/// replication cache of VMs in `region`. Azure-to-Azure needs a cache in the source region, a
/// standard general-purpose v2 account (premium and other kinds are not supported:
/// https://learn.microsoft.com/azure/site-recovery/azure-to-azure-support-matrix#cache-storage).
pub fn cache_account_problem(account: Option<&Value>, id: &str, region: &str) -> Option<String> {
    let Some(a) = account else {
        return Some(format!("the cache storage account {id} does not exist"));
    };
    let loc = normalize_location(a["location"].as_str().unwrap_or_default());
    if !loc.is_empty() && !loc.eq_ignore_ascii_case(region) {
        return Some(format!(
            "the cache storage account {id} is in {loc}: a replication cache must be in the source region {region}"
        ));
    }
    let kind = a["kind"].as_str().unwrap_or_default();
    if !kind.is_empty() && !kind.eq_ignore_ascii_case("StorageV2") {
        return Some(format!(
            "the cache storage account {id} is a {kind} account: Site Recovery needs a general-purpose v2 (StorageV2) cache"
        ));
    }
    let sku = a["sku"]["name"].as_str().unwrap_or_default();
    let premium = a["sku"]["tier"]
        .as_str()
        .is_some_and(|t| t.eq_ignore_ascii_case("Premium"))
        || sku.to_ascii_lowercase().starts_with("premium");
    if premium {
        return Some(format!(
            "the cache storage account {id} is premium ({sku}): Site Recovery needs a standard cache account"
        ));
    }
    None
}

/// A family of the shared Site Recovery setup: created (and, where Azure allows, updated) by
/// `put`, never removed implicitly.
const fn setup_family(
    kind: ResourceKind,
    prefix: &'static str,
    rank: u8,
    requests: fn(&ChangeInput) -> Result<Vec<ArmRequest>, String>,
) -> Family {
    Family {
        kind,
        prefix,
        rank,
        ownership: Ownership::Whole,
        removed_with_the_file: false,
        requests,
    }
}

pub const FABRIC: Family = setup_family(
    ResourceKind::ReplicationFabric,
    "replication_fabric",
    2,
    |c| match c.action {
        Action::Create => Ok(vec![fabric_request(c.desired()?)]),
        _ => c.unsupported(ResourceKind::ReplicationFabric),
    },
);

pub const CONTAINER: Family = setup_family(
    ResourceKind::ProtectionContainer,
    "protection_container",
    3,
    |c| match c.action {
        Action::Create => Ok(vec![container_request(c.desired()?)]),
        _ => c.unsupported(ResourceKind::ProtectionContainer),
    },
);

pub const POLICY: Family = setup_family(
    ResourceKind::ReplicationPolicy,
    "replication_policy",
    2,
    |c| match c.action {
        Action::Create => Ok(vec![policy_request(c.desired()?)]),
        Action::Update => Ok(vec![policy_update_request(c.desired()?)]),
        _ => c.unsupported(ResourceKind::ReplicationPolicy),
    },
);

pub const CONTAINER_MAPPING: Family = setup_family(
    ResourceKind::ContainerMapping,
    "container_mapping",
    4,
    |c| match c.action {
        Action::Create | Action::Update => Ok(vec![mapping_request(c.desired()?)]),
        _ => c.unsupported(ResourceKind::ContainerMapping),
    },
);

pub const NETWORK_MAPPING: Family = setup_family(
    ResourceKind::NetworkMapping,
    "network_mapping",
    4,
    |c| match c.action {
        Action::Create | Action::Update => Ok(vec![network_mapping_request(c.desired()?)]),
        _ => c.unsupported(ResourceKind::NetworkMapping),
    },
);

attributes!(
    /// A network mapping's attributes.
    NetworkMappingAttrs {
        source_network_id: Option<&'a str> = Value::as_str,
        target_network_id: Option<&'a str> = Value::as_str,
        target_fabric: Option<&'a str> = Value::as_str,
    }
);

attributes!(
    /// A fabric's or protection container's attributes.
    Located {
        /// The region it stands for.
        location: Option<&'a str> = Value::as_str,
    }
);
