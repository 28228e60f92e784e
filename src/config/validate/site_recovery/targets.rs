//! A replicated VM's target overrides: zone, size, availability set and disk types.

use super::super::{names, suggest, Cx};
use super::*;
use crate::config::diag::{At, Diag};
use crate::config::spanned::Sp;
use crate::config::types_site_recovery::{DataDiskTypes, DiskType, ReplicatedVm};
use miette::SourceSpan;
use std::collections::BTreeMap;

/// Target zone, size, availability set and disk types of one replicated VM.
pub(super) fn check_vm_target(cx: &mut Cx, e: &Sp<ReplicatedVm>) {
    let e = &e.value;
    if let Some(z) = &e.target_zone {
        if !matches!(z.value.as_str(), "1" | "2" | "3") {
            cx.push(
                Diag::error(cx.at(z.span), format!("`{}` is not an availability zone", z.value))
                    .label("expected \"1\", \"2\" or \"3\"")
                    .help("availability zones are numbered 1–3 within a region, e.g. `target_zone: \"1\"`"),
            );
        }
    }
    if let Some(s) = &e.target_vm_size {
        if !plausible_vm_size(&s.value) {
            cx.push(
                Diag::error(cx.at(s.span), format!("`{}` is not a VM size", s.value))
                    .label("expected `Standard_…`")
                    .help("VM sizes look like `Standard_D2s_v5` (`az vm list-sizes -l <target region>`); whether the target region offers it is checked at plan time"),
            );
        }
    }
    if let Some(a) = &e.target_availability_set {
        let r = if a.value.starts_with('/') {
            names::availability_set_id(&a.value).map(|_| ())
        } else {
            names::availability_set_name(&a.value)
        };
        if let Err(msg) = r {
            cx.push(
                Diag::error(cx.at(a.span), not_a(&a.value, "an availability set"))
                    .label("invalid availability set")
                    .help(format!(
                        "{msg}; write its name (in `target_resource_group`) or its id"
                    )),
            );
        }
        if let Some(z) = &e.target_zone {
            cx.push(
                Diag::error(
                    cx.at(a.span),
                    "a VM fails over into an availability zone or an availability set, not both",
                )
                .label("availability set")
                .note(cx.at(z.span), "availability zone")
                .help("remove `target_zone` or `target_availability_set`"),
            );
        }
    }
    if let Some(d) = &e.disks {
        if let Some(os) = &d.value.os {
            check_disk_type(cx, &os.value, os.span, true);
        }
        if let Some(data) = &d.value.data {
            match &data.value {
                DataDiskTypes::All(t) => check_disk_type(cx, t, data.span, false),
                DataDiskTypes::ByLun(m) => {
                    let mut luns: BTreeMap<u32, At> = BTreeMap::new();
                    for (k, t) in m.iter() {
                        let lun =
                            k.value.parse::<u32>().ok().filter(|l| {
                                *l <= 63 && k.value.bytes().all(|b| b.is_ascii_digit())
                            });
                        match lun {
                            None => cx.push(
                                Diag::error(
                                    cx.at(k.span),
                                    format!("`{}` is not a data-disk LUN", k.value),
                                )
                                .label("expected 0–63")
                                .help("key data-disk types by LUN, e.g. `data: {0: StandardSSD_LRS}`; the OS disk is `os`"),
                            ),
                            Some(l) => {
                                let at = cx.at(k.span);
                                if let Some(first) = luns.get(&l) {
                                    cx.push(
                                        Diag::error(at, format!("LUN {l} is listed twice"))
                                            .label("repeated LUN")
                                            .note(*first, "first listed here"),
                                    );
                                } else {
                                    luns.insert(l, at);
                                }
                            }
                        }
                        check_disk_type(cx, &t.value, t.span, false);
                    }
                }
            }
        }
    }
}

/// `Standard_D2s_v5`, `Standard_E4-2s_v5`, `standard_b2ms` (Azure compares sizes
/// case-insensitively).
pub(super) fn plausible_vm_size(s: &str) -> bool {
    let Some(prefix) = s.get(..9) else {
        return false;
    };
    let rest = &s[9..];
    prefix.eq_ignore_ascii_case("Standard_")
        && rest.starts_with(|c: char| c.is_ascii_alphabetic())
        && rest
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
}

pub(super) fn check_disk_type(cx: &mut Cx, t: &DiskType, span: SourceSpan, os: bool) {
    let v = t.0.as_str();
    if DiskType::ALL.contains(&v) {
        if os && v == "PremiumV2_LRS" {
            cx.push(
                Diag::error(cx.at(span), "a Premium SSD v2 disk cannot be an OS disk")
                    .label("PremiumV2_LRS")
                    .help("Premium SSD v2 is for data disks; use `Premium_LRS` or `Premium_ZRS` for the OS disk"),
            );
        }
        return;
    }
    let (msg, help) = if v.eq_ignore_ascii_case("UltraSSD_LRS") {
        (
            "Site Recovery does not replicate Ultra disks".to_string(),
            "use `PremiumV2_LRS` (data disks) or `Premium_LRS`".to_string(),
        )
    } else {
        (
            format!("`{v}` is not a disk type"),
            suggest(v, DiskType::ALL).map_or_else(
                || format!("expected {}", crate::config::diag::one_of(&DiskType::ALL)),
                |d| {
                    format!(
                        "{d} expected {}",
                        crate::config::diag::one_of(&DiskType::ALL)
                    )
                },
            ),
        )
    };
    cx.push(
        Diag::error(cx.at(span), msg)
            .label("unsupported disk type")
            .help(help),
    );
}
