//! The write-ahead record of our DefectDojo writes (`P:intents:<project>:<id>`,
//! a hash: intent id → JSON of `wstg_domain::sync::InFlightWrite`).
//!
//! A worker records each write BEFORE sending it and forgets it once the
//! answer is known good (or known to have changed nothing). What stays is a
//! write whose outcome is unknown or partial; the planner
//! (`wstg_domain::sync::explain`) uses it to tell our own late or partial
//! write apart from an edit made in DefectDojo. The key expires [`TTL`]
//! after the last write recorded: by then a lost write has surely landed or
//! died, and at most [`KEEP`] are kept per item.

use std::time::Duration;

use uuid::Uuid;
use wstg_domain::sync::InFlightWrite;

use crate::error::QueueError;
use crate::queue::Queue;

/// How long an item's unknown-outcome writes are remembered.
pub const TTL: Duration = Duration::from_secs(600);

/// How many of an item's writes are remembered at most.
pub const KEEP: usize = 16;

impl Queue {
    /// Records `write` for the item before it is sent.
    pub async fn record_intent(
        &self,
        project: &str,
        wstg_id: &str,
        write: &InFlightWrite,
    ) -> Result<(), QueueError> {
        let key = self.keys.intents(project, wstg_id);
        let json = serde_json::to_string(write)?;
        let mut conn = self.conn.clone();
        let len: usize = redis::pipe()
            .atomic()
            .cmd("HSET")
            .arg(&key)
            .arg(write.id.to_string())
            .arg(json)
            .ignore()
            .cmd("PEXPIRE")
            .arg(&key)
            .arg(u64::try_from(TTL.as_millis()).unwrap_or(u64::MAX))
            .ignore()
            .cmd("HLEN")
            .arg(&key)
            .query_async::<(usize,)>(&mut conn)
            .await?
            .0;
        if len > KEEP {
            // Drop the oldest: ids are UUID v7, so they sort by time.
            let mut ids: Vec<String> = redis::cmd("HKEYS").arg(&key).query_async(&mut conn).await?;
            ids.sort();
            let excess = &ids[..len - KEEP];
            redis::cmd("HDEL")
                .arg(&key)
                .arg(excess)
                .query_async::<()>(&mut conn)
                .await?;
        }
        Ok(())
    }

    /// Forgets a write whose answer is known.
    pub async fn clear_intent(
        &self,
        project: &str,
        wstg_id: &str,
        id: Uuid,
    ) -> Result<(), QueueError> {
        redis::cmd("HDEL")
            .arg(self.keys.intents(project, wstg_id))
            .arg(id.to_string())
            .query_async::<()>(&mut self.conn.clone())
            .await?;
        Ok(())
    }

    /// The item's writes not known good, oldest first. Unreadable entries
    /// (another version's) are skipped.
    pub async fn intents(
        &self,
        project: &str,
        wstg_id: &str,
    ) -> Result<Vec<InFlightWrite>, QueueError> {
        let raw: Vec<String> = redis::cmd("HVALS")
            .arg(self.keys.intents(project, wstg_id))
            .query_async(&mut self.conn.clone())
            .await?;
        let mut writes: Vec<InFlightWrite> = raw
            .iter()
            .filter_map(|s| serde_json::from_str(s).ok())
            .collect();
        writes.sort_by_key(|w| w.id);
        Ok(writes)
    }
}
