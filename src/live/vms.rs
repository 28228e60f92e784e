//! Virtual machines: one paged list per subscription, reduced to what selectors and rules need.

use crate::azure::{ArmClient, AzureError};
use crate::model::{api, resource_group::normalize_location, ArmId, VirtualMachine, VmDisk};
use serde_json::Value;

pub async fn list(
    client: &ArmClient,
    subscription: &str,
) -> Result<Vec<VirtualMachine>, AzureError> {
    let path = format!(
        "/subscriptions/{subscription}/providers/Microsoft.Compute/virtualMachines?api-version={}",
        api::COMPUTE
    );
    Ok(client
        .list(&path)
        .await?
        .iter()
        .filter_map(from_arm)
        .collect())
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
        id,
    })
}
