//! Desired attribute objects shared by the model tests: hand-written vaults and policies and a
//! proptest generator of valid policies (the rules `validate` enforces), plus resource builders.

use azprotect::model::{
    backup_policy, protected_vm, vault, Address, ArmId, Resource, ResourceKind,
};
use proptest::prelude::*;
use serde_json::{json, Value};

pub const SUB: &str = "00000000-0000-0000-0000-000000000001";

pub fn vault_id() -> ArmId {
    vault::arm_id(SUB, "rg-protect-weu", "rsv-prod-weu")
}

pub fn resource(kind: ResourceKind, name: &str, arm_id: ArmId, attrs: Value) -> Resource {
    Resource {
        address: Address::new(kind, name),
        arm_id,
        attrs,
        depends_on: vec![],
    }
}

pub fn vault_cases() -> Vec<Value> {
    vec![
        json!({"location": "westeurope"}),
        json!({"location": "westeurope", "tags": {"managed-by": "azprotect"}}),
        json!({
            "location": "westeurope",
            "storage_redundancy": "GeoRedundant",
            "cross_region_restore": true,
            "soft_delete": {"state": "AlwaysOn", "retention_days": 14},
            "immutability": "Unlocked",
            "public_network_access": false,
            "tags": {"managed-by": "azprotect", "env": "prod"}
        }),
        json!({
            "location": "northeurope",
            "storage_redundancy": "LocallyRedundant",
            "cross_region_restore": false,
            "soft_delete": {"state": "Off", "retention_days": 14},
            "immutability": "Disabled",
            "public_network_access": true
        }),
        json!({
            "location": "eastus2",
            "storage_redundancy": "ZoneRedundant",
            "soft_delete": {"state": "On", "retention_days": 180},
            "immutability": "Locked"
        }),
    ]
}

pub fn policy_resource(attrs: Value) -> Resource {
    let id = backup_policy::arm_id(&vault_id(), "gold");
    resource(ResourceKind::BackupPolicy, "rsv-prod-weu/gold", id, attrs)
}

pub fn policy_cases() -> Vec<Value> {
    vec![
        // CONFIG.md's example policy.
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
        }),
        json!({
            "tier": "standard",
            "schedule": {"daily": {"at": "23:00"}},
            "time_zone": "UTC",
            "consistency": "application",
            "instant_restore_days": 2,
            "retention": {"daily": "7d"}
        }),
        json!({
            "tier": "standard",
            "schedule": {"weekly": {"on": ["Sunday", "Wednesday"], "at": "01:30"}},
            "time_zone": "Pacific Standard Time",
            "consistency": "application",
            "instant_restore_days": 5,
            "retention": {
                "weekly": {"keep": 52, "on": ["Sunday", "Wednesday"]},
                "monthly": {"keep": 24, "week": ["First", "Last"], "on": ["Sunday", "Wednesday"]},
                "yearly": {"keep": 10, "month": ["January", "July"], "week": "Last", "on": "Sunday"}
            }
        }),
        json!({
            "tier": "enhanced",
            "schedule": {"daily": {"at": "10:00"}},
            "time_zone": "India Standard Time",
            "consistency": "crash_only",
            "instant_restore_days": 30,
            "retention": {"daily": "180d", "monthly": {"keep": 60, "days": [1, 15, "Last"]}}
        }),
        json!({
            "tier": "enhanced",
            "schedule": {"weekly": {"on": ["Saturday"], "at": "00:00"}},
            "time_zone": "UTC",
            "consistency": "application",
            "instant_restore_days": 5,
            "retention": {"weekly": {"keep": 4, "on": ["Saturday"]}}
        }),
    ]
}

pub fn subset(all: &'static [&'static str]) -> impl Strategy<Value = Vec<String>> {
    proptest::sample::subsequence(all, 1..=all.len())
        .prop_map(|v| v.into_iter().map(str::to_string).collect())
}

pub fn one_or_many(v: Vec<String>) -> Value {
    if v.len() == 1 {
        json!(v[0])
    } else {
        json!(v)
    }
}

pub fn time() -> impl Strategy<Value = String> {
    (0u32..24, prop::bool::ANY)
        .prop_map(|(h, half)| format!("{h:02}:{}", if half { "30" } else { "00" }))
}

#[derive(Debug, Clone)]
pub enum Sched {
    Hourly(u64, String, u64),
    Daily(String),
    Weekly(Vec<String>, String),
}

pub fn schedule(enhanced: bool) -> BoxedStrategy<Sched> {
    let daily = time().prop_map(Sched::Daily);
    let weekly = (subset(&backup_policy::DAYS), time()).prop_map(|(d, t)| Sched::Weekly(d, t));
    if enhanced {
        let hourly = (prop::sample::select(vec![4u64, 6, 8, 12]), time(), 1u64..=6)
            .prop_filter_map("window 4-24h, multiple of interval", |(every, start, k)| {
                let duration = every * k;
                (4..=24)
                    .contains(&duration)
                    .then_some(Sched::Hourly(every, start, duration))
            });
        prop_oneof![hourly, daily, weekly].boxed()
    } else {
        prop_oneof![daily, weekly].boxed()
    }
}

pub fn valid_policy() -> impl Strategy<Value = Value> {
    prop::bool::ANY
        .prop_flat_map(|enhanced| {
            (
                Just(enhanced),
                schedule(enhanced),
                prop::sample::select(vec!["UTC", "W. Europe Standard Time", "India Standard Time", "Pacific Standard Time"]),
                prop::bool::ANY,
                if enhanced { 1u64..=30 } else { 1u64..=5 },
                7u64..=9999,
                prop::option::of((1u64..=5163, subset(&backup_policy::DAYS))),
                prop::option::of((1u64..=1188, subset(&backup_policy::WEEKS), subset(&backup_policy::DAYS))),
                prop::option::of((
                    1u64..=99,
                    subset(&backup_policy::MONTHS),
                    subset(&backup_policy::WEEKS),
                    subset(&backup_policy::DAYS),
                )),
            )
        })
        .prop_map(|(enhanced, sched, tz, crash, ir, daily, weekly, monthly, yearly)| {
            let (schedule, weekly_days) = match &sched {
                Sched::Hourly(e, s, d) => (json!({"hourly": {"every": format!("{e}h"), "start": s, "duration": format!("{d}h")}}), None),
                Sched::Daily(t) => (json!({"daily": {"at": t}}), None),
                Sched::Weekly(days, t) => (json!({"weekly": {"on": days, "at": t}}), Some(days.clone())),
            };
            let mut retention = serde_json::Map::new();
            if weekly_days.is_none() {
                retention.insert("daily".into(), json!(format!("{daily}d")));
            }
            // A weekly schedule needs weekly retention (azurerm's backup_policy_vm checks it).
            let weekly = weekly.or_else(|| weekly_days.clone().map(|d| (4, d)));
            if let Some((keep, on)) = weekly {
                // A weekly schedule keeps weekly points only on its own days.
                let on = weekly_days.clone().unwrap_or(on);
                retention.insert("weekly".into(), json!({"keep": keep, "on": on}));
            }
            if let Some((keep, week, on)) = monthly {
                retention.insert("monthly".into(), json!({"keep": keep, "week": one_or_many(week), "on": one_or_many(on)}));
            }
            if let Some((keep, month, week, on)) = yearly {
                retention.insert(
                    "yearly".into(),
                    json!({"keep": keep, "month": one_or_many(month), "week": one_or_many(week), "on": one_or_many(on)}),
                );
            }
            json!({
                "tier": if enhanced { "enhanced" } else { "standard" },
                "schedule": schedule,
                "time_zone": tz,
                "consistency": if enhanced && crash { "crash_only" } else { "application" },
                "instant_restore_days": ir,
                "retention": retention,
            })
        })
}

pub fn vm_id(rg: &str, vm: &str) -> String {
    format!(
        "/subscriptions/{SUB}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachines/{vm}"
    )
}

pub fn item_resource(rg: &str, vm: &str, attrs: Value) -> Resource {
    let id = protected_vm::arm_id(&vault_id(), rg, vm);
    resource(
        ResourceKind::ProtectedVm,
        &format!("rsv-prod-weu/{rg}/{vm}"),
        id,
        attrs,
    )
}
