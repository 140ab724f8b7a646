//! Delayed retries: `P:delayed` (zset, member = event_id, score = due unix
//! ms) plus `P:delayed:data` (hash, event_id → envelope JSON).
//!
//! A failed event is not left pending for Redis to redeliver (that would
//! retry on the claim timer, not on the schedule, and burn delivery counts):
//! the worker schedules a copy with `attempt + 1` and acks the delivery,
//! atomically with [`Queue::retry_later`]. Movers on every replica move due
//! retries back onto `P:events`.

use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;
use wstg_domain::Envelope;

use crate::backoff::reconnect_delay;
use crate::entry;
use crate::error::QueueError;
use crate::keys::GROUP;
use crate::queue::Queue;
use crate::scripts;

/// How long an event's first-failure time is kept (`P:failed_at:<id>`). The
/// retry schedule spans about 4 h; a week also covers long outages and
/// backlogs, after which a later dead letter just reports its own time.
pub const FAILED_AT_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

impl Queue {
    /// Stores `env` (as given: the caller has already raised `attempt`) to be
    /// moved onto `P:events` at `due`. Scheduling the same event id again
    /// replaces the earlier retry. Also records the event's first failure
    /// time for a possible dead letter.
    pub async fn schedule_retry(
        &self,
        env: &Envelope,
        due: DateTime<Utc>,
    ) -> Result<(), QueueError> {
        self.schedule(env, due, "").await.map(|_| ())
    }

    /// [`Queue::schedule_retry`] and ack of the delivery `source_id` (XACK +
    /// XDEL) in one script: a crash cannot leave the retry without the ack
    /// (a duplicate) or the ack without the retry (a lost event). Returns
    /// whether `source_id` was still pending.
    pub async fn retry_later(
        &self,
        source_id: &str,
        env: &Envelope,
        due: DateTime<Utc>,
    ) -> Result<bool, QueueError> {
        self.schedule(env, due, source_id).await
    }

    async fn schedule(
        &self,
        env: &Envelope,
        due: DateTime<Utc>,
        source_id: &str,
    ) -> Result<bool, QueueError> {
        let data = entry::encode(env)?;
        let acked: i64 = scripts::SCHEDULE_RETRY
            .key(&self.keys.delayed)
            .key(&self.keys.delayed_data)
            .key(self.keys.failed_at(&env.event_id))
            .key(&self.keys.events)
            .arg(entry::unix_ms(due))
            .arg(env.event_id.to_string())
            .arg(data)
            .arg(entry::format_time(Utc::now()))
            .arg(FAILED_AT_TTL.as_secs() * 1000)
            .arg(GROUP)
            .arg(source_id)
            .invoke_async(&mut self.conn.clone())
            .await?;
        tracing::debug!(event_id = %env.event_id, attempt = env.attempt, %due, "retry scheduled");
        Ok(acked == 1)
    }

    /// Schedules deferred work (not a failure: no attempt is counted) to
    /// run at `due`. If an entry with the same event id is already waiting,
    /// it stays as it is and `false` is returned: deferrals of one thing,
    /// made with one id, collapse into the earliest.
    pub async fn defer(&self, env: &Envelope, due: DateTime<Utc>) -> Result<bool, QueueError> {
        let data = crate::entry::encode(env)?;
        let added: i64 = crate::scripts::DEFER
            .key(&self.keys.delayed)
            .key(&self.keys.delayed_data)
            .arg(due.timestamp_millis())
            .arg(env.event_id.to_string())
            .arg(data)
            .invoke_async(&mut self.conn.clone())
            .await?;
        Ok(added == 1)
    }

    /// Moves up to `limit` retries due at `now` onto `P:events`, oldest due
    /// first; returns how many moved.
    ///
    /// One Lua script reads, removes and XADDs, so any number of replicas can
    /// run it at once and each retry moves exactly once (svix takes a lock
    /// for this; a script needs none).
    pub async fn promote_due(&self, now: DateTime<Utc>, limit: usize) -> Result<usize, QueueError> {
        if limit == 0 {
            return Ok(0);
        }
        let (moved, orphans): (usize, usize) = scripts::PROMOTE_DUE
            .key(&self.keys.delayed)
            .key(&self.keys.delayed_data)
            .key(&self.keys.events)
            .arg(entry::unix_ms(now))
            .arg(limit)
            .arg(self.cfg.maxlen.unwrap_or(0))
            .invoke_async(&mut self.conn.clone())
            .await?;
        if orphans > 0 {
            tracing::error!(orphans, "delayed retries without data were dropped");
        }
        if moved > 0 {
            tracing::debug!(moved, "due retries promoted");
        }
        Ok(moved)
    }

    /// When the next retry is due, if any.
    pub async fn delayed_next_due(&self) -> Result<Option<DateTime<Utc>>, QueueError> {
        let first: Vec<(String, f64)> = redis::cmd("ZRANGE")
            .arg(&self.keys.delayed)
            .arg(0)
            .arg(0)
            .arg("WITHSCORES")
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(first
            .first()
            .and_then(|(_, score)| DateTime::from_timestamp_millis(*score as i64)))
    }

    /// Runs [`Queue::promote_due`] every `every` until `shutdown` is
    /// cancelled; a full batch is followed at once by another. Errors are
    /// logged and retried with backoff, never returned: the loop is meant to
    /// be spawned next to each worker (and is safe on every replica).
    pub async fn run_delayed_mover(&self, shutdown: CancellationToken, every: Duration) {
        let limit = self.cfg.batch;
        let mut failures = 0u32;
        loop {
            let wait = match self.promote_due(Utc::now(), limit).await {
                Ok(n) => {
                    failures = 0;
                    if n == limit {
                        Duration::ZERO
                    } else {
                        every
                    }
                }
                Err(e) => {
                    failures = failures.saturating_add(1);
                    tracing::warn!(error = %e, failures, "promoting due retries failed");
                    reconnect_delay(failures).max(every)
                }
            };
            tokio::select! {
                // Shutdown first, even when the next pass is due at once.
                biased;
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }
}
