//! What a person sees on a terminal, through the real binary under a pseudo-terminal (`script`
//! from util-linux): apply leaves one line per finished change, as Terraform does, instead of
//! erasing its progress — also for changes past the eight spinners shown at once.

mod support;

use std::process::Command;
use support::estate::repo;

/// Run `azprotect ARGS` with a terminal on stdin/stdout/stderr; what the terminal showed.
fn on_a_terminal(args: &[&str], dir: &std::path::Path) -> Option<String> {
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("notice: no `script` (util-linux) here; the terminal story is skipped");
        return None;
    }
    let bin = assert_cmd::cargo::cargo_bin("azprotect");
    let line = std::iter::once(bin.display().to_string())
        .chain(args.iter().map(|a| format!("'{a}'")))
        .collect::<Vec<_>>()
        .join(" ");
    let out = Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("COLUMNS", "200")
        .env("AZPROTECT_SANDBOX_TIME_SCALE", "0.001")
        .env_remove("AZPROTECT_SANDBOX")
        .env_remove("CI")
        .env_remove("GITHUB_ACTIONS")
        .output()
        .expect("script");
    let shown = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{shown}");
    Some(shown)
}

#[test]
fn apply_on_a_terminal_leaves_one_line_per_finished_change() {
    // The multi-vault estate: ten VMs to protect at once, more than the spinners shown.
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("s.json");
    let init = Command::new(assert_cmd::cargo::cargo_bin("azprotect"))
        .args(["sandbox", "init", "--inventory"])
        .arg(repo().join("examples/inventories/multi-vault.yaml"))
        .arg("--state")
        .arg(&state)
        .output()
        .unwrap();
    assert!(init.status.success(), "{init:?}");
    let file = repo().join("examples/multi-vault.yaml");
    let sandbox = format!("--sandbox={}", state.display());
    let file = file.to_str().unwrap();
    let Some(shown) = on_a_terminal(
        &[&sandbox, "apply", "-f", file, "--auto-approve"],
        dir.path(),
    ) else {
        return;
    };
    // The plan's changes, each named by its address in the plan apply printed first.
    let changes: Vec<&str> = shown
        .lines()
        .filter_map(|l| {
            l.trim_start()
                .strip_prefix("+ ")
                .or(l.trim_start().strip_prefix("~ "))
        })
        .filter(|a| a.contains('.') && !a.contains(':') && !a.contains(' '))
        .collect();
    let vms = changes
        .iter()
        .filter(|c| c.starts_with("protected_vm."))
        .count();
    assert!(
        vms > 8,
        "more changes at once than spinners: {changes:?}\n{shown}"
    );
    for address in &changes {
        let left = shown
            .lines()
            .filter(|l| l.contains(&format!(" {address}: done (")))
            .count();
        assert!(left >= 1, "no line left for {address}:\n{shown}");
    }
    assert!(shown.contains("Apply complete:"), "{shown}");
}
