//! The sandbox inventory (CONFIG.md "Sandbox inventory"): the estate that exists before
//! azprotect runs. Parsed from YAML and turned into the resources of a fresh [`State`].
//! `generate:` adds VMs deterministically for scale tests.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{json, Value};

use super::state::{key, Disk, GenericResource, ResourceGroup, State, Vm};
use super::SandboxError;

/// The demo estate used when no inventory is given (matches examples/quickstart.yaml).
pub const DEMO_INVENTORY: &str = include_str!("demo_inventory.yaml");

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Inventory {
    subscriptions: BTreeMap<String, SubInv>,
    #[serde(default)]
    generate: Option<Generate>,
    /// Management-group trees (`tenancy.rs`).
    #[serde(default)]
    management_groups: Vec<super::tenancy::GroupInv>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct SubInv {
    /// The display name (default: `azprotect sandbox <last four of the id>`).
    #[serde(default)]
    name: Option<String>,
    /// `false`: the caller holds no role on the subscription (`tenancy::Tenancy::unreadable`).
    #[serde(default)]
    readable: Option<bool>,
    /// `false`: Resource Graph has not indexed the subscription yet (`tenancy::Tenancy::unindexed`).
    #[serde(default)]
    indexed: Option<bool>,
    #[serde(default)]
    resource_groups: BTreeMap<String, RgInv>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RgInv {
    location: String,
    #[serde(default)]
    tags: BTreeMap<String, String>,
    #[serde(default)]
    vms: BTreeMap<String, VmInv>,
    #[serde(default)]
    disks: BTreeMap<String, DiskInv>,
    #[serde(default)]
    vnets: BTreeMap<String, VnetInv>,
    #[serde(default)]
    storage_accounts: Vec<SaInv>,
    #[serde(default)]
    automation_accounts: BTreeMap<String, AaInv>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct VmInv {
    size: String,
    os: String,
    /// Azure lets a resource live in another region than its resource group.
    #[serde(default)]
    location: Option<String>,
    /// The OS disk's name (default `<vm>-osdisk`); Azure's own tools name it
    /// `<vm>_OsDisk_1_<guid>`.
    #[serde(default)]
    os_disk: Option<String>,
    #[serde(default)]
    zone: Option<Value>,
    #[serde(default)]
    tags: BTreeMap<String, String>,
    #[serde(default)]
    data_disks: Vec<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DiskInv {
    size_gb: u32,
    #[serde(default)]
    location: Option<String>,
    #[serde(default)]
    sku: Option<String>,
    #[serde(default)]
    zone: Option<Value>,
    #[serde(default)]
    tags: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct VnetInv {
    address_space: String,
    #[serde(default)]
    location: Option<String>,
    #[serde(default)]
    subnets: Vec<String>,
}

/// A storage account: its name (in the resource group's region), or `{name, location}`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum SaInv {
    Name(String),
    Placed { name: String, location: String },
}

impl SaInv {
    fn name(&self) -> &str {
        match self {
            SaInv::Name(n) | SaInv::Placed { name: n, .. } => n,
        }
    }

    fn location(&self) -> Option<&str> {
        match self {
            SaInv::Name(_) => None,
            SaInv::Placed { location, .. } => Some(location),
        }
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct AaInv {
    #[serde(default)]
    runbooks: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Generate {
    vms: u32,
    #[serde(default = "one")]
    resource_groups: u32,
    #[serde(default)]
    locations: Vec<String>,
    #[serde(default)]
    tags: BTreeMap<String, Vec<String>>,
    /// Spread the VMs over this many subscriptions: the inventory's first and `N - 1` more
    /// (`tenancy::generated_subscription`), VM `i` in subscription `i % N`, each with
    /// `resource_groups` groups.
    #[serde(default = "one")]
    subscriptions: u32,
}

fn one() -> u32 {
    1
}

fn err(path: &str, message: impl Into<String>) -> SandboxError {
    SandboxError::Inventory {
        path: path.to_string(),
        message: message.into(),
    }
}

fn zone_str(z: &Option<Value>) -> Option<String> {
    match z {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    }
}

/// A deterministic GUID for a resource id (stable `vmId`, disk `uniqueId`).
pub fn stable_guid(seed: &str) -> String {
    uuid::Uuid::new_v5(
        &uuid::Uuid::NAMESPACE_URL,
        seed.to_ascii_lowercase().as_bytes(),
    )
    .to_string()
}

const VALID_OS: [&str; 2] = ["linux", "windows"];

/// Parse an inventory and add its resources to `st` (`path` names the source in errors).
pub fn seed(st: &mut State, yaml: &str, path: &str) -> Result<(), SandboxError> {
    // YAML → ordered JSON first so that "the first subscription" is the first one written.
    let raw: Value = serde_saphyr::from_str(yaml).map_err(|e| err(path, e.to_string()))?;
    let order: Vec<String> = raw
        .get("subscriptions")
        .and_then(|s| s.as_object())
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    let inv: Inventory = serde_json::from_value(raw).map_err(|e| err(path, e.to_string()))?;
    if order.is_empty() {
        return Err(err(
            path,
            "`subscriptions` must list at least one subscription",
        ));
    }
    for sub in &order {
        if uuid::Uuid::parse_str(sub).is_err() {
            return Err(err(path, format!("subscription id '{sub}' is not a GUID")));
        }
        if !st.subscription_known(sub) {
            st.subscriptions.push(sub.clone());
        }
        let Some(sinv) = inv.subscriptions.get(sub) else {
            continue;
        };
        if let Some(name) = &sinv.name {
            st.tenancy
                .names
                .insert(sub.to_ascii_lowercase(), name.clone());
        }
        if sinv.readable == Some(false) {
            st.tenancy.unreadable.insert(sub.to_ascii_lowercase());
        }
        if sinv.indexed == Some(false) {
            st.tenancy.unindexed.insert(sub.to_ascii_lowercase());
        }
        for (rg_name, rg) in &sinv.resource_groups {
            add_rg(st, path, sub, rg_name, rg)?;
        }
    }
    if let Some(g) = &inv.generate {
        generate(st, path, &order[0], g)?;
    }
    super::tenancy::seed_groups(st, path, &inv.management_groups)?;
    Ok(())
}

fn check_name(path: &str, what: &str, name: &str) -> Result<(), SandboxError> {
    let ok = !name.is_empty()
        && name.len() <= 90
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '(' | ')'));
    if ok {
        Ok(())
    } else {
        Err(err(
            path,
            format!("{what} name '{name}' is not a valid Azure resource name"),
        ))
    }
}

/// A resource's region: its own `location` when given, else its resource group's.
fn placed(own: Option<&str>, rg_location: &str) -> String {
    own.map(normalize_location)
        .filter(|l| !l.is_empty())
        .unwrap_or_else(|| rg_location.to_string())
}

fn add_rg(
    st: &mut State,
    path: &str,
    sub: &str,
    rg_name: &str,
    rg: &RgInv,
) -> Result<(), SandboxError> {
    check_name(path, "resource group", rg_name)?;
    let location = normalize_location(&rg.location);
    if location.is_empty() {
        return Err(err(
            path,
            format!("resource group '{rg_name}' has an empty location"),
        ));
    }
    st.resource_groups.insert(
        key(&[sub, rg_name]),
        ResourceGroup {
            subscription: sub.to_string(),
            name: rg_name.to_string(),
            location: location.clone(),
            tags: rg.tags.clone(),
        },
    );
    for (vm_name, vm) in &rg.vms {
        check_name(path, "VM", vm_name)?;
        let os = vm.os.to_ascii_lowercase();
        if !VALID_OS.contains(&os.as_str()) {
            return Err(err(
                path,
                format!(
                    "VM '{vm_name}': os must be linux or windows, not '{}'",
                    vm.os
                ),
            ));
        }
        if let Some(d) = &vm.os_disk {
            check_name(path, "disk", d)?;
        }
        add_vm(
            st,
            vm.os_disk.as_deref(),
            Vm {
                subscription: sub.to_string(),
                resource_group: rg_name.to_string(),
                name: vm_name.clone(),
                location: placed(vm.location.as_deref(), &location),
                size: vm.size.clone(),
                os: if os == "linux" {
                    "Linux".into()
                } else {
                    "Windows".into()
                },
                zone: zone_str(&vm.zone),
                tags: vm.tags.clone(),
                vm_id: String::new(),
                data_disks: vm.data_disks.clone(),
                subnet: None,
            },
        );
    }
    for (disk_name, d) in &rg.disks {
        check_name(path, "disk", disk_name)?;
        let id = disk_id(sub, rg_name, disk_name);
        st.disks.insert(
            key(&[sub, rg_name, disk_name]),
            Disk {
                subscription: sub.to_string(),
                resource_group: rg_name.to_string(),
                name: disk_name.clone(),
                location: placed(d.location.as_deref(), &location),
                size_gb: d.size_gb,
                sku: d.sku.clone().unwrap_or_else(|| "Premium_LRS".into()),
                zone: zone_str(&d.zone),
                tags: d.tags.clone(),
                unique_id: stable_guid(&id),
                os_type: None,
                managed_by: None,
                time_created: "2026-01-05T08:00:00.0000000+00:00".into(),
                source_resource_id: None,
            },
        );
    }
    for (vnet, v) in &rg.vnets {
        let id = format!("/subscriptions/{sub}/resourceGroups/{rg_name}/providers/Microsoft.Network/virtualNetworks/{vnet}");
        let subnets: Vec<Value> = v
            .subnets
            .iter()
            .map(|s| json!({"name": s, "id": format!("{id}/subnets/{s}")}))
            .collect();
        st.resources.insert(
            id.to_ascii_lowercase(),
            GenericResource {
                id: id.clone(),
                name: vnet.clone(),
                rtype: "Microsoft.Network/virtualNetworks".into(),
                location: placed(v.location.as_deref(), &location),
                properties: json!({"addressSpace": {"addressPrefixes": [v.address_space]}, "subnets": subnets, "provisioningState": "Succeeded"}),
            },
        );
    }
    for sa in &rg.storage_accounts {
        let id = format!(
            "/subscriptions/{sub}/resourceGroups/{rg_name}/providers/Microsoft.Storage/storageAccounts/{}",
            sa.name()
        );
        st.resources.insert(
            id.to_ascii_lowercase(),
            GenericResource {
                id,
                name: sa.name().to_string(),
                rtype: "Microsoft.Storage/storageAccounts".into(),
                location: placed(sa.location(), &location),
                properties: json!({"provisioningState": "Succeeded", "kind": "StorageV2"}),
            },
        );
    }
    for (aa, a) in &rg.automation_accounts {
        let id = format!("/subscriptions/{sub}/resourceGroups/{rg_name}/providers/Microsoft.Automation/automationAccounts/{aa}");
        st.resources.insert(
            id.to_ascii_lowercase(),
            GenericResource {
                id,
                name: aa.clone(),
                rtype: "Microsoft.Automation/automationAccounts".into(),
                location: location.clone(),
                properties: json!({"state": "Ok", "runbooks": a.runbooks}),
            },
        );
    }
    Ok(())
}

pub fn vm_id(sub: &str, rg: &str, vm: &str) -> String {
    format!(
        "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachines/{vm}"
    )
}

pub fn disk_id(sub: &str, rg: &str, disk: &str) -> String {
    format!("/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Compute/disks/{disk}")
}

/// Add a VM and its OS/data disks (`<vm>-osdisk` unless named, `<vm>-data-<lun>`).
pub(super) fn add_vm(st: &mut State, os_disk: Option<&str>, mut vm: Vm) {
    let id = vm_id(&vm.subscription, &vm.resource_group, &vm.name);
    vm.vm_id = stable_guid(&id);
    let mut disks = vec![(
        os_disk.map_or_else(|| format!("{}-osdisk", vm.name), str::to_string),
        if vm.os == "Windows" { 127 } else { 30 },
        Some(vm.os.clone()),
    )];
    for (lun, size) in vm.data_disks.iter().enumerate() {
        disks.push((format!("{}-data-{lun}", vm.name), *size, None));
    }
    for (name, size, os_type) in disks {
        let did = disk_id(&vm.subscription, &vm.resource_group, &name);
        st.disks.insert(
            key(&[&vm.subscription, &vm.resource_group, &name]),
            Disk {
                subscription: vm.subscription.clone(),
                resource_group: vm.resource_group.clone(),
                name,
                location: vm.location.clone(),
                size_gb: size,
                sku: "Premium_LRS".into(),
                zone: vm.zone.clone(),
                tags: BTreeMap::new(),
                unique_id: stable_guid(&did),
                os_type,
                managed_by: Some(id.clone()),
                time_created: "2026-01-05T08:00:00.0000000+00:00".into(),
                source_resource_id: None,
            },
        );
    }
    st.vms
        .insert(key(&[&vm.subscription, &vm.resource_group, &vm.name]), vm);
}

fn generate(st: &mut State, path: &str, first: &str, g: &Generate) -> Result<(), SandboxError> {
    if g.resource_groups == 0 {
        return Err(err(path, "generate.resource_groups must be at least 1"));
    }
    if !(1..=1000).contains(&g.subscriptions) {
        return Err(err(
            path,
            "generate.subscriptions must be between 1 and 1000",
        ));
    }
    let mut subs = vec![first.to_string()];
    for i in 1..g.subscriptions {
        let id = super::tenancy::generated_subscription(i);
        if !st.subscription_known(&id) {
            st.subscriptions.push(id.clone());
        }
        st.tenancy
            .names
            .entry(id.clone())
            .or_insert_with(|| super::tenancy::generated_name(i));
        subs.push(id);
    }
    if g.vms > 200_000 {
        return Err(err(path, "generate.vms must be at most 200000"));
    }
    let locations: Vec<String> = if g.locations.is_empty() {
        vec!["westeurope".into()]
    } else {
        g.locations.iter().map(|l| normalize_location(l)).collect()
    };
    let width = g.vms.max(1).to_string().len().max(4);
    for sub in &subs {
        for r in 0..g.resource_groups {
            let name = format!("rg-gen-{r:03}");
            st.resource_groups.insert(
                key(&[sub, &name]),
                ResourceGroup {
                    subscription: sub.to_string(),
                    name,
                    location: locations[r as usize % locations.len()].clone(),
                    tags: BTreeMap::new(),
                },
            );
        }
    }
    let n = g.subscriptions;
    for i in 0..g.vms {
        // With one subscription this is today's spread: VM i in group i % groups.
        let sub = &subs[(i % n) as usize];
        let r = (i / n) % g.resource_groups;
        let rg = format!("rg-gen-{r:03}");
        let mut tags = BTreeMap::new();
        for (k, values) in &g.tags {
            if !values.is_empty() {
                tags.insert(k.clone(), values[i as usize % values.len()].clone());
            }
        }
        add_vm(
            st,
            None,
            Vm {
                subscription: sub.to_string(),
                resource_group: rg,
                name: format!("vm-{i:0width$}"),
                location: locations[r as usize % locations.len()].clone(),
                size: "Standard_B2s".into(),
                os: if i % 5 == 4 {
                    "Windows".into()
                } else {
                    "Linux".into()
                },
                zone: None,
                tags,
                vm_id: String::new(),
                data_disks: vec![],
                subnet: None,
            },
        );
    }
    Ok(())
}

/// `West Europe` → `westeurope`, as ARM normalizes locations.
pub use crate::model::resource_group::normalize_location;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_inventory_seeds() {
        let mut st = State::default();
        seed(&mut st, DEMO_INVENTORY, "<demo>").unwrap();
        assert_eq!(
            st.subscriptions,
            vec!["00000000-0000-0000-0000-000000000001"]
        );
        assert_eq!(st.vms.len(), 7);
        assert!(st
            .disks
            .contains_key("00000000-0000-0000-0000-000000000001/rg-app/app-01-data-1"));
        assert!(st
            .disks
            .contains_key("00000000-0000-0000-0000-000000000001/rg-app/shared-data"));
    }

    #[test]
    fn generate_is_deterministic() {
        let yaml = "subscriptions:\n  00000000-0000-0000-0000-000000000009: {}\ngenerate: {vms: 25, resource_groups: 3, locations: [westeurope, northeurope], tags: {backup: [gold, none]}}\n";
        let mut a = State::default();
        seed(&mut a, yaml, "x").unwrap();
        let mut b = State::default();
        seed(&mut b, yaml, "x").unwrap();
        assert_eq!(a.vms.len(), 25);
        let ids_a: Vec<_> = a.vms.values().map(|v| v.vm_id.clone()).collect();
        let ids_b: Vec<_> = b.vms.values().map(|v| v.vm_id.clone()).collect();
        assert_eq!(ids_a, ids_b);
    }

    #[test]
    fn generate_spreads_vms_over_subscriptions_the_first_being_the_inventory_s() {
        let yaml = "subscriptions:\n  00000000-0000-0000-0000-000000000009: {}\ngenerate: {vms: 7, subscriptions: 3, resource_groups: 2}\n";
        let mut st = State::default();
        seed(&mut st, yaml, "x").unwrap();
        assert_eq!(
            st.subscriptions,
            [
                "00000000-0000-0000-0000-000000000009",
                "00000000-0000-0000-0001-000000000001",
                "00000000-0000-0000-0001-000000000002"
            ]
        );
        let count = |sub: &str| st.vms.values().filter(|v| v.subscription == sub).count();
        assert_eq!(count(&st.subscriptions[0]), 3, "VMs 0, 3, 6");
        assert_eq!(count(&st.subscriptions[2]), 2);
        assert_eq!(st.resource_groups.len(), 6, "two groups in each");
        assert_eq!(st.disks.len(), 7);
        assert_eq!(st.tenancy.name_of(&st.subscriptions[1]), "sub-gen-001");
        let vm6 = st.vms.values().find(|v| v.name == "vm-0006").unwrap();
        assert_eq!(
            (vm6.subscription.as_str(), vm6.resource_group.as_str()),
            (st.subscriptions[0].as_str(), "rg-gen-000")
        );
        let bad = "subscriptions:\n  00000000-0000-0000-0000-000000000009: {}\ngenerate: {vms: 1, subscriptions: 0}\n";
        assert!(seed(&mut State::default(), bad, "x").is_err());
    }

    #[test]
    fn bad_inventory_is_an_error() {
        let mut st = State::default();
        assert!(seed(&mut st, "subscriptions: [1, 2]", "x").is_err());
        assert!(seed(&mut st, "subscriptions:\n  not-a-guid: {}\n", "x").is_err());
        let bad_os = "subscriptions:\n  00000000-0000-0000-0000-000000000009:\n    resource_groups:\n      rg: {location: westeurope, vms: {a: {size: x, os: beos}}}\n";
        assert!(seed(&mut st, bad_os, "x").is_err());
        assert!(seed(&mut st, ":::", "x").is_err());
    }

    #[test]
    fn a_resource_may_live_in_another_region_than_its_group() {
        // Azure keeps a resource's region apart from its group's; A2A setups need a network and
        // a cache account in each region, often in one group.
        let yaml = "subscriptions:\n  00000000-0000-0000-0000-000000000009:\n    resource_groups:\n      rg:\n        location: eastus\n        vms: {a: {size: Standard_B2s, os: linux, location: westus, os_disk: a_OsDisk_1_x}}\n        disks: {d: {size_gb: 8, location: West US 2}}\n        vnets: {n1: {address_space: 10.0.0.0/16}, n2: {address_space: 10.1.0.0/16, location: eastus2}}\n        storage_accounts: [c1, {name: c2, location: eastus2}]\n";
        let mut st = State::default();
        seed(&mut st, yaml, "x").unwrap();
        let sub = "00000000-0000-0000-0000-000000000009";
        assert_eq!(st.vms[&key(&[sub, "rg", "a"])].location, "westus");
        assert_eq!(
            st.disks[&key(&[sub, "rg", "a_OsDisk_1_x"])].location,
            "westus"
        );
        assert_eq!(st.disks[&key(&[sub, "rg", "d"])].location, "westus2");
        let region = |kind: &str, name: &str| {
            let id = format!("/subscriptions/{sub}/resourcegroups/rg/providers/{kind}/{name}");
            st.resources[&id].location.clone()
        };
        assert_eq!(region("microsoft.network/virtualnetworks", "n1"), "eastus");
        assert_eq!(region("microsoft.network/virtualnetworks", "n2"), "eastus2");
        assert_eq!(region("microsoft.storage/storageaccounts", "c1"), "eastus");
        assert_eq!(region("microsoft.storage/storageaccounts", "c2"), "eastus2");
    }
}
