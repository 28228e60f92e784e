//! Applying a plan in process, as the command line does: the plan as reviewed and apply's
//! options, shared by the invariant tests.

use azprotect::apply::lease::LeaseOptions;
use azprotect::model::{Desired, LiveState};
use azprotect::ops;
use azprotect::ops::saved_plan::{Reviewed, Seen};
use azprotect::plan::Plan;
use std::time::Duration;

/// The plan as reviewed: made from `d` against `live`, untargeted.
pub fn reviewed<'a>(p: &'a Plan, d: &'a Desired, live: &'a LiveState) -> Reviewed<'a> {
    Reviewed {
        plan: p,
        desired: d,
        targets: &[],
        seen: Seen::Live(live),
    }
}

/// Apply's options as the command line's: leasing the vaults it writes, waiting up to
/// `lock_wait` for another apply's lease; no waiting for replication.
pub fn apply_options(lock_wait: Duration) -> ops::apply::Options {
    ops::apply::Options {
        apply: Default::default(),
        wait_replicated: false,
        wait_timeout: Duration::from_secs(60),
        lock: Some(LeaseOptions::new(lock_wait)),
    }
}
