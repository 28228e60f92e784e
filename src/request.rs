//! An ARM request as data: what `model`'s families build and `azure`'s client sends, so that
//! neither imports the other.
//!
//! Owns: [`ArmRequest`], [`Method`]. Must not import: `azure`, `model`, `plan`, `apply`, `cli`, `ops`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A request the `azure` client executes: pure data, built by `model`'s families.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArmRequest {
    pub method: Method,
    /// Path and query relative to the ARM endpoint, e.g. `/subscriptions/…?api-version=2026-02-01`.
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    Get,
    Put,
    Patch,
    Post,
    Delete,
}

impl ArmRequest {
    pub fn new(method: Method, path: String, body: Option<Value>) -> Self {
        Self { method, path, body }
    }
}
