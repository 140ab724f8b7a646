//! `POST /api/wstg/webhook`: DefectDojo's notification webhook.
//!
//! DefectDojo sends no webhook when a finding is edited, and the ones it does
//! send carry no status we could trust (no signature, no event id, no
//! timestamp). So a webhook is only a hint: it asks the poller to read
//! DefectDojo now, and never sets a status itself. It answers at once, so
//! DefectDojo, which disables a webhook after one 4xx or a slow answer,
//! keeps it enabled.
//!
//! Authentication is the single static header DefectDojo can send
//! (`ingest.webhook_header`, e.g. `X-API-Key: <key>` or
//! `Authorization: Bearer <key>`), compared in constant time. Without a
//! configured key every call is refused: there is no default key. The
//! presented value is never logged.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Utc;
use secrecy::ExposeSecret;
use serde_json::{json, Value};

use wstg_domain::text::is_token;

use crate::auth::constant_time_eq;
use crate::auth_failure::AuthFailure;
use crate::body::{json_object, read_limited};
use crate::errors::ApiError;
use crate::state::AppState;

/// The events DefectDojo 3.2 sends (docs/defectdojo.md §6) and the original design's.
pub const KNOWN_EVENTS: &[&str] = &[
    "ping",
    "finding_added",
    "finding_closed",
    "finding_reopened",
    "finding_deleted",
    "finding_updated",
    "finding_created",
    "finding_verified",
    "finding_mitigated",
    "scan_added",
    "scan_added_empty",
    "test_added",
    "engagement_added",
    "engagement_closed",
    "engagement_reopened",
    "engagement_deleted",
    "product_added",
    "product_type_added",
    "review_requested",
    "user_mentioned",
    "other",
];

/// DefectDojo's notification webhook: a hint to poll DefectDojo now.
#[utoipa::path(post, path = "/api/wstg/webhook", tag = "defectdojo",
    params(("X-DefectDojo-Event" = Option<String>, Header, pattern = "^[A-Za-z0-9_.:-]{1,64}$", description = "The event (else the body's `event`)")),
    request_body(content = Object, description = "DefectDojo's notification"),
    responses(
        (status = 200, description = "A ping", body = crate::api_schemas::WebhookAnswer),
        (status = 202, description = "A poll was requested (or already was)", body = crate::api_schemas::WebhookAnswer),
    ),
    security(("webhook_key" = [])))]
pub async fn post_webhook(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    authenticate(&req, &state)?;
    let bytes = read_limited(&req, payload, state.max_body_bytes).await?;
    let body = json_object(&bytes)?;
    let event = event_name(&req, &body)?;
    let finding_id = finding_id_of(&body);
    if event == "ping" {
        return Ok(HttpResponse::Ok().json(json!({"success": true, "event": "ping"})));
    }
    // A flood of webhooks forces at most one poll per interval: the first
    // takes the slot (shared by every ingest replica through Redis), the
    // rest are answered 202 at once (DefectDojo disables a webhook that gets
    // a 4xx) and served by that poll or the next regular one.
    match take_poll_slot(&state).await {
        Ok(true) => {}
        Ok(false) => {
            tracing::debug!(%event, "DefectDojo webhook: a poll was forced recently; not forcing another");
            return Ok(HttpResponse::Accepted().json(json!({
                "success": true,
                "event": event,
                "action": "poll_already_requested",
            })));
        }
        Err(e) => {
            tracing::warn!(error = %e, "could not check the webhook poll interval");
            return Err(ApiError::Unavailable("queue"));
        }
    }
    let hint = json!({
        "event": event,
        "finding_id": finding_id,
        "received_at": Utc::now(),
    });
    match state.queue.publish_poll_hint(&hint.to_string()).await {
        Ok(_) => {
            tracing::info!(%event, ?finding_id, "DefectDojo webhook: poll requested");
            Ok(HttpResponse::Accepted().json(json!({
                "success": true,
                "event": event,
                "action": "poll_requested",
            })))
        }
        Err(e) => {
            tracing::warn!(error = %e, "could not queue a poll hint");
            Err(ApiError::Unavailable("queue"))
        }
    }
}

/// Longest event name accepted; DefectDojo's longest is 20 characters.
const EVENT_MAX: usize = 64;

/// The event named by the `X-DefectDojo-Event` header or the body's `event`
/// ("other" when neither): 1 to 64 of `[A-Za-z0-9_.:-]`, else 400. Checked
/// before it reaches a log line, so no forged line or terminal escape can.
fn event_name(
    req: &HttpRequest,
    body: &serde_json::Map<String, Value>,
) -> Result<String, ApiError> {
    let (field, raw) = match req.headers().get("X-DefectDojo-Event") {
        Some(v) => (
            "X-DefectDojo-Event",
            v.to_str()
                .map_err(|_| ApiError::invalid("X-DefectDojo-Event", EVENT_RULE))?,
        ),
        None => match body.get("event") {
            None | Some(Value::Null) => return Ok("other".to_owned()),
            Some(Value::String(s)) => ("event", s.as_str()),
            Some(_) => return Err(ApiError::invalid("event", "must be a string")),
        },
    };
    if !is_token(raw, EVENT_MAX) {
        return Err(ApiError::invalid(field, EVENT_RULE));
    }
    Ok(raw.to_owned())
}

const EVENT_RULE: &str = "must be 1 to 64 characters of letters, digits, '_', '.', ':' and '-'";

/// `true` when this webhook may force a poll: `SET P:webhook-poll NX PX
/// <interval>` succeeded. A webhook names no project (DefectDojo's payloads
/// carry only a finding URL) and a hint makes the pollers read every
/// project, so one slot per deployment caps forced polls per project too.
async fn take_poll_slot(state: &AppState) -> Result<bool, wstg_queue::QueueError> {
    let key = state.queue.keys().webhook_poll();
    let ms = u64::try_from(state.webhook_poll_interval.as_millis())
        .unwrap_or(u64::MAX)
        .max(1);
    let set: Option<String> = redis::cmd("SET")
        .arg(key)
        .arg(Utc::now().to_rfc3339())
        .arg("NX")
        .arg("PX")
        .arg(ms)
        .query_async(&mut state.queue.connection())
        .await?;
    Ok(set.is_some())
}

fn authenticate(req: &HttpRequest, state: &AppState) -> Result<(), ApiError> {
    let Some(key) = state.webhook_key.as_ref() else {
        return Err(AuthFailure::WebhookKeyNotConfigured.into());
    };
    let header = state.webhook_header.as_str();
    let Some(value) = req.headers().get(header) else {
        return Err(AuthFailure::MissingWebhookKey {
            header: header.to_owned(),
        }
        .into());
    };
    let presented = value.to_str().map(str::trim).unwrap_or("");
    // `Authorization: Bearer <key>` and a bare key in a custom header both work.
    let presented = presented
        .strip_prefix("Bearer ")
        .or_else(|| presented.strip_prefix("Token "))
        .unwrap_or(presented);
    if constant_time_eq(presented, key.expose_secret()) {
        Ok(())
    } else {
        Err(AuthFailure::WrongWebhookKey {
            header: header.to_owned(),
        }
        .into())
    }
}

/// The finding a payload names: the original design's `finding.id`, or the
/// id at the end of DefectDojo's `url_ui` / `url_api` (`…/finding/12`).
fn finding_id_of(body: &serde_json::Map<String, Value>) -> Option<i64> {
    if let Some(id) = body
        .get("finding")
        .and_then(|f| f.get("id"))
        .and_then(Value::as_i64)
    {
        return Some(id);
    }
    ["url_api", "url_ui"].iter().find_map(|k| {
        let url = body.get(*k)?.as_str()?;
        let mut parts = url.trim_end_matches('/').rsplit('/');
        let id = parts.next()?.parse().ok()?;
        matches!(parts.next(), Some("finding" | "findings")).then_some(id)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(v: Value) -> serde_json::Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn finds_the_finding_id_in_both_payload_shapes() {
        assert_eq!(finding_id_of(&obj(json!({"finding": {"id": 7}}))), Some(7));
        assert_eq!(
            finding_id_of(&obj(json!({"url_ui": "https://dd/finding/12"}))),
            Some(12)
        );
        assert_eq!(
            finding_id_of(&obj(json!({"url_api": "https://dd/api/v2/findings/3/"}))),
            Some(3)
        );
        assert_eq!(
            finding_id_of(&obj(json!({"url_ui": "https://dd/engagement/5"}))),
            None
        );
        assert_eq!(finding_id_of(&obj(json!({"title": ""}))), None);
    }
}
