//! The tenant around the subscriptions: their display names, the management-group tree, the
//! subscriptions the caller may not read, and the ids `generate: {subscriptions: N}` gives the
//! subscriptions it adds. Seeded from the inventory (`inventory.rs` calls [`seed_groups`]);
//! served by `resources.rs` (`GET /subscriptions`), `management_groups.rs` and `resource_graph.rs`.
//!
//! Inventory shape:
//! ```yaml
//! subscriptions:
//!   00000000-0000-0000-0000-000000000001: {name: Production}
//!   00000000-0000-0000-0000-000000000002: {name: Locked, readable: false}
//! management_groups:
//!   - id: mg-root
//!     name: Contoso
//!     children:
//!       - {id: mg-prod, name: Production, subscriptions: [00000000-0000-0000-0000-000000000001]}
//! ```
//! Must not import: `plan`, `apply`, `config`, `cli`, `ops`.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::errors::ArmError;
use super::handler::Ctx;
use super::state::State;
use super::SandboxError;

/// What the state keeps about the tenant.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct Tenancy {
    /// Display names by lower-cased subscription id (absent: [`default_name`]).
    #[serde(default)]
    pub names: BTreeMap<String, String>,
    /// Lower-cased ids of subscriptions the sandbox's caller holds no role on: `GET
    /// /subscriptions` leaves them out, Resource Graph returns none of their rows, and every
    /// route under them answers 403 `AuthorizationFailed` (a management group still lists them:
    /// reading the group is a right on the group).
    #[serde(default)]
    pub unreadable: BTreeSet<String>,
    /// Lower-cased ids of readable subscriptions Resource Graph has not indexed yet: its queries
    /// return none of their rows while ARM answers for them as usual. Resource Graph is kept
    /// current from change notifications and periodic full scans, so a new subscription or a
    /// change can reach it late (Microsoft Learn, "Azure Resource Graph overview": how Resource
    /// Graph is kept current).
    #[serde(default)]
    pub unindexed: BTreeSet<String>,
    /// Management groups by lower-cased id.
    #[serde(default)]
    pub groups: BTreeMap<String, ManagementGroup>,
}

/// One management group.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ManagementGroup {
    pub id: String,
    pub display_name: String,
    /// The parent group's id (`None`: the group is a root).
    pub parent: Option<String>,
    /// Child group ids, in inventory order.
    pub children: Vec<String>,
    /// Subscription ids directly under the group, in inventory order.
    pub subscriptions: Vec<String>,
}

impl Tenancy {
    /// A subscription's display name.
    pub fn name_of(&self, sub: &str) -> String {
        self.names
            .get(&sub.to_ascii_lowercase())
            .cloned()
            .unwrap_or_else(|| default_name(sub))
    }

    pub fn readable(&self, sub: &str) -> bool {
        !self.unreadable.contains(&sub.to_ascii_lowercase())
    }

    /// The group a subscription sits directly under, if any.
    pub fn parent_of_subscription(&self, sub: &str) -> Option<&ManagementGroup> {
        self.groups
            .values()
            .find(|g| g.subscriptions.iter().any(|s| s.eq_ignore_ascii_case(sub)))
    }

    /// Every group and subscription below `g`, depth first (a group's subscriptions, then
    /// each child group followed by what is below it), each with its direct parent's id.
    pub fn descendants_of(&self, g: &ManagementGroup) -> Vec<Descendant> {
        let mut out = Vec::new();
        self.walk(g, &mut out, 0);
        out
    }

    fn walk(&self, g: &ManagementGroup, out: &mut Vec<Descendant>, depth: usize) {
        // The tree is built from nested YAML, so it has no cycles; the bound is a backstop.
        if depth > 16 {
            return;
        }
        for s in &g.subscriptions {
            out.push(Descendant::Subscription {
                id: s.clone(),
                display_name: self.name_of(s),
                parent: g.id.clone(),
            });
        }
        for c in &g.children {
            if let Some(child) = self.groups.get(&c.to_ascii_lowercase()) {
                out.push(Descendant::Group {
                    id: child.id.clone(),
                    display_name: child.display_name.clone(),
                    parent: g.id.clone(),
                });
                self.walk(child, out, depth + 1);
            }
        }
    }
}

/// The display name Azure gives the tenant root group.
pub const ROOT_DISPLAY_NAME: &str = "Tenant Root Group";

/// The tenant root group Azure keeps above the whole hierarchy: its id is the tenant's, and it
/// is the parent of every top-level group and of every subscription in no group (Microsoft
/// Learn, "What are Azure management groups?": the root management group). Not stored: built
/// from the tree when asked for, so a state seeded before it existed serves it too.
pub fn root_group(st: &State) -> ManagementGroup {
    let t = &st.tenancy;
    ManagementGroup {
        id: st.identity.tenant_id.clone(),
        display_name: ROOT_DISPLAY_NAME.into(),
        parent: None,
        children: (t.groups.values())
            .filter(|g| g.parent.is_none())
            .map(|g| g.id.clone())
            .collect(),
        subscriptions: (st.subscriptions.iter())
            .filter(|s| t.parent_of_subscription(s).is_none())
            .cloned()
            .collect(),
    }
}

/// A management group by id (any case), the tenant root group included.
pub fn group(st: &State, id: &str) -> Option<ManagementGroup> {
    if id.eq_ignore_ascii_case(&st.identity.tenant_id) {
        return Some(root_group(st));
    }
    st.tenancy.groups.get(&id.to_ascii_lowercase()).cloned()
}

/// The parent a group shows: the one it was seeded under, or the tenant root group (`None`:
/// `g` is the root).
pub fn parent_of(st: &State, g: &ManagementGroup) -> Option<ManagementGroup> {
    if g.id.eq_ignore_ascii_case(&st.identity.tenant_id) {
        return None;
    }
    match &g.parent {
        Some(p) => group(st, p),
        None => Some(root_group(st)),
    }
}

/// One entry of a group's descendants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Descendant {
    Group {
        id: String,
        display_name: String,
        parent: String,
    },
    Subscription {
        id: String,
        display_name: String,
        parent: String,
    },
}

/// The name a subscription without `name:` shows (stable: its id's last four characters).
pub fn default_name(sub: &str) -> String {
    format!("azprotect sandbox {}", &sub[sub.len().saturating_sub(4)..])
}

/// The id of the `i`-th subscription `generate: {subscriptions: N}` adds (1-based; the first
/// subscription of the spread is the inventory's first).
pub fn generated_subscription(i: u32) -> String {
    format!("00000000-0000-0000-0001-{i:012}")
}

/// The display name of that subscription.
pub fn generated_name(i: u32) -> String {
    format!("sub-gen-{i:03}")
}

/// The 403 for any request under a subscription the caller holds no role on, naming the action
/// it lacks as ARM does (`{namespace}/{type}/read|write|delete|action`).
pub fn no_role(ctx: &Ctx<'_>, st: &State) -> ArmError {
    let segs = &ctx.segs;
    let action = match ctx.lsegs.iter().rposition(|s| s == "providers") {
        Some(p) if p + 1 < segs.len() => {
            let types: Vec<&str> = segs[p + 2..]
                .iter()
                .step_by(2)
                .map(String::as_str)
                .collect();
            format!("{}/{}", segs[p + 1], types.join("/"))
        }
        _ if ctx.lsegs.len() > 2 => "Microsoft.Resources/subscriptions/resourceGroups".into(),
        _ => "Microsoft.Resources/subscriptions".into(),
    };
    let verb = match ctx.method.as_str() {
        "GET" | "HEAD" => "read",
        "DELETE" => "delete",
        "POST" => "action",
        _ => "write",
    };
    let scope = format!("/{}", segs.join("/"));
    ArmError::authorization_failed(&st.identity.client_id, &format!("{action}/{verb}"), &scope)
}

/// A management group as the inventory writes it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupInv {
    id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    subscriptions: Vec<String>,
    #[serde(default)]
    children: Vec<GroupInv>,
}

fn err(path: &str, message: impl Into<String>) -> SandboxError {
    SandboxError::Inventory {
        path: path.to_string(),
        message: message.into(),
    }
}

/// Add the inventory's management-group trees (each subscription must be known, and sit in
/// at most one group; group ids are unique).
pub fn seed_groups(st: &mut State, path: &str, roots: &[GroupInv]) -> Result<(), SandboxError> {
    for g in roots {
        add_group(st, path, g, None)?;
    }
    Ok(())
}

fn add_group(
    st: &mut State,
    path: &str,
    g: &GroupInv,
    parent: Option<&str>,
) -> Result<(), SandboxError> {
    // Management group ids: up to 90 characters of letters, digits, -, _, (, ), . (the
    // group's `name`; Microsoft Learn, "Create management groups").
    let ok = !g.id.is_empty()
        && g.id.len() <= 90
        && g.id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '(' | ')' | '.'));
    if !ok {
        return Err(err(
            path,
            format!("management group id '{}' is not valid", g.id),
        ));
    }
    if g.id.eq_ignore_ascii_case(super::TENANT_ID) {
        return Err(err(
            path,
            format!(
                "management group id '{}' is the tenant's: the tenant root group has it (it is there already, above every group)",
                g.id
            ),
        ));
    }
    let k = g.id.to_ascii_lowercase();
    if st.tenancy.groups.contains_key(&k) {
        return Err(err(
            path,
            format!("management group '{}' appears twice", g.id),
        ));
    }
    for s in &g.subscriptions {
        if !st.subscription_known(s) {
            return Err(err(
                path,
                format!(
                    "management group '{}' lists subscription '{s}', which `subscriptions` does not",
                    g.id
                ),
            ));
        }
        if let Some(other) = st.tenancy.parent_of_subscription(s) {
            return Err(err(
                path,
                format!(
                    "subscription '{s}' is under management group '{}' already",
                    other.id
                ),
            ));
        }
    }
    st.tenancy.groups.insert(
        k,
        ManagementGroup {
            id: g.id.clone(),
            display_name: g.name.clone().unwrap_or_else(|| g.id.clone()),
            parent: parent.map(str::to_string),
            children: g.children.iter().map(|c| c.id.clone()).collect(),
            subscriptions: g.subscriptions.clone(),
        },
    );
    for c in &g.children {
        add_group(st, path, c, Some(&g.id))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::inventory::seed;
    use super::*;

    const TREE: &str = "subscriptions:\n  00000000-0000-0000-0000-000000000001: {name: Prod}\n  00000000-0000-0000-0000-000000000002: {}\n  00000000-0000-0000-0000-000000000003: {readable: false}\nmanagement_groups:\n  - id: root\n    name: Contoso\n    subscriptions: [00000000-0000-0000-0000-000000000002]\n    children:\n      - id: prod\n        subscriptions: [00000000-0000-0000-0000-000000000001]\n        children: [{id: prod-eu, subscriptions: [00000000-0000-0000-0000-000000000003]}]\n";

    #[test]
    fn descendants_walk_nested_groups_depth_first() {
        let mut st = State::default();
        seed(&mut st, TREE, "x").unwrap();
        let names: Vec<String> = group(&st, "ROOT")
            .map(|g| st.tenancy.descendants_of(&g))
            .unwrap()
            .into_iter()
            .map(|d| match d {
                Descendant::Group { id, parent, .. } => format!("g:{id}<{parent}"),
                Descendant::Subscription { id, parent, .. } => {
                    format!("s:{}<{parent}", &id[id.len() - 1..])
                }
            })
            .collect();
        assert_eq!(
            names,
            [
                "s:2<root",
                "g:prod<root",
                "s:1<prod",
                "g:prod-eu<prod",
                "s:3<prod-eu"
            ]
        );
        assert_eq!(
            st.tenancy.name_of("00000000-0000-0000-0000-000000000001"),
            "Prod"
        );
        assert!(!st.tenancy.readable("00000000-0000-0000-0000-000000000003"));
        assert_eq!(st.tenancy.groups["prod"].display_name, "prod");
    }

    #[test]
    fn a_group_naming_an_unknown_or_placed_subscription_is_an_error() {
        let unknown = "subscriptions:\n  00000000-0000-0000-0000-000000000001: {}\nmanagement_groups: [{id: g, subscriptions: [00000000-0000-0000-0000-000000000009]}]\n";
        assert!(seed(&mut State::default(), unknown, "x").is_err());
        let twice = "subscriptions:\n  00000000-0000-0000-0000-000000000001: {}\nmanagement_groups: [{id: a, subscriptions: [00000000-0000-0000-0000-000000000001]}, {id: b, subscriptions: [00000000-0000-0000-0000-000000000001]}]\n";
        assert!(seed(&mut State::default(), twice, "x").is_err());
        let dup = "subscriptions:\n  00000000-0000-0000-0000-000000000001: {}\nmanagement_groups: [{id: a}, {id: A}]\n";
        assert!(seed(&mut State::default(), dup, "x").is_err());
        // The tenant root group's id is taken: Azure creates no other group with it.
        let root = format!("subscriptions:\n  00000000-0000-0000-0000-000000000001: {{}}\nmanagement_groups: [{{id: {}}}]\n", super::super::TENANT_ID);
        let e = seed(&mut State::default(), &root, "x").unwrap_err();
        assert!(
            e.to_string().contains("the tenant root group has it"),
            "{e}"
        );
    }
}
