//! Stamps expanded: each `stamps:` entry becomes, for every (subscription, region) in scope, one
//! resource group and one recovery vault written into the file's own `resource_groups` and
//! `recovery_vaults` as if by hand — so validation, `desired`, plan and apply treat them like any
//! other. Spans stay on the stamp (the name pattern, the region, the subscription entry).
//!
//! In scope: a region of the subscription where at least one VM matches one of the stamp's
//! selectors (and that `regions`, when given, lists); every listed region with
//! `create_empty_regions: true`; and the region of a vault that already exists in the
//! subscription under the name the stamp gives it there (so that its protections are planned for
//! removal, not left unmanaged).
//!
//! Pure: the facts come from `live::stamps` through `ops::stamps` as a [`StampFacts`].

mod origins;
mod pattern;

use origins::Origins;

pub use pattern::{sub_span, BadPlaceholder, Pattern, Placeholder, PLACEHOLDERS};

use crate::config::diag::{At, Diag, Diags};
use crate::config::spanned::{Map, Sp};
use crate::config::types::{ConfigFile, RecoveryVault, ResourceGroup};
use crate::config::types_stamps::Stamp;
use crate::config::validate::names;
use crate::model::resource_group::normalize_location;
use crate::model::stamp::{StampFacts, StampSubscription};
use crate::model::{VirtualMachine, VmSelector};
use miette::SourceSpan;
use std::collections::BTreeSet;

/// What the discovery read must gather for the files' stamps: `None` when there are none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Wanted {
    /// Management groups (as written) whose subscriptions stamps use.
    pub groups: Vec<String>,
    /// Subscriptions (lower case) stamps list.
    pub subscriptions: Vec<String>,
}

pub fn wanted(files: &[ConfigFile]) -> Option<Wanted> {
    let stamps: Vec<&Stamp> = stamps_of(files).map(|(_, _, s)| s).collect();
    if stamps.is_empty() {
        return None;
    }
    let mut w = Wanted::default();
    for s in stamps {
        if let Some(g) = &s.management_group {
            w.groups.push(g.value.clone());
        }
        for sub in s.subscriptions.iter().flat_map(|l| &l.value) {
            w.subscriptions.push(sub.value.to_ascii_lowercase());
        }
    }
    w.groups.sort_by_key(|g| g.to_ascii_lowercase());
    w.groups.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
    w.subscriptions.sort();
    w.subscriptions.dedup();
    Some(w)
}

/// Every stamp of the files: (file index, name, stamp).
pub fn stamps_of(files: &[ConfigFile]) -> impl Iterator<Item = (usize, &Sp<String>, &Stamp)> + '_ {
    files.iter().enumerate().flat_map(|(i, f)| {
        f.stamps
            .iter()
            .flat_map(|m| m.value.iter())
            .map(move |(n, s)| (i, n, &s.value))
    })
}

/// One (subscription, region) a stamp generated: where its group and vault come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamped {
    pub stamp: String,
    pub subscription: StampSubscription,
    pub region: String,
    pub resource_group: String,
    pub vault: String,
}

impl Stamped {
    fn origin(&self) -> String {
        format!(
            "stamp `{}` in subscription `{}` ({}), region `{}`",
            self.stamp, self.subscription.name, self.subscription.id, self.region
        )
    }
}

/// The subscriptions of a stamp (each with the span that brought it in), in order, once each.
/// A listed subscription the caller cannot read (no display name) is an error at its entry.
pub fn subscriptions_of(
    file: usize,
    stamp: &Stamp,
    facts: &StampFacts,
    diags: &mut Diags,
) -> Vec<(StampSubscription, SourceSpan)> {
    let mut out: Vec<(StampSubscription, SourceSpan)> = Vec::new();
    if let Some(g) = &stamp.management_group {
        let subs = facts.groups.get(&g.value.to_ascii_lowercase());
        out.extend(subs.into_iter().flatten().map(|s| (s.clone(), g.span)));
    }
    for id in stamp.subscriptions.iter().flat_map(|l| &l.value) {
        if facts
            .unreadable
            .contains_key(&id.value.to_ascii_lowercase())
        {
            continue;
        }
        match facts.names.get(&id.value.to_ascii_lowercase()) {
            Some(name) => out.push((
                StampSubscription {
                    id: id.value.to_ascii_lowercase(),
                    name: name.clone(),
                },
                id.span,
            )),
            None => diags.push(
                Diag::error(
                    At::new(file, id.span),
                    format!(
                        "subscription `{}` is not one the identity can read",
                        id.value
                    ),
                )
                .label("not listed by GET /subscriptions")
                .help("grant the identity Reader on the subscription, or remove it from the stamp"),
            ),
        }
    }
    let mut seen = BTreeSet::new();
    out.retain(|(s, _)| seen.insert(s.id.to_ascii_lowercase()));
    // One the identity may not read generates nothing; the plan names it (`ops::stamps`).
    out.retain(|(s, _)| !facts.unreadable.contains_key(&s.id.to_ascii_lowercase()));
    out
}

/// The regions (normalized, sorted) a stamp generates a vault in, in `sub`, whose VMs are `vms`.
pub fn regions_in_scope(
    stamp: &Stamp,
    sub: &StampSubscription,
    vms: &[&VirtualMachine],
    facts: &StampFacts,
) -> Vec<String> {
    let allowed: Option<BTreeSet<String>> = stamp.regions.as_ref().map(|r| {
        r.value
            .iter()
            .map(|l| normalize_location(&l.value))
            .collect()
    });
    let ok = |r: &str| allowed.as_ref().is_none_or(|a| a.contains(r));
    // The stamp's selectors, in this subscription.
    let selectors: Vec<VmSelector> = (stamp.recovery_vault.value.protect.iter())
        .flat_map(|p| &p.value)
        .filter_map(|e| Some((e.value.select.as_ref()?, &e.value.policy)))
        .map(|(s, policy)| s.value.vm_selector("", &policy.value, &sub.id, vec![]))
        .collect();
    let mut regions: BTreeSet<String> = vms
        .iter()
        .filter(|vm| selectors.iter().any(|sel| vm.matches(sel)))
        .map(|vm| normalize_location(&vm.location))
        .filter(|r| ok(r))
        .collect();
    if stamp.create_empty_regions.as_ref().is_some_and(|c| c.value) {
        regions.extend(allowed.iter().flatten().cloned());
    }
    if let Ok(name) = Pattern::parse(&stamp.recovery_vault.value.name.value) {
        for v in &facts.vaults {
            let here =
                v.id.subscription()
                    .is_some_and(|s| s.eq_ignore_ascii_case(&sub.id));
            if here
                && ok(&v.location)
                && name
                    .expand(sub, &v.location)
                    .eq_ignore_ascii_case(v.id.name())
            {
                regions.insert(v.location.clone());
            }
        }
    }
    regions.into_iter().collect()
}

/// Every stamp's name with the subscriptions it covers (those without VMs in scope included).
pub type Covered = Vec<(String, Vec<StampSubscription>)>;

/// The files with every stamp expanded into their `resource_groups` and `recovery_vaults`, what
/// each expansion came from, and the subscriptions each stamp covers. Errors (a bad expanded name, a name
/// generated twice or also written by hand, an unreadable listed subscription) go to `diags`.
pub fn expand(
    files: &[ConfigFile],
    facts: &StampFacts,
    diags: &mut Diags,
) -> (Vec<ConfigFile>, Vec<Stamped>, Covered) {
    let mut vault_names = Origins::new();
    let mut group_names = Origins::new();
    for (i, f) in files.iter().enumerate() {
        for (n, _) in f.recovery_vaults.iter().flat_map(|m| m.value.iter()) {
            vault_names.claim(
                "vault",
                &n.value,
                At::new(i, n.span),
                "`recovery_vaults`".into(),
                diags,
            );
        }
        for (n, _) in f.resource_groups.iter().flat_map(|m| m.value.iter()) {
            group_names.claim(
                "resource group",
                &n.value,
                At::new(i, n.span),
                "`resource_groups`".into(),
                diags,
            );
        }
    }
    let by_sub = VirtualMachine::by_subscription(&facts.vms);
    let mut out = files.to_vec();
    let mut stamped = Vec::new();
    let mut covered = Covered::new();
    for (i, f) in out.iter_mut().enumerate() {
        // The stamps stay (a file of stamps needs no default subscription: `desired`).
        let Some(stamps) = f.stamps.clone() else {
            continue;
        };
        for (sname, st) in stamps.value.iter() {
            let st = &st.value;
            let (Ok(rg_pattern), Ok(name_pattern)) = (
                Pattern::parse(&st.resource_group.value),
                Pattern::parse(&st.recovery_vault.value.name.value),
            ) else {
                continue; // `validate` said so
            };
            let (rg_at, name_at) = (
                At::new(i, st.resource_group.span),
                At::new(i, st.recovery_vault.value.name.span),
            );
            let subs = subscriptions_of(i, st, facts, diags);
            covered.push((
                sname.value.clone(),
                subs.iter().map(|(s, _)| s.clone()).collect(),
            ));
            for (sub, sub_span) in subs {
                let vms = by_sub.get(&sub.id.to_ascii_lowercase());
                let vms = vms.map_or(&[][..], Vec::as_slice);
                for region in regions_in_scope(st, &sub, vms, facts) {
                    let s = Stamped {
                        stamp: sname.value.clone(),
                        region: region.clone(),
                        resource_group: rg_pattern.expand(&sub, &region),
                        vault: name_pattern.expand(&sub, &region),
                        subscription: sub.clone(),
                    };
                    let bad_rg = named(
                        diags,
                        rg_at,
                        &s,
                        &s.resource_group,
                        names::resource_group_name,
                        "resource group",
                    );
                    let bad_vault = named(diags, name_at, &s, &s.vault, names::vault_name, "vault");
                    let group_new = group_names.claim(
                        "resource group",
                        &s.resource_group,
                        rg_at,
                        s.origin(),
                        diags,
                    );
                    let vault_new =
                        vault_names.claim("vault", &s.vault, name_at, s.origin(), diags);
                    if bad_rg || bad_vault || !group_new || !vault_new {
                        continue;
                    }
                    write(f, sname, st, &s, sub_span);
                    stamped.push(s);
                }
            }
        }
    }
    (out, stamped, covered)
}

/// One expansion written into the file as if by hand: its group and its vault (in `s`'s
/// subscription and region, selectors kept to that region), spanned on the stamp.
fn write(f: &mut ConfigFile, name: &Sp<String>, st: &Stamp, s: &Stamped, sub_span: SourceSpan) {
    let at = |value: &str, span: SourceSpan| Sp {
        value: value.to_string(),
        span,
    };
    let region_span = (st.regions.iter().flat_map(|r| &r.value))
        .find(|r| normalize_location(&r.value) == s.region)
        .map_or(name.span, |r| r.span);
    let (sub, loc) = (at(&s.subscription.id, sub_span), at(&s.region, region_span));
    let group = ResourceGroup {
        subscription: Some(sub.clone()),
        location: loc.clone(),
        tags: None,
    };
    let rg_span = st.resource_group.span;
    push(
        &mut f.resource_groups,
        at(&s.resource_group, rg_span),
        group,
    );
    let mut vault = (st.recovery_vault.value).to_vault(sub, loc, at(&s.resource_group, rg_span));
    in_region(&mut vault, &s.region);
    let name_span = st.recovery_vault.value.name.span;
    push(&mut f.recovery_vaults, at(&s.vault, name_span), vault);
}

/// An expanded name breaks Azure's rule for its kind: an error at the pattern naming where.
fn named(
    diags: &mut Diags,
    at: At,
    s: &Stamped,
    name: &str,
    rule: fn(&str) -> Result<(), String>,
    kind: &str,
) -> bool {
    let Err(why) = rule(name) else {
        return false;
    };
    diags.push(
        Diag::error(
            at,
            format!("{kind} name `{name}` of {} is not a valid name", s.origin()),
        )
        .label("expands to an invalid name")
        .help(why),
    );
    true
}

fn push<T>(map: &mut Option<Sp<Map<T>>>, name: Sp<String>, value: T) {
    let span = name.span;
    map.get_or_insert_with(|| Sp::unspanned(Map::default()))
        .value
        .0
        .push((name, Sp { value, span }));
}

/// The stamped vault's selectors match only VMs of its region (`select.locations`).
fn in_region(vault: &mut RecoveryVault, region: &str) {
    for e in vault.protect.iter_mut().flat_map(|p| p.value.iter_mut()) {
        let Some(sel) = e.value.select.as_mut() else {
            continue;
        };
        let here = sel.value.location_names();
        if here.is_empty() || here.iter().any(|l| l == region) {
            let span = sel.span;
            sel.value.locations = Some(Sp {
                value: vec![Sp {
                    value: region.to_string(),
                    span,
                }],
                span,
            });
        }
    }
}

#[cfg(test)]
mod tests;
