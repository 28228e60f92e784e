//! The static rules of `stamps:` and `select.locations`, told as the user's story: what they
//! wrote, and the diagnostic (snapshotted) that points at the offending line and column.

mod support;

use azprotect::config;
use support::diagnostics::{diagnose, loads};

/// A stamp `lz` whose "where" lines (indented 4) are `place`, and whose vault protects `protect`
/// (the lines of one entry after `- policy: gold`, indented 10).
fn stamp(place: &str, names: (&str, &str), protect: &str) -> String {
    format!(
        "version: 1
subscription: 00000000-0000-0000-0000-000000000001
stamps:
  lz:
{place}    resource_group: {}
    recovery_vault:
      name: {}
      backup_policies:
        gold:
          schedule: {{daily: {{at: '02:00'}}}}
          retention: {{daily: 30d}}
      protect:
        - policy: gold
{protect}",
        names.0, names.1
    )
}

const MG: &str = "    management_group: mg-corp\n";
const NAMES: (&str, &str) = (
    "rg-backup-{subscription.name}-{region}",
    "rsv-{subscription.name}-{region}",
);
const GOLD: &str = "          select: {tags: {backup: gold}}\n";

#[test]
fn a_stamp_over_a_management_group_or_listed_subscriptions_validates() {
    assert!(loads(&stamp(MG, NAMES, GOLD)));
    let listed = "    subscriptions: [00000000-0000-0000-0000-000000000002]\n    regions: [westeurope, North Europe]\n    create_empty_regions: true\n";
    assert!(loads(&stamp(listed, NAMES, GOLD)));
}

#[test]
fn an_unknown_placeholder_is_pointed_at_in_the_pattern() {
    insta::assert_snapshot!(diagnose(&stamp(
        MG,
        (
            "rg-backup-{region}",
            "rsv-{subscription.display_name}-{region}"
        ),
        GOLD
    )));
}

#[test]
fn a_stamp_protects_by_selectors_only() {
    insta::assert_snapshot!(diagnose(&stamp(
        MG,
        NAMES,
        "          vms: [rg-app/app-01]\n"
    )));
}

#[test]
fn a_stamp_takes_its_subscriptions_from_one_place() {
    let both = "    management_group: mg-corp\n    subscriptions: [00000000-0000-0000-0000-000000000002]\n";
    insta::assert_snapshot!(diagnose(&stamp(both, NAMES, GOLD)));
    let none = diagnose(&stamp("", NAMES, GOLD));
    assert!(none.contains("stamp `lz` names no subscriptions"), "{none}");
    let not_guid = diagnose(&stamp("    subscriptions: [corp-prod]\n", NAMES, GOLD));
    assert!(
        not_guid.contains("`corp-prod` is not a subscription id"),
        "{not_guid}"
    );
}

#[test]
fn create_empty_regions_needs_regions() {
    insta::assert_snapshot!(diagnose(&stamp(
        "    management_group: mg-corp\n    create_empty_regions: true\n",
        NAMES,
        GOLD
    )));
}

#[test]
fn the_stamped_vault_is_checked_as_a_hand_written_one() {
    let out = diagnose(&stamp(MG, NAMES, "          select: {tags: {backup: gold}}\n        - policy: silver\n          select: {tags: {backup: silver}}\n"));
    assert!(out.contains("has no backup policy `silver`"), "{out}");
    let out = diagnose(&stamp(
        MG,
        NAMES,
        "          select: {locations: [west-europe!]}\n",
    ));
    assert!(
        out.contains("`select` needs `resource_groups`, `tags`, or both"),
        "{out}"
    );
    assert!(
        out.contains("`west-europe!` is not an Azure region"),
        "{out}"
    );
}

#[test]
fn a_selector_s_locations_are_regions_and_only_for_vms() {
    let vault = "version: 1
subscription: 00000000-0000-0000-0000-000000000001
recovery_vaults:
  rsv-a:
    resource_group: rg-a
    location: westeurope
    backup_policies:
      gold: {schedule: {daily: {at: '02:00'}}, retention: {daily: 30d}}
    protect:
      - policy: gold
        select: {tags: {backup: gold}, locations: [West Europe]}
";
    assert!(loads(vault));
    let desired = config::load_sources(vec![("a.yaml".into(), vault.into())])
        .unwrap()
        .desired(None)
        .unwrap();
    assert_eq!(desired.selectors[0].locations, ["westeurope"]);
    insta::assert_snapshot!(diagnose(&vault.replace("[West Europe]", "[]")));
}

#[test]
fn locations_are_refused_in_a_disk_selector() {
    let example = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/disk-backup.yaml"),
    )
    .unwrap();
    assert!(loads(&example));
    let with = example.replace(
        "select: {tags: {snapshot: 4h}}",
        "select: {tags: {snapshot: 4h}, locations: [westeurope]}",
    );
    assert_ne!(with, example);
    let out = diagnose(&with);
    assert!(out.contains("`locations` selects VMs, not disks"), "{out}");
}

#[test]
fn a_site_recovery_selector_takes_no_locations_its_source_region_says_where() {
    let file = "version: 1
subscription: 00000000-0000-0000-0000-000000000001
recovery_vaults:
  rsv-dr-neu: {resource_group: rg-protect-neu, location: northeurope}
site_recovery:
  app-dr:
    vault: rsv-dr-neu
    source_region: westeurope
    target_region: northeurope
    policy: {recovery_points: 24h, app_consistent_every: 4h}
    target_resource_group: /subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-app-dr
    cache_storage_account: /subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-app/providers/Microsoft.Storage/storageAccounts/asrcacheweu
    select: {tags: {dr: neu}, locations: [northeurope]}
";
    let out = diagnose(file);
    assert!(
        out.contains("`locations` is not for a `site_recovery` selector"),
        "{out}"
    );
    assert!(loads(&file.replace(", locations: [northeurope]", "")));
}
