//! The normalized `state` of a protected item (a VM in a Recovery Services vault, a disk in a
//! Backup vault), typed: the plan and apply decide on it, the attributes carry its name.

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

#[cfg(test)]
mod tests {
    use super::ItemState;

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
}
