//! Adding events to `P:events`: plain, and once per idempotency key.

use std::time::Duration;

use uuid::Uuid;
use wstg_domain::Envelope;

use crate::connection;
use crate::entry::{self, FIELD_DATA, FIELD_EVENT_ID};
use crate::error::QueueError;
use crate::queue::Queue;
use crate::scripts;

/// What [`Queue::publish_idempotent`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Published {
    /// Added under this stream id.
    New(String),
    /// The key was seen within its TTL; nothing was added. `event_id` is the
    /// event first published under it, so the caller can answer with it.
    Duplicate { event_id: Uuid },
    /// The key was used within its TTL for a request with another
    /// fingerprint (another body): nothing was added, and the caller must
    /// refuse the request rather than report it as done.
    KeyReused { event_id: Uuid },
}

impl Queue {
    /// `replicas` (WAIT's answer) confirmed the write, or it is reported
    /// as not done and the master is asked for again.
    async fn replicated(&self, replicas: u64) -> Result<(), QueueError> {
        if replicas >= 1 {
            return Ok(());
        }
        self.conn.lost_master().await;
        Err(QueueError::NotReplicated(connection::REPLICA_WAIT_MS))
    }

    /// XADD the envelope to `P:events` on the shared connection (the hot
    /// path: one round trip, no script). Returns the stream id.
    pub async fn publish(&self, env: &Envelope) -> Result<String, QueueError> {
        let data = entry::encode(env)?;
        let mut cmd = redis::cmd("XADD");
        cmd.arg(&self.keys.events);
        if let Some(n) = self.cfg.maxlen {
            cmd.arg("MAXLEN").arg("~").arg(n);
        }
        cmd.arg("*")
            .arg(FIELD_DATA)
            .arg(data)
            .arg(FIELD_EVENT_ID)
            .arg(env.event_id.to_string());
        let id: String = if self.conn.waits_for_replica() {
            // Same round trip: the WAIT is pipelined behind the XADD.
            let (id, replicas): (String, u64) = redis::pipe()
                .add_command(cmd)
                .cmd("WAIT")
                .arg(1)
                .arg(connection::REPLICA_WAIT_MS)
                .query_async(&mut self.conn.clone())
                .await?;
            if let Err(e) = self.replicated(replicas).await {
                // Withdrawn, best effort: the caller will publish again,
                // and this copy, if it survives, would be a second one.
                let _ = redis::cmd("XDEL")
                    .arg(&self.keys.events)
                    .arg(&id)
                    .query_async::<()>(&mut self.conn.clone())
                    .await;
                return Err(e);
            }
            id
        } else {
            cmd.query_async(&mut self.conn.clone()).await?
        };
        tracing::trace!(event_id = %env.event_id, stream_id = %id, "published");
        Ok(id)
    }

    /// Publishes unless `key` was already used within `ttl`.
    ///
    /// `fingerprint` (a hash of the request, no blanks) binds the key to one
    /// request: the same key with the same fingerprint is a retry
    /// ([`Published::Duplicate`]), with another one a client error
    /// ([`Published::KeyReused`]). Callers scope `key` themselves (the
    /// ingest prefixes the project), so two tenants' keys never meet.
    ///
    /// One Lua script checks `P:idem:<key>`, XADDs and stores the event id
    /// with the TTL, so two concurrent requests with one key cannot both get
    /// through (a GET-then-XADD from Rust could). The key is kept for `ttl`
    /// even after the event is processed: it answers retries by the sender,
    /// not the worker's dedup (which is by event id).
    pub async fn publish_idempotent(
        &self,
        env: &Envelope,
        key: &str,
        fingerprint: &str,
        ttl: Duration,
    ) -> Result<Published, QueueError> {
        if fingerprint.is_empty() || fingerprint.contains(char::is_whitespace) {
            return Err(QueueError::Config(
                "an idempotency fingerprint must be non-empty and contain no blanks".into(),
            ));
        }
        let data = entry::encode(env)?;
        // PX 0 is an error in Redis; a sub-millisecond TTL means "barely".
        let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let mut invocation = scripts::PUBLISH_IDEMPOTENT.key(self.keys.idem(key));
        invocation
            .key(&self.keys.events)
            .arg(ttl_ms)
            .arg(env.event_id.to_string())
            .arg(data)
            .arg(self.cfg.maxlen.unwrap_or(0))
            .arg(fingerprint);
        let (added, value): (i64, String) = invocation.invoke_async(&mut self.conn.clone()).await?;
        if self.conn.waits_for_replica() {
            // A second round trip, on Sentinel only (a script cannot WAIT).
            let replicas: u64 = redis::cmd("WAIT")
                .arg(1)
                .arg(connection::REPLICA_WAIT_MS)
                .query_async(&mut self.conn.clone())
                .await?;
            self.replicated(replicas).await?;
        }
        if added == 1 {
            tracing::trace!(event_id = %env.event_id, stream_id = %value, "published");
            Ok(Published::New(value))
        } else {
            let reused = added == 2;
            let event_id = Uuid::parse_str(&value).map_err(|e| {
                QueueError::Decode(format!(
                    "idempotency record {} ('{value}'): {e}",
                    self.keys.idem(key)
                ))
            })?;
            if reused {
                tracing::debug!(%event_id, "idempotency key reused for another request");
                return Ok(Published::KeyReused { event_id });
            }
            tracing::debug!(%event_id, "duplicate publish suppressed");
            Ok(Published::Duplicate { event_id })
        }
    }
}
