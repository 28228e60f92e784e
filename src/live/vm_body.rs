//! A VM list item read without building its JSON tree: the fields [`super::vms::from_arm`]
//! reads, typed, everything else skipped as it is parsed (a tenant's 100,000 VM bodies were
//! a third of a plan's CPU as JSON trees). A body whose fields are not of the types Azure
//! sends is read by `from_arm` instead, so that both ways make the same VM — a property test
//! holds them to it.
//!
//! Must not import: `plan`, `apply`, `render`, `cli`, `ops`.

use super::vms::from_arm;
use crate::model::{resource_group::normalize_location, ArmId, VirtualMachine, VmDisk};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::collections::BTreeMap;

#[derive(Deserialize)]
struct Body {
    id: Option<String>,
    name: Option<String>,
    location: Option<String>,
    tags: Option<BTreeMap<String, String>>,
    properties: Option<Properties>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Properties {
    storage_profile: Option<StorageProfile>,
    hardware_profile: Option<HardwareProfile>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct HardwareProfile {
    vm_size: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StorageProfile {
    os_disk: Option<Disk>,
    data_disks: Option<Vec<Disk>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Disk {
    lun: Option<u64>,
    managed_disk: Option<ManagedDisk>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ManagedDisk {
    id: Option<String>,
    storage_account_type: Option<String>,
}

/// A VM list item's JSON text → [`VirtualMachine`] (`None` where `from_arm` gives none).
pub fn from_raw(raw: &RawValue) -> Option<VirtualMachine> {
    match serde_json::from_str::<Body>(raw.get()) {
        Ok(body) => body.into_vm(),
        Err(_) => from_arm(&serde_json::from_str(raw.get()).ok()?),
    }
}

impl Disk {
    fn managed(&self, lun: Option<u32>) -> Option<VmDisk> {
        let managed = self.managed_disk.as_ref()?;
        Some(VmDisk {
            id: ArmId::new(managed.id.as_deref()?),
            lun,
            sku: managed.storage_account_type.clone(),
        })
    }
}

impl Body {
    fn into_vm(self) -> Option<VirtualMachine> {
        let id = ArmId::new(self.id?);
        let properties = self.properties;
        let (storage, size) = match properties {
            Some(p) => (
                p.storage_profile,
                p.hardware_profile.and_then(|h| h.vm_size),
            ),
            None => (None, None),
        };
        let (os_disk, data_disks) = match storage {
            Some(s) => (s.os_disk, s.data_disks.unwrap_or_default()),
            None => (None, vec![]),
        };
        let mut data_disk_luns: Vec<u32> = data_disks
            .iter()
            .filter_map(|d| d.lun)
            .map(|l| l as u32)
            .collect();
        data_disk_luns.sort_unstable();
        let mut data: Vec<VmDisk> = data_disks
            .iter()
            .filter_map(|d| d.managed(d.lun.map(|l| l as u32)))
            .collect();
        data.sort_by_key(|d| d.lun);
        let disks = os_disk
            .and_then(|d| d.managed(None))
            .into_iter()
            .chain(data)
            .collect();
        Some(VirtualMachine {
            name: self.name.unwrap_or_else(|| id.name().to_string()),
            resource_group: id.resource_group()?.to_string(),
            subscription: id.subscription()?.to_string(),
            location: normalize_location(self.location.as_deref().unwrap_or_default()),
            tags: self.tags.unwrap_or_default(),
            data_disk_luns,
            disks,
            size,
            id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::{json, Map, Value};

    /// Something of any JSON type, or (`good`) of the type Azure sends.
    fn either(good: BoxedStrategy<Value>) -> BoxedStrategy<Option<Value>> {
        let odd = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            (-3i64..70).prop_map(Value::from),
            Just(json!(1.5)),
            "[a-zA-Z]{0,3}".prop_map(Value::from),
            Just(json!([1, "x"])),
            Just(json!({"k": 1})),
        ];
        prop_oneof![Just(None), odd.prop_map(Some), good.prop_map(Some)].boxed()
    }

    fn object(fields: Vec<(&'static str, BoxedStrategy<Option<Value>>)>) -> BoxedStrategy<Value> {
        let (names, values): (Vec<_>, Vec<_>) = fields.into_iter().unzip();
        values
            .prop_map(move |vs| {
                let mut m = Map::new();
                for (n, v) in names.iter().zip(vs) {
                    if let Some(v) = v {
                        m.insert(n.to_string(), v);
                    }
                }
                Value::Object(m)
            })
            .boxed()
    }

    fn text() -> BoxedStrategy<Value> {
        "[a-z]{1,4}".prop_map(Value::from).boxed()
    }

    fn disk() -> BoxedStrategy<Value> {
        let managed = object(vec![
            (
                "id",
                either(
                    "/subscriptions/s/resourceGroups/g/providers/Microsoft.Compute/disks/d[0-9]"
                        .prop_map(Value::from)
                        .boxed(),
                ),
            ),
            ("storageAccountType", either(text())),
        ]);
        object(vec![
            ("lun", either((0u64..8).prop_map(Value::from).boxed())),
            ("managedDisk", either(managed)),
        ])
    }

    fn vm() -> BoxedStrategy<Value> {
        let tags = prop::collection::btree_map(
            "[a-c]",
            prop_oneof![text(), Just(Value::Null), Just(json!(3))],
            0..3,
        )
        .prop_map(|m| Value::Object(m.into_iter().collect()))
        .boxed();
        let storage = object(vec![
            ("osDisk", either(disk())),
            (
                "dataDisks",
                either(
                    prop::collection::vec(prop_oneof![disk(), Just(Value::Null)], 0..4)
                        .prop_map(Value::from)
                        .boxed(),
                ),
            ),
        ]);
        let properties = object(vec![
            ("storageProfile", either(storage)),
            (
                "hardwareProfile",
                either(object(vec![("vmSize", either(text()))])),
            ),
            ("provisioningState", either(text())),
        ]);
        object(vec![
            ("id", either(prop_oneof![
                Just(json!("/subscriptions/S1/resourceGroups/RG/providers/Microsoft.Compute/virtualMachines/vm1")),
                Just(json!("/not/an/id")),
            ].boxed())),
            ("name", either(text())),
            ("location", either(Just(json!("West Europe")).boxed())),
            ("tags", either(tags)),
            ("properties", either(properties)),
        ])
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]
        /// Read typed or as a JSON tree, a body makes the same VM (or none either way).
        #[test]
        fn typed_and_tree_reads_agree(body in vm()) {
            let text = body.to_string();
            let raw: Box<RawValue> = serde_json::from_str(&text).unwrap();
            prop_assert_eq!(from_raw(&raw), from_arm(&body));
        }
    }

    #[test]
    fn an_azure_body_is_read_typed() {
        let body = json!({
            "id": "/subscriptions/S1/resourceGroups/RG/providers/Microsoft.Compute/virtualMachines/vm1",
            "name": "vm1", "location": "westeurope", "tags": {"backup": "gold"},
            "properties": {"hardwareProfile": {"vmSize": "Standard_B2s"}, "storageProfile": {
                "osDisk": {"managedDisk": {"id": "/subscriptions/S1/resourceGroups/RG/providers/Microsoft.Compute/disks/os", "storageAccountType": "Premium_LRS"}},
                "dataDisks": [{"lun": 1, "managedDisk": {"id": "/subscriptions/S1/resourceGroups/RG/providers/Microsoft.Compute/disks/d1"}}]}},
        });
        let text = body.to_string();
        let typed: Body = serde_json::from_str(&text).expect("Azure's shape parses typed");
        let vm = typed.into_vm().unwrap();
        assert_eq!(Some(vm.clone()), from_arm(&body));
        assert_eq!((vm.disks.len(), vm.data_disk_luns.clone()), (2, vec![1]));
    }
}
