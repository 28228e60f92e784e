//! Enabling replication of a VM (`PUT replicationProtectedItems/{i}`): Azure's checks of the
//! VM, its disks, the target resource group, network and cache, then the EnableDr job and
//! initial replication.

use super::*;

pub(super) fn vm_error(code: &str, msg: String) -> ArmError {
    // The rules are documented in the A2A support matrix; the codes (Azure answers numeric Site
    // Recovery error ids) are not in the recordings or specs (README "Known to differ").
    bad(code, msg)
}

pub(super) fn require_rg_id(st: &State, id: &str, what: &str) -> Result<(), ArmError> {
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

#[allow(clippy::too_many_arguments)]
pub(super) fn enable(
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
                    crate::sandbox::inventory::disk_id(&x.subscription, &x.resource_group, &x.name),
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
            return crate::sandbox::site_recovery::failed_job(
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
