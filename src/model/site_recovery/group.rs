//! A `site_recovery.<name>` block as data, and its expansion into every resource it needs —
//! resolved at plan time against the live VMs (for `select`, and for each VM's disks).

use super::{container_id, fabric_id, fabric_name, replication};
use crate::model::resource_group::normalize_location;
use crate::model::{Address, ArmId, Resource, ResourceKind, VirtualMachine};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// One replication group: what the file says, with ids resolved.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReplicationGroup {
    pub name: String,
    /// The recovery vault's name in the file, and its id (in the target region).
    pub vault: String,
    pub vault_id: ArmId,
    pub source_region: String,
    pub target_region: String,
    pub recovery_points_minutes: u64,
    pub app_consistent_minutes: u64,
    pub target_resource_group_id: String,
    pub cache_storage_account_id: String,
    /// The cache in the target region, for replication back after a failover (re-protect).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_cache_storage_account_id: Option<String>,
    /// `(source vnet id, target vnet id)`.
    #[serde(default)]
    pub network_mappings: Vec<(String, String)>,
    #[serde(default)]
    pub vms: Vec<ReplicatedVmSpec>,
    /// VMs picked at plan time (those in the source region only).
    #[serde(default)]
    pub select: Option<GroupSelector>,
    /// Plan name → attributes (see [`super::recovery_plan`]) without the regions.
    #[serde(default)]
    pub recovery_plans: BTreeMap<String, Value>,
}

/// A VM the file lists, with its target settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReplicatedVmSpec {
    pub vm_id: String,
    pub target_zone: Option<String>,
    pub target_vm_size: Option<String>,
    pub target_availability_set_id: Option<String>,
    pub os_disk_type: Option<String>,
    /// Type for every data disk, unless `data_disk_types` names the LUN.
    pub data_disk_type: Option<String>,
    #[serde(default)]
    pub data_disk_types: BTreeMap<u32, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GroupSelector {
    pub subscription: String,
    pub resource_groups: Vec<String>,
    pub tags: BTreeMap<String, String>,
}

impl GroupSelector {
    fn matches(&self, vm: &VirtualMachine) -> bool {
        vm.matches_scope(&self.subscription, &self.resource_groups, &self.tags)
    }
}

fn addr(kind: ResourceKind, name: String) -> Address {
    Address::new(kind, name)
}

fn short(id: &str) -> String {
    ArmId::new(id).name().to_string()
}

impl ReplicationGroup {
    pub fn policy_id(&self) -> ArmId {
        self.vault_id.child(&["replicationPolicies", &self.name])
    }

    fn region_key(region: &str) -> String {
        normalize_location(region)
    }

    /// Every resource this group needs, given the live VMs.
    pub fn resources(&self, vms: &[VirtualMachine]) -> Vec<Resource> {
        let (src, tgt) = (
            Self::region_key(&self.source_region),
            Self::region_key(&self.target_region),
        );
        let v = &self.vault;
        let vault_addr = addr(ResourceKind::RecoveryVault, v.clone());
        let mut out = Vec::new();
        let fabric = |r: &str| addr(ResourceKind::ReplicationFabric, format!("{v}/{r}"));
        let container = |r: &str| addr(ResourceKind::ProtectionContainer, format!("{v}/{r}"));
        for r in [&src, &tgt] {
            out.push(Resource {
                address: fabric(r),
                arm_id: fabric_id(&self.vault_id, r),
                attrs: json!({"location": r}),
                depends_on: vec![vault_addr.clone()],
            });
            out.push(Resource {
                address: container(r),
                arm_id: container_id(&self.vault_id, r),
                attrs: json!({"location": r}),
                depends_on: vec![fabric(r)],
            });
        }
        let policy_addr = addr(
            ResourceKind::ReplicationPolicy,
            format!("{v}/{}", self.name),
        );
        out.push(Resource {
            address: policy_addr.clone(),
            arm_id: self.policy_id(),
            attrs: json!({"recovery_points_minutes": self.recovery_points_minutes, "app_consistent_minutes": self.app_consistent_minutes}),
            depends_on: vec![vault_addr.clone()],
        });
        let mut forward_mapping = None;
        for (from, to) in [(&src, &tgt), (&tgt, &src)] {
            let name = format!("{}-{from}-to-{to}", self.name);
            let a = addr(ResourceKind::ContainerMapping, format!("{v}/{name}"));
            forward_mapping.get_or_insert(a.clone());
            out.push(Resource {
                address: a,
                arm_id: container_id(&self.vault_id, from).child(&["replicationProtectionContainerMappings", &name]),
                attrs: json!({"target_container_id": container_id(&self.vault_id, to).as_str(), "policy_id": self.policy_id().as_str()}),
                depends_on: vec![container(from), container(to), policy_addr.clone()],
            });
        }
        let mut forward_networks = Vec::new();
        for (s, t) in &self.network_mappings {
            for (from_region, from_net, to_region, to_net, forward) in
                [(&src, s, &tgt, t, true), (&tgt, t, &src, s, false)]
            {
                let name = format!("{}-to-{}", short(from_net), short(to_net));
                let a = addr(ResourceKind::NetworkMapping, format!("{v}/{name}"));
                if forward {
                    forward_networks.push(a.clone());
                }
                out.push(Resource {
                    address: a,
                    arm_id: fabric_id(&self.vault_id, from_region).child(&[
                        "replicationNetworks",
                        &short(from_net),
                        "replicationNetworkMappings",
                        &name,
                    ]),
                    attrs: json!({"source_network_id": from_net, "target_network_id": to_net, "target_fabric": fabric_name(to_region)}),
                    depends_on: vec![fabric(from_region), fabric(to_region)],
                });
            }
        }
        let mut replicated: Vec<(String, Resource)> = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        let find = |id: &str| {
            let id = ArmId::new(id);
            vms.iter().find(|vm| vm.id == id)
        };
        let mut specs: Vec<(ReplicatedVmSpec, Option<&VirtualMachine>)> = self
            .vms
            .iter()
            .map(|s| (s.clone(), find(&s.vm_id)))
            .collect();
        if let Some(sel) = &self.select {
            let mut picked: Vec<&VirtualMachine> = vms
                .iter()
                .filter(|vm| sel.matches(vm) && vm.location.eq_ignore_ascii_case(&src))
                .collect();
            picked.sort_by(|a, b| a.id.cmp(&b.id));
            for vm in picked {
                if !self.vms.iter().any(|s| ArmId::new(&s.vm_id) == vm.id) {
                    specs.push((
                        ReplicatedVmSpec {
                            vm_id: vm.id.to_string(),
                            ..Default::default()
                        },
                        Some(vm),
                    ));
                }
            }
        }
        for (spec, live) in specs {
            let id = ArmId::new(&spec.vm_id);
            if !seen.insert(id.clone()) {
                continue;
            }
            let (rg, name) = (
                id.resource_group().unwrap_or_default().to_string(),
                id.name().to_string(),
            );
            let mut attrs = json!({
                "vm_id": live.map(|l| l.id.to_string()).unwrap_or_else(|| spec.vm_id.clone()),
                "target_region": tgt,
                "policy_id": self.policy_id().as_str(),
                "target_resource_group_id": self.target_resource_group_id,
                "cache_storage_account_id": self.cache_storage_account_id,
                "disks": disks(&spec, live),
                "state": super::replication::ReplicationState::Replicating.as_str(),
            });
            if let [(_, target)] = self.network_mappings.as_slice() {
                attrs["target_network_id"] = json!(target);
            }
            for (k, val) in [
                ("target_zone", &spec.target_zone),
                ("target_vm_size", &spec.target_vm_size),
                (
                    "target_availability_set_id",
                    &spec.target_availability_set_id,
                ),
            ] {
                if let Some(val) = val {
                    attrs[k] = json!(val);
                }
            }
            let mut depends_on = vec![forward_mapping.clone().expect("a forward mapping")];
            depends_on.extend(forward_networks.iter().cloned());
            let r = Resource {
                address: addr(
                    ResourceKind::Replication,
                    format!("{}/{rg}/{name}", self.name),
                ),
                arm_id: replication::item_id(&container_id(&self.vault_id, &src), &name),
                attrs,
                depends_on,
            };
            replicated.push((id.as_str().to_ascii_lowercase(), r));
        }
        for (plan, groups) in &self.recovery_plans {
            let mut depends_on = Vec::new();
            for g in groups["groups"].as_array().into_iter().flatten() {
                for vm in g["vms"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                {
                    if let Some((_, r)) = replicated
                        .iter()
                        .find(|(k, _)| k == &vm.to_ascii_lowercase())
                    {
                        depends_on.push(r.address.clone());
                    }
                }
            }
            let mut attrs = groups.clone();
            attrs["source_region"] = json!(src);
            attrs["target_region"] = json!(tgt);
            out.push(Resource {
                address: addr(ResourceKind::RecoveryPlan, format!("{}/{plan}", self.name)),
                arm_id: self.vault_id.child(&["replicationRecoveryPlans", plan]),
                attrs,
                depends_on,
            });
        }
        out.extend(replicated.into_iter().map(|(_, r)| r));
        out
    }
}

/// The VM's disks (OS first, data by LUN), each with its target type: the file's override, else
/// the source disk's own type (which is what Azure fills in when none is sent).
fn disks(spec: &ReplicatedVmSpec, live: Option<&VirtualMachine>) -> Value {
    let mut out: Vec<Value> = live
        .into_iter()
        .flat_map(|vm| vm.disks.iter())
        .map(|d| {
            let ty = match d.lun {
                None => spec.os_disk_type.clone(),
                Some(lun) => spec
                    .data_disk_types
                    .get(&lun)
                    .cloned()
                    .or_else(|| spec.data_disk_type.clone()),
            }
            .or_else(|| d.sku.clone());
            let mut disk = json!({"disk_id": d.id.as_str()});
            if let Some(ty) = ty {
                disk["target_type"] = json!(ty);
            }
            disk
        })
        .collect();
    out.sort_by_key(|d| {
        d["disk_id"]
            .as_str()
            .unwrap_or_default()
            .to_ascii_lowercase()
    });
    json!(out)
}
