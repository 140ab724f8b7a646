//! The queue's gauges, read from Redis when a service's `/metrics` is
//! scraped: the queue crate stays the one door to Redis, and a figure is
//! never older than the scrape that shows it. Every service exposes them
//! (they describe the one shared queue): aggregate with `max()`.

use std::time::Duration;

use chrono::Utc;

use crate::error::QueueError;
use crate::queue::Queue;

pub const STREAM_ENTRIES: &str = "wstg_queue_stream_entries";
pub const LAG_ENTRIES: &str = "wstg_queue_lag_entries";
pub const PENDING_ENTRIES: &str = "wstg_queue_pending_entries";
pub const OLDEST_PENDING_IDLE: &str = "wstg_queue_oldest_pending_idle_seconds";
pub const OLDEST_EVENT_AGE: &str = "wstg_queue_oldest_event_age_seconds";
pub const DELAYED_ENTRIES: &str = "wstg_queue_delayed_entries";
pub const DEAD_LETTER_ENTRIES: &str = "wstg_queue_dead_letter_entries";
pub const CONSUMERS: &str = "wstg_queue_consumers";
pub const REDIS_UP: &str = "wstg_redis_up";

/// Every gauge this module sets, for the exporter's descriptions.
pub const GAUGES: &[&str] = &[
    STREAM_ENTRIES,
    LAG_ENTRIES,
    PENDING_ENTRIES,
    OLDEST_PENDING_IDLE,
    OLDEST_EVENT_AGE,
    DELAYED_ENTRIES,
    DEAD_LETTER_ENTRIES,
    CONSUMERS,
    REDIS_UP,
];

impl Queue {
    /// Age of the oldest entry on the events stream (acknowledged entries
    /// are deleted, so this is the oldest unfinished event); `None` when the
    /// stream is empty.
    pub async fn oldest_event_age(&self) -> Result<Option<Duration>, QueueError> {
        let first: redis::streams::StreamRangeReply = redis::cmd("XRANGE")
            .arg(&self.keys.events)
            .arg("-")
            .arg("+")
            .arg("COUNT")
            .arg(1)
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(first.ids.first().and_then(|entry| {
            let id = &entry.id;
            let ms: i64 = id.split('-').next()?.parse().ok()?;
            let age = Utc::now().timestamp_millis().saturating_sub(ms).max(0);
            Some(Duration::from_millis(age as u64))
        }))
    }

    /// Reads the queue's figures and sets the gauges; `wstg_redis_up` says
    /// whether that worked (the other gauges keep their last values when it
    /// did not). Bounded by `within`, so a scrape never hangs on Redis.
    pub async fn record_gauges(&self, within: Duration) {
        let read = async {
            let stats = self.stats().await?;
            let age = self.oldest_event_age().await?;
            Ok::<_, QueueError>((stats, age))
        };
        match tokio::time::timeout(within, read).await {
            Ok(Ok((s, age))) => {
                metrics::gauge!(STREAM_ENTRIES).set(s.stream_len as f64);
                // Unknown lag (undelivered entries were deleted): everything
                // on the stream that is not pending is undelivered, since
                // acknowledged entries are deleted.
                let lag = s.lag.unwrap_or(s.stream_len.saturating_sub(s.pending));
                metrics::gauge!(LAG_ENTRIES).set(lag as f64);
                metrics::gauge!(PENDING_ENTRIES).set(s.pending as f64);
                metrics::gauge!(OLDEST_PENDING_IDLE)
                    .set(s.oldest_pending_idle_ms.unwrap_or(0) as f64 / 1000.0);
                metrics::gauge!(OLDEST_EVENT_AGE).set(age.map_or(0.0, |a| a.as_secs_f64()));
                metrics::gauge!(DELAYED_ENTRIES).set(s.delayed as f64);
                metrics::gauge!(DEAD_LETTER_ENTRIES).set(s.dlq as f64);
                metrics::gauge!(CONSUMERS).set(s.consumers as f64);
                metrics::gauge!(REDIS_UP).set(1.0);
            }
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "queue gauges not read");
                metrics::gauge!(REDIS_UP).set(0.0);
            }
            Err(_) => {
                tracing::debug!("queue gauges not read within {within:?}");
                metrics::gauge!(REDIS_UP).set(0.0);
            }
        }
    }
}
