//! The live readers parse what Azure really returns: the official example responses.

mod support;

use azprotect::live::vms;
use support::{load_json, specs_or_skip};

const VM_GET: &str = "specification/compute/resource-manager/Microsoft.Compute/Compute/stable/2025-11-01/examples/virtualMachineExamples/VirtualMachine_Get_WithDiskControllerType.json";
const VM_LIST: &str = "specification/compute/resource-manager/Microsoft.Compute/Compute/Compute/examples/2025-11-01/virtualMachineExamples/VirtualMachine_List_MinimumSet_Gen.json";

#[test]
fn the_official_vm_example_becomes_a_vm_with_its_disks_and_region() {
    let Some(root) =
        specs_or_skip("the_official_vm_example_becomes_a_vm_with_its_disks_and_region")
    else {
        return;
    };
    let example = load_json(&root, VM_GET);
    let body = &example["responses"]["200"]["body"];
    let vm = vms::from_arm(body).expect("a VM");
    assert_eq!(vm.name, body["name"].as_str().unwrap());
    assert_eq!(
        vm.location,
        body["location"]
            .as_str()
            .unwrap()
            .to_ascii_lowercase()
            .replace(' ', "")
    );
    assert_eq!(
        vm.resource_group.to_ascii_lowercase(),
        vm.id.resource_group().unwrap().to_ascii_lowercase()
    );
    let data_disks = body["properties"]["storageProfile"]["dataDisks"]
        .as_array()
        .map_or(0, Vec::len);
    assert_eq!(vm.data_disk_luns.len(), data_disks);
    let os_disk = body["properties"]["storageProfile"]["osDisk"]["managedDisk"]["id"].as_str();
    assert_eq!(
        vm.disks.first().map(|d| d.id.as_str()),
        os_disk,
        "the OS disk comes first"
    );
}

#[test]
fn the_official_list_example_parses_every_vm() {
    let Some(root) = specs_or_skip("the_official_list_example_parses_every_vm") else {
        return;
    };
    let example = load_json(&root, VM_LIST);
    let values = example["responses"]["200"]["body"]["value"]
        .as_array()
        .expect("a list");
    let parsed: Vec<_> = values.iter().filter_map(vms::from_arm).collect();
    assert_eq!(parsed.len(), values.len());
}
