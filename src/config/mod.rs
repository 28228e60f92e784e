//! The desired-state file (v1): YAML types, loading with source spans, static validation of
//! Azure's rules, references and selectors, the JSON Schema, and the conversion to
//! [`crate::model::Desired`].
//!
//! Must not import: `azure`, `plan`, `apply`, `live`, `cli`, `sandbox`.

use crate::model::Desired;
use std::path::PathBuf;

/// Parsed and validated files, ready to become a [`Desired`].
pub struct Loaded {}

/// One or many diagnostics, each pointing at file:line:column.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("invalid configuration")]
pub struct ConfigError {
    #[related]
    pub diagnostics: Vec<miette::Report>,
}

/// Read, parse and validate the files (`-f` may repeat; maps merge, duplicates are errors).
pub fn load(paths: &[PathBuf]) -> Result<Loaded, ConfigError> {
    let _ = paths;
    todo!()
}

impl Loaded {
    /// The desired resources. `default_subscription` is `--subscription` / `AZURE_SUBSCRIPTION_ID`
    /// and applies when the file sets none.
    pub fn desired(&self, default_subscription: Option<&str>) -> Result<Desired, ConfigError> {
        let _ = default_subscription;
        todo!()
    }
}

/// The JSON Schema of the file format (`azprotect schema`).
pub fn json_schema() -> serde_json::Value {
    todo!()
}
