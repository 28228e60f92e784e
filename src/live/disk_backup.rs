//! Azure Disk Backup state, read only when the file has `disk_backup`: per subscription one list
//! of Backup vaults, and the managed disks the file can pick — those Resource Graph found
//! (`discovery::FoundDisks`), else one (paged) list per resource group that listed disks and
//! selectors name, concurrently, or the subscription's list when a selector names no resource
//! group ([`disk_backup::disk_scopes`]); per declared Backup vault one list of
//! policies, one of backup instances, and per subscription one list of the role assignments of
//! the identity its disks back up with — its own, or the user-assigned one the file names
//! (`$filter=principalId eq '…'`; a shared identity's listed once per subscription for all the
//! vaults sharing it, `RoleLists`, and kept once per assignment, [`once_per_shared_identity`])
//! — also in the subscriptions of its
//! instances' disks and snapshot groups that the file no longer reaches — and one list of its
//! soft-deleted instances (`deletedBackupInstances`, where Azure keeps them); per undeclared Backup vault one list of
//! backup instances (→ [`LiveState::disks_protected_elsewhere`]). Every call is issued as soon
//! as what it needs is known, concurrently with the others.
//!
//! Addresses and attributes follow the contract in `model::disk_backup`.

use super::discovery::FoundDisks;
use super::{Elsewhere, LiveState};
use crate::azure::memo::Memo;
use crate::azure::{ArmClient, AzureError};
use crate::model::disk_backup::{self, instance, policy, role, vault, DiskVaultScope};
use crate::model::{disk, Address, ArmId, ManagedDisk, Resource, ResourceKind};
use futures::future::try_join_all;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// Read the Disk Backup state of `subscriptions` for the declared Backup vaults `declared`; the
/// disks of the subscriptions `found` is of are taken from it, not listed.
pub async fn read(
    client: &ArmClient,
    subscriptions: &[String],
    declared: &[DiskVaultScope],
    found: FoundDisks,
) -> Result<LiveState, AzureError> {
    let names: BTreeMap<&ArmId, Declared> = declared
        .iter()
        .map(|v| {
            let d = Declared {
                name: &v.name,
                user_identity: v.user_identity.as_deref(),
            };
            (&v.arm_id, d)
        })
        .collect();
    let scopes = disk_backup::disk_scopes(declared);
    let mut given: BTreeMap<String, Vec<ManagedDisk>> =
        (found.of.iter()).map(|s| (s.clone(), Vec::new())).collect();
    for d in found.disks {
        if let Some(disks) = given.get_mut(&d.subscription.to_ascii_lowercase()) {
            disks.push(d);
        }
    }
    let roles = RoleLists::default();
    let parts = try_join_all(subscriptions.iter().map(|sub| {
        let lower = sub.to_ascii_lowercase();
        let disks = match given.remove(&lower) {
            Some(found) => Disks::Found(found),
            None => Disks::Listed(scopes.get(&lower)),
        };
        let reader = Reader {
            client,
            roles: &roles,
        };
        read_subscription(reader, sub, disks, subscriptions, &names)
    }))
    .await?;
    let mut live = LiveState::default();
    for part in parts {
        live.resources.extend(part.resources);
        live.disks.extend(part.disks);
        live.disks_protected_elsewhere
            .extend(part.disks_protected_elsewhere);
        live.leases.extend(part.leases);
    }
    once_per_shared_identity(&mut live.resources);
    Ok(live)
}

/// Vaults sharing a user-assigned identity each list its role assignments: each assignment is
/// kept once, as the vault of the lowest id read it (whatever order Azure lists vaults in, the
/// same one: a saved plan's fingerprint of the estate does not change with it).
fn once_per_shared_identity(resources: &mut Vec<Resource>) {
    role::drop_shared_copies(resources);
}

/// What reads Azure: the client, and the role-assignment lists read so far.
#[derive(Clone, Copy)]
struct Reader<'a> {
    client: &'a ArmClient,
    roles: &'a RoleLists,
}

/// Role-assignment lists by path, each listed once per read: vaults sharing a user-assigned
/// identity ask for the same ones (200 vaults sharing one identity over 100 subscriptions would
/// list them 20,000 times).
#[derive(Default)]
struct RoleLists(Memo<String, Vec<Value>>);

impl RoleLists {
    async fn list(&self, client: &ArmClient, path: &str) -> Result<Vec<Value>, AzureError> {
        self.0.get(path.to_string(), || client.list(path)).await
    }
}

/// A Backup vault the file declares: its name there, the user-assigned identity its disks back
/// up with (none: its own).
#[derive(Clone, Copy)]
struct Declared<'a> {
    name: &'a str,
    user_identity: Option<&'a str>,
}

/// Where one subscription's managed disks come from.
enum Disks<'a> {
    /// Resource Graph's, already in the subscription's scope.
    Found(Vec<ManagedDisk>),
    /// Its lists, for its scope (`None`: it needs no disk; `Some(None)`: every group's).
    Listed(Option<&'a Option<std::collections::BTreeSet<String>>>),
}

/// One subscription: its disks, its Backup vaults.
async fn read_subscription(
    reader: Reader<'_>,
    sub: &str,
    disks: Disks<'_>,
    subscriptions: &[String],
    declared: &BTreeMap<&ArmId, Declared<'_>>,
) -> Result<LiveState, AzureError> {
    let client = reader.client;
    let disks = async {
        let disk_scope = match disks {
            Disks::Found(disks) => return Ok(disks),
            Disks::Listed(scope) => scope,
        };
        let items = match disk_scope {
            None => Vec::new(),
            Some(None) => client.list(&disk::list_path(sub)).await?,
            Some(Some(groups)) => {
                try_join_all(groups.iter().map(|rg| group_disks(client, sub, rg)))
                    .await?
                    .into_iter()
                    .flatten()
                    .collect()
            }
        };
        Ok::<_, AzureError>(
            items
                .iter()
                .filter_map(ManagedDisk::from_arm)
                .collect::<Vec<_>>(),
        )
    };
    let vaults = async {
        let vaults = client.list(&vault::list_path(sub)).await?;
        let reads = vaults.iter().map(|v| {
            let id = ArmId::new(v["id"].as_str().unwrap_or_default());
            let name = declared.get(&id).copied();
            read_vault(reader, id, v, name, subscriptions)
        });
        try_join_all(reads).await
    };
    let (disks, vaults) = futures::try_join!(disks, vaults)?;
    let mut live = LiveState {
        disks,
        ..LiveState::default()
    };
    for part in vaults {
        live.resources.extend(part.resources);
        live.disks_protected_elsewhere
            .extend(part.disks_protected_elsewhere);
        live.leases.extend(part.leases);
    }
    Ok(live)
}

/// The disks of one resource group; none when the group does not exist (a listed disk there is
/// then "not found", which the plan blocks with the reason).
async fn group_disks(client: &ArmClient, sub: &str, rg: &str) -> Result<Vec<Value>, AzureError> {
    match client.list(&disk::group_list_path(sub, rg)).await {
        Err(e) if e.code() == Some("ResourceGroupNotFound") => Ok(Vec::new()),
        other => other,
    }
}

/// One Backup vault: declared → the vault, its disk policies, instances and the role
/// assignments of the identity its disks back up with (its own, or the user-assigned one the
/// file names); undeclared → only where its instances' disks are protected.
async fn read_vault(
    reader: Reader<'_>,
    id: ArmId,
    body: &Value,
    declared: Option<Declared<'_>>,
    subscriptions: &[String],
) -> Result<LiveState, AzureError> {
    let client = reader.client;
    let mut live = LiveState::default();
    let instances_path = vault::collection_path(&id, "backupInstances");
    let Some(Declared {
        name: vault_name,
        user_identity,
    }) = declared
    else {
        for item in client.list(&instances_path).await? {
            if let Some((_, attrs)) = instance::normalize(&item) {
                let a = instance::Attrs(&attrs);
                live.disks_protected_elsewhere.insert(
                    a.disk_id().unwrap_or_default().to_ascii_lowercase(),
                    Elsewhere {
                        vault: id.clone(),
                        state: a.state().unwrap_or_default().to_string(),
                    },
                );
            }
        }
        return Ok(live);
    };
    // A user-assigned identity not attached yet has no principal here: its roles are planned
    // as new (apply adopts any that exist).
    let principal = vault::backup_principal_id(body, user_identity);
    let policies_path = vault::collection_path(&id, "backupPolicies");
    let deleted_path = vault::collection_path(&id, "deletedBackupInstances");
    let (policies, mut instances, deleted, mut roles) = futures::try_join!(
        client.list(&policies_path),
        client.list(&instances_path),
        client.list(&deleted_path),
        role_lists(reader, principal, subscriptions.iter(), false),
    )?;
    instances.extend(deleted.into_iter().map(|d| as_instance(&id, d)));
    let instances = normalize_instances(vault_name, &instances);
    // The vault's instances may be of disks (and snapshot groups) in subscriptions the file no
    // longer reaches — a disk removed from it: the identity's roles there are read as well, so
    // that the plan that deletes the instance also sees (and removes) them.
    let left: BTreeSet<String> = instance_subscriptions(&instances)
        .filter(|s| !subscriptions.iter().any(|r| r.eq_ignore_ascii_case(s)))
        .collect();
    roles.extend(role_lists(reader, principal, left.iter(), true).await?);
    let vault_addr = Address::new(ResourceKind::BackupVault, vault_name);
    super::note_lease(&mut live, &id, body);
    live.resources.push(Resource {
        address: vault_addr.clone(),
        arm_id: id.clone(),
        attrs: vault::normalize(body),
        depends_on: vec![],
    });
    live.resources
        .extend(normalize_policies(&id, vault_name, &vault_addr, &policies));
    live.resources.extend(instances);
    live.resources
        .extend(normalize_roles(&id, vault_name, user_identity, &roles));
    Ok(live)
}

/// A soft-deleted instance (`deletedBackupInstances`, `SoftDeleted`) under the id it had and
/// would have again once undeleted, so that the plan knows it as the same instance. Recording:
/// Azure/azure-cli-extensions dataprotection `test_dataprotection_backup_instance_softdelete.yaml`
/// #10–#11 (the instance leaves `backupInstances` and is listed there) and #28 (undeleted, it
/// is back under its old id).
fn as_instance(vault: &ArmId, mut deleted: Value) -> Value {
    let name = deleted["name"].as_str().unwrap_or_default().to_string();
    deleted["id"] = Value::String(vault.child(&["backupInstances", &name]).to_string());
    deleted
}

/// The role assignments of the vault identity `principal` in `subscriptions` (none without an
/// identity), one list per subscription, concurrently; with `hidden_ok`, a subscription that
/// [`hides_roles`] shows none instead of failing the read.
async fn role_lists(
    reader: Reader<'_>,
    principal: Option<&str>,
    subscriptions: impl Iterator<Item = &String>,
    hidden_ok: bool,
) -> Result<Vec<Value>, AzureError> {
    let Some(p) = principal else {
        return Ok(Vec::new());
    };
    let lists = try_join_all(subscriptions.map(|s| {
        let path = role::list_path(s, p);
        async move {
            match reader.roles.list(reader.client, &path).await {
                Err(e) if hidden_ok && hides_roles(&e) => Ok(Vec::new()),
                other => other,
            }
        }
    }))
    .await?;
    Ok(lists.into_iter().flatten().collect())
}

/// A subscription the identity may not read (or that is gone) shows no roles: none the plan
/// could see to remove, and no reason to fail a plan of subscriptions the file does name.
fn hides_roles(e: &AzureError) -> bool {
    e.authorization_failed().is_some() || e.code() == Some("SubscriptionNotFound")
}

/// The subscriptions (lower case) of the disks and snapshot resource groups of `instances`.
fn instance_subscriptions(instances: &[Resource]) -> impl Iterator<Item = String> + '_ {
    instances.iter().flat_map(|r| {
        let a = instance::Attrs(&r.attrs);
        [a.disk_id(), a.snapshot_resource_group_id()]
            .into_iter()
            .flatten()
            .filter_map(|id| ArmId::new(id).subscription().map(str::to_ascii_lowercase))
    })
}

/// Disk policies of a declared vault, addressed `disk_policy.<vault>/<ARM name>`.
fn normalize_policies(
    vault_id: &ArmId,
    vault_name: &str,
    vault_addr: &Address,
    policies: &[Value],
) -> Vec<Resource> {
    policies
        .iter()
        .filter_map(|p| {
            let attrs = policy::normalize(p)?;
            let name = p["name"].as_str().filter(|n| !n.is_empty())?;
            let arm_id = p["id"]
                .as_str()
                .map(ArmId::new)
                .unwrap_or_else(|| vault_id.child(&["backupPolicies", name]));
            Some(Resource {
                address: Address::new(ResourceKind::DiskPolicy, format!("{vault_name}/{name}")),
                arm_id,
                attrs,
                depends_on: vec![vault_addr.clone()],
            })
        })
        .collect()
}

/// Disk backup instances of a declared vault, addressed `disk_backup.<vault>/<rg>/<disk>` and
/// depending on their live policy.
fn normalize_instances(vault_name: &str, instances: &[Value]) -> Vec<Resource> {
    instances
        .iter()
        .filter_map(|i| {
            let (arm_id, attrs) = instance::normalize(i)?;
            let a = instance::Attrs(&attrs);
            let disk = ArmId::new(a.disk_id()?);
            let rg = disk.resource_group()?.to_string();
            let policy = a.policy().unwrap_or_default();
            let depends_on = if policy.is_empty() {
                vec![]
            } else {
                vec![Address::new(
                    ResourceKind::DiskPolicy,
                    format!("{vault_name}/{policy}"),
                )]
            };
            Some(Resource {
                address: Address::new(
                    ResourceKind::DiskBackup,
                    format!("{vault_name}/{rg}/{}", disk.name()),
                ),
                arm_id,
                attrs,
                depends_on,
            })
        })
        .collect()
}

/// The vault identity's Disk Backup Reader (on a disk) and Disk Snapshot Contributor (on a
/// resource group) assignments; other roles and scopes of other shapes are not azprotect's.
/// When two assignments share an address (one made by hand), the one with azprotect's stable
/// name wins.
fn normalize_roles(
    vault_id: &ArmId,
    vault_name: &str,
    user_identity: Option<&str>,
    roles: &[Value],
) -> Vec<Resource> {
    let holder = role::holder(vault_id, user_identity);
    let mut out: BTreeMap<String, Resource> = BTreeMap::new();
    for r in roles {
        let Some(attrs) = role::normalize(r, vault_id, user_identity) else {
            continue;
        };
        let a = role::Attrs(&attrs);
        let scope = ArmId::new(a.scope().unwrap_or_default());
        let role_short = a.role().unwrap_or_default();
        let Some(name) = role::address_name(vault_name, role_short, &scope) else {
            continue;
        };
        let Some(arm_id) = r["id"].as_str().map(ArmId::new) else {
            continue;
        };
        // `role::normalize` kept only the two roles.
        let guid = role::role_guid(role_short).unwrap_or(role::DISK_SNAPSHOT_CONTRIBUTOR);
        let ours = arm_id
            .name()
            .eq_ignore_ascii_case(&role::assignment_name(&holder, guid, &scope));
        if out.contains_key(&name) && !ours {
            continue;
        }
        out.insert(
            name.clone(),
            Resource {
                address: Address::new(ResourceKind::RoleAssignment, name),
                arm_id,
                attrs,
                depends_on: vec![Address::new(ResourceKind::BackupVault, vault_name)],
            },
        );
    }
    out.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arm(status: u16, code: &str) -> AzureError {
        AzureError::Arm {
            method: "GET".into(),
            resource: "/subscriptions/s/providers/Microsoft.Authorization/roleAssignments".into(),
            status,
            code: code.into(),
            message: "m".into(),
            request_id: "-".into(),
        }
    }

    #[test]
    fn a_shared_identitys_assignment_is_kept_once_as_the_lowest_vault_read_it() {
        let role = |vault: &str, id: &str| Resource {
            address: Address::new(
                ResourceKind::RoleAssignment,
                format!("{vault}/disk_backup_reader/rg/d"),
            ),
            arm_id: ArmId::new(id),
            attrs: serde_json::json!({"vault_id": format!("/v/{vault}"), "user_identity_id": "/u"}),
            depends_on: vec![],
        };
        let own = Resource {
            attrs: serde_json::json!({"vault_id": "/v/bv-b"}),
            ..role("bv-b", "/ra/own")
        };
        // Azure lists bv-b first; the copy bv-a read is kept, and the vault's own assignments all.
        let mut read = vec![
            role("bv-b", "/ra/1"),
            own.clone(),
            role("bv-a", "/RA/1"),
            role("bv-b", "/ra/2"),
        ];
        once_per_shared_identity(&mut read);
        let kept: Vec<(&str, &str)> = (read.iter())
            .map(|r| (r.address.name.as_str(), r.arm_id.as_str()))
            .collect();
        assert_eq!(
            kept,
            [
                ("bv-b/disk_backup_reader/rg/d", "/ra/own"),
                ("bv-a/disk_backup_reader/rg/d", "/RA/1"),
                ("bv-b/disk_backup_reader/rg/d", "/ra/2"),
            ]
        );
    }

    #[test]
    fn an_unreadable_or_gone_subscription_hides_its_roles_other_failures_do_not() {
        assert!(hides_roles(&arm(403, "AuthorizationFailed")));
        assert!(hides_roles(&arm(404, "SubscriptionNotFound")));
        assert!(!hides_roles(&arm(429, "TooManyRequests")));
        assert!(!hides_roles(&arm(500, "InternalServerError")));
        assert!(!hides_roles(&arm(403, "InvalidAuthenticationToken")));
    }
}
