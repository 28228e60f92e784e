//! Every static rule of the desired-state file, told as the user's story: what they wrote, and
//! the diagnostic (snapshotted) that points at the offending line and column.

use azprotect::config::{self, ConfigError};
use miette::{GraphicalReportHandler, GraphicalTheme};

fn render_error(err: &ConfigError) -> String {
    let handler =
        GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor()).with_width(100);
    let mut out = String::new();
    for d in &err.diagnostics {
        handler.render_report(&mut out, d.as_ref()).unwrap();
        out.push('\n');
    }
    out
}

/// Load one file named `azprotect.yaml` and render its diagnostics; panics if it is valid.
fn diagnose(yaml: &str) -> String {
    match config::load_sources(vec![("azprotect.yaml".into(), yaml.into())]) {
        Ok(_) => panic!("expected diagnostics for:\n{yaml}"),
        Err(e) => render_error(&e),
    }
}

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
    let handler =
        GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor()).with_width(100);
    let mut out = String::new();
    for w in loaded.warnings() {
        handler.render_report(&mut out, w.as_ref()).unwrap();
    }
    insta::assert_snapshot!(out);
}

fn warnings(yaml: &str) -> String {
    let loaded = config::load_sources(vec![("azprotect.yaml".into(), yaml.into())])
        .unwrap_or_else(|e| panic!("{:?}", miette::Report::new(e)));
    let handler =
        GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor()).with_width(100);
    let mut out = String::new();
    for w in loaded.warnings() {
        handler.render_report(&mut out, w.as_ref()).unwrap();
    }
    out
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
fn site_recovery_and_disk_backup_are_not_supported_yet() {
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
    let handler =
        GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor()).with_width(100);
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
    let handler =
        GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor()).with_width(100);
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
