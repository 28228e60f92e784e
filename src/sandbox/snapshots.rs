//! Microsoft.Compute snapshots (DiskRP 2026-03-02 and older) and disks created from snapshots.
//!
//! Snapshots: PUT (202 + `Azure-AsyncOperation`/`Location` at
//! `…/locations/{region}/DiskOperations/{id}`, like DiskRP), GET, list by resource group and
//! subscription, PATCH (tags), DELETE. Copies of a managed disk only (`createOption: Copy`);
//! incremental snapshots are always `Standard_LRS`, must stay in the disk's subscription, at most 7
//! per disk per 5 (scaled) minutes and 500 per disk (counting Azure Backup's snapshots).
//! Snapshots Azure Disk Backup takes are derived from recovery points
//! (`data_protection::recovery_points::snapshots`) and listed alongside.
//! Disks: PUT with `creationData{createOption: Copy, sourceResourceId: <snapshot id>}` creates a
//! disk of the snapshot's size; DELETE removes any disk no VM has attached (a restore drill's
//! leftovers included). Inventory disks are otherwise read-only (`compute.rs`).

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::compute::DISK_API_VERSIONS;
use super::data_protection::{parse_disk_id, recovery_points};
use super::errors::ArmError;
use super::handler::{require_rg, Ctx, HResult, Reply};
use super::inventory::{disk_id, normalize_location, stable_guid};
use super::lro::{self, NewOp, Phase};
use super::state::{key, Disk, State};

/// Simulated durations (Azure seconds).
const SNAPSHOT_PUT: f64 = 30.0;
const DISK_PUT: f64 = 30.0;
const DELETE: f64 = 10.0;
/// Incremental snapshot limits (docs: disks-incremental-snapshots).
const MAX_PER_DISK: usize = 500;
const BURST: usize = 7;
const BURST_WINDOW_SECS: f64 = 300.0;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Snapshot {
    pub subscription: String,
    pub resource_group: String,
    pub name: String,
    pub location: String,
    pub tags: Value,
    pub source_id: String,
    pub source_unique_id: String,
    pub size_gb: u32,
    pub incremental: bool,
    pub sku: String,
    pub created_ms: i64,
    pub ready_ms: i64,
}

pub fn snapshot_id(sub: &str, rg: &str, name: &str) -> String {
    format!("/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Compute/snapshots/{name}")
}

fn body(s: &Snapshot, now: i64) -> Value {
    let id = snapshot_id(&s.subscription, &s.resource_group, &s.name);
    let total = (s.ready_ms - s.created_ms).max(1) as f64;
    let pct = if now >= s.ready_ms {
        100.0
    } else {
        (((now - s.created_ms) as f64 / total) * 100.0)
            .clamp(0.0, 99.0)
            .floor()
    };
    let mut props = json!({
        "creationData": {"createOption": "Copy", "sourceResourceId": s.source_id, "sourceUniqueId": s.source_unique_id},
        "diskSizeGB": s.size_gb,
        "diskSizeBytes": s.size_gb as u64 * 1024 * 1024 * 1024,
        "encryption": {"type": "EncryptionAtRestWithPlatformKey"},
        "incremental": s.incremental,
        "networkAccessPolicy": "AllowAll",
        "publicNetworkAccess": "Enabled",
        "diskState": "Unattached",
        "uniqueId": stable_guid(&id),
        "snapshotAccessState": if now >= s.ready_ms { "Available" } else { "Pending" },
        "timeCreated": lro::fmt_time(s.created_ms),
        "provisioningState": "Succeeded",
        "completionPercent": pct,
        "dataAccessAuthMode": "None",
    });
    if s.incremental {
        props["incrementalSnapshotFamilyId"] =
            json!(stable_guid(&format!("family:{}", s.source_id)));
    }
    json!({
        "name": s.name,
        "id": id,
        "type": "Microsoft.Compute/snapshots",
        "location": s.location,
        "tags": s.tags,
        "sku": {"name": s.sku, "tier": if s.sku.starts_with("Premium") { "Premium" } else { "Standard" }},
        "properties": props,
    })
}

/// Client-made and backup-made snapshots, as one list.
fn all(st: &State, now: i64) -> Vec<Snapshot> {
    let mut out: Vec<Snapshot> = st.snapshots.values().cloned().collect();
    for b in recovery_points::snapshots(st, now) {
        out.push(Snapshot {
            subscription: b.subscription,
            resource_group: b.resource_group,
            name: b.name,
            location: b.location,
            tags: json!({"CreatedBy": "AzureBackup"}),
            source_id: b.disk_id,
            source_unique_id: b.disk_unique_id,
            size_gb: b.size_gb,
            incremental: true,
            sku: "Standard_LRS".into(),
            created_ms: b.created_ms,
            ready_ms: b.created_ms,
        });
    }
    out
}

fn find(st: &State, now: i64, sub: &str, rg: &str, name: &str) -> Option<Snapshot> {
    if let Some(s) = st.snapshots.get(&key(&[sub, rg, name])) {
        return Some(s.clone());
    }
    all(st, now).into_iter().find(|s| {
        s.subscription.eq_ignore_ascii_case(sub)
            && s.resource_group.eq_ignore_ascii_case(rg)
            && s.name.eq_ignore_ascii_case(name)
    })
}

fn bad(message: impl Into<String>) -> ArmError {
    ArmError::bad_request("InvalidParameter", message)
}

pub fn route(ctx: &Ctx<'_>, st: &mut State) -> Option<HResult> {
    let m = ctx.method.as_str();
    if let Some(v) = ctx.m("subscriptions/*/providers/microsoft.compute/snapshots") {
        return Some(ctx.require_api(DISK_API_VERSIONS).and_then(|_| {
            if m != "GET" {
                return Err(ArmError::method_not_allowed(m));
            }
            let items = all(st, ctx.now)
                .iter()
                .filter(|s| s.subscription.eq_ignore_ascii_case(&v[0]))
                .map(|s| body(s, ctx.now))
                .collect();
            Ok(Reply::ok(ctx.page(items, false)))
        }));
    }
    if let Some(v) = ctx.m("subscriptions/*/resourcegroups/*/providers/microsoft.compute/snapshots")
    {
        return Some(ctx.require_api(DISK_API_VERSIONS).and_then(|_| {
            if m != "GET" {
                return Err(ArmError::method_not_allowed(m));
            }
            require_rg(st, &v[0], &v[1])?;
            let items = all(st, ctx.now)
                .iter()
                .filter(|s| {
                    s.subscription.eq_ignore_ascii_case(&v[0])
                        && s.resource_group.eq_ignore_ascii_case(&v[1])
                })
                .map(|s| body(s, ctx.now))
                .collect();
            Ok(Reply::ok(ctx.page(items, false)))
        }));
    }
    if let Some(v) =
        ctx.m("subscriptions/*/resourcegroups/*/providers/microsoft.compute/snapshots/*")
    {
        return Some(
            ctx.require_api(DISK_API_VERSIONS)
                .and_then(|_| snapshot(ctx, st, &v)),
        );
    }
    if let Some(v) = ctx.m("subscriptions/*/resourcegroups/*/providers/microsoft.compute/disks/*") {
        if m == "PUT" || m == "DELETE" || m == "PATCH" {
            return Some(
                ctx.require_api(DISK_API_VERSIONS)
                    .and_then(|_| disk(ctx, st, &v)),
            );
        }
        return None;
    }
    if let Some(v) =
        ctx.m("subscriptions/*/providers/microsoft.compute/locations/*/diskoperations/*")
    {
        return Some(
            ctx.require_api(DISK_API_VERSIONS)
                .and_then(|_| disk_op(ctx, st, &v)),
        );
    }
    if let Some(v) = ctx.m("subscriptions/*/providers/microsoft.compute/locations/*/operations/*") {
        return Some(
            ctx.require_api(super::compute::API_VERSIONS)
                .and_then(|_| disk_op(ctx, st, &v)),
        );
    }
    None
}

pub(super) fn start(
    ctx: &Ctx<'_>,
    st: &mut State,
    kind: &str,
    secs: f64,
    target: Option<String>,
    result: &str,
) -> String {
    lro::start(
        st,
        ctx.now,
        NewOp {
            kind,
            duration_ms: ctx.scaled(secs),
            error: None,
            vault_key: None,
            target_key: target,
            job_id: None,
            result,
        },
    )
}

/// The 202 body of a disk or snapshot create: the request as accepted, `Updating`
/// (test_snapshot_incremental.yaml #1, #7).
fn accepted_body(req: &Value, id: &str, name: &str, rtype: &str, location: &str) -> Value {
    let mut props = req["properties"].clone();
    if !props.is_object() {
        props = json!({});
    }
    props["provisioningState"] = json!("Updating");
    json!({
        "name": name,
        "id": id,
        "type": rtype,
        "location": location,
        "tags": req.get("tags").filter(|t| t.is_object()).cloned().unwrap_or(json!({})),
        "sku": req.get("sku").filter(|t| t.is_object()).cloned().unwrap_or(json!({"name": "Standard_LRS"})),
        "properties": props,
    })
}

/// `Azure-AsyncOperation` and `Location` (`monitor=true`) of a Compute operation: DiskRP's at
/// `…/locations/{region}/DiskOperations/{id}`, the VM's at `…/locations/{region}/operations/{id}`
/// (recording azure-cli/test_backup_diskaccess_restore.yaml #42, `vm delete`).
pub(super) fn op_headers(
    ctx: &Ctx<'_>,
    (sub, region): (&str, &str),
    kind: &str,
    op: &str,
) -> Vec<(String, String)> {
    let base =
        format!("/subscriptions/{sub}/providers/Microsoft.Compute/locations/{region}/{kind}/{op}");
    vec![
        (
            "Azure-AsyncOperation".to_string(),
            ctx.abs(&format!("{base}?p=sandbox&api-version={}", ctx.api_version)),
        ),
        (
            "Location".to_string(),
            ctx.abs(&format!(
                "{base}?p=sandbox&monitor=true&api-version={}",
                ctx.api_version
            )),
        ),
    ]
}

fn snapshot(ctx: &Ctx<'_>, st: &mut State, v: &[String]) -> HResult {
    let (sub, rg, name) = (&v[0], &v[1], &v[2]);
    require_rg(st, sub, rg)?;
    let sk = key(&[sub, rg, name]);
    match ctx.method.as_str() {
        "GET" => find(st, ctx.now, sub, rg, name)
            .map(|s| Reply::ok(body(&s, ctx.now)))
            .ok_or_else(|| ArmError::resource_not_found("Microsoft.Compute/snapshots", rg, name)),
        "PATCH" => {
            let req = ctx.json()?;
            let Some(s) = st.snapshots.get_mut(&sk) else {
                return Err(ArmError::resource_not_found(
                    "Microsoft.Compute/snapshots",
                    rg,
                    name,
                ));
            };
            if let Some(t) = req.get("tags").filter(|t| t.is_object()) {
                s.tags = t.clone();
            }
            Ok(Reply::ok(body(s, ctx.now)).mutated())
        }
        "PUT" => {
            let req = ctx.json()?;
            if let Some(existing) = st.snapshots.get(&sk) {
                // Re-PUT: tags only (the source cannot change).
                let mut s = existing.clone();
                if let Some(t) = req.get("tags").filter(|t| t.is_object()) {
                    s.tags = t.clone();
                }
                let b = body(&s, ctx.now);
                st.snapshots.insert(sk, s);
                return Ok(Reply::ok(b).mutated());
            }
            let p = &req["properties"];
            let co = p["creationData"]["createOption"].as_str().unwrap_or("");
            if !co.eq_ignore_ascii_case("Copy") {
                return Err(bad(format!("The sandbox supports createOption 'Copy' from a managed disk only, not '{co}'.")));
            }
            let src = p["creationData"]["sourceResourceId"].as_str().unwrap_or("");
            let Some((dsub, drg, dname)) = parse_disk_id(src) else {
                return Err(bad(format!(
                    "sourceResourceId '{src}' is not a managed disk id."
                )));
            };
            let Some(d) = st.disks.get(&key(&[&dsub, &drg, &dname])).cloned() else {
                return Err(ArmError::not_found(
                    "NotFound",
                    format!("Resource {src} is not found."),
                ));
            };
            let location = super::handler::required_location(&req)?;
            if location != d.location {
                return Err(bad(format!(
                    "The snapshot must be created in the source disk's region '{}'.",
                    d.location
                ))); // Not in the recordings or specs: see README "Known to differ".
            }
            let incremental = p["incremental"].as_bool().unwrap_or(false);
            if incremental {
                if !dsub.eq_ignore_ascii_case(sub) {
                    // Not in the recordings or specs: see README "Known to differ".
                    return Err(bad("Incremental snapshots cannot be created in a subscription other than the source disk's."));
                }
                let did = disk_id(&d.subscription, &d.resource_group, &d.name).to_ascii_lowercase();
                let of_disk: Vec<Snapshot> = all(st, ctx.now)
                    .into_iter()
                    .filter(|s| s.incremental && s.source_id.to_ascii_lowercase() == did)
                    .collect();
                if of_disk.len() >= MAX_PER_DISK {
                    // Not in the recordings or specs: see README "Known to differ".
                    return Err(ArmError::conflict("OperationNotAllowed", format!("The disk already has {MAX_PER_DISK} incremental snapshots, the maximum. Delete older snapshots first.")));
                }
                let window = ctx.scaled(BURST_WINDOW_SECS);
                let recent = st
                    .snapshots
                    .values()
                    .filter(|s| {
                        s.incremental
                            && s.source_id.to_ascii_lowercase() == did
                            && ctx.now - s.created_ms < window
                    })
                    .count();
                if recent >= BURST {
                    // Not in the recordings or specs: see README "Known to differ".
                    return Err(ArmError::conflict("OperationNotAllowed", format!("At most {BURST} incremental snapshots of a disk can be created every five minutes. Retry later.")));
                }
            }
            let sku = if incremental {
                "Standard_LRS".to_string()
            } else {
                req["sku"]["name"]
                    .as_str()
                    .unwrap_or("Standard_LRS")
                    .to_string()
            };
            let rgc = st
                .rg(sub, rg)
                .map(|r| r.name.clone())
                .unwrap_or_else(|| rg.to_string());
            let s = Snapshot {
                subscription: sub.clone(),
                resource_group: rgc,
                name: name.clone(),
                location: location.clone(),
                tags: req
                    .get("tags")
                    .filter(|t| t.is_object())
                    .cloned()
                    .unwrap_or(json!({})),
                source_id: disk_id(&d.subscription, &d.resource_group, &d.name),
                source_unique_id: d.unique_id.clone(),
                size_gb: d.size_gb,
                incremental,
                sku,
                created_ms: ctx.now,
                ready_ms: ctx.now + ctx.scaled(SNAPSHOT_PUT),
            };
            let op = start(
                ctx,
                st,
                "snapshot:put",
                SNAPSHOT_PUT,
                Some(format!("snap:{sk}")),
                "resource",
            );
            let id = snapshot_id(&s.subscription, &s.resource_group, &s.name);
            st.snapshots.insert(sk, s);
            let b = accepted_body(&req, &id, name, "Microsoft.Compute/snapshots", &location);
            Ok(Reply::status(202, Some(b))
                .headers(op_headers(ctx, (sub, &location), "DiskOperations", &op))
                .mutated())
        }
        "DELETE" => {
            let Some(s) = st.snapshots.remove(&sk) else {
                if find(st, ctx.now, sub, rg, name).is_some() {
                    // UNCONFIRMED: Azure Backup holds a lock on its snapshots.
                    return Err(ArmError::conflict(
                        "ScopeLocked",
                        "The snapshot is managed by Azure Backup and cannot be deleted directly.",
                    ));
                }
                return Ok(Reply::status(204, None));
            };
            let op = start(ctx, st, "snapshot:delete", DELETE, None, "empty");
            Ok(Reply::status(202, None)
                .headers(op_headers(ctx, (sub, &s.location), "DiskOperations", &op))
                .mutated())
        }
        m => Err(ArmError::method_not_allowed(m)),
    }
}

fn disk(ctx: &Ctx<'_>, st: &mut State, v: &[String]) -> HResult {
    let (sub, rg, name) = (&v[0], &v[1], &v[2]);
    require_rg(st, sub, rg)?;
    let dk = key(&[sub, rg, name]);
    let existing = st.disks.get(&dk).cloned();
    if let (Some(vm), "DELETE") = (
        existing.as_ref().and_then(|d| d.managed_by.as_deref()),
        ctx.method.as_str(),
    ) {
        // ansible/ansible#54644 (an Azure answer quoted in a test log): "OperationNotAllowed —
        // Disk <name> is attached to VM <id>."
        return Err(ArmError::conflict(
            "OperationNotAllowed",
            format!("Disk {name} is attached to VM {vm}."),
        ));
    }
    if ctx.method != "DELETE"
        && existing
            .as_ref()
            .is_some_and(|d| d.source_resource_id.is_none())
    {
        return Err(ArmError::bad_request(
            "OperationNotAllowed",
            "The sandbox's inventory disks are read-only.",
        ));
    }
    match ctx.method.as_str() {
        "PUT" | "PATCH" => {
            let req = ctx.json()?;
            if let Some(mut d) = existing {
                if let Some(t) = req.get("tags").and_then(|t| t.as_object()) {
                    d.tags = t
                        .iter()
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                        .collect();
                }
                let b = super::compute::disk_body(&d);
                st.disks.insert(dk, d);
                return Ok(Reply::ok(b).mutated());
            }
            if ctx.method == "PATCH" {
                return Err(ArmError::resource_not_found(
                    "Microsoft.Compute/disks",
                    rg,
                    name,
                ));
            }
            let p = &req["properties"];
            let co = p["creationData"]["createOption"].as_str().unwrap_or("");
            let src = p["creationData"]["sourceResourceId"].as_str().unwrap_or("");
            // Recording: azure-cli/test_snapshot_incremental.yaml #1 — `disk create --size-gb`
            // PUTs `createOption: Empty` with `diskSizeGB` and gets 202 + DiskOperations headers.
            let empty = co.eq_ignore_ascii_case("Empty");
            if !empty && !co.eq_ignore_ascii_case("Copy") {
                return Err(bad(format!("The sandbox creates empty disks and disks from snapshots (createOption 'Empty' or 'Copy'), not '{co}'.")));
            }
            let (location, size, source) = if empty {
                let location = super::handler::required_location(&req)?;
                let Some(size) = p["diskSizeGB"].as_u64().filter(|s| *s > 0) else {
                    // Not in the recordings or specs: see README "Known to differ".
                    return Err(bad("diskSizeGB is required when createOption is 'Empty'."));
                };
                (location, size as u32, None)
            } else {
                let sp: Vec<&str> = src.trim_matches('/').split('/').collect();
                let snap = if sp.len() == 8 && sp[6].eq_ignore_ascii_case("snapshots") {
                    find(st, ctx.now, sp[1], sp[3], sp[7])
                } else {
                    None
                };
                let Some(snap) = snap else {
                    return Err(ArmError::not_found(
                        "NotFound",
                        format!("Resource {src} is not found."),
                    ));
                };
                if ctx.now < snap.ready_ms {
                    // Not in the recordings or specs: see README "Known to differ".
                    return Err(ArmError::conflict(
                    "OperationNotAllowed",
                    "The source snapshot is not ready yet (completionPercent < 100). Retry later.",
                ));
                }
                let location = req["location"]
                    .as_str()
                    .map(normalize_location)
                    .unwrap_or_default();
                if location != snap.location {
                    return Err(bad(format!(
                        "The disk must be created in the snapshot's region '{}'.",
                        snap.location
                    ))); // Not in the recordings or specs: see README "Known to differ".
                }
                let size = p["diskSizeGB"]
                    .as_u64()
                    .map(|x| x as u32)
                    .unwrap_or(snap.size_gb);
                if size < snap.size_gb {
                    return Err(bad(format!(
                        "Disk size {size} GB is smaller than the source snapshot's {} GB.",
                        snap.size_gb
                    )));
                }
                let source = snapshot_id(&snap.subscription, &snap.resource_group, &snap.name);
                (location, size, Some(source))
            };
            let id = disk_id(sub, rg, name);
            let rgc = st
                .rg(sub, rg)
                .map(|r| r.name.clone())
                .unwrap_or_else(|| rg.to_string());
            let d = Disk {
                subscription: sub.clone(),
                resource_group: rgc,
                name: name.clone(),
                location: location.clone(),
                size_gb: size,
                sku: req["sku"]["name"]
                    .as_str()
                    .unwrap_or("Standard_LRS")
                    .to_string(),
                zone: req["zones"][0].as_str().map(|s| s.to_string()),
                tags: req["tags"]
                    .as_object()
                    .map(|t| {
                        t.iter()
                            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                            .collect()
                    })
                    .unwrap_or_default(),
                unique_id: stable_guid(&id),
                os_type: None,
                managed_by: None,
                time_created: lro::fmt_time(ctx.now),
                source_resource_id: source,
            };
            let op = start(
                ctx,
                st,
                "disk:put",
                DISK_PUT,
                Some(format!("disk:{dk}")),
                "resource",
            );
            st.disks.insert(dk, d);
            let b = accepted_body(&req, &id, name, "Microsoft.Compute/disks", &location);
            Ok(Reply::status(202, Some(b))
                .headers(op_headers(ctx, (sub, &location), "DiskOperations", &op))
                .mutated())
        }
        "DELETE" => {
            let Some(d) = st.disks.remove(&dk) else {
                return Ok(Reply::status(204, None));
            };
            let op = start(ctx, st, "disk:delete", DELETE, None, "empty");
            Ok(Reply::status(202, None)
                .headers(op_headers(ctx, (sub, &d.location), "DiskOperations", &op))
                .mutated())
        }
        m => Err(ArmError::method_not_allowed(m)),
    }
}

fn disk_op(ctx: &Ctx<'_>, st: &mut State, v: &[String]) -> HResult {
    if ctx.method != "GET" {
        return Err(ArmError::method_not_allowed(&ctx.method));
    }
    let Some(op) = lro::find(st, &v[2]).cloned() else {
        return Err(ArmError::not_found(
            "NotFound",
            format!("The operation '{}' was not found.", v[2]),
        ));
    };
    let phase = lro::phase(&op, ctx.now);
    let output = match op.target_key.as_deref() {
        Some(t) if t.starts_with("snap:") => st.snapshots.get(&t[5..]).map(|s| body(s, ctx.now)),
        Some(t) if t.starts_with("disk:") => st.disks.get(&t[5..]).map(super::compute::disk_body),
        _ => None,
    };
    if ctx.q("monitor").is_some() {
        return Ok(match (phase, output) {
            (Phase::Running, _) => Reply::status(202, None),
            (_, Some(b)) => Reply::ok(b),
            (_, None) => Reply::status(200, None),
        });
    }
    let mut b = json!({
        "name": op.id,
        "status": lro::status_str(phase),
        "startTime": lro::fmt_time(op.start_ms),
    });
    if phase == Phase::Running {
        return Ok(Reply::ok(b));
    }
    b["endTime"] = json!(lro::fmt_time(op.start_ms + op.duration_ms));
    if let Some(o) = output {
        b["properties"] = json!({"output": o});
    }
    Ok(Reply::ok(b))
}
