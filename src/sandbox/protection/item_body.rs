//! A protected VM as Azure Backup answers it: states, health, the policy, the last backup and
//! recovery point, and the display state a list filters on.

use super::*;

/// What the item looks like at `now`.
pub fn item_body(st: &State, vault: &Vault, it: &Item, now: i64) -> Value {
    let vid = vault.id();
    let container = it.container_name();
    let name = it.item_name();
    let backed_up = now >= it.first_backup_ms;
    let (state, health, status, last) = if it.deleted_ms.is_some() {
        (
            "ProtectionStopped",
            "Passed",
            "Healthy",
            backed_up || it.has_recovery_points,
        )
    } else {
        match it.state.as_str() {
            "Protected" if !backed_up => ("IRPending", "Passed", "Healthy", false),
            "Protected" => ("Protected", "Passed", "Healthy", true),
            s => (
                if s == "BackupsSuspended" {
                    "BackupsSuspended"
                } else {
                    "ProtectionStopped"
                },
                "Passed",
                "Healthy",
                backed_up || it.has_recovery_points,
            ),
        }
    };
    let mut p = json!({
        "protectedItemType": "Microsoft.Compute/virtualMachines",
        "backupManagementType": "AzureIaasVM",
        "workloadType": "VM",
        "containerName": container.split_once(';').map_or(container.as_str(), |(_, rest)| rest),
        "friendlyName": it.vm_name,
        "virtualMachineId": it.vm_id,
        "sourceResourceId": it.vm_id,
        "protectionStatus": status,
        "protectionState": state,
        "healthStatus": health,
        "protectedItemDataId": it.data_id,
        "isScheduledForDeferredDelete": it.deleted_ms.is_some(),
        "isRehydrate": false,
        "isArchiveEnabled": false,
        "vaultId": vid,
        // As every recorded item carries them (test_backup_softdelete.yaml #48–#69,
        // test_backup_diskaccess_restore.yaml #1): the soft-delete period is 0 until deleted.
        "sourceSideScanning": 0,
        "softDeleteRetentionPeriod": 0,
        "extendedInfo": {
            "recoveryPointCount": if last { 1 } else { 0 },
            "policyInconsistent": false,
        },
    });
    if let (Some(pid), None) = (&it.policy_id, it.deleted_ms) {
        p["policyId"] = json!(pid);
        p["policyName"] = json!(it.policy_name);
        if let Some(pol) = it
            .policy_name
            .as_ref()
            .and_then(|n| st.policies.get(&key(&[&it.vault_key, n])))
        {
            p["policyType"] = pol.properties["policyType"].clone();
        }
    } else {
        // A stopped item names no policy, with both fields empty (test_backup_softdelete.yaml #55).
        p["policyId"] = json!("");
        p["policyName"] = json!("");
    }
    if last {
        let latest = match it.last_backup_ms {
            Some(l) if l <= now && l > it.first_backup_ms => l,
            _ => it.first_backup_ms,
        };
        let t = lro::fmt_time(latest);
        p["lastBackupStatus"] = json!("Completed");
        p["lastBackupTime"] = json!(t);
        p["lastRecoveryPoint"] = json!(t);
        p["extendedInfo"]["oldestRecoveryPoint"] = json!(lro::fmt_time(it.first_backup_ms));
        p["extendedInfo"]["newestRecoveryPointInArchive"] = Value::Null;
    } else {
        // Recording: test_backup_protection.yaml #54 (FACTS §4): lastBackupStatus "" before the first backup.
        p["lastBackupStatus"] = json!("");
        p["lastBackupTime"] = json!("2001-01-01T00:00:00Z");
    }
    if let (Some(d), Some(purge)) = (it.deleted_ms, it.purge_ms) {
        p["deferredDeleteTimeInUTC"] = json!(lro::fmt_time(purge));
        let remain_ms = (purge - now).max(0);
        let days = remain_ms / 86_400_000;
        let rest = remain_ms % 86_400_000;
        p["deferredDeleteTimeRemaining"] = json!(format!(
            "{days}.{:02}:{:02}:{:02}",
            rest / 3_600_000,
            (rest / 60_000) % 60,
            (rest / 1000) % 60
        ));
        // `softDeleteRetentionPeriod`, in days (test_backup_softdelete.yaml #55).
        p["softDeleteRetentionPeriod"] = json!((purge - d) / 86_400_000);
        p["isDeferredDeleteScheduleUpcoming"] = json!(remain_ms < 86_400_000);
    }
    if state == "Protected" {
        // Backed up and healthy: the pre-check verdict and the Linux application name Azure
        // reports (test_backup_diskaccess_restore.yaml #1).
        p["healthDetails"] = json!([{"code": 400239, "title": "IaasVmHealthGreenDefault",
            "message": "Backup pre-check status of this virtual machine is OK.", "recommendations": []}]);
        p["extendedProperties"] = json!({"linuxVmApplicationName": ""});
    }
    if let Some(Value::Object(x)) = &it.extended_properties {
        if !p["extendedProperties"].is_object() {
            p["extendedProperties"] = json!({});
        }
        for (k, v) in x {
            p["extendedProperties"][k] = v.clone();
        }
    }
    json!({
        "id": format!("{vid}/backupFabrics/Azure/protectionContainers/{container}/protectedItems/{name}"),
        "name": name,
        "type": "Microsoft.RecoveryServices/vaults/backupFabrics/protectionContainers/protectedItems",
        "properties": p,
    })
}

pub(super) fn display_state(body: &Value) -> String {
    body["properties"]["protectionState"]
        .as_str()
        .unwrap_or("")
        .to_string()
}
