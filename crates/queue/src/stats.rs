//! Queue gauges for health endpoints, metrics and `wstgctl`.

use redis::streams::{StreamInfoGroupsReply, StreamPendingCountReply};
use serde::Serialize;

use crate::error::{server_code, QueueError};
use crate::keys::GROUP;
use crate::queue::Queue;

/// How many PEL entries are inspected for the oldest idle time. The PEL is
/// normally about `batch` × consumers; beyond this the figure is a lower
/// bound (still enough to alert on).
pub const PEL_SAMPLE: usize = 1000;

/// A snapshot of the queue. Figures come from several commands and are not
/// one atomic view.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct QueueStats {
    /// Entries in `P:events`: since acked entries are deleted, this is all
    /// unfinished work (pending + not yet delivered).
    pub stream_len: u64,
    /// Delivered to a consumer and not acked yet.
    pub pending: u64,
    /// Not yet delivered to any consumer (XINFO GROUPS `lag`); `None` when
    /// Redis cannot tell (undelivered entries were deleted or trimmed).
    pub lag: Option<u64>,
    /// Consumers known to the group, idle ones included (see
    /// [`Queue::prune_consumers`]).
    pub consumers: u64,
    /// Retries waiting in `P:delayed`.
    pub delayed: u64,
    /// Dead letters in `P:dlq`.
    pub dlq: u64,
    /// Dead letters dropped by the DLQ's age and size bounds, ever
    /// (`P:dlq:dropped`): each one was logged with its event and item.
    pub dlq_dropped: u64,
    /// The longest time any pending entry has gone without being acked or
    /// re-delivered. Above `claim_min_idle` means no one is reclaiming.
    pub oldest_pending_idle_ms: Option<u64>,
}

impl Queue {
    pub async fn stats(&self) -> Result<QueueStats, QueueError> {
        let mut conn = self.conn.clone();
        let (stream_len, delayed, dlq, dlq_dropped): (u64, u64, u64, Option<u64>) = redis::pipe()
            .cmd("XLEN")
            .arg(&self.keys.events)
            .cmd("ZCARD")
            .arg(&self.keys.delayed)
            .cmd("XLEN")
            .arg(&self.keys.dlq)
            .cmd("GET")
            .arg(&self.keys.dlq_dropped)
            .query_async(&mut conn)
            .await?;
        let mut stats = QueueStats {
            stream_len,
            delayed,
            dlq,
            dlq_dropped: dlq_dropped.unwrap_or(0),
            ..Default::default()
        };

        let groups: Result<StreamInfoGroupsReply, _> = redis::cmd("XINFO")
            .arg("GROUPS")
            .arg(&self.keys.events)
            .query_async(&mut conn)
            .await;
        let group = match groups {
            Ok(g) => g.groups.into_iter().find(|g| g.name == GROUP),
            // The stream does not exist (deleted by hand): nothing pending.
            Err(e) if server_code(&e) == Some("ERR") && is_no_such_key(&e) => None,
            Err(e) => return Err(e.into()),
        };
        let Some(group) = group else {
            return Ok(stats);
        };
        stats.pending = group.pending as u64;
        stats.consumers = group.consumers as u64;
        stats.lag = group.lag.map(|l| l as u64);

        if stats.pending > 0 {
            let sample: StreamPendingCountReply = redis::cmd("XPENDING")
                .arg(&self.keys.events)
                .arg(GROUP)
                .arg("-")
                .arg("+")
                .arg(PEL_SAMPLE)
                .query_async(&mut conn)
                .await?;
            stats.oldest_pending_idle_ms =
                sample.ids.iter().map(|p| p.last_delivered_ms as u64).max();
        }
        Ok(stats)
    }
}

fn is_no_such_key(e: &redis::RedisError) -> bool {
    e.detail()
        .is_some_and(|d| d.to_ascii_lowercase().contains("no such key"))
}
