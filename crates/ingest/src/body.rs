//! Reading request bodies: a hard size limit (checked against Content-Length
//! before reading, and while reading), and JSON parsing whose errors name the
//! problem instead of actix's plain-text defaults. The guard (guard.rs) has
//! already required `Content-Type: application/json` on state-changing calls.

use actix_web::web;
use futures::StreamExt;
use serde_json::Value;

use crate::errors::ApiError;

/// Used when no application state is registered (unit tests of handlers).
const DEFAULT_BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Reads the body within `limit` bytes and the configured request timeout
/// (`limits.request_timeout_ms`): actix's `client_request_timeout` covers
/// only the request head, so a client that sends headers and then trickles
/// or stalls its body would otherwise hold a connection and a task forever.
pub async fn read_limited(
    req: &actix_web::HttpRequest,
    payload: web::Payload,
    limit: usize,
) -> Result<web::BytesMut, ApiError> {
    let timeout = req
        .app_data::<web::Data<crate::state::AppState>>()
        .map(|s| s.request_timeout)
        .unwrap_or(DEFAULT_BODY_TIMEOUT);
    tokio::time::timeout(timeout, read_within(req, payload, limit))
        .await
        .map_err(|_| ApiError::BodyTimeout {
            limit_ms: u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
        })?
}

async fn read_within(
    req: &actix_web::HttpRequest,
    mut payload: web::Payload,
    limit: usize,
) -> Result<web::BytesMut, ApiError> {
    if let Some(len) = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
    {
        if len > limit {
            return Err(ApiError::TooLarge { limit });
        }
    }
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|e| ApiError::invalid("body", format!("could not be read: {e}")))?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::TooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Parses a JSON object, or says why the body is not one.
pub fn json_object(bytes: &[u8]) -> Result<serde_json::Map<String, Value>, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::invalid(
            "body",
            "is empty; expected a JSON object",
        ));
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::invalid("body", "must be a JSON object")),
        Err(e) => Err(ApiError::invalid("body", format!("malformed JSON: {e}"))),
    }
}

/// An optional string field: absent or null is `None`, anything but a string is an error.
pub fn opt_str<'a>(
    obj: &'a serde_json::Map<String, Value>,
    field: &str,
) -> Result<Option<&'a str>, ApiError> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(ApiError::invalid(
            field,
            format!("must be a string, not {}", kind(other)),
        )),
    }
}

/// A required string field.
pub fn req_str<'a>(
    obj: &'a serde_json::Map<String, Value>,
    field: &str,
) -> Result<&'a str, ApiError> {
    opt_str(obj, field)?.ok_or_else(|| ApiError::invalid(field, "is required"))
}

pub fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
