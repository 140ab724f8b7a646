//! Waiting for a dependency at start-up. In a compose file or a Kubernetes
//! pod the services often start before Redis or PostgreSQL answers; exiting
//! then only makes the orchestrator restart us in a loop, so a transient
//! failure is retried with a bounded exponential backoff and each attempt is
//! logged. Permanent failures (a wrong password, an invalid URL) and a
//! dependency still away after `startup.wait_secs` end the start with an
//! error.

use std::future::Future;
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};

/// An error that knows whether trying again can help.
pub trait Transient {
    fn is_transient(&self) -> bool;
}

impl Transient for wstg_queue::QueueError {
    fn is_transient(&self) -> bool {
        wstg_queue::QueueError::is_transient(self)
    }
}

impl Transient for wstg_store::StoreError {
    fn is_transient(&self) -> bool {
        wstg_store::StoreError::is_transient(self)
    }
}

/// Runs `attempt` until it succeeds, fails permanently, or `give_up_after`
/// has passed (zero: one attempt); `what` and `target` (a redacted address:
/// never a password) name the dependency in the log.
pub async fn wait_for<T, E, Fut>(
    what: &str,
    target: &str,
    give_up_after: Duration,
    mut attempt: impl FnMut() -> Fut,
) -> Result<T, E>
where
    E: Transient + std::fmt::Display,
    Fut: Future<Output = Result<T, E>>,
{
    if give_up_after.is_zero() {
        return attempt().await;
    }
    let backoff = ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(250))
        .with_max_delay(Duration::from_secs(5))
        .with_factor(2.0)
        .with_jitter()
        .with_max_times(usize::MAX)
        .with_total_delay(Some(give_up_after));
    attempt
        .retry(backoff)
        .sleep(tokio::time::sleep)
        .when(Transient::is_transient)
        .notify(|e: &E, delay: Duration| {
            tracing::warn!(
                %target,
                error = %e,
                retry_in_ms = delay.as_millis() as u64,
                "{what} is not reachable yet; retrying"
            );
        })
        .await
}
