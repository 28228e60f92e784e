//! `recovery_vault.<name>` — `Microsoft.RecoveryServices/vaults` (api-version [`api::RECOVERY_SERVICES`]).
//!
//! Attributes (every key but `location` is optional on the desired side; a key the file does not
//! set is not managed and never diffed; the live side fills in every key it can read):
//! ```json
//! {
//!   "location": "westeurope",                         // normalized: lower case, no spaces
//!   "storage_redundancy": "GeoRedundant",             // LocallyRedundant | ZoneRedundant | GeoRedundant
//!   "cross_region_restore": true,
//!   "soft_delete": {"state": "AlwaysOn", "retention_days": 14},   // On | Off | AlwaysOn
//!   "immutability": "Unlocked",                       // Disabled | Unlocked | Locked
//!   "public_network_access": false,
//!   "tags": {"managed-by": "azprotect"}               // desired: managed tags; live: all tags
//! }
//! ```
//! Live-only facts the plan's rules need are in `live` (not attributes): whether the vault has
//! protected items (storage redundancy locked).

use super::{api, ArmId, ArmRequest, Resource};
use serde_json::Value;

pub fn arm_id(subscription: &str, resource_group: &str, name: &str) -> ArmId {
    ArmId::new(format!(
        "/subscriptions/{subscription}/resourceGroups/{resource_group}/providers/Microsoft.RecoveryServices/vaults/{name}"
    ))
}

/// `GET /subscriptions/{s}/providers/Microsoft.RecoveryServices/vaults` (paged).
pub fn list_path(subscription: &str) -> String {
    format!(
        "/subscriptions/{subscription}/providers/Microsoft.RecoveryServices/vaults?api-version={}",
        api::RECOVERY_SERVICES
    )
}

/// The PUT that creates a vault from desired attributes (Azure defaults for unset keys).
pub fn create_request(r: &Resource) -> ArmRequest {
    todo!("vault create body for {}", r.address)
}

/// The PATCH that moves a live vault to the desired attributes: only the keys in `changed`
/// (top-level attribute names) are sent. Tags are merged with `live` tags.
pub fn update_request(r: &Resource, live: &Value, changed: &[String]) -> ArmRequest {
    let _ = (live, changed);
    todo!("vault patch body for {}", r.address)
}

/// DELETE of an (empty) vault.
pub fn delete_request(id: &ArmId) -> ArmRequest {
    todo!("vault delete {id}")
}

/// Live vault JSON → attributes.
pub fn normalize(arm: &Value) -> Value {
    let _ = arm;
    todo!("vault normalize")
}
