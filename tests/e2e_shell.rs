//! Installing azprotect as a person would: shell completions and manual pages, through the real
//! binary. Both are generated from the clap types that parse the command line, so every command
//! a person can type is also completed and documented.

use assert_cmd::Command;
use std::process::Stdio;

fn azprotect(args: &[&str]) -> String {
    let out = Command::cargo_bin("azprotect")
        .expect("binary")
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("AZPROTECT_SANDBOX")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "azprotect {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8")
}

/// The commands a person types, nested ones included.
const COMMANDS: [&str; 8] = [
    "validate",
    "plan",
    "apply",
    "restore-drill",
    "recovery-points",
    "snapshot",
    "sandbox",
    "completions",
];

#[test]
fn the_bash_completion_script_is_valid_bash_and_completes_every_command() {
    let script = azprotect(&["completions", "bash"]);
    for command in COMMANDS {
        assert!(script.contains(command), "no {command} in:\n{script}");
    }
    assert!(
        script.contains("--detailed-exitcode"),
        "plan's flags complete"
    );
    assert!(
        script.contains("complete -F _azprotect"),
        "registers itself"
    );
    // `bash -n`: the script parses.
    let mut bash = std::process::Command::new("bash")
        .arg("-n")
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bash");
    std::io::Write::write_all(&mut bash.stdin.take().unwrap(), script.as_bytes()).unwrap();
    let out = bash.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "bash -n: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn zsh_fish_and_powershell_get_their_own_scripts() {
    for (shell, marker) in [
        ("zsh", "#compdef azprotect"),
        ("fish", "complete -c azprotect"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let script = azprotect(&["completions", shell]);
        assert!(script.contains(marker), "{shell}: no {marker}");
        assert!(
            script.contains("restore-drill"),
            "{shell}: no restore-drill"
        );
    }
}

#[test]
fn man_writes_one_page_per_command_and_the_top_page_lists_them() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("man1");
    azprotect(&["man", "--out", out.to_str().unwrap()]);
    for page in [
        "azprotect.1",
        "azprotect-plan.1",
        "azprotect-apply.1",
        "azprotect-restore-drill.1",
        "azprotect-snapshot-take.1",
        "azprotect-sandbox-serve.1",
    ] {
        assert!(out.join(page).is_file(), "no {page}");
    }
    // The top page on stdout is the same page.
    let top = azprotect(&["man"]);
    assert_eq!(
        top,
        std::fs::read_to_string(out.join("azprotect.1")).unwrap()
    );
    assert!(top.contains(".SH SUBCOMMANDS"), "{top}");
    assert!(top.contains(r"azprotect\-plan(1)"), "{top}");

    // Rendered as `man` shows it (where man-db is installed): the commands and a flag's help.
    let Ok(rendered) = std::process::Command::new("man")
        .arg("-l")
        .arg(out.join("azprotect-plan.1"))
        .env("MANWIDTH", "100")
        .env("MANPAGER", "cat")
        .env("PAGER", "cat")
        .output()
    else {
        eprintln!("notice: no man command here; the pages were checked as roff only");
        return;
    };
    let rendered = String::from_utf8_lossy(&rendered.stdout);
    assert!(rendered.contains("azprotect-plan"), "{rendered}");
    assert!(rendered.contains("--detailed-exitcode"), "{rendered}");
    assert!(
        rendered.contains("Configuration file(s)"),
        "a flag's help line: {rendered}"
    );
}
