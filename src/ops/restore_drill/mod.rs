//! `azprotect restore-drill`: prove that backups restore. For every protected VM the file
//! names (narrowed by `--target` and `--tag`), restore its latest point as a new VM into an
//! isolated resource group and network, check it (provisioned and running, the point's disks
//! attached at their sizes, the point within the policy's RPO), measure the time to a running
//! VM (the RTO), remove what was created unless `--keep`, and report per VM.
//!
//! [`prepare`] reads and checks everything first (nothing is created): the VMs in scope, each
//! vault's drill place (flags, else the vault's `restore_drill:` defaults) — the group, the
//! staging account and the network exist in the vault's region, and the network is not
//! production (any VM of the subscription on it, a Site Recovery mapping, a peering, a gateway).
//! [`run`] (`run.rs`) restores up to the vault's parallelism at once (`ops::restore::run`
//! follows each job), tags what each restore created with `restore_drill::TAG` (selectors never
//! pick it up), checks, cleans up.

use super::restore::{read, region_of};
use crate::azure::ArmClient;
use crate::model::restore::{self};
use crate::model::restore_drill::{self as drill, Check, CheckKind, Defaults, VmResult, TAG};
use crate::model::{api, backup_policy, protected_vm, Address, ArmId, ItemState, ResourceKind};
use futures::{stream, StreamExt};
use miette::{miette, Result};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

mod run;
pub use run::run;

/// What to drill, and where (flags; the file's `restore_drill:` fills what is not given).
#[derive(Debug, Clone, Default)]
pub struct Input {
    pub files: Vec<PathBuf>,
    /// Only protected VMs matching one of these addresses (or prefixes: `protected_vm.V`), or
    /// protected from a vault of one of these subscriptions (`subscription.ID`).
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
    let loaded = super::stamps::load(client, &files, default_subscription).await?;
    let desired = loaded.desired;
    // `subscription.X` (an id or display name, as for `plan`) or an address (or its prefix).
    let mut written = Vec::new();
    let mut targets: Vec<Address> = Vec::new();
    for t in &input.targets {
        match super::targets::subscription_named(t) {
            Some(sub) => written.push(sub.to_string()),
            None => targets.push(t.parse().map_err(|e| miette!("--target {t}: {e}"))?),
        }
    }
    let chosen_subs = super::targets::Targets {
        subscriptions: super::targets::subscriptions_named(client, &written, &desired, &[], &[])
            .await?,
        ..Default::default()
    };
    let live = crate::live::read(client, &desired).await?;
    let no_targets = targets.is_empty() && written.is_empty();
    let vms: BTreeMap<&ArmId, &crate::model::VirtualMachine> =
        live.vms.iter().map(|v| (&v.id, v)).collect();
    let live_by_id = live.by_id();
    let mut unprotected = Vec::new();
    let mut chosen = Vec::new();
    for r in crate::plan::resolve(&desired, &live) {
        let targeted = (targets.iter()).any(|t| r.address.matches_target(t))
            || chosen_subs.selects_id(&r.arm_id);
        if r.address.kind != ResourceKind::ProtectedVm || !(no_targets || targeted) {
            continue;
        }
        let source = ArmId::new(protected_vm::Attrs(&r.attrs).vm_id().unwrap_or(""));
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
        let live_item = protected_vm::Attrs(&item.attrs);
        let policy = live_item.policy().unwrap_or("");
        let policy_id = backup_policy::arm_id(&scope.arm_id, policy);
        let state = live_item.item_state();
        let rpo = if state != ItemState::Protected {
            Err(format!(
                "protection is {}: no new recovery points are taken",
                state.as_str()
            ))
        } else {
            live_by_id
                .get(&policy_id)
                .and_then(|p| drill::rpo(backup_policy::Attrs(&p.attrs).schedule()))
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
