//! From an address back to the YAML that declared it, so later stages (plan-time rules such as
//! "immutability Locked cannot be set on create") can point at file:line:column too.

use super::diag::{At, Diag};
use super::types::ConfigFile;
use super::validate::names;
use crate::model::{Address, ResourceKind};

/// Where `address` is declared: the key of its map entry (or its `vms:` item).
pub fn locate(files: &[ConfigFile], address: &Address) -> Option<At> {
    let name = address.name.as_str();
    for (i, f) in files.iter().enumerate() {
        let at = |span| Some(At::new(i, span));
        match address.kind {
            ResourceKind::ResourceGroup => {
                if let Some((k, _)) = f
                    .resource_groups
                    .iter()
                    .flat_map(|m| m.value.iter())
                    .find(|(k, _)| k.value == name)
                {
                    return at(k.span);
                }
            }
            ResourceKind::RecoveryVault => {
                if let Some((k, _)) = f
                    .recovery_vaults
                    .iter()
                    .flat_map(|m| m.value.iter())
                    .find(|(k, _)| k.value == name)
                {
                    return at(k.span);
                }
            }
            ResourceKind::BackupPolicy | ResourceKind::ProtectedVm => {
                let Some((vault, rest)) = name.split_once('/') else {
                    continue;
                };
                let Some((_, v)) = f
                    .recovery_vaults
                    .iter()
                    .flat_map(|m| m.value.iter())
                    .find(|(k, _)| k.value == vault)
                else {
                    continue;
                };
                if address.kind == ResourceKind::BackupPolicy {
                    if let Some((k, _)) = v
                        .value
                        .backup_policies
                        .iter()
                        .flat_map(|m| m.value.iter())
                        .find(|(k, _)| k.value == rest)
                    {
                        return at(k.span);
                    }
                    continue;
                }
                let Some((rg, vm)) = rest.split_once('/') else {
                    continue;
                };
                for e in v.value.protect.iter().flat_map(|p| &p.value) {
                    for item in e.value.vms.iter().flat_map(|v| &v.value) {
                        if let Ok(r) = names::vm_ref(&item.value) {
                            if r.resource_group == rg && r.name == vm {
                                return at(item.span);
                            }
                        }
                    }
                }
            }
            // Disk Backup kinds (`backup_vault`, `disk_policy`, `disk_backup`), by prefix.
            // Site Recovery resources are derived, not declared one by one.
            kind => {
                if let Some(span) = locate_disk_backup(f, kind.prefix(), name) {
                    return at(span);
                }
            }
        }
    }
    None
}

/// Where a Disk Backup address is declared in one file: `backup_vault.<v>` → the vault's key,
/// `disk_policy.<v>/<p>` → the policy's key, `disk_backup.<v>/<rg>/<disk>` → the `disks:`
/// item naming it (or, for a disk picked by `select`, the vault's first selector).
fn locate_disk_backup(f: &ConfigFile, prefix: &str, name: &str) -> Option<miette::SourceSpan> {
    let vault_of = |v: &str| {
        f.disk_backup
            .iter()
            .flat_map(|m| m.value.iter())
            .find(|(k, _)| k.value == v)
    };
    match prefix {
        "backup_vault" => vault_of(name).map(|(k, _)| k.span),
        "disk_policy" => {
            let (vault, policy) = name.split_once('/')?;
            let (_, v) = vault_of(vault)?;
            v.value
                .policies
                .iter()
                .flat_map(|m| m.value.iter())
                .find(|(k, _)| k.value == policy)
                .map(|(k, _)| k.span)
        }
        "disk_backup" => {
            let (vault, rest) = name.split_once('/')?;
            let (rg, disk) = rest.split_once('/')?;
            let (_, v) = vault_of(vault)?;
            let entries = v.value.protect.iter().flat_map(|p| &p.value);
            for e in entries.clone() {
                for item in e.value.disks.iter().flat_map(|d| &d.value) {
                    if let Ok(r) = names::disk_ref(&item.value) {
                        if r.resource_group.eq_ignore_ascii_case(rg)
                            && r.name.eq_ignore_ascii_case(disk)
                        {
                            return Some(item.span);
                        }
                    }
                }
            }
            entries
                .filter_map(|e| e.value.select.as_ref())
                .map(|s| s.span)
                .next()
        }
        _ => None,
    }
}

/// An error diagnostic at `address`'s declaration (or without a source if it is not declared).
pub fn error_at(files: &[ConfigFile], address: &Address, message: &str) -> Diag {
    match locate(files, address) {
        Some(at) => Diag::error(at, message).label(address.to_string()),
        None => Diag::global(format!("{address}: {message}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disk_backup_addresses_point_at_their_declarations() {
        let yaml = "version: 1\ndisk_backup:\n  bv-a:\n    resource_group: rg-p\n    location: westeurope\n    policies:\n      every-4h: {every: 4h, retention: 7d}\n    protect:\n      - policy: every-4h\n        snapshot_resource_group: rg-s\n        disks: [rg-app/shared-data]\n        select: {tags: {snapshot: 4h}}\n";
        let loaded = crate::config::load_sources(vec![("a.yaml".into(), yaml.into())]).unwrap();
        let f = &loaded.files()[0];
        let text = |span: Option<miette::SourceSpan>| {
            let s = span.unwrap();
            &yaml[s.offset()..s.offset() + s.len()]
        };
        assert_eq!(text(locate_disk_backup(f, "backup_vault", "bv-a")), "bv-a");
        assert_eq!(
            text(locate_disk_backup(f, "disk_policy", "bv-a/every-4h")),
            "every-4h"
        );
        assert_eq!(
            text(locate_disk_backup(
                f,
                "disk_backup",
                "bv-a/rg-app/shared-data"
            )),
            "rg-app/shared-data"
        );
        // A selected disk points at the selector (a zero-length span at its first entry).
        assert!(locate_disk_backup(f, "disk_backup", "bv-a/rg-data/other").is_some());
        assert!(locate_disk_backup(f, "backup_vault", "bv-b").is_none());
        assert!(locate_disk_backup(f, "recovery_vault", "bv-a").is_none());
    }
}
