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
mod jobs;
mod mappings;
mod networks;
mod plans;
mod policies;
mod state;
mod switch;

pub(in crate::sandbox) use jobs::{
    accepted, failed_job, fault, removal_accepted, start_job, JobSpec,
};
use jobs::{get_job, list_jobs, op_result, op_status};
pub use state::*;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::errors::ArmError;
use super::handler::{Ctx, HResult, Reply};
use super::lro::{self, NewOp, Phase};
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

pub(super) use super::handler::require_method;

/// Remove everything of a vault (vault deletion).
pub fn remove_vault(st: &mut State, vk: &str) {
    let a = &mut st.site_recovery;
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
    st.site_recovery
        .items
        .values()
        .any(|i| i.vault_key == vk && i.disabling_until.is_none_or(|t| t > now))
}

/// Forget items whose disabling has finished.
fn purge_disabled(st: &mut State, now: i64) {
    st.site_recovery
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
}
