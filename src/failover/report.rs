//! What a failover operation reports: each VM's state and each step's outcome, as data that
//! `render` formats (it never sees the executor).

use crate::model::site_recovery::replication::ProtectionState;
use crate::model::ArmId;
use serde::Serialize;
use serde_json::Value;

/// One VM of the plan as Azure reports it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VmStatus {
    pub vm_id: String,
    pub name: String,
    /// `Primary` or `Recovery`: where the VM runs now.
    pub active_location: String,
    /// The region the VM runs in now.
    pub runs_in: String,
    /// The replicated item as Azure has it now (re-protect moves it to the other region's
    /// container, same name: recording A2A #111).
    #[serde(skip)]
    pub item: ArmId,
    #[serde(skip)]
    pub live: Value,
    /// Azure's `protectionState` as it wrote it (`Protected`, `FailedOver`, …).
    pub protection_state: String,
    /// The same, typed ([`ProtectionState::Unknown`] keeps a value azprotect does not know).
    #[serde(skip)]
    pub state: ProtectionState,
    /// Replication runs from this region…
    pub replicating_from: String,
    /// …to this one.
    pub replicating_to: String,
    /// False while failed over (or committed): nothing replicates until re-protect.
    pub replicating: bool,
    /// Initial replication progress (percent) while it runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub progress: Option<u64>,
}

impl VmStatus {
    pub(crate) fn protected(&self) -> bool {
        self.state == ProtectionState::Protected
    }
}

/// One step's outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepResult {
    pub step: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direction: Option<String>,
    pub seconds: f64,
    pub succeeded: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The outcome, for the text, markdown and JSON reports.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FailoverReport {
    pub operation: String,
    pub recovery_plan: String,
    pub arm_id: String,
    pub succeeded: bool,
    pub steps: Vec<StepResult>,
    /// Where the VMs run after the operation.
    pub active_region: String,
    /// Each VM after the operation: where it runs and which way it replicates.
    pub vms: Vec<VmStatus>,
    /// What Azure allows next.
    pub allowed_operations: Vec<String>,
    /// The durations were measured on the sandbox, whose simulated Azure runs at a fraction of
    /// Azure's time: they say nothing about the recovery time on Azure. Set by the caller, which
    /// knows the estate; absent from JSON when false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sandbox_time: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}
