//! Restoring a protected VM from a recovery point: `POST {item}/recoveryPoints/{rp}/restore`
//! with an `IaasVMRestoreRequest` (FACTS §8; recording azure-cli/test_backup_diskaccess_restore
//! .yaml #34–43): 202 with the item's operation URLs, an operation that ends once the restore job
//! exists (its status names the job), and a `Restore` job that runs about 2.5 Azure minutes with
//! the recorded tasks and property bag. What the job creates lands when it completes:
//!
//! * `AlternateLocation` — a new VM (`targetVirtualMachineId`) with the point's disks (or the
//!   `restoreDiskLunList` ones) in `targetResourceGroupId`, in the vault's region, the source VM's
//!   size, OS, zone and tags;
//! * `RestoreDisks` — managed disks `<vm>-osdisk-<time>` / `<vm>-datadisk-<lun>-<time>` in
//!   `targetResourceGroupId`, and the job's "Config Blob Uri" / "Template Blob Uri";
//! * `OriginalLocation` — the source VM's disks rewritten from the point (they name it as their
//!   source).
//!
//! Checked before anything starts, as Azure checks: the point exists and holds the LUNs asked
//! for, the region is the vault's, the staging storage account, target resource group, network
//! and subnet exist and are in that region, the new VM's name is free. UNCONFIRMED: the refusal
//! codes (README "Known to differ").

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::super::errors::ArmError;
use super::super::handler::Ctx;
use super::super::lro;
use super::super::state::{key, Disk, State, Vault, Vm};

/// How long a restore job runs, in Azure seconds (the recording: PT2M31S).
const RESTORE_SECS: f64 = 150.0;

/// What a restore job leaves behind when it completes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Effect {
    NewVm { vm: Box<Vm> },
    Disks { disks: Vec<Disk> },
    Rewrite { disks: Vec<String>, point: String },
}

/// A restore job still running, and what it will leave.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Pending {
    pub done_ms: i64,
    pub effect: Effect,
}

/// Land the restores whose jobs have completed (a failed job is never pending: it leaves nothing).
pub fn land(st: &mut State, now: i64) {
    if st.restores.iter().all(|r| r.done_ms > now) {
        return;
    }
    let (done, running): (Vec<Pending>, Vec<Pending>) = std::mem::take(&mut st.restores)
        .into_iter()
        .partition(|r| r.done_ms <= now);
    st.restores = running;
    for r in done {
        match r.effect {
            Effect::NewVm { vm } => super::super::inventory::add_vm(st, None, *vm),
            Effect::Disks { disks } => {
                for d in disks {
                    st.disks
                        .insert(key(&[&d.subscription, &d.resource_group, &d.name]), d);
                }
            }
            Effect::Rewrite { disks, point } => {
                for k in disks {
                    if let Some(d) = st.disks.get_mut(&k) {
                        d.time_created = lro::fmt_time(r.done_ms);
                        d.source_resource_id = Some(point.clone());
                    }
                }
            }
        }
    }
}

fn invalid(code: &str, message: impl Into<String>) -> ArmError {
    ArmError::bad_request(code, message)
}

fn last(id: &str) -> &str {
    id.trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default()
}

/// The request's resource of `rtype` at `id` from the inventory, in `region`.
fn inventory_resource<'a>(
    st: &'a State,
    id: &str,
    what: &str,
    region: &str,
) -> Result<&'a super::super::state::GenericResource, ArmError> {
    let r = st.resources.get(&id.to_ascii_lowercase()).ok_or_else(|| {
        invalid(
            "UserErrorRestoreResourceNotFound",
            format!("The {what} '{id}' was not found."),
        )
    })?;
    if !r.location.eq_ignore_ascii_case(region) {
        return Err(invalid(
            "UserErrorRestoreResourceInDifferentRegion",
            format!(
                "The {what} '{id}' is in {}; a restore in {region} needs one in {region}.",
                r.location
            ),
        ));
    }
    Ok(r)
}

/// What the request asks for, checked.
pub struct Checked {
    pub effect: Effect,
    pub property_bag: Value,
}

/// Check a restore request of the item's point `point_ms` against the state.
pub fn check(
    st: &State,
    vault: &Vault,
    source: &Vm,
    point: (&str, i64),
    included_luns: &[u32],
    body: &Value,
    now: i64,
) -> Result<Checked, ArmError> {
    let p = &body["properties"];
    let ot = p["objectType"].as_str().unwrap_or_default();
    if !ot.eq_ignore_ascii_case("IaasVMRestoreRequest")
        && !ot.eq_ignore_ascii_case("IaasVMRestoreWithRehydrationRequest")
    {
        return Err(invalid(
            "BMSUserErrorInvalidInput",
            format!("properties.objectType must be IaasVMRestoreRequest, got '{ot}'."),
        ));
    }
    let region = vault.location.to_ascii_lowercase();
    if let Some(r) = p["region"].as_str() {
        if !r.replace(' ', "").eq_ignore_ascii_case(&region) {
            return Err(invalid(
                "UserErrorInvalidRestoreRegion",
                format!("A restore from this vault's primary copy goes to its region, {region}, not {r}."),
            ));
        }
    }
    let luns: Vec<u32> = match p["restoreDiskLunList"].as_array() {
        None => included_luns.to_vec(),
        Some(l) => {
            let asked: Vec<u32> = l
                .iter()
                .filter_map(|v| v.as_u64().and_then(|n| u32::try_from(n).ok()))
                .collect();
            if let Some(missing) = asked.iter().find(|l| !included_luns.contains(l)) {
                return Err(invalid(
                    "UserErrorRestoreDiskNotInRecoveryPoint",
                    format!("The recovery point holds no data disk at LUN {missing}; it holds {included_luns:?}."),
                ));
            }
            asked
        }
    };
    let kind = p["recoveryType"]
        .as_str()
        .unwrap_or_default()
        .to_ascii_lowercase();
    // Every kind stages through a storage account (FACTS §8: OriginalLocation sends the keys
    // RestoreDisks does).
    let Some(storage_id) = p["storageAccountId"].as_str() else {
        return Err(invalid(
            "UserErrorStorageAccountRequired",
            "A staging storage account (storageAccountId) is required for this restore.",
        ));
    };
    let storage = inventory_resource(st, storage_id, "storage account", &region)?
        .name
        .clone();
    let target_rg = || -> Result<(String, String), ArmError> {
        let Some(id) = p["targetResourceGroupId"].as_str() else {
            return Err(invalid(
                "UserErrorTargetResourceGroupRequired",
                "targetResourceGroupId is required for this restore.",
            ));
        };
        let (s, rg) = super::super::data_protection::parse_rg_id(id).ok_or_else(|| {
            invalid(
                "BMSUserErrorInvalidInput",
                format!("'{id}' is not a resource group id."),
            )
        })?;
        let group = st.resource_groups.get(&key(&[&s, &rg])).ok_or_else(|| {
            invalid(
                "UserErrorTargetResourceGroupNotFound",
                format!("The target resource group '{rg}' was not found."),
            )
        })?;
        Ok((group.subscription.clone(), group.name.clone()))
    };
    let stamp = lro::fmt_time(now)
        .replace(['-', ':'], "")
        .replace('T', "-")
        .chars()
        .take(15)
        .collect::<String>();
    let size_of = |lun: u32| source.data_disks.get(lun as usize).copied().unwrap_or(32);
    let point_time = lro::fmt_time(point.1);
    let mut bag = json!({
        "Original VM Name": source.name,
        "Recovery point time ": point_time,
    });
    bag["Target Storage Account Name"] = json!(storage);
    let effect = match kind.as_str() {
        "alternatelocation" => {
            let (sub, rg) = target_rg()?;
            let vm_id = p["targetVirtualMachineId"].as_str().ok_or_else(|| {
                invalid("BMSUserErrorInvalidInput", "targetVirtualMachineId is required to restore as a new VM.")
            })?;
            let name = last(vm_id).to_string();
            if st.vms.contains_key(&key(&[&sub, &rg, &name])) {
                return Err(ArmError::conflict(
                    "UserErrorVmAlreadyExists",
                    format!("A virtual machine named '{name}' already exists in resource group '{rg}'."),
                ));
            }
            let vnet_id = p["virtualNetworkId"].as_str().unwrap_or_default();
            let vnet = inventory_resource(st, vnet_id, "virtual network", &region)?;
            let subnet = p["subnetId"].as_str().unwrap_or_default();
            let known = vnet.properties["subnets"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|s| s["id"].as_str().is_some_and(|i| i.eq_ignore_ascii_case(subnet)));
            if !known {
                return Err(invalid(
                    "UserErrorSubnetNotFound",
                    format!("The subnet '{subnet}' was not found in virtual network '{}'.", vnet.name),
                ));
            }
            bag["Job Type"] = json!("Recover VM to an alternate location");
            bag["Target VM Name"] = json!(name);
            bag["Target VNet Name"] = json!(format!("Group {rg} {}", vnet.name));
            bag["Target resource group"] = json!(rg);
            let vm = Vm {
                subscription: sub,
                resource_group: rg,
                name: name.clone(),
                location: region.clone(),
                size: source.size.clone(),
                os: source.os.clone(),
                zone: source.zone.clone(),
                tags: source.tags.clone(),
                vm_id: String::new(),
                data_disks: luns.iter().map(|l| size_of(*l)).collect(),
                subnet: Some(subnet.to_string()),
            };
            Effect::NewVm { vm: Box::new(vm) }
        }
        "restoredisks" => {
            let (sub, rg) = target_rg()?;
            let disk = |name: String, size: u32, os: Option<String>| Disk {
                subscription: sub.clone(),
                resource_group: rg.clone(),
                location: region.clone(),
                size_gb: size,
                sku: "Premium_LRS".into(),
                zone: source.zone.clone(),
                tags: Default::default(),
                unique_id: super::super::inventory::stable_guid(&format!("{sub}/{rg}/{name}")),
                os_type: os,
                managed_by: None,
                time_created: lro::fmt_time(now),
                source_resource_id: Some(point.0.to_string()),
                name,
            };
            let os_size = if source.os == "Windows" { 127 } else { 30 };
            let mut disks = vec![disk(
                format!("{}-osdisk-{stamp}", source.name),
                os_size,
                Some(source.os.clone()),
            )];
            for l in &luns {
                disks.push(disk(format!("{}-datadisk-{l}-{stamp}", source.name), size_of(*l), None));
            }
            let account = &storage;
            bag["Job Type"] = json!("Restore disks");
            bag["Target resource group"] = json!(rg);
            bag["Config Blob Uri"] = json!(format!("https://{account}.blob.core.windows.net/{}-config/config-{stamp}.json", source.name));
            bag["Template Blob Uri"] = json!(format!("https://{account}.blob.core.windows.net/{}-config/azuredeploy-{stamp}.json", source.name));
            Effect::Disks { disks }
        }
        "originallocation" => {
            let mut disks = vec![key(&[&source.subscription, &source.resource_group, &format!("{}-osdisk", source.name)])];
            for l in &luns {
                disks.push(key(&[&source.subscription, &source.resource_group, &format!("{}-data-{l}", source.name)]));
            }
            bag["Job Type"] = json!("Recover VM to the original location (replace disks)");
            Effect::Rewrite {
                disks,
                point: point.0.to_string(),
            }
        }
        other => {
            return Err(invalid(
                "BMSUserErrorInvalidInput",
                format!("recoveryType '{other}' is not one of AlternateLocation, RestoreDisks, OriginalLocation."),
            ))
        }
    };
    Ok(Checked {
        effect,
        property_bag: bag,
    })
}

/// Start the restore: the job and what it will leave; returns the job id.
pub fn start(
    st: &mut State,
    vault_key: &str,
    source: &Vm,
    checked: Checked,
    now: i64,
    scale: f64,
    failed: Option<Value>,
) -> String {
    let duration = lro::scaled_ms(RESTORE_SECS, scale);
    // A failed job leaves nothing, so only one that will succeed is pending.
    let failed_job = failed.is_some();
    let job = super::super::jobs::new_job(
        st,
        vault_key,
        "Restore",
        (
            &source.name,
            super::super::state::job_container(&source.resource_group, &source.name),
        ),
        now,
        duration,
        failed,
    );
    if let Some(j) = st.jobs.get_mut(&key(&[vault_key, &job])) {
        j.property_bag = Some(checked.property_bag);
    }
    if !failed_job {
        st.restores.push(Pending {
            done_ms: now + duration,
            effect: checked.effect,
        });
    }
    job
}

/// The POST, as the item route hands it over.
pub fn route(
    ctx: &Ctx<'_>,
    st: &mut State,
    vault: &Vault,
    item_key: &str,
    point_name: &str,
) -> Result<String, ArmError> {
    if ctx.method != "POST" {
        return Err(ArmError::method_not_allowed(&ctx.method));
    }
    restore_with(ctx, st, (vault, item_key, point_name), ctx.json())
}

/// A restore of the item's point, `body` its `RestoreRequestResource`, into the region of
/// `vault` (a cross-region restore passes the vault as seen from its paired region).
pub(super) fn restore_with(
    ctx: &Ctx<'_>,
    st: &mut State,
    (vault, item_key, point_name): (&Vault, &str, &str),
    body: Result<Value, ArmError>,
) -> Result<String, ArmError> {
    let it = st.items.get(item_key).cloned().ok_or_else(|| {
        ArmError::not_found(
            "BMSUserErrorItemNotFound",
            "The item is not protected in this vault.",
        )
    })?;
    let sim = super::recovery_points::Sim::of(ctx);
    let scale = sim.scale;
    let point = super::recovery_points::find_point(st, &it, item_key, point_name, ctx.now, sim)
        .ok_or_else(|| super::recovery_points::point_not_found(point_name))?;
    // The body is parsed once; a body that does not parse is refused after the source VM's check.
    let kind = body
        .as_ref()
        .ok()
        .and_then(|b| b["properties"]["recoveryType"].as_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let live = super::recovery_points::item_vm(st, &it).cloned();
    // Restoring a deleted VM's points as a new VM or as disks is what backups are for; only a
    // restore onto the VM itself needs it to exist. Its size and OS, then, are not known here
    // (README "Known to differ").
    let source =
        match (live, kind.as_str()) {
            (Some(vm), _) => vm,
            (None, "originallocation") => return Err(invalid(
                "BMSUserErrorVMNotFound",
                "The source virtual machine no longer exists: restore it as a new VM or as disks.",
            )),
            (None, _) => Vm {
                subscription: vault.subscription.clone(),
                resource_group: it.vm_resource_group.clone(),
                name: it.vm_name.clone(),
                location: it.vm_location.clone(),
                size: "Standard_D2s_v5".into(),
                os: "Linux".into(),
                zone: None,
                tags: Default::default(),
                vm_id: it.vm_id.clone(),
                data_disks: vec![],
                subnet: None,
            },
        };
    let included = super::recovery_points::included_luns(Some(&source), &it);
    let body = body?;
    let checked = check(
        st,
        vault,
        &source,
        (point_name, point.ms),
        &included,
        &body,
        ctx.now,
    )?;
    let named = ctx
        .app
        .faults
        .as_ref()
        .is_some_and(|f| f.restore_fails(&source.name));
    let failed = if named {
        Some(
            json!({"code": "UserErrorSkuNotAvailable", "message": format!("VM creation failed as VM size {} selected is not available in {}.", source.size, vault.location), "status": 400}),
        )
    } else {
        ctx.lro_fails().then(|| json!({"code": "UserErrorRestoreFailed", "message": "The restore failed (injected fault).", "status": 500}))
    };
    Ok(start(
        st,
        &vault.key(),
        &source,
        checked,
        ctx.now,
        scale,
        failed,
    ))
}
