//! The live change feed of one ingest process: ONE Redis reader tails
//! `P:changes` and fans every entry out to all open `/api/wstg/stream`
//! responses through a `tokio::sync::broadcast` channel.
//!
//! Before, each open stream ran its own XREAD BLOCK on its own connection:
//! 296 open streams exhausted a Redis with `maxclients 300` (issue 9). Now a
//! thousand streams cost one pooled connection (the reader) plus the shared
//! multiplexed one (each stream's Last-Event-ID catch-up is a plain XRANGE).
//!
//! Why our own fan-out rather than an SSE crate's broadcaster: the feed is
//! already an ordered, resumable log with ids (a Redis stream), so the
//! stream handler needs only "entries after id X, then live ones", which a
//! broadcast receiver plus one XRANGE gives; actix-web-lab's `Sse` would
//! wrap the same channel and add a dependency without removing any of this.
//!
//! Streams are capped (`limits.max_streams`): a [`StreamSlot`] is taken
//! when a stream opens and given back when actix drops its body (the client
//! went away: noticed at the latest at the next keep-alive write).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use tokio::sync::broadcast;
use wstg_queue::{reconnect_delay, Feed, FeedEntry, Queue};

/// Entries a slow stream may fall behind before it is closed (the browser
/// reconnects with Last-Event-ID and catches up from Redis).
const CHANNEL_CAPACITY: usize = 1024;

/// One change, parsed once for every stream.
#[derive(Debug)]
pub struct LiveEntry {
    pub id: String,
    /// `(ms, seq)` of the stream id, for ordering and de-duplication.
    pub order: (u64, u64),
    pub project: Option<String>,
    pub data: String,
}

impl LiveEntry {
    pub fn from_feed(entry: FeedEntry) -> Option<LiveEntry> {
        let order = parse_id(&entry.id)?;
        let project = serde_json::from_str::<serde_json::Value>(&entry.data)
            .ok()
            .and_then(|v| v.get("project")?.as_str().map(str::to_owned));
        Some(LiveEntry {
            id: entry.id,
            order,
            project,
            data: entry.data,
        })
    }
}

/// `<ms>-<seq>` as numbers; `None` for anything else.
pub fn parse_id(id: &str) -> Option<(u64, u64)> {
    let (ms, seq) = id.split_once('-')?;
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    if !digits(ms) || !digits(seq) {
        return None;
    }
    Some((ms.parse().ok()?, seq.parse().ok()?))
}

/// The process's fan-out hub.
pub struct LiveFeed {
    tx: broadcast::Sender<Arc<LiveEntry>>,
    open: Arc<AtomicUsize>,
    cap: usize,
}

/// Held by an open stream; gives its place back when dropped.
pub struct StreamSlot(Arc<AtomicUsize>);

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let before = self.0.fetch_sub(1, Ordering::AcqRel);
        open_streams_gauge(before.saturating_sub(1));
    }
}

/// `wstg_live_streams_open`: places taken, refused ones included for the
/// instant they are held (they give theirs back at once).
fn open_streams_gauge(open: usize) {
    metrics::gauge!(wstg_ops::catalogue::LIVE_STREAMS).set(open as f64);
}

impl LiveFeed {
    /// Starts the reader task; it ends by itself once the hub is dropped.
    pub fn start(queue: Queue, cap: usize) -> Arc<LiveFeed> {
        let (tx, _) = broadcast::channel(CHANNEL_CAPACITY);
        let hub = Arc::new(LiveFeed {
            tx,
            open: Arc::new(AtomicUsize::new(0)),
            cap,
        });
        tokio::spawn(read_loop(queue, Arc::downgrade(&hub)));
        open_streams_gauge(0);
        hub
    }

    /// A place for one more stream and its live receiver, or `None` at the
    /// cap. Subscribe before reading any backlog, so nothing written in
    /// between is missed (duplicates are skipped by id).
    pub fn open(&self) -> Option<(StreamSlot, broadcast::Receiver<Arc<LiveEntry>>)> {
        let before = self.open.fetch_add(1, Ordering::AcqRel);
        open_streams_gauge(before + 1);
        let slot = StreamSlot(self.open.clone());
        if before >= self.cap {
            return None; // `slot` gives the place back
        }
        Some((slot, self.tx.subscribe()))
    }

    pub fn open_streams(&self) -> usize {
        self.open.load(Ordering::Acquire)
    }
}

async fn read_loop(queue: Queue, hub: Weak<LiveFeed>) {
    let block = queue.config().block;
    let mut attempt = 0u32;
    // Start at the feed's end: a stream that wants older entries asks for
    // them by Last-Event-ID.
    let start = loop {
        if hub.strong_count() == 0 {
            return;
        }
        match queue.feed_last_id(Feed::Changes).await {
            Ok(id) => break id,
            Err(e) => {
                tracing::warn!(error = %e, "live feed: cannot read the change feed yet");
                tokio::time::sleep(reconnect_delay(attempt)).await;
                attempt = attempt.saturating_add(1);
            }
        }
    };
    let mut from = start;
    let mut reader = None;
    loop {
        let Some(tx) = hub.upgrade().map(|h| h.tx.clone()) else {
            return;
        };
        if reader.is_none() {
            match queue.feed_reader(Feed::Changes, from.clone(), block).await {
                Ok(r) => {
                    attempt = 0;
                    reader = Some(r);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "live feed: no reader connection; retrying");
                    drop(tx);
                    tokio::time::sleep(reconnect_delay(attempt)).await;
                    attempt = attempt.saturating_add(1);
                    continue;
                }
            }
        }
        let Some(r) = reader.as_mut() else { continue };
        match r.next().await {
            Ok(entries) => {
                from = r.last_id().to_owned();
                for entry in entries {
                    if let Some(e) = LiveEntry::from_feed(entry) {
                        // No receiver is fine: nobody is watching.
                        let _ = tx.send(Arc::new(e));
                    }
                }
            }
            Err(e) => {
                // The reader reconnects lazily and keeps its position.
                tracing::warn!(error = %e, "live feed: read failed; retrying");
                drop(tx);
                tokio::time::sleep(reconnect_delay(attempt)).await;
                attempt = attempt.saturating_add(1);
            }
        }
    }
}

/// How long a stream may stay silent before a comment line keeps proxies
/// from closing it (and lets actix notice a client that left).
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_ids_parse_and_order() {
        assert_eq!(parse_id("1700000000000-3"), Some((1_700_000_000_000, 3)));
        assert!(parse_id("1-2") < parse_id("1-10"));
        assert_eq!(parse_id("abc"), None);
        assert_eq!(parse_id("1-"), None);
        assert_eq!(parse_id("+"), None);
    }
}
