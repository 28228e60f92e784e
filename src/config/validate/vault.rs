//! Recovery Services vault rules: name, region, resource group, redundancy and cross-region
//! restore, soft delete, `on_remove: suspend` needing immutability; then its policies and
//! `protect` entries.

use super::{check_location, names, policy, protect, Cx};
use crate::config::diag::Diag;
use crate::config::spanned::Sp;
use crate::config::types::{Immutability, RecoveryVault, SoftDelete, StorageRedundancy};
use crate::model::OnRemove;

/// Soft-deleted data is kept 14–180 days, in a vault of either kind.
pub fn check_soft_delete_days(cx: &mut Cx, soft_delete: Option<&Sp<SoftDelete>>) {
    let Some(days) = soft_delete.and_then(|s| s.value.retention_days.as_ref()) else {
        return;
    };
    if !(14..=180).contains(&days.value) {
        cx.push(
            Diag::error(
                cx.at(days.span),
                format!(
                    "soft-deleted backup data is kept 14–180 days, not {}",
                    days.value
                ),
            )
            .label("must be 14–180"),
        );
    }
}

pub fn check(cx: &mut Cx, name: &Sp<String>, v: &Sp<RecoveryVault>) {
    let vault = &v.value;
    super::check_name(cx, name, names::vault_name, "vault");
    check_location(cx, &vault.location);
    super::check_name(
        cx,
        &vault.resource_group,
        names::resource_group_name,
        "resource group",
    );
    if let Some(crr) = &vault.cross_region_restore {
        let geo = vault.storage_redundancy.as_ref().map(|s| s.value)
            == Some(StorageRedundancy::GeoRedundant);
        if crr.value && !geo {
            let mut d = Diag::error(
                cx.at(crr.span),
                "cross-region restore needs geo-redundant storage",
            )
            .label("needs storage_redundancy: GeoRedundant")
            .help("set `storage_redundancy: GeoRedundant`, or remove `cross_region_restore`");
            if let Some(sr) = &vault.storage_redundancy {
                d = d.note(
                    cx.at(sr.span),
                    format!("storage redundancy is {:?}", sr.value),
                );
            }
            cx.push(d);
        }
    }
    check_soft_delete_days(cx, vault.soft_delete.as_ref());
    if let Some(d) = &vault.restore_drill {
        check_restore_drill(cx, &d.value);
    }
    if let Some(or) = &vault.on_remove {
        let immutable = matches!(
            vault.immutability.as_ref().map(|i| i.value),
            Some(Immutability::Unlocked | Immutability::Locked)
        );
        if or.value == OnRemove::Suspend && !immutable {
            cx.push(
                Diag::error(cx.at(or.span), "`on_remove: suspend` needs an immutable vault")
                    .label("suspend")
                    .help("Azure suspends backups (keeping recovery points) only in vaults with `immutability: Unlocked` or `Locked`; use `retain_data` otherwise"),
            );
        }
    }
    if let Some(policies) = &vault.backup_policies {
        let mut seen: Vec<&Sp<String>> = Vec::new();
        for (pname, p) in policies.value.iter() {
            let where_ = format!("vault `{}`", name.value);
            super::check_policy_name(cx, &mut seen, pname, names::policy_name, "policy", &where_);
            policy::check(cx, pname, p);
        }
    }
    if let Some(entries) = &vault.protect {
        for e in &entries.value {
            protect::entry(cx, name, vault, e);
        }
    }
}

/// `restore_drill`: ids where ids are asked for, parallelism 1–10.
fn check_restore_drill(cx: &mut Cx, d: &crate::config::types::RestoreDrill) {
    if let Some(p) = &d.parallelism {
        if !(1..=crate::model::restore_drill::MAX_PARALLELISM).contains(&p.value) {
            cx.push(
                Diag::error(
                    cx.at(p.span),
                    format!(
                        "a restore drill runs 1–{} restores at once, not {}",
                        crate::model::restore_drill::MAX_PARALLELISM,
                        p.value
                    ),
                )
                .label("must be 1–10"),
            );
        }
    }
    let ids = [
        (&d.network, "Microsoft.Network/virtualNetworks", "network"),
        (
            &d.staging_storage_account,
            "Microsoft.Storage/storageAccounts",
            "staging storage account",
        ),
    ];
    for (field, rtype, what) in ids {
        let Some(f) = field else { continue };
        let id = crate::model::ArmId::new(&f.value);
        let ok = id.subscription().is_some()
            && id
                .as_str()
                .to_ascii_lowercase()
                .contains(&format!("/providers/{}/", rtype.to_ascii_lowercase()));
        if !ok {
            cx.push(
                Diag::error(cx.at(f.span), format!("the {what} must be an ARM id"))
                    .label(format!("not a {rtype} id"))
                    .help(format!(
                        "/subscriptions/<id>/resourceGroups/<rg>/providers/{rtype}/<name>"
                    )),
            );
        }
    }
}
