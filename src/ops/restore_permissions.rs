//! What a Disk Backup restore needs besides the point: the Backup vault's managed identity must
//! hold **Disk Restore Operator** on the resource group the new disk goes to
//! (learn.microsoft.com/azure/backup/restore-managed-disks: "Assign the Disk Restore Operator
//! role to the Backup vault's managed identity on the target resource group"). [`check`] reads
//! the identity's assignments at that scope (`GET {rg}/providers/Microsoft.Authorization/
//! roleAssignments?$filter=principalId eq '…'`, which lists those at, above and below it);
//! [`grant`] makes the missing one with the PUT `apply` uses for the Disk Backup roles — and,
//! when the caller may not assign roles there (403), says exactly which role, scope and
//! principal someone who may must assign. Data Protection refuses a restore without it
//! (`UserErrorMissingRequiredPermissions`) until the assignment has propagated, so the
//! validation that follows a grant waits that out as `apply` does.

use crate::apply::disk_backup::with_propagation_retry;
use crate::apply::Heard;
use crate::azure::{ArmClient, AzureError};
use crate::model::disk_backup::role;
use crate::model::{ArmId, ArmRequest};
use crate::progress::{Progress, Task};
use miette::{miette, Result};

/// Roles that include Disk Restore Operator's permissions.
const OWNER: &str = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635";
const CONTRIBUTOR: &str = "b24988ac-6180-42a2-ab66-4c8be2c6f0d9";

/// A role assignment the restore needs and the identity lacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub vault: ArmId,
    /// The vault's user-assigned identity that restores (its disk backs up with it); none: the
    /// vault's own.
    pub user_identity: Option<String>,
    pub principal: String,
    /// The target resource group.
    pub scope: ArmId,
}

impl Grant {
    /// Who restores: "the Backup vault bv's identity", or its user-assigned identity's name.
    fn identity(&self) -> String {
        match &self.user_identity {
            Some(id) => format!(
                "the user-assigned identity {} (Backup vault {})",
                ArmId::new(id.as_str()).name(),
                self.vault.name()
            ),
            None => format!("the Backup vault {}'s identity", self.vault.name()),
        }
    }

    /// The "will do" line.
    pub fn says(&self) -> String {
        format!(
            "grant {} Disk Restore Operator on {} (a restore needs it)",
            self.identity(),
            self.scope
        )
    }

    /// What the restore reports it made.
    pub fn made(&self) -> String {
        format!(
            "role assignment: Disk Restore Operator for {} (principal {}) on {}",
            self.identity(),
            self.principal,
            self.scope
        )
    }

    fn request(&self) -> ArmRequest {
        let holder = role::holder(&self.vault, self.user_identity.as_deref());
        let id = role::arm_id(&holder, role::DISK_RESTORE_OPERATOR, &self.scope);
        let sub = self.scope.subscription().unwrap_or_default();
        role::put_request(&id, sub, role::DISK_RESTORE_OPERATOR, &self.principal)
    }
}

/// Whether an assignment (ARM body) gives Disk Restore Operator's rights at `scope`.
fn covers(a: &serde_json::Value, scope: &ArmId) -> bool {
    let p = &a["properties"];
    let role = ArmId::new(p["roleDefinitionId"].as_str().unwrap_or_default());
    let at = p["scope"]
        .as_str()
        .unwrap_or_default()
        .trim_end_matches('/');
    let inner = scope.as_str().to_ascii_lowercase();
    let outer = at.to_ascii_lowercase();
    [role::DISK_RESTORE_OPERATOR, OWNER, CONTRIBUTOR]
        .iter()
        .any(|r| role.name().eq_ignore_ascii_case(r))
        && (inner == outer || inner.starts_with(&format!("{outer}/")))
}

/// The grant a restore of `vault`'s point into `scope` needs, or `None` when it is held. The
/// identity that restores is the one the disk backs up with: `user_identity`, or the vault's own.
pub async fn check(
    client: &ArmClient,
    vault: &ArmId,
    scope: &ArmId,
    user_identity: Option<&str>,
) -> Result<Option<Grant>> {
    let body = client
        .get_optional(&crate::model::disk_backup::versioned(vault))
        .await?
        .ok_or_else(|| miette!("the Backup vault {vault} does not exist"))?;
    use crate::model::disk_backup::vault::{backup_principal, NoPrincipal};
    let principal = backup_principal(&body, vault.as_str(), user_identity)
        .map_err(|missing| match missing {
            NoPrincipal::Updating => miette!(
                help = "restore again in a minute",
                "the Backup vault {vault} is updating: Azure has not filled in its user-assigned identity's principal yet"
            ),
            NoPrincipal::Lacks(lacks) => {
                let help = match user_identity {
                    Some(_) => "attach it to the vault again (apply the file that names it as the vault's identity): Data Protection restores with it",
                    None => "enable the vault's system-assigned identity: Data Protection restores with it",
                };
                miette!(help = help, "{lacks}")
            }
        })?
        .to_string();
    let held = match client
        .list(&role::list_path_at(scope.as_str(), &principal))
        .await
    {
        Ok(listed) => listed.iter().any(|a| covers(a, scope)),
        Err(e) if e.status() == Some(403) => return Err(cannot_read(scope, &principal, &e)),
        Err(e) => return Err(e.into()),
    };
    Ok((!held).then(|| Grant {
        vault: vault.clone(),
        user_identity: user_identity.map(str::to_string),
        principal,
        scope: scope.clone(),
    }))
}

/// What to tell a caller that may not read the group's role assignments.
fn cannot_read(scope: &ArmId, principal: &str, e: &AzureError) -> miette::Report {
    miette!(
        help = format!(
            "ask for Microsoft.Authorization/roleAssignments/read on {scope} (Reader has it), or have someone who has it check that principal {principal} holds Disk Restore Operator ({}) there, then restore again",
            role::DISK_RESTORE_OPERATOR
        ),
        "a restore into {scope} checks that the identity it restores with holds Disk Restore Operator there, and you may not read the group's role assignments (Microsoft.Authorization/roleAssignments/read): {e}"
    )
}

/// What to tell a caller that may not assign the role.
fn cannot_grant(g: &Grant, e: &AzureError) -> miette::Report {
    miette!(
        help = format!(
            "someone with Owner or User Access Administrator on {} assigns it, e.g. `az role assignment create --assignee-object-id {} --assignee-principal-type ServicePrincipal --role \"Disk Restore Operator\" --scope {}`, then restore again",
            g.scope, g.principal, g.scope
        ),
        "a restore needs {} (principal {}) to hold Disk Restore Operator ({}) on {}, and you may not assign it: {e}",
        g.identity(),
        g.principal,
        role::DISK_RESTORE_OPERATOR,
        g.scope
    )
}

/// Make the assignment (an identical one already there counts as made).
pub async fn grant(client: &ArmClient, g: &Grant) -> Result<()> {
    match client.execute_discarding(&g.request()).await {
        Ok(()) => Ok(()),
        Err(e) if e.code() == Some("RoleAssignmentExists") => Ok(()),
        Err(e) if e.status() == Some(403) => Err(cannot_grant(g, &e)),
        Err(e) => Err(e.into()),
    }
}

/// Send `req` (the restore's validation), waiting while a grant just made propagates: Data
/// Protection reports the permissions missing until then. The wait is `apply`'s own
/// (`apply::disk_backup::with_propagation_retry`), told to `progress` as the task's wait.
pub async fn waiting_for_roles(
    client: &ArmClient,
    address: &str,
    req: &ArmRequest,
    progress: &dyn Progress,
    task: &Task,
) -> Result<()> {
    let heard = Heard { progress, task };
    with_propagation_retry(client, &address, req, heard, |_| false)
        .await
        .map_err(|f| miette!("{f}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const RG: &str = "/subscriptions/s/resourceGroups/rg-app";

    #[test]
    fn the_role_counts_at_the_group_or_above_and_owner_or_contributor_do_too() {
        let a = |role: &str, scope: &str| json!({"properties": {"roleDefinitionId": format!("/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/{role}"), "scope": scope}});
        let rg = ArmId::new(RG);
        assert!(covers(&a(role::DISK_RESTORE_OPERATOR, RG), &rg));
        assert!(covers(&a(CONTRIBUTOR, "/subscriptions/s"), &rg));
        assert!(!covers(
            &a(
                role::DISK_RESTORE_OPERATOR,
                "/subscriptions/s/resourceGroups/rg-app2"
            ),
            &rg
        ));
        assert!(!covers(&a(role::DISK_SNAPSHOT_CONTRIBUTOR, RG), &rg));
    }

    #[test]
    fn the_grant_is_the_put_apply_makes_and_its_refusal_names_role_scope_and_principal() {
        let g = Grant {
            vault: ArmId::new("/subscriptions/s/resourceGroups/rg-bv/providers/Microsoft.DataProtection/backupVaults/bv"),
            user_identity: None,
            principal: "11111111-2222-3333-4444-555555555555".into(),
            scope: ArmId::new(RG),
        };
        let r = g.request();
        assert!(r.path.starts_with(&format!(
            "{RG}/providers/Microsoft.Authorization/roleAssignments/"
        )));
        let p = &r.body.unwrap()["properties"];
        assert_eq!(
            p["roleDefinitionId"],
            format!(
                "/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/{}",
                role::DISK_RESTORE_OPERATOR
            )
        );
        assert_eq!(p["principalId"], g.principal.as_str());
        assert!(
            role::list_path_at(g.scope.as_str(), &g.principal).starts_with(&format!(
                "{RG}/providers/Microsoft.Authorization/roleAssignments?"
            ))
        );
        assert!(g.made().contains("Disk Restore Operator") && g.made().contains(RG));
    }
}
