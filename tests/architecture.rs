//! The house's layering, enforced: `docs/ARCHITECTURE.md`'s must-not-import table against the
//! sources (`crate::…` paths, comments aside) and against each module's own `//!` doc.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Module → the modules it must not import, from the table's rows.
fn table() -> BTreeMap<String, Vec<String>> {
    let doc = std::fs::read_to_string(root().join("docs/ARCHITECTURE.md")).unwrap();
    let ticked = |cell: &str| -> Vec<String> {
        cell.split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect()
    };
    doc.lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            (ticked(cells[1])[0].clone(), ticked(cells[3]))
        })
        .collect()
}

/// Every `.rs` file of a module (`src/x/**` or `src/x.rs`).
fn files(module: &str) -> Vec<PathBuf> {
    let dir = root().join("src").join(module);
    if !dir.is_dir() {
        return vec![root().join("src").join(format!("{module}.rs"))];
    }
    let mut out = Vec::new();
    let mut stack = vec![dir];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The top-level modules a file names through `crate::`, with the line of each.
fn crate_paths(path: &Path) -> Vec<(usize, String)> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or_default();
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            rest = &rest[at + "crate::".len()..];
            if let Some(group) = rest.strip_prefix('{') {
                // `crate::{a, b::c}`: the first segment of each entry.
                let inner = group.split('}').next().unwrap_or_default();
                for part in inner.split(',') {
                    let first = part.trim().split("::").next().unwrap_or_default();
                    if !first.is_empty() {
                        out.push((n + 1, first.to_string()));
                    }
                }
            } else {
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                out.push((n + 1, name));
            }
        }
    }
    out
}

#[test]
fn no_module_imports_what_the_architecture_forbids() {
    let rules = table();
    assert!(rules.len() >= 10, "the table has {} rows", rules.len());
    let mut broken = Vec::new();
    for (module, forbidden) in &rules {
        for f in files(module) {
            for (line, used) in crate_paths(&f) {
                if forbidden.contains(&used) {
                    broken.push(format!(
                        "{}:{line}: `{module}` imports `{used}`",
                        f.strip_prefix(root()).unwrap().display()
                    ));
                }
            }
        }
    }
    assert!(
        broken.is_empty(),
        "docs/ARCHITECTURE.md forbids these imports:\n{}",
        broken.join("\n")
    );
}

#[test]
fn every_module_doc_states_the_rules_of_its_row() {
    for (module, forbidden) in table() {
        let doc_file = ["mod.rs"]
            .iter()
            .map(|f| root().join("src").join(&module).join(f))
            .find(|p| p.exists())
            .unwrap_or_else(|| root().join("src").join(format!("{module}.rs")));
        let text = std::fs::read_to_string(&doc_file).unwrap();
        let stated: Vec<String> = text
            .lines()
            .take_while(|l| l.starts_with("//!"))
            .skip_while(|l| !l.contains("Must not import"))
            .collect::<Vec<_>>()
            .join(" ")
            .split("Must not import")
            .nth(1)
            .map(|s| {
                // The list up to its full stop, without parenthesised asides.
                let list = s.split('.').next().unwrap_or_default();
                let mut bare = String::new();
                let mut depth = 0;
                for c in list.chars() {
                    match c {
                        '(' => depth += 1,
                        ')' => depth -= 1,
                        _ if depth == 0 => bare.push(c),
                        _ => {}
                    }
                }
                bare.split('`')
                    .skip(1)
                    .step_by(2)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        if forbidden.is_empty() {
            continue;
        }
        let mut a = stated.clone();
        let mut b = forbidden.clone();
        a.sort();
        b.sort();
        assert_eq!(
            a,
            b,
            "{}: its `//!` doc and docs/ARCHITECTURE.md disagree on what it must not import",
            doc_file.display()
        );
    }
}

#[test]
fn a_forbidden_import_is_caught() {
    // The checker itself: a `crate::` path, a grouped one, and one in a comment (ignored).
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("x.rs");
    std::fs::write(
        &f,
        "use crate::plan::Plan;\nuse crate::{azure, model::ArmId};\n// crate::cli is mentioned\n",
    )
    .unwrap();
    let found: Vec<String> = crate_paths(&f).into_iter().map(|(_, m)| m).collect();
    assert_eq!(found, ["plan", "azure", "model"]);
}

#[test]
fn every_module_has_a_row() {
    // A new top-level module is placed in the house before it is used.
    let lib = std::fs::read_to_string(root().join("src/lib.rs")).unwrap();
    let rules = table();
    let missing: Vec<&str> = lib
        .lines()
        .filter_map(|l| l.strip_prefix("pub mod "))
        .map(|m| m.trim_end_matches(';'))
        .filter(|m| !rules.contains_key(*m))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/ARCHITECTURE.md has no row for: {missing:?}"
    );
}
