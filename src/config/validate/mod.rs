//! Static validation: every rule that needs no live state, each reported at its source location.
//! Errors block; warnings (an unknown time zone or region) are returned with the loaded files.
//! Per file ([`file`]) and across files ([`across`]): a resource defined twice, a VM protected
//! or replicated twice, disagreeing `subscription`s, every `site_recovery` rule
//! ([`site_recovery`]; its vault may be declared in another file) and every `disk_backup` rule
//! ([`disk_backup`]; a disk is protected by one Backup vault at most).

pub mod disk_backup;
pub mod names;
mod policy;
mod protect;
pub mod regions;
pub mod site_recovery;
mod stamps;
mod tags;
pub mod timezones;
mod vault;

pub use disk_backup::{parse_every, parse_start, repeating_interval, snapshots_kept, Interval};
pub use policy::{parse_days, parse_hours};
pub use site_recovery::parse_minutes;

use super::diag::{did_you_mean, At, Diag, Diags};
use super::spanned::Sp;
use super::types::ConfigFile;
use miette::SourceSpan;
use std::collections::HashMap;

/// Where diagnostics of one file go.
pub struct Cx<'a> {
    pub file: usize,
    pub diags: &'a mut Diags,
}

impl Cx<'_> {
    pub fn at(&self, span: SourceSpan) -> At {
        At::new(self.file, span)
    }
    pub fn push(&mut self, d: Diag) {
        self.diags.push(d);
    }
}

/// Rules within one file.
pub fn file(cx: &mut Cx, f: &ConfigFile) {
    if f.version.value != 1 {
        cx.push(
            Diag::error(
                cx.at(f.version.span),
                format!("unsupported format version {}", f.version.value),
            )
            .label("expected 1")
            .help("this azprotect reads format version 1: `version: 1`"),
        );
    }
    if let Some(s) = &f.subscription {
        check_subscription(cx, s);
    }
    if let Some(rgs) = &f.resource_groups {
        for (name, rg) in rgs.value.iter() {
            check_name(cx, name, names::resource_group_name, "resource group");
            check_location(cx, &rg.value.location);
        }
    }
    // Every block's own `subscription:`.
    let block_subs = f.blocks().filter_map(|b| b.subscription);
    for s in block_subs {
        check_subscription(cx, s);
    }
    if let Some(vaults) = &f.recovery_vaults {
        for (name, v) in vaults.value.iter() {
            vault::check(cx, name, v);
        }
    }
    tags::check(cx, f);
    stamps::check(cx, f);
}

pub fn check_subscription(cx: &mut Cx, s: &Sp<String>) {
    if !names::is_guid(&s.value) {
        cx.push(
            Diag::error(
                cx.at(s.span),
                format!("`{}` is not a subscription id", s.value),
            )
            .label("not a GUID")
            .help("a subscription id is a GUID such as `00000000-0000-0000-0000-000000000001`"),
        );
    }
}

pub fn check_location(cx: &mut Cx, loc: &Sp<String>) {
    if let Err(e) = names::location(&loc.value) {
        cx.push(
            Diag::error(
                cx.at(loc.span),
                format!("`{}` is not an Azure region", loc.value),
            )
            .label("invalid region")
            .help(e),
        );
    } else {
        regions::check(cx, loc);
    }
}

/// Rules across all files: names defined twice (case-insensitively, as Azure compares them),
/// tags and subscriptions that disagree, a VM protected twice.
pub fn across(files: &[ConfigFile], diags: &mut Diags) {
    let mut sub: Option<(At, &str)> = None;
    let mut tags: HashMap<String, (At, &str)> = HashMap::new();
    let mut rgs: HashMap<String, At> = HashMap::new();
    let mut vaults: HashMap<String, At> = HashMap::new();
    let mut stamp_names: HashMap<String, At> = HashMap::new();
    for (i, f) in files.iter().enumerate() {
        if let Some(s) = &f.subscription {
            let at = At::new(i, s.span);
            match sub {
                Some((first, v)) if !v.eq_ignore_ascii_case(&s.value) => diags.push(
                    Diag::error(at, format!("`subscription` differs between files: `{}` here, `{v}` before", s.value))
                        .label("conflicting subscription")
                        .note(first, "first set here")
                        .help("files loaded together share one default subscription; set it in one file, or use full VM ids"),
                ),
                Some(_) => {}
                None => sub = Some((at, &s.value)),
            }
        }
        if let Some(t) = &f.tags {
            for (k, v) in t.value.iter() {
                let at = At::new(i, k.span);
                match tags.get(&k.value) {
                    Some((first, prev)) if *prev != v.value => diags.push(
                        Diag::error(
                            at,
                            format!(
                                "tag `{}` is set to `{}` here and to `{prev}` in another file",
                                k.value, v.value
                            ),
                        )
                        .label("conflicting tag")
                        .note(*first, "first set here"),
                    ),
                    Some(_) => {}
                    None => {
                        tags.insert(k.value.clone(), (at, &v.value));
                    }
                }
            }
        }
        let mut dup = |seen: &mut HashMap<String, At>, name: &Sp<String>, what: &str| {
            let help = "Azure names are case-insensitive; each resource may be declared once across all files";
            if let Some(d) = declared_twice(seen, At::new(i, name.span), &name.value, what, help) {
                diags.push(d);
            }
        };
        if let Some(m) = &f.resource_groups {
            for (name, _) in m.value.iter() {
                dup(&mut rgs, name, "resource group");
            }
        }
        if let Some(m) = &f.recovery_vaults {
            for (name, _) in m.value.iter() {
                dup(&mut vaults, name, "recovery vault");
            }
        }
        if let Some(m) = &f.stamps {
            for (name, _) in m.value.iter() {
                dup(&mut stamp_names, name, "stamp");
            }
        }
    }
    across_subscriptions(files, sub.map(|(_, s)| s), diags);
}

/// The rules across files that depend on the default subscription (which block's VM, disk or
/// group is in which subscription, a VM listed twice under two spellings). [`across`] runs
/// them with the files' `subscription:`; when the files set none, `Loaded::desired` runs them
/// again with `--subscription` / `AZURE_SUBSCRIPTION_ID`, so that a command-line default gets
/// the same checks as a file's.
pub fn across_subscriptions(files: &[ConfigFile], default_sub: Option<&str>, diags: &mut Diags) {
    vault_groups_in_their_subscription(files, default_sub, diags);
    protect::across(files, default_sub, diags);
    site_recovery::across(files, default_sub, diags);
    disk_backup::across(files, default_sub, diags);
}

/// A block's `subscription:`, else the files' default (when they set one).
pub(crate) fn block_subscription<'a>(
    block: &'a Option<Sp<String>>,
    default_sub: Option<&'a str>,
) -> Option<&'a str> {
    block.as_ref().map(|s| s.value.as_str()).or(default_sub)
}

/// A vault whose `resource_group` the files declare in another subscription: Azure would put
/// the vault in a group of the vault's subscription, which the files do not create — almost
/// certainly a `subscription:` missing on one of the two.
fn vault_groups_in_their_subscription(
    files: &[ConfigFile],
    default_sub: Option<&str>,
    diags: &mut Diags,
) {
    let declared: HashMap<String, (At, Option<&str>)> = (files.iter().enumerate())
        .flat_map(|(i, f)| {
            (f.resource_groups.iter().flat_map(|m| m.value.iter())).map(move |(n, rg)| (n, rg, i))
        })
        .map(|(n, rg, i)| {
            let at = At::new(i, n.span);
            (
                n.value.to_ascii_lowercase(),
                (at, block_subscription(&rg.value.subscription, default_sub)),
            )
        })
        .collect();
    for (i, f) in files.iter().enumerate() {
        let recovery = (f.recovery_vaults.iter().flat_map(|m| m.value.iter())).map(|(n, v)| {
            (
                n,
                &v.value.resource_group,
                block_subscription(&v.value.subscription, default_sub),
            )
        });
        let backup = (f.disk_backup.iter().flat_map(|m| m.value.iter())).map(|(n, v)| {
            (
                n,
                &v.value.resource_group,
                block_subscription(&v.value.subscription, default_sub),
            )
        });
        for (name, rg, vault_sub) in recovery.chain(backup) {
            let Some((decl, Some(rg_sub))) = declared.get(&rg.value.to_ascii_lowercase()) else {
                continue;
            };
            if let Some(vs) = vault_sub.filter(|vs| !vs.eq_ignore_ascii_case(rg_sub)) {
                diags.push(
                    Diag::error(
                        At::new(i, rg.span),
                        format!(
                            "vault `{}` is in subscription `{vs}`, its resource group `{}` is declared in `{rg_sub}`",
                            name.value, rg.value
                        ),
                    )
                    .label("declared in another subscription")
                    .note(*decl, "declared here")
                    .help("a vault is created in a resource group of its own subscription: give the vault and the group the same `subscription:`"),
                );
            }
        }
    }
}

/// Record that `key` is listed at `at` under `owner` (a vault, a group); when it was listed
/// before, report this listing against the first. `twice(first_owner, same_owner)` gives the
/// message and the help.
pub(crate) fn listed_once<K: std::hash::Hash + Eq>(
    cx: &mut Cx,
    seen: &mut HashMap<K, (At, String)>,
    key: K,
    at: At,
    owner: &str,
    twice: impl FnOnce(&str, bool) -> (String, String),
) {
    match seen.get(&key) {
        Some((first, first_owner)) => {
            let (msg, help) = twice(first_owner, first_owner.eq_ignore_ascii_case(owner));
            cx.push(
                Diag::error(at, msg)
                    .label("listed again here")
                    .note(*first, "first listed here")
                    .help(help),
            );
        }
        None => {
            seen.insert(key, (at, owner.to_string()));
        }
    }
}

/// A name declared once across all files (Azure compares names without case): the first
/// declaration is remembered in `seen`; a second is an error pointing at both.
pub(crate) fn declared_twice(
    seen: &mut HashMap<String, At>,
    at: At,
    name: &str,
    what: &str,
    help: &str,
) -> Option<Diag> {
    let key = name.to_ascii_lowercase();
    match seen.get(&key) {
        Some(first) => Some(
            Diag::error(at, format!("{what} `{name}` is defined twice"))
                .label("defined again here")
                .note(*first, "first defined here")
                .help(help),
        ),
        None => {
            seen.insert(key, at);
            None
        }
    }
}

/// A did-you-mean help for a reference to one of `names`.
/// A policy's name in a vault: valid for its kind (`rule`), and declared once (Azure compares
/// policy names without case). `seen` holds the vault's names so far; this one is added.
/// `name` breaks Azure's `rule` for a `kind` name: the diagnostic at the name.
pub(crate) fn check_name(
    cx: &mut Cx,
    name: &Sp<String>,
    rule: fn(&str) -> Result<(), String>,
    kind: &str,
) {
    if let Err(e) = rule(&name.value) {
        cx.push(
            Diag::error(
                cx.at(name.span),
                format!("invalid {kind} name `{}`", name.value),
            )
            .label("invalid name")
            .help(e),
        );
    }
}

pub(crate) fn check_policy_name<'a>(
    cx: &mut Cx,
    seen: &mut Vec<&'a Sp<String>>,
    pname: &'a Sp<String>,
    rule: fn(&str) -> Result<(), String>,
    kind: &str,
    vault: &str,
) {
    check_name(cx, pname, rule, kind);
    if let Some(first) = seen
        .iter()
        .find(|s| s.value.eq_ignore_ascii_case(&pname.value))
    {
        cx.push(
            Diag::error(
                cx.at(pname.span),
                format!("policy `{}` is defined twice in {vault}", pname.value),
            )
            .label("defined again here")
            .note(cx.at(first.span), "first defined here")
            .help("policy names are case-insensitive in Azure"),
        );
    }
    seen.push(pname);
}

pub fn suggest<'a>(input: &str, names: impl IntoIterator<Item = &'a str>) -> Option<String> {
    did_you_mean(input, names)
}
