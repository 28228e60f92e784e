//! Site Recovery state of the vaults that host `site_recovery` groups: seven vault-wide list
//! calls per vault (fabrics, containers, policies, container mappings, network mappings,
//! replicated items, recovery plans), issued concurrently.

use super::LiveState;
use crate::azure::{ArmClient, AzureError};
use crate::model::site_recovery::{
    self as site_recovery, recovery_plan, replication, setup, ReplicationGroup,
};
use crate::model::status::Replicated;
use crate::model::{Address, ArmId, Resource, ResourceKind};
use serde_json::Value;
use std::collections::BTreeMap;

const COLLECTIONS: [&str; 7] = [
    "replicationFabrics",
    "replicationProtectionContainers",
    "replicationPolicies",
    "replicationProtectionContainerMappings",
    "replicationNetworkMappings",
    "replicationProtectedItems",
    "replicationRecoveryPlans",
];

/// Read every vault that hosts a replication group (once per vault).
pub async fn read(
    client: &ArmClient,
    groups: &[ReplicationGroup],
) -> Result<LiveState, AzureError> {
    let mut vaults: BTreeMap<ArmId, (String, Vec<&ReplicationGroup>)> = BTreeMap::new();
    for g in groups {
        vaults
            .entry(g.vault_id.clone())
            .or_insert_with(|| (g.vault.clone(), vec![]))
            .1
            .push(g);
    }
    let reads = vaults
        .iter()
        .map(|(id, (name, gs))| read_vault(client, id, name, gs));
    let deps: std::collections::BTreeSet<String> = groups
        .iter()
        .flat_map(|g| {
            let nets = g
                .network_mappings
                .iter()
                .flat_map(|(s, t)| [s.clone(), t.clone()]);
            [
                g.cache_storage_account_id.clone(),
                g.target_resource_group_id.clone(),
            ]
            .into_iter()
            .chain(nets)
        })
        .map(|id| id.to_ascii_lowercase())
        .collect();
    let cache_reads = deps.iter().map(|id| async move {
        let body = client.get_optional(&setup::dependency_path(id)).await?;
        Ok::<_, AzureError>((id.clone(), body))
    });
    let (parts, accounts) = futures::try_join!(
        futures::future::try_join_all(reads),
        futures::future::try_join_all(cache_reads)
    )?;
    let mut live = LiveState::default();
    for (part, health) in parts {
        live.resources.extend(part);
        live.health.replication.extend(health);
    }
    live.dependencies.extend(accounts);
    Ok(live)
}

/// Every Site Recovery resource of these vaults (`(id, name)`), whatever declares them — for
/// `export`, which has no file yet: the same seven lists per vault, normalized the same way.
/// With no declared group a replicated item is addressed `{vault}/{source region}/{rg}/{vm}`
/// (the region replication was enabled from) and a recovery plan `{vault}/{plan}`.
pub async fn read_vaults(
    client: &ArmClient,
    vaults: &[(ArmId, String)],
) -> Result<Vec<Resource>, AzureError> {
    let reads = vaults
        .iter()
        .map(|(id, name)| read_vault(client, id, name, &[]));
    let parts = futures::future::try_join_all(reads).await?;
    Ok(parts.into_iter().flat_map(|(part, _health)| part).collect())
}

/// A list that is empty when its parent (vault, resource group) does not exist yet.
async fn list_or_empty(client: &ArmClient, path: &str) -> Result<Vec<Value>, AzureError> {
    match client.list(path).await {
        Err(e) if e.status() == Some(404) => Ok(Vec::new()),
        other => other,
    }
}

async fn read_vault(
    client: &ArmClient,
    vault: &ArmId,
    vault_name: &str,
    groups: &[&ReplicationGroup],
) -> Result<(Vec<Resource>, Vec<Replicated>), AzureError> {
    let paths: Vec<String> = COLLECTIONS
        .iter()
        .map(|c| site_recovery::vault_list_path(vault, c))
        .collect();
    // A vault (or its resource group) that does not exist yet has nothing to list.
    let lists =
        futures::future::try_join_all(paths.iter().map(|p| list_or_empty(client, p))).await?;
    let [fabrics, containers, policies, mappings, networks, items, plans]: [Vec<Value>; 7] = lists
        .try_into()
        .map_err(|_| AzureError::Config("unexpected list count".into()))?;
    let mut out = Vec::new();
    let named = |kind: ResourceKind, name: String, v: &Value, attrs: Value| Resource {
        address: Address::new(kind, name),
        arm_id: ArmId::new(v["id"].as_str().unwrap_or_default()),
        attrs,
        depends_on: vec![],
    };
    for f in &fabrics {
        let attrs = setup::normalize_fabric(f);
        let region = setup::Located(&attrs)
            .location()
            .unwrap_or_default()
            .to_string();
        out.push(named(
            ResourceKind::ReplicationFabric,
            format!("{vault_name}/{region}"),
            f,
            attrs,
        ));
    }
    for c in &containers {
        let attrs = setup::normalize_container(c);
        let region = setup::Located(&attrs)
            .location()
            .unwrap_or_default()
            .to_string();
        out.push(named(
            ResourceKind::ProtectionContainer,
            format!("{vault_name}/{region}"),
            c,
            attrs,
        ));
    }
    for p in &policies {
        if let Some(attrs) = setup::normalize_policy(p) {
            let name = p["name"].as_str().unwrap_or_default();
            out.push(named(
                ResourceKind::ReplicationPolicy,
                format!("{vault_name}/{name}"),
                p,
                attrs,
            ));
        }
    }
    for m in &mappings {
        let name = m["name"].as_str().unwrap_or_default();
        out.push(named(
            ResourceKind::ContainerMapping,
            format!("{vault_name}/{name}"),
            m,
            setup::normalize_mapping(m),
        ));
    }
    for n in &networks {
        let name = n["name"].as_str().unwrap_or_default();
        out.push(named(
            ResourceKind::NetworkMapping,
            format!("{vault_name}/{name}"),
            n,
            setup::normalize_network_mapping(n),
        ));
    }
    let mut vm_of_item: BTreeMap<ArmId, String> = BTreeMap::new();
    let health = items.iter().filter_map(Replicated::from_arm).collect();
    for i in &items {
        let Some((id, attrs)) = replication::normalize(i) else {
            continue;
        };
        let vm = ArmId::new(replication::Attrs(&attrs).vm_id().unwrap_or_default());
        vm_of_item.insert(id.clone(), vm.to_string());
        // A re-protected item lives under the other region's fabric; it still belongs to the
        // group that enabled it (its initial primary region).
        let source = replication::declared_source_region(i).unwrap_or_else(|| {
            id.value_of("replicationFabrics")
                .and_then(|f| f.strip_prefix("asr-a2a-default-"))
                .unwrap_or_default()
                .to_string()
        });
        let group = if groups.is_empty() {
            format!("{vault_name}/{source}")
        } else {
            groups
                .iter()
                .find(|g| {
                    crate::model::resource_group::normalize_location(&g.source_region) == source
                })
                .map_or(vault_name, |g| g.name.as_str())
                .to_string()
        };
        let rg = vm.resource_group().unwrap_or_default();
        out.push(Resource {
            address: Address::new(
                ResourceKind::Replication,
                format!("{group}/{rg}/{}", vm.name()),
            ),
            arm_id: id,
            attrs,
            depends_on: vec![],
        });
    }
    for p in &plans {
        let name = p["name"].as_str().unwrap_or_default();
        let declared = groups.iter().find(|g| {
            g.recovery_plans
                .keys()
                .any(|k| k.eq_ignore_ascii_case(name))
        });
        let group = declared.map_or(vault_name, |g| g.name.as_str());
        let mut attrs = recovery_plan::normalize(p, &|item| vm_of_item.get(item).cloned());
        if let Some(g) = declared {
            declared_orientation(&mut attrs, g);
        }
        out.push(named(
            ResourceKind::RecoveryPlan,
            format!("{group}/{name}"),
            p,
            attrs,
        ));
    }
    Ok((out, health))
}

/// A recovery plan reads in its group's declared orientation (see
/// `recovery_plan::declared_orientation`).
fn declared_orientation(attrs: &mut Value, g: &ReplicationGroup) {
    let norm = crate::model::resource_group::normalize_location;
    recovery_plan::declared_orientation(attrs, &norm(&g.source_region), &norm(&g.target_region));
}
