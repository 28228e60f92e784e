//! Protection containers: one per fabric, created and removed with their fabric's lifecycle.

use serde_json::{json, Value};

use super::super::errors::ArmError;
use super::super::handler::{Ctx, HResult, Reply};
use super::super::inventory::stable_guid;
use super::super::state::{key, State, Vault};
use super::{
    accepted, bad, durations, eq, fault, not_found, removal_accepted, require_method, start_job,
    Container, JobSpec,
};

use super::fabrics::*;

pub(super) fn container_body(st: &State, vault: &Vault, c: &Container) -> Value {
    let ck = c.key();
    let count = st
        .site_recovery
        .items
        .keys()
        .filter(|k| k.starts_with(&format!("{ck}/")))
        .count();
    let paired = st
        .site_recovery
        .mappings
        .keys()
        .any(|k| k.starts_with(&format!("{ck}/")))
        || st
            .site_recovery
            .mappings
            .values()
            .any(|m| m.target_key == ck);
    json!({
        "id": container_id(vault, &c.fabric, &c.name),
        "name": c.name,
        "type": "Microsoft.RecoveryServices/vaults/replicationFabrics/replicationProtectionContainers",
        "properties": {
            "fabricFriendlyName": c.fabric,
            "friendlyName": c.name,
            "fabricType": "Azure",
            "protectedItemCount": count,
            "pairingStatus": if paired { "Paired" } else { "NotPaired" },
            "role": if paired { "Primary" } else { "" },
            "fabricSpecificDetails": {"instanceType": "A2A"},
        },
    })
}

pub(super) fn get_container<'a>(
    st: &'a State,
    vault: &Vault,
    f: &str,
    c: &str,
) -> Result<&'a Container, ArmError> {
    get_fabric(st, vault, f)?;
    st.site_recovery
        .containers
        .get(&key(&[&vault.key(), f, c]))
        .ok_or_else(|| not_found("protection container", c))
}

pub(super) fn list_containers(
    ctx: &Ctx<'_>,
    st: &mut State,
    vault: &Vault,
    fabric: Option<&str>,
) -> HResult {
    require_method(ctx, "GET")?;
    let vk = vault.key();
    if let Some(f) = fabric {
        get_fabric(st, vault, f)?;
    }
    let items = st
        .site_recovery
        .containers
        .values()
        .filter(|c| c.vault_key == vk && fabric.is_none_or(|f| eq(f, &c.fabric)))
        .map(|c| container_body(st, vault, c))
        .collect();
    Ok(Reply::ok(ctx.page(items, false)))
}

pub(super) fn container(
    ctx: &Ctx<'_>,
    st: &mut State,
    vault: &Vault,
    f: &str,
    name: &str,
) -> HResult {
    let vk = vault.key();
    match ctx.method.as_str() {
        "GET" => get_container(st, vault, f, name).map(|c| Reply::ok(container_body(st, vault, c))),
        "PUT" => {
            let fabric = get_fabric(st, vault, f)?.clone();
            let body = ctx.json()?;
            let psi = &body["properties"]["providerSpecificInput"];
            let ok = match psi {
                Value::Null => true,
                Value::Array(a) => a.iter().all(|x| {
                    x["instanceType"]
                        .as_str()
                        .is_some_and(|t| eq(t, "A2A") || eq(t, "A2ACrossClusterMigration"))
                }),
                _ => false,
            };
            if !ok {
                return Err(bad("InvalidInput", "properties.providerSpecificInput must be a list of A2A container creation inputs ([{\"instanceType\": \"A2A\"}]) for a container in an Azure fabric."));
            }
            let ck = key(&[&vk, &fabric.name, name]);
            let canonical = st
                .site_recovery
                .containers
                .get(&ck)
                .map(|c| c.name.clone())
                .unwrap_or_else(|| name.to_string());
            let error = fault(ctx, "Creating the protection container");
            if error.is_none() {
                st.site_recovery.containers.insert(
                    ck.clone(),
                    Container {
                        vault_key: vk.clone(),
                        fabric: fabric.name.clone(),
                        name: canonical.clone(),
                    },
                );
            }
            let job = start_job(
                st,
                &vk,
                JobSpec {
                    scenario: "CreateProtectionContainer",
                    friendly: "Create protection container",
                    target_id: stable_guid(&format!("container:{ck}")),
                    target_name: canonical.clone(),
                    target_type: "ProtectionContainer",
                    tasks: &["Creating protection container"],
                    duration_ms: ctx.scaled(durations::CONTAINER),
                    start_ms: ctx.now,
                },
                error,
                &format!("container|{ck}"),
            );
            accepted(
                ctx,
                vault,
                &format!(
                    "replicationFabrics/{}/replicationProtectionContainers/{canonical}",
                    fabric.name
                ),
                &job,
            )
        }
        m => Err(ArmError::method_not_allowed(m)),
    }
}

pub(super) fn remove_container(
    ctx: &Ctx<'_>,
    st: &mut State,
    vault: &Vault,
    f: &str,
    name: &str,
) -> HResult {
    require_method(ctx, "POST")?;
    let c = get_container(st, vault, f, name)?.clone();
    let ck = c.key();
    let p = format!("{ck}/");
    if st.site_recovery.mappings.keys().any(|k| k.starts_with(&p))
        || st
            .site_recovery
            .mappings
            .values()
            .any(|m| m.target_key == ck)
        || st.site_recovery.items.keys().any(|k| k.starts_with(&p))
    {
        // Not in the recordings or specs: see README "Known to differ".
        return Err(bad("ProtectionContainerHasMappings", format!("The protection container '{}' cannot be removed because it is paired (container mappings exist) or has replicated items. Disable replication and remove the container mappings first.", c.name)));
    }
    let error = fault(ctx, "Removing the protection container");
    if error.is_none() {
        st.site_recovery.containers.remove(&ck);
    }
    removal_accepted(
        ctx,
        st,
        vault,
        JobSpec {
            scenario: "RemoveProtectionContainer",
            friendly: "Remove protection container",
            target_id: stable_guid(&format!("container:{ck}")),
            target_name: c.name.clone(),
            target_type: "ProtectionContainer",
            tasks: &["Removing protection container"],
            duration_ms: ctx.scaled(durations::REMOVE),
            start_ms: ctx.now,
        },
        error,
        &format!(
            "replicationFabrics/{}/replicationProtectionContainers/{}",
            c.fabric, c.name
        ),
    )
}
