//! Random, valid estates for the plan invariant tests (`tests/plan_invariants.rs`): one or two
//! declared vaults with policies of every valid shape, protected VMs among a VM inventory (listed
//! and selected by tag), and a live side that drifts from the file in every way Azure allows
//! (vault settings, policies edited or spelled otherwise, live-only and built-in policies, items
//! protected / stopped / suspended / soft-deleted or registered in a vault the file does not
//! manage, ids and tag names in Azure's case).

use super::cases::{valid_policy, SUB};
use super::plan_sim::{merge, vault_defaults};
use azprotect::live::{Elsewhere, LiveState};
use azprotect::model::{
    backup_policy, protected_vm, resource_group, vault, Address, ArmId, Desired, OnRemove,
    Resource, ResourceKind, VaultScope, VirtualMachine, VmSelector,
};
use proptest::prelude::*;
use serde_json::{json, Value};

// ------------------------------------------------------------------ the estate

/// The VM inventory: (resource group, name, region, `backup` tag).
pub const INVENTORY: [(&str, &str, &str, Option<&str>); 6] = [
    ("rg-app", "app-01", "westeurope", Some("gold")),
    ("rg-app", "app-02", "westeurope", None),
    ("rg-app", "app-03", "westeurope", Some("gold")),
    ("rg-web", "web-01", "westeurope", Some("gold")),
    ("rg-web", "web-02", "westeurope", Some("silver")),
    ("rg-neu", "far-01", "northeurope", Some("gold")),
];
/// A VM the file may name that does not exist.
pub const GHOST: (&str, &str) = ("rg-app", "ghost-01");
pub const VAULTS: [&str; 2] = ["rsv-a", "rsv-b"];
pub const VAULT_RG: &str = "rg-protect";
pub const POLICY_NAMES: [&str; 3] = ["gold", "silver", "bronze"];
pub const EXTRA_POLICIES: [&str; 2] = ["old", "Legacy"];

pub fn vault_id(i: usize) -> ArmId {
    vault::arm_id(SUB, VAULT_RG, VAULTS[i])
}

pub fn other_vault_id() -> ArmId {
    vault::arm_id(SUB, "rg-elsewhere", "rsv-unmanaged")
}

pub fn vm_id(rg: &str, name: &str) -> String {
    format!("/subscriptions/{SUB}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachines/{name}")
}

pub fn vms() -> Vec<VirtualMachine> {
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
            disks: vec![],
            size: None,
        })
        .collect()
}

pub fn rg_address() -> Address {
    Address::new(ResourceKind::ResourceGroup, VAULT_RG)
}

// ------------------------------------------------------------------ desired side

#[derive(Debug, Clone)]
pub struct SelectorSpec {
    pub policy: usize,
    pub tag: Option<&'static str>,
    pub rgs: Vec<&'static str>,
    pub exclude: Vec<u32>,
}

#[derive(Debug, Clone)]
pub struct VaultSpec {
    pub attrs: Value,
    pub on_remove: OnRemove,
    pub policies: Vec<(&'static str, Value)>,
    pub selector: Option<SelectorSpec>,
}

/// One `protect` entry: (vault pick, policy pick, excluded LUNs).
pub type ProtectSpec = Option<(usize, usize, Vec<u32>)>;

#[derive(Debug, Clone)]
pub struct DesiredSpec {
    /// Declare the vaults' resource group, with these tags.
    pub rg: Option<Value>,
    pub vaults: Vec<VaultSpec>,
    /// One entry per inventory VM, then the ghost.
    pub protect: Vec<ProtectSpec>,
}

pub fn tags() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!({"managed-by": "azprotect"})),
        Just(json!({"managed-by": "azprotect", "env": "prod"})),
    ]
}

pub fn vault_attrs() -> impl Strategy<Value = Value> {
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

pub fn on_remove() -> impl Strategy<Value = OnRemove> {
    prop::sample::select(vec![
        OnRemove::RetainData,
        OnRemove::Suspend,
        OnRemove::DeleteData,
    ])
}

pub fn luns() -> impl Strategy<Value = Vec<u32>> {
    prop_oneof![3 => Just(vec![]), 1 => prop::sample::subsequence(vec![0u32, 1, 2], 1..=2)]
}

pub fn selector() -> impl Strategy<Value = SelectorSpec> {
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

pub fn vault_spec() -> impl Strategy<Value = VaultSpec> {
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

pub fn protect_entry(weight: f64) -> impl Strategy<Value = ProtectSpec> {
    prop::option::weighted(weight, (0usize..2, 0usize..3, luns()))
}

pub fn desired_spec() -> impl Strategy<Value = DesiredSpec> {
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

pub fn build_desired(s: &DesiredSpec) -> Desired {
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
            restore_drill: None,
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
                locations: vec![],
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
pub enum PolicyLive {
    Absent,
    Same,
    /// Edited behind our back (`true`: to another tier, which Azure cannot do in place).
    Drifted(Value, bool),
}

#[derive(Debug, Clone)]
pub struct VaultDrift {
    pub storage: Option<&'static str>,
    pub crr: Option<bool>,
    pub soft: Option<&'static str>,
    pub immutability: Option<&'static str>,
    pub pna: Option<bool>,
    pub tag: Option<&'static str>,
    /// The file's tag names reported in another case (`Managed-By`).
    pub tag_key_case: bool,
}

#[derive(Debug, Clone)]
pub struct LiveVaultSpec {
    pub exists: bool,
    pub drift: VaultDrift,
    /// One per desired policy (by index).
    pub policies: Vec<PolicyLive>,
    /// Live-only policies the file does not declare.
    pub extras: Vec<(&'static str, Value)>,
    pub builtins: (Value, Value),
    /// Policy names as the portal spelled them (`Gold` for the file's `gold`).
    pub capitalized: bool,
}

#[derive(Debug, Clone)]
pub struct LiveItem {
    /// Declared vault index (modulo their number); `usize::MAX` = a vault the file does not manage.
    pub vault: usize,
    pub state: &'static str,
    pub policy: usize,
    pub exclude: Vec<u32>,
    pub include: bool,
    /// Azure reports the VM id in another case.
    pub shout: bool,
}

#[derive(Debug, Clone)]
pub struct LiveSpec {
    pub rg_exists: bool,
    pub rg_tag: Option<&'static str>,
    pub vaults: Vec<LiveVaultSpec>,
    pub items: Vec<Option<LiveItem>>,
}

pub fn drifted<T: std::fmt::Debug + Clone + 'static>(
    s: impl Strategy<Value = T> + 'static,
) -> BoxedStrategy<Option<T>> {
    prop::option::weighted(0.15, s).boxed()
}

pub fn vault_drift() -> impl Strategy<Value = VaultDrift> {
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

pub fn policy_live() -> impl Strategy<Value = PolicyLive> {
    prop_oneof![
        1 => Just(PolicyLive::Absent),
        4 => Just(PolicyLive::Same),
        1 => (valid_policy(), prop::bool::weighted(0.2)).prop_map(|(p, t)| PolicyLive::Drifted(p, t)),
    ]
}

pub fn live_vault_spec() -> impl Strategy<Value = LiveVaultSpec> {
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

pub fn live_item() -> impl Strategy<Value = LiveItem> {
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

pub fn live_spec() -> impl Strategy<Value = LiveSpec> {
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
pub fn live_vault_attrs(desired: &Value, drift: &VaultDrift) -> Value {
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
pub fn capitalize(name: &str) -> String {
    let mut c = name.chars();
    c.next()
        .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
        .unwrap_or_default()
}

pub fn item_address(vault: &str, vm_id: &str) -> Address {
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
pub fn live_item_resource(vault: usize, vm_id: &str, attrs: Value) -> Resource {
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

pub fn policy_resource(vault: usize, name: &str, attrs: Value) -> Resource {
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
pub fn shouted(rg: &str, name: &str) -> String {
    vm_id(&rg.to_ascii_uppercase(), &name.to_ascii_uppercase())
}

pub fn build_live(d: &DesiredSpec, l: &LiveSpec) -> LiveState {
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
pub fn live_from_desired(d: &Desired, shout: &[bool]) -> LiveState {
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
            _ => {}
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
