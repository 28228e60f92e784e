//! A protected VM's recovery points: `GET {item}/recoveryPoints` and `{item}/recoveryPoints/{id}`
//! (api 2024-04-01 and later). Derived, not stored, over simulated time (an Azure day lasts
//! `86,400 s × time_scale`, as for Disk Backup's points): the first backup, the policy's runs
//! each day since (once for a daily policy, every N hours within the window for an hourly one),
//! and each on-demand backup, while the policy's daily retention keeps them. A point is in the
//! snapshot tier (`InstantRP`) for the policy's instant-restore days and in the vault
//! (`HardenedRP`) once its backup job completed. Runs follow the first backup by whole days
//! rather than the policy's time of day.
//!
//! Shape: recording azure-cli/test_backup_diskaccess_restore.yaml #1 (L111) — `IaasVMRecoveryPoint`
//! with `recoveryPointType`, `recoveryPointTime`, `recoveryPointTierDetails`, `virtualMachineSize`,
//! `osType`, `zones`, `recoveryPointProperties{expiryTime, ruleName}`; the disk list
//! (`recoveryPointDiskConfiguration`) from the spec (RecoveryServicesBackup IaasVMRecoveryPoint).
//! A Windows VM's points are application-consistent, a Linux VM's file-system-consistent (the
//! recording's Linux VM; VSS on Windows).

use serde_json::{json, Value};

use super::super::errors::ArmError;
use super::super::handler::{Ctx, HResult, Reply};
use super::super::lro;
use super::super::state::{key, Item, State, Vm};

/// How the sandbox runs at this request: its time scale, and the VMs whose scheduled backups
/// fail (`backup_fail=` in `faults.rs`).
#[derive(Clone, Copy)]
pub struct Sim<'a> {
    pub scale: f64,
    faults: Option<&'a super::super::faults::Faults>,
}

impl<'a> Sim<'a> {
    pub fn of(ctx: &'a Ctx<'_>) -> Sim<'a> {
        Sim {
            scale: ctx.app.time_scale,
            faults: ctx.app.faults.as_ref(),
        }
    }

    /// Do the VM's scheduled backups fail?
    pub fn backup_fails(&self, it: &Item) -> bool {
        self.faults
            .is_some_and(|f| f.backup_fails(&it.vm_resource_group, &it.vm_name))
    }

    /// Does the VM's first backup fail too (`first_backup_fail=`)?
    pub fn first_backup_fails(&self, rg: &str, vm: &str) -> bool {
        self.faults.is_some_and(|f| f.first_backup_fails(rg, vm))
    }

    /// `t` (before `now`) stamped at its simulated age: the real time since it over the time
    /// scale, so that a client's clock sees simulated time go by.
    pub fn aged(&self, t: i64, now: i64) -> i64 {
        now - ((now - t).max(0) as f64 / self.scale.max(f64::MIN_POSITIVE)) as i64
    }
}

/// One recovery point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Point {
    pub ms: i64,
    pub expiry_ms: i64,
}

/// The item's policy in real milliseconds at the sandbox's time scale: how far apart its runs of
/// a day are and how many, its daily retention and instant-restore days.
struct Schedule {
    day_ms: i64,
    every_ms: i64,
    runs: i64,
    retention_ms: i64,
    instant_ms: i64,
}

fn schedule(st: &State, it: &Item, sim: Sim) -> Schedule {
    let azure = |secs: i64| lro::scaled_ms(secs as f64, sim.scale).max(1);
    let p = it
        .policy_name
        .as_deref()
        .and_then(|n| st.policies.get(&key(&[&it.vault_key, n])))
        .map(|p| &p.properties);
    let null = Value::Null;
    let p = p.unwrap_or(&null);
    let days = p["retentionPolicy"]["dailySchedule"]["retentionDuration"]["count"]
        .as_i64()
        .or_else(|| p["retentionPolicy"]["retentionDuration"]["count"].as_i64())
        .unwrap_or(30);
    let instant = p["instantRpRetentionRangeInDays"].as_i64().unwrap_or(2);
    let sp = &p["schedulePolicy"];
    let (every_h, runs) = if sp["scheduleRunFrequency"] == "Hourly" {
        let h = &sp["hourlySchedule"];
        let every = h["interval"].as_i64().unwrap_or(4).max(1);
        let window = h["scheduleWindowDuration"].as_i64().unwrap_or(24).max(1);
        (every, (window / every).max(1))
    } else {
        (24, 1)
    };
    Schedule {
        day_ms: azure(86_400),
        every_ms: azure(every_h * 3_600),
        runs,
        retention_ms: azure(days * 86_400),
        instant_ms: azure(instant * 86_400),
    }
}

/// The times of the item's scheduled backups after its first, up to `now`, within the policy's
/// daily retention: the policy's runs each day (once for a daily policy, every N hours within the
/// window for an hourly one). None once protection stops.
pub fn scheduled_runs(st: &State, it: &Item, now: i64, sim: Sim) -> Vec<i64> {
    let s = schedule(st, it, sim);
    let mut times = Vec::new();
    if it.state == "Protected" && it.deleted_ms.is_none() {
        let oldest_kept = now - s.retention_ms;
        let mut day = ((oldest_kept - it.first_backup_ms) / s.day_ms).max(0);
        while it.first_backup_ms + day * s.day_ms <= now {
            for r in 0..s.runs {
                let t = it.first_backup_ms + day * s.day_ms + r * s.every_ms;
                if t > it.first_backup_ms && t <= now {
                    times.push(t);
                }
            }
            day += 1;
        }
    }
    times
}

/// The failed `Backup` jobs of the vault's items whose scheduled backups fail (`backup_fail=`):
/// one per scheduled run, derived like the points (the 50 newest per item), each taking 30
/// Azure minutes to fail with the VM agent error.
pub fn failed_backup_jobs(
    ctx: &Ctx<'_>,
    st: &State,
    vault_key: &str,
) -> Vec<super::super::state::Job> {
    let sim = Sim::of(ctx);
    let mut jobs = Vec::new();
    for it in st.items_in(vault_key) {
        if !sim.backup_fails(it) {
            continue;
        }
        let mut runs = scheduled_runs(st, it, ctx.now, sim);
        runs.sort_unstable_by(|a, b| b.cmp(a));
        for run in runs.into_iter().take(50) {
            jobs.push(super::super::state::Job {
                vault_key: vault_key.to_string(),
                id: super::super::inventory::stable_guid(&format!(
                    "backup-fail:{}:{run}",
                    it.vm_id
                )),
                operation: "Backup".into(),
                entity_friendly_name: it.vm_name.clone(),
                container: it.job_container(),
                start_ms: run,
                duration_ms: lro::scaled_ms(30.0 * 60.0, sim.scale),
                failed: Some(super::item_body::failure()),
                property_bag: None,
            });
        }
    }
    jobs
}

/// The item's recovery points at `now`, newest first: its first backup, its on-demand backups
/// and its scheduled runs — unless they fail (`backup_fail=`).
pub fn points(st: &State, it: &Item, now: i64, sim: Sim) -> Vec<Point> {
    if sim.first_backup_fails(&it.vm_resource_group, &it.vm_name) {
        return vec![];
    }
    if it.first_backup_ms > now && it.backups_ms.iter().all(|b| *b > now) {
        return vec![];
    }
    let s = schedule(st, it, sim);
    let mut times: Vec<i64> = vec![it.first_backup_ms];
    times.extend(it.backups_ms.iter().copied());
    if !sim.backup_fails(it) {
        times.extend(scheduled_runs(st, it, now, sim));
    }
    times.retain(|t| *t <= now);
    times.sort_unstable_by(|a, b| b.cmp(a));
    times.dedup();
    // A stopped item's points are kept (retain data); a protected item's expire.
    let keep_all = it.state != "Protected";
    times
        .into_iter()
        .map(|ms| Point {
            ms,
            expiry_ms: ms + s.retention_ms,
        })
        .filter(|p| keep_all || p.expiry_ms > now)
        .collect()
}

/// The point's name: 14 digits, stable for the item and time.
pub fn point_name(item_key: &str, ms: i64) -> String {
    let g = uuid::Uuid::new_v5(
        &uuid::Uuid::NAMESPACE_OID,
        format!("{item_key}/{ms}").as_bytes(),
    );
    let n = u64::from_le_bytes(g.as_bytes()[..8].try_into().unwrap_or_default());
    format!("{:014}", n % 100_000_000_000_000)
}

/// The data-disk LUNs a point of this VM holds: each the item did not exclude.
pub fn included_luns(vm: Option<&Vm>, it: &Item) -> Vec<u32> {
    all_luns(vm).into_iter().filter(|l| kept(it, *l)).collect()
}

/// A VM's data disks sit at LUNs 0, 1, … in inventory order (`data_disks` holds their sizes).
fn all_luns(vm: Option<&Vm>) -> Vec<u32> {
    (0..vm.map_or(0, |v| v.data_disks.len() as u32)).collect()
}

/// Whether the item's disk exclusion keeps `lun`.
fn kept(it: &Item, lun: u32) -> bool {
    let excluded: Vec<i64> = it
        .extended_properties
        .as_ref()
        .and_then(|e| e["diskExclusionProperties"]["diskLunList"].as_array())
        .map(|l| l.iter().filter_map(Value::as_i64).collect())
        .unwrap_or_default();
    let inclusion = it
        .extended_properties
        .as_ref()
        .and_then(|e| e["diskExclusionProperties"]["isInclusionList"].as_bool())
        .unwrap_or(false);
    excluded.contains(&(lun as i64)) == inclusion
}

/// The disks a point of this VM holds: the OS disk and each data disk the item did not exclude.
fn disk_configuration(vm: Option<&Vm>, it: &Item) -> Value {
    let luns = all_luns(vm);
    let disk = |lun: Option<u32>| {
        let name = match (vm, lun) {
            (Some(v), None) => format!("{}_OsDisk", v.name),
            (Some(v), Some(l)) => format!("{}_DataDisk_{l}", v.name),
            (None, l) => format!("disk-{}", l.map_or("os".into(), |l| l.to_string())),
        };
        json!({"lun": lun.map_or(-1, i64::from), "name": name})
    };
    let mut included = vec![disk(None)];
    let mut left_out = Vec::new();
    for l in &luns {
        if kept(it, *l) {
            included.push(disk(Some(*l)));
        } else {
            left_out.push(disk(Some(*l)));
        }
    }
    json!({
        "numberOfDisksIncludedInBackup": included.len(),
        "numberOfDisksAttachedToVm": luns.len() + 1,
        "includedDiskList": included,
        "excludedDiskList": left_out,
    })
}

/// The item's VM, if it still exists: the one its ARM id names.
pub fn item_vm<'a>(st: &'a State, it: &Item) -> Option<&'a Vm> {
    let (sub, rg, name) = super::parse_vm_id(&it.vm_id)?;
    st.vms.get(&key(&[&sub, &rg, &name]))
}

/// The item's point named `name` at `now`, if it has one.
pub fn find_point(
    st: &State,
    it: &Item,
    item_key: &str,
    name: &str,
    now: i64,
    scale: Sim,
) -> Option<Point> {
    points(st, it, now, scale)
        .into_iter()
        .find(|p| point_name(item_key, p.ms) == name)
}

/// The refusal of a point the item does not have.
pub fn point_not_found(name: &str) -> ArmError {
    ArmError::not_found(
        "BMSUserErrorRecoveryPointNotFound",
        format!("Recovery point '{name}' was not found for this item."),
    )
}

/// A point's body; `vm` is the item's VM (if it still exists), `instant_ms` how long a point
/// stays in the snapshot tier.
pub(super) fn point_body(
    (item_id, item_key): (&str, &str),
    it: &Item,
    (vm, instant_ms): (Option<&Vm>, i64),
    p: &Point,
    now: i64,
) -> Value {
    let windows = vm.is_some_and(|v| v.os.eq_ignore_ascii_case("windows"));
    let name = point_name(item_key, p.ms);
    let instant = if now - p.ms < instant_ms {
        "Valid"
    } else {
        "Deleted"
    };
    json!({
        "id": format!("{item_id}/recoveryPoints/{name}"),
        "name": name,
        "type": "Microsoft.RecoveryServices/vaults/backupFabrics/protectionContainers/protectedItems/recoveryPoints",
        "properties": {
            "objectType": "IaasVMRecoveryPoint",
            "recoveryPointType": if windows { "AppConsistent" } else { "FileSystemConsistent" },
            "recoveryPointTime": lro::fmt_time(p.ms),
            "recoveryPointAdditionalInfo": "",
            "sourceVMStorageType": "NormalStorage",
            "isSourceVMEncrypted": false,
            "isInstantIlrSessionActive": false,
            "recoveryPointTierDetails": [
                {"type": "InstantRP", "status": instant},
                {"type": "HardenedRP", "status": "Valid"},
            ],
            "isManagedVirtualMachine": true,
            "virtualMachineSize": vm.map(|v| v.size.clone()),
            "originalStorageAccountOption": false,
            "osType": if windows { "Windows" } else { "Linux" },
            "zones": vm.and_then(|v| v.zone.clone()).map(|z| vec![z]),
            "recoveryPointDiskConfiguration": disk_configuration(vm, it),
            "securityType": "None",
            "recoveryPointProperties": {
                "expiryTime": lro::fmt_time(p.expiry_ms).trim_end_matches('Z'),
                "ruleName": "Daily",
                "isSoftDeleted": it.deleted_ms.is_some(),
            },
            "createdWithPolicyType": "V1",
        }
    })
}

/// GET `{item}/recoveryPoints` (`v`: the item route's captures) or, with `point`, one of them.
pub fn route(
    ctx: &Ctx<'_>,
    st: &State,
    item_id: &str,
    item_key: &str,
    point: Option<&str>,
) -> HResult {
    if ctx.method != "GET" {
        return Err(ArmError::method_not_allowed(&ctx.method));
    }
    let Some(it) = st.items.get(item_key) else {
        return Err(ArmError::not_found(
            "BMSUserErrorItemNotFound",
            "The item is not protected in this vault.",
        ));
    };
    let scale = Sim::of(ctx);
    let vm = item_vm(st, it);
    let instant_ms = schedule(st, it, scale).instant_ms;
    let body = |p: &Point| {
        let mut b = point_body((item_id, item_key), it, (vm, instant_ms), p, ctx.now);
        let name = point_name(item_key, p.ms);
        b["properties"]["isInstantIlrSessionActive"] =
            json!(super::item_recovery::active(st, item_key, &name, ctx.now));
        b
    };
    match point {
        None => Ok(Reply::ok(json!({
            "value": points(st, it, ctx.now, scale).iter().map(body).collect::<Vec<_>>()
        }))),
        Some(name) => find_point(st, it, item_key, name, ctx.now, scale)
            .map(|p| Reply::ok(body(&p)))
            .ok_or_else(|| point_not_found(name)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn point_names_are_fourteen_stable_digits() {
        let a = point_name("s/rg/v/vm;iaasvmcontainerv2;rg;vm", 1_700_000_000_000);
        assert_eq!(a.len(), 14);
        assert!(a.chars().all(|c| c.is_ascii_digit()));
        assert_eq!(
            a,
            point_name("s/rg/v/vm;iaasvmcontainerv2;rg;vm", 1_700_000_000_000)
        );
        assert_ne!(
            a,
            point_name("s/rg/v/vm;iaasvmcontainerv2;rg;vm", 1_700_000_000_001)
        );
    }
}
