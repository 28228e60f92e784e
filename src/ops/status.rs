//! `azprotect status`: is protection working? Files → desired → live (`live::read`, the same
//! list calls as `plan`, whose bodies carry each item's health) plus one backup job list per
//! declared Recovery Services vault for the `--since` window and one per declared Backup vault
//! (each disk's newest backup) → findings (`model::status`) and a per-VM table.
//! Nothing is changed.

use crate::azure::ArmClient;
use crate::model::restore_drill;
use crate::model::status::{
    self as rules, BackupRow, DiskRow, ReplicationLimits, ReplicationRow, Report, ScopeVm, VmRow,
};
use crate::model::{backup_policy, protected_vm, resource_group, ArmId, ResourceKind};
use miette::Result;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;
use time::OffsetDateTime;

/// A backup job running longer than this is a finding: azprotect's rule, not Azure's.
pub const LONG_RUNNING: Duration = Duration::from_secs(12 * 3600);
/// The current RPO above which a replicated VM is a finding. A2A policies carry no threshold of
/// their own (recording A2A #10 L478: `recoveryPointThresholdInMinutes: 0`; crash-consistent
/// points every 5 minutes): azprotect's rule, not Azure's.
pub const REPLICATION_RPO: Duration = Duration::from_secs(30 * 60);

/// What to check.
#[derive(Debug, Clone)]
pub struct Input {
    pub files: Vec<PathBuf>,
    /// Every VM of the file's subscriptions is in scope, not only the vaults' regions and the
    /// resource groups the file looks at.
    pub all: bool,
    /// Backup jobs of this window.
    pub since: Duration,
    pub drill_max_age: Duration,
    /// VMs with one of these tags (name case-insensitive, value exact) are left unprotected on
    /// purpose: not a coverage finding.
    pub exempt: Vec<(String, String)>,
}

/// Read and evaluate.
pub async fn run(
    client: &ArmClient,
    default_subscription: Option<&str>,
    input: &Input,
) -> Result<Report> {
    let before = client.request_count();
    let files = super::plan::files_or_default(&input.files);
    let desired = super::stamps::load(client, &files, default_subscription)
        .await?
        .desired;
    let now = OffsetDateTime::now_utc();
    let live = crate::live::read(client, &desired).await?;
    let vault_ids: Vec<ArmId> = desired.vaults.iter().map(|v| v.arm_id.clone()).collect();
    let by_id = live.by_id();
    // Each protected item's policy's longest gap between backups.
    let rpos: Vec<Option<Duration>> = live
        .health
        .backup
        .iter()
        .map(|item| {
            let vault = protected_vm::vault_of(&item.item);
            by_id
                .get(&backup_policy::arm_id(&vault, &item.policy))
                .and_then(|p| restore_drill::rpo(backup_policy::Attrs(&p.attrs).schedule()))
        })
        .collect();
    // The jobs of `--since`, and far enough back to see when each waiting item was protected.
    // A window longer than time itself reads every job.
    let window = rules::job_window(input.since, rpos.iter().flatten().copied());
    let from = now
        .checked_sub(time::Duration::try_from(window).unwrap_or(time::Duration::MAX))
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let disk_vault_ids: Vec<ArmId> = desired
        .disk_vaults
        .iter()
        .map(|v| v.arm_id.clone())
        .collect();
    let (jobs, disk_jobs) = futures::try_join!(
        crate::live::jobs::backup_jobs(client, &vault_ids, from, now),
        crate::live::jobs::disk_backup_jobs(client, &disk_vault_ids)
    )?;
    let resolved = crate::plan::resolve(&desired, &live);

    // Who the file wants protected, and who Azure protects.
    let declared: BTreeSet<String> = resolved
        .iter()
        .filter(|r| r.address.kind == ResourceKind::ProtectedVm)
        .filter_map(|r| {
            protected_vm::Attrs(&r.attrs)
                .vm_id()
                .map(str::to_ascii_lowercase)
        })
        .collect();
    // Compared as ARM compares ids (case-insensitively), as `plan` matches items.
    let declared_addrs: BTreeSet<String> = resolved
        .iter()
        .map(|r| r.arm_id.as_str().to_ascii_lowercase())
        .collect();
    let live_items: Vec<_> = live
        .resources
        .iter()
        .filter(|r| r.address.kind == ResourceKind::ProtectedVm)
        .collect();
    let protected: BTreeSet<String> = live_items
        .iter()
        .filter(|r| protected_vm::Attrs(&r.attrs).state() == Some("protected"))
        .filter_map(|r| {
            protected_vm::Attrs(&r.attrs)
                .vm_id()
                .map(str::to_ascii_lowercase)
        })
        .chain(
            live.protected_elsewhere
                .iter()
                .filter(|(_, e)| e.state == "protected")
                .map(|(vm, _)| vm.clone()),
        )
        .collect();
    let outside: Vec<(ArmId, String)> = live_items
        .iter()
        .filter(|r| !declared_addrs.contains(&r.arm_id.as_str().to_ascii_lowercase()))
        .filter(|r| protected_vm::Attrs(&r.attrs).state() == Some("protected"))
        .map(|r| {
            let vm = ArmId::new(protected_vm::Attrs(&r.attrs).vm_id().unwrap_or_default());
            (vm, protected_vm::vault_of(&r.arm_id).name().to_string())
        })
        .collect();

    // The scope: the vaults' regions and the resource groups the file looks at.
    let regions: BTreeSet<String> = desired
        .vaults
        .iter()
        .map(|v| resource_group::normalize_location(&v.location))
        .collect();
    let mut groups: BTreeSet<(String, String)> = resolved
        .iter()
        .filter(|r| r.address.kind == ResourceKind::ProtectedVm)
        .filter_map(|r| {
            let vm = ArmId::new(protected_vm::Attrs(&r.attrs).vm_id()?);
            Some((
                vm.subscription()?.to_ascii_lowercase(),
                vm.resource_group()?.to_ascii_lowercase(),
            ))
        })
        .collect();
    let mut whole_subs: BTreeSet<String> = BTreeSet::new();
    for s in &desired.selectors {
        if s.resource_groups.is_empty() {
            whole_subs.insert(s.subscription.to_ascii_lowercase());
        }
        for rg in &s.resource_groups {
            groups.insert((s.subscription.to_ascii_lowercase(), rg.to_ascii_lowercase()));
        }
    }
    let exempt = |tags: &BTreeMap<String, String>| {
        input.exempt.iter().any(|(k, v)| {
            tags.iter()
                .any(|(tk, tv)| tk.eq_ignore_ascii_case(k) && tv == v)
        })
    };
    let scope: Vec<ScopeVm> = live
        .vms
        .iter()
        .filter(|vm| !restore_drill::is_drill(&vm.tags))
        .filter(|vm| {
            let id = vm.id.as_str().to_ascii_lowercase();
            let sub = vm.subscription.to_ascii_lowercase();
            let in_groups = whole_subs.contains(&sub)
                || groups.contains(&(sub, vm.resource_group.to_ascii_lowercase()));
            declared.contains(&id)
                || input.all
                || (in_groups
                    && regions.contains(&resource_group::normalize_location(&vm.location)))
        })
        .map(|vm| {
            let id = vm.id.as_str().to_ascii_lowercase();
            ScopeVm {
                id: vm.id.clone(),
                declared: declared.contains(&id),
                protected: protected.contains(&id),
                exempt: exempt(&vm.tags),
            }
        })
        .collect();
    let mut findings = rules::coverage_findings(&scope, &outside);

    // Backup health, per item of the declared vaults.
    let mut rows: BTreeMap<String, VmRow> = BTreeMap::new();
    let row = |rows: &mut BTreeMap<String, VmRow>, id: &ArmId| -> String {
        let key = id.as_str().to_ascii_lowercase();
        rows.entry(key.clone()).or_insert_with(|| VmRow {
            vm: rules::subject(id),
            vm_id: id.clone(),
            backup: None,
            replication: None,
            findings: 0,
        });
        key
    };
    // Jobs name their VM by container: matched within their vault (recording #50; FACTS §4).
    let same = |a: &ArmId, b: &ArmId| a.as_str().eq_ignore_ascii_case(b.as_str());
    let vault_jobs = |vault: &ArmId| {
        jobs.iter()
            .find(|(v, _)| same(v, vault))
            .map_or(&[][..], |(_, j)| j.as_slice())
    };
    let mut notes = Vec::new();
    for (item, rpo) in live.health.backup.iter().zip(rpos) {
        let vault = protected_vm::vault_of(&item.item);
        let configured = rules::configured_at(vault_jobs(&vault))
            .get(&item.container)
            .copied();
        findings.extend(rules::backup_findings(item, rpo, configured, now));
        if rules::first_backup_pending(item, rpo, configured, now) {
            notes.push(rules::Finding {
                kind: rules::Kind::Backup,
                code: "first_backup_pending",
                subject: rules::subject(&item.vm_id),
                message: match (rpo, configured) {
                    (Some(rpo), Some(t)) => format!(
                        "no recovery point yet (first backup pending): protected {} ago; policy {} backs up at least every {}",
                        rules::hours(Duration::try_from(now - t).unwrap_or_default()),
                        item.policy,
                        rules::hours(rpo)
                    ),
                    _ => "no recovery point yet (first backup pending)".to_string(),
                },
            });
        }
        let key = row(&mut rows, &item.vm_id);
        let h = |d: Duration| d.as_secs_f64() / 3600.0;
        rows.get_mut(&key).expect("inserted").backup = Some(BackupRow {
            vault: vault.name().to_string(),
            policy: item.policy.clone(),
            protection_state: item.protection_state.clone(),
            last_backup_status: item.last_backup_status.clone(),
            last_backup_time: item.last_backup_time,
            newest_point_age_hours: item
                .last_recovery_point
                .map(|t| h(Duration::try_from(now - t).unwrap_or_default())),
            rpo_hours: rpo.map(h),
        });
    }
    for (vault, vault_jobs) in &jobs {
        let subjects = rules::job_subjects(
            live.health
                .backup
                .iter()
                .filter(|i| same(&protected_vm::vault_of(&i.item), vault)),
        );
        findings.extend(rules::job_findings(
            vault_jobs,
            &subjects,
            input.since,
            LONG_RUNNING,
            now,
        ));
    }

    // Replication health, per replicated item of the file's Site Recovery vaults.
    let limits = ReplicationLimits {
        rpo: REPLICATION_RPO,
        drill_max_age: input.drill_max_age,
    };
    for r in &live.health.replication {
        findings.extend(rules::replication_findings(r, limits, now));
        let id = if r.vm_id.as_str().is_empty() {
            r.item.clone()
        } else {
            r.vm_id.clone()
        };
        let key = row(&mut rows, &id);
        let vault = crate::model::site_recovery::replication::vault_of(&r.item)
            .name()
            .to_string();
        rows.get_mut(&key).expect("inserted").replication = Some(ReplicationRow {
            vault,
            health: r.health.clone(),
            state: r.state.clone(),
            rpo_seconds: r.rpo_seconds,
            last_test_failover: r.last_test_failover,
        });
    }
    // Disk backup health, per backup instance of the declared Backup vaults.
    let newest = rules::newest_disk_backups(&disk_jobs);
    let failing = rules::failing_disk_backups(&disk_jobs);
    let mut disks = Vec::new();
    for r in live
        .resources
        .iter()
        .filter(|r| r.address.kind == ResourceKind::DiskBackup)
    {
        if r.attrs["state"]
            .as_str()
            .is_some_and(|s| !s.eq_ignore_ascii_case("protected"))
        {
            continue;
        }
        let disk = ArmId::new(r.attrs["disk_id"].as_str().unwrap_or_default());
        let policy = r.attrs["policy"].as_str().unwrap_or_default();
        let vault = r.arm_id.parent(1);
        let interval = by_id
            .get(&vault.child(&["backupPolicies", policy]))
            .and_then(|p| p.attrs["every"].as_str())
            .and_then(rules::disk_interval);
        let point = newest.get(&disk.as_str().to_ascii_lowercase()).copied();
        let fails = failing.contains(&disk.as_str().to_ascii_lowercase());
        findings.extend(rules::disk_findings(&disk, interval, point, fails, now));
        notes.extend(rules::disk_first_backup_pending(&disk, point, fails));
        let h = |d: Duration| d.as_secs_f64() / 3600.0;
        disks.push(DiskRow {
            disk: rules::subject(&disk),
            disk_id: disk,
            vault: vault.name().to_string(),
            policy: policy.to_string(),
            newest_point: point,
            newest_point_age_hours: point
                .map(|t| h(Duration::try_from(now - t).unwrap_or_default())),
            rpo_hours: interval.map(h),
        });
    }
    // VMs in scope that nothing protects are rows too (what is missing shows in the table).
    for vm in scope
        .iter()
        .filter(|v| !v.protected && (v.declared || !v.exempt))
    {
        row(&mut rows, &vm.id);
    }
    findings.sort();
    findings.dedup();
    notes.sort();
    for f in &findings {
        if let Some(r) = rows.values_mut().find(|r| r.vm == f.subject) {
            r.findings += 1;
        }
    }
    Ok(Report {
        checked_at: now,
        healthy: findings.is_empty(),
        since_hours: input.since.as_secs_f64() / 3600.0,
        drill_max_age_days: input.drill_max_age.as_secs() / 86_400,
        requests: client.request_count() - before,
        vms: rows.into_values().collect(),
        disks,
        findings,
        notes,
    })
}
