//! Site Recovery rules that need live state: where a VM is, what a running drill or a failover
//! forbids, and which edits Azure only accepts as a new replication.

use super::rules::Verdict;
use super::AttrChange;
use crate::model::site_recovery::replication::{self, ReplicationState, REPLACE_ON};
use crate::model::{ArmId, Resource, VirtualMachine};

/// The source region of a replicated item: its fabric is `asr-a2a-default-{region}`.
fn source_region(item: &ArmId) -> Option<&str> {
    item.value_of("replicationFabrics")?
        .strip_prefix("asr-a2a-default-")
}

/// `vm` is the live VM the replication is for, if it exists; `cache` the live cache storage
/// account (`Some(None)`: read and absent; `None`: not read).
pub fn on_create(
    want: &Resource,
    vm: Option<&VirtualMachine>,
    cache: Option<Option<&serde_json::Value>>,
    v: &mut Verdict,
) {
    let wants = replication::Attrs(&want.attrs);
    let vm_id = wants.vm_id().unwrap_or_default();
    let Some(vm) = vm else {
        v.block(format!("VM {vm_id} does not exist"));
        return;
    };
    if let Some(region) = source_region(&want.arm_id) {
        if !vm.location.eq_ignore_ascii_case(region) {
            v.block(format!(
                "VM is in {}, but this replication group replicates from {region}",
                vm.location
            ));
        }
    }
    if wants.disks().as_array().is_some_and(Vec::is_empty) {
        v.block("the VM has no managed disks to replicate");
    }
    if let Some(size) = wants.target_vm_size() {
        if !same_size(vm, size) {
            v.reasons.push(format!(
                "the target VM size {size} is set once initial replication has finished (Azure takes it only then): apply waits for it"
            ));
        }
    }
    if let (Some(account), Some(region)) = (cache, source_region(&want.arm_id)) {
        let id = wants.cache_storage_account_id().unwrap_or_default();
        if let Some(why) =
            crate::model::site_recovery::setup::cache_account_problem(account, id, region)
        {
            v.block(why);
        }
    }
}

/// Does the VM already have this size? Then the replica gets it without a later update (Azure
/// gives the replica the source VM's size unless told otherwise), and apply need not wait.
pub fn same_size(vm: &VirtualMachine, size: &str) -> bool {
    vm.size
        .as_deref()
        .is_some_and(|s| s.eq_ignore_ascii_case(size))
}

pub fn on_update(want: &Resource, have: &Resource, diff: &[AttrChange], v: &mut Verdict) {
    match replication::Attrs(&have.attrs).replication_state() {
        ReplicationState::TestFailover => {
            v.block("a test failover (drill) is running for this VM: clean it up first");
            return;
        }
        ReplicationState::FailedOver => {
            v.block(
                "this VM has failed over: commit and re-protect it (`azprotect commit`, `azprotect reprotect`) before changing its replication",
            );
            return;
        }
        ReplicationState::Error => {
            v.block("replication is unhealthy: resolve its health errors in Azure first");
            return;
        }
        _ => {}
    }
    let forced: Vec<&str> = REPLACE_ON
        .iter()
        .copied()
        .filter(|k| {
            diff.iter()
                .any(|d| d.path == *k || d.path.starts_with(&format!("{k}.")))
        })
        .collect();
    if !forced.is_empty() {
        v.replace = true;
        v.reasons.push(format!(
            "{} cannot change in place: replication is disabled and enabled again, which starts a new initial replication",
            forced.join(", ")
        ));
    } else {
        v.reasons.push(
            "Azure takes replication settings only once initial replication has finished: apply waits for it if it has not".into(),
        );
    }
    let _ = want;
}

/// Container mappings and replication policies made in the portal or with Azure's CLI carry
/// their own names — recording: azure-cli-extensions/test_siterecovery_A2A_scenarios.yaml #22
/// L1050 (mapping `cli-test-container-mapping-A2A-1` with policy `cli-test-vault-policy-A2A-1`);
/// the portal's are `{source}-{target}-{policy}` and `24-hour-retention-policy` — while the
/// planner names a group's after the group (`model::site_recovery::group`). A declared mapping
/// whose id is not live is the live mapping out of the same source container into the same
/// target container whose policy has the declared policy's settings: `wanted` takes that
/// mapping's id, and the declared policy that policy's id (also in every `policy_id` that named
/// it: the other mappings' and the replications', where a changed policy would replace the
/// replication), so that nothing is created beside them or replaced. A live mapping is adopted
/// once, and never when the declared policy itself is live (its replications keep it). As
/// `plan::disk_backup::adopt_policies` does for disk policies.
pub fn adopt_setup(wanted: &mut [Resource], live: &crate::model::LiveState) {
    use crate::model::ResourceKind;
    let is_live = |id: &ArmId| live.resources.iter().any(|l| &l.arm_id == id);
    let live_of = |kind: ResourceKind| {
        live.resources
            .iter()
            .filter(move |r| r.address.kind == kind)
    };
    let attrs_of = |resources: &[Resource], id: &str| {
        resources
            .iter()
            .find(|r| {
                r.address.kind == ResourceKind::ReplicationPolicy && r.arm_id == ArmId::new(id)
            })
            .map(|r| r.attrs.clone())
    };
    let ownership = crate::model::family::of(ResourceKind::ReplicationPolicy).ownership;
    // Declared policy id → live policy id; declared mapping index → live mapping id.
    let mut policies: Vec<(ArmId, ArmId)> = Vec::new();
    let mut mappings: Vec<(usize, ArmId)> = Vec::new();
    for (i, m) in wanted.iter().enumerate() {
        if m.address.kind != ResourceKind::ContainerMapping || is_live(&m.arm_id) {
            continue;
        }
        let s = |k: &str| m.attrs[k].as_str().unwrap_or_default().to_string();
        let (target, declared_policy) = (ArmId::new(s("target_container_id")), s("policy_id"));
        let Some(want_policy) = attrs_of(wanted, &declared_policy) else {
            continue;
        };
        let declared_policy = ArmId::new(&declared_policy);
        if is_live(&declared_policy) {
            // The declared policy exists (and live replications may name it): adopting another
            // would change their policy and replace them.
            continue;
        }
        let adopted_policy = policies
            .iter()
            .find(|(d, _)| *d == declared_policy)
            .map(|(_, l)| l.clone());
        let found = live_of(ResourceKind::ContainerMapping).find(|l| {
            // One live mapping stands for one declared mapping at most.
            if mappings.iter().any(|(_, taken)| *taken == l.arm_id) {
                return false;
            }
            let la = |k: &str| l.attrs[k].as_str().unwrap_or_default();
            let policy = ArmId::new(la("policy_id"));
            l.arm_id.parent(1) == m.arm_id.parent(1)
                && ArmId::new(la("target_container_id")) == target
                && adopted_policy.as_ref().is_none_or(|a| *a == policy)
                && live_of(ResourceKind::ReplicationPolicy).any(|p| {
                    p.arm_id == policy
                        && super::attrs::diff(&want_policy, &p.attrs, ownership).is_empty()
                })
        });
        let Some(found) = found else { continue };
        let policy = ArmId::new(found.attrs["policy_id"].as_str().unwrap_or_default());
        if adopted_policy.is_none() && policy != declared_policy {
            policies.push((declared_policy, policy));
        }
        mappings.push((i, found.arm_id.clone()));
    }
    for (i, id) in mappings {
        wanted[i].arm_id = id;
    }
    for r in wanted.iter_mut() {
        for (declared, adopted) in &policies {
            if r.address.kind == ResourceKind::ReplicationPolicy && r.arm_id == *declared {
                r.arm_id = adopted.clone();
            }
            let names = r.attrs["policy_id"]
                .as_str()
                .is_some_and(|p| ArmId::new(p) == *declared);
            if names {
                r.attrs["policy_id"] = serde_json::json!(adopted.as_str());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Address, LiveState, ResourceKind};
    use serde_json::json;

    const C: &str = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/v/replicationFabrics/f/replicationProtectionContainers";

    fn policy(name: &str, hours: u64) -> Resource {
        Resource {
            address: Address::new(ResourceKind::ReplicationPolicy, format!("v/{name}")),
            arm_id: ArmId::new(format!("/subscriptions/s/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/v/replicationPolicies/{name}")),
            attrs: json!({"recovery_points_minutes": hours * 60, "app_consistent_minutes": 0}),
            depends_on: vec![],
        }
    }

    fn mapping(name: &str, policy: &Resource) -> Resource {
        Resource {
            address: Address::new(ResourceKind::ContainerMapping, format!("v/{name}")),
            arm_id: ArmId::new(format!(
                "{C}/src/replicationProtectionContainerMappings/{name}"
            )),
            attrs: json!({"target_container_id": format!("{C}/tgt"), "policy_id": policy.arm_id.as_str()}),
            depends_on: vec![],
        }
    }

    #[test]
    fn a_portal_mapping_is_adopted_once_and_never_over_a_live_declared_policy() {
        let portal = policy("24-hour-retention-policy", 24);
        let live = LiveState {
            resources: vec![portal.clone(), mapping("portal-mapping", &portal)],
            ..LiveState::default()
        };
        // Two groups declare the same connection: the first adopts the portal mapping, the
        // second does not take it as well.
        let (a, b) = (policy("dr-a", 24), policy("dr-b", 24));
        let mut wanted = vec![
            a.clone(),
            mapping("dr-a-src-to-tgt", &a),
            b.clone(),
            mapping("dr-b-src-to-tgt", &b),
        ];
        adopt_setup(&mut wanted, &live);
        assert!(wanted[1].arm_id.as_str().ends_with("/portal-mapping"));
        assert_eq!(wanted[0].arm_id, portal.arm_id);
        assert!(
            wanted[3].arm_id.as_str().ends_with("/dr-b-src-to-tgt"),
            "{}",
            wanted[3].arm_id
        );
        assert!(wanted[2].arm_id.as_str().ends_with("/dr-b"));

        // The declared policy is live itself (its replications name it): nothing is adopted.
        let mut live = live;
        live.resources.push(a.clone());
        let mut wanted = vec![a.clone(), mapping("dr-a-src-to-tgt", &a)];
        adopt_setup(&mut wanted, &live);
        assert_eq!(wanted[0].arm_id, a.arm_id);
        assert!(wanted[1].arm_id.as_str().ends_with("/dr-a-src-to-tgt"));
    }
}
