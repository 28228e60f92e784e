//! Microsoft.Network network interfaces: each VM's `<vm>-nic` (`compute::nic_id`), which exists
//! while its VM does (the VM's NIC has `deleteOption: Delete`): GET, and DELETE (204 once the VM
//! is gone; refused while a VM uses it). Its subnet is the VM's (`Vm::subnet`: a restore's target
//! subnet) or else the first subnet of the first virtual network in its resource group. Shape:
//! the Network spec's NetworkInterface (example NetworkInterfaceGet).

use serde_json::{json, Value};

use super::errors::ArmError;
use super::handler::{require_rg, Ctx, HResult, Reply};
use super::state::{key, State, Vm};

/// The subnet a VM's NIC is on, if any.
pub fn subnet_of(st: &State, vm: &Vm) -> Option<String> {
    if let Some(s) = &vm.subnet {
        return Some(s.clone());
    }
    let prefix = format!(
        "/subscriptions/{}/resourcegroups/{}/providers/microsoft.network/virtualnetworks/",
        vm.subscription, vm.resource_group
    )
    .to_ascii_lowercase();
    st.resources
        .range(prefix.clone()..)
        .take_while(|(k, _)| k.starts_with(&prefix))
        .find(|(_, r)| r.location.eq_ignore_ascii_case(&vm.location))
        .and_then(|(_, r)| {
            r.properties["subnets"][0]["id"]
                .as_str()
                .map(str::to_string)
        })
}

fn nic_body(st: &State, vm: &Vm) -> Value {
    let id = super::compute::nic_id(vm);
    let mut ip = json!({"privateIPAllocationMethod": "Dynamic", "privateIPAddressVersion": "IPv4", "primary": true, "provisioningState": "Succeeded"});
    if let Some(subnet) = subnet_of(st, vm) {
        ip["subnet"] = json!({"id": subnet});
    }
    json!({
        "name": format!("{}-nic", vm.name),
        "id": id,
        "type": "Microsoft.Network/networkInterfaces",
        "location": vm.location,
        "properties": {
            "provisioningState": "Succeeded",
            "ipConfigurations": [{"name": "ipconfig1", "id": format!("{id}/ipConfigurations/ipconfig1"), "properties": ip}],
            "virtualMachine": {"id": super::inventory::vm_id(&vm.subscription, &vm.resource_group, &vm.name)},
            "primary": true,
            "enableAcceleratedNetworking": false,
            "nicType": "Standard",
        },
    })
}

/// `Some` when the path is a network interface's.
pub fn route(ctx: &Ctx<'_>, st: &State) -> Option<HResult> {
    let v =
        ctx.m("subscriptions/*/resourcegroups/*/providers/microsoft.network/networkinterfaces/*")?;
    Some(nic(ctx, st, &v))
}

fn nic(ctx: &Ctx<'_>, st: &State, v: &[String]) -> HResult {
    ctx.require_well_formed_api()?;
    let vm = v[2]
        .strip_suffix("-nic")
        .and_then(|name| st.vms.get(&key(&[&v[0], &v[1], name])));
    match (ctx.method.as_str(), vm) {
        ("GET", Some(vm)) => Ok(Reply::ok(nic_body(st, vm))),
        ("GET", None) => {
            require_rg(st, &v[0], &v[1])?;
            Err(ArmError::resource_not_found(
                "Microsoft.Network/networkInterfaces",
                &v[1],
                &v[2],
            ))
        }
        // Network's documented answer for a NIC a VM still uses (error code `NicInUse`,
        // https://learn.microsoft.com/azure/virtual-network/virtual-network-network-interface#delete-a-network-interface).
        ("DELETE", Some(vm)) => Err(ArmError::bad_request(
            "NicInUse",
            format!(
                "Network Interface {} is used by existing resource {}. In order to delete the network interface, it must be dissociated from the resource.",
                super::compute::nic_id(vm),
                super::inventory::vm_id(&vm.subscription, &vm.resource_group, &vm.name)
            ),
        )),
        ("DELETE", None) => Ok(Reply::status(204, None)),
        (m, _) => Err(ArmError::method_not_allowed(m)),
    }
}
