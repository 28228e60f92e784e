//! Replicated items (A2A): enable replication (EnableDr job, then initial replication with
//! `monitoringPercentageCompletion` rising to 100 and `vmProtectionState` reaching `Protected`),
//! update, disable (`POST …/remove`), purge (`DELETE`), and item-level unplanned failover,
//! commit and re-protect.
//!
//! State machine (from the clock): `EnablingProtection` until the EnableDr job ends →
//! `UnprotectedStatesBegin` ("Enabling protection") until initial replication ends → `Protected`;
//! the item itself says `InitialReplicationInProgress` meanwhile (recording A2A #68–73, FACTS §2).
//! `allowedOperations` as recorded while replicating and once protected (A2A #68–73). Not in the
//! recordings or specs (README "Known to differ"): the failover states (`FailedOver` after a
//! failover, `FailoverCommitted` after commit, `UnprotectedStatesBegin` during re-protect),
//! `DisablingProtection`, the test failover states (`TestFailoverInProgress`,
//! `TestFailoverCompleted`) and the allowed operations in those states.

use serde_json::{json, Value};

use super::super::errors::ArmError;
use super::super::handler::{Ctx, HResult, Reply};
use super::super::inventory::vm_id;
use super::super::state::{key, State, Vault};
use super::fabrics::{container_id, get_container, require_vnet};
pub(super) use super::item_body::item_body;
use super::{
    accepted, bad, durations, eq, fault, not_found, parse_arm_id, parse_vault_child,
    require_method, start_job, JobSpec, ReplicatedItem,
};

/// Where an item stands at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    Enabling,
    InitialReplication,
    Protected,
    FailedOver,
    Committed,
    Reprotecting,
    /// `POST …/remove` accepted: the item disappears when the DisableDr job ends.
    Disabling,
}

pub(super) fn phase(i: &ReplicatedItem, now: i64) -> Phase {
    if i.disabling_until.is_some() {
        return Phase::Disabling;
    }
    match i.failover.as_str() {
        "FailedOver" => return Phase::FailedOver,
        "Committed" => return Phase::Committed,
        "Reprotecting" if now < i.protected_ms => return Phase::Reprotecting,
        _ => {}
    }
    if now < i.enabled_ms {
        Phase::Enabling
    } else if now < i.protected_ms {
        Phase::InitialReplication
    } else {
        Phase::Protected
    }
}

pub(super) fn item_id(vault: &Vault, i: &ReplicatedItem) -> String {
    format!(
        "{}/replicationProtectedItems/{}",
        container_id(vault, &i.fabric, &i.container),
        i.name
    )
}

pub(super) fn list(
    ctx: &Ctx<'_>,
    st: &mut State,
    vault: &Vault,
    parent: Option<(&str, &str)>,
) -> HResult {
    let vk = super::fabrics::container_list(ctx, st, vault, parent)?;
    let items = st
        .site_recovery
        .items
        .values()
        .filter(|i| i.vault_key == vk && super::fabrics::under(parent, &i.fabric, &i.container))
        .map(|i| item_body(st, vault, i, ctx.now))
        .collect();
    Ok(Reply::ok(ctx.page(items, false)))
}

fn vm_error(code: &str, msg: String) -> ArmError {
    // The rules are documented in the A2A support matrix; the codes (Azure answers numeric Site
    // Recovery error ids) are not in the recordings or specs (README "Known to differ").
    bad(code, msg)
}

fn require_rg_id(st: &State, id: &str, what: &str) -> Result<(), ArmError> {
    let s: Vec<&str> = id.trim_matches('/').split('/').collect();
    if s.len() != 4 || !eq(s[0], "subscriptions") || !eq(s[2], "resourcegroups") {
        return Err(bad(
            "InvalidInput",
            format!("{what} '{id}' is not a resource group ARM id."),
        ));
    }
    if st.rg(s[1], s[3]).is_none() {
        return Err(vm_error(
            "ResourceGroupNotFound",
            format!("{what}: the resource group '{id}' was not found."),
        ));
    }
    Ok(())
}

pub(super) fn item(
    ctx: &Ctx<'_>,
    st: &mut State,
    vault: &Vault,
    f: &str,
    c: &str,
    name: &str,
) -> HResult {
    let vk = vault.key();
    let cont = get_container(st, vault, f, c)?.clone();
    let ck = key(&[&vk, &cont.fabric, &cont.name]);
    let ik = key(&[&ck, name]);
    match ctx.method.as_str() {
        "GET" => st
            .site_recovery
            .items
            .get(&ik)
            .map(|i| Reply::ok(item_body(st, vault, i, ctx.now)))
            .ok_or_else(|| not_found("replicated item", name)),
        "PUT" => enable(ctx, st, vault, &cont.fabric, &cont.name, &ck, &ik, name),
        "PATCH" => update(ctx, st, vault, &ik, name),
        "DELETE" => disable(ctx, st, vault, &ik, name, true),
        m => Err(ArmError::method_not_allowed(m)),
    }
}

#[allow(clippy::too_many_arguments)]
fn enable(
    ctx: &Ctx<'_>,
    st: &mut State,
    vault: &Vault,
    fabric: &str,
    container: &str,
    ck: &str,
    ik: &str,
    name: &str,
) -> HResult {
    let vk = vault.key();
    if st.site_recovery.items.contains_key(ik) {
        // Not in the recordings or specs: see README "Known to differ".
        return Err(ArmError::conflict("ProtectionAlreadyEnabled", format!("Replication is already enabled for the item '{name}'. Use PATCH to update its settings.")));
    }
    let body = ctx.json()?;
    let p = &body["properties"];
    let d = &p["providerSpecificDetails"];
    let it = d["instanceType"].as_str().unwrap_or("");
    if !eq(it, "A2A") {
        return Err(bad("InvalidInput", format!("properties.providerSpecificDetails.instanceType '{it}' is not supported: the sandbox models Azure-to-Azure (A2A) replication only.")));
    }
    let floc = st
        .site_recovery
        .fabrics
        .get(&key(&[&vk, fabric]))
        .map(|x| x.location.clone())
        .unwrap_or_default();
    let src = d["fabricObjectId"].as_str().unwrap_or("");
    // Semantic checks run in the EnableDr job: Azure accepts the request (202) and the operation
    // fails with a generic Site Recovery error whose job carries the reason (azurerm#25604,
    // azurerm#31927). Malformed input (`InvalidInput`) is refused at once.
    let checked = (|| -> Result<_, ArmError> {
        // Source VM.
        let Some((s, rg, vmn)) = parse_arm_id(src, "microsoft.compute", "virtualmachines") else {
            return Err(bad("InvalidInput", format!("providerSpecificDetails.fabricObjectId '{src}' must be the ARM id of the virtual machine to replicate.")));
        };
        let vm_key = key(&[&s, &rg, &vmn]);
        let Some(vm) = st.vms.get(&vm_key).cloned() else {
            return Err(vm_error("SourceVmNotFound", format!("The virtual machine '{src}' was not found. Check that it exists and that the vault can access it.")));
        };
        if vm.location != floc {
            return Err(vm_error("SourceVmLocationMismatch", format!("The virtual machine '{}' is in '{}', but the protection container '{container}' belongs to the fabric '{fabric}' in '{floc}'. Enable replication from the fabric of the VM's region.", vm.name, vm.location)));
        }
        if vm.location == vault.location {
            // Documented: the vault must not be in the source region of the VMs it replicates
            // (MicrosoftDocs azure-to-azure-tutorial-enable-replication); the code is not in the
            // recordings or specs (README "Known to differ").
            return Err(vm_error("VaultInSourceRegion", format!("The virtual machine '{}' is in '{}', the region of the vault '{}'. A Recovery Services vault can't replicate VMs out of its own region; create the vault in another region (typically the target region).", vm.name, vm.location, vault.name)));
        }
        let arm_vm = vm_id(&vm.subscription, &vm.resource_group, &vm.name);
        if let Some(other) = st.site_recovery.items.values().find(|i| i.vm_key == vm_key) {
            let ov = st
                .vaults
                .get(&other.vault_key)
                .map(|v| v.id())
                .unwrap_or_default();
            return Err(vm_error("VmAlreadyProtected", format!("The virtual machine '{}' is already replicated by the vault '{ov}' (item '{}'). A VM can be replicated by only one Recovery Services vault.", vm.name, other.name)));
        }
        // Recovery container and the mapping that pairs it with this one.
        let rcid = d["recoveryContainerId"].as_str().unwrap_or("");
        let rck = parse_vault_child(rcid).and_then(|(rvk, r)| {
            (rvk == vk
                && r.len() == 4
                && eq(&r[0], "replicationFabrics")
                && eq(&r[2], "replicationProtectionContainers"))
            .then(|| key(&[&vk, &r[1], &r[3]]))
        });
        let Some(rck) = rck.filter(|k| st.site_recovery.containers.contains_key(k)) else {
            return Err(bad("InvalidInput", format!("providerSpecificDetails.recoveryContainerId '{rcid}' is not a protection container of this vault.")));
        };
        let mapping = st
            .site_recovery
            .mappings
            .iter()
            .find(|(k, m)| k.starts_with(&format!("{ck}/")) && m.target_key == rck)
            .map(|(_, m)| m.clone());
        let Some(mapping) = mapping else {
            return Err(vm_error("ContainerMappingNotFound", format!("The protection container '{container}' is not mapped to the recovery container '{rcid}'. Create a container mapping first.")));
        };
        if let Some(pid) = p["policyId"].as_str().filter(|s| !s.is_empty()) {
            let pname = pid.rsplit('/').next().unwrap_or("");
            if !eq(pname, &mapping.policy) {
                return Err(bad("InvalidInput", format!("properties.policyId '{pid}' is not the policy of the container mapping '{}' ('{}').", mapping.name, mapping.policy)));
            }
        }
        let rloc = st
            .site_recovery
            .containers
            .get(&rck)
            .and_then(|c| st.site_recovery.fabrics.get(&key(&[&vk, &c.fabric])))
            .map(|x| x.location.clone())
            .unwrap_or_default();
        let rrg = d["recoveryResourceGroupId"].as_str().unwrap_or("");
        if rrg.is_empty() {
            return Err(bad(
                "InvalidInput",
                "providerSpecificDetails.recoveryResourceGroupId is required.",
            ));
        }
        require_rg_id(st, rrg, "recoveryResourceGroupId")?;
        if let Some(net) = d["recoveryAzureNetworkId"]
            .as_str()
            .filter(|s| !s.is_empty())
        {
            let nloc = require_vnet(st, net, "recoveryAzureNetworkId")?;
            if nloc != rloc {
                return Err(vm_error("RecoveryNetworkLocationMismatch", format!("The recovery network '{net}' is in '{nloc}', not in the recovery region '{rloc}'.")));
            }
        }
        if let Some(z) = d["recoveryAvailabilityZone"]
            .as_str()
            .filter(|s| !s.is_empty())
        {
            if !["1", "2", "3"].contains(&z) {
                return Err(bad(
                    "InvalidInput",
                    format!(
                        "recoveryAvailabilityZone '{z}' is invalid. Allowed values are 1, 2, 3."
                    ),
                ));
            }
        }
        // Disks: every listed disk must be one of the VM's; the OS disk must be replicated; the cache
        // storage account must exist in the source region.
        let disks = d["vmManagedDisks"].as_array().cloned().unwrap_or_default();
        if disks.is_empty() {
            return Err(bad("InvalidInput", "providerSpecificDetails.vmManagedDisks must list the managed disks to replicate (at least the OS disk)."));
        }
        let vm_disks: Vec<(String, bool)> = st
            .disks
            .values()
            .filter(|x| x.managed_by.as_deref().is_some_and(|m| eq(m, &arm_vm)))
            .map(|x| {
                (
                    super::super::inventory::disk_id(&x.subscription, &x.resource_group, &x.name),
                    x.os_type.is_some(),
                )
            })
            .collect();
        for disk in &disks {
            let did = disk["diskId"].as_str().unwrap_or("");
            if !vm_disks.iter().any(|(id, _)| eq(id, did)) {
                return Err(vm_error(
                    "DiskNotAttachedToVm",
                    format!(
                        "The disk '{did}' is not a managed disk of the virtual machine '{}'.",
                        vm.name
                    ),
                ));
            }
            for f in [
                "primaryStagingAzureStorageAccountId",
                "recoveryResourceGroupId",
            ] {
                if disk[f].as_str().is_none_or(|s| s.is_empty()) {
                    return Err(bad(
                        "InvalidInput",
                        format!("vmManagedDisks[].{f} is required (disk '{did}')."),
                    ));
                }
            }
            let sa = disk["primaryStagingAzureStorageAccountId"]
                .as_str()
                .unwrap_or("");
            let sa_res = parse_arm_id(sa, "microsoft.storage", "storageaccounts")
                .and_then(|_| st.resources.get(&sa.to_ascii_lowercase()));
            let Some(sa_res) = sa_res else {
                return Err(vm_error(
                    "CacheStorageAccountNotFound",
                    format!("The cache storage account '{sa}' was not found."),
                ));
            };
            if sa_res.location != vm.location {
                return Err(vm_error("CacheStorageAccountLocationMismatch", format!("The cache storage account '{}' is in '{}'. The cache storage account must be in the source region '{}' of the virtual machine '{}'.", sa_res.name, sa_res.location, vm.location, vm.name)));
            }
            require_rg_id(
                st,
                disk["recoveryResourceGroupId"].as_str().unwrap_or(""),
                "vmManagedDisks[].recoveryResourceGroupId",
            )?;
        }
        if let Some((os, _)) = vm_disks.iter().find(|(_, os)| *os) {
            if !disks
                .iter()
                .any(|x| x["diskId"].as_str().is_some_and(|d| eq(d, os)))
            {
                return Err(vm_error(
                    "OsDiskNotSelected",
                    format!("The OS disk '{os}' of the virtual machine must be replicated."),
                ));
            }
        }
        Ok((vm, vm_key, rck, mapping))
    })();
    let (vm, vm_key, rck, mapping) = match checked {
        Ok(x) => x,
        Err(e) if e.code == "InvalidInput" => return Err(e),
        Err(e) => {
            let target = parse_arm_id(src, "microsoft.compute", "virtualmachines")
                .map(|x| x.2)
                .unwrap_or_default();
            return super::failed_job(
                ctx,
                st,
                vault,
                JobSpec {
                    scenario: "EnableDr",
                    friendly: "Enable replication",
                    target_id: st.vms.values().find(|v| eq(&vm_id(&v.subscription, &v.resource_group, &v.name), src)).map(|v| v.vm_id.clone()).unwrap_or_default(),
                    target_name: target,
                    target_type: "ProtectionEntity",
                    tasks: &["Prerequisites check for enabling protection"],
                    duration_ms: ctx.scaled(durations::FAILED_VALIDATION),
                    start_ms: ctx.now,
                },
                ("45005", "Protection couldn't be enabled for the virtual machine."),
                &e,
                &format!("replicationFabrics/{fabric}/replicationProtectionContainers/{container}/replicationProtectedItems/{name}"),
            );
        }
    };
    let error = fault(ctx, "Enabling replication");
    let enable = ctx.scaled(durations::ENABLE);
    let ir = ctx.scaled(durations::INITIAL_REPLICATION);
    let job = start_job(
        st,
        &vk,
        JobSpec {
            scenario: "EnableDr",
            friendly: "Enable replication",
            target_id: vm.vm_id.clone(),
            target_name: vm.name.clone(),
            target_type: "ProtectionEntity",
            tasks: &[
                "Prerequisites check for enabling protection",
                "Identifying the replication target",
                "Enable replication",
                "Starting initial replication",
                "Updating the provider states",
            ],
            duration_ms: enable,
            start_ms: ctx.now,
        },
        error.clone(),
        &format!("item|{ik}"),
    );
    if error.is_none() {
        st.site_recovery.items.insert(
            ik.to_string(),
            ReplicatedItem {
                vault_key: vk.clone(),
                fabric: fabric.to_string(),
                container: container.to_string(),
                name: name.to_string(),
                vm_id: src.to_string(),
                vm_key,
                vm_name: vm.name.clone(),
                policy: mapping.policy.clone(),
                recovery_container_key: rck,
                enable_ms: ctx.now,
                enabled_ms: ctx.now + enable,
                protected_ms: ctx.now + enable + ir,
                input: d.clone(),
                settings: json!({}),
                active_location: "Primary".into(),
                failover: "None".into(),
                last_failover_ms: None,
                last_test_failover_ms: None,
                test_failover: None,
                disabling_until: None,
                initial_fabrics: None,
                scenario: Some(("EnableDr".into(), job.clone(), ctx.now)),
            },
        );
    }
    accepted(ctx, vault, &format!("replicationFabrics/{fabric}/replicationProtectionContainers/{container}/replicationProtectedItems/{name}"), &job)
}

fn item_path(i: &ReplicatedItem) -> String {
    format!(
        "replicationFabrics/{}/replicationProtectionContainers/{}/replicationProtectedItems/{}",
        i.fabric, i.container, i.name
    )
}

/// 409 while a job of the item is still running (RPC: concurrent conflicting operations).
/// Not in the recordings or specs: see README "Known to differ".
pub(super) fn busy_item(st: &State, it: &ReplicatedItem, now: i64) -> Result<(), ArmError> {
    busy(st, it, now)
}

fn busy(st: &State, it: &ReplicatedItem, now: i64) -> Result<(), ArmError> {
    let Some((scenario, job, _)) = &it.scenario else {
        return Ok(());
    };
    match st.site_recovery.jobs.get(&key(&[&it.vault_key, job])) {
        Some(j) if now < j.start_ms + j.duration_ms => Err(ArmError::conflict(
            "OperationInProgress",
            format!(
                "Another operation ({scenario}, job {job}) is in progress on the replicated item '{}'. Retry after it completes.",
                it.name
            ),
        )),
        _ => Ok(()),
    }
}

fn update(ctx: &Ctx<'_>, st: &mut State, vault: &Vault, ik: &str, name: &str) -> HResult {
    let vk = vault.key();
    let Some(it) = st.site_recovery.items.get(ik).cloned() else {
        return Err(not_found("replicated item", name));
    };
    busy(st, &it, ctx.now)?;
    let body = ctx.json()?;
    let p = &body["properties"];
    let ph = phase(&it, ctx.now);
    if matches!(
        ph,
        Phase::Enabling | Phase::InitialReplication | Phase::Reprotecting
    ) {
        // A replicated item's settings can be updated only once initial replication has
        // finished (Terraform waits for Protected before its update: "We are only allowed to
        // update the configuration once the VM is fully protected"); the code is not in the
        // recordings or specs (README "Known to differ").
        return Err(bad("OperationNotAllowedInCurrentState", format!("The settings of '{name}' can be updated only after initial replication has completed (current state: {}).", item_body(st, vault, &it, ctx.now)["properties"]["protectionState"].as_str().unwrap_or(""))));
    }
    let rloc = st
        .site_recovery
        .containers
        .get(&it.recovery_container_key)
        .and_then(|c| st.site_recovery.fabrics.get(&key(&[&vk, &c.fabric])))
        .map(|x| x.location.clone())
        .unwrap_or_default();
    for f in [
        "selectedRecoveryAzureNetworkId",
        "selectedTfoAzureNetworkId",
    ] {
        if let Some(net) = p[f].as_str().filter(|s| !s.is_empty()) {
            let nloc = require_vnet(st, net, f)?;
            if nloc != rloc {
                return Err(vm_error("RecoveryNetworkLocationMismatch", format!("{f}: the network '{net}' is in '{nloc}', not in the recovery region '{rloc}'.")));
            }
        }
    }
    let mut settings = it.settings.clone();
    for f in [
        "recoveryAzureVMName",
        "recoveryAzureVMSize",
        "selectedRecoveryAzureNetworkId",
        "selectedTfoAzureNetworkId",
        "vmNics",
        "licenseType",
        "recoveryAvailabilitySetId",
    ] {
        if !p[f].is_null() {
            settings[f] = p[f].clone();
        }
    }
    let psd = &p["providerSpecificDetails"];
    for f in [
        "recoveryResourceGroupId",
        "recoveryAvailabilityZone",
        "tfoAzureVMName",
        "recoveryProximityPlacementGroupId",
        "recoveryBootDiagStorageAccountId",
        "recoveryCapacityReservationGroupId",
        "recoveryVirtualMachineScaleSetId",
    ] {
        if !psd[f].is_null() {
            settings[f] = psd[f].clone();
        }
    }
    if let Some(rg) = settings["recoveryResourceGroupId"].as_str() {
        require_rg_id(st, rg, "recoveryResourceGroupId")?;
    }
    let mut input = it.input.clone();
    if let Some(upd) = psd["managedDiskUpdateDetails"].as_array() {
        if let Some(disks) = input["vmManagedDisks"].as_array_mut() {
            for u in upd {
                if let Some(dsk) = disks.iter_mut().find(|x| {
                    x["diskId"]
                        .as_str()
                        .zip(u["diskId"].as_str())
                        .is_some_and(|(a, b)| eq(a, b))
                }) {
                    for f in [
                        "recoveryTargetDiskAccountType",
                        "recoveryReplicaDiskAccountType",
                    ] {
                        if !u[f].is_null() {
                            dsk[f] = u[f].clone();
                        }
                    }
                }
            }
        }
    }
    let error = fault(ctx, "Updating the replicated item");
    let job = start_job(
        st,
        &vk,
        JobSpec {
            scenario: "UpdateVmProperties",
            friendly: "Update the virtual machine",
            target_id: st
                .vms
                .get(&it.vm_key)
                .map(|v| v.vm_id.clone())
                .unwrap_or_default(),
            target_name: it.vm_name.clone(),
            target_type: "ProtectionEntity",
            tasks: &["Update the virtual machine properties"],
            duration_ms: ctx.scaled(durations::ITEM_UPDATE),
            start_ms: ctx.now,
        },
        error.clone(),
        &format!("item|{ik}"),
    );
    if error.is_none() {
        if let Some(x) = st.site_recovery.items.get_mut(ik) {
            x.settings = settings;
            x.input = input;
        }
    }
    accepted(ctx, vault, &item_path(&it), &job)
}

fn disable(
    ctx: &Ctx<'_>,
    st: &mut State,
    vault: &Vault,
    ik: &str,
    name: &str,
    purge: bool,
) -> HResult {
    let vk = vault.key();
    let Some(it) = st.site_recovery.items.get(ik).cloned() else {
        return Err(not_found("replicated item", name));
    };
    if !purge {
        if it.disabling_until.is_some() {
            // Not in the recordings or specs: see README "Known to differ".
            return Err(ArmError::conflict(
                "OperationInProgress",
                format!("Replication of '{name}' is already being disabled."),
            ));
        }
        if it.test_failover.is_some() {
            // Not in the recordings or specs: see README "Known to differ".
            return Err(bad("OperationNotAllowedInCurrentState", format!("Replication of '{name}' cannot be disabled while a test failover is pending cleanup. Clean up the test failover first.")));
        }
        if matches!(phase(&it, ctx.now), Phase::FailedOver) {
            return Err(bad(
                "OperationNotAllowedInCurrentState",
                format!(
                    "Replication of '{name}' cannot be disabled before the failover is committed."
                ),
            ));
        }
        let body = if ctx.body.iter().all(|b| b.is_ascii_whitespace()) {
            json!({})
        } else {
            ctx.json()?
        };
        if let Some(r) = body["properties"]["disableProtectionReason"].as_str() {
            if !["NotSpecified", "MigrationComplete"]
                .iter()
                .any(|x| eq(x, r))
            {
                return Err(bad("InvalidInput", format!("disableProtectionReason '{r}' is invalid. Allowed values are NotSpecified, MigrationComplete.")));
            }
        }
    }
    let error = fault(ctx, "Disabling replication");
    let job = start_job(
        st,
        &vk,
        JobSpec {
            scenario: if purge {
                "PurgeProtection"
            } else {
                "DisableDr"
            },
            friendly: if purge {
                "Purge replicated item"
            } else {
                "Disable replication"
            },
            target_id: st
                .vms
                .get(&it.vm_key)
                .map(|v| v.vm_id.clone())
                .unwrap_or_default(),
            target_name: it.vm_name.clone(),
            target_type: "ProtectionEntity",
            tasks: &[
                "Disable replication",
                "Cleaning up the replica disks",
                "Updating the provider states",
            ],
            duration_ms: ctx.scaled(if purge {
                durations::REMOVE
            } else {
                durations::DISABLE
            }),
            start_ms: ctx.now,
        },
        error.clone(),
        "empty",
    );
    if error.is_none() {
        if purge {
            st.site_recovery.items.remove(ik);
        } else if let Some(x) = st.site_recovery.items.get_mut(ik) {
            x.disabling_until = Some(ctx.now + ctx.scaled(durations::DISABLE));
            x.scenario = Some(("DisableDr".into(), job.clone(), ctx.now));
        }
        // Recovery plans lose the item (not confirmed (README "Known to differ"): Azure may instead refuse the removal).
        let id = item_id(vault, &it).to_ascii_lowercase();
        for plan in st.site_recovery.plans.values_mut().filter(|p| p.vault_key == vk) {
            if let Some(groups) = plan.groups.as_array_mut() {
                for g in groups {
                    if let Some(items) = g["replicationProtectedItems"].as_array_mut() {
                        items.retain(|x| {
                            x["id"]
                                .as_str()
                                .is_none_or(|s| s.to_ascii_lowercase() != id)
                        });
                    }
                }
            }
        }
    }
    accepted(ctx, vault, &item_path(&it), &job)
}

/// `POST …/replicationProtectedItems/{i}/{action}`.
#[allow(clippy::too_many_arguments)]
pub(super) fn action(
    ctx: &Ctx<'_>,
    st: &mut State,
    vault: &Vault,
    f: &str,
    c: &str,
    name: &str,
    action: &str,
) -> HResult {
    require_method(ctx, "POST")?;
    let vk = vault.key();
    let cont = get_container(st, vault, f, c)?.clone();
    let ik = key(&[&vk, &cont.fabric, &cont.name, name]);
    if let Some(it) = st.site_recovery.items.get(&ik) {
        busy(st, it, ctx.now)?;
    }
    match action.to_ascii_lowercase().as_str() {
        "remove" => disable(ctx, st, vault, &ik, name, false),
        "unplannedfailover" | "failovercommit" | "reprotect" => {
            let Some(it) = st.site_recovery.items.get(&ik).cloned() else {
                return Err(not_found("replicated item", name));
            };
            let body = if ctx.body.iter().all(|b| b.is_ascii_whitespace()) { json!({}) } else { ctx.json()? };
            let op = match action.to_ascii_lowercase().as_str() {
                "unplannedfailover" => Op::Failover,
                "failovercommit" => Op::Commit,
                _ => Op::Reprotect,
            };
            let job = failover_op(ctx, st, &vk, &ik, &it, op, &body["properties"], None)?;
            accepted(ctx, vault, &item_path(&it), &job)
        }
        "testfailover" | "testfailovercleanup" => {
            let Some(it) = st.site_recovery.items.get(&ik).cloned() else {
                return Err(not_found("replicated item", name));
            };
            let body = if ctx.body.iter().all(|b| b.is_ascii_whitespace()) { json!({}) } else { ctx.json()? };
            let p = &body["properties"];
            let cleanup = action.eq_ignore_ascii_case("testfailovercleanup");
            let ph = phase(&it, ctx.now);
            let waiting = it.test_failover.as_ref().is_some_and(|(_, _, end)| ctx.now >= *end);
            if cleanup {
                if !waiting {
                    return Err(not_allowed(&it.name, "Test failover cleanup", &format!("{ph:?}")));
                }
                if p["comments"].as_str().is_some_and(|c| c.len() > 1024) {
                    return Err(bad("InvalidInput", "properties.comments must be at most 1024 characters."));
                }
            } else {
                if ph != Phase::Protected || it.test_failover.is_some() {
                    return Err(not_allowed(&it.name, "Test failover", &format!("{ph:?}")));
                }
                let expect = if it.active_location == "Recovery" { "RecoveryToPrimary" } else { "PrimaryToRecovery" };
                let dir = p["failoverDirection"].as_str().unwrap_or("");
                if !eq(dir, expect) {
                    return Err(bad("InvalidInput", format!("properties.failoverDirection must be '{expect}' for '{}' (active location {}).", it.name, it.active_location)));
                }
                if p["networkType"].as_str().is_some_and(|t| eq(t, "VmNetworkAsInput")) || p["networkId"].is_string() {
                    let net = p["networkId"].as_str().unwrap_or("");
                    let nloc = require_vnet(st, net, "networkId")?;
                    let target = if it.active_location == "Recovery" {
                        st.site_recovery.fabrics.get(&key(&[&vk, &it.fabric])).map(|f| f.location.clone())
                    } else {
                        st.site_recovery.containers.get(&it.recovery_container_key).and_then(|c| st.site_recovery.fabrics.get(&key(&[&vk, &c.fabric]))).map(|f| f.location.clone())
                    }
                    .unwrap_or_default();
                    if nloc != target {
                        return Err(bad("InvalidInput", format!("The test failover network '{net}' is in '{nloc}', not in the region '{target}' the VM fails over to.")));
                    }
                }
            }
            let (scenario, friendly, dur, tasks): (&str, &str, f64, &[&str]) = if cleanup {
                ("TestFailoverCleanup", "Cleanup test failover", durations::TEST_FAILOVER_CLEANUP, &["Deleting the test virtual machine", "Completing the test failover"])
            } else {
                ("TestFailover", "Test failover", durations::TEST_FAILOVER, &["Prerequisites check for test failover", "Creating the test virtual machine", "Starting the virtual machine"])
            };
            let error = fault(ctx, friendly);
            let dur_ms = ctx.scaled(dur);
            let job = start_job(
                st,
                &vk,
                JobSpec {
                    scenario,
                    friendly,
                    target_id: vm_guid(st, &it),
                    target_name: it.vm_name.clone(),
                    target_type: "ProtectionEntity",
                    tasks,
                    duration_ms: dur_ms,
                    start_ms: ctx.now,
                },
                error.clone(),
                &format!("item|{ik}"),
            );
            if error.is_none() {
                if let Some(x) = st.site_recovery.items.get_mut(&ik) {
                    if cleanup {
                        x.last_test_failover_ms = x.test_failover.as_ref().map(|t| t.1);
                        x.test_failover = None;
                    } else {
                        x.test_failover = Some((job.clone(), ctx.now, ctx.now + dur_ms));
                    }
                    x.scenario = Some((scenario.into(), job.clone(), ctx.now));
                }
            }
            accepted(ctx, vault, &item_path(&it), &job)
        }
        other => Err(bad(
            "OperationNotSupported",
            format!("The sandbox does not model the replicated item action '{other}'. Modelled: remove, testFailover, testFailoverCleanup, unplannedFailover, failoverCommit, reProtect."),
        )),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Op {
    Failover,
    Commit,
    Reprotect,
}

fn not_allowed(name: &str, what: &str, state: &str) -> ArmError {
    // Not in the recordings or specs: see README "Known to differ".
    bad(
        "OperationNotAllowedInCurrentState",
        format!("{what} is not allowed for '{name}' in its current state '{state}'."),
    )
}

/// Check and apply an item-level failover step (used by items and recovery plans). With
/// `job_id` the step joins a recovery-plan job instead of starting its own. Returns the job id.
#[allow(clippy::too_many_arguments)]
pub(super) fn failover_op(
    ctx: &Ctx<'_>,
    st: &mut State,
    vk: &str,
    ik: &str,
    it: &ReplicatedItem,
    op: Op,
    props: &Value,
    job_id: Option<(&str, i64)>,
) -> Result<String, ArmError> {
    let ph = phase(it, ctx.now);
    let state_name = format!("{ph:?}");
    match op {
        Op::Failover => {
            if ph != Phase::Protected || it.test_failover.is_some() {
                return Err(not_allowed(&it.name, "Failover", &state_name));
            }
            if let Some(dir) = props["failoverDirection"].as_str() {
                let expect = if it.active_location == "Recovery" {
                    "RecoveryToPrimary"
                } else {
                    "PrimaryToRecovery"
                };
                if !eq(dir, expect) {
                    return Err(bad(
                        "InvalidInput",
                        format!(
                            "failoverDirection must be '{expect}' for '{}' (active location {}).",
                            it.name, it.active_location
                        ),
                    ));
                }
            }
        }
        Op::Commit => {
            if ph != Phase::FailedOver {
                return Err(not_allowed(&it.name, "Commit", &state_name));
            }
        }
        Op::Reprotect => {
            if ph != Phase::Committed {
                return Err(not_allowed(&it.name, "Re-protect", &state_name));
            }
        }
    }
    let (scenario, friendly, dur, tasks): (&str, &str, f64, &[&str]) = match op {
        Op::Failover => (
            "UnplannedFailover",
            "Failover",
            durations::FAILOVER,
            &[
                "Prerequisites check for failover",
                "Creating the recovery virtual machine",
                "Starting the virtual machine",
            ],
        ),
        Op::Commit => (
            "Commit",
            "Commit",
            durations::COMMIT,
            &["Committing the failover"],
        ),
        Op::Reprotect => (
            "ReverseReplicate",
            "Reprotect",
            durations::REPROTECT,
            &[
                "Prerequisites check for re-protect",
                "Reversing replication",
                "Starting initial replication",
            ],
        ),
    };
    let (error, job) = match job_id {
        Some((j, _)) => (None, j.to_string()),
        None => {
            let error = fault(ctx, friendly);
            let j = start_job(
                st,
                vk,
                JobSpec {
                    scenario,
                    friendly,
                    target_id: st
                        .vms
                        .get(&it.vm_key)
                        .map(|v| v.vm_id.clone())
                        .unwrap_or_default(),
                    target_name: it.vm_name.clone(),
                    target_type: "ProtectionEntity",
                    tasks,
                    duration_ms: ctx.scaled(dur),
                    start_ms: ctx.now,
                },
                error.clone(),
                &format!("item|{ik}"),
            );
            (error, j)
        }
    };
    if error.is_none() {
        let start = job_id.map(|(_, s)| s).unwrap_or(ctx.now);
        let end = ctx.now + ctx.scaled(dur);
        if let Some(x) = st.site_recovery.items.get_mut(ik) {
            x.scenario = Some((scenario.into(), job.clone(), start));
            match op {
                Op::Failover => {
                    x.failover = "FailedOver".into();
                    x.last_failover_ms = Some(end);
                    x.active_location = if x.active_location == "Recovery" {
                        "Primary".into()
                    } else {
                        "Recovery".into()
                    };
                }
                Op::Commit => x.failover = "Committed".into(),
                Op::Reprotect => {
                    // Replication now runs the other way; initial replication starts over.
                    x.failover = "Reprotecting".into();
                    x.enabled_ms = end;
                    x.protected_ms = end + ctx.scaled(durations::INITIAL_REPLICATION);
                }
            }
        }
    }
    Ok(job)
}

/// The id used in recovery plans (`virtualMachineId`): the source VM's vmId GUID.
pub(super) fn vm_guid(st: &State, i: &ReplicatedItem) -> String {
    st.vms
        .get(&i.vm_key)
        .map(|v| v.vm_id.clone())
        .unwrap_or_default()
}

/// Find an item of the vault by its ARM id.
pub(super) fn find_by_id<'a>(
    st: &'a State,
    vk: &str,
    id: &str,
) -> Option<(String, &'a ReplicatedItem)> {
    let (ivk, r) = parse_vault_child(id)?;
    if ivk != vk
        || r.len() != 6
        || !eq(&r[0], "replicationFabrics")
        || !eq(&r[2], "replicationProtectionContainers")
        || !eq(&r[4], "replicationProtectedItems")
    {
        return None;
    }
    let k = key(&[vk, &r[1], &r[3], &r[5]]);
    st.site_recovery.items.get(&k).map(|i| (k.clone(), i))
}
