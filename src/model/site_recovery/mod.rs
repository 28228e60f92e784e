//! Azure Site Recovery (Azure-to-Azure) resources — `replicationFabrics`, protection containers,
//! replication policies, container and network mappings, replicated items and recovery plans
//! under a Recovery Services vault (api-version [`super::api::SITE_RECOVERY`]).
//!
//! azprotect derives every setup resource from one `site_recovery.<name>` block, named the way
//! the Azure portal names them (`asr-a2a-default-{region}`, `…-container`), so that setups made
//! in the portal are recognised instead of duplicated.
//!
//! Attribute contracts (user vocabulary, ids compared case-insensitively):
//! - fabric `{"location": "westeurope"}`
//! - protection container `{"location": "westeurope"}` (the fabric's region)
//! - replication policy `{"recovery_points_minutes": 1440, "app_consistent_minutes": 240}`
//! - container mapping `{"target_container_id": "…", "policy_id": "…"}`
//! - network mapping `{"source_network_id": "…", "target_network_id": "…", "target_fabric": "asr-a2a-default-northeurope"}`
//! - replicated VM: see [`replication`]
//! - recovery plan: see [`recovery_plan`]

mod group;
pub mod recovery_plan;
pub mod replication;
pub mod setup;

pub use group::{GroupSelector, ReplicatedVmSpec, ReplicationGroup};

use super::{api, ArmId};

/// The portal's fabric name for a region: `asr-a2a-default-{region}`.
pub fn fabric_name(region: &str) -> String {
    format!(
        "asr-a2a-default-{}",
        super::resource_group::normalize_location(region)
    )
}

/// The portal's protection container name for a region: `asr-a2a-default-{region}-container`.
pub fn container_name(region: &str) -> String {
    format!("{}-container", fabric_name(region))
}

pub fn fabric_id(vault: &ArmId, region: &str) -> ArmId {
    vault.child(&["replicationFabrics", &fabric_name(region)])
}

pub fn container_id(vault: &ArmId, region: &str) -> ArmId {
    fabric_id(vault, region).child(&["replicationProtectionContainers", &container_name(region)])
}

/// `{path}?api-version=…` for Site Recovery.
fn versioned(path: impl std::fmt::Display) -> String {
    format!("{path}?api-version={}", api::SITE_RECOVERY)
}

/// A vault-wide list path, e.g. `vault_list_path(v, "replicationProtectedItems")`.
pub fn vault_list_path(vault: &ArmId, collection: &str) -> String {
    versioned(vault.child(&[collection]))
}

/// `POST {id}/remove` — Site Recovery's normal removal (a plain DELETE is a purge).
pub fn remove_request(id: &ArmId, body: Option<serde_json::Value>) -> super::ArmRequest {
    super::ArmRequest::new(
        super::Method::Post,
        versioned(id.child(&["remove"])),
        Some(body.unwrap_or_else(|| serde_json::json!({}))),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_portal_conventions() {
        let v = ArmId::new(
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/v",
        );
        assert_eq!(fabric_name("West Europe"), "asr-a2a-default-westeurope");
        assert_eq!(
            container_id(&v, "northeurope").as_str(),
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/v/replicationFabrics/asr-a2a-default-northeurope/replicationProtectionContainers/asr-a2a-default-northeurope-container"
        );
    }
}
