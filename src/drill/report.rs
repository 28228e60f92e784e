//! What a drill reports, as data that `render` formats (it never sees the executor).

use serde::Serialize;

/// One VM's part in the drill.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VmResult {
    /// The recovery plan group the VM boots in (1 boots first).
    pub group: usize,
    pub vm_id: String,
    /// The item's test failover state as Azure reports it after the failover.
    pub test_failover_state: String,
}

/// The drill's outcome, for the text, markdown and JSON reports.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DrillReport {
    pub recovery_plan: String,
    pub arm_id: String,
    pub network_id: String,
    pub succeeded: bool,
    /// RFC 3339 times the drill started and finished.
    pub started_at: String,
    pub finished_at: String,
    /// Seconds the test failover took (on Azure, the recovery time a real failover can expect).
    pub failover_seconds: f64,
    /// The durations were measured on the sandbox, whose simulated Azure runs at a fraction of
    /// Azure's time: they say nothing about the recovery time on Azure. Set by the caller, which
    /// knows the estate; absent from JSON when false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sandbox_time: bool,
    pub cleanup_seconds: Option<f64>,
    pub vms: Vec<VmResult>,
    /// Why it did not run or failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}
