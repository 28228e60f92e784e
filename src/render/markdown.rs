//! The plan as a GitHub pull-request comment: a hidden marker ([`MARKER`]) that a pipeline finds
//! its one comment by, a title naming the subscriptions planned, summary table, ⚠️ call-outs for data loss
//! and blocked changes, a compact list of changes, then the attribute changes inside a folded
//! `<details>` section with one ```` ```diff ```` block per change so GitHub colours `+`/`-`.
//!
//! The output always fits GitHub's 65,535-character comment limit: when a plan is too large,
//! the list and the details are cut at a change boundary with a note saying how many were left out.

use super::common::{self, attr_lines, inline, AttrLine};
use super::GITHUB_COMMENT_LIMIT;
use crate::plan::{Action, Change, Plan};
use std::fmt::Write as _;
use std::io::{self, Write};

/// The comment's first line, hidden when GitHub or Azure DevOps shows it: a pipeline finds its
/// comment by it and updates that one instead of adding another.
pub const MARKER: &str = "<!-- azprotect-plan -->";

/// `### azprotect plan for subscription …` (or `subscriptions …, …`; beyond a few, their
/// count), and the shard a `--shard` plan covers.
fn heading(plan: &Plan) -> String {
    let quoted: Vec<String> = plan
        .subscriptions
        .iter()
        .map(|s| format!("`{s}`"))
        .collect();
    let mut h = match quoted.as_slice() {
        [] => "### azprotect plan".into(),
        [one] => format!("### azprotect plan for subscription {one}"),
        few if few.len() <= HEADING_SUBSCRIPTIONS => {
            format!("### azprotect plan for subscriptions {}", few.join(", "))
        }
        many => format!("### azprotect plan for {} subscriptions", many.len()),
    };
    if let Some(shard) = plan.shard {
        h.push_str(&format!(" (shard {shard})"));
    }
    h
}

/// Subscriptions named in the heading; more are counted.
const HEADING_SUBSCRIPTIONS: usize = 5;

/// Room kept free for the truncation notes and closing tags.
const RESERVE: usize = 1_500;
/// Call-outs list at most this many addresses each.
const CALLOUT_ITEMS: usize = 25;
/// Details are shown expanded when they are this short.
const OPEN_DETAILS_BELOW: usize = 3_000;

pub fn render<W: Write>(plan: &Plan, w: &mut W) -> io::Result<()> {
    w.write_all(to_string(plan, GITHUB_COMMENT_LIMIT).as_bytes())
}

/// The comment, at most `limit` bytes long (bytes ≥ characters, so it also fits a character limit).
pub(crate) fn to_string(plan: &Plan, limit: usize) -> String {
    let mut out = format!("{MARKER}\n{}\n\n", heading(plan));
    for line in common::left_out_lines(plan) {
        let _ = writeln!(out, "> ⚠️ {}\n", common::md_cell(&line));
    }
    if plan.is_empty() {
        out.push_str("✅ **");
        out.push_str(common::NO_CHANGES);
        out.push_str("**\n");
        return out;
    }
    let budget = limit.saturating_sub(RESERVE);
    let s = &plan.summary;
    let _ = writeln!(out, "**{}**\n", common::summary_line(s));
    out.push_str("| ➕ Create | 🔄 Update | ♻️ Replace | 🗑️ Delete | ⛔ Blocked |\n");
    out.push_str("|---:|---:|---:|---:|---:|\n");
    let _ = writeln!(
        out,
        "| {} | {} | {} | {} | {} |\n",
        s.create, s.update, s.replace, s.delete, s.blocked
    );

    let losing: Vec<&Change> = plan.changes.iter().filter(|c| c.loses_data()).collect();
    if !losing.is_empty() {
        out.push_str(
            "> [!CAUTION]\n> ⚠️ **Deletes backup data** — apply needs `--allow-data-loss`:\n",
        );
        callout_items(&mut out, &losing, |c| match c.data {
            Some(_) => "protection stops and its recovery points are deleted".into(),
            None => format!(
                "the vault is {}d with any backup data in it",
                common::action_word(c.action)
            ),
        });
        out.push('\n');
    }
    let blocked: Vec<&Change> = plan
        .changes
        .iter()
        .filter(|c| c.blocked.is_some())
        .collect();
    if !blocked.is_empty() {
        out.push_str("> [!WARNING]\n> ⚠️ **Blocked** — Azure would refuse these changes; apply refuses the whole plan:\n");
        callout_items(&mut out, &blocked, |c| {
            c.blocked.clone().unwrap_or_default()
        });
        out.push('\n');
    }

    out.push_str("#### Changes\n\n");
    let mut listed = 0;
    for c in &plan.changes {
        let item = list_item(c);
        if out.len() + item.len() > budget {
            break;
        }
        out.push_str(&item);
        listed += 1;
    }
    if listed < plan.changes.len() {
        let _ = writeln!(
            out,
            "\n_…and {} more not listed: the plan is too large for one comment. Run `azprotect show PLAN` or use `--format json` for the full plan._",
            common::plural(plan.changes.len() - listed, "change")
        );
        return out;
    }

    let mut details = String::new();
    let mut shown = 0;
    for c in &plan.changes {
        let block = diff_block(c);
        // Room for the <details> wrapper (~120 bytes) as well.
        if out.len() + details.len() + block.len() + 120 > budget {
            break;
        }
        details.push_str(&block);
        shown += 1;
    }
    let open = if details.len() < OPEN_DETAILS_BELOW && shown == plan.changes.len() {
        " open"
    } else {
        ""
    };
    let _ = writeln!(
        out,
        "\n<details{open}><summary>Attribute changes ({})</summary>\n",
        common::plural(plan.changes.len(), "resource")
    );
    out.push_str(&details);
    if shown < plan.changes.len() {
        let _ = writeln!(
            out,
            "_…{} not shown here: the plan is too large for one comment. Run `azprotect show PLAN` or use `--format json` for the full plan._\n",
            common::plural(plan.changes.len() - shown, "more change")
        );
    }
    out.push_str("</details>\n");
    out
}

fn callout_items(out: &mut String, items: &[&Change], note: impl Fn(&Change) -> String) {
    for c in items.iter().take(CALLOUT_ITEMS) {
        let _ = writeln!(out, "> - `{}` — {}", c.address, note(c));
    }
    if items.len() > CALLOUT_ITEMS {
        let _ = writeln!(out, "> - …and {} more", items.len() - CALLOUT_ITEMS);
    }
}

fn emoji(a: Action) -> &'static str {
    match a {
        Action::Create => "➕",
        Action::Update => "🔄",
        Action::Replace => "♻️",
        Action::Delete => "🗑️",
    }
}

fn list_item(c: &Change) -> String {
    let mut s = format!(
        "- {} **{}** `{}`",
        emoji(c.action),
        common::action_word(c.action),
        c.address
    );
    if matches!(c.action, Action::Update | Action::Replace) && !c.diff.is_empty() {
        let paths: Vec<String> = c.diff.iter().map(|d| format!("`{}`", d.path)).collect();
        let _ = write!(s, ": {}", paths.join(", "));
    }
    if let Some((text, danger)) = common::data_effect(c) {
        if danger {
            let _ = write!(s, " — ⚠️ **{text}**");
        } else {
            let _ = write!(s, " — data {text}");
        }
    }
    if let Some(b) = &c.blocked {
        let _ = write!(s, " — ⛔ **blocked:** {b}");
    }
    s.push('\n');
    s
}

/// One change as a ```` ```diff ```` block: `+` lines green, `-` lines red.
fn diff_block(c: &Change) -> String {
    let mut s = String::from("```diff\n");
    let head = match c.action {
        Action::Create => "+",
        Action::Update => "~",
        Action::Replace => "-/+",
        Action::Delete => "-",
    };
    let _ = writeln!(s, "{head} {}", c.address);
    let _ = writeln!(s, "# id: {}", c.arm_id);
    if let Some(b) = &c.blocked {
        let _ = writeln!(s, "! blocked: {b}");
    }
    for r in &c.reasons {
        let _ = writeln!(s, "# {r}");
    }
    if let Some((text, danger)) = common::data_effect(c) {
        let _ = writeln!(s, "{} data: {text}", if danger { "-" } else { "#" });
    }
    let nested = |s: &mut String, v: Option<&serde_json::Value>, sign: char| {
        for AttrLine { depth, key, value } in v.map(attr_lines).unwrap_or_default() {
            let indent = "    ".repeat(depth + 1);
            match value {
                Some(v) => {
                    let _ = writeln!(s, "{sign}{indent}{key}: {v}");
                }
                None => {
                    let _ = writeln!(s, "{sign}{indent}{key}:");
                }
            }
        }
    };
    match c.action {
        Action::Create => nested(&mut s, c.after.as_ref(), '+'),
        Action::Delete => nested(&mut s, c.before.as_ref(), '-'),
        Action::Replace if c.diff.is_empty() => nested(&mut s, c.after.as_ref(), '+'),
        Action::Update | Action::Replace => {
            for d in &c.diff {
                if let Some(b) = &d.before {
                    let _ = writeln!(s, "-    {}: {}", d.path, inline(b));
                }
                if let Some(a) = &d.after {
                    let _ = writeln!(s, "+    {}: {}", d.path, inline(a));
                }
            }
        }
    }
    s.push_str("```\n\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_comment_starts_with_its_marker_and_names_the_subscriptions_planned() {
        let one = to_string(&Plan::new(vec!["sub-a".into()], vec![]), 1_000);
        let mut lines = one.lines();
        assert_eq!(lines.next(), Some("<!-- azprotect-plan -->"));
        assert_eq!(
            lines.next(),
            Some("### azprotect plan for subscription `sub-a`")
        );
        let two = to_string(&Plan::new(vec!["a".into(), "b".into()], vec![]), 1_000);
        assert!(
            two.contains("### azprotect plan for subscriptions `a`, `b`\n"),
            "{two}"
        );
        let none = to_string(&Plan::new(vec![], vec![]), 1_000);
        assert!(none.starts_with("<!-- azprotect-plan -->\n### azprotect plan\n"));
    }

    #[test]
    fn a_tenant_plan_counts_its_subscriptions_and_a_shard_says_which_it_is() {
        let subs: Vec<String> = (0..100).map(|i| format!("s{i}")).collect();
        let mut p = Plan::new(subs, vec![]);
        p.shard = Some(crate::model::shard::Shard { index: 2, count: 4 });
        let md = to_string(&p, 1_000);
        assert!(
            md.contains("### azprotect plan for 100 subscriptions (shard 2/4)\n"),
            "{md}"
        );
    }
}
