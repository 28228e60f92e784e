//! The subscriptions of a tenant and of a management group: `GET /subscriptions` (every
//! subscription the caller can read, with its display name) and `GET
//! /providers/Microsoft.Management/managementGroups/{id}/descendants` (every group and
//! subscription below the group, nested groups included, paged by `nextLink` with
//! `$skiptoken`). Spec: Azure/azure-rest-api-specs
//! `specification/managementgroups/resource-manager/Microsoft.Management/stable/2023-04-01/management.json`
//! (`ManagementGroups_GetDescendants`, example `GetDescendants.json`): a subscription
//! descendant has type `Microsoft.Management/managementGroups/subscriptions`, its id is
//! `/subscriptions/{id}`, its name the subscription id.
//!
//! Owns: [`subscriptions`], [`under_group`]. Must not import: `cli`, `plan`, `apply`, `render`,
//! `config`, `ops`.

use serde_json::Value;

use crate::azure::{ArmClient, AzureError};

/// Microsoft.Management's api-version used.
pub const API_VERSION: &str = "2023-04-01";

/// A subscription and its display name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Subscription {
    pub id: String,
    pub display_name: String,
    /// The management group it sits directly under (descendants only).
    pub parent_group: Option<String>,
}

/// `GET /subscriptions`.
pub fn subscriptions_path() -> String {
    format!(
        "/subscriptions?api-version={}",
        crate::model::api::RESOURCES
    )
}

/// `GET …/managementGroups/{group}/descendants`.
pub fn descendants_path(group: &str) -> String {
    format!("/providers/Microsoft.Management/managementGroups/{group}/descendants?api-version={API_VERSION}")
}

/// Every subscription the caller can read, with display names, in the order ARM lists them.
pub async fn subscriptions(client: &ArmClient) -> Result<Vec<Subscription>, AzureError> {
    let items = client.list(&subscriptions_path()).await?;
    Ok(items
        .iter()
        .filter_map(|s| {
            Some(Subscription {
                id: s["subscriptionId"].as_str()?.to_string(),
                display_name: s["displayName"].as_str().unwrap_or_default().to_string(),
                parent_group: None,
            })
        })
        .collect())
}

/// One descendant entry → a subscription, or `None` for a group.
pub fn subscription_of(d: &Value) -> Option<Subscription> {
    let t = d["type"].as_str()?;
    if !t.eq_ignore_ascii_case("Microsoft.Management/managementGroups/subscriptions") {
        return None;
    }
    let parent = d["properties"]["parent"]["id"]
        .as_str()
        .and_then(|p| p.rsplit('/').next())
        .map(str::to_string);
    Some(Subscription {
        id: d["name"].as_str()?.to_string(),
        display_name: d["properties"]["displayName"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        parent_group: parent,
    })
}

/// Every subscription under `group`, at any depth, in the order the service lists them.
pub async fn under_group(client: &ArmClient, group: &str) -> Result<Vec<Subscription>, AzureError> {
    let items = client.list(&descendants_path(group)).await?;
    Ok(items.iter().filter_map(subscription_of).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_spec_example_s_descendants_yield_its_one_subscription() {
        // Shape of the spec example GetDescendants.json (2023-04-01).
        let group = json!({"id": "/providers/Microsoft.Management/managementGroups/g1",
            "type": "Microsoft.Management/managementGroups", "name": "g1",
            "properties": {"displayName": "Group 1", "parent": {"id": "/providers/Microsoft.Management/managementGroups/root"}}});
        let sub = json!({"id": "/subscriptions/20000000-0004-0000-0000-000000000000",
            "type": "Microsoft.Management/managementGroups/subscriptions",
            "name": "20000000-0004-0000-0000-000000000000",
            "properties": {"displayName": "Subscription 4", "parent": {"id": "/providers/Microsoft.Management/managementGroups/root"}}});
        assert_eq!(subscription_of(&group), None);
        assert_eq!(
            subscription_of(&sub),
            Some(Subscription {
                id: "20000000-0004-0000-0000-000000000000".into(),
                display_name: "Subscription 4".into(),
                parent_group: Some("root".into()),
            })
        );
    }
}
