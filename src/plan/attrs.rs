//! Attribute-level comparison of two normalized attribute trees.

use super::AttrChange;
use serde_json::{Map, Value};

use crate::model::Ownership;

/// The changes that turn `live` into `desired`, as dotted paths, in a stable order.
pub fn diff(desired: &Value, live: &Value, ownership: Ownership) -> Vec<AttrChange> {
    let mut out = Vec::new();
    walk("", desired, live, ownership, &mut out);
    out
}

fn walk(
    path: &str,
    desired: &Value,
    live: &Value,
    ownership: Ownership,
    out: &mut Vec<AttrChange>,
) {
    match (desired, live) {
        (Value::Object(d), Value::Object(l)) => walk_object(path, d, l, ownership, out),
        _ if same_leaf(path, desired, live) => {}
        _ => out.push(AttrChange {
            path: path.to_string(),
            before: (!live.is_null()).then(|| live.clone()),
            after: (!desired.is_null()).then(|| desired.clone()),
        }),
    }
}

fn walk_object(
    path: &str,
    d: &Map<String, Value>,
    l: &Map<String, Value>,
    ownership: Ownership,
    out: &mut Vec<AttrChange>,
) {
    let join = |k: &str| {
        if path.is_empty() {
            k.to_string()
        } else {
            format!("{path}.{k}")
        }
    };
    // Tag names are case-insensitive in ARM, which keeps the spelling of whoever set the tag
    // first: `Managed-By` live is the file's `managed-by`.
    let tags = path == "tags";
    let live_key = |k: &str| -> Option<&Value> {
        l.get(k).or_else(|| {
            tags.then(|| l.iter().find(|(lk, _)| lk.eq_ignore_ascii_case(k)))
                .flatten()
                .map(|(_, v)| v)
        })
    };
    for (k, dv) in d {
        let lv = live_key(k).unwrap_or(&Value::Null);
        walk(&join(k), dv, lv, ownership, out);
    }
    if ownership == Ownership::Whole {
        for (k, lv) in l {
            let declared =
                d.contains_key(k) || (tags && d.keys().any(|dk| dk.eq_ignore_ascii_case(k)));
            if !declared && !lv.is_null() {
                out.push(AttrChange {
                    path: join(k),
                    before: Some(lv.clone()),
                    after: None,
                });
            }
        }
    }
}

/// Leaves are equal when identical, or when they are ids (`…_id` keys, a role assignment's
/// `scope`) or resource names (`policy`, the name of a backup policy) equal without case: ARM names are case-insensitive and
/// Azure reports the spelling it stored, which need not be the file's.
fn same_leaf(path: &str, a: &Value, b: &Value) -> bool {
    if a == b {
        return true;
    }
    let is_id = path
        .rsplit('.')
        .next()
        .is_some_and(|k| k.ends_with("_id") || k == "policy" || k == "scope");
    match (a, b) {
        (Value::String(x), Value::String(y)) if is_id => x.eq_ignore_ascii_case(y),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn subset_ignores_live_only_keys_and_whole_reports_them() {
        let desired =
            json!({"location": "westeurope", "tags": {"a": "1"}, "soft_delete": {"state": "On"}});
        let live = json!({"location": "westeurope", "tags": {"a": "1", "b": "2"}, "soft_delete": {"state": "On", "retention_days": 14}, "immutability": "Disabled"});
        assert!(diff(&desired, &live, Ownership::Subset).is_empty());
        let d = diff(
            &json!({"policy": "gold"}),
            &json!({"policy": "gold", "exclude_disks": [1]}),
            Ownership::Whole,
        );
        assert_eq!(
            d,
            vec![AttrChange {
                path: "exclude_disks".into(),
                before: Some(json!([1])),
                after: None
            }]
        );
    }

    #[test]
    fn tag_names_and_policy_names_ignore_case() {
        let desired = json!({"location": "westeurope", "tags": {"managed-by": "azprotect"}});
        let live = json!({"location": "westeurope", "tags": {"Managed-By": "azprotect", "x": "1"}});
        assert!(diff(&desired, &live, Ownership::Subset).is_empty());
        let live = json!({"location": "westeurope", "tags": {"Managed-By": "someone"}});
        assert_eq!(diff(&desired, &live, Ownership::Subset).len(), 1);
        assert!(diff(
            &json!({"policy": "gold", "state": "protected"}),
            &json!({"policy": "Gold", "state": "protected"}),
            Ownership::Whole
        )
        .is_empty());
    }

    #[test]
    fn nested_changes_get_dotted_paths_and_ids_ignore_case() {
        let d = diff(
            &json!({"retention": {"daily": "30d"}, "vm_id": "/subscriptions/X/VM"}),
            &json!({"retention": {"daily": "14d"}, "vm_id": "/SUBSCRIPTIONS/x/vm"}),
            Ownership::Whole,
        );
        assert_eq!(
            d,
            vec![AttrChange {
                path: "retention.daily".into(),
                before: Some(json!("14d")),
                after: Some(json!("30d"))
            }]
        );
    }
}
