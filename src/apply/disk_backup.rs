//! Disk Backup changes that need a live read or a wait, not just a fixed list of requests:
//! role assignments (the principal id of the identity the vault's disks back up with is read
//! from the vault at apply time)
//! and backup instances (`validateForBackup`, then the PUT and the wait for Data Protection to
//! configure the instance, retried while new role assignments propagate; `resumeProtection` /
//! `resumeBackups` for a stopped or suspended instance).
//!
//! The retry decision is the pure [`propagation_retry`]; sleeping happens in
//! `retry_while_propagating`.

use super::{Failure, Heard};
use crate::azure::memo::Memo;
use crate::azure::{ArmClient, AzureError};
use crate::model::disk_backup::{instance, role};
use crate::model::ItemState;
use crate::model::{ArmId, ArmRequest, Resource, ResourceKind};
use crate::plan::{Action, Change};
use serde_json::Value;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::Duration;

/// (Backup vault id, user-assigned identity id or none), lower case → the principal id of the
/// identity the vault's disks back up with, read once per apply however many role assignments
/// the vault needs (a vault protecting 500 disks would otherwise be read 500 times). Only a
/// successful read is kept: a vault without identity yet is read again.
#[derive(Default)]
pub struct Principals(Memo<(String, String), String>);

impl Principals {
    async fn of(
        &self,
        client: &ArmClient,
        vault_id: &str,
        user_identity: Option<&str>,
    ) -> Result<String, Failure> {
        let key = (
            vault_id.to_ascii_lowercase(),
            user_identity.unwrap_or_default().to_ascii_lowercase(),
        );
        (self.0)
            .get(key, || read_principal(client, vault_id, user_identity))
            .await
    }
}

/// Longest wait for a vault that is updating to fill in its user-assigned identity's principal.
const IDENTITY_DEADLINE: Duration = Duration::from_secs(5 * 60);

/// GET the vault for the principal id of its own identity, or of its user-assigned identity
/// `user_identity` — read again while the vault is updating, when Azure answers the attached
/// identity's entry as `{}` (recording uami_create_update #7): a vault sharing the identity may
/// be updating in this same apply.
async fn read_principal(
    client: &ArmClient,
    vault_id: &str,
    user_identity: Option<&str>,
) -> Result<String, Failure> {
    use crate::model::disk_backup::vault;
    let started = std::time::Instant::now();
    loop {
        let body = client
            .get_optional(&crate::model::disk_backup::versioned(vault_id))
            .await?
            .ok_or_else(|| format!("the Backup vault {vault_id} does not exist"))?;
        let missing = match vault::backup_principal(&body, vault_id, user_identity) {
            Ok(p) => return Ok(p.to_string()),
            Err(vault::NoPrincipal::Updating) if started.elapsed() < IDENTITY_DEADLINE => None,
            Err(vault::NoPrincipal::Updating) => {
                Some(vault::lacks_identity(vault_id, user_identity))
            }
            Err(vault::NoPrincipal::Lacks(lacks)) => Some(lacks),
        };
        if let Some(lacks) = missing {
            let what = if user_identity.is_some() {
                "azprotect attaches it when the file names it as the vault's `identity`; check that the identity exists"
            } else {
                "azprotect creates vaults with one; enable it on the vault"
            };
            return Err(format!("{lacks} to grant the role to ({what}), then apply again").into());
        }
        tokio::time::sleep(client.poll_interval().max(Duration::from_millis(100))).await;
    }
}

/// The error Data Protection answers while the vault identity's roles are missing — or not yet
/// effective: new role assignments take minutes to propagate.
pub const MISSING_PERMISSIONS: &str = "UserErrorMissingRequiredPermissions";

/// The error a role assignment PUT may get for an identity Entra ID has not replicated yet; the
/// identical retry succeeds (recording test_container_create_with_msi_scope.yaml #28–29,
/// FACTS §5).
pub const PRINCIPAL_NOT_FOUND: &str = "PrincipalNotFound";

/// The codes Azure Disk Backup gives a backup, configuration or restore that lacks the vault
/// identity's roles on the disk, the snapshot group or the restore's target group (Microsoft
/// Learn, "Troubleshooting backup failures in Azure Disk Backup"): like
/// [`MISSING_PERMISSIONS`], they may only mean that new roles are not in effect yet.
const DISK_PERMISSION_CODES: &[&str] = &[
    "UserErrorNotEnoughPermissionOnDisk",
    "UserErrorNotEnoughPermissionOnSnapshotRG",
    "UserErrorDiskBackupDiskOrMSIPermissionsNotPresent",
    "UserErrorDiskBackupSnapshotRGOrMSIPermissionsNotPresent",
    "UserErrorDiskBackupAuthorizationFailed",
    "UserErrorSnapshotRGOrMSIPermissionsNotPresent",
    "UserErrorNotEnoughPermissionOnTargetRG",
    "UserErrorDiskBackupRestoreRGOrMSIPermissionsNotPresent",
];

/// Whether `code` means "not effective yet" (a role or an identity still propagating): the
/// only answers retried here — throttling and server faults get the client's ordinary retry.
fn propagating(code: Option<&str>) -> bool {
    code.is_some_and(|c| {
        [MISSING_PERMISSIONS, PRINCIPAL_NOT_FOUND]
            .iter()
            .chain(DISK_PERMISSION_CODES)
            .any(|k| c.eq_ignore_ascii_case(k))
    })
}

/// First wait before retrying a request refused for missing permissions.
const FIRST_DELAY: Duration = Duration::from_secs(2);
/// Longest single wait.
const MAX_DELAY: Duration = Duration::from_secs(30);
/// Stop retrying once the waits add up to this (Azure RBAC changes take "up to 10 minutes").
const GIVE_UP_AFTER: Duration = Duration::from_secs(600);

/// After failed attempt number `attempt` (0 = the first) with ARM error `code`: how long to wait
/// before trying again, or `None` to give up. Only roles and identities still propagating are
/// retried here ([`propagating`]): 2 s, 4 s, 8 s, 16 s, then every 30 s, until the waits would
/// exceed 10 minutes in total (Azure: role assignments take "up to 10 minutes").
pub fn propagation_retry(attempt: u32, code: Option<&str>) -> Option<Duration> {
    if !propagating(code) {
        return None;
    }
    let delay = |n: u32| {
        FIRST_DELAY
            .saturating_mul(2u32.saturating_pow(n.min(16)))
            .min(MAX_DELAY)
    };
    // Every wait is at least FIRST_DELAY, so a few hundred attempts exceed any budget.
    let waited: Duration = (0..attempt.min(1_000)).map(delay).sum();
    let next = delay(attempt);
    (waited + next <= GIVE_UP_AFTER).then_some(next)
}

/// Whether this change is carried out here rather than by `requests_for`.
pub fn handles(change: &Change) -> bool {
    matches!(
        change.address.kind,
        ResourceKind::DiskBackup | ResourceKind::RoleAssignment
    ) && change.action != Action::Delete
}

/// Carry out a Disk Backup instance or role assignment create/update.
pub async fn execute(
    client: &ArmClient,
    principals: &Principals,
    change: &Change,
    heard: Heard<'_>,
) -> Result<(), Failure> {
    let desired = Resource {
        address: change.address.clone(),
        arm_id: change.arm_id.clone(),
        attrs: change
            .after
            .clone()
            .ok_or_else(|| "the change has no `after` attributes".to_string())?,
        depends_on: vec![],
    };
    match (change.address.kind, change.action) {
        (ResourceKind::RoleAssignment, Action::Create | Action::Update | Action::Replace) => {
            assign_role(client, principals, &desired, change.before.is_some(), heard).await
        }
        (ResourceKind::DiskBackup, Action::Create | Action::Update) => {
            protect_disk(client, &desired, change.before.as_ref(), heard).await
        }
        (kind, action) => Err(format!("{action:?} of a {} is not supported", kind.prefix()).into()),
    }
}

/// The principal id of the identity the vault's disks back up with (read once per vault and
/// identity), then PUT the assignment (a role assignment cannot be updated: an existing one is
/// deleted first).
async fn assign_role(
    client: &ArmClient,
    principals: &Principals,
    r: &Resource,
    exists: bool,
    heard: Heard<'_>,
) -> Result<(), Failure> {
    let a = role::Attrs(&r.attrs);
    let vault_id = a
        .vault_id()
        .ok_or_else(|| "the change has no vault_id".to_string())?;
    let scope = ArmId::new(a.scope().unwrap_or_default());
    let role = a
        .role()
        .and_then(role::role_guid)
        .ok_or_else(|| format!("unknown role {:?}", a.role()))?;
    let subscription = scope
        .subscription()
        .ok_or_else(|| format!("the scope {scope} names no subscription"))?;
    let principal = principals
        .of(client, vault_id, a.user_identity_id())
        .await?;
    if exists {
        client
            .execute(&role::delete_request(&r.arm_id))
            .await
            .map_err(Failure::from)?;
    }
    let put = role::put_request(&r.arm_id, subscription, role, &principal);
    // The same role on the same scope for the same principal under another name (granted by
    // hand): the vault already has what it needs.
    let exists = |e: &AzureError| e.code() == Some("RoleAssignmentExists");
    with_propagation_retry(client, &r.address, &put, heard, exists).await
}

/// Create or update a backup instance.
/// - new: `validateForBackup`, then PUT;
/// - `stopped` / `suspended`: `resumeProtection` / `resumeBackups`, then PUT only if anything
///   but the state changes;
/// - otherwise: PUT.
///
/// After a PUT, Data Protection configures the instance (about a minute); apply waits for that
/// ([`configured`]). Requests refused for missing permissions, and a configuration that ends in
/// `ProtectionError` for want of them, are retried per [`propagation_retry`]: the instance in
/// error is synced (`sync`, what Microsoft's Azure Service Operator does), not PUT again.
async fn protect_disk(
    client: &ArmClient,
    r: &Resource,
    before: Option<&Value>,
    heard: Heard<'_>,
) -> Result<(), Failure> {
    let a = instance::Attrs(&r.attrs);
    let policy = a
        .policy()
        .filter(|p| !p.is_empty())
        .ok_or_else(|| "the change names no policy".to_string())?;
    let location = a.location().unwrap_or_default();
    let vault = r.arm_id.parent(1);
    let policy_id = vault.child(&["backupPolicies", policy]);
    let put = instance::put_request(r, &policy_id, location, before);
    // The PUT, then Data Protection's configuration (a missing role surfaces as the instance's
    // `ProtectionError` after the PUT's operation succeeded), both retried while roles propagate;
    // once configuring has failed, the retry syncs the instance instead of PUT-ing it again.
    let in_error = AtomicBool::new(false);
    let sync = instance::sync_request(&r.arm_id);
    let configure = || async {
        let req = if in_error.load(Relaxed) { &sync } else { &put };
        client.execute_discarding(req).await?;
        let done = configured(client, &r.arm_id, heard).await;
        if let Err(AzureError::OperationFailed { status, .. }) = &done {
            in_error.store(status.eq_ignore_ascii_case("ProtectionError"), Relaxed);
        }
        done
    };
    match before.map(ItemState::of) {
        None => {
            let validate = instance::validate_request(r, &policy_id, location);
            with_propagation_retry(client, &r.address, &validate, heard, |_| false).await?;
            retry_while_propagating(&r.address, heard, |_| false, configure).await
        }
        Some(ItemState::SoftDeleted) => Err(format!(
            "the backup instance {} is soft-deleted; undelete it \
             (backupVaults/…/deletedBackupInstances/{}/undelete) or wait until it is purged, \
             then apply again",
            r.arm_id,
            r.arm_id.name()
        )
        .into()),
        Some(s @ (ItemState::Stopped | ItemState::Suspended)) => {
            let resume = instance::resume_request(&r.arm_id, s == ItemState::Suspended);
            with_propagation_retry(client, &r.address, &resume, heard, |_| false).await?;
            if before.is_some_and(|b| settings_differ(b, &r.attrs)) {
                retry_while_propagating(&r.address, heard, |_| false, configure).await?;
            }
            Ok(())
        }
        Some(_) => retry_while_propagating(&r.address, heard, |_| false, configure).await,
    }
}

/// Longest wait for Data Protection to configure an instance after its PUT (Azure: about a
/// minute, [`instance::Configuration`]).
const CONFIGURE_DEADLINE: Duration = Duration::from_secs(15 * 60);

/// Wait until the instance `id` is configured: read it every poll interval of the client while
/// it is `ConfiguringProtection`; its `ProtectionError` (or `ConfiguringProtectionFailed`) comes
/// back as an [`AzureError::OperationFailed`] with the instance's error code, so that a role
/// still propagating is retried like a refused request.
async fn configured(client: &ArmClient, id: &ArmId, heard: Heard<'_>) -> Result<(), AzureError> {
    use instance::Configuration;
    let started = std::time::Instant::now();
    let failed = |status: &str, code: &str, message: String| AzureError::OperationFailed {
        resource: id.to_string(),
        status: status.to_string(),
        code: code.to_string(),
        message,
        request_id: "-".into(),
    };
    let mut told = false;
    loop {
        let Some(body) = client
            .get_optional(&crate::model::disk_backup::versioned(id))
            .await?
        else {
            return Err(failed(
                "Gone",
                "ResourceNotFound",
                "the backup instance disappeared while protection was being configured".into(),
            ));
        };
        match instance::configuration(&body) {
            Configuration::Done => return Ok(()),
            Configuration::Error {
                status,
                code,
                message,
            } => return Err(failed(&status, &code, message)),
            Configuration::InProgress if started.elapsed() >= CONFIGURE_DEADLINE => {
                return Err(failed(
                    "ConfiguringProtection",
                    "",
                    format!(
                        "Data Protection was still configuring protection after {} minutes; \
                         run plan later to see where it stands",
                        CONFIGURE_DEADLINE.as_secs() / 60
                    ),
                ))
            }
            Configuration::InProgress => {
                if !told {
                    heard.waiting_for("Data Protection to configure protection");
                    told = true;
                }
                let floor = Duration::from_millis(100);
                tokio::time::sleep(client.poll_interval().max(floor)).await;
            }
        }
    }
}

/// Whether anything but `state` differs (ids compared case-insensitively, like ARM), a key
/// either side lacks included (a user-assigned identity given up).
fn settings_differ(before: &Value, after: &Value) -> bool {
    let (Some(a), Some(b)) = (after.as_object(), before.as_object()) else {
        return false;
    };
    (a.keys().chain(b.keys()))
        .filter(|k| k.as_str() != "state")
        .any(|k| match (after[k].as_str(), before[k].as_str()) {
            (Some(x), Some(y)) => !x.eq_ignore_ascii_case(y),
            _ => after[k] != before[k],
        })
}

/// Send `req`, waiting out roles and identities that are still propagating (each wait told to
/// `heard`); an error `done` accepts counts as success. `subject`: what the request is for (an
/// address), in the log. Also the restore's validation after a Disk Restore Operator grant
/// (`ops::restore_permissions`).
pub(crate) async fn with_propagation_retry(
    client: &ArmClient,
    subject: &(dyn std::fmt::Display + Sync),
    req: &ArmRequest,
    heard: Heard<'_>,
    done: impl Fn(&AzureError) -> bool,
) -> Result<(), Failure> {
    retry_while_propagating(subject, heard, done, || client.execute_discarding(req)).await
}

/// [`with_propagation_retry`] for any `attempt` (a request, or a request and a wait).
async fn retry_while_propagating<F, Fut>(
    subject: &(dyn std::fmt::Display + Sync),
    heard: Heard<'_>,
    done: impl Fn(&AzureError) -> bool,
    attempt_once: F,
) -> Result<(), Failure>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<(), AzureError>>,
{
    let started = std::time::Instant::now();
    let mut attempt = 0;
    loop {
        match attempt_once().await {
            Ok(_) => return Ok(()),
            Err(e) if done(&e) => return Ok(()),
            // An attempt may itself take a while (configuring: about a minute): the budget is
            // of the time since the first attempt, not only of the waits.
            Err(e) => match propagation_retry(attempt, e.code())
                .filter(|d| started.elapsed() + *d <= GIVE_UP_AFTER)
            {
                Some(delay) => {
                    let what = waiting_for(e.code());
                    tracing::info!(
                        address = %subject,
                        attempt,
                        delay_s = delay.as_secs(),
                        "waiting for {what}; retrying"
                    );
                    heard.waiting_for(&format!(
                        "{what} (attempt {}, next in {}s)",
                        attempt + 1,
                        delay.as_secs()
                    ));
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
                None => {
                    // Azure's code, request id and reachability stay with the failure.
                    let message = gave_up(&e, attempt, started.elapsed());
                    return Err(Failure {
                        message,
                        ..Failure::from(e)
                    });
                }
            },
        }
    }
}

/// What a propagating answer waits for.
fn waiting_for(code: Option<&str>) -> &'static str {
    if code.is_some_and(|c| c.eq_ignore_ascii_case(PRINCIPAL_NOT_FOUND)) {
        "the identity to reach Entra ID"
    } else {
        "the identity's role assignments to take effect"
    }
}

/// The error to report after `attempt` retries: propagation that outlasted the budget says so;
/// any other answer (a server fault the client's own retries could not get past, a refusal) is
/// reported as it is, not as a permissions problem.
fn gave_up(e: &AzureError, attempt: u32, waited: Duration) -> String {
    if attempt > 0 && propagating(e.code()) {
        format!(
            "{e} (after {} attempts over {}s: role assignments can take up to 10 minutes to \
             apply; check the vault identity's roles and apply again)",
            attempt + 1,
            waited.as_secs()
        )
    } else {
        e.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_permissions_back_off_then_give_up_after_about_ten_minutes() {
        let secs = |a| propagation_retry(a, Some(MISSING_PERMISSIONS)).map(|d| d.as_secs());
        assert_eq!(
            (0..6).map(secs).collect::<Vec<_>>(),
            [2, 4, 8, 16, 30, 30].map(Some)
        );
        let mut total = 0;
        let mut attempt = 0;
        while let Some(d) = propagation_retry(attempt, Some("usererrormissingrequiredpermissions"))
        {
            total += d.as_secs();
            attempt += 1;
        }
        assert!((570..=600).contains(&total), "waited {total}s");
        assert_eq!(attempt, 23);
        assert_eq!(propagation_retry(u32::MAX, Some(MISSING_PERMISSIONS)), None);
    }

    #[test]
    fn disk_backups_own_permission_codes_are_waited_for_too() {
        for code in [
            "UserErrorNotEnoughPermissionOnDisk",
            "usererrornotenoughpermissiononsnapshotrg",
            "UserErrorDiskBackupAuthorizationFailed",
        ] {
            assert_eq!(
                propagation_retry(0, Some(code)),
                Some(Duration::from_secs(2)),
                "{code}"
            );
        }
    }

    #[test]
    fn a_new_identity_entra_id_has_not_replicated_yet_is_waited_for_too() {
        assert_eq!(
            propagation_retry(0, Some(PRINCIPAL_NOT_FOUND)),
            Some(Duration::from_secs(2))
        );
    }

    #[test]
    fn a_server_fault_after_waiting_for_roles_is_not_blamed_on_them() {
        let answer = |status: u16, code: &str| AzureError::Arm {
            method: "PUT".into(),
            resource: "backupInstances/d".into(),
            status,
            code: code.into(),
            message: "…".into(),
            request_id: "r".into(),
        };
        let said = gave_up(
            &answer(500, "InternalServerError"),
            2,
            Duration::from_secs(6),
        );
        assert!(!said.contains("role assignments"), "{said}");
        let missing = answer(400, MISSING_PERMISSIONS);
        assert!(gave_up(&missing, 23, Duration::from_secs(600)).contains("role assignments"));
    }

    #[test]
    fn other_errors_are_not_retried_here() {
        for code in [
            None,
            Some("UserErrorDppDatasourceAlreadyProtected"),
            Some("TooManyRequests"),
            Some(""),
        ] {
            assert_eq!(propagation_retry(0, code), None, "{code:?}");
        }
    }

    #[test]
    fn only_a_change_beyond_the_state_needs_a_put_after_resuming() {
        let before = serde_json::json!({"disk_id": "/subscriptions/S/resourceGroups/RG/providers/Microsoft.Compute/disks/D",
            "policy": "p-abc123", "state": "stopped", "location": "westeurope", "snapshot_resource_group_id": "/subscriptions/s/resourceGroups/snap"});
        let mut after = before.clone();
        after["state"] = "protected".into();
        after["disk_id"] = after["disk_id"].as_str().unwrap().to_lowercase().into();
        assert!(!settings_differ(&before, &after));
        after["policy"] = "p-def456".into();
        assert!(settings_differ(&before, &after));
        // Back to the vault's own identity: the key is only in what the instance had.
        let mut had_user = before.clone();
        had_user["user_identity_id"] = "/subscriptions/s/resourceGroups/id/providers/Microsoft.ManagedIdentity/userAssignedIdentities/u".into();
        let mut own = before.clone();
        own["state"] = "protected".into();
        assert!(settings_differ(&had_user, &own));
    }
}
