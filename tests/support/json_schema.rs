//! A small JSON Schema (draft 2020-12) checker for the schemas this repository generates with
//! schemars (`schemas/plan.schema.json`): boolean schemas, local `$ref` (`#/$defs/…`), `type`
//! (one or a list), `enum`, `const`, `anyOf`, `oneOf` (exactly one), `allOf`, `properties`,
//! `required`, `additionalProperties`, `items`, `minimum` and `pattern`. The Azure specs'
//! swagger 2.0 has its own checker (`spec_schema`): its rules (null counts as absent,
//! discriminators, read-only) are not JSON Schema's.

use serde_json::Value;

/// Every problem with `value` as an instance of `schema` (empty = valid), by JSON pointer.
pub fn validate(schema: &Value, value: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    check(schema, schema, value, "", &mut errors);
    errors
}

fn check(root: &Value, s: &Value, v: &Value, at: &str, errors: &mut Vec<String>) {
    let here = || if at.is_empty() { "/" } else { at };
    match s {
        Value::Bool(true) => return,
        Value::Bool(false) => {
            errors.push(format!("{}: nothing is allowed here", here()));
            return;
        }
        Value::Object(_) => {}
        other => panic!("not a schema: {other}"),
    }
    if let Some(r) = s.get("$ref").and_then(Value::as_str) {
        let pointer = r
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("only local $ref: {r}"));
        let target = root
            .pointer(pointer)
            .unwrap_or_else(|| panic!("unresolved $ref {r}"));
        check(root, target, v, at, errors);
    }
    if let Some(types) = s.get("type") {
        let names: Vec<&str> = match types {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        if !names.iter().any(|t| is_type(v, t)) {
            errors.push(format!(
                "{}: expected {}, got {v}",
                here(),
                names.join(" or ")
            ));
            return;
        }
    }
    if let Some(allowed) = s.get("enum").and_then(Value::as_array) {
        if !allowed.contains(v) {
            errors.push(format!(
                "{}: {v} is not one of {}",
                here(),
                Value::Array(allowed.clone())
            ));
        }
    }
    if let Some(c) = s.get("const") {
        if c != v {
            errors.push(format!("{}: {v} is not {c}", here()));
        }
    }
    for all in s
        .get("allOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        check(root, all, v, at, errors);
    }
    let passing = |key: &str| -> Option<(usize, usize)> {
        let branches = s.get(key)?.as_array()?;
        let ok = branches
            .iter()
            .filter(|b| {
                let mut e = Vec::new();
                check(root, b, v, at, &mut e);
                e.is_empty()
            })
            .count();
        Some((ok, branches.len()))
    };
    if let Some((ok, _)) = passing("anyOf") {
        if ok == 0 {
            errors.push(format!("{}: {v} matches none of anyOf", here()));
        }
    }
    if let Some((ok, _)) = passing("oneOf") {
        if ok != 1 {
            errors.push(format!(
                "{}: {v} matches {ok} of oneOf, not exactly one",
                here()
            ));
        }
    }
    if let (Some(min), Some(n)) = (s.get("minimum").and_then(Value::as_f64), v.as_f64()) {
        if n < min {
            errors.push(format!("{}: {n} is below the minimum {min}", here()));
        }
    }
    if let (Some(p), Some(text)) = (s.get("pattern").and_then(Value::as_str), v.as_str()) {
        let re = regex::Regex::new(p).unwrap_or_else(|e| panic!("pattern {p}: {e}"));
        if !re.is_match(text) {
            errors.push(format!("{}: {text:?} does not match {p}", here()));
        }
    }
    match v {
        Value::Object(map) => {
            for req in s
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let req = req.as_str().unwrap_or_default();
                if !map.contains_key(req) {
                    errors.push(format!("{}: required property `{req}` is missing", here()));
                }
            }
            let props = s.get("properties").and_then(Value::as_object);
            for (k, item) in map {
                let path = format!("{at}/{k}");
                match props.and_then(|p| p.get(k)) {
                    Some(prop) => check(root, prop, item, &path, errors),
                    None => {
                        if let Some(extra) = s.get("additionalProperties") {
                            check(root, extra, item, &path, errors);
                        }
                    }
                }
            }
        }
        Value::Array(items) => {
            if let Some(item) = s.get("items") {
                for (i, x) in items.iter().enumerate() {
                    check(root, item, x, &format!("{at}/{i}"), errors);
                }
            }
        }
        _ => {}
    }
}

fn is_type(v: &Value, t: &str) -> bool {
    match t {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "integer" => v.is_i64() || v.is_u64(),
        "number" => v.is_number(),
        "boolean" => v.is_boolean(),
        "null" => v.is_null(),
        other => panic!("unknown type {other}"),
    }
}
