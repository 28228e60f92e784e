//! A small pure simulator of Azure applying a [`Plan`] to a [`LiveState`], change by change, in
//! any order the plan's `depends_on` allows, refusing what Azure refuses. Used by the plan
//! invariant tests: `plan(desired, simulate(live, plan(desired, live)))` must be empty.
//!
//! What each change does to the live attributes (the way Azure would report them afterwards):
//! - create/update of a resource group or vault: the `after` keys are merged into the live
//!   attributes (a new vault starts from Azure's defaults, with its built-in policies);
//! - create/update of a policy or protected VM: the live attributes become `after`;
//! - delete of a protected VM: `retained` → `stopped`, policy cleared; `suspended` → `suspended`,
//!   policy kept; `deleted` → `soft_deleted` (policy cleared) when the vault's soft delete is on,
//!   else gone;
//! - delete of a policy: gone.
//!
//! What Azure refuses (an error here means the plan would fail at apply): a child before its
//! parent, a protected VM whose policy does not exist (yet), a policy deleted while items still
//! use it, suspending backups or deleting backup data in a vault whose immutability is not what
//! the operation needs, irreversible vault settings reversed, storage redundancy changed once items
//! are registered, a VM registered in two vaults.

use azprotect::live::LiveState;
use azprotect::model::{protected_vm, Address, ArmId, Resource, ResourceKind};
use azprotect::plan::{Action, Change, DataEffect, Plan};
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// A new vault's settings when the create request does not set them.
pub fn vault_defaults() -> Value {
    json!({
        "storage_redundancy": "GeoRedundant",
        "cross_region_restore": false,
        "soft_delete": {"state": "On", "retention_days": 14},
        "immutability": "Disabled",
        "public_network_access": true,
        "tags": {}
    })
}

/// The VM policies Azure gives every new vault, as the model reads them (the sandbox's
/// `create_builtin_policies`; its third, the SQL workload's `HourlyLogBackup`, is no VM policy).
pub fn builtin_policies() -> [(&'static str, Value); 2] {
    [
        (
            "DefaultPolicy",
            json!({"tier": "standard", "schedule": {"daily": {"at": "19:00"}}, "time_zone": "UTC",
                   "consistency": "application", "instant_restore_days": 2, "retention": {"daily": "30d"}}),
        ),
        (
            "EnhancedPolicy",
            json!({"tier": "enhanced", "schedule": {"hourly": {"every": "4h", "start": "08:00", "duration": "12h"}},
                   "time_zone": "UTC", "consistency": "crash_only", "instant_restore_days": 7,
                   "retention": {"daily": "30d"}}),
        ),
    ]
}

/// `over` merged into `base`, objects recursively. Tag names are case-insensitive in ARM: a tag
/// set in another case replaces the live one.
pub fn merge(base: &Value, over: &Value) -> Value {
    merge_at("", base, over)
}

fn merge_at(path: &str, base: &Value, over: &Value) -> Value {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            let mut out = b.clone();
            for (k, v) in o {
                if path == "tags" {
                    out.retain(|lk, _| lk == k || !lk.eq_ignore_ascii_case(k));
                }
                let merged = match out.get(k) {
                    Some(bv) => merge_at(k, bv, v),
                    None => v.clone(),
                };
                out.insert(k.clone(), merged);
            }
            Value::Object(out)
        }
        _ => over.clone(),
    }
}

fn find<'a>(live: &'a LiveState, id: &ArmId) -> Option<&'a Resource> {
    live.resources.iter().find(|r| &r.arm_id == id)
}

fn vault_of_policy(policy: &ArmId) -> ArmId {
    policy.parent(1)
}

fn policy_id(vault: &ArmId, name: &str) -> ArmId {
    vault.child(&["backupPolicies", name])
}

/// Apply `plan` to `live` in an order `depends_on` allows; `choices` picks among the changes
/// that are ready at each step (so that a property test explores many orders).
pub fn simulate(live: &LiveState, plan: &Plan, choices: &[usize]) -> Result<LiveState, String> {
    simulate_steps(live, plan, choices, usize::MAX)
}

/// [`simulate`], stopping after `steps` changes (an apply interrupted, or whose next change
/// failed).
pub fn simulate_steps(
    live: &LiveState,
    plan: &Plan,
    choices: &[usize],
    steps: usize,
) -> Result<LiveState, String> {
    let mut live = live.clone();
    let mut done: BTreeSet<Address> = BTreeSet::new();
    let mut pending: Vec<&Change> = plan.changes.iter().collect();
    let in_plan: BTreeSet<&Address> = plan.changes.iter().map(|c| &c.address).collect();
    let mut step = 0;
    while !pending.is_empty() && step < steps {
        let ready: Vec<usize> = pending
            .iter()
            .enumerate()
            .filter(|(_, c)| {
                c.depends_on
                    .iter()
                    .all(|d| done.contains(d) || !in_plan.contains(d))
            })
            .map(|(i, _)| i)
            .collect();
        if ready.is_empty() {
            return Err(format!(
                "dependency cycle among {:?}",
                pending
                    .iter()
                    .map(|c| c.address.to_string())
                    .collect::<Vec<_>>()
            ));
        }
        let pick = choices.get(step).copied().unwrap_or(0) % ready.len();
        let c = pending.remove(ready[pick]);
        apply_change(&mut live, c, &pending)
            .map_err(|e| format!("{} {:?}: {e}", c.address, c.action))?;
        done.insert(c.address.clone());
        step += 1;
    }
    Ok(live)
}

fn apply_change(live: &mut LiveState, c: &Change, pending: &[&Change]) -> Result<(), String> {
    if c.blocked.is_some() {
        return Err("a blocked change reached apply".into());
    }
    let id = c.arm_id.clone();
    let existing = live.resources.iter().position(|r| r.arm_id == id);
    let after = || c.after.clone().ok_or("no `after`".to_string());
    match (c.address.kind, c.action) {
        (ResourceKind::ResourceGroup, Action::Create | Action::Update) => {
            let a = after()?;
            match existing {
                Some(i) => {
                    let r = &mut live.resources[i];
                    if c.action == Action::Create {
                        return Err("create of an existing resource group".into());
                    }
                    if r.attrs["location"] != a["location"] {
                        return Err("a resource group cannot move".into());
                    }
                    r.attrs = merge(&r.attrs, &a);
                }
                None => {
                    if c.action == Action::Update {
                        return Err("update of a missing resource group".into());
                    }
                    live.resources.push(Resource {
                        address: c.address.clone(),
                        arm_id: id,
                        attrs: merge(&json!({"tags": {}}), &a),
                        depends_on: vec![],
                    });
                }
            }
        }
        (ResourceKind::RecoveryVault, Action::Create) => {
            if existing.is_some() {
                return Err("create of an existing vault".into());
            }
            let rg = id.parent(3);
            if pending.iter().any(|p| p.arm_id.clone() == rg) {
                return Err("the vault's resource group is not created yet".into());
            }
            let a = after()?;
            if a["immutability"] == "Locked" {
                return Err("a vault cannot be created Locked".into());
            }
            for (name, attrs) in builtin_policies() {
                live.resources.push(Resource {
                    address: Address::new(
                        ResourceKind::BackupPolicy,
                        format!("{}/{name}", c.address.name),
                    ),
                    arm_id: azprotect::model::backup_policy::arm_id(&id, name),
                    attrs,
                    depends_on: vec![c.address.clone()],
                });
            }
            live.resources.push(Resource {
                address: c.address.clone(),
                arm_id: id,
                attrs: merge(&vault_defaults(), &a),
                depends_on: vec![],
            });
        }
        (ResourceKind::RecoveryVault, Action::Update) => {
            let i = existing.ok_or("update of a missing vault")?;
            let a = after()?;
            let items = live.items_in_vault(&id);
            let have = &live.resources[i].attrs;
            let changes = |k: &str| a.get(k).is_some_and(|v| Some(v) != have.get(k));
            if changes("storage_redundancy") && items > 0 {
                return Err(
                    "StorageModelModifyError: redundancy is locked once items are registered"
                        .into(),
                );
            }
            if changes("cross_region_restore") && have["cross_region_restore"] == true {
                return Err("cross-region restore cannot be turned off".into());
            }
            let storage = a
                .get("storage_redundancy")
                .unwrap_or(&have["storage_redundancy"]);
            let crr = a
                .get("cross_region_restore")
                .unwrap_or(&have["cross_region_restore"]);
            if *crr == true && storage != "GeoRedundant" {
                return Err("cross-region restore needs GeoRedundant storage".into());
            }
            if changes("immutability") {
                match (have["immutability"].as_str(), a["immutability"].as_str()) {
                    (Some("Locked"), _) => return Err("immutability Locked is final".into()),
                    (Some("Disabled") | None, Some("Locked")) => {
                        return Err("immutability must be Unlocked before it is Locked".into())
                    }
                    _ => {}
                }
            }
            let sd_changes = a["soft_delete"]["state"].is_string()
                && a["soft_delete"]["state"] != have["soft_delete"]["state"];
            if sd_changes && have["soft_delete"]["state"] == "AlwaysOn" {
                return Err("BMSUserErrorSoftDeleteStateAlwaysOn".into());
            }
            let merged = merge(have, &a);
            live.resources[i].attrs = merged;
        }
        (ResourceKind::BackupPolicy, Action::Create | Action::Update | Action::Replace) => {
            let vault = vault_of_policy(&id);
            if find(live, &vault).is_none() {
                return Err("the policy's vault does not exist".into());
            }
            if c.action == Action::Create && existing.is_some() {
                return Err("create of an existing policy".into());
            }
            if c.action != Action::Create && existing.is_none() {
                return Err("update of a missing policy".into());
            }
            let a = after()?;
            if let Some(i) = existing {
                let from = live.resources[i].attrs["tier"].as_str();
                if from.is_some() && from != a["tier"].as_str() && c.action == Action::Update {
                    return Err("a policy's tier cannot change in place".into());
                }
                if c.action == Action::Replace {
                    policy_unused(live, &id)?;
                }
                if c.action == Action::Update
                    && immutable(live, &vault)
                    && shorter(&live.resources[i].attrs, &a)
                {
                    return Err("an immutable vault refuses to reduce a policy's retention".into());
                }
                live.resources[i].attrs = a;
            } else {
                let vault_addr = find(live, &vault).map(|v| v.address.clone()).unwrap();
                live.resources.push(Resource {
                    address: c.address.clone(),
                    arm_id: id,
                    attrs: a,
                    depends_on: vec![vault_addr],
                });
            }
        }
        (ResourceKind::BackupPolicy, Action::Delete) => {
            let i = existing.ok_or("delete of a missing policy")?;
            policy_unused(live, &id)?;
            live.resources.remove(i);
        }
        (ResourceKind::ProtectedVm, Action::Create | Action::Update) => {
            let vault = protected_vm::vault_of(&id);
            if find(live, &vault).is_none() {
                return Err("the item's vault does not exist".into());
            }
            let a = after()?;
            let vm_id = a["vm_id"].as_str().unwrap_or_default();
            if live.vm(vm_id).is_none() {
                return Err(format!("VM {vm_id} does not exist"));
            }
            let policy = a["policy"].as_str().ok_or("no policy")?;
            let pid = policy_id(&vault, policy);
            let new_policy = find(live, &pid).ok_or(format!("policy {policy} does not exist"))?;
            let new_tier = new_policy.attrs["tier"].clone();
            let new_attrs = new_policy.attrs.clone();
            let policy_addr = new_policy.address.clone();
            let pid_name = new_policy.arm_id.name().to_string();
            let registered_elsewhere = live.resources.iter().any(|r| {
                r.address.kind == ResourceKind::ProtectedVm
                    && r.arm_id != id
                    && r.attrs["vm_id"]
                        .as_str()
                        .is_some_and(|v| v.eq_ignore_ascii_case(vm_id))
            }) || live
                .protected_elsewhere
                .contains_key(&vm_id.to_ascii_lowercase());
            if registered_elsewhere {
                return Err("the VM is registered in another vault".into());
            }
            match existing {
                Some(i) => {
                    if c.action == Action::Create {
                        return Err("create of an existing item".into());
                    }
                    let old = live.resources[i].attrs["policy"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string();
                    if !old.is_empty() {
                        let old_tier =
                            find(live, &policy_id(&vault, &old)).map(|p| p.attrs["tier"].clone());
                        let old_attrs =
                            find(live, &policy_id(&vault, &old)).map(|p| p.attrs.clone());
                        if immutable(live, &vault)
                            && old != policy
                            && old_attrs.is_some_and(|o| shorter(&o, &new_attrs))
                        {
                            return Err("an immutable vault refuses a move to a policy with shorter retention".into());
                        }
                        if old_tier == Some(json!("enhanced")) && new_tier == "standard" {
                            return Err(
                                "an enhanced-policy VM cannot move to a standard policy".into()
                            );
                        }
                    }
                    live.resources[i].attrs = a;
                    live.resources[i].attrs["policy"] = json!(pid_name);
                    live.resources[i].depends_on = vec![policy_addr];
                }
                None => {
                    if c.action == Action::Update {
                        return Err("update of a missing item".into());
                    }
                    let mut a = a;
                    // Azure reports the policy id it stores: the policy's own spelling.
                    a["policy"] = json!(pid_name);
                    live.resources.push(Resource {
                        address: c.address.clone(),
                        arm_id: id,
                        attrs: a,
                        depends_on: vec![policy_addr],
                    });
                }
            }
        }
        (ResourceKind::ProtectedVm, Action::Delete) => {
            let i = existing.ok_or("delete of a missing item")?;
            let vault = protected_vm::vault_of(&id);
            let vault_attrs = find(live, &vault)
                .map(|v| v.attrs.clone())
                .ok_or("the item's vault does not exist")?;
            let immutable = matches!(
                vault_attrs["immutability"].as_str(),
                Some("Unlocked" | "Locked")
            );
            match c.data {
                Some(DataEffect::Retained) => {
                    let r = &mut live.resources[i];
                    r.attrs["state"] = json!("stopped");
                    r.attrs["policy"] = json!("");
                    r.depends_on.clear();
                }
                Some(DataEffect::Suspended) => {
                    if !immutable {
                        return Err("BackupsSuspended needs an immutable vault".into());
                    }
                    live.resources[i].attrs["state"] = json!("suspended");
                }
                Some(DataEffect::Deleted) => {
                    if immutable {
                        return Err("UserErrorDeleteBackupItemOnImmutableItem".into());
                    }
                    if vault_attrs["soft_delete"]["state"] == "Off" {
                        live.resources.remove(i);
                    } else {
                        let r = &mut live.resources[i];
                        r.attrs["state"] = json!("soft_deleted");
                        r.attrs["policy"] = json!("");
                        r.depends_on.clear();
                    }
                }
                None => return Err("a protected VM delete without a data effect".into()),
            }
        }
        (kind, action) => {
            return Err(format!(
                "{action:?} of a {kind:?} is not something Azure can do here"
            ))
        }
    }
    Ok(())
}

/// Azure refuses to delete a policy that items still use (protected or suspended).
fn policy_unused(live: &LiveState, id: &ArmId) -> Result<(), String> {
    let vault = vault_of_policy(id);
    let users: Vec<String> = live
        .resources
        .iter()
        .filter(|r| r.address.kind == ResourceKind::ProtectedVm)
        .filter(|r| protected_vm::vault_of(&r.arm_id) == vault)
        .filter(|r| matches!(r.attrs["state"].as_str(), Some("protected" | "suspended")))
        .filter(|r| {
            r.attrs["policy"]
                .as_str()
                .is_some_and(|p| p.eq_ignore_ascii_case(id.name()))
        })
        .map(|r| r.address.to_string())
        .collect();
    if users.is_empty() {
        Ok(())
    } else {
        Err(format!("the policy is still used by {users:?}"))
    }
}

fn immutable(live: &LiveState, vault: &ArmId) -> bool {
    find(live, vault).is_some_and(|v| {
        matches!(
            v.attrs["immutability"].as_str(),
            Some("Unlocked" | "Locked")
        )
    })
}

/// Does policy `new` keep any tier of recovery points for less time than `old`?
fn shorter(old: &Value, new: &Value) -> bool {
    let days = |p: &Value| -> u64 {
        p["retention"]["daily"]
            .as_str()
            .and_then(|d| d.strip_suffix('d'))
            .and_then(|d| d.parse().ok())
            .unwrap_or(0)
    };
    let keep = |p: &Value, t: &str| p["retention"][t]["keep"].as_u64().unwrap_or(0);
    days(new) < days(old)
        || ["weekly", "monthly", "yearly"]
            .iter()
            .any(|t| keep(new, t) < keep(old, t))
}
