//! Microsoft.Network network interfaces: each VM's `<vm>-nic` (`compute::nic_id`), derived from
//! the VM while it exists, and kept (`State::nics_left`) when the VM is deleted (its
//! `deleteOption` is `Detach`): GET, list by subscription and resource group, and DELETE (200;
//! 204 when there is none; refused while a VM uses it). Its subnet is the VM's (`Vm::subnet`: a
//! restore's target subnet) or else the first subnet of the first virtual network in its
//! resource group. Shape: the Network spec's NetworkInterface (example NetworkInterfaceGet).

use serde_json::{json, Value};

use super::errors::ArmError;
use super::handler::{require_rg, Ctx, HResult, Reply};
use super::state::{key, LeftNic, State, Vm};

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

/// The NIC a deleted VM leaves.
pub fn left_behind(st: &State, vm: &Vm) -> LeftNic {
    LeftNic {
        subscription: vm.subscription.clone(),
        resource_group: vm.resource_group.clone(),
        name: format!("{}-nic", vm.name),
        location: vm.location.clone(),
        subnet: subnet_of(st, vm),
    }
}

fn body(nic: &LeftNic, vm: Option<&str>) -> Value {
    let id = format!(
        "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Network/networkInterfaces/{}",
        nic.subscription, nic.resource_group, nic.name
    );
    let mut ip = json!({"privateIPAllocationMethod": "Dynamic", "privateIPAddressVersion": "IPv4", "primary": true, "provisioningState": "Succeeded"});
    if let Some(subnet) = &nic.subnet {
        ip["subnet"] = json!({"id": subnet});
    }
    let mut b = json!({
        "name": nic.name,
        "id": id,
        "type": "Microsoft.Network/networkInterfaces",
        "location": nic.location,
        "properties": {
            "provisioningState": "Succeeded",
            "ipConfigurations": [{"name": "ipconfig1", "id": format!("{id}/ipConfigurations/ipconfig1"), "type": "Microsoft.Network/networkInterfaces/ipConfigurations", "properties": ip}],
            "primary": true,
            "enableAcceleratedNetworking": false,
            "nicType": "Standard",
        },
    });
    if let Some(vm) = vm {
        b["properties"]["virtualMachine"] = json!({"id": vm});
    }
    b
}

fn vm_nic(st: &State, vm: &Vm) -> Value {
    let vm_id = super::inventory::vm_id(&vm.subscription, &vm.resource_group, &vm.name);
    body(&left_behind(st, vm), Some(&vm_id))
}

/// `Some` when the path is a network interface's (or a list of them).
pub fn route(ctx: &Ctx<'_>, st: &mut State) -> Option<HResult> {
    if let Some(v) = ctx.m("subscriptions/*/providers/microsoft.network/networkinterfaces") {
        return Some(list(ctx, st, &v[0], None));
    }
    if let Some(v) =
        ctx.m("subscriptions/*/resourcegroups/*/providers/microsoft.network/networkinterfaces")
    {
        return Some(require_rg(st, &v[0], &v[1]).and_then(|_| list(ctx, st, &v[0], Some(&v[1]))));
    }
    let v =
        ctx.m("subscriptions/*/resourcegroups/*/providers/microsoft.network/networkinterfaces/*")?;
    Some(nic(ctx, st, &v))
}

fn list(ctx: &Ctx<'_>, st: &State, sub: &str, rg: Option<&str>) -> HResult {
    ctx.require_well_formed_api()?;
    if ctx.method != "GET" {
        return Err(ArmError::method_not_allowed(&ctx.method));
    }
    let here = |s: &str, r: &str| {
        s.eq_ignore_ascii_case(sub) && rg.is_none_or(|g| g.eq_ignore_ascii_case(r))
    };
    let mut items: Vec<Value> = st
        .vms
        .values()
        .filter(|vm| here(&vm.subscription, &vm.resource_group))
        .map(|vm| vm_nic(st, vm))
        .collect();
    items.extend(
        st.nics_left
            .values()
            .filter(|n| here(&n.subscription, &n.resource_group))
            .map(|n| body(n, None)),
    );
    Ok(Reply::ok(ctx.page(items, false)))
}

fn nic(ctx: &Ctx<'_>, st: &mut State, v: &[String]) -> HResult {
    ctx.require_well_formed_api()?;
    let k = key(&[&v[0], &v[1], &v[2]]);
    let vm = v[2]
        .strip_suffix("-nic")
        .and_then(|name| st.vms.get(&key(&[&v[0], &v[1], name])));
    match (ctx.method.as_str(), vm) {
        ("GET", Some(vm)) => Ok(Reply::ok(vm_nic(st, vm))),
        ("GET", None) => {
            require_rg(st, &v[0], &v[1])?;
            st.nics_left
                .get(&k)
                .map(|n| Reply::ok(body(n, None)))
                .ok_or_else(|| {
                    ArmError::resource_not_found("Microsoft.Network/networkInterfaces", &v[1], &v[2])
                })
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
        // NetworkInterfaces_Delete answers 200, 202 or 204: done at once here.
        ("DELETE", None) => Ok(match st.nics_left.remove(&k) {
            Some(_) => Reply::status(200, None).mutated(),
            None => Reply::status(204, None),
        }),
        (m, _) => Err(ArmError::method_not_allowed(m)),
    }
}
