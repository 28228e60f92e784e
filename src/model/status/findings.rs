//! A finding (one thing that is not working, about one VM or disk), its four kinds, and the
//! helpers every rule formats with.

use super::super::ArmId;
use serde::Serialize;
use std::time::Duration;
use time::OffsetDateTime;

/// The four kinds of finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Coverage,
    Backup,
    Replication,
    DiskBackup,
}

impl Kind {
    pub const ALL: [Kind; 4] = [
        Kind::Coverage,
        Kind::Backup,
        Kind::Replication,
        Kind::DiskBackup,
    ];
    pub fn title(self) -> &'static str {
        match self {
            Kind::Coverage => "Coverage",
            Kind::Backup => "Backup health",
            Kind::Replication => "Replication health",
            Kind::DiskBackup => "Disk backup health",
        }
    }
}

/// One thing that is not working, about one VM (or disk).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Finding {
    pub kind: Kind,
    /// A stable name for the rule (`unprotected`, `rpo_breached`, …).
    pub code: &'static str,
    /// The VM (or disk) name, `resource_group/name`.
    pub subject: String,
    pub message: String,
}

impl Finding {
    pub(super) fn new(kind: Kind, code: &'static str, subject: &str, message: String) -> Finding {
        Finding {
            kind,
            code,
            subject: subject.to_string(),
            message,
        }
    }
}

/// `resource_group/name` of a VM (or disk) id.
pub fn subject(id: &ArmId) -> String {
    format!("{}/{}", id.resource_group().unwrap_or_default(), id.name())
}

/// Hours, one decimal, for messages.
pub fn hours(d: Duration) -> String {
    format!("{:.1}h", d.as_secs_f64() / 3600.0)
}

pub(super) fn age(now: OffsetDateTime, t: OffsetDateTime) -> Duration {
    Duration::try_from(now - t).unwrap_or_default()
}

pub(super) fn minutes(d: Duration) -> String {
    format!("{}m", d.as_secs().div_ceil(60))
}
