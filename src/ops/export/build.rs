//! Live state → [`Document`]: pure. What is exported is what plans empty: protected items with
//! their policy and exclusions; items whose protection stopped (data retained), was suspended or
//! that are soft-deleted are named in a comment only (the planner resumes a listed item, and
//! leaves an unlisted one alone under the default `on_remove: retain_data`: `plan::diff`
//! `removal`); Azure's built-in policies only when an exported item uses them (the planner
//! ignores undeclared built-ins, CONFIG.md "Semantics").
//!
//! An item the file cannot express — backing up only some disks (an inclusion list), protected
//! without a policy, in a state azprotect does not know — is [`Unsupported`]: left out of a
//! declared vault, the plan would stop protecting it, so `ops::export` refuses it or, with
//! `--skip-unsupported`, leaves its whole vault out (no file setting makes the plan leave one
//! item of a declared vault alone).

use crate::model::export::{Document, Policy, Protect, Unsupported, Vault};
use crate::model::{
    backup_policy, protected_vm, ArmId, ItemState, LiveState, Resource, ResourceKind, VaultScope,
    VirtualMachine, VmSelector,
};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// One exported protected VM.
#[derive(Debug, Clone)]
struct Item {
    vm: ArmId,
    /// How the file names it: `rg/name` or the full id.
    reference: String,
    policy: String,
    exclude: Vec<u64>,
}

/// The document for `scopes` (vaults read into `live` under these names), in `subscription`.
pub fn document(
    live: &LiveState,
    scopes: &[VaultScope],
    subscription: &str,
    selectors: bool,
) -> Document {
    let mut unsupported = Vec::new();
    let vaults = scopes
        .iter()
        .filter_map(|s| vault(live, s, subscription, selectors, &mut unsupported))
        .collect();
    unsupported.sort();
    Document {
        subscription: subscription.to_string(),
        vaults,
        unsupported,
        ..Document::default()
    }
}

fn vault(
    live: &LiveState,
    scope: &VaultScope,
    sub: &str,
    selectors: bool,
    unsupported: &mut Vec<Unsupported>,
) -> Option<Vault> {
    let of_vault = |kind| super::of_vault(&live.resources, &scope.name, kind);
    let body = of_vault(ResourceKind::RecoveryVault).next()?;
    let mut skipped = Vec::new();
    let mut items = Vec::new();
    for r in of_vault(ResourceKind::ProtectedVm) {
        match item(live, r, sub) {
            Ok(i) => items.push(i),
            Err(Skip::Retained(line)) => skipped.push(line),
            Err(Skip::Unsupported(line)) => unsupported.push(Unsupported {
                vault: scope.name.clone(),
                site_recovery: false,
                line,
            }),
        }
    }
    skipped.sort();
    let used: BTreeSet<String> = items
        .iter()
        .map(|i| i.policy.to_ascii_lowercase())
        .collect();
    let mut policies: Vec<Policy> = of_vault(ResourceKind::BackupPolicy)
        .filter_map(|p| {
            let name = p.arm_id.name().to_string();
            let built_in = backup_policy::BUILT_IN
                .iter()
                .any(|b| b.eq_ignore_ascii_case(&name));
            if built_in && !used.contains(&name.to_ascii_lowercase()) {
                return None;
            }
            p.attrs.get("schedule")?;
            Some(Policy {
                note: built_in.then(|| {
                    "Azure's built-in policy, declared because VMs below use it".to_string()
                }),
                attrs: policy_attrs(&p.attrs),
                name,
            })
        })
        .collect();
    policies.sort_by_key(|p| p.name.to_ascii_lowercase());
    let protect = protect_entries(live, scope, sub, items, selectors);
    Some(Vault {
        name: scope.name.clone(),
        resource_group: body.arm_id.resource_group().unwrap_or_default().to_string(),
        settings: vault_settings(&body.attrs),
        policies,
        protect,
        skipped,
    })
}

/// Why an item is not exported.
enum Skip {
    /// Left alone by the plan when not listed: a line for the vault's comment.
    Retained(String),
    /// The plan would stop protecting it if it were not listed.
    Unsupported(String),
}

/// An exported item, or why it is not exported.
fn item(live: &LiveState, r: &Resource, sub: &str) -> Result<Item, Skip> {
    let a = protected_vm::Attrs(&r.attrs);
    let id = ArmId::new(a.vm_id().unwrap_or_default());
    // The VM's own spelling where it is known (item ids are lower-cased by Azure).
    let vm = live.vm(id.as_str()).map(|v| v.id.clone()).unwrap_or(id);
    let reference = super::reference(&vm, sub);
    let state = a.item_state();
    // Not listed, these stay as they are (`plan::diff::removal`: retained and soft-deleted
    // items are left alone under the default on_remove); listed, they would be resumed.
    let retained = match state {
        ItemState::Protected | ItemState::Failed | ItemState::Unknown => None,
        ItemState::Stopped => Some("protection stopped, recovery points retained"),
        ItemState::Suspended => Some("backups suspended, recovery points kept per policy"),
        ItemState::SoftDeleted => Some("soft-deleted"),
    };
    if let Some(why) = retained {
        return Err(Skip::Retained(format!(
            "{reference}: {why} — not listed (listing it would resume protection)"
        )));
    }
    let policy = a.policy().unwrap_or_default().to_string();
    let unsupported = if state != ItemState::Protected {
        Some(format!(
            "in a state azprotect does not know ({})",
            r.attrs["state"].as_str().unwrap_or("none")
        ))
    } else if r.attrs.get("include_disks").is_some() {
        Some("backs up only some disks (an inclusion list), which the file cannot express".into())
    } else if policy.is_empty() {
        Some("protected without a policy, which the file cannot express".into())
    } else {
        None
    };
    if let Some(why) = unsupported {
        return Err(Skip::Unsupported(format!("{reference}: {why}")));
    }
    let exclude = a
        .exclude_disks()
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_u64)
        .collect();
    Ok(Item {
        vm,
        reference,
        policy,
        exclude,
    })
}

/// The vault keys a person sets: everything Azure reports, but `cross_region_restore` only when
/// on (it is a GeoRedundant-only setting) and `tags` only when there are some.
fn vault_settings(attrs: &Value) -> Value {
    let mut out = Map::new();
    for (k, v) in attrs.as_object().into_iter().flatten() {
        let keep = match k.as_str() {
            "cross_region_restore" => v.as_bool() == Some(true),
            "tags" => v.as_object().is_some_and(|t| !t.is_empty()),
            _ => true,
        };
        if keep {
            out.insert(k.clone(), v.clone());
        }
    }
    Value::Object(out)
}

/// Policy attributes without the keys that only restate a default a person leaves out
/// (`consistency: application`).
fn policy_attrs(attrs: &Value) -> Value {
    let mut a = attrs.clone();
    if let Some(o) = a.as_object_mut() {
        if o.get("consistency").and_then(Value::as_str) == Some("application") {
            o.remove("consistency");
        }
    }
    a
}

/// Group items by (policy, exclusions); with `selectors`, replace lists by a resource-group or
/// tag selector wherever the selector would pick exactly VMs of the group.
fn protect_entries(
    live: &LiveState,
    scope: &VaultScope,
    sub: &str,
    items: Vec<Item>,
    selectors: bool,
) -> Vec<Protect> {
    let mut groups: BTreeMap<(String, Vec<u64>), Vec<Item>> = BTreeMap::new();
    for i in items {
        groups
            .entry((i.policy.clone(), i.exclude.clone()))
            .or_default()
            .push(i);
    }
    let mut out = Vec::new();
    for ((policy, exclude), mut items) in groups {
        items.sort_by_key(|i| i.reference.to_ascii_lowercase());
        let mut entries = Vec::new();
        if selectors {
            entries = selector_entries(live, scope, sub, &policy, &mut items);
        }
        if !items.is_empty() {
            entries.insert(
                0,
                Protect {
                    policy: policy.clone(),
                    covers: items.len(),
                    vms: items.iter().map(|i| i.reference.clone()).collect(),
                    ..Protect::default()
                },
            );
        }
        for e in &mut entries {
            e.exclude_disks = exclude.clone();
        }
        out.extend(entries);
    }
    out
}

/// Selectors that pick exactly VMs of `items` (the same policy and exclusions in this vault):
/// every VM of the vault's region the selector matches must be one of them, as the plan resolves
/// selectors (`plan::diff::resolve`). Resource groups first, then the tag value covering the most
/// VMs still listed. The VMs covered leave `items`.
fn selector_entries(
    live: &LiveState,
    scope: &VaultScope,
    sub: &str,
    policy: &str,
    items: &mut Vec<Item>,
) -> Vec<Protect> {
    let in_group: BTreeSet<ArmId> = items.iter().map(|i| i.vm.clone()).collect();
    let picks = |sel: &VmSelector| -> Option<Vec<&VirtualMachine>> {
        let vms: Vec<&VirtualMachine> = live
            .vms
            .iter()
            .filter(|vm| vm.matches(sel) && vm.location.eq_ignore_ascii_case(&scope.location))
            .collect();
        (!vms.is_empty() && vms.iter().all(|vm| in_group.contains(&vm.id))).then_some(vms)
    };
    let selector = |resource_groups: Vec<String>, tags: BTreeMap<String, String>| VmSelector {
        vault: scope.name.clone(),
        policy: policy.to_string(),
        subscription: sub.to_string(),
        resource_groups,
        tags,
        exclude_disks: vec![],
        locations: vec![],
    };
    let mut entries = Vec::new();
    let mut covered: BTreeSet<ArmId> = BTreeSet::new();
    let groups: BTreeSet<String> = items
        .iter()
        .filter_map(|i| live.vm(i.vm.as_str()))
        .map(|vm| vm.resource_group.clone())
        .collect();
    let mut whole_groups = Vec::new();
    let mut count = 0;
    for rg in groups {
        if let Some(vms) = picks(&selector(vec![rg.clone()], BTreeMap::new())) {
            count += vms.len();
            covered.extend(vms.iter().map(|vm| vm.id.clone()));
            whole_groups.push(rg);
        }
    }
    if !whole_groups.is_empty() {
        entries.push(Protect {
            policy: policy.to_string(),
            select_resource_groups: whole_groups,
            covers: count,
            ..Protect::default()
        });
    }
    loop {
        let left: Vec<&VirtualMachine> = items
            .iter()
            .filter(|i| !covered.contains(&i.vm))
            .filter_map(|i| live.vm(i.vm.as_str()))
            .collect();
        let mut best: Option<((String, String), Vec<ArmId>)> = None;
        let tags: BTreeSet<(String, String)> = left
            .iter()
            .flat_map(|vm| vm.tags.iter().map(|(k, v)| (k.clone(), v.clone())))
            .collect();
        for (k, v) in tags {
            let sel = selector(vec![], BTreeMap::from([(k.clone(), v.clone())]));
            let Some(vms) = picks(&sel) else { continue };
            let new: Vec<ArmId> = vms
                .iter()
                .map(|vm| vm.id.clone())
                .filter(|id| !covered.contains(id))
                .collect();
            if new.len() > best.as_ref().map_or(0, |b| b.1.len()) {
                best = Some(((k, v), new));
            }
        }
        let Some(((k, v), new)) = best else { break };
        entries.push(Protect {
            policy: policy.to_string(),
            select_tags: BTreeMap::from([(k, v)]),
            covers: new.len(),
            ..Protect::default()
        });
        covered.extend(new);
    }
    items.retain(|i| !covered.contains(&i.vm));
    entries
}
