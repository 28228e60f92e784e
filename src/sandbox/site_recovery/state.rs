//! What the sandbox keeps of Site Recovery: fabrics, containers, policies, mappings, replicated
//! items, recovery plans and jobs of every vault.

use super::*;

/// Site Recovery resources of all vaults, keyed by lower-cased `vault key/names…`.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct SiteRecoveryState {
    pub fabrics: BTreeMap<String, Fabric>,
    pub containers: BTreeMap<String, Container>,
    pub policies: BTreeMap<String, AsrPolicy>,
    pub mappings: BTreeMap<String, Mapping>,
    pub network_mappings: BTreeMap<String, NetworkMapping>,
    pub items: BTreeMap<String, ReplicatedItem>,
    pub plans: BTreeMap<String, RecoveryPlan>,
    pub jobs: BTreeMap<String, AsrJob>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Fabric {
    pub vault_key: String,
    pub name: String,
    pub location: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Container {
    pub vault_key: String,
    pub fabric: String,
    pub name: String,
}

impl Container {
    /// The container's key: `{vault key}/{fabric}/{name}`.
    pub fn key(&self) -> String {
        key(&[&self.vault_key, &self.fabric, &self.name])
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AsrPolicy {
    pub vault_key: String,
    pub name: String,
    /// A2APolicyDetails as answered.
    pub details: Value,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Mapping {
    pub vault_key: String,
    pub fabric: String,
    pub container: String,
    pub name: String,
    /// Key (`vk/fabric/container`) of the target container.
    pub target_key: String,
    pub policy: String,
    /// A2AProtectionContainerMappingDetails as answered.
    pub details: Value,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NetworkMapping {
    pub vault_key: String,
    pub fabric: String,
    pub network: String,
    pub name: String,
    pub recovery_fabric: String,
    pub primary_network_id: String,
    pub recovery_network_id: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReplicatedItem {
    pub vault_key: String,
    pub fabric: String,
    pub container: String,
    pub name: String,
    /// Source VM ARM id (as the VM stores its names) and its key in `State::vms`.
    pub vm_id: String,
    pub vm_key: String,
    pub vm_name: String,
    pub policy: String,
    /// Key (`vk/fabric/container`) of the recovery container.
    pub recovery_container_key: String,
    /// When enabling ends (EnableDr job) and when initial replication ends (Protected).
    pub enable_ms: i64,
    pub enabled_ms: i64,
    pub protected_ms: i64,
    /// The enable input's A2A provider details (updated by PATCH).
    pub input: Value,
    /// PATCH-able item settings (recoveryAzureVMName, recoveryAzureVMSize, …).
    pub settings: Value,
    /// `Primary` or `Recovery`.
    pub active_location: String,
    /// Failover state machine: `None`, `FailedOver` (unplanned failover done, not committed),
    /// `Committed`, `Reprotecting` (until `protected_ms`, then replication Recovery → Primary).
    #[serde(default)]
    pub failover: String,
    pub last_failover_ms: Option<i64>,
    pub last_test_failover_ms: Option<i64>,
    /// Test failover in progress or waiting for cleanup: (job id, start, end).
    pub test_failover: Option<(String, i64, i64)>,
    /// The latest scenario: (name, job id, start).
    pub scenario: Option<(String, String, i64)>,
    /// Set by `POST …/remove`: the item is gone from then on.
    #[serde(default)]
    pub disabling_until: Option<i64>,
    /// (primary fabric, recovery fabric) replication was enabled with, once switchprotection
    /// has moved the item: `initialPrimary/RecoveryFabricLocation` keep them (A2A #111–121).
    #[serde(default)]
    pub initial_fabrics: Option<(String, String)>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RecoveryPlan {
    pub vault_key: String,
    pub name: String,
    pub primary_fabric: String,
    pub recovery_fabric: String,
    pub failover_deployment_model: String,
    pub groups: Value,
    pub provider_details: Value,
    /// Current scenario: (name, job id, start, end).
    pub scenario: Option<(String, String, i64, i64)>,
    pub last_test_failover_ms: Option<i64>,
    pub last_unplanned_failover_ms: Option<i64>,
    #[serde(default)]
    pub last_planned_failover_ms: Option<i64>,
    /// `Primary` or `Recovery` (after a failover).
    #[serde(default)]
    pub active_location: String,
    /// `None`, `FailedOver`, `Committed`, `Reprotected`.
    #[serde(default)]
    pub failover: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AsrJob {
    pub vault_key: String,
    pub id: String,
    pub scenario: String,
    pub friendly_name: String,
    pub target_id: String,
    pub target_name: String,
    pub target_type: String,
    pub tasks: Vec<String>,
    pub start_ms: i64,
    pub duration_ms: i64,
    pub error: Option<Value>,
}
