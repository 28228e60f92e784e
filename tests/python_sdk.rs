//! Microsoft's own Python SDKs drive the sandbox unmodified (tests/python/sdk_story.py): the real
//! `azprotect sandbox serve` binary, its env file, azure-identity's `ClientSecretCredential`
//! against the sandbox's authority, and the azure-mgmt-* clients for Recovery Services backup,
//! Site Recovery A2A, Data Protection, Authorization and Compute; and, over the landing-zone
//! tenant, those for Resource Graph and Management Groups (tests/python/tenant_story.py).
//!
//! Needs Python 3 with those packages (`AZPROTECT_PYTHON` names the interpreter, default
//! `python3`). Without them the test prints a notice and passes, unless
//! `AZPROTECT_PYTHON_SDKS=required` (set by `.ci/run` once it installed them): then it fails.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const PACKAGES: &str = "azure.identity, azure.mgmt.recoveryservices, azure.mgmt.recoveryservicesbackup, azure.mgmt.recoveryservicessiterecovery, azure.mgmt.dataprotection, azure.mgmt.compute, azure.mgmt.authorization";

const STEPS: &[&str] = &[
    "identity: token from the sandbox authority",
    "recovery services: create a vault",
    "backup: create a VM policy",
    "backup: protect a VM and read it back",
    "site recovery: fabrics and protection containers",
    "site recovery: replication policy and container mapping",
    "site recovery: network mapping",
    "site recovery: replicate a VM",
    "site recovery: recovery plan, test failover and cleanup",
    "disk backup: a Backup vault with a system-assigned identity",
    "disk backup: a disk policy",
    "disk backup: role assignments for the vault's identity",
    "disk backup: protect a disk",
    "compute: an incremental snapshot of a disk, restored to a new disk",
    "compute: a VM's instance view; an attached disk refused; the VM deleted, then its data disk",
];

/// The interpreter, when it imports every SDK the story needs.
fn python_with(packages: &str) -> Option<String> {
    let python = std::env::var("AZPROTECT_PYTHON").unwrap_or_else(|_| "python3".into());
    let ok = Command::new(&python)
        .args(["-c", &format!("import {packages}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    ok.then_some(python)
}

/// Kills the sandbox when the test ends, however it ends.
struct Serving(Child);

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `KEY=VALUE` lines of the env file the sandbox writes once it listens.
fn wait_for_env(path: &Path) -> Vec<(String, String)> {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(30) {
        if let Ok(text) = std::fs::read_to_string(path) {
            if text.contains("AZPROTECT_POLL_INTERVAL_MS=") {
                return text
                    .lines()
                    .filter_map(|l| l.split_once('='))
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect();
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the sandbox did not write {}", path.display());
}

/// Run `tests/python/{script}` with the Python that imports `packages` against `azprotect
/// sandbox serve {serve_args}`, and check that it reported every step ok. Without such a Python
/// the test prints a notice and passes, unless `AZPROTECT_PYTHON_SDKS=required`.
fn story(test: &str, packages: &str, pip: &str, script: &str, serve_args: &[&str], steps: &[&str]) {
    let Some(python) = python_with(packages) else {
        assert!(
            std::env::var("AZPROTECT_PYTHON_SDKS").as_deref() != Ok("required"),
            "Python with the Azure SDKs ({packages}) is required here (AZPROTECT_PYTHON_SDKS=required)"
        );
        eprintln!("{test}: skipped — no Python 3 with {packages} (pip install {pip})");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let env_file = dir.path().join("sandbox.env");
    let bin = assert_cmd::cargo::cargo_bin("azprotect");
    let _sandbox = Serving(
        Command::new(bin)
            .args(["sandbox", "serve", "--listen", "127.0.0.1:0"])
            .args(serve_args)
            .arg("--state")
            .arg(dir.path().join("state.json"))
            .arg("--env-file")
            .arg(&env_file)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("azprotect sandbox serve starts"),
    );
    let env = wait_for_env(&env_file);

    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/python")
        .join(script);
    let mut child = Command::new(&python)
        .arg(&script)
        .envs(env)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python runs");
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let lines: Vec<String> = stdout.lines().map_while(Result::ok).collect();
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    let status = child.wait().unwrap();
    let out = lines.join("\n");
    assert!(status.success(), "the SDK story failed:\n{out}\n{stderr}");
    for step in steps {
        assert!(
            lines.iter().any(|l| l.starts_with(&format!("ok {step} ("))),
            "step `{step}` did not report ok:\n{out}"
        );
    }
}

#[test]
fn microsofts_python_sdks_work_against_the_sandbox_unmodified() {
    story(
        "microsofts_python_sdks_work_against_the_sandbox_unmodified",
        PACKAGES,
        "azure-identity azure-mgmt-recoveryservices azure-mgmt-recoveryservicesbackup azure-mgmt-recoveryservicessiterecovery azure-mgmt-dataprotection azure-mgmt-compute azure-mgmt-authorization",
        "sdk_story.py",
        &["--time-scale", "0.002"],
        STEPS,
    );
}

/// Resource Graph and Management Groups, the sandbox's tenant-scale endpoints (issue 14).
const TENANT_PACKAGES: &str =
    "azure.identity, azure.mgmt.resourcegraph, azure.mgmt.managementgroups";

const TENANT_STEPS: &[&str] = &[
    "management groups: the group, its children and its descendants",
    "resource graph: the tenant's VMs, two to a page, along the skip token",
    "resource graph: resource groups, filtered to one subscription",
    "resource graph: a query outside what it answers is refused in Resource Graph's shape",
];

#[test]
fn microsofts_resource_graph_and_management_group_sdks_read_the_sandbox_tenant() {
    let inventory =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/inventories/landing-zone.yaml");
    story(
        "microsofts_resource_graph_and_management_group_sdks_read_the_sandbox_tenant",
        TENANT_PACKAGES,
        "azure-identity azure-mgmt-resourcegraph azure-mgmt-managementgroups",
        "tenant_story.py",
        &["--inventory", inventory.to_str().unwrap()],
        TENANT_STEPS,
    );
}
