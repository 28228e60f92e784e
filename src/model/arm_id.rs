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
}

impl PartialEq for ArmId {
    fn eq(&self, other: &Self) -> bool {
        self.0.eq_ignore_ascii_case(&other.0)
    }
}
impl Eq for ArmId {}
impl Hash for ArmId {
    fn hash<H: Hasher>(&self, state: &mut H) {
        let mut buf = [0u8; 64];
        for chunk in self.0.as_bytes().chunks(buf.len()) {
            let folded = &mut buf[..chunk.len()];
            folded.copy_from_slice(chunk);
            folded.make_ascii_lowercase();
            state.write(folded);
        }
        // As `str` does: a terminator, so that ids hashed one after the other stay apart.
        state.write_u8(0xff);
    }
}
impl PartialOrd for ArmId {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for ArmId {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        // Ids share long prefixes (`/subscriptions/…/providers/Microsoft.RecoveryServices/…`):
        // skip the part spelled the same byte for byte with memcmp, then fold the rest.
        let (a, b) = (self.0.as_bytes(), other.0.as_bytes());
        const STEP: usize = 16;
        let mut at = 0;
        while at + STEP <= a.len().min(b.len()) && a[at..at + STEP] == b[at..at + STEP] {
            at += STEP;
        }
        a[at..]
            .iter()
            .map(u8::to_ascii_lowercase)
            .cmp(b[at..].iter().map(u8::to_ascii_lowercase))
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

    proptest::proptest! {
        /// Order, equality and hash agree with comparing the lower-cased text, whatever the
        /// spelling and however long the shared prefix (the order skips it 16 bytes at a time).
        #[test]
        fn order_equality_and_hash_are_those_of_the_lower_cased_text(
            prefix in "[a-zA-Z/]{0,40}",
            a in "[a-cA-C/;-]{0,40}",
            b in "[a-cA-C/;-]{0,40}",
            flip in proptest::collection::vec(proptest::bool::ANY, 80),
        ) {
            let respell = |s: &str| -> String {
                s.chars().zip(flip.iter().cycle()).map(|(c, &f)| if f { c.to_ascii_uppercase() } else { c.to_ascii_lowercase() }).collect()
            };
            let x = ArmId::new(format!("{prefix}{a}"));
            let y = ArmId::new(format!("{}{b}", respell(&prefix)));
            let (lx, ly) = (x.as_str().to_ascii_lowercase(), y.as_str().to_ascii_lowercase());
            proptest::prop_assert_eq!(x.cmp(&y), lx.cmp(&ly));
            proptest::prop_assert_eq!(x == y, lx == ly);
            let same_spelling = ArmId::new(respell(x.as_str()));
            proptest::prop_assert_eq!(x.cmp(&same_spelling), std::cmp::Ordering::Equal);
            let state = std::collections::hash_map::RandomState::new();
            use std::hash::BuildHasher;
            proptest::prop_assert_eq!(state.hash_one(&x), state.hash_one(&same_spelling));
        }
    }
}
