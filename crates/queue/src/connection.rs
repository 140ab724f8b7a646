//! Connection setup: one shared multiplexed connection for everything that
//! does not block, and one dedicated connection per consumer loop.
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
//!   poll. Both kinds get explicit timeouts; the consumer's exceeds BLOCK.

use redis::aio::{ConnectionManager, ConnectionManagerConfig, MultiplexedConnection};
use redis::{AsyncConnectionConfig, Client};

use crate::config::{QueueConfig, CONNECT_TIMEOUT, SHARED_RESPONSE_TIMEOUT};
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

/// A consumer's own connection, whose response timeout outlasts one BLOCK.
/// It is named `wstg-consumer:<name>` so `CLIENT LIST` shows which replica
/// holds which connection.
pub(crate) async fn dedicated(
    client: &Client,
    cfg: &QueueConfig,
    consumer: &str,
) -> Result<MultiplexedConnection, QueueError> {
    let config = AsyncConnectionConfig::new()
        .set_response_timeout(Some(cfg.consumer_response_timeout()))
        .set_connection_timeout(Some(CONNECT_TIMEOUT));
    let mut conn = client
        .get_multiplexed_async_connection_with_config(&config)
        .await?;
    let name: String = format!("wstg-consumer:{consumer}")
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
            return Err(e);
        }
        tracing::debug!(error = %e, "could not name the consumer connection");
    }
    Ok(conn)
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
