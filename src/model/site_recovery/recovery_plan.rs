//! `recovery_plan.<name>/<plan>` — `vaults/replicationRecoveryPlans`.
//!
//! Attributes: the regions (`source_region`, `target_region`: the plan's fabrics) and the user's boot groups, in order, with the VMs of each group (sorted — Azure does
//! not order VMs within a group) and the actions before/after the group (in order):
//! ```json
//! {"groups": [
//!   {"vms": ["/subscriptions/…/virtualMachines/db-01"],
//!    "before": [],
//!    "after": [{"name": "warm-cache", "runbook": "/subscriptions/…/runbooks/warm-cache",
//!               "on": ["failover", "test_failover"], "direction": ["primary_to_recovery"],
//!               "fabric_location": "recovery"}]}
//! ]}
//! ```
//! Azure prepends a Shutdown and a Failover group to every plan; they are not the user's and are
//! dropped when empty (kept, under `shutdown`/`failover`, when someone put actions there).
//! Action `on` values: `failover` (unplanned), `planned_failover`, `test_failover`;
//! `direction`: `primary_to_recovery`, `recovery_to_primary`. Both sorted; when absent Azure's
//! default (all types, both directions) is spelled out so that live and desired agree.

use super::versioned;
use crate::model::family::{Family, Ownership};
use crate::model::{Action, ResourceKind};
use crate::model::{ArmId, ArmRequest, Method, Resource};
use serde_json::{json, Value};

pub const FAILOVER_TYPES: &[(&str, &str)] = &[
    ("failover", "UnplannedFailover"),
    ("planned_failover", "PlannedFailover"),
    ("test_failover", "TestFailover"),
];
pub const DIRECTIONS: &[(&str, &str)] = &[
    ("primary_to_recovery", "PrimaryToRecovery"),
    ("recovery_to_primary", "RecoveryToPrimary"),
];

fn to_arm(table: &[(&str, &'static str)], v: &Value) -> Vec<Value> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|x| {
            table
                .iter()
                .find(|(ours, _)| Some(*ours) == x.as_str())
                .map(|(_, arm)| json!(arm))
        })
        .collect()
}

fn from_arm(table: &[(&'static str, &str)], v: &Value) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = v
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|x| {
            let s = x.as_str()?;
            table
                .iter()
                .find(|(_, arm)| arm.eq_ignore_ascii_case(s))
                .map(|(ours, _)| *ours)
        })
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// The name azprotect gives an action that the file does not name: the runbook's name, the
/// script's file name without its extension, else (a manual action) `manual`. Repeated in a
/// plan, the second is `-2`, the third `-3`… (`config::desired_site_recovery`).
pub fn action_base(runbook: Option<&str>, script: Option<&str>) -> String {
    if let Some(r) = runbook {
        return ArmId::new(r).name().to_string();
    }
    if let Some(s) = script {
        let stem = s.rsplit(['/', '\\']).next().unwrap_or("script");
        return stem.split('.').next().unwrap_or(stem).to_string();
    }
    "manual".into()
}

/// The names the planner derives for a plan's unnamed actions: [`action_base`], the second of
/// a base `-2`, the third `-3`…, counted in the plan's order (before, then after, group by
/// group). The desired state names actions with it, and export uses it to write a name only
/// where Azure's differs.
#[derive(Debug, Default)]
pub struct DerivedNames(std::collections::BTreeMap<String, usize>);

impl DerivedNames {
    /// The name the next unnamed action of `base` gets.
    pub fn peek(&self, base: &str) -> String {
        match self.0.get(base).copied().unwrap_or(0) + 1 {
            1 => base.to_string(),
            n => format!("{base}-{n}"),
        }
    }

    /// Give the next unnamed action of `base` its name.
    pub fn take(&mut self, base: &str) -> String {
        let name = self.peek(base);
        *self.0.entry(base.to_string()).or_insert(0) += 1;
        name
    }
}

fn action_to_arm(a: &Value) -> Value {
    let location = |a: &Value| match a["fabric_location"].as_str() {
        Some("recovery") => "Recovery",
        _ => "Primary",
    };
    let details = if let Some(runbook) = a.get("runbook") {
        let mut d = json!({"instanceType": "AutomationRunbookActionDetails", "runbookId": runbook, "fabricLocation": location(a)});
        if let Some(t) = a.get("timeout") {
            d["timeout"] = t.clone();
        }
        d
    } else if let Some(path) = a.get("script") {
        let mut d = json!({"instanceType": "ScriptActionDetails", "path": path, "fabricLocation": location(a)});
        if let Some(t) = a.get("timeout") {
            d["timeout"] = t.clone();
        }
        d
    } else {
        json!({"instanceType": "ManualActionDetails", "description": a["manual"]})
    };
    json!({
        "actionName": a["name"],
        "failoverTypes": to_arm(FAILOVER_TYPES, &a["on"]),
        "failoverDirections": to_arm(DIRECTIONS, &a["direction"]),
        "customDetails": details,
    })
}

fn action_from_arm(a: &Value) -> Value {
    let d = &a["customDetails"];
    let kind = d["instanceType"].as_str().unwrap_or_default();
    let mut out = json!({
        "name": a["actionName"],
        "on": from_arm(FAILOVER_TYPES, &a["failoverTypes"]),
        "direction": from_arm(DIRECTIONS, &a["failoverDirections"]),
    });
    let fabric = || match d["fabricLocation"].as_str() {
        Some(l) if l.eq_ignore_ascii_case("recovery") => "recovery",
        _ => "primary",
    };
    if kind.eq_ignore_ascii_case("AutomationRunbookActionDetails") {
        out["runbook"] = d["runbookId"].clone();
        out["fabric_location"] = json!(fabric());
    } else if kind.eq_ignore_ascii_case("ScriptActionDetails") {
        out["script"] = d["path"].clone();
        out["fabric_location"] = json!(fabric());
    } else {
        out["manual"] = d["description"].clone();
    }
    if let Some(t) = d["timeout"].as_str() {
        out["timeout"] = json!(t);
    }
    out
}

/// The replicated item id azprotect gives a VM of this plan (the VM's name in the source
/// region's protection container).
pub fn item_of(plan: &Resource, vm_id: &str) -> ArmId {
    let vault = plan.arm_id.parent(1);
    let source = plan.attrs["source_region"].as_str().unwrap_or_default();
    super::replication::item_id(
        &super::container_id(&vault, source),
        ArmId::new(vm_id).name(),
    )
}

/// The PUT for a plan (`source_region`/`target_region` attributes name the fabrics).
pub fn put_request(r: &Resource) -> ArmRequest {
    let vault = r.arm_id.parent(1);
    let primary_fabric = super::fabric_id(
        &vault,
        r.attrs["source_region"].as_str().unwrap_or_default(),
    );
    let recovery_fabric = super::fabric_id(
        &vault,
        r.attrs["target_region"].as_str().unwrap_or_default(),
    );
    let item_of = |vm: &str| Some(item_of(r, vm));
    let groups: Vec<Value> = r.attrs["groups"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|g| {
            let items: Vec<Value> = g["vms"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|vm| {
                    let vm = vm.as_str()?;
                    Some(json!({"id": item_of(vm)?.as_str(), "virtualMachineId": vm}))
                })
                .collect();
            let actions = |k: &str| -> Vec<Value> { g[k].as_array().into_iter().flatten().map(action_to_arm).collect() };
            json!({"groupType": "Boot", "replicationProtectedItems": items, "startGroupActions": actions("before"), "endGroupActions": actions("after")})
        })
        .collect();
    let body = json!({"properties": {
        "primaryFabricId": primary_fabric.as_str(),
        "recoveryFabricId": recovery_fabric.as_str(),
        "failoverDeploymentModel": "ResourceManager",
        "groups": groups,
    }});
    ArmRequest::new(Method::Put, versioned(&r.arm_id), Some(body))
}

pub fn delete_request(id: &ArmId) -> ArmRequest {
    ArmRequest::new(Method::Delete, versioned(id), None)
}

/// Live plan → attributes. `vm_of` maps a replicated item id to its VM id (from the live
/// replicated items), used when `virtualMachineId` is not an ARM id.
pub fn normalize(arm: &Value, vm_of: &dyn Fn(&ArmId) -> Option<String>) -> Value {
    let mut groups = Vec::new();
    let mut extra = serde_json::Map::new();
    for g in arm["properties"]["groups"].as_array().into_iter().flatten() {
        let vms: Vec<String> = {
            let mut v: Vec<String> = g["replicationProtectedItems"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|i| {
                    let vm = i["virtualMachineId"]
                        .as_str()
                        .filter(|s| s.starts_with('/'));
                    vm.map(str::to_string)
                        .or_else(|| vm_of(&ArmId::new(i["id"].as_str()?)))
                })
                .collect();
            v.sort_by_key(|s| s.to_ascii_lowercase());
            v
        };
        let actions = |k: &str| -> Vec<Value> {
            g[k].as_array()
                .into_iter()
                .flatten()
                .map(action_from_arm)
                .collect()
        };
        let group = json!({"vms": vms, "before": actions("startGroupActions"), "after": actions("endGroupActions")});
        match g["groupType"]
            .as_str()
            .unwrap_or_default()
            .to_ascii_lowercase()
            .as_str()
        {
            kind @ ("shutdown" | "failover") => {
                if !group["before"].as_array().is_some_and(Vec::is_empty)
                    || !group["after"].as_array().is_some_and(Vec::is_empty)
                {
                    extra.insert(kind.to_string(), group);
                }
            }
            _ => groups.push(group),
        }
    }
    let region = |k: &str| {
        let id = ArmId::new(arm["properties"][k].as_str().unwrap_or_default());
        let fabric = id.name().to_string();
        crate::model::resource_group::normalize_location(
            fabric.strip_prefix("asr-a2a-default-").unwrap_or(&fabric),
        )
    };
    let mut out = json!({"source_region": region("primaryFabricId"), "target_region": region("recoveryFabricId"), "groups": groups});
    for (k, v) in extra {
        out[k] = v;
    }
    out
}

/// `POST …/testFailover` into an isolated network (`network_id`), from the latest recovery point.
///
/// `from_recovery`: the VMs currently run in the recovery region (after a failover and
/// re-protect), so the drill goes the other way.
pub fn test_failover_request(id: &ArmId, network_id: &str, from_recovery: bool) -> ArmRequest {
    let direction = if from_recovery {
        "RecoveryToPrimary"
    } else {
        "PrimaryToRecovery"
    };
    let body = json!({"properties": {
        "failoverDirection": direction,
        "networkType": "VmNetworkAsInput",
        "networkId": network_id,
        "providerSpecificDetails": [{"instanceType": "A2A", "recoveryPointType": "Latest"}],
    }});
    ArmRequest::new(
        Method::Post,
        versioned(id.child(&["testFailover"])),
        Some(body),
    )
}

/// `POST …/testFailoverCleanup`: delete the test VMs and record the drill's outcome.
pub fn test_failover_cleanup_request(id: &ArmId, comments: &str) -> ArmRequest {
    ArmRequest::new(
        Method::Post,
        versioned(id.child(&["testFailoverCleanup"])),
        Some(json!({"properties": {"comments": comments}})),
    )
}

/// `PrimaryToRecovery` / `RecoveryToPrimary` (`PossibleOperationsDirections`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    PrimaryToRecovery,
    RecoveryToPrimary,
}

impl Direction {
    pub fn as_arm(self) -> &'static str {
        match self {
            Direction::PrimaryToRecovery => "PrimaryToRecovery",
            Direction::RecoveryToPrimary => "RecoveryToPrimary",
        }
    }
}

/// The recovery point a failover boots from (`A2ARpRecoveryPointType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RecoveryPoint {
    #[default]
    Latest,
    LatestAppConsistent,
    LatestCrashConsistent,
    LatestProcessed,
}

impl RecoveryPoint {
    pub fn as_arm(self) -> &'static str {
        match self {
            RecoveryPoint::Latest => "Latest",
            RecoveryPoint::LatestAppConsistent => "LatestApplicationConsistent",
            RecoveryPoint::LatestCrashConsistent => "LatestCrashConsistent",
            RecoveryPoint::LatestProcessed => "LatestProcessed",
        }
    }
}

/// `POST …/unplannedFailover` (`RecoveryPlanUnplannedFailoverInput`): start the VMs on the other
/// side from `point`; `shut_down_source` asks Azure to try to shut the active VMs down first
/// (`sourceSiteOperations: Required`). VMs of a multi-VM consistency group fail over to their
/// common sync point.
pub fn unplanned_failover_request(
    id: &ArmId,
    direction: Direction,
    point: RecoveryPoint,
    shut_down_source: bool,
) -> ArmRequest {
    let body = json!({"properties": {
        "failoverDirection": direction.as_arm(),
        "sourceSiteOperations": if shut_down_source { "Required" } else { "NotRequired" },
        "providerSpecificDetails": [{
            "instanceType": "A2A",
            "recoveryPointType": point.as_arm(),
            "multiVmSyncPointOption": "UseMultiVmSyncRecoveryPoint",
        }],
    }});
    ArmRequest::new(
        Method::Post,
        versioned(id.child(&["unplannedFailover"])),
        Some(body),
    )
}

/// `POST …/failoverCommit` (no body in the spec): keep the failed-over VMs, drop the other
/// recovery points.
pub fn failover_commit_request(id: &ArmId) -> ArmRequest {
    ArmRequest::new(Method::Post, versioned(id.child(&["failoverCommit"])), None)
}

/// `POST …/reProtect` (no body in the spec): replicate the failed-over VMs back to the region
/// they came from (a new initial replication).
pub fn reprotect_request(id: &ArmId) -> ArmRequest {
    ArmRequest::new(Method::Post, versioned(id.child(&["reProtect"])), None)
}

/// Recovery plans: put, delete.
pub const FAMILY: Family = Family {
    kind: ResourceKind::RecoveryPlan,
    prefix: "recovery_plan",
    rank: 6,
    ownership: Ownership::Whole,
    removed_with_the_file: true,
    requests: |c| match c.action {
        Action::Create | Action::Update => Ok(vec![put_request(c.desired()?)]),
        Action::Delete => Ok(vec![delete_request(c.id)]),
        Action::Replace => c.unsupported(ResourceKind::RecoveryPlan),
    },
};

attributes!(
    /// A recovery plan's attributes.
    Attrs {
        source_region: Option<&'a str> = Value::as_str,
        target_region: Option<&'a str> = Value::as_str,
        /// `[{"vms": [...], …}]` in boot order.
        groups: &'a Value = std::convert::identity,
    }
);

impl<'a> Attrs<'a> {
    /// Every VM reference of the plan with its boot group's number (1 boots first).
    pub fn group_vms(self) -> Vec<(usize, &'a str)> {
        let groups = self
            .groups()
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        groups
            .iter()
            .enumerate()
            .flat_map(|(n, g)| {
                g["vms"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(move |vm| Some((n + 1, vm.as_str()?)))
            })
            .collect()
    }
}

/// A recovery plan read in its group's declared orientation: if Azure reports its fabrics
/// swapped (after a failover and re-protect), the regions are swapped back — the plan is the
/// same plan, only running the other way.
pub fn declared_orientation(attrs: &mut Value, source: &str, target: &str) {
    let a = Attrs(attrs);
    if a.source_region() == Some(target) && a.target_region() == Some(source) {
        attrs["source_region"] = Value::from(source);
        attrs["target_region"] = Value::from(target);
    }
}
