//! Microsoft.RecoveryServices vaults (2026-02-01): create/get/patch/delete/list, their async
//! operation URLs, the rules Azure enforces on redundancy, cross-region restore, soft delete and
//! immutability, and the backup vault-config / storage-config views of the same settings.

use serde_json::{json, Value};
use std::sync::Arc;

use super::errors::ArmError;
use super::handler::{require_rg, Ctx, HResult, Reply};
use super::inventory::normalize_location;
use super::lro::{self, durations, NewOp, Phase};
use super::state::{key, State, Vault};

pub const API_VERSIONS: &[&str] = &[
    "2016-06-01",
    "2020-02-02",
    "2021-01-01",
    "2021-03-01",
    "2021-06-01",
    "2021-08-01",
    "2022-01-01",
    "2022-04-01",
    "2022-08-01",
    "2022-10-01",
    "2023-01-01",
    "2023-02-01",
    "2023-04-01",
    "2023-06-01",
    "2023-08-01",
    "2024-01-01",
    "2024-02-01",
    "2024-04-01",
    "2024-09-30-preview",
    "2024-10-01",
    "2025-01-01",
    "2025-02-01",
    "2025-08-01",
    "2026-02-01",
];

const VAULT_PATTERN: &str =
    "subscriptions/*/resourcegroups/*/providers/microsoft.recoveryservices/vaults/*";

fn etag(now: i64) -> String {
    let t = lro::fmt_time(now);
    format!("W/\"datetime'{}'\"", t.replace(':', "%3A"))
}

/// Defaults Azure applies to a new vault (recording: test_backup_protection.yaml #3 for the
/// alerts, scores and restore settings; #33 for `backupStorageVersion`; soft delete as the 2026
/// CLI's create shows it, FACTS §3).
fn default_properties() -> Value {
    json!({
        "provisioningState": "Succeeded",
        "privateEndpointStateForBackup": "None",
        "privateEndpointStateForSiteRecovery": "None",
        "publicNetworkAccess": "Enabled",
        "redundancySettings": {"standardTierStorageRedundancy": "GeoRedundant", "crossRegionRestore": "Disabled"},
        "securitySettings": {
            "immutabilitySettings": {"state": "Disabled"},
            "softDeleteSettings": {"softDeleteState": "Enabled", "softDeleteRetentionPeriodInDays": 14, "enhancedSecurityState": "Enabled"},
            "multiUserAuthorization": "Disabled",
        },
        "monitoringSettings": {
            "azureMonitorAlertSettings": {"alertsForAllJobFailures": "Enabled", "alertsForAllReplicationIssues": "Enabled", "alertsForAllFailoverIssues": "Enabled"},
            "classicAlertSettings": {"alertsForCriticalOperations": "Enabled", "emailNotificationsForSiteRecovery": "Enabled"},
        },
        "secureScore": "None",
        "bcdrSecurityLevel": "Poor",
        "backupStorageVersion": "Unassigned",
        "restoreSettings": {"crossSubscriptionRestoreSettings": {"crossSubscriptionRestoreState": "Enabled"}},
    })
}

/// Merge `patch` into `base` (objects recursively, everything else replaced).
pub fn merge(base: &mut Value, patch: &Value) {
    match (base, patch) {
        (Value::Object(b), Value::Object(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    continue;
                }
                match b.get_mut(k) {
                    Some(existing) if existing.is_object() && v.is_object() => merge(existing, v),
                    _ => {
                        b.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (b, p) => *b = p.clone(),
    }
}

pub fn vault_body(v: &Vault) -> Value {
    let mut b = json!({
        "id": v.id(),
        "name": v.name,
        "type": "Microsoft.RecoveryServices/vaults",
        "location": v.location,
        "tags": v.tags,
        "etag": v.etag,
        "sku": v.sku,
        "properties": v.properties,
    });
    if let Some(i) = &v.identity {
        b["identity"] = i.clone();
    }
    b
}

/// Whether any protected item (incl. stopped and soft-deleted) lives in the vault.
pub fn has_items(st: &State, vault_key: &str) -> bool {
    st.items_in(vault_key).next().is_some()
}

fn s<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    let mut cur = v;
    for p in path {
        cur = &cur[*p];
    }
    cur.as_str().unwrap_or("")
}

fn eq(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// Check the transition `old` → `new` of vault properties (old is `None` on create).
pub fn validate(old: Option<&Value>, new: &Value, locked: bool) -> Result<(), ArmError> {
    let red = s(
        new,
        &["redundancySettings", "standardTierStorageRedundancy"],
    );
    if !["LocallyRedundant", "GeoRedundant", "ZoneRedundant"]
        .iter()
        .any(|x| eq(x, red))
    {
        return Err(ArmError::bad_request("BadRequest", format!("Invalid value '{red}' for standardTierStorageRedundancy. Allowed values are LocallyRedundant, GeoRedundant, ZoneRedundant.")));
    }
    let crr = s(new, &["redundancySettings", "crossRegionRestore"]);
    if !["Enabled", "Disabled"].iter().any(|x| eq(x, crr)) {
        return Err(ArmError::bad_request("BadRequest", format!("Invalid value '{crr}' for crossRegionRestore. Allowed values are Enabled, Disabled.")));
    }
    if eq(crr, "Enabled") && !eq(red, "GeoRedundant") {
        // Not in the recordings or specs: see README "Known to differ".
        return Err(ArmError::bad_request("BMSUserErrorCrossRegionRestoreNotSupported", "Cross Region Restore can only be enabled on vaults with GeoRedundant storage redundancy."));
    }
    let imm = s(new, &["securitySettings", "immutabilitySettings", "state"]);
    if !["Disabled", "Unlocked", "Locked"]
        .iter()
        .any(|x| eq(x, imm))
    {
        return Err(ArmError::bad_request("BadRequest", format!("Invalid value '{imm}' for immutabilitySettings.state. Allowed values are Disabled, Unlocked, Locked.")));
    }
    let sd = s(
        new,
        &["securitySettings", "softDeleteSettings", "softDeleteState"],
    );
    if !["Enabled", "Disabled", "AlwaysON"]
        .iter()
        .any(|x| eq(x, sd))
    {
        return Err(ArmError::bad_request("BadRequest", format!("Invalid value '{sd}' for softDeleteState. Allowed values are Enabled, Disabled, AlwaysON.")));
    }
    let days = new["securitySettings"]["softDeleteSettings"]["softDeleteRetentionPeriodInDays"]
        .as_i64()
        .unwrap_or(14);
    if !(14..=180).contains(&days) {
        // Not in the recordings or specs: see README "Known to differ".
        return Err(ArmError::bad_request(
            "BMSUserErrorInvalidSoftDeleteRetentionPeriod",
            format!("Soft delete retention period must be between 14 and 180 days, got {days}."),
        ));
    }
    match old {
        None => {
            if eq(imm, "Locked") {
                // Not in the recordings or specs: see README "Known to differ".
                return Err(ArmError::bad_request("UserErrorImmutabilityStateCannotBeLockedOnCreate", "Immutability cannot be set to Locked while creating a vault. Create the vault with immutability Unlocked and lock it afterwards."));
            }
        }
        Some(old) => {
            let old_red = s(
                old,
                &["redundancySettings", "standardTierStorageRedundancy"],
            );
            if !eq(old_red, red) && locked {
                return Err(ArmError::bad_request("StorageModelModifyError", "Storage Redundancy option is locked when the first machine is registered. Storage redundancy can't be changed once items are protected in the vault."));
            }
            let old_crr = s(old, &["redundancySettings", "crossRegionRestore"]);
            if eq(old_crr, "Enabled") && eq(crr, "Disabled") {
                // Not in the recordings or specs: see README "Known to differ".
                return Err(ArmError::bad_request(
                    "BMSUserErrorCrossRegionRestoreCannotBeDisabled",
                    "Cross Region Restore cannot be disabled once it is enabled on a vault.",
                ));
            }
            let old_imm = s(old, &["securitySettings", "immutabilitySettings", "state"]);
            if eq(old_imm, "Locked") && !eq(imm, "Locked") {
                return Err(ArmError::bad_request(
                    "UserErrorImmutabilityStateLocked",
                    "Immutability is Locked on this vault and cannot be changed.",
                ));
            }
            if eq(old_imm, "Disabled") && eq(imm, "Locked") {
                return Err(ArmError::bad_request("UserErrorImmutabilityStateTransitionNotAllowed", "Immutability can only be Locked from the Unlocked state. Enable immutability (Unlocked) first."));
            }
            let old_sd = s(
                old,
                &["securitySettings", "softDeleteSettings", "softDeleteState"],
            );
            if eq(old_sd, "AlwaysON") && !eq(sd, "AlwaysON") {
                return Err(ArmError::bad_request("BMSUserErrorSoftDeleteStateAlwaysOn", "Soft delete is set to AlwaysOn for this vault and cannot be disabled or modified."));
            }
        }
    }
    Ok(())
}

fn normalize_props(p: &mut Value) {
    // Azure answers the canonical casing of enum values.
    let canon = |v: &mut Value, allowed: &[&str]| {
        if let Some(x) = v.as_str() {
            if let Some(c) = allowed.iter().find(|a| a.eq_ignore_ascii_case(x)) {
                *v = json!(c);
            }
        }
    };
    canon(
        &mut p["redundancySettings"]["standardTierStorageRedundancy"],
        &["LocallyRedundant", "GeoRedundant", "ZoneRedundant"],
    );
    canon(
        &mut p["redundancySettings"]["crossRegionRestore"],
        &["Enabled", "Disabled"],
    );
    canon(
        &mut p["securitySettings"]["immutabilitySettings"]["state"],
        &["Disabled", "Unlocked", "Locked"],
    );
    canon(
        &mut p["securitySettings"]["softDeleteSettings"]["softDeleteState"],
        &["Enabled", "Disabled", "AlwaysON"],
    );
}

fn check_vault_name(name: &str) -> Result<(), ArmError> {
    let ok = (2..=50).contains(&name.len())
        && name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if ok {
        Ok(())
    } else {
        // Not in the recordings or specs: see README "Known to differ".
        Err(ArmError::bad_request("BadRequest", format!("Vault name '{name}' is invalid. Vault names must be 2 to 50 characters, start with a letter and contain only letters, numbers and hyphens.")))
    }
}

pub fn route(ctx: &Ctx<'_>, st: &mut State) -> Option<HResult> {
    let m = ctx.method.as_str();
    if let Some(v) = ctx.m("subscriptions/*/providers/microsoft.recoveryservices/vaults") {
        return Some(ctx.require_api(API_VERSIONS).and_then(|_| {
            if m != "GET" {
                return Err(ArmError::method_not_allowed(m));
            }
            let items = st
                .vaults
                .values()
                .filter(|x| eq(&x.subscription, &v[0]))
                .map(|vault| vault_body(vault))
                .collect();
            Ok(Reply::ok(ctx.page(items, false)))
        }));
    }
    if let Some(v) =
        ctx.m("subscriptions/*/resourcegroups/*/providers/microsoft.recoveryservices/vaults")
    {
        return Some(ctx.require_api(API_VERSIONS).and_then(|_| {
            if m != "GET" {
                return Err(ArmError::method_not_allowed(m));
            }
            require_rg(st, &v[0], &v[1])?;
            let prefix = key(&[&v[0], &v[1]]) + "/";
            let items = st
                .vaults
                .iter()
                .filter(|(k, _)| k.starts_with(&prefix))
                .map(|(_, x)| vault_body(x))
                .collect();
            Ok(Reply::ok(ctx.page(items, false)))
        }));
    }
    if let Some(v) = ctx.m(VAULT_PATTERN) {
        return Some(
            ctx.require_api(API_VERSIONS)
                .and_then(|_| vault(ctx, st, &v[0], &v[1], &v[2])),
        );
    }
    for (pat, status) in [
        (format!("{VAULT_PATTERN}/operationstatus/*"), true),
        (format!("{VAULT_PATTERN}/operationresults/*"), false),
    ] {
        if let Some(v) = ctx.m(&pat) {
            return Some(
                ctx.require_api(API_VERSIONS)
                    .and_then(|_| vault_op(ctx, st, &v, status)),
            );
        }
    }
    if let Some(v) = ctx.m(&format!("{VAULT_PATTERN}/backupconfig/vaultconfig")) {
        return Some(
            super::backup::require_backup_api(ctx).and_then(|_| vault_config(ctx, st, &v)),
        );
    }
    if let Some(v) = ctx.m(&format!(
        "{VAULT_PATTERN}/backupstorageconfig/vaultstorageconfig"
    )) {
        return Some(
            super::backup::require_backup_api(ctx).and_then(|_| storage_config(ctx, st, &v)),
        );
    }
    None
}

/// The vault for a child route (404s in ARM's order: resource group, then vault).
pub fn get_vault<'a>(
    st: &'a State,
    sub: &str,
    rg: &str,
    name: &str,
) -> Result<&'a Arc<Vault>, ArmError> {
    require_rg(st, sub, rg)?;
    st.vaults
        .get(&key(&[sub, rg, name]))
        .ok_or_else(|| ArmError::resource_not_found("Microsoft.RecoveryServices/vaults", rg, name))
}

/// Remove a vault and everything that lives in it.
pub fn remove_vault(st: &mut State, vk: &str) {
    st.vaults.remove(vk);
    st.policies.retain(|_, p| p.vault_key != vk);
    st.items.retain(|_, i| i.vault_key != vk);
    st.jobs.retain(|_, j| j.vault_key != vk);
    super::site_recovery::remove_vault(st, vk);
}

fn vault(ctx: &Ctx<'_>, st: &mut State, sub: &str, rg: &str, name: &str) -> HResult {
    let vk = key(&[sub, rg, name]);
    match ctx.method.as_str() {
        "GET" => get_vault(st, sub, rg, name).map(|v| Reply::ok(vault_body(v))),
        "PUT" | "PATCH" => {
            let patch = ctx.method == "PATCH";
            require_rg(st, sub, rg)?;
            let body = ctx.json()?;
            let existing = st.vaults.get(&vk).cloned();
            if patch && existing.is_none() {
                return Err(ArmError::resource_not_found(
                    "Microsoft.RecoveryServices/vaults",
                    rg,
                    name,
                ));
            }
            let req_props = body.get("properties").cloned().unwrap_or(json!({}));
            if !req_props.is_object() {
                return Err(ArmError::invalid_json("'properties' must be an object"));
            }
            let locked = has_items(st, &vk);
            let (mut vault, created) = match existing.as_deref() {
                Some(v) => (v.clone(), false),
                None => {
                    check_vault_name(name)?;
                    let location = super::handler::required_location(&body)?;
                    if body["sku"]["name"].as_str().is_none() {
                        return Err(ArmError::bad_request(
                            "BadRequest",
                            "The 'sku' property with a 'name' is required.",
                        ));
                    }
                    let canonical_rg = st
                        .rg(sub, rg)
                        .map(|r| r.name.clone())
                        .unwrap_or_else(|| rg.to_string());
                    let canonical_sub = st
                        .subscriptions
                        .iter()
                        .find(|s| eq(s, sub))
                        .cloned()
                        .unwrap_or_else(|| sub.to_string());
                    (
                        Vault {
                            subscription: canonical_sub,
                            resource_group: canonical_rg,
                            name: name.to_string(),
                            location,
                            tags: json!({}),
                            sku: json!({"name": "RS0", "tier": "Standard"}),
                            identity: None,
                            properties: default_properties(),
                            etag: String::new(),
                            created_ms: ctx.now,
                        },
                        true,
                    )
                }
            };
            if let (false, Some(loc)) = (created, body["location"].as_str()) {
                if !patch && normalize_location(loc) != vault.location {
                    return Err(ArmError::bad_request("InvalidResourceLocation", format!("The resource '{name}' already exists in location '{}' in resource group '{rg}'. A resource with the same name cannot be created in location '{}'. Please select a new resource name.", vault.location, normalize_location(loc))));
                }
            }
            let mut props = vault.properties.clone();
            // provisioningState and other server fields are not client-settable.
            let mut req_props = req_props;
            if let Some(o) = req_props.as_object_mut() {
                for f in [
                    "provisioningState",
                    "privateEndpointStateForBackup",
                    "privateEndpointStateForSiteRecovery",
                    "secureScore",
                    "bcdrSecurityLevel",
                    "backupStorageVersion",
                    "privateEndpointConnections",
                    "upgradeDetails",
                ] {
                    o.remove(f);
                }
            }
            // After creation, soft delete sent to the vault answers 200 and changes nothing;
            // it is changed through backupconfig/vaultconfig (azure-rest-api-specs#34218).
            if !created {
                if let Some(sec) = req_props
                    .get_mut("securitySettings")
                    .and_then(Value::as_object_mut)
                {
                    sec.remove("softDeleteSettings");
                }
            }
            merge(&mut props, &req_props);
            normalize_props(&mut props);
            validate(existing.as_ref().map(|v| &v.properties), &props, locked)?;
            vault.properties = props;
            if let Some(t) = body.get("tags") {
                if !t.is_null() {
                    if !t.is_object() {
                        return Err(ArmError::invalid_json("'tags' must be an object"));
                    }
                    vault.tags = t.clone();
                }
            }
            if let Some(sku) = body["sku"]["name"].as_str() {
                if !["Standard", "RS0"].iter().any(|x| eq(x, sku)) {
                    return Err(ArmError::bad_request(
                        "BadRequest",
                        format!("Invalid sku '{sku}'. Allowed values are Standard, RS0."),
                    ));
                }
            }
            if body.get("identity").is_some_and(|i| i.is_object()) {
                // The type is kept as sent, unchecked (unlike a Backup vault's).
                vault.identity = super::identity::vault_identity(
                    &body["identity"],
                    &vault.id(),
                    &st.identity.tenant_id,
                    false,
                )
                .unwrap_or_default();
            }
            vault.etag = etag(ctx.now);
            let b = vault_body(&vault);
            let vk = vault.key();
            if created {
                super::backup::create_builtin_policies(st, &vk, ctx.now);
            }
            let base = vault.id();
            st.vaults.insert(vk.clone(), Arc::new(vault));
            if !created {
                return Ok(Reply::status(200, Some(b)).mutated());
            }
            // Creation answers 201 with an Azure-AsyncOperation status monitor, polled to
            // Succeeded before the vault is read (recording: test_backup_protection.yaml #1–3,
            // FACTS §6).
            let op = lro::start(
                st,
                ctx.now,
                NewOp {
                    kind: "vaultCreate",
                    duration_ms: ctx.scaled(durations::VAULT_CREATE),
                    error: None,
                    vault_key: Some(vk),
                    target_key: None,
                    job_id: None,
                    result: "empty",
                },
            );
            Ok(Reply::status(201, Some(b))
                .header(
                    "Azure-AsyncOperation",
                    ctx.abs(&format!(
                        "{base}/operationStatus/{op}?api-version={}",
                        ctx.api_version
                    )),
                )
                .mutated())
        }
        "DELETE" => {
            let v = get_vault(st, sub, rg, name)?.clone();
            let items: Vec<_> = st.items_in(&vk).collect();
            if items.iter().any(|i| i.deleted_ms.is_none())
                || super::site_recovery::has_resources(st, &vk, ctx.now)
            {
                return Err(ArmError::bad_request("ServiceResourceNotEmpty", "Vault cannot be deleted as there are existing resources within the vault. Please ensure there are no backup items, protected servers, or backup management servers associated with this vault. Unregister the following containers associated with this vault before proceeding for deletion."));
            }
            if !items.is_empty() {
                // Code and message as Azure answered them (seen in a public Terraform destroy log).
                return Err(ArmError::bad_request("ServiceResourceNotEmptyWithBackendMessage", "Recovery Services vault cannot be deleted as there are backup items still present in soft delete state. Visit the following link for the steps to permanently delete soft deleted items: https://aka.ms/undeletesoftdeleteditems"));
            }
            let error = ctx.lro_fails().then(|| json!({"code": "InternalServerError", "message": "Vault deletion failed (injected fault)."}));
            if error.is_none() {
                remove_vault(st, &vk);
            }
            let op = lro::start(
                st,
                ctx.now,
                NewOp {
                    kind: "vaultDelete",
                    duration_ms: ctx.scaled(durations::VAULT_DELETE),
                    error,
                    vault_key: Some(vk.clone()),
                    target_key: None,
                    job_id: None,
                    result: "empty",
                },
            );
            let base = v.id();
            Ok(Reply::status(202, None)
                .header(
                    "Azure-AsyncOperation",
                    ctx.abs(&format!(
                        "{base}/operationStatus/{op}?api-version={}",
                        ctx.api_version
                    )),
                )
                .header(
                    "Location",
                    ctx.abs(&format!(
                        "{base}/operationResults/{op}?api-version={}",
                        ctx.api_version
                    )),
                )
                .mutated())
        }
        m => Err(ArmError::method_not_allowed(m)),
    }
}

fn vault_op(ctx: &Ctx<'_>, st: &mut State, v: &[String], status: bool) -> HResult {
    let Some(op) = lro::find(st, &v[3]).cloned() else {
        // The vault may already be gone (delete): the operation is what is looked up.
        return Err(ArmError::not_found(
            "OperationNotFound",
            format!("The operation '{}' was not found.", v[3]),
        ));
    };
    let phase = lro::phase(&op, ctx.now);
    let vault_id = format!(
        "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.RecoveryServices/vaults/{}",
        v[0], v[1], v[2]
    );
    if status {
        let mut b = json!({
            "id": format!("{vault_id}/operationStatus/{}", op.id),
            "name": op.id,
            "status": lro::status_str(phase),
            "startTime": lro::fmt_time(op.start_ms),
        });
        if phase != Phase::Running {
            b["endTime"] = json!(lro::fmt_time(op.start_ms + op.duration_ms));
        }
        if phase == Phase::Failed {
            b["error"] = op.error.clone().unwrap_or_default();
        }
        return Ok(Reply::ok(b));
    }
    match phase {
        Phase::Running => Ok(Reply::status(202, None).header(
            "Location",
            ctx.abs(&format!(
                "{vault_id}/operationResults/{}?api-version={}",
                op.id, ctx.api_version
            )),
        )),
        Phase::Succeeded => Ok(Reply::status(200, None)),
        Phase::Failed => {
            let e = op.error.unwrap_or_default();
            Err(ArmError::new(
                500,
                e["code"].as_str().unwrap_or("InternalServerError"),
                e["message"].as_str().unwrap_or("The operation failed."),
            ))
        }
    }
}

/// The recorded shape: id, name, type and four properties (azure-cli/test_backup_protection.yaml
/// #4 L215, #6 L310; FACTS §3). Storage redundancy is in `vaultstorageconfig`, not here.
fn vault_config_body(v: &Vault) -> Value {
    let sd = &v.properties["securitySettings"]["softDeleteSettings"];
    let state = sd["softDeleteState"].as_str().unwrap_or("Enabled");
    json!({
        "id": format!("{}/backupconfig/vaultconfig", v.id()),
        "name": "vaultconfig",
        "type": "Microsoft.RecoveryServices/vaults/backupconfig",
        "properties": {
            "enhancedSecurityState": sd["enhancedSecurityState"].as_str().unwrap_or("Enabled"),
            "softDeleteFeatureState": state,
            "softDeleteRetentionPeriodInDays": sd["softDeleteRetentionPeriodInDays"].as_i64().unwrap_or(14),
            "isSoftDeleteFeatureStateEditable": !eq(state, "AlwaysON"),
        },
    })
}

fn vault_config(ctx: &Ctx<'_>, st: &mut State, v: &[String]) -> HResult {
    let vault = get_vault(st, &v[0], &v[1], &v[2])?.clone();
    let vk = vault.key();
    match ctx.method.as_str() {
        "GET" => Ok(Reply::ok(vault_config_body(&vault))),
        "PUT" | "PATCH" => {
            let body = ctx.json()?;
            let p = &body["properties"];
            let mut sd = json!({});
            if let Some(x) = p["softDeleteFeatureState"].as_str() {
                sd["softDeleteState"] = json!(x);
            }
            if let Some(x) = p["enhancedSecurityState"].as_str() {
                sd["enhancedSecurityState"] = json!(x);
            }
            if let Some(x) = p["softDeleteRetentionPeriodInDays"].as_i64() {
                sd["softDeleteRetentionPeriodInDays"] = json!(x);
            }
            let mut props = vault.properties.clone();
            merge(
                &mut props,
                &json!({"securitySettings": {"softDeleteSettings": sd}}),
            );
            normalize_props(&mut props);
            validate(Some(&vault.properties), &props, has_items(st, &vk))?;
            // Our handle let go first, so that the stored vault is edited in place, not copied.
            drop(vault);
            let stored = set_properties(st, &vk, props, ctx.now)?;
            let b = vault_config_body(stored);
            Ok(Reply::ok(b).mutated())
        }
        m => Err(ArmError::method_not_allowed(m)),
    }
}

/// The stored vault `vk` with new `props` and a new etag, edited in place (its caller holds no
/// other handle on it, or `Arc::make_mut` copies it).
fn set_properties<'s>(
    st: &'s mut State,
    vk: &str,
    props: Value,
    now: i64,
) -> Result<&'s Vault, ArmError> {
    let Some(stored) = st.vaults.get_mut(vk).map(Arc::make_mut) else {
        return Err(ArmError::internal("vault vanished"));
    };
    stored.properties = props;
    stored.etag = etag(now);
    Ok(stored)
}

fn storage_config_body(v: &Vault, locked: bool) -> Value {
    let red = &v.properties["redundancySettings"];
    json!({
        "id": format!("{}/backupstorageconfig/vaultstorageconfig", v.id()),
        "name": "vaultstorageconfig",
        "type": "Microsoft.RecoveryServices/vaults/backupstorageconfig",
        "properties": {
            "storageModelType": red["standardTierStorageRedundancy"],
            "storageType": red["standardTierStorageRedundancy"],
            "storageTypeState": if locked { "Locked" } else { "Unlocked" },
            "crossRegionRestoreFlag": eq(red["crossRegionRestore"].as_str().unwrap_or(""), "Enabled"),
            "dedupState": "Disabled",
            "xcoolState": "Disabled",
        },
    })
}

fn storage_config(ctx: &Ctx<'_>, st: &mut State, v: &[String]) -> HResult {
    let vault = get_vault(st, &v[0], &v[1], &v[2])?.clone();
    let vk = vault.key();
    let locked = has_items(st, &vk);
    match ctx.method.as_str() {
        "GET" => Ok(Reply::ok(storage_config_body(&vault, locked))),
        "PUT" | "PATCH" => {
            let body = ctx.json()?;
            let p = &body["properties"];
            let mut red = json!({});
            if let Some(x) = p["storageType"].as_str().or(p["storageModelType"].as_str()) {
                red["standardTierStorageRedundancy"] = json!(x);
            }
            if let Some(x) = p["crossRegionRestoreFlag"].as_bool() {
                red["crossRegionRestore"] = json!(if x { "Enabled" } else { "Disabled" });
            }
            let mut props = vault.properties.clone();
            merge(&mut props, &json!({"redundancySettings": red}));
            normalize_props(&mut props);
            validate(Some(&vault.properties), &props, locked)?;
            // Our handle let go first, so that the stored vault is edited in place, not copied.
            drop(vault);
            let stored = set_properties(st, &vk, props, ctx.now)?;
            if ctx.method == "PATCH" {
                return Ok(Reply::status(204, None).mutated());
            }
            let b = storage_config_body(stored, locked);
            Ok(Reply::ok(b).mutated())
        }
        m => Err(ArmError::method_not_allowed(m)),
    }
}
