//! A protected VM as Azure Backup answers it: states, health, the policy, the last backup and
//! recovery point, and the display state a list filters on.

use super::recovery_points::Sim;
use super::*;

/// What the item looks like at `now`.
pub fn item_body(st: &State, vault: &Vault, it: &Item, now: i64, sim: Sim) -> Value {
    let vid = vault.id();
    let container = it.container_name();
    let name = it.item_name();
    let first_failed = sim.first_backup_fails(&it.vm_resource_group, &it.vm_name);
    let backed_up = now >= it.first_backup_ms && !first_failed;
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
        "isArchiveEnabled": false,
        // A URL, not an id (every recorded item, e.g. azure-cli backup test_backup_archive
        // #269). Recorded items carry no `extendedInfo` (none asked `$expand`), no
        // `isRehydrate`, and `isScheduledForDeferredDelete` only when it is true (133 of 135).
        "vaultId": format!("https://management.azure.com{vid}"),
        // As every recorded item carries them (test_backup_softdelete.yaml #48–#69,
        // test_backup_diskaccess_restore.yaml #1): the soft-delete period is 0 until deleted.
        "sourceSideScanning": 0,
        "softDeleteRetentionPeriod": 0,
    });
    if it.deleted_ms.is_some() {
        p["isScheduledForDeferredDelete"] = json!(true);
    }
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
        // The newest point: the first backup, an on-demand one, or the last scheduled run.
        let newest = super::recovery_points::points(st, it, now, sim)
            .first()
            .map_or(it.first_backup_ms, |p| p.ms);
        let latest = match it.last_backup_ms {
            Some(l) if l <= now && l > newest => l,
            _ => newest,
        };
        let t = lro::fmt_time(latest);
        p["lastBackupStatus"] = json!("Completed");
        p["lastBackupTime"] = json!(t);
        p["lastRecoveryPoint"] = json!(t);
        let failed_run = super::recovery_points::scheduled_runs(st, it, now, sim)
            .into_iter()
            .max()
            .filter(|_| sim.backup_fails(it));
        if let Some(run) = failed_run {
            // `backup_fail=`: the last scheduled run failed and made no point. The newest point
            // is stamped at its simulated age (the real time since it over the time scale), so
            // that a client comparing it with its own clock sees the RPO go by as simulated
            // time passes.
            let aged = sim.aged(latest, now);
            p["lastRecoveryPoint"] = json!(lro::fmt_time(aged));
            p["lastBackupStatus"] = json!("Failed");
            p["lastBackupTime"] = json!(lro::fmt_time(run));
            p["healthStatus"] = json!("ActionRequired");
            p["healthDetails"] = json!([failure_detail()]);
        }
    } else {
        // Recording: test_backup_protection.yaml #54 (FACTS §4): lastBackupStatus "" before the first backup.
        p["lastBackupStatus"] = json!("");
        p["lastBackupTime"] = json!("2001-01-01T00:00:00Z");
        if first_failed && now >= it.first_backup_ms {
            // `first_backup_fail=`: the first backup failed; still IRPending, no point.
            p["lastBackupStatus"] = json!("Failed");
            p["lastBackupTime"] = json!(lro::fmt_time(sim.aged(it.first_backup_ms, now)));
            p["healthStatus"] = json!("ActionRequired");
            p["healthDetails"] = json!([failure_detail()]);
        }
    }
    if let (Some(d), Some(purge)) = (it.deleted_ms, it.purge_ms) {
        // When it was deleted (test_backup_softdelete.yaml #55: 07:36:32 in an answer of
        // 07:36:49, 13.23:59:42 remaining; Az.RecoveryServices adds the period for the purge).
        p["deferredDeleteTimeInUTC"] = json!(lro::fmt_time(d));
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
    }
    if state == "Protected" && p["healthStatus"] == "Passed" {
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

/// The error of a backup the VM agent could not take (`backup_fail=`): code and message as
/// Microsoft Learn words them ("Troubleshoot backup failures on Azure virtual machines").
pub(super) fn failure() -> Value {
    json!({"code": "UserErrorGuestAgentStatusUnavailable",
        "message": "VM Agent unable to communicate with the Azure Backup Service. Ensure the VM has network connectivity and the VM agent is up to date and running."})
}

fn failure_detail() -> Value {
    let f = failure();
    json!({"code": 400044, "title": f["code"], "message": f["message"],
        "recommendations": ["Ensure the VM agent is installed, up to date and running, and that the VM can reach Azure Backup."]})
}

pub(super) fn display_state(body: &Value) -> String {
    body["properties"]["protectionState"]
        .as_str()
        .unwrap_or("")
        .to_string()
}
