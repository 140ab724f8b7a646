//! What the alerting job (crates/alerts, run in the poller) reads and keeps
//! in Redis: the age of the oldest unfinished event, when a poll pass last
//! succeeded, the poller's heartbeat, and each incident's state.
//!
//! Incident state lives in Redis, not in the process, so that a poller
//! restart or a failover to another replica neither sends an incident's
//! alert again nor forgets to send its "resolved". It is written only by the
//! holder of the alert lease (checked in the same script), so a replica that
//! lost the lease mid-evaluation cannot overwrite the new holder's state.

use std::time::Duration;

use chrono::{DateTime, Utc};
use redis::Script;

use crate::error::QueueError;
use crate::queue::Queue;

/// Sets HASH[ARGV[2]] = ARGV[3] only while ARGV[1] holds the lease KEYS[1].
const SAVE_IF_HOLDER: &str = r#"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
return 1
"#;

impl Queue {
    /// Redis's own clock: stream ids are stamped with it, so ages computed
    /// from them must use it too (the process's clock may be skewed).
    pub async fn redis_now(&self) -> Result<DateTime<Utc>, QueueError> {
        let (secs, micros): (i64, i64) = redis::cmd("TIME")
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(DateTime::from_timestamp(secs, (micros * 1000) as u32).unwrap_or_else(Utc::now))
    }

    /// How long the oldest unfinished event has been on `P:events` (acked
    /// entries are deleted, so the first entry is the oldest work), by its
    /// id's time; `None` when the stream is empty.
    pub async fn backlog_age(&self) -> Result<Option<Duration>, QueueError> {
        let first: Vec<(String, Vec<(String, String)>)> = redis::cmd("XRANGE")
            .arg(&self.keys.events)
            .arg("-")
            .arg("+")
            .arg("COUNT")
            .arg(1)
            .query_async(&mut self.conn.clone())
            .await?;
        let Some(ms) = first
            .first()
            .and_then(|(id, _)| id.split('-').next()?.parse::<i64>().ok())
        else {
            return Ok(None);
        };
        let now = self.redis_now().await?.timestamp_millis();
        Ok(Some(Duration::from_millis(
            u64::try_from(now - ms).unwrap_or(0),
        )))
    }

    /// Records that a poll pass read every project it held at `at`.
    pub async fn mark_poll_ok(&self, at: DateTime<Utc>) -> Result<(), QueueError> {
        redis::cmd("SET")
            .arg(&self.keys.poller_last_ok)
            .arg(at.to_rfc3339())
            .query_async::<()>(&mut self.conn.clone())
            .await?;
        Ok(())
    }

    /// When a poll pass last read every project it held, if ever.
    pub async fn last_poll_ok(&self) -> Result<Option<DateTime<Utc>>, QueueError> {
        let v: Option<String> = redis::cmd("GET")
            .arg(&self.keys.poller_last_ok)
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(v.and_then(|s| DateTime::parse_from_rfc3339(&s).ok())
            .map(|t| t.with_timezone(&Utc)))
    }

    /// The poller's last heartbeat (JSON), if one is live.
    pub async fn poller_heartbeat(&self) -> Result<Option<serde_json::Value>, QueueError> {
        let v: Option<String> = redis::cmd("GET")
            .arg(&self.keys.poller_heartbeat)
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(v.and_then(|s| serde_json::from_str(&s).ok()))
    }

    /// Every incident's stored state: rule key → JSON.
    pub async fn alert_incidents(&self) -> Result<Vec<(String, String)>, QueueError> {
        Ok(redis::cmd("HGETALL")
            .arg(&self.keys.alert_incidents)
            .query_async(&mut self.conn.clone())
            .await?)
    }

    /// Stores one incident's state, only while `holder` holds the alert
    /// lease; false when it does not (another replica took over).
    pub async fn save_alert_incident(
        &self,
        holder: &str,
        rule_key: &str,
        json: &str,
    ) -> Result<bool, QueueError> {
        let saved: i64 = Script::new(SAVE_IF_HOLDER)
            .key(&self.keys.alert_lease)
            .key(&self.keys.alert_incidents)
            .arg(holder)
            .arg(rule_key)
            .arg(json)
            .invoke_async(&mut self.conn.clone())
            .await?;
        Ok(saved == 1)
    }
}
