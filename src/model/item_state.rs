//! The normalized `state` of a protected item (a VM in a Recovery Services vault, a disk in a
//! Backup vault), typed: the plan and apply decide on it, the attributes carry its name; and
//! Azure Backup's state names in plain words ([`backup_state_words`]).

use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemState {
    /// Backups run (also while the first one is pending or a backup failed).
    Protected,
    /// Protection stopped, recovery points retained.
    Stopped,
    /// Backups suspended, recovery points kept per policy.
    Suspended,
    /// Deleted, kept for the soft-delete period (it still registers the VM or disk).
    SoftDeleted,
    /// Configuring protection failed (Disk Backup): apply configures it again.
    Failed,
    /// A state azprotect does not know, shown as Azure wrote it.
    Unknown,
}

impl ItemState {
    pub fn as_str(self) -> &'static str {
        match self {
            ItemState::Protected => "protected",
            ItemState::Stopped => "stopped",
            ItemState::Suspended => "suspended",
            ItemState::SoftDeleted => "soft_deleted",
            ItemState::Failed => "failed",
            ItemState::Unknown => "unknown",
        }
    }

    pub fn from_name(s: &str) -> ItemState {
        match s {
            "protected" => ItemState::Protected,
            "stopped" => ItemState::Stopped,
            "suspended" => ItemState::Suspended,
            "soft_deleted" => ItemState::SoftDeleted,
            "failed" => ItemState::Failed,
            _ => ItemState::Unknown,
        }
    }

    /// The `state` attribute of normalized item attributes.
    pub fn of(attrs: &Value) -> ItemState {
        ItemState::from_name(attrs["state"].as_str().unwrap_or_default())
    }

    /// Backups no longer run, but the item (and its recovery points) remain.
    pub fn retained(self) -> bool {
        matches!(self, ItemState::Stopped | ItemState::Suspended)
    }
}

/// Azure Backup's state names in plain words, for text and markdown (JSON keeps Azure's values):
/// a protected item's `protectionState`, its `lastBackupStatus`, a backup job's `status`. The one
/// place for them, as `site_recovery::replication::state_words` is for replication. Recording:
/// azure-cli/test_backup_protection.yaml #54 (FACTS §4): `IRPending` with `lastBackupStatus` ""
/// before the first backup; #50: a job `Completed`; the other names are the spec's
/// (RecoveryServicesBackup bms.json `ProtectionState`, `JobStatus`). Any other name is split into
/// lower-case words.
pub fn backup_state_words(azure: &str) -> String {
    let words = match azure.to_ascii_lowercase().as_str() {
        "" => "no backup yet",
        "irpending" => "waiting for first backup",
        "protectionstopped" => "protection stopped",
        "backupssuspended" => "backups suspended",
        "protectionerror" => "protection error",
        "protectionpaused" => "protection paused",
        "completedwithwarnings" => "completed with warnings",
        "inprogress" => "in progress",
        _ => return crate::progress::plain_words(azure),
    };
    words.to_string()
}

#[cfg(test)]
mod tests {
    use super::{backup_state_words, ItemState};

    #[test]
    fn every_state_reads_back_from_its_name() {
        for s in [
            ItemState::Protected,
            ItemState::Stopped,
            ItemState::Suspended,
            ItemState::SoftDeleted,
            ItemState::Failed,
            ItemState::Unknown,
        ] {
            assert_eq!(ItemState::from_name(s.as_str()), s);
        }
        assert_eq!(ItemState::from_name("IRPending"), ItemState::Unknown);
    }

    #[test]
    fn azure_backups_states_read_as_plain_words() {
        for (azure, words) in [
            ("IRPending", "waiting for first backup"),
            ("", "no backup yet"),
            ("ProtectionStopped", "protection stopped"),
            ("BackupsSuspended", "backups suspended"),
            ("Completed", "completed"),
            ("CompletedWithWarnings", "completed with warnings"),
            ("InProgress", "in progress"),
            ("Failed", "failed"),
            ("SomethingNew", "something new"),
        ] {
            assert_eq!(backup_state_words(azure), words, "{azure}");
        }
    }
}
