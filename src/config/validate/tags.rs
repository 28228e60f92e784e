//! Azure's tag rules (`model::tags`) for every tag the file writes: each name and value, and
//! how many tags each resource group and vault carries once its own tags are merged over the
//! file's global ones.

use super::Cx;
use crate::config::diag::Diag;
use crate::config::spanned::{Map, Sp};
use crate::config::types::ConfigFile;
use crate::model::tags;
use std::collections::BTreeSet;

/// Something the file tags: what it is, its name, its own tags.
type Owner<'f> = (&'static str, &'f Sp<String>, Option<&'f Sp<Map<String>>>);

pub fn check(cx: &mut Cx, f: &ConfigFile) {
    let global = f.tags.as_ref();
    let mut owners: Vec<Owner> = Vec::new();
    for (name, rg) in f.resource_groups.iter().flat_map(|m| m.value.iter()) {
        owners.push(("resource group", name, rg.value.tags.as_ref()));
    }
    for (name, v) in f.recovery_vaults.iter().flat_map(|m| m.value.iter()) {
        owners.push(("vault", name, v.value.tags.as_ref()));
    }
    for (name, v) in f.disk_backup.iter().flat_map(|m| m.value.iter()) {
        owners.push(("Backup vault", name, v.value.tags.as_ref()));
    }
    for t in global.into_iter().chain(owners.iter().filter_map(|o| o.2)) {
        each(cx, t);
    }
    for (what, name, own) in owners {
        let merged: BTreeSet<String> = global
            .into_iter()
            .chain(own)
            .flat_map(|t| t.value.iter().map(|(k, _)| k.value.to_lowercase()))
            .collect();
        if let Some(why) = tags::count_problem(merged.len()) {
            let at = own.or(global).map_or(name.span, |t| t.span);
            cx.push(
                Diag::error(cx.at(at), format!("{what} `{}`: {why}", name.value))
                    .label(format!("{} tags with the file's", merged.len()))
                    .help("Azure refuses more than 50 tags on a resource: merge some into one tag whose value lists them"),
            );
        }
    }
}

fn each(cx: &mut Cx, t: &Sp<Map<String>>) {
    for (k, v) in t.value.iter() {
        if let Some(why) = tags::name_problem(&k.value) {
            cx.push(Diag::error(cx.at(k.span), why).label("invalid tag name"));
        }
        if let Some(why) = tags::value_problem(&v.value) {
            cx.push(Diag::error(cx.at(v.span), why).label("tag value too long"));
        }
    }
}
