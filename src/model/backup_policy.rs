//! `backup_policy.<vault>/<name>` — `vaults/backupPolicies` of `backupManagementType` AzureIaasVM
//! (api-version [`api::BACKUP`]).
//!
//! Attributes — the desired side fills every default, so the whole object is compared:
//! ```json
//! {
//!   "tier": "enhanced",                                 // standard (policyType V1) | enhanced (V2)
//!   "schedule": {"hourly": {"every": "4h", "start": "08:00", "duration": "12h"}},
//!       // or {"daily": {"at": "23:00"}} or {"weekly": {"on": ["Sunday"], "at": "23:00"}}
//!   "time_zone": "W. Europe Standard Time",             // default "UTC"
//!   "consistency": "application",                       // application (default) | crash_only
//!   "instant_restore_days": 7,                          // default 2 (standard) / 7 (enhanced)
//!   "retention": {                                      // each key present only when set
//!     "daily": "30d",
//!     "weekly": {"keep": 12, "on": ["Sunday"]},
//!     "monthly": {"keep": 12, "week": "First", "on": "Sunday"},
//!     "yearly": {"keep": 7, "month": "January", "week": "First", "on": "Sunday"}
//!   }
//! }
//! ```
//! Canonical forms: times `HH:MM`; day lists in week order Sunday…Saturday; `week`/`on`/`month`
//! a string when single and a list (in calendar order) when several; durations `<n>h` / `<n>d`.

use super::{api, ArmId, ArmRequest, Resource};
use serde_json::Value;

/// Built-in policies Azure puts in every new vault; ignored unless declared.
pub const BUILT_IN: &[&str] = &["DefaultPolicy", "EnhancedPolicy", "HourlyLogBackup"];

pub fn arm_id(vault: &ArmId, name: &str) -> ArmId {
    vault.child(&["backupPolicies", name])
}

/// `GET {vault}/backupPolicies?$filter=backupManagementType eq 'AzureIaasVM'` (paged).
pub fn list_path(vault: &ArmId) -> String {
    format!(
        "{vault}/backupPolicies?api-version={}&$filter=backupManagementType%20eq%20%27AzureIaasVM%27",
        api::BACKUP
    )
}

/// The PUT that creates or replaces the policy (policies are always sent whole).
pub fn put_request(r: &Resource) -> ArmRequest {
    todo!("policy body for {}", r.address)
}

pub fn delete_request(id: &ArmId) -> ArmRequest {
    todo!("policy delete {id}")
}

/// Live policy JSON → attributes; `None` for policies that are not AzureIaasVM policies.
pub fn normalize(arm: &Value) -> Option<Value> {
    let _ = arm;
    todo!("policy normalize")
}
