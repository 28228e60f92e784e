//! `disk_policy.<vault>/<name>` — an AzureDisk backup policy (operational tier, incremental
//! snapshots on a schedule, kept for a retention period).

use super::versioned;
use crate::model::family::{Family, Ownership};
use crate::model::{Action, ResourceKind};
use crate::model::{ArmId, ArmRequest, Method, Resource};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// The intervals Azure accepts, as ISO 8601 durations.
pub const EVERY: &[(&str, &str)] = &[
    ("1h", "PT1H"),
    ("2h", "PT2H"),
    ("4h", "PT4H"),
    ("6h", "PT6H"),
    ("8h", "PT8H"),
    ("12h", "PT12H"),
    ("1d", "P1D"),
];

/// `every` in the file's spelling (`1h`, `2h`, `4h`, `6h`, `8h`, `12h`, `1d`) as hours; anything
/// else → `None`. The one parser of it: the config validator (`parse_every`) and `status` (a
/// live policy's interval) both use it.
pub fn every_hours(every: &str) -> Option<u32> {
    EVERY.iter().find(|(k, _)| *k == every)?;
    match every {
        "1d" => Some(24),
        h => h.strip_suffix('h')?.parse().ok(),
    }
}

/// `{name}-{first 6 hex of sha256(attributes)}`: a changed policy gets a new ARM name, because
/// Azure cannot update a disk backup policy in place.
pub fn arm_name(name: &str, attrs: &Value) -> String {
    let digest = Sha256::digest(attrs.to_string().as_bytes());
    format!("{name}-{}", &hex::encode(digest)[..6])
}

/// The file's name of the live policy `live_name` with (normalized) attributes `attrs`: the
/// name it was declared under when azprotect made it — when `live_name` is exactly
/// `arm_name(base, attrs)` — else its own name. A name that only looks hashed (a portal
/// policy `nightly-202401` or `backup-abcdef`) is someone else's and keeps its name.
pub fn file_name<'a>(live_name: &'a str, attrs: &Value) -> &'a str {
    match live_name.rsplit_once('-') {
        Some((base, _)) if arm_name(base, attrs).eq_ignore_ascii_case(live_name) => base,
        _ => live_name,
    }
}

pub fn arm_id(vault: &ArmId, name: &str, attrs: &Value) -> ArmId {
    vault.child(&["backupPolicies", &arm_name(name, attrs)])
}

/// PUT (create only) of the policy.
pub fn put_request(r: &Resource) -> ArmRequest {
    let a = &r.attrs;
    let every = a["every"].as_str().unwrap_or("4h");
    let period = EVERY
        .iter()
        .find(|(k, _)| *k == every)
        .map_or("PT4H", |(_, v)| v);
    let start = a["start"].as_str().unwrap_or("00:00");
    let days = a["retention"]
        .as_str()
        .and_then(|r| r.strip_suffix('d'))
        .unwrap_or("7");
    let mut schedule =
        json!({"repeatingTimeIntervals": [format!("R/2024-01-01T{start}:00+00:00/{period}")]});
    if let Some(tz) = a.get("time_zone") {
        schedule["timeZone"] = tz.clone();
    }
    let store = json!({"dataStoreType": "OperationalStore", "objectType": "DataStoreInfoBase"});
    let body = json!({"properties": {
        "objectType": "BackupPolicy",
        "datasourceTypes": ["Microsoft.Compute/disks"],
        "policyRules": [
            {
                "objectType": "AzureBackupRule",
                "name": if every == "1d" { "BackupDaily" } else { "BackupHourly" },
                "backupParameters": {"objectType": "AzureBackupParams", "backupType": "Incremental"},
                "dataStore": store,
                "trigger": {
                    "objectType": "ScheduleBasedTriggerContext",
                    "schedule": schedule,
                    "taggingCriteria": [{"isDefault": true, "taggingPriority": 99, "tagInfo": {"tagName": "Default"}}],
                },
            },
            {
                "objectType": "AzureRetentionRule",
                "name": "Default",
                "isDefault": true,
                "lifecycles": [{
                    "deleteAfter": {"objectType": "AbsoluteDeleteOption", "duration": format!("P{days}D")},
                    "sourceDataStore": store,
                    "targetDataStoreCopySettings": [],
                }],
            },
        ],
    }});
    ArmRequest::new(Method::Put, versioned(&r.arm_id), Some(body))
}

pub fn delete_request(id: &ArmId) -> ArmRequest {
    ArmRequest::new(Method::Delete, versioned(id), None)
}

/// Live policy → attributes; `None` for policies of other datasources.
pub fn normalize(arm: &Value) -> Option<Value> {
    let p = &arm["properties"];
    let disks = p["datasourceTypes"].as_array()?.iter().any(|t| {
        t.as_str()
            .is_some_and(|t| t.eq_ignore_ascii_case("Microsoft.Compute/disks"))
    });
    if !disks {
        return None;
    }
    let rules = p["policyRules"].as_array()?;
    let backup = rules
        .iter()
        .find(|r| r["objectType"] == "AzureBackupRule")?;
    let retention = rules
        .iter()
        .find(|r| r["objectType"] == "AzureRetentionRule")?;
    let schedule = &backup["trigger"]["schedule"];
    let interval = schedule["repeatingTimeIntervals"][0].as_str()?;
    let mut parts = interval.split('/');
    let (_, start, period) = (parts.next()?, parts.next()?, parts.next()?);
    let every = EVERY
        .iter()
        .find(|(_, v)| v.eq_ignore_ascii_case(period))?
        .0;
    let time = start.split('T').nth(1)?.get(..5)?;
    let duration = retention["lifecycles"][0]["deleteAfter"]["duration"].as_str()?;
    let days: u64 = duration
        .strip_prefix('P')?
        .strip_suffix('D')?
        .parse()
        .ok()?;
    let mut out = json!({"every": every, "retention": format!("{days}d"), "start": time});
    if let Some(tz) = schedule["timeZone"].as_str() {
        out["time_zone"] = json!(tz);
    }
    Some(out)
}

/// Disk policies. Azure cannot update one: a changed policy is a new one (a new ARM name).
pub const FAMILY: Family = Family {
    kind: ResourceKind::DiskPolicy,
    prefix: "disk_policy",
    rank: 2,
    ownership: Ownership::Whole,
    removed_with_the_file: true,
    requests: |c| match c.action {
        Action::Create => Ok(vec![put_request(c.desired()?)]),
        Action::Delete => Ok(vec![delete_request(c.id)]),
        _ => c.unsupported(ResourceKind::DiskPolicy),
    },
};

#[cfg(test)]
mod tests {
    use super::{arm_name, file_name};
    use serde_json::json;

    #[test]
    fn azprotect_names_its_policies_recognisably_and_nobody_elses() {
        let attrs = json!({"every": "4h", "retention": "7d", "start": "00:00"});
        let ours = arm_name("nightly", &attrs);
        assert_eq!(file_name(&ours, &attrs), "nightly");
        // Another version's hash under the same base is not these settings' name.
        let other = json!({"every": "4h", "retention": "14d", "start": "00:00"});
        assert_eq!(file_name(&ours, &other), ours);
        // Portal names that end in six hex digits are theirs.
        for portal in ["nightly-202401", "backup-abcdef", "Nightly-Disks", "daily"] {
            assert_eq!(file_name(portal, &attrs), portal);
        }
        // A portal name that happens to end in a hash of other settings keeps it too.
        let hashed_elsewhere = arm_name("backup", &other);
        assert_eq!(file_name(&hashed_elsewhere, &attrs), hashed_elsewhere);
        // Declaring a portal name adds azprotect's suffix, which reads back to that name.
        let declared = arm_name("backup-abcdef", &attrs);
        assert_eq!(file_name(&declared, &attrs), "backup-abcdef");
    }
}

attributes!(
    /// A disk policy's attributes.
    Attrs {
        every: Option<&'a str> = Value::as_str,
    }
);
