//! A short lease per item in Redis, so replicas never apply one item at the
//! same time (two concurrent "find, else create" would create two findings).

use std::time::Duration;

use redis::aio::ConnectionManager;
use redis::Script;
use uuid::Uuid;

/// Deletes the key only if we still hold it: a lease that expired and was
/// taken by another replica must not be released by us.
const RELEASE: &str = r#"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"#;

/// Re-arms the lease for ARGV[2] ms from now, only if we still hold it.
const KEEP: &str = r#"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"#;

#[derive(Clone)]
pub struct ItemLocks {
    conn: ConnectionManager,
    prefix: String,
    lease: Duration,
    release: Script,
    keep: Script,
}

pub struct Lease {
    key: String,
    token: String,
}

impl ItemLocks {
    pub fn new(conn: ConnectionManager, prefix: &str, lease: Duration) -> ItemLocks {
        ItemLocks {
            conn,
            prefix: prefix.to_owned(),
            lease,
            release: Script::new(RELEASE),
            keep: Script::new(KEEP),
        }
    }

    /// Waits until the lock named `name` is ours, for at most `wait`.
    pub async fn acquire(
        &self,
        name: &str,
        wait: Duration,
    ) -> Result<Option<Lease>, redis::RedisError> {
        let key = format!("{}:lock:{name}", self.prefix);
        let token = Uuid::new_v4().to_string();
        let deadline = tokio::time::Instant::now() + wait;
        let mut pause = Duration::from_millis(5);
        loop {
            let mut conn = self.conn.clone();
            let got: Option<String> = redis::cmd("SET")
                .arg(&key)
                .arg(&token)
                .arg("NX")
                .arg("PX")
                .arg(self.lease.as_millis() as u64)
                .query_async(&mut conn)
                .await?;
            if got.is_some() {
                return Ok(Some(Lease { key, token }));
            }
            if tokio::time::Instant::now() >= deadline {
                return Ok(None);
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(50));
        }
    }

    /// Keeps the item locked for one more full lease from now instead of
    /// releasing it: after a DefectDojo write whose outcome is unknown (it
    /// timed out and may still be carried out), no replica touches the item
    /// until that write has surely landed or died. The lease is longer than
    /// three DefectDojo timeouts.
    pub async fn keep(&self, lease: Lease) {
        let mut conn = self.conn.clone();
        let result: Result<i64, _> = self
            .keep
            .key(&lease.key)
            .arg(&lease.token)
            .arg(self.lease.as_millis() as u64)
            .invoke_async(&mut conn)
            .await;
        if let Err(e) = result {
            // It expires by itself at the end of the current term.
            tracing::debug!(error = %e, "could not keep item lock");
        }
    }

    pub async fn release(&self, lease: Lease) {
        let mut conn = self.conn.clone();
        let result: Result<i64, _> = self
            .release
            .key(&lease.key)
            .arg(&lease.token)
            .invoke_async(&mut conn)
            .await;
        if let Err(e) = result {
            // The lease expires by itself; nothing is lost.
            tracing::debug!(error = %e, "could not release item lock");
        }
    }
}
