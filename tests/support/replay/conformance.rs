//! The sandbox answering Microsoft's recorded requests: each cassette is replayed in order
//! against a fresh sandbox seeded with the cassette's VMs, disks, networks and storage accounts;
//! a poll of a URL Azure returned polls the URL the sandbox returned instead. The answer is
//! compared with the recording: the status code, which of `Azure-AsyncOperation` / `Location` /
//! `Retry-After` are present, the casing of string values at the same property paths, and the
//! recorded body's property paths (values aside) being present in the sandbox's body.

use super::cassette::{Cassette, Interaction};
use azprotect::sandbox::{Sandbox, SandboxOptions};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// The providers the sandbox serves, and what of them.
pub fn served(i: &Interaction) -> bool {
    let p = i.operation().to_ascii_lowercase();
    match i.provider().as_str() {
        "Microsoft.RecoveryServices" | "Microsoft.DataProtection" => true,
        "Microsoft.Compute" => [
            "/disks/",
            "/snapshots/",
            "/virtualmachines/",
            "/diskoperations/",
        ]
        .iter()
        .any(|s| p.contains(s) || p.ends_with(s.trim_end_matches('/'))),
        "Microsoft.Authorization" => p.contains("/roleassignments"),
        "ARM" => p.contains("/resourcegroups/{}") && !p.contains("deployments"),
        _ => false,
    }
}

/// One compared (or skipped) recorded interaction.
#[derive(Debug, Clone)]
pub struct Verdict {
    pub provider: String,
    pub operation: String,
    pub cassette: String,
    pub index: usize,
    /// `None`: covered and conforming; `Some(first difference)` otherwise.
    pub difference: Option<String>,
    /// Replayed (false: a poll of an operation the sandbox did not start, or not served).
    pub covered: bool,
}

/// `KEY` → presence of the LRO headers the comparison looks at.
const LRO_HEADERS: [&str; 3] = ["azure-asyncoperation", "location", "retry-after"];

fn inventory(c: &Cassette) -> String {
    let mut subs: BTreeMap<String, BTreeMap<String, BTreeMap<&str, Vec<String>>>> = BTreeMap::new();
    let mut locations: BTreeMap<(String, String), String> = BTreeMap::new();
    for i in &c.interactions {
        let segs: Vec<&str> = i.path.split('/').filter(|s| !s.is_empty()).collect();
        let low: Vec<String> = segs.iter().map(|s| s.to_ascii_lowercase()).collect();
        if low.first().map(String::as_str) != Some("subscriptions") || segs.len() < 2 {
            continue;
        }
        let sub = segs[1].to_string();
        subs.entry(sub.clone()).or_default();
        if low.get(2).map(String::as_str) != Some("resourcegroups") || segs.len() < 4 {
            continue;
        }
        let rg = segs[3].to_string();
        let entry = subs.get_mut(&sub).unwrap().entry(rg.clone()).or_default();
        let Some(body) = i
            .body
            .as_ref()
            .filter(|_| i.method == "GET" && i.status == 200)
        else {
            continue;
        };
        if let Some(loc) = body["location"].as_str() {
            locations
                .entry((sub.clone(), rg.clone()))
                .or_insert_with(|| loc.to_ascii_lowercase().replace(' ', ""));
        }
        let kind = low.get(6).map(String::as_str).unwrap_or_default();
        let name = segs.get(7).copied().unwrap_or_default();
        if segs.len() != 8 || !low[4].eq("providers") {
            continue;
        }
        let p = &body["properties"];
        let line = match kind {
            "virtualmachines" => {
                let os = p["storageProfile"]["osDisk"]["osType"]
                    .as_str()
                    .unwrap_or("Linux")
                    .to_ascii_lowercase();
                let data: Vec<String> = p["storageProfile"]["dataDisks"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|d| d["diskSizeGB"].as_u64().unwrap_or(32).to_string())
                    .collect();
                let size = p["hardwareProfile"]["vmSize"]
                    .as_str()
                    .unwrap_or("Standard_D2s_v5");
                format!(
                    "{name}: {{size: {size}, os: {os}, data_disks: [{}]}}",
                    data.join(", ")
                )
            }
            "disks" if !p["osType"].is_string() => format!(
                "{name}: {{size_gb: {}, sku: {}}}",
                p["diskSizeGB"].as_u64().unwrap_or(32),
                body["sku"]["name"].as_str().unwrap_or("Standard_LRS")
            ),
            "virtualnetworks" => {
                let space = p["addressSpace"]["addressPrefixes"][0]
                    .as_str()
                    .unwrap_or("10.0.0.0/16");
                let subnets: Vec<&str> = p["subnets"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|s| s["name"].as_str())
                    .collect();
                format!(
                    "{name}: {{address_space: {space}, subnets: [{}]}}",
                    subnets.join(", ")
                )
            }
            "storageaccounts" => name.to_string(),
            _ => continue,
        };
        let key = match kind {
            "virtualmachines" => "vms",
            "disks" => "disks",
            "virtualnetworks" => "vnets",
            _ => "storage_accounts",
        };
        let list = entry.entry(key).or_default();
        if !list.contains(&line) {
            list.push(line);
        }
    }
    let mut y = String::from("subscriptions:\n");
    for (sub, rgs) in &subs {
        y.push_str(&format!("  {sub}:\n    resource_groups:\n"));
        if rgs.is_empty() {
            y.truncate(y.len() - "    resource_groups:\n".len());
            y.push_str("    resource_groups: {}\n");
            continue;
        }
        for (rg, kinds) in rgs {
            let loc = locations
                .get(&(sub.clone(), rg.clone()))
                .cloned()
                .unwrap_or_else(|| "westeurope".into());
            y.push_str(&format!("      {rg}:\n        location: {loc}\n"));
            for (k, lines) in kinds {
                if *k == "storage_accounts" {
                    y.push_str(&format!(
                        "        storage_accounts: [{}]\n",
                        lines.join(", ")
                    ));
                } else {
                    y.push_str(&format!("        {k}:\n"));
                    for l in lines {
                        y.push_str(&format!("          {l}\n"));
                    }
                }
            }
        }
    }
    y
}

/// Visit every property of a JSON value with its path (`a.b[].c`), objects and leaves alike.
fn walk(v: &Value, prefix: &str, visit: &mut dyn FnMut(&str, &Value)) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let p = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                visit(&p, x);
                walk(x, &p, visit);
            }
        }
        Value::Array(a) => {
            for x in a {
                walk(x, &format!("{prefix}[]"), visit);
            }
        }
        _ => {}
    }
}

/// Property paths of a JSON value.
pub fn paths(v: &Value, prefix: &str, out: &mut BTreeSet<String>) {
    walk(v, prefix, &mut |p, _| {
        out.insert(p.to_string());
    });
}

/// String values by path (first one wins), for the casing comparison.
fn strings(v: &Value, prefix: &str, out: &mut BTreeMap<String, String>) {
    walk(v, prefix, &mut |p, x| {
        if let Some(s) = x.as_str() {
            out.entry(p.to_string()).or_insert_with(|| s.to_string());
        }
    });
}

/// The first way the sandbox's answer differs from the recorded one.
pub fn compare(
    rec: &Interaction,
    status: u16,
    headers: &BTreeMap<String, String>,
    body: Option<&Value>,
) -> Option<String> {
    if rec.status != status {
        let why = body
            .and_then(|b| {
                b["error"]["code"].as_str().map(|c| {
                    format!(
                        " {c}: {}",
                        b["error"]["message"].as_str().unwrap_or_default()
                    )
                })
            })
            .unwrap_or_default();
        let why: String = why.chars().take(160).collect();
        return Some(format!("status {status}, Azure {}{why}", rec.status));
    }
    for h in LRO_HEADERS {
        let (a, b) = (rec.headers.contains_key(h), headers.contains_key(h));
        if a != b {
            return Some(format!(
                "{h} {}, Azure {}",
                if b { "sent" } else { "absent" },
                if a { "sends it" } else { "does not" }
            ));
        }
    }
    let (Some(rb), Some(sb)) = (rec.body.as_ref(), body) else {
        return match (rec.body.is_some(), body.is_some()) {
            (true, false) => Some("no body, Azure has one".into()),
            (false, true) if rec.status != 200 => Some("a body, Azure has none".into()),
            _ => None,
        };
    };
    let (mut rs, mut ss) = (BTreeMap::new(), BTreeMap::new());
    strings(rb, "", &mut rs);
    strings(sb, "", &mut ss);
    for (p, v) in &rs {
        if let Some(w) = ss.get(p) {
            if v != w && v.eq_ignore_ascii_case(w) && !v.contains('/') {
                return Some(format!("{p} is {w:?}, Azure {v:?}"));
            }
        }
    }
    let (mut rp, mut sp) = (BTreeSet::new(), BTreeSet::new());
    paths(rb, "", &mut rp);
    paths(sb, "", &mut sp);
    let missing: Vec<&String> = rp.iter().filter(|p| !sp.contains(*p)).collect();
    if !missing.is_empty() {
        let shown: Vec<&str> = missing.iter().take(3).map(|s| s.as_str()).collect();
        return Some(format!(
            "body lacks {}{}",
            shown.join(", "),
            if missing.len() > 3 {
                format!(" (+{} more)", missing.len() - 3)
            } else {
                String::new()
            }
        ));
    }
    None
}

/// Where a recorded URL came from: the interaction and header that named it.
fn poll_origin(c: &Cassette, upto: usize, path: &str) -> Option<(usize, &'static str)> {
    let lower = path.to_ascii_lowercase();
    c.interactions[..upto].iter().rev().find_map(|p| {
        ["azure-asyncoperation", "location"]
            .into_iter()
            .find_map(|h| {
                let url = p.header(h)?;
                let no_host = url
                    .splitn(4, '/')
                    .nth(3)
                    .map(|s| format!("/{s}"))
                    .unwrap_or_default();
                let hp = no_host
                    .split('?')
                    .next()
                    .unwrap_or_default()
                    .to_ascii_lowercase();
                (hp == lower).then_some((p.index, h))
            })
    })
}

fn in_progress(status: u16, body: Option<&Value>) -> bool {
    status == 202
        || body.and_then(|b| b["status"].as_str()).is_some_and(|s| {
            matches!(
                s.to_ascii_lowercase().as_str(),
                "inprogress" | "running" | "notstarted" | "accepted"
            )
        })
}

/// Vaults the cassette uses without creating them first (a test preparer made them, unrecorded):
/// `(vault path, PUT body)` to create in the sandbox before the replay.
fn preexisting_vaults(c: &Cassette) -> Vec<(String, Value)> {
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut out = Vec::new();
    for i in &c.interactions {
        let segs: Vec<&str> = i.path.split('/').filter(|s| !s.is_empty()).collect();
        if segs.len() < 8 || !segs[4].eq_ignore_ascii_case("providers") {
            continue;
        }
        let kind = segs[6].to_ascii_lowercase();
        let dp = segs[5].eq_ignore_ascii_case("Microsoft.DataProtection") && kind == "backupvaults";
        let rs = segs[5].eq_ignore_ascii_case("Microsoft.RecoveryServices") && kind == "vaults";
        if !(dp || rs) {
            continue;
        }
        let vault = format!("/{}", segs[..8].join("/"));
        if !seen.insert(vault.to_ascii_lowercase()) {
            continue;
        }
        let creates = segs.len() == 8 && i.method == "PUT";
        let absent = segs.len() == 8 && i.method == "GET" && i.status == 404;
        if creates || absent {
            continue;
        }
        let location = c
            .interactions
            .iter()
            .filter(|x| x.path.eq_ignore_ascii_case(&vault))
            .find_map(|x| x.body.as_ref()?["location"].as_str().map(str::to_string))
            .unwrap_or_else(|| "westeurope".into());
        let body = if dp {
            serde_json::json!({"location": location, "identity": {"type": "SystemAssigned"},
                "properties": {"storageSettings": [{"datastoreType": "VaultStore", "type": "LocallyRedundant"}]}})
        } else {
            serde_json::json!({"location": location, "sku": {"name": "Standard"}, "properties": {}})
        };
        let api = if dp { "2025-07-01" } else { "2026-02-01" };
        out.push((format!("{vault}?api-version={api}"), body));
    }
    out
}

/// Replay one cassette; one verdict per served interaction.
pub async fn replay(c: &Cassette) -> Vec<Verdict> {
    let dir = tempfile::tempdir().unwrap();
    let inv = dir.path().join("inventory.yaml");
    std::fs::write(&inv, inventory(c)).unwrap();
    let sb = Sandbox::start(SandboxOptions {
        inventory: Some(inv),
        time_scale: 0.0,
        ..SandboxOptions::default()
    })
    .await
    .unwrap_or_else(|e| {
        panic!(
            "{}: sandbox for its inventory: {e}\n{}",
            c.name,
            inventory(c)
        )
    });
    let (http, token) = crate::support::raw::token_client(&sb).await;
    for (path, body) in preexisting_vaults(c) {
        let r = http
            .put(format!("{}{path}", sb.endpoint()))
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(
            r.status().is_success(),
            "{}: precondition {path}: {}",
            c.name,
            r.status()
        );
    }
    // The headers the sandbox answered, by recorded interaction.
    let mut answered: BTreeMap<usize, BTreeMap<String, String>> = BTreeMap::new();
    let mut out = Vec::new();
    let n = c.interactions.len();
    for (k, i) in c.interactions.iter().enumerate() {
        if !served(i) {
            continue;
        }
        let mut v = Verdict {
            provider: i.provider(),
            operation: i.operation(),
            cassette: c.name.clone(),
            index: i.index,
            difference: None,
            covered: true,
        };
        let origin = (i.method == "GET")
            .then(|| poll_origin(c, k, &i.path))
            .flatten();
        let url = match origin {
            Some((from, h)) => match answered.get(&from).and_then(|a| a.get(h)) {
                Some(u) => u.clone(),
                None => {
                    v.covered = false;
                    v.difference = Some(format!(
                        "polls a URL the sandbox did not return ({h} of #{from})"
                    ));
                    out.push(v);
                    continue;
                }
            },
            None => format!(
                "{}{}{}",
                sb.endpoint(),
                i.path,
                if i.query.is_empty() {
                    String::new()
                } else {
                    format!("?{}", i.query)
                }
            ),
        };
        // An intermediate poll (the recording polls the same URL again next) is not compared:
        // the sandbox's clock runs at time scale 0, so its operations are already over.
        if origin.is_some()
            && c.interactions[k + 1..n.min(k + 4)]
                .iter()
                .any(|x| x.method == "GET" && x.path.eq_ignore_ascii_case(&i.path))
            && in_progress(i.status, i.body.as_ref())
        {
            continue;
        }
        let method = reqwest::Method::from_bytes(i.method.as_bytes()).unwrap();
        let mut req = http.request(method, &url).bearer_auth(&token);
        if let Some(b) = &i.request_body {
            req = req.json(b);
        } else if matches!(i.method.as_str(), "POST" | "PUT" | "PATCH") {
            req = req.header("Content-Length", "0");
        }
        let rsp = match req.send().await {
            Ok(r) => r,
            Err(e) => {
                v.difference = Some(format!("no answer: {e}"));
                out.push(v);
                continue;
            }
        };
        let status = rsp.status().as_u16();
        let headers: BTreeMap<String, String> = rsp
            .headers()
            .iter()
            .filter_map(|(k, x)| {
                Some((
                    k.as_str().to_ascii_lowercase(),
                    x.to_str().ok()?.to_string(),
                ))
            })
            .collect();
        let body: Option<Value> = rsp
            .bytes()
            .await
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok());
        v.difference = compare(i, status, &headers, body.as_ref());
        answered.insert(i.index, headers);
        out.push(v);
    }
    out
}
