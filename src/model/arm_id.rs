//! ARM resource ids: compared case-insensitively (ARM ids are), displayed as written.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::hash::{Hash, Hasher};

/// An ARM resource id such as `/subscriptions/…/resourceGroups/rg/providers/Microsoft.X/y/name`.
///
/// Equality, ordering and hashing ignore ASCII case, because Azure returns ids in whatever case
/// it stored (`resourcegroups`, `Subscriptions`, lower-cased container names…).
#[derive(Clone, Serialize, Deserialize, Default, schemars::JsonSchema)]
#[serde(transparent)]
pub struct ArmId(String);

impl ArmId {
    pub fn new(id: impl Into<String>) -> Self {
        let mut s: String = id.into();
        while s.len() > 1 && s.ends_with('/') {
            s.pop();
        }
        ArmId(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A child id: `self` + `/segment/segment…`.
    pub fn child(&self, segments: &[&str]) -> ArmId {
        let mut s = self.0.clone();
        for seg in segments {
            s.push('/');
            s.push_str(seg);
        }
        ArmId(s)
    }

    fn segments(&self) -> impl Iterator<Item = &str> {
        self.0.split('/').filter(|s| !s.is_empty())
    }

    /// The value following a key segment, e.g. `value_of("resourceGroups")`.
    pub fn value_of(&self, key: &str) -> Option<&str> {
        let mut it = self.segments();
        while let Some(seg) = it.next() {
            if seg.eq_ignore_ascii_case(key) {
                return it.next();
            }
        }
        None
    }

    pub fn subscription(&self) -> Option<&str> {
        self.value_of("subscriptions")
    }

    pub fn resource_group(&self) -> Option<&str> {
        self.value_of("resourceGroups")
    }

    /// The last segment (the resource's own name).
    pub fn name(&self) -> &str {
        self.segments().last().unwrap_or("")
    }

    /// The id with its last `n` pairs of segments removed (the parent resource).
    pub fn parent(&self, pairs: usize) -> ArmId {
        let segs: Vec<&str> = self.segments().collect();
        let keep = segs.len().saturating_sub(pairs * 2);
        ArmId(format!("/{}", segs[..keep].join("/")))
    }

    /// True when this looks like a well-formed ARM id of a resource of `provider/type`.
    pub fn is_resource_of(&self, provider: &str, rtype: &str) -> bool {
        let segs: Vec<&str> = self.segments().collect();
        segs.len() == 8
            && segs[0].eq_ignore_ascii_case("subscriptions")
            && segs[2].eq_ignore_ascii_case("resourceGroups")
            && segs[4].eq_ignore_ascii_case("providers")
            && segs[5].eq_ignore_ascii_case(provider)
            && segs[6].eq_ignore_ascii_case(rtype)
            && !segs[7].is_empty()
    }

    fn key(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

impl PartialEq for ArmId {
    fn eq(&self, other: &Self) -> bool {
        self.0.eq_ignore_ascii_case(&other.0)
    }
}
impl Eq for ArmId {}
impl Hash for ArmId {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.key().hash(state)
    }
}
impl PartialOrd for ArmId {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for ArmId {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key().cmp(&other.key())
    }
}
impl fmt::Display for ArmId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl fmt::Debug for ArmId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ArmId({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_compare_case_insensitively_and_expose_their_parts() {
        let a = ArmId::new(
            "/subscriptions/S/resourceGroups/RG/providers/Microsoft.RecoveryServices/vaults/V/",
        );
        let b = ArmId::new(
            "/Subscriptions/s/resourcegroups/rg/providers/microsoft.recoveryservices/Vaults/v",
        );
        assert_eq!(a, b);
        assert_eq!(a.subscription(), Some("S"));
        assert_eq!(b.resource_group(), Some("rg"));
        assert_eq!(a.name(), "V");
        assert!(a.is_resource_of("Microsoft.RecoveryServices", "vaults"));
        assert_eq!(
            a.parent(1).as_str(),
            "/subscriptions/S/resourceGroups/RG/providers/Microsoft.RecoveryServices"
        );
    }
}
