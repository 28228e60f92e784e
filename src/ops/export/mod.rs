//! `azprotect export`: adopt an existing estate. [`export`] lists the Recovery Services vaults and
//! Backup vaults (Disk Backup, [`disks`]) of a subscription (narrowed by name and resource group), reads them the way `plan` does
//! (`live::read`: list calls per vault, concurrently, normalized by the `model` families; the
//! Recovery Services vaults' Site Recovery setups with `live::site_recovery::read_vaults`, as
//! groups by [`site_recovery`]), and [`build`] turns that into a [`Document`] that `render::export` writes as a v1 file which
//! validates and plans empty against the same estate.

pub mod build;
mod disks;
mod site_recovery;

use crate::azure::{ArmClient, AzureError};
use crate::model::disk_backup::{self, DiskVaultScope};
use crate::model::export::Document;
use crate::model::resource_group::normalize_location;
use crate::model::{vault, ArmId, Desired, OnRemove, Resource, ResourceKind, VaultScope};
use serde_json::Value;

/// What to export.
#[derive(Debug, Clone, Default)]
pub struct Input {
    /// `--vault`: only these vaults (names, case-insensitive); every one must exist.
    pub vaults: Vec<String>,
    /// `--resource-group`: only vaults in these groups (case-insensitive).
    pub resource_groups: Vec<String>,
    /// `--selectors`: offer selectors where a whole group or tag value has one policy.
    pub selectors: bool,
    /// `--skip-unsupported`: leave out the vaults holding items the file cannot express instead
    /// of refusing to write ([`ExportError::Unsupported`]).
    pub skip_unsupported: bool,
    /// The command line, for the file's header.
    pub command: String,
    /// The estate it reads, for the file's header: the ARM endpoint, or `sandbox:<state>` (not
    /// the in-process sandbox's port, which changes with every run).
    pub estate: String,
}

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ExportError {
    #[error("no Recovery Services or Backup vault named {names} in {searched}")]
    #[diagnostic(help("`azprotect export` without --vault lists every vault it finds"))]
    UnknownVaults { names: String, searched: String },
    #[error("nothing to export: no Recovery Services or Backup vault in {searched}")]
    #[diagnostic(help(
        "check the subscription (--subscription or AZURE_SUBSCRIPTION_ID) and the --vault / --resource-group filters"
    ))]
    NothingFound { searched: String },
    #[error("two vaults are named {name} ({first} and {second}); a file keys vaults by name")]
    #[diagnostic(help("export one at a time with --resource-group"))]
    SameName {
        name: String,
        first: String,
        second: String,
    },
    #[error("{count} item(s) cannot be expressed in the file, and planning a file without them would stop their protection, disable their replication or delete their recovery plan; nothing was written:\n{list}")]
    #[diagnostic(help(
        "pass --skip-unsupported to write the rest: each vault holding such an item is left out of the file (named in a comment), so that planning it leaves them alone"
    ))]
    Unsupported { count: usize, list: String },
    #[error(transparent)]
    Azure(Box<AzureError>),
}

impl From<AzureError> for ExportError {
    fn from(e: AzureError) -> Self {
        ExportError::Azure(Box::new(e))
    }
}

impl Input {
    /// What was searched, in words (for the header and the errors).
    fn searched(&self, subscription: &str) -> String {
        let mut s = format!("subscription {subscription}");
        if !self.resource_groups.is_empty() {
            s.push_str(&format!(
                ", resource group(s) {}",
                self.resource_groups.join(", ")
            ));
        }
        s
    }
}

/// Read the vaults `input` names in `subscription` into a document.
pub async fn export(
    client: &ArmClient,
    subscription: &str,
    input: &Input,
) -> Result<Document, ExportError> {
    let searched = input.searched(subscription);
    let (rsv_path, bv_path) = (
        vault::list_path(subscription),
        disk_backup::vault::list_path(subscription),
    );
    let (listed, listed_disk) = futures::try_join!(client.list(&rsv_path), client.list(&bv_path))?;
    let scopes: Vec<VaultScope> = pick(&listed, input)?
        .into_iter()
        .map(|(name, arm_id, location)| VaultScope {
            name,
            arm_id,
            location,
            on_remove: OnRemove::default(),
            restore_drill: None,
        })
        .collect();
    let mut disk_scopes: Vec<DiskVaultScope> = pick(&listed_disk, input)?
        .into_iter()
        .map(|(name, arm_id, location)| DiskVaultScope {
            name,
            arm_id,
            location,
            on_remove: OnRemove::default(),
            grant_permissions: true,
            user_identity: None,
            keeps_identities: false,
            policies: Default::default(),
            policy_every: Default::default(),
            protect: vec![],
        })
        .collect();
    let found = |n: &str| {
        scopes.iter().any(|s| s.name.eq_ignore_ascii_case(n))
            || disk_scopes.iter().any(|s| s.name.eq_ignore_ascii_case(n))
    };
    let missing: Vec<&String> = input.vaults.iter().filter(|n| !found(n)).collect();
    if !missing.is_empty() {
        return Err(ExportError::UnknownVaults {
            names: missing
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", "),
            searched,
        });
    }
    if scopes.is_empty() && disk_scopes.is_empty() {
        return Err(ExportError::NothingFound { searched });
    }
    let mut desired = Desired {
        subscription: subscription.to_string(),
        vaults: scopes.clone(),
        disk_vaults: disk_scopes.clone(),
        ..Desired::default()
    };
    let sr_vaults: Vec<(ArmId, String)> = scopes
        .iter()
        .map(|s| (s.arm_id.clone(), s.name.clone()))
        .collect();
    let (mut live, sr) = futures::try_join!(
        crate::live::read(client, &desired),
        crate::live::site_recovery::read_vaults(client, &sr_vaults)
    )?;
    // A Backup vault whose disks back up with a user-assigned identity: its roles are that
    // identity's, which the first read (of the vault's own identity's) did not see.
    let mut again = false;
    for s in &mut disk_scopes {
        s.user_identity = disks::backup_identity(&live, s);
        again |= s.user_identity.is_some();
    }
    if again {
        desired.disk_vaults = disk_scopes.clone();
        live = crate::live::read(client, &desired).await?;
    }
    let mut doc = build::document(&live, &scopes, subscription, input.selectors);
    let (groups, unsupported) = site_recovery::groups(&live, &sr, &scopes, subscription);
    doc.site_recovery = groups;
    doc.unsupported.extend(unsupported);
    doc.unsupported.sort();
    if !doc.unsupported.is_empty() {
        if !input.skip_unsupported {
            return Err(ExportError::Unsupported {
                count: doc.unsupported.len(),
                list: doc
                    .unsupported
                    .iter()
                    .map(|u| format!("  vault {}: {}", u.vault, u.line))
                    .collect::<Vec<_>>()
                    .join("\n"),
            });
        }
        leave_out(&mut doc);
    }
    doc.disk_vaults = disk_scopes
        .iter()
        .filter_map(|s| disks::vault(&live, s, subscription))
        .collect();
    doc.command = input.command.clone();
    doc.endpoint = input.estate.clone();
    doc.searched = if input.vaults.is_empty() {
        searched
    } else {
        format!("{searched}, vault(s) {}", input.vaults.join(", "))
    };
    doc.generated_at = now();
    Ok(doc)
}

/// `--skip-unsupported`: no setting of the file makes the plan leave one item of a declared
/// vault alone (`plan::diff::removal` stops, disables or deletes what a declared vault holds
/// and the file does not list), so a vault with an unsupported protected VM is left out whole
/// (with its Site Recovery groups, which need it declared), and a vault with an unsupported
/// replicated VM or recovery plan loses its Site Recovery groups (the planner reads the
/// replications only of the vaults a group names: `live::site_recovery::read`).
fn leave_out(doc: &mut Document) {
    let mut vaults: Vec<(&str, bool)> = Vec::new();
    for u in &doc.unsupported {
        match vaults.iter_mut().find(|(v, _)| *v == u.vault) {
            Some((_, backup)) => *backup |= !u.site_recovery,
            None => vaults.push((&u.vault, !u.site_recovery)),
        }
    }
    let mut left_out = Vec::new();
    for (name, backup) in vaults {
        let what = if backup {
            "the whole vault (and its Site Recovery groups)"
        } else {
            "its Site Recovery groups"
        };
        left_out.push(format!("vault {name}: {what}, because of"));
        left_out.extend(
            doc.unsupported
                .iter()
                .filter(|u| u.vault == name)
                .map(|u| format!("  {}", u.line)),
        );
        if backup {
            doc.vaults.retain(|v| v.name != name);
        }
        doc.site_recovery.retain(|g| g.vault != name);
    }
    doc.left_out = left_out;
}

/// The vaults of a list (of either kind) that `input` selects, sorted by name: (name, id,
/// normalized region). Two of one name are an error (a file keys vaults by name).
fn pick(listed: &[Value], input: &Input) -> Result<Vec<(String, ArmId, String)>, ExportError> {
    let mut out: Vec<(String, ArmId, String)> = Vec::new();
    for v in listed {
        let id = ArmId::new(v["id"].as_str().unwrap_or_default());
        let rg = id.resource_group().unwrap_or_default();
        let name = id.name();
        let wanted = (input.vaults.is_empty()
            || input.vaults.iter().any(|n| n.eq_ignore_ascii_case(name)))
            && (input.resource_groups.is_empty()
                || input
                    .resource_groups
                    .iter()
                    .any(|g| g.eq_ignore_ascii_case(rg)));
        if !wanted {
            continue;
        }
        if let Some((_, other, _)) = out.iter().find(|(n, _, _)| n.eq_ignore_ascii_case(name)) {
            return Err(ExportError::SameName {
                name: name.to_string(),
                first: other.to_string(),
                second: id.to_string(),
            });
        }
        let location = normalize_location(v["location"].as_str().unwrap_or_default());
        out.push((name.to_string(), id, location));
    }
    out.sort_by_key(|(n, _, _)| n.to_ascii_lowercase());
    Ok(out)
}

fn now() -> String {
    let now = time::OffsetDateTime::now_utc().replace_nanosecond(0);
    now.ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// `id` as the file names it: `rg/name` in the default subscription, else the id.
fn reference(id: &ArmId, sub: &str) -> String {
    match id.subscription() {
        Some(s) if s.eq_ignore_ascii_case(sub) => {
            format!("{}/{}", id.resource_group().unwrap_or_default(), id.name())
        }
        _ => id.as_str().to_string(),
    }
}

/// The resources of one kind that belong to the vault named `vault` (their address starts with
/// its name).
fn of_vault<'a>(
    resources: &'a [Resource],
    vault: &'a str,
    kind: ResourceKind,
) -> impl Iterator<Item = &'a Resource> + 'a {
    resources
        .iter()
        .filter(move |r| r.address.kind == kind)
        .filter(move |r| r.address.name.split('/').next() == Some(vault))
}

#[cfg(test)]
mod tests {
    use super::leave_out;
    use crate::model::export::{Document, SiteRecovery, Unsupported, Vault};

    fn vault(name: &str) -> Vault {
        Vault {
            name: name.into(),
            ..Vault::default()
        }
    }

    fn group(name: &str, vault: &str) -> SiteRecovery {
        SiteRecovery {
            name: name.into(),
            vault: vault.into(),
            ..SiteRecovery::default()
        }
    }

    fn unsupported(vault: &str, site_recovery: bool, line: &str) -> Unsupported {
        Unsupported {
            vault: vault.into(),
            site_recovery,
            line: line.into(),
        }
    }

    #[test]
    fn a_vault_is_left_out_whole_for_a_backup_item_and_its_groups_for_a_replication() {
        let mut doc = Document {
            vaults: vec![vault("rsv-a"), vault("rsv-b"), vault("rsv-c")],
            site_recovery: vec![
                group("a-dr", "rsv-a"),
                group("b-dr", "rsv-b"),
                group("c-dr", "rsv-c"),
            ],
            unsupported: vec![
                unsupported("rsv-a", false, "rg/vm1: backs up only some disks"),
                unsupported("rsv-a", true, "rg/vm2: replicates into another group"),
                unsupported(
                    "rsv-b",
                    true,
                    "recovery plan p: its VMs are not all replicated",
                ),
            ],
            ..Document::default()
        };
        leave_out(&mut doc);
        let vaults: Vec<&str> = doc.vaults.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(vaults, ["rsv-b", "rsv-c"]);
        let groups: Vec<&str> = doc.site_recovery.iter().map(|g| g.name.as_str()).collect();
        assert_eq!(groups, ["c-dr"]);
        assert_eq!(
            doc.left_out,
            [
                "vault rsv-a: the whole vault (and its Site Recovery groups), because of",
                "  rg/vm1: backs up only some disks",
                "  rg/vm2: replicates into another group",
                "vault rsv-b: its Site Recovery groups, because of",
                "  recovery plan p: its VMs are not all replicated",
            ]
        );
    }
}
