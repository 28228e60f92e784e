//! Restoring a Disk Backup point to a new managed disk (FACTS §7; recording
//! azure-cli-extensions/test_dataprotection_backup_instance_restore_disk.yaml): `POST
//! {bi}/validateRestore` with the request wrapped in `restoreRequestObject` (an operation that
//! fails with the reason when the restore would), then `POST {bi}/restore` with an
//! `AzureBackupRecoveryPointBasedRestoreRequest` — `recoveryPointId`, `sourceDataStoreType:
//! OperationalStore`, `restoreTargetInfo{datasourceInfo{resourceID: <new disk>}, recoveryOption:
//! FailIfExists, restoreLocation}` — whose operation result names the `Restore` job by its full
//! id; the job (`{vault}/backupJobs/{id}`) runs about 3.5 Azure minutes and its
//! `extendedInfo.recoveryDestination` is the new disk, created when it completes.
//!
//! UNCONFIRMED: the refusal codes (a point that does not exist, a disk that does, another region,
//! a missing resource group).

use serde_json::Value;

use super::super::errors::ArmError;
use super::super::handler::{Ctx, HResult, Reply};
use super::super::lro;
use super::super::state::{key, Disk, State};
use super::instances::{backup_identity, BackupIdentity};
use super::jobs::{Job, JobKind};
use super::{
    dpp_error, error_json, location_prefix, lro_headers, parse_disk_id, recovery_points, start_op,
    DppVault,
};

/// The recorded job took PT3M34S.
const RESTORE_SECS: f64 = 214.0;

/// What a restore request asks for, checked: the point, the new disk (subscription, group,
/// name) and its size, and the vault identity that restores.
struct Checked {
    point: String,
    point_ms: i64,
    target: (String, String, String),
    size_gb: u32,
    sku: String,
    identity: BackupIdentity,
}

fn bad(message: impl Into<String>) -> ArmError {
    dpp_error(400, "UserErrorInvalidRestoreRequest", message)
}

fn check(
    st: &State,
    vault: &DppVault,
    inst: &super::Instance,
    req: &Value,
    now: i64,
) -> Result<Checked, ArmError> {
    let ot = req["objectType"].as_str().unwrap_or_default();
    if !ot.eq_ignore_ascii_case("AzureBackupRecoveryPointBasedRestoreRequest") {
        return Err(bad(format!(
            "objectType must be AzureBackupRecoveryPointBasedRestoreRequest, got '{ot}'."
        )));
    }
    let rp = req["recoveryPointId"].as_str().unwrap_or_default();
    let point = recovery_points::points(inst, now)
        .into_iter()
        .find(|p| p.id.eq_ignore_ascii_case(rp))
        .ok_or_else(|| {
            dpp_error(
                404,
                "UserErrorRecoveryPointNotFound",
                format!("Recovery point '{rp}' was not found."),
            )
        })?;
    let t = &req["restoreTargetInfo"];
    let loc = t["restoreLocation"].as_str().unwrap_or_default();
    if !loc.replace(' ', "").eq_ignore_ascii_case(&vault.location) {
        return Err(bad(format!(
            "A disk is restored in its vault's region, {}, not '{loc}'.",
            vault.location
        )));
    }
    let target = t["datasourceInfo"]["resourceID"]
        .as_str()
        .unwrap_or_default();
    let Some((sub, rg, name)) = parse_disk_id(target) else {
        return Err(bad(format!("'{target}' is not a managed disk id.")));
    };
    if !st.resource_groups.contains_key(&key(&[&sub, &rg])) {
        return Err(bad(format!("The resource group '{rg}' was not found.")));
    }
    if st.disks.contains_key(&key(&[&sub, &rg, &name])) {
        return Err(dpp_error(
            409,
            "UserErrorDiskAlreadyExists",
            format!(
                "A disk named '{name}' already exists in '{rg}' (recoveryOption FailIfExists)."
            ),
        ));
    }
    // The identity that restores is the request's own `identityDetails` (spec dataprotection.json
    // `AzureBackupRestoreRequest.identityDetails`, an `IdentityDetails`: "If it is null, default
    // will be considered as System Assigned"), not the instance's: a restore for an instance that
    // backs up as a user-assigned identity names it again, or restores as the system-assigned
    // one. A user-assigned one must be attached to the vault, as for an instance.
    let identity = backup_identity(vault, &req["identityDetails"])?;
    let source = st.disks.get(&inst.disk_key);
    Ok(Checked {
        identity,
        point: point.id,
        point_ms: point.time_ms,
        target: (sub, rg, name),
        size_gb: source.map_or(32, |d| d.size_gb),
        sku: source.map_or_else(|| "Premium_LRS".into(), |d| d.sku.clone()),
    })
}

/// The restoring identity (the vault's system-assigned one, or the user-assigned one the request
/// names) must hold Disk Restore Operator (or Owner, Contributor) on the target resource group
/// (learn.microsoft.com/azure/backup/restore-managed-disks), counting only assignments that have
/// propagated. The code is the one validateForBackup answers for a missing role
/// (`instances.rs`); the message names the identity, the role and scope.
fn permitted(ctx: &Ctx<'_>, st: &State, c: &Checked) -> Result<(), ArmError> {
    use super::super::authorization::{has_role, DISK_RESTORE_OPERATOR};
    let (sub, rg, _) = &c.target;
    let scope = format!("/subscriptions/{sub}/resourceGroups/{rg}");
    let held = c.identity.principal.as_deref().is_some_and(|p| {
        has_role(
            st,
            p,
            DISK_RESTORE_OPERATOR,
            &scope,
            ctx.now,
            ctx.app.time_scale,
        )
    });
    if held {
        return Ok(());
    }
    Err(dpp_error(
        400,
        "UserErrorMissingRequiredPermissions",
        format!(
            "Appropriate permissions to perform the operation is missing. {} needs 'Disk Restore Operator' on the target resource group {scope}.",
            c.identity.describe()
        ),
    ))
}

/// `POST {bi}/validateRestore` and `POST {bi}/restore`.
pub fn route(
    ctx: &Ctx<'_>,
    st: &mut State,
    vault: &DppVault,
    inst: &super::Instance,
    bi_id: &str,
    validate_only: bool,
) -> HResult {
    if ctx.method != "POST" {
        return Err(ArmError::method_not_allowed(&ctx.method));
    }
    let body = ctx.json()?;
    let req = if validate_only {
        &body["restoreRequestObject"]
    } else {
        &body
    };
    let loc = location_prefix(&vault.subscription, &vault.location);
    if validate_only {
        // A validation answers through its operation: failed, with the reason, when the restore
        // would fail.
        let error = check(st, vault, inst, req, ctx.now)
            .and_then(|c| permitted(ctx, st, &c))
            .err()
            .map(|e| error_json(&e.code, &e.message));
        let op = start_op(
            st,
            ctx,
            "dpp:validateRestore",
            10.0,
            error,
            None,
            None,
            "job",
        );
        return Ok(Reply::status(202, None)
            .headers(lro_headers(ctx, &vault.id(), Some(&loc), &op))
            .mutated());
    }
    let c = check(st, vault, inst, req, ctx.now)?;
    permitted(ctx, st, &c)?;
    let job_name = uuid::Uuid::new_v4().to_string();
    let job_id = format!("{}/backupJobs/{job_name}", vault.id());
    let duration = ctx.scaled(RESTORE_SECS);
    let failed = ctx.lro_fails().then(|| {
        error_json(
            "UserErrorRestoreFailed",
            "The restore failed (injected fault).",
        )
    });
    let (sub, rg, name) = c.target.clone();
    let destination = super::super::inventory::disk_id(&sub, &rg, &name);
    if failed.is_none() {
        st.restores
            .push(super::super::protection::restore::Pending {
                done_ms: ctx.now + duration,
                effect: super::super::protection::restore::Effect::Disks {
                    disks: vec![Disk {
                        subscription: sub.clone(),
                        resource_group: rg.clone(),
                        location: vault.location.clone(),
                        size_gb: c.size_gb,
                        sku: c.sku.clone(),
                        zone: None,
                        tags: Default::default(),
                        unique_id: super::super::inventory::stable_guid(&destination),
                        os_type: None,
                        managed_by: None,
                        time_created: lro::fmt_time(ctx.now + duration),
                        source_resource_id: Some(format!("{bi_id}/recoveryPoints/{}", c.point)),
                        name,
                    }],
                },
            });
    }
    super::jobs::insert(
        st,
        Job {
            kind: JobKind::Restore,
            id: job_id.clone(),
            vault_key: vault.key(),
            instance_id: bi_id.to_string(),
            disk_id: inst.disk_id.clone(),
            destination,
            point: c.point,
            point_ms: c.point_ms,
            start_ms: ctx.now,
            duration_ms: duration,
            failed,
            facts: Value::Null,
        },
    );
    // The operation ends once the job exists; its result names the job by its full id.
    let op = start_op(st, ctx, "dpp:restore", 2.0, None, None, Some(job_id), "job");
    Ok(Reply::status(202, None)
        .headers(lro_headers(ctx, &vault.id(), Some(&loc), &op))
        .mutated())
}
