//! Backup jobs (`backupJobs`, `backupJobs/{id}`): created by protection operations, their
//! status (InProgress → Completed/Failed) computed from the clock like operations.

use serde_json::{json, Value};

use super::backup::parse_filter;
use super::handler::{Ctx, HResult, Reply};
use super::lro;
use super::protection::eq;
use super::state::{key, Job, State};
use super::vaults::get_vault;

pub(super) fn new_job(
    st: &mut State,
    vk: &str,
    operation: &str,
    (vm, container): (&str, String),
    start: i64,
    duration: i64,
    failed: Option<Value>,
) -> String {
    let id = uuid::Uuid::new_v4().to_string();
    st.jobs.insert(
        key(&[vk, &id]),
        Job {
            vault_key: vk.to_string(),
            id: id.clone(),
            operation: operation.into(),
            entity_friendly_name: vm.into(),
            container,
            start_ms: start,
            duration_ms: duration,
            failed,
            property_bag: None,
        },
    );
    id
}

/// Where a job that started at `start` and runs `duration` stands at `now`: done, its status as
/// both services spell it, and how long it has run.
pub(super) fn progress(
    start: i64,
    duration: i64,
    failed: bool,
    now: i64,
) -> (bool, &'static str, i64) {
    let done = now >= start + duration;
    let status = match (done, failed) {
        (false, _) => "InProgress",
        (true, true) => "Failed",
        (true, false) => "Completed",
    };
    (done, status, if done { duration } else { now - start })
}

pub(super) fn job_body(vault_id: &str, j: &Job, now: i64) -> Value {
    let (done, status, elapsed) = progress(j.start_ms, j.duration_ms, j.failed.is_some(), now);
    let tasks = if j.operation == "Backup" {
        json!([
            {"taskId": "Take Snapshot", "status": if done || now - j.start_ms > j.duration_ms / 3 { "Completed" } else { "InProgress" }, "duration": "PT0S"},
            {"taskId": "Transfer data to vault", "status": if done { status } else { "InProgress" }, "duration": "PT0S"}
        ])
    } else if j.operation == "Restore" || j.operation == "CrossRegionRestore" {
        // Recording: test_backup_diskaccess_restore.yaml #43 (FACTS §8).
        let step = |half: bool| {
            if done {
                status
            } else if half && now - j.start_ms > j.duration_ms / 2 {
                "Completed"
            } else {
                "InProgress"
            }
        };
        json!([
            {"taskId": "Transfer data from vault", "status": step(true), "duration": "PT0S", "taskType": "Normal"},
            {"taskId": "Create the restored virtual machine", "status": step(false), "duration": "PT0S", "taskType": "Normal"}
        ])
    } else {
        json!([])
    };
    let mut p = json!({
        "jobType": "AzureIaaSVMJob",
        "operation": j.operation,
        "status": status,
        "entityFriendlyName": j.entity_friendly_name,
        "containerName": j.container,
        "backupManagementType": "AzureIaasVM",
        "startTime": lro::fmt_time(j.start_ms),
        "duration": lro::fmt_duration(elapsed),
        "activityId": super::inventory::stable_guid(&format!("activity:{}", j.id)),
        "virtualMachineVersion": "Compute",
        "actionsInfo": [if done { "Retriable" } else { "Cancellable" }],
        "extendedInfo": {"tasksList": tasks, "propertyBag": {"VM Name": j.entity_friendly_name}},
    });
    if let Some(Value::Object(bag)) = &j.property_bag {
        for (k, v) in bag {
            p["extendedInfo"]["propertyBag"][k] = v.clone();
        }
        let pct = if done {
            100.0
        } else {
            ((now - j.start_ms) as f64 * 100.0 / j.duration_ms.max(1) as f64).min(99.0)
        };
        p["extendedInfo"]["progressPercentage"] = json!(pct);
    }
    if done {
        p["endTime"] = json!(lro::fmt_time(j.start_ms + j.duration_ms));
    }
    if let (true, Some(e)) = (done, &j.failed) {
        p["errorDetails"] =
            json!([{"errorCode": e["code"], "errorString": e["message"], "recommendations": []}]);
    }
    json!({
        "id": format!("{vault_id}/backupJobs/{}", j.id),
        "name": j.id,
        "type": "Microsoft.RecoveryServices/vaults/backupJobs",
        "properties": p,
    })
}

/// `2026-12-05 01:30:00 PM` (UTC) in milliseconds.
fn filter_time(v: &str) -> Option<i64> {
    let fmt = time::macros::format_description!(
        "[year]-[month]-[day] [hour repr:12]:[minute]:[second] [period]"
    );
    let t = time::PrimitiveDateTime::parse(v.trim(), &fmt)
        .ok()?
        .assume_utc();
    Some((t.unix_timestamp_nanos() / 1_000_000) as i64)
}

pub(super) fn list_jobs(ctx: &Ctx<'_>, st: &mut State, v: &[String]) -> HResult {
    let vault = get_vault(st, &v[0], &v[1], &v[2])?.clone();
    let vk = vault.key();
    let vid = vault.id();
    let filter = parse_filter(ctx.q("$filter"))?;
    let failed = super::protection::recovery_points::failed_backup_jobs(ctx, st, &vk);
    let mut jobs: Vec<&Job> = st
        .jobs
        .values()
        .chain(&failed)
        .filter(|j| j.vault_key == vk && j.start_ms <= ctx.now)
        .collect();
    jobs.sort_by_key(|j| std::cmp::Reverse(j.start_ms));
    let sim = super::protection::recovery_points::Sim::of(ctx);
    let items: Vec<Value> = jobs
        .into_iter()
        .map(|j| {
            let mut b = job_body(&vid, j, ctx.now);
            // The container, `iaasvmcontainerv2;{rg};{vm}`, names the VM's resource group.
            let rg = j.container.split(';').nth(1).unwrap_or_default();
            if sim.first_backup_fails(rg, &j.entity_friendly_name) {
                // `first_backup_fail=`: the VM's jobs at their simulated age (faults.rs).
                let p = &mut b["properties"];
                for k in ["startTime", "endTime"] {
                    if let Some(t) = p[k].as_str().and_then(lro::parse_time) {
                        p[k] = json!(lro::fmt_time(sim.aged(t, ctx.now)));
                    }
                }
            }
            b
        })
        .filter(|b| {
            filter.iter().all(|(k, val)| {
                let p = &b["properties"];
                match k.as_str() {
                    "operation" => p["operation"].as_str().is_some_and(|x| eq(x, val)),
                    "status" => p["status"].as_str().is_some_and(|x| eq(x, val)),
                    "backupmanagementtype" => eq(val, "AzureIaasVM"),
                    // The window of the jobs' start (bms.json `BackupJobs_List`; the time as
                    // Azure's CLI writes it, `2026-12-05 01:30:00 PM`, UTC).
                    "starttime" | "endtime" => {
                        let (Some(t), Some(start)) = (
                            filter_time(val),
                            p["startTime"].as_str().and_then(lro::parse_time),
                        ) else {
                            return true;
                        };
                        if k == "starttime" {
                            start >= t
                        } else {
                            start <= t
                        }
                    }
                    _ => true,
                }
            })
        })
        .collect();
    Ok(Reply::ok(ctx.page(items, true)))
}
