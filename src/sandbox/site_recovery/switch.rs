//! `POST …/replicationProtectionContainers/{c}/switchprotection`: re-protect an Azure-to-Azure
//! item after its failover was committed, as Azure's CLI does (recording:
//! test_siterecovery_A2A_scenarios.yaml #93 L4670, FACTS §1). The body names the item
//! (`replicationProtectedItemName`), the policy, the container replication now goes to (the
//! item's own, recorded), the resource group for the replica disks, and per disk the disk the VM
//! runs on now with a cache storage account in the region it runs in.
//!
//! Afterwards the item (same name) lives under the container it replicated to, with
//! `activeLocation: Primary` (the VMs run in its new primary region) while its
//! `initialPrimary/RecoveryFabricLocation` keep the orientation replication was enabled in
//! (A2A #111–121); recovery plans follow the item to its new id.

use serde_json::{json, Value};

use super::super::handler::{Ctx, HResult};
use super::super::state::{key, State, Vault};
use super::fabrics::{container_id, get_container};
use super::items::{busy_item, failover_op, item_id, phase, Op, Phase};
use super::{accepted, bad, eq, not_found, parse_arm_id, parse_vault_child, require_method};

pub(super) fn switch_protection(
    ctx: &Ctx<'_>,
    st: &mut State,
    vault: &Vault,
    f: &str,
    c: &str,
) -> HResult {
    require_method(ctx, "POST")?;
    let vk = vault.key();
    let cont = get_container(st, vault, f, c)?.clone();
    let body = ctx.json()?;
    let p = &body["properties"];
    let name = p["replicationProtectedItemName"]
        .as_str()
        .unwrap_or_default();
    if name.is_empty() {
        return Err(bad(
            "InvalidInput",
            "properties.replicationProtectedItemName is required.",
        ));
    }
    let old_key = key(&[&vk, &cont.fabric, &cont.name, name]);
    let Some(it) = st.site_recovery.items.get(&old_key).cloned() else {
        return Err(not_found("replicated item", name));
    };
    busy_item(st, &it, ctx.now)?;
    if phase(&it, ctx.now) != Phase::Committed {
        return Err(bad(
            "OperationNotAllowedInCurrentState",
            format!("Switch protection of '{name}' needs a committed failover (the VMs run in the recovery region)."),
        ));
    }
    let d = &p["providerSpecificDetails"];
    if !d["instanceType"].as_str().is_some_and(|t| eq(t, "A2A")) {
        return Err(bad(
            "InvalidInput",
            "providerSpecificDetails.instanceType must be 'A2A'.",
        ));
    }
    let own = container_id(vault, &cont.fabric, &cont.name);
    if !d["recoveryContainerId"]
        .as_str()
        .is_some_and(|r| eq(r, &own))
    {
        return Err(bad("InvalidInput", format!("providerSpecificDetails.recoveryContainerId must be '{own}', the container '{name}' replicates back to.")));
    }
    let policy = d["policyId"]
        .as_str()
        .and_then(parse_vault_child)
        .filter(|(pvk, r)| *pvk == vk && r.len() == 2 && eq(&r[0], "replicationPolicies"));
    if policy.is_none_or(|(_, r)| !st.site_recovery.policies.contains_key(&key(&[&vk, &r[1]]))) {
        return Err(bad(
            "InvalidInput",
            "providerSpecificDetails.policyId must name a replication policy of the vault.",
        ));
    }
    // The VMs run in the region of the item's recovery container: the cache must be there.
    let (rf, _) = split_key(&it.recovery_container_key);
    let running = st
        .site_recovery
        .fabrics
        .get(&key(&[&vk, &rf]))
        .map(|x| x.location.clone())
        .unwrap_or_default();
    let disks = d["vmManagedDisks"].as_array().cloned().unwrap_or_default();
    if disks.is_empty() {
        return Err(bad(
            "InvalidInput",
            "providerSpecificDetails.vmManagedDisks is required.",
        ));
    }
    for disk in &disks {
        let sa = disk["primaryStagingAzureStorageAccountId"]
            .as_str()
            .unwrap_or("");
        let res = parse_arm_id(sa, "microsoft.storage", "storageaccounts")
            .and_then(|_| st.resources.get(&sa.to_ascii_lowercase()));
        let Some(res) = res else {
            return Err(bad(
                "CacheStorageAccountNotFound",
                format!("The cache storage account '{sa}' was not found."),
            ));
        };
        if !eq(&res.location, &running) {
            return Err(bad("CacheStorageAccountLocationMismatch", format!("The cache storage account '{}' is in '{}'; re-protect needs it in '{running}', where the virtual machines run now.", res.name, res.location)));
        }
        if disk["diskId"].as_str().is_none_or(str::is_empty) {
            return Err(bad("InvalidInput", "vmManagedDisks[].diskId is required."));
        }
    }
    let rrg = d["recoveryResourceGroupId"].as_str().unwrap_or("");
    if parse_rg(rrg).is_none_or(|(s, r)| st.rg(&s, &r).is_none()) {
        return Err(bad("InvalidInput", format!("providerSpecificDetails.recoveryResourceGroupId '{rrg}' is not an existing resource group.")));
    }

    let old_id = item_id(vault, &it);
    let job = failover_op(ctx, st, &vk, &old_key, &it, Op::Reprotect, &json!({}), None)?;
    let Some(mut moved) = st.site_recovery.items.remove(&old_key) else {
        return accepted(
            ctx,
            vault,
            &format!("replicationFabrics/{f}/replicationProtectionContainers/{c}"),
            &job,
        );
    };
    if moved.failover != "Reprotecting" {
        // The operation failed (injected fault): the item stays where it was.
        st.site_recovery.items.insert(old_key, moved);
    } else {
        moved
            .initial_fabrics
            .get_or_insert_with(|| (moved.fabric.clone(), rf.clone()));
        let (nf, nc) = st
            .site_recovery
            .containers
            .get(&moved.recovery_container_key)
            .map(|x| (x.fabric.clone(), x.name.clone()))
            .unwrap_or_else(|| split_key(&moved.recovery_container_key));
        moved.recovery_container_key = key(&[&vk, &moved.fabric, &moved.container]);
        moved.fabric = nf;
        moved.container = nc;
        moved.active_location = "Primary".into();
        // Failing back lands on the disks the VM ran on before: each new disk's recovery
        // target is the disk it replaced.
        let before: Vec<Value> = moved.input["vmManagedDisks"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let disks: Vec<Value> = disks
            .into_iter()
            .enumerate()
            .map(|(n, mut d)| {
                if let Some(prev) = before.get(n).and_then(|b| b["diskId"].as_str()) {
                    d["recoveryTargetDiskId"] = json!(prev);
                }
                d
            })
            .collect();
        moved.input["vmManagedDisks"] = Value::Array(disks);
        moved.input["recoveryResourceGroupId"] = json!(rrg);
        let new_id = item_id(vault, &moved);
        st.site_recovery.items.insert(
            key(&[&vk, &moved.fabric, &moved.container, &moved.name]),
            moved,
        );
        for plan in st
            .site_recovery
            .plans
            .values_mut()
            .filter(|pl| pl.vault_key == vk)
        {
            retarget(&mut plan.groups, &old_id, &new_id);
        }
        // A plan whose items are all re-protected replicates again: failover is allowed.
        let keys: Vec<String> = st.site_recovery.plans.keys().cloned().collect();
        for pk in keys {
            let Some(plan) = st.site_recovery.plans.get(&pk) else {
                continue;
            };
            let ids = super::plans::plan_items(plan);
            if plan.failover != "Committed" || !ids.iter().any(|i| eq(i, &new_id)) {
                continue;
            }
            let still_committed = ids.iter().any(|i| {
                super::items::find_by_id(st, &vk, i).is_some_and(|(_, x)| x.failover == "Committed")
            });
            if !still_committed {
                if let Some(p) = st.site_recovery.plans.get_mut(&pk) {
                    p.failover = "None".into();
                }
            }
        }
    }
    accepted(
        ctx,
        vault,
        &format!("replicationFabrics/{f}/replicationProtectionContainers/{c}"),
        &job,
    )
}

/// `vk/fabric/container` → (fabric, container), as the item's key parts were written.
fn split_key(k: &str) -> (String, String) {
    let mut parts = k.rsplitn(3, '/');
    let c = parts.next().unwrap_or_default().to_string();
    let f = parts.next().unwrap_or_default().to_string();
    (f, c)
}

fn parse_rg(id: &str) -> Option<(String, String)> {
    let s: Vec<&str> = id.split('/').filter(|x| !x.is_empty()).collect();
    (s.len() == 4 && eq(s[0], "subscriptions") && eq(s[2], "resourceGroups"))
        .then(|| (s[1].to_string(), s[3].to_string()))
}

/// Replace the item id `from` by `to` wherever a plan's groups name it.
fn retarget(v: &mut Value, from: &str, to: &str) {
    match v {
        Value::String(s) if eq(s, from) => *s = to.to_string(),
        Value::Array(a) => a.iter_mut().for_each(|x| retarget(x, from, to)),
        Value::Object(o) => o.values_mut().for_each(|x| retarget(x, from, to)),
        _ => {}
    }
}
