//! Azure Site Recovery, Azure-to-Azure (SiteRecovery service.json 2026-02-01): fabrics,
//! protection containers, replication policies, container mappings, network mappings, replicated
//! items, recovery plans, jobs and the operation URLs that follow them.
//!
//! Every mutating operation answers 202 with an absolute `Location`
//! (`{resource}/operationresults/{jobId}`, final-state-via location: 200 + the resource, or 204)
//! and `Azure-AsyncOperation` (`{vault}/replicationOperationStatus/{jobId}`), and no `Retry-After`
//! (recording: A2A #0–4, FACTS §6 and §9). The operation id is the id of the ASR job it started (Azure PowerShell
//! reads the job id out of `Location` after `operationresults/`), so `replicationJobs/{id}` follows
//! the same operation. Like every sandbox operation, progress is computed from the clock.
//!
//! Ids in bodies are written `/Subscriptions/…` as Site Recovery writes them (spec examples).

mod containers;
mod fabrics;
mod item_body;
mod items;
mod mappings;
mod networks;
mod plans;
mod policies;
mod switch;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::errors::ArmError;
use super::lro::{self, NewOp, Phase};
use super::handler::{Ctx, HResult, Reply};
use super::state::{key, State, Vault};
use super::vaults::get_vault;

/// Site Recovery api-versions (stable ones since 2016, plus the newest).
pub const API_VERSIONS: &[&str] = &[
    "2016-08-10",
    "2018-01-10",
    "2018-07-10",
    "2021-02-10",
    "2021-03-01",
    "2021-04-01",
    "2021-06-01",
    "2021-07-01",
    "2021-08-01",
    "2021-10-01",
    "2021-11-01",
    "2021-12-01",
    "2022-01-01",
    "2022-02-01",
    "2022-03-01",
    "2022-04-01",
    "2022-05-01",
    "2022-08-01",
    "2022-09-10",
    "2022-10-01",
    "2023-01-01",
    "2023-02-01",
    "2023-04-01",
    "2023-06-01",
    "2023-08-01",
    "2024-01-01",
    "2024-02-01",
    "2024-04-01",
    "2024-10-01",
    "2025-01-01",
    "2025-02-01",
    "2025-08-01",
    "2026-02-01",
];

/// Simulated durations, in Azure seconds (scaled by `time_scale`). As recorded where the A2A
/// recording times them (FACTS §1–2): unplanned failover about 2m20s (#84–89), commit about 8 s
/// (#90), re-protect about 8.5 min (#93), enable to Protected about 25 min (#53–73); the others
/// are typical values (README "Known to differ").
pub mod durations {
    pub const FABRIC: f64 = 60.0;
    pub const CONTAINER: f64 = 30.0;
    pub const POLICY: f64 = 30.0;
    pub const MAPPING: f64 = 60.0;
    pub const NETWORK_MAPPING: f64 = 30.0;
    /// The EnableDr job (prerequisites, target identification, enabling).
    pub const ENABLE: f64 = 180.0;
    /// A job that fails its prerequisite checks (Azure: seconds).
    pub const FAILED_VALIDATION: f64 = 5.0;
    /// Initial replication after the EnableDr job: ENABLE + this ≈ 25 min, as recorded.
    pub const INITIAL_REPLICATION: f64 = 1320.0;
    pub const ITEM_UPDATE: f64 = 30.0;
    pub const DISABLE: f64 = 120.0;
    pub const REMOVE: f64 = 30.0;
    pub const PLAN: f64 = 10.0;
    pub const TEST_FAILOVER: f64 = 300.0;
    pub const TEST_FAILOVER_CLEANUP: f64 = 120.0;
    pub const FAILOVER: f64 = 140.0;
    pub const COMMIT: f64 = 8.0;
    pub const REPROTECT: f64 = 510.0;
}

/// Site Recovery resources of all vaults, keyed by lower-cased `vault key/names…`.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct AsrState {
    pub fabrics: BTreeMap<String, Fabric>,
    pub containers: BTreeMap<String, Container>,
    pub policies: BTreeMap<String, AsrPolicy>,
    pub mappings: BTreeMap<String, Mapping>,
    pub network_mappings: BTreeMap<String, NetworkMapping>,
    pub items: BTreeMap<String, ReplicatedItem>,
    pub plans: BTreeMap<String, RecoveryPlan>,
    pub jobs: BTreeMap<String, AsrJob>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Fabric {
    pub vault_key: String,
    pub name: String,
    pub location: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Container {
    pub vault_key: String,
    pub fabric: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AsrPolicy {
    pub vault_key: String,
    pub name: String,
    /// A2APolicyDetails as answered.
    pub details: Value,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Mapping {
    pub vault_key: String,
    pub fabric: String,
    pub container: String,
    pub name: String,
    /// Key (`vk/fabric/container`) of the target container.
    pub target_key: String,
    pub policy: String,
    /// A2AProtectionContainerMappingDetails as answered.
    pub details: Value,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NetworkMapping {
    pub vault_key: String,
    pub fabric: String,
    pub network: String,
    pub name: String,
    pub recovery_fabric: String,
    pub primary_network_id: String,
    pub recovery_network_id: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReplicatedItem {
    pub vault_key: String,
    pub fabric: String,
    pub container: String,
    pub name: String,
    /// Source VM ARM id (as the VM stores its names) and its key in `State::vms`.
    pub vm_id: String,
    pub vm_key: String,
    pub vm_name: String,
    pub policy: String,
    /// Key (`vk/fabric/container`) of the recovery container.
    pub recovery_container_key: String,
    /// When enabling ends (EnableDr job) and when initial replication ends (Protected).
    pub enable_ms: i64,
    pub enabled_ms: i64,
    pub protected_ms: i64,
    /// The enable input's A2A provider details (updated by PATCH).
    pub input: Value,
    /// PATCH-able item settings (recoveryAzureVMName, recoveryAzureVMSize, …).
    pub settings: Value,
    /// `Primary` or `Recovery`.
    pub active_location: String,
    /// Failover state machine: `None`, `FailedOver` (unplanned failover done, not committed),
    /// `Committed`, `Reprotecting` (until `protected_ms`, then replication Recovery → Primary).
    #[serde(default)]
    pub failover: String,
    pub last_failover_ms: Option<i64>,
    pub last_test_failover_ms: Option<i64>,
    /// Test failover in progress or waiting for cleanup: (job id, start, end).
    pub test_failover: Option<(String, i64, i64)>,
    /// The latest scenario: (name, job id, start).
    pub scenario: Option<(String, String, i64)>,
    /// Set by `POST …/remove`: the item is gone from then on.
    #[serde(default)]
    pub disabling_until: Option<i64>,
    /// (primary fabric, recovery fabric) replication was enabled with, once switchprotection
    /// has moved the item: `initialPrimary/RecoveryFabricLocation` keep them (A2A #111–121).
    #[serde(default)]
    pub initial_fabrics: Option<(String, String)>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RecoveryPlan {
    pub vault_key: String,
    pub name: String,
    pub primary_fabric: String,
    pub recovery_fabric: String,
    pub failover_deployment_model: String,
    pub groups: Value,
    pub provider_details: Value,
    /// Current scenario: (name, job id, start, end).
    pub scenario: Option<(String, String, i64, i64)>,
    pub last_test_failover_ms: Option<i64>,
    pub last_unplanned_failover_ms: Option<i64>,
    #[serde(default)]
    pub last_planned_failover_ms: Option<i64>,
    /// `Primary` or `Recovery` (after a failover).
    #[serde(default)]
    pub active_location: String,
    /// `None`, `FailedOver`, `Committed`, `Reprotected`.
    #[serde(default)]
    pub failover: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AsrJob {
    pub vault_key: String,
    pub id: String,
    pub scenario: String,
    pub friendly_name: String,
    pub target_id: String,
    pub target_name: String,
    pub target_type: String,
    pub tasks: Vec<String>,
    pub start_ms: i64,
    pub duration_ms: i64,
    pub error: Option<Value>,
}

pub(super) fn eq(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// `/subscriptions/…` → `/Subscriptions/…` (how Site Recovery writes ids).
pub(super) fn sr_id(id: &str) -> String {
    match id.get(..15) {
        Some(p) if p.eq_ignore_ascii_case("/subscriptions/") => {
            format!("/Subscriptions/{}", &id[15..])
        }
        _ => id.to_string(),
    }
}

pub(super) fn vault_sr_id(v: &Vault) -> String {
    sr_id(&v.id())
}

/// Parse an id below a vault (`…/vaults/{v}/a/b/c/d`) into the vault key and the rest's
/// segments (`[a, b, c, d]`), all compared case-insensitively.
pub(super) fn parse_vault_child(id: &str) -> Option<(String, Vec<String>)> {
    let s: Vec<&str> = id.trim_matches('/').split('/').collect();
    if s.len() < 8
        || !eq(s[0], "subscriptions")
        || !eq(s[2], "resourcegroups")
        || !eq(s[4], "providers")
        || !eq(s[5], "microsoft.recoveryservices")
        || !eq(s[6], "vaults")
    {
        return None;
    }
    Some((
        key(&[s[1], s[3], s[7]]),
        s[8..].iter().map(|x| x.to_string()).collect(),
    ))
}

/// `(sub, rg, name)` of an ARM id of the given provider type (e.g. `microsoft.network/virtualnetworks`).
pub(super) fn parse_arm_id(id: &str, ns: &str, rtype: &str) -> Option<(String, String, String)> {
    let s: Vec<&str> = id.trim_matches('/').split('/').collect();
    if s.len() == 8
        && eq(s[0], "subscriptions")
        && eq(s[2], "resourcegroups")
        && eq(s[4], "providers")
        && eq(s[5], ns)
        && eq(s[6], rtype)
    {
        Some((s[1].to_string(), s[3].to_string(), s[7].to_string()))
    } else {
        None
    }
}

/// 404 for an unknown Site Recovery resource, as `Fabric with name X could not be located.`
/// (`NotFound` / `FabricArmEntityMissing`, azurerm#11019 and #11180); the detail codes of the
/// other resource types are not in the recordings or specs (README "Known to differ").
pub(super) fn not_found(what: &str, name: &str) -> ArmError {
    let (code, title) = match what {
        "fabric" => ("FabricArmEntityMissing", "Fabric"),
        "protection container" => (
            "ProtectionContainerArmEntityMissing",
            "Protection container",
        ),
        "protection container mapping" => (
            "ProtectionContainerMappingArmEntityMissing",
            "Protection container mapping",
        ),
        "network mapping" => ("NetworkMappingArmEntityMissing", "Network mapping"),
        "replication policy" => ("PolicyArmEntityMissing", "Replication policy"),
        "replicated item" => (
            "ReplicationProtectedItemArmEntityMissing",
            "Replication protected item",
        ),
        "recovery plan" => ("RecoveryPlanArmEntityMissing", "Recovery plan"),
        "job" => ("JobArmEntityMissing", "Job"),
        _ => ("ArmEntityMissing", "Entity"),
    };
    ArmError::not_found(
        code,
        format!("{title} with name {name} could not be located."),
    )
}

/// Site Recovery's error envelope: the HTTP-flavoured code at the top and Site Recovery's own
/// code, causes and recommended action in `details` (azurerm#11019, azure-rest-api-specs#12759).
fn sr_envelope(e: ArmError) -> ArmError {
    if e.raw_body.is_some()
        || matches!(
            e.code.as_str(),
            "InvalidResourceType" | "MethodNotAllowed" | "InvalidRequestContent"
        )
    {
        return e;
    }
    let top = match e.status {
        400 => "BadRequest",
        404 => "NotFound",
        409 => "Conflict",
        _ => "InternalError",
    };
    let (causes, action) = match e.code.as_str() {
        "FabricArmEntityMissing" => (
            "The fabric might have been unregistered from the Microsoft Azure Site Recovery vault.",
            "Retry the operation with a valid site.",
        ),
        c if c.ends_with("ArmEntityMissing") => (
            "The entity might have been deleted from the Microsoft Azure Site Recovery vault.",
            "Retry the operation with a valid entity.",
        ),
        _ => (
            "The request is not valid for the current configuration of the vault.",
            "Correct the request and retry the operation.",
        ),
    };
    let body = json!({"error": {"code": top, "message": e.message, "details": [{
        "activityId": uuid::Uuid::new_v4().to_string(),
        "clientRequestId": uuid::Uuid::new_v4().to_string(),
        "code": e.code,
        "message": e.message,
        "possibleCauses": causes,
        "recommendedAction": action,
    }]}});
    ArmError {
        raw_body: Some(Box::new(body)),
        ..e
    }
}

pub(super) fn bad(code: &str, msg: impl Into<String>) -> ArmError {
    ArmError::bad_request(code, msg)
}

/// What a new job needs. Scenario names: `EnableDr`, `DisableDr`, `TestFailover`,
/// `TestFailoverCleanup`, `UnplannedFailover`, `PlannedFailover`, `Commit`, `ReverseReplicate`,
/// `UpdateVmProperties`, `ConfigureProtection` (container mapping), `UnconfigureProtection`,
/// `AddProtectionProfile` (policy), `CreateFabric`, `CreateProtectionContainer`, `MapNetwork`,
/// `CreateRecoveryPlan`, …: only `TestFailover` is confirmed (Azure PowerShell's ASR cmdlets
/// compare a job's `ScenarioName` with "TestFailover"); the others are not in the recordings or
/// specs (README "Known to differ").
pub(super) struct JobSpec<'a> {
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
pub(super) fn start_job(
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
    st.asr.jobs.insert(
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
pub(super) fn fault(ctx: &Ctx<'_>, what: &str) -> Option<Value> {
    ctx.lro_fails().then(|| {
        json!({"code": "InternalError", "message": format!("{what} failed (injected fault). Retry the operation.")})
    })
}

/// Accept a request whose job then fails its prerequisite checks: the operation ends Failed with
/// Site Recovery's generic `(code, message)` (HTTP 400 on the `Location` URL), the job's errors
/// carry the reason (`detail`).
pub(super) fn failed_job(
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
pub(super) fn accepted(ctx: &Ctx<'_>, vault: &Vault, resource_path: &str, op: &str) -> HResult {
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

const VAULT: &str =
    "subscriptions/*/resourcegroups/*/providers/microsoft.recoveryservices/vaults/*";

/// Site Recovery routes: anything under a vault whose first child segment starts with
/// `replication`.
pub fn route(ctx: &Ctx<'_>, st: &mut State) -> Option<HResult> {
    let l = &ctx.lsegs;
    if l.len() < 9
        || l[6] != "vaults"
        || l[2] != "resourcegroups"
        || !l[8].starts_with("replication")
    {
        return None;
    }
    purge_disabled(st, ctx.now);
    Some(ctx.require_api(API_VERSIONS).and_then(|_| {
        let v = [ctx.segs[1].clone(), ctx.segs[3].clone(), ctx.segs[7].clone()];
        let vault = get_vault(st, &v[0], &v[1], &v[2])?.clone();
        let rest: Vec<String> = ctx.segs[8..].to_vec();
        let lrest: Vec<&str> = l[8..].iter().map(|s| s.as_str()).collect();
        // Site Recovery answers polling requests with the job's id as `x-ms-request-id`
        // (azurerm#31927 debug log).
        let job_request_id = |id: &str| format!("{}/replicationJobs/{id}", vault_sr_id(&vault));
        if lrest.len() >= 3 && lrest[lrest.len() - 2] == "operationresults" {
            let rid = job_request_id(&rest[rest.len() - 1]);
            return op_result(ctx, st, &vault, &rest)
                .map(|r| r.header("x-ms-request-id", rid.clone()))
                .map_err(|e| e.with_header("x-ms-request-id", rid));
        }
        if lrest.len() == 2 && lrest[0] == "replicationoperationstatus" {
            let rid = job_request_id(&rest[1]);
            return op_status(ctx, st, &vault, &rest[1]).map(|r| r.header("x-ms-request-id", rid));
        }
        let _ = VAULT;
        let r = match lrest.as_slice() {
            ["replicationoperationstatus", _] => op_status(ctx, st, &vault, &rest[1]),
            ["replicationjobs"] => list_jobs(ctx, st, &vault),
            ["replicationjobs", _] => get_job(ctx, st, &vault, &rest[1]),
            ["replicationfabrics"] => fabrics::list_fabrics(ctx, st, &vault),
            ["replicationfabrics", _] => fabrics::fabric(ctx, st, &vault, &rest[1]),
            ["replicationfabrics", _, "remove"] => fabrics::remove_fabric(ctx, st, &vault, &rest[1]),
            ["replicationprotectioncontainers"] => fabrics::list_containers(ctx, st, &vault, None),
            ["replicationfabrics", _, "replicationprotectioncontainers"] => {
                fabrics::list_containers(ctx, st, &vault, Some(&rest[1]))
            }
            ["replicationfabrics", _, "replicationprotectioncontainers", _] => {
                fabrics::container(ctx, st, &vault, &rest[1], &rest[3])
            }
            ["replicationfabrics", _, "replicationprotectioncontainers", _, "remove"] => {
                fabrics::remove_container(ctx, st, &vault, &rest[1], &rest[3])
            }
            ["replicationfabrics", _, "replicationprotectioncontainers", _, "switchprotection"] => {
                switch::switch_protection(ctx, st, &vault, &rest[1], &rest[3])
            }
            ["replicationprotectioncontainermappings"] => {
                fabrics::list_mappings(ctx, st, &vault, None)
            }
            ["replicationfabrics", _, "replicationprotectioncontainers", _, "replicationprotectioncontainermappings"] => {
                fabrics::list_mappings(ctx, st, &vault, Some((&rest[1], &rest[3])))
            }
            ["replicationfabrics", _, "replicationprotectioncontainers", _, "replicationprotectioncontainermappings", _] => {
                fabrics::mapping(ctx, st, &vault, &rest[1], &rest[3], &rest[5])
            }
            ["replicationfabrics", _, "replicationprotectioncontainers", _, "replicationprotectioncontainermappings", _, "remove"] => {
                fabrics::remove_mapping(ctx, st, &vault, &rest[1], &rest[3], &rest[5], false)
            }
            ["replicationnetworkmappings"] => fabrics::list_network_mappings(ctx, st, &vault, None),
            ["replicationfabrics", _, "replicationnetworks", _, "replicationnetworkmappings"] => {
                fabrics::list_network_mappings(ctx, st, &vault, Some((&rest[1], &rest[3])))
            }
            ["replicationfabrics", _, "replicationnetworks", _, "replicationnetworkmappings", _] => {
                fabrics::network_mapping(ctx, st, &vault, &rest[1], &rest[3], &rest[5])
            }
            ["replicationpolicies"] => policies::list(ctx, st, &vault),
            ["replicationpolicies", _] => policies::policy(ctx, st, &vault, &rest[1]),
            ["replicationprotecteditems"] => items::list(ctx, st, &vault, None),
            ["replicationfabrics", _, "replicationprotectioncontainers", _, "replicationprotecteditems"] => {
                items::list(ctx, st, &vault, Some((&rest[1], &rest[3])))
            }
            ["replicationfabrics", _, "replicationprotectioncontainers", _, "replicationprotecteditems", _] => {
                items::item(ctx, st, &vault, &rest[1], &rest[3], &rest[5])
            }
            ["replicationfabrics", _, "replicationprotectioncontainers", _, "replicationprotecteditems", _, action] => {
                items::action(ctx, st, &vault, &rest[1], &rest[3], &rest[5], action)
            }
            ["replicationrecoveryplans"] => plans::list(ctx, st, &vault),
            ["replicationrecoveryplans", _] => plans::plan(ctx, st, &vault, &rest[1]),
            ["replicationrecoveryplans", _, action] => plans::action(ctx, st, &vault, &rest[1], action),
            _ => Err(ArmError::invalid_resource_type(
                "Microsoft.RecoveryServices",
                &format!("vaults/{}", rest.join("/")),
            )),
        };
        r.map(last_page_says_so).map_err(sr_envelope)
    }))
}

/// Site Recovery's lists carry `"nextLink": null` on their last page (A2A #80, #83).
fn last_page_says_so(mut r: Reply) -> Reply {
    if let Some(Value::Object(o)) = r.body.as_mut() {
        if o.get("value").is_some_and(Value::is_array) && !o.contains_key("nextLink") {
            o.insert("nextLink".into(), Value::Null);
        }
    }
    r
}

pub(super) fn require_method(ctx: &Ctx<'_>, m: &str) -> Result<(), ArmError> {
    if ctx.method == m {
        Ok(())
    } else {
        Err(ArmError::method_not_allowed(&ctx.method))
    }
}

fn find_op(st: &State, vk: &str, id: &str) -> Result<super::state::Operation, ArmError> {
    lro::find(st, id)
        .filter(|o| o.kind == "asr" && o.vault_key.as_deref() == Some(vk))
        .cloned()
        .ok_or_else(|| {
            // Not in the recordings or specs: see README "Known to differ".
            ArmError::not_found("NotFound", format!("The operation '{id}' was not found."))
        })
}

/// `GET {resource}/operationresults/{id}` (final-state-via location).
fn op_result(ctx: &Ctx<'_>, st: &mut State, vault: &Vault, rest: &[String]) -> HResult {
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
            .asr
            .fabrics
            .get(k)
            .map(|f| fabrics::fabric_body(st, vault, f)),
        "container" => st
            .asr
            .containers
            .get(k)
            .map(|c| fabrics::container_body(st, vault, c)),
        "mapping" => st
            .asr
            .mappings
            .get(k)
            .map(|m| fabrics::mapping_body(st, vault, m)),
        "networkmapping" => st
            .asr
            .network_mappings
            .get(k)
            .map(|m| fabrics::network_mapping_body(st, vault, m)),
        "policy" => st
            .asr
            .policies
            .get(k)
            .map(|p| policies::policy_body(vault, p)),
        "item" => st
            .asr
            .items
            .get(k)
            .map(|i| items::item_body(st, vault, i, now)),
        "plan" => st
            .asr
            .plans
            .get(k)
            .map(|p| plans::plan_body(st, vault, p, now)),
        _ => None,
    }
}

/// `GET {vault}/replicationOperationStatus/{id}` (the examples' Azure-AsyncOperation URL).
fn op_status(ctx: &Ctx<'_>, st: &mut State, vault: &Vault, id: &str) -> HResult {
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

pub(super) fn job_body(vault: &Vault, j: &AsrJob, now: i64) -> Value {
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
                "taskId": super::inventory::stable_guid(&format!("task:{}:{i}", j.id)),
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
            "serviceErrorDetails": {"code": e["code"], "message": e["message"], "possibleCauses": "", "recommendedAction": "Retry the operation.", "activityId": super::inventory::stable_guid(&format!("activity:{}", j.id))},
            "errorLevel": "Error",
            "creationTime": lro::fmt_time(j.start_ms + j.duration_ms),
        })],
        _ => vec![],
    };
    let mut p = json!({
        "activityId": format!("{} ActivityId: {}", super::inventory::stable_guid(&format!("activity:{}", j.id)), super::inventory::stable_guid(&format!("client:{}", j.id))),
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

fn get_job(ctx: &Ctx<'_>, st: &mut State, vault: &Vault, id: &str) -> HResult {
    require_method(ctx, "GET")?;
    st.asr
        .jobs
        .get(&key(&[&vault.key(), id]))
        .map(|j| Reply::ok(job_body(vault, j, ctx.now)))
        .ok_or_else(|| not_found("job", id))
}

fn list_jobs(ctx: &Ctx<'_>, st: &mut State, vault: &Vault) -> HResult {
    require_method(ctx, "GET")?;
    let vk = vault.key();
    let filter = super::backup::parse_filter(ctx.q("$filter"))?;
    let mut jobs: Vec<&AsrJob> = st.asr.jobs.values().filter(|j| j.vault_key == vk).collect();
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

/// Remove everything of a vault (vault deletion).
pub fn remove_vault(st: &mut State, vk: &str) {
    let a = &mut st.asr;
    a.fabrics.retain(|_, x| x.vault_key != vk);
    a.containers.retain(|_, x| x.vault_key != vk);
    a.policies.retain(|_, x| x.vault_key != vk);
    a.mappings.retain(|_, x| x.vault_key != vk);
    a.network_mappings.retain(|_, x| x.vault_key != vk);
    a.items.retain(|_, x| x.vault_key != vk);
    a.plans.retain(|_, x| x.vault_key != vk);
    a.jobs.retain(|_, x| x.vault_key != vk);
}

/// Whether the vault replicates items (blocks vault deletion). Fabrics, containers, mappings and
/// policies do not: Microsoft documents "disable replication for all VMs, then delete the vault"
/// for Azure-to-Azure vaults, and they go with the vault.
pub fn has_resources(st: &State, vk: &str, now: i64) -> bool {
    st.asr
        .items
        .values()
        .any(|i| i.vault_key == vk && i.disabling_until.is_none_or(|t| t > now))
}

/// Forget items whose disabling has finished.
fn purge_disabled(st: &mut State, now: i64) {
    st.asr
        .items
        .retain(|_, i| i.disabling_until.is_none_or(|t| t > now));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        assert_eq!(
            sr_id("/subscriptions/s/resourceGroups/r"),
            "/Subscriptions/s/resourceGroups/r"
        );
        assert_eq!(sr_id("/Subscriptions/s"), "/Subscriptions/s");
        let (vk, rest) = parse_vault_child(
            "/Subscriptions/S/resourceGroups/RG/providers/Microsoft.RecoveryServices/vaults/V/replicationFabrics/f",
        )
        .unwrap();
        assert_eq!(vk, "s/rg/v");
        assert_eq!(rest, ["replicationFabrics", "f"]);
        assert!(parse_vault_child("/subscriptions/s/resourceGroups/rg").is_none());
        assert_eq!(
            parse_arm_id(
                "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v",
                "microsoft.network",
                "virtualnetworks"
            ),
            Some(("s".into(), "rg".into(), "v".into()))
        );
    }

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
