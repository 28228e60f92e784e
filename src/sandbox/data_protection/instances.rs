//! Backup instances (`backupVaults/{v}/backupInstances/{i}`) for Azure Disks and
//! `validateForBackup` (the instance actions are in `actions`).
//!
//! State machine (`currentProtectionState` / `protectionStatus.status`):
//! PUT → `ConfiguringProtection` (CONFIGURE, 60 Azure s) → `ProtectionConfigured`; the PUT's
//! operation ends after a second, while configuring goes on (DPP create_backup_delete_disk
//! #11–#18: `provisioningState` `Provisioning` in the PUT's answer, `Succeeded` once the
//! operation has). When the instance's identity lacks its roles at PUT time the operation still
//! succeeds and configuring ends in `ProtectionError`, with the code Microsoft's Disk Backup
//! troubleshooting page gives for the role that is missing (what azurerm users of blob
//! instances meet waiting for `ProtectionConfigured`, terraform-provider-azurerm issues 15844
//! and 30863; the recordings hold no such failure); `sync` (or a PUT again) configures again,
//! keeping the points taken before. An injected operation fault fails the operation and leaves
//! `ConfiguringProtectionFailed`. `stopProtection` →
//! `ProtectionStopped` (points kept forever), `suspendBackups` → `BackupsSuspended`
//! (points expire per policy), `resumeProtection`/`resumeBackups` → `ProtectionConfigured`.
//! DELETE with vault soft delete On/AlwaysOn → `SoftDeleted` (points kept until the vault's soft
//! delete retention passes, then purged): gone from `backupInstances`, served by `deleted` until
//! then, and no longer holding its disk (another vault may protect it); with soft delete Off the
//! instance goes at once.
//! A PUT that changes `policyInfo.policyId` moves the instance to the new policy; existing points
//! keep the retention they were taken with.
//! An instance backs up as the vault's system-assigned identity, or as one of the vault's
//! user-assigned identities that its `identityDetails` names (`useSystemAssignedIdentity`
//! false, `userAssignedIdentityArmUrl`): that identity's roles count, and a PUT that switches
//! identity configures again.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::super::authorization::{self, DISK_BACKUP_READER, DISK_SNAPSHOT_CONTRIBUTOR};
use super::super::errors::ArmError;
use super::super::handler::{prop, Ctx, HResult, Reply};
use super::super::state::{key, State};
use super::policies::{self, Schedule};
use super::vaults::{get_vault, DppVault};
use super::{
    dpp_error, durations, error_json, location_prefix, lro_headers, parse_disk_id, parse_rg_id,
    recovery_points, start_op, BV,
};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Segment {
    pub start_ms: i64,
    pub end_ms: Option<i64>,
    pub interval_ms: i64,
    pub retention_ms: i64,
    pub policy_name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Instance {
    pub vault_key: String,
    pub name: String,
    /// The client's `properties` (dataSourceInfo, policyInfo, friendlyName, objectType).
    pub properties: Value,
    pub disk_key: String,
    pub disk_id: String,
    pub snapshot_rg_id: String,
    /// Configuration completes at this time.
    pub ready_ms: i64,
    /// The last PUT's operation ends at this time (`provisioningState` `Provisioning` until then).
    #[serde(default)]
    pub provisioned_ms: i64,
    /// `UserFacingError` when configuring failed: `ProtectionError`, or
    /// `ConfiguringProtectionFailed` when the operation itself failed (`operation_failed`).
    pub error: Option<Value>,
    #[serde(default)]
    pub operation_failed: bool,
    /// `Active`, `Stopped`, `Suspended`.
    pub state: String,
    pub segments: Vec<Segment>,
    /// Ad-hoc backups: (time, retention, policy name).
    #[serde(default)]
    pub adhoc: Vec<(i64, i64, String)>,
    pub deleted_ms: Option<i64>,
    pub purge_ms: Option<i64>,
    /// When protection was stopped: points alive then are kept forever.
    #[serde(default)]
    pub stopped_ms: Option<i64>,
    /// The request's `tags`, kept and answered as sent (DPP create_backup_delete_disk #11–#14).
    #[serde(default)]
    pub tags: Option<Value>,
}

impl Instance {
    /// End the open schedule segment (protection stops, the policy changes, the instance goes).
    pub fn close_segment(&mut self, now: i64) {
        if let Some(last) = self.segments.last_mut() {
            last.end_ms.get_or_insert(now);
        }
    }

    pub fn policy_id(&self) -> String {
        self.properties["policyInfo"]["policyId"]
            .as_str()
            .unwrap_or("")
            .to_string()
    }
}

pub(super) fn current_state(i: &Instance, now: i64) -> (&'static str, &'static str, &'static str) {
    // (currentProtectionState, protectionStatus.status, provisioningState)
    if i.deleted_ms.is_some() {
        return ("SoftDeleted", "SoftDeleted", "Succeeded");
    }
    if now < i.ready_ms {
        let provisioning = if now < i.provisioned_ms {
            "Provisioning"
        } else {
            "Succeeded"
        };
        return (
            "ConfiguringProtection",
            "ConfiguringProtection",
            provisioning,
        );
    }
    if i.error.is_some() {
        if i.operation_failed {
            return (
                "ConfiguringProtectionFailed",
                "ConfiguringProtectionFailed",
                "Failed",
            );
        }
        // Not in the recordings or specs: see README "Known to differ".
        return ("ProtectionError", "ProtectionError", "Succeeded");
    }
    match i.state.as_str() {
        "Stopped" => ("ProtectionStopped", "ProtectionStopped", "Succeeded"),
        // Both `BackupsSuspended` (azure-cli-extensions dataprotection
        // test_dataprotection_backup_instance_update_protection.yaml #15; not the spec's
        // `BackupSchedulesSuspended`).
        "Suspended" => ("BackupsSuspended", "BackupsSuspended", "Succeeded"),
        _ => ("ProtectionConfigured", "ProtectionConfigured", "Succeeded"),
    }
}

pub(super) fn bi_id(st: &State, i: &Instance) -> String {
    let v = st
        .data_protection
        .vaults
        .get(&i.vault_key)
        .map(|v| v.id())
        .unwrap_or_default();
    format!("{v}/backupInstances/{}", i.name)
}

pub fn body(st: &State, i: &Instance, now: i64) -> Value {
    let (cps, ps, prov) = current_state(i, now);
    let mut p = i.properties.clone();
    p["currentProtectionState"] = json!(cps);
    p["protectionStatus"] = json!({"status": ps});
    p["provisioningState"] = json!(prov);
    p["objectType"] = json!("BackupInstance");
    if let Some(e) = i.error.as_ref().filter(|_| now >= i.ready_ms) {
        p["protectionErrorDetails"] = e.clone();
        p["protectionStatus"]["errorDetails"] = e.clone();
    }
    let mut b = json!({
        "id": bi_id(st, i),
        "name": i.name,
        "type": "Microsoft.DataProtection/backupVaults/backupInstances",
        "properties": p,
    });
    if let Some(t) = &i.tags {
        b["tags"] = t.clone();
    }
    b
}

/// What a valid backup-instance request resolves to.
pub(super) struct Checked {
    disk_key: String,
    disk_id: String,
    snapshot_rg_id: String,
    schedule: Schedule,
    policy_name: String,
    /// The identity the instance backs up with (`identityDetails`).
    identity: BackupIdentity,
}

/// The vault identity an instance (or a restore) acts as, from its `identityDetails`.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct BackupIdentity {
    /// The user-assigned identity's id as sent; `None`: the vault's system-assigned identity.
    pub user: Option<String>,
    /// The principal whose role assignments count (`None`: a vault with no system-assigned
    /// identity, which holds no role).
    pub principal: Option<String>,
}

impl BackupIdentity {
    /// Who needs the roles, for an error message.
    pub fn describe(&self) -> String {
        match &self.user {
            Some(id) => format!("The user-assigned managed identity '{id}'"),
            None => "The backup vault's managed identity".to_string(),
        }
    }
}

/// The user-assigned identity `identityDetails` names, as sent: spec dataprotection.json
/// `IdentityDetails` (`useSystemAssignedIdentity`, `userAssignedIdentityArmUrl`), sent inside the
/// instance's properties (the recorded validateForBackup, test_dataprotection_backup_instance_
/// uami_create_update #23, "UAMI" in FACTS; the spec's PutBackupInstance example) and in a
/// restore request (`AzureBackupRestoreRequest.identityDetails`). `None` unless
/// `useSystemAssignedIdentity` is `false`: "If it is null, default will be considered as System
/// Assigned" (the spec on both); `Some("")` when `false` names no identity.
pub(super) fn named_user_identity(details: &Value) -> Option<&str> {
    (details["useSystemAssignedIdentity"].as_bool() == Some(false))
        .then(|| details["userAssignedIdentityArmUrl"].as_str().unwrap_or(""))
}

/// Resolve `identityDetails` against `vault`: a user-assigned identity must be attached to the
/// vault (its id in any case). The refusal's message is the one Azure answered an SDK user
/// (Azure/azure-sdk-for-net issue 47031, 2024-11, a UserFacingError); its code is not known.
pub(super) fn backup_identity(
    vault: &DppVault,
    details: &Value,
) -> Result<BackupIdentity, ArmError> {
    let Some(user) = named_user_identity(details) else {
        return Ok(BackupIdentity {
            user: None,
            principal: vault.principal_id(),
        });
    };
    if user.is_empty() {
        // Not in the recordings or specs: see README "Known to differ".
        return Err(bad(
            "UserErrorInvalidRequestParameter",
            "identityDetails.userAssignedIdentityArmUrl is required when identityDetails.useSystemAssignedIdentity is false.",
        ));
    }
    let Some(principal) = vault.user_principal_id(user) else {
        // Not in the recordings or specs: see README "Known to differ".
        return Err(bad(
            "UserErrorUserIdentityNotAttachedToVault",
            "The User Identity provided in input is not attached to the Backup Vault. Please attach the User Identity to the Backup Vault first and then perform any backup or restore related operations.",
        ));
    };
    Ok(BackupIdentity {
        user: Some(user.to_string()),
        principal: Some(principal),
    })
}

/// 202 for the operation `op` of an instance: its status under the vault, its result in the
/// vault's region (DPP create_backup_delete_disk #1, #19, #41).
pub(super) fn accepted(ctx: &Ctx<'_>, vault: &DppVault, op: &str) -> HResult {
    let results = location_prefix(&vault.subscription, &vault.location);
    Ok(Reply::status(202, None)
        .headers(lro_headers(ctx, &vault.id(), Some(&results), op))
        .mutated())
}

pub(super) fn bad(code: &str, message: impl Into<String>) -> ArmError {
    dpp_error(400, code, message)
}

/// Checks Azure makes synchronously (shape, disk, policy, region, snapshot RG, already
/// protected, the identity of `identityDetails`). `instance_key` is the instance being
/// (re)configured, if any.
pub(super) fn check(
    st: &State,
    vault: &DppVault,
    props: &Value,
    instance_key: Option<&str>,
) -> Result<Checked, ArmError> {
    if props["objectType"].as_str() != Some("BackupInstance") {
        return Err(bad(
            "UserErrorInvalidRequestParameter",
            "properties.objectType must be 'BackupInstance'.",
        )); // Not in the recordings or specs: see README "Known to differ".
    }
    let ds = &props["dataSourceInfo"];
    if !ds["datasourceType"]
        .as_str()
        .is_some_and(|t| t.eq_ignore_ascii_case("Microsoft.Compute/disks"))
    {
        return Err(bad("UserErrorInvalidRequestParameter", "The sandbox models Azure Disk Backup only: dataSourceInfo.datasourceType must be 'Microsoft.Compute/disks'."));
        // Not in the recordings or specs: see README "Known to differ".
    }
    let rid = prop(ds, "resourceID").as_str().unwrap_or("");
    let Some((dsub, drg, dname)) = parse_disk_id(rid) else {
        return Err(bad(
            "UserErrorInvalidRequestParameter",
            format!("dataSourceInfo.resourceID '{rid}' is not a managed disk id."),
        )); // Not in the recordings or specs: see README "Known to differ".
    };
    let disk_key = key(&[&dsub, &drg, &dname]);
    let Some(disk) = st.disks.get(&disk_key) else {
        // Not in the recordings or specs: see README "Known to differ".
        return Err(bad(
            "UserErrorDppDatasourceNotFound",
            format!("The datasource '{rid}' was not found. Please check that the disk exists."),
        ));
    };
    if !disk.location.eq_ignore_ascii_case(&vault.location) {
        // Not in the recordings or specs: see README "Known to differ".
        return Err(bad("UserErrorDppDatasourceAndVaultRegionMismatch", format!("The disk is in region '{}' but the backup vault is in '{}'. The backup vault must be in the same region as the disk.", disk.location, vault.location)));
    }
    let pid = props["policyInfo"]["policyId"].as_str().unwrap_or("");
    let prefix = format!("{}/backupPolicies/", vault.id()).to_ascii_lowercase();
    let pname = pid
        .to_ascii_lowercase()
        .strip_prefix(&prefix)
        .map(|s| s.to_string());
    let Some(policy) =
        pname.and_then(|n| st.data_protection.policies.get(&key(&[&vault.key(), &n])))
    else {
        return Err(bad(
            "UserErrorDppPolicyNotFound",
            format!("The backup policy '{pid}' was not found in this backup vault."),
        )); // Not in the recordings or specs: see README "Known to differ".
    };
    let schedule = policies::parse(&policy.properties)?;
    if (disk.sku.starts_with("PremiumV2") || disk.sku.starts_with("Ultra"))
        && schedule.interval_hours < 12
    {
        // Not in the recordings or specs: see README "Known to differ".
        return Err(bad("UserErrorUnsupportedBackupFrequency", format!("Disks of SKU '{}' support only 12-hourly or daily backups; policy '{}' backs up every {} hours.", disk.sku, policy.name, schedule.interval_hours)));
    }
    let params = props["policyInfo"]["policyParameters"]["dataStoreParametersList"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let ops = params.iter().find(|p| {
        p["objectType"] == "AzureOperationalStoreParameters"
            && p["dataStoreType"] == "OperationalStore"
    });
    let srg = ops
        .and_then(|p| p["resourceGroupId"].as_str())
        .unwrap_or("");
    let Some((ssub, srgn)) = parse_rg_id(srg) else {
        return Err(bad("UserErrorInvalidRequestParameter", "policyInfo.policyParameters.dataStoreParametersList needs an AzureOperationalStoreParameters entry (OperationalStore) with the snapshot resourceGroupId."));
        // Not in the recordings or specs: see README "Known to differ".
    };
    if !ssub.eq_ignore_ascii_case(&dsub) {
        // Not in the recordings or specs: see README "Known to differ".
        return Err(bad(
            "UserErrorSnapshotResourceGroupInDifferentSubscription",
            "The snapshot resource group must be in the same subscription as the disk.",
        ));
    }
    if st.rg(&ssub, &srgn).is_none() {
        return Err(bad(
            "UserErrorResourceGroupNotFound",
            format!("Snapshot resource group '{srgn}' could not be found."),
        )); // Not in the recordings or specs: see README "Known to differ".
    }
    if let Some(other) = live_holder(st, &disk_key, instance_key) {
        let owner = st
            .data_protection
            .vaults
            .get(&other.vault_key)
            .map(|v| v.id())
            .unwrap_or_default();
        return Err(bad(
            "UserErrorDppDatasourceAlreadyProtected",
            format!("Datasource is already protected under the Backup vault {owner}."),
        ));
    }
    let identity = backup_identity(vault, &props["identityDetails"])?;
    Ok(Checked {
        disk_key,
        disk_id: rid.to_string(),
        snapshot_rg_id: srg.to_string(),
        schedule,
        policy_name: policy.name.clone(),
        identity,
    })
}

/// The instance (not soft-deleted, not the one keyed `except`) that protects the disk keyed
/// `disk_key`: a soft-deleted instance holds its disk no more (DPSD #12–#26, `deleted`).
pub(super) fn live_holder<'a>(
    st: &'a State,
    disk_key: &str,
    except: Option<&str>,
) -> Option<&'a Instance> {
    (st.data_protection.instances.iter())
        .find(|(k, i)| {
            i.disk_key == disk_key && i.deleted_ms.is_none() && Some(k.as_str()) != except
        })
        .map(|(_, i)| i)
}

/// Which of its two roles the instance's identity lacks (after propagation): on the disk, on the
/// snapshot resource group. The identity is the vault's system-assigned one, or the user-assigned
/// one `identityDetails` names, whose roles Azure's CLI checks for it (`update-msi-permissions
/// --uami`, recording test_dataprotection_backup_instance_uami_create_update #10–#21: Disk
/// Backup Reader on the disk, Disk Snapshot Contributor on the snapshot resource group).
fn lacking(ctx: &Ctx<'_>, st: &State, c: &Checked) -> (bool, bool) {
    let scale = ctx.app.time_scale;
    let missing = |role: &str, scope: &str| match &c.identity.principal {
        Some(p) => !authorization::has_role(st, p, role, scope, ctx.now, scale),
        None => true,
    };
    (
        missing(DISK_BACKUP_READER, &c.disk_id),
        missing(DISK_SNAPSHOT_CONTRIBUTOR, &c.snapshot_rg_id),
    )
}

/// `validateForBackup`'s permission check.
fn permission_error(ctx: &Ctx<'_>, st: &State, c: &Checked) -> Option<Value> {
    let (disk, group) = lacking(ctx, st, c);
    let mut lacks = vec![];
    if disk {
        lacks.push(format!("'Disk Backup Reader' on the disk {}", c.disk_id));
    }
    if group {
        lacks.push(format!(
            "'Disk Snapshot Contributor' on the snapshot resource group {}",
            c.snapshot_rg_id
        ));
    }
    if lacks.is_empty() {
        return None;
    }
    // Code from the Data Protection REST docs; message wording not confirmed (README "Known to differ").
    Some(error_json(
        "UserErrorMissingRequiredPermissions",
        &format!(
            "Appropriate permissions to perform the operation is missing. {} needs {}.",
            c.identity.describe(),
            lacks.join(" and ")
        ),
    ))
}

/// How configuring fails for want of a role: the codes and messages of Microsoft Learn's
/// "Troubleshooting backup failures in Azure Disk Backup". Which one Azure gives when is not
/// recorded: see README "Known to differ".
fn configuration_error(ctx: &Ctx<'_>, st: &State, c: &Checked) -> Option<Value> {
    let (code, message) = match lacking(ctx, st, c) {
        (false, false) => return None,
        (true, false) => ("UserErrorNotEnoughPermissionOnDisk", "Azure Backup Service requires additional permissions on the Disk to do this operation."),
        (false, true) => ("UserErrorNotEnoughPermissionOnSnapshotRG", "Azure Backup Service requires additional permissions on the Snapshot Data store Resource Group to do this operation."),
        (true, true) => ("UserErrorDiskBackupAuthorizationFailed", "Backup Vault managed identity is missing the necessary permissions to do this operation."),
    };
    Some(error_json(code, message))
}

/// A schedule segment of the checked policy from `start_ms`.
pub(super) fn segment(ctx: &Ctx<'_>, c: &Checked, start_ms: i64) -> Segment {
    Segment {
        start_ms,
        end_ms: None,
        interval_ms: ctx.scaled(c.schedule.interval_hours as f64 * 3600.0).max(1),
        retention_ms: ctx
            .scaled(c.schedule.retention_hours as f64 * 3600.0)
            .max(1),
        policy_name: c.policy_name.clone(),
    }
}

/// Start configuring protection (a new instance, one whose configuration failed, PUT again or
/// synced, or one PUT with another identity): done after CONFIGURE, in `ProtectionError` if the
/// instance's identity lacks its roles now. The points taken before stay; no backup runs while
/// configuring, nor after it failed.
pub(super) fn configure(ctx: &Ctx<'_>, st: &State, c: &Checked, inst: &mut Instance) {
    inst.ready_ms = ctx.now + ctx.scaled(durations::CONFIGURE);
    inst.operation_failed = false;
    inst.error = configuration_error(ctx, st, c);
    inst.close_segment(ctx.now);
    if inst.error.is_none() {
        inst.segments.push(segment(ctx, c, inst.ready_ms));
        inst.state = "Active".into();
    }
}

pub fn route(ctx: &Ctx<'_>, st: &mut State) -> Option<HResult> {
    // Purge soft-deleted instances whose retention passed.
    if st
        .data_protection
        .instances
        .values()
        .any(|i| i.purge_ms.is_some_and(|p| ctx.now >= p))
    {
        st.data_protection
            .instances
            .retain(|_, i| i.purge_ms.is_none_or(|p| ctx.now < p));
    }
    if let Some(v) = ctx.m(&format!("{BV}/validateforbackup")) {
        return Some(validate(ctx, st, &v));
    }
    if let Some(v) = ctx.m(&format!("{BV}/backupinstances")) {
        return Some((|| {
            if ctx.method != "GET" {
                return Err(ArmError::method_not_allowed(&ctx.method));
            }
            let vk = get_vault(st, &v[0], &v[1], &v[2])?.key();
            let items = st
                .data_protection
                .instances
                .values()
                .filter(|i| i.vault_key == vk && i.deleted_ms.is_none())
                .map(|i| body(st, i, ctx.now))
                .collect();
            Ok(Reply::ok(ctx.page(items, true)))
        })());
    }
    if let Some(v) = ctx.m(&format!("{BV}/backupinstances/*")) {
        return Some(instance(ctx, st, &v));
    }
    if let Some(v) = ctx.m(&format!("{BV}/backupinstances/*/recoverypoints")) {
        return Some(rps(ctx, st, &v, None));
    }
    if let Some(v) = ctx.m(&format!("{BV}/backupinstances/*/recoverypoints/*")) {
        return Some(rps(ctx, st, &v[..4], Some(&v[4])));
    }
    for (what, validate) in [("validaterestore", true), ("restore", false)] {
        if let Some(v) = ctx.m(&format!("{BV}/backupinstances/*/{what}")) {
            return Some((|| {
                let (vault, inst) = get_instance(st, &v)?;
                let (inst, id) = (inst.clone(), bi_id(st, inst));
                super::restore::route(ctx, st, &vault, &inst, &id, validate)
            })());
        }
    }
    if let Some(v) = ctx.m(&format!("{BV}/backupinstances/*/*")) {
        return Some(super::actions::route(ctx, st, &v));
    }
    None
}

pub(super) fn get_instance<'a>(
    st: &'a State,
    v: &[String],
) -> Result<(DppVault, &'a Instance), ArmError> {
    let vault = get_vault(st, &v[0], &v[1], &v[2])?.clone();
    let ik = key(&[&vault.key(), &v[3]]);
    match st.data_protection.instances.get(&ik) {
        Some(i) if i.deleted_ms.is_none() => Ok((vault, i)),
        _ => Err(ArmError::resource_not_found(
            "Microsoft.DataProtection/backupVaults/backupInstances",
            &v[1],
            &format!("{}/{}", v[2], v[3]),
        )),
    }
}

fn rps(ctx: &Ctx<'_>, st: &State, v: &[String], one: Option<&str>) -> HResult {
    if ctx.method != "GET" {
        return Err(ArmError::method_not_allowed(&ctx.method));
    }
    let (_, inst) = get_instance(st, v)?;
    let id = bi_id(st, inst);
    let points = recovery_points::points(inst, ctx.now);
    match one {
        Some(name) => points
            .iter()
            .find(|p| p.id.eq_ignore_ascii_case(name))
            .map(|p| {
                Reply::ok(recovery_points::body(
                    &id,
                    p,
                    recovery_points::meta_data(st, inst, p),
                ))
            })
            .ok_or_else(|| {
                dpp_error(
                    404,
                    "UserErrorRecoveryPointNotFound",
                    format!("Recovery point '{name}' was not found."),
                )
            }), // Not in the recordings or specs: see README "Known to differ".
        None => Ok(Reply::ok(
            ctx.page(
                points
                    .iter()
                    .map(|p| recovery_points::body(&id, p, Value::Null))
                    .collect(),
                true,
            ),
        )),
    }
}

fn validate(ctx: &Ctx<'_>, st: &mut State, v: &[String]) -> HResult {
    if ctx.method != "POST" {
        return Err(ArmError::method_not_allowed(&ctx.method));
    }
    let vault = get_vault(st, &v[0], &v[1], &v[2])?.clone();
    let req = ctx.json()?;
    let props = &req["backupInstance"];
    if !props.is_object() {
        return Err(ArmError::invalid_json("'backupInstance' is required"));
    }
    let error = match check(st, &vault, props, None) {
        Err(e) => Some(error_json(&e.code, &e.message)),
        Ok(c) => permission_error(ctx, st, &c),
    };
    let op = start_op(
        st,
        ctx,
        "dpp:validate",
        durations::VALIDATE,
        error,
        None,
        None,
        "job",
    );
    let loc = location_prefix(&vault.subscription, &vault.location);
    Ok(Reply::status(202, None)
        .headers(lro_headers(ctx, &vault.id(), Some(&loc), &op))
        .mutated())
}

fn instance(ctx: &Ctx<'_>, st: &mut State, v: &[String]) -> HResult {
    match ctx.method.as_str() {
        "GET" => {
            let (_, i) = get_instance(st, v)?;
            Ok(Reply::ok(body(st, i, ctx.now)))
        }
        "PUT" => {
            let vault = get_vault(st, &v[0], &v[1], &v[2])?.clone();
            let ik = key(&[&vault.key(), &v[3]]);
            let req = ctx.json()?;
            let mut props = req["properties"].clone();
            if let Some(o) = props.as_object_mut() {
                for f in [
                    "currentProtectionState",
                    "protectionStatus",
                    "provisioningState",
                    "protectionErrorDetails",
                ] {
                    o.remove(f);
                }
            } else {
                return Err(ArmError::invalid_json("'properties' must be an object"));
            }
            let c = check(st, &vault, &props, Some(&ik))?;
            let fault = ctx.lro_fails().then(|| {
                json!({"code": "InternalServerError", "message": "Configuring protection failed (injected fault). Retry the operation."})
            });
            let existing = st.data_protection.instances.get(&ik).cloned();
            if let Some(e) = &existing {
                if e.deleted_ms.is_some() {
                    // Not in the recordings or specs: see README "Known to differ".
                    return Err(bad("UserErrorBackupInstanceSoftDeleted", "The backup instance is in soft-deleted state. Undelete it before modifying protection."));
                }
                if !e.disk_key.eq(&c.disk_key) {
                    return Err(bad(
                        "UserErrorInvalidRequestParameter",
                        "The datasource of an existing backup instance cannot be changed.",
                    )); // Not in the recordings or specs: see README "Known to differ".
                }
            }
            let created = existing.is_none();
            let mut inst = existing.unwrap_or(Instance {
                vault_key: vault.key(),
                name: v[3].clone(),
                properties: json!({}),
                disk_key: c.disk_key.clone(),
                disk_id: c.disk_id.clone(),
                snapshot_rg_id: c.snapshot_rg_id.clone(),
                ready_ms: 0,
                provisioned_ms: 0,
                error: None,
                operation_failed: false,
                state: "Active".into(),
                segments: vec![],
                adhoc: vec![],
                deleted_ms: None,
                purge_ms: None,
                stopped_ms: None,
                tags: None,
            });
            if req.get("tags").is_some_and(Value::is_object) {
                inst.tags = Some(req["tags"].clone());
            }
            if props["friendlyName"].is_null() {
                props["friendlyName"] = json!(c.disk_id.rsplit('/').next().unwrap_or(""));
            }
            let policy_changed = !inst
                .policy_id()
                .eq_ignore_ascii_case(props["policyInfo"]["policyId"].as_str().unwrap_or(""));
            // Another identity (system ⇄ user-assigned, or another user-assigned one) must hold
            // the roles in turn: configured anew, as a failed configuration is.
            let identity_of =
                |p: &Value| named_user_identity(&p["identityDetails"]).map(str::to_ascii_lowercase);
            let identity_changed = !created && identity_of(&inst.properties) != identity_of(&props);
            inst.properties = props;
            inst.snapshot_rg_id = c.snapshot_rg_id.clone();
            // A new instance's operation ends within a second; an update's longer.
            let secs = if created {
                durations::INSTANCE_PUT
            } else {
                durations::INSTANCE_UPDATE
            };
            inst.provisioned_ms = ctx.now + ctx.scaled(secs);
            if let Some(f) = &fault {
                inst.error = Some(f.clone());
                inst.operation_failed = true;
                inst.ready_ms = inst.provisioned_ms;
            } else if inst.error.is_some()
                || inst.segments.is_empty()
                || (identity_changed && inst.state == "Active")
            {
                configure(ctx, st, &c, &mut inst);
            } else if policy_changed && inst.state == "Active" {
                inst.close_segment(ctx.now);
                inst.segments.push(segment(ctx, &c, ctx.now));
            }
            let vault_id = vault.id();
            let op = start_op(
                st,
                ctx,
                "dpp:instancePut",
                secs,
                fault,
                Some(ik.clone()),
                None,
                "instance",
            );
            let b = body(st, &inst, ctx.now);
            let instance_id = bi_id(st, &inst);
            st.data_protection.instances.insert(ik, inst);
            // A creation: Azure-AsyncOperation only, the recorded create has no Location (DPP
            // create_backup_delete_disk #11), as the spec's final-state-via says. An update: a
            // Location under the instance's own operationResults too (DPP update_policy, 2026,
            // a blob instance).
            let results = (!created).then_some(instance_id.as_str());
            let h = lro_headers(ctx, &vault_id, results, &op);
            if created {
                Ok(Reply::status(201, Some(b)).headers(h).mutated())
            } else {
                Ok(Reply::status(202, None).headers(h).mutated())
            }
        }
        "DELETE" => {
            let vault = get_vault(st, &v[0], &v[1], &v[2])?.clone();
            let ik = key(&[&vault.key(), &v[3]]);
            // Nothing there, or only soft-deleted (gone from this collection): 204 (DPSD #0).
            let Some(inst) =
                (st.data_protection.instances.get_mut(&ik)).filter(|i| i.deleted_ms.is_none())
            else {
                return Ok(Reply::status(204, None));
            };
            let sd = &vault.properties["securitySettings"]["softDeleteSettings"];
            let soft = sd["state"].as_str().is_some_and(|s| s != "Off");
            if soft {
                let days = sd["retentionDurationInDays"].as_f64().unwrap_or(14.0);
                inst.deleted_ms = Some(ctx.now);
                inst.purge_ms = Some(ctx.now + ctx.scaled(days * 86400.0));
                inst.close_segment(ctx.now);
            } else {
                st.data_protection.instances.remove(&ik);
            }
            let op = start_op(
                st,
                ctx,
                "dpp:instanceDelete",
                durations::INSTANCE_DELETE,
                None,
                None,
                None,
                "empty",
            );
            accepted(ctx, &vault, &op)
        }
        m => Err(ArmError::method_not_allowed(m)),
    }
}
