//! `backup_vault.<name>` — `Microsoft.DataProtection/backupVaults` with a system-assigned
//! identity, or the user-assigned one the file names.

use super::versioned;
use crate::model::family::{Family, Ownership};
use crate::model::resource_group::normalize_location;
use crate::model::{Action, ResourceKind};
use crate::model::{ArmId, ArmRequest, Method, Resource};
use serde_json::{json, Map, Value};

pub fn arm_id(subscription: &str, resource_group: &str, name: &str) -> ArmId {
    ArmId::new(format!(
        "/subscriptions/{subscription}/resourceGroups/{resource_group}/providers/Microsoft.DataProtection/backupVaults/{name}"
    ))
}

/// `GET /subscriptions/{sub}/providers/Microsoft.DataProtection/backupVaults`.
pub fn list_path(subscription: &str) -> String {
    versioned(format!(
        "/subscriptions/{subscription}/providers/Microsoft.DataProtection/backupVaults"
    ))
}

/// A vault-wide list, e.g. `collection_path(v, "backupInstances")`.
pub fn collection_path(vault: &ArmId, collection: &str) -> String {
    versioned(vault.child(&[collection]))
}

/// PUT creating the vault, with a system-assigned identity, which the role assignments are
/// granted to — or the user-assigned identity the file names instead. A new vault without a
/// declared redundancy is `LocallyRedundant`. `live`: its tags, kept (`Null` for a vault that
/// does not exist).
pub fn put_request(r: &Resource, live: &Value) -> ArmRequest {
    let a = &r.attrs;
    let mut props = Map::new();
    props.insert(
        "storageSettings".into(),
        json!([{"datastoreType": "VaultStore", "type": a.get("redundancy").cloned().unwrap_or(json!("LocallyRedundant"))}]),
    );
    if let Some(security) = security_settings(a) {
        props.insert("securitySettings".into(), security);
    }
    // Its own identity unless the file names a user-assigned one its disks back up with.
    let users = user_identities(a);
    let system = a["system_identity"] == true || users.is_empty();
    let body = json!({
        "location": a["location"],
        "identity": identity(system, &users),
        "properties": props,
        "tags": tags(a, live),
    });
    ArmRequest::new(Method::Put, versioned(&r.arm_id), Some(body))
}

/// PATCH updating an existing vault (spec `BackupVaults_Update`): its tags, the security
/// settings the file declares, and the system-assigned identity, or the user-assigned one the
/// file names, when the vault lacks it (its identities named again with it). A PUT
/// would replace what the file does not manage — the identity (a user-assigned one its
/// instances may use), feature, monitoring and encryption settings — where a PATCH leaves them
/// be. Redundancy cannot change after creation (azurerm: ForceNew; the plan refuses it), so it
/// is never sent. `live` is the vault's live attributes ([`normalize`]): within a declared soft
/// delete, the half the file leaves out (`state` or `retention_days`) is carried from there.
pub fn patch_request(r: &Resource, live: &Value) -> ArmRequest {
    // Only what the file declares: a PATCH leaves the rest as it is in Azure now (carrying the
    // plan's reading of it could undo a change made since, or be refused for it).
    let mut a = r.attrs.clone();
    if let (Some(Value::Object(want)), Some(Value::Object(have))) =
        (a.get_mut("soft_delete"), live.get("soft_delete"))
    {
        for (k, v) in have {
            want.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    let a = &a;
    let mut body = json!({"tags": tags(a, live)});
    if let Some(security) = security_settings(a) {
        body["properties"] = json!({"securitySettings": security});
    }
    // The identity is replaced as a whole: what the vault has is named again with what the
    // file adds (the system-assigned identity, a user-assigned one).
    let had_system = live["system_identity"] == true;
    let add_system = a["system_identity"] == true && !had_system;
    let had = user_identities(live);
    let (count, users) = (had.len(), with_identities(had, user_identities(a)));
    if add_system || users.len() > count {
        // Named as the plan read them (apply refuses a saved plan whose estate changed since).
        body["identity"] = identity(had_system || add_system, &users);
    }
    ArmRequest::new(Method::Patch, versioned(&r.arm_id), Some(body))
}

/// The user-assigned identities `have` with those of `want` it lacks (ids compared without
/// case; `have`'s spelling kept): what a vault ends with, since none is ever detached.
pub fn with_identities<'a>(have: Vec<&'a str>, want: Vec<&'a str>) -> Vec<&'a str> {
    let mut all = have;
    for w in want {
        if !all.iter().any(|h| h.eq_ignore_ascii_case(w)) {
            all.push(w);
        }
    }
    all
}

/// The ids in attributes' `user_identities`.
fn user_identities(a: &Value) -> Vec<&str> {
    (a["user_identities"].as_array().into_iter().flatten())
        .filter_map(Value::as_str)
        .collect()
}

/// A vault's `identity`: the system-assigned one or not, and the user-assigned ones (each `{}`,
/// Azure fills in their principals). Azure's spelling of the types (the spec; azure-cli-extensions
/// dataprotection test_dataprotection_backup_vault_create_with_uami_update_and_delete.yaml, and
/// test_dataprotection_backup_instance_uami_create_update.yaml #1, #7: `UserAssigned` alone).
fn identity(system: bool, users: &[&str]) -> Value {
    let kind = match (system, users.is_empty()) {
        (true, true) => return json!({"type": "SystemAssigned"}),
        (true, false) => "SystemAssigned,UserAssigned",
        (false, _) => "UserAssigned",
    };
    json!({
        "type": kind,
        "userAssignedIdentities": users.iter().map(|id| (id.to_string(), json!({}))).collect::<Map<_, _>>(),
    })
}

/// `securitySettings` of the attributes, if they name any.
fn security_settings(a: &Value) -> Option<Value> {
    let mut security = Map::new();
    if let Some(sd) = a.get("soft_delete") {
        let mut s = Map::new();
        if let Some(st) = sd.get("state") {
            s.insert("state".into(), st.clone());
        }
        if let Some(d) = sd.get("retention_days") {
            s.insert("retentionDurationInDays".into(), d.clone());
        }
        security.insert("softDeleteSettings".into(), Value::Object(s));
    }
    if let Some(i) = a.get("immutability") {
        security.insert("immutabilitySettings".into(), json!({"state": i}));
    }
    (!security.is_empty()).then_some(Value::Object(security))
}

/// The live tags with the managed ones set over them (tags others add are kept).
fn tags(a: &Value, live: &Value) -> Value {
    let mut tags = live.get("tags").cloned().unwrap_or_else(|| json!({}));
    if let (Some(t), Some(managed)) = (
        tags.as_object_mut(),
        a.get("tags").and_then(Value::as_object),
    ) {
        for (k, v) in managed {
            t.insert(k.clone(), v.clone());
        }
    }
    tags
}

pub fn delete_request(id: &ArmId) -> ArmRequest {
    ArmRequest::new(Method::Delete, versioned(id), None)
}

/// Live vault → attributes (every key it can read).
pub fn normalize(arm: &Value) -> Value {
    let p = &arm["properties"];
    let mut out = json!({
        "location": normalize_location(arm["location"].as_str().unwrap_or_default()),
        "tags": arm.get("tags").cloned().filter(Value::is_object).unwrap_or_else(|| json!({})),
    });
    // Apply's lease is bookkeeping, not configuration (`model::lease`).
    crate::model::lease::strip(&mut out["tags"]);
    if let Some(t) = p["storageSettings"][0]["type"].as_str() {
        out["redundancy"] = json!(t);
    }
    // Whether the vault has the system-assigned identity azprotect grants the disk roles to, and
    // the user-assigned identities it also has (kept when the system one is enabled).
    let identity = &arm["identity"];
    out["system_identity"] = json!(identity["type"]
        .as_str()
        .is_some_and(|t| t.to_ascii_lowercase().contains("systemassigned")));
    if let Some(ua) = identity["userAssignedIdentities"]
        .as_object()
        .filter(|m| !m.is_empty())
    {
        out["user_identities"] = json!(ua.keys().collect::<Vec<_>>());
    }
    let sd = &p["securitySettings"]["softDeleteSettings"];
    if sd.is_object() {
        let mut s = json!({});
        if let Some(st) = sd["state"].as_str() {
            s["state"] = json!(match st.to_ascii_lowercase().as_str() {
                "alwayson" => "AlwaysOn",
                "on" => "On",
                "off" => "Off",
                _ => st,
            });
        }
        if let Some(d) = sd["retentionDurationInDays"].as_f64() {
            s["retention_days"] = json!(d as u64);
        }
        out["soft_delete"] = s;
    }
    if let Some(i) = p["securitySettings"]["immutabilitySettings"]["state"].as_str() {
        out["immutability"] = json!(i);
    }
    out
}

/// The vault identity's principal id, once Azure assigned it.
pub fn principal_id(arm: &Value) -> Option<&str> {
    arm["identity"]["principalId"]
        .as_str()
        .filter(|p| !p.is_empty())
}

/// The principal id of the vault's user-assigned identity `id` (ids compared without case; the
/// vault answers them as they were sent), once Azure filled it in: each entry holds `clientId`
/// and `principalId`, `{}` while the vault is updating (azure-cli-extensions dataprotection
/// test_dataprotection_backup_instance_uami_create_update.yaml #0, #7, #9).
pub fn user_principal_id<'a>(arm: &'a Value, id: &str) -> Option<&'a str> {
    user_entry(arm, id)?["principalId"]
        .as_str()
        .filter(|p| !p.is_empty())
}

/// Whether the vault has the user-assigned identity `id` attached (its principal may not be
/// filled in yet: `{}` while the vault updates).
pub fn has_user_identity(arm: &Value, id: &str) -> bool {
    user_entry(arm, id).is_some()
}

/// The vault's `userAssignedIdentities` entry of `id` (keys compared without case).
fn user_entry<'a>(arm: &'a Value, id: &str) -> Option<&'a Value> {
    let users = arm["identity"]["userAssignedIdentities"].as_object()?;
    users
        .iter()
        .find_map(|(k, entry)| k.eq_ignore_ascii_case(id).then_some(entry))
}

/// Why the vault `vault_id` has no principal to grant a role to: it lacks the identity its
/// disks back up with — `user_identity`, or its own.
pub fn lacks_identity(vault_id: &str, user_identity: Option<&str>) -> String {
    match user_identity {
        Some(id) => format!(
            "the Backup vault {vault_id} does not have the user-assigned identity {id} its disks back up with"
        ),
        None => format!("the Backup vault {vault_id} has no system-assigned identity"),
    }
}

/// The principal of the identity the vault's disks back up with: `user_identity` (a
/// user-assigned one) or, when `None`, the vault's own.
pub fn backup_principal_id<'a>(arm: &'a Value, user_identity: Option<&str>) -> Option<&'a str> {
    match user_identity {
        Some(id) => user_principal_id(arm, id),
        None => principal_id(arm),
    }
}

/// Why a vault's body gives no principal for the identity its disks back up with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoPrincipal {
    /// The user-assigned identity is attached but its entry is not filled in yet (`{}` while
    /// the vault updates: recording uami_create_update #7).
    Updating,
    /// The vault lacks the identity: [`lacks_identity`]'s words.
    Lacks(String),
}

/// [`backup_principal_id`] of the vault `vault_id`'s `arm` body, or why there is none.
pub fn backup_principal<'a>(
    arm: &'a Value,
    vault_id: &str,
    user_identity: Option<&str>,
) -> Result<&'a str, NoPrincipal> {
    if let Some(p) = backup_principal_id(arm, user_identity) {
        return Ok(p);
    }
    match user_identity.is_some_and(|id| has_user_identity(arm, id)) {
        true => Err(NoPrincipal::Updating),
        false => Err(NoPrincipal::Lacks(lacks_identity(vault_id, user_identity))),
    }
}

/// Backup vaults (Data Protection).
pub const FAMILY: Family = Family {
    kind: ResourceKind::BackupVault,
    prefix: "backup_vault",
    rank: 1,
    ownership: Ownership::Subset,
    removed_with_the_file: false,
    requests: |c| match c.action {
        Action::Create => Ok(vec![put_request(c.desired()?, c.before)]),
        Action::Update => Ok(vec![patch_request(c.desired()?, c.before)]),
        Action::Delete => Ok(vec![delete_request(c.id)]),
        Action::Replace => c.unsupported(ResourceKind::BackupVault),
    },
};

attributes!(
    /// A Backup vault's attributes.
    Attrs {
        location: Option<&'a str> = Value::as_str,
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
