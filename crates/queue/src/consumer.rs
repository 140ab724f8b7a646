//! Consuming `P:events` in the group `workers`: batch reads, reclaiming
//! stuck entries, acking.
//!
//! Delivery is at least once. An entry read by a consumer stays in the
//! group's pending list (PEL) until acked; a worker acks only after its
//! effect is stored (or the event was handed to [`Queue::retry_later`] or
//! [`Queue::dead_letter_delivery`], which ack atomically). If the worker dies
//! first, another consumer takes the entry over with [`Consumer::claim_stale`]
//! once it has been idle for `claim_min_idle`. Handlers must therefore be
//! idempotent (the worker dedups by `event_id`).
//!
//! Connection loss: `read`, `claim_stale` and `ack` return the error (it is
//! [transient](QueueError::is_transient)) and drop the connection; the next
//! call opens a new one. The consumer never sleeps on its own: the caller
//! backs off between failing calls (see [`crate::reconnect_delay`]) and can
//! stop at once on shutdown. [`Consumer::reconnect`] forces a new connection.
//!
//! A worker loop, in outline:
//!
//! ```no_run
//! # async fn run(queue: wstg_queue::Queue) -> Result<(), wstg_queue::QueueError> {
//! let mut consumer = queue.consumer(&wstg_queue::unique_consumer_name("worker")).await?;
//! let max = queue.config().max_deliveries;
//! let mut failures = 0;
//! loop {
//!     let batch = match consumer.read().await {
//!         Ok(batch) => { failures = 0; batch }
//!         Err(e) if e.is_transient() => {
//!             failures += 1;
//!             tokio::time::sleep(wstg_queue::reconnect_delay(failures)).await;
//!             continue;
//!         }
//!         Err(e) => return Err(e),
//!     };
//!     for d in batch {
//!         if d.envelope.is_err() || d.exceeded(max) {
//!             queue.dead_letter_delivery(&d, "poison").await?;
//!             continue;
//!         }
//!         // apply, store the effect, then:
//!         consumer.ack(&[d.id.clone()]).await?;
//!     }
//!     // every few seconds: consumer.claim_stale() and handle those too
//! }
//! # }
//! ```
//!
//! Cancellation: dropping a `read` future mid-BLOCK does not lose entries,
//! but any the server hands out after the drop sit in this consumer's PEL
//! until `claim_stale` (anyone's) picks them up after `claim_min_idle`. To
//! stop promptly and cleanly, stop calling `read` rather than cancelling it:
//! a read returns within `block`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use redis::streams::{StreamAutoClaimReply, StreamId, StreamPendingCountReply, StreamReadReply};
use uuid::Uuid;
use wstg_domain::{Envelope, EnvelopeError};

use crate::config::QueueConfig;
use crate::connection::{self, is_nogroup};
use crate::entry;
use crate::error::QueueError;
use crate::keys::{Keys, GROUP};
use crate::queue::Queue;
use crate::scripts;

/// One entry handed to a consumer.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// Stream id in `P:events`; what [`Consumer::ack`] takes.
    pub id: String,
    /// The decoded envelope, or why it does not decode (a newer release's
    /// envelope version, or not an envelope): such an entry is poison and
    /// belongs in the dead-letter queue.
    pub envelope: Result<Envelope, EnvelopeError>,
    /// The `data` field as stored (for dead letters and logs).
    pub raw: String,
    /// How many times Redis has handed this entry out, this time included:
    /// 1 for a fresh read, more after each reclaim of a stuck entry.
    pub deliveries: u64,
}

impl Delivery {
    /// True when this delivery is over the limit: the entry was already
    /// handed out `max_deliveries` times without being acked, so it keeps
    /// crashing or hanging its worker and should be dead-lettered unhandled.
    pub fn exceeded(&self, max_deliveries: u32) -> bool {
        self.deliveries > u64::from(max_deliveries)
    }

    /// The event id, from the envelope or, for poison, from the JSON if it
    /// has one.
    pub fn event_id(&self) -> Option<Uuid> {
        match &self.envelope {
            Ok(env) => Some(env.event_id),
            Err(_) => serde_json::from_str::<serde_json::Value>(&self.raw)
                .ok()
                .and_then(|v| v.get("event_id")?.as_str().map(str::to_owned))
                .and_then(|s| Uuid::parse_str(&s).ok()),
        }
    }

    fn from_entry(entry: StreamId, deliveries: u64) -> Delivery {
        let (raw, envelope) = entry::payload(&entry.map);
        Delivery {
            id: entry.id,
            envelope,
            raw,
            deliveries,
        }
    }
}

/// A name for this process's consumer that no other replica uses:
/// `<role>-<hostname>-<8 hex>`. Unique names matter: the PEL is per
/// consumer, and XAUTOCLAIM hands stuck work from one name to another.
pub fn unique_consumer_name(role: &str) -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "host".to_owned());
    let id = Uuid::new_v4().simple().to_string();
    format!("{role}-{host}-{}", &id[..8])
}

/// A member of the `workers` group with its own connection.
pub struct Consumer {
    name: String,
    cfg: Arc<QueueConfig>,
    keys: Arc<Keys>,
    pool: connection::BlockingPool,
    /// From the blocking pool. `None` after an error that broke it;
    /// reopened by the next call.
    conn: Option<connection::Dedicated>,
    /// XAUTOCLAIM cursor: each call resumes the PEL scan where the last one
    /// stopped, so a big PEL is covered over several calls.
    claim_cursor: String,
}

impl std::fmt::Debug for Consumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Consumer")
            .field("name", &self.name)
            .field("connected", &self.conn.is_some())
            .field("claim_cursor", &self.claim_cursor)
            .finish()
    }
}

impl Queue {
    /// Joins the group as consumer `name` on a dedicated connection whose
    /// response timeout exceeds `block`. Use a name unique to this process
    /// ([`unique_consumer_name`]) unless you mean to resume a known one.
    pub async fn consumer(&self, name: &str) -> Result<Consumer, QueueError> {
        if name.is_empty() {
            return Err(QueueError::Config("consumer name must not be empty".into()));
        }
        let mut conn =
            connection::dedicated(&self.pool, &self.cfg, &format!("consumer:{name}")).await?;
        // Redis 7.0 registers a consumer only when it is first handed an
        // entry; join explicitly so the group (and the dashboard) counts every
        // running worker from its start. Best effort: reading works without it.
        let joined: Result<(), redis::RedisError> = redis::cmd("XGROUP")
            .arg("CREATECONSUMER")
            .arg(&self.keys.events)
            .arg(GROUP)
            .arg(name)
            .query_async(&mut conn)
            .await;
        if let Err(e) = joined {
            tracing::debug!(consumer = %name, error = %e, "could not announce the consumer");
        }
        Ok(Consumer {
            name: name.to_owned(),
            cfg: self.cfg.clone(),
            keys: self.keys.clone(),
            pool: self.pool.clone(),
            conn: Some(conn),
            claim_cursor: "0-0".to_owned(),
        })
    }

    /// Deletes group members that own no pending entries and have been idle
    /// for `min_idle` (replicas that stopped, each with a unique name).
    /// Returns how many were deleted. One script checks and deletes, because
    /// deleting a consumer discards its pending entries.
    pub async fn prune_consumers(&self, min_idle: Duration) -> Result<usize, QueueError> {
        let n: usize = scripts::PRUNE_CONSUMERS
            .key(&self.keys.events)
            .arg(GROUP)
            .arg(u64::try_from(min_idle.as_millis()).unwrap_or(u64::MAX))
            .invoke_async(&mut self.conn.clone())
            .await?;
        if n > 0 {
            tracing::info!(pruned = n, "idle consumers removed from the group");
        }
        Ok(n)
    }
}

impl Queue {
    /// Acks and deletes entries like [`Consumer::ack`], on the shared
    /// connection: for a worker whose consumer connection is busy in a
    /// blocking read while earlier batches finish (acking is not tied to
    /// the consumer that read the entry).
    pub async fn ack(&self, ids: &[String]) -> Result<(), QueueError> {
        if ids.is_empty() {
            return Ok(());
        }
        redis::pipe()
            .atomic()
            .cmd("XACK")
            .arg(&self.keys.events)
            .arg(GROUP)
            .arg(ids)
            .ignore()
            .cmd("XDEL")
            .arg(&self.keys.events)
            .arg(ids)
            .ignore()
            .query_async::<()>(&mut self.conn.clone())
            .await?;
        Ok(())
    }

    /// Heartbeat for entries `consumer` holds and is still working on: resets
    /// their idle time, so other replicas' [`Consumer::claim_stale`] (which
    /// takes entries idle for `claim_min_idle`) leaves them alone however
    /// long they wait in this process. Entries another consumer took in the
    /// meantime are not taken back. Returns how many were touched.
    pub async fn touch_held(&self, consumer: &str, ids: &[String]) -> Result<usize, QueueError> {
        let mut touched = 0;
        // Bounded script calls: a long in-hand list is sent in slices.
        for chunk in ids.chunks(500) {
            let n: usize = scripts::TOUCH_HELD
                .key(&self.keys.events)
                .arg(GROUP)
                .arg(consumer)
                .arg(chunk)
                .invoke_async(&mut self.conn.clone())
                .await?;
            touched += n;
        }
        Ok(touched)
    }
}

impl Consumer {
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn config(&self) -> &QueueConfig {
        &self.cfg
    }

    /// Replaces the connection now (the calls also do it lazily after a
    /// connection error).
    pub async fn reconnect(&mut self) -> Result<(), QueueError> {
        if let Some(conn) = self.conn.take() {
            connection::discard(conn);
        }
        self.conn().await.map(|_| ())
    }

    async fn conn(&mut self) -> Result<&mut connection::Dedicated, QueueError> {
        match self.conn {
            Some(ref mut conn) => Ok(conn),
            None => {
                let role = format!("consumer:{}", self.name);
                let conn = connection::dedicated(&self.pool, &self.cfg, &role).await?;
                tracing::info!(consumer = %self.name, "consumer reconnected");
                Ok(self.conn.insert(conn))
            }
        }
    }

    /// Drops the connection after an error that leaves it unusable.
    fn settle<T>(&mut self, op: &str, r: Result<T, QueueError>) -> Result<T, QueueError> {
        if let Err(e) = &r {
            if e.breaks_connection() {
                tracing::warn!(consumer = %self.name, error = %e, "{op} failed; reconnecting on next call");
                if let Some(conn) = self.conn.take() {
                    connection::discard(conn);
                }
            }
        }
        r
    }

    /// Reads up to `batch` new entries, waiting up to `block` for the first.
    /// Returns an empty batch when nothing arrived.
    ///
    /// `XREADGROUP GROUP workers <name> COUNT <batch> BLOCK <block> STREAMS P:events >`
    pub async fn read(&mut self) -> Result<Vec<Delivery>, QueueError> {
        let mut r = self.read_once().await;
        if matches!(&r, Err(e) if is_nogroup(e)) {
            r = match self.recreate_group().await {
                Ok(()) => self.read_once().await,
                Err(e) => Err(e),
            };
        }
        self.settle("read", r)
    }

    async fn read_once(&mut self) -> Result<Vec<Delivery>, QueueError> {
        let mut cmd = redis::cmd("XREADGROUP");
        cmd.arg("GROUP")
            .arg(GROUP)
            .arg(&self.name)
            .arg("COUNT")
            .arg(self.cfg.batch)
            .arg("BLOCK")
            .arg(u64::try_from(self.cfg.block.as_millis()).unwrap_or(u64::MAX))
            .arg("STREAMS")
            .arg(&self.keys.events)
            .arg(">");
        let reply: Option<StreamReadReply> = cmd.query_async(self.conn().await?).await?;
        let entries = reply
            .into_iter()
            .flat_map(|r| r.keys)
            .flat_map(|k| k.ids)
            // Entries read with `>` are new to the group: first delivery.
            .map(|e| Delivery::from_entry(e, 1))
            .collect::<Vec<_>>();
        log_poison(&self.name, &entries);
        Ok(entries)
    }

    /// Takes over entries other consumers (or this one, before a restart)
    /// left unacked for at least `claim_min_idle`, up to `batch` per call.
    ///
    /// `XAUTOCLAIM P:events workers <name> <min-idle> <cursor> COUNT <batch>`,
    /// then the delivery count of each claimed entry from XPENDING (XAUTOCLAIM
    /// raised it by one). Check [`Delivery::exceeded`] before handling one.
    ///
    /// Redis ≥ 7 also reports pending ids whose entry no longer exists (trimmed
    /// or deleted); they are acked away, since there is nothing to deliver.
    /// Call it every few seconds; an empty result with more PEL to scan just
    /// means the cursor moved on.
    pub async fn claim_stale(&mut self) -> Result<Vec<Delivery>, QueueError> {
        let mut r = self.claim_once().await;
        if matches!(&r, Err(e) if is_nogroup(e)) {
            r = match self.recreate_group().await {
                Ok(()) => self.claim_once().await,
                Err(e) => Err(e),
            };
        }
        self.settle("claim_stale", r)
    }

    async fn claim_once(&mut self) -> Result<Vec<Delivery>, QueueError> {
        let mut cmd = redis::cmd("XAUTOCLAIM");
        cmd.arg(&self.keys.events)
            .arg(GROUP)
            .arg(&self.name)
            .arg(u64::try_from(self.cfg.claim_min_idle.as_millis()).unwrap_or(u64::MAX))
            .arg(&self.claim_cursor)
            .arg("COUNT")
            .arg(self.cfg.batch);
        let events = self.keys.events.clone();
        let name = self.name.clone();
        let conn = self.conn().await?;
        let reply: StreamAutoClaimReply = cmd.query_async(conn).await?;

        if !reply.deleted_ids.is_empty() {
            tracing::warn!(
                consumer = %name,
                ids = ?reply.deleted_ids,
                "pending entries whose data is gone (trimmed or deleted); acking them away"
            );
            redis::cmd("XACK")
                .arg(&events)
                .arg(GROUP)
                .arg(&reply.deleted_ids)
                .query_async::<()>(conn)
                .await?;
        }
        if reply.invalid_entries {
            // Redis 6.2 returns nil for deleted entries without their ids.
            tracing::warn!(consumer = %name, "XAUTOCLAIM returned nil entries (Redis < 7?)");
        }

        let mut deliveries = Vec::with_capacity(reply.claimed.len());
        if !reply.claimed.is_empty() {
            let mut pipe = redis::pipe();
            for e in &reply.claimed {
                pipe.cmd("XPENDING")
                    .arg(&events)
                    .arg(GROUP)
                    .arg(&e.id)
                    .arg(&e.id)
                    .arg(1);
            }
            let pending: Vec<StreamPendingCountReply> = pipe.query_async(conn).await?;
            let counts: HashMap<String, (String, usize)> = pending
                .into_iter()
                .flat_map(|p| p.ids)
                .map(|p| (p.id, (p.consumer, p.times_delivered)))
                .collect();
            for e in reply.claimed {
                match counts.get(&e.id) {
                    // Still ours: hand it out with its count.
                    Some((owner, n)) if *owner == name => {
                        let n = u64::try_from(*n).unwrap_or(u64::MAX);
                        deliveries.push(Delivery::from_entry(e, n));
                    }
                    // Acked by its slow previous owner in the meantime, or
                    // claimed again by someone else: not ours to handle.
                    _ => {
                        tracing::debug!(consumer = %name, id = %e.id, "claimed entry no longer ours")
                    }
                }
            }
        }
        let next = reply.next_stream_id;
        if !deliveries.is_empty() {
            tracing::info!(consumer = %name, count = deliveries.len(), "reclaimed stale entries");
        }
        self.claim_cursor = next;
        log_poison(&self.name, &deliveries);
        Ok(deliveries)
    }

    /// Acks and deletes entries: `MULTI; XACK …; XDEL …; EXEC`. Like svix,
    /// finished entries leave the stream, so `P:events` holds only unfinished
    /// work and never needs trimming. Acking an unknown or already-acked id is
    /// a no-op.
    pub async fn ack(&mut self, ids: &[String]) -> Result<(), QueueError> {
        if ids.is_empty() {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("XACK")
            .arg(&self.keys.events)
            .arg(GROUP)
            .arg(ids)
            .ignore()
            .cmd("XDEL")
            .arg(&self.keys.events)
            .arg(ids)
            .ignore();
        let r = async { Ok(pipe.query_async::<()>(self.conn().await?).await?) }.await;
        self.settle("ack", r)
    }

    /// The stream or the group vanished (a FLUSHALL, an operator's DEL):
    /// recreate both so the caller can try once more.
    async fn recreate_group(&mut self) -> Result<(), QueueError> {
        tracing::warn!(consumer = %self.name, stream = %self.keys.events, "consumer group missing; recreating it");
        let keys = self.keys.clone();
        connection::ensure_group(self.conn().await?, &keys).await
    }
}

fn log_poison(consumer: &str, batch: &[Delivery]) {
    for d in batch {
        if let Err(e) = &d.envelope {
            tracing::warn!(consumer, id = %d.id, error = %e, "undecodable entry (poison)");
        }
    }
}
