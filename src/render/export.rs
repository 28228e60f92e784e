//! `azprotect export`'s file: a [`Document`] written as v1 YAML the way a person would write it —
//! a header saying what was exported, from where, when and with which command; a comment above
//! each vault; keys in CONFIG.md's order; small maps in flow style (`{daily: {at: "23:00"}}`);
//! strings quoted only where YAML would misread them. Pure and generic over the writer.

use crate::model::export::{
    DataDisks, DiskVault, Document, Protect, RecoveryGroup, SiteRecovery, Vault,
};
use serde_json::Value;
use std::io::{self, Write};

/// Keys of a vault in CONFIG.md's order (others follow as Azure gave them).
const VAULT_KEYS: &[&str] = &[
    "location",
    "storage_redundancy",
    "redundancy",
    "cross_region_restore",
    "soft_delete",
    "immutability",
    "public_network_access",
    "tags",
];

/// Keys of a policy in CONFIG.md's order.
const POLICY_KEYS: &[&str] = &[
    "tier",
    "schedule",
    "time_zone",
    "consistency",
    "instant_restore_days",
    "retention",
];

/// Keys of a recovery plan action in CONFIG.md's order.
const ACTION_KEYS: &[&str] = &[
    "runbook",
    "manual",
    "script",
    "name",
    "on",
    "direction",
    "fabric_location",
    "timeout",
];

/// Keys inside flow maps, in the order CONFIG.md writes them.
const FLOW_KEYS: &[&str] = &[
    "state",
    "retention_days",
    "hourly",
    "daily",
    "weekly",
    "monthly",
    "yearly",
    "every",
    "retention",
    "start",
    "duration",
    "keep",
    "month",
    "week",
    "on",
    "at",
    "time_zone",
];

pub fn yaml(d: &Document, out: &mut impl Write) -> io::Result<()> {
    writeln!(out, "# Exported by `{}` at {}", d.command, d.generated_at)?;
    writeln!(out, "# from {} ({}).", d.searched, d.endpoint)?;
    let vms: usize = d
        .vaults
        .iter()
        .flat_map(|v| &v.protect)
        .map(|p| p.covers)
        .sum();
    let disks: usize = d
        .disk_vaults
        .iter()
        .flat_map(|v| &v.protect)
        .map(|p| p.disks.len())
        .sum();
    let replicated: usize = d.site_recovery.iter().map(|g| g.vms.len()).sum();
    let replications = match d.site_recovery.len() {
        0 => String::new(),
        n => format!(", {n} Site Recovery group(s) replicating {replicated} VM(s)"),
    };
    let backup_vaults = match d.disk_vaults.len() {
        0 => String::new(),
        n => format!(", {n} Backup vault(s) with {disks} protected disk(s)"),
    };
    writeln!(
        out,
        "# {} Recovery Services vault(s), {vms} protected VM(s){replications}{backup_vaults}. Check that it matches the estate:",
        d.vaults.len()
    )?;
    writeln!(
        out,
        "#   azprotect plan -f FILE --detailed-exitcode    (exit 0: no changes)"
    )?;
    let cache = if d.site_recovery.is_empty() {
        "."
    } else {
        ",\n#   a site_recovery group's target_cache_storage_account (needed to re-protect after a failover)."
    };
    writeln!(
        out,
        "# Not exported (not readable from Azure): on_remove (default retain_data), restore_drill{cache}"
    )?;
    if !d.left_out.is_empty() {
        writeln!(
            out,
            "# Left out with --skip-unsupported (the file cannot express them; planning it leaves them alone):"
        )?;
        for l in &d.left_out {
            writeln!(out, "#   {l}")?;
        }
    }
    writeln!(out, "version: 1")?;
    writeln!(out, "subscription: {}", scalar(&d.subscription))?;
    section(out, "recovery_vaults", &d.vaults, vault)?;
    section(out, "site_recovery", &d.site_recovery, site_recovery)?;
    section(out, "disk_backup", &d.disk_vaults, disk_vault)
}

/// A top-level map of the file (`recovery_vaults:` …), its entries a blank line apart; nothing
/// when it has none.
fn section<T, W: Write>(
    out: &mut W,
    name: &str,
    items: &[T],
    entry: impl Fn(&T, &mut W) -> io::Result<()>,
) -> io::Result<()> {
    if items.is_empty() {
        return Ok(());
    }
    writeln!(out)?;
    writeln!(out, "{name}:")?;
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            writeln!(out)?;
        }
        entry(item, out)?;
    }
    Ok(())
}

fn disk_vault(v: &DiskVault, out: &mut impl Write) -> io::Result<()> {
    let disks: usize = v.protect.iter().map(|p| p.disks.len()).sum();
    let what = format!("{disks} protected disk(s)");
    vault_head(
        out,
        &v.name,
        v.policies.len(),
        &what,
        &v.resource_group,
        &v.settings,
    )?;
    if let Some(i) = &v.identity {
        writeln!(out, "    identity: {}", scalar(i))?;
    }
    if !v.policies.is_empty() {
        writeln!(out, "    policies:")?;
        for p in &v.policies {
            writeln!(out, "      {}: {}", key(&p.name), flow(&p.attrs))?;
        }
    }
    if !v.protect.is_empty() {
        writeln!(out, "    protect:")?;
        for p in &v.protect {
            writeln!(out, "      - policy: {}", scalar(&p.policy))?;
            writeln!(
                out,
                "        snapshot_resource_group: {}",
                scalar(&p.snapshot_resource_group)
            )?;
            writeln!(out, "        disks:")?;
            for d in &p.disks {
                writeln!(out, "          - {}", scalar(d))?;
            }
        }
    }
    if let Some(g) = v.grant_permissions {
        writeln!(
            out,
            "    grant_permissions: {g}   # the identity its disks back up with lacks a role on some disk or snapshot group: true would grant it"
        )?;
    }
    not_listed(out, "    ", "Registered in the vault", &v.skipped)?;
    Ok(())
}

fn vault(v: &Vault, out: &mut impl Write) -> io::Result<()> {
    let vms: usize = v.protect.iter().map(|p| p.covers).sum();
    let what = format!("{vms} protected VM(s)");
    vault_head(
        out,
        &v.name,
        v.policies.len(),
        &what,
        &v.resource_group,
        &v.settings,
    )?;
    if !v.policies.is_empty() {
        writeln!(out)?;
        writeln!(out, "    backup_policies:")?;
        for p in &v.policies {
            if let Some(note) = &p.note {
                writeln!(out, "      # {note}")?;
            }
            writeln!(out, "      {}:", key(&p.name))?;
            for (k, val) in ordered(&p.attrs, POLICY_KEYS) {
                if k == "retention" {
                    writeln!(out, "        retention:")?;
                    for (rk, rv) in ordered(val, FLOW_KEYS) {
                        writeln!(out, "          {}: {}", key(rk), flow(rv))?;
                    }
                } else {
                    writeln!(out, "        {}: {}", key(k), flow(val))?;
                }
            }
        }
    }
    if !v.protect.is_empty() {
        writeln!(out)?;
        writeln!(out, "    protect:")?;
        for p in &v.protect {
            protect(p, out)?;
        }
    }
    not_listed(out, "    ", "Registered in the vault", &v.skipped)?;
    Ok(())
}

fn site_recovery(g: &SiteRecovery, out: &mut impl Write) -> io::Result<()> {
    writeln!(
        out,
        "  # {}: {} VM(s) replicated from {} to {} through vault {}, {} recovery plan(s)",
        g.name,
        g.vms.len(),
        g.source_region,
        g.target_region,
        g.vault,
        g.recovery_plans.len()
    )?;
    writeln!(out, "  {}:", key(&g.name))?;
    writeln!(out, "    vault: {}", scalar(&g.vault))?;
    writeln!(out, "    source_region: {}", scalar(&g.source_region))?;
    writeln!(out, "    target_region: {}", scalar(&g.target_region))?;
    let mut policy = vec![format!("recovery_points: {}", scalar(&g.recovery_points))];
    if let Some(a) = &g.app_consistent_every {
        policy.push(format!("app_consistent_every: {}", scalar(a)));
    }
    writeln!(out, "    policy: {{{}}}", policy.join(", "))?;
    writeln!(
        out,
        "    target_resource_group: {}",
        scalar(&g.target_resource_group)
    )?;
    writeln!(
        out,
        "    cache_storage_account: {}",
        scalar(&g.cache_storage_account)
    )?;
    if !g.network_mappings.is_empty() {
        writeln!(out, "    network_mappings:")?;
        for (s, t) in &g.network_mappings {
            writeln!(out, "      - source: {}", scalar(s))?;
            writeln!(out, "        target: {}", scalar(t))?;
        }
    }
    writeln!(out, "    vms:")?;
    for vm in &g.vms {
        writeln!(out, "      - vm: {}", scalar(&vm.vm))?;
        for (k, v) in [
            ("target_zone", &vm.target_zone),
            ("target_vm_size", &vm.target_vm_size),
            ("target_availability_set", &vm.target_availability_set),
        ] {
            if let Some(v) = v {
                writeln!(out, "        {k}: {}", scalar(v))?;
            }
        }
        let mut disks = Vec::new();
        if let Some(os) = &vm.os_disk {
            disks.push(format!("os: {}", scalar(os)));
        }
        match &vm.data_disks {
            DataDisks::Keep => {}
            DataDisks::All(t) => disks.push(format!("data: {}", scalar(t))),
            DataDisks::ByLun(m) => {
                let luns: Vec<String> = m
                    .iter()
                    .map(|(lun, t)| format!("{lun}: {}", scalar(t)))
                    .collect();
                disks.push(format!("data: {{{}}}", luns.join(", ")));
            }
        }
        if !disks.is_empty() {
            writeln!(
                out,
                "        disks: {{{}}}   # replica disk types that differ from the source",
                disks.join(", ")
            )?;
        }
    }
    if !g.recovery_plans.is_empty() {
        writeln!(out, "    recovery_plans:")?;
        for p in &g.recovery_plans {
            writeln!(out, "      {}:", key(&p.name))?;
            writeln!(out, "        groups:")?;
            for rg in &p.groups {
                recovery_group(rg, out)?;
            }
        }
    }
    Ok(())
}

fn recovery_group(g: &RecoveryGroup, out: &mut impl Write) -> io::Result<()> {
    let vms: Vec<String> = g.vms.iter().map(|v| scalar(v)).collect();
    writeln!(out, "          - vms: [{}]", vms.join(", "))?;
    for (k, actions) in [("before", &g.before), ("after", &g.after)] {
        if actions.is_empty() {
            continue;
        }
        writeln!(out, "            {k}:")?;
        for a in actions {
            for (i, (ak, av)) in ordered(a, ACTION_KEYS).into_iter().enumerate() {
                let lead = if i == 0 { "- " } else { "  " };
                writeln!(out, "              {lead}{ak}: {}", flow(av))?;
            }
        }
    }
    Ok(())
}

fn protect(p: &Protect, out: &mut impl Write) -> io::Result<()> {
    writeln!(out, "      - policy: {}", scalar(&p.policy))?;
    if !p.vms.is_empty() {
        writeln!(out, "        vms:")?;
        for vm in &p.vms {
            writeln!(out, "          - {}", scalar(vm))?;
        }
    }
    if p.has_selector() {
        let mut parts = Vec::new();
        if !p.select_resource_groups.is_empty() {
            let rgs: Vec<String> = p.select_resource_groups.iter().map(|g| scalar(g)).collect();
            parts.push(format!("resource_groups: [{}]", rgs.join(", ")));
        }
        if !p.select_tags.is_empty() {
            let tags: Vec<String> = p
                .select_tags
                .iter()
                .map(|(k, v)| format!("{}: {}", key(k), scalar(v)))
                .collect();
            parts.push(format!("tags: {{{}}}", tags.join(", ")));
        }
        writeln!(
            out,
            "        select: {{{}}}   # {} VM(s) today",
            parts.join(", "),
            p.covers
        )?;
    }
    if !p.exclude_disks.is_empty() {
        let luns: Vec<String> = p.exclude_disks.iter().map(u64::to_string).collect();
        writeln!(out, "        exclude_disks: [{}]", luns.join(", "))?;
    }
    Ok(())
}

/// An object's entries, `order`'s keys first.
fn ordered<'a>(v: &'a Value, order: &[&str]) -> Vec<(&'a str, &'a Value)> {
    let mut entries: Vec<(&str, &Value)> = v
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.as_str(), v))
        .collect();
    entries.sort_by_key(|(k, _)| order.iter().position(|o| o == k).unwrap_or(order.len()));
    entries
}

/// A value in flow style.
fn flow(v: &Value) -> String {
    match v {
        Value::Object(_) => {
            let parts: Vec<String> = ordered(v, FLOW_KEYS)
                .into_iter()
                .map(|(k, v)| format!("{}: {}", key(k), flow(v)))
                .collect();
            format!("{{{}}}", parts.join(", "))
        }
        Value::Array(a) => {
            let parts: Vec<String> = a.iter().map(flow).collect();
            format!("[{}]", parts.join(", "))
        }
        Value::String(s) => scalar(s),
        Value::Null => "null".into(),
        other => other.to_string(),
    }
}

/// A key: the file's own field names as they are (`on:` is a field of the format, read by a
/// YAML 1.2 reader); names from Azure (vaults, policies, tags) as [`scalar`]s.
fn key(s: &str) -> String {
    if FLOW_KEYS.contains(&s) || POLICY_KEYS.contains(&s) || VAULT_KEYS.contains(&s) {
        s.to_string()
    } else {
        scalar(s)
    }
}

/// A string as YAML reads it back unchanged: plain when that is unambiguous (in block and flow
/// context alike), else double-quoted.
pub fn scalar(s: &str) -> String {
    if plain_is_safe(s) {
        s.to_string()
    } else {
        let escaped: String = s
            .chars()
            .flat_map(|c| match c {
                '"' => vec!['\\', '"'],
                '\\' => vec!['\\', '\\'],
                '\n' => vec!['\\', 'n'],
                '\t' => vec!['\\', 't'],
                c => vec![c],
            })
            .collect();
        format!("\"{escaped}\"")
    }
}

/// Words YAML 1.1 or 1.2 reads as booleans or null.
const RESERVED: &[&str] = &[
    "true", "false", "yes", "no", "on", "off", "y", "n", "null", "~",
];

fn plain_is_safe(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    if is_duration(s) || is_guid(s) {
        return true;
    }
    (first.is_ascii_alphabetic() || first == '/' || first == '_')
        && !s.ends_with(' ')
        && !s.contains(" #")
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./ ;()".contains(c))
        && !RESERVED.iter().any(|r| r.eq_ignore_ascii_case(s))
}

/// `4h`, `30d`: digits and one unit letter.
fn is_duration(s: &str) -> bool {
    if !s.is_ascii() || s.is_empty() {
        return false;
    }
    let (n, unit) = s.split_at(s.len() - 1);
    !n.is_empty()
        && n.bytes().all(|b| b.is_ascii_digit())
        && unit.bytes().all(|b| b.is_ascii_lowercase())
}

/// A subscription id: 8-4-4-4-12 hex digits (no YAML type reads it as anything but a string).
fn is_guid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.iter().map(|p| p.len()).eq([8, 4, 4, 4, 12])
        && parts
            .iter()
            .all(|p| p.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// What was found but is not in the file, as comments at `indent` ("Registered in the vault but
/// not listed:" and one line each).
fn not_listed(
    out: &mut impl Write,
    indent: &str,
    found: &str,
    skipped: &[String],
) -> io::Result<()> {
    if !skipped.is_empty() {
        writeln!(out, "{indent}# {found} but not listed:")?;
        for s in skipped {
            writeln!(out, "{indent}#   {s}")?;
        }
    }
    Ok(())
}

/// A vault's opening lines, the same for both kinds: a comment counting what it holds, its name,
/// resource group and settings in CONFIG.md's order.
fn vault_head(
    out: &mut impl Write,
    name: &str,
    policies: usize,
    holds: &str,
    resource_group: &str,
    settings: &Value,
) -> io::Result<()> {
    let plural = if policies == 1 { "y" } else { "ies" };
    writeln!(out, "  # {name}: {policies} polic{plural}, {holds}")?;
    writeln!(out, "  {}:", key(name))?;
    writeln!(out, "    resource_group: {}", scalar(resource_group))?;
    for (k, val) in ordered(settings, VAULT_KEYS) {
        writeln!(out, "    {}: {}", key(k), flow(val))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::scalar;

    #[test]
    fn quotes_what_yaml_would_misread() {
        for plain in [
            "DefaultPolicy",
            "vault-3f2a",
            "rg-App-PROD",
            "DailyPolicy-kxq8v2",
            "W. Europe Standard Time",
            "rg-app/app-01",
            "4h",
            "30d",
            "00000000-0000-0000-0000-000000000001",
            "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm",
        ] {
            assert_eq!(scalar(plain), plain);
        }
        for (s, quoted) in [
            ("On", "\"On\""),
            ("08:00", "\"08:00\""),
            ("1", "\"1\""),
            ("12", "\"12\""),
            ("1e3", "\"1e3\""),
            ("2026-01-01", "\"2026-01-01\""),
            ("", "\"\""),
            ("a: b", "\"a: b\""),
            ("x #y", "\"x #y\""),
            ("say \"hi\"", "\"say \\\"hi\\\"\""),
            ("[x]", "\"[x]\""),
            ("no", "\"no\""),
        ] {
            assert_eq!(scalar(s), quoted, "{s}");
        }
    }
}
