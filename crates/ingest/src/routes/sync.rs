//! `POST /api/wstg/sync`: a tracker change, as the original design defined
//! it: `{wstg_id, status, notes, timestamp, user}` plus an optional
//! `project`. Answers 202 only after the event is on the Redis stream.

use std::time::Duration;

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use serde_json::{json, Value};
use tracing::Instrument;
use wstg_domain::text::{check_controls, Lines};
use wstg_domain::{Envelope, EventKind, Notes, ProjectName, Status, TrackerChange};
use wstg_queue::Published;

use crate::auth::Principal;
use crate::body::{json_object, opt_str, read_limited, req_str};
use crate::errors::ApiError;
use crate::state::AppState;

/// How long an `Idempotency-Key` is remembered.
pub(crate) const IDEMPOTENCY_TTL: Duration = Duration::from_secs(24 * 3600);

/// A tracker change (the original design's contract). Answers only once the
/// event is on the Redis stream.
#[utoipa::path(post, path = "/api/wstg/sync", tag = "tracker",
    params(("Idempotency-Key" = Option<String>, Header, description = "1 to 200 characters; a retry with the same key and body is answered `duplicate`")),
    request_body = crate::api_schemas::TrackerChangeBody,
    responses(
        (status = 202, description = "Queued", body = crate::api_schemas::Queued),
        (status = 200, description = "A retry of a change already queued", body = crate::api_schemas::Queued),
        (status = 400, description = "A field is missing or invalid (named in `field`)", body = crate::api_schemas::ErrorBody),
        (status = 422, description = "The Idempotency-Key was used with another body", body = crate::api_schemas::ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn post_sync(
    req: HttpRequest,
    principal: Principal,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    state.backlog.admit()?;
    let bytes = read_limited(&req, payload, state.max_body_bytes).await?;
    let received_at = Utc::now();
    let envelope = parse_tracker_change(&bytes, &state, received_at).await?;
    crate::project_access::writable(&state, &principal, &envelope.project).await?;
    let idempotency_key = idempotency_key(&req)?;
    let fingerprint = fingerprint(&bytes);

    let span = tracing::info_span!(
        "ingest_sync",
        event_id = %envelope.event_id,
        wstg_id = %envelope.wstg_id().map(|i| i.as_str()).unwrap_or("-"),
        project = %envelope.project,
    );
    async move {
        let published = match &idempotency_key {
            Some(key) => {
                state
                    .queue
                    .publish_idempotent(
                        &envelope,
                        &scoped_key(&envelope.project, key),
                        &fingerprint,
                        IDEMPOTENCY_TTL,
                    )
                    .await
            }
            None => state.queue.publish(&envelope).await.map(Published::New),
        };
        match published {
            Ok(Published::New(stream_id)) => {
                tracing::debug!(%stream_id, "tracker change queued");
                Ok(HttpResponse::Accepted().json(json!({
                    "success": true,
                    "event_id": envelope.event_id,
                    "status": "queued",
                })))
            }
            Ok(Published::Duplicate { event_id }) => Ok(HttpResponse::Ok().json(json!({
                "success": true,
                "event_id": event_id,
                "status": "duplicate",
            }))),
            Ok(Published::KeyReused { .. }) => Err(key_reused()),
            Err(e) => {
                tracing::warn!(error = %e, "could not queue tracker change");
                Err(ApiError::Unavailable("queue"))
            }
        }
    }
    .instrument(span)
    .await
}

/// The idempotency record's key: the client's key within its project, so
/// two projects (two teams) using the same key never collide. Project names
/// cannot contain ':', so the pair is unambiguous.
pub(crate) fn scoped_key(project: &ProjectName, key: &str) -> String {
    format!("{}:{key}", project.as_str())
}

/// What binds an idempotency key to one request: the SHA-256 of the body as
/// sent. A retry sends the same bytes; another change under the same key
/// is refused ([`key_reused`]) instead of being dropped as a duplicate.
pub(crate) fn fingerprint(body: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(body))
}

/// 422: the key was already used, within its TTL, for another body.
pub(crate) fn key_reused() -> ApiError {
    ApiError::Conflict {
        field: "Idempotency-Key".into(),
        reason: "was already used with a different request body; use a new key for a new change"
            .into(),
    }
}

pub(crate) fn idempotency_key(req: &HttpRequest) -> Result<Option<String>, ApiError> {
    let Some(v) = req.headers().get("Idempotency-Key") else {
        return Ok(None);
    };
    let v = v
        .to_str()
        .map_err(|_| ApiError::invalid("Idempotency-Key", "must be printable ASCII"))?
        .trim();
    // HeaderValue::to_str lets a tab through; a key is one plain token.
    text_field("Idempotency-Key", v, Lines::Single)?;
    if v.is_empty() || v.len() > 200 {
        return Err(ApiError::invalid(
            "Idempotency-Key",
            "must be 1 to 200 characters",
        ));
    }
    Ok(Some(v.to_owned()))
}

/// Turns the body into an envelope, or names the first bad field.
pub async fn parse_tracker_change(
    bytes: &[u8],
    state: &AppState,
    received_at: DateTime<Utc>,
) -> Result<Envelope, ApiError> {
    tracker_change_from_object(&json_object(bytes)?, state, received_at).await
}

/// One tracker change from its JSON fields (`wstg_id`, `status`, `notes`,
/// `project`, `user`, `timestamp`), or the first bad field. Shared by
/// `POST /api/wstg/sync` and each entry of `POST /api/wstg/import`.
///
/// The id is checked against the catalogue of the project it names (an
/// ASVS project takes `V2.1.1` and refuses `WSTG-INFO-01`), so it is parsed
/// once the project is known.
pub async fn tracker_change_from_object(
    obj: &serde_json::Map<String, Value>,
    state: &AppState,
    received_at: DateTime<Utc>,
) -> Result<Envelope, ApiError> {
    let raw_id = text_field("wstg_id", req_str(obj, "wstg_id")?, Lines::Single)?;
    if raw_id.trim().is_empty() {
        return Err(ApiError::invalid(
            "wstg_id",
            wstg_domain::wstg_id::WstgIdError::Empty,
        ));
    }
    let status: Status = req_str(obj, "status")?
        .parse()
        .map_err(|e| ApiError::invalid("status", e))?;
    let notes = opt_str(obj, "notes")?
        .map(|n| text_field("notes", n, Lines::Multi))
        .transpose()?
        .map(Notes::parse)
        .transpose()
        .map_err(|e| ApiError::invalid("notes", e))?;
    let project = crate::project_access::parse_project(
        opt_str(obj, "project")?
            .map(|p| text_field("project", p, Lines::Single))
            .transpose()?,
        state,
    )?;
    let user = match opt_str(obj, "user")?
        .map(|u| text_field("user", u, Lines::Single))
        .transpose()?
    {
        Some(u) if u.chars().count() > 128 => {
            return Err(ApiError::invalid("user", "is longer than 128 characters"))
        }
        Some(u) if !u.trim().is_empty() => Some(u.trim().to_owned()),
        _ => None,
    };
    // Issue 12 item 3: absent keeps the assignee; null or "" clears it.
    let assignee = match obj.get("assignee") {
        None => None,
        Some(Value::Null) => Some(None),
        Some(Value::String(a)) if a.trim().is_empty() => Some(None),
        Some(Value::String(a)) => Some(Some(
            wstg_domain::Username::parse(a).map_err(|e| ApiError::invalid("assignee", e))?,
        )),
        Some(other) => {
            return Err(ApiError::invalid(
                "assignee",
                format!("must be a string or null, not {}", crate::body::kind(other)),
            ))
        }
    };
    let occurred_at = match obj.get("timestamp") {
        None | Some(Value::Null) => received_at,
        Some(v) => parse_timestamp(v)?,
    };
    // A tracker clock ahead of ours would make its change outrank every
    // later change to the item; a future timestamp counts as "now".
    let occurred_at = occurred_at.min(received_at);
    let wstg_id = crate::project_catalogue::catalogue_of(state, &project)
        .await?
        .parse_id(raw_id)
        .map_err(|e| ApiError::invalid("wstg_id", e))?;
    Ok(Envelope::new(
        project,
        EventKind::TrackerChange(TrackerChange {
            wstg_id,
            status,
            notes,
            occurred_at,
            user,
            assignee,
        }),
        received_at,
    ))
}

/// `value` if it holds no control character (newlines and tabs only where
/// `lines` allows them), else a 400 naming `field`.
pub(crate) fn text_field<'a>(
    field: &str,
    value: &'a str,
    lines: Lines,
) -> Result<&'a str, ApiError> {
    check_controls(value, lines).map_err(|e| ApiError::invalid(field, e))?;
    Ok(value)
}

/// RFC 3339 (`2025-12-03T17:30:00Z`), a naive ISO time taken as UTC (Python's
/// `isoformat()`), or milliseconds since the epoch (JavaScript's `Date.now()`).
fn parse_timestamp(v: &Value) -> Result<DateTime<Utc>, ApiError> {
    let bad = || {
        ApiError::invalid(
            "timestamp",
            "must be an RFC 3339 date-time (e.g. 2025-12-03T17:30:00Z) or milliseconds since the epoch",
        )
    };
    match v {
        Value::String(s) => {
            let s = s.trim();
            DateTime::parse_from_rfc3339(s)
                .map(|d| d.with_timezone(&Utc))
                .or_else(|_| {
                    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
                        .map(|n| Utc.from_utc_datetime(&n))
                })
                .map_err(|_| bad())
        }
        Value::Number(n) => n
            .as_i64()
            .and_then(|ms| Utc.timestamp_millis_opt(ms).single())
            .ok_or_else(bad),
        _ => Err(bad()),
    }
}
