//! Microsoft.Management, read-only: `GET /providers/Microsoft.Management/managementGroups` (the
//! groups), `GET …/managementGroups/{id}` (one group; `$expand=children` adds its direct
//! children) and `GET …/managementGroups/{id}/descendants` (every group and subscription below
//! it, paged with `nextLink` carrying `$skiptoken`; `$top` sets the page size). Shapes from the
//! official spec, Azure/azure-rest-api-specs
//! `specification/managementgroups/resource-manager/Microsoft.Management/stable/2023-04-01/management.json`
//! and its examples `GetManagementGroup.json`, `GetDescendants.json`; documented at
//! learn.microsoft.com/rest/api/managementgroups/management-groups/get-descendants.
//! A group that does not exist answers as Azure answers one the caller may not read: 403
//! `AuthorizationFailed` "… or the scope is invalid". Above the inventory's groups is the
//! tenant root group (`tenancy::root_group`: id the tenant's, "Tenant Root Group"), the parent
//! of every top-level group and of every subscription in no group, as in every Azure tenant.
//!
//! Must not import: `plan`, `apply`, `config`, `cli`, `ops`.

use serde_json::{json, Value};

use super::errors::ArmError;
use super::handler::{Ctx, HResult, Reply};
use super::state::State;
use super::tenancy::{self, Descendant, ManagementGroup};

pub const API_VERSIONS: &[&str] = &[
    "2020-02-01",
    "2020-05-01",
    "2020-10-01",
    "2021-04-01",
    "2023-04-01",
];

const TYPE: &str = "Microsoft.Management/managementGroups";

fn group_id(id: &str) -> String {
    format!("/providers/{TYPE}/{id}")
}

/// The 403 for a group that is not there or not readable.
pub fn not_authorized(st: &State, group: &str) -> ArmError {
    ArmError::authorization_failed(
        &st.identity.client_id,
        "Microsoft.Management/managementGroups/read",
        &group_id(group),
    )
}

fn parent_ref(st: &State, g: &ManagementGroup) -> Value {
    match tenancy::parent_of(st, g) {
        Some(p) => json!({"id": group_id(&p.id), "name": p.id, "displayName": p.display_name}),
        None => Value::Null,
    }
}

fn group_body(st: &State, g: &ManagementGroup, expand_children: bool) -> Value {
    let mut props = json!({
        "tenantId": st.identity.tenant_id,
        "displayName": g.display_name,
        "details": {
            "version": 1,
            "updatedTime": "2026-01-05T08:00:00.0000000Z",
            "updatedBy": st.identity.client_id,
            "parent": parent_ref(st, g),
        },
    });
    if expand_children {
        let mut children: Vec<Value> = g
            .children
            .iter()
            .filter_map(|c| st.tenancy.groups.get(&c.to_ascii_lowercase()))
            .map(|c| json!({"type": TYPE, "id": group_id(&c.id), "name": c.id, "displayName": c.display_name}))
            .collect();
        children.extend(g.subscriptions.iter().map(|s| {
            json!({"type": "/subscriptions", "id": format!("/subscriptions/{s}"), "name": s, "displayName": st.tenancy.name_of(s)})
        }));
        props["children"] = json!(children);
    }
    json!({"id": group_id(&g.id), "type": TYPE, "name": g.id, "properties": props})
}

fn descendant_body(d: &Descendant) -> Value {
    let (id, rtype, name, display, parent) = match d {
        Descendant::Group {
            id,
            display_name,
            parent,
        } => (group_id(id), TYPE.to_string(), id, display_name, parent),
        Descendant::Subscription {
            id,
            display_name,
            parent,
        } => (
            format!("/subscriptions/{id}"),
            format!("{TYPE}/subscriptions"),
            id,
            display_name,
            parent,
        ),
    };
    json!({"id": id, "type": rtype, "name": name,
           "properties": {"displayName": display, "parent": {"id": group_id(parent)}}})
}

pub fn route(ctx: &Ctx<'_>, st: &mut State) -> HResult {
    let l = &ctx.lsegs;
    if l.len() < 3 || l[2] != "managementgroups" || l.len() > 5 {
        return Err(ArmError::no_route(&ctx.raw_path));
    }
    if ctx.method != "GET" {
        return Err(ArmError::method_not_allowed(&ctx.method));
    }
    ctx.require_api(API_VERSIONS)?;
    if l.len() == 3 {
        let root = tenancy::root_group(st);
        let items = (std::iter::once(&root).chain(st.tenancy.groups.values()))
            .map(|g| {
                json!({"id": group_id(&g.id), "type": TYPE, "name": g.id,
                       "properties": {"tenantId": st.identity.tenant_id, "displayName": g.display_name}})
            })
            .collect();
        return Ok(Reply::ok(ctx.page(items, false)));
    }
    let Some(g) = tenancy::group(st, &l[3]) else {
        return Err(not_authorized(st, &ctx.segs[3]));
    };
    if l.len() == 4 {
        let expand = ctx
            .q("$expand")
            .is_some_and(|e| e.eq_ignore_ascii_case("children"));
        return Ok(Reply::ok(group_body(st, &g, expand)));
    }
    if l[4] != "descendants" {
        return Err(ArmError::no_route(&ctx.raw_path));
    }
    let all = st.tenancy.descendants_of(&g);
    Ok(Reply::ok(page(ctx, &all)))
}

/// One page of descendants: `$top` rows (default the sandbox's page size) from `$skiptoken`.
fn page(ctx: &Ctx<'_>, all: &[Descendant]) -> Value {
    let size = ctx
        .q("$top")
        .and_then(|t| t.parse::<usize>().ok())
        .filter(|t| *t > 0)
        .unwrap_or_else(|| ctx.app.page_size.load(std::sync::atomic::Ordering::Relaxed))
        .max(1);
    let skip: usize = ctx
        .q("$skiptoken")
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let value: Vec<Value> = all
        .iter()
        .skip(skip)
        .take(size)
        .map(descendant_body)
        .collect();
    let mut out = json!({"value": value, "nextLink": null});
    let next = skip.saturating_add(size);
    if next < all.len() {
        let mut ser = url::form_urlencoded::Serializer::new(String::new());
        ser.append_pair("api-version", &ctx.api_version);
        if let Some(t) = ctx.q("$top") {
            ser.append_pair("$top", t);
        }
        ser.append_pair("$skiptoken", &next.to_string());
        out["nextLink"] = json!(format!("{}{}?{}", ctx.base, ctx.raw_path, ser.finish()));
    }
    out
}
