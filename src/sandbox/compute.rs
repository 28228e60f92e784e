//! Microsoft.Compute: virtual machines and managed disks from the inventory and from restores
//! (list by subscription, list by resource group, get, a VM's instance view, VM delete), shaped
//! like the official examples. Disk writes: `snapshots.rs`.

use serde_json::{json, Value};
use std::sync::Arc;

use super::errors::ArmError;
use super::handler::{require_rg, Ctx, HResult, Reply};
use super::inventory::{disk_id, vm_id};
use super::state::{key, Disk, State, Vm};

pub const API_VERSIONS: &[&str] = &[
    "2021-03-01",
    "2021-07-01",
    "2021-11-01",
    "2022-03-01",
    "2022-08-01",
    "2022-11-01",
    "2023-03-01",
    "2023-07-01",
    "2023-09-01",
    "2024-03-01",
    "2024-07-01",
    "2024-11-01",
    "2025-04-01",
    "2025-11-01",
];
/// How long deleting a VM takes, in Azure seconds.
const VM_DELETE: f64 = 30.0;
/// DiskRP versions (disks and snapshots).
pub const DISK_API_VERSIONS: &[&str] = &[
    "2021-04-01",
    "2022-03-02",
    "2022-07-02",
    "2023-01-02",
    "2023-04-02",
    "2023-10-02",
    "2024-03-02",
    "2025-01-02",
    "2026-03-02",
];

pub fn vm_body(st: &State, vm: &Vm) -> Value {
    let id = vm_id(&vm.subscription, &vm.resource_group, &vm.name);
    // `<vm>-osdisk` unless the inventory named it (then found by what manages it).
    let default = format!("{}-osdisk", vm.name);
    let os = st
        .disks
        .get(&key(&[&vm.subscription, &vm.resource_group, &default]))
        .or_else(|| {
            st.disks.values().find(|d| {
                d.os_type.is_some()
                    && d.managed_by
                        .as_deref()
                        .is_some_and(|m| m.eq_ignore_ascii_case(&id))
            })
        });
    let os_disk = os.map_or(default, |d| d.name.clone());
    let os_size = os.map(|d| d.size_gb).unwrap_or(30);
    let data: Vec<Value> = vm
        .data_disks
        .iter()
        .enumerate()
        .map(|(lun, size)| {
            let name = format!("{}-data-{lun}", vm.name);
            json!({
                "lun": lun, "name": name, "createOption": "Attach", "caching": "ReadOnly",
                "managedDisk": {"storageAccountType": "Premium_LRS", "id": disk_id(&vm.subscription, &vm.resource_group, &name)},
                "diskSizeGB": size, "toBeDetached": false,
            })
        })
        .collect();
    let linux = vm.os == "Linux";
    let image = if linux {
        json!({"publisher": "Canonical", "offer": "ubuntu-24_04-lts", "sku": "server", "version": "latest"})
    } else {
        json!({"publisher": "MicrosoftWindowsServer", "offer": "WindowsServer", "sku": "2022-datacenter-azure-edition", "version": "latest"})
    };
    let mut os_profile = json!({"computerName": vm.name, "adminUsername": "azureuser", "secrets": [], "allowExtensionOperations": true});
    if linux {
        os_profile["linuxConfiguration"] =
            json!({"disablePasswordAuthentication": true, "provisionVMAgent": true});
    } else {
        os_profile["windowsConfiguration"] =
            json!({"provisionVMAgent": true, "enableAutomaticUpdates": true});
    }
    let mut body = json!({
        "name": vm.name,
        "id": id,
        "type": "Microsoft.Compute/virtualMachines",
        "location": vm.location,
        "tags": vm.tags,
        "properties": {
            "vmId": vm.vm_id,
            "hardwareProfile": {"vmSize": vm.size},
            "storageProfile": {
                "imageReference": image,
                "osDisk": {
                    "osType": vm.os, "name": os_disk, "createOption": "FromImage", "caching": "ReadWrite",
                    "managedDisk": {"storageAccountType": "Premium_LRS", "id": disk_id(&vm.subscription, &vm.resource_group, &os_disk)},
                    "deleteOption": "Detach", "diskSizeGB": os_size,
                },
                "dataDisks": data,
                "diskControllerType": "SCSI",
            },
            "osProfile": os_profile,
            "securityProfile": {"securityType": "TrustedLaunch", "uefiSettings": {"secureBootEnabled": true, "vTpmEnabled": true}},
            "networkProfile": {"networkInterfaces": [{"id": nic_id(vm)}]},
            "diagnosticsProfile": {"bootDiagnostics": {"enabled": true}},
            "provisioningState": "Succeeded",
            "timeCreated": "2026-01-05T08:00:00.0000000+00:00",
        },
    });
    if let Some(z) = &vm.zone {
        body["zones"] = json!([z]);
    }
    body
}

/// The VM's network interface, `<vm>-nic` in its resource group (`network.rs`).
pub fn nic_id(vm: &Vm) -> String {
    format!(
        "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Network/networkInterfaces/{}-nic",
        vm.subscription, vm.resource_group, vm.name
    )
}

pub fn disk_body(d: &Disk) -> Value {
    let perf = performance(&d.sku, d.size_gb);
    let mut props = json!({
        "creationData": match &d.source_resource_id {
            Some(src) => json!({"createOption": "Copy", "sourceResourceId": src}),
            None => json!({"createOption": if d.os_type.is_some() { "FromImage" } else { "Empty" }}),
        },
        "diskSizeGB": d.size_gb,
        "diskSizeBytes": d.size_gb as u64 * 1024 * 1024 * 1024,
        "uniqueId": d.unique_id,
        "encryption": {"type": "EncryptionAtRestWithPlatformKey"},
        "networkAccessPolicy": "AllowAll",
        "publicNetworkAccess": "Enabled",
        "timeCreated": d.time_created,
        "provisioningState": "Succeeded",
        "diskState": if d.managed_by.is_some() { "Attached" } else { "Unattached" },
        "tier": perf.0,
        "diskIOPSReadWrite": perf.1,
        "diskMBpsReadWrite": perf.2,
    });
    if let Some(os) = &d.os_type {
        props["osType"] = json!(os);
        props["hyperVGeneration"] = json!("V2");
    }
    let mut body = json!({
        "name": d.name,
        "id": disk_id(&d.subscription, &d.resource_group, &d.name),
        "type": "Microsoft.Compute/disks",
        "location": d.location,
        "tags": d.tags,
        "sku": {"name": d.sku, "tier": if d.sku.starts_with("Premium") { "Premium" } else { "Standard" }},
        "properties": props,
    });
    if let Some(m) = &d.managed_by {
        body["managedBy"] = json!(m);
    }
    if let Some(z) = &d.zone {
        body["zones"] = json!([z]);
    }
    body
}

/// `(tier, diskIOPSReadWrite, diskMBpsReadWrite)` of a disk: Premium SSD by size tier, others
/// at the Standard baseline. Recording: azure-cli/test_snapshot_incremental.yaml #3 (a 10 GB
/// Premium_LRS disk is tier P3 with 120 IOPS and 25 MBps); the table is the documented Premium
/// SSD one (https://learn.microsoft.com/azure/virtual-machines/disks-types#premium-ssd-size).
fn performance(sku: &str, size_gb: u32) -> (&'static str, u32, u32) {
    if !sku.starts_with("Premium") || sku.starts_with("PremiumV2") {
        return ("", 500, 60);
    }
    const TIERS: [(u32, &str, u32, u32); 10] = [
        (4, "P1", 120, 25),
        (8, "P2", 120, 25),
        (16, "P3", 120, 25),
        (32, "P4", 120, 25),
        (64, "P6", 240, 50),
        (128, "P10", 500, 100),
        (256, "P15", 1100, 125),
        (512, "P20", 2300, 150),
        (1024, "P30", 5000, 200),
        (2048, "P40", 7500, 250),
    ];
    TIERS
        .iter()
        .find(|t| size_gb <= t.0)
        .map_or(("P50", 7500, 250), |t| (t.1, t.2, t.3))
}

pub fn route(ctx: &Ctx<'_>, st: &mut State) -> HResult {
    let m = ctx.method.as_str();
    let is_disks = ctx.lsegs.iter().any(|s| s == "disks");
    ctx.require_api(if is_disks {
        DISK_API_VERSIONS
    } else {
        API_VERSIONS
    })?;
    if let Some(v) = ctx.m("subscriptions/*/providers/microsoft.compute/virtualmachines") {
        only_get(m)?;
        let items: Vec<(&String, &Vm)> = st
            .vms
            .iter()
            .filter(|(_, vm)| vm.subscription.eq_ignore_ascii_case(&v[0]))
            .collect();
        return Ok(vm_page(ctx, st, items));
    }
    if let Some(v) =
        ctx.m("subscriptions/*/resourcegroups/*/providers/microsoft.compute/virtualmachines")
    {
        only_get(m)?;
        require_rg(st, &v[0], &v[1])?;
        let prefix = key(&[&v[0], &v[1]]) + "/";
        let items: Vec<(&String, &Vm)> = st
            .vms
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .collect();
        return Ok(vm_page(ctx, st, items));
    }
    if let Some(v) = ctx.m(
        "subscriptions/*/resourcegroups/*/providers/microsoft.compute/virtualmachines/*/instanceview",
    ) {
        only_get(m)?;
        require_rg(st, &v[0], &v[1])?;
        let vm = find_vm(st, &v)?;
        return Ok(Reply::ok(instance_view(st, vm, ctx.now)));
    }
    if let Some(v) =
        ctx.m("subscriptions/*/resourcegroups/*/providers/microsoft.compute/virtualmachines/*")
    {
        let k = key(&[&v[0], &v[1], &v[2]]);
        let exists = st.vms.contains_key(&k);
        match m {
            // ARM: deleting what does not exist is a 204 (test_backup_diskaccess_restore #0).
            "DELETE" if !exists => return Ok(Reply::status(204, None)),
            "DELETE" => return Ok(delete_vm(ctx, st, &k)),
            "GET" => {}
            _ => {
                return Err(ArmError::bad_request(
                    "OperationNotAllowed",
                    "The sandbox's virtual machines come from its inventory or a restore; they are read-only.",
                ))
            }
        }
        require_rg(st, &v[0], &v[1])?;
        let vm = find_vm(st, &v)?;
        let mut body = vm_body(st, vm);
        if ctx
            .q("$expand")
            .is_some_and(|e| e.eq_ignore_ascii_case("instanceView"))
        {
            body["properties"]["instanceView"] = instance_view(st, vm, ctx.now);
        }
        return Ok(Reply::ok(body));
    }
    if let Some(v) = ctx.m("subscriptions/*/providers/microsoft.compute/disks") {
        only_get(m)?;
        let items: Vec<&Disk> = st
            .disks
            .values()
            .filter(|d| d.subscription.eq_ignore_ascii_case(&v[0]))
            .collect();
        return Ok(Reply::ok(ctx.page_map(items, false, disk_body)));
    }
    if let Some(v) = ctx.m("subscriptions/*/resourcegroups/*/providers/microsoft.compute/disks") {
        only_get(m)?;
        require_rg(st, &v[0], &v[1])?;
        let prefix = key(&[&v[0], &v[1]]) + "/";
        let items: Vec<&Disk> = st
            .disks
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .map(|(_, d)| d)
            .collect();
        return Ok(Reply::ok(ctx.page_map(items, false, disk_body)));
    }
    if let Some(v) = ctx.m("subscriptions/*/resourcegroups/*/providers/microsoft.compute/disks/*") {
        if m != "GET" {
            return Err(ArmError::bad_request(
                "OperationNotAllowed",
                "The sandbox's disks come from its inventory and are read-only.",
            ));
        }
        require_rg(st, &v[0], &v[1])?;
        return st
            .disks
            .get(&key(&[&v[0], &v[1], &v[2]]))
            .map(|d| Reply::ok(disk_body(d)))
            .ok_or_else(|| ArmError::resource_not_found("Microsoft.Compute/disks", &v[1], &v[2]));
    }
    let rtype = ctx
        .lsegs
        .get(if ctx.lsegs[2] == "providers" { 4 } else { 6 })
        .cloned()
        .unwrap_or_default();
    Err(ArmError::invalid_resource_type("Microsoft.Compute", &rtype))
}

fn find_vm<'a>(st: &'a State, v: &[String]) -> Result<&'a Vm, ArmError> {
    st.vms.get(&key(&[&v[0], &v[1], &v[2]])).ok_or_else(|| {
        ArmError::resource_not_found("Microsoft.Compute/virtualMachines", &v[1], &v[2])
    })
}

/// A VM's instance view: provisioned and running (the sandbox's VMs never stop). Shape: the
/// Compute spec's VirtualMachineInstanceView (example VirtualMachine_Get_InstanceView).
fn instance_view(st: &State, vm: &Vm, now: i64) -> Value {
    let body = vm_body(st, vm);
    let storage = &body["properties"]["storageProfile"];
    let disks: Vec<Value> = std::iter::once(&storage["osDisk"])
        .chain(storage["dataDisks"].as_array().into_iter().flatten())
        .map(|d| {
            json!({"name": d["name"], "statuses": [{
                "code": "ProvisioningState/succeeded", "level": "Info",
                "displayStatus": "Provisioning succeeded", "time": super::lro::fmt_time(now),
            }]})
        })
        .collect();
    json!({
        "computerName": vm.name,
        "osName": if vm.os == "Linux" { "ubuntu" } else { "Windows Server 2022 Datacenter Azure Edition" },
        "vmAgent": {"vmAgentVersion": "2.11.1.12", "statuses": [{"code": "ProvisioningState/succeeded", "level": "Info", "displayStatus": "Ready"}]},
        "disks": disks,
        "hyperVGeneration": "V2",
        "statuses": [
            {"code": "ProvisioningState/succeeded", "level": "Info", "displayStatus": "Provisioning succeeded", "time": super::lro::fmt_time(now)},
            {"code": "PowerState/running", "level": "Info", "displayStatus": "VM running"},
        ],
    })
}

/// DELETE a VM: 202 and a Compute operation (recording test_backup_diskaccess_restore.yaml
/// #42: `Azure-AsyncOperation` at `…/locations/{region}/operations/{id}`, `Location` with
/// `monitor=true`). Its disks and NIC stay, detached: their `deleteOption` is `Detach`, as on
/// the recorded VM (test_backup_protection.yaml, the VM GET at L1451).
fn delete_vm(ctx: &Ctx<'_>, st: &mut State, k: &str) -> Reply {
    let Some(vm) = st.vms.remove(k) else {
        return Reply::status(204, None);
    };
    let id = vm_id(&vm.subscription, &vm.resource_group, &vm.name);
    for d in st.disks.values_mut() {
        if d.managed_by
            .as_deref()
            .is_some_and(|m| m.eq_ignore_ascii_case(&id))
        {
            d.managed_by = None;
        }
    }
    let nic = super::network::left_behind(st, &vm);
    st.nics_left.insert(
        key(&[&nic.subscription, &nic.resource_group, &nic.name]),
        nic,
    );
    forget_rendered(ctx, k);
    let op = super::snapshots::start(ctx, st, "vm:delete", VM_DELETE, None, "empty");
    Reply::status(202, None)
        .headers(super::snapshots::op_headers(
            ctx,
            (&vm.subscription, &vm.location),
            "operations",
            &op,
        ))
        .mutated()
}

/// Drop a VM's rendered JSON, and what Resource Graph packed of it (its tags or existence
/// changed).
pub(super) fn forget_rendered(ctx: &Ctx<'_>, k: &str) {
    let mut cache = ctx.app.vm_json.lock().unwrap_or_else(|p| p.into_inner());
    cache.remove(k);
    let mut packed = ctx
        .app
        .graph_packed
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    packed.remove(k);
}

/// [`forget_rendered`] for every VM whose state key `gone` says, each cache locked once.
pub(super) fn forget_rendered_where(ctx: &Ctx<'_>, gone: impl Fn(&str) -> bool) {
    let mut cache = ctx.app.vm_json.lock().unwrap_or_else(|p| p.into_inner());
    cache.retain(|k, _| !gone(k));
    let mut packed = ctx
        .app
        .graph_packed
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    packed.retain(|k, _| !gone(k));
}

/// A page of VMs from the rendered-JSON cache (a VM's entry is dropped when its tags change or it
/// is deleted).
fn vm_page(ctx: &Ctx<'_>, st: &State, items: Vec<(&String, &Vm)>) -> Reply {
    let mut cache = match ctx.app.vm_json.lock() {
        Ok(c) => c,
        Err(p) => p.into_inner(),
    };
    Reply::raw_json(ctx.page_raw(items, false, |(k, vm)| {
        cache
            .entry(k.clone())
            .or_insert_with(|| Arc::from(vm_body(st, vm).to_string()))
            .clone()
    }))
}

fn only_get(m: &str) -> Result<(), ArmError> {
    if m == "GET" {
        Ok(())
    } else {
        Err(ArmError::method_not_allowed(m))
    }
}
