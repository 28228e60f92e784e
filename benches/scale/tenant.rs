//! The tenant scenario of `cargo bench --bench scale -- --tenant` (issue 14): a landing zone of
//! 100 subscriptions × 2 regions, one Recovery Services vault per subscription and region (200
//! vaults, one policy each, a selector picking the region's resource group), 100,000 protected
//! VMs. Against `sandbox serve --throttle arm` (ARM's buckets per subscription and Resource
//! Graph's 15 queries per 5 s) with latency, it measures:
//! - `plan` with `--discovery resource-graph`, `lists` and `auto`, and the per-resource
//!   baseline (one GET per managed resource at parallelism 10, on a sample, extrapolated);
//! - `plan --target subscription.<first>`: one subscription's part;
//! - `plan --shard I/4` for I = 1..4 against the unsharded plan;
//! - the apply of 10,000 new protections spread over the 100 subscriptions, against the bound
//!   their write quotas set together.
//!
//! The converged estate is set up by an unthrottled `apply` (not measured, its time printed).

use super::{
    apply_json, converge, plan_converged, print_apply, run, set_up, timing, write_bound, ApplyRow,
    Options, Served, SUB,
};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub const SUBS: u32 = 100;

/// The subscription `i` of the landing zone (the sandbox's generated ids after the first).
fn sub(i: u32) -> String {
    match i {
        0 => SUB.to_string(),
        i => format!("00000000-0000-0000-0001-{i:012}"),
    }
}

/// `vms` VMs over the 100 subscriptions; each subscription has `rg-gen-000` in West Europe
/// and (with two regions) `rg-gen-001` in North Europe.
fn inventory(dir: &Path, vms: usize, regions: &[&str]) -> PathBuf {
    let p = dir.join("tenant-inventory.yaml");
    let text = format!(
        "subscriptions:\n  {SUB}: {{name: Landing zone 0}}\ngenerate:\n  vms: {vms}\n  subscriptions: {SUBS}\n  resource_groups: {}\n  locations: [{}]\n  tags: {{backup: [gold]}}\n",
        regions.len(),
        regions.join(", ")
    );
    std::fs::write(&p, text).expect("inventory");
    p
}

/// A vault per subscription and region, `protect`ing the region's group when asked.
fn config(dir: &Path, name: &str, regions: &[&str], protect: bool) -> PathBuf {
    let mut y = format!("version: 1\nsubscription: {SUB}\nresource_groups:\n");
    for i in 0..SUBS {
        y.push_str(&format!(
            "  rg-protect-{i:03}: {{location: westeurope, subscription: {}}}\n",
            sub(i)
        ));
    }
    y.push_str("recovery_vaults:\n");
    for i in 0..SUBS {
        for (r, region) in regions.iter().enumerate() {
            y.push_str(&format!(
                "  rsv-{i:03}-{region}:\n    subscription: {}\n    resource_group: rg-protect-{i:03}\n    location: {region}\n    backup_policies:\n      gold: {{schedule: {{daily: {{at: \"23:00\"}}}}, retention: {{daily: 30d}}}}\n",
                sub(i)
            ));
            if protect {
                y.push_str(&format!(
                    "    protect:\n      - policy: gold\n        select: {{resource_groups: [rg-gen-{r:03}], tags: {{backup: gold}}}}\n"
                ));
            }
        }
    }
    let p = dir.join(name);
    std::fs::write(&p, y).expect("config");
    p
}

/// One measured `plan`.
pub struct PlanRun {
    pub label: String,
    pub requests: usize,
    pub graph: usize,
    pub throttled: usize,
    pub wall: Duration,
    pub diff_render_ms: f64,
    pub peak_rss_mb: f64,
}

fn plan(served: &Served, file: &str, label: &str, extra: &[&str]) -> PlanRun {
    let before = served.counts_split();
    let lines = served.log_lines();
    let ran = plan_converged(served, file, label, extra);
    let after = served.counts_split();
    eprintln!("scale: tenant {label}: {:.1} s", ran.wall.as_secs_f64());
    for (shape, n) in served.shapes_since(lines).iter().take(8) {
        eprintln!("scale:   {n:>6}  {shape}");
    }
    PlanRun {
        label: label.to_string(),
        requests: after.0 - before.0,
        graph: after.1 - before.1,
        throttled: after.2 - before.2,
        wall: ran.wall,
        diff_render_ms: timing(&ran.stderr, "diff") + timing(&ran.stderr, "render"),
        peak_rss_mb: ran.peak_rss_mb,
    }
}

#[derive(Default)]
pub struct TenantReport {
    pub vms: usize,
    pub resources: usize,
    pub setup: Duration,
    pub plans: Vec<PlanRun>,
    pub shards: Vec<PlanRun>,
    /// (sampled GETs, their wall, every how many, the estimate for all).
    pub baseline: Option<(usize, Duration, usize, Duration)>,
    pub apply: Option<ApplyRow>,
}

pub async fn measure(o: &Options) -> TenantReport {
    if o.tenant_apply_only {
        return TenantReport {
            vms: o.tenant_vms,
            apply: Some(measure_apply(o).await),
            ..Default::default()
        };
    }
    let dir = work_dir("tenant");
    let regions = ["westeurope", "northeurope"];
    let inv = inventory(dir.path(), o.tenant_vms, &regions);
    let file = config(dir.path(), "tenant.yaml", &regions, true);
    let file_s = file.display().to_string();
    // 1. converge, unthrottled (set-up, not measured)
    let started = Instant::now();
    let ids = converge(dir.path(), &inv, &file).await;
    let setup = started.elapsed();
    eprintln!("scale: tenant set up in {:.0} s", setup.as_secs_f64());
    // 2. plans under throttling and latency, each way of discovery, then the shards
    let served = Served::throttled(dir.path(), &inv, o.latency);
    let mut plans = Vec::new();
    for (label, how) in [
        ("resource-graph", "resource-graph"),
        ("lists", "lists"),
        ("auto", "auto"),
    ] {
        plans.push(plan(&served, &file_s, label, &["--discovery", how]));
        // Resource Graph's window resets between runs: each starts with a full quota.
        tokio::time::sleep(Duration::from_secs(6)).await;
    }
    // One subscription's part, as a rollout subscription by subscription plans it.
    let one = format!("subscription.{}", sub(0));
    plans.push(plan(
        &served,
        &file_s,
        "--target subscription (1 of 100)",
        &["--target", &one],
    ));
    tokio::time::sleep(Duration::from_secs(6)).await;
    let mut shards = Vec::new();
    for i in 1..=4 {
        let shard = format!("{i}/4");
        shards.push(plan(
            &served,
            &file_s,
            &format!("shard {shard}"),
            &["--shard", &shard],
        ));
        tokio::time::sleep(Duration::from_secs(6)).await;
    }
    // 3. the baseline on every n-th resource (one GET each, parallelism 10), extrapolated
    let every = (o.tenant_baseline_every > 0).then_some(o.tenant_baseline_every);
    let baseline = match every {
        Some(every) => {
            let sample: Vec<_> = ids.iter().step_by(every).cloned().collect();
            let wall = super::baseline(&served, &sample).await;
            let estimate = wall.mul_f64(ids.len() as f64 / sample.len() as f64);
            Some((sample.len(), wall, every, estimate))
        }
        None => None,
    };
    drop(served);
    let apply = match o.apply {
        true => Some(measure_apply(o).await),
        false => None,
    };
    TenantReport {
        vms: o.tenant_vms,
        resources: ids.len(),
        setup,
        plans,
        shards,
        baseline,
        apply,
    }
}

/// Whether `AZPROTECT_BENCH_KEEP` asks to keep the estates (state, inventory, files, access
/// logs) for profiling.
fn kept() -> bool {
    std::env::var_os("AZPROTECT_BENCH_KEEP").is_some()
}

/// A temporary directory for `what`, kept when [`kept`].
fn work_dir(what: &str) -> tempfile::TempDir {
    let mut dir = tempfile::tempdir().expect("temp dir");
    if kept() {
        dir.disable_cleanup(true);
        eprintln!("scale: {what} kept in {}", dir.path().display());
    }
    dir
}

/// 10,000 new protections, 100 per subscription, into vaults that exist.
async fn measure_apply(o: &Options) -> ApplyRow {
    const N: usize = 10_000;
    let dir = work_dir("tenant apply");
    let regions = ["westeurope"];
    let inv = inventory(dir.path(), N, &regions);
    let bare = config(dir.path(), "vaults.yaml", &regions, false);
    let file = config(dir.path(), "protect.yaml", &regions, true);
    let bare_s = bare.display().to_string();
    drop(set_up(dir.path(), &inv, &["--parallelism", "500"], &bare_s));
    if kept() {
        // the state before the measured apply, to serve again while profiling it
        std::fs::copy(
            dir.path().join("state.json"),
            dir.path().join("vaults-state.json"),
        )
        .expect("copy the state");
    }
    let served = Served::throttled(dir.path(), &inv, o.latency);
    let file_s = file.display().to_string();
    eprintln!("scale: tenant apply of {N} protections …");
    let ran = run(&served, &["apply", "-f", &file_s, "--auto-approve"], &[]);
    assert!(ran.ok, "apply failed:\n{}", ran.stderr);
    // The write quotas together: the protections are spread evenly, so each subscription's
    // share sets the bound (as the single-subscription row's).
    served.apply_row(N, ran.wall, write_bound(N as f64 / f64::from(SUBS)))
}

pub fn print(r: &TenantReport, latency: u64) {
    if !r.plans.is_empty() {
        print_plans(r, latency);
    }
    if let Some(a) = &r.apply {
        print_apply(&format!("over {SUBS} subscriptions"), a);
    }
}

/// The plans' table, the shards against the unsharded plan, and the baseline.
fn print_plans(r: &TenantReport, latency: u64) {
    println!(
        "\nPlan of a converged landing zone: {} VMs protected in {SUBS} subscriptions, {} vaults ({} managed resources; {latency} ms latency, ARM throttling per subscription, Resource Graph 15 queries / 5 s; set up unthrottled in {:.0} s)\n",
        r.vms,
        SUBS * 2,
        r.resources,
        r.setup.as_secs_f64()
    );
    println!(
        "| plan | requests (ARM + graph) | graph queries | 429s | wall | diff+render | peak RSS |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for p in r.plans.iter().chain(&r.shards) {
        println!(
            "| {} | {} | {} | {} | {:.2} s | {:.0} ms | {:.0} MB |",
            p.label,
            p.requests,
            p.graph,
            p.throttled,
            p.wall.as_secs_f64(),
            p.diff_render_ms,
            p.peak_rss_mb
        );
    }
    let sum_req: usize = r.shards.iter().map(|s| s.requests).sum();
    let sum_wall: f64 = r.shards.iter().map(|s| s.wall.as_secs_f64()).sum();
    let max_wall = r
        .shards
        .iter()
        .map(|s| s.wall.as_secs_f64())
        .fold(0.0, f64::max);
    if let Some(auto) = r.plans.iter().find(|p| p.label == "auto") {
        println!(
            "| 4 shards: sum (slowest) | {sum_req} | | | {sum_wall:.2} s ({max_wall:.2} s) | | |\n\nShards against the unsharded auto plan: requests {:.2}×, summed wall {:.2}×, slowest shard {:.2}×.",
            sum_req as f64 / auto.requests as f64,
            sum_wall / auto.wall.as_secs_f64(),
            max_wall / auto.wall.as_secs_f64()
        );
    }
    if let Some((n, wall, every, estimate)) = r.baseline {
        let fastest = r
            .plans
            .iter()
            .map(|p| p.wall.as_secs_f64())
            .fold(f64::MAX, f64::min);
        println!(
            "\nPer-resource baseline (one GET each, parallelism 10): {n} GETs (every {every}th resource) in {:.1} s → {:.0} s for all {} (extrapolated); speed-up of the fastest plan {:.0}×.",
            wall.as_secs_f64(),
            estimate.as_secs_f64(),
            r.resources,
            estimate.as_secs_f64() / fastest
        );
    }
}

pub fn json(r: &TenantReport) -> Value {
    let run = |p: &PlanRun| {
        json!({
            "label": p.label, "requests": p.requests, "graph_queries": p.graph,
            "throttled": p.throttled, "wall_s": p.wall.as_secs_f64(),
            "diff_render_ms": p.diff_render_ms, "peak_rss_mb": p.peak_rss_mb,
        })
    };
    json!({
        "vms": r.vms,
        "subscriptions": SUBS,
        "vaults": SUBS * 2,
        "resources": r.resources,
        "setup_s": r.setup.as_secs_f64(),
        "plans": r.plans.iter().map(run).collect::<Vec<_>>(),
        "shards": r.shards.iter().map(run).collect::<Vec<_>>(),
        "baseline": r.baseline.map(|(n, w, every, est)| json!({
            "sampled_gets": n, "sampled_wall_s": w.as_secs_f64(), "every": every,
            "estimated_wall_s": est.as_secs_f64(),
        })),
        "apply": r.apply.as_ref().map(apply_json),
    })
}
