//! Fan-out feeds: short streams every reader sees in full, unlike `P:events`
//! whose entries go to one worker each.
//!
//! | key            | written by              | read by | holds |
//! |----------------|-------------------------|---------|-------|
//! | `P:poll-hints` | ingest (DefectDojo webhooks), wstgctl | every poller | "poll soon" requests |
//! | `P:changes`    | workers, after each store write | ingest (server-sent events to trackers) | item changes |
//!
//! Both are capped (`MAXLEN ~`): a hint or a change notice older than the
//! cap is worthless, because the store and DefectDojo hold the state. A
//! reader resumes from a stream id (`Last-Event-ID` for the tracker).

use std::time::Duration;

use crate::connection::{self, Dedicated};
use crate::error::QueueError;
use crate::queue::Queue;

/// Which feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feed {
    PollHints,
    Changes,
}

impl Feed {
    fn cap(self) -> usize {
        match self {
            Feed::PollHints => 1_000,
            Feed::Changes => 10_000,
        }
    }

    fn suffix(self) -> &'static str {
        match self {
            Feed::PollHints => "poll-hints",
            Feed::Changes => "changes",
        }
    }
}

/// One feed entry: its stream id and its JSON text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedEntry {
    pub id: String,
    pub data: String,
}

type RawEntries = Vec<(String, Vec<(String, String)>)>;

fn entries(raw: RawEntries) -> Vec<FeedEntry> {
    raw.into_iter()
        .map(|(id, fields)| {
            let data = fields
                .into_iter()
                .find(|(k, _)| k == "data")
                .map(|(_, v)| v)
                .unwrap_or_default();
            FeedEntry { id, data }
        })
        .collect()
}

impl Queue {
    pub fn feed_key(&self, feed: Feed) -> String {
        self.keys.feed(feed.suffix())
    }

    /// Appends `data` (JSON text) to a feed; returns its stream id.
    pub async fn publish_feed(&self, feed: Feed, data: &str) -> Result<String, QueueError> {
        let id: String = redis::cmd("XADD")
            .arg(self.feed_key(feed))
            .arg("MAXLEN")
            .arg("~")
            .arg(feed.cap())
            .arg("*")
            .arg("data")
            .arg(data)
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(id)
    }

    /// A poll request from a DefectDojo webhook or an operator.
    pub async fn publish_poll_hint(&self, data: &str) -> Result<String, QueueError> {
        self.publish_feed(Feed::PollHints, data).await
    }

    /// Entries strictly after `after` (a stream id; "0" for all), oldest first.
    pub async fn feed_since(
        &self,
        feed: Feed,
        after: &str,
        limit: usize,
    ) -> Result<Vec<FeedEntry>, QueueError> {
        let raw: RawEntries = redis::cmd("XRANGE")
            .arg(self.feed_key(feed))
            .arg(format!("({after}"))
            .arg("+")
            .arg("COUNT")
            .arg(limit)
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(entries(raw))
    }

    /// The id of the newest entry of a feed ("0-0" when it is empty).
    pub async fn feed_last_id(&self, feed: Feed) -> Result<String, QueueError> {
        let raw: RawEntries = redis::cmd("XREVRANGE")
            .arg(self.feed_key(feed))
            .arg("+")
            .arg("-")
            .arg("COUNT")
            .arg(1)
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(raw
            .into_iter()
            .next()
            .map(|(id, _)| id)
            .unwrap_or_else(|| "0-0".to_owned()))
    }

    /// A reader that tails a feed from `after` on a connection of the
    /// bounded blocking pool. `block` is clamped to the queue's `block`, which
    /// the pool's response timeout is sized for.
    ///
    /// Each reader holds a pooled connection while it lives: a process that
    /// serves many clients shares one reader between them (the ingest's
    /// live streams do, through a broadcast) instead of opening one each.
    pub async fn feed_reader(
        &self,
        feed: Feed,
        after: String,
        block: Duration,
    ) -> Result<FeedReader, QueueError> {
        let mut reader = FeedReader {
            pool: self.pool.clone(),
            cfg: self.cfg.clone(),
            conn: None,
            key: self.feed_key(feed),
            role: format!("feed:{}", feed.suffix()),
            last_id: after,
            block: block.min(self.cfg.block),
        };
        reader.connect().await?;
        Ok(reader)
    }
}

/// Tails one feed with XREAD BLOCK on a pooled connection (a blocking read
/// would stall the shared one). Reconnects lazily after an error; the
/// connection goes back to the pool when the reader is dropped.
pub struct FeedReader {
    pool: connection::BlockingPool,
    cfg: std::sync::Arc<crate::config::QueueConfig>,
    conn: Option<Dedicated>,
    key: String,
    role: String,
    last_id: String,
    block: Duration,
}

impl FeedReader {
    /// The next entries after the last one returned; empty after BLOCK.
    async fn connect(&mut self) -> Result<&mut Dedicated, QueueError> {
        match self.conn {
            Some(ref mut c) => Ok(c),
            None => {
                let c = connection::dedicated(&self.pool, &self.cfg, &self.role).await?;
                Ok(self.conn.insert(c))
            }
        }
    }

    pub async fn next(&mut self) -> Result<Vec<FeedEntry>, QueueError> {
        let mut cmd = redis::cmd("XREAD");
        cmd.arg("COUNT")
            .arg(100)
            .arg("BLOCK")
            .arg(self.block.as_millis() as u64)
            .arg("STREAMS")
            .arg(&self.key)
            .arg(&self.last_id);
        let conn = self.connect().await?;
        let reply: Option<Vec<(String, RawEntries)>> = match cmd.query_async(conn).await {
            Ok(r) => r,
            Err(e) => {
                if let Some(c) = self.conn.take() {
                    connection::discard(c);
                }
                return Err(e.into());
            }
        };
        let found = reply
            .into_iter()
            .flatten()
            .flat_map(|(_, raw)| entries(raw))
            .collect::<Vec<_>>();
        if let Some(last) = found.last() {
            self.last_id = last.id.clone();
        }
        Ok(found)
    }

    pub fn last_id(&self) -> &str {
        &self.last_id
    }
}
