//! VM discovery around protection: protection containers, protectable items,
//! `refreshContainers` and the subscription-level `backupStatus` check.

use serde_json::{json, Value};

use super::backup::parse_filter;
use super::errors::ArmError;
use super::handler::{Ctx, HResult, Reply};
use super::lro::{self, durations, NewOp};
use super::protection::eq;
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
        .items_in(&vk)
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

/// The VMs a vault has discovered and that no vault protects, as Azure lists them: nothing until
/// a `refreshContainers` has run (recording: azure-cli/test_backup_protection.yaml #35 answers
/// `{"value":[]}` for an existing VM, #40 lists it after the refresh), then every VM of the
/// vault's subscription and region that refresh saw.
pub(super) fn list_protectable(ctx: &Ctx<'_>, st: &mut State, v: &[String]) -> HResult {
    let vault = get_vault(st, &v[0], &v[1], &v[2])?.clone();
    let vid = vault.id();
    let discovered = st
        .discovery
        .entry(vault.key())
        .or_default()
        .settle(ctx.now)
        .clone();
    // Only the vault's subscription can hold its VMs and protect them (`discoverable`): its
    // items and VMs are key ranges.
    let sub = super::state::key(&[&vault.subscription]);
    let protected: std::collections::HashSet<String> = super::state::under(&st.items, &sub)
        .map(|(_, i)| i.vm_id.to_ascii_lowercase())
        .collect();
    let items: Vec<Value> = super::state::under(&st.vms, &sub)
        .map(|(_, vm)| {
            let id = super::inventory::vm_id(&vm.subscription, &vm.resource_group, &vm.name);
            (vm, id)
        })
        .filter(|(_, id)| {
            let lower = id.to_ascii_lowercase();
            discovered.contains(&lower) && !protected.contains(&lower)
        })
        .map(|(vm, id)| protectable_body(&vid, &vm.resource_group, &vm.name, &id))
        .collect();
    Ok(Reply::ok(ctx.page(items, true)))
}

/// One protectable VM exactly as recorded (azure-cli/test_backup_protection.yaml #40): the
/// name has no `vm;` prefix, the id's container segment starts `IaasVMContainer;`.
fn protectable_body(vault_id: &str, rg: &str, vm: &str, vm_id: &str) -> Value {
    let n = format!("iaasvmcontainerv2;{rg};{vm}").to_ascii_lowercase();
    json!({
        "id": format!("{vault_id}/backupFabrics/Azure/protectionContainers/IaasVMContainer;{n}/protectableItems/vm;{n}"),
        "name": n,
        "type": "Microsoft.RecoveryServices/vaults/backupFabrics/protectionContainers/protectableItems",
        "properties": {
            "virtualMachineId": vm_id, "virtualMachineVersion": "Compute", "resourceGroup": rg,
            "backupManagementType": "AzureIaasVM", "protectableItemType": "Microsoft.Compute/virtualMachines",
            "friendlyName": vm, "protectionState": "NotProtected",
        },
    })
}

/// The VMs a refresh of `vault` finds: those of its subscription and region (Azure Backup
/// protects a VM only from a vault in the same region and subscription:
/// https://learn.microsoft.com/azure/backup/backup-support-matrix#vault-support).
fn discoverable(st: &State, vault: &super::state::Vault) -> std::collections::BTreeSet<String> {
    st.vms
        .values()
        .filter(|vm| eq(&vm.subscription, &vault.subscription) && eq(&vm.location, &vault.location))
        .map(|vm| {
            super::inventory::vm_id(&vm.subscription, &vm.resource_group, &vm.name)
                .to_ascii_lowercase()
        })
        .collect()
}

/// `POST {vault}/backupFabrics/Azure/refreshContainers` → 202 with both polling headers; the
/// Location answers 202 while it runs, then 204 (recording: azure-cli/test_backup_protection.yaml
/// #36–39, FACTS §4). What it saw becomes listable when it ends.
pub(super) fn refresh(ctx: &Ctx<'_>, st: &mut State, v: &[String]) -> HResult {
    if ctx.method != "POST" {
        return Err(ArmError::method_not_allowed(&ctx.method));
    }
    let vault = get_vault(st, &v[0], &v[1], &v[2])?.clone();
    let vid = vault.id();
    let duration = ctx.scaled(durations::REFRESH);
    let found = discoverable(st, &vault);
    st.discovery.entry(vault.key()).or_default().running = Some((ctx.now + duration, found));
    let op = lro::start(
        st,
        ctx.now,
        NewOp {
            kind: "refreshContainers",
            duration_ms: duration,
            error: None,
            vault_key: Some(vault.key()),
            target_key: None,
            job_id: None,
            result: "empty",
        },
    );
    Ok(Reply::status(202, None)
        .header(
            "Azure-AsyncOperation",
            format!(
                "{}{vid}/backupFabrics/Azure/operationsStatus/{op}?api-version=2019-05-13-preview",
                ctx.base
            ),
        )
        .header("Location", refresh_location(ctx, &vid, &op))
        .mutated())
}

/// The refresh's Location: lower-case `subscriptions`, the caller's api-version (#36–38).
fn refresh_location(ctx: &Ctx<'_>, vid: &str, op: &str) -> String {
    let api = ctx.q("api-version").unwrap_or_default();
    format!(
        "{}{vid}/backupFabrics/Azure/operationResults/{op}?api-version={api}",
        ctx.base
    )
}

/// `GET {vault}/backupFabrics/Azure/operationResults/{id}` (Location: 202 with itself while
/// running, then 204, #37–39) and `…/operationsStatus/{id}` (the status body the vault's other
/// operations answer with).
pub(super) fn refresh_poll(ctx: &Ctx<'_>, st: &mut State, v: &[String], status: bool) -> HResult {
    let vid = get_vault(st, &v[0], &v[1], &v[2])?.id();
    let op = super::protection::find_op(st, &v[4])?;
    if status {
        return Ok(super::backup::status_reply(ctx, &op, json!({})));
    }
    Ok(match lro::phase(&op, ctx.now) {
        lro::Phase::Running => {
            Reply::status(202, None).header("Location", refresh_location(ctx, &vid, &op.id))
        }
        _ => Reply::status(204, None),
    })
}

/// Azure protects a VM it has not discovered yet when the PUT names it right (Microsoft's own
/// quickstart template enables protection without a refresh: azure-quickstart-templates
/// quickstarts/microsoft.recoveryservices/recovery-services-backup-vms): the PUT discovers it.
pub(super) fn discover_on_protect(st: &mut State, vault_key: &str, vm_id: &str) {
    st.discovery
        .entry(vault_key.to_string())
        .or_default()
        .discovered
        .insert(vm_id.to_ascii_lowercase());
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
                "containerName": i.container_name().to_ascii_lowercase(),
                "protectedItemName": i.item_name().to_ascii_lowercase(),
                "policyName": i.policy_name,
                "protectedItemsCount": 0,
                "objectType": "BackupStatusResponse",
            })
        }
        // As recorded for an unprotected VM (test_backup_protection.yaml #31, FACTS §4): the
        // names its container and item would have.
        None => match super::protection::parse_vm_id(rid) {
            Some((_, rg, vm)) => json!({
                "protectionStatus": "NotProtected",
                "fabricName": "Azure",
                "containerName": format!("iaasvmcontainer;iaasvmcontainerv2;{rg};{vm}").to_ascii_lowercase(),
                "protectedItemName": format!("vm;iaasvmcontainerv2;{rg};{vm}").to_ascii_lowercase(),
                "protectedItemsCount": 0,
                "objectType": "BackupStatusResponse",
            }),
            None => {
                json!({"protectionStatus": "NotProtected", "fabricName": "Azure", "protectedItemsCount": 0, "objectType": "BackupStatusResponse"})
            }
        },
    };
    Ok(Reply::ok(out))
}
