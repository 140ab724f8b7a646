//! Poll until a condition holds, instead of sleeping for a guessed time.

use std::future::Future;
use std::time::{Duration, Instant};

/// Polls `check` every 20 ms until it returns `Some`, or panics with `what`
/// and the last observation after `timeout`.
pub async fn eventually<T, F>(timeout: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Option<T>,
{
    eventually_async(timeout, what, || {
        let r = check();
        async move { r }
    })
    .await
}

/// Like [`eventually`], with an async check.
pub async fn eventually_async<T, F, Fut>(timeout: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        if Instant::now() >= deadline {
            panic!("timed out after {timeout:?} waiting for: {what}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
