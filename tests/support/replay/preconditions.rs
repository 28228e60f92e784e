//! What a cassette's test preparer made before the recording started (unrecorded templates:
//! resource groups, VMs, disks, networks, storage accounts, vaults), rebuilt for the sandbox:
//! an inventory from what the recording shows of them — the bodies Azure returned for them,
//! and the ids and regions the recorded requests name — and the vaults to create first.

use super::cassette::{Cassette, Interaction};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// The inventory kinds, by the ARM type segment that names them.
const KINDS: [(&str, &str); 4] = [
    ("virtualmachines", "vms"),
    ("disks", "disks"),
    ("virtualnetworks", "vnets"),
    ("storageaccounts", "storage_accounts"),
];

/// One resource of the inventory: its region (when the recording shows it) and its fields.
#[derive(Default)]
struct Res {
    location: Option<String>,
    /// `key: value` pairs of the inventory entry, without the location.
    fields: Vec<String>,
    subnets: BTreeSet<String>,
}

#[derive(Default)]
struct Group {
    /// From the group's own GET, else the first located resource in it.
    location: Option<String>,
    own_location: bool,
    /// The group's tags as its GET shows them (JSON, which is YAML).
    tags: Option<String>,
    resources: BTreeMap<&'static str, BTreeMap<String, Res>>,
}

type Groups = BTreeMap<(String, String), Group>;

fn region(s: &str) -> String {
    s.to_ascii_lowercase().replace(' ', "")
}

/// `(subscription, group, kind, name, rest)` of an ARM id of an inventory kind; `rest` is what
/// follows the resource (`subnets/x`).
fn parse(id: &str) -> Option<(String, String, &'static str, String, Vec<String>)> {
    let segs: Vec<&str> = id.split('/').filter(|s| !s.is_empty()).collect();
    if segs.len() < 8
        || !segs[0].eq_ignore_ascii_case("subscriptions")
        || !segs[2].eq_ignore_ascii_case("resourcegroups")
        || !segs[4].eq_ignore_ascii_case("providers")
    {
        return None;
    }
    let kind = KINDS
        .iter()
        .find(|(t, _)| segs[6].eq_ignore_ascii_case(t))?
        .1;
    Some((
        segs[1].to_string(),
        segs[3].to_string(),
        kind,
        segs[7].to_string(),
        segs[8..].iter().map(|s| s.to_string()).collect(),
    ))
}

/// The inventory fields of a resource from the body Azure returned for it.
fn fields(kind: &str, body: &Value) -> (Vec<String>, BTreeSet<String>) {
    let p = &body["properties"];
    let mut subnets = BTreeSet::new();
    let f = match kind {
        "vms" => {
            let data: Vec<String> = p["storageProfile"]["dataDisks"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|d| d["diskSizeGB"].as_u64().unwrap_or(32).to_string())
                .collect();
            vec![
                format!(
                    "size: {}",
                    p["hardwareProfile"]["vmSize"]
                        .as_str()
                        .unwrap_or("Standard_D2s_v5")
                ),
                format!(
                    "os: {}",
                    p["storageProfile"]["osDisk"]["osType"]
                        .as_str()
                        .unwrap_or("Linux")
                        .to_ascii_lowercase()
                ),
                format!("data_disks: [{}]", data.join(", ")),
            ]
            .into_iter()
            .chain(
                p["storageProfile"]["osDisk"]["name"]
                    .as_str()
                    .map(|n| format!("os_disk: {n}")),
            )
            // JSON is YAML: tag names with dots and colons stay intact.
            .chain(
                body["tags"]
                    .as_object()
                    .filter(|t| !t.is_empty())
                    .map(|t| format!("tags: {}", Value::Object(t.clone()))),
            )
            .collect()
        }
        "disks" => vec![
            format!("size_gb: {}", p["diskSizeGB"].as_u64().unwrap_or(32)),
            format!(
                "sku: {}",
                body["sku"]["name"].as_str().unwrap_or("Standard_LRS")
            ),
        ],
        "vnets" => {
            for s in p["subnets"].as_array().into_iter().flatten() {
                if let Some(n) = s["name"].as_str() {
                    subnets.insert(n.to_string());
                }
            }
            vec![format!(
                "address_space: {}",
                p["addressSpace"]["addressPrefixes"][0]
                    .as_str()
                    .unwrap_or("10.0.0.0/16")
            )]
        }
        _ => vec![],
    };
    (f, subnets)
}

fn default_fields(kind: &str) -> Vec<String> {
    match kind {
        "vms" => vec![
            "size: Standard_D2s_v5".into(),
            "os: linux".into(),
            "data_disks: []".into(),
        ],
        "disks" => vec!["size_gb: 32".into(), "sku: Standard_LRS".into()],
        "vnets" => vec!["address_space: 10.0.0.0/16".into()],
        _ => vec![],
    }
}

/// A resource Azure answered for (GET, or a PUT through a provider the sandbox does not serve).
fn from_response(groups: &mut Groups, i: &Interaction) {
    let Some(body) = i.body.as_ref().filter(|_| {
        matches!(
            (i.method.as_str(), i.status),
            ("GET", 200) | ("PUT", 200 | 201)
        )
    }) else {
        return;
    };
    let segs: Vec<&str> = i.path.split('/').filter(|s| !s.is_empty()).collect();
    if segs.len() == 4 && segs[2].eq_ignore_ascii_case("resourcegroups") && i.method == "GET" {
        let g = groups
            .entry((segs[1].to_string(), segs[3].to_string()))
            .or_default();
        if let Some(l) = body["location"].as_str() {
            g.location = Some(region(l));
            g.own_location = true;
        }
        if let Some(t) = body["tags"].as_object().filter(|t| !t.is_empty()) {
            g.tags = Some(Value::Object(t.clone()).to_string());
        }
        return;
    }
    let Some((sub, rg, kind, name, rest)) = parse(&i.path) else {
        return;
    };
    if !rest.is_empty() {
        return;
    }
    let location = body["location"].as_str().map(region);
    let g = groups.entry((sub, rg)).or_default();
    if !g.own_location && g.location.is_none() {
        g.location.clone_from(&location);
    }
    let (f, subnets) = fields(kind, body);
    let r = g
        .resources
        .entry(kind)
        .or_default()
        .entry(name)
        .or_default();
    r.fields = f;
    r.subnets.extend(subnets);
    r.location = location.or(r.location.take());
}

/// The items of a recorded list answer (`value[]`).
fn listed(i: &Interaction) -> impl Iterator<Item = &Value> {
    i.body
        .as_ref()
        .and_then(|b| b["value"].as_array())
        .into_iter()
        .flatten()
}

/// A resource the recording names exists: with default fields unless its body was seen, in
/// `location` unless its own is known.
fn named<'g>(groups: &'g mut Groups, id: &str, location: Option<String>) -> Option<&'g mut Res> {
    let (sub, rg, kind, name, _) = parse(id)?;
    let r = groups
        .entry((sub, rg))
        .or_default()
        .resources
        .entry(kind)
        .or_default()
        .entry(name)
        .or_default();
    if r.fields.is_empty() {
        r.fields = default_fields(kind);
    }
    if r.location.is_none() {
        r.location = location;
    }
    Some(r)
}

/// Ids the recorded requests name: the resources exist, in the region a sibling
/// `resourceLocation` gives when there is one. A2A's per-disk `diskId`s are the VM's own disks.
fn from_request(groups: &mut Groups, v: &Value, key: &str, sibling_region: Option<&str>) {
    match v {
        Value::Object(m) => {
            let here = m.get("resourceLocation").and_then(Value::as_str);
            for (k, x) in m {
                from_request(groups, x, k, here);
            }
        }
        Value::Array(a) => a
            .iter()
            .for_each(|x| from_request(groups, x, key, sibling_region)),
        Value::String(s) if key != "diskId" => {
            let Some((_, _, kind, _, rest)) = parse(s) else {
                return;
            };
            let Some(r) = named(groups, s, sibling_region.map(region)) else {
                return;
            };
            if kind == "vnets" && rest.len() == 2 && rest[0].eq_ignore_ascii_case("subnets") {
                r.subnets.insert(rest[1].clone());
            }
        }
        _ => {}
    }
}

/// VMs a vault lists as protectable exist, in the vault's region (a vault discovers VMs of its
/// own region only).
fn from_protectable_list(groups: &mut Groups, c: &Cassette, i: &Interaction) {
    let lower = i.path.to_ascii_lowercase();
    let Some(vault) = lower
        .strip_suffix("/backupprotectableitems")
        .map(|_| &i.path[..i.path.len() - "/backupProtectableItems".len()])
    else {
        return;
    };
    let region = vault_region(c, vault);
    for item in listed(i) {
        if let Some(vm) = item["properties"]["virtualMachineId"].as_str() {
            named(groups, vm, region.clone());
        }
    }
}

/// Vaults that list protectable VMs before the cassette refreshes them: the VMs were
/// discovered before (another test in the subscription refreshed; the recordings suggest Azure
/// keeps what it discovered per subscription and region, stale VMs included). The
/// `refreshContainers` to send just before the listing at that interaction index.
pub fn preexisting_discovery(c: &Cassette) -> Vec<(usize, String)> {
    let mut refreshed: BTreeSet<String> = BTreeSet::new();
    let mut out = Vec::new();
    for i in &c.interactions {
        let lower = i.path.to_ascii_lowercase();
        if let Some(v) = lower.strip_suffix("/backupfabrics/azure/refreshcontainers") {
            refreshed.insert(v.to_string());
            continue;
        }
        let Some(v) = lower.strip_suffix("/backupprotectableitems") else {
            continue;
        };
        let listed = listed(i).next().is_some();
        if listed && refreshed.insert(v.to_string()) {
            let vault = &i.path[..v.len()];
            out.push((
                i.index,
                format!("{vault}/backupFabrics/Azure/refreshContainers?api-version=2024-04-01"),
            ));
        }
    }
    out
}

/// The sandbox inventory (YAML) of what the cassette's preparer made.
pub fn inventory(c: &Cassette) -> String {
    let mut groups: Groups = BTreeMap::new();
    let mut subs: BTreeSet<String> = BTreeSet::new();
    for i in &c.interactions {
        let segs: Vec<&str> = i.path.split('/').filter(|s| !s.is_empty()).collect();
        if segs.len() >= 2 && segs[0].eq_ignore_ascii_case("subscriptions") {
            subs.insert(segs[1].to_string());
            if segs.len() >= 4 && segs[2].eq_ignore_ascii_case("resourcegroups") {
                groups
                    .entry((segs[1].to_string(), segs[3].to_string()))
                    .or_default();
            }
        }
        from_response(&mut groups, i);
    }
    for i in &c.interactions {
        if let Some(b) = &i.request_body {
            from_request(&mut groups, b, "", None);
        }
        from_protectable_list(&mut groups, c, i);
    }
    // What the replay itself creates (its first request is a PUT the sandbox serves) is not
    // the preparer's: the sandbox must meet that PUT as Azure did, without the resource.
    let mut first: BTreeMap<String, &Interaction> = BTreeMap::new();
    for i in &c.interactions {
        first.entry(i.path.to_ascii_lowercase()).or_insert(i);
    }
    // Nor is what the recording first deletes with a 204: it did not exist.
    for (path, i) in &first {
        let created = i.method == "PUT";
        let absent = i.method == "DELETE" && i.status == 204;
        if !(created || absent) || !super::conformance::served(i) {
            continue;
        }
        let Some((sub, rg, kind, name, rest)) = parse(path) else {
            continue;
        };
        let group = groups
            .iter_mut()
            .find(|((s, r), _)| s.eq_ignore_ascii_case(&sub) && r.eq_ignore_ascii_case(&rg));
        if let (true, Some((_, g))) = (rest.is_empty(), group) {
            if let Some(list) = g.resources.get_mut(kind) {
                list.retain(|n, _| !n.eq_ignore_ascii_case(&name));
            }
        }
    }
    subs.extend(groups.keys().map(|(s, _)| s.clone()));
    let mut y = String::from("subscriptions:\n");
    for sub in &subs {
        let mine: Vec<_> = groups.iter().filter(|((s, _), _)| s == sub).collect();
        if mine.is_empty() {
            y.push_str(&format!("  {sub}:\n    resource_groups: {{}}\n"));
            continue;
        }
        y.push_str(&format!("  {sub}:\n    resource_groups:\n"));
        for ((_, rg), g) in mine {
            let home = g.location.clone().unwrap_or_else(|| "westeurope".into());
            y.push_str(&format!("      {rg}:\n        location: {home}\n"));
            if let Some(t) = &g.tags {
                y.push_str(&format!("        tags: {t}\n"));
            }
            for (kind, list) in g.resources.iter().filter(|(_, l)| !l.is_empty()) {
                y.push_str(&format!("        {kind}:\n"));
                for (name, r) in list {
                    let mut f = r.fields.clone();
                    if *kind == "vnets" {
                        let s: Vec<&str> = r.subnets.iter().map(String::as_str).collect();
                        f.push(format!("subnets: [{}]", s.join(", ")));
                    }
                    if let Some(l) = r.location.as_ref().filter(|l| **l != home) {
                        f.push(format!("location: {l}"));
                    }
                    if *kind == "storage_accounts" && f.is_empty() {
                        y.push_str(&format!("          - {name}\n"));
                    } else if *kind == "storage_accounts" {
                        f.insert(0, format!("name: {name}"));
                        y.push_str(&format!("          - {{{}}}\n", f.join(", ")));
                    } else {
                        y.push_str(&format!("          {name}: {{{}}}\n", f.join(", ")));
                    }
                }
            }
        }
    }
    y
}

/// A vault's region: from its own body, else from the `locations/{region}/` of the operation
/// URLs Azure returned for requests under it (Data Protection's `operationResults`).
fn vault_region(c: &Cassette, vault: &str) -> Option<String> {
    let own = c
        .interactions
        .iter()
        .filter(|x| x.path.eq_ignore_ascii_case(vault))
        .find_map(|x| x.body.as_ref()?["location"].as_str().map(region));
    own.or_else(|| {
        let prefix = format!("{}/", vault.to_ascii_lowercase());
        c.interactions
            .iter()
            .filter(|x| x.path.to_ascii_lowercase().starts_with(&prefix))
            .flat_map(|x| ["location", "azure-asyncoperation"].map(|h| x.header(h)))
            .flatten()
            .find_map(|url| {
                let lower = url.to_ascii_lowercase();
                let rest = lower.split("/locations/").nth(1)?;
                Some(rest.split('/').next()?.to_string())
            })
    })
}

/// Vaults the cassette uses without creating them first (a test preparer made them, unrecorded):
/// `(vault path, PUT body)` to create in the sandbox before the replay.
pub fn preexisting_vaults(c: &Cassette) -> Vec<(String, Value)> {
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
        let location = vault_region(c, &vault).unwrap_or_else(|| "westeurope".into());
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

/// Every string in a JSON value.
fn strings_in(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|x| strings_in(x, out)),
        Value::Object(m) => m.values().for_each(|x| strings_in(x, out)),
        _ => {}
    }
}

/// Disk backup policies the cassette's requests name (`policyInfo.policyId`) but never create:
/// `(policy path, PUT body)`, a four-hourly disk policy as Azure's CLI makes one
/// (test_dataprotection_backup_policy_create_and_delete.yaml #5).
pub fn preexisting_disk_policies(c: &Cassette) -> Vec<(String, Value)> {
    let created: BTreeSet<String> = c
        .interactions
        .iter()
        .filter(|i| i.method == "PUT")
        .map(|i| i.path.to_ascii_lowercase())
        .collect();
    let mut named = Vec::new();
    for i in &c.interactions {
        if let Some(b) = &i.request_body {
            strings_in(b, &mut named);
        }
    }
    let mut seen = BTreeSet::new();
    named
        .into_iter()
        .filter(|s| {
            let l = s.to_ascii_lowercase();
            l.contains("/providers/microsoft.dataprotection/backupvaults/")
                && l.split('/').filter(|x| !x.is_empty()).count() == 10
                && l.split('/').nth_back(1) == Some("backuppolicies")
                && !created.contains(&l)
                && seen.insert(l)
        })
        .map(|id| {
            let body = serde_json::json!({"properties": {
                "datasourceTypes": ["Microsoft.Compute/disks"], "objectType": "BackupPolicy",
                "policyRules": [
                    {"backupParameters": {"backupType": "Incremental", "objectType": "AzureBackupParams"},
                     "dataStore": {"dataStoreType": "OperationalStore", "objectType": "DataStoreInfoBase"},
                     "name": "BackupHourly", "objectType": "AzureBackupRule",
                     "trigger": {"objectType": "ScheduleBasedTriggerContext",
                        "schedule": {"repeatingTimeIntervals": ["R/2020-04-05T13:00:00+00:00/PT4H"]},
                        "taggingCriteria": [{"isDefault": true, "tagInfo": {"id": "Default_", "tagName": "Default"}, "taggingPriority": 99}]}},
                    {"isDefault": true, "lifecycles": [{"deleteAfter": {"duration": "P7D", "objectType": "AbsoluteDeleteOption"},
                        "sourceDataStore": {"dataStoreType": "OperationalStore", "objectType": "DataStoreInfoBase"}}],
                     "name": "Default", "objectType": "AzureRetentionRule"}]}});
            (format!("{id}?api-version=2025-07-01"), body)
        })
        .collect()
}

/// Recovery Services protected items a cassette lists before it protects anything (a preparer
/// protected them), and the policies they name that it never creates: `(path, PUT body)`, the
/// policies first. A policy is a daily one in the shape of the spec's
/// `ProtectionPolicies_CreateOrUpdate` IaaS example; Azure's copy is not recorded.
pub fn preexisting_backup_items(c: &Cassette) -> Vec<(String, Value)> {
    let api = "api-version=2024-04-01";
    let mut puts: BTreeSet<String> = BTreeSet::new();
    let mut policies: Vec<(String, Value)> = Vec::new();
    let mut items: Vec<(String, Value)> = Vec::new();
    let mut seen = BTreeSet::new();
    for i in &c.interactions {
        if i.method == "PUT" {
            puts.insert(i.path.to_ascii_lowercase());
            continue;
        }
        let items_list = i.method == "GET"
            && i.status == 200
            && i.path
                .to_ascii_lowercase()
                .ends_with("/backupprotecteditems");
        if !items_list || puts.iter().any(|p| p.contains("/protecteditems/")) {
            continue;
        }
        for item in listed(i) {
            let (Some(id), Some(vm), Some(policy)) = (
                item["id"].as_str(),
                item["properties"]["sourceResourceId"].as_str(),
                item["properties"]["policyId"].as_str(),
            ) else {
                continue;
            };
            if !seen.insert(id.to_ascii_lowercase()) {
                continue;
            }
            let p = policy.to_ascii_lowercase();
            if !puts.contains(&p)
                && !policy.ends_with("/DefaultPolicy")
                && policies.iter().all(|(q, _)| !q.starts_with(policy))
            {
                let at = "2024-01-01T23:00:00Z";
                policies.push((
                    format!("{policy}?{api}"),
                    serde_json::json!({"properties": {
                        "backupManagementType": "AzureIaasVM", "policyType": "V1",
                        "instantRpRetentionRangeInDays": 2, "timeZone": "UTC",
                        "schedulePolicy": {"schedulePolicyType": "SimpleSchedulePolicy", "scheduleRunFrequency": "Daily", "scheduleRunTimes": [at]},
                        "retentionPolicy": {"retentionPolicyType": "LongTermRetentionPolicy",
                            "dailySchedule": {"retentionTimes": [at], "retentionDuration": {"count": 30, "durationType": "Days"}}}}}),
                ));
            }
            items.push((
                format!("{id}?{api}"),
                serde_json::json!({"properties": {
                    "protectedItemType": "Microsoft.Compute/virtualMachines",
                    "sourceResourceId": vm, "policyId": policy}}),
            ));
        }
    }
    policies.into_iter().chain(items).collect()
}
