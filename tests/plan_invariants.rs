//! Property tests of the plan's invariants over random, valid estates: one or two declared vaults
//! with policies drawn from every valid shape, protected VMs among a VM inventory (listed and
//! selected by tag), and a live side that drifts from the file in every way Azure allows (vault
//! settings, policies edited, live-only and built-in policies, items protected / stopped /
//! suspended / soft-deleted, registered in a vault the file does not manage, ids in Azure's case).
//!
//! 1. Convergence: a plan without blocked changes, applied the way Azure would (in any order its
//!    `depends_on` allows, refusing what Azure refuses), leaves nothing to plan.
//! 2. No noise: live state that is the file as Azure reports it plans empty.
//! 3. Safety: no data deleted unless `on_remove: delete_data`; no vault or resource group ever
//!    deleted or replaced; `depends_on` is a DAG over the plan's own changes.
//! 4. Targeting: a targeted plan is a subset of the full plan, closed over dependencies.
//! 5. Every non-blocked change turns into ARM requests.

mod support;

use azprotect::apply::requests_for;
use azprotect::live::{Elsewhere, LiveState};
use azprotect::model::{
    backup_policy, protected_vm, resource_group, vault, Address, ArmId, Desired, OnRemove,
    Resource, ResourceKind, VaultScope, VirtualMachine, VmSelector,
};
use azprotect::plan::{plan, Action, DataEffect, Plan, PlanOptions};
use proptest::prelude::*;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use support::cases::{valid_policy, SUB};
use support::plan_sim::{merge, simulate, simulate_steps, vault_defaults};

// ------------------------------------------------------------------ the estate

/// The VM inventory: (resource group, name, region, `backup` tag).
const INVENTORY: [(&str, &str, &str, Option<&str>); 6] = [
    ("rg-app", "app-01", "westeurope", Some("gold")),
    ("rg-app", "app-02", "westeurope", None),
    ("rg-app", "app-03", "westeurope", Some("gold")),
    ("rg-web", "web-01", "westeurope", Some("gold")),
    ("rg-web", "web-02", "westeurope", Some("silver")),
    ("rg-neu", "far-01", "northeurope", Some("gold")),
];
/// A VM the file may name that does not exist.
const GHOST: (&str, &str) = ("rg-app", "ghost-01");
const VAULTS: [&str; 2] = ["rsv-a", "rsv-b"];
const VAULT_RG: &str = "rg-protect";
const POLICY_NAMES: [&str; 3] = ["gold", "silver", "bronze"];
const EXTRA_POLICIES: [&str; 2] = ["old", "Legacy"];

fn vault_id(i: usize) -> ArmId {
    vault::arm_id(SUB, VAULT_RG, VAULTS[i])
}

fn other_vault_id() -> ArmId {
    vault::arm_id(SUB, "rg-elsewhere", "rsv-unmanaged")
}

fn vm_id(rg: &str, name: &str) -> String {
    format!("/subscriptions/{SUB}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachines/{name}")
}

fn vms() -> Vec<VirtualMachine> {
    INVENTORY
        .iter()
        .map(|(rg, name, loc, tag)| VirtualMachine {
            id: ArmId::new(vm_id(rg, name)),
            name: name.to_string(),
            resource_group: rg.to_string(),
            subscription: SUB.into(),
            location: loc.to_string(),
            tags: tag
                .iter()
                .map(|t| ("backup".to_string(), t.to_string()))
                .collect(),
            data_disk_luns: vec![0, 1, 2],
        })
        .collect()
}

fn rg_address() -> Address {
    Address::new(ResourceKind::ResourceGroup, VAULT_RG)
}

// ------------------------------------------------------------------ desired side

#[derive(Debug, Clone)]
struct SelectorSpec {
    policy: usize,
    tag: Option<&'static str>,
    rgs: Vec<&'static str>,
    exclude: Vec<u32>,
}

#[derive(Debug, Clone)]
struct VaultSpec {
    attrs: Value,
    on_remove: OnRemove,
    policies: Vec<(&'static str, Value)>,
    selector: Option<SelectorSpec>,
}

/// One `protect` entry: (vault pick, policy pick, excluded LUNs).
type ProtectSpec = Option<(usize, usize, Vec<u32>)>;

#[derive(Debug, Clone)]
struct DesiredSpec {
    /// Declare the vaults' resource group, with these tags.
    rg: Option<Value>,
    vaults: Vec<VaultSpec>,
    /// One entry per inventory VM, then the ghost.
    protect: Vec<ProtectSpec>,
}

fn tags() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!({"managed-by": "azprotect"})),
        Just(json!({"managed-by": "azprotect", "env": "prod"})),
    ]
}

fn vault_attrs() -> impl Strategy<Value = Value> {
    (
        prop::option::of(prop::sample::select(vec![
            "LocallyRedundant",
            "ZoneRedundant",
            "GeoRedundant",
        ])),
        prop::option::of(any::<bool>()),
        prop::option::of((
            prop::option::of(prop::sample::select(vec!["On", "Off", "AlwaysOn"])),
            prop::option::of(prop::sample::select(vec![14u64, 30])),
        )),
        prop::option::of(prop::sample::select(vec!["Disabled", "Unlocked", "Locked"])),
        prop::option::of(any::<bool>()),
        prop::option::of(tags()),
    )
        .prop_map(|(storage, crr, soft, immutability, pna, tags)| {
            let mut a = serde_json::Map::new();
            a.insert("location".into(), json!("westeurope"));
            if let Some(s) = storage {
                a.insert("storage_redundancy".into(), json!(s));
            }
            // Cross-region restore needs geo-redundant storage (a static rule of `validate`).
            if let Some(c) = crr.filter(|c| !c || storage == Some("GeoRedundant")) {
                a.insert("cross_region_restore".into(), json!(c));
            }
            if let Some((state, days)) = soft {
                let mut sd = serde_json::Map::new();
                if let Some(s) = state {
                    sd.insert("state".into(), json!(s));
                }
                if let Some(d) = days {
                    sd.insert("retention_days".into(), json!(d));
                }
                if !sd.is_empty() {
                    a.insert("soft_delete".into(), Value::Object(sd));
                }
            }
            if let Some(i) = immutability {
                a.insert("immutability".into(), json!(i));
            }
            if let Some(p) = pna {
                a.insert("public_network_access".into(), json!(p));
            }
            if let Some(t) = tags {
                a.insert("tags".into(), t);
            }
            Value::Object(a)
        })
}

fn on_remove() -> impl Strategy<Value = OnRemove> {
    prop::sample::select(vec![
        OnRemove::RetainData,
        OnRemove::Suspend,
        OnRemove::DeleteData,
    ])
}

fn luns() -> impl Strategy<Value = Vec<u32>> {
    prop_oneof![3 => Just(vec![]), 1 => prop::sample::subsequence(vec![0u32, 1, 2], 1..=2)]
}

fn selector() -> impl Strategy<Value = SelectorSpec> {
    (
        0usize..3,
        prop::option::of(prop::sample::select(vec!["gold", "silver"])),
        prop::sample::subsequence(vec!["rg-app", "rg-web"], 0..=2),
        luns(),
    )
        .prop_map(|(policy, tag, rgs, exclude)| SelectorSpec {
            policy,
            tag,
            rgs,
            exclude,
        })
}

fn vault_spec() -> impl Strategy<Value = VaultSpec> {
    (
        vault_attrs(),
        on_remove(),
        prop::sample::subsequence(POLICY_NAMES.to_vec(), 1..=3),
        prop::collection::vec(valid_policy(), 3),
        prop::option::weighted(0.2, selector()),
    )
        .prop_map(|(attrs, on_remove, names, bodies, selector)| VaultSpec {
            attrs,
            on_remove,
            policies: names.into_iter().zip(bodies).collect(),
            selector,
        })
}

fn protect_entry(weight: f64) -> impl Strategy<Value = ProtectSpec> {
    prop::option::weighted(weight, (0usize..2, 0usize..3, luns()))
}

fn desired_spec() -> impl Strategy<Value = DesiredSpec> {
    (
        prop::option::of(tags()),
        prop::collection::vec(vault_spec(), 1..=2),
        prop::collection::vec(protect_entry(0.5), 5),
        protect_entry(0.1),  // far-01, in another region
        protect_entry(0.05), // the ghost
    )
        .prop_map(|(rg, vaults, mut protect, far, ghost)| {
            protect.push(far);
            protect.push(ghost);
            DesiredSpec {
                rg,
                vaults,
                protect,
            }
        })
}

fn build_desired(s: &DesiredSpec) -> Desired {
    let mut d = Desired {
        subscription: SUB.into(),
        ..Desired::default()
    };
    if let Some(t) = &s.rg {
        d.resources.push(Resource {
            address: rg_address(),
            arm_id: resource_group::arm_id(SUB, VAULT_RG),
            attrs: json!({"location": "westeurope", "tags": t}),
            depends_on: vec![],
        });
    }
    for (i, v) in s.vaults.iter().enumerate() {
        let vault_addr = Address::new(ResourceKind::RecoveryVault, VAULTS[i]);
        d.resources.push(Resource {
            address: vault_addr.clone(),
            arm_id: vault_id(i),
            attrs: v.attrs.clone(),
            depends_on: s.rg.iter().map(|_| rg_address()).collect(),
        });
        d.vaults.push(VaultScope {
            name: VAULTS[i].into(),
            arm_id: vault_id(i),
            location: "westeurope".into(),
            on_remove: v.on_remove,
        });
        for (name, attrs) in &v.policies {
            d.resources.push(Resource {
                address: Address::new(ResourceKind::BackupPolicy, format!("{}/{name}", VAULTS[i])),
                arm_id: backup_policy::arm_id(&vault_id(i), name),
                attrs: attrs.clone(),
                depends_on: vec![vault_addr.clone()],
            });
        }
        if let Some(sel) = &v.selector {
            d.selectors.push(VmSelector {
                vault: VAULTS[i].into(),
                policy: v.policies[sel.policy % v.policies.len()].0.into(),
                subscription: SUB.into(),
                resource_groups: sel.rgs.iter().map(|r| r.to_string()).collect(),
                tags: sel
                    .tag
                    .iter()
                    .map(|t| ("backup".to_string(), t.to_string()))
                    .collect(),
                exclude_disks: sel.exclude.clone(),
            });
        }
    }
    let names = INVENTORY
        .iter()
        .map(|(rg, n, _, _)| (*rg, *n))
        .chain(std::iter::once(GHOST));
    for ((rg, name), entry) in names.zip(&s.protect) {
        let Some((v, p, exclude)) = entry else {
            continue;
        };
        let v = v % s.vaults.len();
        let policies = &s.vaults[v].policies;
        let policy = policies[p % policies.len()].0;
        let mut attrs = json!({"vm_id": vm_id(rg, name), "policy": policy, "state": "protected"});
        if !exclude.is_empty() {
            attrs["exclude_disks"] = json!(exclude);
        }
        d.resources.push(Resource {
            address: Address::new(
                ResourceKind::ProtectedVm,
                format!("{}/{rg}/{name}", VAULTS[v]),
            ),
            arm_id: protected_vm::arm_id(&vault_id(v), rg, name),
            attrs,
            depends_on: vec![Address::new(
                ResourceKind::BackupPolicy,
                format!("{}/{policy}", VAULTS[v]),
            )],
        });
    }
    d
}

// ------------------------------------------------------------------ live side

#[derive(Debug, Clone)]
enum PolicyLive {
    Absent,
    Same,
    /// Edited behind our back (`true`: to another tier, which Azure cannot do in place).
    Drifted(Value, bool),
}

#[derive(Debug, Clone)]
struct VaultDrift {
    storage: Option<&'static str>,
    crr: Option<bool>,
    soft: Option<&'static str>,
    immutability: Option<&'static str>,
    pna: Option<bool>,
    tag: Option<&'static str>,
    /// The file's tag names reported in another case (`Managed-By`).
    tag_key_case: bool,
}

#[derive(Debug, Clone)]
struct LiveVaultSpec {
    exists: bool,
    drift: VaultDrift,
    /// One per desired policy (by index).
    policies: Vec<PolicyLive>,
    /// Live-only policies the file does not declare.
    extras: Vec<(&'static str, Value)>,
    builtins: (Value, Value),
    /// Policy names as the portal spelled them (`Gold` for the file's `gold`).
    capitalized: bool,
}

#[derive(Debug, Clone)]
struct LiveItem {
    /// Declared vault index (modulo their number); `usize::MAX` = a vault the file does not manage.
    vault: usize,
    state: &'static str,
    policy: usize,
    exclude: Vec<u32>,
    include: bool,
    /// Azure reports the VM id in another case.
    shout: bool,
}

#[derive(Debug, Clone)]
struct LiveSpec {
    rg_exists: bool,
    rg_tag: Option<&'static str>,
    vaults: Vec<LiveVaultSpec>,
    items: Vec<Option<LiveItem>>,
}

fn drifted<T: std::fmt::Debug + Clone + 'static>(
    s: impl Strategy<Value = T> + 'static,
) -> BoxedStrategy<Option<T>> {
    prop::option::weighted(0.15, s).boxed()
}

fn vault_drift() -> impl Strategy<Value = VaultDrift> {
    (
        drifted(prop::sample::select(vec![
            "LocallyRedundant",
            "ZoneRedundant",
            "GeoRedundant",
        ])),
        drifted(any::<bool>()),
        drifted(prop::sample::select(vec!["On", "Off", "AlwaysOn"])),
        drifted(prop::sample::select(vec!["Disabled", "Unlocked", "Locked"])),
        drifted(any::<bool>()),
        drifted(prop::sample::select(vec!["azprotect", "someone-else"])),
        prop::bool::weighted(0.2),
    )
        .prop_map(
            |(storage, crr, soft, immutability, pna, tag, tag_key_case)| VaultDrift {
                storage,
                crr,
                soft,
                immutability,
                pna,
                tag,
                tag_key_case,
            },
        )
}

fn policy_live() -> impl Strategy<Value = PolicyLive> {
    prop_oneof![
        1 => Just(PolicyLive::Absent),
        4 => Just(PolicyLive::Same),
        1 => (valid_policy(), prop::bool::weighted(0.2)).prop_map(|(p, t)| PolicyLive::Drifted(p, t)),
    ]
}

fn live_vault_spec() -> impl Strategy<Value = LiveVaultSpec> {
    (
        prop::bool::weighted(0.85),
        vault_drift(),
        prop::collection::vec(policy_live(), 3),
        prop::sample::subsequence(EXTRA_POLICIES.to_vec(), 0..=2),
        prop::collection::vec(valid_policy(), 2),
        (valid_policy(), valid_policy()),
        prop::bool::weighted(0.2),
    )
        .prop_map(
            |(exists, drift, policies, extra_names, extra_bodies, builtins, capitalized)| {
                LiveVaultSpec {
                    exists,
                    drift,
                    policies,
                    extras: extra_names.into_iter().zip(extra_bodies).collect(),
                    builtins,
                    capitalized,
                }
            },
        )
}

fn live_item() -> impl Strategy<Value = LiveItem> {
    (
        prop_oneof![9 => Just(0usize), 9 => Just(1), 1 => Just(usize::MAX)],
        prop::sample::select(vec!["protected", "stopped", "suspended", "soft_deleted"]),
        0usize..8,
        luns(),
        prop::bool::weighted(0.2),
        prop::bool::weighted(0.3),
    )
        .prop_map(|(vault, state, policy, exclude, include, shout)| LiveItem {
            vault,
            state,
            policy,
            exclude,
            include,
            shout,
        })
}

fn live_spec() -> impl Strategy<Value = LiveSpec> {
    (
        prop::bool::weighted(0.85),
        prop::option::of(prop::sample::select(vec!["azprotect", "someone-else"])),
        prop::collection::vec(live_vault_spec(), 2),
        prop::collection::vec(prop::option::weighted(0.5, live_item()), INVENTORY.len()),
    )
        .prop_map(|(rg_exists, rg_tag, vaults, items)| LiveSpec {
            rg_exists,
            rg_tag,
            vaults,
            items,
        })
}

/// The vault's live attributes: Azure's defaults, the file's settings, then the drift.
fn live_vault_attrs(desired: &Value, drift: &VaultDrift) -> Value {
    let mut a = merge(&vault_defaults(), desired);
    a["tags"]["createdBy"] = json!("portal");
    if let Some(s) = drift.storage {
        a["storage_redundancy"] = json!(s);
    }
    if let Some(c) = drift.crr {
        a["cross_region_restore"] = json!(c);
    }
    if a["storage_redundancy"] != "GeoRedundant" {
        a["cross_region_restore"] = json!(false);
    }
    if let Some(s) = drift.soft {
        a["soft_delete"]["state"] = json!(s);
    }
    if let Some(i) = drift.immutability {
        a["immutability"] = json!(i);
    }
    if let Some(p) = drift.pna {
        a["public_network_access"] = json!(p);
    }
    if let Some(t) = drift.tag {
        a["tags"]["managed-by"] = json!(t);
    }
    if drift.tag_key_case {
        let tags = a["tags"].as_object_mut().unwrap();
        if let Some(v) = tags.remove("managed-by") {
            tags.insert("Managed-By".into(), v);
        }
    }
    a
}

/// `gold` → `Gold`.
fn capitalize(name: &str) -> String {
    let mut c = name.chars();
    c.next()
        .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
        .unwrap_or_default()
}

fn item_address(vault: &str, vm_id: &str) -> Address {
    let id = ArmId::new(vm_id);
    Address::new(
        ResourceKind::ProtectedVm,
        format!(
            "{vault}/{}/{}",
            id.resource_group().unwrap_or_default(),
            id.name()
        ),
    )
}

/// A live item of a declared vault, the way `live::read` builds it.
fn live_item_resource(vault: usize, vm_id: &str, attrs: Value) -> Resource {
    let id = ArmId::new(vm_id);
    let policy = attrs["policy"].as_str().unwrap_or_default().to_string();
    Resource {
        address: item_address(VAULTS[vault], vm_id),
        arm_id: protected_vm::arm_id(
            &vault_id(vault),
            id.resource_group().unwrap_or_default(),
            id.name(),
        ),
        attrs,
        depends_on: if policy.is_empty() {
            vec![]
        } else {
            vec![Address::new(
                ResourceKind::BackupPolicy,
                format!("{}/{policy}", VAULTS[vault]),
            )]
        },
    }
}

fn policy_resource(vault: usize, name: &str, attrs: Value) -> Resource {
    Resource {
        address: Address::new(
            ResourceKind::BackupPolicy,
            format!("{}/{name}", VAULTS[vault]),
        ),
        arm_id: backup_policy::arm_id(&vault_id(vault), name),
        attrs,
        depends_on: vec![Address::new(ResourceKind::RecoveryVault, VAULTS[vault])],
    }
}

/// Azure spells ids its own way: resource group and VM name in upper case.
fn shouted(rg: &str, name: &str) -> String {
    vm_id(&rg.to_ascii_uppercase(), &name.to_ascii_uppercase())
}

fn build_live(d: &DesiredSpec, l: &LiveSpec) -> LiveState {
    let mut live = LiveState {
        vms: vms(),
        ..LiveState::default()
    };
    let nv = d.vaults.len();
    // A vault lives in its resource group: when the file declares the group and it is missing,
    // so are the vaults.
    let rg_missing = d.rg.is_some() && !l.rg_exists;
    let exists = |i: usize| l.vaults[i].exists && !rg_missing;
    if let Some(t) = &d.rg {
        if l.rg_exists {
            let mut tags = t.clone();
            tags["owner"] = json!("ops");
            if let Some(x) = l.rg_tag {
                tags["managed-by"] = json!(x);
            }
            live.resources.push(Resource {
                address: rg_address(),
                arm_id: resource_group::arm_id(SUB, VAULT_RG),
                attrs: json!({"location": "westeurope", "tags": tags}),
                depends_on: vec![],
            });
        }
    }
    let mut policy_names: Vec<Vec<(String, String)>> = vec![vec![]; nv];
    for (i, (dv, lv)) in d.vaults.iter().zip(&l.vaults).enumerate() {
        if !exists(i) {
            continue;
        }
        live.resources.push(Resource {
            address: Address::new(ResourceKind::RecoveryVault, VAULTS[i]),
            arm_id: vault_id(i),
            attrs: live_vault_attrs(&dv.attrs, &lv.drift),
            depends_on: vec![],
        });
        let mut policies: Vec<(String, Value)> = vec![];
        for ((name, attrs), pl) in dv.policies.iter().zip(&lv.policies) {
            let name = if lv.capitalized {
                capitalize(name)
            } else {
                name.to_string()
            };
            match pl {
                PolicyLive::Absent => {}
                PolicyLive::Same => policies.push((name, attrs.clone())),
                PolicyLive::Drifted(a, other_tier) => {
                    let keep = (a["tier"] == attrs["tier"]) != *other_tier;
                    policies.push((name, if keep { a.clone() } else { attrs.clone() }))
                }
            }
        }
        policies.extend(lv.extras.iter().map(|(n, a)| (n.to_string(), a.clone())));
        policies.push(("DefaultPolicy".into(), lv.builtins.0.clone()));
        policies.push(("EnhancedPolicy".into(), lv.builtins.1.clone()));
        for (name, attrs) in policies {
            policy_names[i].push((
                name.to_string(),
                attrs["tier"].as_str().unwrap_or_default().to_string(),
            ));
            live.resources.push(policy_resource(i, &name, attrs));
        }
    }
    for ((rg, name, _, _), item) in INVENTORY.iter().zip(&l.items) {
        let Some(item) = item else { continue };
        let id = if item.shout {
            shouted(rg, name)
        } else {
            vm_id(rg, name)
        };
        let vault = if item.vault == usize::MAX {
            nv
        } else {
            item.vault % nv
        };
        if vault == nv || !exists(vault) {
            live.protected_elsewhere.insert(
                id.to_ascii_lowercase(),
                Elsewhere {
                    vault: other_vault_id(),
                    state: item.state.into(),
                },
            );
            continue;
        }
        let names = &policy_names[vault];
        let mut state = item.state;
        let policy = match state {
            "protected" | "suspended" => names[item.policy % names.len()].0.clone(),
            _ => String::new(),
        };
        if state == "suspended" {
            // Only an immutable vault holds suspended items: keep the estate one Azure allows.
            let imm = live_vault_attrs(&d.vaults[vault].attrs, &l.vaults[vault].drift)
                ["immutability"]
                .clone();
            if imm == "Disabled" {
                state = "stopped";
            }
        }
        let policy = if state == "stopped" {
            String::new()
        } else {
            policy
        };
        let mut attrs = json!({"vm_id": id, "policy": policy});
        if !item.exclude.is_empty() {
            let key = if item.include {
                "include_disks"
            } else {
                "exclude_disks"
            };
            attrs[key] = json!(item.exclude);
        }
        attrs["state"] = json!(state);
        live.resources.push(live_item_resource(vault, &id, attrs));
    }
    live
}

/// What Azure would report for exactly the file: settings the file leaves alone at their
/// defaults, extra tags others put on, built-in policies, items in Azure's id case.
fn live_from_desired(d: &Desired, shout: &[bool]) -> LiveState {
    let mut live = LiveState {
        vms: vms(),
        ..LiveState::default()
    };
    let wanted = azprotect::plan::resolve(d, &live);
    let capitalized = shout[0];
    for (n, r) in wanted.iter().enumerate() {
        let mut r = r.clone();
        match r.address.kind {
            ResourceKind::ResourceGroup => {
                r.attrs["tags"]["owner"] = json!("ops");
                r.depends_on.clear();
            }
            ResourceKind::RecoveryVault => {
                r.attrs = merge(&vault_defaults(), &r.attrs);
                r.attrs["tags"]["createdBy"] = json!("portal");
                if let Some(v) = r.attrs["tags"]
                    .as_object_mut()
                    .unwrap()
                    .remove("managed-by")
                {
                    // Azure keeps the tag name's case from whoever set it first.
                    r.attrs["tags"]["Managed-By"] = v;
                }
                r.depends_on.clear();
            }
            ResourceKind::BackupPolicy if capitalized => {
                let (vault, name) = r.address.name.split_once('/').unwrap();
                let v = VAULTS.iter().position(|x| *x == vault).unwrap();
                r = policy_resource(v, &capitalize(name), r.attrs);
            }
            ResourceKind::BackupPolicy => {}
            ResourceKind::ProtectedVm => {
                let v = VAULTS
                    .iter()
                    .position(|v| r.address.name.starts_with(&format!("{v}/")))
                    .unwrap();
                let vm = ArmId::new(r.attrs["vm_id"].as_str().unwrap());
                let id = if shout.get(n % shout.len().max(1)).copied().unwrap_or(false) {
                    shouted(vm.resource_group().unwrap(), vm.name())
                } else {
                    vm.to_string()
                };
                r.attrs["vm_id"] = json!(id);
                if capitalized {
                    r.attrs["policy"] = json!(capitalize(r.attrs["policy"].as_str().unwrap()));
                }
                r = live_item_resource(v, &id, r.attrs);
            }
        }
        live.resources.push(r);
    }
    for (i, _) in d.vaults.iter().enumerate() {
        for name in ["DefaultPolicy", "EnhancedPolicy"] {
            live.resources.push(policy_resource(
                i,
                name,
                json!({"tier": "standard", "schedule": {"daily": {"at": "23:00"}}, "time_zone": "UTC",
                       "consistency": "application", "instant_restore_days": 2, "retention": {"daily": "30d"}}),
            ));
        }
    }
    live
}

// ------------------------------------------------------------------ checks

fn no_targets() -> PlanOptions {
    PlanOptions::default()
}

fn show(p: &Plan) -> String {
    p.changes
        .iter()
        .map(|c| {
            format!(
                "{} {:?}{}{} deps={:?} diff={:?}",
                c.address,
                c.action,
                c.data.map(|d| format!(" data={d:?}")).unwrap_or_default(),
                c.blocked
                    .as_deref()
                    .map(|b| format!(" BLOCKED({b})"))
                    .unwrap_or_default(),
                c.depends_on
                    .iter()
                    .map(|a| a.to_string())
                    .collect::<Vec<_>>(),
                c.diff
                    .iter()
                    .map(|d| format!("{}: {:?} -> {:?}", d.path, d.before, d.after))
                    .collect::<Vec<_>>()
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A protected VM's requests carry exactly the change: the last PUT names the VM, the policy and
/// the exclusions of `after`; a soft-deleted item is undeleted first; a delete's data effect
/// picks stop, suspend or DELETE.
fn check_item_requests(
    c: &azprotect::plan::Change,
    reqs: &[azprotect::model::ArmRequest],
) -> Result<(), TestCaseError> {
    use azprotect::model::Method;
    if c.address.kind != ResourceKind::ProtectedVm {
        return Ok(());
    }
    for r in reqs {
        prop_assert!(
            r.path
                .to_ascii_lowercase()
                .starts_with(&c.arm_id.to_ascii_lowercase()),
            "{}: request to {}",
            c.address,
            r.path
        );
    }
    let last = reqs.last().unwrap();
    let props = last.body.as_ref().map(|b| b["properties"].clone());
    match (c.action, c.data) {
        (Action::Delete, Some(DataEffect::Deleted)) => {
            prop_assert_eq!(last.method, Method::Delete)
        }
        (Action::Delete, Some(effect)) => {
            let want = if effect == DataEffect::Suspended {
                "BackupsSuspended"
            } else {
                "ProtectionStopped"
            };
            prop_assert_eq!(props.unwrap()["protectionState"].clone(), json!(want));
        }
        (Action::Delete, None) => prop_assert!(false, "{}: delete without data", c.address),
        _ => {
            let after = c.after.as_ref().unwrap();
            let props = props.unwrap();
            prop_assert_eq!(last.method, Method::Put);
            prop_assert_eq!(&props["sourceResourceId"], &after["vm_id"]);
            let policy = props["policyId"].as_str().unwrap_or_default();
            prop_assert!(
                ArmId::new(policy)
                    .name()
                    .eq_ignore_ascii_case(after["policy"].as_str().unwrap()),
                "{}: policyId {policy}",
                c.address
            );
            let luns = &props["extendedProperties"]["diskExclusionProperties"];
            let want = after.get("exclude_disks").cloned().unwrap_or(json!([]));
            if !luns.is_null() || want != json!([]) {
                prop_assert_eq!(&luns["diskLunList"], &want);
                prop_assert_eq!(&luns["isInclusionList"], &json!(false));
            }
            let soft_deleted = c
                .before
                .as_ref()
                .is_some_and(|b| b["state"] == "soft_deleted");
            prop_assert_eq!(reqs.len(), if soft_deleted { 2 } else { 1 });
            if soft_deleted {
                prop_assert_eq!(
                    &reqs[0].body.as_ref().unwrap()["properties"]["isRehydrate"],
                    &json!(true)
                );
            }
        }
    }
    Ok(())
}

/// Property 3 (safety) and 5 (requests) on one plan.
fn check_safety(d: &Desired, p: &Plan) -> Result<(), TestCaseError> {
    let addrs: BTreeSet<&Address> = p.changes.iter().map(|c| &c.address).collect();
    prop_assert_eq!(
        addrs.len(),
        p.changes.len(),
        "one change per address\n{}",
        show(p)
    );
    for c in &p.changes {
        if matches!(
            c.address.kind,
            ResourceKind::RecoveryVault | ResourceKind::ResourceGroup
        ) {
            prop_assert!(
                !matches!(c.action, Action::Delete | Action::Replace),
                "{} is never deleted or replaced\n{}",
                c.address,
                show(p)
            );
        }
        if c.data == Some(DataEffect::Deleted) {
            let vault = protected_vm::vault_of(&ArmId::new(c.arm_id.clone()));
            let scope = d.vaults.iter().find(|v| v.arm_id == vault);
            prop_assert_eq!(
                scope.map(|s| s.on_remove),
                Some(OnRemove::DeleteData),
                "{} deletes data without on_remove: delete_data",
                c.address
            );
        }
        if c.address.kind == ResourceKind::ProtectedVm && c.action == Action::Delete {
            prop_assert!(
                c.data.is_some(),
                "{} delete says nothing about data",
                c.address
            );
        }
        for dep in &c.depends_on {
            prop_assert!(
                addrs.contains(dep),
                "{} depends on {dep}, which is not a change of the plan\n{}",
                c.address,
                show(p)
            );
            prop_assert!(dep != &c.address, "{} depends on itself", c.address);
        }
        if c.blocked.is_none() {
            let reqs = requests_for(c);
            prop_assert!(reqs.is_ok(), "{}: {:?}", c.address, reqs.err());
            let reqs = reqs.unwrap();
            prop_assert!(!reqs.is_empty(), "{} sends no request", c.address);
            check_item_requests(c, &reqs)?;
        }
    }
    // The list is in apply order: every dependency comes earlier.
    let position: BTreeMap<&Address, usize> = p
        .changes
        .iter()
        .enumerate()
        .map(|(i, c)| (&c.address, i))
        .collect();
    for (i, c) in p.changes.iter().enumerate() {
        for dep in &c.depends_on {
            prop_assert!(
                position[dep] < i,
                "{} is listed before its dependency {dep}\n{}",
                c.address,
                show(p)
            );
        }
    }
    // No cycles: Kahn's algorithm consumes every change.
    let mut remaining: BTreeMap<&Address, BTreeSet<&Address>> = p
        .changes
        .iter()
        .map(|c| (&c.address, c.depends_on.iter().collect()))
        .collect();
    while !remaining.is_empty() {
        let ready: Vec<&Address> = remaining
            .iter()
            .filter(|(_, deps)| deps.is_empty())
            .map(|(a, _)| *a)
            .collect();
        prop_assert!(!ready.is_empty(), "dependency cycle\n{}", show(p));
        for a in ready {
            remaining.remove(a);
            for deps in remaining.values_mut() {
                deps.remove(a);
            }
        }
    }
    Ok(())
}

fn check_targeting(
    d: &Desired,
    live: &LiveState,
    full: &Plan,
    pick: usize,
) -> Result<(), TestCaseError> {
    let mut patterns: Vec<Address> = full.changes.iter().map(|c| c.address.clone()).collect();
    for v in VAULTS {
        for kind in [
            ResourceKind::RecoveryVault,
            ResourceKind::BackupPolicy,
            ResourceKind::ProtectedVm,
        ] {
            patterns.push(Address::new(kind, v));
        }
    }
    let target = patterns[pick % patterns.len()].clone();
    let t = plan(
        d,
        live,
        &PlanOptions {
            targets: vec![target.clone()],
        },
    );
    let by_addr: BTreeMap<&Address, &azprotect::plan::Change> =
        full.changes.iter().map(|c| (&c.address, c)).collect();
    // Closure of the matched changes over depends_on.
    let mut closure: BTreeSet<&Address> = BTreeSet::new();
    let mut stack: Vec<&Address> = t
        .changes
        .iter()
        .filter(|c| c.address.matches_target(&target))
        .map(|c| &c.address)
        .collect();
    while let Some(a) = stack.pop() {
        if closure.insert(a) {
            if let Some(c) = by_addr.get(a) {
                stack.extend(c.depends_on.iter());
            }
        }
    }
    for c in &t.changes {
        prop_assert_eq!(
            by_addr.get(&c.address).copied(),
            Some(c),
            "targeted change {} is not the full plan's",
            &c.address
        );
        prop_assert!(
            closure.contains(&c.address),
            "{} is in the plan targeted at {target} but neither matches it nor is needed by it",
            c.address
        );
    }
    // A targeted plan that is not blocked applies: its changes never need an excluded one.
    if t.summary.blocked == 0 {
        let applied = simulate(live, &t, &[]);
        prop_assert!(
            applied.is_ok(),
            "plan targeted at {target} fails at apply: {}\n{}",
            applied.as_ref().err().unwrap(),
            show(&t)
        );
    }
    // And every dependency of a kept change is kept.
    let kept: BTreeSet<&Address> = t.changes.iter().map(|c| &c.address).collect();
    for c in &t.changes {
        for dep in &c.depends_on {
            prop_assert!(
                kept.contains(dep),
                "{} kept without its dependency {dep}",
                c.address
            );
        }
    }
    Ok(())
}

// ------------------------------------------------------------------ properties

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, max_shrink_iters: 2000, ..ProptestConfig::default() })]

    /// 1 + 3 + 4 + 5 over drifted estates.
    #[test]
    fn plans_are_safe_targetable_and_converge(
        ds in desired_spec(),
        ls in live_spec(),
        order in prop::collection::vec(any::<usize>(), 48),
        pick in any::<usize>(),
    ) {
        let d = build_desired(&ds);
        let live = build_live(&ds, &ls);
        let p = plan(&d, &live, &no_targets());
        check_safety(&d, &p)?;
        check_targeting(&d, &live, &p, pick)?;
        if p.summary.blocked == 0 {
            let after = simulate(&live, &p, &order);
            prop_assert!(after.is_ok(), "apply fails: {}\nplan:\n{}", after.as_ref().err().unwrap(), show(&p));
            let again = plan(&d, &after.unwrap(), &no_targets());
            prop_assert!(again.is_empty(), "applied estate re-plans:\n{}\nfirst plan:\n{}", show(&again), show(&p));
        }
    }

    /// An apply that stops part-way (interrupted, or a change failed and its dependents were
    /// skipped) leaves an estate whose new plan is still applicable and converges.
    #[test]
    fn an_interrupted_apply_converges_on_the_next_run(
        ds in desired_spec(),
        ls in live_spec(),
        order in prop::collection::vec(any::<usize>(), 48),
        cut in 0usize..12,
    ) {
        let d = build_desired(&ds);
        let live = build_live(&ds, &ls);
        let p = plan(&d, &live, &no_targets());
        if p.summary.blocked > 0 || p.changes.len() < 2 {
            return Ok(()); // (rejecting would exhaust proptest's reject budget)
        }
        let partial = simulate_steps(&live, &p, &order, cut % p.changes.len());
        prop_assert!(partial.is_ok(), "{}", partial.as_ref().err().unwrap());
        let partial = partial.unwrap();
        let p2 = plan(&d, &partial, &no_targets());
        prop_assert_eq!(p2.summary.blocked, 0, "the rest of the apply is blocked:\n{}\nfirst plan:\n{}", show(&p2), show(&p));
        let done = simulate(&partial, &p2, &order);
        prop_assert!(done.is_ok(), "apply fails: {}\nplan:\n{}", done.as_ref().err().unwrap(), show(&p2));
        let again = plan(&d, &done.unwrap(), &no_targets());
        prop_assert!(again.is_empty(), "re-plans:\n{}", show(&again));
    }

    /// The plan does not depend on the order Azure lists resources and VMs in, nor on the
    /// order of the file's resources.
    #[test]
    fn the_plan_ignores_listing_order(
        ds in desired_spec(),
        ls in live_spec(),
        keys in prop::collection::vec(any::<u64>(), 64),
    ) {
        let d = build_desired(&ds);
        let live = build_live(&ds, &ls);
        let p = plan(&d, &live, &no_targets());
        let shuffle = |v: &mut Vec<Resource>| {
            let mut keyed: Vec<(u64, Resource)> = v
                .drain(..)
                .enumerate()
                .map(|(i, r)| (keys[i % keys.len()].rotate_left(i as u32), r))
                .collect();
            keyed.sort_by_key(|(k, _)| *k);
            v.extend(keyed.into_iter().map(|(_, r)| r));
        };
        let mut live2 = live.clone();
        shuffle(&mut live2.resources);
        live2.vms.reverse();
        let mut d2 = d.clone();
        shuffle(&mut d2.resources);
        let p2 = plan(&d2, &live2, &no_targets());
        prop_assert_eq!(&p, &p2, "\n{}\n----\n{}", show(&p), show(&p2));
    }

    /// 2: the file as Azure reports it plans empty.
    #[test]
    fn an_estate_that_matches_the_file_plans_empty(
        ds in desired_spec(),
        shout in prop::collection::vec(any::<bool>(), 1..8),
    ) {
        let d = build_desired(&ds);
        let live = live_from_desired(&d, &shout);
        let p = plan(&d, &live, &no_targets());
        prop_assert!(p.is_empty(), "noise:\n{}", show(&p));
    }

    /// The saved plan's staleness fingerprint does not depend on the order Azure lists things in.
    #[test]
    fn the_live_fingerprint_ignores_listing_order(
        ds in desired_spec(),
        ls in live_spec(),
        keys in prop::collection::vec(any::<u64>(), 64),
    ) {
        let live = build_live(&ds, &ls);
        let mut shuffled = live.clone();
        let mut rs: Vec<(u64, Resource)> = shuffled.resources.drain(..).enumerate().map(|(i, r)| (keys[i % keys.len()] ^ i as u64, r)).collect();
        rs.sort_by_key(|(k, _)| *k);
        shuffled.resources = rs.into_iter().map(|(_, r)| r).collect();
        shuffled.vms.reverse();
        let n = shuffled.vms.len();
        shuffled.vms.rotate_left(keys[0] as usize % n);
        // Tags in another order (ARM does not promise one).
        for r in &mut shuffled.resources {
            if let Some(t) = r.attrs.get_mut("tags").and_then(Value::as_object_mut) {
                let mut entries: Vec<(String, Value)> = std::mem::take(t).into_iter().collect();
                entries.reverse();
                t.extend(entries);
            }
        }
        prop_assert_eq!(live.fingerprint(), shuffled.fingerprint());
    }
}

#[test]
fn the_generators_produce_mostly_applicable_plans() {
    // Guard against a generator change that makes every plan blocked (property 1 would then
    // check nothing).
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let (mut unblocked, mut nonempty) = (0, 0);
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    let mut applied: BTreeMap<String, usize> = BTreeMap::new();
    for _ in 0..200 {
        let ds = desired_spec().new_tree(&mut runner).unwrap().current();
        let ls = live_spec().new_tree(&mut runner).unwrap().current();
        let p = plan(&build_desired(&ds), &build_live(&ds, &ls), &no_targets());
        for c in &p.changes {
            if let Some(b) = &c.blocked {
                *reasons
                    .entry(b.chars().take(40).collect::<String>())
                    .or_insert(0) += 1;
            }
        }
        if p.summary.blocked == 0 {
            unblocked += 1;
            if !p.is_empty() {
                nonempty += 1;
            }
            for c in &p.changes {
                let kind = format!("{:?} {:?} {:?}", c.address.kind, c.action, c.data);
                *applied.entry(kind).or_insert(0) += 1;
            }
        }
    }
    eprintln!("{unblocked}/200 unblocked, {nonempty} of them with changes; applied: {applied:#?}; blocked: {reasons:#?}");
    assert!(
        nonempty >= 30,
        "{unblocked} unblocked, {nonempty} with changes"
    );
    // Every kind of change reaches the convergence property.
    for kind in [
        "RecoveryVault Create None",
        "RecoveryVault Update None",
        "BackupPolicy Create None",
        "BackupPolicy Update None",
        "BackupPolicy Replace None",
        "BackupPolicy Delete None",
        "ProtectedVm Create None",
        "ProtectedVm Update None",
        "ProtectedVm Delete Some(Retained)",
        "ProtectedVm Delete Some(Suspended)",
        "ProtectedVm Delete Some(Deleted)",
        "ResourceGroup Create None",
        "ResourceGroup Update None",
    ] {
        assert!(
            applied.contains_key(kind),
            "no unblocked {kind}: {applied:#?}"
        );
    }
}
