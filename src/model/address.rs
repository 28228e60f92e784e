//! Addresses: the stable, human name of a resource in plans, `--target` and errors.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Every resource family azprotect knows. The string form is the address prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResourceKind {
    ResourceGroup,
    RecoveryVault,
    BackupPolicy,
    ProtectedVm,
    ReplicationFabric,
    ProtectionContainer,
    ReplicationPolicy,
    ContainerMapping,
    NetworkMapping,
    Replication,
    RecoveryPlan,
    BackupVault,
    DiskPolicy,
    RoleAssignment,
    DiskBackup,
}

impl ResourceKind {
    pub const ALL: [ResourceKind; 15] = [
        ResourceKind::ResourceGroup,
        ResourceKind::RecoveryVault,
        ResourceKind::BackupPolicy,
        ResourceKind::ProtectedVm,
        ResourceKind::ReplicationFabric,
        ResourceKind::ProtectionContainer,
        ResourceKind::ReplicationPolicy,
        ResourceKind::ContainerMapping,
        ResourceKind::NetworkMapping,
        ResourceKind::Replication,
        ResourceKind::RecoveryPlan,
        ResourceKind::BackupVault,
        ResourceKind::DiskPolicy,
        ResourceKind::RoleAssignment,
        ResourceKind::DiskBackup,
    ];

    /// The address prefix (see [`super::family`]).
    pub fn prefix(self) -> &'static str {
        super::family::of(self).prefix
    }

    /// Creation order rank: parents before children (deletes run in reverse).
    pub fn rank(self) -> u8 {
        super::family::of(self).rank
    }
}

/// `kind.name`, e.g. `backup_policy.rsv-prod-weu/gold` or `protected_vm.rsv-prod-weu/rg-app/app-01`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Address {
    pub kind: ResourceKind,
    pub name: String,
}

impl Address {
    pub fn new(kind: ResourceKind, name: impl Into<String>) -> Self {
        Address {
            kind,
            name: name.into(),
        }
    }

    /// Does `--target PATTERN` select this address? A pattern selects itself and everything
    /// below it: `recovery_vault.v` selects the vault; `backup_policy.v/gold` the policy;
    /// a bare vault name prefix `protected_vm.v` selects all its protected VMs.
    pub fn matches_target(&self, pattern: &Address) -> bool {
        self.kind == pattern.kind
            && (self.name == pattern.name || self.name.starts_with(&format!("{}/", pattern.name)))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{input}` is not an address: expected KIND.NAME where KIND is one of {kinds}")]
pub struct AddressError {
    pub input: String,
    pub kinds: String,
}

impl FromStr for Address {
    type Err = AddressError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || AddressError {
            input: s.to_string(),
            kinds: ResourceKind::ALL
                .iter()
                .map(|k| k.prefix())
                .collect::<Vec<_>>()
                .join(", "),
        };
        let (kind, name) = s.split_once('.').ok_or_else(err)?;
        let kind = ResourceKind::ALL
            .into_iter()
            .find(|k| k.prefix() == kind)
            .ok_or_else(err)?;
        if name.is_empty() {
            return Err(err());
        }
        Ok(Address::new(kind, name))
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.kind.prefix(), self.name)
    }
}

impl Serialize for Address {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// In JSON (the plan's contract, `schemas/plan.schema.json`): a string `kind.name` whose kind
/// is one of [`ResourceKind::ALL`]'s prefixes.
impl schemars::JsonSchema for Address {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Address".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let kinds: Vec<&str> = ResourceKind::ALL.iter().map(|k| k.prefix()).collect();
        schemars::json_schema!({
            "description": "A resource's address: `kind.name`, e.g. `protected_vm.rsv-prod-weu/rg-app/app-01`.",
            "type": "string",
            "pattern": format!("^({})\\.[^\\s]+$", kinds.join("|")),
        })
    }
}

impl<'de> Deserialize<'de> for Address {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_round_trip_and_target_their_children() {
        let a: Address = "protected_vm.rsv/rg-app/app-01".parse().unwrap();
        assert_eq!(a.to_string(), "protected_vm.rsv/rg-app/app-01");
        assert!(a.matches_target(&"protected_vm.rsv".parse().unwrap()));
        assert!(!a.matches_target(&"protected_vm.rs".parse().unwrap()));
        assert!("nonsense".parse::<Address>().is_err());
        assert!("widget.x".parse::<Address>().is_err());
    }
}
