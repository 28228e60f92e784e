//! Protected VMs (bms.json 2026-01-01): protected items under `backupFabrics/Azure/
//! protectionContainers/{c}/protectedItems/{i}` (enable, modify, stop, resume, undelete, delete
//! with soft delete), their polling URLs exactly as Azure writes them, vault-level backup
//! operations, jobs, containers, protectable items, refreshContainers and `backupStatus`.

use serde_json::{json, Value};

use super::backup::{op_failure, parse_filter, require_backup_api};
use super::errors::ArmError;
use super::lro::{self, durations, NewOp, Phase};
use super::handler::{Ctx, HResult, Reply};
use super::state::{key, Item, State, Vault};
use super::vaults::get_vault;

/// The api-version Azure hard-codes in protected item polling URLs.
pub const ITEM_POLL_API: &str = "2016-12-01";

const VAULT: &str =
    "subscriptions/*/resourcegroups/*/providers/microsoft.recoveryservices/vaults/*";

pub(super) fn eq(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// Remove soft-deleted items whose retention has passed.
pub fn purge_expired(st: &mut State, now: i64) {
    st.items.retain(|_, i| i.purge_ms.is_none_or(|p| p > now));
}

pub fn route(ctx: &Ctx<'_>, st: &mut State) -> HResult {
    require_backup_api(ctx)?;
    purge_expired(st, ctx.now);
    let item = format!("{VAULT}/backupfabrics/*/protectioncontainers/*/protecteditems/*");
    if let Some(v) = ctx.m(&item) {
        return protected_item(ctx, st, &v);
    }
    if let Some(v) = ctx.m(&format!("{item}/backup")) {
        return trigger_backup(ctx, st, &v);
    }
    if let Some(v) = ctx.m(&format!("{item}/operationresults/*")) {
        return item_op(ctx, st, &v, false);
    }
    if let Some(v) = ctx.m(&format!("{item}/operationsstatus/*")) {
        return item_op(ctx, st, &v, true);
    }
    if let Some(v) = ctx.m(&format!("{VAULT}/backupprotecteditems")) {
        return list_items(ctx, st, &v);
    }
    if let Some(v) = ctx.m(&format!("{VAULT}/backupprotectioncontainers")) {
        return super::discovery::list_containers(ctx, st, &v);
    }
    if let Some(v) = ctx.m(&format!("{VAULT}/backupprotectableitems")) {
        return super::discovery::list_protectable(ctx, st, &v);
    }
    if let Some(v) = ctx.m(&format!("{VAULT}/backupfabrics/*/refreshcontainers")) {
        return super::discovery::refresh(ctx, st, &v);
    }
    if let Some(v) = ctx.m(&format!("{VAULT}/backupfabrics/*/operationresults/*")) {
        return super::discovery::refresh_poll(ctx, st, &v, false);
    }
    if let Some(v) = ctx.m(&format!("{VAULT}/backupfabrics/*/operationsstatus/*")) {
        return super::discovery::refresh_poll(ctx, st, &v, true);
    }
    if let Some(v) = ctx.m(&format!("{VAULT}/backupjobs")) {
        return super::jobs::list_jobs(ctx, st, &v);
    }
    if let Some(v) = ctx.m(&format!("{VAULT}/backupjobs/*")) {
        let vault = get_vault(st, &v[0], &v[1], &v[2])?;
        let vid = vault.id();
        let vk = vault.key();
        return st
            .jobs
            .get(&key(&[&vk, &v[3]]))
            .filter(|j| j.start_ms <= ctx.now)
            .map(|j| Reply::ok(super::jobs::job_body(&vid, j, ctx.now)))
            .ok_or_else(|| {
                ArmError::not_found(
                    "BMSUserErrorJobNotFound",
                    format!("Job '{}' not found.", v[3]),
                )
            });
    }
    if let Some(v) = ctx.m(&format!("{VAULT}/backupoperationresults/*")) {
        let vault = get_vault(st, &v[0], &v[1], &v[2])?;
        let vid = vault.id();
        let op = find_op(st, &v[3])?;
        return match lro::phase(&op, ctx.now) {
            Phase::Running => {
                Ok(Reply::status(202, None).headers(vault_poll_headers(ctx, &vid, &op.id)))
            }
            Phase::Failed => Err(op_failure(&op.error)),
            Phase::Succeeded => Ok(Reply::status(204, None)),
        };
    }
    if let Some(v) = ctx.m(&format!("{VAULT}/backupoperations/*")) {
        get_vault(st, &v[0], &v[1], &v[2])?;
        let op = find_op(st, &v[3])?;
        let props = json!({"objectType": "OperationStatusJobExtendedInfo", "jobId": op.job_id});
        return Ok(super::backup::status_reply(ctx, &op, props));
    }
    if let Some(v) =
        ctx.m("subscriptions/*/providers/microsoft.recoveryservices/locations/*/backupstatus")
    {
        return super::discovery::backup_status(ctx, st, &v);
    }
    if ctx.lsegs.len() > 8 && ctx.lsegs[6] == "vaults" {
        return Err(ArmError::invalid_resource_type(
            "Microsoft.RecoveryServices",
            &format!("vaults/{}", ctx.segs[8]),
        ));
    }
    Err(ArmError::no_route(&ctx.raw_path))
}

pub(super) fn find_op(st: &State, id: &str) -> Result<super::state::Operation, ArmError> {
    lro::find(st, id).cloned().ok_or_else(|| {
        ArmError::not_found(
            "BMSUserErrorOperationNotFound",
            format!("Operation '{id}' not found."),
        )
    })
}

/// `https://host/Subscriptions/...` (capital S, as Azure Backup writes its polling URLs).
pub(super) fn poll_url(ctx: &Ctx<'_>, vault_id: &str, rest: &str) -> String {
    format!(
        "{}/Subscriptions/{}/{rest}?api-version={ITEM_POLL_API}",
        ctx.base,
        &vault_id["/subscriptions/".len()..]
    )
}

fn item_poll_headers(
    ctx: &Ctx<'_>,
    vault_id: &str,
    container: &str,
    item: &str,
    op: &str,
) -> Vec<(String, String)> {
    let base =
        format!("backupFabrics/Azure/protectionContainers/{container}/protectedItems/{item}");
    vec![
        (
            "Azure-AsyncOperation".to_string(),
            poll_url(ctx, vault_id, &format!("{base}/operationsStatus/{op}")),
        ),
        (
            "Location".to_string(),
            poll_url(ctx, vault_id, &format!("{base}/operationResults/{op}")),
        ),
    ]
}

fn vault_poll_headers(ctx: &Ctx<'_>, vault_id: &str, op: &str) -> Vec<(String, String)> {
    vec![
        (
            "Azure-AsyncOperation".to_string(),
            poll_url(ctx, vault_id, &format!("backupOperations/{op}")),
        ),
        (
            "Location".to_string(),
            poll_url(ctx, vault_id, &format!("backupOperationResults/{op}")),
        ),
    ]
}

/// `(rg, vm)` from `iaasvmcontainer;iaasvmcontainerv2;{rg};{vm}` + `vm;iaasvmcontainerv2;{rg};{vm}`.
fn parse_names(container: &str, item: &str) -> Result<(String, String), ArmError> {
    let c: Vec<&str> = container.split(';').collect();
    let i: Vec<&str> = item.split(';').collect();
    let bad = || {
        ArmError::bad_request(
            "BMSUserErrorInvalidConfigureProtectionRequest",
            format!("Input for configure protection is not in proper format\r\nPlease ensure that container exists and other parameters are in valid format. Container '{container}' / protected item '{item}' is not a valid Azure VM container/item name. Expected 'iaasvmcontainer;iaasvmcontainerv2;<resource group>;<vm>' and 'vm;iaasvmcontainerv2;<resource group>;<vm>'."),
        )
    };
    if c.len() != 4 || !eq(c[0], "iaasvmcontainer") || !eq(c[1], "iaasvmcontainerv2") {
        return Err(bad());
    }
    if i.len() != 4 || !eq(i[0], "vm") || !eq(i[1], "iaasvmcontainerv2") {
        return Err(bad());
    }
    if !eq(c[2], i[2]) || !eq(c[3], i[3]) || c[2].is_empty() || c[3].is_empty() {
        return Err(bad());
    }
    Ok((c[2].to_string(), c[3].to_string()))
}

fn immutable_denied() -> ArmError {
    ArmError::bad_request(
        "UserErrorOperationDeniedOnImmutableItem",
        "The Vault and Bakcup Item is in Immutable state where destructive operations are not supported. The Vault and Backup Item is immutable, hence operation is denied. Refer to the documentation to learn more: https://aka.ms/AB-ImmutableVaults-States ",
    )
}

fn item_not_found(name: &str) -> ArmError {
    ArmError::not_found(
        "BMSUserErrorItemNotFound",
        format!("Item not found: the backup item '{name}' does not exist in the vault."),
    )
}

/// What the item looks like at `now`.
pub fn item_body(st: &State, vault: &Vault, it: &Item, now: i64) -> Value {
    let vid = vault.id();
    let container = it.container_name();
    let name = it.item_name();
    let backed_up = now >= it.first_backup_ms;
    let (state, health, status, last) = if it.deleted_ms.is_some() {
        (
            "ProtectionStopped",
            "Passed",
            "Healthy",
            backed_up || it.has_recovery_points,
        )
    } else {
        match it.state.as_str() {
            "Protected" if !backed_up => ("IRPending", "Passed", "Healthy", false),
            "Protected" => ("Protected", "Passed", "Healthy", true),
            s => (
                if s == "BackupsSuspended" {
                    "BackupsSuspended"
                } else {
                    "ProtectionStopped"
                },
                "Passed",
                "Healthy",
                backed_up || it.has_recovery_points,
            ),
        }
    };
    let mut p = json!({
        "protectedItemType": "Microsoft.Compute/virtualMachines",
        "backupManagementType": "AzureIaasVM",
        "workloadType": "VM",
        "containerName": container.split_once(';').map_or(container.as_str(), |(_, rest)| rest),
        "friendlyName": it.vm_name,
        "virtualMachineId": it.vm_id,
        "sourceResourceId": it.vm_id,
        "protectionStatus": status,
        "protectionState": state,
        "healthStatus": health,
        "protectedItemDataId": it.data_id,
        "isScheduledForDeferredDelete": it.deleted_ms.is_some(),
        "isRehydrate": false,
        "isArchiveEnabled": false,
        "vaultId": vid,
        // As every recorded item carries them (test_backup_softdelete.yaml #48–#69,
        // test_backup_diskaccess_restore.yaml #1): the soft-delete period is 0 until deleted.
        "sourceSideScanning": 0,
        "softDeleteRetentionPeriod": 0,
        "extendedInfo": {
            "recoveryPointCount": if last { 1 } else { 0 },
            "policyInconsistent": false,
        },
    });
    if let (Some(pid), None) = (&it.policy_id, it.deleted_ms) {
        p["policyId"] = json!(pid);
        p["policyName"] = json!(it.policy_name);
        if let Some(pol) = it
            .policy_name
            .as_ref()
            .and_then(|n| st.policies.get(&key(&[&it.vault_key, n])))
        {
            p["policyType"] = pol.properties["policyType"].clone();
        }
    } else {
        // A stopped item names no policy, with both fields empty (test_backup_softdelete.yaml #55).
        p["policyId"] = json!("");
        p["policyName"] = json!("");
    }
    if last {
        let latest = match it.last_backup_ms {
            Some(l) if l <= now && l > it.first_backup_ms => l,
            _ => it.first_backup_ms,
        };
        let t = lro::fmt_time(latest);
        p["lastBackupStatus"] = json!("Completed");
        p["lastBackupTime"] = json!(t);
        p["lastRecoveryPoint"] = json!(t);
        p["extendedInfo"]["oldestRecoveryPoint"] = json!(lro::fmt_time(it.first_backup_ms));
        p["extendedInfo"]["newestRecoveryPointInArchive"] = Value::Null;
    } else {
        // Recording: test_backup_protection.yaml #54 (FACTS §4): lastBackupStatus "" before the first backup.
        p["lastBackupStatus"] = json!("");
        p["lastBackupTime"] = json!("2001-01-01T00:00:00Z");
    }
    if let (Some(d), Some(purge)) = (it.deleted_ms, it.purge_ms) {
        p["deferredDeleteTimeInUTC"] = json!(lro::fmt_time(purge));
        let remain_ms = (purge - now).max(0);
        let days = remain_ms / 86_400_000;
        let rest = remain_ms % 86_400_000;
        p["deferredDeleteTimeRemaining"] = json!(format!(
            "{days}.{:02}:{:02}:{:02}",
            rest / 3_600_000,
            (rest / 60_000) % 60,
            (rest / 1000) % 60
        ));
        // `softDeleteRetentionPeriod`, in days (test_backup_softdelete.yaml #55).
        p["softDeleteRetentionPeriod"] = json!((purge - d) / 86_400_000);
        p["isDeferredDeleteScheduleUpcoming"] = json!(remain_ms < 86_400_000);
    }
    if state == "Protected" {
        // Backed up and healthy: the pre-check verdict and the Linux application name Azure
        // reports (test_backup_diskaccess_restore.yaml #1).
        p["healthDetails"] = json!([{"code": 400239, "title": "IaasVmHealthGreenDefault",
            "message": "Backup pre-check status of this virtual machine is OK.", "recommendations": []}]);
        p["extendedProperties"] = json!({"linuxVmApplicationName": ""});
    }
    if let Some(Value::Object(x)) = &it.extended_properties {
        if !p["extendedProperties"].is_object() {
            p["extendedProperties"] = json!({});
        }
        for (k, v) in x {
            p["extendedProperties"][k] = v.clone();
        }
    }
    json!({
        "id": format!("{vid}/backupFabrics/Azure/protectionContainers/{container}/protectedItems/{name}"),
        "name": name,
        "type": "Microsoft.RecoveryServices/vaults/backupFabrics/protectionContainers/protectedItems",
        "properties": p,
    })
}

pub(super) fn parse_vm_id(id: &str) -> Option<(String, String, String)> {
    let s: Vec<&str> = id.trim_matches('/').split('/').collect();
    if s.len() == 8
        && eq(s[0], "subscriptions")
        && eq(s[2], "resourcegroups")
        && eq(s[4], "providers")
        && eq(s[5], "microsoft.compute")
        && eq(s[6], "virtualmachines")
    {
        Some((s[1].to_string(), s[3].to_string(), s[7].to_string()))
    } else {
        None
    }
}

fn protected_item(ctx: &Ctx<'_>, st: &mut State, v: &[String]) -> HResult {
    let vault = get_vault(st, &v[0], &v[1], &v[2])?.clone();
    let vk = vault.key();
    let vid = vault.id();
    if !eq(&v[3], "Azure") {
        return Err(ArmError::not_found(
            "BMSUserErrorFabricNotFound",
            format!(
                "Fabric '{}' not found. Azure VMs use the fabric 'Azure'.",
                v[3]
            ),
        ));
    }
    let (rg, vm) = parse_names(&v[4], &v[5])?;
    let container = format!("iaasvmcontainer;iaasvmcontainerv2;{rg};{vm}").to_ascii_lowercase();
    let item_name = format!("vm;iaasvmcontainerv2;{rg};{vm}").to_ascii_lowercase();
    let ik = key(&[&vk, &item_name]);
    if matches!(ctx.method.as_str(), "PUT" | "DELETE") {
        busy(st, &ik, ctx.now)?;
    }
    match ctx.method.as_str() {
        "GET" => st
            .items
            .get(&ik)
            .map(|it| Reply::ok(item_body(st, &vault, it, ctx.now)))
            .ok_or_else(|| item_not_found(&item_name)),
        "PUT" => put_item(ctx, st, &vault, &ik, &rg, &vm, &container, &item_name),
        "DELETE" => {
            let Some(it) = st.items.get(&ik).cloned() else {
                // ARM RPC: a DELETE of a resource that does not exist answers 204 (azure-behaviour.md §2).
                return Ok(Reply::status(204, None));
            };
            if it.deleted_ms.is_some() {
                // Not in the recordings or specs: see README "Known to differ".
                return Err(ArmError::bad_request("BMSUserErrorItemAlreadySoftDeleted", "The backup item is already in soft deleted state. Undelete it before performing this operation."));
            }
            let imm = vault.properties["securitySettings"]["immutabilitySettings"]["state"]
                .as_str()
                .unwrap_or("Disabled");
            let backed_up = ctx.now >= it.first_backup_ms || it.has_recovery_points;
            if !eq(imm, "Disabled") && backed_up {
                // An immutable vault (Unlocked or Locked) denies destructive operations. Code and
                // message as reported in Azure/azure-rest-api-specs#32688.
                return Err(immutable_denied());
            }
            let error = ctx.lro_fails().then(|| json!({"code": "BMSInternalError", "message": "Stop protection and delete data failed (injected fault).", "status": 500}));
            let duration = ctx.scaled(durations::ITEM_DELETE);
            let job = super::jobs::new_job(
                st,
                &vk,
                "DeleteBackupData",
                &it.vm_name,
                ctx.now,
                duration,
                error.clone(),
            );
            if error.is_none() {
                let sd = &vault.properties["securitySettings"]["softDeleteSettings"];
                let sd_state = sd["softDeleteState"].as_str().unwrap_or("Enabled");
                if eq(sd_state, "Disabled") || !backed_up {
                    st.items.remove(&ik);
                } else {
                    let days = sd["softDeleteRetentionPeriodInDays"].as_i64().unwrap_or(14);
                    if let Some(x) = st.items.get_mut(&ik) {
                        x.deleted_ms = Some(ctx.now);
                        x.purge_ms = Some(ctx.now + days * 86_400_000);
                        x.has_recovery_points = true;
                        x.state = "ProtectionStopped".into();
                        x.policy_id = None;
                        x.policy_name = None;
                    }
                }
            }
            let op = lro::start(
                st,
                ctx.now,
                NewOp {
                    kind: "itemDelete",
                    duration_ms: duration,
                    error,
                    vault_key: Some(vk),
                    target_key: Some(ik),
                    job_id: Some(job),
                    result: "empty",
                },
            );
            Ok(Reply::status(202, None)
                .headers(vault_poll_headers(ctx, &vid, &op))
                .mutated())
        }
        m => Err(ArmError::method_not_allowed(m)),
    }
}

/// A protected item takes one change at a time: a PUT or DELETE while the previous one's operation
/// runs is refused with the code and message Microsoft documents for it (Microsoft Learn, Azure
/// Backup troubleshooting, "Common modify policy errors": BMSUserErrorConflictingProtectionOperation,
/// "Another configure protection operation is in progress for this item"), as a 409, ARM's status
/// for a conflicting concurrent write (azure-behaviour.md §1, RPC). An on-demand backup running on
/// the item does not block a protection change here (not documented either way).
fn busy(st: &State, item_key: &str, now: i64) -> Result<(), ArmError> {
    let running = st.ops.values().any(|o| {
        o.target_key.as_deref() == Some(item_key)
            && o.kind != "backup"
            && lro::phase(o, now) == Phase::Running
    });
    if running {
        return Err(ArmError::conflict(
            "BMSUserErrorConflictingProtectionOperation",
            "Another configure protection operation is in progress for this item.",
        ));
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn put_item(
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
    let error = ctx.lro_fails().then(|| json!({"code": "BMSInternalError", "message": "The protection operation failed (injected fault).", "status": 500}));

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
            let policy = st
                .policies
                .get(&key(&[&vk, &pname]))
                .filter(|_| prefix_ok)
                .cloned();
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
                    let in_vault = st.items.values().filter(|i| i.vault_key == vk).count();
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
                    let Some(vmrec) = st.vms.get(&key(&[&s, &vrg, &vname])).cloned() else {
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
                    let vm_arm = super::inventory::vm_id(
                        &vmrec.subscription,
                        &vmrec.resource_group,
                        &vmrec.name,
                    );
                    if let Some(other) = st
                        .items
                        .values()
                        .find(|i| eq(&i.vm_id, &vm_arm) && i.vault_key != vk)
                    {
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
                        data_id: format!(
                            "{}",
                            100_000_000_000u64
                                + (uuid::Uuid::new_v4().as_u128() % 900_000_000_000) as u64
                        ),
                    };
                    super::discovery::discover_on_protect(st, &vk, &item.vm_id);
                    kind = "protect";
                    duration = ctx.scaled(durations::PROTECT);
                }
            }
            item.policy_id = Some(format!("{vid}/backupPolicies/{}", policy.name));
            item.policy_name = Some(policy.name.clone());
        }
        if let Some(x) = p.get("extendedProperties").filter(|x| x.is_object()) {
            item.extended_properties = Some(x.clone());
        }
    }
    let job = super::jobs::new_job(
        st,
        &vk,
        job_op,
        &item.vm_name,
        ctx.now,
        duration,
        error.clone(),
    );
    if kind == "protect" && error.is_none() {
        super::jobs::new_job(
            st,
            &vk,
            "Backup",
            &item.vm_name,
            ctx.now + duration,
            ctx.scaled(durations::FIRST_BACKUP),
            None,
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

fn item_op(ctx: &Ctx<'_>, st: &mut State, v: &[String], status: bool) -> HResult {
    let vault = get_vault(st, &v[0], &v[1], &v[2])?.clone();
    let vid = vault.id();
    let op = find_op(st, &v[6])?;
    if status {
        let props = json!({"objectType": "OperationStatusJobExtendedInfo", "jobId": op.job_id});
        return Ok(super::backup::status_reply(ctx, &op, props));
    }
    let (rg, vm) = parse_names(&v[4], &v[5])?;
    let container = format!("iaasvmcontainer;iaasvmcontainerv2;{rg};{vm}").to_ascii_lowercase();
    let item_name = format!("vm;iaasvmcontainerv2;{rg};{vm}").to_ascii_lowercase();
    match lro::phase(&op, ctx.now) {
        Phase::Running => Ok(Reply::status(202, None)
            .headers(item_poll_headers(ctx, &vid, &container, &item_name, &op.id))),
        Phase::Failed => Err(op_failure(&op.error)),
        Phase::Succeeded => match op
            .target_key
            .as_ref()
            .and_then(|k| st.items.get(k))
            .filter(|_| op.result == "resource")
        {
            Some(it) => Ok(Reply::ok(item_body(st, &vault, it, ctx.now))),
            None => Ok(Reply::status(204, None)),
        },
    }
}

fn display_state(body: &Value) -> String {
    body["properties"]["protectionState"]
        .as_str()
        .unwrap_or("")
        .to_string()
}

fn list_items(ctx: &Ctx<'_>, st: &mut State, v: &[String]) -> HResult {
    if ctx.method != "GET" {
        return Err(ArmError::method_not_allowed(&ctx.method));
    }
    let vault = get_vault(st, &v[0], &v[1], &v[2])?.clone();
    let vk = vault.key();
    let filter = parse_filter(ctx.q("$filter"))?;
    // Filters on the item type are answered without rendering items, so that paging through a
    // large vault renders each item once, not once per page.
    let by_type = |k: &str| matches!(k, "backupmanagementtype" | "itemtype" | "workloadtype");
    if filter.iter().all(|(k, _)| by_type(k)) {
        let matches = filter.iter().all(|(k, val)| match k.as_str() {
            "backupmanagementtype" => eq(val, "AzureIaasVM"),
            _ => eq(val, "VM"),
        });
        let items: Vec<&super::state::Item> = st
            .items
            .values()
            .filter(|i| matches && i.vault_key == vk)
            .collect();
        let now = ctx.now;
        return Ok(Reply::ok(
            ctx.page_map(items, true, |i| item_body(st, &vault, i, now)),
        ));
    }
    let items: Vec<Value> = st
        .items
        .values()
        .filter(|i| i.vault_key == vk)
        .map(|i| item_body(st, &vault, i, ctx.now))
        .filter(|b| {
            filter.iter().all(|(k, val)| {
                let p = &b["properties"];
                match k.as_str() {
                    "backupmanagementtype" => eq(val, "AzureIaasVM"),
                    "itemtype" | "workloadtype" => eq(val, "VM"),
                    "policyname" => p["policyName"].as_str().is_some_and(|x| eq(x, val)),
                    "protectionstate" => eq(&display_state(b), val),
                    "friendlyname" => p["friendlyName"].as_str().is_some_and(|x| eq(x, val)),
                    "protectionstatus" => {
                        p["protectionStatus"].as_str().is_some_and(|x| eq(x, val))
                    }
                    _ => true,
                }
            })
        })
        .collect();
    Ok(Reply::ok(ctx.page(items, true)))
}

/// `POST …/protectedItems/{i}/backup` (on-demand backup, TriggerBackup_Post.json).
fn trigger_backup(ctx: &Ctx<'_>, st: &mut State, v: &[String]) -> HResult {
    if ctx.method != "POST" {
        return Err(ArmError::method_not_allowed(&ctx.method));
    }
    let vault = get_vault(st, &v[0], &v[1], &v[2])?.clone();
    let vk = vault.key();
    let (rg, vm) = parse_names(&v[4], &v[5])?;
    let container = format!("iaasvmcontainer;iaasvmcontainerv2;{rg};{vm}").to_ascii_lowercase();
    let item_name = format!("vm;iaasvmcontainerv2;{rg};{vm}").to_ascii_lowercase();
    let ik = key(&[&vk, &item_name]);
    let Some(it) = st.items.get(&ik).cloned() else {
        return Err(item_not_found(&item_name));
    };
    if it.deleted_ms.is_some() || it.state != "Protected" {
        // Not in the recordings or specs: see README "Known to differ".
        return Err(ArmError::bad_request(
            "BMSUserErrorInvalidOperationOnStoppedItem",
            "On-demand backup is only possible for items whose protection is active.",
        ));
    }
    let body = ctx.json()?;
    let ot = body["properties"]["objectType"].as_str().unwrap_or("");
    if !eq(ot, "IaasVMBackupRequest") {
        return Err(ArmError::bad_request(
            "BMSUserErrorInvalidInput",
            format!("properties.objectType must be IaasVMBackupRequest, got '{ot}'."),
        ));
    }
    let error = ctx.lro_fails().then(|| json!({"code": "BMSInternalError", "message": "The backup failed (injected fault).", "status": 500}));
    let duration = ctx.scaled(durations::FIRST_BACKUP);
    let job = super::jobs::new_job(
        st,
        &vk,
        "Backup",
        &it.vm_name,
        ctx.now,
        duration,
        error.clone(),
    );
    if error.is_none() {
        if let Some(x) = st.items.get_mut(&ik) {
            x.last_backup_ms = Some(ctx.now + duration);
        }
    }
    let op = lro::start(
        st,
        ctx.now,
        NewOp {
            kind: "backup",
            duration_ms: duration,
            error,
            vault_key: Some(vk),
            target_key: Some(ik),
            job_id: Some(job),
            result: "empty",
        },
    );
    Ok(Reply::status(202, None)
        .headers(item_poll_headers(
            ctx,
            &vault.id(),
            &container,
            &item_name,
            &op,
        ))
        .mutated())
}
