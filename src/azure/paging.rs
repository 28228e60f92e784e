//! Pure paging decisions: split a list page into its `value` items and the next link to follow.
//!
//! `nextLink` must be an absolute https URL on the ARM endpoint's host (same rule as LRO URLs);
//! `null`, absent or empty ends the listing; a link already followed is a loop and an error.

use super::lro::{validate_url, LroError};
use serde_json::Value;
use std::collections::HashSet;
use url::Url;

/// What one page says.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub items: Vec<Value>,
    pub next: Option<Url>,
}

/// Why paging stopped early.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PagingError {
    #[error(transparent)]
    BadLink(#[from] LroError),
    #[error("the service returned the same nextLink twice ({0}); stopping to avoid a loop")]
    Loop(String),
    #[error("the list response has no `value` array")]
    NotAList,
}

/// Parse one page. A body that is a bare array is accepted as a single page.
pub fn parse_page(body: Option<Value>, arm: &Url) -> Result<Page, PagingError> {
    let Some(body) = body else {
        return Ok(Page {
            items: vec![],
            next: None,
        });
    };
    let (items, next) = match body {
        Value::Array(items) => (items, None),
        Value::Object(mut obj) => {
            let items = match obj.remove("value") {
                Some(Value::Array(v)) => v,
                Some(Value::Null) | None => vec![],
                Some(_) => return Err(PagingError::NotAList),
            };
            let next = match obj.remove("nextLink") {
                Some(Value::String(s)) if !s.trim().is_empty() => {
                    Some(validate_url(s.trim(), "nextLink", arm)?)
                }
                _ => None,
            };
            (items, next)
        }
        _ => return Err(PagingError::NotAList),
    };
    Ok(Page { items, next })
}

/// Remembers links already followed.
#[derive(Debug, Default)]
pub struct LoopGuard(HashSet<String>);

impl LoopGuard {
    /// Record a link; an error if it was seen before.
    pub fn visit(&mut self, url: &Url) -> Result<(), PagingError> {
        if !self.0.insert(url.as_str().to_string()) {
            return Err(PagingError::Loop(super::lro::strip_query(url)));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn arm() -> Url {
        Url::parse("https://management.azure.com").unwrap()
    }

    #[test]
    fn pages() {
        let p = parse_page(
            Some(json!({"value":[1,2],"nextLink":"https://management.azure.com/x?$skiptoken=a"})),
            &arm(),
        )
        .unwrap();
        assert_eq!(p.items, vec![json!(1), json!(2)]);
        assert_eq!(
            p.next.unwrap().as_str(),
            "https://management.azure.com/x?$skiptoken=a"
        );
        for end in [
            json!({"value":[3]}),
            json!({"value":[3],"nextLink":null}),
            json!({"value":[3],"nextLink":""}),
        ] {
            let p = parse_page(Some(end), &arm()).unwrap();
            assert_eq!(p.items, vec![json!(3)]);
            assert!(p.next.is_none());
        }
        assert!(parse_page(None, &arm()).unwrap().items.is_empty());
        assert_eq!(
            parse_page(Some(json!([1])), &arm()).unwrap().items,
            vec![json!(1)]
        );
        assert_eq!(
            parse_page(Some(json!({"value": 3})), &arm()),
            Err(PagingError::NotAList)
        );
    }

    #[test]
    fn foreign_next_link_rejected() {
        let r = parse_page(
            Some(json!({"value":[],"nextLink":"https://evil.example.com/x"})),
            &arm(),
        );
        assert!(matches!(r, Err(PagingError::BadLink(_))));
        let r = parse_page(Some(json!({"value":[],"nextLink":"/relative"})), &arm());
        assert!(matches!(r, Err(PagingError::BadLink(_))));
    }

    #[test]
    fn loop_guard() {
        let mut g = LoopGuard::default();
        let u = Url::parse("https://management.azure.com/x?$skiptoken=a").unwrap();
        g.visit(&u).unwrap();
        assert!(matches!(g.visit(&u), Err(PagingError::Loop(_))));
    }
}
