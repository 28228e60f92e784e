//! Bulk readers of live state: list calls per subscription and per vault (or, to discover
//! VMs and resource groups across subscriptions or in one large one, Azure Resource Graph:
//! [`discovery`]), never one GET per item, issued concurrently. The result is normalized
//! through the `model` families so that it compares directly with the desired side.
//!
//! A subscription the identity may not read does not fail the read: [`read_with`] reads the
//! others and returns it ([`Read::denied`]) in the same pass; [`read`] turns it into the error.
//!
//! Owns: [`read`], [`read_with`] (into `model::LiveState`). Must not import: `cli`, `plan`,
//! `apply`, `render`, `config`, `ops`.

pub mod discovery;
pub mod disk_backup;
pub mod jobs;
pub mod management_groups;
pub mod resource_graph;
pub mod site_recovery;
// Stamps' discovery read (issue 14, Configuration: Stamps).
pub mod stamps;
mod vm_body;
pub mod vms;

pub use crate::model::{Elsewhere, LiveState};
pub use discovery::{Denied, Discovery, Known, ReadOptions, Source, VaultConfigs};

use crate::azure::{ArmClient, AzureError};
use crate::model::{
    backup_policy, protected_vm, resource_group, vault, Address, ArmId, Desired, Resource,
    ResourceKind, VirtualMachine,
};
use futures::future::{join_all, try_join_all, FutureExt};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// What [`read_with`] read.
#[derive(Debug)]
pub struct Read {
    /// The live state of the readable subscriptions.
    pub live: LiveState,
    /// The subscriptions the identity may not read (nothing of them is in `live`).
    pub denied: Vec<Denied>,
    /// Where the VMs came from, and the Resource Graph queries sent.
    pub source: Source,
    pub graph_queries: u32,
}

/// Read everything the desired state needs to be diffed ([`read_with`], by default); a
/// subscription the identity may not read is the error.
pub async fn read(client: &ArmClient, desired: &Desired) -> Result<LiveState, AzureError> {
    read_every(client, desired, &ReadOptions::default()).await
}

/// [`read_with`] `options`, a subscription the identity may not read being the error.
pub async fn read_every(
    client: &ArmClient,
    desired: &Desired,
    options: &ReadOptions,
) -> Result<LiveState, AzureError> {
    let read = read_with(client, desired, options).await?;
    match read.denied.into_iter().next() {
        Some(d) => Err(d.error),
        None => Ok(read.live),
    }
}

/// Read everything the desired state needs to be diffed: per subscription its resource groups,
/// vaults, VMs and the managed disks Disk Backup picks from ([`discovery`]: lists or Resource
/// Graph); per vault one list of policies (declared vaults) and protected items; Site Recovery
/// and Disk Backup in the readable subscriptions. What `options.known` holds (VMs, resource
/// groups, vault lists) is taken as it is. Through Resource Graph, the vaults' contents and
/// Site Recovery are read as soon as the resource groups are in, while its VM and disk
/// queries still run ([`discovery::groups`], [`discovery::graph_vms`]); the VMs it could not
/// answer are listed afterwards. For one subscription, its VM count (`auto`:
/// [`discovery::large_one`]) is asked beside its lists, and only its VM lists wait for it.
pub async fn read_with(
    client: &ArmClient,
    desired: &Desired,
    options: &ReadOptions,
) -> Result<Read, AzureError> {
    let subs = desired.subscriptions();
    let known = options.known.as_ref();
    let session = resource_graph::Session::new(client);
    // The managed disks Disk Backup's selectors and listed disks need, where they need them.
    let disk_scopes = crate::model::disk_backup::disk_scopes(&desired.disk_vaults);
    let declared: BTreeMap<ArmId, &str> = desired
        .vaults
        .iter()
        .map(|v| (v.arm_id.clone(), v.name.as_str()))
        .collect();
    let declared_rgs: BTreeSet<ArmId> = desired
        .resources
        .iter()
        .filter(|r| r.address.kind == ResourceKind::ResourceGroup)
        .map(|r| r.arm_id.clone())
        .collect();
    let wanted = Wanted {
        vaults: &declared,
        groups: &declared_rgs,
        configs: &options.vault_configs,
    };
    // Readability and resource groups alongside every vault list; then the vaults' contents
    // (and Site Recovery) while Resource Graph still reads the VMs and disks (`graph_vms`).
    let vault_lists = join_all(subs.iter().map(|s| async move {
        match known.and_then(|k| k.vaults_of(s)) {
            Some(list) => Ok(list.clone()),
            None => client.list(&vault::list_path(s)).await,
        }
    }));
    // Whether `auto`'s one subscription is large enough for Resource Graph: asked beside the
    // lists, awaited by its VM lists (not by its vault contents) and by the VM queries.
    let large = discovery::large_one(&session, &subs, options.discovery, known).shared();
    let contents = async {
        let (found, vault_lists) = futures::join!(
            discovery::groups(client, &session, &subs, options.discovery, known),
            vault_lists
        );
        let mut found = found?;
        let mut readable: Vec<(String, Vec<Value>, Vec<Value>)> = Vec::new();
        for (sub, vaults) in subs.iter().zip(vault_lists) {
            let Some(groups) = found.groups.remove(&sub.to_ascii_lowercase()) else {
                continue; // denied
            };
            readable.push((sub.clone(), groups, vaults?));
        }
        // Through Resource Graph the VMs come afterwards (or are listed then); else with the
        // vault contents, unless the caller had them or the one subscription is large (the
        // vault contents do not wait for its count). A readable subscription Resource Graph
        // left out (not indexed yet) is listed with its vault contents too: nothing it sends
        // later is of that subscription.
        let graph = found.source == Source::ResourceGraph;
        let per_sub = try_join_all(readable.iter().map(|(sub, groups, vaults)| {
            let large = large.clone();
            let left_out = graph && !found.answered.contains(&sub.to_ascii_lowercase());
            let list_vms = async move {
                !known.is_some_and(|k| k.covers(sub))
                    && (left_out || !vms_after_contents(graph, large.await.as_ref()))
            };
            read_subscription(client, sub, groups, vaults, list_vms, &wanted)
        }));
        let readable_subs: Vec<String> = readable.iter().map(|r| r.0.clone()).collect();
        let replication: Vec<_> = (desired.replication_groups.iter())
            .filter(|g| is_readable(&readable_subs, &g.vault_id))
            .cloned()
            .collect();
        let (live, per_sub) =
            futures::try_join!(site_recovery::read(client, &replication), per_sub)?;
        Ok::<_, AzureError>((found, readable, readable_subs, live, per_sub))
    };
    let graph_vms = async {
        let large = large.clone().await;
        let disks = &disk_scopes;
        discovery::graph_vms(&session, &subs, options.discovery, known, disks, large).await
    };
    let (contents, graph_vms) = futures::join!(contents, graph_vms);
    let large = large.await; // answered by now
    let (mut found, readable, readable_subs, mut live, per_sub) = contents?;
    let graph = vms_after_contents(found.source == Source::ResourceGraph, large.as_ref());
    let large_sub = large.as_ref().map(|l| l.subscription.as_str());
    discovery::settle(&mut found, graph_vms, large_sub)?;
    found.queries = session.queries();
    // The VMs Resource Graph answered for but did not send (a subscription too large for its
    // answers, or whose list it cut short): listed, never planned as empty. Those of a
    // subscription it left out were listed with the vault contents.
    let to_list = (readable.iter()).filter(|(sub, _, _)| {
        let sub_lower = sub.to_ascii_lowercase();
        graph
            && found.answered.contains(&sub_lower)
            && !found.vms_of.contains(&sub_lower)
            && !known.is_some_and(|k| k.covers(sub))
    });
    let listed = try_join_all(to_list.map(|(sub, groups, _)| vms::list(client, sub, groups)));
    let disk_vaults: Vec<_> = (desired.disk_vaults.iter())
        .filter(|v| is_readable(&readable_subs, &v.arm_id))
        .cloned()
        .collect();
    let found_disks = std::mem::take(&mut found.disks);
    let disk_backup = async {
        if disk_vaults.is_empty() {
            Ok(LiveState::default())
        } else {
            disk_backup::read(client, &readable_subs, &disk_vaults, found_disks).await
        }
    };
    let (listed, disks) = futures::try_join!(listed, disk_backup)?;
    for part in per_sub {
        live.resources.extend(part.resources);
        live.vms.extend(part.vms);
        live.protected_elsewhere.extend(part.protected_elsewhere);
        live.leases.extend(part.leases);
        live.health.backup.extend(part.health.backup);
    }
    live.vms.extend(listed.into_iter().flatten());
    live.vms.extend(found.vms.take().unwrap_or_default());
    if let Some(k) = known {
        let kept = |vm: &&VirtualMachine| {
            readable_subs
                .iter()
                .any(|s| s.eq_ignore_ascii_case(&vm.subscription))
        };
        live.vms.extend(k.vms.iter().filter(kept).cloned());
    }
    live.resources.extend(disks.resources);
    live.leases.extend(disks.leases);
    live.dependencies.extend(disks.dependencies);
    live.disks.extend(disks.disks);
    live.disks_protected_elsewhere
        .extend(disks.disks_protected_elsewhere);
    Ok(Read {
        live,
        denied: found.denied,
        source: found.source,
        graph_queries: found.queries,
    })
}

/// Whether the VMs come after the vault contents (through Resource Graph, or listed then)
/// rather than listed with them: the subscriptions go through Resource Graph (`graph`), or the
/// lone one is `large`.
fn vms_after_contents(graph: bool, large: Option<&discovery::Large>) -> bool {
    graph || large.is_some()
}

/// Whether `id` is in one of the `readable` subscriptions.
fn is_readable(readable: &[String], id: &ArmId) -> bool {
    (id.subscription()).is_some_and(|s| readable.iter().any(|r| r.eq_ignore_ascii_case(s)))
}

/// What the file declares that each subscription's read looks for.
struct Wanted<'a> {
    /// Declared vaults, by id, with their names in the file.
    vaults: &'a BTreeMap<ArmId, &'a str>,
    groups: &'a BTreeSet<ArmId>,
    configs: &'a VaultConfigs,
}

/// One readable subscription: its declared resource groups, its vaults' contents and (when
/// `list_vms` says so) its VMs.
async fn read_subscription(
    client: &ArmClient,
    sub: &str,
    groups: &[Value],
    vaults: &[Value],
    list_vms: impl std::future::Future<Output = bool>,
    wanted: &Wanted<'_>,
) -> Result<LiveState, AzureError> {
    let vms = async {
        match list_vms.await {
            true => vms::list(client, sub, groups).await,
            false => Ok(vec![]),
        }
    };
    let mut live = LiveState::default();
    for g in groups {
        let id = ArmId::new(g["id"].as_str().unwrap_or_default());
        if wanted.groups.contains(&id) {
            live.resources.push(Resource {
                address: Address::new(ResourceKind::ResourceGroup, id.name()),
                arm_id: id.clone(),
                attrs: resource_group::normalize(g),
                depends_on: vec![],
            });
        }
    }
    let vault_reads = vaults.iter().map(|v| {
        let id = ArmId::new(v["id"].as_str().unwrap_or_default());
        let name = wanted.vaults.get(&id).copied();
        let config = name.is_some() && wanted.configs.covers(&id);
        read_vault(client, id, v, name, config)
    });
    let (vms, vault_parts) = futures::try_join!(vms, try_join_all(vault_reads))?;
    live.vms = vms;
    for part in vault_parts {
        live.resources.extend(part.resources);
        live.protected_elsewhere.extend(part.protected_elsewhere);
        live.leases.extend(part.leases);
        live.health.backup.extend(part.health.backup);
    }
    Ok(live)
}

/// One vault: the vault itself, its policies (declared vaults only), its backup configuration
/// (when `config`) and its protected items.
async fn read_vault(
    client: &ArmClient,
    id: ArmId,
    body: &serde_json::Value,
    declared_name: Option<&str>,
    config: bool,
) -> Result<LiveState, AzureError> {
    let mut live = LiveState::default();
    let policies = async {
        match declared_name {
            Some(_) => client.list(&backup_policy::list_path(&id)).await,
            None => Ok(vec![]),
        }
    };
    // Soft delete is read where Azure keeps it: the vault's backup configuration (FACTS §3).
    let config = async {
        match config {
            true => client.get_optional(&vault::config_path(&id)).await,
            false => Ok(None),
        }
    };
    let items_path = protected_vm::list_path(&id);
    let (items, policies, config) = futures::try_join!(client.list(&items_path), policies, config)?;
    let Some(vault_name) = declared_name else {
        for item in &items {
            if let Some((_, attrs)) = protected_vm::normalize(item) {
                let a = protected_vm::Attrs(&attrs);
                let vm = a.vm_id().unwrap_or_default().to_ascii_lowercase();
                let state = a.state().unwrap_or_default().to_string();
                live.protected_elsewhere.insert(
                    vm,
                    Elsewhere {
                        vault: id.clone(),
                        state,
                    },
                );
            }
        }
        return Ok(live);
    };
    let vault_addr = Address::new(ResourceKind::RecoveryVault, vault_name);
    note_lease(&mut live, &id, body);
    let mut attrs = vault::normalize(body);
    if let Some(sd) = config.as_ref().and_then(vault::soft_delete_from_config) {
        attrs = vault::with_soft_delete(attrs, sd);
    }
    live.resources.push(Resource {
        address: vault_addr.clone(),
        arm_id: id.clone(),
        attrs,
        depends_on: vec![],
    });
    for p in policies {
        let Some(attrs) = backup_policy::normalize(&p) else {
            continue;
        };
        let name = p["name"].as_str().unwrap_or_default();
        live.resources.push(Resource {
            address: Address::new(ResourceKind::BackupPolicy, format!("{vault_name}/{name}")),
            arm_id: backup_policy::arm_id(&id, name),
            attrs,
            depends_on: vec![vault_addr.clone()],
        });
    }
    for item in &items {
        let Some((item_id, attrs)) = protected_vm::normalize(item) else {
            continue;
        };
        live.health
            .backup
            .extend(crate::model::status::BackupItem::from_arm(item));
        let a = protected_vm::Attrs(&attrs);
        let vm_id = ArmId::new(a.vm_id().unwrap_or_default());
        let rg = vm_id.resource_group().unwrap_or_default().to_string();
        let policy = a.policy().unwrap_or_default().to_string();
        let depends_on = if policy.is_empty() {
            vec![]
        } else {
            vec![Address::new(
                ResourceKind::BackupPolicy,
                format!("{vault_name}/{policy}"),
            )]
        };
        live.resources.push(Resource {
            address: Address::new(
                ResourceKind::ProtectedVm,
                format!("{vault_name}/{rg}/{}", vm_id.name()),
            ),
            arm_id: item_id,
            attrs,
            depends_on,
        });
    }
    Ok(live)
}

/// Read the backup configuration of the declared `vaults` in `live` (those a first read left
/// out: [`VaultConfigs::Only`]) and set their soft delete, concurrently, one GET each.
pub async fn read_vault_configs(
    client: &ArmClient,
    live: &mut LiveState,
    vaults: &BTreeSet<ArmId>,
) -> Result<(), AzureError> {
    let configs = try_join_all(vaults.iter().map(|id| async move {
        let config = client.get_optional(&vault::config_path(id)).await?;
        Ok::<_, AzureError>((id, config))
    }))
    .await?;
    let soft_delete: BTreeMap<&ArmId, Value> = (configs.into_iter())
        .filter_map(|(id, c)| Some((id, vault::soft_delete_from_config(c.as_ref()?)?)))
        .collect();
    let vaults =
        (live.resources.iter_mut()).filter(|r| r.address.kind == ResourceKind::RecoveryVault);
    for r in vaults {
        if let Some(sd) = soft_delete.get(&r.arm_id) {
            r.attrs = vault::with_soft_delete(std::mem::take(&mut r.attrs), sd.clone());
        }
    }
    Ok(())
}

/// Keep a vault's lease tag, if it has one, aside from its attributes (`model::lease`).
pub(crate) fn note_lease(live: &mut LiveState, vault: &ArmId, body: &serde_json::Value) {
    if let Some(v) = crate::model::lease::value_in(&body["tags"]) {
        live.leases.insert(vault.clone(), v.to_string());
    }
}
