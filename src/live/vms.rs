//! Virtual machines, reduced to what selectors and rules need. A subscription's VMs come from
//! one paged list per resource group, the groups listed concurrently, when the subscription has
//! at most [`MAX_GROUP_LISTS`] groups; otherwise from the subscription's one paged list.
//!
//! Why: a `nextLink` chain is sequential, so the subscription list of 10,000 VMs costs 200
//! round trips one after the other (Azure pages VM lists at 50); 20 groups of 500 cost the
//! same 200 requests but only 10 round trips deep. The price is at most one partly filled page per group (an empty group
//! still costs one request), bounded by [`MAX_GROUP_LISTS`]; beyond that many groups, those
//! extra requests would eat into ARM's read quota (250 + 25/s) and the subscription list wins.
//! Each VM is read exactly once either way.

use crate::azure::{ArmClient, AzureError};
use crate::model::{api, resource_group::normalize_location, ArmId, VirtualMachine, VmDisk};
use futures::future::try_join_all;
use serde_json::Value;

/// Above this many resource groups, the subscription's list is used.
pub const MAX_GROUP_LISTS: usize = 32;

/// How a subscription's VMs are listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Strategy {
    /// `GET /subscriptions/{s}/providers/Microsoft.Compute/virtualMachines`, following nextLink.
    Subscription,
    /// One list per resource group (these names), concurrently.
    PerGroup(Vec<String>),
}

impl Strategy {
    /// The strategy for a subscription whose resource-group list (ARM JSON) is `groups`.
    pub fn choose(groups: &[Value]) -> Strategy {
        if groups.len() > MAX_GROUP_LISTS {
            return Strategy::Subscription;
        }
        let names: Option<Vec<String>> = groups
            .iter()
            .map(|g| g["name"].as_str().map(str::to_string))
            .collect();
        match names {
            Some(names) if !names.is_empty() => Strategy::PerGroup(names),
            _ => Strategy::Subscription,
        }
    }
}

/// The path of the subscription's VM list.
pub fn subscription_path(subscription: &str) -> String {
    format!(
        "/subscriptions/{subscription}/providers/Microsoft.Compute/virtualMachines?api-version={}",
        api::COMPUTE
    )
}

/// The path of one resource group's VM list.
pub fn group_path(subscription: &str, group: &str) -> String {
    format!(
        "/subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.Compute/virtualMachines?api-version={}",
        api::COMPUTE
    )
}

/// Every VM of `subscription`, whose resource groups (the ARM list, already read) are `groups`.
pub async fn list(
    client: &ArmClient,
    subscription: &str,
    groups: &[Value],
) -> Result<Vec<VirtualMachine>, AzureError> {
    // Each page is made VMs as it arrives: a tenant's VM bodies are never all held at once
    // (100,000 of them as JSON trees were half a gigabyte).
    let of_page = super::vm_body::from_raw;
    Ok(match Strategy::choose(groups) {
        Strategy::Subscription => {
            client
                .list_with(&subscription_path(subscription), of_page)
                .await?
        }
        Strategy::PerGroup(names) => try_join_all(names.iter().map(|g| async move {
            client
                .list_with(&group_path(subscription, g), of_page)
                .await
        }))
        .await?
        .into_iter()
        .flatten()
        .collect(),
    })
}

/// ARM `Microsoft.Compute/virtualMachines` JSON → [`VirtualMachine`].
pub fn from_arm(v: &Value) -> Option<VirtualMachine> {
    let id = ArmId::new(v["id"].as_str()?);
    let tags = v["tags"]
        .as_object()
        .map(|t| {
            t.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default();
    let mut data_disk_luns: Vec<u32> = v["properties"]["storageProfile"]["dataDisks"]
        .as_array()
        .map(|d| {
            d.iter()
                .filter_map(|d| d["lun"].as_u64())
                .map(|l| l as u32)
                .collect()
        })
        .unwrap_or_default();
    data_disk_luns.sort_unstable();
    let storage = &v["properties"]["storageProfile"];
    let sku = |d: &Value| {
        d["managedDisk"]["storageAccountType"]
            .as_str()
            .map(str::to_string)
    };
    let os = storage["osDisk"]["managedDisk"]["id"]
        .as_str()
        .map(|id| VmDisk {
            id: ArmId::new(id),
            lun: None,
            sku: sku(&storage["osDisk"]),
        });
    let mut data: Vec<VmDisk> = storage["dataDisks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| {
            Some(VmDisk {
                id: ArmId::new(d["managedDisk"]["id"].as_str()?),
                lun: d["lun"].as_u64().map(|l| l as u32),
                sku: sku(d),
            })
        })
        .collect();
    data.sort_by_key(|d| d.lun);
    let disks: Vec<VmDisk> = os.into_iter().chain(data).collect();
    Some(VirtualMachine {
        name: v["name"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| id.name().to_string()),
        resource_group: id.resource_group()?.to_string(),
        subscription: id.subscription()?.to_string(),
        location: normalize_location(v["location"].as_str().unwrap_or_default()),
        tags,
        data_disk_luns,
        disks,
        size: v["properties"]["hardwareProfile"]["vmSize"]
            .as_str()
            .map(str::to_string),
        id,
    })
}
