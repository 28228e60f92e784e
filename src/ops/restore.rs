//! `azprotect restore ADDRESS --point …`: restore a protected VM from one of its recovery points
//! — as a new VM, as disks (all or some), or onto its own disks — in two steps: [`prepare`] reads
//! and checks everything the restore needs (the point and the disks it holds, the target group,
//! network, staging account and their region, that the new VM's name is free) and says what it
//! will create; [`run`] starts the restore, follows Azure's restore job with progress and reports
//! what it created, how long it took and the job's id. Requests and parsing: `model::restore`.

use super::recovery_points::{resolve_in, Protected};
use crate::azure::ArmClient;
use crate::model::recovery_point::{self, Consistency, RecoveryPoint};
use crate::model::restore::{self, Restored, Target};
use crate::model::{api, ArmId};
use crate::progress::{Event, Progress, Task};
use miette::{miette, Result};
use serde_json::Value;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use time::OffsetDateTime;

/// Which point to restore from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PointChoice {
    Latest,
    LatestAppConsistent,
    /// A point's name (its id's last segment).
    Named(String),
    /// The newest point at or before this time.
    At(OffsetDateTime),
}

impl std::str::FromStr for PointChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "latest" => PointChoice::Latest,
            "latest-app-consistent" => PointChoice::LatestAppConsistent,
            // A time, or a date (its end): the newest point at or before it.
            _ if s.contains('-') => PointChoice::At(
                crate::model::recovery_point::parse_end_time(s).map_err(|_| {
                    format!("'{s}' is not a point: latest, latest-app-consistent, a point's name, a date or an RFC 3339 time")
                })?,
            ),
            _ => PointChoice::Named(s.to_string()),
        })
    }
}

/// Where to restore to, as the command line gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    NewVm {
        name: String,
        resource_group: String,
        subnet: String,
        staging: String,
    },
    Disks {
        resource_group: String,
        staging: String,
    },
    ReplaceDisks {
        allow_overwrite: bool,
        staging: String,
    },
    /// A Disk Backup point as a new managed disk.
    NewDisk {
        name: String,
        resource_group: String,
    },
}

/// What to restore.
#[derive(Debug, Clone)]
pub struct Input {
    pub address: String,
    pub files: Vec<PathBuf>,
    pub point: PointChoice,
    pub destination: Destination,
    /// Only these data-disk LUNs.
    pub disks: Option<Vec<u32>>,
    /// From the vault's copy in its paired region, into that region (`restore_crr`).
    pub secondary_region: bool,
}

/// A restore checked and ready to start.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub address: String,
    pub vault: ArmId,
    pub source_vm: ArmId,
    pub point: RecoveryPoint,
    pub target: Target,
    pub luns: Option<Vec<u32>>,
    pub region: String,
    /// What the restore will create or change, one line each.
    pub will: Vec<String>,
    /// A role the Backup vault's identity lacks for a Disk Backup restore, granted first.
    pub grant: Option<super::restore_permissions::Grant>,
    /// A cross-region restore: `region` is the vault's paired region.
    pub cross_region: bool,
}

pub(super) fn choose(points: &[RecoveryPoint], choice: &PointChoice) -> Option<RecoveryPoint> {
    let newest = |f: &dyn Fn(&RecoveryPoint) -> bool| {
        points
            .iter()
            .filter(|p| f(p))
            .max_by_key(|p| p.time)
            .cloned()
    };
    match choice {
        PointChoice::Latest => newest(&|_| true),
        PointChoice::LatestAppConsistent => newest(&|p| p.consistency == Consistency::Application),
        PointChoice::Named(n) => points.iter().find(|p| p.name == *n).cloned(),
        PointChoice::At(t) => newest(&|p| p.time <= *t),
    }
}

/// GET `id`, `None` when it does not exist.
pub(super) async fn read(
    client: &ArmClient,
    id: &ArmId,
    api_version: &str,
) -> Result<Option<Value>> {
    Ok(client
        .get_optional(&format!("{id}?api-version={api_version}"))
        .await?)
}

/// A protected item's body; an error when Azure does not have it.
pub(super) async fn protected_item(
    client: &ArmClient,
    address: &impl std::fmt::Display,
    item: &ArmId,
) -> Result<Value> {
    read(client, item, api::BACKUP).await?.ok_or_else(|| {
        miette!(
            help = "apply the file first",
            "{address} is not protected in Azure"
        )
    })
}

/// A protected VM's recovery points, each with its body as Azure lists it.
pub(super) async fn vm_points(
    client: &ArmClient,
    item: &ArmId,
) -> Result<Vec<(RecoveryPoint, Value)>> {
    Ok(client
        .list(&recovery_point::vm_points_path(item))
        .await?
        .into_iter()
        .filter_map(|b| Some((recovery_point::from_vm_point(&b)?, b)))
        .collect())
}

/// The point `choice` picks, or an error saying there is none.
pub(super) fn chosen(
    points: &[RecoveryPoint],
    choice: &PointChoice,
    address: &impl std::fmt::Display,
) -> Result<RecoveryPoint> {
    choose(points, choice).ok_or_else(|| {
        miette!(
            help = format!(
                "`azprotect recovery-points {address}` lists its {} point(s)",
                points.len()
            ),
            "{address} has no recovery point {}",
            match choice {
                PointChoice::Latest => "yet".to_string(),
                PointChoice::LatestAppConsistent => "that is application-consistent".into(),
                PointChoice::Named(n) => format!("named {n}"),
                PointChoice::At(t) => format!("at or before {t}"),
            }
        )
    })
}

/// The (normalized) region of a resource's body.
pub(super) fn region_of(v: &Value) -> String {
    crate::model::resource_group::normalize_location(v["location"].as_str().unwrap_or_default())
}

/// `name`: a resource group of the vault's subscription, or its id.
/// The `--resource-group` (a name in `sub`, or an id), which must exist.
async fn existing_group(client: &ArmClient, raw: &str, sub: &str) -> Result<ArmId> {
    let id = crate::model::resource_group::id_or_name(raw, sub);
    read(client, &id, api::RESOURCES)
        .await?
        .ok_or_else(|| miette!("--resource-group: {id} does not exist"))?;
    Ok(id)
}

/// Read and check everything the restore needs; nothing is changed.
pub async fn prepare(
    client: &ArmClient,
    default_subscription: Option<&str>,
    input: &Input,
) -> Result<Prepared> {
    let (address, item, vault, region) =
        match resolve_in(&input.files, default_subscription, &input.address)? {
            Protected::Vm {
                address,
                item,
                vault,
                region,
            } => (address, item, vault, region),
            Protected::Disk {
                address,
                vault,
                region,
                disk,
            } if !input.secondary_region => {
                return prepare_disk(client, input, address, (vault, region), disk).await
            }
            Protected::Disk { address, .. } => {
                return Err(miette!(
                "--secondary-region: {address} is a disk; cross-region restore is for protected VMs"
            ))
            }
        };
    let sub = vault.subscription().unwrap_or_default().to_string();
    // A cross-region restore reads nothing of the primary region's backup service: it is
    // what is down when one is needed.
    let (region, points, source_vm) = if input.secondary_region {
        let s = super::restore_crr::for_restore(client, input, &address, (&vault, &region), &item)
            .await?;
        (s.region, s.points, s.source_vm)
    } else {
        let item_body = protected_item(client, &address, &item).await?;
        let points = vm_points(client, &item).await?;
        (
            region,
            points.into_iter().map(|(p, _)| p).collect(),
            crate::model::protected_vm::vm_of(&item_body),
        )
    };
    let point = chosen(&points, &input.point, &address)?;
    let held: Vec<u32> = point.disks.iter().filter_map(|d| d.lun).collect();
    if let Some(asked) = &input.disks {
        if let Some(missing) = asked.iter().find(|l| !held.contains(l)) {
            return Err(miette!(
                "--disks: the point {} holds no data disk at LUN {missing} (it holds {held:?})",
                point.name
            ));
        }
    }
    let in_region = |what: &str, id: &ArmId, body: &Value| -> Result<()> {
        let r = region_of(body);
        if r != region && input.secondary_region {
            return Err(miette!(
                "{what} {id} is in {r}: a cross-region restore goes to the vault's paired region, {region}"
            ));
        }
        if r != region {
            return Err(miette!(
                "{what} {id} is in {r}: a restore from this vault goes to its region, {region}"
            ));
        }
        Ok(())
    };
    let staging = |raw: &str| {
        let id = ArmId::new(raw);
        let in_region = &in_region;
        async move {
            let body = read(client, &id, api::STORAGE)
                .await?
                .ok_or_else(|| miette!("--staging-storage-account: {id} does not exist"))?;
            in_region("--staging-storage-account", &id, &body)?;
            Ok::<_, miette::Report>(id)
        }
    };
    let mut will = Vec::new();
    if input.secondary_region {
        will.push(format!(
            "restore from the vault's copy in its paired region, {region} (cross-region restore)"
        ));
    }
    let disks_said = match &input.disks {
        Some(l) => format!("the OS disk and data disks at LUN {l:?}"),
        None => format!("the OS disk and {} data disk(s)", held.len()),
    };
    let target = match &input.destination {
        Destination::NewVm {
            name,
            resource_group,
            subnet,
            staging: st,
        } => {
            let rg = existing_group(client, resource_group, &sub).await?;
            let subnet = ArmId::new(subnet);
            let vnet = restore::network_of(&subnet);
            let vnet_body = read(client, &vnet, api::NETWORK)
                .await?
                .ok_or_else(|| miette!("--subnet: the network {vnet} does not exist"))?;
            in_region("--subnet: the network", &vnet, &vnet_body)?;
            let has_subnet = vnet_body["properties"]["subnets"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|s| {
                    s["id"]
                        .as_str()
                        .is_some_and(|i| i.eq_ignore_ascii_case(subnet.as_str()))
                });
            if !has_subnet {
                return Err(miette!("--subnet: {vnet} has no subnet {}", subnet.name()));
            }
            let vm = ArmId::new(format!(
                "{rg}/providers/Microsoft.Compute/virtualMachines/{name}"
            ));
            if read(client, &vm, api::COMPUTE).await?.is_some() {
                return Err(miette!(
                    help = "pick another --as-new-vm name, or --replace-disks to restore onto it",
                    "--as-new-vm: a VM named {name} already exists in {}",
                    rg.name()
                ));
            }
            will.push(format!(
                "create VM {vm} in {region} from point {} ({})",
                point.name, point.time
            ));
            will.push(format!("with {disks_said}, on subnet {subnet}"));
            Target::NewVm {
                vm,
                resource_group: rg,
                subnet,
                staging: staging(st).await?,
            }
        }
        Destination::Disks {
            resource_group,
            staging: st,
        } => {
            let rg = existing_group(client, resource_group, &sub).await?;
            will.push(format!(
                "create {disks_said} of {} in {rg} from point {} ({})",
                source_vm.name(),
                point.name,
                point.time
            ));
            Target::Disks {
                resource_group: rg,
                staging: staging(st).await?,
            }
        }
        Destination::NewDisk { .. } => {
            return Err(miette!(
                help = "--as-new-disk is for disk_backup addresses; a VM restores --as-new-vm, --disks-only or --replace-disks",
                "{address} is a VM, not a disk"
            ))
        }
        Destination::ReplaceDisks {
            allow_overwrite,
            staging: st,
        } => {
            if !allow_overwrite {
                return Err(miette!(
                    help = "add --allow-overwrite if replacing the disks of the running VM is really intended; --as-new-vm or --disks-only leave it untouched",
                    "--replace-disks overwrites {}'s disks with the point's data",
                    source_vm.name()
                ));
            }
            if read(client, &source_vm, api::COMPUTE).await?.is_none() {
                return Err(miette!("--replace-disks: the VM {source_vm} no longer exists; restore --as-new-vm instead"));
            }
            will.push(format!(
                "REPLACE {disks_said} of VM {source_vm} with point {} ({})",
                point.name, point.time
            ));
            Target::ReplaceDisks {
                staging: Some(staging(st).await?),
            }
        }
    };
    Ok(Prepared {
        address: address.to_string(),
        vault,
        source_vm,
        point,
        target,
        luns: input.disks.clone(),
        region,
        will,
        grant: None,
        cross_region: input.secondary_region,
    })
}

/// A Disk Backup point to a new disk: the instance and its points, the group, and that the
/// disk's name is free.
async fn prepare_disk(
    client: &ArmClient,
    input: &Input,
    address: crate::model::Address,
    (vault, region): (ArmId, String),
    source: ArmId,
) -> Result<Prepared> {
    let Destination::NewDisk {
        name,
        resource_group,
    } = &input.destination
    else {
        return Err(miette!(
            help = "restore a disk with --as-new-disk NAME --resource-group RG",
            "{address} is a disk: it restores as a new disk"
        ));
    };
    let (instance, points) =
        super::recovery_points::disk_points(client, &address, &vault, &source).await?;
    let point = chosen(&points, &input.point, &address)?;
    let sub = vault.subscription().unwrap_or_default().to_string();
    let rg = existing_group(client, resource_group, &sub).await?;
    let disk = ArmId::new(format!("{rg}/providers/Microsoft.Compute/disks/{name}"));
    if read(client, &disk, api::DISKS).await?.is_some() {
        return Err(miette!(
            help = "pick another --as-new-disk name: a restore never overwrites a disk",
            "--as-new-disk: a disk named {name} already exists in {}",
            rg.name()
        ));
    }
    let user_identity = instance.user_identity.clone();
    let grant =
        super::restore_permissions::check(client, &vault, &rg, user_identity.as_deref()).await?;
    let mut will: Vec<String> = grant.iter().map(|g| g.says()).collect();
    will.push(format!(
        "create disk {disk} in {region} from point {} ({}) of {}",
        point.name,
        point.time,
        source.name()
    ));
    Ok(Prepared {
        address: address.to_string(),
        vault,
        source_vm: source,
        point,
        target: Target::NewDisk {
            instance: instance.id,
            disk,
            user_identity,
        },
        luns: None,
        region,
        will,
        grant,
        cross_region: false,
    })
}

/// Start the restore and follow its job to the end (`progress` hears the job's percentage).
pub async fn run(client: &ArmClient, p: &Prepared, progress: &dyn Progress) -> Result<Restored> {
    if p.cross_region {
        return super::restore_crr::run(client, p, progress).await;
    }
    let started = Instant::now();
    let task = Task::new(p.address.clone(), format!("restoring {}", p.address));
    progress.event(&task, Event::Started);
    // Each service's job: how it starts, where it is read and how.
    let (job, reader) = match &p.target {
        Target::NewDisk {
            instance,
            disk,
            user_identity,
        } => (
            start_disk_restore(
                client,
                p,
                (instance, user_identity.as_deref()),
                disk,
                progress,
                &task,
            )
            .await?,
            JobReader::Get(restore::disk_job_path, restore::disk_job_from_arm),
        ),
        _ => (
            start_vm_restore(client, p).await?,
            JobReader::Get(restore::job_path, restore::job_from_arm),
        ),
    };
    follow(client, p, (&task, started), progress, job, reader).await
}

/// Where a restore's job is read.
pub(super) enum JobReader<'a> {
    /// `GET` its path, parsed so (a vault's own jobs; a Backup vault's).
    Get(fn(&ArmId) -> String, fn(&Value) -> Option<restore::Job>),
    /// `POST` this request for it, parsed as a Recovery Services job (the secondary region's
    /// jobs: `model::crr::job_request`). The client retries it as a read
    /// (`azure::retry::READ_ONLY_POSTS`).
    Post(&'a (dyn Fn(&ArmId) -> crate::model::ArmRequest + Send + Sync)),
}

/// Follow a started restore's `job` to its end, reporting its progress on `task`, and say
/// what it restored.
pub(super) async fn follow(
    client: &ArmClient,
    p: &Prepared,
    (task, started): (&Task, Instant),
    progress: &dyn Progress,
    mut job: restore::Job,
    reader: JobReader<'_>,
) -> Result<Restored> {
    // Job reads are limited to 150 an hour per vault (FACTS §5): poll with backoff up to two
    // minutes, so that four restores at once (the drill's default) stay under it.
    let mut delay = Duration::from_millis(250);
    while !job.status.finished() {
        progress.event(
            task,
            Event::Progressed {
                status: job.status.as_str(),
                percent: job.percent,
            },
        );
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(120));
        let (body, parse) = match &reader {
            JobReader::Get(path, parse) => (client.get_optional(&path(&job.id)).await?, *parse),
            JobReader::Post(request) => (
                client.execute(&request(&job.id)).await?,
                restore::job_from_arm as fn(&Value) -> Option<restore::Job>,
            ),
        };
        let body = body.ok_or_else(|| miette!("the restore job {} disappeared", job.id))?;
        job =
            parse(&body).ok_or_else(|| miette!("the restore job {} could not be read", job.id))?;
    }
    let created = created_by(p, &job.property_bag);
    if job.status.succeeded() {
        progress.event(task, Event::Finished);
    } else {
        let error = job
            .error
            .clone()
            .unwrap_or_else(|| job.status.as_str().to_string());
        progress.event(task, Event::Failed { error: &error });
    }
    Ok(Restored {
        address: p.address.clone(),
        point: p.point.name.clone(),
        point_time: p.point.time,
        job: job.id.clone(),
        status: job.status,
        seconds: started.elapsed().as_secs_f64(),
        created,
        error: job.error.clone(),
    })
}

/// Start a protected VM's restore; its job is the one its operation status names.
async fn start_vm_restore(client: &ArmClient, p: &Prepared) -> Result<restore::Job> {
    let req = restore::restore_request(
        &p.point.id,
        &p.source_vm,
        &p.region,
        &p.target,
        p.luns.as_deref(),
    );
    let status = client.execute_status(&req).await?.unwrap_or_default();
    let job = restore::job_of_status(&status, &p.vault).ok_or_else(|| {
        miette!(
            "Azure accepted the restore of {} but its operation named no job",
            p.address
        )
    })?;
    let body = client
        .get_optional(&restore::job_path(&job))
        .await?
        .ok_or_else(|| miette!("the restore job {job} does not exist"))?;
    restore::job_from_arm(&body).ok_or_else(|| miette!("the restore job {job} could not be read"))
}

/// Validate, then start a Disk Backup restore: its operation's result names the job.
async fn start_disk_restore(
    client: &ArmClient,
    p: &Prepared,
    (instance, user_identity): (&ArmId, Option<&str>),
    disk: &ArmId,
    progress: &dyn Progress,
    task: &Task,
) -> Result<restore::Job> {
    let point = &p.point.name;
    if let Some(g) = &p.grant {
        super::restore_permissions::grant(client, g).await?;
    }
    let validate = restore::disk_validate_request(instance, point, disk, &p.region, user_identity);
    super::restore_permissions::waiting_for_roles(client, &p.address, &validate, progress, task)
        .await?;
    let result = client
        .execute(&restore::disk_restore_request(
            instance,
            point,
            disk,
            &p.region,
            user_identity,
        ))
        .await?
        .unwrap_or_default();
    let job = result["jobId"].as_str().ok_or_else(|| {
        miette!(
            "Azure accepted the restore of {} but named no job",
            p.address
        )
    })?;
    let body = client
        .get_optional(&restore::disk_job_path(&ArmId::new(job)))
        .await?
        .unwrap_or_default();
    restore::disk_job_from_arm(&body)
        .ok_or_else(|| miette!("the restore job {job} could not be read"))
}

/// What the job created: the new VM; for disks, the resource group they are in and the VM
/// configuration and template blobs the job names ("Config Blob Uri", "Template Blob Uri":
/// recording SCEN #218, FACTS §8), from which a VM can be created.
pub(super) fn created_by(p: &Prepared, bag: &serde_json::Map<String, Value>) -> Vec<String> {
    match &p.target {
        Target::NewVm { vm, .. } => vec![vm.to_string()],
        Target::Disks { resource_group, .. } => {
            let mut out = vec![format!("disks in {resource_group}")];
            for k in ["Config Blob Uri", "Template Blob Uri"] {
                if let Some(v) = bag.get(k).and_then(Value::as_str) {
                    out.push(format!("{k}: {v}"));
                }
            }
            out
        }
        Target::ReplaceDisks { .. } => vec![format!("the disks of {}", p.source_vm)],
        Target::NewDisk { disk, .. } => {
            // The role granted first is reported with the disk.
            let mut out: Vec<String> = p.grant.iter().map(|g| g.made()).collect();
            out.push(
                bag.get("recoveryDestination")
                    .and_then(Value::as_str)
                    .map_or_else(|| disk.to_string(), str::to_string),
            );
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_are_chosen_as_asked() {
        assert_eq!("latest".parse(), Ok(PointChoice::Latest));
        assert_eq!(
            "latest-app-consistent".parse(),
            Ok(PointChoice::LatestAppConsistent)
        );
        assert_eq!(
            "22493304464643".parse(),
            Ok(PointChoice::Named("22493304464643".into()))
        );
        assert!(matches!(
            "2026-12-05T18:00:00Z".parse::<PointChoice>(),
            Ok(PointChoice::At(_))
        ));
        assert!("2026-13-45".parse::<PointChoice>().is_err());
        // A date means its end: the day's last point.
        let Ok(PointChoice::At(end)) = "2026-12-05".parse::<PointChoice>() else {
            panic!("a date is a point")
        };
        assert_eq!((end.day(), end.hour()), (5, 23));
    }
}
