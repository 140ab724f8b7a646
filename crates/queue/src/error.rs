//! Queue errors and their retryable/permanent classification.

use redis::{ErrorKind, RedisError, ServerErrorKind};

/// Everything the queue can fail with.
///
/// Messages never contain the Redis URL (the redis crate does not put it in
/// its errors, and this crate only ever formats the redacted form), so they
/// are safe to log and to return from an admin API.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QueueError {
    /// A Redis command or connection failed. Whether retrying can help is
    /// told by [`QueueError::is_transient`]: connection refused or dropped,
    /// timeouts, LOADING, OOM, failovers are transient; WRONGTYPE, NOPERM or a
    /// bad password are not.
    ///
    /// The Redis error is in the message and deliberately not the
    /// `source()`: it already prints its own cause, and `{:#}` chains would
    /// repeat "Connection refused" once per level.
    #[error("redis: {0}")]
    Redis(RedisError),
    /// Data in Redis is not what this crate wrote (a hand-made entry, another
    /// version's format, a reply of an unexpected shape).
    #[error("cannot decode {0}")]
    Decode(String),
    /// An envelope could not be turned into JSON (not expected to happen).
    #[error("cannot encode envelope: {0}")]
    Encode(#[from] serde_json::Error),
    /// The configuration cannot work (see [`crate::QueueConfig::validate`]).
    #[error("invalid queue configuration: {0}")]
    Config(String),
    /// Every connection of the bounded blocking pool is in use (or a new one
    /// could not be opened in time). Transient: one is returned as soon as a
    /// reader stops.
    #[error("no free connection in the blocking Redis pool: {0}")]
    PoolExhausted(String),
    /// A write on a Sentinel-managed primary that no replica confirmed in
    /// time: it may be lost in a failover, so it is reported as not done.
    /// Transient: the caller retries (the next attempt asks the sentinels
    /// for the master again), and the event id makes a repeat harmless.
    #[error("no replica confirmed the write within {0} ms (failover under way?)")]
    NotReplicated(u64),
}

impl From<RedisError> for QueueError {
    fn from(e: RedisError) -> Self {
        QueueError::Redis(e)
    }
}

impl QueueError {
    /// True when the same call may succeed later without anyone changing
    /// anything: the caller should back off and retry (or answer 503), not
    /// give up.
    pub fn is_transient(&self) -> bool {
        match self {
            QueueError::Redis(e) => is_transient_redis(e),
            QueueError::PoolExhausted(_) | QueueError::NotReplicated(_) => true,
            QueueError::Decode(_) | QueueError::Encode(_) | QueueError::Config(_) => false,
        }
    }

    /// A failed checkout from the blocking pool: the Redis error itself when
    /// connecting failed, else "exhausted".
    pub(crate) fn from_pool(e: deadpool::managed::PoolError<RedisError>) -> QueueError {
        match e {
            deadpool::managed::PoolError::Backend(e) => QueueError::Redis(e),
            other => QueueError::PoolExhausted(other.to_string()),
        }
    }

    /// True when the connection that produced this error should be replaced
    /// before it is used again.
    pub(crate) fn breaks_connection(&self) -> bool {
        match self {
            QueueError::Redis(e) => breaks_connection(e),
            _ => false,
        }
    }
}

/// Server error codes the redis crate does not know by name but that clear up
/// by themselves: OOM (maxmemory reached under noeviction: workers draining
/// the stream free memory), BUSY (a long script), MISCONF (snapshots failing,
/// writes refused until the disk is fixed), NOREPLICAS/NOTREADY.
const TRANSIENT_CODES: &[&str] = &["OOM", "BUSY", "MISCONF", "NOREPLICAS", "NOTREADY"];

fn is_transient_redis(e: &RedisError) -> bool {
    if e.is_io_error() || e.is_timeout() || e.is_connection_refusal() || e.is_connection_dropped() {
        return true;
    }
    // Deliberately not `retry_method()`: it calls a reply that does not fit
    // the expected type (ErrorKind::Parse) "reconnect and retry", but a
    // conversion that failed once fails every time.
    if matches!(
        e.kind(),
        ErrorKind::Server(
            ServerErrorKind::BusyLoading
                | ServerErrorKind::TryAgain
                | ServerErrorKind::MasterDown
                | ServerErrorKind::ClusterDown
                | ServerErrorKind::ReadOnly,
        ) | ErrorKind::ClusterConnectionNotFound
    ) {
        return true;
    }
    e.code().is_some_and(|code| TRANSIENT_CODES.contains(&code))
}

fn breaks_connection(e: &RedisError) -> bool {
    // A timed-out request leaves its reply in flight on a multiplexed
    // connection; a fresh connection is the only clean state after it.
    e.is_io_error() || e.is_timeout() || e.is_connection_dropped() || e.is_unrecoverable_error()
}

/// The error code of a Redis server error (`NOGROUP`, `BUSYGROUP`, …).
pub(crate) fn server_code(e: &RedisError) -> Option<&str> {
    e.code()
}

#[cfg(test)]
mod tests {
    /// A refused connection is reported with its reason once, however the
    /// error is printed (`{:#}` walks every source).
    #[test]
    fn a_refused_connection_names_its_reason_once() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "Connection refused");
        let err = anyhow::Error::from(QueueError::from(RedisError::from(io)))
            .context("connecting to Redis at redis://127.0.0.1:1");
        let shown = format!("{err:#}");
        assert_eq!(shown.matches("Connection refused").count(), 1, "{shown}");
        assert!(
            shown.starts_with("connecting to Redis at redis://127.0.0.1:1: redis: "),
            "{shown}"
        );
    }

    use super::*;

    #[test]
    fn io_errors_are_transient() {
        let e: RedisError = std::io::Error::from(std::io::ErrorKind::ConnectionRefused).into();
        assert!(QueueError::from(e.clone()).is_transient());
        assert!(QueueError::from(e).breaks_connection());
        let e: RedisError = std::io::Error::from(std::io::ErrorKind::TimedOut).into();
        assert!(QueueError::from(e).is_transient());
    }

    #[test]
    fn server_errors_are_classified() {
        let oom = redis::make_extension_error("OOM".into(), Some("command not allowed".into()));
        assert!(QueueError::from(oom).is_transient());
        let wrongtype = redis::make_extension_error("WRONGTYPE".into(), None);
        assert!(!QueueError::from(wrongtype).is_transient());
    }

    #[test]
    fn a_reply_of_the_wrong_type_is_permanent() {
        let e = redis::from_redis_value::<i64>(redis::Value::BulkString(b"x".to_vec()))
            .map_err(RedisError::from)
            .expect_err("not a number");
        assert!(!QueueError::from(e).is_transient());
    }

    #[test]
    fn decode_and_config_are_permanent() {
        assert!(!QueueError::Decode("x".into()).is_transient());
        assert!(!QueueError::Config("x".into()).is_transient());
    }
}
