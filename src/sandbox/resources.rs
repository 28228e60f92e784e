//! Microsoft.Resources: subscriptions (read-only) and resource groups (PUT/GET/HEAD/PATCH tags,
//! DELETE as a 202 LRO polled at `/subscriptions/{s}/operationresults/{id}`).

use serde_json::{json, Value};

use super::errors::ArmError;
use super::handler::{Ctx, HResult, Reply};
use super::lro::{self, durations, NewOp, Phase};
use super::state::{key, ResourceGroup, State};

pub const API_VERSIONS: &[&str] = &[
    "2019-10-01",
    "2020-01-01",
    "2020-06-01",
    "2020-10-01",
    "2021-01-01",
    "2021-04-01",
    "2022-01-01",
    "2022-09-01",
    "2022-12-01",
    "2023-07-01",
    "2024-03-01",
    "2024-07-01",
    "2024-11-01",
    "2025-03-01",
    "2025-04-01",
];

fn rg_body(rg: &ResourceGroup) -> Value {
    json!({
        "id": format!("/subscriptions/{}/resourceGroups/{}", rg.subscription, rg.name),
        "name": rg.name,
        "type": "Microsoft.Resources/resourceGroups",
        "location": rg.location,
        "tags": rg.tags,
        "properties": {"provisioningState": "Succeeded"},
    })
}

fn sub_body(st: &State, sub: &str) -> Value {
    let tenant = &st.identity.tenant_id;
    json!({
        "id": format!("/subscriptions/{sub}"),
        "authorizationSource": "RoleBased",
        "managedByTenants": [],
        "subscriptionId": sub,
        "tenantId": tenant,
        "displayName": st.tenancy.name_of(sub),
        "state": "Enabled",
        "subscriptionPolicies": {"locationPlacementId": "Public_2014-09-01", "quotaId": "PayAsYouGo_2014-09-01", "spendingLimit": "Off"},
    })
}

pub fn route(ctx: &Ctx<'_>, st: &mut State) -> HResult {
    ctx.require_api(API_VERSIONS)?;
    let m = ctx.method.as_str();
    if ctx.m("subscriptions").is_some() {
        if m != "GET" {
            return Err(ArmError::method_not_allowed(m));
        }
        // Only the subscriptions the caller holds a role on (Microsoft Learn, "Subscriptions -
        // List": "Gets all subscriptions for a tenant" the caller can access), paged like every
        // ARM list.
        let items = st
            .subscriptions
            .iter()
            .filter(|s| st.tenancy.readable(s))
            .map(|s| sub_body(st, s))
            .collect();
        return Ok(Reply::ok(ctx.page(items, false)));
    }
    if let Some(v) = ctx.m("subscriptions/*") {
        return match m {
            "GET" => Ok(Reply::ok(sub_body(st, &canonical_sub(st, &v[0])))),
            _ => Err(ArmError::method_not_allowed(m)),
        };
    }
    if let Some(v) = ctx.m("subscriptions/*/resourcegroups") {
        if m != "GET" {
            return Err(ArmError::method_not_allowed(m));
        }
        let items: Vec<Value> = st
            .resource_groups
            .values()
            .filter(|rg| rg.subscription.eq_ignore_ascii_case(&v[0]))
            .map(rg_body)
            .collect();
        return Ok(Reply::ok(ctx.page(items, false)));
    }
    if let Some(v) = ctx.m("subscriptions/*/resourcegroups/*") {
        return resource_group(ctx, st, &v[0], &v[1]);
    }
    if let Some(v) = ctx.m("subscriptions/*/operationresults/*") {
        let Some(op) = lro::find(st, &v[1]) else {
            return Err(ArmError::not_found(
                "OperationNotFound",
                format!("The operation '{}' could not be found.", v[1]),
            ));
        };
        return Ok(match lro::phase(op, ctx.now) {
            Phase::Running => Reply::status(202, None).header(
                "Location",
                ctx.abs(&ctx.raw_path) + "?api-version=" + &ctx.api_version,
            ),
            Phase::Succeeded => Reply::status(200, None),
            Phase::Failed => {
                let e = op.error.clone().unwrap_or_default();
                let err = ArmError::new(
                    409,
                    e["code"].as_str().unwrap_or("ResourceGroupDeletionBlocked"),
                    e["message"]
                        .as_str()
                        .unwrap_or("Deletion of resource group failed."),
                );
                return Err(err);
            }
        });
    }
    Err(ArmError::no_route(&ctx.raw_path))
}

fn canonical_sub(st: &State, sub: &str) -> String {
    st.subscriptions
        .iter()
        .find(|s| s.eq_ignore_ascii_case(sub))
        .cloned()
        .unwrap_or_else(|| sub.to_string())
}

fn parse_tags(v: &Value) -> Result<std::collections::BTreeMap<String, String>, ArmError> {
    match v {
        Value::Null => Ok(Default::default()),
        Value::Object(m) => m
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k.clone(), s.clone())),
                _ => Err(ArmError::bad_request(
                    "InvalidTemplate",
                    format!("The tag '{k}' must have a string value."),
                )),
            })
            .collect(),
        _ => Err(ArmError::bad_request(
            "InvalidRequestContent",
            "The 'tags' property must be an object.",
        )),
    }
}

fn resource_group(ctx: &Ctx<'_>, st: &mut State, sub: &str, name: &str) -> HResult {
    let sub = canonical_sub(st, sub);
    let k = key(&[&sub, name]);
    match ctx.method.as_str() {
        "GET" => st
            .resource_groups
            .get(&k)
            .map(|rg| Reply::ok(rg_body(rg)))
            .ok_or_else(|| ArmError::resource_group_not_found(name)),
        "HEAD" => Ok(Reply::status(
            if st.resource_groups.contains_key(&k) {
                204
            } else {
                404
            },
            None,
        )),
        "PUT" => {
            let body = ctx.json()?;
            let location = body["location"]
                .as_str()
                .map(super::inventory::normalize_location)
                .unwrap_or_default();
            if location.is_empty() {
                return Err(ArmError::bad_request(
                    "LocationRequired",
                    "The location property is required for this definition.",
                ));
            }
            let valid = !name.is_empty()
                && name.len() <= 90
                && !name.ends_with('.')
                && name
                    .chars()
                    .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | '(' | ')'));
            if !valid {
                return Err(ArmError::bad_request("InvalidResourceGroup", format!("The provided resource group name '{name}' has these invalid characters: '{name}'. The name can only be a letter, digit, '-', '.', '(', ')' or '_'.")));
            }
            let tags = parse_tags(&body["tags"])?;
            if let Some(rg) = st.resource_groups.get_mut(&k) {
                if rg.location != location {
                    return Err(ArmError::conflict("InvalidResourceGroupLocation", format!("Invalid resource group location '{location}'. The Resource group already exists in location '{}'.", rg.location)));
                }
                rg.tags = tags;
                return Ok(Reply::ok(rg_body(rg)).mutated());
            }
            let rg = ResourceGroup {
                subscription: sub.clone(),
                name: name.to_string(),
                location,
                tags,
            };
            let b = rg_body(&rg);
            st.resource_groups.insert(k, rg);
            Ok(Reply::status(201, Some(b)).mutated())
        }
        "PATCH" => {
            let body = ctx.json()?;
            let Some(rg) = st.resource_groups.get_mut(&k) else {
                return Err(ArmError::resource_group_not_found(name));
            };
            if body.get("tags").is_some() {
                rg.tags = parse_tags(&body["tags"])?;
            }
            Ok(Reply::ok(rg_body(rg)).mutated())
        }
        "DELETE" => {
            if !st.resource_groups.contains_key(&k) {
                return Err(ArmError::resource_group_not_found(name));
            }
            let prefix = format!("{k}/");
            let blocked = st
                .vaults
                .keys()
                .filter(|vk| vk.starts_with(&prefix))
                .any(|vk| super::vaults::has_items(st, vk));
            let error = if blocked {
                Some(
                    json!({"code": "ResourceGroupDeletionBlocked", "message": format!("Deletion of resource group '{name}' failed as resources with identifiers 'Microsoft.RecoveryServices/vaults' could not be deleted. Vault cannot be deleted as there are existing resources within the vault.")}),
                )
            } else if ctx.lro_fails() {
                Some(
                    json!({"code": "InternalServerError", "message": "Deletion of the resource group failed (injected fault)."}),
                )
            } else {
                None
            };
            if error.is_none() {
                st.resource_groups.remove(&k);
                super::compute::forget_rendered_where(ctx, |kk| kk.starts_with(&prefix));
                st.vms.retain(|kk, _| !kk.starts_with(&prefix));
                st.disks.retain(|kk, _| !kk.starts_with(&prefix));
                let rid =
                    format!("/subscriptions/{sub}/resourcegroups/{name}/").to_ascii_lowercase();
                st.resources.retain(|kk, _| !kk.starts_with(&rid));
                let vault_keys: Vec<String> = st
                    .vaults
                    .keys()
                    .filter(|vk| vk.starts_with(&prefix))
                    .cloned()
                    .collect();
                for vk in vault_keys {
                    super::vaults::remove_vault(st, &vk);
                }
            }
            let op = lro::start(
                st,
                ctx.now,
                NewOp {
                    kind: "resourceGroupDelete",
                    duration_ms: ctx.scaled(durations::RESOURCE_GROUP_DELETE),
                    error,
                    vault_key: None,
                    target_key: None,
                    job_id: None,
                    result: "empty",
                },
            );
            let token = format!("RESOURCEGROUPDELETIONJOB-{}", op);
            // Keep the op id as the token (the path carries it back).
            lro::rename(st, &op, &token);
            Ok(Reply::status(202, None)
                .header(
                    "Location",
                    ctx.abs(&format!(
                        "/subscriptions/{sub}/operationresults/{token}?api-version={}",
                        ctx.api_version
                    )),
                )
                .mutated())
        }
        m => Err(ArmError::method_not_allowed(m)),
    }
}
