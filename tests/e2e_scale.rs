//! Estate scale, end to end through the real binary and the sandbox's access log:
//! - a plan of a 2,000-VM generated estate issues no more requests than its pages predict, and
//!   reads nothing twice;
//! - an apply of a few hundred protections under ARM throttling, against a sandbox whose write
//!   bucket is smaller than ARM's, paces itself with the client's rate limiter: zero 429s.

mod support;

use azprotect::sandbox::{BucketLimit, SandboxOptions, ThrottleLimits};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;
use support::estate::{Estate, Run};

const SUB: &str = "00000000-0000-0000-0000-000000000001";

/// One vault per resource group (`rsv-NN` in `rg-gen-NNN`) protecting that group's VMs; only
/// the first `protected` groups get the `protect` block.
fn config(groups: usize, protected: usize) -> String {
    let mut y = format!("version: 1\nsubscription: {SUB}\nrecovery_vaults:\n");
    for r in 0..groups {
        y += &format!(
            "  rsv-{r:02}:\n    resource_group: rg-gen-{r:03}\n    location: westeurope\n    storage_redundancy: LocallyRedundant\n    backup_policies:\n      daily: {{tier: standard, schedule: {{daily: {{at: \"23:00\"}}}}, instant_restore_days: 2, retention: {{daily: 14d}}}}\n"
        );
        if r < protected {
            y += &format!(
                "    protect:\n      - policy: daily\n        select: {{resource_groups: [rg-gen-{r:03}]}}\n"
            );
        }
    }
    y
}

/// A sandbox seeded with `vms` VMs spread round-robin over `groups` resource groups
/// (`rg-gen-NNN`, West Europe).
async fn start(vms: usize, groups: usize, mut opts: SandboxOptions) -> Estate {
    let seed = tempfile::tempdir().unwrap();
    let inv = seed.path().join("inventory.yaml");
    std::fs::write(
        &inv,
        format!(
            "subscriptions:\n  {SUB}: {{}}\ngenerate: {{vms: {vms}, resource_groups: {groups}}}\n"
        ),
    )
    .unwrap();
    opts.inventory = Some(inv);
    Estate::start_with(opts).await
}

/// Run the binary against the estate's sandbox with extra environment variables.
async fn run_with(estate: &Estate, env: &[(&str, &str)], args: &[&str]) -> Run {
    let ca = estate.dir.path().join("scale-ca.pem");
    std::fs::write(&ca, estate.sandbox.ca_cert_pem()).unwrap();
    let ca = ca.display().to_string();
    let mut all = vec![("AZPROTECT_CA_CERT", ca.as_str())];
    all.extend_from_slice(env);
    support::estate::run_on(&estate.sandbox, &all, args).await
}

/// The access log's lines: (method, path, status). The log has no query, so `$skipToken` pages
/// of one list share a path.
fn access_log(path: &Path) -> Vec<(String, String, u16)> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (
                v["method"].as_str().unwrap().to_string(),
                v["path"].as_str().unwrap().to_string(),
                v["status"].as_u64().unwrap() as u16,
            )
        })
        .collect()
}

fn pages(items: usize, page_size: usize) -> usize {
    items.div_ceil(page_size).max(1)
}

#[tokio::test(flavor = "multi_thread")]
async fn plan_of_2000_vms_costs_its_pages() {
    const VMS: usize = 2000;
    const GROUPS: usize = 20;
    const PAGE: usize = 30; // non-backup lists (groups, vaults, VMs)
    const BACKUP_PAGE: usize = 40; // backup lists (policies, protected items)
    const PROTECTED_GROUPS: usize = 2;
    let log = tempfile::tempdir().unwrap();
    let log_path = log.path().join("access.log");
    let estate = start(
        VMS,
        GROUPS,
        SandboxOptions {
            time_scale: 0.0,
            access_log: Some(log_path.clone()),
            ..SandboxOptions::default()
        },
    )
    .await;
    estate.sandbox.set_page_size(PAGE);
    estate.sandbox.set_backup_page_size(BACKUP_PAGE);

    // Converge part of the estate: 20 vaults with their policy, two groups' VMs protected.
    let partial = estate.write("partial.yaml", &config(GROUPS, PROTECTED_GROUPS));
    run_with(
        &estate,
        &[],
        &[
            "apply",
            "-f",
            &partial,
            "--auto-approve",
            "--parallelism",
            "20",
        ],
    )
    .await
    .expect_code(0);

    std::fs::write(&log_path, "").unwrap();
    let full = estate.write("full.yaml", &config(GROUPS, GROUPS));
    let t0 = Instant::now();
    let plan = run_with(&estate, &[], &["plan", "-f", &full, "--format", "json"]).await;
    plan.expect_code(0);
    let wall = t0.elapsed();
    let created = plan.json()["summary"]["create"].as_u64().unwrap() as usize;
    assert_eq!(
        created,
        VMS - PROTECTED_GROUPS * VMS / GROUPS,
        "{}",
        plan.stdout
    );

    // The prediction, from counts and page sizes.
    let per_group = VMS / GROUPS;
    let policies_per_vault = 4; // `daily` + the three built-ins every new vault gets
    let predicted = pages(GROUPS, PAGE) // resource groups
        + pages(GROUPS, PAGE) // vaults
        + GROUPS * pages(per_group, PAGE) // VMs, one list per group (20 ≤ MAX_GROUP_LISTS)
        + GROUPS * pages(policies_per_vault, BACKUP_PAGE)
        + PROTECTED_GROUPS * pages(per_group, BACKUP_PAGE)
        + (GROUPS - PROTECTED_GROUPS) * pages(0, BACKUP_PAGE);
    // No backupconfig/vaultconfig GET (where soft delete lives, FACTS §3): the file sets no
    // soft_delete and the plan deletes no backup data, so the plan does not consult it.
    let requests = access_log(&log_path);
    let arm: Vec<_> = requests
        .iter()
        .filter(|(_, p, _)| p.starts_with("/subscriptions/"))
        .collect();
    assert!(
        arm.len() <= predicted,
        "{} ARM requests, predicted {predicted}:\n{arm:#?}",
        arm.len()
    );
    assert!(
        arm.iter().all(|(m, _, s)| m == "GET" && *s == 200),
        "{arm:#?}"
    );
    // Nothing read twice: each list path is requested exactly as often as it has pages.
    let mut per_path: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, p, _) in &arm {
        *per_path.entry(p.as_str()).or_default() += 1;
    }
    for (p, n) in &per_path {
        let expected = if p.ends_with("/virtualMachines") {
            pages(per_group, PAGE)
        } else if p.ends_with("/backupProtectedItems")
            && (p.contains("/vaults/rsv-00/") || p.contains("/vaults/rsv-01/"))
        {
            pages(per_group, BACKUP_PAGE)
        } else {
            1
        };
        assert_eq!(*n, expected, "{p} read {n} times");
    }
    eprintln!(
        "plan of {VMS} VMs: {} ARM requests (predicted {predicted}), {wall:?}",
        arm.len()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn apply_under_arm_throttling_has_no_429() {
    const VMS: usize = 200;
    const GROUPS: usize = 4;
    // The sandbox's write bucket is smaller than the 200 the client assumes: the client learns
    // it from `x-ms-ratelimit-remaining-subscription-writes` and paces at the refill rate.
    const WRITE_BURST: f64 = 120.0;
    let log = tempfile::tempdir().unwrap();
    let log_path = log.path().join("access.log");
    let estate = start(
        VMS,
        GROUPS,
        SandboxOptions {
            time_scale: 0.001,
            throttle: true,
            throttle_limits: ThrottleLimits {
                writes: BucketLimit {
                    burst: WRITE_BURST,
                    per_second: 10.0,
                },
                ..ThrottleLimits::default()
            },
            access_log: Some(log_path.clone()),
            ..SandboxOptions::default()
        },
    )
    .await;
    // One vault protecting every group.
    let mut y = format!("version: 1\nsubscription: {SUB}\nrecovery_vaults:\n  rsv:\n    resource_group: rg-gen-000\n    location: westeurope\n    storage_redundancy: LocallyRedundant\n    backup_policies:\n      daily: {{tier: standard, schedule: {{daily: {{at: \"23:00\"}}}}, instant_restore_days: 2, retention: {{daily: 14d}}}}\n    protect:\n");
    for r in 0..GROUPS {
        y += &format!(
            "      - policy: daily\n        select: {{resource_groups: [rg-gen-{r:03}]}}\n"
        );
    }
    let cfg = estate.write("estate.yaml", &y);
    let t0 = Instant::now();
    let run = run_with(
        &estate,
        &[("AZPROTECT_LOG", "azprotect::ratelimit=debug")],
        &["apply", "-f", &cfg, "--auto-approve", "--parallelism", "20"],
    )
    .await;
    run.expect_code(0);
    let wall = t0.elapsed();
    let log = access_log(&log_path);
    let throttled: Vec<_> = log.iter().filter(|(_, _, s)| *s == 429).collect();
    assert!(throttled.is_empty(), "429s: {throttled:#?}");
    let writes = log
        .iter()
        .filter(|(m, p, _)| m != "GET" && m != "DELETE" && p.starts_with("/subscriptions/"))
        .count();
    assert!(writes >= VMS + 2, "{writes} writes");
    // More writes than the server's bucket holds, and no 429: the client paced them. Its log
    // says it was the limiter that waited.
    assert!(writes as f64 > WRITE_BURST);
    let waits = run.stderr.matches("rate limiter waited").count();
    assert!(waits > 0, "the limiter never waited:\n{}", run.stderr);
    let bound = (writes as f64 - WRITE_BURST) / 10.0;
    assert!(
        wall.as_secs_f64() >= bound * 0.9,
        "{wall:?} is faster than the bucket allows ({bound} s)"
    );
    eprintln!(
        "apply of {VMS} protections: {} requests, {writes} writes, {waits} limiter waits, {wall:?} (bucket bound {bound:.1} s)",
        log.len()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_vault_past_the_1000_vms_azure_backup_allows_is_blocked_at_plan_time() {
    // 1,003 VMs in one resource group, all selected for one vault: the plan protects the first
    // 1,000 (in address order) and blocks the other three with the reason.
    let estate = start(
        1003,
        1,
        SandboxOptions {
            time_scale: 0.0,
            ..SandboxOptions::default()
        },
    )
    .await;
    let file = estate.write("one-vault.yaml", &config(1, 1));
    let plan = run_with(&estate, &[], &["plan", "-f", &file, "--format", "json"]).await;
    plan.expect_code(0);
    let json = plan.json();
    let blocked: Vec<&Value> = json["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["blocked"].is_string())
        .collect();
    let addresses: Vec<&str> = blocked
        .iter()
        .map(|c| c["address"].as_str().unwrap())
        .collect();
    assert_eq!(
        addresses,
        [
            "protected_vm.rsv-00/rg-gen-000/vm-1000",
            "protected_vm.rsv-00/rg-gen-000/vm-1001",
            "protected_vm.rsv-00/rg-gen-000/vm-1002"
        ],
        "{}",
        plan.stdout
    );
    assert!(
        blocked[0]["blocked"].as_str().unwrap().contains(
            "vault rsv-00 would protect 1003 VMs: Azure Backup protects at most 1000 VMs in one vault"
        ),
        "{}",
        blocked[0]
    );
}
