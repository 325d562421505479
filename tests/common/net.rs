//! Helpers for the native network tests: a single-threaded runtime with a local task set (the
//! node is not `Send`), and polling for a condition with a deadline.

use std::future::Future;
use std::time::Duration;

use tokio::task::LocalSet;

/// How long a network test waits for any one thing before failing.
pub const WAIT: Duration = Duration::from_secs(60);

/// Runs `test` on a current-thread runtime inside a `LocalSet`.
pub fn local<F: Future>(test: F) -> F::Output {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("rt");
    LocalSet::new().block_on(&runtime, test)
}

/// Polls `done` every 20 ms until it holds; fails the test after [`WAIT`].
pub async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !done() {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
