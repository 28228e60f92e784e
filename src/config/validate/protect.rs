//! `protect` rules: the policy reference, `vms`/`select` shape, disk exclusions, and (across
//! all files) a VM protected twice.

use super::{names, suggest, Cx};
use crate::config::diag::{At, Diag, Diags};
use crate::config::spanned::Sp;
use crate::config::types::{ConfigFile, ProtectEntry, RecoveryVault, Select};
use std::collections::{BTreeSet, HashMap};

pub fn entry(cx: &mut Cx, vault_name: &Sp<String>, vault: &RecoveryVault, e: &Sp<ProtectEntry>) {
    let declared: Vec<&str> = vault
        .backup_policies
        .as_ref()
        .map(|m| m.value.keys().collect())
        .unwrap_or_default();
    let p = &e.value.policy;
    if !declared.contains(&p.value.as_str()) {
        let builtin = crate::model::backup_policy::BUILT_IN
            .iter()
            .any(|b| b.eq_ignore_ascii_case(&p.value));
        let help = suggest(&p.value, declared.iter().copied()).or_else(|| {
            Some(if builtin {
                format!("`{}` is one of Azure's built-in policies; declare it under `backup_policies` to use it", p.value)
            } else if declared.is_empty() {
                format!("vault `{}` declares no `backup_policies`", vault_name.value)
            } else {
                format!("policies of vault `{}`: {}", vault_name.value, declared.join(", "))
            })
        });
        cx.push(
            Diag::error(
                cx.at(p.span),
                format!(
                    "vault `{}` has no backup policy `{}`",
                    vault_name.value, p.value
                ),
            )
            .label("unknown policy")
            .maybe_help(help),
        );
    }
    let ev = &e.value;
    if ev.vms.is_none() && ev.select.is_none() {
        cx.push(
            Diag::error(cx.at(p.span), "a `protect` entry needs `vms`, `select`, or both")
                .label("protects nothing")
                .help("list VMs (`vms: [rg-app/app-01]`) or select them (`select: {tags: {backup: gold}}`)"),
        );
    }
    if let Some(vms) = &ev.vms {
        if vms.value.is_empty() && ev.select.is_none() {
            cx.push(Diag::error(cx.at(vms.span), "`vms` is empty").label("no VMs"));
        }
        for vm in &vms.value {
            if let Err(msg) = names::vm_ref(&vm.value) {
                cx.push(
                    Diag::error(
                        cx.at(vm.span),
                        format!("`{}` is not a VM reference", vm.value),
                    )
                    .label("invalid VM")
                    .help(msg),
                );
            }
        }
    }
    if let Some(sel) = &ev.select {
        check_select(cx, sel, "protect", "VM", "{tags: {backup: gold}}");
    }
    if let Some(disks) = &ev.exclude_disks {
        let mut seen = BTreeSet::new();
        for lun in &disks.value {
            if lun.value > 63 {
                cx.push(
                    Diag::error(
                        cx.at(lun.span),
                        format!("LUN {} is out of range", lun.value),
                    )
                    .label("must be 0–63")
                    .help("data-disk LUNs are 0–63"),
                );
            } else if !seen.insert(lun.value) {
                cx.push(
                    Diag::error(
                        cx.at(lun.span),
                        format!("LUN {} is listed twice", lun.value),
                    )
                    .label("repeated LUN"),
                );
            }
        }
    }
}

/// A live-resource selector: something to select by, valid resource group names. `verb` says
/// what an empty selector would do to every `noun` ("protect" / "VM", "back up" / "disk");
/// `example` is a selector.
pub fn check_select(cx: &mut Cx, sel: &Sp<Select>, verb: &str, noun: &str, example: &str) {
    let rgs = sel
        .value
        .resource_groups
        .as_ref()
        .filter(|r| !r.value.is_empty());
    let tags = sel.value.tags.as_ref().filter(|t| !t.value.0.is_empty());
    if rgs.is_none() && tags.is_none() {
        cx.push(
            Diag::error(cx.at(sel.span), "`select` needs `resource_groups`, `tags`, or both")
                .label(format!("selects every {noun}"))
                .help(format!("an empty selector would {verb} every {noun} in the subscription; say which, e.g. `select: {example}`")),
        );
    }
    for rg in sel.value.resource_groups.iter().flat_map(|r| &r.value) {
        super::check_name(cx, rg, names::resource_group_name, "resource group");
    }
    if let Some(locs) = &sel.value.locations {
        let refused = match (noun, verb) {
            ("VM", "protect") => None,
            ("VM", _) => Some((
                "`locations` is not for a `site_recovery` selector".to_string(),
                "a Site Recovery group replicates the VMs of its `source_region`: remove `locations`",
            )),
            _ => Some((
                format!("`locations` selects VMs, not {noun}s"),
                "a Backup vault protects disks of its own region: remove `locations`",
            )),
        };
        if let Some((message, help)) = refused {
            cx.push(
                Diag::error(cx.at(locs.span), message)
                    .label("not for this selector")
                    .help(help),
            );
        }
        if locs.value.is_empty() {
            cx.push(
                Diag::error(cx.at(locs.span), "`locations` is empty")
                    .label("selects nothing")
                    .help("list regions, e.g. `locations: [westeurope]`, or remove `locations`"),
            );
        }
        for loc in &locs.value {
            super::check_location(cx, loc);
        }
    }
}

/// A VM may be protected once: listed twice in a vault, or in two vaults, is an error at the
/// second listing.
pub fn across(files: &[ConfigFile], default_sub: Option<&str>, diags: &mut Diags) {
    let mut seen: HashMap<(String, String, String), (At, String)> = HashMap::new();
    for (i, f) in files.iter().enumerate() {
        let Some(vaults) = &f.recovery_vaults else {
            continue;
        };
        for (vname, v) in vaults.value.iter() {
            let vault_sub = super::block_subscription(&v.value.subscription, default_sub);
            for e in v.value.protect.iter().flat_map(|p| &p.value) {
                for vm in e.value.vms.iter().flat_map(|v| &v.value) {
                    let Ok(r) = names::vm_ref(&vm.value) else {
                        continue;
                    };
                    let at = At::new(i, vm.span);
                    if let (Some(vm_sub), Some(vs)) = (r.subscription.as_deref(), vault_sub) {
                        if !vm_sub.eq_ignore_ascii_case(vs) {
                            diags.push(other_subscription(at, &r, vm_sub, &vname.value, vs));
                            continue;
                        }
                    }
                    let key = r.key(vault_sub);
                    if let Some((first, first_vault)) = seen.get(&key) {
                        let (msg, help) = if *first_vault == vname.value {
                            (
                                format!(
                                    "VM `{}/{}` is listed twice in vault `{}`",
                                    r.resource_group, r.name, vname.value
                                ),
                                "list each VM once per vault".to_string(),
                            )
                        } else {
                            (
                                format!(
                                    "VM `{}/{}` is already protected by vault `{first_vault}`",
                                    r.resource_group, r.name
                                ),
                                "Azure backs up a VM in one vault only; remove it from one of them"
                                    .to_string(),
                            )
                        };
                        diags.push(
                            Diag::error(at, msg)
                                .label("listed again here")
                                .note(*first, "first listed here")
                                .help(help),
                        );
                    } else {
                        seen.insert(key, (at, vname.value.clone()));
                    }
                }
            }
        }
    }
}

/// A VM listed for a vault of another subscription. Azure Backup protects a VM only from a vault
/// of its own subscription: the vault discovers the VMs it may protect in its subscription
/// (`refreshContainers`, azure-behaviour.md "Discover"), and a protected item's name,
/// `vm;iaasvmcontainerv2;{rg};{vm}`, has no room for another one.
fn other_subscription(
    at: At,
    r: &names::VmRef,
    vm_sub: &str,
    vault: &str,
    vault_sub: &str,
) -> Diag {
    Diag::error(
        at,
        format!(
            "VM `{}/{}` is in subscription `{vm_sub}`, vault `{vault}` in `{vault_sub}`",
            r.resource_group, r.name
        ),
    )
    .label("another subscription")
    .help("Azure Backup protects a VM only from a vault in the VM's own subscription and region: protect it with a vault of that subscription (a vault's `subscription:` sets it)")
}
