//! The queue handle: configuration, key names and the shared connection.
//! Its operations live next to their concern (publish, delayed, dlq, stats,
//! health, consumer) as further `impl Queue` blocks.

use std::sync::Arc;

use crate::config::QueueConfig;
use crate::connection::{self, Connection};
use crate::error::QueueError;
use crate::keys::Keys;

/// A handle on the queue. Cheap to clone: clones share one multiplexed
/// connection, which is what the publish hot path wants.
#[derive(Clone)]
pub struct Queue {
    pub(crate) cfg: Arc<QueueConfig>,
    pub(crate) keys: Arc<Keys>,
    /// Bounded pool of connections for blocking reads (consumers, feeds).
    pub(crate) pool: connection::BlockingPool,
    pub(crate) conn: Connection,
}

impl std::fmt::Debug for Queue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Queue").field("cfg", &self.cfg).finish()
    }
}

impl Queue {
    /// Validates the configuration, connects, and creates the consumer group
    /// `workers` on `P:events` (with the stream; an existing group is fine).
    ///
    /// Fails with a transient error if Redis is unreachable: callers that
    /// must start anyway retry with backoff. Fails with a permanent one if
    /// Redis still holds work in the layout before the hash tag (`P:events`
    /// …): `wstgctl migrate` renames it.
    pub async fn connect(cfg: QueueConfig) -> Result<Queue, QueueError> {
        cfg.validate()?;
        let target = connection::Target::parse(&cfg)?;
        let mut conn = connection::shared(&target).await?;
        let keys = Keys::new(&cfg.prefix);
        let pool = connection::blocking_pool(&cfg, &target)?;
        let queue = Queue {
            cfg: Arc::new(cfg),
            keys: Arc::new(keys),
            pool,
            conn: conn.clone(),
        };
        // Before creating anything: a new stream beside old-layout work
        // would strand that work (see `legacy`).
        queue.refuse_legacy_layout().await?;
        connection::ensure_group(&mut conn, &queue.keys).await?;
        tracing::debug!(config = ?queue.cfg, "queue connected");
        Ok(queue)
    }

    /// Validates the configuration and connects, creating nothing: for
    /// read-only callers (`wstgctl status`, `dlq list`), which must not make
    /// the stream or the consumer group on a Redis (or prefix) that a typo
    /// pointed them at. Reads on missing keys answer empty.
    pub async fn open(cfg: QueueConfig) -> Result<Queue, QueueError> {
        cfg.validate()?;
        let target = connection::Target::parse(&cfg)?;
        let mut conn = connection::shared(&target).await?;
        // The connection manager connects lazily on some failures; a PING
        // makes an unreachable Redis an error here, not on the first read.
        redis::cmd("PING").query_async::<()>(&mut conn).await?;
        let keys = Keys::new(&cfg.prefix);
        let pool = connection::blocking_pool(&cfg, &target)?;
        Ok(Queue {
            cfg: Arc::new(cfg),
            keys: Arc::new(keys),
            pool,
            conn,
        })
    }

    pub fn config(&self) -> &QueueConfig {
        &self.cfg
    }

    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    /// A clone of the shared connection, for callers that need a raw command
    /// on the same Redis (tests, admin tools). Never block on it.
    pub fn connection(&self) -> Connection {
        self.conn.clone()
    }

    /// Connections of the blocking pool: (open, in use), for tests and
    /// status output.
    pub fn blocking_pool_status(&self) -> (usize, usize) {
        let s = self.pool.status();
        (s.size, s.size.saturating_sub(s.available))
    }
}
