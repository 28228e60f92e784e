//! What `snapshot` commands take on the command line: disk and snapshot references (`rg/name`
//! or ids), names, SKUs, zones and tags, checked before anything is sent.

use super::super::ArmId;
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// The disk types Azure accepts for a managed disk (`DiskStorageAccountTypes`).
pub const DISK_SKUS: &[&str] = &[
    "Standard_LRS",
    "Premium_LRS",
    "StandardSSD_LRS",
    "UltraSSD_LRS",
    "Premium_ZRS",
    "StandardSSD_ZRS",
    "PremiumV2_LRS",
];

/// A command-line reference that cannot name what it should.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefError {
    #[error("`{raw}` is not a {what} reference: expected <resource-group>/<name> or a {what} id ({example})")]
    Malformed {
        raw: String,
        what: &'static str,
        example: &'static str,
    },
    #[error("`{raw}` is the id of a {found}, not of a {what}")]
    WrongType {
        raw: String,
        what: &'static str,
        found: String,
    },
    #[error("`{raw}` names no subscription: give the {what}'s full id, or set --subscription / AZURE_SUBSCRIPTION_ID")]
    NoSubscription { raw: String, what: &'static str },
    #[error("`{raw}` is not a valid {what} name: 1–80 letters, digits, `_`, `.` and `-`, starting with a letter or digit and ending with a letter, digit or `_`")]
    BadName { raw: String, what: &'static str },
    #[error("`{raw}` is not a valid resource group name: 1–90 letters, digits, `_`, `.`, `-`, `(` and `)`, not ending with `.`")]
    BadResourceGroup { raw: String },
    #[error("`{raw}` is not a tag: expected KEY=VALUE (a non-empty key of at most 512 characters without <>%&\\?/, a value of at most 256)")]
    BadTag { raw: String },
    #[error("{count} tags: Azure allows at most 50 on a resource")]
    TooManyTags { count: usize },
    #[error("`{raw}` is not a disk type: expected one of {}", DISK_SKUS.join(", "))]
    BadSku { raw: String },
    #[error("`{raw}` is not an availability zone: expected 1, 2 or 3")]
    BadZone { raw: String },
}

const DISK_EXAMPLE: &str =
    "/subscriptions/…/resourceGroups/<rg>/providers/Microsoft.Compute/disks/<name>";
const SNAPSHOT_EXAMPLE: &str =
    "/subscriptions/…/resourceGroups/<rg>/providers/Microsoft.Compute/snapshots/<name>, or a Disk Backup recovery point id";

fn segments(raw: &str) -> Vec<&str> {
    raw.split('/').filter(|s| !s.is_empty()).collect()
}

/// `provider/type` of a well-formed resource id (8 segments), for "is the id of a …" errors.
fn type_of(id: &str) -> Option<String> {
    let s = segments(id);
    (s.len() >= 8
        && s[0].eq_ignore_ascii_case("subscriptions")
        && s[2].eq_ignore_ascii_case("resourceGroups")
        && s[4].eq_ignore_ascii_case("providers"))
    .then(|| {
        let mut t = format!("{}/{}", s[5], s[6]);
        for pair in s[8..].chunks(2) {
            t.push('/');
            t.push_str(pair[0]);
        }
        t
    })
}

/// A Compute resource (`disks`, `snapshots`) given as `rg/name` (default subscription) or an id.
fn compute_ref(
    raw: &str,
    default_subscription: Option<&str>,
    rtype: &str,
    what: &'static str,
    example: &'static str,
) -> Result<ArmId, RefError> {
    let raw = raw.trim();
    let malformed = || RefError::Malformed {
        raw: raw.to_string(),
        what,
        example,
    };
    if raw.starts_with('/') {
        let id = ArmId::new(raw);
        if id.is_resource_of("Microsoft.Compute", rtype) {
            return Ok(id);
        }
        return Err(match type_of(raw) {
            Some(found) => RefError::WrongType {
                raw: raw.to_string(),
                what,
                found,
            },
            None => malformed(),
        });
    }
    let parts: Vec<&str> = raw.split('/').collect();
    let [rg, name] = parts.as_slice() else {
        return Err(malformed());
    };
    check_resource_group(rg)?;
    if name.is_empty() || name.chars().any(char::is_whitespace) {
        return Err(malformed());
    }
    let Some(sub) = default_subscription.filter(|s| !s.is_empty()) else {
        return Err(RefError::NoSubscription {
            raw: raw.to_string(),
            what,
        });
    };
    Ok(ArmId::new(format!(
        "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Compute/{rtype}/{name}"
    )))
}

/// `DISK`: `rg/name` in the default subscription, or a managed disk id.
pub fn disk_ref(raw: &str, default_subscription: Option<&str>) -> Result<ArmId, RefError> {
    compute_ref(
        raw,
        default_subscription,
        "disks",
        "managed disk",
        DISK_EXAMPLE,
    )
}

/// What `snapshot restore` restores from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnapshotRef {
    Snapshot(ArmId),
    /// A Disk Backup recovery point (`…/backupInstances/{bi}/recoveryPoints/{rp}`): restored
    /// from the snapshot Azure Backup took for it.
    RecoveryPoint(ArmId),
}

fn is_recovery_point(id: &str) -> bool {
    let s = segments(id);
    s.len() == 12
        && type_of(id).is_some_and(|t| {
            t.eq_ignore_ascii_case(
                "Microsoft.DataProtection/backupVaults/backupInstances/recoveryPoints",
            )
        })
}

/// `SNAPSHOT`: `rg/name`, a snapshot id, or a Disk Backup recovery point id.
pub fn snapshot_ref(
    raw: &str,
    default_subscription: Option<&str>,
) -> Result<SnapshotRef, RefError> {
    if is_recovery_point(raw.trim()) {
        return Ok(SnapshotRef::RecoveryPoint(ArmId::new(raw.trim())));
    }
    compute_ref(
        raw,
        default_subscription,
        "snapshots",
        "snapshot",
        SNAPSHOT_EXAMPLE,
    )
    .map(SnapshotRef::Snapshot)
}

/// What `snapshot list` lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListTarget {
    Disk(ArmId),
    Vault(ArmId),
    /// A Backup vault named in the configuration files.
    VaultName(String),
}

/// `DISK|VAULT`: `rg/name` or a disk id; a Backup vault id; or a Backup vault's name (no `/`).
pub fn list_target(raw: &str, default_subscription: Option<&str>) -> Result<ListTarget, RefError> {
    let t = raw.trim();
    if t.starts_with('/') {
        let id = ArmId::new(t);
        if id.is_resource_of("Microsoft.DataProtection", "backupVaults") {
            return Ok(ListTarget::Vault(id));
        }
    } else if !t.contains('/') {
        if t.is_empty() || !t.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(RefError::Malformed {
                raw: raw.to_string(),
                what: "managed disk or Backup vault",
                example: "or the name of a Backup vault in the configuration file",
            });
        }
        return Ok(ListTarget::VaultName(t.to_string()));
    }
    disk_ref(raw, default_subscription).map(ListTarget::Disk)
}

/// Azure's rule for disk and snapshot names.
pub fn check_name(name: &str, what: &'static str) -> Result<(), RefError> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-');
    let first_ok = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric());
    let last_ok = name
        .chars()
        .last()
        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
    if name.len() <= 80 && first_ok && last_ok && name.chars().all(ok_char) {
        Ok(())
    } else {
        Err(RefError::BadName {
            raw: name.to_string(),
            what,
        })
    }
}

/// Azure's rule for resource group names.
pub fn check_resource_group(rg: &str) -> Result<(), RefError> {
    let ok = !rg.is_empty()
        && rg.chars().count() <= 90
        && !rg.ends_with('.')
        && rg
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | '-' | '(' | ')'));
    if ok {
        Ok(())
    } else {
        Err(RefError::BadResourceGroup {
            raw: rg.to_string(),
        })
    }
}

/// `--sku`, case-insensitively, spelt as Azure spells it.
pub fn check_sku(raw: &str) -> Result<&'static str, RefError> {
    DISK_SKUS
        .iter()
        .find(|s| s.eq_ignore_ascii_case(raw))
        .copied()
        .ok_or_else(|| RefError::BadSku {
            raw: raw.to_string(),
        })
}

pub fn check_zone(raw: &str) -> Result<(), RefError> {
    if matches!(raw, "1" | "2" | "3") {
        Ok(())
    } else {
        Err(RefError::BadZone {
            raw: raw.to_string(),
        })
    }
}

/// `--tag KEY=VALUE`.
pub fn parse_tag(raw: &str) -> Result<(String, String), RefError> {
    let bad = || RefError::BadTag {
        raw: raw.to_string(),
    };
    let (k, v) = raw.split_once('=').ok_or_else(bad)?;
    let k = k.trim();
    use crate::model::tags::{FORBIDDEN_IN_NAMES, MAX_NAME_CHARS, MAX_VALUE_CHARS};
    if k.is_empty()
        || k.chars().count() > MAX_NAME_CHARS
        || v.chars().count() > MAX_VALUE_CHARS
        || k.chars().any(|c| FORBIDDEN_IN_NAMES.contains(&c))
    {
        return Err(bad());
    }
    Ok((k.to_string(), v.to_string()))
}

/// The tags of a snapshot azprotect takes: `created-by: azprotect`, `source-disk: <name>`, then
/// the user's (which win on the same key).
pub fn snapshot_tags(
    disk_name: &str,
    extra: &[(String, String)],
) -> Result<BTreeMap<String, String>, RefError> {
    let mut tags = BTreeMap::from([
        ("created-by".to_string(), "azprotect".to_string()),
        ("source-disk".to_string(), disk_name.to_string()),
    ]);
    tags.extend(extra.iter().cloned());
    if tags.len() > 50 {
        return Err(RefError::TooManyTags { count: tags.len() });
    }
    Ok(tags)
}

/// `<disk>-<UTC yyyymmdd-hhmmss>`, the disk part shortened so the name stays within 80
/// characters.
pub fn default_name(disk: &str, at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    let stamp = format!(
        "{:04}{:02}{:02}-{:02}{:02}{:02}",
        at.year(),
        at.month() as u8,
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    );
    let keep: String = disk.chars().take(80 - stamp.len() - 1).collect();
    format!("{keep}-{stamp}")
}
