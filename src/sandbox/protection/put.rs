//! Protecting, modifying, stopping and resuming a VM's protection (`PUT protectedItems/{i}`),
//! with Azure's rules: one vault per VM, immutability, soft delete, an item busy with an
//! operation.

use super::*;

/// A protected item takes one change at a time: a PUT or DELETE while the previous one's operation
/// runs is refused with the code and message Microsoft documents for it (Microsoft Learn, Azure
/// Backup troubleshooting, "Common modify policy errors": BMSUserErrorConflictingProtectionOperation,
/// "Another configure protection operation is in progress for this item"), as a 409, ARM's status
/// for a conflicting concurrent write (azure-behaviour.md §1, RPC). An on-demand backup running on
/// the item does not block a protection change here (not documented either way).
pub(super) fn busy(st: &State, item_key: &str, now: i64) -> Result<(), ArmError> {
    let running = lro::ops_on(st, item_key)
        .any(|o| o.kind != "backup" && lro::phase(o, now) == Phase::Running);
    if running {
        return Err(ArmError::conflict(
            "BMSUserErrorConflictingProtectionOperation",
            "Another configure protection operation is in progress for this item.",
        ));
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
pub(super) fn put_item(
    ctx: &Ctx<'_>,
    st: &mut State,
    vault: &Vault,
    ik: &str,
    rg: &str,
    vm: &str,
    container: &str,
    item_name: &str,
) -> HResult {
    let vk = vault.key();
    let vid = vault.id();
    let body = ctx.json()?;
    let p = body
        .get("properties")
        .filter(|p| p.is_object())
        .ok_or_else(|| {
            ArmError::bad_request(
                "BMSUserErrorInvalidInput",
                "The request body must contain 'properties'.",
            )
        })?;
    let existing = st.items.get(ik).cloned();
    // Code as Azure answers malformed configure-protection input (public Terraform issues).
    let invalid = |m: &str| {
        ArmError::bad_request(
            "BMSUserErrorInvalidConfigureProtectionRequest",
            format!("Input for configure protection is not in proper format\r\nPlease ensure that container exists and other parameters are in valid format. {m}"),
        )
    };
    if let Some(t) = p["protectedItemType"].as_str() {
        if !eq(t, "Microsoft.Compute/virtualMachines") {
            return Err(invalid(&format!("protectedItemType '{t}' is not supported for Azure VMs; use Microsoft.Compute/virtualMachines.")));
        }
    } else if !p["isRehydrate"].as_bool().unwrap_or(false) {
        return Err(invalid("properties.protectedItemType is required."));
    }
    let error = super::super::backup::bms_fault(ctx, "The protection operation");

    let mut item: Item;
    let kind: &str;
    let mut duration = ctx.scaled(durations::ITEM_UPDATE);
    let mut job_op = "ConfigureBackup";
    if p["isRehydrate"].as_bool().unwrap_or(false) {
        let Some(it) = existing.clone() else {
            return Err(item_not_found(item_name));
        };
        if it.deleted_ms.is_none() {
            // Not in the recordings or specs: see README "Known to differ".
            return Err(ArmError::bad_request(
                "BMSUserErrorItemNotSoftDeleted",
                "The backup item is not in soft deleted state; undelete is not applicable.",
            ));
        }
        item = it;
        item.deleted_ms = None;
        item.purge_ms = None;
        item.state = "ProtectionStopped".into();
        kind = "undelete";
        job_op = "Undelete";
    } else {
        if existing.as_ref().is_some_and(|i| i.deleted_ms.is_some()) {
            // Not in the recordings or specs: see README "Known to differ".
            return Err(ArmError::bad_request("UserErrorSoftDeletedItemOperationNotAllowed", "The backup item is in soft deleted state. Undelete the item (isRehydrate) before resuming or modifying its protection."));
        }
        let ps = p["protectionState"].as_str().unwrap_or("");
        if eq(ps, "ProtectionStopped") || eq(ps, "BackupsSuspended") {
            let Some(it) = existing.clone() else {
                return Err(item_not_found(item_name));
            };
            if eq(ps, "BackupsSuspended") {
                let imm = vault.properties["securitySettings"]["immutabilitySettings"]["state"]
                    .as_str()
                    .unwrap_or("Disabled");
                if eq(imm, "Disabled") {
                    // BackupsSuspended needs an immutable vault; Azure answers this (misleading)
                    // error when it is not (Azure/azure-rest-api-specs#32688).
                    return Err(immutable_denied());
                }
            }
            item = it;
            item.has_recovery_points = item.has_recovery_points || ctx.now >= item.first_backup_ms;
            if !item.has_recovery_points {
                item.first_backup_ms = NO_FIRST_BACKUP;
            }
            item.state = if eq(ps, "BackupsSuspended") {
                "BackupsSuspended".into()
            } else {
                "ProtectionStopped".into()
            };
            if item.state == "ProtectionStopped" {
                item.policy_id = None;
                item.policy_name = None;
            }
            kind = "stop";
            job_op = "DisableBackup";
        } else {
            let pid = p["policyId"].as_str().unwrap_or("");
            if pid.is_empty() {
                return Err(invalid(
                    "properties.policyId is required to enable or modify protection.",
                ));
            }
            let pname = pid.rsplit('/').next().unwrap_or("").to_string();
            let prefix_ok = pid
                .to_ascii_lowercase()
                .starts_with(&format!("{}/backuppolicies/", vid.to_ascii_lowercase()));
            let policy = st.policies.get(&key(&[&vk, &pname])).filter(|_| prefix_ok);
            let Some(policy) = policy else {
                return Err(ArmError::bad_request(
                    "BMSUserErrorPolicyNotFound",
                    format!("Policy '{pid}' was not found in vault '{}'.", vault.name),
                ));
            };
            if !policy.properties["backupManagementType"]
                .as_str()
                .is_some_and(|b| eq(b, "AzureIaasVM"))
            {
                return Err(ArmError::bad_request(
                    "BMSUserErrorInvalidPolicyInput",
                    format!(
                        "Policy '{}' is not an Azure VM (AzureIaasVM) policy.",
                        policy.name
                    ),
                ));
            }
            let new_v2 = policy.properties["policyType"]
                .as_str()
                .is_some_and(|t| eq(t, "V2"));
            let policy_name = policy.name.clone();
            match existing.clone() {
                Some(it) => {
                    let old_v2 = it
                        .policy_name
                        .as_ref()
                        .and_then(|n| st.policies.get(&key(&[&vk, n])))
                        .is_some_and(|op| {
                            op.properties["policyType"]
                                .as_str()
                                .is_some_and(|t| eq(t, "V2"))
                        });
                    if old_v2 && !new_v2 {
                        // Not in the recordings or specs: see README "Known to differ".
                        return Err(ArmError::bad_request("BMSUserErrorEnhancedToStandardPolicyNotSupported", "A VM protected with an Enhanced policy cannot be moved to a Standard policy."));
                    }
                    item = it;
                    kind = if item.state == "Protected" {
                        "modify"
                    } else {
                        "resume"
                    };
                    job_op = "ConfigureBackup";
                    if item.first_backup_ms == NO_FIRST_BACKUP {
                        // Stopped before its first backup: that backup comes after the resume.
                        item.first_backup_ms = ctx.now + ctx.scaled(durations::FIRST_BACKUP);
                    }
                    if item.state != "Protected" {
                        item.has_recovery_points =
                            item.has_recovery_points || ctx.now >= item.first_backup_ms;
                    }
                    item.state = "Protected".into();
                }
                None => {
                    // At most 1000 Azure VMs in a vault (learn.microsoft.com/azure/backup/
                    // backup-azure-backup-faq; backup-support-matrix). Not in the recordings or
                    // specs: see README "Known to differ".
                    let in_vault = st.items_in(&vk).count();
                    if in_vault >= 1000 {
                        return Err(ArmError::bad_request(
                            "BMSUserErrorMaxProtectedItemCountReached",
                            format!("The vault '{}' already protects {in_vault} Azure VMs, the most a vault can. Protect the VM with another vault.", vault.name),
                        ));
                    }
                    let src = p["sourceResourceId"]
                        .as_str()
                        .or(p["virtualMachineId"].as_str())
                        .unwrap_or("");
                    let Some((s, vrg, vname)) = parse_vm_id(src) else {
                        return Err(invalid("properties.sourceResourceId must be the ARM id of the virtual machine."));
                    };
                    if !eq(&vrg, rg) || !eq(&vname, vm) {
                        return Err(invalid(&format!("sourceResourceId '{src}' does not match the protected item name '{item_name}'.")));
                    }
                    // The vault discovers the VMs it may protect in its own subscription (the
                    // item's name has no room for another): one elsewhere is not found there.
                    let found = eq(&s, &vault.subscription)
                        .then(|| st.vms.get(&key(&[&s, &vrg, &vname])).cloned())
                        .flatten();
                    let Some(vmrec) = found else {
                        // Not in the recordings or specs: see README "Known to differ".
                        return Err(ArmError::bad_request(
                            "BMSUserErrorVMNotFound",
                            format!("The specified Azure Virtual Machine '{src}' was not found."),
                        ));
                    };
                    if !eq(&vmrec.location, &vault.location) {
                        // Not in the recordings or specs: see README "Known to differ".
                        return Err(ArmError::bad_request("BMSUserErrorContainerLocationMismatch", format!("The virtual machine '{}' is in region '{}' but the vault '{}' is in region '{}'. A VM can only be protected by a vault in the same region.", vmrec.name, vmrec.location, vault.name, vault.location)));
                    }
                    let vm_arm = crate::sandbox::inventory::vm_id(
                        &vmrec.subscription,
                        &vmrec.resource_group,
                        &vmrec.name,
                    );
                    // Another vault's item of this VM has the same name: a lookup per vault
                    // of the VM's subscription (no other can hold it, above), not a scan of
                    // every item.
                    let sub = key(&[&vault.subscription]);
                    let in_sub = crate::sandbox::state::under(&st.vaults, &sub).map(|(k, _)| k);
                    let other = in_sub.filter(|k| **k != vk).find_map(|k| {
                        st.items
                            .get(&key(&[k, item_name]))
                            .filter(|i| eq(&i.vm_id, &vm_arm))
                    });
                    if let Some(other) = other {
                        let other_vault = st
                            .vaults
                            .get(&other.vault_key)
                            .map(|x| x.id())
                            .unwrap_or_default();
                        // Not in the recordings or specs: see README "Known to differ".
                        return Err(ArmError::bad_request("BMSUserErrorVMAlreadyProtected", format!("Virtual machine is already registered\\registering with another recovery services vault Please select a different virtual machine for registration. (VM '{}', vault '{other_vault}')", vmrec.name)));
                    }
                    item = Item {
                        vault_key: vk.clone(),
                        vm_resource_group: vmrec.resource_group.clone(),
                        vm_name: vmrec.name.clone(),
                        vm_id: vm_arm,
                        vm_location: vmrec.location.clone(),
                        policy_id: None,
                        policy_name: None,
                        state: "Protected".into(),
                        protect_ms: ctx.now,
                        first_backup_ms: ctx.now
                            + ctx.scaled(durations::PROTECT)
                            + ctx.scaled(durations::FIRST_BACKUP),
                        has_recovery_points: false,
                        extended_properties: None,
                        deleted_ms: None,
                        purge_ms: None,
                        last_backup_ms: None,
                        backups_ms: Vec::new(),
                        data_id: format!(
                            "{}",
                            100_000_000_000u64
                                + (uuid::Uuid::new_v4().as_u128() % 900_000_000_000) as u64
                        ),
                    };
                    crate::sandbox::discovery::discover_on_protect(st, &vk, &item.vm_id);
                    kind = "protect";
                    duration = ctx.scaled(durations::PROTECT);
                }
            }
            item.policy_id = Some(format!("{vid}/backupPolicies/{policy_name}"));
            item.policy_name = Some(policy_name);
        }
        if let Some(x) = p.get("extendedProperties").filter(|x| x.is_object()) {
            item.extended_properties = Some(x.clone());
        }
    }
    let job = crate::sandbox::jobs::new_job(
        st,
        &vk,
        job_op,
        (&item.vm_name, item.job_container()),
        ctx.now,
        duration,
        error.clone(),
    );
    if kind == "protect" && error.is_none() {
        crate::sandbox::jobs::new_job(
            st,
            &vk,
            "Backup",
            (&item.vm_name, item.job_container()),
            ctx.now + duration,
            ctx.scaled(durations::FIRST_BACKUP),
            // `first_backup_fail=`: the first backup fails as the scheduled ones do.
            ctx.app
                .faults
                .as_ref()
                .is_some_and(|f| f.first_backup_fails(&item.vm_resource_group, &item.vm_name))
                .then(super::item_body::failure),
        );
    }
    if error.is_none() {
        st.items.insert(ik.to_string(), item);
    }
    let op = lro::start(
        st,
        ctx.now,
        NewOp {
            kind,
            duration_ms: duration,
            error,
            vault_key: Some(vk),
            target_key: Some(ik.to_string()),
            job_id: Some(job),
            result: "resource",
        },
    );
    Ok(Reply::status(202, None)
        .headers(item_poll_headers(ctx, &vid, container, item_name, &op))
        .mutated())
}
