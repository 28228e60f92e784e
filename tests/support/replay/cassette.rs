//! vcrpy cassettes recorded by Microsoft's CLI test suites against live Azure
//! (`../shared/azure-recordings`): interactions, their provider and operation.

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// One recorded request and its response.
#[derive(Debug, Clone)]
pub struct Interaction {
    /// 0-based position in the cassette (FACTS.md's `#n`).
    pub index: usize,
    pub method: String,
    /// Absolute URL as recorded.
    pub uri: String,
    /// Path without host or query, as recorded (percent-encoding kept).
    pub path: String,
    /// The query string (without `?`), as recorded.
    pub query: String,
    pub request_body: Option<Value>,
    pub status: u16,
    /// Lower-cased header names; the first value of each.
    pub headers: BTreeMap<String, String>,
    /// The response body as JSON (`None` when empty or not JSON).
    pub body: Option<Value>,
}

impl Interaction {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }

    /// `Microsoft.RecoveryServices`, … or `ARM` for paths without a provider.
    pub fn provider(&self) -> String {
        provider_of(&self.path)
    }

    /// `METHOD` + the path with names replaced by `{}` (provider namespaces and actions kept).
    pub fn operation(&self) -> String {
        format!("{} {}", self.method, pattern(&self.path))
    }
}

/// A cassette: its file name and interactions.
pub struct Cassette {
    pub name: String,
    pub interactions: Vec<Interaction>,
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Array(a) => a.first().and_then(text),
        _ => None,
    }
}

fn json_body(raw: Option<String>) -> Option<Value> {
    let raw = raw?;
    if raw.trim().is_empty() {
        return None;
    }
    serde_json::from_str(&raw).ok()
}

impl Cassette {
    pub fn load(path: &Path) -> Cassette {
        let raw =
            std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let doc: Value = serde_saphyr::from_str(&raw)
            .unwrap_or_else(|e| panic!("{}: not a cassette: {e}", path.display()));
        let interactions = doc["interactions"]
            .as_array()
            .unwrap_or_else(|| panic!("{}: no interactions", path.display()))
            .iter()
            .enumerate()
            .map(|(index, it)| {
                let req = &it["request"];
                let rsp = &it["response"];
                let uri = req["uri"].as_str().unwrap_or_default().to_string();
                let no_host = uri
                    .splitn(4, '/')
                    .nth(3)
                    .map(|p| format!("/{p}"))
                    .unwrap_or_default();
                let (path, query) = match no_host.split_once('?') {
                    Some((p, q)) => (p.to_string(), q.to_string()),
                    None => (no_host.clone(), String::new()),
                };
                let headers = rsp["headers"]
                    .as_object()
                    .map(|h| {
                        h.iter()
                            .filter_map(|(k, v)| Some((k.to_ascii_lowercase(), text(v)?)))
                            .collect()
                    })
                    .unwrap_or_default();
                Interaction {
                    index,
                    method: req["method"].as_str().unwrap_or_default().to_string(),
                    uri,
                    path,
                    query,
                    request_body: json_body(text(&req["body"])),
                    status: rsp["status"]["code"].as_u64().unwrap_or_default() as u16,
                    headers,
                    body: json_body(text(&rsp["body"]["string"])),
                }
            })
            .collect();
        Cassette {
            name: path.file_name().unwrap().to_string_lossy().into_owned(),
            interactions,
        }
    }

    /// Every cassette under `root` (`azure-cli/…`, `azure-cli-extensions/…`), sorted.
    pub fn all(root: &Path) -> Vec<Cassette> {
        let mut files: Vec<_> = ["azure-cli", "azure-cli-extensions"]
            .iter()
            .flat_map(|d| std::fs::read_dir(root.join(d)).into_iter().flatten())
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
            .collect();
        files.sort();
        files.iter().map(|p| Cassette::load(p)).collect()
    }
}

pub fn provider_of(path: &str) -> String {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    segs.iter()
        .rposition(|s| s.eq_ignore_ascii_case("providers"))
        .and_then(|i| segs.get(i + 1))
        .map(|s| {
            // Canonical casing of the namespace, whatever the recording wrote.
            let lower = s.to_ascii_lowercase();
            [
                "Microsoft.RecoveryServices",
                "Microsoft.DataProtection",
                "Microsoft.Compute",
                "Microsoft.Authorization",
                "Microsoft.Resources",
                "Microsoft.Network",
                "Microsoft.Storage",
            ]
            .iter()
            .find(|n| n.to_ascii_lowercase() == lower)
            .map_or_else(|| s.to_string(), |n| n.to_string())
        })
        .unwrap_or_else(|| "ARM".into())
}

/// Names become `{}` and keys lower case: ARM paths alternate `key/name`; a trailing odd segment
/// is an action.
pub fn pattern(path: &str) -> String {
    let segs: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| s.replace("%3B", ";").replace("%3b", ";"))
        .collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < segs.len() {
        let key = &segs[i];
        if key.eq_ignore_ascii_case("providers") && i + 1 < segs.len() {
            out.push("providers".to_string());
            out.push(provider_of(&format!("/providers/{}", segs[i + 1])));
            i += 2;
            continue;
        }
        out.push(key.to_ascii_lowercase());
        if i + 1 < segs.len() {
            out.push("{}".into());
        }
        i += 2;
    }
    format!("/{}", out.join("/"))
}
