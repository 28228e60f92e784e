//! The blocks of a file that may name their own subscription — resource groups, recovery vaults,
//! `site_recovery` groups, `disk_backup` vaults — read alike by the checks of their
//! `subscription:` (`validate`) and by whether a file needs a default one (`desired`).

use super::spanned::Sp;
use super::types::ConfigFile;

/// One block: its own `subscription:`, and for a `site_recovery` group, its vault's name (whose
/// subscription it takes when it sets none).
pub(crate) struct Block<'a> {
    pub subscription: Option<&'a Sp<String>>,
    pub vault: Option<&'a str>,
}

impl ConfigFile {
    /// Every block of the file, in the file's kinds' order.
    pub(crate) fn blocks(&self) -> impl Iterator<Item = Block<'_>> {
        let rgs = (self.resource_groups.iter()).flat_map(|m| m.value.iter());
        let vaults = (self.recovery_vaults.iter()).flat_map(|m| m.value.iter());
        let groups = (self.site_recovery.iter()).flat_map(|m| m.value.iter());
        let disks = (self.disk_backup.iter()).flat_map(|m| m.value.iter());
        (rgs.map(|(_, b)| own(&b.value.subscription)))
            .chain(vaults.map(|(_, b)| own(&b.value.subscription)))
            .chain(groups.map(|(_, g)| Block {
                subscription: g.value.subscription.as_ref(),
                vault: Some(g.value.vault.value.as_str()),
            }))
            .chain(disks.map(|(_, b)| own(&b.value.subscription)))
    }
}

/// A block that names its subscription or leaves it to the file's default.
fn own(subscription: &Option<Sp<String>>) -> Block<'_> {
    Block {
        subscription: subscription.as_ref(),
        vault: None,
    }
}
