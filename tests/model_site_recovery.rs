//! Site Recovery request bodies against the official spec, and the round trips that keep a
//! converged DR estate quiet: Azure's prepended Shutdown/Failover groups, id casing, action order.

mod support;

use azprotect::model::site_recovery::recovery_plan::{Direction, RecoveryPoint};
use azprotect::model::site_recovery::{self as sr, recovery_plan, replication, setup};
use azprotect::model::{Address, ArmId, ArmRequest, Method, Resource, ResourceKind};
use serde_json::{json, Value};
use support::spec_schema::{nulls, Specs};
use support::specs_or_skip;

const SR_SPEC: &str = "specification/recoveryservicessiterecovery/resource-manager/Microsoft.RecoveryServices/SiteRecovery/stable/2026-02-01/service.json";
const SUB: &str = "00000000-0000-0000-0000-000000000001";

fn vault() -> ArmId {
    ArmId::new(format!("/subscriptions/{SUB}/resourceGroups/rg-protect-neu/providers/Microsoft.RecoveryServices/vaults/rsv-dr-neu"))
}

fn vm(name: &str) -> String {
    format!("/subscriptions/{SUB}/resourceGroups/rg-app/providers/Microsoft.Compute/virtualMachines/{name}")
}

fn res(kind: ResourceKind, name: &str, arm_id: ArmId, attrs: Value) -> Resource {
    Resource {
        address: Address::new(kind, name),
        arm_id,
        attrs,
        depends_on: vec![],
    }
}

fn requests() -> Vec<ArmRequest> {
    let v = vault();
    let fabric = res(
        ResourceKind::ResourceGroup,
        "f",
        sr::fabric_id(&v, "westeurope"),
        json!({"location": "westeurope"}),
    );
    let container = res(
        ResourceKind::ResourceGroup,
        "c",
        sr::container_id(&v, "westeurope"),
        json!({"location": "westeurope"}),
    );
    let policy = res(
        ResourceKind::ResourceGroup,
        "p",
        v.child(&["replicationPolicies", "app-dr"]),
        json!({"recovery_points_minutes": 1440, "app_consistent_minutes": 240}),
    );
    let mapping = res(
        ResourceKind::ResourceGroup,
        "m",
        sr::container_id(&v, "westeurope")
            .child(&["replicationProtectionContainerMappings", "weu-to-neu"]),
        json!({"target_container_id": sr::container_id(&v, "northeurope").as_str(), "policy_id": policy.arm_id.as_str()}),
    );
    let net = res(
        ResourceKind::ResourceGroup,
        "n",
        sr::fabric_id(&v, "westeurope").child(&[
            "replicationNetworks",
            "vnet-app",
            "replicationNetworkMappings",
            "vnet-app-to-vnet-app-dr",
        ]),
        json!({"source_network_id": "/subscriptions/s/resourceGroups/rg-app/providers/Microsoft.Network/virtualNetworks/vnet-app",
               "target_network_id": "/subscriptions/s/resourceGroups/rg-app-dr/providers/Microsoft.Network/virtualNetworks/vnet-app-dr",
               "target_fabric": sr::fabric_name("northeurope")}),
    );
    let item = replicated();
    let plan = plan_resource();
    vec![
        setup::fabric_request(&fabric),
        setup::container_request(&container),
        setup::policy_request(&policy),
        setup::policy_update_request(&policy),
        setup::mapping_request(&mapping),
        setup::mapping_remove_request(&mapping.arm_id),
        setup::network_mapping_request(&net),
        replication::enable_request(&item),
        replication::update_request(&item),
        replication::disable_request(&item.arm_id),
        recovery_plan::put_request(&plan),
        recovery_plan::test_failover_request(&plan.arm_id, "/subscriptions/s/resourceGroups/rg-app-dr/providers/Microsoft.Network/virtualNetworks/vnet-test", false),
        recovery_plan::test_failover_request(&plan.arm_id, "/subscriptions/s/resourceGroups/rg-app-dr/providers/Microsoft.Network/virtualNetworks/vnet-test", true),
        recovery_plan::test_failover_cleanup_request(&plan.arm_id, "drill ok"),
        recovery_plan::unplanned_failover_request(
            &plan.arm_id,
            Direction::PrimaryToRecovery,
            RecoveryPoint::LatestAppConsistent,
            false,
        ),
        recovery_plan::unplanned_failover_request(
            &plan.arm_id,
            Direction::RecoveryToPrimary,
            RecoveryPoint::LatestProcessed,
            true,
        ),
        recovery_plan::failover_commit_request(&plan.arm_id),
        recovery_plan::reprotect_request(&plan.arm_id),
    ]
}

fn replicated() -> Resource {
    let v = vault();
    res(
        ResourceKind::ResourceGroup,
        "r",
        replication::item_id(&sr::container_id(&v, "westeurope"), "app-01"),
        json!({
            "vm_id": vm("app-01"),
            "target_region": "northeurope",
            "policy_id": v.child(&["replicationPolicies", "app-dr"]).as_str(),
            "target_resource_group_id": format!("/subscriptions/{SUB}/resourceGroups/rg-app-dr"),
            "cache_storage_account_id": format!("/subscriptions/{SUB}/resourceGroups/rg-app/providers/Microsoft.Storage/storageAccounts/asrcacheweu"),
            "target_zone": "1",
            "disks": [{"disk_id": format!("/subscriptions/{SUB}/resourceGroups/rg-app/providers/Microsoft.Compute/disks/app-01-osdisk"), "target_type": "Premium_LRS"}],
            "state": "replicating",
        }),
    )
}

fn plan_resource() -> Resource {
    res(
        ResourceKind::ResourceGroup,
        "plan",
        vault().child(&["replicationRecoveryPlans", "app-failover"]),
        json!({"source_region": "westeurope", "target_region": "northeurope", "groups": [
            {"vms": [vm("db-01")], "before": [],
             "after": [{"name": "warm-cache", "on": ["failover", "test_failover"], "direction": ["primary_to_recovery"],
                        "runbook": "/subscriptions/s/resourceGroups/rg-app/providers/Microsoft.Automation/automationAccounts/aa-ops/runbooks/warm-cache",
                        "fabric_location": "recovery"}]},
            {"vms": [vm("app-01"), vm("app-02")],
             "before": [{"name": "drain", "on": ["failover", "planned_failover", "test_failover"], "direction": ["primary_to_recovery", "recovery_to_primary"],
                         "manual": "Drain traffic from the load balancer"}],
             "after": []},
        ]}),
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

#[test]
fn every_site_recovery_body_conforms_to_the_official_spec() {
    let Some(root) = specs_or_skip("every_site_recovery_body_conforms_to_the_official_spec") else {
        return;
    };
    let specs = Specs::new(&root);
    for req in requests() {
        let schema = specs.body_schema(SR_SPEC, method(req.method), &req.path);
        let errors = match (schema, &req.body) {
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
}

#[test]
fn a_recovery_plan_reads_back_as_written_despite_the_groups_azure_prepends() {
    let plan = plan_resource();
    let req = recovery_plan::put_request(&plan);
    let mut live = req.body.unwrap();
    live["id"] = json!(plan.arm_id.as_str().to_uppercase());
    // What Azure answers: Shutdown and Failover first, enums in its own casing.
    let mut groups = vec![
        json!({"groupType": "Shutdown", "replicationProtectedItems": [], "startGroupActions": [], "endGroupActions": []}),
        json!({"groupType": "Failover", "replicationProtectedItems": [], "startGroupActions": [], "endGroupActions": []}),
    ];
    groups.extend(
        live["properties"]["groups"]
            .as_array()
            .unwrap()
            .iter()
            .cloned(),
    );
    live["properties"]["groups"] = json!(groups);
    live["properties"]["allowedOperations"] =
        json!(["PlannedFailover", "UnplannedFailover", "TestFailover"]);
    let back = recovery_plan::normalize(&live, &|_| None);
    assert_eq!(back, plan.attrs);
}

#[test]
fn a_replicated_vm_reads_back_as_enabled_whatever_its_replication_progress() {
    let item = replicated();
    let req = replication::enable_request(&item);
    let sent = &req.body.unwrap()["properties"];
    let d = &sent["providerSpecificDetails"];
    for (progress, vm_state) in [
        (0, "EnablingProtection"),
        (42, "InitialReplicationInProgress"),
        (100, "Protected"),
    ] {
        let live = json!({
            "id": item.arm_id.as_str(),
            "properties": {
                "policyId": sent["policyId"],
                "protectionState": vm_state,
                "testFailoverState": "None",
                "providerSpecificDetails": {
                    "instanceType": "A2A",
                    "fabricObjectId": d["fabricObjectId"],
                    "recoveryFabricLocation": "North Europe",
                    "recoveryAzureResourceGroupId": d["recoveryResourceGroupId"],
                    "recoveryAvailabilityZone": d["recoveryAvailabilityZone"],
                    "vmProtectionState": vm_state,
                    "monitoringPercentageCompletion": progress,
                    "protectedManagedDisks": d["vmManagedDisks"].as_array().unwrap().iter().map(|disk| json!({
                        "diskId": disk["diskId"],
                        "primaryStagingAzureStorageAccountId": disk["primaryStagingAzureStorageAccountId"],
                        "recoveryTargetDiskAccountType": disk["recoveryTargetDiskAccountType"],
                    })).collect::<Vec<_>>(),
                },
            },
        });
        let (id, attrs) = replication::normalize(&live).expect("an A2A item");
        assert_eq!(id, item.arm_id);
        assert_eq!(attrs, item.attrs, "at {progress}%");
        assert_eq!(replication::progress(&live), Some(progress));
    }
}

#[test]
fn a_failed_over_or_reprotected_vm_keeps_its_declared_target_region() {
    let item = replicated();
    let req = replication::enable_request(&item);
    let sent = &req.body.unwrap()["properties"];
    let d = &sent["providerSpecificDetails"];
    // (protectionState, activeLocation, switched, expected state). Locations are relative to
    // the item: re-protect (switchprotection) moves it under the other region's container, so
    // its primary becomes the target region while `initial…` keep the orientation replication
    // was enabled in (recording A2A #111); `activeLocation` says which side runs the VMs.
    for (protection, active, switched, want) in [
        ("FailedOver", "Recovery", false, "failed_over"),
        ("FailoverCommitted", "Recovery", false, "failed_over"),
        ("InitialReplicationInProgress", "Primary", true, "reversed"),
        ("Protected", "Primary", true, "reversed"),
        ("FailedOver", "Recovery", true, "failed_over"),
        ("Protected", "Recovery", false, "reversed"),
        ("Protected", "Primary", false, "replicating"),
    ] {
        let (primary, recovery) = if switched {
            ("northeurope", "westeurope")
        } else {
            ("westeurope", "northeurope")
        };
        let live = json!({
            "id": item.arm_id.as_str(),
            "properties": {
                "policyId": sent["policyId"],
                "protectionState": protection,
                "activeLocation": active,
                "testFailoverState": "None",
                "providerSpecificDetails": {
                    "instanceType": "A2A",
                    "fabricObjectId": d["fabricObjectId"],
                    "initialPrimaryFabricLocation": "westeurope",
                    "initialRecoveryFabricLocation": "northeurope",
                    "primaryFabricLocation": primary,
                    "recoveryFabricLocation": recovery,
                    "recoveryAzureResourceGroupId": d["recoveryResourceGroupId"],
                    "recoveryAvailabilityZone": d["recoveryAvailabilityZone"],
                    "vmProtectionState": protection,
                    "protectedManagedDisks": d["vmManagedDisks"].as_array().unwrap().iter().map(|disk| json!({
                        "diskId": disk["diskId"],
                        "primaryStagingAzureStorageAccountId": disk["primaryStagingAzureStorageAccountId"],
                        "recoveryTargetDiskAccountType": disk["recoveryTargetDiskAccountType"],
                    })).collect::<Vec<_>>(),
                },
            },
        });
        let (_, attrs) = replication::normalize(&live).expect("an A2A item");
        assert_eq!(
            attrs["target_region"], "northeurope",
            "{protection} {active} {switched}"
        );
        assert_eq!(attrs["state"], want, "{protection} {active} {switched}");
        let mut rest = attrs.clone();
        rest["state"] = item.attrs["state"].clone();
        assert_eq!(rest, item.attrs, "{protection} {active} {switched}");
    }
}

#[test]
fn replication_health_comes_from_its_field_not_from_state_wording() {
    // Azure's ProtectionHealth: a Warning (a protected VM never test-failed-over, A2A #73) is
    // still a healthy replication; only Critical blocks changes. A state whose wording merely
    // contains "error" says nothing about health.
    let item = replicated();
    let sent = replication::enable_request(&item).body.unwrap()["properties"].clone();
    for (health, vm_state, want) in [
        ("Normal", "Protected", "replicating"),
        ("Warning", "Protected", "replicating"),
        ("Normal", "ProtectionErrorRecovered", "replicating"),
        ("Critical", "Protected", "error"),
    ] {
        let mut details = sent["providerSpecificDetails"].clone();
        details["vmProtectionState"] = json!(vm_state);
        details["recoveryAzureResourceGroupId"] = details["recoveryResourceGroupId"].clone();
        let live = json!({"id": item.arm_id.as_str(), "properties": {
            "policyId": sent["policyId"], "protectionState": "Protected",
            "replicationHealth": health, "testFailoverState": "None",
            "providerSpecificDetails": details}});
        let (_, attrs) = replication::normalize(&live).expect("an A2A item");
        assert_eq!(attrs["state"], want, "{health} {vm_state}");
    }
}

#[test]
fn a_failed_site_recovery_job_says_what_went_wrong_and_what_to_do() {
    // `Job.properties.errors[]` is `ASRErrors` (SiteRecovery service.json): service errors in
    // `serviceErrorDetails`, provider errors in `providerErrorDetails` (a numeric code).
    let job = json!({"properties": {"state": "Failed", "errors": [
        {"serviceErrorDetails": {
            "code": "539",
            "message": "The replication could not be enabled for the virtual machine.",
            "possibleCauses": "The cache storage account is premium.",
            "recommendedAction": "Use a standard general-purpose v2 storage account for the cache.",
        }, "errorLevel": "Error"},
        {"providerErrorDetails": {
            "errorCode": 150097,
            "errorMessage": "The Mobility service extension could not be installed.",
            "possibleCauses": "",
            "recommendedAction": "Check outbound connectivity of the VM.",
        }},
    ]}});
    let lines = replication::job_errors(&job);
    assert_eq!(
        lines,
        [
            "539: The replication could not be enabled for the virtual machine. Possible causes: The cache storage account is premium. Recommended action: Use a standard general-purpose v2 storage account for the cache.",
            "150097: The Mobility service extension could not be installed. Recommended action: Check outbound connectivity of the VM.",
        ]
    );
    assert!(replication::job_errors(&json!({"properties": {"errors": []}})).is_empty());
}

#[test]
fn a_replication_cache_must_be_a_standard_general_purpose_v2_account_in_the_source_region() {
    use azprotect::model::site_recovery::setup::cache_account_problem;
    let id = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/c";
    let account = |loc: &str, kind: &str, sku: &str, tier: &str| json!({"location": loc, "kind": kind, "sku": {"name": sku, "tier": tier}});
    let ok = account("West Europe", "StorageV2", "Standard_LRS", "Standard");
    assert_eq!(cache_account_problem(Some(&ok), id, "westeurope"), None);
    let why = |a: Option<&serde_json::Value>| cache_account_problem(a, id, "westeurope").unwrap();
    assert!(why(None).contains("does not exist"));
    assert!(why(Some(&account(
        "northeurope",
        "StorageV2",
        "Standard_LRS",
        "Standard"
    )))
    .contains("must be in the source region westeurope"));
    assert!(why(Some(&account(
        "westeurope",
        "BlobStorage",
        "Standard_LRS",
        "Standard"
    )))
    .contains("general-purpose v2"));
    assert!(why(Some(&account(
        "westeurope",
        "StorageV2",
        "Premium_LRS",
        "Premium"
    )))
    .contains("premium"));
}

/// Azure's replication state names reach people as words (recording A2A #68–73: the A2A
/// `vmProtectionState` `UnprotectedStatesBegin` while initial replication runs).
#[test]
fn replication_states_read_as_words() {
    use azprotect::model::site_recovery::replication::state_words;
    assert_eq!(state_words("UnprotectedStatesBegin"), "initial replication");
    assert_eq!(
        state_words("InitialReplicationInProgress"),
        "initial replication"
    );
    assert_eq!(
        state_words("InitialReplicationRecoveryCompletionPending"),
        "initial replication finishing"
    );
    assert_eq!(state_words("Protected"), "protected");
    assert_eq!(
        state_words("UnplannedFailoverCompleted"),
        "failed over (not committed)"
    );
    assert_eq!(state_words("FailoverCommitted"), "failover committed");
    // A name azprotect does not know is still words, not an enum.
    assert_eq!(state_words("ResyncInProgress"), "resync in progress");
}
