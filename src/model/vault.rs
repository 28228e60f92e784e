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
//!
//! Soft delete lives in the backup configuration `{vault}/backupconfig/vaultconfig`, not on the
//! vault: a PATCH of the vault's `securitySettings.softDeleteSettings` answers 200 and changes
//! nothing (azure-rest-api-specs#34218; Terraform and Ansible use `vaultconfig`). Azure's CLI
//! reads and PATCHes `vaultconfig` (recording azure-cli/test_backup_protection.yaml #4, #6,
//! FACTS §3): [`config_path`], [`soft_delete_from_config`], [`config_request`]. Only the create
//! PUT carries `softDeleteSettings` (newer CLIs send it there, FACTS §3).

use super::family::{Family, Ownership};
use super::resource_group::normalize_location;
use super::{api, ArmId, ArmRequest, Method, Resource};
use super::{Action, ResourceKind};
use serde_json::{json, Map, Value};

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
    let a = &r.attrs;
    let mut props = Map::new();
    if let Some(v) = a.get("public_network_access").and_then(Value::as_bool) {
        props.insert("publicNetworkAccess".into(), enabled(v));
    }
    let redundancy = redundancy_settings(a, None);
    if !redundancy.is_empty() {
        props.insert("redundancySettings".into(), Value::Object(redundancy));
    }
    let security = security_settings(a, None);
    if !security.is_empty() {
        props.insert("securitySettings".into(), Value::Object(security));
    }
    let mut body = Map::new();
    body.insert("location".into(), a["location"].clone());
    body.insert("sku".into(), json!({"name": "Standard"}));
    body.insert("properties".into(), Value::Object(props));
    if let Some(tags) = a.get("tags").filter(|t| t.is_object()) {
        body.insert("tags".into(), tags.clone());
    }
    ArmRequest::new(
        Method::Put,
        resource_path(&r.arm_id),
        Some(Value::Object(body)),
    )
}

/// The PATCH that moves a live vault to the desired attributes: only the keys in `changed`
/// (top-level attribute names) are sent, never `soft_delete` (Azure ignores it there: see
/// [`config_request`]). Tags are merged with `live` tags. `None` when nothing is left to send.
///
/// `live` may be the live ARM JSON or the live attributes: only its `tags` are read.
pub fn update_request(r: &Resource, live: &Value, changed: &[String]) -> Option<ArmRequest> {
    let a = &r.attrs;
    let only = |k: &str| k != "soft_delete" && changed.iter().any(|c| c == k);
    let mut props = Map::new();
    if only("public_network_access") {
        if let Some(v) = a.get("public_network_access").and_then(Value::as_bool) {
            props.insert("publicNetworkAccess".into(), enabled(v));
        }
    }
    let redundancy = redundancy_settings(a, Some(&only));
    if !redundancy.is_empty() {
        props.insert("redundancySettings".into(), Value::Object(redundancy));
    }
    let security = security_settings(a, Some(&only));
    if !security.is_empty() {
        props.insert("securitySettings".into(), Value::Object(security));
    }
    let mut body = Map::new();
    if !props.is_empty() {
        body.insert("properties".into(), Value::Object(props));
    }
    if only("tags") {
        let mut tags = live
            .get("tags")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        if let Some(managed) = a.get("tags").and_then(Value::as_object) {
            for (k, v) in managed {
                // Tag names are case-insensitive in ARM: replace a live key spelled differently.
                tags.retain(|lk, _| !lk.eq_ignore_ascii_case(k) || lk == k);
                tags.insert(k.clone(), v.clone());
            }
        }
        body.insert("tags".into(), Value::Object(tags));
    }
    if body.is_empty() {
        return None;
    }
    Some(ArmRequest::new(
        Method::Patch,
        resource_path(&r.arm_id),
        Some(Value::Object(body)),
    ))
}

/// `{vault}/backupconfig/vaultconfig` (api-version [`api::BACKUP`]): where soft delete is read
/// and changed.
pub fn config_path(vault: &ArmId) -> String {
    format!(
        "{vault}/backupconfig/vaultconfig?api-version={}",
        api::BACKUP
    )
}

/// The `soft_delete` attribute from a `vaultconfig` body
/// (`{"properties":{"softDeleteFeatureState":"Enabled","softDeleteRetentionPeriodInDays":14,…}}`,
/// recording azure-cli/test_backup_protection.yaml #4 L196).
pub fn soft_delete_from_config(config: &Value) -> Option<Value> {
    let p = &config["properties"];
    let mut sd = Map::new();
    if let Some(s) = p["softDeleteFeatureState"]
        .as_str()
        .filter(|s| !s.eq_ignore_ascii_case("invalid"))
    {
        sd.insert("state".into(), Value::String(soft_delete_from_arm(s)));
    }
    if let Some(n) = p["softDeleteRetentionPeriodInDays"].as_u64() {
        sd.insert("retention_days".into(), Value::from(n));
    }
    (!sd.is_empty()).then_some(Value::Object(sd))
}

/// The PATCH of `vaultconfig` that sets the declared soft delete (`None` when the file does not
/// manage it). Synchronous 200 (recording azure-cli/test_backup_protection.yaml #6 L286).
pub fn config_request(r: &Resource) -> Option<ArmRequest> {
    let sd = r.attrs.get("soft_delete").and_then(Value::as_object)?;
    let mut p = Map::new();
    if let Some(state) = sd.get("state").and_then(Value::as_str) {
        p.insert(
            "softDeleteFeatureState".into(),
            Value::String(soft_delete_to_arm(state).into()),
        );
    }
    if let Some(days) = sd.get("retention_days").and_then(Value::as_u64) {
        p.insert("softDeleteRetentionPeriodInDays".into(), Value::from(days));
    }
    if p.is_empty() {
        return None;
    }
    Some(ArmRequest::new(
        Method::Patch,
        config_path(&r.arm_id),
        Some(json!({ "properties": p })),
    ))
}

/// DELETE of an (empty) vault.
pub fn delete_request(id: &ArmId) -> ArmRequest {
    ArmRequest::new(Method::Delete, resource_path(id), None)
}

/// Live vault JSON → attributes.
pub fn normalize(arm: &Value) -> Value {
    let p = &arm["properties"];
    let mut out = Map::new();
    out.insert(
        "location".into(),
        Value::String(normalize_location(
            arm["location"].as_str().unwrap_or_default(),
        )),
    );
    let redundancy = &p["redundancySettings"];
    if let Some(s) = redundancy["standardTierStorageRedundancy"].as_str() {
        out.insert(
            "storage_redundancy".into(),
            Value::String(canonical(s, REDUNDANCY)),
        );
    }
    if let Some(b) = redundancy["crossRegionRestore"]
        .as_str()
        .and_then(parse_enabled)
    {
        out.insert("cross_region_restore".into(), Value::Bool(b));
    }
    let soft = &p["securitySettings"]["softDeleteSettings"];
    let mut sd = Map::new();
    if let Some(s) = soft["softDeleteState"].as_str() {
        sd.insert("state".into(), Value::String(soft_delete_from_arm(s)));
    }
    if let Some(n) = soft["softDeleteRetentionPeriodInDays"].as_u64() {
        sd.insert("retention_days".into(), Value::from(n));
    }
    if !sd.is_empty() {
        out.insert("soft_delete".into(), Value::Object(sd));
    }
    if let Some(s) = p["securitySettings"]["immutabilitySettings"]["state"].as_str() {
        out.insert(
            "immutability".into(),
            Value::String(canonical(s, IMMUTABILITY)),
        );
    }
    if let Some(b) = p["publicNetworkAccess"].as_str().and_then(parse_enabled) {
        out.insert("public_network_access".into(), Value::Bool(b));
    }
    let mut tags = arm.get("tags").filter(|t| t.is_object()).cloned();
    // Apply's lease is bookkeeping, not configuration (`model::lease`).
    tags.iter_mut().for_each(super::lease::strip);
    out.insert("tags".into(), tags.unwrap_or_else(|| json!({})));
    Value::Object(out)
}

const REDUNDANCY: &[&str] = &["LocallyRedundant", "ZoneRedundant", "GeoRedundant"];
const IMMUTABILITY: &[&str] = &["Disabled", "Unlocked", "Locked"];

fn resource_path(id: &ArmId) -> String {
    format!("{id}?api-version={}", api::RECOVERY_SERVICES)
}

fn enabled(b: bool) -> Value {
    Value::String(if b { "Enabled" } else { "Disabled" }.into())
}

fn parse_enabled(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("enabled") {
        Some(true)
    } else if s.eq_ignore_ascii_case("disabled") {
        Some(false)
    } else {
        None
    }
}

/// The contract's spelling of an enum value Azure may return in another case.
fn canonical(s: &str, known: &[&str]) -> String {
    known
        .iter()
        .find(|k| k.eq_ignore_ascii_case(s))
        .map_or_else(|| s.to_string(), |k| k.to_string())
}

/// ARM `softDeleteState` (`Enabled | Disabled | AlwaysON`) → `On | Off | AlwaysOn`.
fn soft_delete_from_arm(s: &str) -> String {
    match s.to_ascii_lowercase().as_str() {
        "enabled" | "on" => "On".into(),
        "disabled" | "off" => "Off".into(),
        "alwayson" => "AlwaysOn".into(),
        _ => s.to_string(),
    }
}

/// `On | Off | AlwaysOn` → ARM `softDeleteState`.
fn soft_delete_to_arm(s: &str) -> &str {
    match s.to_ascii_lowercase().as_str() {
        "on" | "enabled" => "Enabled",
        "off" | "disabled" => "Disabled",
        "alwayson" => "AlwaysON",
        _ => s,
    }
}

/// `redundancySettings` for the keys that are set (and selected by `only`, when given).
fn redundancy_settings(a: &Value, only: Option<&dyn Fn(&str) -> bool>) -> Map<String, Value> {
    let sel = |k: &str| only.is_none_or(|f| f(k));
    let mut m = Map::new();
    if sel("storage_redundancy") {
        if let Some(s) = a.get("storage_redundancy").and_then(Value::as_str) {
            m.insert(
                "standardTierStorageRedundancy".into(),
                Value::String(canonical(s, REDUNDANCY)),
            );
        }
    }
    if sel("cross_region_restore") {
        if let Some(b) = a.get("cross_region_restore").and_then(Value::as_bool) {
            m.insert("crossRegionRestore".into(), enabled(b));
        }
    }
    m
}

/// `securitySettings` for the keys that are set (and selected by `only`, when given).
fn security_settings(a: &Value, only: Option<&dyn Fn(&str) -> bool>) -> Map<String, Value> {
    let sel = |k: &str| only.is_none_or(|f| f(k));
    let mut m = Map::new();
    if sel("soft_delete") {
        if let Some(sd) = a.get("soft_delete").and_then(Value::as_object) {
            let mut s = Map::new();
            if let Some(state) = sd.get("state").and_then(Value::as_str) {
                s.insert(
                    "softDeleteState".into(),
                    Value::String(soft_delete_to_arm(state).into()),
                );
            }
            if let Some(days) = sd.get("retention_days").and_then(Value::as_u64) {
                s.insert("softDeleteRetentionPeriodInDays".into(), Value::from(days));
            }
            if !s.is_empty() {
                m.insert("softDeleteSettings".into(), Value::Object(s));
            }
        }
    }
    if sel("immutability") {
        if let Some(state) = a.get("immutability").and_then(Value::as_str) {
            m.insert(
                "immutabilitySettings".into(),
                json!({"state": canonical(state, IMMUTABILITY)}),
            );
        }
    }
    m
}

/// Recovery Services vaults. Soft delete is set on `vaultconfig` after the vault's own request,
/// and re-asserted after every vault update (FACTS §3).
pub const FAMILY: Family = Family {
    kind: ResourceKind::RecoveryVault,
    prefix: "recovery_vault",
    rank: 1,
    ownership: Ownership::Subset,
    removed_with_the_file: false,
    requests: |c| {
        let d = c.desired()?;
        let mut v: Vec<ArmRequest> = match c.action {
            Action::Create => vec![create_request(d)],
            Action::Update => update_request(d, c.before, c.changed).into_iter().collect(),
            _ => return c.unsupported(ResourceKind::RecoveryVault),
        };
        v.extend(config_request(d));
        Ok(v)
    },
};

attributes!(
    /// A Recovery Services vault's attributes.
    Attrs {
        location: Option<&'a str> = Value::as_str,
        storage_redundancy: Option<&'a str> = Value::as_str,
        cross_region_restore: Option<bool> = Value::as_bool,
        /// `Disabled`, `Unlocked` or `Locked`.
        immutability: Option<&'a str> = Value::as_str,
        soft_delete: &'a Value = std::convert::identity,
    }
);

impl<'a> Attrs<'a> {
    /// `On`, `Off` or `AlwaysOn`.
    pub fn soft_delete_state(self) -> Option<&'a str> {
        self.soft_delete()["state"].as_str()
    }
}

/// The vault's attributes with the soft delete `vaultconfig` reports (FACTS §3), which wins
/// over the vault's own properties.
pub fn with_soft_delete(mut attrs: Value, soft_delete: Value) -> Value {
    attrs["soft_delete"] = soft_delete;
    attrs
}
