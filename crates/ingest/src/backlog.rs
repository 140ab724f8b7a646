//! Backpressure: writes get 503 + Retry-After while `P:events` holds more
//! than `limits.max_backlog` entries.
//!
//! The events stream cannot be trimmed by length without dropping
//! unfinished work (see wstg-queue's `trim` module), so it is bounded here,
//! where events come in. The length is sampled every
//! [`SAMPLE_EVERY`] by one task, not read per request: the publish hot path
//! stays one XADD. The overshoot is what arrives within one sample.
//!
//! The same task runs `trim_acknowledged` now and then: housekeeping that
//! only removes entries every group has acked.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use wstg_queue::Queue;

use crate::errors::ApiError;

const SAMPLE_EVERY: Duration = Duration::from_millis(200);
const TRIM_EVERY: Duration = Duration::from_secs(30);
/// What a refused client is told to wait: about what the workers need to
/// drain a batch.
const RETRY_AFTER_SECS: u64 = 2;

pub struct Backlog {
    len: AtomicU64,
    limit: u64,
}

impl Backlog {
    pub fn start(queue: Queue, limit: u64) -> Arc<Backlog> {
        let b = Arc::new(Backlog {
            len: AtomicU64::new(0),
            limit,
        });
        tokio::spawn(sample(queue, Arc::downgrade(&b)));
        b
    }

    /// `Err` (503, Retry-After) while the stream is over its bound.
    pub fn admit(&self) -> Result<(), ApiError> {
        let len = self.len.load(Ordering::Relaxed);
        if len > self.limit {
            tracing::warn!(
                backlog = len,
                limit = self.limit,
                "write refused: event backlog full"
            );
            return Err(ApiError::Busy {
                what: "event backlog is full",
                retry_after_secs: RETRY_AFTER_SECS,
            });
        }
        Ok(())
    }
}

async fn sample(queue: Queue, backlog: Weak<Backlog>) {
    let mut tick = tokio::time::interval(SAMPLE_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_trim = tokio::time::Instant::now();
    loop {
        tick.tick().await;
        let Some(b) = backlog.upgrade() else { return };
        match queue.backlog().await {
            Ok(n) => b.len.store(n, Ordering::Relaxed),
            // Keep the last value: publishes fail on their own if Redis is gone.
            Err(e) => tracing::debug!(error = %e, "backlog sample failed"),
        }
        if last_trim.elapsed() >= TRIM_EVERY {
            last_trim = tokio::time::Instant::now();
            match queue.trim_acknowledged().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(trimmed = n, "acknowledged events trimmed"),
                Err(e) => tracing::debug!(error = %e, "trim of acknowledged events failed"),
            }
        }
    }
}
