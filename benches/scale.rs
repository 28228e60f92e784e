//! `cargo bench --bench scale` — azprotect at estate scale, against the sandbox over HTTPS, and
//! the per-resource reader (one GET per resource at parallelism 10: Terraform's refresh model)
//! measured in the same run, with the same client and the same sandbox.
//!
//! For each size (default 1,000 and 10,000 VMs in 20 resource groups, 20 Recovery Services
//! vaults, plus one Backup vault protecting the OS disks of one resource group in proportion):
//! 1. set up a converged estate (`azprotect apply` against an unthrottled sandbox);
//! 2. restart the sandbox on that state with ARM throttling and 50 ms latency, and time
//!    `azprotect plan` (ARM requests from the access log, wall time, diff + render time from
//!    `AZPROTECT_TIMINGS`, peak RSS of the process);
//! 3. read the same resources one GET each at parallelism 10 (the baseline).
//!
//! Then the apply of 1,000 new protections under ARM's write quota: wall time against the bound
//! `(1,000 − 200 burst) / 10 per s + one LRO round`, and the number of 429 responses.
//!
//! With `--tenant`, also the landing zone of issue 14 (`tenant`: 100,000 VMs in 100
//! subscriptions; `--tenant-only` runs only it).
//!
//! Prints a table and writes `target/bench/scale.json` (with `AZPROTECT_BENCH_SHAPES=1`, also
//! each estate plan's requests by path shape, on stderr). Options (after `--`):
//! `--sizes 1000,10000`, `--no-baseline-over N` (skip the baseline above N VMs), `--no-apply`,
//! `--latency MS` (default 50), `--tenant`, `--tenant-only`, `--tenant-vms N` (default
//! 100000), `--tenant-baseline-every N` (GET every N-th resource for the baseline, default 10;
//! 0 skips it), `--tenant-apply-only` (only the tenant's apply; with `AZPROTECT_BENCH_KEEP=1`
//! its directory is kept for profiling).

#[path = "scale/tenant.rs"]
mod tenant;

use azprotect::azure::{ArmClient, AuthChoice, ClientSettings, EnvCredentials};
use azprotect::model::{api, ResourceKind};
use futures::stream::{self, StreamExt};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_azprotect");
const SUB: &str = "00000000-0000-0000-0000-000000000001";
const VAULTS: usize = 20;
/// Simulated Azure durations are shrunk by this factor (LROs), ARM's buckets keep real time.
const TIME_SCALE: &str = "0.01";

struct Options {
    sizes: Vec<usize>,
    baseline_max: usize,
    apply: bool,
    latency: u64,
    tenant: bool,
    tenant_vms: usize,
    tenant_baseline_every: usize,
    /// Only the tenant's apply (profiling it).
    tenant_apply_only: bool,
}

fn options() -> Options {
    let mut o = Options {
        sizes: vec![1_000, 10_000],
        baseline_max: usize::MAX,
        apply: true,
        latency: 50,
        tenant: false,
        tenant_vms: 100_000,
        tenant_baseline_every: 10,
        tenant_apply_only: false,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        let next = || args.get(i + 1).cloned().unwrap_or_default();
        match args[i].as_str() {
            "--sizes" => {
                o.sizes = next().split(',').filter_map(|s| s.parse().ok()).collect();
                i += 1;
            }
            "--no-baseline-over" => {
                o.baseline_max = next().parse().unwrap_or(usize::MAX);
                i += 1;
            }
            "--latency" => {
                o.latency = next().parse().unwrap_or(50);
                i += 1;
            }
            "--no-apply" => o.apply = false,
            "--tenant" => o.tenant = true,
            "--no-tenant" => o.tenant = false,
            "--tenant-only" => {
                o.tenant = true;
                o.sizes.clear();
            }
            "--tenant-apply-only" => {
                o.tenant = true;
                o.tenant_apply_only = true;
                o.sizes.clear();
            }
            "--tenant-vms" => {
                o.tenant_vms = next().parse().unwrap_or(100_000);
                i += 1;
            }
            "--tenant-baseline-every" => {
                o.tenant_baseline_every = next().parse().unwrap_or(10);
                i += 1;
            }
            _ => {} // `--bench` and friends from cargo
        }
        i += 1;
    }
    o
}

/// A `sandbox serve` child process and the environment a client needs to reach it.
struct Served {
    child: Child,
    env: BTreeMap<String, String>,
    access_log: PathBuf,
}

impl Served {
    /// Served with ARM's throttling and `latency_ms` of latency: what every measured run faces.
    fn throttled(dir: &Path, inventory: &Path, latency_ms: u64) -> Served {
        let latency = latency_ms.to_string();
        Served::start(
            dir,
            inventory,
            &["--throttle", "arm", "--latency", &latency],
        )
    }

    fn start(dir: &Path, inventory: &Path, extra: &[&str]) -> Served {
        let env_file = dir.join("sandbox.env");
        let access_log = dir.join(format!("access-{}.log", unique()));
        let _ = std::fs::remove_file(&env_file);
        let mut args = vec![
            "sandbox".to_string(),
            "serve".into(),
            "--state".into(),
            dir.join("state.json").display().to_string(),
            "--inventory".into(),
            inventory.display().to_string(),
            "--listen".into(),
            "127.0.0.1:0".into(),
            "--env-file".into(),
            env_file.display().to_string(),
            "--access-log".into(),
            access_log.display().to_string(),
            "--time-scale".into(),
            TIME_SCALE.into(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        let child = Command::new(BIN)
            .args(&args)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("sandbox.stderr")).expect("stderr file"))
            .spawn()
            .expect("sandbox serve starts");
        let deadline = Instant::now() + Duration::from_secs(300);
        let env = loop {
            if let Ok(text) = std::fs::read_to_string(&env_file) {
                if text.contains("AZPROTECT_CA_CERT") {
                    break text
                        .lines()
                        .filter_map(|l| l.split_once('='))
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect();
                }
            }
            assert!(Instant::now() < deadline, "the sandbox did not start");
            std::thread::sleep(Duration::from_millis(50));
        };
        Served {
            child,
            env,
            access_log,
        }
    }

    /// ARM requests (not token requests) and 429 responses in the access log so far.
    fn counts(&self) -> (usize, usize) {
        let (all, _, throttled) = self.counts_split();
        (all, throttled)
    }

    /// ARM and Resource Graph requests, of them Resource Graph's, and 429s, so far.
    fn counts_split(&self) -> (usize, usize, usize) {
        count_split(&self.parsed_log())
    }

    /// The access log's lines so far, each one parsed.
    fn parsed_log(&self) -> Vec<Value> {
        let text = std::fs::read_to_string(&self.access_log).unwrap_or_default();
        text.lines()
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect()
    }
}

/// Of access-log `lines`: ARM and Resource Graph requests, of them Resource Graph's, and 429s.
fn count_split(lines: &[Value]) -> (usize, usize, usize) {
    let mut arm = 0;
    let mut graph = 0;
    let mut throttled = 0;
    for v in lines {
        // Case folded: Recovery Services' operation URLs, which apply polls, start
        // `/Subscriptions/` (as Azure writes them), and used to go uncounted.
        let path = v["path"].as_str().unwrap_or_default().to_ascii_lowercase();
        if path.starts_with("/subscriptions") || path.starts_with("/providers") {
            arm += 1;
            if path.contains("microsoft.resourcegraph") {
                graph += 1;
            }
            if v["status"] == 429 {
                throttled += 1;
            }
        }
    }
    (arm, graph, throttled)
}

impl Served {
    /// The ARM requests after the first `skip` lines of the access log, counted by shape (the
    /// path's resource types, names left out), most first: where a run's requests went.
    fn shapes_since(&self, skip: usize) -> Vec<(String, usize)> {
        let text = std::fs::read_to_string(&self.access_log).unwrap_or_default();
        let mut by: BTreeMap<String, usize> = BTreeMap::new();
        for line in text.lines().skip(skip) {
            let Ok(v) = serde_json::from_str::<Value>(line) else {
                continue;
            };
            let path = v["path"].as_str().unwrap_or_default().to_ascii_lowercase();
            if path.starts_with("/subscriptions") || path.starts_with("/providers") {
                *by.entry(shape(&path)).or_default() += 1;
            }
        }
        let mut out: Vec<_> = by.into_iter().collect();
        out.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        out
    }

    /// Lines in the access log so far (for [`Served::shapes_since`]).
    fn log_lines(&self) -> usize {
        std::fs::read_to_string(&self.access_log)
            .map(|t| t.lines().count())
            .unwrap_or(0)
    }

    async fn client(&self) -> ArmClient {
        let pem = std::fs::read(&self.env["AZPROTECT_CA_CERT"]).expect("CA file");
        ArmClient::new(ClientSettings {
            arm_endpoint: Some(self.env["AZPROTECT_ARM_ENDPOINT"].clone()),
            authority_host: Some(self.env["AZURE_AUTHORITY_HOST"].clone()),
            ca_cert_pem: Some(pem),
            auth: AuthChoice::ClientSecret,
            credentials: EnvCredentials {
                tenant_id: Some(self.env["AZURE_TENANT_ID"].clone()),
                client_id: Some(self.env["AZURE_CLIENT_ID"].clone()),
                client_secret: Some(self.env["AZURE_CLIENT_SECRET"].clone()),
                ..EnvCredentials::default()
            },
            ..ClientSettings::default()
        })
        .await
        .expect("client")
    }
}

impl Drop for Served {
    /// Stopped as a user stops it (SIGTERM, as Ctrl-C): a large state's last changes are
    /// batched, and written on the way out — a kill would lose them. Killed after 60 s.
    fn drop(&mut self) {
        // SAFETY: signalling our own child, which has not been reaped yet.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An ARM path's shape: its resource types with the names left out
/// (`/subscriptions/S/resourceGroups/R/providers/Microsoft.X/vaults/V/items` →
/// `subscriptions/resourcegroups/microsoft.x/vaults/items`).
fn shape(path: &str) -> String {
    let path = path.split('?').next().unwrap_or_default();
    let mut parts = path.split('/').filter(|p| !p.is_empty());
    let mut out = Vec::new();
    while let Some(p) = parts.next() {
        if p == "providers" {
            out.extend(parts.next().map(str::to_string));
            continue;
        }
        out.push(p.to_string());
        parts.next(); // the name after a type
    }
    out.join("/")
}

fn unique() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

/// What one run of the binary cost.
struct Ran {
    ok: bool,
    wall: Duration,
    peak_rss_mb: f64,
    stderr: String,
    stdout: String,
}

/// Run the binary with the sandbox's environment; status from `wait4`, peak RSS from the
/// child's own `VmHWM` (polled while it runs). `wait4`'s `ru_maxrss` is not the child's: a
/// spawned child shares this process's memory until it execs, and the kernel keeps that
/// memory's high-water mark as the child's — after a 100,000-VM set-up read, this process's.
#[allow(clippy::zombie_processes)] // reaped by `wait4`
fn run(served: &Served, args: &[&str], extra_env: &[(&str, &str)]) -> Ran {
    let out_path = std::env::temp_dir().join(format!("azprotect-bench-{}.out", unique()));
    let err_path = out_path.with_extension("err");
    let started = Instant::now();
    let child = Command::new(BIN)
        .args(args)
        .envs(&served.env)
        .envs(extra_env.iter().copied())
        .env("NO_COLOR", "1")
        .env_remove("AZPROTECT_SANDBOX")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).expect("stdout file"))
        .stderr(std::fs::File::create(&err_path).expect("stderr file"))
        .spawn()
        .expect("azprotect runs");
    let hwm = HighWater::watch(child.id());
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value for wait4 to fill in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waiting once on our own child's pid, with valid pointers.
    let rc = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    let wall = started.elapsed();
    assert!(rc > 0, "wait4 failed");
    let ok = libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
    let stdout = std::fs::read_to_string(&out_path).unwrap_or_default();
    let stderr = std::fs::read_to_string(&err_path).unwrap_or_default();
    let _ = std::fs::remove_file(&out_path);
    let _ = std::fs::remove_file(&err_path);
    Ran {
        ok,
        wall,
        peak_rss_mb: hwm.stop().unwrap_or(usage.ru_maxrss as f64 / 1024.0),
        stderr,
        stdout,
    }
}

/// A child's peak resident memory, read from `/proc/<pid>/status` (`VmHWM`, which only grows)
/// every 20 ms until [`HighWater::stop`].
struct HighWater {
    done: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<Option<f64>>,
}

impl HighWater {
    fn watch(pid: u32) -> HighWater {
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stop = done.clone();
        let thread = std::thread::spawn(move || {
            let mut peak_kb: Option<u64> = None;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let status = std::fs::read_to_string(format!("/proc/{pid}/status"));
                let kb = status.ok().and_then(|s| {
                    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
                    line.split_whitespace().nth(1)?.parse::<u64>().ok()
                });
                if let Some(kb) = kb {
                    peak_kb = Some(peak_kb.unwrap_or(0).max(kb));
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            peak_kb.map(|kb| kb as f64 / 1024.0)
        });
        HighWater { done, thread }
    }

    /// The highest `VmHWM` seen, in MB (`None` without `/proc`).
    fn stop(self) -> Option<f64> {
        self.done.store(true, std::sync::atomic::Ordering::Relaxed);
        self.thread.join().ok().flatten()
    }
}

fn timing(stderr: &str, phase: &str) -> f64 {
    stderr
        .lines()
        .filter_map(|l| l.strip_prefix("timings: "))
        .flat_map(|l| l.split_whitespace())
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == format!("{phase}_ms"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(f64::NAN)
}

fn inventory(dir: &Path, vms: usize) -> PathBuf {
    let p = dir.join("inventory.yaml");
    // Besides the generated VMs: the Site Recovery cache account in the source region and the
    // target resource group in the target region.
    let text = format!(
        "subscriptions:\n  {SUB}:\n    resource_groups:\n      rg-net-weu: {{location: westeurope, storage_accounts: [asrcacheweu]}}\n      rg-dr-neu: {{location: northeurope}}\ngenerate:\n  vms: {vms}\n  resource_groups: {VAULTS}\n  locations: [westeurope]\n  tags: {{backup: [gold]}}\n"
    );
    std::fs::write(&p, text).expect("inventory");
    p
}

/// 20 Recovery Services vaults, one per generated resource group, each protecting its group's
/// VMs by tag; one Backup vault snapshotting the OS disks of the first resource group; Site
/// Recovery replicating the VMs of the second group to North Europe (one group in twenty of
/// each: replicated VMs and disk backup instances in proportion to the estate).
fn config(dir: &Path) -> PathBuf {
    let mut y = format!(
        "version: 1\nsubscription: {SUB}\nresource_groups:\n  rg-protect: {{location: westeurope}}\n  rg-protect-neu: {{location: northeurope}}\n  rg-snapshots: {{location: westeurope}}\nrecovery_vaults:\n"
    );
    for v in 0..VAULTS {
        y.push_str(&format!(
            "  rsv-{v:02}:\n    resource_group: rg-protect\n    location: westeurope\n    backup_policies:\n      gold: {{schedule: {{daily: {{at: \"23:00\"}}}}, retention: {{daily: 30d}}}}\n    protect:\n      - policy: gold\n        select: {{resource_groups: [rg-gen-{v:03}], tags: {{backup: gold}}}}\n"
        ));
    }
    y.push_str("  rsv-dr:\n    resource_group: rg-protect-neu\n    location: northeurope\n");
    y.push_str("disk_backup:\n  bv-01:\n    resource_group: rg-protect\n    location: westeurope\n    policies:\n      every-4h: {every: 4h, retention: 7d}\n    protect:\n      - policy: every-4h\n        snapshot_resource_group: rg-snapshots\n        select: {resource_groups: [rg-gen-000]}\n");
    y.push_str(&format!("site_recovery:\n  bench-dr:\n    vault: rsv-dr\n    source_region: westeurope\n    target_region: northeurope\n    policy: {{recovery_points: 24h, app_consistent_every: 4h}}\n    target_resource_group: rg-dr-neu\n    cache_storage_account: /subscriptions/{SUB}/resourceGroups/rg-net-weu/providers/Microsoft.Storage/storageAccounts/asrcacheweu\n    select: {{resource_groups: [rg-gen-001]}}\n"));
    let p = dir.join("estate.yaml");
    std::fs::write(&p, y).expect("config");
    p
}

/// The baseline: one GET per managed resource, 10 at a time, through the same client.
async fn baseline(served: &Served, ids: &[(ResourceKind, String)]) -> Duration {
    let client = served.client().await;
    let started = Instant::now();
    let results: Vec<bool> = stream::iter(ids.iter())
        .map(|(kind, id)| {
            let client = &client;
            async move {
                let path = format!("{id}?api-version={}", api_version(*kind));
                client.get_optional(&path).await.is_ok()
            }
        })
        .buffer_unordered(10)
        .collect()
        .await;
    let failed = results.iter().filter(|ok| !**ok).count();
    assert_eq!(failed, 0, "baseline GETs failed");
    started.elapsed()
}

fn api_version(kind: ResourceKind) -> &'static str {
    match kind {
        ResourceKind::ResourceGroup => api::RESOURCES,
        ResourceKind::RecoveryVault => api::RECOVERY_SERVICES,
        ResourceKind::BackupPolicy | ResourceKind::ProtectedVm => api::BACKUP,
        ResourceKind::BackupVault | ResourceKind::DiskPolicy | ResourceKind::DiskBackup => {
            api::DATA_PROTECTION
        }
        ResourceKind::RoleAssignment => api::AUTHORIZATION,
        _ => api::SITE_RECOVERY,
    }
}

/// Every resource the converged plan manages, as the per-resource reader would know them.
/// Converge the estate `file` declares on a sandbox of `inventory` (an unthrottled `apply`: the
/// set-up, not measured) and return its managed resources.
async fn converge(dir: &Path, inventory: &Path, file: &Path) -> Vec<(ResourceKind, String)> {
    let file_s = file.display().to_string();
    let setup = set_up(dir, inventory, &["--parallelism", "500"], &file_s);
    managed_ids(&setup, file).await
}

/// `apply -f file --auto-approve <extra…>` on an unthrottled sandbox of `inventory` (a set-up,
/// not measured); the sandbox, for what the caller reads next.
fn set_up(dir: &Path, inventory: &Path, extra: &[&str], file: &str) -> Served {
    let setup = Served::start(dir, inventory, &[]);
    let mut args = vec!["apply", "-f", file, "--auto-approve"];
    args.extend_from_slice(extra);
    let applied = run(&setup, &args, &[]);
    assert!(applied.ok, "set-up apply failed:\n{}", applied.stderr);
    setup
}

/// `plan -f file --format json --detailed-exitcode <extra…>` with timings, which must find the
/// converged estate unchanged (`label` names the run in the panic).
fn plan_converged(served: &Served, file: &str, label: &str, extra: &[&str]) -> Ran {
    let mut args = vec![
        "plan",
        "-f",
        file,
        "--format",
        "json",
        "--detailed-exitcode",
    ];
    args.extend_from_slice(extra);
    let ran = run(served, &args, &[("AZPROTECT_TIMINGS", "1")]);
    assert!(
        ran.ok,
        "{label}: the converged estate plans no changes:\n{}\n{}",
        &ran.stdout[..ran.stdout.len().min(2000)],
        ran.stderr
    );
    ran
}

/// One long-running operation's round: the protect operation's simulated duration at this time
/// scale, and a poll — what an apply's bound adds to its write quota's.
fn lro_round() -> Duration {
    Duration::from_secs_f64(60.0 * TIME_SCALE.parse::<f64>().unwrap_or(0.01) + 1.0)
}

/// The bound ARM's write quota sets on `writes` protections in one subscription: 200 at once,
/// then 10 per second; plus one LRO round.
fn write_bound(writes: f64) -> Duration {
    Duration::from_secs_f64(((writes - 200.0) / 10.0).max(0.0)) + lro_round()
}

async fn managed_ids(served: &Served, file: &Path) -> Vec<(ResourceKind, String)> {
    let client = served.client().await;
    let desired = azprotect::config::load(&[file.to_path_buf()])
        .expect("config loads")
        .desired(Some(SUB))
        .expect("desired");
    let live = azprotect::live::read(&client, &desired)
        .await
        .expect("live read");
    azprotect::plan::resolve(&desired, &live)
        .into_iter()
        .map(|r| (r.address.kind, r.arm_id.to_string()))
        .collect()
}

struct PlanRow {
    vms: usize,
    resources: usize,
    requests: usize,
    throttled: usize,
    wall: Duration,
    diff_render_ms: f64,
    peak_rss_mb: f64,
    /// The same plan with `--discovery resource-graph`: requests and wall.
    graph: (usize, Duration),
    baseline: Option<(usize, Duration)>,
}

async fn measure_plan(o: &Options, vms: usize) -> PlanRow {
    let dir = tempfile::tempdir().expect("temp dir");
    let inv = inventory(dir.path(), vms);
    let file = config(dir.path());
    let file_s = file.display().to_string();
    // 1. converge, unthrottled (set-up, not measured)
    let ids = converge(dir.path(), &inv, &file).await;
    // 2. plan under ARM throttling and latency
    let served = Served::throttled(dir.path(), &inv, o.latency);
    let ran = plan_converged(&served, &file_s, "plan", &[]);
    let (requests, throttled) = served.counts();
    if std::env::var_os("AZPROTECT_BENCH_SHAPES").is_some() {
        for (shape, n) in served.shapes_since(0) {
            eprintln!("{n:6} {shape}");
        }
    }
    let diff_render_ms = timing(&ran.stderr, "diff") + timing(&ran.stderr, "render");
    // The same plan through Resource Graph (`auto` lists one subscription: this is why).
    let before = served.counts().0;
    let through_graph = plan_converged(
        &served,
        &file_s,
        "through Resource Graph",
        &["--discovery", "resource-graph"],
    );
    let graph = (served.counts().0 - before, through_graph.wall);
    // 3. the baseline, same sandbox, same client
    let baseline = if vms <= o.baseline_max {
        let before = served.counts().0;
        let wall = baseline(&served, &ids).await;
        Some((served.counts().0 - before, wall))
    } else {
        None
    };
    PlanRow {
        vms,
        resources: ids.len(),
        requests,
        throttled,
        wall: ran.wall,
        diff_render_ms,
        peak_rss_mb: ran.peak_rss_mb,
        graph,
        baseline,
    }
}

/// `apply` of new protections against the bound their write quotas set.
struct ApplyRow {
    protections: usize,
    wall: Duration,
    bound: Duration,
    requests: usize,
    throttled: usize,
    phases: Option<Phases>,
}

/// Where an apply's wall went, from the sandbox's access log (each line is logged when its
/// answer is sent): start-up (the wall outside the first to the last answer: the process's
/// start, its token, its exit); reading and planning until the first
/// lease read; taking the leases (and their settle wait) until the first protection's PUT;
/// the protections' PUTs and polls; releasing the leases.
#[derive(Clone, Copy)]
struct Phases {
    start_up: f64,
    read: f64,
    lease: f64,
    writes: f64,
    release: f64,
}

impl Served {
    /// The row of an apply of `protections` that took `wall`, against `bound`, from this
    /// sandbox's access log (started for it).
    fn apply_row(&self, protections: usize, wall: Duration, bound: Duration) -> ApplyRow {
        let lines = self.parsed_log();
        let (requests, _, throttled) = count_split(&lines);
        ApplyRow {
            protections,
            wall,
            bound,
            requests,
            throttled,
            phases: apply_phases(&lines, wall),
        }
    }
}

/// The phases of the apply, which took `wall`, from the whole access log's `lines` (a sandbox
/// started for it).
fn apply_phases(lines: &[Value], wall: Duration) -> Option<Phases> {
    let mut first = None;
    let (mut lease_read, mut first_put, mut last_poll, mut last) = (None, None, None, None);
    for v in lines {
        let t =
            azprotect::model::recovery_point::parse_time(v["time"].as_str().unwrap_or_default())
                .ok()?;
        let path = v["path"].as_str().unwrap_or_default().to_ascii_lowercase();
        let method = v["method"].as_str().unwrap_or_default();
        first.get_or_insert(t);
        last = Some(t);
        if path.ends_with("/providers/microsoft.resources/tags/default") {
            lease_read.get_or_insert(t);
        } else if method == "PUT" && path.contains("/protecteditems/") {
            first_put.get_or_insert(t);
        } else if path.contains("/protecteditems/") && path.contains("/operationsstatus/") {
            last_poll = Some(t);
        }
    }
    let (first, lease_read, first_put, last_poll, last) =
        (first?, lease_read?, first_put?, last_poll?, last?);
    let secs = |from: time::OffsetDateTime, to: time::OffsetDateTime| (to - from).as_seconds_f64();
    Some(Phases {
        start_up: wall.as_secs_f64() - secs(first, last),
        read: secs(first, lease_read),
        lease: secs(lease_read, first_put),
        writes: secs(first_put, last_poll),
        release: secs(last_poll, last),
    })
}

/// The apply table: `Apply of N new protections <how>`, then its one row, and where its wall
/// went.
fn print_apply(how: &str, a: &ApplyRow) {
    println!("\nApply of {} new protections {how}\n", a.protections);
    println!("| protections | wall | quota bound | wall / bound | ARM requests | 429s |");
    println!("|---:|---:|---:|---:|---:|---:|");
    println!(
        "| {} | {:.1} s | {:.1} s | {:.2} | {} | {} |",
        a.protections,
        a.wall.as_secs_f64(),
        a.bound.as_secs_f64(),
        a.wall.as_secs_f64() / a.bound.as_secs_f64(),
        a.requests,
        a.throttled
    );
    if let Some(p) = a.phases {
        println!(
            "\nWhere it went: start-up {:.2} s, read and plan {:.2} s, leases (1 s settle) {:.2} s, protections' PUTs and polls {:.2} s ({:.2}× the bound), release {:.2} s.",
            p.start_up,
            p.read,
            p.lease,
            p.writes,
            p.writes / a.bound.as_secs_f64(),
            p.release
        );
    }
}

fn apply_json(a: &ApplyRow) -> Value {
    json!({
        "protections": a.protections,
        "wall_s": a.wall.as_secs_f64(),
        "bound_s": a.bound.as_secs_f64(),
        "arm_requests": a.requests,
        "throttled": a.throttled,
        "phases_s": a.phases.map(|p| json!({
            "start_up": p.start_up, "read": p.read, "lease": p.lease, "writes": p.writes,
            "release": p.release,
        })),
    })
}

/// 1,000 new protections in one vault that already exists, under ARM's write quota.
async fn measure_apply(o: &Options) -> ApplyRow {
    const N: usize = 1_000;
    let dir = tempfile::tempdir().expect("temp dir");
    let inv = inventory(dir.path(), N);
    let file = dir.path().join("apply.yaml");
    std::fs::write(
        &file,
        format!(
            "version: 1\nsubscription: {SUB}\nresource_groups:\n  rg-protect: {{location: westeurope}}\nrecovery_vaults:\n  rsv-apply:\n    resource_group: rg-protect\n    location: westeurope\n    backup_policies:\n      gold: {{schedule: {{daily: {{at: \"23:00\"}}}}, retention: {{daily: 30d}}}}\n    protect:\n      - policy: gold\n        select: {{tags: {{backup: gold}}}}\n"
        ),
    )
    .expect("config");
    let file_s = file.display().to_string();
    drop(set_up(
        dir.path(),
        &inv,
        &["--target", "backup_policy.rsv-apply/gold"],
        &file_s,
    ));
    let served = Served::throttled(dir.path(), &inv, o.latency);
    let ran = run(&served, &["apply", "-f", &file_s, "--auto-approve"], &[]);
    assert!(ran.ok, "apply failed:\n{}", ran.stderr);
    served.apply_row(N, ran.wall, write_bound(N as f64))
}

fn main() {
    let o = options();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut rows = Vec::new();
    for &vms in &o.sizes {
        eprintln!("scale: estate of {vms} VMs …");
        rows.push(rt.block_on(measure_plan(&o, vms)));
    }
    let apply = (o.apply && !o.sizes.is_empty()).then(|| {
        eprintln!("scale: apply of 1,000 protections …");
        rt.block_on(measure_apply(&o))
    });
    let tenant = o.tenant.then(|| {
        eprintln!(
            "scale: landing zone of {} VMs in {} subscriptions …",
            o.tenant_vms,
            tenant::SUBS
        );
        rt.block_on(tenant::measure(&o))
    });

    if !rows.is_empty() {
        print_plans(&rows, o.latency);
    }
    if let Some(a) = &apply {
        print_apply("under ARM's write quota", a);
    }
    if let Some(t) = &tenant {
        tenant::print(t, o.latency);
    }
    let report = json!({
        "latency_ms": o.latency,
        "tenant": tenant.as_ref().map(tenant::json),
        "plan": rows.iter().map(|r| json!({
            "vms": r.vms,
            "resources": r.resources,
            "arm_requests": r.requests,
            "throttled": r.throttled,
            "wall_s": r.wall.as_secs_f64(),
            "diff_render_ms": r.diff_render_ms,
            "peak_rss_mb": r.peak_rss_mb,
            "resource_graph": json!({"requests": r.graph.0, "wall_s": r.graph.1.as_secs_f64()}),
            "baseline": r.baseline.map(|(n, w)| json!({"arm_requests": n, "wall_s": w.as_secs_f64()})),
        })).collect::<Vec<_>>(),
        "apply": apply.as_ref().map(apply_json),
    });
    let out = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench");
    std::fs::create_dir_all(&out).expect("target/bench");
    std::fs::write(
        out.join("scale.json"),
        serde_json::to_string_pretty(&report).expect("json") + "\n",
    )
    .expect("write scale.json");
    println!("\nWrote target/bench/scale.json");
}

/// The table of the estates' plans.
fn print_plans(rows: &[PlanRow], latency: u64) {
    println!(
        "\nPlan of a converged estate ({} vaults, {} ms latency, ARM throttling)\n",
        VAULTS + 1,
        latency
    );
    println!("| VMs | resources | ARM requests | 429s | wall | diff+render | peak RSS | baseline requests | baseline wall | speed-up | via Resource Graph: requests | wall |");
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in rows {
        let (breq, bwall, speed) = match r.baseline {
            Some((n, w)) => (
                n.to_string(),
                format!("{:.1} s", w.as_secs_f64()),
                format!("{:.0}×", w.as_secs_f64() / r.wall.as_secs_f64()),
            ),
            None => ("—".into(), "—".into(), "—".into()),
        };
        println!(
            "| {} | {} | {} | {} | {:.2} s | {:.0} ms | {:.0} MB | {} | {} | {} | {} | {:.2} s |",
            r.vms,
            r.resources,
            r.requests,
            r.throttled,
            r.wall.as_secs_f64(),
            r.diff_render_ms,
            r.peak_rss_mb,
            breq,
            bwall,
            speed,
            r.graph.0,
            r.graph.1.as_secs_f64()
        );
    }
}
