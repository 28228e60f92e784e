//! A small swagger-2.0 schema checker for request bodies, enough for the Azure REST specs:
//! `$ref` across files (relative paths, incl. common-types), `allOf` inheritance, polymorphic
//! `discriminator` / `x-ms-discriminator-value` (searched transitively in the base's file),
//! `type`, `format: date-time`, `enum`, `required`, `readOnly` (an error in a request), array
//! `items`, and unknown properties (an error unless `additionalProperties` allows them).
//! `null` counts as absent, as ARM treats it.

use serde_json::Value;
use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// A schema and where it lives (for resolving its relative `$ref`s).
#[derive(Debug, Clone)]
pub struct Node {
    pub file: PathBuf,
    /// The definition name when the schema is `#/definitions/{name}`.
    pub name: Option<String>,
    pub schema: Value,
}

/// Loaded spec files, by canonical path.
pub struct Specs {
    root: PathBuf,
    files: RefCell<HashMap<PathBuf, Rc<Value>>>,
}

impl Specs {
    pub fn new(root: &Path) -> Specs {
        Specs {
            root: root.to_path_buf(),
            files: RefCell::new(HashMap::new()),
        }
    }

    fn doc(&self, file: &Path) -> Rc<Value> {
        let key = normalize_path(file);
        if let Some(v) = self.files.borrow().get(&key) {
            return Rc::clone(v);
        }
        let text = std::fs::read_to_string(&key)
            .or_else(|e| {
                old_layout(&key)
                    .map(std::fs::read_to_string)
                    .unwrap_or(Err(e))
            })
            .unwrap_or_else(|e| panic!("{}: {e}", key.display()));
        let v: Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", key.display()));
        let v = Rc::new(v);
        self.files.borrow_mut().insert(key, Rc::clone(&v));
        v
    }

    /// The body parameter schema of the operation `method` on the path template matching
    /// `request_path` (query string ignored; `{param}` segments match any segment).
    /// `Ok(None)`: the operation exists and takes no body. `Err`: no such operation.
    pub fn body_schema(
        &self,
        spec: &str,
        method: &str,
        request_path: &str,
    ) -> Result<Option<Node>, String> {
        let file = self.root.join(spec);
        let doc = self.doc(&file);
        let path = request_path.split('?').next().unwrap_or_default();
        let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let paths = doc["paths"].as_object().ok_or("spec has no paths")?;
        let (_, item) = paths
            .iter()
            .find(|(tmpl, _)| {
                let t: Vec<&str> = tmpl.split('/').filter(|s| !s.is_empty()).collect();
                template_matches(&t, &segs)
            })
            .ok_or_else(|| format!("no path in {spec} matches {path}"))?;
        let op = item
            .get(method.to_ascii_lowercase())
            .ok_or_else(|| format!("{path} has no {method} operation"))?;
        for p in op["parameters"].as_array().into_iter().flatten() {
            let p = if p.get("$ref").is_some() {
                self.resolve(&file, p).schema
            } else {
                p.clone()
            };
            if p["in"] == "body" {
                return Ok(Some(Node {
                    file: file.clone(),
                    name: None,
                    schema: p["schema"].clone(),
                }));
            }
        }
        Ok(None)
    }

    /// Follows `$ref` chains to the schema they point at.
    pub fn resolve(&self, file: &Path, schema: &Value) -> Node {
        let mut node = Node {
            file: file.to_path_buf(),
            name: None,
            schema: schema.clone(),
        };
        while let Some(r) = node.schema.get("$ref").and_then(Value::as_str) {
            let (rel, pointer) = r.split_once('#').unwrap_or((r, ""));
            let target = if rel.is_empty() {
                node.file.clone()
            } else {
                normalize_path(&node.file.parent().unwrap_or(Path::new("")).join(rel))
            };
            let doc = self.doc(&target);
            let schema = doc.pointer(pointer).cloned().unwrap_or_else(|| {
                // Some specs refer to definitions in another case (`systemData` / `SystemData`).
                let name = pointer.rsplit('/').next().unwrap_or_default();
                doc["definitions"]
                    .as_object()
                    .and_then(|d| d.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)))
                    .map(|(_, v)| v.clone())
                    .unwrap_or_else(|| panic!("unresolved $ref {r} from {}", node.file.display()))
            });
            let name = pointer.strip_prefix("/definitions/").map(str::to_string);
            node = Node {
                file: target,
                name,
                schema,
            };
        }
        node
    }

    /// Every problem with `value` as an instance of `node` (empty = valid).
    pub fn check(&self, value: &Value, node: &Node) -> Vec<String> {
        let mut errors = Vec::new();
        self.check_at("$", value, node, &mut errors);
        errors
    }

    fn check_at(&self, at: &str, value: &Value, node: &Node, errors: &mut Vec<String>) {
        let node = self.resolve(&node.file, &node.schema);
        if value.is_null() {
            return;
        }
        let node = self.dispatch(at, value, node, errors);
        let s = &node.schema;
        if let Some(allowed) = s.get("enum").and_then(Value::as_array) {
            if !allowed.contains(value) {
                errors.push(format!(
                    "{at}: {value} is not one of {}",
                    Value::Array(allowed.clone())
                ));
            }
        }
        let ty = s.get("type").and_then(Value::as_str).or_else(|| {
            (s.get("properties").is_some() || s.get("allOf").is_some()).then_some("object")
        });
        let ok = match ty {
            Some("object") => value.is_object(),
            Some("array") => value.is_array(),
            Some("string") => value.is_string(),
            Some("integer") => value.is_i64() || value.is_u64(),
            Some("number") => value.is_number(),
            Some("boolean") => value.is_boolean(),
            _ => true,
        };
        if !ok {
            errors.push(format!("{at}: expected {}, got {value}", ty.unwrap_or("?")));
            return;
        }
        if s.get("format").and_then(Value::as_str) == Some("date-time") {
            let text = value.as_str().unwrap_or_default();
            if time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
                .is_err()
            {
                errors.push(format!("{at}: {value} is not an RFC 3339 date-time"));
            }
        }
        match value {
            Value::Array(items) => {
                if let Some(item) = s.get("items") {
                    let item = Node {
                        file: node.file.clone(),
                        name: None,
                        schema: item.clone(),
                    };
                    for (i, v) in items.iter().enumerate() {
                        self.check_at(&format!("{at}[{i}]"), v, &item, errors);
                    }
                }
            }
            Value::Object(map) => {
                let shape = self.object_shape(&node);
                for req in &shape.required {
                    if map.get(req).is_none_or(Value::is_null) {
                        errors.push(format!("{at}: required property `{req}` is missing"));
                    }
                }
                for (k, v) in map {
                    let path = format!("{at}.{k}");
                    match shape.properties.get(k) {
                        Some(prop) => {
                            let resolved = self.resolve(&prop.file, &prop.schema);
                            let read_only = prop.schema.get("readOnly") == Some(&Value::Bool(true))
                                || resolved.schema.get("readOnly") == Some(&Value::Bool(true));
                            if read_only && !v.is_null() {
                                errors
                                    .push(format!("{path}: read-only property sent in a request"));
                            }
                            self.check_at(&path, v, prop, errors);
                        }
                        None => match &shape.additional {
                            Some(extra) if extra.schema.is_object() => {
                                self.check_at(&path, v, extra, errors)
                            }
                            Some(_) => {}
                            None => errors.push(format!("{path}: unknown property")),
                        },
                    }
                }
            }
            _ => {}
        }
    }

    /// For a polymorphic base, the subtype named by the value's discriminator property.
    fn dispatch(&self, at: &str, value: &Value, node: Node, errors: &mut Vec<String>) -> Node {
        let Some((disc, base_file, base_name)) = self.discriminator(&node) else {
            return node;
        };
        let Some(tag) = value.get(&disc).and_then(Value::as_str) else {
            return node;
        };
        let doc = self.doc(&base_file);
        let Some(defs) = doc["definitions"].as_object() else {
            return node;
        };
        for (name, def) in defs {
            let value_of = def
                .get("x-ms-discriminator-value")
                .and_then(Value::as_str)
                .unwrap_or(name.as_str());
            if value_of == tag
                && name != &base_name
                && self.inherits(&base_file, def, &base_name, 0)
            {
                return Node {
                    file: base_file,
                    name: Some(name.clone()),
                    schema: def.clone(),
                };
            }
        }
        if tag != base_name {
            errors.push(format!(
                "{at}.{disc}: no subtype of {base_name} has discriminator value {tag:?}"
            ));
        }
        node
    }

    /// The discriminator property of `node` or of an `allOf` ancestor, with the defining file and name.
    fn discriminator(&self, node: &Node) -> Option<(String, PathBuf, String)> {
        if let (Some(d), Some(name)) = (
            node.schema.get("discriminator").and_then(Value::as_str),
            &node.name,
        ) {
            return Some((d.to_string(), node.file.clone(), name.clone()));
        }
        for parent in node
            .schema
            .get("allOf")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let p = self.resolve(&node.file, parent);
            if let Some(found) = self.discriminator(&p) {
                return Some(found);
            }
        }
        None
    }

    fn inherits(&self, file: &Path, def: &Value, base: &str, depth: usize) -> bool {
        if depth > 16 {
            return false;
        }
        def.get("allOf")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .any(|parent| {
                let p = self.resolve(file, parent);
                p.name.as_deref() == Some(base)
                    || self.inherits(&p.file, &p.schema, base, depth + 1)
            })
    }

    /// Properties, required names and `additionalProperties` of an object schema and its `allOf` ancestors.
    fn object_shape(&self, node: &Node) -> Shape {
        let mut shape = Shape::default();
        self.collect(node, &mut shape, 0);
        shape
    }

    fn collect(&self, node: &Node, shape: &mut Shape, depth: usize) {
        if depth > 16 {
            return;
        }
        let node = self.resolve(&node.file, &node.schema);
        for parent in node
            .schema
            .get("allOf")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let p = Node {
                file: node.file.clone(),
                name: None,
                schema: parent.clone(),
            };
            self.collect(&p, shape, depth + 1);
        }
        if let Some(props) = node.schema.get("properties").and_then(Value::as_object) {
            for (k, v) in props {
                shape.properties.insert(
                    k.clone(),
                    Node {
                        file: node.file.clone(),
                        name: None,
                        schema: v.clone(),
                    },
                );
            }
        }
        for r in node
            .schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(r) = r.as_str() {
                if !shape.required.iter().any(|x| x == r) {
                    shape.required.push(r.to_string());
                }
            }
        }
        match node.schema.get("additionalProperties") {
            Some(Value::Bool(true)) => {
                shape.additional = Some(Node {
                    file: node.file.clone(),
                    name: None,
                    schema: Value::Bool(true),
                })
            }
            Some(v @ Value::Object(_)) => {
                shape.additional = Some(Node {
                    file: node.file.clone(),
                    name: None,
                    schema: v.clone(),
                })
            }
            _ => {}
        }
    }
}

#[derive(Default)]
struct Shape {
    properties: HashMap<String, Node>,
    required: Vec<String>,
    additional: Option<Node>,
}

/// `a/b/../c` → `a/c` (without touching the file system).
fn normalize_path(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// Paths of every `null` in a body (bodies we build never send nulls).
pub fn nulls(v: &Value, at: &str) -> Vec<String> {
    match v {
        Value::Null => vec![at.to_string()],
        Value::Array(a) => a
            .iter()
            .enumerate()
            .flat_map(|(i, x)| nulls(x, &format!("{at}[{i}]")))
            .collect(),
        Value::Object(m) => m
            .iter()
            .flat_map(|(k, x)| nulls(x, &format!("{at}.{k}")))
            .collect(),
        _ => vec![],
    }
}

/// Does a path template match the request's segments? A leading `{scope}` parameter (ARM's
/// extension resources, e.g. role assignments) stands for any number of segments.
fn template_matches(t: &[&str], segs: &[&str]) -> bool {
    let param = |t: &str| t.starts_with('{') && t.ends_with('}');
    if t.first().is_some_and(|f| f.eq_ignore_ascii_case("{scope}")) {
        let rest = &t[1..];
        return segs.len() > rest.len() && template_matches(rest, &segs[segs.len() - rest.len()..]);
    }
    t.len() == segs.len()
        && t.iter()
            .zip(segs)
            .all(|(t, s)| param(t) || t.eq_ignore_ascii_case(s))
}

/// The same file in the specs' older folder layout: `…/Microsoft.X/Service/stable/…` was
/// `…/Microsoft.X/stable/…` (some shared files were only copied from the old layout).
fn old_layout(path: &Path) -> Option<PathBuf> {
    let parts: Vec<&str> = path.iter().filter_map(|p| p.to_str()).collect();
    let i = parts.iter().position(|p| *p == "stable")?;
    if i < 2 || !parts[i - 2].starts_with("Microsoft.") {
        return None;
    }
    let mut out = PathBuf::new();
    for (n, p) in parts.iter().enumerate() {
        if n != i - 1 {
            out.push(p);
        }
    }
    Some(out)
}
