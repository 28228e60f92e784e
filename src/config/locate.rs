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
            // Site Recovery resources are derived, not declared one by one.
            _ => {}
        }
    }
    None
}

/// An error diagnostic at `address`'s declaration (or without a source if it is not declared).
pub fn error_at(files: &[ConfigFile], address: &Address, message: &str) -> Diag {
    match locate(files, address) {
        Some(at) => Diag::error(at, message).label(address.to_string()),
        None => Diag::global(format!("{address}: {message}")),
    }
}
