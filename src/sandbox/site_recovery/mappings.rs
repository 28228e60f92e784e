//! Protection container mappings: which policy replicates from one container to another.

use serde_json::{json, Value};

use super::super::errors::ArmError;
use super::super::handler::{Ctx, HResult, Reply};
use super::super::inventory::stable_guid;
use super::super::state::{key, State, Vault};
use super::{
    accepted, bad, durations, eq, fault, not_found, parse_arm_id, parse_vault_child,
    removal_accepted, require_method, start_job, vault_sr_id, JobSpec, Mapping,
};

use super::containers::*;
use super::fabrics::*;

pub(super) fn split_key(k: &str) -> Vec<&str> {
    k.split('/').collect()
}

pub(super) fn mapping_body(st: &State, vault: &Vault, m: &Mapping) -> Value {
    let t = split_key(&m.target_key);
    let target = st.site_recovery.containers.get(&m.target_key);
    let (tf, tc) = target
        .map(|c| (c.fabric.clone(), c.name.clone()))
        .unwrap_or_else(|| {
            (
                t.get(3).unwrap_or(&"").to_string(),
                t.get(4).unwrap_or(&"").to_string(),
            )
        });
    json!({
        "id": format!("{}/replicationProtectionContainerMappings/{}", container_id(vault, &m.fabric, &m.container), m.name),
        "name": m.name,
        "type": "Microsoft.RecoveryServices/vaults/replicationFabrics/replicationProtectionContainers/replicationProtectionContainerMappings",
        "properties": {
            "targetProtectionContainerId": container_id(vault, &tf, &tc),
            "targetProtectionContainerFriendlyName": tc,
            "providerSpecificDetails": m.details,
            "health": "Normal",
            "healthErrorDetails": [],
            "policyId": format!("{}/replicationPolicies/{}", vault_sr_id(vault), m.policy),
            "state": "Paired",
            "sourceProtectionContainerFriendlyName": m.container,
            "sourceFabricFriendlyName": m.fabric,
            "targetFabricFriendlyName": tf,
            "policyFriendlyName": m.policy,
        },
    })
}

/// A PATCH keeps what it does not send: the body's string, else the existing value.
pub(super) fn given_or(v: &Value, existing: Option<&String>) -> String {
    v.as_str()
        .map(str::to_string)
        .or_else(|| existing.cloned())
        .unwrap_or_default()
}

/// The start of a list under a protection container (or vault-wide when `parent` is `None`):
/// GET only, the container must exist. Returns the vault key.
pub(super) fn container_list(
    ctx: &Ctx<'_>,
    st: &mut State,
    vault: &Vault,
    parent: Option<(&str, &str)>,
) -> Result<String, ArmError> {
    require_method(ctx, "GET")?;
    if let Some((f, c)) = parent {
        get_container(st, vault, f, c)?;
    }
    Ok(vault.key())
}

/// Is a resource of `fabric`/`container` under `parent` (always, when listing vault-wide)?
pub(super) fn under(parent: Option<(&str, &str)>, fabric: &str, container: &str) -> bool {
    parent.is_none_or(|(f, c)| eq(f, fabric) && eq(c, container))
}

pub(super) fn list_mappings(
    ctx: &Ctx<'_>,
    st: &mut State,
    vault: &Vault,
    parent: Option<(&str, &str)>,
) -> HResult {
    let vk = container_list(ctx, st, vault, parent)?;
    let items = st
        .site_recovery
        .mappings
        .values()
        .filter(|m| m.vault_key == vk && under(parent, &m.fabric, &m.container))
        .map(|m| mapping_body(st, vault, m))
        .collect();
    Ok(Reply::ok(ctx.page(items, false)))
}

pub(super) fn mapping_details(
    st: &State,
    input: &Value,
    old: Option<&Value>,
) -> Result<Value, ArmError> {
    let it = input["instanceType"].as_str().unwrap_or("A2A");
    if !eq(it, "A2A") {
        return Err(bad("InvalidInput", format!("providerSpecificInput.instanceType '{it}' is not supported for Azure-to-Azure container mappings; use 'A2A'.")));
    }
    let mut d = old
        .cloned()
        // As recorded for a mapping without auto-update (A2A #26).
        .unwrap_or_else(|| {
            json!({"instanceType": "A2A", "agentAutoUpdateStatus": "Disabled",
                "automationAccountAuthenticationType": "RunAsAccount", "automationAccountArmId": null,
                "scheduleName": null, "jobScheduleName": null})
        });
    if let Some(s) = input["agentAutoUpdateStatus"].as_str() {
        let Some(c) = ["Enabled", "Disabled"].into_iter().find(|x| eq(x, s)) else {
            return Err(bad(
                "InvalidInput",
                format!(
                    "agentAutoUpdateStatus '{s}' is invalid. Allowed values are Enabled, Disabled."
                ),
            ));
        };
        d["agentAutoUpdateStatus"] = json!(c);
    }
    if let Some(s) = input["automationAccountAuthenticationType"].as_str() {
        let Some(c) = ["RunAsAccount", "SystemAssignedIdentity"]
            .into_iter()
            .find(|x| eq(x, s))
        else {
            return Err(bad("InvalidInput", format!("automationAccountAuthenticationType '{s}' is invalid. Allowed values are RunAsAccount, SystemAssignedIdentity.")));
        };
        d["automationAccountAuthenticationType"] = json!(c);
    }
    if let Some(aa) = input["automationAccountArmId"]
        .as_str()
        .filter(|s| !s.is_empty())
    {
        if parse_arm_id(aa, "microsoft.automation", "automationaccounts").is_none()
            || !st.resources.contains_key(&aa.to_ascii_lowercase())
        {
            // Not in the recordings or specs: see README "Known to differ".
            return Err(bad(
                "AutomationAccountNotFound",
                format!("The automation account '{aa}' was not found."),
            ));
        }
        d["automationAccountArmId"] = json!(aa);
    }
    if d["agentAutoUpdateStatus"] == "Enabled" {
        if d["automationAccountAuthenticationType"].is_null() {
            d["automationAccountAuthenticationType"] = json!("RunAsAccount");
        }
        if let Some(aa) = d["automationAccountArmId"].as_str().map(str::to_string) {
            let n = aa.rsplit('/').next().unwrap_or("");
            d["scheduleName"] = json!(format!("{n}-asr-automationschedule"));
            d["jobScheduleName"] = json!(stable_guid(&format!("jobschedule:{aa}")));
        }
    }
    Ok(d)
}

pub(super) fn mapping(
    ctx: &Ctx<'_>,
    st: &mut State,
    vault: &Vault,
    f: &str,
    c: &str,
    name: &str,
) -> HResult {
    let vk = vault.key();
    let src = get_container(st, vault, f, c)?.clone();
    let sk = src.key();
    let mk = key(&[&sk, name]);
    let path = format!("replicationFabrics/{}/replicationProtectionContainers/{}/replicationProtectionContainerMappings", src.fabric, src.name);
    match ctx.method.as_str() {
        "GET" => st
            .site_recovery
            .mappings
            .get(&mk)
            .map(|m| Reply::ok(mapping_body(st, vault, m)))
            .ok_or_else(|| not_found("protection container mapping", name)),
        "PUT" => {
            let body = ctx.json()?;
            let p = &body["properties"];
            let tid = p["targetProtectionContainerId"].as_str().unwrap_or("");
            let target = parse_vault_child(tid).and_then(|(tvk, r)| {
                (tvk == vk
                    && r.len() == 4
                    && eq(&r[0], "replicationFabrics")
                    && eq(&r[2], "replicationProtectionContainers"))
                .then(|| key(&[&vk, &r[1], &r[3]]))
            });
            let Some(tk) = target.filter(|k| st.site_recovery.containers.contains_key(k)) else {
                return Err(bad("InvalidInput", format!("properties.targetProtectionContainerId '{tid}' is not a protection container of this vault.")));
            };
            if tk == sk {
                return Err(bad("InvalidInput", "The target protection container must differ from the source protection container."));
            }
            let pid = p["policyId"].as_str().unwrap_or("");
            let pol = parse_vault_child(pid).and_then(|(pvk, r)| {
                (pvk == vk && r.len() == 2 && eq(&r[0], "replicationPolicies"))
                    .then(|| key(&[&vk, &r[1]]))
            });
            let Some(policy) = pol
                .and_then(|k| st.site_recovery.policies.get(&k))
                .map(|p| p.name.clone())
            else {
                return Err(bad(
                    "InvalidInput",
                    format!(
                        "properties.policyId '{pid}' is not a replication policy of this vault."
                    ),
                ));
            };
            let existing = st.site_recovery.mappings.get(&mk).cloned();
            if let Some(e) = &existing {
                if e.target_key != tk || !eq(&e.policy, &policy) {
                    // Not in the recordings or specs: see README "Known to differ".
                    return Err(bad("ContainerMappingPropertiesCannotBeChanged", "The target container and the policy of an existing container mapping cannot be changed. Create a new mapping."));
                }
            } else if let Some(other) = st.site_recovery.mappings.values().find(|m| {
                m.vault_key == vk
                    && key(&[&vk, &m.fabric, &m.container]) == sk
                    && m.target_key == tk
            }) {
                // Not in the recordings or specs: see README "Known to differ".
                return Err(ArmError::conflict(
                    "ContainerPairingAlreadyExists",
                    format!(
                        "The protection containers are already paired by mapping '{}'.",
                        other.name
                    ),
                ));
            }
            let details = mapping_details(
                st,
                &p["providerSpecificInput"],
                existing.as_ref().map(|m| &m.details),
            )?;
            let error = fault(ctx, "Configuring protection");
            if error.is_none() {
                st.site_recovery.mappings.insert(
                    mk.clone(),
                    Mapping {
                        vault_key: vk.clone(),
                        fabric: src.fabric.clone(),
                        container: src.name.clone(),
                        name: existing
                            .as_ref()
                            .map(|m| m.name.clone())
                            .unwrap_or_else(|| name.to_string()),
                        target_key: tk,
                        policy,
                        details,
                    },
                );
            }
            let job = start_job(
                st,
                &vk,
                JobSpec {
                    scenario: "ConfigureProtection",
                    friendly: "Configure protection",
                    target_id: stable_guid(&format!("mapping:{mk}")),
                    target_name: name.to_string(),
                    target_type: "ProtectionContainerMapping",
                    tasks: &[
                        "Prerequisites check for configuring protection",
                        "Pairing the protection containers",
                        "Associating the replication policy",
                    ],
                    duration_ms: ctx.scaled(durations::MAPPING),
                    start_ms: ctx.now,
                },
                error,
                &format!("mapping|{mk}"),
            );
            accepted(ctx, vault, &format!("{path}/{name}"), &job)
        }
        "PATCH" => {
            let Some(m) = st.site_recovery.mappings.get(&mk).cloned() else {
                return Err(not_found("protection container mapping", name));
            };
            let body = ctx.json()?;
            let details = mapping_details(
                st,
                &body["properties"]["providerSpecificInput"],
                Some(&m.details),
            )?;
            let error = fault(ctx, "Updating the container mapping");
            if error.is_none() {
                if let Some(x) = st.site_recovery.mappings.get_mut(&mk) {
                    x.details = details;
                }
            }
            let job = start_job(
                st,
                &vk,
                JobSpec {
                    scenario: "UpdateProtectionContainerMapping",
                    friendly: "Update protection container mapping",
                    target_id: stable_guid(&format!("mapping:{mk}")),
                    target_name: m.name.clone(),
                    target_type: "ProtectionContainerMapping",
                    tasks: &["Updating the container mapping"],
                    duration_ms: ctx.scaled(durations::MAPPING),
                    start_ms: ctx.now,
                },
                error,
                &format!("mapping|{mk}"),
            );
            accepted(ctx, vault, &format!("{path}/{}", m.name), &job)
        }
        "DELETE" => remove_mapping(ctx, st, vault, f, c, name, true),
        m => Err(ArmError::method_not_allowed(m)),
    }
}

/// `POST …/remove` (refused while items replicate through the mapping) and `DELETE` (purge).
pub(super) fn remove_mapping(
    ctx: &Ctx<'_>,
    st: &mut State,
    vault: &Vault,
    f: &str,
    c: &str,
    name: &str,
    purge: bool,
) -> HResult {
    if !purge {
        require_method(ctx, "POST")?;
    }
    let src = get_container(st, vault, f, c)?.clone();
    let sk = src.key();
    let mk = key(&[&sk, name]);
    let Some(m) = st.site_recovery.mappings.get(&mk).cloned() else {
        return Err(not_found("protection container mapping", name));
    };
    let users = st
        .site_recovery
        .items
        .iter()
        .filter(|(k, i)| {
            k.starts_with(&format!("{sk}/")) && i.recovery_container_key == m.target_key
        })
        .count();
    if users > 0 && !purge {
        // Not in the recordings or specs: see README "Known to differ".
        return Err(bad("ContainerMappingInUse", format!("The container mapping '{}' cannot be removed because {users} replicated item(s) use it. Disable replication of the items first.", m.name)));
    }
    let error = fault(ctx, "Removing the container mapping");
    if error.is_none() {
        st.site_recovery.mappings.remove(&mk);
        if purge {
            let tk = m.target_key.clone();
            st.site_recovery.items.retain(|k, i| {
                !(k.starts_with(&format!("{sk}/")) && i.recovery_container_key == tk)
            });
        }
    }
    removal_accepted(ctx, st, vault, JobSpec {
            scenario: if purge {
                "PurgeProtectionContainerMapping"
            } else {
                "UnconfigureProtection"
            },
            friendly: if purge {
                "Purge container mapping"
            } else {
                "Remove container mapping"
            },
            target_id: stable_guid(&format!("mapping:{mk}")),
            target_name: m.name.clone(),
            target_type: "ProtectionContainerMapping",
            tasks: &["Unpairing the protection containers"],
            duration_ms: ctx.scaled(durations::REMOVE),
            start_ms: ctx.now,
        }, error, &format!("replicationFabrics/{}/replicationProtectionContainers/{}/replicationProtectionContainerMappings/{}", src.fabric, src.name, m.name))
}
