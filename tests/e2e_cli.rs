//! The README's first command and the offline commands, through the real binary.

mod support;

use assert_cmd::Command;
use support::estate::{quickstart, repo};

fn azprotect() -> Command {
    let mut cmd = Command::cargo_bin("azprotect").expect("binary");
    cmd.current_dir(repo())
        .env("NO_COLOR", "1")
        .env_remove("AZPROTECT_SANDBOX")
        .write_stdin("");
    cmd
}

#[test]
fn the_readme_first_command_plans_the_quickstart_against_an_in_process_sandbox() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("sandbox.json");
    let out = azprotect()
        .args([
            &format!("--sandbox={}", state.display()),
            "plan",
            "-f",
            &quickstart(),
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("recovery_vault.rsv-prod-weu"), "{stdout}");
    assert!(stdout.contains("8 to create"), "{stdout}");
    assert!(state.exists(), "the sandbox state persists between runs");
}

/// `plan --out` then `apply PLAN` with `--sandbox`: the saved plan names the sandbox's state
/// (not its in-process server's port, new each run), and the hint says how to apply it.
#[test]
fn a_plan_saved_against_the_sandbox_is_applied_by_the_next_run() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = format!("--sandbox={}", dir.path().join("sandbox.json").display());
    let plan = dir.path().join("plan.json");
    let plan = plan.to_str().unwrap();
    let run = |args: &[&str]| {
        let out = azprotect().arg(&sandbox).args(args).output().unwrap();
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        );
        (out.status.code(), stdout, stderr)
    };
    let (code, _, stderr) = run(&["plan", "-f", &quickstart(), "--out", plan]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains(&format!("apply it with: azprotect {sandbox} apply {plan}")),
        "{stderr}"
    );
    let (code, stdout, stderr) = run(&["apply", plan, "--auto-approve"]);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("Apply complete: 8 succeeded"), "{stdout}");
    let (code, stdout, _) = run(&["plan", "-f", &quickstart(), "--detailed-exitcode"]);
    assert_eq!(code, Some(0), "{stdout}");
}

#[test]
fn validate_graph_and_schema_work_offline() {
    let out = azprotect()
        .args(["validate", "-f", &quickstart()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("The configuration is valid"));

    let out = azprotect()
        .args(["graph", "-f", &quickstart(), "--format", "dot"])
        .output()
        .unwrap();
    let dot = String::from_utf8_lossy(&out.stdout);
    assert!(
        dot.contains("\"recovery_vault.rsv-prod-weu\" -> \"backup_policy.rsv-prod-weu/gold\""),
        "{dot}"
    );

    let out = azprotect().arg("schema").output().unwrap();
    let schema: serde_json::Value = serde_json::from_slice(&out.stdout).expect("schema is JSON");
    let committed: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("schemas/azprotect.schema.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(schema, committed, "schemas/azprotect.schema.json is stale: run `azprotect schema > schemas/azprotect.schema.json`");
}

#[test]
fn a_broken_file_is_a_diagnostic_with_its_location_and_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("bad.yaml");
    std::fs::write(&f, "version: 1\nsubscription: 00000000-0000-0000-0000-000000000001\nrecovery_vaults:\n  v1:\n    resource_group: rg\n    location: westeurope\n    storage_redundnacy: GeoRedundant\n").unwrap();
    let state = dir.path().join("sandbox.json");
    // `validate` offline, and `plan` (through the plan operation) against a sandbox.
    for args in [
        vec!["validate".to_string(), "-f".into(), f.display().to_string()],
        vec![
            format!("--sandbox={}", state.display()),
            "plan".into(),
            "-f".into(),
            f.display().to_string(),
        ],
    ] {
        let out = azprotect().args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("bad.yaml:7"), "{args:?}: {err}");
        assert!(
            err.contains("storage_redundancy"),
            "did-you-mean hint: {err}"
        );
    }
}

/// `sandbox serve --listen 127.0.0.1:0` with `args`, run in `cwd`: what it prints up to the
/// line about the client secret, then it is stopped.
fn serve_output(cwd: &std::path::Path, args: &[&std::ffi::OsStr]) -> String {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("azprotect"))
        .args(["sandbox", "serve", "--listen", "127.0.0.1:0"])
        .args(args)
        .current_dir(cwd)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = Vec::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        let last = line.starts_with("AZURE_CLIENT_SECRET");
        out.push(line);
        if last {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    out.join("\n")
}

#[test]
fn sandbox_serve_keeps_the_client_secret_out_of_its_output() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("sandbox.json");
    let out = serve_output(dir.path(), &["--state".as_ref(), state.as_os_str()]);
    // CI logs show stdout: the secret is in the env file next to the state, not there.
    let env = std::fs::read_to_string(state.with_extension("env")).unwrap();
    let secret = env
        .lines()
        .find_map(|l| l.strip_prefix("AZURE_CLIENT_SECRET="))
        .expect("the env file holds the secret");
    assert!(!out.contains(secret), "{out}");
    assert!(
        out.contains("AZURE_CLIENT_ID=") && out.contains("sandbox.env"),
        "{out}"
    );
}

/// `sandbox serve --env-file sandbox.env` run in one directory writes a file that works from
/// any other: the CA path in it is absolute, and so is the path printed for `set -a; . …`.
#[test]
fn a_relative_env_file_names_its_ca_by_an_absolute_path() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["--state", "sandbox.json", "--env-file", "sandbox.env"];
    let out = serve_output(dir.path(), &args.map(std::ffi::OsStr::new));
    let env = std::fs::read_to_string(dir.path().join("sandbox.env")).unwrap();
    let ca = env
        .lines()
        .find_map(|l| l.strip_prefix("AZPROTECT_CA_CERT="))
        .expect("the env file names the CA");
    let ca = std::path::Path::new(ca);
    assert!(ca.is_absolute() && ca.exists(), "{env}");
    let printed = out;
    let env_path = dir.path().join("sandbox.env").canonicalize().unwrap();
    assert!(
        printed.contains(&format!(". {};", env_path.display()))
            || printed.contains(&format!(
                ". {};",
                std::path::absolute(dir.path().join("sandbox.env"))
                    .unwrap()
                    .display()
            )),
        "{printed}"
    );
}

/// `validate` in a directory without azprotect.yaml: it says which file it looked for and how
/// to name one, and does not call a file that is not there an invalid configuration.
#[test]
fn validate_without_a_file_says_which_file_it_looked_for_and_how_to_pass_one() {
    let dir = tempfile::tempdir().unwrap();
    let out = azprotect()
        .current_dir(dir.path())
        .arg("validate")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    // The full path it looked for, in the directory it ran in (named by the temp dir's name: the
    // directory may be reached through a symlink).
    let here = dir.path().file_name().unwrap().to_str().unwrap();
    assert!(
        stderr.contains("azprotect.yaml does not exist (looked for ")
            && stderr.contains(&format!("{here}/azprotect.yaml)")),
        "{stderr}"
    );
    assert!(stderr.contains("-f FILE"), "how to pass one: {stderr}");
    assert!(!stderr.contains("invalid configuration"), "{stderr}");
}

/// `consistency: crash_only` on a standard policy: Azure offers crash-consistent-only backups
/// with enhanced policies alone, so `validate` refuses it at its line, saying how to fix it;
/// `consistency: application` on a standard policy is what Azure does anyway, and validates.
#[test]
fn crash_only_consistency_on_a_standard_policy_is_refused_at_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let quickstart = std::fs::read_to_string(quickstart()).unwrap();
    // The quickstart's silver policy is standard (the default tier) with a daily schedule.
    let marker = "      silver:\n";
    assert!(
        quickstart.contains(marker),
        "the quickstart has a silver policy"
    );
    let write = |consistency: &str| {
        let text = quickstart.replacen(
            marker,
            &format!("{marker}        consistency: {consistency}\n"),
            1,
        );
        let path = dir.path().join(format!("{consistency}.yaml"));
        std::fs::write(&path, text).unwrap();
        path
    };
    let refused = azprotect()
        .arg("validate")
        .arg("-f")
        .arg(write("crash_only"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("crash-consistent-only snapshots need an enhanced policy")
            && stderr.contains("crash_only.yaml:")
            && stderr.contains("tier: enhanced"),
        "{stderr}"
    );
    let accepted = azprotect()
        .arg("validate")
        .arg("-f")
        .arg(write("application"))
        .output()
        .unwrap();
    assert!(
        accepted.status.success(),
        "{}",
        String::from_utf8_lossy(&accepted.stderr)
    );
}
