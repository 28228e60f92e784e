//! The sandbox answering Microsoft's recorded requests: each cassette is replayed in order
//! against a fresh sandbox seeded with what the cassette's preparer made ([`super::preconditions`]);
//! a poll of a URL Azure returned polls the URL the sandbox returned instead. The answer is
//! compared with the recording: the status code, which of `Azure-AsyncOperation` / `Location` /
//! `Retry-After` are present, the casing of string values at the same property paths, and the
//! recorded body's property paths (values aside) being present in the sandbox's body.

use super::cassette::{Cassette, Interaction};
use super::preconditions::{
    inventory, preexisting_backup_items, preexisting_discovery, preexisting_disk_policies,
    preexisting_vaults,
};
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
        let all = std::env::var_os("AZPROTECT_REPLAY_TRACE").is_some();
        let shown: Vec<&str> = missing
            .iter()
            .take(if all { usize::MAX } else { 3 })
            .map(|s| s.as_str())
            .collect();
        return Some(format!(
            "body lacks {}{}",
            shown.join(", "),
            if missing.len() > shown.len() {
                format!(" (+{} more)", missing.len() - shown.len())
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

/// The job an operation's status or result names (`properties.jobId` / `jobId`: a full id or a
/// bare name), by its name.
fn job_name(body: &Value) -> Option<String> {
    let id = body["properties"]["jobId"]
        .as_str()
        .or_else(|| body["jobId"].as_str())?;
    id.rsplit('/')
        .next()
        .filter(|n| !n.is_empty())
        .map(str::to_string)
}

/// `path` with the job named after `backupJobs/` (any case) replaced by the sandbox's job of
/// the same recorded name, if it has one.
fn with_our_job(path: &str, jobs: &BTreeMap<String, String>) -> String {
    let segs: Vec<&str> = path.split('/').collect();
    segs.iter()
        .enumerate()
        .map(|(k, seg)| {
            let after_jobs = k > 0 && segs[k - 1].eq_ignore_ascii_case("backupJobs");
            match jobs.get(&seg.to_ascii_lowercase()) {
                Some(ours) if after_jobs => ours.as_str(),
                _ => seg,
            }
        })
        .collect::<Vec<_>>()
        .join("/")
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

/// Replay one cassette; one verdict per served interaction.
pub async fn replay(c: &Cassette) -> Vec<Verdict> {
    let dir = tempfile::tempdir().unwrap();
    let inv = dir.path().join("inventory.yaml");
    std::fs::write(&inv, inventory(c)).unwrap();
    if std::env::var_os("AZPROTECT_REPLAY_SHOW_INVENTORY").is_some() {
        eprintln!("{}:\n{}", c.name, inventory(c));
    }
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
    let made = preexisting_vaults(c)
        .into_iter()
        .chain(preexisting_disk_policies(c))
        .chain(preexisting_backup_items(c));
    let make = |method: reqwest::Method, path: String, body: Option<Value>| {
        let req = http
            .request(method, format!("{}{path}", sb.endpoint()))
            .bearer_auth(&token);
        let req = match body {
            Some(b) => req.json(&b),
            None => req.header("Content-Length", "0"),
        };
        async move {
            let r = req.send().await.unwrap();
            assert!(
                r.status().is_success(),
                "{}: precondition {path}: {}",
                c.name,
                r.status()
            );
            r.json::<Value>().await.unwrap_or_default()
        }
    };
    for (path, body) in made {
        let made = make(reqwest::Method::PUT, path.clone(), Some(body)).await;
        // A preparer-made Backup vault's identity already holds its roles (the recordings'
        // first backup-instance calls succeed): Contributor on the subscription covers them.
        if let Some(principal) = made["identity"]["principalId"].as_str() {
            let sub = path.split('/').nth(2).unwrap_or_default();
            let ra = format!(
                "/subscriptions/{sub}/providers/Microsoft.Authorization/roleAssignments/{}?api-version=2022-04-01",
                uuid::Uuid::new_v4()
            );
            let body = serde_json::json!({"properties": {
                // Azure's built-in Contributor role.
                "roleDefinitionId": format!("/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/b24988ac-6180-42a2-ab66-4c8be2c6f0d9"),
                "principalId": principal, "principalType": "ServicePrincipal"}});
            make(reqwest::Method::PUT, ra, Some(body)).await;
        }
    }
    let discovered_before = preexisting_discovery(c);
    // The headers the sandbox answered, by recorded interaction.
    let mut answered: BTreeMap<usize, BTreeMap<String, String>> = BTreeMap::new();
    // Job names Azure's operations named (recorded → the sandbox's): a later recorded GET of
    // `backupJobs/{recorded}` asks for the sandbox's job instead.
    let mut jobs: BTreeMap<String, String> = BTreeMap::new();
    let mut out = Vec::new();
    let n = c.interactions.len();
    for (k, i) in c.interactions.iter().enumerate() {
        if !served(i) {
            continue;
        }
        for (_, path) in discovered_before.iter().filter(|(at, _)| *at == i.index) {
            make(reqwest::Method::POST, path.clone(), None).await;
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
                with_our_job(&i.path, &jobs),
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
            // Azure's in-progress answer names the URL to poll next (itself): so does the
            // sandbox's URL for it.
            let next: BTreeMap<String, String> = ["azure-asyncoperation", "location"]
                .into_iter()
                .filter(|h| i.headers.contains_key(*h))
                .map(|h| (h.to_string(), url.clone()))
                .collect();
            answered.insert(i.index, next);
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
        if let (Some(recorded), Some(ours)) = (
            i.body.as_ref().and_then(job_name),
            body.as_ref().and_then(job_name),
        ) {
            jobs.insert(recorded.to_ascii_lowercase(), ours);
        }
        v.difference = compare(i, status, &headers, body.as_ref());
        if std::env::var_os("AZPROTECT_REPLAY_TRACE").is_some() {
            let b = body.as_ref().map(Value::to_string).unwrap_or_default();
            eprintln!(
                "{} #{} {} {status} (Azure {}): {}",
                c.name,
                i.index,
                i.operation(),
                i.status,
                b.chars().take(400).collect::<String>()
            );
        }
        answered.insert(i.index, headers);
        out.push(v);
    }
    out
}
