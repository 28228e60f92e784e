//! Apply's lease on a vault: the tag `azprotect-lease` that says which apply is changing the
//! vault, since when and until when. azprotect has no state file to lock (Terraform's answer to
//! concurrent applies), so it leases what it writes — each Recovery Services or Backup vault —
//! where any ARM client can see it (the portal shows it as a tag).
//!
//! The tag is written and removed through ARM's Tags API at the vault's scope
//! (`{vault}/providers/Microsoft.Resources/tags/default`): `PATCH` with `operation: Merge` adds
//! or replaces only that tag, `operation: Delete` with the name/value pair removes only that tag
//! — other tags, and the vault itself, are untouched (Tags_UpdateAtScope, specification/resources
//! …/Microsoft.Resources/stable/2021-04-01 and its example PatchTagsResource.json; the Tags API
//! is not in `../shared/azure-rest-specs/`).
//!
//! The tag is apply's bookkeeping, never configuration: [`strip`] removes it from a vault's live
//! attributes (so it is never diffed, never in a saved plan's fingerprint), and writes of a
//! vault's tags carry it along while apply holds the lease (`apply::lease`).
//!
//! Pure: the value's format, expiry, and the requests. Taking and keeping leases is
//! `apply::lease`.

use super::{ArmId, ArmRequest};
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// The tag's name.
pub const TAG: &str = "azprotect-lease";

/// One apply's lease: who holds it, since when, until when (it expires then unless renewed), and
/// an id unique to the apply that tells two holders with the same name apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub owner: String,
    pub since: OffsetDateTime,
    pub until: OffsetDateTime,
    pub id: String,
}

/// Separates the fields of the tag's value (none of them contains it: owners are cleaned).
const SEP: &str = " | ";

impl Lease {
    /// The tag's value: `alice@build-7 | since 2026-12-05T18:00:00Z | until 2026-12-05T18:10:00Z
    /// | 3f2a…`. At most 256 characters (Azure's limit on a tag value): the owner is cut.
    pub fn value(&self) -> String {
        let owner: String = clean_owner(&self.owner).chars().take(120).collect();
        format!(
            "{owner}{SEP}since {}{SEP}until {}{SEP}{}",
            fmt(self.since),
            fmt(self.until),
            self.id
        )
    }

    /// A lease from a tag's value; `None` for a value azprotect did not write.
    pub fn parse(value: &str) -> Option<Lease> {
        let parts: Vec<&str> = value.split(SEP).collect();
        let [owner, since, until, id] = parts.as_slice() else {
            return None;
        };
        let time = |s: &str, prefix: &str| {
            s.strip_prefix(prefix)
                .and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok())
        };
        Some(Lease {
            owner: owner.to_string(),
            since: time(since, "since ")?,
            until: time(until, "until ")?,
            id: id.to_string(),
        })
    }

    /// Past its `until`: its holder stopped renewing it (ended without releasing, e.g. killed).
    pub fn expired(&self, now: OffsetDateTime) -> bool {
        now >= self.until
    }

    /// "alice@build-7 since 2026-12-05T18:00:00Z (until 2026-12-05T18:10:00Z)".
    pub fn describe(&self) -> String {
        format!(
            "{} since {} (until {})",
            self.owner,
            fmt(self.since),
            fmt(self.until)
        )
    }
}

fn fmt(t: OffsetDateTime) -> String {
    t.replace_nanosecond(0)
        .unwrap_or(t)
        .format(&Rfc3339)
        .unwrap_or_default()
}

/// An owner as it can stand in the tag: no separator, no characters tag values cannot hold.
fn clean_owner(owner: &str) -> String {
    let o: String = owner
        .chars()
        .map(|c| if c.is_control() || c == '|' { ' ' } else { c })
        .collect();
    let o = o.trim();
    if o.is_empty() {
        "azprotect".into()
    } else {
        o.to_string()
    }
}

/// The vault a resource lives in (its id up to `…/vaults/{name}` or `…/backupVaults/{name}`),
/// or `None` for a resource outside any vault (resource groups, role assignments).
pub fn vault_of(id: &ArmId) -> Option<ArmId> {
    let segs: Vec<&str> = id.as_str().trim_start_matches('/').split('/').collect();
    let at = segs.windows(4).position(|w| {
        w[0].eq_ignore_ascii_case("providers")
            && ((w[1].eq_ignore_ascii_case("Microsoft.RecoveryServices")
                && w[2].eq_ignore_ascii_case("vaults"))
                || (w[1].eq_ignore_ascii_case("Microsoft.DataProtection")
                    && w[2].eq_ignore_ascii_case("backupVaults")))
    })?;
    // …/resourceGroups/{rg}/providers/{ns}/{type}/{name}: at most 8 segments from the start.
    (at == 4).then(|| ArmId::new(format!("/{}", segs[..at + 4].join("/"))))
}

/// A vault's address (`recovery_vault.NAME`, `backup_vault.NAME`) from its id.
pub fn vault_address(vault: &ArmId) -> super::Address {
    let kind = if vault
        .as_str()
        .to_ascii_lowercase()
        .contains("/providers/microsoft.dataprotection/")
    {
        super::ResourceKind::BackupVault
    } else {
        super::ResourceKind::RecoveryVault
    };
    super::Address::new(kind, vault.name())
}

/// `GET` the tags of `scope`: `{"properties": {"tags": {…}}}`.
pub fn read_request(scope: &ArmId) -> ArmRequest {
    super::tags::read_request(scope)
}

/// Add (or replace) the lease tag on `scope`, leaving its other tags as they are.
pub fn merge_request(scope: &ArmId, value: &str) -> ArmRequest {
    super::tags::merge_request(scope, TAG, value)
}

/// Remove the lease tag from `scope` if it still has this value.
pub fn delete_request(scope: &ArmId, value: &str) -> ArmRequest {
    super::tags::delete_request(scope, TAG, value)
}

/// The lease tag's value in a tags object (the name compared case-insensitively, as ARM does).
pub fn value_in(tags: &Value) -> Option<&str> {
    tags.as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(TAG))
        .and_then(|(_, v)| v.as_str())
}

/// The lease tag's value in a Tags API answer (`{"properties": {"tags": {…}}}`).
pub fn value_in_answer(answer: &Value) -> Option<&str> {
    value_in(&answer["properties"]["tags"])
}

/// `tags` without the lease tag.
pub fn strip(tags: &mut Value) {
    if let Some(t) = tags.as_object_mut() {
        t.retain(|k, _| !k.eq_ignore_ascii_case(TAG));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Method;
    use serde_json::json;
    use time::macros::datetime;

    fn lease() -> Lease {
        Lease {
            owner: "alice@build-7".into(),
            since: datetime!(2026-12-05 18:00:00 UTC),
            until: datetime!(2026-12-05 18:10:00 UTC),
            id: "3f2a".into(),
        }
    }

    #[test]
    fn a_lease_reads_back_from_its_tag_and_says_who_holds_it() {
        let l = lease();
        let v = l.value();
        assert_eq!(
            v,
            "alice@build-7 | since 2026-12-05T18:00:00Z | until 2026-12-05T18:10:00Z | 3f2a"
        );
        assert_eq!(Lease::parse(&v), Some(l.clone()));
        assert_eq!(
            l.describe(),
            "alice@build-7 since 2026-12-05T18:00:00Z (until 2026-12-05T18:10:00Z)"
        );
        assert!(!l.expired(datetime!(2026-12-05 18:09:59 UTC)));
        assert!(l.expired(datetime!(2026-12-05 18:10:00 UTC)));
        for foreign in [
            "",
            "someone's note",
            "a | b | c | d",
            "x | since y | until z | w",
        ] {
            assert_eq!(Lease::parse(foreign), None, "{foreign:?}");
        }
    }

    #[test]
    fn the_value_fits_a_tag_whatever_the_owner() {
        let l = Lease {
            owner: format!("{}|\n{}", "o".repeat(300), "p"),
            ..lease()
        };
        let v = l.value();
        assert!(
            v.chars().count() <= crate::model::tags::MAX_VALUE_CHARS,
            "{v}"
        );
        assert!(crate::model::tags::value_problem(&v).is_none());
        let back = Lease::parse(&v).expect("parses");
        assert_eq!(back.id, "3f2a");
        assert!(!back.owner.contains('|'));
    }

    #[test]
    fn resources_are_leased_through_their_vault() {
        let rs = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/v";
        let dp =
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.DataProtection/backupVaults/b";
        for (id, vault) in [
            (rs.to_string(), Some(rs)),
            (format!("{rs}/backupPolicies/gold"), Some(rs)),
            (
                format!("{rs}/replicationFabrics/f/replicationProtectionContainers/c"),
                Some(rs),
            ),
            (format!("{dp}/backupInstances/i"), Some(dp)),
            ("/subscriptions/s/resourceGroups/rg".to_string(), None),
            (
                "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/disks/d/providers/Microsoft.Authorization/roleAssignments/r"
                    .to_string(),
                None,
            ),
        ] {
            assert_eq!(
                vault_of(&ArmId::new(&id)).map(|v| v.as_str().to_string()),
                vault.map(str::to_string),
                "{id}"
            );
        }
    }

    #[test]
    fn the_requests_touch_only_the_lease_tag() {
        let v = ArmId::new(
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/v",
        );
        let m = merge_request(&v, "x");
        assert_eq!(m.method, Method::Patch);
        assert_eq!(
            m.path,
            format!("{v}/providers/Microsoft.Resources/tags/default?api-version=2021-04-01")
        );
        assert_eq!(
            m.body,
            Some(json!({"operation": "Merge", "properties": {"tags": {"azprotect-lease": "x"}}}))
        );
        assert_eq!(delete_request(&v, "x").body.unwrap()["operation"], "Delete");
        let mut tags = json!({"Azprotect-Lease": "x", "env": "prod"});
        assert_eq!(value_in(&tags), Some("x"));
        strip(&mut tags);
        assert_eq!(tags, json!({"env": "prod"}));
    }
}
