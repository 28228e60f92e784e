//! `azprotect restore-drill`: prove that backups restore. For every protected VM the file
//! names (narrowed by `--target` and `--tag`), restore its latest point as a new VM into an
//! isolated resource group and network, check it (provisioned and running, the point's disks
//! attached at their sizes, the point within the policy's RPO), measure the time to a running
//! VM (the RTO), remove what was created unless `--keep`, and report per VM.
//!
//! [`prepare`] reads and checks everything first (nothing is created): the VMs in scope, each
//! vault's drill place (flags, else the vault's `restore_drill:` defaults) — the group, the
//! staging account and the network exist in the vault's region, and the network is not one a
//! VM in scope or a Site Recovery network mapping of the file uses. [`run`] restores up to the
//! vault's parallelism at once (`ops::restore::run` follows each job), tags what each restore
//! created with `restore_drill::TAG` (selectors never pick it up), checks, cleans up.

use super::restore::{read, region_of, Prepared as Restore};
use crate::azure::ArmClient;
use crate::model::recovery_point::{self, RecoveryPoint};
use crate::model::restore::{self, Target};
use crate::model::restore_drill::{
    self as drill, Check, CheckKind, Defaults, Report, VmResult, TAG,
};
use crate::model::{api, tags, Address, ArmId, ArmRequest, Method, ResourceKind};
use crate::progress::{Event, Progress, Task};
use futures::{stream, StreamExt};
use miette::{miette, Result};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use time::OffsetDateTime;
use tokio::sync::Semaphore;

/// What to drill, and where (flags; the file's `restore_drill:` fills what is not given).
#[derive(Debug, Clone, Default)]
pub struct Input {
    pub files: Vec<PathBuf>,
    /// Only protected VMs matching one of these addresses (or prefixes: `protected_vm.V`).
    pub targets: Vec<String>,
    /// Only VMs carrying every one of these tags (name case-insensitive, value exact).
    pub tags: BTreeMap<String, String>,
    pub place: Defaults,
    pub keep: bool,
}

/// Where one vault's VMs are restored.
#[derive(Debug, Clone)]
pub struct Place {
    pub resource_group: ArmId,
    pub network: ArmId,
    pub subnet: ArmId,
    pub staging: ArmId,
    pub parallelism: u32,
}

/// One VM to drill.
#[derive(Debug, Clone)]
pub struct DrillVm {
    pub address: Address,
    pub vault: ArmId,
    pub region: String,
    pub item: ArmId,
    pub source_vm: ArmId,
    /// The source VM's disks (what the restored VM must have).
    /// `None` when the source VM no longer exists.
    pub disks: Option<Vec<drill::Disk>>,
    /// The policy's RPO, or why there is none to compare with.
    pub rpo: Result<Duration, String>,
}

/// A drill checked and ready to run.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub run: String,
    pub vms: Vec<DrillVm>,
    pub places: BTreeMap<ArmId, Place>,
    /// VMs in scope that cannot be drilled (not protected in Azure): failed already.
    pub unprotected: Vec<VmResult>,
    pub keep: bool,
}

impl Prepared {
    /// What the drill will create, one line per vault.
    pub fn will(&self) -> Vec<String> {
        self.places
            .iter()
            .map(|(vault, p)| {
                let n = self.vms.iter().filter(|v| &v.vault == vault).count();
                format!(
                    "restore {n} VM(s) of {} into {} on {} ({} at once), tagged {TAG}={}",
                    vault.name(),
                    p.resource_group,
                    p.subnet,
                    p.parallelism,
                    self.run
                )
            })
            .collect()
    }
}

/// Why a drill did not start.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum PrepareError {
    #[error("{network} is a production network ({why}): a restore drill never runs there")]
    #[diagnostic(help(
        "pass an isolated virtual network (no peering, no gateway) with --network or the vault's restore_drill.network"
    ))]
    ProductionNetwork { network: String, why: String },
}

/// A run id: random, the drill tag's value and part of the restored VMs' names.
fn run_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..6].to_string()
}

/// Read and check everything the drill needs; nothing is changed.
pub async fn prepare(
    client: &ArmClient,
    default_subscription: Option<&str>,
    input: &Input,
) -> Result<Prepared> {
    let files = super::plan::files_or_default(&input.files);
    let loaded = super::plan::load(&files, default_subscription)?;
    let desired = loaded.desired;
    let live = crate::live::read(client, &desired).await?;
    let targets: Vec<Address> = input
        .targets
        .iter()
        .map(|t| t.parse().map_err(|e| miette!("--target {t}: {e}")))
        .collect::<Result<_>>()?;
    let vms: BTreeMap<&ArmId, &crate::model::VirtualMachine> =
        live.vms.iter().map(|v| (&v.id, v)).collect();
    let live_by_id = live.by_id();
    let mut unprotected = Vec::new();
    let mut chosen = Vec::new();
    for r in crate::plan::resolve(&desired, &live) {
        if r.address.kind != ResourceKind::ProtectedVm
            || !(targets.is_empty() || targets.iter().any(|t| r.address.matches_target(t)))
        {
            continue;
        }
        let source = ArmId::new(r.attrs.get("vm_id").and_then(Value::as_str).unwrap_or(""));
        let tagged = vms.get(&source).is_some_and(|vm| {
            crate::model::in_scope(
                (&vm.subscription, &vm.resource_group, &vm.tags),
                &vm.subscription,
                &[],
                &input.tags,
            )
        });
        if !input.tags.is_empty() && !tagged {
            continue;
        }
        let Some(item) = live_by_id.get(&r.arm_id) else {
            unprotected.push(failed(
                &r.address,
                &source,
                CheckKind::Point,
                "not protected in Azure: apply the file first".into(),
            ));
            continue;
        };
        let vault_name = r.address.name.split('/').next().unwrap_or_default();
        let Some(scope) = desired.vaults.iter().find(|v| v.name == vault_name) else {
            continue;
        };
        let policy = item
            .attrs
            .get("policy")
            .and_then(Value::as_str)
            .unwrap_or("");
        let policy_id = crate::model::backup_policy::arm_id(&scope.arm_id, policy);
        let state = item
            .attrs
            .get("state")
            .and_then(Value::as_str)
            .unwrap_or("unknown");
        let rpo = if state != "protected" {
            Err(format!(
                "protection is {state}: no new recovery points are taken"
            ))
        } else {
            live_by_id
                .get(&policy_id)
                .and_then(|p| p.attrs.get("schedule"))
                .and_then(drill::rpo)
                .ok_or_else(|| format!("the schedule of policy {policy} could not be read"))
        };
        chosen.push((
            r.address.clone(),
            scope.clone(),
            item.arm_id.clone(),
            source,
            rpo,
        ));
    }
    if chosen.is_empty() && unprotected.is_empty() {
        return Err(miette!(
            help = "a restore drill covers the protected VMs of the file; --target and --tag narrow them",
            "no protected VM of the file matches: nothing to drill"
        ));
    }
    // Each vault's place: flags, else its defaults; checked once.
    let mut places = BTreeMap::new();
    let mut seen = BTreeSet::new();
    for (_, scope, ..) in &chosen {
        if !seen.insert(scope.arm_id.clone()) {
            continue;
        }
        let d = scope.restore_drill.clone().unwrap_or_default();
        let pick = |flag: &Option<String>, own: &Option<String>| flag.clone().or(own.clone());
        let given = Defaults {
            resource_group: pick(&input.place.resource_group, &d.resource_group),
            network: pick(&input.place.network, &d.network),
            staging_storage_account: pick(
                &input.place.staging_storage_account,
                &d.staging_storage_account,
            ),
            parallelism: input.place.parallelism.or(d.parallelism),
        };
        let place = place(client, scope, &given).await?;
        places.insert(scope.arm_id.clone(), place);
    }
    // The networks in use (never the drill's): Site Recovery's mappings, and every NIC of the
    // subscriptions involved whose VM is not a drill's.
    let mut in_use: Vec<(ArmId, String)> = desired
        .replication_groups
        .iter()
        .flat_map(|g| {
            g.network_mappings.iter().flat_map(move |(s, t)| {
                [s, t].map(|n| {
                    (
                        ArmId::new(n),
                        format!("a network mapping of {} uses it", g.name),
                    )
                })
            })
        })
        .collect();
    let drill_vms: BTreeSet<&ArmId> = live
        .vms
        .iter()
        .filter(|v| drill::is_drill(&v.tags))
        .map(|v| &v.id)
        .collect();
    let subs: BTreeSet<String> = places
        .values()
        .filter_map(|p| p.network.subscription().map(str::to_string))
        .collect();
    for sub in subs {
        let nics = client
            .list(&format!(
                "/subscriptions/{sub}/providers/Microsoft.Network/networkInterfaces?api-version={}",
                api::NETWORK
            ))
            .await?;
        for (vm, subnet) in nics.iter().flat_map(drill::nic_subnets) {
            if !drill_vms.contains(&vm) {
                in_use.push((
                    restore::network_of(&subnet),
                    format!("{} is on it", vm.name()),
                ));
            }
        }
    }
    for p in places.values() {
        if let Some((_, why)) = in_use.iter().find(|(n, _)| n == &p.network) {
            return Err(PrepareError::ProductionNetwork {
                network: p.network.to_string(),
                why: why.clone(),
            }
            .into());
        }
    }
    // The sources' disks: what each restored VM must have.
    let read_sources = stream::iter(chosen.into_iter().map(
        |(address, scope, item, source, rpo)| async move {
            let body = read(client, &source, api::COMPUTE).await?;
            Ok::<_, miette::Report>(DrillVm {
                address,
                region: scope.location.clone(),
                vault: scope.arm_id.clone(),
                item,
                disks: body.as_ref().map(drill::disks_of),
                source_vm: source,
                rpo,
            })
        },
    ))
    .buffer_unordered(8)
    .collect::<Vec<_>>()
    .await;
    let mut vms = read_sources.into_iter().collect::<Result<Vec<_>>>()?;
    vms.sort_by(|a, b| a.address.cmp(&b.address));
    Ok(Prepared {
        run: run_id(),
        vms,
        places,
        unprotected,
        keep: input.keep,
    })
}

/// A vault's drill place, checked: the group exists; the network and staging account exist in
/// the vault's region; the network has the subnet and no peering.
async fn place(
    client: &ArmClient,
    scope: &crate::model::VaultScope,
    given: &Defaults,
) -> Result<Place> {
    let vault = &scope.name;
    let need = |v: &Option<String>, flag: &str, key: &str| {
        v.clone().ok_or_else(|| {
            miette!(
                help = format!(
                    "pass {flag}, or set recovery_vaults.{vault}.restore_drill.{key} in the file"
                ),
                "the restore drill of {vault}'s VMs needs {flag}"
            )
        })
    };
    let sub = scope.arm_id.subscription().unwrap_or_default();
    let rg_raw = need(&given.resource_group, "--resource-group", "resource_group")?;
    let resource_group = crate::model::resource_group::id_or_name(&rg_raw, sub);
    read(client, &resource_group, api::RESOURCES)
        .await?
        .ok_or_else(|| miette!("the drill's resource group {resource_group} does not exist"))?;
    let region = &scope.location;
    let in_region = |what: &str, id: &ArmId, body: &Value| -> Result<()> {
        let r = region_of(body);
        if &r != region {
            return Err(miette!(
                "the drill's {what} {id} is in {r}: {vault} restores in its region, {region}"
            ));
        }
        Ok(())
    };
    let staging = ArmId::new(need(
        &given.staging_storage_account,
        "--staging-storage-account",
        "staging_storage_account",
    )?);
    let body = read(client, &staging, api::STORAGE)
        .await?
        .ok_or_else(|| miette!("the drill's staging storage account {staging} does not exist"))?;
    in_region("staging storage account", &staging, &body)?;
    let raw = ArmId::new(need(&given.network, "--network", "network")?);
    let network = restore::network_of(&raw);
    let vnet = read(client, &network, api::NETWORK)
        .await?
        .ok_or_else(|| miette!("the drill's network {network} does not exist"))?;
    in_region("network", &network, &vnet)?;
    let subnets: Vec<ArmId> = vnet["properties"]["subnets"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["id"].as_str().map(ArmId::new))
        .collect();
    let subnet = if raw == network {
        subnets.first().cloned()
    } else {
        subnets.into_iter().find(|s| s == &raw)
    }
    .ok_or_else(|| miette!("the drill's network {network} has no subnet {}", raw.name()))?;
    let peered = vnet["properties"]["virtualNetworkPeerings"]
        .as_array()
        .is_some_and(|p| !p.is_empty());
    let gateway = vnet["properties"]["subnets"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|s| {
            s["name"]
                .as_str()
                .is_some_and(|n| n.eq_ignore_ascii_case("GatewaySubnet"))
        });
    if peered || gateway {
        return Err(PrepareError::ProductionNetwork {
            network: network.to_string(),
            why: if peered {
                "it is peered with other networks"
            } else {
                "it has a gateway subnet"
            }
            .into(),
        }
        .into());
    }
    let parallelism = given
        .parallelism
        .unwrap_or(drill::DEFAULT_PARALLELISM)
        .clamp(1, drill::MAX_PARALLELISM);
    Ok(Place {
        resource_group,
        network,
        subnet,
        staging,
        parallelism,
    })
}

fn check(check: CheckKind, passed: bool, detail: impl Into<String>) -> Check {
    Check {
        check,
        passed,
        detail: detail.into(),
    }
}

fn failed(address: &Address, source: &ArmId, kind: CheckKind, why: String) -> VmResult {
    VmResult {
        address: address.to_string(),
        source_vm: source.clone(),
        point: None,
        point_time: None,
        point_age_hours: None,
        rpo_hours: None,
        restored_vm: None,
        job: None,
        rto_seconds: None,
        checks: vec![check(kind, false, why)],
        passed: false,
    }
}

/// Run the drill: every VM, up to its vault's parallelism at once.
pub async fn run(client: &ArmClient, p: &Prepared, progress: &dyn Progress) -> Report {
    let started_at = OffsetDateTime::now_utc();
    let started = Instant::now();
    let before = client.request_count();
    let gates: BTreeMap<&ArmId, Arc<Semaphore>> = p
        .places
        .iter()
        .map(|(v, place)| (v, Arc::new(Semaphore::new(place.parallelism as usize))))
        .collect();
    let drills = p.vms.iter().map(|vm| {
        let gate = gates.get(&vm.vault).cloned();
        async move {
            let _permit = match &gate {
                Some(g) => g.acquire().await.ok(),
                None => None,
            };
            match p.places.get(&vm.vault) {
                Some(place) => drill_one(client, p, vm, place, progress).await,
                None => failed(
                    &vm.address,
                    &vm.source_vm,
                    CheckKind::Restore,
                    "no drill place".into(),
                ),
            }
        }
    });
    let mut vms = p.unprotected.clone();
    vms.extend(futures::future::join_all(drills).await);
    vms.sort_by(|a, b| a.address.cmp(&b.address));
    Report {
        run: p.run.clone(),
        started: started_at,
        seconds: started.elapsed().as_secs_f64(),
        passed: !vms.is_empty() && vms.iter().all(|v| v.passed),
        kept: p.keep,
        requests: client.request_count() - before,
        vms,
    }
}

const HOUR: f64 = 3600.0;

async fn drill_one(
    client: &ArmClient,
    p: &Prepared,
    vm: &DrillVm,
    place: &Place,
    progress: &dyn Progress,
) -> VmResult {
    let mut r = failed(&vm.address, &vm.source_vm, CheckKind::Point, String::new());
    r.checks.clear();
    r.rpo_hours = vm.rpo.as_ref().ok().map(|d| d.as_secs_f64() / HOUR);
    let point = match latest_point(client, &vm.item).await {
        Ok(Some(point)) => point,
        Ok(None) => {
            r.checks
                .push(check(CheckKind::Point, false, "no recovery point yet"));
            return r;
        }
        Err(e) => {
            r.checks.push(check(
                CheckKind::Point,
                false,
                format!("the points could not be read: {e}"),
            ));
            return r;
        }
    };
    r.checks.push(check(
        CheckKind::Point,
        true,
        format!(
            "{} ({} UTC, {})",
            point.name,
            crate::model::snapshot::display_time(Some(point.time)),
            point.consistency.as_str()
        ),
    ));
    r.point = Some(point.name.clone());
    r.point_time = Some(point.time);
    let age = (OffsetDateTime::now_utc() - point.time)
        .as_seconds_f64()
        .max(0.0);
    r.point_age_hours = Some(age / HOUR);
    r.checks.push(match &vm.rpo {
        Ok(rpo) => {
            let allowed = (*rpo + drill::RPO_GRACE).as_secs_f64();
            check(
                CheckKind::Rpo,
                age <= allowed,
                format!(
                    "the point is {:.1} h old; the policy's RPO is {:.0} h (+{:.0} h for a backup to run)",
                    age / HOUR,
                    rpo.as_secs_f64() / HOUR,
                    drill::RPO_GRACE.as_secs_f64() / HOUR
                ),
            )
        }
        Err(why) => check(
            CheckKind::Rpo,
            false,
            format!("the point is {:.1} h old; {why}", age / HOUR),
        ),
    });
    let name = drill::vm_name(&vm.source_vm, &p.run);
    let new_vm = ArmId::new(format!(
        "{}/providers/Microsoft.Compute/virtualMachines/{name}",
        place.resource_group
    ));
    let held: BTreeSet<u32> = point.disks.iter().filter_map(|d| d.lun).collect();
    // The source's OS disk and the data disks the point holds; when the source is gone, the
    // point's LUNs (sizes unknown).
    let expected: Vec<drill::Disk> = match &vm.disks {
        Some(disks) => disks
            .iter()
            .filter(|d| d.lun.is_none_or(|l| held.is_empty() || held.contains(&l)))
            .cloned()
            .collect(),
        None => std::iter::once(None)
            .chain(held.iter().map(|l| Some(*l)))
            .map(|lun| drill::Disk {
                lun,
                size_gb: 0,
                id: None,
            })
            .collect(),
    };
    let restore = Restore {
        address: vm.address.to_string(),
        vault: vm.vault.clone(),
        source_vm: vm.source_vm.clone(),
        point,
        target: Target::NewVm {
            vm: new_vm.clone(),
            resource_group: place.resource_group.clone(),
            subnet: place.subnet.clone(),
            staging: place.staging.clone(),
        },
        luns: None,
        region: vm.region.clone(),
        will: Vec::new(),
        grant: None,
        cross_region: false,
    };
    // The RTO runs from here to a running VM.
    let started = Instant::now();
    let restored = super::restore::run(client, &restore, progress).await;
    let done = match restored {
        Ok(done) => done,
        Err(e) => {
            r.checks
                .push(check(CheckKind::Restore, false, format!("{e}")));
            // Azure may have accepted the restore: its job could still create the VM.
            let mut c = clean_up(client, p, &new_vm, &Value::Null, progress, &vm.address).await;
            c.passed = false;
            c.detail = format!(
                "{}; the restore job was not followed to its end and may still create {new_vm}: remove it once the job ends",
                c.detail
            );
            r.checks.push(c);
            r.passed = false;
            return r;
        }
    };
    r.job = Some(done.job.clone());
    if !done.status.succeeded() {
        let why = done
            .error
            .clone()
            .unwrap_or_else(|| done.status.as_str().to_string());
        r.checks.push(check(
            CheckKind::Restore,
            false,
            format!("job {} {}: {why}", done.job.name(), done.status.as_str()),
        ));
        r.checks
            .push(clean_up(client, p, &new_vm, &Value::Null, progress, &vm.address).await);
        r.passed = false;
        return r;
    }
    r.checks.push(check(
        CheckKind::Restore,
        true,
        format!("job {} completed in {:.0}s", done.job.name(), done.seconds),
    ));
    r.restored_vm = Some(new_vm.clone());
    let body = match mark_and_read(client, p, &new_vm).await {
        Ok(b) => b,
        Err(e) => {
            r.checks.push(check(
                CheckKind::Running,
                false,
                format!("the restored VM could not be read: {e}"),
            ));
            Value::Null
        }
    };
    let body = if body.is_null() {
        body
    } else {
        until_running(client, &new_vm, body).await
    };
    if !body.is_null() {
        let provisioned = drill::status(&body, "ProvisioningState");
        let power = drill::status(&body, "PowerState");
        let running = drill::is_running(&body);
        if running {
            r.rto_seconds = Some(started.elapsed().as_secs_f64());
        }
        r.checks.push(check(
            CheckKind::Running,
            running,
            format!(
                "provisioning {}, power {}",
                provisioned.as_deref().unwrap_or("unknown"),
                power.as_deref().unwrap_or("unknown")
            ),
        ));
        r.checks
            .push(drill::check_disks(&expected, &drill::disks_of(&body)));
    }
    r.checks
        .push(clean_up(client, p, &new_vm, &body, progress, &vm.address).await);
    r.passed = r.checks.iter().all(|c| c.passed);
    r
}

/// A restored VM may still be starting when its restore job ends: read its instance view again
/// (backing off, about two minutes in all) until it runs.
async fn until_running(client: &ArmClient, vm: &ArmId, mut body: Value) -> Value {
    let mut delay = Duration::from_secs(1);
    for _ in 0..8 {
        if drill::is_running(&body) {
            break;
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(30));
        match client.get_optional(&instance_view_path(vm)).await {
            Ok(Some(b)) => body = b,
            _ => break,
        }
    }
    body
}

fn instance_view_path(vm: &ArmId) -> String {
    format!("{vm}?$expand=instanceView&api-version={}", api::COMPUTE)
}

async fn latest_point(client: &ArmClient, item: &ArmId) -> Result<Option<RecoveryPoint>> {
    Ok(client
        .list(&recovery_point::vm_points_path(item))
        .await?
        .iter()
        .filter_map(recovery_point::from_vm_point)
        .max_by_key(|p| p.time))
}

/// Tag the restored VM as the drill's, read it with its instance view, and tag its disks.
async fn mark_and_read(client: &ArmClient, p: &Prepared, vm: &ArmId) -> Result<Value> {
    client
        .execute_discarding(&tags::merge_request(vm, TAG, &p.run))
        .await?;
    let body = client
        .get_optional(&instance_view_path(vm))
        .await?
        .ok_or_else(|| miette!("{vm} does not exist after its restore completed"))?;
    mark(client, p, None, &body).await?;
    Ok(body)
}

/// Tag the disks of a drill VM's body, and the VM itself when `vm` is given.
async fn mark(client: &ArmClient, p: &Prepared, vm: Option<&ArmId>, body: &Value) -> Result<()> {
    let disks = drill::disks_of(body).into_iter().filter_map(|d| d.id);
    for id in vm.cloned().into_iter().chain(disks) {
        client
            .execute_discarding(&tags::merge_request(&id, TAG, &p.run))
            .await?;
    }
    Ok(())
}

fn delete(id: &ArmId, api_version: &str) -> ArmRequest {
    ArmRequest::new(
        Method::Delete,
        format!("{id}?api-version={api_version}"),
        None,
    )
}

/// Remove the restored VM, then its disks and NICs (what its delete options leave), and check
/// they are gone; with `--keep`, say what stays.
async fn clean_up(
    client: &ArmClient,
    p: &Prepared,
    vm: &ArmId,
    body: &Value,
    progress: &dyn Progress,
    address: &Address,
) -> Check {
    // A restore that failed or could not be read may still have left its VM: read it again.
    let read_again = if body.is_null() {
        read(client, vm, api::COMPUTE).await.ok().flatten()
    } else {
        None
    };
    let body = read_again.as_ref().unwrap_or(body);
    let disks: Vec<ArmId> = drill::disks_of(body)
        .into_iter()
        .filter_map(|d| d.id)
        .collect();
    let nics = drill::nics_of(body);
    if p.keep {
        let kept = if body.is_null() {
            "nothing was created".to_string()
        } else {
            if read_again.is_some() {
                // Not tagged yet (its restore failed or was not read): tag what stays.
                let _ = mark(client, p, Some(vm), body).await;
            }
            format!(
                "kept (--keep): {vm}, {} disk(s), {} NIC(s), tagged {TAG}={}",
                disks.len(),
                nics.len(),
                p.run
            )
        };
        return check(CheckKind::Cleanup, true, kept);
    }
    let task = Task::new(
        format!("{address}/cleanup"),
        format!("removing the drill VM of {address}"),
    );
    progress.event(&task, Event::Started);
    let steps = async {
        client.execute_discarding(&delete(vm, api::COMPUTE)).await?;
        for d in &disks {
            client.execute_discarding(&delete(d, api::DISKS)).await?;
        }
        for n in &nics {
            client.execute_discarding(&delete(n, api::NETWORK)).await?;
        }
        let mut left = Vec::new();
        if read(client, vm, api::COMPUTE).await?.is_some() {
            left.push(vm.clone());
        }
        for d in &disks {
            if read(client, d, api::DISKS).await?.is_some() {
                left.push(d.clone());
            }
        }
        for n in &nics {
            if read(client, n, api::NETWORK).await?.is_some() {
                left.push(n.clone());
            }
        }
        Ok::<_, miette::Report>(left)
    };
    let result = match steps.await {
        Ok(left) if left.is_empty() => check(
            CheckKind::Cleanup,
            true,
            if body.is_null() {
                "nothing left behind".to_string()
            } else {
                format!(
                    "removed the VM, {} disk(s) and {} NIC(s)",
                    disks.len(),
                    nics.len()
                )
            },
        ),
        Ok(left) => check(
            CheckKind::Cleanup,
            false,
            format!(
                "still there: {}",
                left.iter()
                    .map(ArmId::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ),
        Err(e) => check(
            CheckKind::Cleanup,
            false,
            format!("{e} (what it created is tagged {TAG}={})", p.run),
        ),
    };
    if result.passed {
        progress.event(&task, Event::Finished);
    } else {
        progress.event(
            &task,
            Event::Failed {
                error: &result.detail,
            },
        );
    }
    result
}
