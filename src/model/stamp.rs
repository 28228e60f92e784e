//! Stamps (`stamps:` in the file): the facts a stamp is expanded against and the `--target`
//! forms that name a stamp.
//!
//! [`StampFacts`] is what the discovery read before a plan gathers (`live::stamps`): the
//! subscriptions of each management group a stamp names, display names, the VMs of those
//! subscriptions and the Recovery Services vaults already there. `config::stamps` expands a
//! stamp against them, without HTTP. [`StampTarget`] is `--target stamp.NAME` or
//! `--target 'stamp.NAME[SUBSCRIPTION]'`, translated into ordinary addresses by `ops::stamps`.
//!
//! Must not import: the `azure` transport, `cli`, `plan`, `apply`, `ops`.

use super::{ArmId, VirtualMachine};
use std::collections::BTreeMap;
use std::fmt;

/// A subscription as a stamp sees it: its id and its display name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct StampSubscription {
    pub id: String,
    pub name: String,
}

/// A Recovery Services vault that exists in a stamp's subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExistingVault {
    pub id: ArmId,
    /// Normalized region (`westeurope`).
    pub location: String,
}

/// What a stamp is expanded against, read once before the plan.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StampFacts {
    /// The subscriptions under each management group a stamp names (key: the group id in lower
    /// case), at any depth, in the order the service lists them.
    pub groups: BTreeMap<String, Vec<StampSubscription>>,
    /// Display names by lower-cased subscription id (every subscription the caller can read).
    pub names: BTreeMap<String, String>,
    /// Every VM of the stamps' subscriptions.
    pub vms: Vec<VirtualMachine>,
    /// The subscriptions (lower case) whose VMs `vms` holds: every readable one of them.
    pub vms_of: Vec<String>,
    /// The Recovery Services vaults of the stamps' subscriptions.
    pub vaults: Vec<ExistingVault>,
    /// Each readable subscription's resource groups and vault list (ARM list JSON; key: the
    /// subscription id in lower case), as read: handed to the plan's read, not read again.
    pub resource_groups: BTreeMap<String, Vec<serde_json::Value>>,
    pub vault_lists: BTreeMap<String, Vec<serde_json::Value>>,
    /// The subscriptions whose VMs and vaults were read (lower case, sorted).
    pub subscriptions: Vec<String>,
    /// Stamp subscriptions the identity may not read (lower case), with Azure's refusal (which
    /// names the action missing): nothing is generated in them, and the plan says so.
    pub unreadable: BTreeMap<String, String>,
}

/// `{subscription.name}`: a display name as a name-safe slug — lower case, every run of
/// characters other than `a-z` and `0-9` one `-`, no `-` at either end.
pub fn slug(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    out
}

/// `--target stamp.NAME` (everything the stamp generates) or `stamp.NAME[SUB]` (its part in one
/// subscription, named by display name, slug or id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StampTarget {
    pub stamp: String,
    pub subscription: Option<String>,
}

/// The prefix that makes a `--target` a stamp's.
pub const STAMP_PREFIX: &str = "stamp.";

impl StampTarget {
    /// `Some` when `s` names a stamp (starts with `stamp.`); `Err` when it does so badly.
    pub fn parse(s: &str) -> Option<Result<StampTarget, String>> {
        let rest = s.strip_prefix(STAMP_PREFIX)?;
        let bad =
            || format!("`{s}` is not a stamp target: use stamp.NAME or 'stamp.NAME[SUBSCRIPTION]'");
        Some(match rest.split_once('[') {
            None if !rest.is_empty() && !rest.contains(']') => Ok(StampTarget {
                stamp: rest.to_string(),
                subscription: None,
            }),
            Some((stamp, sub)) => match sub.strip_suffix(']') {
                Some(sub)
                    if !stamp.is_empty() && !sub.trim().is_empty() && !sub.contains(['[', ']']) =>
                {
                    Ok(StampTarget {
                        stamp: stamp.to_string(),
                        subscription: Some(sub.trim().to_string()),
                    })
                }
                _ => Err(bad()),
            },
            None => Err(bad()),
        })
    }

    /// Does `sub` (id and display name) match this target's subscription (id or display name
    /// without case, or the name's slug)? A target without one matches every subscription.
    pub fn selects(&self, sub: &StampSubscription) -> bool {
        self.subscription.as_deref().is_none_or(|want| {
            want.eq_ignore_ascii_case(&sub.id)
                || want.eq_ignore_ascii_case(&sub.name)
                || want == slug(&sub.name)
        })
    }
}

impl fmt::Display for StampTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{STAMP_PREFIX}{}", self.stamp)?;
        if let Some(s) = &self.subscription {
            write!(f, "[{s}]")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_become_slugs() {
        assert_eq!(slug("Corp Prod"), "corp-prod");
        assert_eq!(slug("  Landing zone #0 (EU) "), "landing-zone-0-eu");
        assert_eq!(slug("sub-gen-001"), "sub-gen-001");
        assert_eq!(slug("Ärger__x"), "rger-x");
        assert_eq!(slug("***"), "");
    }

    #[test]
    fn a_selector_s_locations_narrow_the_vms_it_matches() {
        let vm = VirtualMachine {
            id: ArmId::new(
                "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/v",
            ),
            name: "v".into(),
            resource_group: "rg".into(),
            subscription: "s1".into(),
            location: "West Europe".into(),
            tags: Default::default(),
            data_disk_luns: vec![],
            disks: vec![],
            size: None,
        };
        let mut sel = crate::model::VmSelector {
            vault: "rsv".into(),
            policy: "gold".into(),
            subscription: "s1".into(),
            resource_groups: vec!["RG".into()],
            tags: Default::default(),
            exclude_disks: vec![],
            locations: vec![],
        };
        assert!(vm.matches(&sel), "no locations: any region");
        sel.locations = vec!["northeurope".into(), "westeurope".into()];
        assert!(vm.matches(&sel));
        sel.locations = vec!["northeurope".into()];
        assert!(!vm.matches(&sel));
    }

    #[test]
    fn stamp_targets_parse_with_or_without_a_subscription() {
        assert_eq!(StampTarget::parse("recovery_vault.x"), None);
        let t = StampTarget::parse("stamp.lz").unwrap().unwrap();
        assert_eq!((t.stamp.as_str(), t.subscription), ("lz", None));
        let t = StampTarget::parse("stamp.lz[Corp Prod]").unwrap().unwrap();
        assert_eq!(t.subscription.as_deref(), Some("Corp Prod"));
        assert_eq!(t.to_string(), "stamp.lz[Corp Prod]");
        for bad in [
            "stamp.",
            "stamp.lz[",
            "stamp.lz[]",
            "stamp.[x]",
            "stamp.lz]x",
            "stamp.a[b]c",
        ] {
            assert!(StampTarget::parse(bad).unwrap().is_err(), "{bad}");
        }
        let sub = StampSubscription {
            id: "00000000-0000-0000-0000-0000000000a1".into(),
            name: "Corp Prod".into(),
        };
        for by in [
            "corp prod",
            "corp-prod",
            "00000000-0000-0000-0000-0000000000A1",
        ] {
            let t = StampTarget::parse(&format!("stamp.lz[{by}]"))
                .unwrap()
                .unwrap();
            assert!(t.selects(&sub), "{by}");
        }
        let t = StampTarget::parse("stamp.lz[corp-dev]").unwrap().unwrap();
        assert!(!t.selects(&sub));
    }
}
