//! Item-level (file) recovery from a VM's recovery point (Recovery Services,
//! bms.json 2026-01-01 `ItemLevelRecoveryConnections`): the provision and revoke requests, and
//! the scripts the provisioning operation's status returns. Not in the recordings (FACTS §8):
//! the shapes follow the spec and the az CLI's `backup restore files mount-rp` / `unmount-rp`
//! (azure-cli `command_modules/backup/custom.py` `restore_files_mount_rp`,
//! `_run_client_script_for_linux/windows`, `_remove_password_from_suffix`).

use super::{api, ArmId, ArmRequest, Method};
use base64::Engine;
use serde::Serialize;
use serde_json::{json, Value};
use time::OffsetDateTime;

/// How long a session stays open: the API returns no expiry; Microsoft's file-recovery article
/// says the connection to the recovery point closes after 12 hours
/// (learn.microsoft.com/azure/backup/backup-azure-restore-files-from-vm).
pub const SESSION_HOURS: i64 = 12;

/// `POST {point}/provisionInstantItemRecovery` for the VM `vm` (the item's `virtualMachineId`);
/// `renew`: a session of this point is open and is extended (`renewExistingRegistration`).
pub fn provision_request(point: &ArmId, vm: &ArmId, renew: bool) -> ArmRequest {
    ArmRequest::new(
        Method::Post,
        format!(
            "{point}/provisionInstantItemRecovery?api-version={}",
            api::BACKUP
        ),
        Some(json!({"properties": {
            "objectType": "IaasVMILRRegistrationRequest",
            "recoveryPointId": point.name(),
            "virtualMachineId": vm,
            "renewExistingRegistration": renew,
        }})),
    )
}

/// `POST {point}/revokeInstantItemRecovery` (no body).
pub fn revoke_request(point: &ArmId) -> ArmRequest {
    ArmRequest::new(
        Method::Post,
        format!(
            "{point}/revokeInstantItemRecovery?api-version={}",
            api::BACKUP
        ),
        None,
    )
}

/// Whether a point (its ARM body) has a file-recovery session open (`isInstantIlrSessionActive`).
pub fn session_active(point: &Value) -> bool {
    point["properties"]["isInstantIlrSessionActive"]
        .as_bool()
        .unwrap_or(false)
}

/// One `ClientScriptForConnect`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientScript {
    pub os_type: String,
    /// `.py`, `.ps1`, `.exe`, …
    pub extension: String,
    /// The script's text (`scriptContent`, base64-decoded), when Azure sends it inline.
    pub content: Option<String>,
    /// Where to download it instead.
    pub url: Option<String>,
    pub name_suffix: String,
}

impl ClientScript {
    /// The file name Azure means (the suffix without its password, and the extension) and the
    /// password the script asks for: the password is the 15 characters 33 after the suffix's
    /// last `_` (azure-cli custom.py: `password_offset = 33`, `password_length = 15`).
    pub fn file_name_and_password(&self) -> (String, String) {
        let s = &self.name_suffix;
        let start = s.rfind('_').map_or(s.len(), |i| i + 33).min(s.len());
        let end = (start + 15).min(s.len());
        let name = format!("{}{}{}", &s[..start], &s[end..], self.extension);
        (name, s[start..end].to_string())
    }
}

/// The scripts of a finished provisioning operation: its status's `properties`
/// (`OperationStatusProvisionILRExtendedInfo.recoveryTarget.clientScripts`).
pub fn scripts_from_status(properties: &Value) -> Vec<ClientScript> {
    properties["recoveryTarget"]["clientScripts"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            let s = |k: &str| c[k].as_str().unwrap_or_default().to_string();
            ClientScript {
                os_type: s("osType"),
                extension: s("scriptExtension"),
                content: c["scriptContent"].as_str().and_then(|b| {
                    base64::engine::general_purpose::STANDARD
                        .decode(b)
                        .ok()
                        .and_then(|t| String::from_utf8(t).ok())
                }),
                url: c["url"].as_str().map(str::to_string),
                name_suffix: s("scriptNameSuffix"),
            }
        })
        .collect()
}

/// A file-recovery session opened (or renewed). Its password is left out of the JSON (which
/// goes to CI logs and dashboards) and of `Debug`: the text for a person shows it, and the
/// script holds it anyway.
#[derive(Clone, Serialize)]
pub struct Mounted {
    pub address: String,
    pub point: String,
    #[serde(with = "time::serde::rfc3339")]
    pub point_time: OffsetDateTime,
    /// Whether an open session was renewed rather than a new one opened.
    pub renewed: bool,
    /// Where the script was written.
    pub script: String,
    /// The name Azure gives the script, and the password it asks for.
    pub file_name: String,
    #[serde(skip)]
    pub password: String,
    pub os_type: String,
    /// When the session closes (opened + 12 hours).
    #[serde(with = "time::serde::rfc3339")]
    pub expires: OffsetDateTime,
    /// How to run the script.
    pub run: String,
    pub seconds: f64,
}

impl std::fmt::Debug for Mounted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mounted")
            .field("address", &self.address)
            .field("point", &self.point)
            .field("renewed", &self.renewed)
            .field("script", &self.script)
            .field("file_name", &self.file_name)
            .field("password", &"<redacted>")
            .field("os_type", &self.os_type)
            .field("expires", &self.expires)
            .finish_non_exhaustive()
    }
}

/// File-recovery sessions ended — or none was open.
#[derive(Debug, Clone, Serialize)]
pub struct Revoked {
    pub address: String,
    /// The point `--point` named (`None`: every point's session was looked at).
    pub point: Option<String>,
    /// The points whose session was ended.
    pub ended: Vec<String>,
    /// False when no session was open (nothing was sent).
    pub revoked: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    const POINT: &str = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/v/backupFabrics/Azure/protectionContainers/IaasVMContainer;iaasvmcontainerv2;rg-app;app-01/protectedItems/VM;iaasvmcontainerv2;rg-app;app-01/recoveryPoints/22493304464643";

    #[test]
    fn provision_sends_the_registration_request_the_cli_sends() {
        let vm =
            ArmId::new("/subscriptions/s/resourceGroups/rg-app/providers/Microsoft.Compute/virtualMachines/app-01");
        let r = provision_request(&ArmId::new(POINT), &vm, false);
        assert_eq!(r.method, Method::Post);
        assert!(r.path.starts_with(&format!(
            "{POINT}/provisionInstantItemRecovery?api-version="
        )));
        let p = &r.body.unwrap()["properties"];
        assert_eq!(p["objectType"], "IaasVMILRRegistrationRequest");
        assert_eq!(p["recoveryPointId"], "22493304464643");
        assert_eq!(p["virtualMachineId"], vm.as_str());
        assert_eq!(p["renewExistingRegistration"], false);
        let r = revoke_request(&ArmId::new(POINT));
        assert!(r.path.contains("/revokeInstantItemRecovery?") && r.body.is_none());
    }

    #[test]
    fn the_password_is_cut_out_of_the_name_as_the_cli_does() {
        // Get-AzRecoveryServicesBackupRPMountScript's documented example: file name
        // V2VM_wus2_8287309959960546283_451516692429_cbd6061f7fc543c489f1974d33659fed07a6e0c2e08740.exe,
        // password e3632984e51f496.
        let suffix = "V2VM_wus2_8287309959960546283_451516692429_cbd6061f7fc543c489f1974d33659fede3632984e51f49607a6e0c2e08740";
        let status = json!({"objectType": "OperationStatusProvisionILRExtendedInfo",
            "recoveryTarget": {"clientScripts": [
                {"scriptContent": base64::engine::general_purpose::STANDARD.encode("print('hi')\n"),
                 "scriptExtension": ".py", "osType": "Linux", "url": null, "scriptNameSuffix": suffix}]}});
        let scripts = scripts_from_status(&status);
        assert_eq!(scripts.len(), 1);
        assert_eq!(scripts[0].content.as_deref(), Some("print('hi')\n"));
        let (name, password) = scripts[0].file_name_and_password();
        assert_eq!(
            name,
            "V2VM_wus2_8287309959960546283_451516692429_cbd6061f7fc543c489f1974d33659fed07a6e0c2e08740.py"
        );
        assert_eq!(password, "e3632984e51f496");
        assert!(scripts_from_status(&json!({})).is_empty());
    }

    #[test]
    fn the_password_stays_out_of_json_and_debug() {
        let m = Mounted {
            address: "protected_vm.v/rg/app-01".into(),
            point: "1".into(),
            point_time: OffsetDateTime::UNIX_EPOCH,
            renewed: false,
            script: "mount.py".into(),
            file_name: "x.py".into(),
            password: "e3632984e51f496".into(),
            os_type: "Linux".into(),
            expires: OffsetDateTime::UNIX_EPOCH,
            run: "sudo python3 mount.py".into(),
            seconds: 1.0,
        };
        let json = serde_json::to_string(&m).unwrap();
        assert!(
            json.contains("x.py") && !json.contains("password"),
            "{json}"
        );
        assert!(!json.contains("e3632984e51f496"), "{json}");
        let debug = format!("{m:?}");
        assert!(
            debug.contains("x.py") && !debug.contains("e3632984e51f496"),
            "{debug}"
        );
    }
}
