//! `GET /api/wstg/stream?project=`: server-sent events, one `item` event per
//! change of an item (either direction), in the shape of `/api/wstg/items`.
//!
//! Events carry the change feed's stream id as their `id`, so a browser's
//! EventSource resumes after a reconnect with `Last-Event-ID` and gets what
//! it missed (up to the feed's cap; beyond that the page reloads the items).

use std::time::Duration;

use actix_web::web::Bytes;
use actix_web::{web, HttpRequest, HttpResponse};
use futures::stream::{self, StreamExt};
use wstg_queue::{Feed, FeedEntry, FeedReader};

use crate::auth::Principal;
use crate::errors::ApiError;
use crate::routes::items::ProjectQuery;
use crate::state::AppState;

/// A comment line this often keeps proxies from closing an idle stream.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

fn frame(entry: &FeedEntry) -> Bytes {
    // Feed data is our own single-line JSON.
    Bytes::from(format!(
        "id: {}\nevent: item\ndata: {}\n\n",
        entry.id, entry.data
    ))
}

fn for_project(entry: &FeedEntry, project: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(&entry.data)
        .ok()
        .and_then(|v| {
            v.get("project")
                .and_then(|p| p.as_str())
                .map(|p| p == project)
        })
        .unwrap_or(false)
}

/// Accepts only a stream id shape (`<ms>-<seq>`) from the client.
fn valid_id(id: &str) -> bool {
    let mut parts = id.splitn(2, '-');
    let ok =
        |p: Option<&str>| p.is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    ok(parts.next()) && ok(parts.next())
}

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
        .filter(|v| valid_id(v))
        .map(str::to_owned);
    let unavailable = |e: wstg_queue::QueueError| {
        tracing::warn!(error = %e, "change feed unavailable");
        ApiError::Unavailable("queue")
    };
    // Missed events first (resume), then the live tail from where they end.
    let (backlog, from) = match resume {
        Some(after) => {
            let missed = state
                .queue
                .feed_since(Feed::Changes, &after, 1000)
                .await
                .map_err(unavailable)?;
            let from = missed.last().map(|e| e.id.clone()).unwrap_or(after);
            (missed, from)
        }
        None => (
            Vec::new(),
            state
                .queue
                .feed_last_id(Feed::Changes)
                .await
                .map_err(unavailable)?,
        ),
    };
    let reader = state
        .queue
        .feed_reader(Feed::Changes, from, KEEP_ALIVE)
        .await
        .map_err(unavailable)?;
    let first: Vec<Result<Bytes, actix_web::Error>> =
        std::iter::once(Ok(Bytes::from_static(b"retry: 2000\n\n")))
            .chain(
                backlog
                    .iter()
                    .filter(|e| for_project(e, &project))
                    .map(|e| Ok(frame(e))),
            )
            .collect();
    let live = stream::unfold(
        (reader, project),
        |(mut reader, project): (FeedReader, String)| async move {
            let chunk = match reader.next().await {
                Ok(entries) if entries.is_empty() => Bytes::from_static(b": keep-alive\n\n"),
                Ok(entries) => {
                    let text: String = entries
                        .iter()
                        .filter(|e| for_project(e, &project))
                        .map(|e| String::from_utf8_lossy(&frame(e)).into_owned())
                        .collect();
                    if text.is_empty() {
                        Bytes::from_static(b": keep-alive\n\n")
                    } else {
                        Bytes::from(text)
                    }
                }
                Err(e) => {
                    // End the stream; the browser reconnects with Last-Event-ID.
                    tracing::debug!(error = %e, "change feed read failed; closing the stream");
                    return None;
                }
            };
            Some((Ok::<_, actix_web::Error>(chunk), (reader, project)))
        },
    );
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("Cache-Control", "no-cache"))
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(stream::iter(first).chain(live)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_stream_ids_are_accepted_as_resume_points() {
        assert!(valid_id("1700000000000-0"));
        assert!(!valid_id("abc"));
        assert!(!valid_id("1-"));
        assert!(!valid_id("+"));
    }
}
