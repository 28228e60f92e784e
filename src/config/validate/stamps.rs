//! `stamps:` rules that need no live state: where (`management_group` or `subscriptions`,
//! `regions`, `create_empty_regions` only with `regions`), the name patterns' placeholders, and
//! the stamped vault's settings — checked as a hand-written vault's are, except its name and
//! group, which are checked once expanded (`config::stamps`). A stamp protects by selectors
//! only: `vms:` names VMs of one subscription.

use super::{check_location, check_subscription, Cx};
use crate::config::diag::{Diag, Diags};
use crate::config::spanned::Sp;
use crate::config::stamps::{sub_span, Pattern, PLACEHOLDERS};
use crate::config::types::ConfigFile;
use crate::config::types_stamps::Stamp;

pub fn check(cx: &mut Cx, f: &ConfigFile) {
    for (name, st) in f.stamps.iter().flat_map(|m| m.value.iter()) {
        stamp(cx, name, &st.value);
    }
}

fn stamp(cx: &mut Cx, name: &Sp<String>, st: &Stamp) {
    match (&st.management_group, &st.subscriptions) {
        (Some(g), Some(s)) => cx.push(
            Diag::error(cx.at(s.span), format!("stamp `{}` sets both `management_group` and `subscriptions`", name.value))
                .label("second source of subscriptions")
                .note(cx.at(g.span), "management group here")
                .help("a stamp covers the subscriptions under a management group, or those it lists: keep one"),
        ),
        (None, None) => cx.push(
            Diag::error(cx.at(name.span), format!("stamp `{}` names no subscriptions", name.value))
                .label("applies nowhere")
                .help("add `management_group: <id>` (every subscription under it) or `subscriptions: [<GUID>, …]`"),
        ),
        _ => {}
    }
    if let Some(g) = st
        .management_group
        .as_ref()
        .filter(|g| g.value.trim().is_empty())
    {
        cx.push(
            Diag::error(cx.at(g.span), "`management_group` is empty")
                .label("a management group id"),
        );
    }
    if let Some(subs) = &st.subscriptions {
        if subs.value.is_empty() {
            cx.push(
                Diag::error(cx.at(subs.span), "`subscriptions` is empty").label("no subscriptions"),
            );
        }
        for s in &subs.value {
            check_subscription(cx, s);
        }
    }
    if let Some(regions) = &st.regions {
        if regions.value.is_empty() {
            cx.push(
                Diag::error(cx.at(regions.span), "`regions` is empty")
                    .label("no regions")
                    .help("list regions, or remove `regions` for every region with VMs in scope"),
            );
        }
        for r in &regions.value {
            check_location(cx, r);
        }
    }
    if let Some(c) = st.create_empty_regions.as_ref().filter(|c| c.value) {
        if st.regions.is_none() {
            cx.push(
                Diag::error(cx.at(c.span), "`create_empty_regions` needs `regions`")
                    .label("which regions?")
                    .help("list the regions that get a vault even without VMs: `regions: [westeurope, northeurope]`"),
            );
        }
    }
    pattern(cx, &st.resource_group);
    let v = &st.recovery_vault.value;
    pattern(cx, &v.name);
    for e in v.protect.iter().flat_map(|p| &p.value) {
        if let Some(vms) = &e.value.vms {
            cx.push(
                Diag::error(cx.at(vms.span), "a stamp protects by selectors only")
                    .label("`vms` names VMs of one subscription")
                    .help("select the VMs instead, e.g. `select: {tags: {backup: gold}}`, or protect them from a vault under `recovery_vaults`"),
            );
        }
    }
    // The vault's other settings, as for a hand-written vault (its name and group are patterns,
    // checked once expanded).
    let template = Sp {
        value: v.to_vault(
            Sp::unspanned("00000000-0000-0000-0000-000000000000".into()),
            Sp::unspanned("westeurope".into()),
            st.resource_group.clone(),
        ),
        span: st.recovery_vault.span,
    };
    let mut found = Diags::default();
    super::vault::check(
        &mut Cx {
            file: cx.file,
            diags: &mut found,
        },
        &v.name,
        &template,
    );
    let patterns = [v.name.span, st.resource_group.span];
    for d in found.list {
        if !d.at.is_some_and(|a| patterns.contains(&a.span)) {
            cx.push(d);
        }
    }
}

/// A name pattern's placeholders are known.
fn pattern(cx: &mut Cx, p: &Sp<String>) {
    if let Err(bad) = Pattern::parse(&p.value) {
        cx.push(
            Diag::error(
                cx.at(sub_span(p.span, &p.value, bad.at)),
                format!("unknown placeholder `{}`", bad.text),
            )
            .label("not a placeholder")
            .help(format!(
                "a stamp's names may use {}",
                PLACEHOLDERS.join(", ")
            )),
        );
    }
}
