//! Replicated items (A2A): enable replication (EnableDr job, then initial replication with
//! `monitoringPercentageCompletion` rising to 100 and `vmProtectionState` reaching `Protected`),
//! update, disable (`POST …/remove`), purge (`DELETE`), and item-level unplanned failover,
//! commit and re-protect.
//!
//! State machine (from the clock): `EnablingProtection` until the EnableDr job ends →
//! `UnprotectedStatesBegin` ("Enabling protection") until initial replication ends → `Protected`;
//! the item itself says `InitialReplicationInProgress` meanwhile (recording A2A #68–73, FACTS §2).
//! `allowedOperations` as recorded while replicating and once protected (A2A #68–73). Not in the
//! recordings or specs (README "Known to differ"): the failover states (`FailedOver` after a
//! failover, `FailoverCommitted` after commit, `UnprotectedStatesBegin` during re-protect),
//! `DisablingProtection`, the test failover states (`TestFailoverInProgress`,
//! `TestFailoverCompleted`) and the allowed operations in those states.

mod enable;
mod failover;

use enable::{enable, require_rg_id, vm_error};
use failover::not_allowed;
pub(in crate::sandbox) use failover::{failover_op, Op};

use serde_json::{json, Value};

use super::super::errors::ArmError;
use super::super::handler::{Ctx, HResult, Reply};
use super::super::inventory::vm_id;
use super::super::state::{key, State, Vault};
use super::fabrics::{container_id, get_container, require_vnet};
pub(super) use super::item_body::item_body;
use super::{
    accepted, bad, durations, eq, fault, not_found, parse_arm_id, parse_vault_child,
    require_method, start_job, JobSpec, ReplicatedItem,
};

/// Where an item stands at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    Enabling,
    InitialReplication,
    Protected,
    FailedOver,
    Committed,
    Reprotecting,
    /// `POST …/remove` accepted: the item disappears when the DisableDr job ends.
    Disabling,
}

pub(super) fn phase(i: &ReplicatedItem, now: i64) -> Phase {
    if i.disabling_until.is_some() {
        return Phase::Disabling;
    }
    match i.failover.as_str() {
        "FailedOver" => return Phase::FailedOver,
        "Committed" => return Phase::Committed,
        "Reprotecting" if now < i.protected_ms => return Phase::Reprotecting,
        _ => {}
    }
    if now < i.enabled_ms {
        Phase::Enabling
    } else if now < i.protected_ms {
        Phase::InitialReplication
    } else {
        Phase::Protected
    }
}

pub(super) fn item_id(vault: &Vault, i: &ReplicatedItem) -> String {
    format!(
        "{}/replicationProtectedItems/{}",
        container_id(vault, &i.fabric, &i.container),
        i.name
    )
}

/// `replication_degraded=VM` (`faults.rs`): a protected item whose replication falls behind —
/// `replicationHealth` Critical with a health error, and an RPO that grows with simulated time
/// since it became protected. Shape of the error: as the recorded health error (A2A #73); what
/// is not known of it: `faults.rs`.
fn degraded(ctx: &Ctx<'_>, i: &super::ReplicatedItem, mut body: Value) -> Value {
    let on = ctx
        .app
        .faults
        .as_ref()
        .is_some_and(|f| f.replication_degraded(&i.vm_name));
    let p = &mut body["properties"];
    if !on || p["providerSpecificDetails"]["rpoInSeconds"].is_null() {
        return body;
    }
    let scale = ctx.app.time_scale.max(f64::MIN_POSITIVE);
    let behind = ((ctx.now - i.protected_ms).max(0) as f64 / 1000.0 / scale) as u64;
    let rpo = behind.max(3_600);
    p["replicationHealth"] = json!("Critical");
    p["providerSpecificDetails"]["rpoInSeconds"] = json!(rpo);
    let error = json!({
        "innerHealthErrors": [],
        "errorSource": "ReplicationUnitRpoValidatorError",
        "errorType": "8012",
        "errorLevel": "Error",
        "errorCategory": "Replication",
        "errorCode": "153020",
        "summaryMessage": "",
        "errorMessage": format!("The recovery point objective (RPO) of the virtual machine '{}' is {} minutes, above the threshold.", i.vm_name, rpo / 60),
        "possibleCauses": "The data change rate of the virtual machine's disks is higher than Site Recovery can replicate, or the network to the target region is slow.",
        "recommendedAction": "Check the data change rate of the virtual machine's disks and its outbound network connectivity.",
        "creationTimeUtc": super::super::lro::fmt_time(i.protected_ms.min(ctx.now)),
        "recoveryProviderErrorMessage": null,
        "customerResolvability": "Allowed",
    });
    match p["healthErrors"].as_array_mut() {
        Some(errors) => errors.push(error),
        None => p["healthErrors"] = json!([error]),
    }
    body
}

pub(super) fn list(
    ctx: &Ctx<'_>,
    st: &mut State,
    vault: &Vault,
    parent: Option<(&str, &str)>,
) -> HResult {
    let vk = super::fabrics::container_list(ctx, st, vault, parent)?;
    let items = st
        .site_recovery
        .items
        .values()
        .filter(|i| i.vault_key == vk && super::fabrics::under(parent, &i.fabric, &i.container))
        .map(|i| degraded(ctx, i, item_body(st, vault, i, ctx.now)))
        .collect();
    Ok(Reply::ok(ctx.page(items, false)))
}

pub(super) fn item(
    ctx: &Ctx<'_>,
    st: &mut State,
    vault: &Vault,
    f: &str,
    c: &str,
    name: &str,
) -> HResult {
    let cont = get_container(st, vault, f, c)?.clone();
    let ck = cont.key();
    let ik = key(&[&ck, name]);
    match ctx.method.as_str() {
        "GET" => st
            .site_recovery
            .items
            .get(&ik)
            .map(|i| Reply::ok(degraded(ctx, i, item_body(st, vault, i, ctx.now))))
            .ok_or_else(|| not_found("replicated item", name)),
        "PUT" => enable(ctx, st, vault, &cont.fabric, &cont.name, &ck, &ik, name),
        "PATCH" => update(ctx, st, vault, &ik, name),
        "DELETE" => disable(ctx, st, vault, &ik, name, true),
        m => Err(ArmError::method_not_allowed(m)),
    }
}

fn item_path(i: &ReplicatedItem) -> String {
    format!(
        "replicationFabrics/{}/replicationProtectionContainers/{}/replicationProtectedItems/{}",
        i.fabric, i.container, i.name
    )
}

/// 409 while a job of the item is still running (RPC: concurrent conflicting operations).
/// Not in the recordings or specs: see README "Known to differ".
pub(super) fn busy_item(st: &State, it: &ReplicatedItem, now: i64) -> Result<(), ArmError> {
    busy(st, it, now)
}

fn busy(st: &State, it: &ReplicatedItem, now: i64) -> Result<(), ArmError> {
    let Some((scenario, job, _)) = &it.scenario else {
        return Ok(());
    };
    match st.site_recovery.jobs.get(&key(&[&it.vault_key, job])) {
        Some(j) if now < j.start_ms + j.duration_ms => Err(ArmError::conflict(
            "OperationInProgress",
            format!(
                "Another operation ({scenario}, job {job}) is in progress on the replicated item '{}'. Retry after it completes.",
                it.name
            ),
        )),
        _ => Ok(()),
    }
}

fn update(ctx: &Ctx<'_>, st: &mut State, vault: &Vault, ik: &str, name: &str) -> HResult {
    let vk = vault.key();
    let Some(it) = st.site_recovery.items.get(ik).cloned() else {
        return Err(not_found("replicated item", name));
    };
    busy(st, &it, ctx.now)?;
    let body = ctx.json()?;
    let p = &body["properties"];
    let ph = phase(&it, ctx.now);
    if matches!(
        ph,
        Phase::Enabling | Phase::InitialReplication | Phase::Reprotecting
    ) {
        // A replicated item's settings can be updated only once initial replication has
        // finished (Terraform waits for Protected before its update: "We are only allowed to
        // update the configuration once the VM is fully protected"); the code is not in the
        // recordings or specs (README "Known to differ").
        return Err(bad("OperationNotAllowedInCurrentState", format!("The settings of '{name}' can be updated only after initial replication has completed (current state: {}).", item_body(st, vault, &it, ctx.now)["properties"]["protectionState"].as_str().unwrap_or(""))));
    }
    let rloc = st
        .site_recovery
        .containers
        .get(&it.recovery_container_key)
        .and_then(|c| st.site_recovery.fabrics.get(&key(&[&vk, &c.fabric])))
        .map(|x| x.location.clone())
        .unwrap_or_default();
    for f in [
        "selectedRecoveryAzureNetworkId",
        "selectedTfoAzureNetworkId",
    ] {
        if let Some(net) = p[f].as_str().filter(|s| !s.is_empty()) {
            let nloc = require_vnet(st, net, f)?;
            if nloc != rloc {
                return Err(vm_error("RecoveryNetworkLocationMismatch", format!("{f}: the network '{net}' is in '{nloc}', not in the recovery region '{rloc}'.")));
            }
        }
    }
    let mut settings = it.settings.clone();
    for f in [
        "recoveryAzureVMName",
        "recoveryAzureVMSize",
        "selectedRecoveryAzureNetworkId",
        "selectedTfoAzureNetworkId",
        "vmNics",
        "licenseType",
        "recoveryAvailabilitySetId",
    ] {
        if !p[f].is_null() {
            settings[f] = p[f].clone();
        }
    }
    let psd = &p["providerSpecificDetails"];
    for f in [
        "recoveryResourceGroupId",
        "recoveryAvailabilityZone",
        "tfoAzureVMName",
        "recoveryProximityPlacementGroupId",
        "recoveryBootDiagStorageAccountId",
        "recoveryCapacityReservationGroupId",
        "recoveryVirtualMachineScaleSetId",
    ] {
        if !psd[f].is_null() {
            settings[f] = psd[f].clone();
        }
    }
    if let Some(rg) = settings["recoveryResourceGroupId"].as_str() {
        require_rg_id(st, rg, "recoveryResourceGroupId")?;
    }
    let mut input = it.input.clone();
    if let Some(upd) = psd["managedDiskUpdateDetails"].as_array() {
        if let Some(disks) = input["vmManagedDisks"].as_array_mut() {
            for u in upd {
                if let Some(dsk) = disks.iter_mut().find(|x| {
                    x["diskId"]
                        .as_str()
                        .zip(u["diskId"].as_str())
                        .is_some_and(|(a, b)| eq(a, b))
                }) {
                    for f in [
                        "recoveryTargetDiskAccountType",
                        "recoveryReplicaDiskAccountType",
                    ] {
                        if !u[f].is_null() {
                            dsk[f] = u[f].clone();
                        }
                    }
                }
            }
        }
    }
    let error = fault(ctx, "Updating the replicated item");
    let job = start_job(
        st,
        &vk,
        JobSpec {
            scenario: "UpdateVmProperties",
            friendly: "Update the virtual machine",
            target_id: vm_guid(st, &it),
            target_name: it.vm_name.clone(),
            target_type: "ProtectionEntity",
            tasks: &["Update the virtual machine properties"],
            duration_ms: ctx.scaled(durations::ITEM_UPDATE),
            start_ms: ctx.now,
        },
        error.clone(),
        &format!("item|{ik}"),
    );
    if error.is_none() {
        if let Some(x) = st.site_recovery.items.get_mut(ik) {
            x.settings = settings;
            x.input = input;
        }
    }
    accepted(ctx, vault, &item_path(&it), &job)
}

fn disable(
    ctx: &Ctx<'_>,
    st: &mut State,
    vault: &Vault,
    ik: &str,
    name: &str,
    purge: bool,
) -> HResult {
    let vk = vault.key();
    let Some(it) = st.site_recovery.items.get(ik).cloned() else {
        return Err(not_found("replicated item", name));
    };
    if !purge {
        if it.disabling_until.is_some() {
            // Not in the recordings or specs: see README "Known to differ".
            return Err(ArmError::conflict(
                "OperationInProgress",
                format!("Replication of '{name}' is already being disabled."),
            ));
        }
        if it.test_failover.is_some() {
            // Not in the recordings or specs: see README "Known to differ".
            return Err(bad("OperationNotAllowedInCurrentState", format!("Replication of '{name}' cannot be disabled while a test failover is pending cleanup. Clean up the test failover first.")));
        }
        if matches!(phase(&it, ctx.now), Phase::FailedOver) {
            return Err(bad(
                "OperationNotAllowedInCurrentState",
                format!(
                    "Replication of '{name}' cannot be disabled before the failover is committed."
                ),
            ));
        }
        let body = if ctx.body.iter().all(|b| b.is_ascii_whitespace()) {
            json!({})
        } else {
            ctx.json()?
        };
        if let Some(r) = body["properties"]["disableProtectionReason"].as_str() {
            if !["NotSpecified", "MigrationComplete"]
                .iter()
                .any(|x| eq(x, r))
            {
                return Err(bad("InvalidInput", format!("disableProtectionReason '{r}' is invalid. Allowed values are NotSpecified, MigrationComplete.")));
            }
        }
    }
    let error = fault(ctx, "Disabling replication");
    let job = start_job(
        st,
        &vk,
        JobSpec {
            scenario: if purge {
                "PurgeProtection"
            } else {
                "DisableDr"
            },
            friendly: if purge {
                "Purge replicated item"
            } else {
                "Disable replication"
            },
            target_id: vm_guid(st, &it),
            target_name: it.vm_name.clone(),
            target_type: "ProtectionEntity",
            tasks: &[
                "Disable replication",
                "Cleaning up the replica disks",
                "Updating the provider states",
            ],
            duration_ms: ctx.scaled(if purge {
                durations::REMOVE
            } else {
                durations::DISABLE
            }),
            start_ms: ctx.now,
        },
        error.clone(),
        "empty",
    );
    if error.is_none() {
        if purge {
            st.site_recovery.items.remove(ik);
        } else if let Some(x) = st.site_recovery.items.get_mut(ik) {
            x.disabling_until = Some(ctx.now + ctx.scaled(durations::DISABLE));
            x.scenario = Some(("DisableDr".into(), job.clone(), ctx.now));
        }
        // Recovery plans lose the item (not confirmed (README "Known to differ"): Azure may instead refuse the removal).
        let id = item_id(vault, &it).to_ascii_lowercase();
        for plan in st
            .site_recovery
            .plans
            .values_mut()
            .filter(|p| p.vault_key == vk)
        {
            if let Some(groups) = plan.groups.as_array_mut() {
                for g in groups {
                    if let Some(items) = g["replicationProtectedItems"].as_array_mut() {
                        items.retain(|x| {
                            x["id"]
                                .as_str()
                                .is_none_or(|s| s.to_ascii_lowercase() != id)
                        });
                    }
                }
            }
        }
    }
    accepted(ctx, vault, &item_path(&it), &job)
}

/// `POST …/replicationProtectedItems/{i}/{action}`.
#[allow(clippy::too_many_arguments)]
pub(super) fn action(
    ctx: &Ctx<'_>,
    st: &mut State,
    vault: &Vault,
    f: &str,
    c: &str,
    name: &str,
    action: &str,
) -> HResult {
    require_method(ctx, "POST")?;
    let vk = vault.key();
    let cont = get_container(st, vault, f, c)?.clone();
    let ik = key(&[&cont.key(), name]);
    if let Some(it) = st.site_recovery.items.get(&ik) {
        busy(st, it, ctx.now)?;
    }
    match action.to_ascii_lowercase().as_str() {
        "remove" => disable(ctx, st, vault, &ik, name, false),
        "unplannedfailover" | "failovercommit" | "reprotect" => {
            let Some(it) = st.site_recovery.items.get(&ik).cloned() else {
                return Err(not_found("replicated item", name));
            };
            let body = if ctx.body.iter().all(|b| b.is_ascii_whitespace()) { json!({}) } else { ctx.json()? };
            let op = match action.to_ascii_lowercase().as_str() {
                "unplannedfailover" => Op::Failover,
                "failovercommit" => Op::Commit,
                _ => Op::Reprotect,
            };
            let job = failover_op(ctx, st, &vk, &ik, &it, op, &body["properties"], None)?;
            accepted(ctx, vault, &item_path(&it), &job)
        }
        "testfailover" | "testfailovercleanup" => {
            let Some(it) = st.site_recovery.items.get(&ik).cloned() else {
                return Err(not_found("replicated item", name));
            };
            let body = if ctx.body.iter().all(|b| b.is_ascii_whitespace()) { json!({}) } else { ctx.json()? };
            let p = &body["properties"];
            let cleanup = action.eq_ignore_ascii_case("testfailovercleanup");
            let ph = phase(&it, ctx.now);
            let waiting = it.test_failover.as_ref().is_some_and(|(_, _, end)| ctx.now >= *end);
            if cleanup {
                if !waiting {
                    return Err(not_allowed(&it.name, "Test failover cleanup", &format!("{ph:?}")));
                }
                if p["comments"].as_str().is_some_and(|c| c.len() > 1024) {
                    return Err(bad("InvalidInput", "properties.comments must be at most 1024 characters."));
                }
            } else {
                if ph != Phase::Protected || it.test_failover.is_some() {
                    return Err(not_allowed(&it.name, "Test failover", &format!("{ph:?}")));
                }
                let expect = if it.active_location == "Recovery" { "RecoveryToPrimary" } else { "PrimaryToRecovery" };
                let dir = p["failoverDirection"].as_str().unwrap_or("");
                if !eq(dir, expect) {
                    return Err(bad("InvalidInput", format!("properties.failoverDirection must be '{expect}' for '{}' (active location {}).", it.name, it.active_location)));
                }
                if p["networkType"].as_str().is_some_and(|t| eq(t, "VmNetworkAsInput")) || p["networkId"].is_string() {
                    let net = p["networkId"].as_str().unwrap_or("");
                    let nloc = require_vnet(st, net, "networkId")?;
                    let target = if it.active_location == "Recovery" {
                        st.site_recovery.fabrics.get(&key(&[&vk, &it.fabric])).map(|f| f.location.clone())
                    } else {
                        st.site_recovery.containers.get(&it.recovery_container_key).and_then(|c| st.site_recovery.fabrics.get(&key(&[&vk, &c.fabric]))).map(|f| f.location.clone())
                    }
                    .unwrap_or_default();
                    if nloc != target {
                        return Err(bad("InvalidInput", format!("The test failover network '{net}' is in '{nloc}', not in the region '{target}' the VM fails over to.")));
                    }
                }
            }
            let (scenario, friendly, dur, tasks): (&str, &str, f64, &[&str]) = if cleanup {
                ("TestFailoverCleanup", "Cleanup test failover", durations::TEST_FAILOVER_CLEANUP, &["Deleting the test virtual machine", "Completing the test failover"])
            } else {
                ("TestFailover", "Test failover", durations::TEST_FAILOVER, &["Prerequisites check for test failover", "Creating the test virtual machine", "Starting the virtual machine"])
            };
            let error = fault(ctx, friendly);
            let dur_ms = ctx.scaled(dur);
            let job = start_job(
                st,
                &vk,
                JobSpec {
                    scenario,
                    friendly,
                    target_id: vm_guid(st, &it),
                    target_name: it.vm_name.clone(),
                    target_type: "ProtectionEntity",
                    tasks,
                    duration_ms: dur_ms,
                    start_ms: ctx.now,
                },
                error.clone(),
                &format!("item|{ik}"),
            );
            if error.is_none() {
                if let Some(x) = st.site_recovery.items.get_mut(&ik) {
                    if cleanup {
                        x.last_test_failover_ms = x.test_failover.as_ref().map(|t| t.1);
                        x.test_failover = None;
                    } else {
                        x.test_failover = Some((job.clone(), ctx.now, ctx.now + dur_ms));
                    }
                    x.scenario = Some((scenario.into(), job.clone(), ctx.now));
                }
            }
            accepted(ctx, vault, &item_path(&it), &job)
        }
        other => Err(bad(
            "OperationNotSupported",
            format!("The sandbox does not model the replicated item action '{other}'. Modelled: remove, testFailover, testFailoverCleanup, unplannedFailover, failoverCommit, reProtect."),
        )),
    }
}

/// The id used in recovery plans (`virtualMachineId`): the source VM's vmId GUID.
pub(super) fn vm_guid(st: &State, i: &ReplicatedItem) -> String {
    st.vms
        .get(&i.vm_key)
        .map(|v| v.vm_id.clone())
        .unwrap_or_default()
}

/// Find an item of the vault by its ARM id.
pub(super) fn find_by_id<'a>(
    st: &'a State,
    vk: &str,
    id: &str,
) -> Option<(String, &'a ReplicatedItem)> {
    let (ivk, r) = parse_vault_child(id)?;
    if ivk != vk
        || r.len() != 6
        || !eq(&r[0], "replicationFabrics")
        || !eq(&r[2], "replicationProtectionContainers")
        || !eq(&r[4], "replicationProtectedItems")
    {
        return None;
    }
    let k = key(&[vk, &r[1], &r[3], &r[5]]);
    st.site_recovery.items.get(&k).map(|i| (k.clone(), i))
}
