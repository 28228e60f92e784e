//! Names generated once: a group or vault name a stamp generates, or the files write, may be
//! claimed once (Azure compares names without case); a second claim names both origins.

use crate::config::diag::{At, Diag, Diags};
use std::collections::HashMap;

/// Where a generated (or hand-written) name was first seen, to name both origins of a clash.
pub(super) struct Origins {
    seen: HashMap<String, (At, String)>,
}

impl Origins {
    pub(super) fn new() -> Self {
        Origins {
            seen: HashMap::new(),
        }
    }

    /// Record `name` from `origin`; a second one is an error at `at` naming both.
    pub(super) fn claim(
        &mut self,
        what: &str,
        name: &str,
        at: At,
        origin: String,
        diags: &mut Diags,
    ) -> bool {
        match self.seen.get(&name.to_ascii_lowercase()) {
            Some((first, before)) => {
                diags.push(
                    Diag::error(at, format!("{what} `{name}` of {origin} is also the {what} of {before}"))
                        .label("the same name twice")
                        .note(*first, "first from here")
                        .help("each generated name must be unique: put `{subscription.name}` (or `{subscription.id}`) and `{region}` in the pattern"),
                );
                false
            }
            None => {
                self.seen.insert(name.to_ascii_lowercase(), (at, origin));
                true
            }
        }
    }
}
