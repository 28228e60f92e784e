//! Whatever ARM answers, azprotect does not panic: every parser of ARM bodies meets arbitrary
//! JSON built from ARM's own vocabulary (wrong types, odd casing, missing keys, huge arrays), and
//! the real binary plans and applies every example against a sandbox whose answers arrive
//! garbled (`--faults garble=P`: truncated, retyped, recased, a key removed, an array of 5,000)
//! and ends with an error or a result — never a panic, never a change reported as a crash.

mod support;

use azprotect::azure::{error::parse_error_body, lro::classify_status, paging::parse_page};
use azprotect::model::{self, ArmId};
use azprotect::sandbox::SandboxOptions;
use proptest::prelude::*;
use serde_json::{json, Map, Value};
use support::estate::{repo, Estate};

/// Keys ARM bodies use, in their casing and others.
const KEYS: &[&str] = &[
    "id",
    "name",
    "type",
    "location",
    "tags",
    "properties",
    "value",
    "nextLink",
    "status",
    "error",
    "code",
    "message",
    "details",
    "percentComplete",
    "sku",
    "kind",
    "zones",
    "protectedItemType",
    "policyId",
    "sourceResourceId",
    "protectionState",
    "protectionStatus",
    "healthStatus",
    "schedulePolicy",
    "retentionPolicy",
    "scheduleRunTimes",
    "dailySchedule",
    "retentionDuration",
    "count",
    "durationType",
    "backupManagementType",
    "policyType",
    "instantRpRetentionRangeInDays",
    "timeZone",
    "virtualMachineId",
    "extendedInfo",
    "diskExclusionProperties",
    "diskLunList",
    "isInclusionList",
    "redundancySettings",
    "securitySettings",
    "softDeleteSettings",
    "immutabilitySettings",
    "storageSettings",
    "dataSourceInfo",
    "policyInfo",
    "currentProtectionState",
    "identity",
    "principalId",
    "roleDefinitionId",
    "principalType",
    "scope",
    "providerSpecificDetails",
    "instanceType",
    "replicationHealth",
    "protectionStateDescription",
    "recoveryFabricId",
    "groups",
    "replicationProtectedItems",
    "virtualMachineId",
    "creationTime",
    "diskSizeGB",
    "storageProfile",
    "osDisk",
    "dataDisks",
    "lun",
    "managedDisk",
    "hardwareProfile",
    "vmSize",
    "PROPERTIES",
    "Id",
    "Value",
    "STATUS",
    "Location",
];

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(KEYS).prop_map(str::to_string),
        1 => "[a-zA-Z]{0,8}",
    ]
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        Just(json!(u64::MAX)),
        prop::sample::select(&[
            "",
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm",
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/v/backupPolicies/p",
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.DataProtection/backupVaults/b/backupInstances/i",
            "Protected", "ProtectionStopped", "Succeeded", "Failed", "InProgress", "Canceled",
            "AzureIaasVM", "Microsoft.Compute/virtualMachines", "A2A", "Normal", "westeurope",
            "2026-12-05T18:00:00Z", "not a date", "https://example.invalid/next", "https://",
            "PT4H", "P30D", "ü\u{0}", "Daily", "Weekly", "Enabled", "AlwaysON",
        ][..])
        .prop_map(|s| json!(s)),
        "[ -~]{0,20}".prop_map(Value::String),
    ]
}

/// Arbitrary JSON shaped like ARM's: objects keyed by ARM's words, arrays (some long).
fn arm_json() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(6, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            // A huge array of small values (nested huge arrays would grow without bound).
            (leaf(), 0usize..2000).prop_map(|(v, n)| Value::Array(vec![v; n])),
            prop::collection::vec((key(), inner), 0..8)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Every parser of an ARM body, fed `v`.
fn parse_everything(v: &Value) {
    let vault = ArmId::new(
        "/subscriptions/s/resourceGroups/rg/providers/Microsoft.DataProtection/backupVaults/b",
    );
    let _ = model::vault::normalize(v);
    let _ = model::backup_policy::normalize(v);
    let _ = model::protected_vm::normalize(v);
    let _ = model::resource_group::normalize(v);
    let _ = model::disk_backup::vault::normalize(v);
    let _ = model::disk_backup::policy::normalize(v);
    let _ = model::disk_backup::instance::normalize(v);
    let _ = model::disk_backup::role::normalize(v, &vault, Some("/uami"));
    let _ = model::site_recovery::replication::normalize(v);
    let _ = model::site_recovery::recovery_plan::normalize(v, &|_| None);
    let _ = model::site_recovery::recovery_plan::normalize(v, &|id| Some(id.name().into()));
    let _ = model::site_recovery::setup::normalize_fabric(v);
    let _ = model::site_recovery::setup::normalize_container(v);
    let _ = model::site_recovery::setup::normalize_policy(v);
    let _ = model::site_recovery::setup::normalize_mapping(v);
    let _ = model::site_recovery::setup::normalize_network_mapping(v);
    let _ = model::ManagedDisk::from_arm(v);
    let _ = azprotect::live::vms::from_arm(v);
    let _ = model::snapshot::Snapshot::from_arm(v);
    let _ = model::snapshot::BackupInstance::from_arm(v);
    let _ = model::snapshot::RecoveryPoint::from_arm(v);
    let _ = model::snapshot::parse_time(v);
    let _ = model::lease::value_in(v);
    let _ = model::lease::value_in_answer(v);
    let arm = url::Url::parse("https://management.azure.com").unwrap();
    let text = v.to_string();
    let _ = parse_page(text.as_bytes(), &arm);
    let _ = parse_page(&text.as_bytes()[..text.len() / 2], &arm);
    let _ = parse_error_body(400, text.as_bytes());
    let _ = parse_error_body(500, &text.as_bytes()[..text.len() / 2]);
    if let Some(s) = v["status"].as_str() {
        let _ = classify_status(s);
    }
    // The same body one level down, where list answers keep their items.
    if let Some(items) = v["value"].as_array() {
        for i in items.iter().take(50) {
            let _ = model::protected_vm::normalize(i);
            let _ = model::site_recovery::replication::normalize(i);
            let _ = model::disk_backup::instance::normalize(i);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn no_arm_body_makes_a_parser_panic(v in arm_json()) {
        parse_everything(&v);
        // And the same body wrapped where parsers look: in `properties`, and as a list item.
        parse_everything(&json!({"id": "/subscriptions/s/resourceGroups/rg", "properties": v.clone()}));
        parse_everything(&json!({"value": [v]}));
    }

    #[test]
    fn no_error_body_bytes_make_the_error_parser_panic(
        status in 100u16..600,
        bytes in prop::collection::vec(any::<u8>(), 0..600),
    ) {
        let e = parse_error_body(status, &bytes);
        prop_assert!(!e.code.is_empty());
    }
}

/// The binary's run against a garbling sandbox: exit 0, 1 or 2 and no panic.
fn ended_cleanly(what: &str, run: &support::estate::Run) {
    assert!(
        [0, 1, 2].contains(&run.code)
            && !run.stderr.contains("panicked")
            && !run.stdout.contains("azprotect failed while applying"),
        "{what}: exit {}\n{}\n{}",
        run.code,
        run.stdout,
        run.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbled_answers_end_in_errors_not_panics() {
    let examples = [
        "quickstart.yaml",
        "multi-vault.yaml",
        "site-recovery.yaml",
        "disk-backup.yaml",
    ];
    let mut outcomes = std::collections::BTreeMap::new();
    for seed in 1..=6u64 {
        let estate = Estate::start_with(SandboxOptions {
            faults: Some(format!("seed={seed},garble=0.15")),
            time_scale: 0.001,
            ..SandboxOptions::default()
        })
        .await;
        for example in examples {
            let file = repo().join("examples").join(example).display().to_string();
            for args in [
                vec!["plan", "-f", &file],
                vec!["apply", "-f", &file, "--auto-approve"],
                vec!["plan", "-f", &file, "--format", "json"],
            ] {
                let run = estate.run(&args).await;
                ended_cleanly(&format!("seed {seed}: {}", args.join(" ")), &run);
                *outcomes.entry(run.code).or_insert(0) += 1;
            }
        }
    }
    // The garbling reached the parsers: some runs failed on it, some got through.
    assert!(
        outcomes.get(&1).copied().unwrap_or(0) > 0 && outcomes.len() > 1,
        "{outcomes:?}"
    );
}
