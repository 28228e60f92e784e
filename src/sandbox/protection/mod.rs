//! Protected VMs (bms.json 2026-01-01): protected items under `backupFabrics/Azure/
//! protectionContainers/{c}/protectedItems/{i}` (enable, modify, stop, resume, undelete, delete
//! with soft delete), their polling URLs exactly as Azure writes them, vault-level backup
//! operations, jobs, containers, protectable items, refreshContainers and `backupStatus`.

pub mod crr;
mod item_body;
pub mod item_recovery;
mod put;
pub(super) mod recovery_points;
pub mod restore;

use item_body::display_state;
pub use item_body::item_body;
use put::{busy, put_item};

use serde_json::{json, Value};

use super::backup::{op_failure, parse_filter, require_backup_api};
use super::errors::ArmError;
use super::handler::{Ctx, HResult, Reply};
use super::lro::{self, durations, NewOp, Phase};
use super::state::{key, Item, State, Vault, NO_FIRST_BACKUP};
use super::vaults::get_vault;

/// The api-version of a polling URL when the request named none.
pub const ITEM_POLL_API: &str = "2024-04-01";

const VAULT: &str =
    "subscriptions/*/resourcegroups/*/providers/microsoft.recoveryservices/vaults/*";

pub(super) fn eq(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// Remove soft-deleted items whose retention has passed (a scan only once one is due).
pub fn purge_expired(st: &mut State, now: i64) {
    if st.items_purge_due.is_some_and(|due| due > now) {
        return;
    }
    let mut next = i64::MAX;
    st.items.retain(|_, i| match i.purge_ms {
        Some(p) if p <= now => false,
        Some(p) => {
            next = next.min(p);
            true
        }
        None => true,
    });
    st.items_purge_due = Some(next);
}

pub fn route(ctx: &Ctx<'_>, st: &mut State) -> HResult {
    if let Some(r) = crr::route(ctx, st) {
        return r;
    }
    require_backup_api(ctx)?;
    purge_expired(st, ctx.now);
    let item = format!("{VAULT}/backupfabrics/*/protectioncontainers/*/protecteditems/*");
    if let Some(v) = ctx.m(&item) {
        return protected_item(ctx, st, &v);
    }
    if let Some(v) = ctx.m(&format!("{item}/recoverypoints/*/restore")) {
        let item = item_ref(st, &v)?;
        let job = restore::route(ctx, st, &item.vault, &item.key, &v[6])?;
        // The operation ends once the job exists; the job does the work (FACTS §8).
        let op = NewOp {
            kind: "restore",
            duration_ms: ctx.scaled(1.0),
            error: None,
            vault_key: Some(item.vault.key()),
            target_key: Some(item.key.clone()),
            job_id: Some(job),
            result: "empty",
        };
        return accepted_on_item(ctx, st, item, op);
    }
    for (action, provision) in [
        ("provisioninstantitemrecovery", true),
        ("revokeinstantitemrecovery", false),
    ] {
        if let Some(v) = ctx.m(&format!("{item}/recoverypoints/*/{action}")) {
            let item = item_ref(st, &v)?;
            let s = item_recovery::route(ctx, st, &item.key, &v[6], provision)?;
            let op = NewOp {
                kind: s.kind,
                duration_ms: s.duration_ms,
                error: s.error,
                vault_key: Some(item.vault.key()),
                target_key: Some(s.session_key),
                job_id: None,
                result: "empty",
            };
            return accepted_on_item(ctx, st, item, op);
        }
    }
    for (pattern, point) in [("recoverypoints", false), ("recoverypoints/*", true)] {
        if let Some(v) = ctx.m(&format!("{item}/{pattern}")) {
            let ItemRef {
                vault,
                item_name,
                key: ik,
                ..
            } = item_ref(st, &v)?;
            let Some(it) = st.items.get(&ik) else {
                return Err(item_not_found(&item_name));
            };
            let id = item_body(st, &vault, it, ctx.now, recovery_points::Sim::of(ctx))["id"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let name = point.then(|| v[6].as_str());
            return recovery_points::route(ctx, st, &id, &ik, name);
        }
    }
    if let Some(v) = ctx.m(&format!("{item}/backup")) {
        return trigger_backup(ctx, st, &v);
    }
    if let Some(v) = ctx.m(&format!("{item}/operationresults/*")) {
        return item_op(ctx, st, &v, false);
    }
    if let Some(v) = ctx.m(&format!("{item}/operationsstatus/*")) {
        return item_op(ctx, st, &v, true);
    }
    if let Some(v) = ctx.m(&format!("{VAULT}/backupprotecteditems")) {
        return list_items(ctx, st, &v);
    }
    if let Some(v) = ctx.m(&format!("{VAULT}/backupprotectioncontainers")) {
        return super::discovery::list_containers(ctx, st, &v);
    }
    if let Some(v) = ctx.m(&format!("{VAULT}/backupprotectableitems")) {
        return super::discovery::list_protectable(ctx, st, &v);
    }
    if let Some(v) = ctx.m(&format!("{VAULT}/backupfabrics/*/refreshcontainers")) {
        return super::discovery::refresh(ctx, st, &v);
    }
    if let Some(v) = ctx.m(&format!("{VAULT}/backupfabrics/*/operationresults/*")) {
        return super::discovery::refresh_poll(ctx, st, &v, false);
    }
    if let Some(v) = ctx.m(&format!("{VAULT}/backupfabrics/*/operationsstatus/*")) {
        return super::discovery::refresh_poll(ctx, st, &v, true);
    }
    if let Some(v) = ctx.m(&format!("{VAULT}/backupjobs")) {
        return super::jobs::list_jobs(ctx, st, &v);
    }
    if let Some(v) = ctx.m(&format!("{VAULT}/backupjobs/*")) {
        let vault = get_vault(st, &v[0], &v[1], &v[2])?;
        let vid = vault.id();
        let vk = vault.key();
        return st
            .jobs
            .get(&key(&[&vk, &v[3]]))
            .filter(|j| j.start_ms <= ctx.now)
            .map(|j| Reply::ok(super::jobs::job_body(&vid, j, ctx.now)))
            .ok_or_else(|| {
                ArmError::not_found(
                    "BMSUserErrorJobNotFound",
                    format!("Job '{}' not found.", v[3]),
                )
            });
    }
    if let Some(v) = ctx.m(&format!("{VAULT}/backupoperationresults/*")) {
        let vault = get_vault(st, &v[0], &v[1], &v[2])?;
        let vid = vault.id();
        let op = find_op(st, &v[3])?;
        return match lro::phase(&op, ctx.now) {
            Phase::Running => {
                Ok(Reply::status(202, None).headers(vault_poll_headers(ctx, &vid, &op.id)))
            }
            Phase::Failed => Err(op_failure(&op.error)),
            Phase::Succeeded => Ok(Reply::status(204, None)),
        };
    }
    if let Some(v) = ctx.m(&format!("{VAULT}/backupoperations/*")) {
        get_vault(st, &v[0], &v[1], &v[2])?;
        let op = find_op(st, &v[3])?;
        let props = item_recovery::status_properties(st, &op).unwrap_or_else(
            || json!({"objectType": "OperationStatusJobExtendedInfo", "jobId": op.job_id}),
        );
        return Ok(super::backup::status_reply(ctx, &op, props));
    }
    if let Some(v) =
        ctx.m("subscriptions/*/providers/microsoft.recoveryservices/locations/*/backupstatus")
    {
        return super::discovery::backup_status(ctx, st, &v);
    }
    if ctx.lsegs.len() > 8 && ctx.lsegs[6] == "vaults" {
        return Err(ArmError::invalid_resource_type(
            "Microsoft.RecoveryServices",
            &format!("vaults/{}", ctx.segs[8]),
        ));
    }
    Err(ArmError::no_route(&ctx.raw_path))
}

pub(super) fn find_op(st: &State, id: &str) -> Result<super::state::Operation, ArmError> {
    lro::find(st, id).cloned().ok_or_else(|| {
        ArmError::not_found(
            "BMSUserErrorOperationNotFound",
            format!("Operation '{id}' not found."),
        )
    })
}

/// `https://host/subscriptions/…?api-version=<the request's>`: as every recorded item PUT,
/// DELETE, backup and restore has them (azure-cli backup test_backup_protection.yaml,
/// test_backup_softdelete.yaml, test_backup_diskaccess_restore.yaml: api-version 2024-04-01).
pub(super) fn poll_url(ctx: &Ctx<'_>, vault_id: &str, rest: &str) -> String {
    let api = ctx.q("api-version").unwrap_or(ITEM_POLL_API);
    format!("{}{vault_id}/{rest}?api-version={api}", ctx.base)
}

fn item_poll_headers(
    ctx: &Ctx<'_>,
    vault_id: &str,
    container: &str,
    item: &str,
    op: &str,
) -> Vec<(String, String)> {
    let base =
        format!("backupFabrics/Azure/protectionContainers/{container}/protectedItems/{item}");
    vec![
        (
            "Azure-AsyncOperation".to_string(),
            poll_url(ctx, vault_id, &format!("{base}/operationsStatus/{op}")),
        ),
        (
            "Location".to_string(),
            poll_url(ctx, vault_id, &format!("{base}/operationResults/{op}")),
        ),
    ]
}

fn vault_poll_headers(ctx: &Ctx<'_>, vault_id: &str, op: &str) -> Vec<(String, String)> {
    vec![
        (
            "Azure-AsyncOperation".to_string(),
            poll_url(ctx, vault_id, &format!("backupOperations/{op}")),
        ),
        (
            "Location".to_string(),
            poll_url(ctx, vault_id, &format!("backupOperationResults/{op}")),
        ),
    ]
}

/// `(rg, vm)` from `iaasvmcontainer;iaasvmcontainerv2;{rg};{vm}` + `vm;iaasvmcontainerv2;{rg};{vm}`.
fn parse_names(container: &str, item: &str) -> Result<(String, String), ArmError> {
    let c: Vec<&str> = container.split(';').collect();
    let i: Vec<&str> = item.split(';').collect();
    let bad = || {
        ArmError::bad_request(
            "BMSUserErrorInvalidConfigureProtectionRequest",
            format!("Input for configure protection is not in proper format\r\nPlease ensure that container exists and other parameters are in valid format. Container '{container}' / protected item '{item}' is not a valid Azure VM container/item name. Expected 'iaasvmcontainer;iaasvmcontainerv2;<resource group>;<vm>' and 'vm;iaasvmcontainerv2;<resource group>;<vm>'."),
        )
    };
    if c.len() != 4 || !eq(c[0], "iaasvmcontainer") || !eq(c[1], "iaasvmcontainerv2") {
        return Err(bad());
    }
    if i.len() != 4 || !eq(i[0], "vm") || !eq(i[1], "iaasvmcontainerv2") {
        return Err(bad());
    }
    if !eq(c[2], i[2]) || !eq(c[3], i[3]) || c[2].is_empty() || c[3].is_empty() {
        return Err(bad());
    }
    Ok((c[2].to_string(), c[3].to_string()))
}

fn immutable_denied() -> ArmError {
    ArmError::bad_request(
        "UserErrorOperationDeniedOnImmutableItem",
        "The Vault and Bakcup Item is in Immutable state where destructive operations are not supported. The Vault and Backup Item is immutable, hence operation is denied. Refer to the documentation to learn more: https://aka.ms/AB-ImmutableVaults-States ",
    )
}

fn item_not_found(name: &str) -> ArmError {
    ArmError::not_found(
        "BMSUserErrorItemNotFound",
        format!("Item not found: the backup item '{name}' does not exist in the vault."),
    )
}

pub(super) fn parse_vm_id(id: &str) -> Option<(String, String, String)> {
    let s: Vec<&str> = id.trim_matches('/').split('/').collect();
    if s.len() == 8
        && eq(s[0], "subscriptions")
        && eq(s[2], "resourcegroups")
        && eq(s[4], "providers")
        && eq(s[5], "microsoft.compute")
        && eq(s[6], "virtualmachines")
    {
        Some((s[1].to_string(), s[3].to_string(), s[7].to_string()))
    } else {
        None
    }
}

fn protected_item(ctx: &Ctx<'_>, st: &mut State, v: &[String]) -> HResult {
    let vault = get_vault(st, &v[0], &v[1], &v[2])?.clone();
    let vk = vault.key();
    let vid = vault.id();
    if !eq(&v[3], "Azure") {
        return Err(ArmError::not_found(
            "BMSUserErrorFabricNotFound",
            format!(
                "Fabric '{}' not found. Azure VMs use the fabric 'Azure'.",
                v[3]
            ),
        ));
    }
    let (rg, vm) = parse_names(&v[4], &v[5])?;
    let container = format!("iaasvmcontainer;iaasvmcontainerv2;{rg};{vm}").to_ascii_lowercase();
    let item_name = format!("vm;iaasvmcontainerv2;{rg};{vm}").to_ascii_lowercase();
    let ik = key(&[&vk, &item_name]);
    if matches!(ctx.method.as_str(), "PUT" | "DELETE") {
        busy(st, &ik, ctx.now)?;
    }
    match ctx.method.as_str() {
        "GET" => st
            .items
            .get(&ik)
            .map(|it| {
                Reply::ok(item_body(
                    st,
                    &vault,
                    it,
                    ctx.now,
                    recovery_points::Sim::of(ctx),
                ))
            })
            .ok_or_else(|| item_not_found(&item_name)),
        "PUT" => put_item(ctx, st, &vault, &ik, &rg, &vm, &container, &item_name),
        "DELETE" => {
            let Some(it) = st.items.get(&ik).cloned() else {
                // ARM RPC: a DELETE of a resource that does not exist answers 204 (azure-behaviour.md §2).
                return Ok(Reply::status(204, None));
            };
            if it.deleted_ms.is_some() {
                // Not in the recordings or specs: see README "Known to differ".
                return Err(ArmError::bad_request("BMSUserErrorItemAlreadySoftDeleted", "The backup item is already in soft deleted state. Undelete it before performing this operation."));
            }
            let imm = vault.properties["securitySettings"]["immutabilitySettings"]["state"]
                .as_str()
                .unwrap_or("Disabled");
            let backed_up = ctx.now >= it.first_backup_ms || it.has_recovery_points;
            if !eq(imm, "Disabled") && backed_up {
                // An immutable vault (Unlocked or Locked) denies destructive operations. Code and
                // message as reported in Azure/azure-rest-api-specs#32688.
                return Err(immutable_denied());
            }
            let error = super::backup::bms_fault(ctx, "Stop protection and delete data");
            let duration = ctx.scaled(durations::ITEM_DELETE);
            let job = super::jobs::new_job(
                st,
                &vk,
                "DeleteBackupData",
                (&it.vm_name, it.job_container()),
                ctx.now,
                duration,
                error.clone(),
            );
            if error.is_none() {
                let sd = &vault.properties["securitySettings"]["softDeleteSettings"];
                let sd_state = sd["softDeleteState"].as_str().unwrap_or("Enabled");
                // Soft-deleted also before its first backup (test_backup_softdelete.yaml: the
                // item was IRPending, #48, when deleted, #50, and kept, #55, #57).
                if eq(sd_state, "Disabled") {
                    st.items.remove(&ik);
                } else {
                    let days = sd["softDeleteRetentionPeriodInDays"].as_i64().unwrap_or(14);
                    let purge = ctx.now + days * 86_400_000;
                    st.note_purge_at(purge);
                    if let Some(x) = st.items.get_mut(&ik) {
                        x.deleted_ms = Some(ctx.now);
                        x.purge_ms = Some(purge);
                        x.has_recovery_points |= backed_up;
                        if !x.has_recovery_points {
                            // No first backup is coming to a deleted item.
                            x.first_backup_ms = NO_FIRST_BACKUP;
                        }
                        x.state = "ProtectionStopped".into();
                        x.policy_id = None;
                        x.policy_name = None;
                    }
                }
            }
            let op = lro::start(
                st,
                ctx.now,
                NewOp {
                    kind: "itemDelete",
                    duration_ms: duration,
                    error,
                    vault_key: Some(vk),
                    target_key: Some(ik),
                    job_id: Some(job),
                    result: "empty",
                },
            );
            Ok(Reply::status(202, None)
                .headers(vault_poll_headers(ctx, &vid, &op))
                .mutated())
        }
        m => Err(ArmError::method_not_allowed(m)),
    }
}

fn item_op(ctx: &Ctx<'_>, st: &mut State, v: &[String], status: bool) -> HResult {
    let st: &State = st;
    let vault = get_vault(st, &v[0], &v[1], &v[2])?;
    let vid = vault.id();
    let op = find_op(st, &v[6])?;
    if status {
        let props = item_recovery::status_properties(st, &op).unwrap_or_else(
            || json!({"objectType": "OperationStatusJobExtendedInfo", "jobId": op.job_id}),
        );
        return Ok(super::backup::status_reply(ctx, &op, props));
    }
    let (rg, vm) = parse_names(&v[4], &v[5])?;
    let container = format!("iaasvmcontainer;iaasvmcontainerv2;{rg};{vm}").to_ascii_lowercase();
    let item_name = format!("vm;iaasvmcontainerv2;{rg};{vm}").to_ascii_lowercase();
    match lro::phase(&op, ctx.now) {
        Phase::Running => Ok(Reply::status(202, None)
            .headers(item_poll_headers(ctx, &vid, &container, &item_name, &op.id))),
        Phase::Failed => Err(op_failure(&op.error)),
        Phase::Succeeded => match op
            .target_key
            .as_ref()
            .and_then(|k| st.items.get(k))
            .filter(|_| op.result == "resource")
        {
            Some(it) => Ok(Reply::ok(item_body(
                st,
                vault,
                it,
                ctx.now,
                recovery_points::Sim::of(ctx),
            ))),
            None => Ok(Reply::status(204, None)),
        },
    }
}

fn list_items(ctx: &Ctx<'_>, st: &mut State, v: &[String]) -> HResult {
    if ctx.method != "GET" {
        return Err(ArmError::method_not_allowed(&ctx.method));
    }
    let vault = get_vault(st, &v[0], &v[1], &v[2])?.clone();
    let vk = vault.key();
    let filter = parse_filter(ctx.q("$filter"))?;
    // Filters on the item type are answered without rendering items, so that paging through a
    // large vault renders each item once, not once per page.
    let by_type = |k: &str| matches!(k, "backupmanagementtype" | "itemtype" | "workloadtype");
    if filter.iter().all(|(k, _)| by_type(k)) {
        let matches = filter.iter().all(|(k, val)| match k.as_str() {
            "backupmanagementtype" => eq(val, "AzureIaasVM"),
            _ => eq(val, "VM"),
        });
        let items: Vec<&super::state::Item> = st.items_in(&vk).filter(|_| matches).collect();
        let (now, sim) = (ctx.now, recovery_points::Sim::of(ctx));
        return Ok(Reply::ok(
            ctx.page_map(items, true, |i| item_body(st, &vault, i, now, sim)),
        ));
    }
    let items: Vec<Value> = st
        .items_in(&vk)
        .map(|i| item_body(st, &vault, i, ctx.now, recovery_points::Sim::of(ctx)))
        .filter(|b| {
            filter.iter().all(|(k, val)| {
                let p = &b["properties"];
                match k.as_str() {
                    "backupmanagementtype" => eq(val, "AzureIaasVM"),
                    "itemtype" | "workloadtype" => eq(val, "VM"),
                    "policyname" => p["policyName"].as_str().is_some_and(|x| eq(x, val)),
                    "protectionstate" => eq(&display_state(b), val),
                    "friendlyname" => p["friendlyName"].as_str().is_some_and(|x| eq(x, val)),
                    "protectionstatus" => {
                        p["protectionStatus"].as_str().is_some_and(|x| eq(x, val))
                    }
                    _ => true,
                }
            })
        })
        .collect();
    Ok(Reply::ok(ctx.page(items, true)))
}

/// The protected item a route names: its vault, container and item names, and state key.
struct ItemRef {
    vault: std::sync::Arc<Vault>,
    container: String,
    item_name: String,
    key: String,
}

/// The item of a `{vault}/backupFabrics/*/protectionContainers/*/protectedItems/*` route.
fn item_ref(st: &State, v: &[String]) -> Result<ItemRef, ArmError> {
    let vault = get_vault(st, &v[0], &v[1], &v[2])?.clone();
    let (rg, vm) = parse_names(&v[4], &v[5])?;
    let container = format!("iaasvmcontainer;iaasvmcontainerv2;{rg};{vm}").to_ascii_lowercase();
    let item_name = format!("vm;iaasvmcontainerv2;{rg};{vm}").to_ascii_lowercase();
    let key = key(&[&vault.key(), &item_name]);
    Ok(ItemRef {
        vault,
        container,
        item_name,
        key,
    })
}

/// 202 for an operation started on the item: what it polls (`item_poll_headers`).
fn accepted_on_item(ctx: &Ctx<'_>, st: &mut State, item: ItemRef, op: NewOp<'_>) -> HResult {
    let op = lro::start(st, ctx.now, op);
    Ok(Reply::status(202, None)
        .headers(item_poll_headers(
            ctx,
            &item.vault.id(),
            &item.container,
            &item.item_name,
            &op,
        ))
        .mutated())
}

/// `POST …/protectedItems/{i}/backup` (on-demand backup, TriggerBackup_Post.json).
fn trigger_backup(ctx: &Ctx<'_>, st: &mut State, v: &[String]) -> HResult {
    if ctx.method != "POST" {
        return Err(ArmError::method_not_allowed(&ctx.method));
    }
    let item = item_ref(st, v)?;
    let (vk, ik) = (item.vault.key(), item.key.clone());
    let Some(it) = st.items.get(&ik).cloned() else {
        return Err(item_not_found(&item.item_name));
    };
    if it.deleted_ms.is_some() || it.state != "Protected" {
        // Not in the recordings or specs: see README "Known to differ".
        return Err(ArmError::bad_request(
            "BMSUserErrorInvalidOperationOnStoppedItem",
            "On-demand backup is only possible for items whose protection is active.",
        ));
    }
    let body = ctx.json()?;
    let ot = body["properties"]["objectType"].as_str().unwrap_or("");
    if !eq(ot, "IaasVMBackupRequest") {
        return Err(ArmError::bad_request(
            "BMSUserErrorInvalidInput",
            format!("properties.objectType must be IaasVMBackupRequest, got '{ot}'."),
        ));
    }
    let error = super::backup::bms_fault(ctx, "The backup");
    let duration = ctx.scaled(durations::FIRST_BACKUP);
    let job = super::jobs::new_job(
        st,
        &vk,
        "Backup",
        (&it.vm_name, it.job_container()),
        ctx.now,
        duration,
        error.clone(),
    );
    if error.is_none() {
        if let Some(x) = st.items.get_mut(&ik) {
            x.last_backup_ms = Some(ctx.now + duration);
            x.backups_ms.push(ctx.now + duration);
        }
    }
    let op = NewOp {
        kind: "backup",
        duration_ms: duration,
        error,
        vault_key: Some(vk),
        target_key: Some(ik),
        job_id: Some(job),
        result: "empty",
    };
    accepted_on_item(ctx, st, item, op)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(purge_ms: Option<i64>) -> super::super::state::Item {
        serde_json::from_value(serde_json::json!({
            "vault_key": "s/rg/v", "vm_resource_group": "rg", "vm_name": "vm", "vm_id": "id",
            "vm_location": "westeurope", "policy_id": null, "policy_name": null,
            "state": "ProtectionStopped", "protect_ms": 0, "first_backup_ms": 0,
            "has_recovery_points": true, "extended_properties": null, "deleted_ms": 0,
            "purge_ms": purge_ms, "data_id": "d",
        }))
        .unwrap()
    }

    #[test]
    fn soft_deleted_items_go_when_their_retention_ends_and_not_before() {
        let mut st = State::default();
        st.items.insert("s/rg/v/a".into(), item(Some(100)));
        st.items.insert("s/rg/v/b".into(), item(Some(300)));
        st.items.insert("s/rg/v/kept".into(), item(None));
        purge_expired(&mut st, 50);
        assert_eq!(st.items.len(), 3);
        assert_eq!(st.items_purge_due, Some(100));
        purge_expired(&mut st, 100);
        assert_eq!(st.items.len(), 2);
        assert_eq!(st.items_purge_due, Some(300));
        // An item deleted meanwhile with a shorter retention lowers when the next scan is due
        // (as the delete does), and is purged on time.
        st.items.insert("s/rg/v/c".into(), item(Some(150)));
        st.note_purge_at(150);
        purge_expired(&mut st, 160);
        assert!(!st.items.contains_key("s/rg/v/c"));
        purge_expired(&mut st, 300);
        assert_eq!(st.items.keys().collect::<Vec<_>>(), ["s/rg/v/kept"]);
        assert_eq!(st.items_purge_due, Some(i64::MAX));
        // A loaded state knows nothing yet: its first request scans.
        let mut loaded: State = serde_json::from_str(&serde_json::to_string(&st).unwrap()).unwrap();
        assert_eq!(loaded.items_purge_due, None);
        purge_expired(&mut loaded, 0);
        assert_eq!(loaded.items_purge_due, Some(i64::MAX));
    }
}
