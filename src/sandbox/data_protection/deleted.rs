//! Soft-deleted backup instances (`backupVaults/{v}/deletedBackupInstances[/{bi}[/undelete]]`).
//!
//! Recording: Azure/azure-cli-extensions `src/dataprotection/azext_dataprotection/tests/latest/
//! recordings/test_dataprotection_backup_instance_softdelete.yaml` (commit 1b5472db, cited as
//! DPSD #n, 0-based). A backup instance DELETEd while the vault's soft delete is on leaves
//! `backupInstances` and is listed and read here (#10, #11): the instance's properties plus
//! `deletionInfo`, `currentProtectionState`/`protectionStatus.status` `SoftDeleted`,
//! `objectType` `DeletedBackupInstance`, its id under `deletedBackupInstances`. While it is
//! soft-deleted the disk may be protected by another vault (#12–#26). `undelete` answers 200 with
//! no body and no operation to poll (#27); the instance is back in `backupInstances`, stopped
//! with its data (#28). An undelete of nothing answers 404 `UserErrorGenericResourceNotFound`
//! (#2, #38).

use serde_json::{json, Value};

use super::super::errors::ArmError;
use super::super::handler::{require_method, Ctx, HResult, Reply};
use super::super::inventory::stable_guid;
use super::super::state::{key, State};
use super::instances::{body, Instance};
use super::vaults::get_vault;
use super::{dpp_error, BV};

pub fn route(ctx: &Ctx<'_>, st: &mut State) -> Option<HResult> {
    if let Some(v) = ctx.m(&format!("{BV}/deletedbackupinstances")) {
        return Some((|| {
            require_method(ctx, "GET")?;
            let vk = get_vault(st, &v[0], &v[1], &v[2])?.key();
            let items = (st.data_protection.instances.values())
                .filter(|i| i.vault_key == vk && i.deleted_ms.is_some())
                .map(|i| deleted_body(st, i, ctx.now))
                .collect();
            Ok(Reply::ok(ctx.page(items, true)))
        })());
    }
    if let Some(v) = ctx.m(&format!("{BV}/deletedbackupinstances/*")) {
        return Some((|| {
            require_method(ctx, "GET")?;
            let (_, i) = deleted(st, &v)?;
            Ok(Reply::ok(deleted_body(st, i, ctx.now)))
        })());
    }
    if let Some(v) = ctx.m(&format!("{BV}/deletedbackupinstances/*/undelete")) {
        return Some((|| {
            require_method(ctx, "POST")?;
            let (ik, i) = deleted(st, &v)?;
            let mut i = i.clone();
            i.deleted_ms = None;
            i.purge_ms = None;
            i.state = "Stopped".into();
            i.stopped_ms.get_or_insert(ctx.now);
            st.data_protection.instances.insert(ik, i);
            Ok(Reply::status(200, None).mutated())
        })());
    }
    None
}

/// The soft-deleted instance `v[3]` of vault `v[0..3]`, with its key.
fn deleted<'a>(st: &'a State, v: &[String]) -> Result<(String, &'a Instance), ArmError> {
    let vault = get_vault(st, &v[0], &v[1], &v[2])?;
    let ik = key(&[&vault.key(), &v[3]]);
    match st.data_protection.instances.get(&ik) {
        Some(i) if i.deleted_ms.is_some() => Ok((ik, i)),
        // DPSD #2, #38.
        _ => Err(dpp_error(
            404,
            "UserErrorGenericResourceNotFound",
            "Azure resource does not exist. Please make sure required resources exist. If the issue persists, contact Microsoft support.",
        )),
    }
}

/// DPSD #10, #11.
fn deleted_body(st: &State, i: &Instance, now: i64) -> Value {
    let mut b = body(st, i, now);
    let at = |ms: Option<i64>| json!(super::super::lro::fmt_time(ms.unwrap_or(now)));
    b["properties"]["deletionInfo"] = json!({
        "deletionTime": at(i.deleted_ms),
        "billingEndDate": at(i.deleted_ms),
        "scheduledPurgeTime": at(i.purge_ms),
        "deleteActivityID": stable_guid(&i.name),
    });
    b["properties"]["objectType"] = json!("DeletedBackupInstance");
    let id = b["id"].as_str().unwrap_or_default().to_string();
    if let Some((vault, name)) = id.rsplit_once("/backupInstances/") {
        b["id"] = json!(format!("{vault}/deletedBackupInstances/{name}"));
    }
    b["type"] = json!("Microsoft.DataProtection/backupVaults/deletedBackupInstances");
    if let Some(o) = b.as_object_mut() {
        o.remove("tags");
    }
    b
}
