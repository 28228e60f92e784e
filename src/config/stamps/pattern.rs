//! Name patterns of stamps: `rsv-{subscription.name}-{region}` parsed into text and
//! placeholders, expanded per (subscription, region), and an unknown placeholder located.

use crate::model::resource_group::normalize_location;
use crate::model::stamp::{slug, StampSubscription};
use miette::SourceSpan;

/// A placeholder of a name pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placeholder {
    /// `{subscription.name}`: the display name as a slug ([`slug`]).
    SubscriptionName,
    /// `{subscription.id}`.
    SubscriptionId,
    /// `{region}`, normalized (`westeurope`).
    Region,
}

/// The placeholders a pattern may use, as written.
pub const PLACEHOLDERS: [&str; 3] = ["{subscription.name}", "{subscription.id}", "{region}"];

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Hole(Placeholder),
}

/// A name pattern: text and placeholders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern(Vec<Piece>);

/// A `{…}` that is not a placeholder (or a brace left open): its byte range in the pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadPlaceholder {
    pub at: std::ops::Range<usize>,
    pub text: String,
}

impl Pattern {
    pub fn parse(s: &str) -> Result<Pattern, BadPlaceholder> {
        let mut pieces = Vec::new();
        let mut rest = s;
        let mut offset = 0;
        while let Some(open) = rest.find(['{', '}']) {
            if open > 0 {
                pieces.push(Piece::Text(rest[..open].to_string()));
            }
            let tail = &rest[open..];
            let close = tail.find('}').filter(|_| tail.starts_with('{'));
            let Some(close) = close else {
                // A brace left open (or closed without opening): point at it.
                let len = tail.find([' ', '-']).unwrap_or(tail.len()).max(1);
                return Err(BadPlaceholder {
                    at: offset + open..offset + open + 1,
                    text: tail[..len].to_string(),
                });
            };
            let hole = match &tail[..=close] {
                "{subscription.name}" => Placeholder::SubscriptionName,
                "{subscription.id}" => Placeholder::SubscriptionId,
                "{region}" => Placeholder::Region,
                other => {
                    return Err(BadPlaceholder {
                        at: offset + open..offset + open + close + 1,
                        text: other.to_string(),
                    })
                }
            };
            pieces.push(Piece::Hole(hole));
            offset += open + close + 1;
            rest = &tail[close + 1..];
        }
        if !rest.is_empty() {
            pieces.push(Piece::Text(rest.to_string()));
        }
        Ok(Pattern(pieces))
    }

    /// The name in `sub` and `region`.
    pub fn expand(&self, sub: &StampSubscription, region: &str) -> String {
        self.0
            .iter()
            .map(|p| match p {
                Piece::Text(t) => t.clone(),
                Piece::Hole(Placeholder::SubscriptionName) => slug(&sub.name),
                Piece::Hole(Placeholder::SubscriptionId) => sub.id.to_ascii_lowercase(),
                Piece::Hole(Placeholder::Region) => normalize_location(region),
            })
            .collect()
    }

    pub fn uses(&self, p: Placeholder) -> bool {
        self.0.contains(&Piece::Hole(p))
    }
}

/// The span of `range` (bytes of `value`) inside the node `at` wrote `value` in: exact for a
/// plain scalar, shifted past the quote for a quoted one, the whole node otherwise.
pub fn sub_span(at: SourceSpan, value: &str, range: std::ops::Range<usize>) -> SourceSpan {
    let start = match at.len() {
        n if n == value.len() => at.offset(),
        n if n == value.len() + 2 => at.offset() + 1,
        _ => return at,
    };
    SourceSpan::from(start + range.start..start + range.end)
}
