//! Every request body the model builds, checked against the official REST spec of the operation
//! it is sent to (`../shared/azure-rest-specs`): unknown properties, wrong enums, missing
//! required fields, read-only fields and malformed date-times are all errors. Skipped, with a
//! notice, when the specs are not next to the repository.

mod support;

use azprotect::model::vault;
use azprotect::model::{backup_policy, protected_vm, ArmRequest, Method, ResourceKind};
use proptest::prelude::*;
use serde_json::{json, Value};
use support::cases::*;
use support::spec_schema::{nulls, Specs};
use support::{specs_or_skip, BMS_SPEC, RS_SPEC};

const VAULT_SPEC: &str = "openapi.json";
const POLICY_SPEC: &str = "bms.json";

fn spec_file(which: &str) -> String {
    match which {
        VAULT_SPEC => format!("{RS_SPEC}/openapi.json"),
        _ => format!("{BMS_SPEC}/bms.json"),
    }
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

/// The errors of a request against its operation in `spec` (empty = conforms).
fn check(specs: &Specs, spec: &str, req: &ArmRequest) -> Vec<String> {
    let schema = specs.body_schema(&spec_file(spec), method(req.method), &req.path);
    match (schema, &req.body) {
        (Err(e), _) => vec![e],
        (Ok(None), None) => vec![],
        (Ok(None), Some(_)) => vec!["the operation takes no body, one was sent".into()],
        (Ok(Some(_)), None) => vec!["the operation takes a body, none was sent".into()],
        (Ok(Some(node)), Some(body)) => {
            let mut errors = specs.check(body, &node);
            errors.extend(
                nulls(body, "$")
                    .into_iter()
                    .map(|p| format!("{p}: null sent")),
            );
            errors
        }
    }
}

fn assert_conforms(specs: &Specs, spec: &str, req: &ArmRequest) {
    let errors = check(specs, spec, req);
    assert!(
        errors.is_empty(),
        "{} {}:\n{}\nbody: {:#}",
        method(req.method),
        req.path,
        errors.join("\n"),
        req.body.clone().unwrap_or_default()
    );
}

macro_rules! specs {
    () => {
        match specs_or_skip(module_path!()) {
            Some(root) => Specs::new(&root),
            None => return,
        }
    };
}

#[test]
fn vault_requests_conform_to_the_vaults_spec() {
    let specs = specs!();
    for attrs in vault_cases() {
        let r = resource(
            ResourceKind::RecoveryVault,
            "rsv-prod-weu",
            vault_id(),
            attrs.clone(),
        );
        assert_conforms(&specs, VAULT_SPEC, &vault::create_request(&r));
        let every: Vec<String> = attrs.as_object().unwrap().keys().cloned().collect();
        let live = json!({"tags": {"owner": "x"}});
        if let Some(req) = vault::update_request(&r, &live, &every) {
            assert_conforms(&specs, VAULT_SPEC, &req);
        }
        for k in &every {
            if let Some(req) = vault::update_request(&r, &live, std::slice::from_ref(k)) {
                assert_conforms(&specs, VAULT_SPEC, &req);
            }
        }
        if let Some(req) = vault::config_request(&r) {
            assert_conforms(&specs, POLICY_SPEC, &req);
        }
    }
    assert_conforms(&specs, VAULT_SPEC, &vault::delete_request(&vault_id()));
}

#[test]
fn policy_requests_conform_to_the_backup_spec() {
    let specs = specs!();
    for attrs in policy_cases() {
        assert_conforms(
            &specs,
            POLICY_SPEC,
            &backup_policy::put_request(&policy_resource(attrs)),
        );
    }
    let id = backup_policy::arm_id(&vault_id(), "gold");
    assert_conforms(&specs, POLICY_SPEC, &backup_policy::delete_request(&id));
}

thread_local! {
    /// Loaded once per thread: proptest runs its cases on one thread.
    static SPECS: Option<Specs> = support::specs_or_skip("model_spec proptests").map(|root| Specs::new(&root));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn generated_policies_conform_to_the_backup_spec(attrs in valid_policy()) {
        let req = backup_policy::put_request(&policy_resource(attrs));
        let Some(errors) = SPECS.with(|s| s.as_ref().map(|specs| check(specs, POLICY_SPEC, &req))) else {
            return Ok(());
        };
        prop_assert!(errors.is_empty(), "{:?}", errors);
    }
}

#[test]
fn protected_item_requests_conform_to_the_backup_spec() {
    let specs = specs!();
    let policy_id = backup_policy::arm_id(&vault_id(), "gold");
    for attrs in [
        json!({"vm_id": vm_id("rg-app", "app-01"), "policy": "gold", "state": "protected"}),
        json!({"vm_id": vm_id("rg-app", "app-01"), "policy": "gold", "exclude_disks": [2, 3], "state": "protected"}),
    ] {
        let r = item_resource("rg-app", "app-01", attrs);
        assert_conforms(
            &specs,
            POLICY_SPEC,
            &protected_vm::protect_request(&r, &policy_id),
        );
    }
    let r = item_resource(
        "rg-app",
        "app-01",
        json!({"vm_id": vm_id("rg-app", "app-01"), "policy": "gold", "state": "protected"}),
    );
    let live = json!({"exclude_disks": [1]});
    assert_conforms(
        &specs,
        POLICY_SPEC,
        &protected_vm::protect_request_from(&r, &policy_id, Some(&live)),
    );
    let id = protected_vm::arm_id(&vault_id(), "rg-app", "app-01");
    let vm = vm_id("rg-app", "app-01");
    assert_conforms(
        &specs,
        POLICY_SPEC,
        &protected_vm::stop_request(&id, &vm, false),
    );
    assert_conforms(
        &specs,
        POLICY_SPEC,
        &protected_vm::stop_request(&id, &vm, true),
    );
    assert_conforms(
        &specs,
        POLICY_SPEC,
        &protected_vm::undelete_request(&id, &vm),
    );
    assert_conforms(&specs, POLICY_SPEC, &protected_vm::delete_request(&id));
}

#[test]
fn file_recovery_requests_conform_to_the_backup_spec() {
    use azprotect::model::{item_recovery, ArmId};
    let specs = specs!();
    let item = protected_vm::arm_id(&vault_id(), "rg-app", "app-01");
    let point = ArmId::new(format!("{item}/recoveryPoints/22493304464643"));
    let vm = ArmId::new(vm_id("rg-app", "app-01"));
    for renew in [false, true] {
        assert_conforms(
            &specs,
            POLICY_SPEC,
            &item_recovery::provision_request(&point, &vm, renew),
        );
    }
    assert_conforms(&specs, POLICY_SPEC, &item_recovery::revoke_request(&point));
    // The checker reads this operation's schema: a key the spec does not have is caught.
    let mut bad = item_recovery::provision_request(&point, &vm, false);
    bad.body.as_mut().unwrap()["properties"]["initiator"] = json!("x");
    assert!(!check(&specs, POLICY_SPEC, &bad).is_empty());
}

// ------------------------------------------------------------------- the checker itself

/// The official example request bodies conform (so the checker is not too strict)…
#[test]
fn official_example_requests_pass_the_checker() {
    let specs = specs!();
    let root = support::specs_root().unwrap();
    let cases = [
        (
            VAULT_SPEC,
            "put",
            format!("{RS_SPEC}/examples/PUTVault.json"),
            "vault",
        ),
        (
            VAULT_SPEC,
            "put",
            format!("{RS_SPEC}/examples/PUTVault_WithRedundancySettings.json"),
            "vault",
        ),
        (
            VAULT_SPEC,
            "patch",
            format!("{RS_SPEC}/examples/PATCHVault.json"),
            "vault",
        ),
        (
            POLICY_SPEC,
            "put",
            format!(
                "{BMS_SPEC}/examples/AzureIaasVm/ProtectionPolicies_CreateOrUpdate_Simple.json"
            ),
            "parameters",
        ),
        (
            POLICY_SPEC,
            "put",
            format!("{BMS_SPEC}/examples/AzureIaasVm/V2Policy/IaaS_v2_hourly.json"),
            "parameters",
        ),
        (
            POLICY_SPEC,
            "put",
            format!("{BMS_SPEC}/examples/AzureIaasVm/V2Policy/IaaS_v2_daily.json"),
            "parameters",
        ),
        (
            POLICY_SPEC,
            "put",
            format!("{BMS_SPEC}/examples/AzureIaasVm/ConfigureProtection.json"),
            "parameters",
        ),
    ];
    for (spec, m, file, param) in cases {
        let example = support::load_json(&root, &file);
        let path = if spec == VAULT_SPEC {
            vault::arm_id("s", "rg", "v").to_string()
        } else if file.contains("Polic") {
            backup_policy::arm_id(&vault::arm_id("s", "rg", "v"), "p").to_string()
        } else {
            protected_vm::arm_id(&vault::arm_id("s", "rg", "v"), "rg", "vm").to_string()
        };
        let node = specs
            .body_schema(&spec_file(spec), m, &path)
            .unwrap()
            .unwrap();
        let errors = specs.check(&example["parameters"][param], &node);
        assert!(errors.is_empty(), "{file}: {errors:?}");
    }
}

/// …and it catches what it should.
#[test]
fn the_checker_reports_unknown_enum_required_readonly_and_discriminator_errors() {
    let specs = specs!();
    let path = backup_policy::arm_id(&vault_id(), "p").to_string();
    let node = specs
        .body_schema(&spec_file(POLICY_SPEC), "put", &path)
        .unwrap()
        .unwrap();
    let bad = json!({
        "id": "/x",
        "properties": {
            "backupManagementType": "AzureIaasVM",
            "policyType": "V3",
            "timezone": "UTC",
            "schedulePolicy": {"schedulePolicyType": "SimpleSchedulePolicyV2", "hourlySchedule": {"interval": "4", "scheduleWindowStartTime": "08:00"}},
            "retentionPolicy": {"dailySchedule": {}}
        }
    });
    let errors = specs.check(&bad, &node).join("\n");
    for needle in [
        "$.id: read-only property",
        "$.properties.policyType: \"V3\" is not one of",
        "$.properties.timezone: unknown property",
        "$.properties.schedulePolicy.hourlySchedule.interval: expected integer",
        "$.properties.schedulePolicy.hourlySchedule.scheduleWindowStartTime: \"08:00\" is not an RFC 3339 date-time",
        "$.properties.retentionPolicy: required property `retentionPolicyType` is missing",
    ] {
        assert!(errors.contains(needle), "missing {needle:?} in:\n{errors}");
    }
    let wrong_kind = json!({"properties": {"backupManagementType": "NoSuchKind"}});
    let errors = specs.check(&wrong_kind, &node).join("\n");
    assert!(
        errors.contains("no subtype of ProtectionPolicy"),
        "{errors}"
    );

    let vault_node = specs
        .body_schema(&spec_file(VAULT_SPEC), "put", vault_id().as_str())
        .unwrap()
        .unwrap();
    let errors = specs
        .check(
            &json!({"sku": {"name": "Standard"}, "properties": {"publicNetworkAccess": "enabled"}}),
            &vault_node,
        )
        .join("\n");
    assert!(errors.contains("required property `location`"), "{errors}");
    assert!(errors.contains("\"enabled\" is not one of"), "{errors}");
    let _: Value = json!(null);
}
