//! Cross-region restore (CRR) of protected VMs, Azure Backup's secondary-region ("passive
//! stamp") surface, as `az backup … --use-secondary-region` calls it (Azure/azure-cli
//! `backup/custom.py` `restore_disks`, `_get_crr_access_token`; `custom_help.py`
//! `track_backup_crr_job`; the calls: `model::crr`):
//!
//! * at a passive api-version ([`PASSIVE_API_VERSIONS`]) on a vault: `GET backupProtectedItems`,
//!   `GET {item}/recoveryPoints[/{rp}]` — what the paired region holds — and
//!   `POST {item}/recoveryPoints/{rp}/accessToken` (a `CrrAccessToken`, shaped as Microsoft
//!   Learn's "Restore Azure VMs using REST API" shows it);
//! * under `/subscriptions/{s}/providers/Microsoft.RecoveryServices/locations/{region}/`:
//!   `GET backupAadProperties`, `POST backupCrossRegionRestore` (202, tracked through
//!   `backupCrrOperationsStatus/{op}` and `backupCrrOperationResults/{op}`), `POST backupCrrJob`
//!   (`{resourceId, jobName}`) and `POST backupCrrJobs` (`{resourceId}`).
//!
//! Only a GeoRedundant vault with `crossRegionRestore: Enabled` has a secondary copy; a point's
//! copy appears there [`LAG_SECS`] (Azure seconds) after the point — "up to 12 hours" (Microsoft
//! Learn, backup-create-rs-vault, *Set Cross Region Restore*), the vault tier only. Anything
//! else is refused with `BMSUserErrorCrossRegionRestoreNotEnabledInThisVault` (the code: hashicorp/
//! terraform-provider-azurerm#21663). The restore runs as an ordinary restore
//! (`restore::restore_with`) into the paired region (`model::crr::paired_region`, the az CLI's
//! table); its job (`operation: CrossRegionRestore`, bms.json `JobOperationType`) is kept apart
//! from the vault's primary jobs. UNCONFIRMED: the HTTP status and message of that refusal, and
//! the codes of the other refusals here (a restore onto the source VM, a wrong region, a token
//! that does not match) — the az CLI refuses the first itself (`validate_crr`).

use serde_json::{json, Value};
use std::sync::Arc;

use super::super::errors::ArmError;
use super::super::handler::{Ctx, HResult, Reply};
use super::super::inventory::stable_guid;
use super::super::lro::{self, NewOp, Phase};
use super::super::state::{key, Item, State, Vault};
use super::super::vaults::get_vault;
use super::recovery_points::{item_vm, point_body, point_name, points, Point};
use crate::model::crr::paired_region;

/// The passive-stamp api-versions (2018-12-20: Microsoft Learn's REST walkthrough; 2021-11-15:
/// what the az CLI sends; 2023-01-15: Microsoft Learn's Cross Region Restore - Trigger).
pub const PASSIVE_API_VERSIONS: &[&str] = &["2018-12-20", "2021-11-15", "2023-01-15"];

/// How long after a point its copy is in the paired region, in Azure seconds.
pub const LAG_SECS: f64 = 12.0 * 3_600.0;

const VAULT: &str =
    "subscriptions/*/resourcegroups/*/providers/microsoft.recoveryservices/vaults/*";
const LOC: &str = "subscriptions/*/providers/microsoft.recoveryservices/locations/*";

/// The refusal of a request to Azure Backup in a region the fault spec takes down
/// (`region_down=REGION`, faults.rs): `locations/{REGION}/backup*`, and a vault's `backup*`
/// routes where they are served — at the primary api-versions in the vault's region, at the
/// passive ones (the copy) in its paired region. The vault resource itself still answers.
/// A fault, not a recorded answer (like `503=P`, faults.rs): ARM's `ServiceUnavailable` shape,
/// what ARM answers for a provider that does not; README "Known to differ" says so.
pub fn region_down(ctx: &Ctx<'_>, st: &State) -> Option<ArmError> {
    let faults = ctx.app.faults.as_ref()?;
    if faults.spec.region_down.is_empty() {
        return None;
    }
    let l = &ctx.lsegs;
    let at = |i: usize, s: &str| l.get(i).is_some_and(|x| x == s);
    let backup = |i: usize| l.get(i).is_some_and(|x| x.starts_with("backup"));
    let region = if at(2, "providers") && at(4, "locations") && backup(6) {
        l[5].clone()
    } else if at(2, "resourcegroups") && at(6, "vaults") && backup(8) {
        let home = &get_vault(st, &ctx.segs[1], &ctx.segs[3], &ctx.segs[7])
            .ok()?
            .location;
        if PASSIVE_API_VERSIONS.contains(&ctx.api_version.as_str()) {
            paired_region(home)?.to_string()
        } else {
            home.clone()
        }
    } else {
        return None;
    };
    faults
        .region_down(&region)
        .then(|| super::super::faults::fault_error(503, ctx.app.time_scale))
}

/// A CRR route, if this is one.
pub fn route(ctx: &Ctx<'_>, st: &mut State) -> Option<HResult> {
    type Handler = fn(&Ctx<'_>, &mut State, &[String]) -> HResult;
    let at_location: [(&str, Handler); 6] = [
        ("backupaadproperties", aad_properties),
        ("backupcrossregionrestore", trigger),
        ("backupcrroperationsstatus/*", |c, s, v| {
            op_status(c, s, v, true)
        }),
        ("backupcrroperationresults/*", |c, s, v| {
            op_status(c, s, v, false)
        }),
        ("backupcrrjob", job),
        ("backupcrrjobs", jobs),
    ];
    for (rest, handler) in at_location {
        if let Some(v) = ctx.m(&format!("{LOC}/{rest}")) {
            return Some(
                ctx.require_api(PASSIVE_API_VERSIONS)
                    .and_then(|_| handler(ctx, st, &v)),
            );
        }
    }
    if !PASSIVE_API_VERSIONS.contains(&ctx.api_version.as_str()) {
        return None;
    }
    let item = format!("{VAULT}/backupfabrics/*/protectioncontainers/*/protecteditems/*");
    if let Some(v) = ctx.m(&format!("{item}/recoverypoints/*/accesstoken")) {
        return Some(access_token(ctx, st, &v));
    }
    if let Some(v) = ctx.m(&format!("{item}/recoverypoints")) {
        return Some(secondary_points(ctx, st, &v, None));
    }
    if let Some(v) = ctx.m(&format!("{item}/recoverypoints/*")) {
        let name = v[6].clone();
        return Some(secondary_points(ctx, st, &v, Some(&name)));
    }
    if let Some(v) = ctx.m(&format!("{VAULT}/backupprotecteditems")) {
        return Some(secondary_items(ctx, st, &v));
    }
    None
}

/// The refusal of a vault without a copy in its paired region.
fn not_enabled() -> ArmError {
    ArmError::bad_request(
        "BMSUserErrorCrossRegionRestoreNotEnabledInThisVault",
        "Cross Region Restore is not enabled in this vault. Enable it on a GeoRedundant vault (backupstorageconfig crossRegionRestoreFlag) and retry after the data has been replicated to the secondary region.",
    )
}

fn crr_enabled(v: &Vault) -> Result<(), ArmError> {
    let r = &v.properties["redundancySettings"];
    let is = |k: &str, want: &str| r[k].as_str().is_some_and(|s| s.eq_ignore_ascii_case(want));
    if is("standardTierStorageRedundancy", "GeoRedundant") && is("crossRegionRestore", "Enabled") {
        Ok(())
    } else {
        Err(not_enabled())
    }
}

/// The item's points whose copy has reached the paired region by `now`.
fn in_secondary(ctx: &Ctx<'_>, st: &State, it: &Item) -> Vec<Point> {
    let lag = lro::scaled_ms(LAG_SECS, ctx.app.time_scale);
    points(st, it, ctx.now, super::recovery_points::Sim::of(ctx))
        .into_iter()
        .filter(|p| p.ms + lag <= ctx.now)
        .collect()
}

/// A point as the paired region lists it: in the vault tier only.
fn secondary_body(
    ctx: &Ctx<'_>,
    st: &State,
    (id, ik): (&str, &str),
    it: &Item,
    p: &Point,
) -> Value {
    let mut b = point_body((id, ik), it, (item_vm(st, it), 0), p, ctx.now);
    b["properties"]["recoveryPointTierDetails"] =
        json!([{"type": "HardenedRP", "status": "Valid"}]);
    b
}

/// The vault, item id and item of an item route, the vault checked for CRR.
fn crr_item(
    ctx: &Ctx<'_>,
    st: &State,
    v: &[String],
) -> Result<(Arc<Vault>, String, String, Item), ArmError> {
    let r = super::item_ref(st, v)?;
    crr_enabled(&r.vault)?;
    let it = st
        .items
        .get(&r.key)
        .cloned()
        .ok_or_else(|| super::item_not_found(&r.item_name))?;
    let id = super::item_body(
        st,
        &r.vault,
        &it,
        ctx.now,
        super::recovery_points::Sim::of(ctx),
    )["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    Ok((r.vault, id, r.key, it))
}

fn secondary_points(ctx: &Ctx<'_>, st: &mut State, v: &[String], one: Option<&str>) -> HResult {
    if ctx.method != "GET" {
        return Err(ArmError::method_not_allowed(&ctx.method));
    }
    let (_, id, ik, it) = crr_item(ctx, st, v)?;
    let ps = in_secondary(ctx, st, &it);
    let body = |p: &Point| secondary_body(ctx, st, (&id, &ik), &it, p);
    match one {
        None => Ok(Reply::ok(
            json!({"value": ps.iter().map(body).collect::<Vec<_>>()}),
        )),
        Some(name) => ps
            .iter()
            .find(|p| point_name(&ik, p.ms) == name)
            .map(|p| Reply::ok(body(p)))
            .ok_or_else(|| super::recovery_points::point_not_found(name)),
    }
}

/// The vault's items that have a point in the paired region.
fn secondary_items(ctx: &Ctx<'_>, st: &mut State, v: &[String]) -> HResult {
    if ctx.method != "GET" {
        return Err(ArmError::method_not_allowed(&ctx.method));
    }
    let vault = get_vault(st, &v[0], &v[1], &v[2])?.clone();
    crr_enabled(&vault)?;
    let vk = vault.key();
    let items: Vec<Value> = st
        .items
        .values()
        .filter(|i| i.vault_key == vk && !in_secondary(ctx, st, i).is_empty())
        .map(|i| super::item_body(st, &vault, i, ctx.now, super::recovery_points::Sim::of(ctx)))
        .collect();
    Ok(Reply::ok(ctx.page(items, true)))
}

fn aad_properties(ctx: &Ctx<'_>, _st: &mut State, v: &[String]) -> HResult {
    if ctx.method != "GET" {
        return Err(ArmError::method_not_allowed(&ctx.method));
    }
    Ok(Reply::ok(json!({"properties": {
        "tenantId": stable_guid(&format!("tenant:{}", v[0])),
        // Microsoft Learn's example names the region by a short code (`…/aadmgmt/wus` for
        // westus); the sandbox writes the region's name.
        "audience": format!("https://RecoveryServices/IaasCoord/aadmgmt/{}", v[1].to_ascii_lowercase()),
        "servicePrincipalObjectId": stable_guid(&format!("crr-sp:{}", v[1].to_ascii_lowercase())),
    }})))
}

/// The token a point's copy is opened with: stable for the vault, item and point.
fn token(vault_key: &str, item_key: &str, point: &str) -> String {
    format!(
        "crr.{}",
        stable_guid(&format!("crr-token:{vault_key}/{item_key}/{point}"))
    )
}

fn access_token(ctx: &Ctx<'_>, st: &mut State, v: &[String]) -> HResult {
    if ctx.method != "POST" {
        return Err(ArmError::method_not_allowed(&ctx.method));
    }
    let (vault, id, ik, it) = crr_item(ctx, st, v)?;
    let body = ctx.json()?;
    if body["properties"]["audience"].as_str().is_none() {
        return Err(ArmError::bad_request(
            "BMSUserErrorInvalidInput",
            "The AAD properties of the secondary region (backupAadProperties) are required.",
        ));
    }
    let name = v[6].as_str();
    let p = in_secondary(ctx, st, &it)
        .into_iter()
        .find(|p| point_name(&ik, p.ms) == name)
        .ok_or_else(|| super::recovery_points::point_not_found(name))?;
    let container = format!("iaasvmcontainerv2;{};{}", it.vm_resource_group, it.vm_name);
    let vm = item_vm(st, &it);
    let numeric =
        |s: &str| u64::from_str_radix(&stable_guid(s).replace('-', "")[..12], 16).unwrap_or(1);
    Ok(Reply::ok(json!({
        "id": format!("{id}/recoveryPoints/{name}"),
        "name": name,
        "type": "Microsoft.RecoveryServices/vaults/backupFabrics/protectionContainers/protectedItems/recoveryPoints",
        "properties": {
            "objectType": "CrrAccessToken",
            "accessTokenString": token(&vault.key(), &ik, name),
            "subscriptionId": vault.subscription,
            "resourceGroupName": vault.resource_group,
            "resourceName": vault.name,
            "resourceId": numeric(&vault.key()).to_string(),
            "protectionContainerId": numeric(&container) % 1_000_000,
            "recoveryPointId": name,
            "recoveryPointTime": lro::fmt_time(p.ms),
            "containerName": container,
            "containerType": "IaasVMContainer",
            "backupManagementType": "AzureIaasVM",
            "datasourceType": "VM",
            "datasourceName": it.vm_name,
            "datasourceId": numeric(&it.vm_id).to_string(),
            "datasourceContainerName": container,
            "coordinatorServiceStampUri": "https://pod01-coord1.sandbox.backup.windowsazure.com",
            "protectionServiceStampId": stable_guid("crr-protection-stamp"),
            "protectionServiceStampUri": "https://pod01-prot1h.sandbox.backup.windowsazure.com",
            "tokenExtendedInformation": "",
            "rpTierInformation": {"HardenedRP": "Valid"},
            "rpOriginalSAOption": false,
            "rpIsManagedVirtualMachine": true,
            "rpVMSizeDescription": vm.map(|v| v.size.clone()),
            "bMSActiveRegion": vault.location,
        }
    })))
}

/// `POST …/locations/{region}/backupCrossRegionRestore`.
fn trigger(ctx: &Ctx<'_>, st: &mut State, v: &[String]) -> HResult {
    if ctx.method != "POST" {
        return Err(ArmError::method_not_allowed(&ctx.method));
    }
    let body = ctx.json()?;
    let t = &body["crossRegionRestoreAccessDetails"];
    let s = |k: &str| t[k].as_str().unwrap_or_default().to_string();
    let invalid = |m: &str| ArmError::bad_request("BMSUserErrorInvalidInput", m.to_string());
    if !v[0].eq_ignore_ascii_case(&s("subscriptionId")) {
        return Err(invalid(
            "crossRegionRestoreAccessDetails is not an access token of this subscription's vault.",
        ));
    }
    let vault = get_vault(
        st,
        &s("subscriptionId"),
        &s("resourceGroupName"),
        &s("resourceName"),
    )?
    .clone();
    crr_enabled(&vault)?;
    let secondary = paired_region(&vault.location).unwrap_or_default();
    if !v[1].eq_ignore_ascii_case(secondary) {
        return Err(ArmError::bad_request(
            "UserErrorInvalidRestoreRegion",
            format!("A cross-region restore from a vault in {} goes to its paired region, {secondary}, not {}.", vault.location, v[1]),
        ));
    }
    let container = s("containerName").to_ascii_lowercase();
    let item_name = container.replacen("iaasvmcontainerv2;", "vm;iaasvmcontainerv2;", 1);
    let ik = key(&[&vault.key(), &item_name]);
    let point = s("recoveryPointId");
    if s("accessTokenString") != token(&vault.key(), &ik, &point) {
        return Err(ArmError::bad_request(
            "BMSUserErrorInvalidAccessToken",
            "The access token does not open this recovery point: get one from the point's accessToken.",
        ));
    }
    let it = st
        .items
        .get(&ik)
        .cloned()
        .ok_or_else(|| super::item_not_found(&item_name))?;
    if !in_secondary(ctx, st, &it)
        .iter()
        .any(|p| point_name(&ik, p.ms) == point)
    {
        return Err(super::recovery_points::point_not_found(&point));
    }
    let restore = &body["restoreRequest"];
    if restore["recoveryType"]
        .as_str()
        .is_some_and(|k| k.eq_ignore_ascii_case("OriginalLocation"))
    {
        return Err(ArmError::bad_request(
            "BMSUserErrorInvalidInput",
            "A restore from the secondary region creates a VM or disks in a target resource group; it cannot replace the source VM's disks.",
        ));
    }
    // The restore as the paired region runs it: the vault's region is the secondary one.
    let mut there = Vault::clone(&vault);
    there.location = secondary.to_string();
    let job = super::restore::restore_with(
        ctx,
        st,
        (&there, &ik, &point),
        Ok(json!({"properties": restore})),
    )?;
    // Its job lives in the paired region, apart from the vault's own jobs.
    let job_key = format!("crr:{}", vault.key());
    if let Some(mut j) = st.jobs.remove(&key(&[&vault.key(), &job])) {
        j.vault_key = job_key.clone();
        j.operation = "CrossRegionRestore".into();
        st.jobs.insert(key(&[&job_key, &job]), j);
    }
    let op = lro::start(
        st,
        ctx.now,
        NewOp {
            kind: "crr-restore",
            duration_ms: ctx.scaled(1.0),
            error: None,
            vault_key: Some(job_key),
            target_key: Some(ik),
            job_id: Some(job),
            result: "empty",
        },
    );
    let url = |what: &str| {
        format!(
            "{}/subscriptions/{}/providers/Microsoft.RecoveryServices/locations/{}/{what}/{op}?api-version={}",
            ctx.base, v[0], v[1], ctx.api_version
        )
    };
    Ok(Reply::status(202, None)
        .header("Azure-AsyncOperation", url("backupCrrOperationsStatus"))
        .header("Location", url("backupCrrOperationResults"))
        .mutated())
}

/// `GET …/backupCrrOperationsStatus/{op}` (`status`: the operation's body, naming the job) or
/// `…/backupCrrOperationResults/{op}` (202 while it runs, then 204).
fn op_status(ctx: &Ctx<'_>, st: &mut State, v: &[String], status: bool) -> HResult {
    if ctx.method != "GET" {
        return Err(ArmError::method_not_allowed(&ctx.method));
    }
    let op = super::find_op(st, &v[2])?;
    let phase = lro::phase(&op, ctx.now);
    if !status {
        return match phase {
            Phase::Running => Ok(Reply::status(202, None)),
            Phase::Failed => Err(super::super::backup::op_failure(&op.error)),
            Phase::Succeeded => Ok(Reply::status(204, None)),
        };
    }
    let mut b = json!({
        "id": op.id, "name": op.id, "status": lro::status_str(phase),
        "startTime": lro::fmt_time(op.start_ms),
    });
    if phase != Phase::Running {
        b["endTime"] = json!(lro::fmt_time(op.start_ms + op.duration_ms));
        b["properties"] =
            json!({"objectType": "OperationStatusJobExtendedInfo", "jobId": op.job_id});
    }
    if let (Phase::Failed, Some(e)) = (phase, &op.error) {
        b["error"] = e.clone();
    }
    Ok(Reply::ok(b))
}

/// The vault a CRR job request names (`resourceId`), checked for CRR; its CRR jobs' key.
fn job_vault(st: &State, body: &Value) -> Result<(Arc<Vault>, String), ArmError> {
    let id = body["resourceId"].as_str().unwrap_or_default();
    let parts: Vec<&str> = id.trim_matches('/').split('/').collect();
    let [_, sub, _, rg, _, _, _, name] = parts.as_slice() else {
        return Err(ArmError::bad_request(
            "BMSUserErrorInvalidInput",
            format!("resourceId '{id}' is not a Recovery Services vault id."),
        ));
    };
    let vault = get_vault(st, sub, rg, name)?.clone();
    crr_enabled(&vault)?;
    let k = format!("crr:{}", vault.key());
    Ok((vault, k))
}

/// `POST …/backupCrrJob` `{resourceId, jobName}`.
fn job(ctx: &Ctx<'_>, st: &mut State, _v: &[String]) -> HResult {
    if ctx.method != "POST" {
        return Err(ArmError::method_not_allowed(&ctx.method));
    }
    let body = ctx.json()?;
    let (vault, jk) = job_vault(st, &body)?;
    let name = body["jobName"].as_str().unwrap_or_default();
    st.jobs
        .get(&key(&[&jk, name]))
        .filter(|j| j.start_ms <= ctx.now)
        .map(|j| Reply::ok(super::super::jobs::job_body(&vault.id(), j, ctx.now)))
        .ok_or_else(|| {
            ArmError::not_found(
                "BMSUserErrorJobNotFound",
                format!("Job '{name}' not found."),
            )
        })
}

/// `POST …/backupCrrJobs` `{resourceId}`: newest first.
fn jobs(ctx: &Ctx<'_>, st: &mut State, _v: &[String]) -> HResult {
    if ctx.method != "POST" {
        return Err(ArmError::method_not_allowed(&ctx.method));
    }
    let body = ctx.json()?;
    let (vault, jk) = job_vault(st, &body)?;
    let mut js: Vec<&super::super::state::Job> = st
        .jobs
        .values()
        .filter(|j| j.vault_key == jk && j.start_ms <= ctx.now)
        .collect();
    js.sort_by_key(|j| std::cmp::Reverse(j.start_ms));
    let vid = vault.id();
    let items: Vec<Value> = js
        .into_iter()
        .map(|j| super::super::jobs::job_body(&vid, j, ctx.now))
        .collect();
    Ok(Reply::ok(ctx.page(items, true)))
}
