//! The README's YAML is the product's as the examples are: every ```yaml block of README.md
//! must pass one of two rules, so that the README cannot drift from what azprotect accepts.
//!
//! 1. **A whole file** (it has `version:` at its top level): `azprotect validate` accepts it on
//!    its own.
//! 2. **An excerpt** (anything else): its lines appear, in order, in one of `examples/*.yaml`
//!    or of the CI examples' workflows (`examples/ci/*/*.yml`).
//!    Lines are compared without their trailing `# comments` and surrounding blanks; a line
//!    that is only `# …` marks an elision (any lines may stand there), and `…` inside a line
//!    stands for any text (`/subscriptions/…/virtualNetworks/vnet-drill`).

mod support;

use support::estate::repo;

fn yaml_blocks(markdown: &str) -> Vec<(usize, String)> {
    let mut blocks = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (n, line) in markdown.lines().enumerate() {
        match &mut current {
            None if line.trim_start().starts_with("```yaml") => {
                current = Some((n + 1, String::new()))
            }
            Some(_) if line.trim_start().starts_with("```") => blocks.extend(current.take()),
            Some((_, text)) => {
                text.push_str(line);
                text.push('\n');
            }
            None => {}
        }
    }
    blocks
}

/// A line without its comment and surrounding blanks (a `#` inside quotes is kept).
fn code(line: &str) -> String {
    let mut quoted = None;
    for (i, c) in line.char_indices() {
        match (c, quoted) {
            ('"' | '\'', None) => quoted = Some(c),
            (q, Some(open)) if q == open => quoted = None,
            ('#', None) if i == 0 || line[..i].ends_with(' ') => {
                return line[..i].trim_end().to_string()
            }
            _ => {}
        }
    }
    line.trim_end().to_string()
}

fn matches(pattern: &str, line: &str) -> bool {
    let parts: Vec<&str> = pattern.split('…').collect();
    if parts.len() == 1 {
        return pattern == line;
    }
    let Some(mut rest) = line.strip_prefix(parts[0]) else {
        return false;
    };
    for (i, part) in parts[1..].iter().enumerate() {
        let last = i == parts.len() - 2;
        if last {
            return rest.ends_with(part) && rest.len() >= part.len();
        }
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    true
}

/// Is every code line of `block` found in `file`, in order?
fn excerpt_of(block: &str, file: &str) -> Result<(), String> {
    let lines: Vec<String> = file
        .lines()
        .map(code)
        .filter(|l| !l.trim().is_empty())
        .collect();
    let mut at = 0;
    for wanted in block.lines().map(code).filter(|l| !l.trim().is_empty()) {
        match lines[at..].iter().position(|l| matches(&wanted, l)) {
            Some(i) => at += i + 1,
            None => return Err(wanted),
        }
    }
    Ok(())
}

fn whole_file(block: &str) -> bool {
    block.lines().any(|l| l.starts_with("version:"))
}

#[test]
fn every_yaml_block_of_the_readme_validates_or_is_an_excerpt_of_an_example() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let blocks = yaml_blocks(&readme);
    assert!(!blocks.is_empty(), "the README shows the file format");
    // The configuration examples, and the CI examples (their workflows are YAML too).
    let dirs = [
        repo().join("examples"),
        repo().join("examples/ci/github-actions"),
        repo().join("examples/ci/azure-pipelines"),
    ];
    let examples: Vec<(String, String)> = dirs
        .iter()
        .flat_map(|dir| std::fs::read_dir(dir).unwrap())
        .filter_map(|e| {
            let path = e.ok()?.path();
            let ext = path.extension()?;
            (ext == "yaml" || ext == "yml").then(|| {
                (
                    path.display().to_string(),
                    std::fs::read_to_string(&path).unwrap(),
                )
            })
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let mut problems = Vec::new();
    for (line, block) in &blocks {
        if whole_file(block) {
            let path = dir.path().join(format!("readme-{line}.yaml"));
            std::fs::write(&path, block).unwrap();
            let out = assert_cmd::Command::cargo_bin("azprotect")
                .unwrap()
                .env("NO_COLOR", "1")
                .env_remove("AZPROTECT_SANDBOX")
                .args(["validate", "-f"])
                .arg(&path)
                .output()
                .unwrap();
            if !out.status.success() {
                problems.push(format!(
                    "README.md:{line}: a whole file that does not validate:\n{}",
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
            continue;
        }
        let misses: Vec<String> = examples
            .iter()
            .filter_map(|(name, text)| {
                excerpt_of(block, text)
                    .err()
                    .map(|l| format!("{name}: {l:?}"))
            })
            .collect();
        if misses.len() == examples.len() {
            problems.push(format!(
                "README.md:{line}: an excerpt of no example (first line not found in each):\n  {}",
                misses.join("\n  ")
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

#[test]
fn the_excerpt_rule_is_not_a_formality() {
    let example = "a:\n  b: 1   # one\n  c: /x/y/z\n";
    assert_eq!(excerpt_of("a:\n  # …\n  c: /x/…/z\n", example), Ok(()));
    assert!(
        excerpt_of("a:\n  c: /x/y/z\n  b: 1\n", example).is_err(),
        "order"
    );
    assert!(excerpt_of("a:\n  b: 2\n", example).is_err(), "a value");
    assert!(excerpt_of("a:\n  d: 1\n", example).is_err(), "a key");
}
