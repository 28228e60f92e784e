//! Helpers shared by the text and markdown renderers: attribute ordering, value formatting,
//! the words for actions and data effects, and the summary line. Pure string functions.

use crate::plan::{Action, Change, DataEffect, Summary};
use serde_json::{Map, Value};

/// Attribute keys in the order users read them (the contract order of each family); keys not
/// listed here follow, alphabetically. Plans therefore render the same whatever order the
/// producer inserted keys in.
const KEY_ORDER: &[&str] = &[
    // recovery_vault / resource_group
    "location",
    "storage_redundancy",
    "cross_region_restore",
    "soft_delete",
    "state",
    "retention_days",
    "immutability",
    "public_network_access",
    // backup_policy
    "tier",
    "schedule",
    "hourly",
    "daily",
    "weekly",
    "monthly",
    "yearly",
    "every",
    "start",
    "duration",
    "time_zone",
    "consistency",
    "instant_restore_days",
    "retention",
    "keep",
    "days",
    "month",
    "week",
    "on",
    "at",
    // protected_vm
    "vm_id",
    "policy",
    "exclude_disks",
    "include_disks",
    // everywhere, last
    "tags",
];

fn rank(key: &str) -> usize {
    KEY_ORDER
        .iter()
        .position(|k| *k == key)
        .unwrap_or(KEY_ORDER.len())
}

/// The entries of an object in display order.
pub fn ordered(map: &Map<String, Value>) -> Vec<(&String, &Value)> {
    let mut v: Vec<(&String, &Value)> = map.iter().collect();
    // `state` is both a vault soft-delete key and the protected VM's last key: keep it last
    // among protected VM attributes (where `vm_id` is present).
    let vm = map.contains_key("vm_id");
    v.sort_by(|(a, _), (b, _)| {
        let ra = if vm && a.as_str() == "state" {
            KEY_ORDER.len() - 1
        } else {
            rank(a)
        };
        let rb = if vm && b.as_str() == "state" {
            KEY_ORDER.len() - 1
        } else {
            rank(b)
        };
        ra.cmp(&rb).then_with(|| a.cmp(b))
    });
    v
}

/// A key as shown: bare when it is a plain word, quoted otherwise.
/// Text for one markdown table cell: a `|` escaped, line breaks folded to spaces.
pub fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace(['\r', '\n'], " ")
}

pub fn key(k: &str) -> String {
    if !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    {
        k.to_string()
    } else {
        Value::String(k.to_string()).to_string()
    }
}

/// A value on one line: strings quoted, lists `[a, b]`, objects `{k: v, …}` in display order.
pub fn inline(v: &Value) -> String {
    match v {
        Value::Array(a) => format!("[{}]", a.iter().map(inline).collect::<Vec<_>>().join(", ")),
        Value::Object(m) if m.is_empty() => "{}".to_string(),
        Value::Object(m) => format!(
            "{{{}}}",
            ordered(m)
                .into_iter()
                .map(|(k, v)| format!("{}: {}", key(k), inline(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => other.to_string(),
    }
}

/// One line of a nested attribute listing.
#[derive(Debug, Clone, PartialEq)]
pub struct AttrLine {
    pub depth: usize,
    /// `key:` then the value when it fits on the line; a nested object has `value` none and its
    /// children follow at `depth + 1`.
    pub key: String,
    pub value: Option<String>,
}

/// Flattens attributes into nested lines: objects open a level, everything else is inline.
pub fn attr_lines(v: &Value) -> Vec<AttrLine> {
    let mut out = Vec::new();
    if let Value::Object(m) = v {
        push_object(m, 0, &mut out);
    }
    out
}

fn push_object(m: &Map<String, Value>, depth: usize, out: &mut Vec<AttrLine>) {
    for (k, v) in ordered(m) {
        match v {
            Value::Object(child) if !child.is_empty() => {
                out.push(AttrLine {
                    depth,
                    key: key(k),
                    value: None,
                });
                push_object(child, depth + 1, out);
            }
            other => out.push(AttrLine {
                depth,
                key: key(k),
                value: Some(inline(other)),
            }),
        }
    }
}

/// `create`, `update`, `replace`, `delete`.
pub fn action_word(a: Action) -> &'static str {
    match a {
        Action::Create => "create",
        Action::Update => "update",
        Action::Replace => "replace",
        Action::Delete => "delete",
    }
}

/// What a change does to backup data, and whether that is dangerous (shown in red / ⚠️).
pub fn data_effect(c: &Change) -> Option<(String, bool)> {
    match c.data {
        Some(DataEffect::Retained) => Some((
            "retained — protection stops, recovery points are kept".into(),
            false,
        )),
        Some(DataEffect::Suspended) => Some((
            "suspended — backups stop, recovery points are kept per policy retention".into(),
            false,
        )),
        Some(DataEffect::Deleted) => {
            Some(("DELETES BACKUP DATA (needs --allow-data-loss)".into(), true))
        }
        None if c.loses_data() => Some((
            "DELETES THE VAULT AND ANY BACKUP DATA IN IT (needs --allow-data-loss)".into(),
            true,
        )),
        None => None,
    }
}

/// `Plan: 1 to create, 2 to update, 0 to replace, 1 to delete, 1 blocked.`
pub fn summary_line(s: &Summary) -> String {
    format!(
        "Plan: {} to create, {} to update, {} to replace, {} to delete, {} blocked.",
        s.create, s.update, s.replace, s.delete, s.blocked
    )
}

/// The sentence an empty plan prints.
pub const NO_CHANGES: &str = "No changes. Azure matches the configuration.";

/// What the plan does not cover: one line per subscription `--allow-partial` left out, and
/// one for the shards a merged plan misses.
pub fn left_out_lines(plan: &crate::plan::Plan) -> Vec<String> {
    let mut lines: Vec<String> = plan
        .left_out
        .iter()
        .map(|l| {
            format!(
                "Left out: subscription {} (the identity may not read it; its declarations are not planned): {}",
                l.subscription, l.reason
            )
        })
        .collect();
    if !plan.missing_shards.is_empty() {
        let missing: Vec<String> = plan.missing_shards.iter().map(|s| s.to_string()).collect();
        lines.push(format!(
            "Left out: no plan for shard(s) {}: this is not the whole estate's plan.",
            missing.join(", ")
        ));
    }
    lines
}

/// `1 change` / `3 changes`.
pub fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// A plain table: `head`, then one line per row, columns padded to their widest cell (the last
/// column unpadded).
pub fn table(
    head: &[&str],
    cells: &[Vec<String>],
    out: &mut impl std::io::Write,
) -> std::io::Result<()> {
    let widths: Vec<usize> = (0..head.len())
        .map(|i| {
            cells
                .iter()
                .filter_map(|c| c.get(i))
                .map(|c| c.chars().count())
                .chain([head[i].chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut line = |c: &[&str]| {
        let last = c.len().saturating_sub(1);
        let text: Vec<String> = c
            .iter()
            .enumerate()
            .map(|(i, s)| {
                if i == last {
                    s.to_string()
                } else {
                    format!("{s:<w$}", w = widths.get(i).copied().unwrap_or(0))
                }
            })
            .collect();
        writeln!(out, "{}", text.join("  "))
    };
    line(head)?;
    for c in cells {
        line(&c.iter().map(String::as_str).collect::<Vec<_>>())?;
    }
    Ok(())
}

/// A report as pretty JSON with `"format_version": 1` added (restore, file recovery, restore
/// drill).
pub fn json_v1(r: &impl serde::Serialize, out: &mut impl std::io::Write) -> std::io::Result<()> {
    let mut doc = serde_json::to_value(r).map_err(std::io::Error::other)?;
    doc["format_version"] = serde_json::json!(1);
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)
}
