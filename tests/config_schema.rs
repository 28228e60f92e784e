//! `schemas/azprotect.schema.json` is exactly what `azprotect schema` prints.
//!
//! When the file format changes, regenerate it with
//! `AZPROTECT_UPDATE_SCHEMA=1 cargo test --test config_schema`.

use azprotect::config;
use serde_json::Value;

const PATH: &str = "schemas/azprotect.schema.json";

#[test]
fn the_committed_schema_is_up_to_date() {
    let fresh = config::json_schema_text();
    if std::env::var_os("AZPROTECT_UPDATE_SCHEMA").is_some() {
        std::fs::write(PATH, &fresh).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(PATH).unwrap_or_default();
    assert!(
        committed == fresh,
        "{PATH} is stale: regenerate it with `AZPROTECT_UPDATE_SCHEMA=1 cargo test --test config_schema` and commit it"
    );
}

#[test]
fn the_schema_rejects_unknown_fields_and_lists_enum_values() {
    let s = config::json_schema();
    assert_eq!(s["additionalProperties"], Value::Bool(false));
    assert_eq!(s["required"], serde_json::json!(["version"]));
    let text = s.to_string();
    for needle in [
        "GeoRedundant",
        "AlwaysOn",
        "crash_only",
        "retain_data",
        "backup_policies",
        "exclude_disks",
    ] {
        assert!(text.contains(needle), "schema lacks {needle}");
    }
    // Every object type in the schema is closed, as the loader is.
    let defs = s["$defs"].as_object().expect("$defs");
    for (name, def) in defs {
        if def.get("properties").is_some() {
            assert_eq!(
                def["additionalProperties"],
                Value::Bool(false),
                "{name} is open"
            );
        }
    }
}
