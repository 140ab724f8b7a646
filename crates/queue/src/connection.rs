//! Connection setup: one shared multiplexed connection for everything that
//! does not block, and a bounded pool (deadpool-redis) of connections for
//! what blocks: each consumer loop's XREADGROUP BLOCK and each feed reader's
//! XREAD BLOCK hold one pooled connection while they run.
//!
//! Why two kinds:
//! - Publishing through one multiplexed `ConnectionManager` measured ~71k
//!   XADD/s from actix-web, against 25–33k for a pool checkout per request,
//!   and the manager reconnects by itself after a connection loss.
//! - A blocking XREADGROUP holds its connection until data arrives or BLOCK
//!   expires; on the shared connection it would stall every publish queued
//!   behind it (redis-rs #1236). So each consumer gets its own.
//! - redis 1.x gives every async connection a 500 ms response timeout by
//!   default (redis-rs #1924): a BLOCK 2000 read would fail on every empty
//!   poll. Both kinds get explicit timeouts; the pool's exceeds BLOCK, and
//!   every blocking read is clamped to the configured `block`.
//! - The pool is bounded (`blocking_pool_size`, waiting at most `POOL_WAIT`
//!   for a free connection): a process can never open Redis connections
//!   without limit, whatever its callers do. The ingest's live streams share
//!   one feed reader (a broadcast in wstg-ingest), so a thousand open
//!   streams cost one pooled connection, not a thousand (issue 9: 296
//!   streams once exhausted a Redis with `maxclients 300`).
//! - Pooled connections are named `wstg:<prefix>:<role>` (CLIENT SETNAME)
//!   so `CLIENT LIST` shows which deployment and role holds each.

use deadpool_redis::{Manager, Pool, Runtime};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncConnectionConfig, Client};

use crate::config::{QueueConfig, CONNECT_TIMEOUT, POOL_WAIT, SHARED_RESPONSE_TIMEOUT};
use crate::error::{server_code, QueueError};
use crate::keys::{Keys, GROUP};

/// A client for the configured URL (no I/O yet).
pub(crate) fn client(cfg: &QueueConfig) -> Result<Client, QueueError> {
    // The redis crate's URL errors do not echo the URL, but say which one was
    // wrong, redacted.
    Client::open(cfg.redis_url.as_str()).map_err(|e| {
        QueueError::Config(format!(
            "redis_url {} is not usable: {e}",
            cfg.redacted_url()
        ))
    })
}

/// The shared, self-reconnecting connection. After a connection loss the
/// command in flight fails (transient) and the manager reconnects in the
/// background; every later command waits for that attempt, and a command
/// that finds it failed starts another.
///
/// Each attempt retries only twice (100 ms, 200 ms, jittered): the crate's
/// default of 6 retries made every publish during an outage hang ~5 s before
/// failing, where the ingest API should answer 503 at once and let the
/// sender retry.
pub(crate) async fn shared(client: &Client) -> Result<ConnectionManager, QueueError> {
    let config = ConnectionManagerConfig::new()
        .set_response_timeout(Some(SHARED_RESPONSE_TIMEOUT))
        .set_connection_timeout(Some(CONNECT_TIMEOUT))
        .set_min_delay(std::time::Duration::from_millis(100))
        .set_number_of_retries(2)
        .set_max_delay(std::time::Duration::from_secs(1));
    Ok(client.get_connection_manager_with_config(config).await?)
}

/// A connection taken from the blocking pool; back in the pool on drop
/// (or gone for good after [`discard`]).
pub(crate) type Dedicated = deadpool_redis::Connection;

/// The bounded pool of connections for blocking commands. No connection is
/// opened until one is asked for.
pub(crate) fn blocking_pool(cfg: &QueueConfig) -> Result<Pool, QueueError> {
    let config = AsyncConnectionConfig::new()
        .set_response_timeout(Some(cfg.consumer_response_timeout()))
        .set_connection_timeout(Some(CONNECT_TIMEOUT));
    let manager = Manager::new_with_config(cfg.redis_url.as_str(), config).map_err(|e| {
        QueueError::Config(format!(
            "redis_url {} is not usable: {e}",
            cfg.redacted_url()
        ))
    })?;
    Pool::builder(manager)
        .max_size(cfg.blocking_pool_size)
        .wait_timeout(Some(POOL_WAIT))
        .create_timeout(Some(CONNECT_TIMEOUT))
        .recycle_timeout(Some(CONNECT_TIMEOUT))
        .runtime(Runtime::Tokio1)
        .build()
        .map_err(|e| QueueError::Config(format!("blocking connection pool: {e}")))
}

/// A pooled connection for a blocking reader, named
/// `wstg:<prefix>:<role>` so `CLIENT LIST` shows which replica holds which
/// connection.
pub(crate) async fn dedicated(
    pool: &Pool,
    cfg: &QueueConfig,
    role: &str,
) -> Result<Dedicated, QueueError> {
    let mut conn = pool.get().await.map_err(QueueError::from_pool)?;
    let name: String = format!("wstg:{}:{role}", cfg.prefix)
        .chars()
        .map(|c| if c.is_ascii_graphic() { c } else { '_' })
        .collect();
    // Best effort: an ACL may forbid CLIENT; the name is only a convenience.
    if let Err(e) = redis::cmd("CLIENT")
        .arg("SETNAME")
        .arg(name)
        .query_async::<()>(&mut conn)
        .await
    {
        let e = QueueError::from(e);
        if e.is_transient() {
            discard(conn);
            return Err(e);
        }
        tracing::debug!(error = %e, "could not name the pooled connection");
    }
    Ok(conn)
}

/// Takes a broken connection out of the pool instead of returning it, so the
/// pool opens a fresh one for the next caller (and a BLOCK still pending on
/// the server cannot answer someone else's command).
pub(crate) fn discard(conn: Dedicated) {
    drop(deadpool_redis::Connection::take(conn));
}

/// Creates the consumer group (and the stream) if missing.
///
/// The group starts at id `0`, not `$`: acked entries are deleted, so every
/// entry present is unfinished work. If the stream key is ever deleted while
/// producers run, XADD recreates it without a group and consumers recreate
/// the group on NOGROUP; starting at `$` would skip what was added between.
pub(crate) async fn ensure_group<C>(conn: &mut C, keys: &Keys) -> Result<(), QueueError>
where
    C: redis::aio::ConnectionLike + Send,
{
    let created = redis::cmd("XGROUP")
        .arg("CREATE")
        .arg(&keys.events)
        .arg(GROUP)
        .arg("0")
        .arg("MKSTREAM")
        .query_async::<()>(conn)
        .await;
    match created {
        Ok(()) => {
            tracing::info!(stream = %keys.events, group = GROUP, "created consumer group");
            Ok(())
        }
        Err(e) if server_code(&e) == Some("BUSYGROUP") => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// True for the error a group command gets when the stream or group is gone.
pub(crate) fn is_nogroup(e: &QueueError) -> bool {
    matches!(e, QueueError::Redis(r) if server_code(r) == Some("NOGROUP"))
}
