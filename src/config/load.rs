//! Reading and parsing: files → [`ConfigFile`]s with spans. Parser errors (syntax, types,
//! unknown fields, duplicate keys, missing fields) become [`Diag`]s at their location, with a
//! did-you-mean where a name was misspelt. Parsing stops at a file's first such error; other
//! files are still parsed, and validation runs only when every file parsed.

use super::diag::{did_you_mean, one_of, At, Diag, Diags, Source};
use super::types::ConfigFile;
use miette::SourceSpan;

/// Parse one file's text. `file` is its index in the loaded sources.
pub fn parse(file: usize, src: &Source) -> Result<ConfigFile, Box<Diag>> {
    let text = src.text.as_str();
    let only_comments = text
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'));
    if only_comments {
        let what = if text.trim().is_empty() {
            "the file is empty"
        } else {
            "the file holds only comments"
        };
        return Err(Box::new(
            Diag::error(At::new(file, (0..0).into()), what)
                .label("no settings")
                .help("a desired-state file starts with `version: 1`"),
        ));
    }
    // Generous enough for a file listing a tenant's VMs and using one anchor for all of them;
    // still bounded, so that an alias bomb or a huge file is refused, not parsed.
    let options = serde_saphyr::options! {
        strict_booleans: true,
        // A tag azprotect does not understand (`!evil`) is refused, not silently ignored.
        reject_unsupported_tags: true,
        reject_tagged_field_names: true,
        budget: serde_saphyr::budget! {
            max_events: LIMITS.events,
            max_nodes: LIMITS.nodes,
            max_aliases: LIMITS.aliases,
            alias_anchor_min_aliases: 10_000,
            alias_anchor_ratio_multiplier: 1_000,
            simple_key_max_lookahead: 16 * 1024,
        },
    };
    serde_saphyr::from_str_with_options::<ConfigFile>(text, options)
        .map_err(|e| Box::new(convert(file, src, &e)))
}

fn convert(file: usize, src: &Source, e: &serde_saphyr::Error) -> Diag {
    let message = serde_saphyr::miette::to_miette_report(e, &src.text, &src.name).to_string();
    let span = e
        .location()
        .map(|l| {
            let s = l.span();
            let text = src.text.as_str();
            let (off, len) = match (s.byte_offset(), s.byte_len()) {
                (Some(o), Some(n)) => (o as usize, n as usize),
                // Scanner errors carry character offsets only.
                _ => {
                    let byte_at = |chars: u64| {
                        text.char_indices()
                            .nth(chars as usize)
                            .map(|(b, _)| b)
                            .unwrap_or(text.len())
                    };
                    let start = byte_at(s.offset());
                    (start, byte_at(s.offset() + s.len()) - start)
                }
            };
            SourceSpan::from(off.min(text.len())..(off + len).min(text.len()))
        })
        .unwrap_or_else(|| SourceSpan::from(0..0));
    let at = At::new(file, span);
    let d = rewrite(at, &message);
    if message.starts_with("duplicate mapping key") {
        if let Some(first) = first_key_occurrence(&src.text, span) {
            return d.note(At::new(file, first), "first defined here");
        }
    }
    d
}

/// Where a duplicated key (at `dup`) was first written: the same key earlier in the same flow
/// mapping on its line, or in the same column of the enclosing block mapping above.
fn first_key_occurrence(text: &str, dup: SourceSpan) -> Option<SourceSpan> {
    let (off, len) = (dup.offset(), dup.len());
    let key = text.get(off..off + len)?;
    if key.is_empty() {
        return None;
    }
    let line_start = text[..off].rfind('\n').map_or(0, |i| i + 1);
    let col = off - line_start;
    let is_key_at = |pos: usize| {
        let rest = &text[pos..];
        rest.starts_with(key) && rest[key.len()..].trim_start_matches(' ').starts_with(':')
    };
    // Flow mapping on the same line: `{a: 1, a: 2}`.
    let line = &text[line_start..off];
    for (i, _) in line.match_indices(key) {
        let before = line[..i].trim_end();
        if (before.ends_with('{') || before.ends_with(',')) && is_key_at(line_start + i) {
            return Some(SourceSpan::from(line_start + i..line_start + i + len));
        }
    }
    // Block mapping: walk up while lines stay inside the mapping (indented at least `col`).
    let mut end = line_start.checked_sub(1)?;
    loop {
        let start = text[..end].rfind('\n').map_or(0, |i| i + 1);
        let l = &text[start..end];
        let indent = l.len() - l.trim_start_matches(' ').len();
        let blank = l.trim().is_empty() || l.trim_start().starts_with('#');
        if !blank {
            if l.len() >= col + len && l.is_char_boundary(col) && is_key_at(start + col) {
                return Some(SourceSpan::from(start + col..start + col + len));
            }
            if indent < col && !l.trim_start().starts_with('-') {
                return None;
            }
            if indent < col.saturating_sub(2) {
                return None;
            }
        }
        if start == 0 {
            return None;
        }
        end = start - 1;
    }
}

/// `a, b, c` (serde's "expected one of" list) → names.
fn expected_list(s: &str) -> Vec<String> {
    s.split(", ")
        .map(|n| n.trim().trim_matches('`').to_string())
        .filter(|n| !n.is_empty())
        .collect()
}

fn between<'a>(s: &'a str, start: &str, end: &str) -> Option<(&'a str, &'a str)> {
    let rest = s.strip_prefix(start)?;
    let (mid, tail) = rest.split_once(end)?;
    Some((mid, tail))
}

/// The parser's limits (see [`parse`]).
struct Limits {
    events: usize,
    nodes: usize,
    aliases: usize,
}

const LIMITS: Limits = Limits {
    events: 10_000_000,
    nodes: 5_000_000,
    aliases: 1_000_000,
};

/// Turn the parser's message into the user's: plain wording, a label, a did-you-mean.
fn rewrite(at: At, message: &str) -> Diag {
    if let Some((tag, _)) = between(message, "unsupported tag `", "`") {
        return Diag::error(at, format!("unsupported YAML tag `{tag}`"))
            .label("azprotect does not read this tag")
            .help("remove the tag: azprotect reads plain values (only YAML's standard tags such as `!!str` are accepted)");
    }
    if message.starts_with("multiple YAML documents") {
        return Diag::error(at, "a desired-state file holds one YAML document")
            .label("a second document starts here")
            .help("give each document its own file and pass them all: `-f a.yaml -f b.yaml`");
    }
    if let Some(breach) = message.strip_prefix("budget breached: ") {
        let what = match breach.split([' ', '{']).next().unwrap_or_default() {
            "Nodes" | "Events" => format!(
                "the file is larger than azprotect reads (more than {} YAML nodes)",
                LIMITS.nodes
            ),
            "Aliases" | "AliasAnchorRatio" | "RecordedAnchorEvents" | "RecordedAnchorBytes" => {
                "the file's aliases (`*name`) expand to more than azprotect reads: a YAML alias bomb?".to_string()
            }
            "Depth" => "the file nests mappings and lists deeper than 64 levels".to_string(),
            "ScalarBytes" => "the file's values add up to more than 64 MiB of text".to_string(),
            other => format!("the file exceeds a parser safety limit ({other})"),
        };
        return Diag::error(at, what)
            .label("limit reached here")
            .help("split the file into several (`-f a.yaml -f b.yaml`), or use selectors (`select: {tags: …}`) instead of long lists");
    }
    if let Some((field, tail)) = between(message, "unknown field `", "`") {
        let expected = tail
            .strip_prefix(", expected one of ")
            .or_else(|| tail.strip_prefix(", expected "))
            .map(expected_list)
            .unwrap_or_default();
        let names: Vec<&str> = expected.iter().map(String::as_str).collect();
        let mut help = did_you_mean(field, names.iter().copied())
            .map(|d| format!("{d} "))
            .unwrap_or_default();
        if names.is_empty() {
            help.push_str("no fields are allowed here");
        } else {
            help.push_str(&format!("expected {}", one_of(&names)));
        }
        return Diag::error(at, format!("unknown field `{field}`"))
            .label("unknown field")
            .help(help);
    }
    if let Some((value, tail)) = between(message, "unknown variant `", "`") {
        let expected = tail
            .strip_prefix(", expected one of ")
            .or_else(|| tail.strip_prefix(", expected "))
            .map(expected_list)
            .unwrap_or_default();
        let names: Vec<&str> = expected.iter().map(String::as_str).collect();
        let mut help = did_you_mean(value, names.iter().copied())
            .map(|d| format!("{d} "))
            .unwrap_or_default();
        help.push_str(&format!("expected {}", one_of(&names)));
        return Diag::error(at, format!("unknown value `{value}`"))
            .label("not allowed here")
            .help(help);
    }
    if let Some(rest) = message.strip_prefix("duplicate mapping key: ") {
        let key = rest
            .split(", set DuplicateKeyPolicy")
            .next()
            .unwrap_or(rest)
            .trim();
        return Diag::error(at, format!("duplicate key `{key}`"))
            .label("defined again here")
            .help("a key may appear only once in a mapping (YAML would otherwise silently keep one of them); merge the two entries");
    }
    if let Some((field, _)) = between(message, "missing field `", "`") {
        return Diag::error(at, format!("missing required field `{field}`"))
            .label(format!("`{field}` missing in this mapping"));
    }
    for (parser, shape, example) in [
        (
            "expected mapping start",
            "a mapping",
            "`key: value` entries or `{key: value}`",
        ),
        (
            "expected sequence start",
            "a list",
            "`- item` lines or `[a, b]`",
        ),
        (
            "expected string scalar",
            "a string",
            "a plain or quoted scalar",
        ),
    ] {
        if message.starts_with(parser) {
            return Diag::error(at, format!("expected {shape} here"))
                .label(format!("not {shape}"))
                .help(format!("write {shape} as {example}"));
        }
    }
    if message.starts_with("invalid u32") || message.starts_with("invalid u64") {
        return Diag::error(at, "expected a whole number").label("not a whole number ≥ 0");
    }
    if message.contains("expected bool") || message.contains("invalid bool") {
        return Diag::error(at, "expected `true` or `false`").label("not a boolean");
    }
    let d = Diag::error(at, message.to_string()).label(first_line(message));
    if message.contains("did not find expected key")
        || message.contains("mapping values are not allowed")
    {
        return d.help("check the indentation: the keys of one mapping start in the same column");
    }
    d
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").to_string()
}

/// Parse every source; then, if all parsed, validate each file and the files together.
pub fn parse_and_validate(sources: &[Source]) -> (Vec<ConfigFile>, Diags) {
    let mut diags = Diags::default();
    let mut files = Vec::new();
    for (i, src) in sources.iter().enumerate() {
        match parse(i, src) {
            Ok(f) => files.push(f),
            Err(d) => diags.push(*d),
        }
    }
    if files.len() == sources.len() {
        for (i, f) in files.iter().enumerate() {
            super::validate::file(
                &mut super::validate::Cx {
                    file: i,
                    diags: &mut diags,
                },
                f,
            );
        }
        super::validate::across(&files, &mut diags);
    }
    (files, diags)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first(text: &str, dup_at: usize, len: usize) -> Option<usize> {
        first_key_occurrence(text, SourceSpan::from(dup_at..dup_at + len)).map(|s| s.offset())
    }

    #[test]
    fn the_first_occurrence_of_a_duplicate_key_is_found_in_block_and_flow_mappings() {
        let t = "a:\n  x: 1\n  y: 2\n  x: 3\n";
        assert_eq!(first(t, t.rfind("x").unwrap(), 1), Some(5));
        let t = "m: {k: 1, kk: 2, k: 3}\n";
        assert_eq!(first(t, t.rfind("k:").unwrap(), 1), Some(4));
        // A key of the same name in a *different* (outer) mapping is not the first definition.
        let t = "x:\n  a: 1\ny:\n  x: 2\n  x: 3\n";
        assert_eq!(
            first(t, t.rfind("x").unwrap(), 1),
            Some(t.find("  x").unwrap() + 2)
        );
        assert_eq!(first("", 0, 0), None);
    }
}
