//! Running a prepared restore drill: each VM's restore, checks and cleanup, into a report.

use super::super::restore::{read, Prepared as Restore};
use super::{check, failed, DrillVm, Place, Prepared};
use crate::azure::ArmClient;
use crate::model::recovery_point::RecoveryPoint;
use crate::model::restore::Target;
use crate::model::restore_drill::{self as drill, Check, CheckKind, Report, VmResult, TAG};
use crate::model::{api, tags, Address, ArmId, ArmRequest, Method};
use crate::progress::{Event, Progress, Task};
use miette::{miette, Result};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};
use time::OffsetDateTime;
use tokio::sync::Semaphore;

/// Run the drill: every VM, up to its vault's parallelism at once.
pub async fn run(client: &ArmClient, p: &Prepared, progress: &dyn Progress) -> Report {
    let started_at = OffsetDateTime::now_utc();
    let started = Instant::now();
    let before = client.request_count();
    let gates: BTreeMap<&ArmId, Arc<Semaphore>> = p
        .places
        .iter()
        .map(|(v, place)| (v, Arc::new(Semaphore::new(place.parallelism as usize))))
        .collect();
    let drills = p.vms.iter().map(|vm| {
        let gate = gates.get(&vm.vault).cloned();
        async move {
            let _permit = match &gate {
                Some(g) => g.acquire().await.ok(),
                None => None,
            };
            match p.places.get(&vm.vault) {
                Some(place) => drill_one(client, p, vm, place, progress).await,
                None => failed(
                    &vm.address,
                    &vm.source_vm,
                    CheckKind::Restore,
                    "no drill place".into(),
                ),
            }
        }
    });
    let mut vms = p.unprotected.clone();
    vms.extend(futures::future::join_all(drills).await);
    vms.sort_by(|a, b| a.address.cmp(&b.address));
    Report {
        run: p.run.clone(),
        started: started_at,
        seconds: started.elapsed().as_secs_f64(),
        passed: !vms.is_empty() && vms.iter().all(|v| v.passed),
        kept: p.keep,
        requests: client.request_count() - before,
        sandbox_time: false,
        vms,
    }
}

const HOUR: f64 = 3600.0;

async fn drill_one(
    client: &ArmClient,
    p: &Prepared,
    vm: &DrillVm,
    place: &Place,
    progress: &dyn Progress,
) -> VmResult {
    let mut r = failed(&vm.address, &vm.source_vm, CheckKind::Point, String::new());
    r.checks.clear();
    r.rpo_hours = vm.rpo.as_ref().ok().map(|d| d.as_secs_f64() / HOUR);
    let point = match latest_point(client, &vm.item).await {
        Ok(Some(point)) => point,
        Ok(None) => {
            r.checks
                .push(check(CheckKind::Point, false, "no recovery point yet"));
            return r;
        }
        Err(e) => {
            r.checks.push(check(
                CheckKind::Point,
                false,
                format!("the points could not be read: {e}"),
            ));
            return r;
        }
    };
    r.checks.push(check(
        CheckKind::Point,
        true,
        format!(
            "{} ({} UTC, {})",
            point.name,
            crate::model::snapshot::display_time(Some(point.time)),
            point.consistency.as_str()
        ),
    ));
    r.point = Some(point.name.clone());
    r.point_time = Some(point.time);
    let age = (OffsetDateTime::now_utc() - point.time)
        .as_seconds_f64()
        .max(0.0);
    r.point_age_hours = Some(age / HOUR);
    r.checks.push(match &vm.rpo {
        Ok(rpo) => {
            let allowed = (*rpo + drill::RPO_GRACE).as_secs_f64();
            check(
                CheckKind::Rpo,
                age <= allowed,
                format!(
                    "the point is {:.1} h old; the policy's RPO is {:.0} h (+{:.0} h for a backup to run)",
                    age / HOUR,
                    rpo.as_secs_f64() / HOUR,
                    drill::RPO_GRACE.as_secs_f64() / HOUR
                ),
            )
        }
        Err(why) => check(
            CheckKind::Rpo,
            false,
            format!("the point is {:.1} h old; {why}", age / HOUR),
        ),
    });
    let name = drill::vm_name(&vm.source_vm, &p.run);
    let new_vm = ArmId::new(format!(
        "{}/providers/Microsoft.Compute/virtualMachines/{name}",
        place.resource_group
    ));
    let held: BTreeSet<u32> = point.disks.iter().filter_map(|d| d.lun).collect();
    // The source's OS disk and the data disks the point holds; when the source is gone, the
    // point's LUNs (sizes unknown).
    let expected: Vec<drill::Disk> = match &vm.disks {
        Some(disks) => disks
            .iter()
            .filter(|d| d.lun.is_none_or(|l| held.is_empty() || held.contains(&l)))
            .cloned()
            .collect(),
        None => std::iter::once(None)
            .chain(held.iter().map(|l| Some(*l)))
            .map(|lun| drill::Disk {
                lun,
                size_gb: 0,
                id: None,
            })
            .collect(),
    };
    let restore = Restore {
        address: vm.address.to_string(),
        vault: vm.vault.clone(),
        source_vm: vm.source_vm.clone(),
        point,
        target: Target::NewVm {
            vm: new_vm.clone(),
            resource_group: place.resource_group.clone(),
            subnet: place.subnet.clone(),
            staging: place.staging.clone(),
        },
        luns: None,
        region: vm.region.clone(),
        will: Vec::new(),
        grant: None,
        cross_region: false,
    };
    // The RTO runs from here to a running VM.
    let started = Instant::now();
    let restored = super::super::restore::run(client, &restore, progress).await;
    let done = match restored {
        Ok(done) => done,
        Err(e) => {
            r.checks
                .push(check(CheckKind::Restore, false, format!("{e}")));
            // Azure may have accepted the restore: its job could still create the VM.
            let mut c = clean_up(client, p, &new_vm, &Value::Null, progress, &vm.address).await;
            c.passed = false;
            c.detail = format!(
                "{}; the restore job was not followed to its end and may still create {new_vm}: remove it once the job ends",
                c.detail
            );
            r.checks.push(c);
            r.passed = false;
            return r;
        }
    };
    r.job = Some(done.job.clone());
    if !done.status.succeeded() {
        let why = done
            .error
            .clone()
            .unwrap_or_else(|| done.status.as_str().to_string());
        r.checks.push(check(
            CheckKind::Restore,
            false,
            format!("job {} {}: {why}", done.job.name(), done.status.as_str()),
        ));
        r.checks
            .push(clean_up(client, p, &new_vm, &Value::Null, progress, &vm.address).await);
        r.passed = false;
        return r;
    }
    r.checks.push(check(
        CheckKind::Restore,
        true,
        format!("job {} completed in {:.0}s", done.job.name(), done.seconds),
    ));
    r.restored_vm = Some(new_vm.clone());
    let body = match mark_and_read(client, p, &new_vm).await {
        Ok(b) => b,
        Err(e) => {
            r.checks.push(check(
                CheckKind::Running,
                false,
                format!("the restored VM could not be read: {e}"),
            ));
            Value::Null
        }
    };
    let body = if body.is_null() {
        body
    } else {
        until_running(client, &new_vm, body).await
    };
    if !body.is_null() {
        let provisioned = drill::status(&body, "ProvisioningState");
        let power = drill::status(&body, "PowerState");
        let running = drill::is_running(&body);
        if running {
            r.rto_seconds = Some(started.elapsed().as_secs_f64());
        }
        r.checks.push(check(
            CheckKind::Running,
            running,
            format!(
                "provisioning {}, power {}",
                provisioned.as_deref().unwrap_or("unknown"),
                power.as_deref().unwrap_or("unknown")
            ),
        ));
        r.checks
            .push(drill::check_disks(&expected, &drill::disks_of(&body)));
    }
    r.checks
        .push(clean_up(client, p, &new_vm, &body, progress, &vm.address).await);
    r.passed = r.checks.iter().all(|c| c.passed);
    r
}

/// A restored VM may still be starting when its restore job ends: read its instance view again
/// (backing off, about two minutes in all) until it runs.
async fn until_running(client: &ArmClient, vm: &ArmId, mut body: Value) -> Value {
    let mut delay = Duration::from_secs(1);
    for _ in 0..8 {
        if drill::is_running(&body) {
            break;
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(30));
        match client.get_optional(&instance_view_path(vm)).await {
            Ok(Some(b)) => body = b,
            _ => break,
        }
    }
    body
}

fn instance_view_path(vm: &ArmId) -> String {
    format!("{vm}?$expand=instanceView&api-version={}", api::COMPUTE)
}

async fn latest_point(client: &ArmClient, item: &ArmId) -> Result<Option<RecoveryPoint>> {
    let points: Vec<RecoveryPoint> = super::super::restore::vm_points(client, item)
        .await?
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    Ok(super::super::restore::choose(
        &points,
        &super::super::restore::PointChoice::Latest,
    ))
}

/// Tag the restored VM as the drill's, read it with its instance view, and tag its disks.
async fn mark_and_read(client: &ArmClient, p: &Prepared, vm: &ArmId) -> Result<Value> {
    client
        .execute_discarding(&tags::merge_request(vm, TAG, &p.run))
        .await?;
    let body = client
        .get_optional(&instance_view_path(vm))
        .await?
        .ok_or_else(|| miette!("{vm} does not exist after its restore completed"))?;
    mark(client, p, None, &body).await?;
    Ok(body)
}

/// Tag the disks of a drill VM's body, and the VM itself when `vm` is given.
async fn mark(client: &ArmClient, p: &Prepared, vm: Option<&ArmId>, body: &Value) -> Result<()> {
    let disks = drill::disks_of(body).into_iter().filter_map(|d| d.id);
    for id in vm.cloned().into_iter().chain(disks) {
        client
            .execute_discarding(&tags::merge_request(&id, TAG, &p.run))
            .await?;
    }
    Ok(())
}

fn delete(id: &ArmId, api_version: &str) -> ArmRequest {
    ArmRequest::new(
        Method::Delete,
        format!("{id}?api-version={api_version}"),
        None,
    )
}

/// Remove the restored VM, then its disks and NICs (what its delete options leave), and check
/// they are gone; with `--keep`, say what stays.
async fn clean_up(
    client: &ArmClient,
    p: &Prepared,
    vm: &ArmId,
    body: &Value,
    progress: &dyn Progress,
    address: &Address,
) -> Check {
    // A restore that failed or could not be read may still have left its VM: read it again.
    let read_again = if body.is_null() {
        read(client, vm, api::COMPUTE).await.ok().flatten()
    } else {
        None
    };
    let body = read_again.as_ref().unwrap_or(body);
    let disks: Vec<ArmId> = drill::disks_of(body)
        .into_iter()
        .filter_map(|d| d.id)
        .collect();
    let nics = drill::nics_of(body);
    if p.keep {
        let kept = if body.is_null() {
            "nothing was created".to_string()
        } else {
            if read_again.is_some() {
                // Not tagged yet (its restore failed or was not read): tag what stays.
                let _ = mark(client, p, Some(vm), body).await;
            }
            format!(
                "kept (--keep): {vm}, {} disk(s), {} NIC(s), tagged {TAG}={}",
                disks.len(),
                nics.len(),
                p.run
            )
        };
        return check(CheckKind::Cleanup, true, kept);
    }
    let task = Task::new(
        format!("{address}/cleanup"),
        format!("removing the drill VM of {address}"),
    );
    progress.event(&task, Event::Started);
    let steps = async {
        client.execute_discarding(&delete(vm, api::COMPUTE)).await?;
        for d in &disks {
            client.execute_discarding(&delete(d, api::DISKS)).await?;
        }
        for n in &nics {
            client.execute_discarding(&delete(n, api::NETWORK)).await?;
        }
        let mut left = Vec::new();
        if read(client, vm, api::COMPUTE).await?.is_some() {
            left.push(vm.clone());
        }
        for d in &disks {
            if read(client, d, api::DISKS).await?.is_some() {
                left.push(d.clone());
            }
        }
        for n in &nics {
            if read(client, n, api::NETWORK).await?.is_some() {
                left.push(n.clone());
            }
        }
        Ok::<_, miette::Report>(left)
    };
    let result = match steps.await {
        Ok(left) if left.is_empty() => check(
            CheckKind::Cleanup,
            true,
            if body.is_null() {
                "nothing left behind".to_string()
            } else {
                format!(
                    "removed the VM, {} disk(s) and {} NIC(s)",
                    disks.len(),
                    nics.len()
                )
            },
        ),
        Ok(left) => check(
            CheckKind::Cleanup,
            false,
            format!(
                "still there: {}",
                left.iter()
                    .map(ArmId::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ),
        Err(e) => check(
            CheckKind::Cleanup,
            false,
            format!("{e} (what it created is tagged {TAG}={})", p.run),
        ),
    };
    if result.passed {
        progress.event(&task, Event::Finished);
    } else {
        progress.event(
            &task,
            Event::Failed {
                error: &result.detail,
            },
        );
    }
    result
}
