//! Leases in Redis: one implementation for every "only one of us at a time"
//! in the bridge — an item being synced (so replicas never apply one item at
//! once: two concurrent "find, else create" would make two findings), a
//! project's hierarchy being made, a project being polled.
//!
//! A lease is a key holding its holder's token, with an expiry. Only the
//! holder renews or releases it (checked in one script), so a lease that
//! expired and was taken by another must not be released by its old holder.

use std::time::Duration;

use crate::connection::Connection;
use redis::Script;
use uuid::Uuid;

use crate::keys::Keys;

/// Takes the lease if free, renews it if ARGV[1] holds it.
const TAKE_OR_RENEW: &str = r#"
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"#;

/// Re-arms the lease for ARGV[2] ms from now, only if ARGV[1] holds it.
const RENEW: &str = r#"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"#;

/// Deletes the key only if ARGV[1] holds it.
const RELEASE: &str = r#"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"#;

/// A lease expired while its holder still worked, and another took it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the lease was lost while working (held past its term)")]
pub struct LeaseLost;

/// Leases of one term under one prefix. Cheap to clone.
#[derive(Clone)]
pub struct Leases {
    conn: Connection,
    keys: Keys,
    term: Duration,
    take_or_renew: Script,
    renew: Script,
    release: Script,
}

/// A lease held by this process.
#[derive(Debug)]
pub struct Lease {
    key: String,
    token: String,
}

impl Lease {
    pub fn key(&self) -> &str {
        &self.key
    }
}

impl Leases {
    pub fn new(conn: Connection, prefix: &str, term: Duration) -> Leases {
        Leases {
            conn,
            keys: Keys::new(prefix),
            term,
            take_or_renew: Script::new(TAKE_OR_RENEW),
            renew: Script::new(RENEW),
            release: Script::new(RELEASE),
        }
    }

    pub fn term(&self) -> Duration {
        self.term
    }

    fn ms(&self) -> u64 {
        u64::try_from(self.term.as_millis()).unwrap_or(u64::MAX)
    }

    /// Waits until the lock named `name` (`P:lock:<name>`) is ours, for at
    /// most `wait`; `None` when another holder kept it.
    pub async fn acquire(
        &self,
        name: &str,
        wait: Duration,
    ) -> Result<Option<Lease>, redis::RedisError> {
        let key = self.keys.lock(name);
        let token = Uuid::new_v4().to_string();
        let deadline = tokio::time::Instant::now() + wait;
        let mut pause = Duration::from_millis(5);
        loop {
            if self.hold(&key, &token).await? {
                return Ok(Some(Lease { key, token }));
            }
            if tokio::time::Instant::now() >= deadline {
                return Ok(None);
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(50));
        }
    }

    /// Keeps the lease for one more full term from now instead of releasing
    /// it (after a write whose outcome is unknown, nobody touches the item
    /// until that write has surely landed or died).
    pub async fn keep(&self, lease: Lease) {
        let r: Result<i64, _> = self
            .renew
            .key(&lease.key)
            .arg(&lease.token)
            .arg(self.ms())
            .invoke_async(&mut self.conn.clone())
            .await;
        if let Err(e) = r {
            // It expires by itself at the end of the current term.
            tracing::debug!(error = %e, "could not keep a lease");
        }
    }

    pub async fn release(&self, lease: Lease) {
        self.release_held(&lease.key, &lease.token).await;
    }

    /// Takes the lease at `key` for `holder` if free, renews it if `holder`
    /// has it; true when `holder` holds it now.
    pub async fn hold(&self, key: &str, holder: &str) -> Result<bool, redis::RedisError> {
        let got: i64 = self
            .take_or_renew
            .key(key)
            .arg(holder)
            .arg(self.ms())
            .invoke_async(&mut self.conn.clone())
            .await?;
        Ok(got == 1)
    }

    /// Gives up the lease at `key` if `holder` has it. Best effort: a lease
    /// not released expires by itself.
    pub async fn release_held(&self, key: &str, holder: &str) {
        let r: Result<i64, _> = self
            .release
            .key(key)
            .arg(holder)
            .invoke_async(&mut self.conn.clone())
            .await;
        if let Err(e) = r {
            tracing::debug!(error = %e, "lease not released; it expires by itself");
        }
    }

    /// Runs `work` while keeping `lease`: renewed every third of its term,
    /// so a holder that is slow (a loaded machine, several DefectDojo calls
    /// in a row, a store that is busy) never loses it mid-work to a waiter,
    /// which would then apply the same item at once (two "find, else
    /// create" make two findings). If a renewal finds the lease taken by
    /// another (it expired during a stall longer than its term), `work` is
    /// dropped at its current await point and [`LeaseLost`] returned: the
    /// item is the other holder's now, and whatever `work` had sent is
    /// covered by its write-ahead intents. A renewal that fails because
    /// Redis is away is not a loss: the term still runs, and work goes on.
    pub async fn hold_during<F: std::future::Future>(
        &self,
        lease: &Lease,
        work: F,
    ) -> Result<F::Output, LeaseLost> {
        tokio::pin!(work);
        let every = self.term / 3;
        loop {
            tokio::select! {
                biased;
                out = &mut work => return Ok(out),
                _ = tokio::time::sleep(every) => {
                    let renewed: Result<i64, redis::RedisError> = self
                        .renew
                        .key(&lease.key)
                        .arg(&lease.token)
                        .arg(self.ms())
                        .invoke_async(&mut self.conn.clone())
                        .await;
                    match renewed {
                        Ok(1) => {}
                        Ok(_) => {
                            tracing::warn!(lease = %lease.key, "lease lost while working (held past its term); the work is dropped");
                            return Err(LeaseLost);
                        }
                        Err(e) => tracing::debug!(error = %e, "lease not renewed; retrying at the next tick"),
                    }
                }
            }
        }
    }

    /// Who holds the lease at `key`, if anyone.
    pub async fn holder_of(&self, key: &str) -> Result<Option<String>, redis::RedisError> {
        redis::cmd("GET")
            .arg(key)
            .query_async(&mut self.conn.clone())
            .await
    }
}
