//! Network mappings: which virtual network a failed-over VM joins in the other region.

use serde_json::{json, Value};

use super::super::errors::ArmError;
use super::super::handler::{Ctx, HResult, Reply};
use super::super::inventory::stable_guid;
use super::super::state::{key, State, Vault};
use super::{
    accepted, bad, durations, eq, fault, not_found, parse_arm_id, removal_accepted, require_method,
    start_job, JobSpec, NetworkMapping,
};

use super::fabrics::*;

pub(super) fn network_mapping_body(st: &State, vault: &Vault, m: &NetworkMapping) -> Value {
    let loc = |f: &str| {
        st.site_recovery
            .fabrics
            .get(&key(&[&m.vault_key, f]))
            .map(|x| x.location.clone())
            .unwrap_or_default()
    };
    // Azure answers with the network ids and names in lower case (A2A #42, #45).
    let vnet_name = |id: &str| id.rsplit('/').next().unwrap_or("").to_ascii_lowercase();
    json!({
        "id": format!("{}/replicationNetworks/{}/replicationNetworkMappings/{}", fabric_id(vault, &m.fabric), m.network, m.name),
        "name": m.name,
        "type": "Microsoft.RecoveryServices/vaults/replicationFabrics/replicationNetworks/replicationNetworkMappings",
        "properties": {
            "state": "Paired",
            "primaryNetworkFriendlyName": vnet_name(&m.primary_network_id),
            "primaryNetworkId": m.primary_network_id.to_ascii_lowercase(),
            "primaryFabricFriendlyName": m.fabric,
            "recoveryNetworkFriendlyName": vnet_name(&m.recovery_network_id),
            "recoveryNetworkId": m.recovery_network_id.to_ascii_lowercase(),
            "recoveryFabricArmId": fabric_id(vault, &m.recovery_fabric),
            "recoveryFabricFriendlyName": m.recovery_fabric,
            "fabricSpecificSettings": {
                "instanceType": "AzureToAzure",
                "primaryFabricLocation": loc(&m.fabric),
                "recoveryFabricLocation": loc(&m.recovery_fabric),
            },
        },
    })
}

pub(super) fn list_network_mappings(
    ctx: &Ctx<'_>,
    st: &mut State,
    vault: &Vault,
    parent: Option<(&str, &str)>,
) -> HResult {
    require_method(ctx, "GET")?;
    let vk = vault.key();
    if let Some((f, _)) = parent {
        get_fabric(st, vault, f)?;
    }
    let items = st
        .site_recovery
        .network_mappings
        .values()
        .filter(|m| {
            m.vault_key == vk && parent.is_none_or(|(f, n)| eq(f, &m.fabric) && eq(n, &m.network))
        })
        .map(|m| network_mapping_body(st, vault, m))
        .collect();
    Ok(Reply::ok(ctx.page(items, false)))
}

/// The inventory vnet `id` (its location), or a 400.
pub(super) fn require_vnet(st: &State, id: &str, what: &str) -> Result<String, ArmError> {
    if parse_arm_id(id, "microsoft.network", "virtualnetworks").is_none() {
        return Err(bad(
            "InvalidInput",
            format!("{what} '{id}' is not a virtual network ARM id."),
        ));
    }
    st.resources
        .get(&id.to_ascii_lowercase())
        .map(|r| r.location.clone())
        // Not in the recordings or specs: see README "Known to differ".
        .ok_or_else(|| {
            bad(
                "NetworkNotFound",
                format!("{what}: the virtual network '{id}' was not found."),
            )
        })
}

pub(super) fn network_mapping(
    ctx: &Ctx<'_>,
    st: &mut State,
    vault: &Vault,
    f: &str,
    network: &str,
    name: &str,
) -> HResult {
    let vk = vault.key();
    let fabric = get_fabric(st, vault, f)?.clone();
    let nk = key(&[&vk, &fabric.name, network, name]);
    match ctx.method.as_str() {
        "GET" => st
            .site_recovery
            .network_mappings
            .get(&nk)
            .map(|m| Reply::ok(network_mapping_body(st, vault, m)))
            .ok_or_else(|| not_found("network mapping", name)),
        "PUT" | "PATCH" => {
            let body = ctx.json()?;
            let p = &body["properties"];
            let existing = st.site_recovery.network_mappings.get(&nk).cloned();
            if ctx.method == "PATCH" && existing.is_none() {
                return Err(not_found("network mapping", name));
            }
            let fsd = &p["fabricSpecificDetails"];
            let it = fsd["instanceType"].as_str().unwrap_or("");
            if !eq(it, "AzureToAzure") {
                return Err(bad("InvalidInput", format!("properties.fabricSpecificDetails.instanceType '{it}' is not supported; use 'AzureToAzure'.")));
            }
            let primary = given_or(
                &fsd["primaryNetworkId"],
                existing.as_ref().map(|e| &e.primary_network_id),
            );
            if primary.is_empty() {
                return Err(bad(
                    "InvalidInput",
                    "properties.fabricSpecificDetails.primaryNetworkId is required.",
                ));
            }
            // The network in the path is a name of the caller's choosing: Azure's CLI maps every
            // network under `replicationNetworks/azureNetwork` (A2A #40–#45), Terraform under the
            // vnet's name.
            let ploc = require_vnet(st, &primary, "primaryNetworkId")?;
            if ploc != fabric.location {
                // Not in the recordings or specs: see README "Known to differ".
                return Err(bad("NetworkLocationMismatch", format!("The primary network '{primary}' is in '{ploc}' but the fabric '{}' is in '{}'.", fabric.name, fabric.location)));
            }
            let rf_name = given_or(
                &p["recoveryFabricName"],
                existing.as_ref().map(|e| &e.recovery_fabric),
            );
            let Some(rf) = st
                .site_recovery
                .fabrics
                .get(&key(&[&vk, &rf_name]))
                .cloned()
            else {
                return Err(bad(
                    "InvalidInput",
                    format!(
                        "properties.recoveryFabricName '{rf_name}' is not a fabric of this vault."
                    ),
                ));
            };
            if rf.location == fabric.location {
                return Err(bad(
                    "InvalidInput",
                    "The recovery fabric must be in a different region than the primary fabric.",
                ));
            }
            let rnet = given_or(
                &p["recoveryNetworkId"],
                existing.as_ref().map(|e| &e.recovery_network_id),
            );
            if rnet.is_empty() {
                return Err(bad(
                    "InvalidInput",
                    "properties.recoveryNetworkId is required.",
                ));
            }
            let rloc = require_vnet(st, &rnet, "recoveryNetworkId")?;
            if rloc != rf.location {
                // Not in the recordings or specs: see README "Known to differ".
                return Err(bad("NetworkLocationMismatch", format!("The recovery network '{rnet}' is in '{rloc}' but the recovery fabric '{}' is in '{}'.", rf.name, rf.location)));
            }
            let error = fault(ctx, "Mapping the networks");
            if error.is_none() {
                st.site_recovery.network_mappings.insert(
                    nk.clone(),
                    NetworkMapping {
                        vault_key: vk.clone(),
                        fabric: fabric.name.clone(),
                        network: existing
                            .as_ref()
                            .map(|e| e.network.clone())
                            .unwrap_or_else(|| network.to_string()),
                        name: existing
                            .as_ref()
                            .map(|e| e.name.clone())
                            .unwrap_or_else(|| name.to_string()),
                        recovery_fabric: rf.name.clone(),
                        primary_network_id: primary.clone(),
                        recovery_network_id: rnet,
                    },
                );
            }
            let job = start_job(
                st,
                &vk,
                JobSpec {
                    scenario: "MapNetwork",
                    friendly: "Map networks",
                    target_id: stable_guid(&format!("netmap:{nk}")),
                    target_name: name.to_string(),
                    target_type: "NetworkMapping",
                    tasks: &["Mapping networks"],
                    duration_ms: ctx.scaled(durations::NETWORK_MAPPING),
                    start_ms: ctx.now,
                },
                error,
                &format!("networkmapping|{nk}"),
            );
            accepted(ctx, vault, &format!("replicationFabrics/{}/replicationNetworks/{network}/replicationNetworkMappings/{name}", fabric.name), &job)
        }
        "DELETE" => {
            let Some(m) = st.site_recovery.network_mappings.get(&nk).cloned() else {
                return Err(not_found("network mapping", name));
            };
            let error = fault(ctx, "Removing the network mapping");
            if error.is_none() {
                st.site_recovery.network_mappings.remove(&nk);
            }
            removal_accepted(
                ctx,
                st,
                vault,
                JobSpec {
                    scenario: "UnmapNetwork",
                    friendly: "Unmap networks",
                    target_id: stable_guid(&format!("netmap:{nk}")),
                    target_name: m.name.clone(),
                    target_type: "NetworkMapping",
                    tasks: &["Removing the network mapping"],
                    duration_ms: ctx.scaled(durations::REMOVE),
                    start_ms: ctx.now,
                },
                error,
                &format!(
                    "replicationFabrics/{}/replicationNetworks/{}/replicationNetworkMappings/{}",
                    m.fabric, m.network, m.name
                ),
            )
        }
        m => Err(ArmError::method_not_allowed(m)),
    }
}
