//! Pure paging decisions: split a list page into its `value` items and the next link to follow.
//!
//! `nextLink` must be an absolute https URL on the ARM endpoint's host (same rule as LRO URLs);
//! `null`, absent or empty ends the listing; a link already followed is a loop and an error.

use super::lro::{validate_url, LroError};
use serde_json::value::RawValue;
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};
use url::Url;

/// What one page says. Its items are still JSON text, each parsed by the caller as it needs
/// (a VM list's 100 bodies are read without building a JSON tree of each).
#[derive(Debug)]
pub struct Page<'a> {
    pub items: Vec<&'a RawValue>,
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

/// Parse one page (`Err(serde_json::Error)`: the body is not JSON). An empty body is an empty
/// last page; a body that is a bare array is accepted as a single page.
pub fn parse_page<'a>(
    body: &'a [u8],
    arm: &Url,
) -> Result<Result<Page<'a>, PagingError>, serde_json::Error> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Ok(Page {
            items: vec![],
            next: None,
        }));
    }
    let top = serde_json::from_slice::<&RawValue>(body)?;
    Ok(page_of(top.get(), arm))
}

fn page_of<'a>(text: &'a str, arm: &Url) -> Result<Page<'a>, PagingError> {
    if text.starts_with('[') {
        let items = serde_json::from_str(text).map_err(|_| PagingError::NotAList)?;
        return Ok(Page { items, next: None });
    }
    if !text.starts_with('{') {
        return Err(PagingError::NotAList);
    }
    // A repeated key: the last one counts, as in a parsed JSON object.
    let fields: BTreeMap<String, &RawValue> =
        serde_json::from_str(text).map_err(|_| PagingError::NotAList)?;
    let items = match fields.get("value").map(|v| v.get()) {
        None | Some("null") => vec![],
        Some(v) if v.starts_with('[') => {
            serde_json::from_str(v).map_err(|_| PagingError::NotAList)?
        }
        Some(_) => return Err(PagingError::NotAList),
    };
    let next = match fields
        .get("nextLink")
        .and_then(|v| serde_json::from_str::<Value>(v.get()).ok())
    {
        Some(Value::String(s)) if !s.trim().is_empty() => {
            Some(validate_url(s.trim(), "nextLink", arm)?)
        }
        _ => None,
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

    fn page(body: &serde_json::Value) -> Result<(Vec<String>, Option<Url>), PagingError> {
        let bytes = body.to_string();
        let p = parse_page(bytes.as_bytes(), &arm()).expect("JSON")?;
        Ok((
            p.items.iter().map(|r| r.get().to_string()).collect(),
            p.next,
        ))
    }

    #[test]
    fn pages() {
        let (items, next) =
            page(&json!({"value":[1,2],"nextLink":"https://management.azure.com/x?$skiptoken=a"}))
                .unwrap();
        assert_eq!(items, ["1", "2"]);
        assert_eq!(
            next.unwrap().as_str(),
            "https://management.azure.com/x?$skiptoken=a"
        );
        for end in [
            json!({"value":[3]}),
            json!({"value":[3],"nextLink":null}),
            json!({"value":[3],"nextLink":""}),
        ] {
            let (items, next) = page(&end).unwrap();
            assert_eq!(items, ["3"]);
            assert!(next.is_none());
        }
        assert!(parse_page(b" \n", &arm())
            .unwrap()
            .unwrap()
            .items
            .is_empty());
        assert!(parse_page(b"{not json", &arm()).is_err());
        let spaced = parse_page(b" \n {\"value\": [ 1 ]} \n", &arm())
            .unwrap()
            .unwrap();
        assert_eq!(spaced.items[0].get(), "1");
        assert_eq!(page(&json!([1])).unwrap().0, ["1"]);
        assert!(page(&json!({"value": null})).unwrap().0.is_empty());
        assert!(matches!(
            page(&json!({"value": 3})),
            Err(PagingError::NotAList)
        ));
        assert!(matches!(page(&json!("text")), Err(PagingError::NotAList)));
        let repeated = br#"{"value":[1],"value":[2,3]}"#;
        let p = parse_page(repeated, &arm()).unwrap().unwrap();
        assert_eq!(p.items.len(), 2, "the last `value` counts");
    }

    #[test]
    fn foreign_next_link_rejected() {
        let r = page(&json!({"value":[],"nextLink":"https://evil.example.com/x"}));
        assert!(matches!(r, Err(PagingError::BadLink(_))));
        let r = page(&json!({"value":[],"nextLink":"/relative"}));
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
