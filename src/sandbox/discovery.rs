//! VM discovery around protection: protection containers, protectable items,
//! `refreshContainers` and the subscription-level `backupStatus` check.

use serde_json::{json, Value};

use super::backup::parse_filter;
use super::errors::ArmError;
use super::lro::{self, durations, NewOp};
use super::protection::{eq, poll_url};
use super::server::{Ctx, HResult, Reply};
use super::state::State;
use super::vaults::get_vault;

pub(super) fn list_containers(ctx: &Ctx<'_>, st: &mut State, v: &[String]) -> HResult {
    let vault = get_vault(st, &v[0], &v[1], &v[2])?.clone();
    let vk = vault.key();
    let vid = vault.id();
    let filter = parse_filter(ctx.q("$filter"))?;
    if filter
        .iter()
        .any(|(k, val)| k == "backupmanagementtype" && !eq(val, "AzureIaasVM"))
    {
        return Ok(Reply::ok(json!({"value": []})));
    }
    let items: Vec<Value> = st
        .items
        .values()
        .filter(|i| i.vault_key == vk)
        .map(|i| {
            let c = i.container_name();
            json!({
                "id": format!("{vid}/backupFabrics/Azure/protectionContainers/{c}"),
                "name": c,
                "type": "Microsoft.RecoveryServices/vaults/backupFabrics/protectionContainers",
                "properties": {
                    "friendlyName": i.vm_name, "backupManagementType": "AzureIaasVM", "registrationStatus": "Registered",
                    "healthStatus": "Healthy", "containerType": "Microsoft.Compute/virtualMachines",
                    "virtualMachineId": i.vm_id, "virtualMachineVersion": "Compute", "resourceGroup": i.vm_resource_group,
                    "protectableObjectType": "Microsoft.Compute/virtualMachines",
                },
            })
        })
        .collect();
    Ok(Reply::ok(ctx.page(items, true)))
}

pub(super) fn list_protectable(ctx: &Ctx<'_>, st: &mut State, v: &[String]) -> HResult {
    let vault = get_vault(st, &v[0], &v[1], &v[2])?.clone();
    let vid = vault.id();
    let protected: std::collections::HashSet<String> = st
        .items
        .values()
        .map(|i| i.vm_id.to_ascii_lowercase())
        .collect();
    let items: Vec<Value> = st
        .vms
        .values()
        .filter(|vm| eq(&vm.subscription, &vault.subscription) && eq(&vm.location, &vault.location))
        .filter(|vm| {
            let id = super::inventory::vm_id(&vm.subscription, &vm.resource_group, &vm.name);
            !protected.contains(&id.to_ascii_lowercase())
        })
        .map(|vm| {
            let n = format!("iaasvmcontainerv2;{};{}", vm.resource_group, vm.name).to_ascii_lowercase();
            json!({
                "id": format!("{vid}/backupFabrics/Azure/protectionContainers/iaasvmcontainer;{n}/protectableItems/vm;{n}"),
                "name": format!("vm;{n}"),
                "type": "Microsoft.RecoveryServices/vaults/backupFabrics/protectionContainers/protectableItems",
                "properties": {
                    "backupManagementType": "AzureIaasVM", "friendlyName": vm.name,
                    "protectableItemType": "Microsoft.Compute/virtualMachines", "protectionState": "NotProtected",
                    "virtualMachineId": super::inventory::vm_id(&vm.subscription, &vm.resource_group, &vm.name),
                    "virtualMachineVersion": "Compute", "resourceGroup": vm.resource_group, "workloadType": "VM",
                },
            })
        })
        .collect();
    Ok(Reply::ok(ctx.page(items, true)))
}

pub(super) fn refresh(ctx: &Ctx<'_>, st: &mut State, v: &[String]) -> HResult {
    if ctx.method != "POST" {
        return Err(ArmError::method_not_allowed(&ctx.method));
    }
    let vault = get_vault(st, &v[0], &v[1], &v[2])?.clone();
    let vid = vault.id();
    let op = lro::start(
        st,
        ctx.now,
        NewOp {
            kind: "refreshContainers",
            duration_ms: ctx.scaled(durations::REFRESH),
            error: None,
            vault_key: Some(vault.key()),
            target_key: None,
            job_id: None,
            result: "empty",
        },
    );
    Ok(Reply::status(202, None)
        .header(
            "Location",
            poll_url(
                ctx,
                &vid,
                &format!("backupFabrics/Azure/operationResults/{op}"),
            ),
        )
        .headers(ctx.retry(60))
        .mutated())
}

pub(super) fn backup_status(ctx: &Ctx<'_>, st: &mut State, _v: &[String]) -> HResult {
    if ctx.method != "POST" {
        return Err(ArmError::method_not_allowed(&ctx.method));
    }
    let body = ctx.json()?;
    let rid = body["resourceId"].as_str().ok_or_else(|| {
        ArmError::bad_request("BMSUserErrorInvalidInput", "resourceId is required.")
    })?;
    let found = st
        .items
        .values()
        .find(|i| eq(&i.vm_id, rid) && i.deleted_ms.is_none());
    let out = match found {
        Some(i) => {
            let vault = st.vaults.get(&i.vault_key);
            json!({
                "protectionStatus": "Protected",
                "vaultId": vault.map(|v| v.id()),
                "fabricName": "Azure",
                "containerName": i.container_name(),
                "protectedItemName": i.item_name(),
                "policyName": i.policy_name,
                "errorCode": "Success",
            })
        }
        None => {
            json!({"protectionStatus": "NotProtected", "fabricName": "Azure", "errorCode": "Success"})
        }
    };
    Ok(Reply::ok(out))
}
