//! The JSON Schema of the file format, generated from the [`ConfigFile`] types (what
//! `azprotect schema` prints and `schemas/azprotect.schema.json` holds).

use super::types::ConfigFile;

/// The schema as JSON (draft 2020-12).
pub fn json_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(ConfigFile)).unwrap_or_default()
}

/// The committed file's exact text: pretty JSON and a trailing newline.
pub fn json_schema_text() -> String {
    let mut s = serde_json::to_string_pretty(&json_schema()).unwrap_or_default();
    s.push('\n');
    s
}
