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
