//! Cross-region restore (`restore … --secondary-region`) and the secondary-region column of
//! `recovery-points`: whether a protected VM's vault keeps a copy in its paired region, which
//! points have reached it, and a restore from there, followed to the end through its job in the
//! secondary region. The calls mirror `az backup restore restore-disks --use-secondary-region`
//! (requests and evidence: `model::crr`); `ops::restore` prepares the restore and hands a
//! cross-region one to [`run`].

use super::restore::{JobReader, Prepared};
use crate::azure::{ArmClient, AzureError};
use crate::model::crr::{self, VaultCrr};
use crate::model::recovery_point::{self, RecoveryPoint};
use crate::model::restore::{self, Restored};
use crate::model::{api, ArmId};
use crate::progress::{Event, Progress, Task};
use miette::{miette, Result};
use std::collections::BTreeSet;
use std::time::Instant;

/// A vault's copy in its paired region: the region, and the item's points there.
pub(crate) struct Secondary {
    pub region: String,
    pub points: Vec<RecoveryPoint>,
}

/// The paired region of `vault` (in `region`); `Ok(Err(why))` when the vault keeps no copy to
/// restore from.
async fn paired(
    client: &ArmClient,
    vault: &ArmId,
    region: &str,
) -> Result<std::result::Result<String, String>> {
    let body = client
        .get_optional(&format!("{vault}?api-version={}", api::RECOVERY_SERVICES))
        .await?
        .ok_or_else(|| {
            miette!(
                help = "apply the file first",
                "the vault {vault} does not exist"
            )
        })?;
    if let VaultCrr::Disabled(why) = crr::vault_crr(&body) {
        return Ok(Err(why));
    }
    Ok(crr::paired_region(region)
        .map(str::to_string)
        .ok_or_else(|| format!("{region} has no paired region to restore into")))
}

/// The points of `item` in the paired region `region`.
async fn points_in(client: &ArmClient, region: &str, item: &ArmId) -> Result<Vec<RecoveryPoint>> {
    Ok(client
        .list(&crr::points_path(item))
        .await
        .map_err(|e| explain(e, "listing the recovery points", region))?
        .iter()
        .filter_map(recovery_point::from_vm_point)
        .collect())
}

/// The paired region of `vault` (in `region`) and the points of `item` there; `Ok(Err(why))`
/// when the vault keeps no copy to restore from.
pub(crate) async fn secondary(
    client: &ArmClient,
    vault: &ArmId,
    region: &str,
    item: &ArmId,
) -> Result<std::result::Result<Secondary, String>> {
    let paired = match paired(client, vault, region).await? {
        Ok(r) => r,
        Err(why) => return Ok(Err(why)),
    };
    let points = points_in(client, &paired, item).await?;
    Ok(Ok(Secondary {
        region: paired,
        points,
    }))
}

/// Mark each of `points` with whether its copy is in the paired region, when the vault keeps
/// one; returns that region.
pub(crate) async fn mark(
    client: &ArmClient,
    (vault, region, item): (&ArmId, &str, &ArmId),
    points: &mut [RecoveryPoint],
) -> Result<Option<String>> {
    let Ok(s) = secondary(client, vault, region, item).await? else {
        return Ok(None);
    };
    let there: BTreeSet<&str> = s.points.iter().map(|p| p.name.as_str()).collect();
    for p in points.iter_mut() {
        p.secondary_region = Some(there.contains(p.name.as_str()));
    }
    Ok(Some(s.region))
}

/// A refusal (403) of the secondary region's calls, explained: they need their own permissions.
fn explain(e: AzureError, what: &str, region: &str) -> miette::Report {
    if e.status() != Some(403) {
        return e.into();
    }
    miette!(
        help = "the identity azprotect signs in as needs the Backup Operator role (or Contributor) on the subscription for a cross-region restore, or a custom role with the Microsoft.RecoveryServices/locations/backupCrr* and backupAadProperties actions and the recovery point's accessToken action (Microsoft Learn, \"Restore Azure VMs\": Cross Region Restore permissions)",
        "{what} in the paired region {region} was refused: {e}"
    )
}

/// Start the restore in the paired region and follow its job there to the end.
pub async fn run(client: &ArmClient, p: &Prepared, progress: &dyn Progress) -> Result<Restored> {
    let started = Instant::now();
    let task = Task::new(
        p.address.clone(),
        format!("restoring {} in {}", p.address, p.region),
    );
    progress.event(&task, Event::Started);
    let failed = |e: miette::Report| {
        progress.event(
            &task,
            Event::Failed {
                error: &e.to_string(),
            },
        );
        e
    };
    let sub = p.vault.subscription().unwrap_or_default().to_string();
    let aad = client
        .get_optional(&crr::aad_properties_path(&sub, &p.region))
        .await
        .map_err(|e| {
            failed(explain(
                e,
                "reading Azure Backup's AAD properties",
                &p.region,
            ))
        })?
        .ok_or_else(|| {
            failed(miette!(
                "Azure Backup in {} answered no AAD properties",
                p.region
            ))
        })?;
    let token = client
        .execute(&crr::access_token_request(&p.point.id, &aad))
        .await
        .map_err(|e| {
            failed(explain(
                e,
                "getting an access token for the point",
                &p.region,
            ))
        })?
        .ok_or_else(|| {
            failed(miette!(
                "Azure gave no access token for point {}",
                p.point.name
            ))
        })?;
    let request = restore::restore_request(
        &p.point.id,
        &p.source_vm,
        &p.region,
        &p.target,
        p.luns.as_deref(),
    );
    // The trigger's operation status names its job, as the az CLI reads it
    // (`custom_help.py` `track_backup_crr_job`: `properties.jobId`).
    let status = client
        .execute_status(&crr::trigger_request(
            &sub,
            &p.region,
            &token,
            &request.body.unwrap_or_default(),
        ))
        .await
        .map_err(|e| failed(explain(e, "starting the restore", &p.region)))?;
    let job_id = status
        .as_ref()
        .and_then(|s| restore::job_of_status(s, &p.vault))
        .ok_or_else(|| {
            failed(miette!(
                "Azure accepted the cross-region restore of {} but named no job for it",
                p.address
            ))
        })?;
    let read = |job: &ArmId| crr::job_request(&sub, &p.region, &p.vault, job);
    let body = client
        .execute(&read(&job_id))
        .await
        .map_err(|e| failed(explain(e, "reading the restore job", &p.region)))?
        .ok_or_else(|| failed(miette!("the restore job {job_id} could not be found")))?;
    let job = restore::job_from_arm(&body)
        .ok_or_else(|| failed(miette!("the restore job {job_id} could not be read")))?;
    super::restore::follow(
        client,
        p,
        (&task, started),
        progress,
        job,
        JobReader::Post(&read),
    )
    .await
}

/// A cross-region restore's source, read from the paired region alone: the region, the item's
/// points there and the VM it protects.
pub(crate) struct Source {
    pub region: String,
    pub points: Vec<RecoveryPoint>,
    pub source_vm: ArmId,
}

/// For `restore --secondary-region`: the paired region, the item as that region lists it and
/// its points there — nothing of the primary region's backup service, which is what is down
/// when one restores from the copy. Refused first: what Azure would refuse — a vault without
/// a copy, replacing the source VM's disks (a restore from the secondary region needs a
/// target resource group: the az CLI's `validate_crr`; the command line refuses it too, a
/// library caller reaches this), a VM none of whose points has reached the paired region yet.
pub(crate) async fn for_restore(
    client: &ArmClient,
    input: &super::restore::Input,
    address: &crate::model::Address,
    (vault, region): (&ArmId, &str),
    item: &ArmId,
) -> Result<Source> {
    if matches!(
        input.destination,
        super::restore::Destination::ReplaceDisks { .. }
    ) {
        return Err(miette!(
            help = "restore --as-new-vm or --disks-only into a resource group of the paired region",
            "--secondary-region cannot --replace-disks: a restore from the paired region creates a VM or disks there"
        ));
    }
    let paired = paired(client, vault, region).await?.map_err(|why| {
        miette!(
            help = "cross_region_restore: true on a GeoRedundant vault (azprotect plan / apply) keeps a copy in the paired region",
            "--secondary-region: {} cannot restore across regions: {why}",
            vault.name()
        )
    })?;
    // As the CLI finds the item first among the secondary region's items (`show_item` with
    // `use_secondary_region`), and takes the VM it protects from there.
    let listed = client
        .list(&crr::items_path(vault))
        .await
        .map_err(|e| explain(e, "listing the vault's protected items", &paired))?
        .into_iter()
        .find(|i| {
            i["id"]
                .as_str()
                .is_some_and(|id| id.eq_ignore_ascii_case(item.as_str()))
        });
    let points = match &listed {
        Some(_) => points_in(client, &paired, item).await?,
        None => Vec::new(),
    };
    let Some(listed) = listed.filter(|_| !points.is_empty()) else {
        return Err(miette!(
            help = format!(
                "Azure copies a point to the paired region up to {} hours after it is taken; `azprotect recovery-points {address}` shows which are there",
                crr::REPLICATION_LAG_SECS / 3_600
            ),
            "{address} has no recovery point in {paired} yet"
        ));
    };
    Ok(Source {
        source_vm: crate::model::protected_vm::vm_of(&listed),
        region: paired,
        points,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arm(status: u16, code: &str) -> AzureError {
        AzureError::Arm {
            method: "POST".into(),
            resource: "/subscriptions/s/providers/Microsoft.RecoveryServices/locations/northeurope/backupCrossRegionRestore".into(),
            status,
            code: code.into(),
            message: "The client does not have authorization to perform action.".into(),
            request_id: "r".into(),
        }
    }

    #[test]
    fn a_refused_cross_region_call_names_the_role_it_needs() {
        let e = explain(
            arm(403, "AuthorizationFailed"),
            "starting the restore",
            "northeurope",
        );
        assert!(
            e.to_string().starts_with(
                "starting the restore in the paired region northeurope was refused: POST"
            ) && e.to_string().contains("AuthorizationFailed"),
            "{e}"
        );
        let help = e.help().map(|h| h.to_string()).unwrap_or_default();
        assert!(
            help.contains("Backup Operator")
                && help.contains("Microsoft.RecoveryServices/locations/backupCrr*"),
            "{help}"
        );
        // Anything else passes through as it came.
        let other = explain(arm(400, "BMSUserErrorInvalidInput"), "x", "northeurope");
        assert!(other.help().is_none(), "{other}");
        assert!(other.to_string().contains("BMSUserErrorInvalidInput"));
    }
}
