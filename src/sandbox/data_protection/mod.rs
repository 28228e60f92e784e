//! Microsoft.DataProtection (Azure Backup vaults for Azure Disk Backup), api 2026-03-01 and older
//! stable versions: backup vaults (`vaults`), backup policies (`policies`), backup instances and
//! `validateForBackup` (`instances`), soft-deleted instances (`deleted`), the instance actions —
//! stop, suspend, resume, on-demand backup, sync (`actions`) —, restores (`restore`), their jobs
//! (`jobs`), recovery points generated lazily from the policy schedule (`recovery_points`), and
//! the operation status / result routes (vault-, resource-group- and location-level) shared by
//! all of them.
//!
//! Operation ids are base64 strings like Azure's (`<guid>;<guid>` encoded), and the status
//! body spells the running state `Inprogress` as the Data Protection service does.

mod actions;
mod deleted;
mod instances;
pub mod jobs;
mod policies;
pub mod recovery_points;
pub mod restore;
mod vaults;

use std::collections::BTreeMap;

use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::errors::ArmError;
use super::handler::{Ctx, HResult, Reply};
use super::lro::{self, NewOp, Phase};
use super::state::{Operation, State};

pub use instances::Instance;
pub use vaults::DppVault;

pub const API_VERSIONS: &[&str] = &[
    "2021-01-01",
    "2021-07-01",
    "2022-01-01",
    "2022-03-01",
    "2022-04-01",
    "2022-05-01",
    "2022-12-01",
    "2023-01-01",
    "2023-05-01",
    "2023-11-01",
    "2024-04-01",
    // The CLI's vault calls (recording: test_dataprotection_backup_vault_create_and_delete,
    // FACTS §10).
    "2025-01-01",
    "2025-07-01",
    "2026-03-01",
];

/// Simulated durations (Azure seconds).
pub mod durations {
    pub const VAULT_PUT: f64 = 20.0;
    pub const VAULT_DELETE: f64 = 20.0;
    pub const VALIDATE: f64 = 10.0;
    /// A new instance's PUT operation: succeeded at the first poll, a second after the PUT
    /// (DPP create_backup_delete_disk #11–#12).
    pub const INSTANCE_PUT: f64 = 1.0;
    /// Configuring protection after the PUT: `ProtectionConfigured` first seen 69 s after the
    /// PUT, still `ConfiguringProtection` at 38 s (create_backup_delete_disk #13–#18).
    pub const CONFIGURE: f64 = 60.0;
    /// A PUT over an existing instance: 23 s in the one recorded (a blob instance, DPP
    /// update_policy, 2026).
    pub const INSTANCE_UPDATE: f64 = 20.0;
    pub const INSTANCE_DELETE: f64 = 30.0;
    pub const ACTION: f64 = 20.0;
    /// An on-demand backup: its operation ends at the first poll, a second after the POST; the
    /// job it starts runs PT3M36S (DPP create_backup_delete_disk #19–#40).
    pub const ADHOC_TRIGGER: f64 = 1.0;
    pub const ADHOC_BACKUP: f64 = 216.0;
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct DataProtectionState {
    #[serde(default)]
    pub vaults: BTreeMap<String, DppVault>,
    #[serde(default)]
    pub policies: BTreeMap<String, DppPolicy>,
    #[serde(default)]
    pub instances: BTreeMap<String, Instance>,
    /// Restore jobs, by name.
    #[serde(default)]
    pub jobs: BTreeMap<String, jobs::Job>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DppPolicy {
    pub vault_key: String,
    pub name: String,
    pub properties: Value,
}

pub(crate) const BV: &str =
    "subscriptions/*/resourcegroups/*/providers/microsoft.dataprotection/backupvaults/*";

fn eq(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// The Data Protection service's error envelope: `error{code, message, target, additionalInfo
/// [{type: UserFacingError, info{…}}]}`.
pub(crate) fn dpp_error(status: u16, code: &str, message: impl Into<String>) -> ArmError {
    let message = message.into();
    let mut e = ArmError::new(status, code, message.clone());
    e.raw_body = Some(Box::new(json!({"error": error_json(code, &message)})));
    e
}

pub(crate) fn error_json(code: &str, message: &str) -> Value {
    json!({
        "code": code,
        "message": message,
        "target": null,
        "additionalInfo": [{"type": "UserFacingError", "info": {
            "message": message, "recommendedAction": [], "details": null, "code": code,
            "target": "", "innerError": null, "isRetryable": false, "isUserError": true,
        }}],
    })
}

/// Start an operation and give it a base64 id like Azure's (no `/` or `+`, so it fits a path).
/// `job_id`: the job the operation names (`None`: a new one).
#[allow(clippy::too_many_arguments)]
pub(crate) fn start_op(
    st: &mut State,
    ctx: &Ctx<'_>,
    kind: &str,
    azure_secs: f64,
    error: Option<Value>,
    target_key: Option<String>,
    job_id: Option<String>,
    result: &str,
) -> String {
    let id = lro::start(
        st,
        ctx.now,
        NewOp {
            kind,
            duration_ms: ctx.scaled(azure_secs),
            error,
            vault_key: None,
            target_key,
            job_id: Some(job_id.unwrap_or_else(|| uuid::Uuid::new_v4().to_string())),
            result,
        },
    );
    let token = loop {
        let t = base64::engine::general_purpose::STANDARD.encode(format!(
            "{};{}",
            uuid::Uuid::new_v4(),
            uuid::Uuid::new_v4()
        ));
        if !t.contains('/') && !t.contains('+') {
            break t;
        }
    };
    lro::rename(st, &id, &token);
    token
}

/// `Azure-AsyncOperation` at `{prefix}/operationStatus/{op}` and `Location` at
/// `{location_prefix}/operationResults/{op}`; no `Retry-After` (FACTS §9).
pub(crate) fn lro_headers(
    ctx: &Ctx<'_>,
    status_prefix: &str,
    result_prefix: Option<&str>,
    op: &str,
) -> Vec<(String, String)> {
    let mut h = vec![(
        "Azure-AsyncOperation".to_string(),
        ctx.abs(&format!(
            "{status_prefix}/operationStatus/{op}?api-version={}",
            ctx.api_version
        )),
    )];
    if let Some(r) = result_prefix {
        h.push((
            "Location".to_string(),
            ctx.abs(&format!(
                "{r}/operationResults/{op}?api-version={}",
                ctx.api_version
            )),
        ));
    }
    h
}

pub(crate) fn location_prefix(sub: &str, region: &str) -> String {
    format!("/subscriptions/{sub}/providers/Microsoft.DataProtection/locations/{region}")
}

pub fn route(ctx: &Ctx<'_>, st: &mut State) -> HResult {
    ctx.require_api(API_VERSIONS)?;
    let l = &ctx.lsegs;
    // Operation status / results at every level the spec names.
    if l.len() >= 2 && (l[l.len() - 2] == "operationstatus" || l[l.len() - 2] == "operationresults")
    {
        let status = l[l.len() - 2] == "operationstatus";
        let known = ctx
            .m("subscriptions/*/providers/microsoft.dataprotection/locations/*/*/*")
            .is_some()
            || ctx
                .m("subscriptions/*/resourcegroups/*/providers/microsoft.dataprotection/*/*")
                .is_some()
            // A vault delete's status (DPP vault_create_and_delete #5–#6).
            || ctx
                .m("subscriptions/*/resourcegroups/*/providers/microsoft.dataprotection/locations/*/*/*")
                .is_some()
            || ctx.m(&format!("{BV}/*/*")).is_some()
            || ctx.m(&format!("{BV}/backupinstances/*/*/*")).is_some();
        if known {
            if ctx.method != "GET" {
                return Err(ArmError::method_not_allowed(&ctx.method));
            }
            return operation(ctx, st, status);
        }
    }
    if let Some(v) = ctx.m(&format!("{BV}/backupjobs")) {
        if ctx.method != "GET" {
            return Err(ArmError::method_not_allowed(&ctx.method));
        }
        let vault = vaults::get_vault(st, &v[0], &v[1], &v[2])?.clone();
        return Ok(Reply::ok(ctx.page(list_jobs(ctx, st, &vault), false)));
    }
    if let Some(v) = ctx.m(&format!("{BV}/backupjobs/*")) {
        if ctx.method != "GET" {
            return Err(ArmError::method_not_allowed(&ctx.method));
        }
        let vk = vaults::get_vault(st, &v[0], &v[1], &v[2])?.key();
        return st
            .data_protection
            .jobs
            .get(&v[3].to_ascii_lowercase())
            .filter(|j| j.vault_key == vk)
            .map(|j| Reply::ok(jobs::job_body(j, ctx.now)))
            .ok_or_else(|| {
                dpp_error(
                    404,
                    "UserErrorJobNotFound",
                    format!("Job '{}' was not found.", v[3]),
                )
            });
    }
    if let Some(r) = vaults::route(ctx, st) {
        return r;
    }
    if let Some(r) = policies::route(ctx, st) {
        return r;
    }
    if let Some(r) = instances::route(ctx, st) {
        return r;
    }
    if let Some(r) = deleted::route(ctx, st) {
        return r;
    }
    Err(ArmError::no_route(&ctx.raw_path))
}

/// The body an operation's result URL answers once it succeeded.
fn result_body(st: &State, op: &Operation, ctx: &Ctx<'_>) -> Option<Value> {
    let target = op.target_key.as_deref().unwrap_or("");
    match op.result.as_str() {
        "vault" => st
            .data_protection
            .vaults
            .get(target)
            .map(|v| vaults::body(v, ctx.now)),
        "instance" => st
            .data_protection
            .instances
            .get(target)
            .map(|i| instances::body(st, i, ctx.now)),
        "job" => Some(json!({
            "objectType": "OperationJobExtendedInfo",
            "jobId": op.job_id,
        })),
        _ => None,
    }
}

/// Does an operation of this kind start a job its status names (an ad-hoc backup, a restore)?
fn names_job(kind: &str) -> bool {
    matches!(kind, "dpp:backup" | "dpp:restore")
}

fn operation(ctx: &Ctx<'_>, st: &mut State, status: bool) -> HResult {
    let id = ctx.segs[ctx.segs.len() - 1].clone();
    let Some(op) = st.ops.get(&id).cloned() else {
        return Err(ArmError::not_found(
            "OperationNotFound",
            format!("The operation '{id}' was not found."),
        ));
    };
    let phase = lro::phase(&op, ctx.now);
    if status {
        let mut b = json!({
            "id": ctx.raw_path,
            "name": op.id,
            "status": match phase {
                // Sic: the Data Protection service spells it this way.
                Phase::Running => "Inprogress",
                Phase::Succeeded => "Succeeded",
                Phase::Failed => "Failed",
            },
            "startTime": lro::fmt_time(op.start_ms),
        });
        // Running, the end is the zero time (DPSD #6, #7; update_protection #4).
        b["endTime"] = match phase {
            Phase::Running => json!("0001-01-01T00:00:00Z"),
            _ => json!(lro::fmt_time(op.start_ms + op.duration_ms)),
        };
        match phase {
            Phase::Failed => b["error"] = op.error.clone().unwrap_or_default(),
            // Only an operation that started a job names it; stop, suspend, resume, delete and
            // validate end with no `properties` (DPSD #8; update_protection #4, #9, #14, #19).
            Phase::Succeeded if names_job(&op.kind) => {
                b["properties"] =
                    json!({"objectType": "OperationJobExtendedInfo", "jobId": op.job_id})
            }
            Phase::Succeeded | Phase::Running => {}
        }
        return Ok(Reply::ok(b));
    }
    match phase {
        Phase::Running => Ok(Reply::status(202, None).header(
            "Location",
            ctx.abs(&format!("{}?api-version={}", ctx.raw_path, ctx.api_version)),
        )),
        Phase::Succeeded => {
            // The final result also names the region's status URL (DPP
            // create_backup_delete_disk #5, #10).
            let status_url = ctx
                .m("subscriptions/*/providers/microsoft.dataprotection/locations/*/operationresults/*")
                .map(|v| {
                    ctx.abs(&format!(
                        "{}?api-version={}",
                        location_prefix(&v[0], &v[1]) + "/operationStatus/" + &v[2],
                        ctx.api_version
                    ))
                });
            let r = match result_body(st, &op, ctx) {
                Some(b) => Reply::ok(b),
                None => Reply::status(204, None),
            };
            Ok(match status_url {
                Some(u) => r.header("Azure-AsyncOperation", u),
                None => r,
            })
        }
        Phase::Failed => {
            let e = op.error.unwrap_or_default();
            let code = e["code"].as_str().unwrap_or("InternalServerError");
            let msg = e["message"].as_str().unwrap_or("The operation failed.");
            let status = if code.starts_with("UserError") {
                400
            } else {
                500
            };
            Err(dpp_error(status, code, msg))
        }
    }
}

/// Parse a disk ARM id into `(subscription, resource group, name)`.
pub(crate) fn parse_disk_id(id: &str) -> Option<(String, String, String)> {
    let p: Vec<&str> = id.trim_matches('/').split('/').collect();
    if p.len() == 8
        && eq(p[0], "subscriptions")
        && eq(p[2], "resourceGroups")
        && eq(p[4], "providers")
        && eq(p[5], "Microsoft.Compute")
        && eq(p[6], "disks")
    {
        Some((p[1].to_string(), p[3].to_string(), p[7].to_string()))
    } else {
        None
    }
}

/// Parse a resource group id into `(subscription, resource group)`.
pub(crate) fn parse_rg_id(id: &str) -> Option<(String, String)> {
    let p: Vec<&str> = id.trim_matches('/').split('/').collect();
    if p.len() == 4 && eq(p[0], "subscriptions") && eq(p[2], "resourceGroups") {
        Some((p[1].to_string(), p[3].to_string()))
    } else {
        None
    }
}

/// `GET {vault}/backupJobs` (spec DataProtection `Jobs_List`): the vault's restore and on-demand
/// backup jobs, and a `Backup` job behind each of its instances' newest scheduled recovery points
/// (the 20 newest per instance; derived like the points, over simulated time). A disk's backup
/// job is `operation` and `operationCategory` `Backup`, with no source data store and the
/// `OperationalTierStore` as its destination once completed, as the recorded on-demand one
/// (DPP create_backup_delete_disk #22, #40); a scheduled one is not user-triggered.
fn list_jobs(ctx: &Ctx<'_>, st: &State, vault: &vaults::DppVault) -> Vec<Value> {
    let vk = vault.key();
    let minute = lro::scaled_ms(60.0, ctx.app.time_scale).max(1);
    let mut jobs: Vec<(i64, Value)> = Vec::new();
    for inst in st
        .data_protection
        .instances
        .values()
        .filter(|i| i.vault_key == vk)
    {
        let instance_id = format!("{}/backupInstances/{}", vault.id(), inst.name);
        // On-demand points have their own job (kept in `jobs`).
        let scheduled = recovery_points::points(inst, ctx.now)
            .into_iter()
            .filter(|rp| !inst.adhoc.iter().any(|(t, _, _)| *t == rp.time_ms));
        for rp in scheduled.take(20) {
            let name =
                super::inventory::stable_guid(&format!("{}/job/{}", inst.disk_id, rp.time_ms));
            let end = rp.time_ms + minute;
            let done = end <= ctx.now;
            jobs.push((rp.time_ms, json!({
                "id": format!("{}/backupJobs/{name}", vault.id()),
                "name": name,
                "type": "Microsoft.DataProtection/backupVaults/backupJobs",
                "properties": {
                    "backupInstanceId": instance_id,
                    "backupInstanceFriendlyName": inst.name,
                    "dataSourceId": inst.disk_id,
                    "dataSourceType": "Microsoft.Compute/disks",
                    "operationCategory": "Backup",
                    "operation": "Backup",
                    "policyName": rp.policy_name,
                    "status": if done { "Completed" } else { "InProgress" },
                    "isUserTriggered": false,
                    "sourceDataStoreType": null,
                    "destinationDataStoreName": done.then_some("OperationalTierStore"),
                    "startTime": lro::fmt_time(rp.time_ms),
                    "endTime": done.then(|| lro::fmt_time(end)),
                    "duration": lro::fmt_duration(if done { minute } else { ctx.now - rp.time_ms }),
                }
            })));
        }
    }
    for j in st
        .data_protection
        .jobs
        .values()
        .filter(|j| j.vault_key == vk)
    {
        jobs.push((j.start_ms, jobs::job_body(j, ctx.now)));
    }
    jobs.sort_by_key(|(t, _)| std::cmp::Reverse(*t));
    jobs.into_iter().map(|(_, j)| j).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_written_before_disk_backup_still_load() {
        let mut st = State::default();
        super::super::inventory::seed(&mut st, super::super::inventory::DEMO_INVENTORY, "demo")
            .unwrap();
        let mut v = serde_json::to_value(&st).unwrap();
        let o = v.as_object_mut().unwrap();
        for k in ["dpp", "role_assignments", "snapshots"] {
            assert!(o.remove(k).is_some(), "{k}");
        }
        for d in o["disks"].as_object_mut().unwrap().values_mut() {
            d.as_object_mut().unwrap().remove("source_resource_id");
        }
        let back: State = serde_json::from_value(v).unwrap();
        assert!(back.data_protection.vaults.is_empty() && back.role_assignments.is_empty());
        assert_eq!(back.disks.len(), st.disks.len());
    }

    #[test]
    fn instances_and_jobs_written_before_configuring_and_backup_jobs_still_load() {
        let instance = json!({
            "vault_key": "s/rg/bv", "name": "rg-d", "properties": {}, "disk_key": "s/rg/d",
            "disk_id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/disks/d",
            "snapshot_rg_id": "/subscriptions/s/resourceGroups/snap", "ready_ms": 5,
            "error": null, "state": "Active", "segments": [], "deleted_ms": null, "purge_ms": null,
        });
        let i: instances::Instance = serde_json::from_value(instance).unwrap();
        assert_eq!((i.provisioned_ms, i.operation_failed), (0, false));
        let job = json!({
            "id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.DataProtection/backupVaults/bv/backupJobs/j",
            "vault_key": "s/rg/bv", "instance_id": "i", "disk_id": "d", "destination": "x",
            "point": "p", "point_ms": 1, "start_ms": 2, "duration_ms": 3, "failed": null,
        });
        let j: jobs::Job = serde_json::from_value(job).unwrap();
        assert_eq!(j.kind, jobs::JobKind::Restore);
        assert!(j.facts.is_null());
    }

    #[test]
    fn ids_and_policies() {
        assert_eq!(
            parse_disk_id("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/disks/d"),
            Some(("s".into(), "rg".into(), "d".into()))
        );
        assert_eq!(
            parse_rg_id("/subscriptions/s/resourcegroups/rg"),
            Some(("s".into(), "rg".into()))
        );
        assert!(parse_rg_id("/subscriptions/s").is_none());
    }
}
