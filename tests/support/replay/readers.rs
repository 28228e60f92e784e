//! What azprotect's own readers make of a recorded response: each recorded body of an operation
//! azprotect reads goes through the crate's real function for it.

use super::cassette::Interaction;
use azprotect::azure::{error::parse_error_body, lro};
use azprotect::live::vms;
use azprotect::model::disk_backup::{instance, policy as disk_policy, role, vault as backup_vault};
use azprotect::model::site_recovery::{recovery_plan, replication, setup};
use azprotect::model::snapshot::{RecoveryPoint, Snapshot};
use azprotect::model::{backup_policy, protected_vm, vault, ArmId, ManagedDisk};
use serde_json::Value;

/// A reader's verdict on one recorded body.
#[derive(Debug)]
pub enum Read {
    /// Understood; what it read, in a few words.
    Ok(String),
    /// A body azprotect reads and could not: the bug to fix.
    Failed(String),
}

fn items(body: &Value) -> Vec<&Value> {
    match body["value"].as_array() {
        Some(a) => a.iter().collect(),
        None => vec![body],
    }
}

fn each(body: &Value, what: &str, f: impl Fn(&Value) -> Result<String, String>) -> Read {
    let mut out = Vec::new();
    for item in items(body) {
        match f(item) {
            Ok(s) => out.push(s),
            Err(e) => return Read::Failed(format!("{what}: {e}")),
        }
    }
    Read::Ok(format!("{what}: {}", out.join(", ")))
}

/// The `location` a reader produced (empty is a failure).
fn location(attrs: &Value) -> Result<String, String> {
    some(
        attrs["location"]
            .as_str()
            .filter(|l| !l.is_empty())
            .map(str::to_string),
        "no location",
    )
}

fn some<T>(v: Option<T>, why: &str) -> Result<T, String> {
    v.ok_or_else(|| why.to_string())
}

/// The reader for this interaction's response, if azprotect reads it.
pub fn read(i: &Interaction) -> Option<Read> {
    let op = i.operation();
    let path = op.split_once(' ').map_or("", |x| x.1);
    if i.status >= 400 {
        let raw = serde_json::to_vec(i.body.as_ref()?).ok()?;
        let e = parse_error_body(i.status, &raw);
        return Some(if e.code.starts_with("HttpStatus") {
            Read::Failed(format!("error body without a code: {}", e.message))
        } else {
            Read::Ok(format!("error {}", e.code))
        });
    }
    let body = i.body.as_ref()?;
    let ends = |s: &str| path.ends_with(s);
    // A 202's body describes an operation just accepted (a snapshot `Updating`, no size yet):
    // azprotect reads the operation's result instead.
    let accepted = i.status == 202;
    // Long-running operation status monitors.
    if body.get("status").is_some_and(Value::is_string)
        && [
            "/operationstatus/{}",
            "/operationsstatus/{}",
            "/backupoperations/{}",
            "/replicationoperationstatus/{}",
            "/diskoperations/{}",
            "/operations/{}",
        ]
        .iter()
        .any(|s| ends(s))
    {
        let s = body["status"].as_str().unwrap_or_default();
        let status = lro::classify_status(s);
        let expected = match s.to_ascii_lowercase().as_str() {
            "succeeded" | "completed" => lro::OpStatus::Succeeded,
            "failed" => lro::OpStatus::Failed,
            "canceled" | "cancelled" => lro::OpStatus::Canceled,
            _ => lro::OpStatus::InProgress,
        };
        return Some(if status == expected {
            Read::Ok(format!("status {s} → {status:?}"))
        } else {
            Read::Failed(format!("status {s} read as {status:?}"))
        });
    }
    if accepted {
        return None;
    }
    let rs = path.contains("/Microsoft.RecoveryServices/");
    let dp = path.contains("/Microsoft.DataProtection/");
    let compute = path.contains("/Microsoft.Compute/");
    Some(if rs && ends("/vaults/{}") {
        each(body, "vault", |v| {
            let a = vault::normalize(v);
            location(&a)
        })
    } else if rs && ends("/backupconfig/{}") {
        each(body, "vaultconfig", |v| {
            some(
                vault::soft_delete_from_config(v).map(|s| s.to_string()),
                "no soft delete",
            )
        })
    } else if rs && (ends("/backuppolicies/{}") || ends("/backuppolicies")) {
        each(body, "backup policy", |p| {
            let iaas = p["properties"]["backupManagementType"] == "AzureIaasVM";
            match backup_policy::normalize(p) {
                Some(a) => Ok(a["tier"].as_str().unwrap_or("policy").to_string()),
                None if !iaas => Ok("not a VM policy".into()),
                None => Err("an Azure VM policy azprotect cannot read".into()),
            }
        })
    } else if rs && (ends("/backupprotecteditems") || ends("/protecteditems/{}")) {
        each(body, "protected item", |p| {
            let (_, a) = some(protected_vm::normalize(p), "not read as a VM item")?;
            let state = a["state"].as_str().unwrap_or_default().to_string();
            if state == "unknown" {
                return Err(format!(
                    "state unknown: {}",
                    p["properties"]["protectionState"]
                ));
            }
            Ok(state)
        })
    } else if rs && ends("/backupprotectableitems") {
        each(body, "protectable item", |p| {
            some(
                protected_vm::protectable(p).map(|(_, id)| id.name().to_string()),
                "not read",
            )
        })
    } else if rs && ends("/replicationfabrics/{}") {
        each(body, "fabric", |f| {
            let a = setup::normalize_fabric(f);
            location(&a)
        })
    } else if rs && ends("/replicationprotectioncontainers/{}") {
        each(body, "container", |c| {
            Ok(setup::normalize_container(c)["location"].to_string())
        })
    } else if rs && ends("/replicationpolicies/{}") {
        each(body, "replication policy", |p| {
            some(
                setup::normalize_policy(p).map(|a| a.to_string()),
                "not an A2A policy",
            )
        })
    } else if rs && ends("/replicationprotectioncontainermappings/{}") {
        each(body, "container mapping", |m| {
            let a = setup::normalize_mapping(m);
            some(
                a["target_container_id"]
                    .as_str()
                    .map(|_| "mapped".to_string()),
                "no target container",
            )
        })
    } else if rs && ends("/replicationnetworkmappings/{}") {
        each(body, "network mapping", |m| {
            let a = setup::normalize_network_mapping(m);
            some(
                a["target_network_id"]
                    .as_str()
                    .map(|_| "mapped".to_string()),
                "no target network",
            )
        })
    } else if rs && (ends("/replicationprotecteditems/{}") || ends("/replicationprotecteditems")) {
        each(body, "replicated item", |r| {
            some(
                replication::normalize(r).map(|(id, _)| id.name().to_string()),
                "not read",
            )
        })
    } else if rs && ends("/replicationrecoveryplans/{}") {
        each(body, "recovery plan", |p| {
            let a = recovery_plan::normalize(p, &|_| None);
            Ok(a["vms"].as_array().map_or(0, Vec::len).to_string() + " VMs")
        })
    } else if dp && ends("/backupvaults/{}") {
        each(body, "backup vault", |v| {
            let a = backup_vault::normalize(v);
            some(a["location"].as_str().map(str::to_string), "no location")
        })
    } else if dp && ends("/backuppolicies/{}") {
        each(body, "disk policy", |p| {
            let disks = p["properties"]["datasourceTypes"]
                .to_string()
                .contains("Microsoft.Compute/disks");
            match disk_policy::normalize(p) {
                Some(a) => Ok(a["every"].as_str().unwrap_or("?").to_string()),
                None if !disks => Ok("not a disk policy".into()),
                None => Err("a disk policy azprotect cannot read".into()),
            }
        })
    } else if dp && (ends("/backupinstances/{}") || ends("/backupinstances")) {
        each(body, "backup instance", |b| {
            let disk =
                b["properties"]["dataSourceInfo"]["datasourceType"] == "Microsoft.Compute/disks";
            match instance::normalize(b) {
                Some((_, a)) => Ok(a["state"].as_str().unwrap_or("?").to_string()),
                None if !disk => Ok("not a disk".into()),
                None => Err("a disk backup instance azprotect cannot read".into()),
            }
        })
    } else if dp && (ends("/recoverypoints/{}") || ends("/recoverypoints")) {
        each(body, "recovery point", |r| {
            some(
                RecoveryPoint::from_arm(r).map(|_| "read".to_string()),
                "not read",
            )
        })
    } else if compute && ends("/disks/{}") {
        each(body, "disk", |d| {
            some(ManagedDisk::from_arm(d).map(|d| d.name), "not read")
        })
    } else if compute && ends("/snapshots/{}") {
        each(body, "snapshot", |s| {
            some(
                Snapshot::from_arm(s).map(|_| "read".to_string()),
                "not read",
            )
        })
    } else if compute && ends("/virtualmachines/{}") {
        each(body, "virtual machine", |v| {
            some(vms::from_arm(v).map(|v| v.name), "not read")
        })
    } else if path.contains("/Microsoft.Authorization/") && ends("/roleassignments/{}") {
        each(body, "role assignment", |r| {
            Ok(role::normalize(r, &ArmId::new("/v"), None)
                .map_or("other role", |_| "disk role")
                .to_string())
        })
    } else {
        return None;
    })
}
