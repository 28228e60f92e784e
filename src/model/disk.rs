//! A managed disk as read from Azure (`Microsoft.Compute/disks`, listed per subscription): what
//! Disk Backup selectors and rules need.

use super::resource_group::normalize_location;
use super::{api, ArmId};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ManagedDisk {
    pub id: ArmId,
    pub name: String,
    pub resource_group: String,
    pub subscription: String,
    /// Normalized region (`westeurope`).
    pub location: String,
    /// `sku.name`, e.g. `Premium_LRS`, `PremiumV2_LRS`, `UltraSSD_LRS`.
    pub sku: String,
    pub size_gb: u64,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

impl ManagedDisk {
    /// Premium SSD v2 and Ultra disks take a snapshot every 12h or 1d only.
    pub fn is_v2_or_ultra(&self) -> bool {
        let s = self.sku.to_ascii_lowercase();
        s.starts_with("premiumv2") || s.starts_with("ultra")
    }

    /// In `subscription`, in one of `resource_groups` (any when empty, case-insensitive), with
    /// every tag (key case-insensitive, value exact) — the same rule as VM selectors.
    pub fn matches_scope(
        &self,
        subscription: &str,
        resource_groups: &[String],
        tags: &BTreeMap<String, String>,
    ) -> bool {
        super::in_scope(
            (&self.subscription, &self.resource_group, &self.tags),
            subscription,
            resource_groups,
            tags,
        )
    }

    /// A disk from ARM's list body; `None` when the body has no usable id.
    pub fn from_arm(v: &Value) -> Option<ManagedDisk> {
        let id = ArmId::new(v["id"].as_str()?);
        let tags = v["tags"]
            .as_object()
            .map(|t| {
                t.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                    .collect()
            })
            .unwrap_or_default();
        Some(ManagedDisk {
            name: id.name().to_string(),
            resource_group: id.resource_group()?.to_string(),
            subscription: id.subscription()?.to_string(),
            location: normalize_location(v["location"].as_str().unwrap_or_default()),
            sku: v["sku"]["name"].as_str().unwrap_or_default().to_string(),
            size_gb: v["properties"]["diskSizeGB"].as_u64().unwrap_or(0),
            tags,
            id,
        })
    }
}

/// `GET /subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Compute/disks`.
pub fn group_list_path(subscription: &str, resource_group: &str) -> String {
    format!(
        "/subscriptions/{subscription}/resourceGroups/{resource_group}/providers/Microsoft.Compute/disks?api-version={}",
        api::DISKS
    )
}

/// `GET /subscriptions/{sub}/providers/Microsoft.Compute/disks`.
pub fn list_path(subscription: &str) -> String {
    format!(
        "/subscriptions/{subscription}/providers/Microsoft.Compute/disks?api-version={}",
        api::DISKS
    )
}
