//! Two applies never change the same vault at once: apply leases each vault it writes (the
//! `azprotect-lease` tag, through ARM's Tags API), says who holds a vault it cannot get, waits
//! for it with `--lock-timeout`, takes over a lease its holder left behind, and releases its
//! own when it ends. Each story runs the real binary against the sandbox over HTTPS.

mod support;

use azprotect::azure::ArmClient;
use azprotect::model::lease::{self, Lease};
use azprotect::model::ArmId;
use azprotect::sandbox::{Latency, SandboxOptions};
use std::time::Duration;
use support::estate::{flat, read_quickstart, Estate};
use time::OffsetDateTime;

const VAULT: &str = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-protect-weu/providers/Microsoft.RecoveryServices/vaults/rsv-prod-weu";

fn vault() -> ArmId {
    ArmId::new(VAULT)
}

/// The quickstart with the gold policy's daily retention set to `days`.
fn gold_daily(days: u32) -> String {
    let q = read_quickstart();
    assert!(
        q.contains("daily: 30d"),
        "the quickstart keeps 30 daily points"
    );
    q.replacen("daily: 30d", &format!("daily: {days}d"), 1)
}

/// The lease tag the vault carries now, if any.
async fn lease_tag(client: &ArmClient) -> Option<String> {
    let answer = client
        .execute(&lease::read_request(&vault()))
        .await
        .expect("tags read")
        .expect("a body");
    lease::value_in_answer(&answer).map(str::to_string)
}

/// Another apply's lease, written as it would write it.
async fn hold(client: &ArmClient, owner: &str, until_in: time::Duration) -> Lease {
    hold_as(client, owner, until_in, "0therapply00").await
}

/// [`hold`], with the lease id `id`.
async fn hold_as(client: &ArmClient, owner: &str, until_in: time::Duration, id: &str) -> Lease {
    let now = OffsetDateTime::now_utc();
    let l = Lease {
        owner: owner.into(),
        since: now - time::Duration::minutes(1),
        until: now + until_in,
        id: id.into(),
    };
    client
        .execute(&lease::merge_request(&vault(), &l.value()))
        .await
        .expect("lease written");
    l
}

/// `apply -f file --auto-approve --lock-timeout 1m`: waits up to a minute for a held vault.
fn waiting_apply(file: &str) -> [&str; 6] {
    [
        "apply",
        "-f",
        file,
        "--auto-approve",
        "--lock-timeout",
        "1m",
    ]
}

/// Apply `file` (leasing, by default) to the end; no lease is left.
async fn applies_and_releases(estate: &Estate, client: &ArmClient, file: &str) {
    estate
        .run(&["apply", "-f", file, "--auto-approve"])
        .await
        .expect_code(0);
    assert_eq!(lease_tag(client).await, None, "apply released its lease");
}

/// The quickstart applied: the vault exists and is not leased.
async fn applied_estate(opts: SandboxOptions) -> (Estate, ArmClient, String) {
    let estate = Estate::start_with(opts).await;
    let file = estate.write("azprotect.yaml", &read_quickstart());
    let client = estate.client().await;
    applies_and_releases(&estate, &client, &file).await;
    (estate, client, file)
}

/// The quickstart applied, then another apply's lease on the vault (`bob@ci-runner-7`, until
/// `until_in` from now), and a file that changes the vault (gold keeps 45 daily points).
async fn held_by_another(until_in: time::Duration) -> (Estate, ArmClient, Lease, String) {
    let (estate, client, _) = applied_estate(SandboxOptions::default()).await;
    let theirs = hold(&client, "bob@ci-runner-7 (pid 4242)", until_in).await;
    let file = estate.write("longer.yaml", &gold_daily(45));
    (estate, client, theirs, file)
}

#[tokio::test]
async fn an_apply_refuses_a_vault_another_apply_holds_and_says_who_and_until_when() {
    let (estate, client, theirs, file) = held_by_another(time::Duration::minutes(2)).await;
    let run = estate.run(&["apply", "-f", &file, "--auto-approve"]).await;
    run.expect_code(1);
    let said = flat(&run.stderr);
    assert!(
        said.contains(&format!(
            "recovery_vault.rsv-prod-weu is being changed by another apply: {}; nothing was applied",
            theirs.describe()
        )) && said.contains("--lock-timeout"),
        "{}",
        run.stderr
    );
    // Nothing was applied, and their lease is theirs still; plan warns that it reads a vault
    // mid-apply.
    let plan = estate.run(&["plan", "-f", &file]).await;
    assert!(plan.stdout.contains("1 to update"), "{}", plan.stdout);
    assert!(
        flat(&plan.stderr).contains(&format!(
            "recovery_vault.rsv-prod-weu is being changed by another apply: {}",
            theirs.describe()
        )),
        "{}",
        plan.stderr
    );
    assert_eq!(lease_tag(&client).await, Some(theirs.value()));
}

#[tokio::test]
async fn with_a_lock_timeout_apply_waits_for_the_other_apply_to_end() {
    let (estate, client, theirs, file) = held_by_another(time::Duration::minutes(2)).await;
    // They end in two seconds and release their lease.
    let release = {
        let client = client.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(2)).await;
            client
                .execute(&lease::delete_request(&vault(), &theirs.value()))
                .await
                .expect("released");
        })
    };
    let run = estate.run(&waiting_apply(&file)).await;
    release.await.unwrap();
    run.expect_code(0);
    assert!(
        run.stderr.contains("waiting for it") || run.stdout.contains("waiting for it"),
        "the wait is said: {}\n{}",
        run.stdout,
        run.stderr
    );
    estate.expect_no_changes(&file).await;
    assert_eq!(lease_tag(&client).await, None, "released when done");
}

#[tokio::test]
async fn an_apply_that_waited_for_the_lease_stops_if_the_other_apply_changed_what_it_planned() {
    let (estate, client, theirs, file) = held_by_another(time::Duration::minutes(2)).await;
    // The other apply writes its own change (gold keeps 50 daily points), then releases.
    let other = estate.write("other.yaml", &gold_daily(50));
    let theirs_ends = async {
        tokio::time::sleep(Duration::from_secs(2)).await;
        estate
            .run(&["apply", "-f", &other, "--auto-approve", "--no-lock"])
            .await
            .expect_code(0);
        client
            .execute(&lease::delete_request(&vault(), &theirs.value()))
            .await
            .expect("released");
    };
    let ours = waiting_apply(&file);
    let (run, ()) = tokio::join!(estate.run(&ours), theirs_ends);
    assert_ne!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(
        flat(&run.stderr).contains("Azure changed since this plan was made"),
        "read again once leased, it sees the other apply's change: {}",
        run.stderr
    );
    // Nothing of ours was written over theirs, and our lease is given back.
    estate.expect_no_changes(&other).await;
    assert_eq!(lease_tag(&client).await, None);
}

#[tokio::test]
async fn a_lease_left_by_a_killed_apply_is_taken_over_once_expired_or_when_its_process_is_gone() {
    // Expired a second ago: its holder stopped renewing it.
    let (estate, client, _, file) = held_by_another(time::Duration::seconds(-1)).await;
    applies_and_releases(&estate, &client, &file).await;
    // Unexpired, but held by a process of this host that no longer runs (kill -9).
    if cfg!(target_os = "linux") {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
        let host = std::env::var("HOSTNAME").unwrap_or(host);
        let owner = format!("alice@{} (pid 999999999)", host.trim());
        // Its id says it ran on this kernel, in this pid namespace (as ours do).
        let id = format!("{}d3adbeef", azprotect::apply::lease::this_process());
        hold_as(&client, &owner, time::Duration::minutes(2), &id).await;
        let file = estate.write("longest.yaml", &gold_daily(60));
        applies_and_releases(&estate, &client, &file).await;
    }
}

#[tokio::test]
async fn a_vault_update_keeps_the_other_tags_and_leaves_no_lease_behind() {
    // A tag change is a PATCH with every tag of the vault; while apply runs it carries the lease
    // (unit-tested in `apply::lease`), and nothing of it is left when apply ends.
    let (estate, client, _) = applied_estate(SandboxOptions::default()).await;
    let retagged = read_quickstart().replacen(
        "tags: {managed-by: azprotect}",
        "tags: {managed-by: azprotect, cost-center: \"42\"}",
        1,
    );
    let file = estate.write("retagged.yaml", &retagged);
    let run = estate.run(&["apply", "-f", &file, "--auto-approve"]).await;
    run.expect_code(0);
    assert!(
        run.stdout.contains("~ recovery_vault.rsv-prod-weu"),
        "{}",
        run.stdout
    );
    let read = azprotect::model::ArmRequest::new(
        azprotect::model::Method::Get,
        format!("{VAULT}?api-version=2026-02-01"),
        None,
    );
    let v = client.execute(&read).await.unwrap().unwrap();
    assert_eq!(v["tags"]["cost-center"], "42", "{v}");
    assert!(lease::value_in(&v["tags"]).is_none(), "released: {v}");
    estate.expect_no_changes(&file).await;
}

#[tokio::test]
async fn two_applies_of_different_files_at_once_do_not_both_report_success() {
    // Slow enough ARM that the two applies overlap.
    let (estate, client, _) = applied_estate(SandboxOptions {
        latency: Some(Latency {
            median: Duration::from_millis(40),
            sigma: 0.0,
            seed: 1,
        }),
        ..SandboxOptions::default()
    })
    .await;
    let (a, b) = (
        estate.write("a.yaml", &gold_daily(45)),
        estate.write("b.yaml", &gold_daily(50)),
    );
    let (args_a, args_b) = (
        ["apply", "-f", a.as_str(), "--auto-approve"],
        ["apply", "-f", b.as_str(), "--auto-approve"],
    );
    let (ra, rb) = tokio::join!(estate.run(&args_a), estate.run(&args_b));
    let won: Vec<&str> = [(&ra, &a), (&rb, &b)]
        .iter()
        .filter(|(r, _)| r.code == 0)
        .map(|(_, f)| f.as_str())
        .collect();
    assert_eq!(
        won.len(),
        1,
        "exactly one wins:\nA: {}{}\nB: {}{}",
        ra.stdout,
        ra.stderr,
        rb.stdout,
        rb.stderr
    );
    let lost = if ra.code == 0 { &rb } else { &ra };
    assert!(
        flat(&lost.stderr).contains("is being changed by another apply")
            || flat(&lost.stderr).contains("Azure changed since this plan was made"),
        "the other says why: {}",
        lost.stderr
    );
    // Azure holds the winner's file exactly, and no lease is left.
    estate
        .run(&["plan", "-f", won[0], "--detailed-exitcode"])
        .await
        .expect_code(0);
    assert_eq!(lease_tag(&client).await, None);
}

#[tokio::test]
async fn no_lock_applies_without_touching_the_lease() {
    let (estate, client, theirs, file) = held_by_another(time::Duration::minutes(2)).await;
    estate
        .run(&["apply", "-f", &file, "--auto-approve", "--no-lock"])
        .await
        .expect_code(0);
    assert_eq!(lease_tag(&client).await, Some(theirs.value()));
    // The lease is bookkeeping: plan does not show it as a tag change.
    estate.expect_no_changes(&file).await;
}
