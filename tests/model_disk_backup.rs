//! Disk Backup request bodies against the official specs, and the round trips that keep a
//! converged snapshot schedule quiet.

mod support;

use azprotect::model::disk_backup::{instance, policy, role, vault};
use azprotect::model::{Address, ArmId, ArmRequest, Method, Resource, ResourceKind};
use serde_json::{json, Value};
use support::spec_schema::{nulls, Specs};
use support::specs_or_skip;

const DP_SPEC: &str = "specification/dataprotection/resource-manager/Microsoft.DataProtection/DataProtection/stable/2026-03-01/dataprotection.json";
const AUTH_SPEC: &str = "specification/authorization/resource-manager/Microsoft.Authorization/Authorization/stable/2022-04-01/authorization-RoleAssignmentsCalls.json";
const SUB: &str = "00000000-0000-0000-0000-000000000001";

fn res(arm_id: ArmId, attrs: Value) -> Resource {
    Resource {
        address: Address::new(ResourceKind::ResourceGroup, "x"),
        arm_id,
        attrs,
        depends_on: vec![],
    }
}

fn vault_res() -> Resource {
    res(
        vault::arm_id(SUB, "rg-protect-weu", "bv-prod-weu"),
        json!({"location": "westeurope", "redundancy": "LocallyRedundant", "soft_delete": {"state": "On", "retention_days": 14},
               "immutability": "Disabled", "tags": {"managed-by": "azprotect"}}),
    )
}

fn policy_res(attrs: Value) -> Resource {
    let v = vault_res().arm_id;
    res(policy::arm_id(&v, "every-4h", &attrs), attrs)
}

fn disk() -> String {
    format!(
        "/subscriptions/{SUB}/resourceGroups/rg-app/providers/Microsoft.Compute/disks/shared-data"
    )
}

fn instance_res() -> Resource {
    res(
        instance::arm_id(&vault_res().arm_id, "rg-app", "shared-data"),
        json!({"disk_id": disk(), "policy": "every-4h", "snapshot_resource_group_id": format!("/subscriptions/{SUB}/resourceGroups/rg-snapshots-weu"), "state": "protected", "location": "westeurope"}),
    )
}

fn method(m: Method) -> &'static str {
    match m {
        Method::Get => "get",
        Method::Put => "put",
        Method::Patch => "patch",
        Method::Post => "post",
        Method::Delete => "delete",
    }
}

fn conforms(specs: &Specs, spec: &str, req: &ArmRequest) {
    let errors = match (
        specs.body_schema(spec, method(req.method), &req.path),
        &req.body,
    ) {
        (Err(e), _) => vec![e],
        (Ok(Some(node)), Some(body)) => {
            let mut e = specs.check(body, &node);
            e.extend(
                nulls(body, "$")
                    .into_iter()
                    .map(|p| format!("{p}: null sent")),
            );
            e
        }
        (Ok(None), None) => vec![],
        (Ok(s), b) => vec![format!(
            "body mismatch: spec wants {}, sent {}",
            s.is_some(),
            b.is_some()
        )],
    };
    assert!(
        errors.is_empty(),
        "{:?} {}:\n{}\n{:#}",
        req.method,
        req.path,
        errors.join("\n"),
        req.body.clone().unwrap_or_default()
    );
}

#[test]
fn every_disk_backup_body_conforms_to_the_official_specs() {
    let Some(root) = specs_or_skip("every_disk_backup_body_conforms_to_the_official_specs") else {
        return;
    };
    let specs = Specs::new(&root);
    let p =
        policy_res(json!({"every": "4h", "retention": "7d", "start": "08:00", "time_zone": "UTC"}));
    let daily = policy_res(json!({"every": "1d", "retention": "30d", "start": "22:30"}));
    let i = instance_res();
    for req in [
        vault::put_request(&vault_res(), &serde_json::Value::Null),
        vault::patch_request(
            &Resource {
                attrs: json!({"location": "westeurope", "system_identity": true, "tags": {}}),
                ..vault_res()
            },
            &json!({"system_identity": false, "user_identities": ["/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/u"]}),
        ),
        vault::patch_request(
            &vault_res(),
            &json!({"redundancy": "GeoRedundant", "soft_delete": {"state": "On", "retention_days": 14}}),
        ),
        vault::delete_request(&vault_res().arm_id),
        policy::put_request(&p),
        policy::put_request(&daily),
        policy::delete_request(&p.arm_id),
        instance::put_request(&i, &p.arm_id, "westeurope", None),
        instance::put_request(&with_user_identity(&i), &p.arm_id, "westeurope", None),
        instance::put_request(
            &i,
            &p.arm_id,
            "westeurope",
            Some(&with_user_identity(&i).attrs),
        ),
        instance::validate_request(&i, &p.arm_id, "westeurope"),
        instance::validate_request(&with_user_identity(&i), &p.arm_id, "westeurope"),
        vault::put_request(&with_user_identity(&vault_res()), &Value::Null),
        instance::stop_request(&i.arm_id),
        instance::suspend_request(&i.arm_id),
        instance::resume_request(&i.arm_id, false),
        instance::resume_request(&i.arm_id, true),
        instance::sync_request(&i.arm_id),
        instance::delete_request(&i.arm_id),
    ] {
        conforms(&specs, DP_SPEC, &req);
    }
    let scope = ArmId::new(disk());
    let id = role::arm_id(&vault_res().arm_id, role::DISK_BACKUP_READER, &scope);
    conforms(
        &specs,
        AUTH_SPEC,
        &role::put_request(
            &id,
            SUB,
            role::DISK_BACKUP_READER,
            "11111111-2222-3333-4444-555555555555",
        ),
    );
}

#[test]
fn policies_read_back_as_written_and_a_change_is_a_new_policy() {
    for attrs in [
        json!({"every": "4h", "retention": "7d", "start": "08:00", "time_zone": "UTC"}),
        json!({"every": "1d", "retention": "30d", "start": "22:30"}),
        json!({"every": "12h", "retention": "180d", "start": "00:00"}),
    ] {
        let p = policy_res(attrs.clone());
        let mut live = p.clone().to_owned();
        let mut body = policy::put_request(&live).body.unwrap();
        body["id"] = json!(p.arm_id.as_str());
        body["name"] = json!(p.arm_id.name());
        assert_eq!(policy::normalize(&body), Some(attrs.clone()));
        // The name reads back from what Azure returns: the hash is of these settings.
        let read = policy::normalize(&body).unwrap();
        assert_eq!(policy::file_name(p.arm_id.name(), &read), "every-4h");
        live.attrs["retention"] = json!("8d");
        assert_ne!(
            policy::arm_id(&vault_res().arm_id, "every-4h", &live.attrs),
            p.arm_id,
            "a changed policy gets a new ARM name"
        );
    }
}

#[test]
fn an_instance_and_a_vault_read_back_as_written() {
    let mut i = instance_res();
    let p = policy_res(json!({"every": "4h", "retention": "7d", "start": "08:00"}));
    // A live instance names its policy by ARM name (the hash-suffixed one).
    i.attrs["policy"] = json!(p.arm_id.name());
    let mut live = json!({"id": i.arm_id.as_str(), "properties": instance::put_request(&i, &p.arm_id, "West Europe", None).body.unwrap()["properties"].clone()});
    live["properties"]["currentProtectionState"] = json!("ProtectionConfigured");
    let (id, attrs) = instance::normalize(&live).expect("a disk instance");
    assert_eq!(id, i.arm_id);
    assert_eq!(attrs, i.attrs);

    let v = vault_res();
    let mut body = vault::put_request(&v, &json!({"tags": {"owner": "ops"}}))
        .body
        .unwrap();
    body["identity"]["principalId"] = json!("11111111-2222-3333-4444-555555555555");
    body["properties"]["securitySettings"]["softDeleteSettings"]["state"] = json!("on");
    let back = vault::normalize(&body);
    assert_eq!(back["redundancy"], "LocallyRedundant");
    assert_eq!(
        back["soft_delete"],
        json!({"state": "On", "retention_days": 14})
    );
    assert_eq!(
        back["tags"],
        json!({"owner": "ops", "managed-by": "azprotect"})
    );
    assert_eq!(
        vault::principal_id(&body),
        Some("11111111-2222-3333-4444-555555555555")
    );
}

#[test]
fn a_vault_update_carries_the_settings_the_file_does_not_manage() {
    // Declared: location and tags only (an adopted vault).
    let declared = res(
        vault::arm_id(SUB, "rg-protect-weu", "bv-adopted"),
        json!({"location": "westeurope", "soft_delete": {"retention_days": 30}, "tags": {"owner": "team-a"}}),
    );
    let live = json!({"location": "westeurope", "redundancy": "GeoRedundant",
        "soft_delete": {"state": "AlwaysOn", "retention_days": 14}, "immutability": "Unlocked",
        "tags": {"cost-centre": "42"}});
    // An update is a PATCH of the tags and the declared security settings, the undeclared
    // half of a declared soft delete carried; nothing else is sent (a PUT would replace the
    // identity and features; immutability the file leaves out stays as Azure has it now).
    let req = vault::patch_request(&declared, &live);
    assert_eq!(req.method, Method::Patch);
    let body = req.body.unwrap();
    assert_eq!(
        body,
        json!({
            "tags": {"cost-centre": "42", "owner": "team-a"},
            "properties": {"securitySettings": {
                "softDeleteSettings": {"state": "AlwaysOn", "retentionDurationInDays": 30},
            }},
        })
    );
    // A vault with only user-assigned identities gets the system-assigned one as well, the
    // user-assigned ones named again (a PATCH replaces the identity as a whole).
    let uami = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/u";
    let mut wants_system = declared.clone();
    wants_system.attrs["system_identity"] = json!(true);
    let mut user_only = live.clone();
    user_only["system_identity"] = json!(false);
    user_only["user_identities"] = json!([uami]);
    let body = vault::patch_request(&wants_system, &user_only)
        .body
        .unwrap();
    assert_eq!(
        body["identity"],
        json!({"type": "SystemAssigned,UserAssigned", "userAssignedIdentities": {uami: {}}})
    );
    user_only["system_identity"] = json!(true);
    let body = vault::patch_request(&wants_system, &user_only)
        .body
        .unwrap();
    assert!(body.get("identity").is_none(), "{body}");
    // A declared redundancy is set at creation; a new vault without one is locally redundant.
    let mut zrs = declared.clone();
    zrs.attrs["redundancy"] = json!("ZoneRedundant");
    let body = vault::put_request(&zrs, &Value::Null).body.unwrap();
    assert_eq!(
        body["properties"]["storageSettings"][0]["type"],
        "ZoneRedundant"
    );
    assert_eq!(body["identity"], json!({"type": "SystemAssigned"}));
    let body = vault::put_request(&declared, &Value::Null).body.unwrap();
    assert_eq!(
        body["properties"]["storageSettings"][0]["type"],
        "LocallyRedundant"
    );
}

const UAMI: &str = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-identity/providers/Microsoft.ManagedIdentity/userAssignedIdentities/uami-backup";

/// The resource as the file makes it when the vault's disks back up with [`UAMI`]: an
/// instance names it, a vault has it attached.
fn with_user_identity(r: &Resource) -> Resource {
    let mut r = r.clone();
    if r.attrs.get("disk_id").is_some() {
        r.attrs["user_identity_id"] = json!(UAMI);
    } else {
        r.attrs["user_identities"] = json!([UAMI]);
    }
    r
}

#[test]
fn an_instance_names_the_user_assigned_identity_it_backs_up_with_and_reads_back_as_written() {
    let i = with_user_identity(&instance_res());
    let body = instance::put_request(&i, &ArmId::new("/p"), "westeurope", None)
        .body
        .unwrap();
    // Inside the instance's properties, as the CLI sends it (recording uami_create_update #23).
    assert_eq!(
        body["properties"]["identityDetails"],
        json!({"useSystemAssignedIdentity": false, "userAssignedIdentityArmUrl": UAMI})
    );
    let live = json!({"id": i.arm_id.as_str(), "properties": body["properties"].clone()});
    let (_, attrs) = instance::normalize(&live).expect("a disk instance");
    assert_eq!(attrs["user_identity_id"], UAMI);
    // Back to the vault's own identity: said, not left out (which could keep the old one).
    let own = instance_res();
    let body = instance::put_request(&own, &ArmId::new("/p"), "westeurope", Some(&i.attrs))
        .body
        .unwrap();
    assert_eq!(
        body["properties"]["identityDetails"],
        json!({"useSystemAssignedIdentity": true})
    );
    let (_, attrs) = instance::normalize(
        &json!({"id": own.arm_id.as_str(), "properties": body["properties"].clone()}),
    )
    .unwrap();
    assert!(attrs.get("user_identity_id").is_none(), "{attrs}");
    // An instance that has always used the vault's own identity is created as recorded, with
    // no identityDetails.
    let body = instance::put_request(&own, &ArmId::new("/p"), "westeurope", None)
        .body
        .unwrap();
    assert!(body["properties"].get("identityDetails").is_none());
}

#[test]
fn a_vault_gets_the_user_assigned_identity_its_disks_back_up_with_and_keeps_its_others() {
    // Created with it alone (recording uami_create_update #7: `UserAssigned`).
    let v = with_user_identity(&vault_res());
    let body = vault::put_request(&v, &Value::Null).body.unwrap();
    assert_eq!(
        body["identity"],
        json!({"type": "UserAssigned", "userAssignedIdentities": {UAMI: {}}})
    );
    // Attached to a vault that has its own identity and another user-assigned one: both stay.
    let other = UAMI.replace("uami-backup", "uami-cmk");
    let live = json!({"location": "westeurope", "system_identity": true, "user_identities": [other], "tags": {}});
    let body = vault::patch_request(&v, &live).body.unwrap();
    assert_eq!(
        body["identity"],
        json!({"type": "SystemAssigned,UserAssigned", "userAssignedIdentities": {other.clone(): {}, UAMI: {}}})
    );
    // Already attached (Azure's spelling may differ): the identity is not sent at all.
    let live = json!({"location": "westeurope", "system_identity": false, "user_identities": [UAMI.to_uppercase()], "tags": {}});
    let body = vault::patch_request(&v, &live).body.unwrap();
    assert!(body.get("identity").is_none(), "{body}");
    // The principal of an attached identity, found whatever the case of its id; none while
    // the vault is updating (its entry is `{}`).
    let arm = json!({"identity": {"type": "UserAssigned", "userAssignedIdentities": {UAMI.to_lowercase(): {"clientId": "c", "principalId": "p-uami"}}}});
    assert_eq!(vault::backup_principal_id(&arm, Some(UAMI)), Some("p-uami"));
    assert_eq!(vault::backup_principal_id(&arm, None), None);
    let updating =
        json!({"identity": {"type": "UserAssigned", "userAssignedIdentities": {UAMI: {}}}});
    assert_eq!(vault::user_principal_id(&updating, UAMI), None);
}

#[test]
fn role_assignment_names_are_stable_per_vault_role_and_scope() {
    let v = vault_res().arm_id;
    let scope = ArmId::new(disk());
    let a = role::arm_id(&v, role::DISK_BACKUP_READER, &scope);
    assert_eq!(
        a,
        role::arm_id(
            &v,
            role::DISK_BACKUP_READER,
            &ArmId::new(disk().to_uppercase())
        )
    );
    assert_ne!(a, role::arm_id(&v, role::DISK_SNAPSHOT_CONTRIBUTOR, &scope));
    // A user-assigned identity's assignment is named after the identity: vaults sharing it
    // share the assignment, and a vault moving to it gets a new one (Azure cannot move an
    // assignment to another principal).
    let uami = role::arm_id(&ArmId::new(UAMI), role::DISK_BACKUP_READER, &scope);
    assert_ne!(a, uami);
    assert_eq!(
        uami,
        role::arm_id(
            &ArmId::new(UAMI.to_lowercase()),
            role::DISK_BACKUP_READER,
            &scope
        )
    );
    assert_eq!(
        role::role_name(role::DISK_SNAPSHOT_CONTRIBUTOR),
        "disk_snapshot_contributor"
    );
}

#[test]
fn live_role_assignments_normalize_to_the_contract_and_other_roles_are_skipped() {
    let v = vault_res().arm_id;
    let scope = ArmId::new(disk());
    let id = role::arm_id(&v, role::DISK_BACKUP_READER, &scope);
    let principal = "11111111-2222-3333-4444-555555555555";
    let mut live = json!({"id": id.as_str(), "name": id.name(), "properties": role::put_request(&id, SUB, role::DISK_BACKUP_READER, principal).body.unwrap()["properties"].clone()});
    live["properties"]["scope"] = json!(disk());
    assert_eq!(
        role::normalize(&live, &v, None),
        Some(
            json!({"scope": disk(), "role": "disk_backup_reader", "vault_id": v.as_str(), "principal_id": principal})
        )
    );
    assert_eq!(
        role::address_name("bv-prod-weu", "disk_backup_reader", &scope).as_deref(),
        Some("bv-prod-weu/disk_backup_reader/rg-app/shared-data")
    );
    let rg = ArmId::new(format!(
        "/subscriptions/{SUB}/resourceGroups/rg-snapshots-weu"
    ));
    assert_eq!(
        role::address_name("bv-prod-weu", "disk_snapshot_contributor", &rg).as_deref(),
        Some("bv-prod-weu/disk_snapshot_contributor/rg-snapshots-weu")
    );
    // Shapes azprotect does not manage: a reader on a resource group, a contributor on a disk.
    assert_eq!(role::address_name("bv", "disk_backup_reader", &rg), None);
    assert_eq!(
        role::address_name("bv", "disk_snapshot_contributor", &scope),
        None
    );
    live["properties"]["roleDefinitionId"] = json!(format!(
        "/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7"
    ));
    assert_eq!(role::normalize(&live, &v, None), None);
    assert!(role::list_path(SUB, principal)
        .ends_with(&format!("&$filter=principalId%20eq%20%27{principal}%27")));
}

/// After a PUT, the instance says whether Data Protection is still configuring it, has, or
/// failed to (bodies as recorded: azure-cli-extensions dataprotection
/// test_dataprotection_backup_instance_create_backup_delete_disk.yaml #13 and #18; the error
/// shape as azurerm and Azure Service Operator read it).
#[test]
fn an_instance_says_when_configuring_has_ended_and_why_it_failed() {
    use instance::Configuration;
    let body = |current: &str, status: Value| {
        json!({"properties": {"currentProtectionState": current, "protectionStatus": status,
                              "provisioningState": "Succeeded"}})
    };
    let configuring = body(
        "ConfiguringProtection",
        json!({"status": "ConfiguringProtection"}),
    );
    assert_eq!(
        instance::configuration(&configuring),
        Configuration::InProgress
    );
    let updating = body(
        "UpdatingProtection",
        json!({"status": "UpdatingProtection"}),
    );
    assert_eq!(
        instance::configuration(&updating),
        Configuration::InProgress
    );
    let configured = body(
        "ProtectionConfigured",
        json!({"status": "ProtectionConfigured"}),
    );
    assert_eq!(instance::configuration(&configured), Configuration::Done);
    let stopped = body("ProtectionStopped", json!({"status": "ProtectionStopped"}));
    assert_eq!(instance::configuration(&stopped), Configuration::Done);
    let error = body(
        "ProtectionError",
        json!({"status": "ProtectionError", "errorDetails": {
            "code": "UserErrorMissingRequiredPermissions",
            "message": "Appropriate permissions to perform the operation is missing."}}),
    );
    assert_eq!(
        instance::configuration(&error),
        Configuration::Error {
            status: "ProtectionError".into(),
            code: "UserErrorMissingRequiredPermissions".into(),
            message: "Appropriate permissions to perform the operation is missing.".into(),
        }
    );
    // Details only at the properties' level, and a failure without any.
    let mut failed = body(
        "ConfiguringProtectionFailed",
        json!({"status": "ConfiguringProtectionFailed"}),
    );
    failed["properties"]["protectionErrorDetails"] = json!({"code": "InternalServerError"});
    assert!(matches!(
        instance::configuration(&failed),
        Configuration::Error { code, .. } if code == "InternalServerError"
    ));
    failed["properties"]
        .as_object_mut()
        .unwrap()
        .remove("protectionErrorDetails");
    assert!(matches!(
        instance::configuration(&failed),
        Configuration::Error { code, message, .. } if code.is_empty() && message.contains("ConfiguringProtectionFailed")
    ));
    // Not protection at all is no success either.
    for state in ["NotProtected", "Invalid", ""] {
        assert!(
            matches!(
                instance::configuration(&body(state, json!({"status": state}))),
                Configuration::Error { .. }
            ),
            "{state:?}"
        );
    }
    let suspended = body("BackupsSuspended", json!({"status": "BackupsSuspended"}));
    assert_eq!(instance::configuration(&suspended), Configuration::Done);
}
