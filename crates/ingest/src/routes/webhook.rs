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

pub async fn post_webhook(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    authenticate(&req, &state)?;
    let bytes = read_limited(&req, payload, state.max_body_bytes).await?;
    let body = json_object(&bytes)?;
    let event = req
        .headers()
        .get("X-DefectDojo-Event")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| body.get("event").and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_else(|| "other".to_owned());
    let finding_id = finding_id_of(&body);
    if event == "ping" {
        return Ok(HttpResponse::Ok().json(json!({"success": true, "event": "ping"})));
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
