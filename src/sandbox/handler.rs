//! What every handler file works with: the parsed request ([`Ctx`]: path segments, query,
//! body, api-version checks, paging, scaled durations), the answer ([`Reply`], [`HResult`]), and
//! small shared checks (case-insensitive request properties, `location`, the resource group).
//! The server (`server.rs`) builds a `Ctx`, routes it, and sends the `Reply`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use serde_json::{json, Value};

use super::errors::ArmError;
use super::lro;
use super::server::App;
use super::state::State;

/// One ARM request, parsed.
pub struct Ctx<'a> {
    pub method: String,
    /// Percent-decoded path segments as sent.
    pub segs: Vec<String>,
    /// The same, lower-cased, for matching.
    pub lsegs: Vec<String>,
    pub raw_path: String,
    /// Query parameters with lower-cased keys.
    pub query: HashMap<String, String>,
    pub body: &'a [u8],
    pub base: &'a str,
    pub api_version: String,
    pub now: i64,
    pub app: &'a App,
}

impl Ctx<'_> {
    /// Accept the request's api-version for a provider that knows `versions`
    /// ([`api_version_verdict`]): a known one, or a well-formed one newer than all of them
    /// (served as the newest) unless `--strict-api-versions`. Otherwise ARM's answers: 400
    /// `InvalidApiVersionParameter` for a malformed value, 400 `NoRegisteredProviderFound` for
    /// a well-formed one the provider does not have.
    pub fn require_api(&self, versions: &[&str]) -> Result<(), ArmError> {
        let verdict =
            api_version_verdict(&self.api_version, versions, self.app.strict_api_versions);
        let rtype = self.resource_type();
        match verdict {
            ApiVersionVerdict::Known | ApiVersionVerdict::Newer => Ok(()),
            // ARM's own routes (resource groups, subscriptions) answer this for any version
            // they lack; resource providers' types answer NoRegisteredProviderFound.
            ApiVersionVerdict::Malformed | ApiVersionVerdict::Unsupported if rtype.is_empty() => Err(ArmError::bad_request(
                "InvalidApiVersionParameter",
                format!(
                    "The api-version '{}' is invalid. The supported versions are '{}'.",
                    self.api_version,
                    versions.join(",")
                ),
            )),
            // ARM's message (e.g. Azure/azure-cli#28496, Azure/azure-sdk-for-js#4097, which has
            // location '*' for a subscription-wide list as here).
            ApiVersionVerdict::Malformed => Err(ArmError::bad_request(
                "InvalidApiVersionParameter",
                format!("The api-version '{}' is invalid.", self.api_version),
            )),
            ApiVersionVerdict::Unsupported => Err(ArmError::bad_request(
                "NoRegisteredProviderFound",
                format!(
                    "No registered resource provider found for location '*' and API version '{}' for type '{}'. The supported api-versions are '{}'.",
                    self.api_version,
                    rtype,
                    versions.join(", ")
                ),
            )),
        }
    }

    /// Where the path's last `providers` segment is.
    fn last_providers(&self) -> Option<usize> {
        self.lsegs.iter().rposition(|s| s == "providers")
    }

    /// The resource provider the path names last (lower case), e.g. `microsoft.compute`.
    fn provider(&self) -> Option<&str> {
        let p = self.last_providers()?;
        self.lsegs.get(p + 1).map(String::as_str)
    }

    /// The ARM resource type the path names, e.g. `vaults/backupPolicies`.
    fn resource_type(&self) -> String {
        let Some(p) = self.last_providers() else {
            return String::new();
        };
        self.segs[p + 2..]
            .iter()
            .step_by(2)
            .cloned()
            .collect::<Vec<_>>()
            .join("/")
    }

    /// The JSON body (400 `InvalidRequestContent` when malformed or not an object).
    pub fn json(&self) -> Result<Value, ArmError> {
        if self.body.iter().all(|b| b.is_ascii_whitespace()) {
            return Err(ArmError::bad_request("InvalidRequestContent", "The request content was invalid and could not be deserialized: 'The request body is empty.'."));
        }
        let v: Value = serde_json::from_slice(self.body).map_err(ArmError::invalid_json)?;
        if !v.is_object() {
            return Err(ArmError::invalid_json(
                "the request body must be a JSON object",
            ));
        }
        Ok(v)
    }

    pub fn q(&self, k: &str) -> Option<&str> {
        self.query.get(&k.to_ascii_lowercase()).map(|s| s.as_str())
    }

    /// Accept any well-formed api-version (the read-only inventory types), else ARM's 400.
    pub fn require_well_formed_api(&self) -> Result<(), ArmError> {
        if valid_api_version(&self.api_version) {
            return Ok(());
        }
        Err(ArmError::bad_request(
            "InvalidApiVersionParameter",
            format!("The api-version '{}' is invalid.", self.api_version),
        ))
    }

    pub fn lro_fails(&self) -> bool {
        self.app.faults.as_ref().is_some_and(|f| f.next_lro_fails())
    }

    pub fn scaled(&self, azure_secs: f64) -> i64 {
        lro::scaled_ms(azure_secs, self.app.time_scale)
    }

    /// Match the lower-cased path against a pattern like `subscriptions/*/resourcegroups/*`;
    /// returns the original-cased values of the `*` segments.
    pub fn m(&self, pattern: &str) -> Option<Vec<String>> {
        // Matched before anything is copied: every request is tried against many routes.
        let pat = pattern.split('/');
        if pat.clone().count() != self.lsegs.len()
            || pat
                .clone()
                .zip(&self.lsegs)
                .any(|(p, l)| p != "*" && p != l)
        {
            return None;
        }
        Some(
            pat.zip(&self.segs)
                .filter(|(p, _)| *p == "*")
                .map(|(_, s)| s.clone())
                .collect(),
        )
    }

    /// One page of `items` with an absolute `nextLink` carrying `$skipToken`.
    pub fn page(&self, items: Vec<Value>, backup: bool) -> Value {
        self.page_map(items, backup, |v| v)
    }

    /// [`page`](Self::page), building the JSON of only the items on the page: listing a large
    /// collection page by page must not render every item for every page.
    pub fn page_map<T>(
        &self,
        items: Vec<T>,
        backup: bool,
        render: impl FnMut(T) -> Value,
    ) -> Value {
        let (skip, size, next) = self.page_window(items.len(), backup);
        let page: Vec<Value> = items
            .into_iter()
            .skip(skip)
            .take(size)
            .map(render)
            .collect();
        let mut out = json!({ "value": page });
        if let Some(next) = next {
            out["nextLink"] = json!(next);
        }
        out
    }

    /// [`page_map`](Self::page_map) over items already rendered as JSON text: the page's body.
    pub fn page_raw<T>(
        &self,
        items: Vec<T>,
        backup: bool,
        render: impl FnMut(T) -> Arc<str>,
    ) -> String {
        let (skip, size, next) = self.page_window(items.len(), backup);
        let page: Vec<Arc<str>> = items
            .into_iter()
            .skip(skip)
            .take(size)
            .map(render)
            .collect();
        let mut out = String::with_capacity(page.iter().map(|p| p.len() + 1).sum::<usize>() + 64);
        out.push_str("{\"value\":[");
        for (i, item) in page.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(item);
        }
        out.push(']');
        if let Some(next) = next {
            out.push_str(",\"nextLink\":");
            out.push_str(&Value::String(next).to_string());
        }
        out.push('}');
        out
    }

    /// How many items a page of this list holds in Azure (`App`'s sizes, with their sources).
    fn page_size(&self, backup: bool) -> &AtomicUsize {
        let app = &self.app;
        let l: Vec<&str> = self.lsegs.iter().map(String::as_str).collect();
        match (backup, self.provider(), l.as_slice()) {
            (true, ..) => &app.backup_page_size,
            (_, Some("microsoft.compute"), _) => &app.compute_page_size,
            (_, Some("microsoft.authorization"), [.., "roleassignments"]) => &app.whole_page_size,
            (_, None, ["subscriptions"]) => &app.whole_page_size,
            (_, None, ["subscriptions", _, "resourcegroups"]) => &app.group_page_size,
            _ => &app.page_size,
        }
    }

    /// Which page of a list of `total` items to answer: (skip, size, nextLink).
    fn page_window(&self, total: usize, backup: bool) -> (usize, usize, Option<String>) {
        let size = self.page_size(backup).load(Ordering::Relaxed).max(1);
        let skip: usize = self
            .q("$skiptoken")
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        if skip.saturating_add(size) >= total {
            return (skip, size, None);
        }
        let mut ser = url::form_urlencoded::Serializer::new(String::new());
        let mut keys: Vec<_> = self
            .query
            .iter()
            .filter(|(k, _)| k.as_str() != "$skiptoken")
            .collect();
        keys.sort();
        for (k, v) in keys {
            ser.append_pair(k, v);
        }
        ser.append_pair("$skipToken", &(skip.saturating_add(size)).to_string());
        let next = format!("{}{}?{}", self.base, self.raw_path, ser.finish());
        (skip, size, Some(next))
    }

    /// `https://host` + `path`.
    pub fn abs(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }
}

/// A successful answer.
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Option<Value>,
    /// A body already serialized (wins over `body`).
    pub raw: Option<String>,
    /// Whether the state changed (and must be saved).
    pub mutated: bool,
}

impl Reply {
    pub fn ok(body: Value) -> Reply {
        Reply {
            status: 200,
            headers: vec![],
            body: Some(body),
            raw: None,
            mutated: false,
        }
    }
    /// 200 with a body that is already JSON text.
    pub fn raw_json(text: String) -> Reply {
        Reply {
            raw: Some(text),
            ..Reply::status(200, None)
        }
    }
    pub fn status(status: u16, body: Option<Value>) -> Reply {
        Reply {
            status,
            headers: vec![],
            body,
            raw: None,
            mutated: false,
        }
    }
    pub fn mutated(mut self) -> Reply {
        self.mutated = true;
        self
    }
    pub fn header(mut self, k: &str, v: impl Into<String>) -> Reply {
        self.headers.push((k.to_string(), v.into()));
        self
    }
    pub fn headers(mut self, h: Vec<(String, String)>) -> Reply {
        self.headers.extend(h);
        self
    }
}

pub type HResult = Result<Reply, ArmError>;

/// What the sandbox does with a request's api-version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiVersionVerdict {
    /// One the provider lists.
    Known,
    /// Well-formed and dated after every listed one: served as the newest. Microsoft's current
    /// SDKs send versions newer than the specs the sandbox follows; their shapes are supersets.
    Newer,
    /// Well-formed, not listed, and not newer (or `--strict-api-versions`).
    Unsupported,
    /// Not `YYYY-MM-DD[-suffix]`.
    Malformed,
}

/// Pure decision for [`Ctx::require_api`]. A preview suffix counts by its date: a newer
/// `2027-01-01-preview` is served as the newest too.
pub fn api_version_verdict(requested: &str, versions: &[&str], strict: bool) -> ApiVersionVerdict {
    if versions.iter().any(|v| v.eq_ignore_ascii_case(requested)) {
        return ApiVersionVerdict::Known;
    }
    if !valid_api_version(requested) {
        return ApiVersionVerdict::Malformed;
    }
    let date = &requested[..10];
    let newest = versions.iter().map(|v| &v[..v.len().min(10)]).max();
    match newest {
        Some(n) if !strict && date > n => ApiVersionVerdict::Newer,
        _ => ApiVersionVerdict::Unsupported,
    }
}

/// `YYYY-MM-DD` with an optional `-preview`-style suffix.
pub fn valid_api_version(v: &str) -> bool {
    let b = v.as_bytes();
    b.len() >= 10
        && b[..10].iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        })
        && (b.len() == 10 || b[10] == b'-')
}

/// A request property by name, matched without regard to case as Azure's services read JSON:
/// Azure's CLI sends `dataSourceInfo.resourceId` where the spec says `resourceID`, and Azure
/// accepts it (test_dataprotection_backup_instance_create_backup_delete_disk.yaml #1).
pub fn prop<'a>(v: &'a Value, name: &str) -> &'a Value {
    static NULL: Value = Value::Null;
    match v.as_object() {
        Some(o) => o.get(name).unwrap_or_else(|| {
            o.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map_or(&NULL, |(_, x)| x)
        }),
        None => &NULL,
    }
}

/// A tracked resource's `location` (normalized), or ARM's answer when it is missing.
pub fn required_location(body: &Value) -> Result<String, ArmError> {
    let location = body["location"]
        .as_str()
        .map(crate::model::resource_group::normalize_location)
        .unwrap_or_default();
    if location.is_empty() {
        return Err(ArmError::bad_request(
            "LocationRequired",
            "The location property is required for this definition.",
        ));
    }
    Ok(location)
}

/// Helper for handlers: the resource group must exist.
pub fn require_rg(st: &State, sub: &str, rg: &str) -> Result<(), ArmError> {
    if st.rg(sub, rg).is_none() {
        return Err(ArmError::resource_group_not_found(rg));
    }
    Ok(())
}

/// `ctx`'s method is `m`, else ARM's `MethodNotAllowed`.
pub fn require_method(ctx: &Ctx<'_>, m: &str) -> Result<(), ArmError> {
    if ctx.method == m {
        Ok(())
    } else {
        Err(ArmError::method_not_allowed(&ctx.method))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_formed_api_versions() {
        assert!(valid_api_version("2024-05-01"));
        assert!(valid_api_version("2024-05-01-preview"));
        assert!(!valid_api_version("2024-5-01"));
        assert!(!valid_api_version("latest"));
    }

    #[test]
    fn api_versions_newer_than_known_are_served_as_the_newest() {
        use ApiVersionVerdict::*;
        let known = ["2024-04-01", "2025-02-28-preview", "2026-01-01"];
        assert_eq!(api_version_verdict("2026-01-01", &known, false), Known);
        assert_eq!(
            api_version_verdict("2025-02-28-PREVIEW", &known, true),
            Known
        );
        // Microsoft's current Python SDK for Recovery Services Backup.
        assert_eq!(api_version_verdict("2026-11-01", &known, false), Newer);
        assert_eq!(
            api_version_verdict("2027-01-01-preview", &known, false),
            Newer
        );
        assert_eq!(api_version_verdict("2026-11-01", &known, true), Unsupported);
        // Unknown older ones are refused as ARM refuses them.
        assert_eq!(
            api_version_verdict("2025-06-01", &known, false),
            Unsupported
        );
        assert_eq!(
            api_version_verdict("2026-01-01-preview", &known, false),
            Unsupported
        );
        assert_eq!(api_version_verdict("latest", &known, false), Malformed);
        assert_eq!(api_version_verdict("2026-1-01", &known, false), Malformed);
    }
}
