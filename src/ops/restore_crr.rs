//! Cross-region restore (`restore … --secondary-region`) and the secondary-region column of
//! `recovery-points`: whether a protected VM's vault keeps a copy in its paired region, which
//! points have reached it, and a restore from there, followed to the end through its job in the
//! secondary region. The calls mirror `az backup restore restore-disks --use-secondary-region`
//! (requests and evidence: `model::crr`); `ops::restore` prepares the restore and hands a
//! cross-region one to [`run`].

use super::restore::Prepared;
use crate::azure::ArmClient;
use crate::model::crr::{self, VaultCrr};
use crate::model::recovery_point::{self, RecoveryPoint};
use crate::model::restore::{self, Restored};
use crate::model::{api, ArmId};
use crate::progress::{Event, Progress, Task};
use miette::{miette, Result};
use serde_json::Value;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// A vault's copy in its paired region: the region, and the item's points there.
pub(crate) struct Secondary {
    pub region: String,
    pub points: Vec<RecoveryPoint>,
}

/// The paired region of `vault` (in `region`) and the points of `item` there; `Ok(Err(why))`
/// when the vault keeps no copy to restore from.
pub(crate) async fn secondary(
    client: &ArmClient,
    vault: &ArmId,
    region: &str,
    item: &ArmId,
) -> Result<std::result::Result<Secondary, String>> {
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
    let Some(paired) = crr::paired_region(region) else {
        return Ok(Err(format!(
            "{region} has no paired region to restore into"
        )));
    };
    let points = client
        .list(&crr::points_path(item))
        .await?
        .iter()
        .filter_map(recovery_point::from_vm_point)
        .collect();
    Ok(Ok(Secondary {
        region: paired.to_string(),
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

/// The vault's restore jobs in the secondary region for the VM `vm`.
async fn crr_jobs(client: &ArmClient, p: &Prepared, sub: &str) -> Result<Vec<restore::Job>> {
    let vm = p.source_vm.name().to_ascii_lowercase();
    let list = client
        .execute(&crr::jobs_request(sub, &p.region, &p.vault))
        .await?
        .unwrap_or_default();
    Ok(list["value"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(restore::job_from_arm)
        .filter(|j| j.vm.to_ascii_lowercase() == vm)
        .collect())
}

/// Start the restore in the paired region and follow its job there to the end.
pub async fn run(client: &ArmClient, p: &Prepared, progress: &dyn Progress) -> Result<Restored> {
    let started = Instant::now();
    let task = Task::new(
        p.address.clone(),
        format!("restoring {} in {}", p.address, p.region),
    );
    progress.event(&task, Event::Started);
    let sub = p.vault.subscription().unwrap_or_default().to_string();
    let aad = client
        .get_optional(&crr::aad_properties_path(&sub, &p.region))
        .await?
        .ok_or_else(|| miette!("Azure Backup in {} answered no AAD properties", p.region))?;
    let token = client
        .execute(&crr::access_token_request(&p.point.id, &aad))
        .await?
        .ok_or_else(|| miette!("Azure gave no access token for point {}", p.point.name))?;
    let request = restore::restore_request(
        &p.point.id,
        &p.source_vm,
        &p.region,
        &p.target,
        p.luns.as_deref(),
    );
    let before: BTreeSet<ArmId> = crr_jobs(client, p, &sub)
        .await?
        .into_iter()
        .map(|j| j.id)
        .collect();
    client
        .execute_discarding(&crr::trigger_request(
            &sub,
            &p.region,
            &token,
            &request.body.unwrap_or_default(),
        ))
        .await?;
    let mut job = crr_jobs(client, p, &sub)
        .await?
        .into_iter()
        .filter(|j| !before.contains(&j.id))
        .max_by_key(|j| j.started)
        .ok_or_else(|| {
            miette!(
                "Azure accepted the cross-region restore of {} but lists no new job for it in {}",
                p.address,
                p.region
            )
        })?;
    // Job reads are limited (150 an hour per vault): poll with backoff.
    let mut delay = Duration::from_millis(250);
    while !job.status.finished() {
        progress.event(
            &task,
            Event::Progressed {
                status: job.status.as_str(),
                percent: job.percent,
            },
        );
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(30));
        let body: Value = client
            .execute(&crr::job_request(&sub, &p.region, &p.vault, &job.id))
            .await?
            .ok_or_else(|| miette!("the restore job {} disappeared", job.id))?;
        job = restore::job_from_arm(&body)
            .ok_or_else(|| miette!("the restore job {} could not be read", job.id))?;
    }
    if job.status.succeeded() {
        progress.event(&task, Event::Finished);
    } else {
        let error = job
            .error
            .clone()
            .unwrap_or_else(|| job.status.as_str().to_string());
        progress.event(&task, Event::Failed { error: &error });
    }
    Ok(Restored {
        address: p.address.clone(),
        point: p.point.name.clone(),
        point_time: p.point.time,
        created: super::restore::created_by(p, &job.property_bag),
        job: job.id,
        status: job.status,
        seconds: started.elapsed().as_secs_f64(),
        error: job.error,
    })
}

/// For `restore --secondary-region`: the paired region and the item's points there, after
/// checking what Azure would refuse — a vault without a copy, replacing the source VM's disks
/// (a restore from the secondary region needs a target resource group: the az CLI's
/// `validate_crr`), a VM none of whose points has reached the paired region yet.
pub(crate) async fn for_restore(
    client: &ArmClient,
    input: &super::restore::Input,
    address: &crate::model::Address,
    (vault, region): (&ArmId, &str),
    item: &ArmId,
) -> Result<(String, Vec<RecoveryPoint>)> {
    if matches!(
        input.destination,
        super::restore::Destination::ReplaceDisks { .. }
    ) {
        return Err(miette!(
            help = "restore --as-new-vm or --disks-only into a resource group of the paired region",
            "--secondary-region cannot --replace-disks: a restore from the paired region creates a VM or disks there"
        ));
    }
    let s = secondary(client, vault, region, item).await?.map_err(|why| {
        miette!(
            help = "cross_region_restore: true on a GeoRedundant vault (azprotect plan / apply) keeps a copy in the paired region",
            "--secondary-region: {} cannot restore across regions: {why}",
            vault.name()
        )
    })?;
    // As the CLI finds the item first among the secondary region's items.
    let listed = client.list(&crr::items_path(vault)).await?.iter().any(|i| {
        i["id"]
            .as_str()
            .is_some_and(|id| id.eq_ignore_ascii_case(item.as_str()))
    });
    if !listed || s.points.is_empty() {
        return Err(miette!(
            help = format!(
                "Azure copies a point to the paired region up to {} hours after it is taken; `azprotect recovery-points {address}` shows which are there",
                crr::REPLICATION_LAG_SECS / 3_600
            ),
            "{address} has no recovery point in {} yet",
            s.region
        ));
    }
    Ok((s.region, s.points))
}
