//! The managed identities the sandbox fabricates for the vaults that ask for one (Recovery
//! Services vaults, Backup vaults): a system-assigned identity's principal derives from the vault
//! id, a user-assigned identity's principal and client ids from the identity's id, lower-cased —
//! one identity, one principal, however a request spells its id. The sandbox has no
//! Microsoft.ManagedIdentity provider: it does not check that a user-assigned identity exists.

use serde_json::{json, Map, Value};

use super::inventory::stable_guid;

/// The identity types ARM names for a vault (spec dataprotection.json `DppIdentityDetails`,
/// recording UAMI #0/#6/#7: `SystemAssigned,UserAssigned`, `UserAssigned`), compared lower-cased
/// without spaces.
const TYPES: [&str; 4] = [
    "none",
    "systemassigned",
    "userassigned",
    "systemassigned,userassigned",
];

/// A user-assigned identity's principal id: the same for its id in any case.
pub fn user_principal_id(identity_id: &str) -> String {
    stable_guid(&format!("ua:{}", identity_id.to_ascii_lowercase()))
}

/// A user-assigned identity's client id: the same for its id in any case.
pub fn user_client_id(identity_id: &str) -> String {
    stable_guid(&format!("uac:{}", identity_id.to_ascii_lowercase()))
}

/// The `identity` a vault answers for the one its request sent (`req`), for the vault `vault_id`
/// in the tenant `tenant`: the type as sent; a system-assigned identity's `principalId` and
/// `tenantId`; each user-assigned identity keyed as sent (not lower-cased, as Azure answers the
/// keys: recording azure-cli-extensions dataprotection
/// test_dataprotection_backup_instance_uami_create_update, "UAMI" in FACTS, vault GET #0/#6) with
/// exactly its `clientId` and `principalId`.
///
/// `check_type` (Backup vaults): a missing type is `None`, a type other than `None`,
/// `SystemAssigned`, `UserAssigned`, `SystemAssigned,UserAssigned` is refused (`Err`, the
/// message), and `None` is no identity. Otherwise (Recovery Services vaults) any type is kept as
/// sent and a missing one is no identity.
pub fn vault_identity(
    req: &Value,
    vault_id: &str,
    tenant: &str,
    check_type: bool,
) -> Result<Option<Value>, String> {
    let t = match (req["type"].as_str(), check_type) {
        (Some(t), _) => t,
        (None, true) => "None",
        (None, false) => return Ok(None),
    };
    let lower = t.to_ascii_lowercase();
    let system = if check_type {
        let compact = lower.replace(' ', "");
        if !TYPES.contains(&compact.as_str()) {
            return Err(format!("Invalid identity type '{t}'."));
        }
        if compact == "none" {
            return Ok(None);
        }
        compact.contains("systemassigned")
    } else {
        lower.contains("systemassigned")
    };
    let mut out = json!({"type": t});
    if system {
        out["principalId"] = json!(stable_guid(&format!("msi:{vault_id}")));
        out["tenantId"] = json!(tenant);
    }
    if let Some(ua) = req["userAssignedIdentities"].as_object() {
        let m: Map<String, Value> = ua
            .keys()
            .map(|k| {
                let entry =
                    json!({"clientId": user_client_id(k), "principalId": user_principal_id(k)});
                (k.clone(), entry)
            })
            .collect();
        out["userAssignedIdentities"] = Value::Object(m);
    }
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    const UAMI: &str = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/ua-backup";

    #[test]
    fn one_user_assigned_identity_one_principal_whatever_the_case() {
        let req = |k: &str| json!({"type": "SystemAssigned,UserAssigned", "userAssignedIdentities": {k: {}}});
        let a = vault_identity(&req(UAMI), "/v", "t", true)
            .unwrap()
            .unwrap();
        let upper = UAMI.to_ascii_uppercase();
        let b = vault_identity(&req(&upper), "/v", "t", true)
            .unwrap()
            .unwrap();
        // Keys as sent, entries exactly clientId and principalId.
        let ea = &a["userAssignedIdentities"][UAMI];
        let eb = &b["userAssignedIdentities"][upper.as_str()];
        assert_eq!(ea, eb);
        assert_eq!(ea.as_object().unwrap().len(), 2, "{ea}");
        assert_eq!(ea["principalId"], json!(user_principal_id(&upper)));
        assert_ne!(ea["principalId"], ea["clientId"]);
        assert!(a["principalId"].is_string() && a["tenantId"] == "t");
    }

    #[test]
    fn type_checks() {
        let v = |t: Value, check: bool| vault_identity(&json!({"type": t}), "/v", "t", check);
        assert_eq!(
            v(json!("Bogus"), true),
            Err("Invalid identity type 'Bogus'.".into())
        );
        assert_eq!(v(json!("None"), true), Ok(None));
        assert_eq!(v(Value::Null, true), Ok(None));
        // Recovery Services: as sent.
        assert_eq!(v(json!("Bogus"), false), Ok(Some(json!({"type": "Bogus"}))));
        assert_eq!(v(json!("None"), false), Ok(Some(json!({"type": "None"}))));
        assert_eq!(v(Value::Null, false), Ok(None));
        let ua = v(json!("UserAssigned"), true).unwrap().unwrap();
        assert!(ua.get("principalId").is_none(), "{ua}");
    }
}
