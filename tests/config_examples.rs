//! Every `examples/*.yaml` validates and becomes the resources it promises.

use azprotect::config;
use std::path::PathBuf;

fn addresses(file: &str) -> Vec<String> {
    let loaded = config::load(&[PathBuf::from(file)])
        .unwrap_or_else(|e| panic!("{file}: {:?}", miette::Report::new(e)));
    assert!(loaded.warnings().is_empty(), "{file} has warnings");
    let d = loaded.desired(None).expect("desired");
    d.resources.iter().map(|r| r.address.to_string()).collect()
}

#[test]
fn every_example_validates_and_builds_a_desired_state() {
    let mut n = 0;
    for entry in std::fs::read_dir("examples").unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml") {
            let loaded = config::load(std::slice::from_ref(&path))
                .unwrap_or_else(|e| panic!("{}: {:?}", path.display(), miette::Report::new(e)));
            loaded
                .desired(None)
                .unwrap_or_else(|e| panic!("{}: {:?}", path.display(), miette::Report::new(e)));
            n += 1;
        }
    }
    assert!(n >= 2, "expected at least two examples, found {n}");
}

#[test]
fn the_quickstart_declares_one_vault_two_policies_and_two_vms() {
    assert_eq!(
        addresses("examples/quickstart.yaml"),
        [
            "resource_group.rg-protect-weu",
            "recovery_vault.rsv-prod-weu",
            "backup_policy.rsv-prod-weu/gold",
            "backup_policy.rsv-prod-weu/silver",
            "protected_vm.rsv-prod-weu/rg-app/app-01",
            "protected_vm.rsv-prod-weu/rg-app/db-01",
        ]
    );
}

#[test]
fn the_multi_vault_example_spans_two_regions_with_selectors() {
    assert_eq!(
        addresses("examples/multi-vault.yaml"),
        [
            "resource_group.rg-protect-weu",
            "resource_group.rg-protect-neu",
            "resource_group.rg-protect-shared",
            "recovery_vault.rsv-prod-weu",
            "recovery_vault.rsv-prod-neu",
            "recovery_vault.rsv-shared-weu",
            "backup_policy.rsv-prod-weu/hourly-gold",
            "backup_policy.rsv-prod-weu/weekly-archive",
            "backup_policy.rsv-prod-neu/daily-silver",
            "backup_policy.rsv-shared-weu/daily-ad",
            "protected_vm.rsv-prod-weu/rg-app/db-01",
            "protected_vm.rsv-shared-weu/rg-shared/ad-01",
        ]
    );
    let d = config::load(&[PathBuf::from("examples/multi-vault.yaml")])
        .unwrap()
        .desired(None)
        .unwrap();
    let sel: Vec<(String, String)> = d
        .selectors
        .iter()
        .map(|s| (s.vault.clone(), s.policy.clone()))
        .collect();
    assert_eq!(
        sel,
        [
            ("rsv-prod-weu".to_string(), "hourly-gold".to_string()),
            ("rsv-prod-weu".to_string(), "weekly-archive".to_string()),
            ("rsv-prod-neu".to_string(), "daily-silver".to_string()),
        ]
    );
    assert_eq!(d.vaults[1].location, "northeurope");
}

#[test]
fn the_two_examples_load_together_as_one_estate_only_if_they_do_not_overlap() {
    // Both declare rg-protect-weu and rsv-prod-weu: loading them together is an error.
    let err = config::load(&[
        PathBuf::from("examples/quickstart.yaml"),
        PathBuf::from("examples/multi-vault.yaml"),
    ])
    .expect_err("overlapping examples must not merge");
    assert!(err.diagnostics.len() >= 2);
}

#[test]
fn the_site_recovery_example_validates_cleanly_and_becomes_one_replication_group() {
    let loaded = config::load(&[PathBuf::from("examples/site-recovery.yaml")])
        .unwrap_or_else(|e| panic!("{:?}", miette::Report::new(e)));
    let warnings: Vec<String> = loaded.warnings().iter().map(|w| w.to_string()).collect();
    assert!(warnings.is_empty(), "{warnings:?}");
    // The group itself expands at plan time; desired() carries it as data.
    let d = loaded.desired(None).expect("desired");
    assert_eq!(d.replication_groups.len(), 1);
    let g = &d.replication_groups[0];
    assert_eq!(
        (g.name.as_str(), g.vms.len(), g.recovery_plans.len()),
        ("app-dr", 2, 1)
    );
    assert_eq!(
        (g.recovery_points_minutes, g.app_consistent_minutes),
        (24 * 60, 4 * 60)
    );
    let addrs: Vec<String> = d.resources.iter().map(|r| r.address.to_string()).collect();
    assert_eq!(
        addrs,
        [
            "resource_group.rg-protect-neu",
            "resource_group.rg-app-dr",
            "recovery_vault.rsv-dr-neu",
        ]
    );
    let sr = &loaded.files()[0].site_recovery.as_ref().unwrap().value;
    let (name, app_dr) = &sr.0[0];
    assert_eq!(name.value, "app-dr");
    let p = app_dr.value.policy.as_ref().unwrap();
    let minutes = |s: &Option<config::Sp<String>>| {
        config::validate::parse_minutes(&s.as_ref().unwrap().value)
    };
    assert_eq!(minutes(&p.value.recovery_points), Some(1_440));
    assert_eq!(minutes(&p.value.app_consistent_every), Some(240));
}

#[test]
fn the_disk_backup_example_validates_cleanly_with_two_policies_and_one_protect_entry() {
    use config::validate::{parse_days, parse_every, parse_start, snapshots_kept, Interval};
    let loaded = config::load(&[PathBuf::from("examples/disk-backup.yaml")])
        .unwrap_or_else(|e| panic!("{:?}", miette::Report::new(e)));
    let warnings: Vec<String> = loaded.warnings().iter().map(|w| w.to_string()).collect();
    assert!(warnings.is_empty(), "{warnings:?}");
    loaded.desired(None).expect("desired");

    let vaults = &loaded.files()[0].disk_backup.as_ref().unwrap().value;
    let (name, v) = &vaults.0[0];
    assert_eq!(name.value, "bv-prod-weu");
    let v = &v.value;
    assert_eq!(
        (v.resource_group.value.as_str(), v.location.value.as_str()),
        ("rg-protect-weu", "westeurope")
    );
    assert_eq!(v.grant_permissions.as_ref().map(|g| g.value), Some(true));
    let policies: Vec<(String, Option<Interval>, Option<u32>)> = v
        .policies
        .as_ref()
        .unwrap()
        .value
        .iter()
        .map(|(k, p)| {
            (
                k.value.clone(),
                parse_every(&p.value.every.value),
                parse_days(&p.value.retention.value),
            )
        })
        .collect();
    assert_eq!(
        policies,
        [
            ("every-4h".into(), Some(Interval::Hours(4)), Some(7)),
            ("daily".into(), Some(Interval::Daily), Some(30)),
        ]
    );
    assert_eq!(snapshots_kept(Interval::Hours(4), 7), 42);
    let daily = v.policies.as_ref().unwrap().value.get("daily").unwrap();
    assert_eq!(
        parse_start(&daily.value.start.as_ref().unwrap().value),
        Some((2, 0))
    );
    let protect = &v.protect.as_ref().unwrap().value;
    assert_eq!(protect.len(), 1);
    let e = &protect[0].value;
    assert_eq!(e.policy.value, "every-4h");
    assert_eq!(e.snapshot_resource_group.value, "rg-snapshots-weu");
    let disks: Vec<&str> = e
        .disks
        .as_ref()
        .unwrap()
        .value
        .iter()
        .map(|d| d.value.as_str())
        .collect();
    assert_eq!(disks, ["rg-app/shared-data"]);
    let tags = &e
        .select
        .as_ref()
        .unwrap()
        .value
        .tags
        .as_ref()
        .unwrap()
        .value;
    assert_eq!(tags.get("snapshot").map(|t| t.value.as_str()), Some("4h"));
}
