//! Site Recovery jobs and the operation URLs that follow them: starting a job for a mutating
//! operation (202 with `Location` and `Azure-AsyncOperation`), its status and result, and the
//! `replicationJobs` reads.

use super::*;

/// What a new job needs. Scenario names: `EnableDr`, `DisableDr`, `TestFailover`,
/// `TestFailoverCleanup`, `UnplannedFailover`, `PlannedFailover`, `Commit`, `ReverseReplicate`,
/// `UpdateVmProperties`, `ConfigureProtection` (container mapping), `UnconfigureProtection`,
/// `AddProtectionProfile` (policy), `CreateFabric`, `CreateProtectionContainer`, `MapNetwork`,
/// `CreateRecoveryPlan`, …: only `TestFailover` is confirmed (Azure PowerShell's ASR cmdlets
/// compare a job's `ScenarioName` with "TestFailover"); the others are not in the recordings or
/// specs (README "Known to differ").
pub(in crate::sandbox) struct JobSpec<'a> {
    pub scenario: &'a str,
    pub friendly: &'a str,
    pub target_id: String,
    pub target_name: String,
    /// `ProtectionEntity`, `RecoveryPlan`, `ProtectionContainer`, `Fabric`, `ProtectionProfile`,
    /// `NetworkMapping`, `ProtectionContainerMapping`.
    pub target_type: &'a str,
    pub tasks: &'a [&'a str],
    pub duration_ms: i64,
    pub start_ms: i64,
}

/// Start an operation and its job. `error` makes both end Failed. `result` is `{kind}|{key}`
/// of the resource the `Location` URL answers when done, or `empty` (204). Returns the job id.
pub(in crate::sandbox) fn start_job(
    st: &mut State,
    vk: &str,
    job: JobSpec<'_>,
    error: Option<Value>,
    result: &str,
) -> String {
    let id = lro::start(
        st,
        job.start_ms,
        NewOp {
            kind: "asr",
            duration_ms: job.duration_ms,
            error: error.clone(),
            vault_key: Some(vk.to_string()),
            target_key: None,
            job_id: None,
            result,
        },
    );
    if let Some(op) = st.ops.get_mut(&id) {
        op.job_id = Some(id.clone());
    }
    st.site_recovery.jobs.insert(
        key(&[vk, &id]),
        AsrJob {
            vault_key: vk.to_string(),
            id: id.clone(),
            scenario: job.scenario.into(),
            friendly_name: job.friendly.into(),
            target_id: job.target_id,
            target_name: job.target_name,
            target_type: job.target_type.into(),
            tasks: job.tasks.iter().map(|s| s.to_string()).collect(),
            start_ms: job.start_ms,
            duration_ms: job.duration_ms,
            error,
        },
    );
    id
}

/// The injected-fault error of an operation (`lro_fail`).
/// A removal's job (no result body) and the 202 that follows it, for the resource at `path`
/// under the vault.
pub(in crate::sandbox) fn removal_accepted(
    ctx: &Ctx<'_>,
    st: &mut State,
    vault: &Vault,
    spec: JobSpec<'_>,
    error: Option<Value>,
    path: &str,
) -> HResult {
    let job = start_job(st, &vault.key(), spec, error, "empty");
    accepted(ctx, vault, path, &job)
}

pub(in crate::sandbox) fn fault(ctx: &Ctx<'_>, what: &str) -> Option<Value> {
    ctx.lro_fails().then(|| {
        json!({"code": "InternalError", "message": format!("{what} failed (injected fault). Retry the operation.")})
    })
}

/// Accept a request whose job then fails its prerequisite checks: the operation ends Failed with
/// Site Recovery's generic `(code, message)` (HTTP 400 on the `Location` URL), the job's errors
/// carry the reason (`detail`).
pub(in crate::sandbox) fn failed_job(
    ctx: &Ctx<'_>,
    st: &mut State,
    vault: &Vault,
    job: JobSpec<'_>,
    generic: (&str, &str),
    detail: &ArmError,
    resource_path: &str,
) -> HResult {
    let vk = vault.key();
    let id = start_job(
        st,
        &vk,
        job,
        Some(json!({"code": detail.code, "message": detail.message})),
        "empty",
    );
    if let Some(op) = st.ops.get_mut(&id) {
        op.error = Some(json!({"code": generic.0, "message": generic.1, "status": 400}));
    }
    accepted(ctx, vault, resource_path, &id)
}

/// The 202 answer of a mutating operation on `resource_path` (vault-relative).
pub(in crate::sandbox) fn accepted(
    ctx: &Ctx<'_>,
    vault: &Vault,
    resource_path: &str,
    op: &str,
) -> HResult {
    let vid = vault_sr_id(vault);
    Ok(Reply::status(202, None)
        .header(
            "Location",
            ctx.abs(&format!(
                "{vid}/{resource_path}/operationresults/{op}?api-version={}",
                ctx.api_version
            )),
        )
        .header(
            "Azure-AsyncOperation",
            ctx.abs(&format!(
                "{vid}/replicationOperationStatus/{op}?api-version={}",
                ctx.api_version
            )),
        )
        .mutated())
}

fn find_op(st: &State, vk: &str, id: &str) -> Result<crate::sandbox::state::Operation, ArmError> {
    lro::find(st, id)
        .filter(|o| o.kind == "asr" && o.vault_key.as_deref() == Some(vk))
        .cloned()
        .ok_or_else(|| {
            // Not in the recordings or specs: see README "Known to differ".
            ArmError::not_found("NotFound", format!("The operation '{id}' was not found."))
        })
}

/// `GET {resource}/operationresults/{id}` (final-state-via location).
pub(super) fn op_result(ctx: &Ctx<'_>, st: &mut State, vault: &Vault, rest: &[String]) -> HResult {
    require_method(ctx, "GET")?;
    let vk = vault.key();
    let id = &rest[rest.len() - 1];
    let op = find_op(st, &vk, id)?;
    match lro::phase(&op, ctx.now) {
        Phase::Running => Ok(Reply::status(202, None).header(
            "Location",
            ctx.abs(&format!(
                "{}/{}?api-version={}",
                vault_sr_id(vault),
                rest.join("/"),
                ctx.api_version
            )),
        )),
        Phase::Failed => {
            let e = op.error.clone().unwrap_or_default();
            Err(ArmError::new(
                e["status"].as_u64().map(|s| s as u16).unwrap_or(500),
                e["code"].as_str().unwrap_or("InternalError"),
                e["message"].as_str().unwrap_or("The operation failed."),
            ))
        }
        Phase::Succeeded => {
            let body = op
                .result
                .split_once('|')
                .and_then(|(kind, k)| render(st, vault, kind, k, ctx.now));
            match body {
                Some(b) => Ok(Reply::ok(b)),
                None => Ok(Reply::status(204, None)),
            }
        }
    }
}

/// The resource a finished operation answers.
fn render(st: &State, vault: &Vault, kind: &str, k: &str, now: i64) -> Option<Value> {
    match kind {
        "fabric" => st
            .site_recovery
            .fabrics
            .get(k)
            .map(|f| fabrics::fabric_body(st, vault, f)),
        "container" => st
            .site_recovery
            .containers
            .get(k)
            .map(|c| fabrics::container_body(st, vault, c)),
        "mapping" => st
            .site_recovery
            .mappings
            .get(k)
            .map(|m| fabrics::mapping_body(st, vault, m)),
        "networkmapping" => st
            .site_recovery
            .network_mappings
            .get(k)
            .map(|m| fabrics::network_mapping_body(st, vault, m)),
        "policy" => st
            .site_recovery
            .policies
            .get(k)
            .map(|p| policies::policy_body(vault, p)),
        "item" => st
            .site_recovery
            .items
            .get(k)
            .map(|i| items::item_body(st, vault, i, now)),
        "plan" => st
            .site_recovery
            .plans
            .get(k)
            .map(|p| plans::plan_body(st, vault, p, now)),
        _ => None,
    }
}

/// `GET {vault}/replicationOperationStatus/{id}` (the examples' Azure-AsyncOperation URL).
pub(super) fn op_status(ctx: &Ctx<'_>, st: &mut State, vault: &Vault, id: &str) -> HResult {
    require_method(ctx, "GET")?;
    let op = find_op(st, &vault.key(), id)?;
    let phase = lro::phase(&op, ctx.now);
    // The shape Azure answers (logged in azurerm#25604 and #31927): `id`, `properties` and
    // `percentComplete` null, `name` = the job id, `error.details` null.
    let _ = vault;
    let mut b = json!({
        "error": null,
        "id": null,
        "name": op.id,
        "properties": null,
        "status": lro::status_str(phase),
        "startTime": lro::fmt_time(op.start_ms),
        "endTime": null,
        "percentComplete": null,
    });
    if phase != Phase::Running {
        b["endTime"] = json!(lro::fmt_time(op.start_ms + op.duration_ms));
    }
    if phase == Phase::Failed {
        let e = op.error.clone().unwrap_or_default();
        b["error"] = json!({"code": e["code"], "message": e["message"], "details": null});
    }
    Ok(Reply::ok(b))
}

fn job_state(j: &AsrJob, now: i64) -> (&'static str, &'static str, bool) {
    let done = now >= j.start_ms + j.duration_ms;
    match (done, &j.error) {
        (false, _) => ("InProgress", "InProgress", false),
        (true, Some(_)) => ("Failed", "Failed", true),
        (true, None) => ("Succeeded", "Completed", true),
    }
}

pub(in crate::sandbox) fn job_body(vault: &Vault, j: &AsrJob, now: i64) -> Value {
    let (state, desc, done) = job_state(j, now);
    let n = j.tasks.len().max(1) as i64;
    let slice = j.duration_ms / n;
    let tasks: Vec<Value> = j
        .tasks
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let t0 = j.start_ms + slice * i as i64;
            let t1 = if i as i64 == n - 1 {
                j.start_ms + j.duration_ms
            } else {
                t0 + slice
            };
            let (ts, tdesc) = if now >= t1 {
                if j.error.is_some() && i as i64 == n - 1 {
                    ("Failed", "Failed")
                } else {
                    ("Succeeded", "Completed")
                }
            } else if now >= t0 {
                ("InProgress", "InProgress")
            } else {
                ("NotStarted", "NotStarted")
            };
            let mut x = json!({
                "taskId": crate::sandbox::inventory::stable_guid(&format!("task:{}:{i}", j.id)),
                "name": t.replace(' ', ""),
                "friendlyName": t,
                "state": ts,
                "stateDescription": tdesc,
                "allowedActions": [],
                "taskType": "TaskTypeDetails",
                "errors": [],
            });
            if now >= t0 {
                x["startTime"] = json!(lro::fmt_time(t0));
            }
            if now >= t1 {
                x["endTime"] = json!(lro::fmt_time(t1));
            }
            x
        })
        .collect();
    let errors: Vec<Value> = match (&j.error, done) {
        (Some(e), true) => vec![json!({
            "serviceErrorDetails": {"code": e["code"], "message": e["message"], "possibleCauses": "", "recommendedAction": "Retry the operation.", "activityId": crate::sandbox::inventory::stable_guid(&format!("activity:{}", j.id))},
            "errorLevel": "Error",
            "creationTime": lro::fmt_time(j.start_ms + j.duration_ms),
        })],
        _ => vec![],
    };
    let mut p = json!({
        "activityId": format!("{} ActivityId: {}", crate::sandbox::inventory::stable_guid(&format!("activity:{}", j.id)), crate::sandbox::inventory::stable_guid(&format!("client:{}", j.id))),
        "scenarioName": j.scenario,
        "friendlyName": j.friendly_name,
        "state": state,
        "stateDescription": desc,
        "tasks": tasks,
        "errors": errors,
        "startTime": lro::fmt_time(j.start_ms),
        "allowedActions": if done { if j.error.is_some() { json!(["Restart"]) } else { json!([]) } } else { json!(["Cancel"]) },
        "targetObjectId": j.target_id,
        "targetObjectName": j.target_name,
        "targetInstanceType": j.target_type,
        "customDetails": {"instanceType": "AsrJobDetails", "affectedObjectDetails": {}},
    });
    if done {
        p["endTime"] = json!(lro::fmt_time(j.start_ms + j.duration_ms));
    }
    json!({
        "id": format!("{}/replicationJobs/{}", vault_sr_id(vault), j.id),
        "name": j.id,
        "type": "Microsoft.RecoveryServices/vaults/replicationJobs",
        "properties": p,
    })
}

pub(super) fn get_job(ctx: &Ctx<'_>, st: &mut State, vault: &Vault, id: &str) -> HResult {
    require_method(ctx, "GET")?;
    st.site_recovery
        .jobs
        .get(&key(&[&vault.key(), id]))
        .map(|j| Reply::ok(job_body(vault, j, ctx.now)))
        .ok_or_else(|| not_found("job", id))
}

pub(super) fn list_jobs(ctx: &Ctx<'_>, st: &mut State, vault: &Vault) -> HResult {
    require_method(ctx, "GET")?;
    let vk = vault.key();
    let filter = crate::sandbox::backup::parse_filter(ctx.q("$filter"))?;
    let mut jobs: Vec<&AsrJob> = st
        .site_recovery
        .jobs
        .values()
        .filter(|j| j.vault_key == vk)
        .collect();
    jobs.sort_by_key(|j| std::cmp::Reverse(j.start_ms));
    let items: Vec<Value> = jobs
        .into_iter()
        .map(|j| job_body(vault, j, ctx.now))
        .filter(|b| {
            filter.iter().all(|(k, val)| {
                let p = &b["properties"];
                match k.as_str() {
                    "state" => p["state"].as_str().is_some_and(|x| eq(x, val)),
                    "scenarioname" | "jobname" => {
                        p["scenarioName"].as_str().is_some_and(|x| eq(x, val))
                    }
                    "affectedobjecttypes" | "targetinstancetype" => {
                        p["targetInstanceType"].as_str().is_some_and(|x| eq(x, val))
                    }
                    _ => true,
                }
            })
        })
        .collect();
    Ok(Reply::ok(ctx.page(items, false)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_tasks_follow_the_clock() {
        let j = AsrJob {
            vault_key: "s/rg/v".into(),
            id: "j".into(),
            scenario: "EnableDr".into(),
            friendly_name: "Enable replication".into(),
            target_id: String::new(),
            target_name: "vm".into(),
            target_type: "ProtectionEntity".into(),
            tasks: vec!["a".into(), "b".into()],
            start_ms: 1_000,
            duration_ms: 1_000,
            error: None,
        };
        let v = Vault {
            subscription: "s".into(),
            resource_group: "rg".into(),
            name: "v".into(),
            location: "northeurope".into(),
            tags: json!({}),
            sku: json!({}),
            identity: None,
            properties: json!({}),
            etag: String::new(),
            created_ms: 0,
        };
        let b = job_body(&v, &j, 1_600);
        assert_eq!(b["properties"]["state"], "InProgress");
        assert_eq!(b["properties"]["tasks"][0]["state"], "Succeeded");
        assert_eq!(b["properties"]["tasks"][1]["state"], "InProgress");
        assert_eq!(b["properties"]["allowedActions"], json!(["Cancel"]));
        let b = job_body(&v, &j, 2_000);
        assert_eq!(b["properties"]["state"], "Succeeded");
        assert_eq!(b["properties"]["stateDescription"], "Completed");
        assert!(b["properties"]["endTime"].is_string());
        assert!(b["id"].as_str().unwrap().starts_with("/Subscriptions/s/"));
    }
}
