//! The replicated item as Azure answers it: state by phase, allowed operations, progress, the
//! A2A details with the properties Azure sends as null, the NIC and health warnings of a
//! replicating VM (recordings A2A #68–#73, #121; FACTS §1–2).

use serde_json::{json, Value};

use super::super::inventory::stable_guid;
use super::super::state::{key, State, Vault, Vm};
use super::fabrics::{container_id, fabric_id};
use super::items::{item_id, phase, Phase};
use super::{eq, parse_arm_id, vault_sr_id, ReplicatedItem};

fn split(k: &str) -> (String, String) {
    let p: Vec<&str> = k.split('/').collect();
    (
        p.get(3).unwrap_or(&"").to_string(),
        p.get(4).unwrap_or(&"").to_string(),
    )
}

/// Azure warns about a protected VM never test-failed-over, without changing
/// `replicationHealth` (A2A #73, #121: `Normal` with this warning).
fn health_errors(i: &ReplicatedItem, ph: Phase, now: i64) -> Value {
    if ph != Phase::Protected || i.last_test_failover_ms.is_some() {
        return json!([]);
    }
    json!([{
        "innerHealthErrors": [],
        "errorSource": "ReplicationUnitFailoverValidatorError",
        "errorType": "8010",
        "errorLevel": "Warning",
        "errorCategory": "TestFailover",
        "errorCode": "161011",
        "summaryMessage": "",
        "errorMessage": format!("No successful test failover has been done on the virtual machine '{}'.", i.vm_name),
        "possibleCauses": "No successful test failover has been done on the virtual machine after it was replicated.",
        "recommendedAction": "Do a test failover on the virtual machine.",
        "creationTimeUtc": super::super::lro::fmt_time(i.protected_ms.min(now)),
        "recoveryProviderErrorMessage": null,
        "entityId": stable_guid(&format!("entity:{}", i.vm_id)),
        "errorId": "6:8010",
        "customerResolvability": "NotAllowed",
    }])
}

/// The NIC Azure reports for a replicating VM whose network settings were never changed (#73):
/// its source network is the one mapped from the item's fabric.
fn default_nic(st: &State, i: &ReplicatedItem, vm: Option<&Vm>) -> Value {
    let nic = vm.map(|v| {
        format!(
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Network/networkInterfaces/{}-nic",
            v.subscription, v.resource_group, v.name
        )
    });
    let mapped = st
        .site_recovery
        .network_mappings
        .values()
        .find(|m| m.vault_key == i.vault_key && eq(&m.fabric, &i.fabric));
    let recovery = i.settings["selectedRecoveryAzureNetworkId"]
        .as_str()
        .or(i.input["recoveryAzureNetworkId"].as_str())
        .map(str::to_string)
        .or_else(|| mapped.map(|m| m.recovery_network_id.clone()));
    let subnet = i.input["recoverySubnetName"]
        .as_str()
        .map(|s| s.rsplit('/').next().unwrap_or(s).to_string())
        .unwrap_or_else(|| "default".into());
    json!({
        "nicId": stable_guid(&format!("nic:{}", nic.clone().unwrap_or_default())),
        "replicaNicId": null,
        "sourceNicArmId": nic,
        "vMNetworkName": mapped.map(|m| m.primary_network_id.clone()),
        "recoveryVMNetworkId": recovery,
        "ipConfigs": [{
            "name": format!("ipconfig{}", i.vm_name),
            "isPrimary": true,
            "subnetName": "default",
            "staticIPAddress": "10.0.0.4",
            "ipAddressType": "Dynamic",
            "isSeletedForFailover": true,
            "recoverySubnetName": subnet,
            "recoveryStaticIPAddress": "",
            "recoveryIPAddressType": "Dynamic",
            "recoveryPublicIPAddressId": null,
            "recoveryLBBackendAddressPoolIds": null,
            "tfoSubnetName": null,
            "tfoStaticIPAddress": null,
            "tfoPublicIPAddressId": null,
            "tfoLBBackendAddressPoolIds": null,
        }],
        "selectionType": "SelectedByUserOverride",
        "recoveryNetworkSecurityGroupId": null,
        "enableAcceleratedNetworkingOnRecovery": false,
        "tfoVMNetworkId": null,
        "tfoNetworkSecurityGroupId": null,
        "enableAcceleratedNetworkingOnTfo": null,
        "recoveryNicName": null,
        "recoveryNicResourceGroupName": null,
        "reuseExistingNic": false,
        "tfoRecoveryNicName": null,
        "tfoRecoveryNicResourceGroupName": null,
        "tfoReuseExistingNic": false,
        "targetNicName": null,
    })
}

pub(super) fn item_body(st: &State, vault: &Vault, i: &ReplicatedItem, now: i64) -> Value {
    let ph = phase(i, now);
    let (rf, rc) = st
        .site_recovery
        .containers
        .get(&i.recovery_container_key)
        .map(|c| (c.fabric.clone(), c.name.clone()))
        .unwrap_or_else(|| split(&i.recovery_container_key));
    let loc = |f: &str| {
        st.site_recovery
            .fabrics
            .get(&key(&[&i.vault_key, f]))
            .map(|x| x.location.clone())
            .unwrap_or_default()
    };
    let (ploc, rloc) = (loc(&i.fabric), loc(&rf));
    let initial = match &i.initial_fabrics {
        Some((pf, rf0)) => (loc(pf), loc(rf0)),
        None => (ploc.clone(), rloc.clone()),
    };
    let vm = st.vms.get(&i.vm_key);
    let tfo_waiting = i
        .test_failover
        .as_ref()
        .is_some_and(|(_, _, end)| now >= *end);
    let tfo_running = i
        .test_failover
        .as_ref()
        .is_some_and(|(_, _, end)| now < *end);
    let (state, desc) = match ph {
        Phase::Enabling => ("EnablingProtection", "Enabling protection"),
        Phase::InitialReplication => ("UnprotectedStatesBegin", "Enabling protection"),
        Phase::Protected if i.active_location == "Recovery" => ("Protected", "Protected"),
        Phase::Protected => ("Protected", "Protected"),
        Phase::FailedOver => ("FailedOver", "Failed over"),
        Phase::Committed => ("FailoverCommitted", "Failover committed"),
        Phase::Reprotecting => ("UnprotectedStatesBegin", "Enabling protection"),
        Phase::Disabling => ("DisablingProtection", "Disabling protection"),
    };
    // The item's own state while (re)replicating differs from the VM's (recording: A2A #68–73,
    // FACTS §2): `InitialReplicationInProgress` / `UnprotectedStatesBegin`.
    let (item_state, item_desc) = match ph {
        Phase::InitialReplication | Phase::Reprotecting => (
            "InitialReplicationInProgress",
            "Initial replication is in progress",
        ),
        _ => (state, desc),
    };
    let allowed: Value = if tfo_running {
        json!([])
    } else if tfo_waiting {
        json!(["TestFailoverCleanup"])
    } else {
        match ph {
            Phase::Enabling | Phase::InitialReplication | Phase::Reprotecting => {
                json!(["DisableProtection"])
            }
            // As recorded once Protected (A2A #73 L3689, #121; FACTS §1): no PlannedFailover.
            Phase::Protected => json!(["UnplannedFailover", "DisableProtection", "TestFailover"]),
            Phase::FailedOver => json!(["Commit", "ChangePit"]),
            Phase::Committed => json!(["ReverseReplicate", "DisableProtection"]),
            Phase::Disabling => json!([]),
        }
    };
    let total = (i.protected_ms - i.enabled_ms).max(1);
    let pct: i64 = match ph {
        Phase::Enabling | Phase::Disabling => 0,
        Phase::InitialReplication | Phase::Reprotecting => {
            ((now - i.enabled_ms).max(0) * 100 / total).min(99)
        }
        _ => 100,
    };
    let (tfo_state, tfo_desc) = if tfo_running {
        ("TestFailoverInProgress", "Test failover in progress")
    } else if tfo_waiting {
        ("TestFailoverCompleted", "Test failover completed")
    } else {
        ("None", "None")
    };
    let vid = vault_sr_id(vault);
    let synced = matches!(ph, Phase::Protected | Phase::FailedOver | Phase::Committed);
    let s = &i.settings;
    let input = &i.input;
    let disks: Vec<Value> = input["vmManagedDisks"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|d| {
            let did = d["diskId"].as_str().unwrap_or("");
            let disk = parse_arm_id(did, "microsoft.compute", "disks").and_then(|(s0, r, n)| st.disks.get(&key(&[&s0, &r, &n])));
            let dname = did.rsplit('/').next().unwrap_or("");
            let rrg = d["recoveryResourceGroupId"].as_str().unwrap_or("");
            let sku = disk.map(|x| x.sku.clone()).unwrap_or_else(|| "Premium_LRS".into());
            json!({
                "diskId": did,
                "recoveryResourceGroupId": rrg,
                "recoveryTargetDiskId": if ph == Phase::Enabling { Value::Null } else if let Some(t) = d["recoveryTargetDiskId"].as_str() { json!(t) } else { json!(format!("{rrg}/providers/Microsoft.Compute/disks/{dname}-asrreplica")) },
                "recoveryReplicaDiskId": if ph == Phase::Enabling { Value::Null } else { json!(format!("{rrg}/providers/Microsoft.Compute/disks/{dname}-ASRReplica")) },
                "recoveryReplicaDiskAccountType": d["recoveryReplicaDiskAccountType"].as_str().unwrap_or(&sku),
                "recoveryTargetDiskAccountType": d["recoveryTargetDiskAccountType"].as_str().unwrap_or(&sku),
                "diskName": dname,
                "diskCapacityInBytes": disk.map(|x| x.size_gb as i64 * 1_073_741_824).unwrap_or(0),
                "primaryStagingAzureStorageAccountId": d["primaryStagingAzureStorageAccountId"],
                "diskType": "Standard",
                "resyncRequired": false,
                "monitoringPercentageCompletion": pct,
                "monitoringJobType": if matches!(ph, Phase::InitialReplication | Phase::Reprotecting) { json!("InitialReplication") } else { Value::Null },
                "dataPendingInStagingStorageAccountInMB": 0.0,
                "dataPendingAtSourceAgentInMB": 0.0,
                "diskState": if ph == Phase::Protected { "Protected" } else { "InitialReplicationPending" },
                "allowedDiskLevelOperation": [],
                "isDiskEncrypted": false,
                "isDiskKeyEncrypted": false,
                "recoveryOrignalTargetDiskId": null,
                "recoveryDiskEncryptionSetId": null,
                "primaryDiskEncryptionSetId": null,
                "secretIdentifier": null,
                "dekKeyVaultArmId": null,
                "keyIdentifier": null,
                "kekKeyVaultArmId": null,
                "failoverDiskName": format!("{dname}-ASRReplica"),
                "tfoDiskName": format!("{dname}-ASRReplica-test"),
            })
        })
        .collect();
    let mut a2a = json!({
        "instanceType": "A2A",
        "fabricObjectId": i.vm_id,
        "initialPrimaryFabricLocation": initial.0,
        "initialRecoveryFabricLocation": initial.1,
        // Zones are "" and an item outside a group still gets a group id (A2A #68).
        "initialPrimaryZone": vm.and_then(|v| v.zone.clone()).unwrap_or_default(),
        "initialRecoveryZone": input["recoveryAvailabilityZone"].as_str().unwrap_or(""),
        "initialPrimaryExtendedLocation": null,
        "initialRecoveryExtendedLocation": null,
        "primaryExtendedLocation": null,
        "recoveryExtendedLocation": null,
        "agentExpiryDate": "9999-12-31T23:59:59.9999999",
        // Once replicating, the VM's tags are synced and the agent holds a certificate (#73).
        "vmSyncedConfigDetails": {"tags": if synced { json!(vm.map(|v| v.tags.clone()).unwrap_or_default()) } else { json!({}) }, "inputEndpoints": []},
        "agentCertificateExpiryDate": if synced { json!(super::super::lro::fmt_time(i.protected_ms + 3 * 365 * 86_400_000)) } else { Value::Null },
        "testFailoverRecoveryFabricObjectId": null,
        "multiVmGroupId": input["multiVmGroupId"].as_str().map(str::to_string).unwrap_or_else(|| match input["multiVmGroupName"].as_str() {
            Some(n) => stable_guid(&format!("mvg:{}:{n}", i.vault_key)),
            None => stable_guid(&format!("mvg:{}", i.vm_id)),
        }),
        "multiVmGroupName": input["multiVmGroupName"].as_str().unwrap_or(""),
        "multiVmGroupCreateOption": if input["multiVmGroupName"].is_string() { json!("UserSpecified") } else { json!("AutoCreated") },
        "managementId": stable_guid(&format!("mgmt:{}", i.vm_id)),
        "protectedDisks": [],
        "unprotectedDisks": [],
        "protectedManagedDisks": disks,
        "recoveryBootDiagStorageAccountId": input["recoveryBootDiagStorageAccountId"],
        // Relative to the item's own containers; `activeLocation` says which side runs the VMs.
        "primaryFabricLocation": ploc.clone(),
        "recoveryFabricLocation": rloc.clone(),
        "osType": vm.map(|v| v.os.clone()).unwrap_or_default(),
        "recoveryAzureVMSize": s["recoveryAzureVMSize"].as_str().map(str::to_string).or_else(|| vm.map(|v| v.size.clone())),
        "recoveryAzureVMName": s["recoveryAzureVMName"].as_str().unwrap_or(&i.vm_name),
        "recoveryAzureResourceGroupId": s["recoveryResourceGroupId"].as_str().or(input["recoveryResourceGroupId"].as_str()),
        "recoveryCloudService": null,
        "recoveryAvailabilitySet": s["recoveryAvailabilitySetId"].as_str().or(input["recoveryAvailabilitySetId"].as_str()),
        "selectedRecoveryAzureNetworkId": s["selectedRecoveryAzureNetworkId"].as_str().or(input["recoveryAzureNetworkId"].as_str()),
        "selectedTfoAzureNetworkId": s["selectedTfoAzureNetworkId"],
        "vmNics": match s["vmNics"].as_array() {
            Some(n) => json!(n),
            None if synced => json!([default_nic(st, i, vm)]),
            None => json!([]),
        },
    });
    let more = json!({
        "monitoringPercentageCompletion": pct,
        "monitoringJobType": if matches!(ph, Phase::InitialReplication | Phase::Reprotecting) { json!("InitialReplication") } else { Value::Null },
        "lastHeartbeat": super::super::lro::fmt_time(now - (now % 60_000)),
        "agentVersion": "9.62.7172.1",
        "isReplicationAgentUpdateRequired": false,
        "isReplicationAgentCertificateUpdateRequired": false,
        "recoveryFabricObjectId": if matches!(ph, Phase::FailedOver | Phase::Committed) { json!(format!("{}/providers/Microsoft.Compute/virtualMachines/{}", input["recoveryResourceGroupId"].as_str().unwrap_or(""), s["recoveryAzureVMName"].as_str().unwrap_or(&i.vm_name))) } else { Value::Null },
        "vmProtectionState": state,
        "vmProtectionStateDescription": desc,
        "lifecycleId": stable_guid(&format!("lifecycle:{}:{}", i.vm_id, i.enable_ms)),
        "rpoInSeconds": if ph == Phase::Protected { json!(30) } else { Value::Null },
        "lastRpoCalculatedTime": if ph == Phase::Protected { json!(super::super::lro::fmt_time(now - (now % 60_000))) } else { Value::Null },
        "primaryAvailabilityZone": vm.and_then(|v| v.zone.clone()),
        "recoveryAvailabilityZone": s["recoveryAvailabilityZone"].as_str().or(input["recoveryAvailabilityZone"].as_str()),
        "vmEncryptionType": "NotEncrypted",
        "tfoAzureVMName": s["tfoAzureVMName"].as_str().map(str::to_string).unwrap_or_else(|| format!("{}-test", s["recoveryAzureVMName"].as_str().unwrap_or(&i.vm_name))),
        "recoveryAzureGeneration": "V1",
        "recoveryProximityPlacementGroupId": input["recoveryProximityPlacementGroupId"],
        "autoProtectionOfDataDisk": input["autoProtectionOfDataDisk"].as_str().unwrap_or("Disabled"),
        "recoveryVirtualMachineScaleSetId": input["recoveryVirtualMachineScaleSetId"],
        "recoveryCapacityReservationGroupId": input["recoveryCapacityReservationGroupId"],
        "churnOptionSelected": "Normal",
        "isAgentUpgradeable": false,
        "platformFaultDomain": input["platformFaultDomain"],
    });
    if let (Some(o), Value::Object(m)) = (a2a.as_object_mut(), more) {
        o.extend(m);
    }
    // Azure sends unset properties as null, not absent (A2A #68).
    let (cur_name, cur_job, cur_start) = match &i.scenario {
        Some((n, j, t)) => (
            n.clone(),
            format!("{vid}/replicationJobs/{j}"),
            super::super::lro::fmt_time(*t),
        ),
        None => (
            "None".into(),
            format!("{vid}/replicationJobs/None"),
            "1753-01-01T01:01:01Z".into(),
        ),
    };
    let mut p = json!({
        "friendlyName": i.vm_name,
        "protectedItemType": "A2A",
        "protectableItemId": "",
        "recoveryServicesProviderId": "",
        "primaryFabricFriendlyName": i.fabric,
        "primaryFabricProvider": "Azure",
        "recoveryFabricFriendlyName": rf,
        "recoveryFabricId": fabric_id(vault, &rf),
        "primaryProtectionContainerFriendlyName": i.container,
        "recoveryProtectionContainerFriendlyName": rc,
        "protectionState": item_state,
        "protectionStateDescription": item_desc,
        "activeLocation": i.active_location,
        "testFailoverState": tfo_state,
        "testFailoverStateDescription": tfo_desc,
        "switchProviderState": "None",
        "switchProviderStateDescription": "None",
        "allowedOperations": allowed,
        "replicationHealth": "Normal",
        "failoverHealth": "Normal",
        "healthErrors": health_errors(i, ph, now),
        "policyId": format!("{vid}/replicationPolicies/{}", i.policy),
        "policyFriendlyName": i.policy,
        "currentScenario": {"scenarioName": cur_name, "jobId": cur_job, "startTime": cur_start},
        "failoverRecoveryPointId": "",
        "providerSpecificDetails": a2a,
        "recoveryContainerId": container_id(vault, &rf, &rc),
        "eventCorrelationId": stable_guid(&format!("event:{}", i.vm_id)),
    });
    if let Some(t) = i.last_failover_ms {
        p["lastSuccessfulFailoverTime"] = json!(super::super::lro::fmt_time(t));
    }
    if let Some(t) = i.last_test_failover_ms {
        p["lastSuccessfulTestFailoverTime"] = json!(super::super::lro::fmt_time(t));
    }
    json!({
        "id": item_id(vault, i),
        "name": i.name,
        "type": "Microsoft.RecoveryServices/vaults/replicationFabrics/replicationProtectionContainers/replicationProtectedItems",
        "properties": p,
    })
}
