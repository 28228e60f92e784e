//! Every static rule of the desired-state file, told as the user's story: what they wrote, and
//! the diagnostic (snapshotted) that points at the offending line and column.

mod support;

use azprotect::config;
use support::diagnostics::{diagnose, handler, loads, render_error, warnings};

fn diagnose_files(files: &[(&str, &str)]) -> String {
    let sources = files
        .iter()
        .map(|(n, t)| (n.to_string(), t.to_string()))
        .collect();
    match config::load_sources(sources) {
        Ok(_) => panic!("expected diagnostics"),
        Err(e) => render_error(&e),
    }
}

const HEADER: &str = "version: 1\nsubscription: 00000000-0000-0000-0000-000000000001\n";

/// A file with one vault `rsv-a` whose body (indented 4) is `vault_body`.
fn with_vault(vault_body: &str) -> String {
    format!("{HEADER}recovery_vaults:\n  rsv-a:\n    resource_group: rg-a\n    location: westeurope\n{vault_body}")
}

/// A file with one vault holding policy `gold` with `policy_body` (indented 8).
fn with_policy(policy_body: &str) -> String {
    with_vault(&format!("    backup_policies:\n      gold:\n{policy_body}"))
}

// ---------------------------------------------------------------- parsing

#[test]
fn broken_yaml_syntax_is_reported_at_its_position() {
    insta::assert_snapshot!(diagnose(
        "version: 1\nresource_groups:\n  rg-a: {location: \"westeurope}\n"
    ));
}

#[test]
fn a_badly_indented_key_is_reported_at_its_line() {
    insta::assert_snapshot!(diagnose("version: 1\nresource_groups:\n  rg-a:\n    location: westeurope\n   rg-b: {location: westeurope}\n"));
}

#[test]
fn a_misspelt_field_suggests_the_right_one() {
    insta::assert_snapshot!(diagnose(&with_policy(
        "        schedule: {daily: {at: \"23:00\"}}\n        retension: {daily: 30d}\n"
    )));
}

#[test]
fn a_duplicate_key_is_an_error_not_a_silent_override() {
    insta::assert_snapshot!(diagnose(&format!(
        "{HEADER}resource_groups:\n  rg-a: {{location: westeurope}}\n  rg-a: {{location: northeurope}}\n"
    )));
}

#[test]
fn a_duplicate_field_in_a_list_item_points_at_both() {
    insta::assert_snapshot!(diagnose(&with_policy(
        "        schedule: {daily: {at: \"23:00\"}}\n        retention: {daily: 30d}\n    protect:\n      - policy: gold\n        vms: [rg/a]\n        # a comment\n\n        policy: silver\n"
    )));
}

#[test]
fn a_duplicate_key_in_a_flow_mapping_points_at_both() {
    insta::assert_snapshot!(diagnose(&format!(
        "{HEADER}tags: {{owner: a, env: b, owner: c}}\n"
    )));
}

#[test]
fn a_value_of_the_wrong_type_is_reported_at_the_value() {
    insta::assert_snapshot!(diagnose(&with_policy(
        "        schedule: {weekly: {on: [Sunday], at: \"23:00\"}}\n        retention:\n          weekly: {keep: many, on: [Sunday]}\n"
    )));
}

#[test]
fn a_mapping_where_a_list_belongs_is_reported() {
    insta::assert_snapshot!(diagnose(&with_vault("    protect: {policy: gold}\n")));
}

#[test]
fn version_2_is_not_understood() {
    insta::assert_snapshot!(diagnose(
        "version: 2\nsubscription: 00000000-0000-0000-0000-000000000001\n"
    ));
}

#[test]
fn a_policy_without_a_schedule_is_missing_a_required_field() {
    insta::assert_snapshot!(diagnose(&with_policy(
        "        tier: standard\n        retention: {daily: 30d}\n"
    )));
}

#[test]
fn a_misspelt_storage_redundancy_suggests_the_right_value() {
    insta::assert_snapshot!(diagnose(&with_vault(
        "    storage_redundancy: GeoRedundnat\n"
    )));
}

#[test]
fn a_capitalised_tier_suggests_the_lower_case_one() {
    insta::assert_snapshot!(diagnose(&with_policy(
        "        tier: Enhanced\n        schedule: {daily: {at: \"23:00\"}}\n        retention: {daily: 30d}\n"
    )));
}

#[test]
fn yes_is_not_a_boolean() {
    insta::assert_snapshot!(diagnose(&with_vault("    public_network_access: yes\n")));
}

// ---------------------------------------------------------------- names

#[test]
fn a_vault_name_starting_with_a_digit_is_rejected() {
    insta::assert_snapshot!(diagnose(&format!(
        "{HEADER}recovery_vaults:\n  1rsv:\n    resource_group: rg-a\n    location: westeurope\n"
    )));
}

#[test]
fn a_two_letter_policy_name_is_too_short() {
    insta::assert_snapshot!(diagnose(&with_vault(
        "    backup_policies:\n      au:\n        schedule: {daily: {at: \"23:00\"}}\n        retention: {daily: 30d}\n"
    )));
}

#[test]
fn a_resource_group_name_ending_in_a_period_is_rejected() {
    insta::assert_snapshot!(diagnose(&format!(
        "{HEADER}resource_groups:\n  rg-app.: {{location: westeurope}}\n"
    )));
}

#[test]
fn a_vault_in_a_resource_group_with_a_space_is_rejected() {
    insta::assert_snapshot!(diagnose(&format!(
        "{HEADER}recovery_vaults:\n  rsv-a:\n    resource_group: rg a\n    location: westeurope\n"
    )));
}

#[test]
fn a_subscription_that_is_not_a_guid_is_rejected() {
    insta::assert_snapshot!(diagnose("version: 1\nsubscription: my-subscription\n"));
}

#[test]
fn an_implausible_region_is_rejected() {
    insta::assert_snapshot!(diagnose(&format!(
        "{HEADER}resource_groups:\n  rg-a: {{location: west_europe}}\n"
    )));
}

#[test]
fn a_vm_id_of_another_resource_type_is_rejected() {
    insta::assert_snapshot!(diagnose(&with_policy(
        "        schedule: {daily: {at: \"23:00\"}}\n        retention: {daily: 30d}\n    protect:\n      - policy: gold\n        vms:\n          - /subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-app/providers/Microsoft.Compute/disks/app-01-osdisk\n"
    )));
}

#[test]
fn a_vm_without_its_resource_group_is_rejected() {
    insta::assert_snapshot!(diagnose(&with_policy(
        "        schedule: {daily: {at: \"23:00\"}}\n        retention: {daily: 30d}\n    protect:\n      - policy: gold\n        vms: [app-01]\n"
    )));
}

// ---------------------------------------------------------------- vaults

#[test]
fn cross_region_restore_on_locally_redundant_storage_is_rejected() {
    insta::assert_snapshot!(diagnose(&with_vault(
        "    storage_redundancy: LocallyRedundant\n    cross_region_restore: true\n"
    )));
}

#[test]
fn cross_region_restore_without_storage_redundancy_is_rejected() {
    insta::assert_snapshot!(diagnose(&with_vault("    cross_region_restore: true\n")));
}

#[test]
fn soft_delete_retention_of_7_days_is_too_short() {
    insta::assert_snapshot!(diagnose(&with_vault(
        "    soft_delete: {state: On, retention_days: 7}\n"
    )));
}

#[test]
fn a_misspelt_soft_delete_state_suggests_always_on() {
    insta::assert_snapshot!(diagnose(&with_vault(
        "    soft_delete: {state: AlwaysOnn}\n"
    )));
}

#[test]
fn a_misspelt_immutability_suggests_the_right_value() {
    insta::assert_snapshot!(diagnose(&with_vault("    immutability: unlocked\n")));
}

#[test]
fn suspend_on_remove_needs_an_immutable_vault() {
    insta::assert_snapshot!(diagnose(&with_vault(
        "    immutability: Disabled\n    on_remove: suspend\n"
    )));
}

#[test]
fn a_misspelt_on_remove_suggests_the_right_value() {
    insta::assert_snapshot!(diagnose(&with_vault("    on_remove: retain\n")));
}

// ---------------------------------------------------------------- policies: schedule

#[test]
fn a_schedule_with_daily_and_weekly_is_rejected() {
    insta::assert_snapshot!(diagnose(&with_policy(
        "        schedule:\n          daily: {at: \"23:00\"}\n          weekly: {on: [Sunday], at: \"23:00\"}\n        retention: {daily: 30d}\n"
    )));
}

#[test]
fn an_empty_schedule_is_rejected() {
    insta::assert_snapshot!(diagnose(&with_policy(
        "        schedule: {}\n        retention: {daily: 30d}\n"
    )));
}

#[test]
fn a_backup_time_at_quarter_past_is_rejected_at_its_line() {
    insta::assert_snapshot!(diagnose(&with_policy(
        "        schedule: {daily: {at: \"23:15\"}}\n        retention: {daily: 30d}\n"
    )));
}

#[test]
fn an_hourly_schedule_in_a_standard_policy_is_rejected() {
    insta::assert_snapshot!(diagnose(&with_policy(
        "        schedule: {hourly: {every: 4h, start: \"08:00\", duration: 12h}}\n        retention: {daily: 30d}\n"
    )));
}

#[test]
fn hourly_schedule_every_5h_is_rejected_at_its_line() {
    insta::assert_snapshot!(diagnose(&with_policy(
        "        tier: enhanced\n        schedule: {hourly: {every: 5h, start: \"08:00\", duration: 10h}}\n        retention: {daily: 30d}\n"
    )));
}

#[test]
fn an_hourly_window_that_is_not_a_multiple_of_the_interval_is_rejected() {
    insta::assert_snapshot!(diagnose(&with_policy(
        "        tier: enhanced\n        schedule: {hourly: {every: 8h, start: \"08:00\", duration: 12h}}\n        retention: {daily: 30d}\n"
    )));
}

#[test]
fn an_hourly_window_of_2h_is_too_short() {
    insta::assert_snapshot!(diagnose(&with_policy(
        "        tier: enhanced\n        schedule: {hourly: {every: 4h, start: \"08:00\", duration: 2h}}\n        retention: {daily: 30d}\n"
    )));
}

#[test]
fn a_weekly_schedule_listing_a_day_twice_is_rejected() {
    insta::assert_snapshot!(diagnose(&with_policy(
        "        schedule: {weekly: {on: [Sunday, Wednesday, Sunday], at: \"23:00\"}}\n        retention: {weekly: {keep: 12, on: [Sunday]}}\n"
    )));
}

#[test]
fn a_weekly_schedule_without_days_is_rejected() {
    insta::assert_snapshot!(diagnose(&with_policy(
        "        schedule: {weekly: {on: [], at: \"23:00\"}}\n        retention: {weekly: {keep: 12, on: [Sunday]}}\n"
    )));
}

#[test]
fn a_lower_case_weekday_suggests_the_capitalised_one() {
    insta::assert_snapshot!(diagnose(&with_policy(
        "        schedule: {weekly: {on: [sunday], at: \"23:00\"}}\n        retention: {weekly: {keep: 12, on: [Sunday]}}\n"
    )));
}

// ---------------------------------------------------------------- policies: instant restore, consistency, time zone

#[test]
fn ten_instant_restore_days_are_too_many_for_a_standard_policy() {
    insta::assert_snapshot!(diagnose(&with_policy(
        "        schedule: {daily: {at: \"23:00\"}}\n        instant_restore_days: 10\n        retention: {daily: 30d}\n"
    )));
}

#[test]
fn forty_instant_restore_days_are_too_many_even_for_an_enhanced_policy() {
    insta::assert_snapshot!(diagnose(&with_policy(
        "        tier: enhanced\n        schedule: {daily: {at: \"23:00\"}}\n        instant_restore_days: 40\n        retention: {daily: 30d}\n"
    )));
}

#[test]
fn a_weekly_schedule_keeps_instant_restore_snapshots_exactly_5_days() {
    insta::assert_snapshot!(diagnose(&with_policy(
        "        schedule: {weekly: {on: [Sunday], at: \"23:00\"}}\n        instant_restore_days: 3\n        retention: {weekly: {keep: 12, on: [Sunday]}}\n"
    )));
}

#[test]
fn a_weekly_schedule_needs_weekly_retention() {
    // Monthly retention alone: Azure refuses the policy at apply (BMSUserErrorInvalidPolicyInput);
    // found by tests/simulators_agree.rs, where the sandbox refused what the file allowed.
    let out = diagnose(&with_policy(
        "        schedule: {weekly: {on: [Sunday], at: \"23:00\"}}\n        retention:\n          monthly: {keep: 12, week: Last, on: Sunday}\n",
    ));
    assert!(
        out.contains("a weekly schedule needs weekly retention"),
        "{out}"
    );
    assert!(loads(&with_policy(
        "        schedule: {weekly: {on: [Sunday], at: \"23:00\"}}\n        retention:\n          weekly: {keep: 4, on: [Sunday]}\n          monthly: {keep: 12, week: Last, on: Sunday}\n",
    )));
}

#[test]
fn crash_only_consistency_needs_an_enhanced_policy() {
    insta::assert_snapshot!(diagnose(&with_policy(
        "        schedule: {daily: {at: \"23:00\"}}\n        consistency: crash_only\n        retention: {daily: 30d}\n"
    )));
}

#[test]
fn an_empty_time_zone_is_rejected() {
    insta::assert_snapshot!(diagnose(&with_policy(
        "        schedule: {daily: {at: \"23:00\"}}\n        time_zone: \"\"\n        retention: {daily: 30d}\n"
    )));
}

#[test]
fn an_unknown_time_zone_is_a_warning_with_a_suggestion() {
    let yaml = with_policy(
        "        schedule: {daily: {at: \"23:00\"}}\n        time_zone: W. Europe Standard Tme\n        retention: {daily: 30d}\n",
    );
    let loaded = config::load_sources(vec![("azprotect.yaml".into(), yaml)])
        .expect("a warning is not an error");
    let handler = handler();
    let mut out = String::new();
    for w in loaded.warnings() {
        handler.render_report(&mut out, w.as_ref()).unwrap();
    }
    insta::assert_snapshot!(out);
}

#[test]
fn a_misspelt_region_is_a_warning_with_a_suggestion() {
    insta::assert_snapshot!(warnings(&format!(
        "{HEADER}resource_groups:\n  rg-a: {{location: westeurop}}\n"
    )));
}

#[test]
fn a_region_written_with_spaces_and_capitals_is_fine() {
    assert_eq!(
        warnings(&format!(
            "{HEADER}resource_groups:\n  rg-a: {{location: West Europe}}\n"
        )),
        ""
    );
}

// ---------------------------------------------------------------- policies: retention

#[test]
fn daily_retention_of_5_days_is_too_short() {
    insta::assert_snapshot!(diagnose(&with_policy(
        "        schedule: {daily: {at: \"23:00\"}}\n        retention: {daily: 5d}\n"
    )));
}

#[test]
fn daily_retention_written_in_weeks_is_rejected() {
    insta::assert_snapshot!(diagnose(&with_policy(
        "        schedule: {daily: {at: \"23:00\"}}\n        retention: {daily: 4w}\n"
    )));
}

#[test]
fn a_daily_schedule_without_daily_retention_is_rejected() {
    insta::assert_snapshot!(diagnose(&with_policy(
        "        schedule: {daily: {at: \"23:00\"}}\n        retention:\n          weekly: {keep: 12, on: [Sunday]}\n"
    )));
}

#[test]
fn daily_retention_on_a_weekly_schedule_is_rejected() {
    insta::assert_snapshot!(diagnose(&with_policy(
        "        schedule: {weekly: {on: [Sunday], at: \"23:00\"}}\n        retention:\n          daily: 30d\n          weekly: {keep: 12, on: [Sunday]}\n"
    )));
}

#[test]
fn a_policy_with_no_retention_at_all_is_rejected() {
    insta::assert_snapshot!(diagnose(&with_policy(
        "        schedule: {weekly: {on: [Sunday], at: \"23:00\"}}\n        retention: {}\n"
    )));
}

#[test]
fn retention_counts_out_of_range_are_each_reported() {
    insta::assert_snapshot!(diagnose(&with_policy(
        "        schedule: {daily: {at: \"23:00\"}}\n        retention:\n          daily: 30d\n          weekly: {keep: 0, on: [Sunday]}\n          monthly: {keep: 1189, week: First, on: Sunday}\n          yearly: {keep: 100, month: January, week: First, on: Sunday}\n"
    )));
}

#[test]
fn weekly_retention_on_a_day_the_weekly_schedule_skips_is_rejected() {
    insta::assert_snapshot!(diagnose(&with_policy(
        "        schedule: {weekly: {on: [Sunday, Wednesday], at: \"23:00\"}}\n        retention:\n          weekly: {keep: 12, on: [Saturday]}\n          monthly: {keep: 12, week: First, on: Monday}\n"
    )));
}

#[test]
fn a_misspelt_week_of_the_month_suggests_the_right_one() {
    insta::assert_snapshot!(diagnose(&with_policy(
        "        schedule: {daily: {at: \"23:00\"}}\n        retention:\n          daily: 30d\n          monthly: {keep: 12, week: Frist, on: Sunday}\n"
    )));
}

#[test]
fn a_misspelt_month_suggests_the_right_one() {
    insta::assert_snapshot!(diagnose(&with_policy(
        "        schedule: {daily: {at: \"23:00\"}}\n        retention:\n          daily: 30d\n          yearly: {keep: 7, month: Janurary, week: First, on: Sunday}\n"
    )));
}

#[test]
fn a_yearly_retention_listing_a_month_twice_is_rejected() {
    insta::assert_snapshot!(diagnose(&with_policy(
        "        schedule: {daily: {at: \"23:00\"}}\n        retention:\n          daily: 30d\n          yearly: {keep: 7, month: [January, July, January], week: First, on: Sunday}\n"
    )));
}

// ---------------------------------------------------------------- protect

const DAILY_GOLD: &str =
    "        schedule: {daily: {at: \"23:00\"}}\n        retention: {daily: 30d}\n";

#[test]
fn protecting_with_an_undeclared_policy_suggests_a_declared_one() {
    insta::assert_snapshot!(diagnose(&with_policy(&format!(
        "{DAILY_GOLD}    protect:\n      - policy: gdol\n        vms: [rg-app/app-01]\n"
    ))));
}

#[test]
fn protecting_with_a_built_in_policy_asks_to_declare_it() {
    insta::assert_snapshot!(diagnose(&with_policy(&format!(
        "{DAILY_GOLD}    protect:\n      - policy: EnhancedPolicy\n        vms: [rg-app/app-01]\n"
    ))));
}

#[test]
fn a_protect_entry_without_vms_or_select_is_rejected() {
    insta::assert_snapshot!(diagnose(&with_policy(&format!(
        "{DAILY_GOLD}    protect:\n      - policy: gold\n"
    ))));
}

#[test]
fn an_empty_selector_would_select_everything_and_is_rejected() {
    insta::assert_snapshot!(diagnose(&with_policy(&format!(
        "{DAILY_GOLD}    protect:\n      - policy: gold\n        select: {{}}\n"
    ))));
}

#[test]
fn a_vm_listed_twice_in_one_vault_is_rejected_at_the_second_listing() {
    insta::assert_snapshot!(diagnose(&with_policy(&format!(
        "{DAILY_GOLD}    protect:\n      - policy: gold\n        vms: [rg-app/app-01]\n      - policy: gold\n        vms: [RG-APP/App-01]\n"
    ))));
}

#[test]
fn a_vm_protected_by_two_vaults_in_two_files_is_rejected() {
    let a = with_policy(&format!(
        "{DAILY_GOLD}    protect:\n      - policy: gold\n        vms: [rg-app/app-01]\n"
    ));
    let b = "version: 1\nrecovery_vaults:\n  rsv-b:\n    resource_group: rg-b\n    location: westeurope\n    backup_policies:\n      silver:\n        schedule: {daily: {at: \"22:00\"}}\n        retention: {daily: 14d}\n    protect:\n      - policy: silver\n        vms:\n          - /subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-app/providers/Microsoft.Compute/virtualMachines/app-01\n";
    insta::assert_snapshot!(diagnose_files(&[("prod.yaml", &a), ("extra.yaml", b)]));
}

#[test]
fn excluded_disk_luns_must_be_0_to_63_and_distinct() {
    insta::assert_snapshot!(diagnose(&with_policy(&format!(
        "{DAILY_GOLD}    protect:\n      - policy: gold\n        vms: [rg-app/app-01]\n        exclude_disks: [2, 64, 2]\n"
    ))));
}

// ---------------------------------------------------------------- several files

#[test]
fn a_vault_declared_in_two_files_points_at_both() {
    let a = with_vault("");
    let b = "version: 1\nrecovery_vaults:\n  RSV-A:\n    resource_group: rg-b\n    location: northeurope\n";
    insta::assert_snapshot!(diagnose_files(&[("a.yaml", &a), ("b.yaml", b)]));
}

#[test]
fn files_with_different_subscriptions_are_rejected() {
    let b = "version: 1\nsubscription: 00000000-0000-0000-0000-000000000002\n";
    insta::assert_snapshot!(diagnose_files(&[("a.yaml", HEADER), ("b.yaml", b)]));
}

#[test]
fn a_global_tag_set_differently_in_two_files_is_rejected() {
    let a = format!("{HEADER}tags: {{owner: team-a}}\n");
    let b = "version: 1\ntags: {owner: team-b}\n";
    insta::assert_snapshot!(diagnose_files(&[("a.yaml", &a), ("b.yaml", b)]));
}

// ---------------------------------------------------------------- later sections, many errors

/// The `site_recovery` and `disk_backup` sections of CONFIG.md's example.
const LATER_SECTIONS: &str = r#"site_recovery:
  app-dr:
    vault: rsv-dr-neu
    source_region: westeurope
    target_region: northeurope
    policy: {recovery_points: 24h, app_consistent_every: 4h}
    target_resource_group: rg-app-dr
    cache_storage_account: /subscriptions/…/storageAccounts/asrcacheweu
    network_mappings:
      - {source: /subscriptions/…/virtualNetworks/vnet-app, target: /subscriptions/…/virtualNetworks/vnet-app-dr}
    vms:
      - vm: rg-app/db-01
      - vm: rg-app/app-01
        target_zone: "1"
    recovery_plans:
      app-failover:
        groups:
          - vms: [rg-app/db-01]
            after: [{runbook: /subscriptions/…/runbooks/warm-cache, on: [failover, test_failover]}]
          - vms: [rg-app/app-01]
            before: [{manual: "Drain traffic from the load balancer"}]
disk_backup:
  bv-prod-weu:
    resource_group: rg-protect-weu
    location: westeurope
    redundancy: LocallyRedundant
    policies:
      every-4h: {every: 4h, retention: 7d}
    protect:
      - policy: every-4h
        snapshot_resource_group: rg-snapshots-weu
        disks: [rg-app/app-01-data-0]
        select: {tags: {snapshot: 4h}}
    grant_permissions: true
"#;

#[test]
fn the_design_docs_abbreviated_ids_are_caught_and_its_disk_backup_section_is_valid() {
    insta::assert_snapshot!(diagnose(&format!("{HEADER}{LATER_SECTIONS}")));
}

#[test]
fn a_typo_inside_site_recovery_is_still_caught() {
    insta::assert_snapshot!(diagnose(&format!(
        "{HEADER}site_recovery:\n  app-dr:\n    vault: rsv-dr-neu\n    source_region: westeurope\n    target_regoin: northeurope\n"
    )));
}

#[test]
fn every_problem_in_a_file_is_reported_at_once() {
    insta::assert_snapshot!(diagnose(&with_policy(
        "        tier: enhanced\n        schedule: {hourly: {every: 5h, start: \"08:10\", duration: 30h}}\n        instant_restore_days: 31\n        retention: {daily: 6d}\n    on_remove: suspend\n"
    )));
}

#[test]
fn the_whole_error_renders_a_summary_then_every_diagnostic() {
    let yaml = with_vault("    storage_redundancy: LocallyRedundant\n    cross_region_restore: true\n    on_remove: suspend\n");
    let err = config::load_sources(vec![("azprotect.yaml".into(), yaml)]).unwrap_err();
    let handler = handler();
    let mut out = String::new();
    handler.render_report(&mut out, &err).unwrap();
    insta::assert_snapshot!(out);
}

#[test]
fn a_daily_schedule_with_empty_retention_gets_one_precise_error() {
    insta::assert_snapshot!(diagnose(&with_policy(
        "        schedule: {daily: {at: \"23:00\"}}\n        retention: {}\n"
    )));
}

#[test]
fn a_plan_time_rule_can_point_back_at_the_declaration() {
    let loaded = config::load(&["examples/quickstart.yaml".into()]).unwrap();
    let handler = handler();
    let mut out = String::new();
    for (addr, msg) in [
        (
            "recovery_vault.rsv-prod-weu",
            "storage redundancy is locked once items are protected",
        ),
        (
            "protected_vm.rsv-prod-weu/rg-app/db-01",
            "the VM is in northeurope, the vault in westeurope",
        ),
        (
            "backup_policy.rsv-prod-weu/gold",
            "policy tier cannot be downgraded",
        ),
    ] {
        let r = loaded.report_at(
            &addr.parse().unwrap(),
            msg,
            Some("see the plan for details"),
        );
        handler.render_report(&mut out, r.as_ref()).unwrap();
    }
    insta::assert_snapshot!(out);
}

// ---------------------------------------------------------------- site recovery

const RGS: &str = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups";

fn cache_id() -> String {
    format!("{RGS}/rg-app/providers/Microsoft.Storage/storageAccounts/asrcacheweu")
}

fn vnet_id(rg: &str, name: &str) -> String {
    format!("{RGS}/{rg}/providers/Microsoft.Network/virtualNetworks/{name}")
}

fn runbook_id(account: &str, runbook: &str) -> String {
    format!(
        "{RGS}/rg-app/providers/Microsoft.Automation/automationAccounts/{account}/runbooks/{runbook}"
    )
}

/// The vault `rsv-dr-neu` (northeurope) and a site_recovery group `name` westeurope →
/// northeurope with the required keys, then `extra` (indented 4).
fn sr_group(name: &str, extra: &str) -> String {
    format!(
        "  {name}:\n    vault: rsv-dr-neu\n    source_region: westeurope\n    target_region: northeurope\n    target_resource_group: rg-app-dr\n    cache_storage_account: {}\n{extra}",
        cache_id()
    )
}

const DR_VAULT: &str =
    "recovery_vaults:\n  rsv-dr-neu:\n    resource_group: rg-protect-neu\n    location: northeurope\n";

/// A file with the DR vault and one site_recovery group `app-dr` (see [`sr_group`]).
fn with_sr(extra: &str) -> String {
    format!(
        "{HEADER}{DR_VAULT}site_recovery:\n{}",
        sr_group("app-dr", extra)
    )
}

const TWO_VMS: &str = "    vms:\n      - vm: rg-app/db-01\n      - vm: rg-app/app-01\n";

/// [`TWO_VMS`] and a plan `app-failover` whose groups (indented 10, `- vms: …`) are `groups`.
fn with_plan(groups: &str) -> String {
    with_sr(&format!(
        "{TWO_VMS}    recovery_plans:\n      app-failover:\n        groups:\n{groups}"
    ))
}

#[test]
fn a_valid_site_recovery_section_has_no_warning() {
    assert_eq!(warnings(&with_sr(TWO_VMS)), "");
}

#[test]
fn a_site_recovery_vault_that_is_not_declared_suggests_a_declared_one() {
    insta::assert_snapshot!(diagnose(
        &with_sr(TWO_VMS).replace("vault: rsv-dr-neu", "vault: rsv-dr-nue")
    ));
}

#[test]
fn a_site_recovery_vault_outside_the_target_region_is_rejected() {
    insta::assert_snapshot!(diagnose(
        &with_sr(TWO_VMS).replace("location: northeurope", "location: westeurope")
    ));
}

#[test]
fn a_site_recovery_vault_declared_in_another_file_is_found_and_its_region_checked() {
    let vaults = "version: 1\nrecovery_vaults:\n  rsv-dr-neu:\n    resource_group: rg-protect-neu\n    location: West Europe\n";
    let dr = format!("{HEADER}site_recovery:\n{}", sr_group("app-dr", TWO_VMS));
    insta::assert_snapshot!(diagnose_files(&[("vaults.yaml", vaults), ("dr.yaml", &dr)]));
    // In the right region, the reference across files is fine.
    let vaults = vaults.replace("West Europe", "North Europe");
    let loaded = config::load_sources(vec![("vaults.yaml".into(), vaults), ("dr.yaml".into(), dr)])
        .unwrap_or_else(|e| panic!("{:?}", miette::Report::new(e)));
    assert!(loaded.warnings().is_empty());
}

#[test]
fn replicating_into_the_source_region_is_rejected() {
    insta::assert_snapshot!(diagnose(
        &with_sr(TWO_VMS).replace("source_region: westeurope", "source_region: northeurope")
    ));
}

#[test]
fn a_misspelt_source_region_is_a_warning_with_a_suggestion() {
    insta::assert_snapshot!(warnings(
        &with_sr(TWO_VMS).replace("source_region: westeurope", "source_region: westeurpe")
    ));
}

#[test]
fn replication_policy_durations_must_be_minutes_hours_or_days() {
    insta::assert_snapshot!(diagnose(&with_sr(&format!(
        "    policy: {{recovery_points: 1 day, app_consistent_every: 4}}\n{TWO_VMS}"
    ))));
}

#[test]
fn recovery_points_kept_longer_than_15_days_are_rejected() {
    // Azure-to-Azure keeps recovery points at most 15 days, whatever the API schema allows.
    assert!(loads(&with_sr(&format!(
        "    policy: {{recovery_points: 15d}}\n{TWO_VMS}"
    ))));
    insta::assert_snapshot!(diagnose(&with_sr(&format!(
        "    policy: {{recovery_points: 16d}}\n{TWO_VMS}"
    ))));
}

#[test]
fn app_consistent_snapshots_are_taken_at_least_every_12_hours() {
    let cfg = |every: &str| {
        with_sr(&format!(
            "    policy: {{recovery_points: 2d, app_consistent_every: {every}}}\n{TWO_VMS}"
        ))
    };
    assert!(loads(&cfg("12h")));
    let too_rare = diagnose(&cfg("13h"));
    assert!(
        too_rare.contains("`app_consistent_every: 13h` is 780 minutes, more than Azure allows"),
        "{too_rare}"
    );
}

#[test]
fn app_consistent_snapshots_cannot_be_rarer_than_recovery_points_are_kept() {
    insta::assert_snapshot!(diagnose(&with_sr(&format!(
        "    policy:\n      recovery_points: 4h\n      app_consistent_every: 8h\n{TWO_VMS}"
    ))));
}

#[test]
fn app_consistent_snapshots_rarer_than_every_12_hours_are_rejected() {
    insta::assert_snapshot!(diagnose(&with_sr(&format!(
        "    policy: {{app_consistent_every: 2d}}\n{TWO_VMS}"
    ))));
}

#[test]
fn app_consistent_snapshots_need_recovery_points_to_be_kept() {
    insta::assert_snapshot!(diagnose(&with_sr(&format!(
        "    policy: {{recovery_points: 0m, app_consistent_every: 1h}}\n{TWO_VMS}"
    ))));
}

#[test]
fn no_recovery_points_and_no_app_consistent_snapshots_is_allowed() {
    let yaml = with_sr(&format!(
        "    policy: {{recovery_points: 0m, app_consistent_every: 0m}}\n{TWO_VMS}"
    ));
    assert!(config::load_sources(vec![("azprotect.yaml".into(), yaml)]).is_ok());
}

#[test]
fn a_cache_storage_account_with_capitals_is_rejected() {
    insta::assert_snapshot!(diagnose(
        &with_sr(TWO_VMS).replace("/asrcacheweu", "/AsrCacheWeu")
    ));
}

#[test]
fn a_cache_storage_account_given_by_name_asks_for_its_id() {
    insta::assert_snapshot!(diagnose(
        &with_sr(TWO_VMS).replace(&cache_id(), "asrcacheweu")
    ));
}

#[test]
fn a_target_resource_group_id_without_a_subscription_guid_is_rejected() {
    insta::assert_snapshot!(diagnose(&with_sr(TWO_VMS).replace(
        "target_resource_group: rg-app-dr",
        "target_resource_group: /subscriptions/prod/resourceGroups/rg-app-dr"
    )));
}

#[test]
fn a_network_mapping_to_a_subnet_is_rejected() {
    insta::assert_snapshot!(diagnose(&with_sr(&format!(
        "    network_mappings:\n      - source: {}/subnets/default\n        target: {}\n{TWO_VMS}",
        vnet_id("rg-app", "vnet-app"),
        vnet_id("rg-app-dr", "vnet-app-dr")
    ))));
}

#[test]
fn a_source_network_mapped_twice_is_rejected() {
    insta::assert_snapshot!(diagnose(&with_sr(&format!(
        "    network_mappings:\n      - {{source: {}, target: {}}}\n      - {{source: {}, target: {}}}\n{TWO_VMS}",
        vnet_id("rg-app", "vnet-app"),
        vnet_id("rg-app-dr", "vnet-app-dr"),
        vnet_id("RG-APP", "vnet-app"),
        vnet_id("rg-app-dr", "vnet-app-dr2")
    ))));
}

#[test]
fn two_groups_mapping_one_network_to_different_targets_in_one_vault_are_rejected() {
    let mapping = |target: &str| {
        format!(
            "    network_mappings:\n      - {{source: {}, target: {}}}\n",
            vnet_id("rg-app", "vnet-app"),
            vnet_id("rg-app-dr", target)
        )
    };
    let yaml = format!(
        "{HEADER}{DR_VAULT}site_recovery:\n{}{}",
        sr_group(
            "app-dr",
            &format!(
                "{}    vms: [{{vm: rg-app/app-01}}]\n",
                mapping("vnet-app-dr")
            )
        ),
        sr_group(
            "db-dr",
            &format!("{}    vms: [{{vm: rg-app/db-01}}]\n", mapping("vnet-db-dr"))
        ),
    );
    insta::assert_snapshot!(diagnose(&yaml));
}

#[test]
fn a_site_recovery_group_without_vms_or_select_is_rejected() {
    insta::assert_snapshot!(diagnose(&with_sr("")));
}

#[test]
fn an_empty_site_recovery_selector_would_replicate_everything() {
    insta::assert_snapshot!(diagnose(&with_sr("    select: {}\n")));
}

#[test]
fn a_vm_listed_twice_in_one_site_recovery_group_is_rejected() {
    insta::assert_snapshot!(diagnose(&with_sr(
        "    vms:\n      - vm: rg-app/app-01\n      - vm: RG-APP/app-01\n"
    )));
}

#[test]
fn a_vm_replicated_by_two_groups_in_two_files_is_rejected() {
    let a = with_sr("    vms: [{vm: rg-app/app-01}]\n");
    let b = format!(
        "version: 1\nsite_recovery:\n{}",
        sr_group(
            "app-dr-2",
            &format!(
                "    vms:\n      - vm: {RGS}/rg-app/providers/Microsoft.Compute/virtualMachines/app-01\n"
            )
        )
    );
    insta::assert_snapshot!(diagnose_files(&[("a.yaml", &a), ("b.yaml", &b)]));
}

#[test]
fn a_replicated_vm_that_is_not_a_vm_reference_is_rejected() {
    insta::assert_snapshot!(diagnose(&with_sr("    vms:\n      - vm: app-01\n")));
}

#[test]
fn target_zone_4_is_not_an_availability_zone() {
    insta::assert_snapshot!(diagnose(&with_sr(
        "    vms:\n      - vm: rg-app/app-01\n        target_zone: 4\n"
    )));
}

#[test]
fn a_target_vm_size_without_the_standard_prefix_is_rejected() {
    insta::assert_snapshot!(diagnose(&with_sr(
        "    vms:\n      - vm: rg-app/app-01\n        target_vm_size: D2s_v5\n"
    )));
}

#[test]
fn a_vm_cannot_fail_over_into_both_a_zone_and_an_availability_set() {
    insta::assert_snapshot!(diagnose(&with_sr(
        "    vms:\n      - vm: rg-app/app-01\n        target_zone: \"2\"\n        target_availability_set: avset-app\n"
    )));
}

#[test]
fn an_availability_set_id_of_the_wrong_type_is_rejected() {
    insta::assert_snapshot!(diagnose(&with_sr(&format!(
        "    vms:\n      - vm: rg-app/app-01\n        target_availability_set: {RGS}/rg-app-dr/providers/Microsoft.Compute/virtualMachines/avset-app\n"
    ))));
}

#[test]
fn an_os_disk_cannot_be_premium_ssd_v2() {
    insta::assert_snapshot!(diagnose(&with_sr(
        "    vms:\n      - vm: rg-app/db-01\n        disks: {os: PremiumV2_LRS, data: PremiumV2_LRS}\n"
    )));
}

#[test]
fn site_recovery_does_not_replicate_ultra_disks() {
    insta::assert_snapshot!(diagnose(&with_sr(
        "    vms:\n      - vm: rg-app/db-01\n        disks:\n          data: {0: UltraSSD_LRS}\n"
    )));
}

#[test]
fn a_misspelt_disk_type_suggests_the_right_one() {
    insta::assert_snapshot!(diagnose(&with_sr(
        "    vms:\n      - vm: rg-app/db-01\n        disks: {os: Premium_LSR}\n"
    )));
}

#[test]
fn data_disk_overrides_are_keyed_by_distinct_luns_0_to_63() {
    insta::assert_snapshot!(diagnose(&with_sr(
        "    vms:\n      - vm: rg-app/app-01\n        disks:\n          data:\n            0: StandardSSD_LRS\n            00: Premium_LRS\n            64: Premium_LRS\n            os: Premium_LRS\n"
    )));
}

#[test]
fn an_invalid_recovery_plan_name_is_rejected() {
    insta::assert_snapshot!(diagnose(&with_sr(&format!(
        "{TWO_VMS}    recovery_plans:\n      1st_failover:\n        groups: [{{vms: [rg-app/db-01]}}]\n"
    ))));
}

#[test]
fn a_recovery_plan_without_groups_is_rejected() {
    insta::assert_snapshot!(diagnose(&with_sr(&format!(
        "{TWO_VMS}    recovery_plans:\n      app-failover: {{groups: []}}\n"
    ))));
}

#[test]
fn a_recovery_plan_group_without_vms_is_rejected() {
    insta::assert_snapshot!(diagnose(&with_plan(
        "          - vms: [rg-app/db-01]\n          - vms: []\n            before: [{manual: \"Check the database\"}]\n"
    )));
}

#[test]
fn a_plan_vm_that_is_not_replicated_suggests_a_listed_one() {
    insta::assert_snapshot!(diagnose(&with_plan(
        "          - vms: [rg-app/db-01, rg-app/app-1]\n"
    )));
}

#[test]
fn a_plan_vm_replicated_by_another_group_is_rejected() {
    let yaml = format!(
        "{HEADER}{DR_VAULT}site_recovery:\n{}{}",
        sr_group("app-dr", "    vms: [{vm: rg-app/app-01}]\n    recovery_plans:\n      app-failover:\n        groups: [{vms: [rg-app/app-01, rg-db/sql-01]}]\n"),
        sr_group("db-dr", "    vms: [{vm: rg-db/sql-01}]\n"),
    );
    insta::assert_snapshot!(diagnose(&yaml));
}

#[test]
fn a_plan_vm_outside_the_selected_resource_groups_is_rejected() {
    insta::assert_snapshot!(diagnose(&with_sr(
        "    select: {resource_groups: [rg-web], tags: {dr: neu}}\n    recovery_plans:\n      web-failover:\n        groups: [{vms: [rg-web/web-01]}, {vms: [rg-app/app-01]}]\n"
    )));
}

#[test]
fn a_plan_vm_that_select_may_pick_is_accepted() {
    let yaml = with_sr(
        "    select: {tags: {dr: neu}}\n    recovery_plans:\n      web-failover:\n        groups: [{vms: [rg-web/web-01]}, {vms: [rg-app/app-01]}]\n",
    );
    let loaded = config::load_sources(vec![("azprotect.yaml".into(), yaml)])
        .unwrap_or_else(|e| panic!("{:?}", miette::Report::new(e)));
    assert!(loaded.warnings().is_empty());
}

#[test]
fn a_vm_in_two_groups_of_one_plan_is_rejected() {
    insta::assert_snapshot!(diagnose(&with_plan(
        "          - vms: [rg-app/db-01]\n          - vms: [rg-app/app-01, rg-app/DB-01]\n"
    )));
}

#[test]
fn a_recovery_plan_name_used_by_two_groups_of_one_vault_is_rejected() {
    let plan = |vm: &str| {
        format!(
            "    vms: [{{vm: {vm}}}]\n    recovery_plans:\n      failover:\n        groups: [{{vms: [{vm}]}}]\n"
        )
    };
    let yaml = format!(
        "{HEADER}{DR_VAULT}site_recovery:\n{}{}",
        sr_group("app-dr", &plan("rg-app/app-01")),
        sr_group("db-dr", &plan("rg-app/db-01")).replace("      failover:", "      Failover:"),
    );
    insta::assert_snapshot!(diagnose(&yaml));
}

#[test]
fn an_action_needs_a_runbook_a_manual_step_or_a_script() {
    insta::assert_snapshot!(diagnose(&with_plan(
        "          - vms: [rg-app/db-01]\n            after:\n              - on: [failover]\n"
    )));
}

#[test]
fn an_action_with_a_runbook_and_a_manual_step_is_rejected() {
    insta::assert_snapshot!(diagnose(&with_plan(&format!(
        "          - vms: [rg-app/db-01]\n            after:\n              - runbook: {}\n                manual: \"Check the cache\"\n",
        runbook_id("aa-ops", "warm-cache")
    ))));
}

#[test]
fn a_runbook_id_with_a_too_short_automation_account_is_rejected() {
    insta::assert_snapshot!(diagnose(&with_plan(&format!(
        "          - vms: [rg-app/db-01]\n            after: [{{runbook: {}}}]\n",
        runbook_id("aa", "warm-cache")
    ))));
}

#[test]
fn a_runbook_given_by_name_asks_for_its_id() {
    insta::assert_snapshot!(diagnose(&with_plan(
        "          - vms: [rg-app/db-01]\n            after: [{runbook: warm-cache}]\n"
    )));
}

#[test]
fn a_manual_action_cannot_have_a_fabric_location_or_a_timeout() {
    insta::assert_snapshot!(diagnose(&with_plan(
        "          - vms: [rg-app/db-01]\n            before:\n              - manual: \"Drain traffic from the load balancer\"\n                fabric_location: primary\n                timeout: 10m\n"
    )));
}

#[test]
fn an_empty_manual_action_is_rejected() {
    insta::assert_snapshot!(diagnose(&with_plan(
        "          - vms: [rg-app/db-01]\n            before: [{manual: \"  \"}]\n"
    )));
}

#[test]
fn a_misspelt_failover_type_suggests_the_right_one() {
    insta::assert_snapshot!(diagnose(&with_plan(
        "          - vms: [rg-app/db-01]\n            before: [{manual: \"Check\", on: [test_failvoer]}]\n"
    )));
}

#[test]
fn failover_types_and_directions_must_be_listed_once_and_not_empty() {
    insta::assert_snapshot!(diagnose(&with_plan(
        "          - vms: [rg-app/db-01]\n            before:\n              - manual: \"Check\"\n                on: []\n                direction: [primary_to_recovery, recovery_to_primary, primary_to_recovery]\n"
    )));
}

#[test]
fn a_runbook_timeout_must_be_a_positive_duration() {
    insta::assert_snapshot!(diagnose(&with_plan(&format!(
        "          - vms: [rg-app/db-01]\n            after:\n              - runbook: {}\n                timeout: 0m\n              - runbook: {}\n                timeout: half an hour\n",
        runbook_id("aa-ops", "warm-cache"),
        runbook_id("aa-ops", "check-app")
    ))));
}

#[test]
fn a_script_action_is_a_warning_in_an_azure_to_azure_plan() {
    insta::assert_snapshot!(warnings(&with_plan(
        "          - vms: [rg-app/db-01]\n            after: [{script: /RecoveryPlanScripts/warm.ps1, fabric_location: primary}]\n"
    )));
}

#[test]
fn a_site_recovery_group_name_with_a_slash_is_rejected() {
    insta::assert_snapshot!(diagnose(&format!(
        "{HEADER}{DR_VAULT}site_recovery:\n{}",
        sr_group("app/dr", TWO_VMS)
    )));
}

#[test]
fn a_site_recovery_group_defined_in_two_files_is_rejected() {
    let a = with_sr("    vms: [{vm: rg-app/app-01}]\n");
    let b = format!(
        "version: 1\nsite_recovery:\n{}",
        sr_group("App-DR", "    vms: [{vm: rg-app/db-01}]\n")
    );
    insta::assert_snapshot!(diagnose_files(&[("a.yaml", &a), ("b.yaml", &b)]));
}

#[test]
fn every_site_recovery_problem_is_reported_at_once() {
    insta::assert_snapshot!(diagnose(
        &with_plan(&format!(
            "          - vms: [rg-app/db-01, rg-app/web-01]\n            after: [{{runbook: {}, on: [test_failover]}}]\n          - vms: [rg-app/app-01]\n            before: [{{manual: \"\", fabric_location: recovery}}]\n",
            runbook_id("aa-ops", "1-warm")
        ))
        .replace("target_region: northeurope", "target_region: westeurope")
        .replace("target_resource_group: rg-app-dr", "target_resource_group: rg app dr")
    ));
}

#[test]
fn a_selector_does_not_make_another_groups_vm_a_plan_member() {
    let yaml = format!(
        "{HEADER}{DR_VAULT}site_recovery:\n{}{}",
        sr_group("app-dr", "    select: {tags: {dr: neu}}\n    recovery_plans:\n      app-failover:\n        groups: [{vms: [rg-db/sql-01]}]\n"),
        sr_group("db-dr", "    vms: [{vm: rg-db/sql-01}]\n"),
    );
    let out = diagnose(&yaml);
    assert!(
        out.contains("it is replicated by site_recovery `db-dr`"),
        "{out}"
    );
}

// ---------------------------------------------------------------- disk backup

const DISK_SUB2: &str = "00000000-0000-0000-0000-000000000002";

fn disk_id(sub: &str, rg: &str, name: &str) -> String {
    format!("/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Compute/disks/{name}")
}

/// A Backup vault `name` (westeurope) whose body (indented 4) is `body`, as a `disk_backup`
/// entry (indented 2).
fn bv(name: &str, body: &str) -> String {
    format!("  {name}:\n    resource_group: rg-protect-weu\n    location: westeurope\n{body}")
}

/// A file with Backup vault `bv-a` whose body (indented 4) is `body`.
fn with_bv(body: &str) -> String {
    format!("{HEADER}disk_backup:\n{}", bv("bv-a", body))
}

const FOUR_H: &str = "    policies:\n      every-4h: {every: 4h, retention: 7d}\n";

/// A file with Backup vault `bv-a`, policy `every-4h` and one `protect` entry (indented 8
/// after `- policy: every-4h`).
fn with_disk_protect(entry: &str) -> String {
    with_bv(&format!(
        "{FOUR_H}    protect:\n      - policy: every-4h\n{entry}"
    ))
}

/// A file with Backup vault `bv-a` holding one policy `pol` written `{policy}`.
fn with_disk_policy(policy: &str) -> String {
    with_bv(&format!("    policies:\n      pol: {policy}\n"))
}

const SNAP_RG: &str = "        snapshot_resource_group: rg-snapshots-weu\n";

#[test]
fn a_valid_disk_backup_section_has_no_warning() {
    assert_eq!(
        warnings(&with_disk_protect(&format!(
            "{SNAP_RG}        disks: [rg-app/shared-data, {}]\n        select: {{resource_groups: [rg-data], tags: {{snapshot: 4h}}}}\n    grant_permissions: false\n    on_remove: delete_data\n",
            disk_id("00000000-0000-0000-0000-000000000001", "rg-db", "db-01-data-0")
        ))),
        ""
    );
}

#[test]
fn a_backup_vault_identity_is_system_or_a_user_assigned_identity() {
    for ok in [
        "system",
        "rg-identity/uami-backup",
        "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-identity/providers/Microsoft.ManagedIdentity/userAssignedIdentities/uami-backup",
    ] {
        assert_eq!(warnings(&with_bv(&format!("    identity: {ok}\n"))), "", "{ok}");
    }
    // A bare name is not enough to find the identity: pointed at, with the forms it may take.
    insta::assert_snapshot!(diagnose(&with_bv("    identity: uami-backup\n")));
}

#[test]
fn a_backup_vault_name_starting_with_a_digit_is_rejected() {
    insta::assert_snapshot!(diagnose(&format!(
        "{HEADER}disk_backup:\n{}",
        bv("1bv-prod", "")
    )));
}

#[test]
fn a_backup_vault_declared_in_two_files_points_at_both() {
    insta::assert_snapshot!(diagnose_files(&[
        (
            "a.yaml",
            &format!("{HEADER}disk_backup:\n{}", bv("bv-prod-weu", ""))
        ),
        (
            "b.yaml",
            &format!("{HEADER}disk_backup:\n{}", bv("BV-Prod-WEU", ""))
        ),
    ]));
}

#[test]
fn a_misspelt_backup_vault_region_is_a_warning_with_a_suggestion() {
    insta::assert_snapshot!(warnings(&format!(
        "{HEADER}disk_backup:\n  bv-a:\n    resource_group: rg-protect-weu\n    location: westeurpe\n"
    )));
}

#[test]
fn backup_vault_soft_delete_is_kept_14_to_180_days_and_its_state_is_checked() {
    insta::assert_snapshot!(diagnose(&with_bv(
        "    soft_delete: {state: Always, retention_days: 7}\n"
    )));
}

#[test]
fn backup_vault_soft_delete_of_7_days_is_too_short() {
    insta::assert_snapshot!(diagnose(&with_bv(
        "    redundancy: ZoneRedundant\n    soft_delete: {state: AlwaysOn, retention_days: 7}\n    immutability: Locked\n"
    )));
}

#[test]
fn an_immutable_backup_vault_warns_that_disk_snapshots_are_not_immutable() {
    insta::assert_snapshot!(warnings(&with_bv("    immutability: Unlocked\n")));
}

#[test]
fn disk_backup_does_not_offer_suspend_on_remove() {
    insta::assert_snapshot!(diagnose(&with_bv("    on_remove: suspend\n")));
}

#[test]
fn a_disk_policy_name_with_an_underscore_is_rejected() {
    insta::assert_snapshot!(diagnose(&with_bv(
        "    policies:\n      every_4h: {every: 4h, retention: 7d}\n"
    )));
}

#[test]
fn a_disk_policy_defined_twice_with_different_case_is_rejected() {
    insta::assert_snapshot!(diagnose(&with_bv(
        "    policies:\n      every-4h: {every: 4h, retention: 7d}\n      Every-4H: {every: 4h, retention: 14d}\n"
    )));
}

#[test]
fn every_3h_is_not_a_disk_backup_interval() {
    insta::assert_snapshot!(diagnose(&with_disk_policy("{every: 3h, retention: 7d}")));
}

#[test]
fn every_24h_asks_for_1d() {
    insta::assert_snapshot!(diagnose(&with_disk_policy("{every: 24h, retention: 7d}")));
}

#[test]
fn every_30m_is_more_often_than_disk_backup_runs() {
    insta::assert_snapshot!(diagnose(&with_disk_policy("{every: 30m, retention: 7d}")));
}

#[test]
fn disk_retention_in_weeks_asks_for_days() {
    insta::assert_snapshot!(diagnose(&with_disk_policy("{every: 1d, retention: 2w}")));
}

#[test]
fn disk_retention_of_0_days_keeps_nothing() {
    insta::assert_snapshot!(diagnose(&with_disk_policy("{every: 1d, retention: 0d}")));
}

#[test]
fn disk_snapshots_are_kept_a_year_at_most() {
    insta::assert_snapshot!(diagnose(&with_disk_policy("{every: 1d, retention: 400d}")));
}

#[test]
fn hourly_snapshots_kept_30_days_are_more_than_450_per_disk() {
    insta::assert_snapshot!(diagnose(&with_disk_policy("{every: 1h, retention: 30d}")));
}

#[test]
fn twelve_hourly_snapshots_kept_226_days_are_one_too_many_days() {
    insta::assert_snapshot!(diagnose(&with_disk_policy("{every: 12h, retention: 226d}")));
}

#[test]
fn the_450_snapshot_limit_is_reached_exactly_without_error() {
    for p in [
        "{every: 4h, retention: 75d}",
        "{every: 12h, retention: 225d}",
        "{every: 1h, retention: 18d}",
        "{every: 1d, retention: 365d}",
    ] {
        assert_eq!(warnings(&with_disk_policy(p)), "", "{p}");
    }
}

#[test]
fn a_disk_policy_start_time_must_be_hh_mm() {
    insta::assert_snapshot!(diagnose(&with_disk_policy(
        "{every: 1d, retention: 7d, start: \"2:00\"}"
    )));
}

#[test]
fn an_unknown_disk_policy_time_zone_is_a_warning_with_a_suggestion() {
    insta::assert_snapshot!(warnings(&with_disk_policy(
        "{every: 1d, retention: 7d, start: \"02:15\", time_zone: W. Europe Standard Tme}"
    )));
}

#[test]
fn protecting_disks_with_an_undeclared_policy_suggests_a_declared_one() {
    insta::assert_snapshot!(diagnose(&with_bv(&format!(
        "{FOUR_H}    protect:\n      - policy: every-4hr\n{SNAP_RG}        disks: [rg-app/shared-data]\n"
    ))));
}

#[test]
fn protecting_disks_in_a_vault_without_policies_says_how_to_declare_one() {
    insta::assert_snapshot!(diagnose(&with_bv(&format!(
        "    protect:\n      - policy: every-4h\n{SNAP_RG}        disks: [rg-app/shared-data]\n"
    ))));
}

#[test]
fn a_disk_protect_entry_without_disks_or_select_is_rejected() {
    insta::assert_snapshot!(diagnose(&with_disk_protect(SNAP_RG)));
}

#[test]
fn an_empty_disk_selector_would_back_up_every_disk() {
    insta::assert_snapshot!(diagnose(&with_disk_protect(&format!(
        "{SNAP_RG}        select: {{tags: {{}}}}\n"
    ))));
}

#[test]
fn an_empty_disk_list_is_rejected() {
    insta::assert_snapshot!(diagnose(&with_disk_protect(&format!(
        "{SNAP_RG}        disks: []\n"
    ))));
}

#[test]
fn a_disk_without_its_resource_group_and_a_vm_id_are_not_disk_references() {
    insta::assert_snapshot!(diagnose(&with_disk_protect(&format!(
        "{SNAP_RG}        disks:\n          - shared-data\n          - {RGS}/rg-app/providers/Microsoft.Compute/virtualMachines/app-01\n          - rg-app/data.\n"
    ))));
}

#[test]
fn an_invalid_snapshot_resource_group_is_rejected() {
    insta::assert_snapshot!(diagnose(&with_disk_protect(
        "        snapshot_resource_group: /subscriptions/xyz/resourceGroups/rg-snapshots-weu\n        disks: [rg-app/shared-data]\n"
    )));
}

#[test]
fn snapshots_cannot_go_to_a_resource_group_of_another_subscription() {
    insta::assert_snapshot!(diagnose(&with_disk_protect(&format!(
        "        snapshot_resource_group: /subscriptions/{DISK_SUB2}/resourceGroups/rg-snapshots\n        disks: [rg-app/shared-data, rg-app/other-data]\n"
    ))));
}

#[test]
fn a_disk_of_another_subscription_needs_a_snapshot_resource_group_id_there() {
    insta::assert_snapshot!(diagnose(&with_disk_protect(&format!(
        "{SNAP_RG}        disks: [{}]\n",
        disk_id(DISK_SUB2, "rg-app", "shared-data")
    ))));
}

#[test]
fn a_snapshot_resource_group_id_in_the_disks_subscription_is_fine() {
    assert_eq!(
        warnings(&with_disk_protect(&format!(
            "        snapshot_resource_group: /subscriptions/{DISK_SUB2}/resourceGroups/rg-snapshots\n        disks: [{}]\n",
            disk_id(DISK_SUB2, "rg-app", "shared-data")
        ))),
        ""
    );
}

#[test]
fn selected_disks_cannot_snapshot_into_another_subscription() {
    insta::assert_snapshot!(diagnose(&with_disk_protect(&format!(
        "        snapshot_resource_group: /subscriptions/{DISK_SUB2}/resourceGroups/rg-snapshots\n        select: {{tags: {{snapshot: 4h}}}}\n"
    ))));
}

#[test]
fn a_disk_listed_by_name_and_by_id_in_one_vault_is_listed_twice() {
    insta::assert_snapshot!(diagnose(&with_bv(&format!(
        "    policies:\n      every-4h: {{every: 4h, retention: 7d}}\n      daily: {{every: 1d, retention: 30d}}\n    protect:\n      - policy: every-4h\n{SNAP_RG}        disks: [rg-app/shared-data]\n      - policy: daily\n{SNAP_RG}        disks: [{}]\n",
        disk_id("00000000-0000-0000-0000-000000000001", "RG-App", "Shared-Data")
    ))));
}

#[test]
fn a_disk_protected_by_two_backup_vaults_in_two_files_is_rejected() {
    let vault = |name: &str| {
        format!(
            "{HEADER}disk_backup:\n{}",
            bv(
                name,
                &format!("{FOUR_H}    protect:\n      - policy: every-4h\n{SNAP_RG}        disks: [rg-app/shared-data]\n")
            )
        )
    };
    insta::assert_snapshot!(diagnose_files(&[
        ("weu.yaml", &vault("bv-a")),
        ("more.yaml", &vault("bv-b")),
    ]));
}

#[test]
fn a_typo_inside_disk_backup_suggests_the_right_field() {
    insta::assert_snapshot!(diagnose(&with_disk_protect(
        "        snapshot_resourcegroup: rg-snapshots-weu\n        disks: [rg-app/shared-data]\n"
    )));
}

#[test]
fn every_disk_backup_problem_is_reported_at_once() {
    insta::assert_snapshot!(diagnose(&format!(
        "{HEADER}disk_backup:\n{}",
        bv(
            "bv_prod",
            "    location: westeurope\n"
        )
        .replace("    location: westeurope\n    location: westeurope\n", "    location: west-europe\n")
            + "    policies:\n      hourly: {every: 5h, retention: 7w, start: \"25:00\"}\n      every-2h: {every: 2h, retention: 60d}\n    protect:\n      - policy: every-2hours\n        snapshot_resource_group: rg snapshots\n        disks: [rg-app, rg-app/shared-data, rg-app/shared-data]\n        select: {}\n"
    )));
}

#[test]
fn tags_follow_azures_rules_for_names_values_and_count() {
    // Azure refuses these at apply; validate says so first, at the tag.
    let out = diagnose(&format!(
        "{HEADER}tags: {{cost/center: a}}\nresource_groups:\n  rg-a: {{location: westeurope, tags: {{owner: {}}}}}\n",
        "v".repeat(257)
    ));
    assert!(out.contains("a tag name cannot contain '/'"), "{out}");
    assert!(
        out.contains("a tag value has at most 256 characters, this one 257"),
        "{out}"
    );
    // 30 global tags and 30 of the vault's own, 10 of them the same names: 50 is the limit.
    let global: Vec<String> = (0..30).map(|i| format!("g{i}: x")).collect();
    let own = |n: usize| -> String {
        (0..n)
            .map(|i| {
                if i < 10 {
                    format!("G{i}: y")
                } else {
                    format!("v{i}: y")
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let file = |n: usize| {
        format!(
            "{HEADER}tags: {{{}}}\nrecovery_vaults:\n  rsv-a:\n    resource_group: rg-a\n    location: westeurope\n    tags: {{{}}}\n",
            global.join(", "),
            own(n)
        )
    };
    assert!(
        loads(&file(30)),
        "50 tags once merged (names are case-insensitive)"
    );
    let out = diagnose(&file(31));
    assert!(
        out.contains("vault `rsv-a`: a resource carries at most 50 tags; this one would carry 51"),
        "{out}"
    );
}

#[test]
fn yaml_problems_are_told_in_the_users_words() {
    assert!(diagnose("# only comments\n\n# here\n").contains("the file holds only comments"));
    let two = diagnose(&format!("{HEADER}---\n{HEADER}"));
    assert!(
        two.contains("a desired-state file holds one YAML document")
            && !two.contains("from_str_multiple"),
        "{two}"
    );
    // Aliases far beyond any real file (20,000 uses of one anchor) are refused as a bomb would
    // be, and said so without the parser's own vocabulary.
    let uses: Vec<String> = (0..20_000).map(|i| format!("k{i}: *s")).collect();
    let bomb = format!("{HEADER}tags: {{a: &s x, {}}}\n", uses.join(", "));
    let out = diagnose(&bomb);
    assert!(
        out.contains("alias bomb") && !out.contains("budget breached"),
        "{out}"
    );
}

#[test]
fn an_ordinary_file_using_one_anchor_a_hundred_times_loads() {
    // One policy name anchored once and used for 100 vaults' entries: real files do this.
    let mut y = format!(
        "{HEADER}resource_groups:\n  rg-a: {{location: &loc westeurope}}\nrecovery_vaults:\n"
    );
    for i in 0..100 {
        y.push_str(&format!(
            "  rsv-{i:03}:\n    resource_group: rg-a\n    location: *loc\n"
        ));
    }
    assert!(
        loads(&y),
        "{}",
        config::load_sources(vec![("azprotect.yaml".into(), y.clone())])
            .err()
            .map(|e| render_error(&e))
            .unwrap_or_default()
    );
}

#[test]
fn a_yaml_tag_azprotect_does_not_read_is_refused_not_ignored() {
    let id = "00000000-0000-0000-0000-000000000001";
    let out = diagnose(&format!("version: 1\nsubscription: !evil {id}\n"));
    assert!(out.contains("unsupported YAML tag `!evil`"), "{out}");
    assert!(loads(&format!("version: 1\nsubscription: !!str {id}\n")));
}

#[test]
fn a_file_that_is_not_utf8_is_told_by_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("latin1.yaml");
    std::fs::write(&f, b"version: 1\nsubscription: caf\xe9\n").unwrap();
    let Err(err) = config::load(&[f]) else {
        panic!("a file that is not UTF-8 loaded");
    };
    let out = render_error(&err);
    assert!(
        out.contains("latin1.yaml:2:18: not UTF-8 text (byte 0xe9)"),
        "{out}"
    );
}

#[test]
fn a_5000_character_name_is_a_name_problem_not_a_parser_one() {
    let out = diagnose(&format!(
        "{HEADER}resource_groups:\n  {}: {{location: westeurope}}\n",
        "r".repeat(5000)
    ));
    assert!(
        out.contains("invalid resource group name"),
        "{}",
        &out[..out.len().min(400)]
    );
    assert!(
        !out.contains("expected a mapping"),
        "{}",
        &out[..out.len().min(400)]
    );
}

// ---------------------------------------------------------------- subscriptions per block

#[test]
fn a_blocks_subscription_must_be_a_guid() {
    let out = diagnose(&format!(
        "{HEADER}resource_groups:\n  rg-a: {{location: westeurope, subscription: prod-sub}}\n"
    ));
    assert!(out.contains("`prod-sub` is not a subscription id"), "{out}");
    assert!(
        out.contains("azprotect.yaml:4:"),
        "points at the value: {out}"
    );
}

#[test]
fn a_vm_of_another_subscription_is_refused_for_a_vault_of_this_one() {
    // Azure Backup protects a VM only from a vault of its own subscription.
    let out = diagnose(&with_vault(
        "    backup_policies: {daily: {schedule: {daily: {at: \"22:00\"}}, retention: {daily: 7d}}}\n    protect:\n      - policy: daily\n        vms: [/subscriptions/00000000-0000-0000-0000-000000000002/resourceGroups/rg-s/providers/Microsoft.Compute/virtualMachines/ad-01]\n",
    ));
    insta::assert_snapshot!(out);
    // The same VM by its full id is fine for a vault of its subscription.
    assert!(loads(&format!(
        "{HEADER}recovery_vaults:\n  rsv-s:\n    subscription: 00000000-0000-0000-0000-000000000002\n    resource_group: rg-a\n    location: westeurope\n    backup_policies: {{daily: {{schedule: {{daily: {{at: \"22:00\"}}}}, retention: {{daily: 7d}}}}}}\n    protect:\n      - policy: daily\n        vms: [/subscriptions/00000000-0000-0000-0000-000000000002/resourceGroups/rg-s/providers/Microsoft.Compute/virtualMachines/ad-01]\n"
    )));
}

#[test]
fn a_vaults_resource_group_declared_in_another_subscription_is_refused() {
    let out = diagnose(&format!(
        "{HEADER}resource_groups:\n  rg-a: {{location: westeurope, subscription: 00000000-0000-0000-0000-000000000002}}\nrecovery_vaults:\n  rsv-a:\n    resource_group: rg-a\n    location: westeurope\n"
    ));
    insta::assert_snapshot!(out);
}

#[test]
fn a_recovery_plans_actions_have_distinct_names_declared_or_derived() {
    // `manual` is what an unnamed manual step is called: naming another action so clashes.
    let out = diagnose(&with_plan(
        "          - vms: [rg-app/db-01]\n            before:\n              - {manual: \"Drain traffic\"}\n              - {manual: \"Check the database\", name: Manual}\n",
    ));
    assert!(
        out.contains("two actions of recovery plan `app-failover` are named `Manual`"),
        "{out}"
    );
    let out = diagnose(&with_plan(
        "          - vms: [rg-app/db-01]\n            after: [{manual: \"Check\", name: \" \"}]\n",
    ));
    assert!(out.contains("an action's `name` is empty"), "{out}");
    // Two unnamed manual steps are `manual` and `manual-2`: no clash.
    assert!(loads(&with_plan(
        "          - vms: [rg-app/db-01]\n            before:\n              - {manual: \"Drain traffic\"}\n              - {manual: \"Check the database\"}\n"
    )));
}
