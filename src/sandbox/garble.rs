//! Malformed answers for fault injection (`--faults garble=P`): what a client's response parsing
//! must survive without panicking — a body cut short, a value of the wrong type, keys in another
//! casing, a key missing, an array thousands of elements long.

use rand::{Rng, RngExt};
use serde_json::{json, Value};

/// Elements an inflated array gets.
const HUGE: usize = 5_000;

/// `body` garbled one way, chosen by `rng`.
pub fn garble(body: &str, rng: &mut impl Rng) -> String {
    let Ok(mut v) = serde_json::from_str::<Value>(body) else {
        return truncate(body, rng);
    };
    match rng.random_range(0..5) {
        0 => return truncate(body, rng),
        1 => {
            let n = count(&v);
            let at = rng.random_range(0..n.max(1));
            let replacement = match rng.random_range(0..6) {
                0 => Value::Null,
                1 => json!(-1),
                2 => json!("\u{0}ünexpected"),
                3 => json!(true),
                4 => json!([]),
                _ => json!({}),
            };
            replace_nth(&mut v, at, &mut 0, replacement);
        }
        2 => recase(&mut v, rng),
        3 => {
            let n = count(&v);
            let at = rng.random_range(0..n.max(1));
            remove_key(&mut v, at, &mut 0);
        }
        _ => inflate(&mut v),
    }
    v.to_string()
}

/// The body cut at a random character boundary.
fn truncate(body: &str, rng: &mut impl Rng) -> String {
    if body.is_empty() {
        return "{".into();
    }
    let mut at = rng.random_range(0..body.len());
    while !body.is_char_boundary(at) {
        at -= 1;
    }
    body[..at].to_string()
}

/// Nodes in `v` (itself included).
fn count(v: &Value) -> usize {
    1 + match v {
        Value::Array(a) => a.iter().map(count).sum(),
        Value::Object(o) => o.values().map(count).sum(),
        _ => 0,
    }
}

/// Replace the `at`-th node (pre-order) with `with`.
fn replace_nth(v: &mut Value, at: usize, seen: &mut usize, with: Value) -> Option<Value> {
    if *seen == at {
        *v = with;
        return None;
    }
    *seen += 1;
    let mut with = Some(with);
    let children: Vec<&mut Value> = match v {
        Value::Array(a) => a.iter_mut().collect(),
        Value::Object(o) => o.values_mut().collect(),
        _ => vec![],
    };
    for c in children {
        let w = with.take()?;
        with = replace_nth(c, at, seen, w);
    }
    with
}

/// Remove the key of the object that holds the `at`-th node (pre-order), if any.
fn remove_key(v: &mut Value, at: usize, seen: &mut usize) -> bool {
    *seen += 1;
    match v {
        Value::Object(o) => {
            let keys: Vec<String> = o.keys().cloned().collect();
            for k in keys {
                if *seen == at {
                    o.remove(&k);
                    return true;
                }
                if let Some(c) = o.get_mut(&k) {
                    if remove_key(c, at, seen) {
                        return true;
                    }
                }
            }
            false
        }
        Value::Array(a) => a.iter_mut().any(|c| remove_key(c, at, seen)),
        _ => false,
    }
}

/// Every key in upper or lower case, or with its first letter flipped.
fn recase(v: &mut Value, rng: &mut impl Rng) {
    let how = rng.random_range(0..3);
    fn walk(v: &mut Value, how: u8) {
        match v {
            Value::Object(o) => {
                let taken = std::mem::take(o);
                for (k, mut c) in taken {
                    walk(&mut c, how);
                    let k = match how {
                        0 => k.to_uppercase(),
                        1 => k.to_lowercase(),
                        _ => {
                            let mut cs = k.chars();
                            match cs.next() {
                                Some(f) if f.is_lowercase() => f.to_uppercase().chain(cs).collect(),
                                Some(f) => f.to_lowercase().chain(cs).collect(),
                                None => k,
                            }
                        }
                    };
                    o.insert(k, c);
                }
            }
            Value::Array(a) => a.iter_mut().for_each(|c| walk(c, how)),
            _ => {}
        }
    }
    walk(v, how);
}

/// The first array found gets [`HUGE`] elements (copies of its first when small, else empty
/// objects); with no array, `value` becomes one.
fn inflate(v: &mut Value) {
    fn first_array(v: &mut Value) -> Option<&mut Vec<Value>> {
        match v {
            Value::Array(a) => Some(a),
            Value::Object(o) => o.values_mut().find_map(first_array),
            _ => None,
        }
    }
    let mut fallback = Value::Array(vec![]);
    let target = match first_array(v) {
        Some(a) => a,
        None => {
            if let Value::Object(o) = v {
                o.insert("value".into(), Value::Array(vec![]));
                match o.get_mut("value") {
                    Some(Value::Array(a)) => a,
                    _ => return,
                }
            } else {
                match &mut fallback {
                    Value::Array(a) => a,
                    _ => return,
                }
            }
        }
    };
    let element = match target.first() {
        Some(e) if e.to_string().len() <= 200 => e.clone(),
        _ => json!({}),
    };
    target.resize(HUGE, element);
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    #[test]
    fn every_way_of_garbling_changes_the_body_and_stays_small_enough() {
        let body = json!({"id": "/subscriptions/s", "properties": {"a": [1, 2], "b": {"c": "d"}}, "value": []}).to_string();
        let mut rng = StdRng::seed_from_u64(1);
        let mut kinds = std::collections::BTreeSet::new();
        for _ in 0..200 {
            let g = garble(&body, &mut rng);
            assert!(g.len() < 100_000, "{}", g.len());
            kinds.insert(match serde_json::from_str::<Value>(&g) {
                Err(_) => "truncated",
                Ok(v)
                    if v.to_string().contains("\"ID\"")
                        || v.get("Id").is_some()
                        || v.to_string().contains("PROPERTIES") =>
                {
                    "recased"
                }
                Ok(v) if v.to_string().len() > 1_000 => "inflated",
                Ok(_) => "retyped or removed",
            });
        }
        assert_eq!(kinds.len(), 4, "{kinds:?}");
    }
}
