//! Azure's tag rules, shared by `validate` (the file), `plan` (the tags a resource ends up
//! with) and the sandbox (what ARM refuses): a name is 1–512 characters without `<`, `>`, `%`,
//! `&`, `\`, `?`, `/` or control characters, a value at most 256 characters, and a resource or
//! resource group carries at most 50 tags (Microsoft Learn, "Tag resources … Limitations";
//! azure-resource-manager-rpc #71 and #146). Tag names are case-insensitive.

use super::{api, ArmId, ArmRequest, Method};
use serde_json::{json, Value};
use std::collections::BTreeSet;

pub const MAX_TAGS: usize = 50;
pub const MAX_NAME_CHARS: usize = 512;
pub const MAX_VALUE_CHARS: usize = 256;
pub const FORBIDDEN_IN_NAMES: [char; 7] = ['<', '>', '%', '&', '\\', '?', '/'];

/// What is wrong with a tag name, if anything.
pub fn name_problem(name: &str) -> Option<String> {
    let n = name.chars().count();
    if n == 0 {
        return Some("a tag name cannot be empty".into());
    }
    if n > MAX_NAME_CHARS {
        return Some(format!(
            "a tag name has at most {MAX_NAME_CHARS} characters, this one {n}"
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| FORBIDDEN_IN_NAMES.contains(c) || c.is_control())
    {
        return Some(format!(
            "a tag name cannot contain {c:?}: Azure refuses < > % & \\ ? / and control characters in tag names"
        ));
    }
    None
}

/// What is wrong with a tag value, if anything.
pub fn value_problem(value: &str) -> Option<String> {
    let n = value.chars().count();
    (n > MAX_VALUE_CHARS)
        .then(|| format!("a tag value has at most {MAX_VALUE_CHARS} characters, this one {n}"))
}

/// The number of distinct tag names (case-insensitive) among `sets`: what a resource carries
/// once they are merged.
pub fn merged_count<'a>(sets: impl IntoIterator<Item = &'a Value>) -> usize {
    sets.into_iter()
        .filter_map(Value::as_object)
        .flat_map(|o| o.keys().map(|k| k.to_lowercase()))
        .collect::<BTreeSet<_>>()
        .len()
}

/// Too many tags for one resource?
pub fn count_problem(n: usize) -> Option<String> {
    (n > MAX_TAGS)
        .then(|| format!("a resource carries at most {MAX_TAGS} tags; this one would carry {n}"))
}

/// The tags of the resource (or group) `scope`, through ARM's Tags API: reads and writes of one
/// tag that leave the others as they are (Resources spec, Tags_GetAtScope / UpdateAtScope).
fn tags_path(scope: &ArmId) -> String {
    format!(
        "{scope}/providers/Microsoft.Resources/tags/default?api-version={}",
        api::RESOURCES
    )
}

/// `GET` the tags of `scope`: `{"properties": {"tags": {…}}}`.
pub fn read_request(scope: &ArmId) -> ArmRequest {
    ArmRequest::new(Method::Get, tags_path(scope), None)
}

/// Add (or replace) the tag `name` on `scope`.
pub fn merge_request(scope: &ArmId, name: &str, value: &str) -> ArmRequest {
    ArmRequest::new(
        Method::Patch,
        tags_path(scope),
        Some(json!({"operation": "Merge", "properties": {"tags": {name: value}}})),
    )
}

/// Remove the tag `name` from `scope` if it still has this value.
pub fn delete_request(scope: &ArmId, name: &str, value: &str) -> ArmRequest {
    ArmRequest::new(
        Method::Patch,
        tags_path(scope),
        Some(json!({"operation": "Delete", "properties": {"tags": {name: value}}})),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_values_and_counts_follow_azure() {
        assert_eq!(name_problem("cost-center"), None);
        assert_eq!(name_problem(&"n".repeat(512)), None);
        assert!(name_problem(&"n".repeat(513)).is_some());
        for bad in ["a/b", "a<b", "50%", "a&b", "a\\b", "why?", "", "a\u{7}"] {
            assert!(name_problem(bad).is_some(), "{bad:?}");
        }
        assert_eq!(value_problem(&"v".repeat(256)), None);
        assert!(value_problem(&"v".repeat(257)).is_some());
        assert_eq!(
            merged_count([&json!({"Owner": "a", "env": "x"}), &json!({"owner": "b"})]),
            2
        );
        assert_eq!(count_problem(50), None);
        assert!(count_problem(51).is_some());
    }
}
