//! The contract between the two sides of the diff: what `config` builds from YAML and what
//! `model` reads back from the request azprotect sends must be the same attributes — otherwise
//! an estate azprotect just applied would plan changes forever.

use azprotect::model::{backup_policy, protected_vm, vault, ArmId, ResourceKind};
use serde_json::{json, Value};
use std::path::PathBuf;

fn examples() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

/// What ARM answers to a PUT: the body plus the fields the server adds.
fn as_azure_returns(id: &ArmId, rtype: &str, body: &Value) -> Value {
    let mut v = body.clone();
    v["id"] = json!(id.as_str());
    v["name"] = json!(id.name());
    v["type"] = json!(rtype);
    v
}

#[test]
fn every_example_round_trips_through_the_requests_azprotect_sends() {
    for file in examples() {
        let desired = azprotect::config::load(std::slice::from_ref(&file))
            .unwrap_or_else(|e| panic!("{}: {e:?}", file.display()))
            .desired(None)
            .unwrap();
        for r in &desired.resources {
            let back = match r.address.kind {
                ResourceKind::BackupPolicy => {
                    let req = backup_policy::put_request(r);
                    let mut live = as_azure_returns(
                        &r.arm_id,
                        "Microsoft.RecoveryServices/vaults/backupPolicies",
                        req.body.as_ref().unwrap(),
                    );
                    live["properties"]["protectedItemsCount"] = json!(0);
                    backup_policy::normalize(&live).expect("an IaaS VM policy")
                }
                ResourceKind::RecoveryVault => {
                    let req = vault::create_request(r);
                    let live = as_azure_returns(
                        &r.arm_id,
                        "Microsoft.RecoveryServices/vaults",
                        req.body.as_ref().unwrap(),
                    );
                    let mut back = vault::normalize(&live);
                    // Only the keys the file manages are compared (vault attributes are a subset).
                    back.as_object_mut()
                        .unwrap()
                        .retain(|k, _| r.attrs.get(k).is_some());
                    back
                }
                ResourceKind::ProtectedVm => {
                    let policy_id = backup_policy::arm_id(
                        &protected_vm::vault_of(&r.arm_id),
                        r.attrs["policy"].as_str().unwrap(),
                    );
                    let req = protected_vm::protect_request(r, &policy_id);
                    let mut live = as_azure_returns(&r.arm_id, "Microsoft.RecoveryServices/vaults/backupFabrics/protectionContainers/protectedItems", req.body.as_ref().unwrap());
                    live["properties"]["protectionState"] = json!("IRPending");
                    live["properties"]["backupManagementType"] = json!("AzureIaasVM");
                    live["properties"]["workloadType"] = json!("VM");
                    protected_vm::normalize(&live).expect("a VM item").1
                }
                ResourceKind::ResourceGroup => continue,
                // Site Recovery resources have their own round trips (tests/model_site_recovery.rs).
                _ => continue,
            };
            assert_eq!(back, r.attrs, "{} in {}", r.address, file.display());
        }
    }
}
