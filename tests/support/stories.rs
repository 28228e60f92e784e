//! Property tests whose every case is a whole story on its own sandbox: their proptest
//! configuration (a few cases, each a story; little shrinking) and how a case runs its story.

use proptest::test_runner::{Config, TestCaseError};
use std::future::Future;

/// A few cases, each a whole story: shrinking re-runs stories, so only a little of it.
pub fn config() -> Config {
    Config {
        cases: 6,
        max_shrink_iters: 8,
        ..Config::default()
    }
}

/// A failed case, saying `what`.
pub fn fail(what: impl std::fmt::Display) -> TestCaseError {
    TestCaseError::fail(what.to_string())
}

/// Run one case's story on a runtime of its own (proptest's cases are not async).
pub fn run(story: impl Future<Output = Result<(), TestCaseError>>) -> Result<(), TestCaseError> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(fail)?;
    rt.block_on(story)
}
