//! The terminal plan (Terraform-like): one block per change with its symbol, address, ARM id,
//! reasons, attribute lines and data effect, then the summary line. ANSI colour only when asked.

use super::common::{self, attr_lines, inline, AttrLine};
use super::TextOptions;
use crate::plan::{Action, AttrChange, Change, Plan};
use anstyle::{AnsiColor, Style};
use std::io::{self, Write};

const INDENT: &str = "      ";

/// Applies a style when colour is on; plain text otherwise.
#[derive(Clone, Copy)]
struct Paint {
    color: bool,
}

impl Paint {
    fn paint(self, style: Style, s: &str) -> String {
        if self.color && !s.is_empty() {
            format!("{}{s}{}", style.render(), style.render_reset())
        } else {
            s.to_string()
        }
    }
}

fn fg(c: AnsiColor) -> Style {
    Style::new().fg_color(Some(c.into()))
}

const GREEN: AnsiColor = AnsiColor::Green;
const YELLOW: AnsiColor = AnsiColor::Yellow;
const RED: AnsiColor = AnsiColor::Red;

pub fn render<W: Write>(plan: &Plan, w: &mut W, opts: TextOptions) -> io::Result<()> {
    let p = Paint { color: opts.color };
    for line in common::left_out_lines(plan) {
        writeln!(w, "{}", p.paint(fg(YELLOW).bold(), &line))?;
    }
    if plan.is_empty() {
        return writeln!(w, "{}", p.paint(fg(GREEN).bold(), common::NO_CHANGES));
    }
    let subs = match plan.subscriptions.as_slice() {
        [one] => format!(" in subscription {one}"),
        [] => String::new(),
        many => format!(" in {} subscriptions", many.len()),
    };
    writeln!(
        w,
        "{}",
        p.paint(
            Style::new().bold(),
            &format!(
                "azprotect plan: {}{subs}",
                common::plural(plan.changes.len(), "change")
            )
        )
    )?;
    writeln!(
        w,
        "Symbols: {} create  {} update  {} replace  {} delete  {} blocked",
        p.paint(fg(GREEN), "+"),
        p.paint(fg(YELLOW), "~"),
        symbol(p, Action::Replace),
        p.paint(fg(RED), "-"),
        p.paint(fg(RED).bold(), "!"),
    )?;
    for c in &plan.changes {
        writeln!(w)?;
        change(p, c, w)?;
    }
    writeln!(w)?;
    let losing = plan.changes.iter().filter(|c| c.loses_data()).count();
    if losing > 0 {
        let msg = format!(
            "Warning: {} backup data; apply needs --allow-data-loss.",
            if losing == 1 {
                "1 change deletes".to_string()
            } else {
                format!("{losing} changes delete")
            }
        );
        writeln!(w, "{}", p.paint(fg(RED).bold(), &msg))?;
    }
    if plan.summary.blocked > 0 {
        let msg = format!(
            "Blocked: {} cannot be applied as planned; apply refuses this plan.",
            common::plural(plan.summary.blocked, "change")
        );
        writeln!(w, "{}", p.paint(fg(RED).bold(), &msg))?;
    }
    writeln!(
        w,
        "{}",
        p.paint(Style::new().bold(), &common::summary_line(&plan.summary))
    )
}

fn symbol(p: Paint, a: Action) -> String {
    match a {
        Action::Create => p.paint(fg(GREEN), "+"),
        Action::Update => p.paint(fg(YELLOW), "~"),
        Action::Delete => p.paint(fg(RED), "-"),
        Action::Replace => format!("{}/{}", p.paint(fg(RED), "-"), p.paint(fg(GREEN), "+")),
    }
}

fn change<W: Write>(p: Paint, c: &Change, w: &mut W) -> io::Result<()> {
    let pad = if c.action == Action::Replace {
        ""
    } else {
        "  "
    };
    let suffix = match c.action {
        Action::Replace => "  (delete, then create)",
        _ => "",
    };
    writeln!(
        w,
        "{pad}{} {}{}",
        symbol(p, c.action),
        p.paint(Style::new().bold(), &c.address.to_string()),
        suffix
    )?;
    writeln!(
        w,
        "{INDENT}{}",
        p.paint(Style::new().dimmed(), &format!("id: {}", c.arm_id))
    )?;
    if let Some(reason) = &c.blocked {
        writeln!(
            w,
            "{INDENT}{}",
            p.paint(fg(RED).bold(), &format!("! blocked: {reason}"))
        )?;
    }
    for r in &c.reasons {
        writeln!(w, "{INDENT}# {r}")?;
    }
    if let Some((text, danger)) = common::data_effect(c) {
        let style = if danger { fg(RED).bold() } else { Style::new() };
        writeln!(w, "{INDENT}{}", p.paint(style, &format!("data: {text}")))?;
    }
    match c.action {
        Action::Create => nested(p, c.after.as_ref(), "+", fg(GREEN), w),
        Action::Delete => nested(p, c.before.as_ref(), "-", fg(RED), w),
        Action::Update | Action::Replace if !c.diff.is_empty() => {
            c.diff.iter().try_for_each(|d| diff_line(p, d, w))
        }
        Action::Update => Ok(()),
        Action::Replace => nested(p, c.after.as_ref(), "+", fg(GREEN), w),
    }
}

fn nested<W: Write>(
    p: Paint,
    attrs: Option<&serde_json::Value>,
    sign: &str,
    style: Style,
    w: &mut W,
) -> io::Result<()> {
    let Some(attrs) = attrs else { return Ok(()) };
    for AttrLine { depth, key, value } in attr_lines(attrs) {
        let indent = "    ".repeat(depth);
        let line = match value {
            Some(v) => format!("{sign} {key}: {v}"),
            None => format!("{sign} {key}:"),
        };
        writeln!(w, "{INDENT}{indent}{}", p.paint(style, &line))?;
    }
    Ok(())
}

fn diff_line<W: Write>(p: Paint, d: &AttrChange, w: &mut W) -> io::Result<()> {
    let (style, line) = match (&d.before, &d.after) {
        (Some(b), Some(a)) => (
            fg(YELLOW),
            format!("~ {}: {} → {}", d.path, inline(b), inline(a)),
        ),
        (None, Some(a)) => (fg(GREEN), format!("+ {}: {}", d.path, inline(a))),
        (Some(b), None) => (fg(RED), format!("- {}: {}", d.path, inline(b))),
        (None, None) => (fg(YELLOW), format!("~ {}", d.path)),
    };
    writeln!(w, "{INDENT}{}", p.paint(style, &line))
}
