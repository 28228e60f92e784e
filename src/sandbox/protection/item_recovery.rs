//! Item-level (file) recovery from a VM's recovery point (bms.json 2026-01-01,
//! `ItemLevelRecoveryConnections_Provision` / `_Revoke`):
//!
//! * `POST {item}/recoveryPoints/{rp}/provisionInstantItemRecovery` with `{"properties":
//!   {"objectType": "IaasVMILRRegistrationRequest", "recoveryPointId", "virtualMachineId",
//!   "renewExistingRegistration"}}` → 202 with the item's polling URLs; the operation's status
//!   (`backupOperations/{id}`, which the az CLI's `restore files mount-rp` reads:
//!   custom_help.py `track_backup_ilr`) ends with `properties: {"objectType":
//!   "OperationStatusProvisionILRExtendedInfo", "recoveryTarget": {"clientScripts": […]}}`. Each
//!   `ClientScriptForConnect` has `scriptContent` (base64), `scriptExtension`, `osType`, `url`
//!   and `scriptNameSuffix`, whose last `_` segment carries the 15-character password 32
//!   characters in (the CLI's `password_offset = 33`, `password_length = 15`). A Linux VM gets
//!   a Python script; a Windows VM a PowerShell script and, second, an executable by `url` (the
//!   CLI downloads `client_scripts[1].url` for Windows).
//! * `POST …/revokeInstantItemRecovery` → 202 and the same tracking; the session ends. The CLI
//!   revokes only while the point's `isInstantIlrSessionActive` is true; a revoke without a
//!   session is accepted here and changes nothing.
//! * A point's `isInstantIlrSessionActive` is true while its session lasts; provisioning again
//!   while it does renews it (`renewExistingRegistration`) with the same script.
//!
//! Refused as the restore is: an item or point that does not exist (404), a body that is not an
//! `IaasVMILRRegistrationRequest` for this point and the item's VM (400).

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::super::errors::ArmError;
use super::super::handler::Ctx;
use super::super::lro;
use super::super::state::{Item, State};
use base64::Engine;

/// How long a file-recovery session lasts, in Azure seconds: Microsoft's file-recovery article
/// says the mounted recovery point is closed after 12 hours
/// (learn.microsoft.com/azure/backup/backup-azure-restore-files-from-vm); the API returns no
/// expiry.
pub const SESSION_SECS: f64 = 12.0 * 3600.0;

/// How long the provisioning operation runs, in Azure seconds (not documented).
const PROVISION_SECS: f64 = 30.0;

/// An open file-recovery session of one point.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Session {
    pub vm: String,
    pub os: String,
    pub region: String,
    pub point: String,
    pub password: String,
    /// The session's own id (its scripts name it).
    pub id: String,
    pub expires_ms: i64,
}

/// The state key of `point`'s session on the item `item_key`.
pub fn session_key(item_key: &str, point: &str) -> String {
    format!("{item_key}/{point}").to_ascii_lowercase()
}

/// Whether the point has a session open at `now`.
pub fn active(st: &State, item_key: &str, point: &str, now: i64) -> bool {
    st.ilr_sessions
        .get(&session_key(item_key, point))
        .is_some_and(|s| s.expires_ms > now)
}

fn invalid(message: impl Into<String>) -> ArmError {
    ArmError::bad_request("BMSUserErrorInvalidInput", message)
}

/// What a provision or revoke starts: the operation's kind, duration, error and target.
pub struct Started {
    pub kind: &'static str,
    pub duration_ms: i64,
    pub error: Option<Value>,
    pub session_key: String,
}

/// `POST …/provisionInstantItemRecovery` (`provision`) or `…/revokeInstantItemRecovery`.
pub fn route(
    ctx: &Ctx<'_>,
    st: &mut State,
    item_key: &str,
    point_name: &str,
    provision: bool,
) -> Result<Started, ArmError> {
    if ctx.method != "POST" {
        return Err(ArmError::method_not_allowed(&ctx.method));
    }
    let it: Item = st.items.get(item_key).cloned().ok_or_else(|| {
        ArmError::not_found(
            "BMSUserErrorItemNotFound",
            "The item is not protected in this vault.",
        )
    })?;
    let scale = super::recovery_points::Sim::of(ctx);
    super::recovery_points::find_point(st, &it, item_key, point_name, ctx.now, scale)
        .ok_or_else(|| super::recovery_points::point_not_found(point_name))?;
    let key = session_key(item_key, point_name);
    // Sessions that have closed are forgotten.
    st.ilr_sessions.retain(|_, s| s.expires_ms > ctx.now);
    if !provision {
        st.ilr_sessions.remove(&key);
        return Ok(Started {
            kind: "ilr-revoke",
            duration_ms: ctx.scaled(5.0),
            error: None,
            session_key: key,
        });
    }
    let body = ctx.json()?;
    let p = &body["properties"];
    let ot = p["objectType"].as_str().unwrap_or_default();
    if !ot.eq_ignore_ascii_case("IaasVMILRRegistrationRequest") {
        return Err(invalid(format!(
            "properties.objectType must be IaasVMILRRegistrationRequest, got '{ot}'."
        )));
    }
    if let Some(rp) = p["recoveryPointId"].as_str() {
        if rp != point_name {
            return Err(invalid(format!(
                "recoveryPointId '{rp}' is not the recovery point of the request, '{point_name}'."
            )));
        }
    }
    let vm_id = p["virtualMachineId"].as_str().unwrap_or_default();
    if !vm_id.eq_ignore_ascii_case(&it.vm_id) {
        return Err(invalid(format!(
            "virtualMachineId '{vm_id}' is not the protected item's virtual machine."
        )));
    }
    let error = super::super::backup::bms_fault(ctx, "Provisioning file recovery");
    let duration_ms = ctx.scaled(PROVISION_SECS);
    if error.is_none() {
        let expires_ms = ctx.now + duration_ms + ctx.scaled(SESSION_SECS);
        match st.ilr_sessions.get_mut(&key) {
            // A session still open is renewed: the same script, a new end.
            Some(s) if s.expires_ms > ctx.now => s.expires_ms = expires_ms,
            _ => {
                let vm = super::recovery_points::item_vm(st, &it);
                let id = uuid::Uuid::new_v4().simple().to_string();
                let session = Session {
                    vm: it.vm_name.clone(),
                    os: vm.map_or_else(|| "Linux".to_string(), |v| v.os.clone()),
                    region: it.vm_location.clone(),
                    point: point_name.to_string(),
                    password: id[..15].to_string(),
                    id,
                    expires_ms,
                };
                st.ilr_sessions.insert(key.clone(), session);
            }
        }
    }
    Ok(Started {
        kind: "ilr-provision",
        duration_ms,
        error,
        session_key: key,
    })
}

/// The status `properties` of a finished provisioning operation (`None` for other operations).
pub fn status_properties(st: &State, op: &super::super::state::Operation) -> Option<Value> {
    if op.kind != "ilr-provision" {
        return None;
    }
    let s = st.ilr_sessions.get(op.target_key.as_deref()?)?;
    Some(json!({
        "objectType": "OperationStatusProvisionILRExtendedInfo",
        "recoveryTarget": {"clientScripts": client_scripts(s)},
    }))
}

/// `{vm}_{region}_{n}_{point}_{32 hex}{password}{14 hex}`: the password sits 32 characters into
/// the last segment, where the az CLI cuts it out.
fn name_suffix(s: &Session) -> String {
    let hex = uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, s.id.as_bytes())
        .simple()
        .to_string()
        + &s.id;
    format!(
        "{}_{}_{}_{}_{}{}{}",
        s.vm,
        s.region,
        &s.id[15..27],
        s.point,
        &hex[..32],
        s.password,
        &hex[32..46]
    )
}

fn client_scripts(s: &Session) -> Value {
    let b64 = |t: String| base64::engine::general_purpose::STANDARD.encode(t);
    let until = lro::fmt_time(s.expires_ms);
    let suffix = name_suffix(s);
    if s.os.eq_ignore_ascii_case("windows") {
        let ps1 = format!(
            "# Azure Backup file recovery (azprotect sandbox)\r\n# VM {} recovery point {} session {}\r\n# Valid until {until}\r\n$TargetPassword = \"{}\"\r\nWrite-Host \"azprotect sandbox: there is no iSCSI target behind session {}.\"\r\n",
            s.vm, s.point, s.id, s.password, s.id
        );
        return json!([
            {"scriptContent": b64(ps1), "scriptExtension": ".ps1", "osType": "Windows", "url": null, "scriptNameSuffix": suffix},
            {"scriptContent": null, "scriptExtension": ".exe", "osType": "Windows",
             "url": format!("https://download.sandbox.invalid/ilr/{}.exe", s.id), "scriptNameSuffix": suffix},
        ]);
    }
    let py = format!(
        "#!/usr/bin/env python3\n# Azure Backup file recovery (azprotect sandbox)\n# VM {} recovery point {} session {}\n# Valid until {until}\nTargetPassword = \"{}\"\nprint(\"azprotect sandbox: there is no iSCSI target behind session {}.\")\n",
        s.vm, s.point, s.id, s.password, s.id
    );
    json!([{"scriptContent": b64(py), "scriptExtension": ".py", "osType": "Linux", "url": null, "scriptNameSuffix": suffix}])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_sits_where_the_cli_cuts_it_out() {
        let s = Session {
            vm: "app-01".into(),
            os: "Linux".into(),
            region: "westeurope".into(),
            point: "12345678901234".into(),
            password: "0123456789abcde".into(),
            id: "0123456789abcdef0123456789abcdef".into(),
            expires_ms: 0,
        };
        let suffix = name_suffix(&s);
        let at = suffix.rfind('_').unwrap() + 33;
        assert_eq!(&suffix[at..at + 15], "0123456789abcde");
        assert_eq!(suffix.len() - suffix.rfind('_').unwrap() - 1, 32 + 15 + 14);
        let scripts = client_scripts(&s);
        assert_eq!(scripts[0]["scriptExtension"], ".py");
        let text = base64::engine::general_purpose::STANDARD
            .decode(scripts[0]["scriptContent"].as_str().unwrap())
            .unwrap();
        assert!(String::from_utf8(text)
            .unwrap()
            .contains("0123456789abcdef0123456789abcdef"));
    }
}
