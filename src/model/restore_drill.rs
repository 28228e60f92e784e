//! A restore drill as data: the tag that marks what a drill creates (so that no selector of
//! azprotect ever picks it up), a vault's drill defaults from the file, the RPO a policy
//! promises, what a restored VM must show (provisioned, running, the point's disks at their
//! sizes) and the report `render::restore_drill` formats. Reading and writing Azure: `ops`.

use super::ArmId;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;
use time::OffsetDateTime;

/// The tag a drill puts on every VM and disk it creates; its value is the drill's run id.
/// Selectors (`protect … select`, Disk Backup and Site Recovery selection) never pick a
/// resource that carries it, whatever its other tags say.
pub const TAG: &str = "azprotect-restore-drill";
/// Restores a drill runs at once per vault, at most (and by default).
pub const MAX_PARALLELISM: u32 = 10;
pub const DEFAULT_PARALLELISM: u32 = 4;
/// How much older than the policy's interval the newest point may be: time for a scheduled
/// backup to start and finish. azprotect's rule, not Azure's.
pub const RPO_GRACE: Duration = Duration::from_secs(2 * 3600);

/// Does a resource with these tags belong to a drill? (Tag names are case-insensitive.)
pub fn is_drill(tags: &BTreeMap<String, String>) -> bool {
    tags.keys().any(|k| k.eq_ignore_ascii_case(TAG))
}

/// A vault's `restore_drill:` defaults from the file (command-line flags win).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Defaults {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_group: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub staging_storage_account: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parallelism: Option<u32>,
}

/// The RPO a policy's schedule promises (its normalized `schedule`, `backup_policy::normalize`):
/// the longest time between two scheduled backups.
pub fn rpo(schedule: &Value) -> Option<Duration> {
    const HOUR: u64 = 3600;
    let hours = |v: &Value| v.as_str()?.trim_end_matches('h').parse::<u64>().ok();
    let hourly = &schedule["hourly"];
    if let Some(every) = hours(&hourly["every"]).filter(|h| *h > 0) {
        // Backups at start, start + every, … within the window; the longest gap is the
        // interval or the night from the window's last backup to the next day's first.
        let window = hours(&hourly["duration"]).unwrap_or(24).clamp(1, 24);
        let last = every * ((window - 1) / every);
        return Some(Duration::from_secs(every.max(24 - last) * HOUR));
    }
    if schedule["daily"].is_object() {
        return Some(Duration::from_secs(24 * HOUR));
    }
    if let Some(days) = schedule["weekly"]["on"].as_array() {
        // The longest gap between two backup days of the week.
        const WEEK: [&str; 7] = [
            "sunday",
            "monday",
            "tuesday",
            "wednesday",
            "thursday",
            "friday",
            "saturday",
        ];
        let mut on: Vec<u64> = days
            .iter()
            .filter_map(|d| d.as_str())
            .filter_map(|d| WEEK.iter().position(|w| w.eq_ignore_ascii_case(d)))
            .map(|i| i as u64)
            .collect();
        on.sort_unstable();
        on.dedup();
        let gap = match on.as_slice() {
            [] => return None,
            [_] => 7,
            many => many
                .windows(2)
                .map(|w| w[1] - w[0])
                .chain(std::iter::once(7 + many[0] - many[many.len() - 1]))
                .max()
                .unwrap_or(7),
        };
        return Some(Duration::from_secs(gap * 24 * HOUR));
    }
    None
}

/// The restored VM's name: the source's, `-drill-`, the run id and a short hash of the source's
/// id (two VMs of one name in different groups get different names), within Azure's 64
/// characters.
pub fn vm_name(source: &ArmId, run: &str) -> String {
    // FNV-1a of the lower-cased id: stable across runs and builds.
    let hash = source
        .as_str()
        .to_ascii_lowercase()
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
    let suffix = format!("-drill-{run}-{:04x}", hash & 0xffff);
    let keep = 64usize.saturating_sub(suffix.len());
    let head: String = source.name().chars().take(keep).collect();
    format!("{}{suffix}", head.trim_end_matches(['-', '.', '_']))
}

/// Is a VM body's instance view provisioned and running?
pub fn is_running(vm: &Value) -> bool {
    status(vm, "ProvisioningState").as_deref() == Some("succeeded")
        && status(vm, "PowerState").as_deref() == Some("running")
}

/// `(VM, subnet)` of each IP configuration of a NIC body that is attached to a VM.
pub fn nic_subnets(nic: &Value) -> Vec<(ArmId, ArmId)> {
    let Some(vm) = nic["properties"]["virtualMachine"]["id"].as_str() else {
        return Vec::new();
    };
    nic["properties"]["ipConfigurations"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|ip| ip["properties"]["subnet"]["id"].as_str())
        .map(|s| (ArmId::new(vm), ArmId::new(s)))
        .collect()
}

/// One managed disk of a VM body: its LUN (`None`: the OS disk), size and id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Disk {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lun: Option<u32>,
    pub size_gb: u64,
    #[serde(skip)]
    pub id: Option<ArmId>,
}

/// The disks of a VM body (`properties.storageProfile`), the OS disk first.
pub fn disks_of(vm: &Value) -> Vec<Disk> {
    let sp = &vm["properties"]["storageProfile"];
    let one = |d: &Value, lun: Option<u32>| Disk {
        lun,
        size_gb: d["diskSizeGB"].as_u64().unwrap_or(0),
        id: d["managedDisk"]["id"].as_str().map(ArmId::new),
    };
    let mut out = Vec::new();
    if sp["osDisk"].is_object() {
        out.push(one(&sp["osDisk"], None));
    }
    for d in sp["dataDisks"].as_array().into_iter().flatten() {
        let lun = d["lun"].as_u64().and_then(|l| u32::try_from(l).ok());
        out.push(one(d, lun));
    }
    out
}

/// The network interfaces of a VM body.
pub fn nics_of(vm: &Value) -> Vec<ArmId> {
    vm["properties"]["networkProfile"]["networkInterfaces"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| n["id"].as_str().map(ArmId::new))
        .collect()
}

/// A status code of a VM's instance view (`ProvisioningState/…`, `PowerState/…`): the part
/// after the slash, lower-cased.
pub fn status(vm: &Value, prefix: &str) -> Option<String> {
    vm["properties"]["instanceView"]["statuses"]
        .as_array()?
        .iter()
        .filter_map(|s| s["code"].as_str())
        .find_map(|c| {
            let (p, v) = c.split_once('/')?;
            p.eq_ignore_ascii_case(prefix)
                .then(|| v.to_ascii_lowercase())
        })
}

/// What a drill checked of one VM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckKind {
    /// The VM has a recovery point to restore.
    Point,
    /// The newest point is within the policy's RPO.
    Rpo,
    /// Azure's restore job completed.
    Restore,
    /// The restored VM is provisioned and running.
    Running,
    /// Every disk the point holds is attached, at its size.
    Disks,
    /// Everything the drill created is gone again (or kept, with `--keep`).
    Cleanup,
}

impl CheckKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CheckKind::Point => "point",
            CheckKind::Rpo => "rpo",
            CheckKind::Restore => "restore",
            CheckKind::Running => "running",
            CheckKind::Disks => "disks",
            CheckKind::Cleanup => "cleanup",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
    pub check: CheckKind,
    pub passed: bool,
    /// The evidence, or why it failed.
    pub detail: String,
}

/// Compare a restored VM's disks with the expected ones (the source's OS disk and the data
/// disks the point holds): the OS disk, and each expected data disk's size, once.
pub fn check_disks(expected: &[Disk], restored: &[Disk]) -> Check {
    let sizes = |ds: &[Disk]| {
        let mut s: Vec<u64> = ds
            .iter()
            .filter(|d| d.lun.is_some())
            .map(|d| d.size_gb)
            .collect();
        s.sort_unstable();
        s
    };
    let os_of = |ds: &[Disk]| ds.iter().find(|d| d.lun.is_none()).map(|d| d.size_gb);
    let (want_os, got_os) = (os_of(expected), os_of(restored));
    let os = got_os.is_some();
    let want = sizes(expected);
    // A size of 0 is unknown (the source VM is gone): only the count is compared.
    let got = if !want.is_empty() && want.iter().all(|s| *s == 0) {
        vec![0; sizes(restored).len()]
    } else {
        sizes(restored)
    };
    let os_size_ok = match (want_os, got_os) {
        (Some(w), Some(g)) => w == 0 || w == g,
        _ => true,
    };
    let passed = os && os_size_ok && want == got;
    let detail = if passed {
        format!(
            "OS disk ({} GB) and {} data disk(s) attached ({} GB)",
            got_os.unwrap_or(0),
            got.len(),
            got.iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        )
    } else if !os {
        "no OS disk attached".to_string()
    } else if !os_size_ok {
        format!(
            "the OS disk is {} GB, the source's {} GB",
            got_os.unwrap_or(0),
            want_os.unwrap_or(0)
        )
    } else {
        format!("expected data disks of {want:?} GB, found {got:?} GB")
    };
    Check {
        check: CheckKind::Disks,
        passed,
        detail,
    }
}

/// One VM's drill.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VmResult {
    pub address: String,
    pub source_vm: ArmId,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub point: Option<String>,
    #[serde(
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub point_time: Option<OffsetDateTime>,
    /// Age of the point when the drill started, and the policy's RPO, in hours.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub point_age_hours: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rpo_hours: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restored_vm: Option<ArmId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job: Option<ArmId>,
    /// Seconds from the restore's start to a running VM: the measured RTO.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rto_seconds: Option<f64>,
    pub checks: Vec<Check>,
    pub passed: bool,
}

impl VmResult {
    /// The first failed check, if any.
    pub fn failure(&self) -> Option<&Check> {
        self.checks.iter().find(|c| !c.passed)
    }
}

/// The drill's report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// The run id: the value of the drill tag on what it created.
    pub run: String,
    #[serde(with = "time::serde::rfc3339")]
    pub started: OffsetDateTime,
    pub seconds: f64,
    pub passed: bool,
    /// Whether what the drill created was left in place (`--keep`).
    pub kept: bool,
    /// ARM requests the drill made, in all.
    pub requests: u64,
    /// The durations were measured on the sandbox, whose simulated Azure runs at a fraction of
    /// Azure's time: they say nothing about the recovery time on Azure. Set by the caller, which
    /// knows the estate; absent from JSON when false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sandbox_time: bool,
    pub vms: Vec<VmResult>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_policy_promises_its_interval() {
        let h = |x: u64| Some(Duration::from_secs(x * 3600));
        assert_eq!(rpo(&json!({"hourly": {"every": "4h"}})), h(4));
        assert_eq!(
            rpo(&json!({"hourly": {"every": "4h", "start": "08:00", "duration": "24h"}})),
            h(4)
        );
        // 08:00, 12:00, 16:00, then the next day's 08:00.
        assert_eq!(
            rpo(&json!({"hourly": {"every": "4h", "start": "08:00", "duration": "12h"}})),
            h(16)
        );
        assert_eq!(rpo(&json!({"daily": {"at": "23:00"}})), h(24));
        assert_eq!(rpo(&json!({"weekly": {"on": ["Sunday"]}})), h(168));
        // Monday and Thursday: the longest gap is Thursday → Monday.
        assert_eq!(
            rpo(&json!({"weekly": {"on": ["Thursday", "Monday"]}})),
            h(96)
        );
        assert_eq!(rpo(&json!({"hourly": {"every": "0h"}})), None);
        assert_eq!(rpo(&json!(null)), None);
    }

    #[test]
    fn a_drill_vm_is_named_after_its_source_within_64_characters() {
        let id = |rg: &str, n: &str| {
            ArmId::new(format!(
                "/subscriptions/s/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachines/{n}"
            ))
        };
        let n = vm_name(&id("rg-a", "app-01"), "k3x9");
        assert!(n.starts_with("app-01-drill-k3x9-"), "{n}");
        assert_eq!(n, vm_name(&id("RG-A", "app-01"), "k3x9"));
        assert_ne!(n, vm_name(&id("rg-b", "app-01"), "k3x9"));
        let long = vm_name(&id("rg-a", &"a".repeat(70)), "k3x9");
        assert_eq!(long.len(), 64);
        assert!(long.contains("-drill-k3x9-"));
    }

    #[test]
    fn drill_tags_are_found_whatever_their_case() {
        let mut t = BTreeMap::new();
        t.insert("backup".to_string(), "gold".to_string());
        assert!(!is_drill(&t));
        t.insert("AzProtect-Restore-Drill".into(), "k3x9".into());
        assert!(is_drill(&t));
    }

    #[test]
    fn disks_are_compared_by_size_and_an_os_disk_is_required() {
        let vm = json!({"properties": {"storageProfile": {
            "osDisk": {"diskSizeGB": 30, "managedDisk": {"id": "/d/os"}},
            "dataDisks": [{"lun": 0, "diskSizeGB": 64}, {"lun": 1, "diskSizeGB": 128}],
        }}});
        let d = disks_of(&vm);
        assert_eq!(d.len(), 3);
        assert_eq!(d[0].lun, None);
        assert!(check_disks(&d, &d).passed);
        let missing = &d[..2];
        let c = check_disks(&d, missing);
        assert!(!c.passed);
        assert!(c.detail.contains("[64, 128]"), "{}", c.detail);
        assert!(!check_disks(&d, &d[1..]).passed);
        // A restored OS disk of another size fails; unknown sizes (0) compare by count.
        let mut bigger = d.clone();
        bigger[0].size_gb = 64;
        assert!(!check_disks(&d, &bigger).passed);
        let unknown: Vec<Disk> = d
            .iter()
            .map(|x| Disk {
                size_gb: 0,
                ..x.clone()
            })
            .collect();
        assert!(check_disks(&unknown, &d).passed);
        assert!(!check_disks(&unknown, &d[..2]).passed);
    }

    #[test]
    fn instance_view_statuses_are_read_by_prefix() {
        let vm = json!({"properties": {"instanceView": {"statuses": [
            {"code": "ProvisioningState/succeeded"}, {"code": "PowerState/running"}]}}});
        assert_eq!(status(&vm, "PowerState").as_deref(), Some("running"));
        assert_eq!(
            status(&vm, "provisioningstate").as_deref(),
            Some("succeeded")
        );
        assert_eq!(status(&json!({}), "PowerState"), None);
    }
}
