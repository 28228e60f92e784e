//! The actions of a backup instance (`backupInstances/{i}/{action}`, all POST): stop protection,
//! suspend backups, resume either, an on-demand backup (its operation only triggers the backup:
//! the job it names, readable at once, takes the point when it completes, DPP
//! create_backup_delete_disk #19–#40), and `sync`, which configures again an instance whose
//! configuration failed.

use serde_json::{json, Value};

use super::super::errors::ArmError;
use super::super::handler::{Ctx, HResult, Reply};
use super::super::state::{key, State};
use super::instances::{
    accepted, bad, bi_id, check, configure, current_state, get_instance, live_holder, segment,
    Instance,
};
use super::vaults::DppVault;
use super::{dpp_error, durations, recovery_points, start_op};

/// Another (live) instance protects `inst`'s disk: an undeleted instance cannot resume (DPSD
/// #29, after the disk was protected in another vault while this one was soft-deleted).
fn held_elsewhere(st: &State, inst: &Instance, now: i64) -> Option<ArmError> {
    let own = key(&[&inst.vault_key, &inst.name]);
    let other = live_holder(st, &inst.disk_key, Some(&own))?;
    let vault = (st.data_protection.vaults.get(&other.vault_key))
        .map(|v| v.id())
        .unwrap_or_default();
    let friendly = other.properties["friendlyName"]
        .as_str()
        .unwrap_or(&other.name);
    let (_, status, _) = current_state(other, now);
    Some(dpp_error(
        400,
        "UserErrorDppDatasourceAlreadyHasBackupInstance",
        format!("Datasource is already associated with the backup instance {friendly} in the Backup vault {vault} with the protection status as {status}."),
    ))
}

/// What an on-demand backup's job names of its instance, as recorded (DPP
/// create_backup_delete_disk #22): the policy, the vault, the disk's group, region and size.
fn backup_job_facts(st: &State, vault: &DppVault, inst: &Instance) -> Value {
    let policy_id = inst.policy_id();
    let disk = st.disks.get(&inst.disk_key);
    json!({
        "sizeBytes": disk.map_or(0, |d| u64::from(d.size_gb) * 1024 * 1024 * 1024),
        "properties": {
            "subscriptionId": vault.subscription,
            "policyId": policy_id,
            "policyName": policy_id.rsplit('/').next().unwrap_or_default(),
            "vaultName": vault.name,
            "backupInstanceFriendlyName": inst.properties["friendlyName"],
            "sourceResourceGroup": disk.map(|d| d.resource_group.clone()),
            "dataSourceName": disk.map(|d| d.name.clone()),
            "sourceSubscriptionID": disk.map(|d| d.subscription.clone()),
            "dataSourceLocation": disk.map(|d| d.location.clone()),
        },
    })
}

pub(super) fn route(ctx: &Ctx<'_>, st: &mut State, v: &[String]) -> HResult {
    let act = ctx.lsegs[ctx.lsegs.len() - 1].clone();
    if ![
        "stopprotection",
        "suspendbackups",
        "resumeprotection",
        "resumebackups",
        "backup",
        "sync",
    ]
    .contains(&act.as_str())
    {
        return Err(ArmError::no_route(&ctx.raw_path));
    }
    if ctx.method != "POST" {
        return Err(ArmError::method_not_allowed(&ctx.method));
    }
    let (vault, inst) = get_instance(st, v)?;
    let mut inst = inst.clone();
    let ik = key(&[&vault.key(), &inst.name]);
    let (cps, _, _) = current_state(&inst, ctx.now);
    let not_allowed = |what: &str| {
        // Not in the recordings or specs: see README "Known to differ".
        bad(
            "UserErrorInvalidOperationForCurrentProtectionState",
            format!(
                "Operation '{what}' is not allowed when the backup instance is in state '{cps}'."
            ),
        )
    };
    let mut duration = durations::ACTION;
    let mut job = None;
    match act.as_str() {
        "stopprotection" | "suspendbackups" => {
            if ![
                "ProtectionConfigured",
                "BackupsSuspended",
                "ProtectionStopped",
            ]
            .contains(&cps)
            {
                return Err(not_allowed(&act));
            }
            inst.close_segment(ctx.now);
            if act == "stopprotection" {
                inst.stopped_ms.get_or_insert(ctx.now);
            } else {
                inst.stopped_ms = None;
            }
            inst.state = if act == "stopprotection" {
                "Stopped"
            } else {
                "Suspended"
            }
            .into();
        }
        // Retries the failed configuration (Azure Service Operator syncs an instance in
        // `ProtectionError` with a user error; the spec: "Sync backup instance again in case of
        // failure"). Not in the recordings: see README "Known to differ". In any other state
        // there is nothing to retry: the operation succeeds and changes nothing.
        "sync" if matches!(cps, "ProtectionError" | "ConfiguringProtectionFailed") => {
            let c = check(st, &vault, &inst.properties, Some(&ik))?;
            configure(ctx, st, &c, &mut inst);
        }
        "resumeprotection" | "resumebackups" => {
            if cps == "ProtectionConfigured" {
                // Nothing to resume: 200, no body, nothing to poll (DPSD #3).
                return Ok(Reply::status(200, None));
            }
            if !["BackupsSuspended", "ProtectionStopped"].contains(&cps) {
                return Err(not_allowed(&act));
            }
            if let Some(e) = held_elsewhere(st, &inst, ctx.now) {
                return Err(e);
            }
            let c = check(st, &vault, &inst.properties, Some(&ik))?;
            let last = inst.segments.last().cloned();
            inst.state = "Active".into();
            inst.stopped_ms = None;
            let mut resumed = segment(ctx, &c, ctx.now);
            if let Some(l) = last {
                resumed.policy_name = l.policy_name;
            }
            inst.segments.push(resumed);
        }
        "backup" => {
            if cps != "ProtectionConfigured" {
                return Err(not_allowed("backup"));
            }
            let req = ctx.json()?;
            let rule = req["backupRuleOptions"]["ruleName"].as_str().unwrap_or("");
            if rule.is_empty() {
                return Err(bad(
                    "UserErrorInvalidRequestParameter",
                    "backupRuleOptions.ruleName is required.",
                )); // Not in the recordings or specs: see README "Known to differ".
            }
            let c = check(st, &vault, &inst.properties, Some(&ik))?;
            // The operation only triggers the backup: it names a job, readable at once, that
            // takes the point when it completes (DPP create_backup_delete_disk #19–#40).
            duration = durations::ADHOC_TRIGGER;
            let run_ms = ctx.scaled(durations::ADHOC_BACKUP);
            let point_ms = ctx.now + run_ms;
            let taken = segment(ctx, &c, point_ms);
            inst.adhoc
                .push((point_ms, taken.retention_ms, taken.policy_name));
            let id = format!("{}/backupJobs/{}", vault.id(), uuid::Uuid::new_v4());
            super::jobs::insert(
                st,
                super::jobs::Job {
                    kind: super::jobs::JobKind::Backup,
                    id: id.clone(),
                    vault_key: vault.key(),
                    instance_id: bi_id(st, &inst),
                    disk_id: inst.disk_id.clone(),
                    destination: String::new(),
                    point: recovery_points::point_id(&inst.disk_id, point_ms),
                    point_ms,
                    start_ms: ctx.now,
                    duration_ms: run_ms,
                    failed: None,
                    facts: backup_job_facts(st, &vault, &inst),
                },
            );
            job = Some(id);
        }
        _ => {}
    }
    st.data_protection.instances.insert(ik, inst);
    let kind = if act == "backup" {
        "dpp:backup"
    } else {
        "dpp:action"
    };
    let op = start_op(st, ctx, kind, duration, None, None, job, "job");
    accepted(ctx, &vault, &op)
}
