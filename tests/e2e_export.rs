//! Adopting an existing estate: `azprotect export` reads what exists and writes a file that
//! validates and plans empty against it — for every example estate (applied by azprotect), with
//! and without `--selectors`, and for an estate made directly through the API the way the portal
//! and Azure's CLI make one (portal-style names, Azure's built-in `DefaultPolicy`, an excluded
//! disk, a VM whose protection was stopped).

mod support;

use azprotect::model::{api, ArmRequest, Method};
use azprotect::sandbox::SandboxOptions;
use serde_json::{json, Value};
use support::estate::{applied, read_example, Estate};

const SUB: &str = "00000000-0000-0000-0000-000000000001";

fn fast(inventory: Option<&str>) -> SandboxOptions {
    SandboxOptions {
        time_scale: 0.001,
        inventory: inventory.map(|i| support::estate::repo().join(i)),
        ..SandboxOptions::default()
    }
}

/// `export [extra…] -o <name>` (exit 0), then `validate` and `plan --detailed-exitcode` of the
/// exported file: exit 0, no changes. The exported text.
async fn export_plans_empty(estate: &Estate, name: &str, extra: &[&str]) -> String {
    let out = estate.path(name);
    let mut args = vec!["export"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["-o", &out]);
    let run = estate.run(&args).await;
    run.expect_code(0);
    assert!(
        run.stderr.contains("Check it: azprotect plan -f"),
        "{}",
        run.stderr
    );
    let text = std::fs::read_to_string(&out).expect("the export was written");
    estate.run(&["validate", "-f", &out]).await.expect_code(0);
    plans_empty(
        estate,
        &out,
        &format!("the export of an estate must plan empty against it:\n{text}"),
    )
    .await;
    text
}

/// `plan -f file --detailed-exitcode --format json` exits 0 with no changes; `why` otherwise.
async fn plans_empty(estate: &Estate, file: &str, why: &str) {
    let plan = estate
        .run(&[
            "plan",
            "-f",
            file,
            "--detailed-exitcode",
            "--format",
            "json",
        ])
        .await;
    assert_eq!(plan.code, 0, "{why}\n{}\n{}", plan.stdout, plan.stderr);
    assert!(plan.changes().is_empty(), "{}", plan.stdout);
}

/// Apply an example, then export it with and without selectors: both plan empty.
async fn example_round_trips(example: &str, inventory: Option<&str>) -> (String, String) {
    let (estate, _) = applied(fast(inventory), example, &read_example(example)).await;
    let listed = export_plans_empty(&estate, "listed.yaml", &[]).await;
    let selected = export_plans_empty(&estate, "selected.yaml", &["--selectors"]).await;
    (listed, selected)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_quickstart_estate_exports_to_a_file_that_plans_empty() {
    let (listed, selected) = example_round_trips("quickstart.yaml", None).await;
    for vm in [
        "rg-app/app-01",
        "rg-app/db-01",
        "rg-web/web-01",
        "rg-web/web-02",
    ] {
        assert!(
            listed.contains(&format!("- {vm}\n")),
            "{vm} listed:\n{listed}"
        );
    }
    assert!(listed.contains("exclude_disks: [1]"), "{listed}");
    assert!(!listed.contains("select:"), "{listed}");
    // Both silver VMs carry backup=silver and nothing else in the region does.
    assert!(
        selected.contains("select: {tags: {backup: silver}}"),
        "{selected}"
    );
    // Unused built-ins are not exported.
    assert!(!listed.contains("DefaultPolicy"), "{listed}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_multi_vault_estate_exports_to_a_file_that_plans_empty() {
    let (listed, selected) = example_round_trips(
        "multi-vault.yaml",
        Some("examples/inventories/multi-vault.yaml"),
    )
    .await;
    // Export reads the one subscription it is given: the vault of the shared-services
    // subscription (and its VM) are not in this file, which therefore leaves them alone.
    assert!(
        !listed.contains("rsv-shared-weu") && !listed.contains("ad-01"),
        "{listed}"
    );
    assert!(
        listed.contains("rsv-prod-neu:") && listed.contains("rsv-prod-weu:"),
        "{listed}"
    );
    // North Europe's two groups are wholly protected by daily-silver.
    assert!(
        selected.contains("select: {resource_groups: [rg-api-neu, rg-web-neu]}"),
        "{selected}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_disk_backup_estate_exports_to_a_file_that_plans_empty() {
    let (listed, _) = example_round_trips("disk-backup.yaml", None).await;
    contains_all(
        &listed,
        &[
            "disk_backup:\n",
            "  bv-prod-weu:\n    resource_group: rg-protect-weu\n",
            "      every-4h: {every: 4h, retention: 7d}\n",
            "      daily: {every: 1d, retention: 30d, start: \"02:00\", time_zone: W. Europe Standard Time}\n",
            "      - policy: every-4h\n        snapshot_resource_group: rg-snapshots-weu\n        disks:\n",
            "          - rg-app/shared-data\n",
        ],
    );
    // The vault's identity holds the roles apply granted: the default (true) is left out.
    assert!(!listed.contains("grant_permissions"), "{listed}");
}

/// A Backup vault whose disks back up with a user-assigned identity: the export names it, reads
/// the roles that identity holds (not the vault's own, which has none) and plans empty.
#[tokio::test(flavor = "multi_thread")]
async fn a_vault_backing_up_with_a_user_assigned_identity_exports_it() {
    let yaml = read_example("disk-backup.yaml").replace(
        "    identity: system ",
        "    identity: rg-identity/uami-backup ",
    );
    assert!(yaml.contains("identity: rg-identity/uami-backup"));
    let (estate, _) = applied(fast(None), "uami.yaml", &yaml).await;
    let listed = export_plans_empty(&estate, "exported.yaml", &[]).await;
    contains_all(
        &listed,
        &[
            "  bv-prod-weu:\n",
            "    identity: rg-identity/uami-backup\n",
        ],
    );
    assert!(!listed.contains("grant_permissions"), "{listed}");

    // A second vault shares the identity and the snapshot group: its roles are the identity's
    // too (read once, through the first vault), so neither is exported as lacking one.
    let second = format!(
        "{yaml}  bv-ledger:\n    resource_group: rg-protect-weu\n    location: westeurope\n    identity: rg-identity/uami-backup\n    policies:\n      daily: {{every: 1d, retention: 7d}}\n    protect:\n      - policy: daily\n        snapshot_resource_group: rg-snapshots-weu\n        disks: [rg-app/ledger-v2]\n"
    );
    let file = estate.write("two.yaml", &second);
    (estate.run(&["apply", "-f", &file, "--auto-approve"]).await).expect_code(0);
    let listed = export_plans_empty(&estate, "exported-two.yaml", &[]).await;
    assert_eq!(
        listed
            .matches("    identity: rg-identity/uami-backup\n")
            .count(),
        2,
        "{listed}"
    );
    assert!(!listed.contains("grant_permissions"), "{listed}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_site_recovery_estate_exports_to_a_file_that_plans_empty() {
    let (listed, _) = example_round_trips("site-recovery.yaml", None).await;
    // The group is named after its replication policy, which azprotect names after the group.
    contains_all(
        &listed,
        &[
            "  rsv-dr-neu:\n",
            "site_recovery:\n",
            // Not readable from Azure, and the header says so.
            "a site_recovery group's target_cache_storage_account",
            "  app-dr:\n    vault: rsv-dr-neu\n    source_region: westeurope\n    target_region: northeurope\n",
            "    policy: {recovery_points: 24h, app_consistent_every: 4h}\n",
            "    target_resource_group: rg-app-dr\n",
            "    cache_storage_account: /subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-app/providers/Microsoft.Storage/storageAccounts/asrcacheweu\n",
            // Site Recovery returns network mapping ids in lower case (recording:
            // azure-cli-extensions/test_siterecovery_A2A_scenarios.yaml, the network mapping GET).
            "      - source: /subscriptions/00000000-0000-0000-0000-000000000001/resourcegroups/rg-app/providers/microsoft.network/virtualnetworks/vnet-app\n        target: /subscriptions/00000000-0000-0000-0000-000000000001/resourcegroups/rg-app-dr/providers/microsoft.network/virtualnetworks/vnet-app-dr\n",
            // VMs sorted, with their target overrides.
            "      - vm: rg-app/app-01\n        target_zone: \"1\"\n        disks: {data: StandardSSD_LRS}",
            // db-01's overrides are its own size and disk types, the defaults: left out.
            "      - vm: rg-app/db-01\n    recovery_plans:\n",
            // The recovery plan, its boot order and its actions (Azure's defaults left out).
            "    recovery_plans:\n      app-failover:\n        groups:\n          - vms: [rg-app/db-01]\n            after:\n              - runbook: /subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-app/providers/Microsoft.Automation/automationAccounts/aa-ops/runbooks/warm-cache\n",
            "                direction: [primary_to_recovery]\n",
            // The runbook's time limit is applied and read back (it was dropped once).
            "                timeout: 30m\n",
            "          - vms: [rg-app/app-01]\n            before:\n              - manual: Drain traffic from the load balancer\n                on: [failover, planned_failover]\n",
        ],
    );
    assert!(!listed.contains("not exported yet"), "{listed}");
}

/// Site Recovery set up in the portal names its replication policy (`24-hour-retention-policy`)
/// and container mappings (`westeurope-northeurope-24-hour-retention-policy`) its own way, not
/// after an azprotect group. A file whose group has another name than the live policy is that
/// setup when the policy's settings and the containers it maps agree: the plan adopts the live
/// mappings and policy by what they connect — nothing is created beside them, and no
/// replication is replaced for a "changed" policy id.
#[tokio::test(flavor = "multi_thread")]
async fn a_site_recovery_setup_is_adopted_by_what_it_connects_not_by_its_names() {
    let (estate, _) = applied(
        fast(None),
        "site-recovery.yaml",
        &read_example("site-recovery.yaml"),
    )
    .await;
    let text = export_plans_empty(&estate, "listed.yaml", &[]).await;
    let renamed = text.replace(
        "  app-dr:\n    vault: rsv-dr-neu\n",
        "  24-hour-retention-policy:\n    vault: rsv-dr-neu\n",
    );
    assert_ne!(renamed, text, "the group is renamed:\n{text}");
    let path = estate.path("renamed.yaml");
    std::fs::write(&path, &renamed).unwrap();
    plans_empty(&estate, &path, "the live setup is adopted:").await;

    // Other settings are not that policy: the plan makes its own setup, as before.
    let other = renamed.replace("recovery_points: 24h", "recovery_points: 48h");
    assert_ne!(other, renamed, "{renamed}");
    std::fs::write(&path, &other).unwrap();
    let plan = estate.run(&["plan", "-f", &path, "--format", "json"]).await;
    assert!(
        plan.changes()
            .iter()
            .any(|c| c.starts_with("replication_policy.") && c.ends_with(" create")),
        "{}",
        plan.stdout
    );
}

/// A recovery plan action named in the portal ("Warm the cache", not the runbook's name the
/// planner derives) is exported with its `name:`, the derived ones without: the file plans
/// empty instead of renaming the actions.
#[tokio::test(flavor = "multi_thread")]
async fn recovery_plan_actions_keep_the_names_they_have_in_azure() {
    let yaml = read_example("site-recovery.yaml").replace(
        "                timeout: 30m\n",
        "                timeout: 30m\n                name: Warm the cache\n",
    );
    assert!(yaml.contains("name: Warm the cache"), "{yaml}");
    let (estate, _) = applied(fast(None), "site-recovery.yaml", &yaml).await;
    let text = export_plans_empty(&estate, "listed.yaml", &[]).await;
    contains_all(
        &text,
        &[
            "runbooks/warm-cache\n                name: Warm the cache\n",
            "              - manual: Drain traffic from the load balancer\n                on: [failover, planned_failover]\n",
        ],
    );
    assert_eq!(text.matches("name: ").count(), 1, "{text}");
}

// --- An estate made through the API, not by azprotect ---------------------------------------

const INVENTORY: &str = "\
subscriptions:
  00000000-0000-0000-0000-000000000001:
    resource_groups:
      rg-App-PROD:
        location: westeurope
        vms:
          App-VM01: {size: Standard_D2s_v5, os: linux, data_disks: [64, 128]}
          App-VM02: {size: Standard_D2s_v5, os: windows, tags: {Owner: team-a}}
          Old-VM03: {size: Standard_B2s, os: linux}
          Sel-VM04: {size: Standard_D2s_v5, os: linux, data_disks: [256]}
      rg-Backup:
        location: westeurope
";

fn vault_id() -> String {
    format!("/subscriptions/{SUB}/resourceGroups/rg-Backup/providers/Microsoft.RecoveryServices/vaults/vault-3f2a")
}

fn vm_id(name: &str) -> String {
    format!("/subscriptions/{SUB}/resourceGroups/rg-App-PROD/providers/Microsoft.Compute/virtualMachines/{name}")
}

/// The protected item of a VM of rg-App-PROD, at the names the CLI uses (FACTS §4).
fn item_path(vm: &str) -> String {
    let (rg, vm) = ("rg-app-prod", vm.to_ascii_lowercase());
    format!(
        "{}/backupFabrics/Azure/protectionContainers/IaasVMContainer;iaasvmcontainerv2;{rg};{vm}/protectedItems/vm;iaasvmcontainerv2;{rg};{vm}?api-version={}",
        vault_id(),
        api::BACKUP
    )
}

async fn put(client: &azprotect::azure::ArmClient, path: String, body: Value) {
    client
        .execute(&ArmRequest::new(Method::Put, path.clone(), Some(body)))
        .await
        .unwrap_or_else(|e| panic!("PUT {path}: {e}"));
}

/// A vault made as the portal makes one, a policy with a portal-style name, three VMs protected
/// through the protection-container PUT (one by the built-in DefaultPolicy, one without its data
/// disk at LUN 1), and one of them stopped with its data retained.
async fn api_estate() -> Estate {
    let dir = tempfile::tempdir().unwrap();
    let inventory = dir.path().join("inventory.yaml");
    std::fs::write(&inventory, INVENTORY).unwrap();
    let estate = Estate::start_with(SandboxOptions {
        time_scale: 0.001,
        inventory: Some(inventory),
        ..SandboxOptions::default()
    })
    .await;
    let client = estate.client().await;
    // Recording: azure-cli/test_backup_protection.yaml #1 (vault PUT: sku RS0, no settings).
    put(
        &client,
        format!("{}?api-version={}", vault_id(), api::RECOVERY_SERVICES),
        json!({"location": "westeurope", "sku": {"name": "RS0", "tier": "Standard"}, "properties": {}}),
    )
    .await;
    // Recording: azure-cli/test_backup_protection.yaml, policy PUT (FACTS §4: standard, daily).
    put(
        &client,
        format!("{}/backupPolicies/DailyPolicy-kxq8v2?api-version={}", vault_id(), api::BACKUP),
        json!({"properties": {
            "backupManagementType": "AzureIaasVM",
            "policyType": "V1",
            "instantRpRetentionRangeInDays": 3,
            "schedulePolicy": {"schedulePolicyType": "SimpleSchedulePolicy", "scheduleRunFrequency": "Daily",
                               "scheduleRunTimes": ["2026-01-01T21:30:00Z"], "scheduleWeeklyFrequency": 0},
            "retentionPolicy": {"retentionPolicyType": "LongTermRetentionPolicy",
                "dailySchedule": {"retentionTimes": ["2026-01-01T21:30:00Z"], "retentionDuration": {"count": 14, "durationType": "Days"}},
                "weeklySchedule": {"daysOfTheWeek": ["Sunday"], "retentionTimes": ["2026-01-01T21:30:00Z"], "retentionDuration": {"count": 8, "durationType": "Weeks"}}},
            "timeZone": "W. Europe Standard Time",
        }}),
    )
    .await;
    // Discovery first, as the CLI does (FACTS §4: refreshContainers → 202 … 204).
    client
        .execute(&ArmRequest::new(
            Method::Post,
            format!(
                "{}/backupFabrics/Azure/refreshContainers?api-version={}",
                vault_id(),
                api::BACKUP
            ),
            None,
        ))
        .await
        .expect("refresh containers");
    let policy = |name: &str| format!("{}/backupPolicies/{name}", vault_id());
    // Recording: azure-cli/test_backup_protection.yaml #41 (enable protection).
    put(
        &client,
        item_path("App-VM01"),
        json!({"properties": {
            "protectedItemType": "Microsoft.Compute/virtualMachines",
            "sourceResourceId": vm_id("App-VM01"),
            "policyId": policy("DailyPolicy-kxq8v2"),
            "extendedProperties": {"diskExclusionProperties": {"diskLunList": [1], "isInclusionList": false}},
        }}),
    )
    .await;
    for vm in ["App-VM02", "Old-VM03"] {
        put(
            &client,
            item_path(vm),
            json!({"properties": {
                "protectedItemType": "Microsoft.Compute/virtualMachines",
                "sourceResourceId": vm_id(vm),
                "policyId": policy("DefaultPolicy"),
            }}),
        )
        .await;
    }
    // Recording: azure-cli/test_backup_protection.yaml #56 (stop protection, retain data).
    put(
        &client,
        item_path("Old-VM03"),
        json!({"properties": {
            "protectedItemType": "Microsoft.Compute/virtualMachines",
            "sourceResourceId": vm_id("Old-VM03"),
            "policyId": "",
            "protectionState": "ProtectionStopped",
        }}),
    )
    .await;
    // Keep the inventory file alive with the estate's own directory.
    std::mem::forget(dir);
    estate
}

#[tokio::test(flavor = "multi_thread")]
async fn an_estate_made_through_the_api_exports_with_its_own_names_and_plans_empty() {
    let estate = api_estate().await;
    let text = export_plans_empty(&estate, "adopted.yaml", &[]).await;
    contains_all(
        &text,
        &[
            "  vault-3f2a:\n    resource_group: rg-Backup\n",
            "      DailyPolicy-kxq8v2:\n",
            "      # Azure's built-in policy, declared because VMs below use it\n      DefaultPolicy:\n",
            "      - policy: DailyPolicy-kxq8v2\n        vms:\n          - rg-App-PROD/App-VM01\n        exclude_disks: [1]\n",
            "      - policy: DefaultPolicy\n        vms:\n          - rg-App-PROD/App-VM02\n",
            "rg-App-PROD/Old-VM03: protection stopped, recovery points retained",
        ],
    );
    // Unused built-ins stay out; the stopped VM is only in a comment.
    assert!(!text.contains("EnhancedPolicy"), "{text}");
    assert!(!text.contains("- rg-App-PROD/Old-VM03"), "{text}");

    // The stopped VM sits in the same group: no group selector would plan empty, so the VMs
    // stay listed; App-VM02 is the only VM with Owner=team-a, which a tag selector can name.
    let selected = export_plans_empty(&estate, "selected.yaml", &["--selectors"]).await;
    assert!(!selected.contains("resource_groups:"), "{selected}");
    assert!(
        selected.contains("      - policy: DefaultPolicy\n        select: {tags: {Owner: team-a}}"),
        "{selected}"
    );
}

/// A VM backed up with an inclusion list (only its OS disk: the portal's selective disk backup)
/// cannot be written in the file, and a file that leaves it out of its declared vault would stop
/// its protection: export refuses, naming it, and writes nothing. With --skip-unsupported it
/// writes the file without that vault, named in the header, and that file plans empty.
#[tokio::test(flavor = "multi_thread")]
async fn an_item_the_file_cannot_express_is_refused_or_its_vault_left_out() {
    let estate = api_estate().await;
    let before = export_plans_empty(&estate, "before.yaml", &[]).await;
    let client = estate.client().await;
    // Recording: azure-cli/test_backup_protection.yaml #41, with the inclusion list the CLI's
    // `--diskslist … --disk-list-setting include` sends (isInclusionList: true).
    put(
        &client,
        item_path("Sel-VM04"),
        json!({"properties": {
            "protectedItemType": "Microsoft.Compute/virtualMachines",
            "sourceResourceId": vm_id("Sel-VM04"),
            "policyId": format!("{}/backupPolicies/DailyPolicy-kxq8v2", vault_id()),
            "extendedProperties": {"diskExclusionProperties": {"diskLunList": [0], "isInclusionList": true}},
        }}),
    )
    .await;
    // Why export refuses: a file without Sel-VM04 in vault-3f2a plans to stop protecting it.
    std::fs::write(estate.path("before.yaml"), &before).unwrap();
    let stale = estate
        .run(&[
            "plan",
            "-f",
            &estate.path("before.yaml"),
            "--format",
            "json",
        ])
        .await;
    assert!(
        stale
            .changes()
            .iter()
            .any(|c| c.contains("sel-vm04") || c.contains("Sel-VM04")),
        "{}",
        stale.stdout
    );

    let out = estate.path("adopted.yaml");
    let refused = estate.run(&["export", "-o", &out]).await;
    refused.expect_code(1);
    let err = support::estate::flat(&refused.stderr);
    assert!(
        err.contains("1 item(s) cannot be expressed in the file")
            && err.contains("nothing was written")
            && err.contains("vault vault-3f2a: rg-App-PROD/Sel-VM04: backs up only some disks (an inclusion list)")
            && err.contains("--skip-unsupported"),
        "{err}"
    );
    assert!(!std::path::Path::new(&out).exists(), "nothing is written");

    let text = export_plans_empty(&estate, "adopted.yaml", &["--skip-unsupported"]).await;
    contains_all(
        &text,
        &[
            "# Left out with --skip-unsupported (the file cannot express them; planning it leaves them alone):\n",
            "#   vault vault-3f2a: the whole vault (and its Site Recovery groups), because of\n",
            "#     rg-App-PROD/Sel-VM04: backs up only some disks (an inclusion list), which the file cannot express\n",
        ],
    );
    assert!(!text.contains("recovery_vaults:"), "{text}");
}

// --- Disk Backup made through the API ----------------------------------------------------------

const DISK_INVENTORY: &str = "\
subscriptions:
  00000000-0000-0000-0000-000000000001:
    resource_groups:
      rg-Data:
        location: westeurope
        disks:
          Ledger-Data: {size_gb: 128, sku: StandardSSD_LRS}
          Ledger-Logs: {size_gb: 64, sku: StandardSSD_LRS}
      rg-Snapshots:
        location: westeurope
      rg-Backup:
        location: westeurope
";

fn rg(name: &str) -> String {
    format!("/subscriptions/{SUB}/resourceGroups/{name}")
}

fn disk_id(name: &str) -> String {
    format!("{}/providers/Microsoft.Compute/disks/{name}", rg("rg-Data"))
}

/// A Backup vault `bv-Ledger` made through the API, with its identity's two roles (reader on
/// each of `disks`, snapshot contributor on rg-Snapshots) in effect. The estate, a client and
/// the vault's id.
async fn disk_api_estate(disks: &[&str]) -> (Estate, azprotect::azure::ArmClient, String) {
    let dir = tempfile::tempdir().unwrap();
    let inventory = dir.path().join("inventory.yaml");
    std::fs::write(&inventory, DISK_INVENTORY).unwrap();
    let estate = Estate::start_with(SandboxOptions {
        time_scale: 0.001,
        inventory: Some(inventory),
        ..SandboxOptions::default()
    })
    .await;
    std::mem::forget(dir);
    let client = estate.client().await;
    let dpp = api::DATA_PROTECTION;
    let vault = format!(
        "{}/providers/Microsoft.DataProtection/backupVaults/bv-Ledger",
        rg("rg-Backup")
    );
    // Recording: azure-cli-extensions dataprotection (backup-vault create: system identity,
    // vault store redundancy, soft delete).
    put(
        &client,
        format!("{vault}?api-version={dpp}"),
        json!({"location": "westeurope", "identity": {"type": "SystemAssigned"}, "properties": {
            "storageSettings": [{"datastoreType": "VaultStore", "type": "LocallyRedundant"}],
            "securitySettings": {"softDeleteSettings": {"state": "On", "retentionDurationInDays": 14}},
        }}),
    )
    .await;
    let body = client
        .get_optional(&format!("{vault}?api-version={dpp}"))
        .await
        .unwrap()
        .expect("the vault exists");
    let principal = body["identity"]["principalId"]
        .as_str()
        .expect("a system identity")
        .to_string();
    use azprotect::model::disk_backup::role;
    let scopes = disks
        .iter()
        .map(|d| (disk_id(d), role::DISK_BACKUP_READER))
        .chain([(rg("rg-Snapshots"), role::DISK_SNAPSHOT_CONTRIBUTOR)]);
    for (scope, role) in scopes {
        put(
            &client,
            format!(
                "{scope}/providers/Microsoft.Authorization/roleAssignments/{}?api-version={}",
                uuid::Uuid::new_v4(),
                api::AUTHORIZATION
            ),
            json!({"properties": {
                "roleDefinitionId": format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{role}"),
                "principalId": principal,
                "principalType": "ServicePrincipal",
            }}),
        )
        .await;
    }
    // Role assignments take effect after Azure's propagation delay (the sandbox's
    // PROPAGATION_SECS, 300 s, scaled by time_scale 0.001).
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    (estate, client, vault)
}

/// A disk policy PUT as the portal sends it: snapshots every `period` (ISO 8601) from midnight,
/// kept `days` days.
async fn put_disk_policy(
    client: &azprotect::azure::ArmClient,
    vault: &str,
    name: &str,
    period: &str,
    days: u32,
) {
    let store = json!({"objectType": "DataStoreInfoBase", "dataStoreType": "OperationalStore"});
    let rule = if period == "P1D" {
        "BackupDaily"
    } else {
        "BackupHourly"
    };
    put(
        client,
        format!("{vault}/backupPolicies/{name}?api-version={}", api::DATA_PROTECTION),
        json!({"properties": {
            "objectType": "BackupPolicy",
            "datasourceTypes": ["Microsoft.Compute/disks"],
            "policyRules": [
                {"objectType": "AzureBackupRule", "name": rule,
                 "backupParameters": {"objectType": "AzureBackupParams", "backupType": "Incremental"},
                 "dataStore": store,
                 "trigger": {"objectType": "ScheduleBasedTriggerContext",
                             "schedule": {"repeatingTimeIntervals": [format!("R/2026-01-01T00:00:00+00:00/{period}")]},
                             "taggingCriteria": [{"isDefault": true, "taggingPriority": 99, "tagInfo": {"tagName": "Default"}}]}},
                {"objectType": "AzureRetentionRule", "name": "Default", "isDefault": true,
                 "lifecycles": [{"deleteAfter": {"objectType": "AbsoluteDeleteOption", "duration": format!("P{days}D")},
                                 "sourceDataStore": store}]},
            ],
        }}),
    )
    .await;
}

/// A disk of rg-Data protected by `policy`, snapshots in rg-Snapshots, under the instance name
/// the portal gives (`{disk}-{disk}-{guid}`).
async fn protect_disk(client: &azprotect::azure::ArmClient, vault: &str, disk: &str, policy: &str) {
    let id = disk_id(disk);
    put(
        client,
        format!(
            "{vault}/backupInstances/{disk}-{disk}-{}?api-version={}",
            uuid::Uuid::new_v4(),
            api::DATA_PROTECTION
        ),
        json!({"properties": {
            "objectType": "BackupInstance",
            "friendlyName": disk,
            "dataSourceInfo": {
                "datasourceType": "Microsoft.Compute/disks", "objectType": "Datasource",
                "resourceID": id, "resourceLocation": "westeurope", "resourceName": disk,
                "resourceType": "Microsoft.Compute/disks", "resourceUri": id,
            },
            "policyInfo": {
                "policyId": format!("{vault}/backupPolicies/{policy}"),
                "policyParameters": {"dataStoreParametersList": [{
                    "objectType": "AzureOperationalStoreParameters", "dataStoreType": "OperationalStore",
                    "resourceGroupId": rg("rg-Snapshots"),
                }]},
            },
        }}),
    )
    .await;
}

/// A Backup vault, a disk policy named as a person names one in the portal (no `-{hash}`
/// suffix, which azprotect's own policies carry), the vault identity's two roles, and a disk
/// protected by that policy, all made with raw PUTs: the export names the policy as Azure has
/// it, and the plan adopts it instead of planning a copy.
#[tokio::test(flavor = "multi_thread")]
async fn a_disk_backup_estate_made_through_the_api_exports_and_plans_empty() {
    let (estate, client, vault) = disk_api_estate(&["Ledger-Data"]).await;
    put_disk_policy(&client, &vault, "Nightly-Disks", "PT4H", 7).await;
    protect_disk(&client, &vault, "Ledger-Data", "Nightly-Disks").await;
    let text = export_plans_empty(&estate, "adopted.yaml", &[]).await;
    contains_all(
        &text,
        &[
            "disk_backup:\n",
            "  bv-Ledger:\n    resource_group: rg-Backup\n",
            // The policy keeps the name it has in Azure.
            "      Nightly-Disks: {every: 4h, retention: 7d}\n",
            "      - policy: Nightly-Disks\n        snapshot_resource_group: rg-Snapshots\n        disks:\n          - rg-Data/Ledger-Data\n",
        ],
    );
    // The roles made through the API are the ones the file would grant.
    assert!(!text.contains("grant_permissions"), "{text}");

    // Other settings under that name are a new version, as for azprotect's own policies (Azure
    // cannot update a disk policy): the portal's policy is not adopted, a hashed one is created.
    let changed = estate.path("changed.yaml");
    std::fs::write(
        &changed,
        text.replace(
            "Nightly-Disks: {every: 4h, retention: 7d}",
            "Nightly-Disks: {every: 4h, retention: 14d}",
        ),
    )
    .unwrap();
    let plan = estate
        .run(&["plan", "-f", &changed, "--format", "json"])
        .await;
    let json = plan.json();
    let created = json["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .find(|c| c["address"] == "disk_policy.bv-Ledger/Nightly-Disks" && c["action"] == "create")
        .unwrap_or_else(|| panic!("a new policy version: {}", plan.stdout));
    let id = created["arm_id"].as_str().unwrap_or_default();
    assert!(
        id.contains("/backupPolicies/Nightly-Disks-")
            && id.len() > id.find("Nightly-Disks-").unwrap() + 14,
        "{id}"
    );
}

/// Portal policies whose names end like azprotect's `-{hash}` (`backup-abcdef`, in use, and
/// `nightly-202401`) keep their names, and two versions of azprotect's own `daily` (each named
/// with the hash of its settings, as an apply that changed the policy leaves them) are two
/// entries: the one disks use is `daily`, the other keeps its ARM name. The file plans empty:
/// no policy is copied, deleted or moved to.
#[tokio::test(flavor = "multi_thread")]
async fn disk_policies_that_only_look_like_azprotect_s_keep_their_names() {
    use azprotect::model::disk_backup::policy::arm_name;
    let (estate, client, vault) = disk_api_estate(&["Ledger-Data", "Ledger-Logs"]).await;
    put_disk_policy(&client, &vault, "backup-abcdef", "PT4H", 7).await;
    put_disk_policy(&client, &vault, "nightly-202401", "P1D", 30).await;
    let settings = |days: &str| json!({"every": "1d", "retention": days, "start": "00:00"});
    let (old_daily, daily) = (
        arm_name("daily", &settings("14d")),
        arm_name("daily", &settings("30d")),
    );
    put_disk_policy(&client, &vault, &old_daily, "P1D", 14).await;
    put_disk_policy(&client, &vault, &daily, "P1D", 30).await;
    protect_disk(&client, &vault, "Ledger-Data", "backup-abcdef").await;
    protect_disk(&client, &vault, "Ledger-Logs", &daily).await;

    let text = export_plans_empty(&estate, "adopted.yaml", &[]).await;
    contains_all(
        &text,
        &[
            "      backup-abcdef: {every: 4h, retention: 7d}\n",
            "      daily: {every: 1d, retention: 30d}\n",
            &format!("      {old_daily}: {{every: 1d, retention: 14d}}\n"),
            "      nightly-202401: {every: 1d, retention: 30d}\n",
            "      - policy: backup-abcdef\n        snapshot_resource_group: rg-Snapshots\n        disks:\n          - rg-Data/Ledger-Data\n",
            "      - policy: daily\n        snapshot_resource_group: rg-Snapshots\n        disks:\n          - rg-Data/Ledger-Logs\n",
        ],
    );
    assert!(!text.contains("      backup: "), "{text}");
    assert!(!text.contains("      nightly: "), "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_exported_file_reads_as_a_person_would_write_it() {
    let estate = api_estate().await;
    let run = estate.run(&["export"]).await;
    run.expect_code(0);
    let mut s = insta::Settings::clone_current();
    s.add_filter(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", "[time]");
    s.add_filter(r"https://127\.0\.0\.1:\d+", "[sandbox]");
    s.bind(|| insta::assert_snapshot!("api_estate_export", run.stdout));
}

#[tokio::test(flavor = "multi_thread")]
async fn filters_narrow_the_export_and_an_unknown_vault_is_named() {
    let (estate, _) = applied(
        fast(Some("examples/inventories/multi-vault.yaml")),
        "multi-vault.yaml",
        &read_example("multi-vault.yaml"),
    )
    .await;
    let neu = export_plans_empty(&estate, "neu.yaml", &["--vault", "rsv-prod-neu"]).await;
    assert!(
        neu.contains("rsv-prod-neu:") && !neu.contains("rsv-prod-weu"),
        "{neu}"
    );
    let weu =
        export_plans_empty(&estate, "weu.yaml", &["--resource-group", "RG-PROTECT-WEU"]).await;
    assert!(
        weu.contains("rsv-prod-weu:") && !weu.contains("rsv-prod-neu"),
        "{weu}"
    );

    let unknown = estate.run(&["export", "--vault", "rsv-nope"]).await;
    unknown.expect_code(1);
    let err = support::estate::flat(&unknown.stderr);
    assert!(
        err.contains("no Recovery Services or Backup vault named `rsv-nope` in subscription 00000000-0000-0000-0000-000000000001"),
        "{err}"
    );
    let empty = estate
        .run(&["export", "--resource-group", "rg-empty"])
        .await;
    empty.expect_code(1);
    assert!(
        support::estate::flat(&empty.stderr).contains(
            "no Recovery Services or Backup vault in subscription 00000000-0000-0000-0000-000000000001, resource group(s) rg-empty"
        ),
        "{}",
        empty.stderr
    );

    // -o never overwrites without --force.
    let again = estate
        .run(&["export", "-o", &estate.path("neu.yaml")])
        .await;
    again.expect_code(1);
    assert!(
        again
            .stderr
            .contains("exists; export does not overwrite it"),
        "{}",
        again.stderr
    );
    assert!(again.stderr.contains("--force"), "{}", again.stderr);
    estate
        .run(&["export", "-o", &estate.path("neu.yaml"), "--force"])
        .await
        .expect_code(0);
    let all = std::fs::read_to_string(estate.path("neu.yaml")).unwrap();
    assert!(
        all.contains("rsv-prod-weu:") && all.contains("rsv-prod-neu:"),
        "{all}"
    );
}

/// Every piece is in the exported text (which is printed when one is missing).
fn contains_all(text: &str, pieces: &[&str]) {
    for piece in pieces {
        assert!(text.contains(piece), "missing {piece:?} in:\n{text}");
    }
}
