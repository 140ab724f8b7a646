//! `GET /api/wstg/stream?project=`: server-sent events, one `item` event per
//! change of an item (either direction), in the shape of `/api/wstg/items`.
//!
//! Events carry the change feed's stream id as their `id`, so a browser's
//! EventSource resumes after a reconnect with `Last-Event-ID` and gets what
//! it missed (up to the feed's cap; beyond that the page reloads the items).
//!
//! Live entries come from the process's one feed reader ([`crate::live`]);
//! the missed ones from one XRANGE on the shared connection. Past
//! `limits.max_streams` open streams the answer is 503 with Retry-After.

use std::sync::Arc;

use actix_web::web::Bytes;
use actix_web::{web, HttpRequest, HttpResponse};
use futures::stream::{self, StreamExt};
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;
use wstg_queue::Feed;

use crate::auth::Principal;
use crate::errors::ApiError;
use crate::live::{parse_id, LiveEntry, StreamSlot, KEEP_ALIVE};
use crate::routes::items::ProjectQuery;
use crate::state::AppState;

/// Entries read per XRANGE when replaying from Last-Event-ID, and pages at
/// most (the change feed itself is capped at 10,000 entries).
const REPLAY_PAGE: usize = 1000;
const REPLAY_PAGES: usize = 10;

fn frame(id: &str, data: &str) -> Bytes {
    // Feed data is our own single-line JSON.
    Bytes::from(format!("id: {id}\nevent: item\ndata: {data}\n\n"))
}

/// What one open stream carries between chunks.
struct Live {
    rx: broadcast::Receiver<Arc<LiveEntry>>,
    project: String,
    /// The newest id sent: live entries at or below it were in the replay.
    sent: Option<(u64, u64)>,
    _slot: StreamSlot,
}

impl Live {
    /// The next chunk: frames for this project's new entries, or a
    /// keep-alive comment after [`KEEP_ALIVE`] of silence. `None` ends the
    /// stream (the hub is gone, or this stream fell too far behind: the
    /// browser reconnects with Last-Event-ID and catches up from Redis).
    async fn next_chunk(&mut self) -> Option<Bytes> {
        let deadline = tokio::time::Instant::now() + KEEP_ALIVE;
        loop {
            let entry = match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Err(_) => return Some(Bytes::from_static(b": keep-alive\n\n")),
                Ok(Ok(entry)) => entry,
                Ok(Err(RecvError::Lagged(missed))) => {
                    tracing::debug!(missed, "live stream fell behind; closing it");
                    return None;
                }
                Ok(Err(RecvError::Closed)) => return None,
            };
            if self.sent.is_some_and(|s| entry.order <= s) {
                continue;
            }
            if entry.project.as_deref() != Some(self.project.as_str()) {
                continue;
            }
            self.sent = Some(entry.order);
            return Some(frame(&entry.id, &entry.data));
        }
    }
}

/// Server-sent events: one `item` event per change of an item of the project.
#[utoipa::path(get, path = "/api/wstg/stream", tag = "tracker",
    params(crate::routes::items::ProjectQuery,
        ("Last-Event-ID" = Option<String>, Header, description = "Resume after this event")),
    responses(
        (status = 200, description = "An endless event stream", content_type = "text/event-stream", body = String),
        (status = 503, description = "Too many open streams (Retry-After)", body = crate::api_schemas::ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn get_stream(
    req: HttpRequest,
    principal: Principal,
    query: web::Query<ProjectQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let project = crate::project_access::readable(&state, &principal, query.project(&state)?)
        .await?
        .as_str()
        .to_owned();
    let resume = req
        .headers()
        .get("Last-Event-ID")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| parse_id(v).is_some())
        .map(str::to_owned);
    // Subscribe first, then read what was missed: an entry written in
    // between comes through both and is sent once.
    let Some((slot, rx)) = state.live.open() else {
        tracing::warn!(
            open = state.live.open_streams(),
            "live stream refused: the stream cap is reached"
        );
        return Err(ApiError::Busy {
            what: "too many open live streams",
            retry_after_secs: 5,
        });
    };
    let mut sent = None;
    let mut first = vec![Bytes::from_static(b"retry: 2000\n\n")];
    if let Some(mut after) = resume {
        sent = parse_id(&after);
        for _ in 0..REPLAY_PAGES {
            let missed = state
                .queue
                .feed_since(Feed::Changes, &after, REPLAY_PAGE)
                .await
                .map_err(|e| {
                    tracing::warn!(error = %e, "change feed unavailable");
                    ApiError::Unavailable("queue")
                })?;
            let full = missed.len() == REPLAY_PAGE;
            for entry in missed.into_iter().filter_map(LiveEntry::from_feed) {
                sent = Some(entry.order);
                after.clone_from(&entry.id);
                if entry.project.as_deref() == Some(project.as_str()) {
                    first.push(frame(&entry.id, &entry.data));
                }
            }
            if !full {
                break;
            }
        }
    }
    let live = Live {
        rx,
        project,
        sent,
        _slot: slot,
    };
    let tail = stream::unfold(live, |mut live| async move {
        let chunk = live.next_chunk().await?;
        Some((Ok::<_, actix_web::Error>(chunk), live))
    });
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("Cache-Control", "no-cache"))
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(stream::iter(first.into_iter().map(Ok)).chain(tail)))
}
