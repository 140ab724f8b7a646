//! Queue configuration: where Redis is, which keys, and the consumer timing.

use std::fmt;
use std::time::Duration;

use crate::error::QueueError;

/// How to reach Redis and how consumers read.
///
/// The defaults suit production; tests shorten `claim_min_idle` and `block`.
/// Construct with [`QueueConfig::new`] (or `..Default::default()`) and set
/// fields, so new fields never break callers.
#[derive(Clone, PartialEq, Eq)]
pub struct QueueConfig {
    /// `redis://[user:password@]host:port[/db]` (one server),
    /// `redis+cluster://[user:password@]host:port,host:port,…` (Redis
    /// Cluster: any reachable nodes), or
    /// `redis+sentinel://[user:password@]host:26379,…/<master>[/db]` (a
    /// Sentinel-managed primary; the password is the data nodes'). See
    /// `src/connection.rs`. Never logged as is: see
    /// [`QueueConfig::redacted_url`].
    pub redis_url: String,
    /// Every key lives under `{prefix}:`: the braces are a Redis Cluster
    /// hash tag, so all keys share one slot and the Lua scripts, which touch
    /// several keys, run on a cluster too (see [`crate::keys`]). The prefix
    /// itself may not contain `{` or `}`.
    pub prefix: String,
    /// How long one XREADGROUP waits for new entries. Short enough that a
    /// worker notices shutdown promptly; the consumer connection's response
    /// timeout is set above it (see [`QueueConfig::consumer_response_timeout`]).
    pub block: Duration,
    /// Entries per XREADGROUP / XAUTOCLAIM. Reading in batches is ~10× faster
    /// than one at a time.
    pub batch: usize,
    /// An entry delivered but not acked for this long is taken over by
    /// another consumer (XAUTOCLAIM). Must exceed the longest time a worker
    /// may legitimately spend on one batch (DefectDojo timeout × in-call
    /// retries + margin), or healthy work gets delivered twice.
    pub claim_min_idle: Duration,
    /// Deliveries (first read plus reclaims) after which the caller should
    /// dead-letter an entry instead of handling it again: a message that keeps
    /// crashing or hanging its worker is poison.
    pub max_deliveries: u32,
    /// Approximate `MAXLEN ~` trim of the events stream on every add; `None`
    /// (the default) never trims. Acked entries are deleted anyway, so the
    /// stream holds only unfinished work and trimming it **drops unprocessed
    /// events**: this is a memory guard of last resort, not housekeeping.
    pub maxlen: Option<usize>,
    /// Most connections the blocking pool (deadpool) opens: consumer
    /// loops' XREADGROUP BLOCK and feed readers each hold one while they
    /// run. Past it a caller waits [`POOL_WAIT`] and then gets a transient
    /// error, so no code path can open connections without limit.
    pub blocking_pool_size: usize,
    /// How much the dead-letter queue may hold: older or more entries are
    /// dropped, oldest first, counted and logged (see [`DlqBounds`]).
    pub dlq_bounds: DlqBounds,
}

/// The bounds of `P:dlq`. A dead letter is a record of work given up on; it
/// is kept for an operator to read and replay, but not without limit, or a
/// flood of failures would fill Redis and stop the queue itself (at
/// `maxmemory` with `noeviction`, every XADD fails).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DlqBounds {
    /// Most dead letters kept; `None`: no size bound.
    pub max_entries: Option<u64>,
    /// Dead letters older than this (since they were dead-lettered) are
    /// dropped; `None`: no age bound.
    pub max_age: Option<Duration>,
}

impl Default for DlqBounds {
    /// As in config/default.toml (`[retention]`): 10,000 entries, 30 days.
    fn default() -> Self {
        DlqBounds {
            max_entries: Some(10_000),
            max_age: Some(Duration::from_secs(30 * 24 * 3600)),
        }
    }
}

impl DlqBounds {
    /// No bound at all (tests of other behaviour, hand-run tools).
    pub const UNBOUNDED: DlqBounds = DlqBounds {
        max_entries: None,
        max_age: None,
    };

    /// The script arguments: max entries and max age in ms, 0 for none.
    pub(crate) fn script_args(&self) -> (u64, u64) {
        (
            self.max_entries.unwrap_or(0),
            self.max_age.map_or(0, |a| {
                u64::try_from(a.as_millis()).unwrap_or(u64::MAX).max(1)
            }),
        )
    }
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig {
            redis_url: "redis://127.0.0.1:6379".to_owned(),
            prefix: "wstg".to_owned(),
            block: Duration::from_secs(2),
            batch: 100,
            claim_min_idle: Duration::from_secs(60),
            max_deliveries: 5,
            maxlen: None,
            blocking_pool_size: 4,
            dlq_bounds: DlqBounds::default(),
        }
    }
}

/// What the consumer connection waits for a reply beyond `block`: the server
/// answers a BLOCK that found nothing only once it expires, and redis 1.x
/// would otherwise give up after its default 500 ms and drop the reply.
pub const CONSUMER_TIMEOUT_MARGIN: Duration = Duration::from_secs(3);

/// Response timeout of the shared connection (publish, scripts, admin). The
/// redis crate's default of 500 ms fails requests during ordinary stalls
/// (an AOF fsync, a fork for a snapshot); 3 s still fails fast enough for
/// the ingest API to answer 503.
pub const SHARED_RESPONSE_TIMEOUT: Duration = Duration::from_secs(3);

/// How long a caller waits for a free connection of the blocking pool.
pub const POOL_WAIT: Duration = Duration::from_secs(2);

/// How long establishing a TCP connection (and the handshake) may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

impl QueueConfig {
    /// The defaults with another Redis URL and key prefix.
    pub fn new(redis_url: impl Into<String>, prefix: impl Into<String>) -> Self {
        QueueConfig {
            redis_url: redis_url.into(),
            prefix: prefix.into(),
            ..Default::default()
        }
    }

    /// Rejects settings that would make the queue misbehave silently.
    pub fn validate(&self) -> Result<(), QueueError> {
        let bad = |why: &str| Err(QueueError::Config(why.to_owned()));
        if self.prefix.is_empty() {
            return bad("prefix must not be empty");
        }
        if self.prefix.chars().any(char::is_whitespace) {
            return bad("prefix must not contain whitespace");
        }
        // The keys are `{prefix}:…`; a brace inside would end the hash tag
        // early and scatter a deployment's keys over several cluster slots.
        if self.prefix.contains(['{', '}']) {
            return bad("prefix must not contain '{' or '}' (the keys wrap it in a hash tag)");
        }
        // BLOCK 0 means "wait forever" to Redis: the consumer would never come
        // back to check for shutdown and would always hit its response timeout.
        if self.block.as_millis() == 0 {
            return bad("block must be at least 1 ms (0 would block forever)");
        }
        if self.batch == 0 {
            return bad("batch must be at least 1");
        }
        if self.claim_min_idle.as_millis() == 0 {
            return bad("claim_min_idle must be at least 1 ms");
        }
        if self.max_deliveries == 0 {
            return bad("max_deliveries must be at least 1");
        }
        if self.blocking_pool_size == 0 {
            return bad("blocking_pool_size must be at least 1");
        }
        if self.dlq_bounds.max_entries == Some(0) {
            return bad("dlq_bounds.max_entries must be at least 1 (or None for no size bound)");
        }
        if self.dlq_bounds.max_age == Some(Duration::ZERO) {
            return bad("dlq_bounds.max_age must be positive (or None for no age bound)");
        }
        if self.maxlen == Some(0) {
            return bad("maxlen must be at least 1 (or None for no trimming)");
        }
        Ok(())
    }

    /// The response timeout of each consumer's dedicated connection: longer
    /// than one BLOCK so an empty read returns empty instead of timing out.
    pub fn consumer_response_timeout(&self) -> Duration {
        self.block + CONSUMER_TIMEOUT_MARGIN
    }

    /// The URL with any password replaced by `***`, for logs and errors.
    pub fn redacted_url(&self) -> String {
        redact_url(&self.redis_url)
    }
}

// Hand-written so `{:?}` of a config (in a log line or a panic) never shows
// the Redis password.
impl fmt::Debug for QueueConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QueueConfig")
            .field("redis_url", &self.redacted_url())
            .field("prefix", &self.prefix)
            .field("block", &self.block)
            .field("batch", &self.batch)
            .field("claim_min_idle", &self.claim_min_idle)
            .field("max_deliveries", &self.max_deliveries)
            .field("maxlen", &self.maxlen)
            .field("blocking_pool_size", &self.blocking_pool_size)
            .field("dlq_bounds", &self.dlq_bounds)
            .finish()
    }
}

/// The workspace's one URL redactor (userinfo passwords and credential
/// query parameters), re-exported where callers of the queue look for it.
pub use wstg_domain::redact_url;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_as_documented() {
        let c = QueueConfig::default();
        c.validate().expect("defaults validate");
        assert_eq!(c.prefix, "wstg");
        assert_eq!(c.block, Duration::from_secs(2));
        assert_eq!(c.batch, 100);
        assert_eq!(c.claim_min_idle, Duration::from_secs(60));
        assert_eq!(c.max_deliveries, 5);
        assert_eq!(c.maxlen, None);
        assert_eq!(c.consumer_response_timeout(), Duration::from_secs(5));
    }

    #[test]
    fn rejects_block_zero_and_empty_batch() {
        let c = QueueConfig {
            block: Duration::ZERO,
            ..Default::default()
        };
        assert!(c.validate().is_err());
        let c = QueueConfig {
            batch: 0,
            ..Default::default()
        };
        assert!(c.validate().is_err());
        let c = QueueConfig {
            prefix: String::new(),
            ..Default::default()
        };
        assert!(c.validate().is_err());
        for prefix in ["{wstg}", "a{b", "a}b"] {
            let c = QueueConfig::new("redis://h", prefix);
            assert!(c.validate().is_err(), "{prefix}");
        }
    }

    /// The redactor itself is tested where it lives (wstg_domain::redact).
    #[test]
    fn debug_output_hides_the_redis_password() {
        let c = QueueConfig::new("redis://u:hunter2@h", "wstg");
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
