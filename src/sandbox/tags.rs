//! Microsoft.Resources/tags at a scope: `{scope}/providers/Microsoft.Resources/tags/default`
//! (GET, PUT, PATCH with `operation` Merge / Replace / Delete, DELETE), for the scopes the
//! sandbox keeps tags of: resource groups, Recovery Services vaults, Backup vaults, virtual
//! machines and managed disks (a restore drill marks what it creates).
//! Tags_GetAtScope / CreateOrUpdateAtScope / UpdateAtScope / DeleteAtScope of the Resources spec
//! (specification/resources/…/Microsoft.Resources/stable/2021-04-01; examples PutTagsResource,
//! PatchTagsResource: the answer is `{"id", "name": "default", "type", "properties": {"tags"}}`).
//! apply's leases use it (`model::lease`); so does `az tag update --resource-id`.
//!
//! Delete removes a tag named in the body whatever its value when the body's value is empty, and
//! only if the values are equal otherwise ("selectively deleting tags based on given names or
//! name/value pairs", UpdateAtScope's description). UNCONFIRMED: which of the two a name with a
//! different value follows in Azure.

use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

use super::errors::ArmError;
use super::handler::{Ctx, HResult, Reply};
use super::state::{key, State};

/// Where `…/providers/Microsoft.Resources/tags/default` starts in `lsegs`, if the path ends so.
pub fn provider_index(lsegs: &[String]) -> Option<usize> {
    let n = lsegs.len();
    (n >= 4
        && lsegs[n - 4] == "providers"
        && lsegs[n - 3] == "microsoft.resources"
        && lsegs[n - 2] == "tags"
        && lsegs[n - 1] == "default")
        .then(|| n - 4)
}

/// The tags of the resource at `scope` (its segments as sent, and lower-cased).
enum Scope {
    ResourceGroup(String),
    RecoveryVault(String),
    BackupVault(String),
    Vm(String),
    Disk(String),
}

fn scope_of(segs: &[String], lsegs: &[String]) -> Result<Scope, ArmError> {
    let l: Vec<&str> = lsegs.iter().map(String::as_str).collect();
    match l.as_slice() {
        ["subscriptions", _, "resourcegroups", _] => {
            Ok(Scope::ResourceGroup(key(&[&segs[1], &segs[3]])))
        }
        ["subscriptions", _, "resourcegroups", _, "providers", "microsoft.recoveryservices", "vaults", _] => {
            Ok(Scope::RecoveryVault(key(&[&segs[1], &segs[3], &segs[7]])))
        }
        ["subscriptions", _, "resourcegroups", _, "providers", "microsoft.dataprotection", "backupvaults", _] => {
            Ok(Scope::BackupVault(key(&[&segs[1], &segs[3], &segs[7]])))
        }
        ["subscriptions", _, "resourcegroups", _, "providers", "microsoft.compute", "virtualmachines", _] => {
            Ok(Scope::Vm(key(&[&segs[1], &segs[3], &segs[7]])))
        }
        ["subscriptions", _, "resourcegroups", _, "providers", "microsoft.compute", "disks", _] => {
            Ok(Scope::Disk(key(&[&segs[1], &segs[3], &segs[7]])))
        }
        _ => Err(ArmError::bad_request(
            "InvalidScope",
            format!(
                "The sandbox keeps tags of resource groups, Recovery Services vaults, Backup vaults, VMs and disks, not of '/{}'.",
                segs.join("/")
            ),
        )),
    }
}

fn not_found(segs: &[String]) -> ArmError {
    ArmError::not_found(
        "ResourceNotFound",
        format!("The resource '/{}' was not found.", segs.join("/")),
    )
}

/// The scope's tags, read.
fn read(st: &State, scope: &Scope, segs: &[String]) -> Result<Map<String, Value>, ArmError> {
    let tags = match scope {
        Scope::ResourceGroup(k) => st.resource_groups.get(k).map(|rg| strings(&rg.tags)),
        Scope::Vm(k) => st.vms.get(k).map(|vm| strings(&vm.tags)),
        Scope::Disk(k) => st.disks.get(k).map(|d| strings(&d.tags)),
        Scope::RecoveryVault(k) => st.vaults.get(k).map(|v| as_map(&v.tags)),
        Scope::BackupVault(k) => st.data_protection.vaults.get(k).map(|v| as_map(&v.tags)),
    };
    tags.ok_or_else(|| not_found(segs))
}

fn strings(tags: &BTreeMap<String, String>) -> Map<String, Value> {
    tags.iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect()
}

fn from_map(tags: Map<String, Value>) -> BTreeMap<String, String> {
    tags.into_iter()
        .map(|(k, v)| (k, v.as_str().unwrap_or_default().to_string()))
        .collect()
}

fn as_map(tags: &Value) -> Map<String, Value> {
    tags.as_object().cloned().unwrap_or_default()
}

/// Replace the scope's tags.
fn write(st: &mut State, scope: &Scope, tags: Map<String, Value>) {
    match scope {
        Scope::ResourceGroup(k) => {
            if let Some(rg) = st.resource_groups.get_mut(k) {
                rg.tags = from_map(tags);
            }
        }
        Scope::Vm(k) => {
            if let Some(vm) = st.vms.get_mut(k) {
                vm.tags = from_map(tags);
            }
        }
        Scope::Disk(k) => {
            if let Some(d) = st.disks.get_mut(k) {
                d.tags = from_map(tags);
            }
        }
        Scope::RecoveryVault(k) => {
            if let Some(v) = st.vaults.get_mut(k) {
                std::sync::Arc::make_mut(v).tags = Value::Object(tags);
            }
        }
        Scope::BackupVault(k) => {
            if let Some(v) = st.data_protection.vaults.get_mut(k) {
                v.tags = Value::Object(tags);
            }
        }
    }
}

fn answer(segs: &[String], tags: &Map<String, Value>) -> Value {
    json!({
        "id": format!("/{}", segs.join("/")),
        "name": "default",
        "type": "Microsoft.Resources/tags",
        "properties": {"tags": tags},
    })
}

/// The `properties.tags` of a request: an object of strings.
fn requested(body: &Value) -> Result<Map<String, Value>, ArmError> {
    let tags = &body["properties"]["tags"];
    let Some(t) = tags.as_object() else {
        return Err(ArmError::bad_request(
            "InvalidRequestContent",
            "The request content is missing 'properties.tags'.",
        ));
    };
    if let Some((k, _)) = t.iter().find(|(_, v)| !v.is_string()) {
        return Err(ArmError::invalid_json(format!(
            "the value of tag '{k}' must be a string"
        )));
    }
    Ok(t.clone())
}

/// Insert `k`, replacing a tag of the same name spelled in another case (tag names are
/// case-insensitive in ARM).
fn put(tags: &mut Map<String, Value>, k: &str, v: Value) {
    tags.retain(|have, _| !have.eq_ignore_ascii_case(k));
    tags.insert(k.to_string(), v);
}

pub fn route(ctx: &Ctx<'_>, st: &mut State, at: usize) -> HResult {
    ctx.require_api(super::resources::API_VERSIONS)?;
    let scope = scope_of(&ctx.segs[..at], &ctx.lsegs[..at])?;
    let segs = &ctx.segs;
    let mut tags = read(st, &scope, &ctx.segs[..at])?;
    match ctx.method.as_str() {
        "GET" => return Ok(Reply::ok(answer(segs, &tags))),
        "PUT" => tags = requested(&ctx.json()?)?,
        "PATCH" => {
            let body = ctx.json()?;
            let given = requested(&body)?;
            match body["operation"].as_str().unwrap_or_default() {
                o if o.eq_ignore_ascii_case("Merge") => {
                    for (k, v) in given {
                        put(&mut tags, &k, v);
                    }
                }
                o if o.eq_ignore_ascii_case("Replace") => tags = given,
                o if o.eq_ignore_ascii_case("Delete") => {
                    for (k, v) in given {
                        let value = v.as_str().unwrap_or_default();
                        tags.retain(|have, hv| {
                            !(have.eq_ignore_ascii_case(&k)
                                && (value.is_empty() || hv.as_str() == Some(value)))
                        });
                    }
                }
                other => {
                    return Err(ArmError::bad_request(
                        "InvalidRequestContent",
                        format!("The value '{other}' of 'operation' is not valid: use Merge, Replace or Delete."),
                    ))
                }
            }
        }
        "DELETE" => tags.clear(),
        m => return Err(ArmError::method_not_allowed(m)),
    }
    let all = Value::Object(tags);
    super::server::check_tag_set(&all)?;
    let body = answer(segs, all.as_object().expect("an object"));
    write(st, &scope, as_map(&all));
    if let Scope::Vm(k) = &scope {
        super::compute::forget_rendered(ctx, k);
    }
    Ok(Reply::ok(body).mutated())
}
