//! Shared test helpers: an estate on a sandbox running the real binary ([`estate`]), simulated
//! Azure responses, spec loading, the swagger schema checker, the rich plan fixture and the
//! recorded-traffic replay.
#![allow(dead_code)]

pub mod applying;
pub mod azure_sim;
pub mod cases;
pub mod data_protection;
pub mod diagnostics;
pub mod estate;
pub mod estates;
pub mod json_schema;
pub mod landing_zone;
pub mod plan_checks;
pub mod plan_fixture;
pub mod plan_sim;
pub mod raw;
pub mod replay;
pub mod spec_schema;
pub mod stories;

use std::path::PathBuf;

/// `../shared/azure-rest-specs` next to the repository, if present (it is not in every checkout).
/// `AZURE_REST_SPECS` overrides it; `../../shared` is tried too, for git worktrees kept one level
/// deeper than the repository.
pub fn specs_root() -> Option<PathBuf> {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    std::env::var_os("AZURE_REST_SPECS")
        .map(PathBuf::from)
        .into_iter()
        .chain([
            manifest.join("../shared/azure-rest-specs"),
            manifest.join("../../shared/azure-rest-specs"),
        ])
        .find(|p| p.join("specification").is_dir())
}

/// `../shared/azure-recordings` (Microsoft's recorded Azure traffic) next to the repository, or
/// one level up for worktrees; `AZURE_RECORDINGS` overrides it.
pub fn recordings_root() -> Option<PathBuf> {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    std::env::var_os("AZURE_RECORDINGS")
        .map(PathBuf::from)
        .into_iter()
        .chain([
            manifest.join("../shared/azure-recordings"),
            manifest.join("../../shared/azure-recordings"),
        ])
        .find(|p| p.join("FACTS.md").is_file())
}

/// [`recordings_root`], or the skip notice (a failure under CI).
pub fn recordings_or_skip(test: &str) -> Option<PathBuf> {
    let root = recordings_root();
    if root.is_none() {
        skip_or_fail_in_ci(test, "../shared/azure-recordings");
    }
    root
}

/// Like [`specs_root`], printing why the calling test is skipped when the specs are absent.
/// Under CI (`CI` set, as `.ci/run` is run) a missing `../shared` fails the test instead: a
/// check that silently skips there proves nothing.
pub fn specs_or_skip(test: &str) -> Option<PathBuf> {
    let root = specs_root();
    if root.is_none() {
        skip_or_fail_in_ci(test, "../shared/azure-rest-specs");
    }
    root
}

/// A test that needs reference data under `../shared` that is not there: a printed notice on a
/// user's clone, a failure in CI.
pub fn skip_or_fail_in_ci(test: &str, what: &str) {
    assert!(
        std::env::var_os("CI").is_none(),
        "{test}: {what} is missing, and CI must run every reference check (CI is set)"
    );
    eprintln!("{test}: skipped — {what} is not present next to the repository");
}

pub const RS_SPEC: &str = "specification/recoveryservices/resource-manager/Microsoft.RecoveryServices/RecoveryServices/stable/2026-02-01";
pub const BMS_SPEC: &str = "specification/recoveryservicesbackup/resource-manager/Microsoft.RecoveryServices/RecoveryServicesBackup/stable/2026-01-01";
pub const BMS_EXAMPLES: &str = "specification/recoveryservicesbackup/resource-manager/Microsoft.RecoveryServices/RecoveryServicesBackup/examples/2026-01-01";

/// Reads a JSON file under the specs root.
pub fn load_json(root: &std::path::Path, rel: &str) -> serde_json::Value {
    let path = root.join(rel);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
