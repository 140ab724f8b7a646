//! The dead-letter queue: stream `P:dlq`, one entry per event given up on.
//!
//! Fields: `data` (the envelope JSON as it was), `event_id`, `attempts`,
//! `error` (the last error), `first_failed_at`, `dead_at` (RFC 3339) and
//! `source_id` (its id in `P:events`). A stream rather than svix's list so an
//! operator can read it with `redis-cli XRANGE P:dlq - +` and address one
//! entry by id; replays keep the event id, so the worker's dedup still
//! recognises an event that did get applied before it died.
//!
//! The stream is bounded by age and size ([`crate::DlqBounds`]): past them
//! the oldest entries are dropped, at dead-letter time (so a flood cannot
//! grow Redis past the bound) and by the poller's retention job (so age
//! applies when nothing new fails). Every drop is counted in `P:dlq:dropped`
//! and logged with its event id and item: never silently.

use chrono::{DateTime, Utc};
use redis::streams::{StreamId, StreamRangeReply};
use serde::Serialize;
use uuid::Uuid;
use wstg_domain::Envelope;

use crate::consumer::Delivery;
use crate::entry::{self, FIELD_DATA};
use crate::error::QueueError;
use crate::keys::GROUP;
use crate::queue::Queue;
use crate::scripts;

/// Longest error text stored: an upstream error page should not bloat Redis.
pub const MAX_ERROR_LEN: usize = 4096;

/// Entries per XRANGE page when replaying everything.
const PAGE: usize = 100;

/// Most dead letters one dead-lettering drops beside adding its own (a
/// lowered bound is caught up by the retention job, not by one failing
/// event's script).
const DROPS_PER_DEAD_LETTER: usize = 100;

/// Most dead letters one script run of [`Queue::dlq_enforce_bounds`] drops,
/// so no single script blocks Redis for long.
const DROPS_PER_RUN: usize = 1000;

/// Why a dead letter was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DlqDropReason {
    /// Older than `retention.dlq_max_age_days`.
    Age,
    /// Beyond the newest `retention.dlq_max_entries`.
    Size,
}

/// One dead letter dropped by the bounds, as logged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DlqDrop {
    /// Its id in `P:dlq`.
    pub id: String,
    pub event_id: Option<Uuid>,
    pub project: Option<String>,
    pub wstg_id: Option<String>,
    pub reason: DlqDropReason,
}

/// A drop as the script returns it: `{id, event_id, project, wstg_id, reason}`.
type RawDrop = (String, String, String, String, String);

impl DlqDrop {
    fn from_raw((id, event_id, project, wstg_id, reason): RawDrop) -> DlqDrop {
        let some = |s: String| Some(s).filter(|s| !s.is_empty());
        DlqDrop {
            id,
            event_id: Uuid::parse_str(&event_id).ok(),
            project: some(project),
            wstg_id: some(wstg_id),
            reason: if reason == "age" {
                DlqDropReason::Age
            } else {
                DlqDropReason::Size
            },
        }
    }

    fn log(&self) {
        tracing::warn!(
            dlq_id = %self.id,
            event_id = ?self.event_id,
            project = self.project.as_deref().unwrap_or("-"),
            wstg_id = self.wstg_id.as_deref().unwrap_or("-"),
            reason = ?self.reason,
            "dead letter dropped: over the dead-letter queue's bound (retention.dlq_max_age_days / dlq_max_entries)"
        );
    }
}

/// One dead letter as read back.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeadLetter {
    /// Its id in `P:dlq`.
    pub id: String,
    /// The envelope, if `raw` still decodes.
    pub envelope: Option<Envelope>,
    /// `data` as stored.
    pub raw: String,
    pub attempts: u32,
    /// The last error.
    pub error: String,
    /// The event's first failure (the dead-letter time when it was never
    /// retried); `None` for entries written by hand.
    pub first_failed_at: Option<DateTime<Utc>>,
    pub dead_at: DateTime<Utc>,
    /// Its id in `P:events` when it was dead-lettered.
    pub source_id: Option<String>,
}

impl DeadLetter {
    fn from_entry(e: StreamId) -> DeadLetter {
        let raw = entry::field(&e.map, FIELD_DATA).unwrap_or_default();
        let text = |name: &str| entry::field(&e.map, name);
        DeadLetter {
            envelope: entry::decode(&raw).ok(),
            attempts: text("attempts").and_then(|s| s.parse().ok()).unwrap_or(0),
            error: text("error").unwrap_or_default(),
            first_failed_at: text("first_failed_at").and_then(|s| entry::parse_time(&s)),
            // The id's own timestamp is when Redis added the entry: a fine
            // stand-in for a missing field.
            dead_at: text("dead_at")
                .and_then(|s| entry::parse_time(&s))
                .or_else(|| entry::id_time(&e.id))
                .unwrap_or_default(),
            source_id: text("source_id").filter(|s| !s.is_empty()),
            raw,
            id: e.id,
        }
    }

    /// The event id: the envelope's, else the entry's `event_id` field or the
    /// raw JSON's.
    pub fn event_id(&self) -> Option<Uuid> {
        self.envelope.as_ref().map(|e| e.event_id).or_else(|| {
            serde_json::from_str::<serde_json::Value>(&self.raw)
                .ok()?
                .get("event_id")?
                .as_str()
                .and_then(|s| Uuid::parse_str(s).ok())
        })
    }
}

impl Queue {
    /// Dead-letters `env` after its last failure `error`.
    ///
    /// `attempts` is recorded as `env.attempt` (pass the envelope with the
    /// final failure counted), or the delivery count of `source_id` if that
    /// is higher. If `source_id` (its id in `P:events`; "" for none) is still
    /// pending it is acked and deleted in the same script, so the caller need
    /// not ack, and a crash cannot leave it both dead and pending.
    pub async fn dead_letter(
        &self,
        env: &Envelope,
        source_id: &str,
        error: &str,
    ) -> Result<String, QueueError> {
        let raw = entry::encode(env)?;
        self.dead_letter_parts(&raw, Some(env.event_id), source_id, error, env.attempt)
            .await
    }

    /// Dead-letters a payload as it came off the stream, poison included:
    /// the event id and attempt are taken from the JSON when it has them.
    /// Otherwise as [`Queue::dead_letter`].
    pub async fn dead_letter_raw(
        &self,
        raw: &str,
        source_id: &str,
        error: &str,
    ) -> Result<String, QueueError> {
        let json = serde_json::from_str::<serde_json::Value>(raw).ok();
        let event_id = json
            .as_ref()
            .and_then(|v| v.get("event_id")?.as_str())
            .and_then(|s| Uuid::parse_str(s).ok());
        let attempts = json
            .as_ref()
            .and_then(|v| v.get("attempt")?.as_u64())
            .map_or(0, |a| u32::try_from(a).unwrap_or(u32::MAX));
        self.dead_letter_parts(raw, event_id, source_id, error, attempts)
            .await
    }

    /// [`Queue::dead_letter_raw`] for a [`Delivery`].
    pub async fn dead_letter_delivery(
        &self,
        d: &Delivery,
        error: &str,
    ) -> Result<String, QueueError> {
        match &d.envelope {
            Ok(env) => {
                self.dead_letter_parts(&d.raw, Some(env.event_id), &d.id, error, env.attempt)
                    .await
            }
            Err(_) => self.dead_letter_raw(&d.raw, &d.id, error).await,
        }
    }

    async fn dead_letter_parts(
        &self,
        raw: &str,
        event_id: Option<Uuid>,
        source_id: &str,
        error: &str,
        attempts: u32,
    ) -> Result<String, QueueError> {
        let error = truncate(error, MAX_ERROR_LEN);
        let failed_at_key = match event_id {
            Some(id) => self.keys.failed_at(&id),
            // Nothing was recorded for an unknown event.
            None => self.keys.failed_at_unknown(),
        };
        let (max_entries, max_age_ms) = self.cfg.dlq_bounds.script_args();
        let (id, dropped): (String, Vec<RawDrop>) = scripts::DEAD_LETTER
            .key(&self.keys.dlq)
            .key(&self.keys.events)
            .key(failed_at_key)
            .key(&self.keys.dlq_dropped)
            .arg(GROUP)
            .arg(source_id)
            .arg(raw)
            .arg(event_id.map(|u| u.to_string()).unwrap_or_default())
            .arg(attempts)
            .arg(error)
            .arg(entry::format_time(Utc::now()))
            .arg(max_entries)
            .arg(max_age_ms)
            .arg(DROPS_PER_DEAD_LETTER)
            .invoke_async(&mut self.conn.clone())
            .await?;
        tracing::warn!(
            dlq_id = %id,
            event_id = ?event_id,
            source_id,
            error,
            "event dead-lettered"
        );
        for drop in dropped.into_iter().map(DlqDrop::from_raw) {
            drop.log();
        }
        Ok(id)
    }

    /// Drops every dead letter past the configured bounds, oldest first, in
    /// runs of at most [`DROPS_PER_RUN`]; each drop is counted in
    /// `P:dlq:dropped` and logged. Returns what was dropped. The poller's
    /// retention job calls it; dead-lettering applies the bounds as well.
    pub async fn dlq_enforce_bounds(&self) -> Result<Vec<DlqDrop>, QueueError> {
        let (max_entries, max_age_ms) = self.cfg.dlq_bounds.script_args();
        let mut all = Vec::new();
        if max_entries == 0 && max_age_ms == 0 {
            return Ok(all);
        }
        loop {
            let dropped: Vec<RawDrop> = scripts::BOUND_DLQ
                .key(&self.keys.dlq)
                .key(&self.keys.dlq_dropped)
                .arg(max_entries)
                .arg(max_age_ms)
                .arg(DROPS_PER_RUN)
                .invoke_async(&mut self.conn.clone())
                .await?;
            let n = dropped.len();
            for drop in dropped.into_iter().map(DlqDrop::from_raw) {
                drop.log();
                all.push(drop);
            }
            if n < DROPS_PER_RUN {
                return Ok(all);
            }
        }
    }

    /// How many dead letters the bounds have dropped, ever (`P:dlq:dropped`).
    pub async fn dlq_dropped(&self) -> Result<u64, QueueError> {
        let n: Option<u64> = redis::cmd("GET")
            .arg(&self.keys.dlq_dropped)
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(n.unwrap_or(0))
    }

    /// The oldest `limit` dead letters.
    pub async fn dlq_list(&self, limit: usize) -> Result<Vec<DeadLetter>, QueueError> {
        self.dlq_range("-", "+", limit).await
    }

    /// The next `limit` dead letters after id `after` (paging).
    pub async fn dlq_list_after(
        &self,
        after: &str,
        limit: usize,
    ) -> Result<Vec<DeadLetter>, QueueError> {
        if !is_stream_id(after) {
            return Err(QueueError::Decode(format!("'{after}' is not a stream id")));
        }
        self.dlq_range(&format!("({after}"), "+", limit).await
    }

    /// One dead letter; `None` if there is no such id (or it is not an id).
    pub async fn dlq_get(&self, id: &str) -> Result<Option<DeadLetter>, QueueError> {
        if !is_stream_id(id) {
            return Ok(None);
        }
        Ok(self.dlq_range(id, id, 1).await?.into_iter().next())
    }

    async fn dlq_range(
        &self,
        start: &str,
        end: &str,
        limit: usize,
    ) -> Result<Vec<DeadLetter>, QueueError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let reply: StreamRangeReply = redis::cmd("XRANGE")
            .arg(&self.keys.dlq)
            .arg(start)
            .arg(end)
            .arg("COUNT")
            .arg(limit)
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(reply.ids.into_iter().map(DeadLetter::from_entry).collect())
    }

    /// Puts a dead letter back on `P:events` with the same event id and
    /// `attempt` reset to 0, removing it from the DLQ in the same script.
    /// Returns the new stream id, or `None` if there is no such dead letter
    /// (including when a concurrent replay took it first).
    ///
    /// The JSON is edited as JSON (only `attempt` changes), so fields this
    /// version does not know survive; a payload that is not a JSON object
    /// goes back as it was.
    pub async fn dlq_replay(&self, id: &str) -> Result<Option<String>, QueueError> {
        match self.dlq_get(id).await? {
            Some(dl) => self.replay(&dl).await,
            None => Ok(None),
        }
    }

    async fn replay(&self, dl: &DeadLetter) -> Result<Option<String>, QueueError> {
        let data = match serde_json::from_str::<serde_json::Value>(&dl.raw) {
            Ok(serde_json::Value::Object(mut obj)) => {
                obj.insert("attempt".to_owned(), 0.into());
                serde_json::to_string(&obj)?
            }
            _ => dl.raw.clone(),
        };
        let event_id = dl.event_id().map(|u| u.to_string()).unwrap_or_default();
        let new_id: Option<String> = scripts::DLQ_REPLAY
            .key(&self.keys.dlq)
            .key(&self.keys.events)
            .arg(&dl.id)
            .arg(data)
            .arg(&event_id)
            .arg(self.cfg.maxlen.unwrap_or(0))
            .invoke_async(&mut self.conn.clone())
            .await?;
        if let Some(new_id) = &new_id {
            tracing::info!(dlq_id = %dl.id, %event_id, stream_id = %new_id, "dead letter replayed");
        }
        Ok(new_id)
    }

    /// Replays every dead letter present when it starts (entries that fail
    /// again during the run land after the end mark and are not replayed a
    /// second time). Returns how many were replayed.
    pub async fn dlq_replay_all(&self) -> Result<usize, QueueError> {
        let last: StreamRangeReply = redis::cmd("XREVRANGE")
            .arg(&self.keys.dlq)
            .arg("+")
            .arg("-")
            .arg("COUNT")
            .arg(1)
            .query_async(&mut self.conn.clone())
            .await?;
        let Some(end) = last.ids.into_iter().next().map(|e| e.id) else {
            return Ok(0);
        };
        let mut start = "-".to_owned();
        let mut replayed = 0;
        loop {
            let page = self.dlq_range(&start, &end, PAGE).await?;
            for dl in &page {
                if self.replay(dl).await?.is_some() {
                    replayed += 1;
                }
            }
            match page.last() {
                Some(dl) if page.len() == PAGE => start = format!("({}", dl.id),
                _ => break,
            }
        }
        Ok(replayed)
    }

    /// Deletes one dead letter; true if it existed.
    pub async fn dlq_delete(&self, id: &str) -> Result<bool, QueueError> {
        if !is_stream_id(id) {
            return Ok(false);
        }
        let n: u64 = redis::cmd("XDEL")
            .arg(&self.keys.dlq)
            .arg(id)
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(n == 1)
    }

    /// Deletes the dead letters that died before `cutoff` (their stream id
    /// is their dead-letter time); returns how many. One XTRIM MINID: exact,
    /// and atomic against dead letters added meanwhile (newer ids).
    pub async fn dlq_purge_older_than(&self, cutoff: DateTime<Utc>) -> Result<usize, QueueError> {
        let ms = u64::try_from(cutoff.timestamp_millis()).unwrap_or(0);
        let n: usize = redis::cmd("XTRIM")
            .arg(&self.keys.dlq)
            .arg("MINID")
            .arg(ms)
            .query_async(&mut self.conn.clone())
            .await?;
        if n > 0 {
            tracing::warn!(purged = n, %cutoff, "dead letters older than the cutoff purged");
        }
        Ok(n)
    }

    /// Deletes every dead letter; returns how many there were.
    pub async fn dlq_purge(&self) -> Result<usize, QueueError> {
        let n: usize = scripts::DLQ_PURGE
            .key(&self.keys.dlq)
            .invoke_async(&mut self.conn.clone())
            .await?;
        if n > 0 {
            tracing::warn!(purged = n, "dead-letter queue purged");
        }
        Ok(n)
    }
}

/// `<ms>-<seq>` or `<ms>`: anything else would be a Redis syntax error, and
/// for a lookup by id it simply means "no such entry".
fn is_stream_id(id: &str) -> bool {
    let mut parts = id.splitn(2, '-');
    // Each part is a u64 in Redis: a longer one is refused by Redis as an
    // invalid id, which would surface as an internal error, not a bad id.
    let all_digits = |s: &str| {
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && s.parse::<u64>().is_ok()
    };
    match (parts.next(), parts.next()) {
        (Some(ms), None) => all_digits(ms),
        (Some(ms), Some(seq)) => all_digits(ms) && all_digits(seq),
        _ => false,
    }
}

fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_ids() {
        assert!(is_stream_id("1700000000000-0"));
        assert!(is_stream_id("1700000000000"));
        assert!(!is_stream_id(""));
        assert!(!is_stream_id("-"));
        assert!(!is_stream_id("+"));
        assert!(!is_stream_id("12-"));
        assert!(!is_stream_id("abc-1"));
        assert!(!is_stream_id("1-2-3"));
        // Beyond u64: Redis would refuse it as an invalid id (found by the API fuzz run).
        assert!(!is_stream_id("7732-578120657617504785040"));
        assert!(!is_stream_id("18446744073709551616-0"));
    }

    #[test]
    fn truncates_on_char_boundaries() {
        assert_eq!(truncate("héllo", 2), "h");
        assert_eq!(truncate("abc", 10), "abc");
    }
}
