//! One poller per project at a time: a lease in Redis with an expiry. The
//! holder renews it every pass; if it dies, the lease runs out and a standby
//! replica takes the project over.

use std::time::Duration;

use redis::aio::ConnectionManager;
use redis::Script;

/// Renews the lease if we hold it, takes it if it is free.
const ACQUIRE_OR_RENEW: &str = r#"
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

const RELEASE: &str = r#"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"#;

#[derive(Clone)]
pub struct ProjectLeases {
    conn: ConnectionManager,
    prefix: String,
    holder: String,
    ttl: Duration,
    acquire: Script,
    release: Script,
}

impl ProjectLeases {
    pub fn new(
        conn: ConnectionManager,
        prefix: &str,
        holder: &str,
        ttl: Duration,
    ) -> ProjectLeases {
        ProjectLeases {
            conn,
            prefix: prefix.to_owned(),
            holder: holder.to_owned(),
            ttl,
            acquire: Script::new(ACQUIRE_OR_RENEW),
            release: Script::new(RELEASE),
        }
    }

    fn key(&self, project: &str) -> String {
        format!("{}:poller:lease:{project}", self.prefix)
    }

    /// True when this poller holds `project`'s lease (now renewed).
    pub async fn hold(&self, project: &str) -> Result<bool, redis::RedisError> {
        let got: i64 = self
            .acquire
            .key(self.key(project))
            .arg(&self.holder)
            .arg(self.ttl.as_millis() as u64)
            .invoke_async(&mut self.conn.clone())
            .await?;
        Ok(got == 1)
    }

    /// Gives the lease up (on shutdown), so a standby takes over at once.
    pub async fn release(&self, project: &str) {
        let r: Result<i64, _> = self
            .release
            .key(self.key(project))
            .arg(&self.holder)
            .invoke_async(&mut self.conn.clone())
            .await;
        if let Err(e) = r {
            tracing::debug!(error = %e, "lease not released; it expires by itself");
        }
    }

    /// Who holds `project`'s lease, if anyone.
    pub async fn holder_of(&self, project: &str) -> Result<Option<String>, redis::RedisError> {
        redis::cmd("GET")
            .arg(self.key(project))
            .query_async(&mut self.conn.clone())
            .await
    }
}
