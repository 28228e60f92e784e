//! The rich plan every render test snapshots: creates of a vault, a policy and protected VMs,
//! an update with nested diffs, a replace, a delete that keeps data, a delete that deletes it,
//! and a blocked change. Plus an empty plan and a huge one for the comment-size limit.

use azprotect::model::Address;
use azprotect::plan::{Action, AttrChange, Change, DataEffect, Plan};
use serde_json::{json, Value};

pub const SUB: &str = "00000000-0000-0000-0000-000000000001";

fn vault_id(name: &str) -> String {
    format!("/subscriptions/{SUB}/resourceGroups/rg-protect-weu/providers/Microsoft.RecoveryServices/vaults/{name}")
}

fn item_id(vault: &str, rg: &str, vm: &str) -> String {
    format!(
        "{}/backupFabrics/Azure/protectionContainers/iaasvmcontainer;iaasvmcontainerv2;{rg};{vm}/protectedItems/vm;iaasvmcontainerv2;{rg};{vm}",
        vault_id(vault)
    )
}

fn vm_id(rg: &str, vm: &str) -> String {
    format!(
        "/subscriptions/{SUB}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachines/{vm}"
    )
}

fn change(address: &str, action: Action, arm_id: String) -> Change {
    Change::new(
        address.parse::<Address>().expect("address"),
        action,
        azprotect::model::ArmId::new(arm_id),
    )
}

fn attr(path: &str, before: Option<Value>, after: Option<Value>) -> AttrChange {
    AttrChange {
        path: path.into(),
        before,
        after,
    }
}

fn gold_policy() -> Value {
    json!({
        "tier": "enhanced",
        "schedule": {"hourly": {"every": "4h", "start": "08:00", "duration": "12h"}},
        "time_zone": "W. Europe Standard Time",
        "consistency": "application",
        "instant_restore_days": 7,
        "retention": {
            "daily": "30d",
            "weekly": {"keep": 12, "on": ["Sunday"]},
            "monthly": {"keep": 12, "week": "First", "on": "Sunday"},
            "yearly": {"keep": 7, "month": "January", "week": "First", "on": "Sunday"}
        }
    })
}

pub fn rich_plan() -> Plan {
    let mut changes = Vec::new();

    let mut c = change(
        "recovery_vault.rsv-prod-weu",
        Action::Create,
        vault_id("rsv-prod-weu"),
    );
    c.after = Some(json!({
        "location": "westeurope",
        "storage_redundancy": "GeoRedundant",
        "cross_region_restore": true,
        "soft_delete": {"state": "AlwaysOn", "retention_days": 14},
        "immutability": "Unlocked",
        "public_network_access": false,
        "tags": {"managed-by": "azprotect"}
    }));
    c.reasons = vec!["declared in the file, not found in Azure".into()];
    changes.push(c);

    let mut c = change(
        "backup_policy.rsv-prod-weu/gold",
        Action::Create,
        format!("{}/backupPolicies/gold", vault_id("rsv-prod-weu")),
    );
    c.after = Some(gold_policy());
    c.depends_on = vec!["recovery_vault.rsv-prod-weu".parse().unwrap()];
    changes.push(c);

    for vm in ["app-01", "app-02"] {
        let mut c = change(
            &format!("protected_vm.rsv-prod-weu/rg-app/{vm}"),
            Action::Create,
            item_id("rsv-prod-weu", "rg-app", vm),
        );
        let mut after =
            json!({"vm_id": vm_id("rg-app", vm), "policy": "gold", "state": "protected"});
        if vm == "app-02" {
            after["exclude_disks"] = json!([2, 3]);
        }
        c.after = Some(after);
        c.depends_on = vec!["backup_policy.rsv-prod-weu/gold".parse().unwrap()];
        changes.push(c);
    }

    let mut c = change(
        "backup_policy.rsv-dr-neu/silver",
        Action::Update,
        format!("{}/backupPolicies/silver", vault_id("rsv-dr-neu")),
    );
    let mut before = gold_policy();
    before["retention"]["daily"] = json!("14d");
    before["retention"]["monthly"] = json!({"keep": 6, "week": "First", "on": "Sunday"});
    before["retention"]
        .as_object_mut()
        .unwrap()
        .remove("yearly");
    c.before = Some(before);
    c.after = Some(gold_policy());
    c.diff = vec![
        attr("retention.daily", Some(json!("14d")), Some(json!("30d"))),
        attr("retention.monthly.keep", Some(json!(6)), Some(json!(12))),
        attr(
            "retention.yearly",
            None,
            Some(json!({"keep": 7, "month": "January", "week": "First", "on": "Sunday"})),
        ),
        attr(
            "schedule.hourly.every",
            Some(json!("6h")),
            Some(json!("4h")),
        ),
    ];
    c.reasons = vec!["retention and schedule differ from the file".into()];
    changes.push(c);

    let mut c = change(
        "protected_vm.rsv-dr-neu/rg-db/db-01",
        Action::Replace,
        item_id("rsv-dr-neu", "rg-db", "db-01"),
    );
    c.before = Some(
        json!({"vm_id": vm_id("rg-db", "db-01"), "policy": "silver", "state": "soft_deleted"}),
    );
    c.after =
        Some(json!({"vm_id": vm_id("rg-db", "db-01"), "policy": "silver", "state": "protected"}));
    c.diff = vec![attr(
        "state",
        Some(json!("soft_deleted")),
        Some(json!("protected")),
    )];
    c.reasons = vec!["the item is soft-deleted: undelete, then protect again".into()];
    changes.push(c);

    let mut c = change(
        "protected_vm.rsv-prod-weu/rg-web/web-2",
        Action::Delete,
        item_id("rsv-prod-weu", "rg-web", "web-2"),
    );
    c.before =
        Some(json!({"vm_id": vm_id("rg-web", "web-2"), "policy": "gold", "state": "protected"}));
    c.data = Some(DataEffect::Retained);
    c.reasons = vec!["no longer declared; on_remove: retain_data".into()];
    changes.push(c);

    let mut c = change(
        "protected_vm.rsv-prod-weu/rg-web/web-3",
        Action::Delete,
        item_id("rsv-prod-weu", "rg-web", "web-3"),
    );
    c.before = Some(
        json!({"vm_id": vm_id("rg-web", "web-3"), "policy": "gold", "exclude_disks": [1], "state": "stopped"}),
    );
    c.data = Some(DataEffect::Deleted);
    c.reasons = vec!["no longer declared; on_remove: delete_data".into()];
    changes.push(c);

    let mut c = change(
        "recovery_vault.rsv-dr-neu",
        Action::Update,
        vault_id("rsv-dr-neu"),
    );
    c.before = Some(
        json!({"location": "northeurope", "storage_redundancy": "LocallyRedundant", "tags": {"managed-by": "azprotect", "owner": "dr-team"}}),
    );
    c.after = Some(
        json!({"location": "northeurope", "storage_redundancy": "GeoRedundant", "tags": {"managed-by": "azprotect", "env": "dr"}}),
    );
    c.diff = vec![
        attr(
            "storage_redundancy",
            Some(json!("LocallyRedundant")),
            Some(json!("GeoRedundant")),
        ),
        attr("tags.env", None, Some(json!("dr"))),
    ];
    c.blocked = Some("storage redundancy is locked once items are protected".into());
    changes.push(c);

    Plan::new(vec![SUB.into()], changes)
}

pub fn empty_plan() -> Plan {
    Plan::new(vec![SUB.into()], vec![])
}

/// `n` protected VMs to create and `n / 10` to delete with their data, in one vault.
pub fn huge_plan(n: usize) -> Plan {
    let mut changes = Vec::new();
    for i in 0..n {
        let vm = format!("vm-{i:05}");
        let mut c = change(
            &format!("protected_vm.rsv-prod-weu/rg-fleet/{vm}"),
            Action::Create,
            item_id("rsv-prod-weu", "rg-fleet", &vm),
        );
        c.after = Some(
            json!({"vm_id": vm_id("rg-fleet", &vm), "policy": "gold", "exclude_disks": [1, 2], "state": "protected"}),
        );
        changes.push(c);
    }
    for i in 0..n / 10 {
        let vm = format!("old-{i:05}");
        let mut c = change(
            &format!("protected_vm.rsv-prod-weu/rg-fleet/{vm}"),
            Action::Delete,
            item_id("rsv-prod-weu", "rg-fleet", &vm),
        );
        c.before =
            Some(json!({"vm_id": vm_id("rg-fleet", &vm), "policy": "gold", "state": "protected"}));
        c.data = Some(DataEffect::Deleted);
        changes.push(c);
    }
    Plan::new(vec![SUB.into()], changes)
}
