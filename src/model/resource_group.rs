//! `resource_group.<name>` — `Microsoft.Resources/resourceGroups`.
//!
//! Attributes: `{"location": "westeurope", "tags": {"k": "v"}}`. `tags` holds only the tags
//! azprotect manages (the file's global `tags`); other tags on the group are left alone.

use super::family::{Family, Ownership};
use super::{api, ArmId, ArmRequest, Method, Resource};
use super::{Action, ResourceKind};
use serde_json::{json, Value};

pub fn arm_id(subscription: &str, name: &str) -> ArmId {
    ArmId::new(format!(
        "/subscriptions/{subscription}/resourceGroups/{name}"
    ))
}

/// A resource group given as an id, or as a name in `subscription`.
pub fn id_or_name(group: &str, subscription: &str) -> ArmId {
    if group.starts_with('/') {
        ArmId::new(group)
    } else {
        arm_id(subscription, group)
    }
}

/// `GET /subscriptions/{s}/resourcegroups` (one page list per subscription).
pub fn list_path(subscription: &str) -> String {
    format!(
        "/subscriptions/{subscription}/resourcegroups?api-version={}",
        api::RESOURCES
    )
}

/// PUT creates the group or updates its tags; tags not managed by azprotect are kept by
/// merging them from `live_tags` (pass `None` on create).
pub fn put_request(r: &Resource, live_tags: Option<&Value>) -> ArmRequest {
    let mut tags = live_tags.cloned().unwrap_or_else(|| json!({}));
    if let (Some(t), Some(managed)) = (tags.as_object_mut(), r.attrs["tags"].as_object()) {
        for (k, v) in managed {
            t.insert(k.clone(), v.clone());
        }
    }
    ArmRequest::new(
        Method::Put,
        format!("{}?api-version={}", r.arm_id, api::RESOURCES),
        Some(json!({"location": r.attrs["location"], "tags": tags})),
    )
}

/// Live `Microsoft.Resources/resourceGroups` JSON → attributes (all tags; the diff only
/// compares the managed keys).
pub fn normalize(arm: &Value) -> Value {
    json!({
        "location": normalize_location(arm["location"].as_str().unwrap_or_default()),
        "tags": arm.get("tags").cloned().filter(|t| t.is_object()).unwrap_or_else(|| json!({})),
    })
}

/// Azure region names compare without case and spaces: `West Europe` == `westeurope`.
pub fn normalize_location(loc: &str) -> String {
    loc.chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase()
}

/// Resource groups: created or tagged, never deleted by azprotect.
pub const FAMILY: Family = Family {
    kind: ResourceKind::ResourceGroup,
    prefix: "resource_group",
    rank: 0,
    ownership: Ownership::Subset,
    removed_with_the_file: false,
    requests: |c| match c.action {
        Action::Create | Action::Update => {
            Ok(vec![put_request(c.desired()?, c.before.get("tags"))])
        }
        _ => c.unsupported(ResourceKind::ResourceGroup),
    },
};
