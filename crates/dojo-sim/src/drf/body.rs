//! Request bodies: DRF's `JSONParser` plus DefectDojo's "malformed" rewrite.

use actix_web::{http::header, http::StatusCode, web::Bytes, HttpRequest};
use serde_json::{Map, Value};

use super::errors::{ApiError, ApiResult};

/// Parses a JSON request body. An empty body is an empty dict (DRF `empty_data`); JSON that
/// does not parse is `{"message":"JSON request content is malformed"}` (LIVE 54); a body in any
/// other media type is DRF's 415 (the simulator only speaks JSON).
pub fn parse(req: &HttpRequest, body: &Bytes) -> ApiResult<Value> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Map::new()));
    }
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if essence != "application/json" && !essence.ends_with("+json") {
        return Err(ApiError::detail(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("Unsupported media type \"{content_type}\" in request."),
        ));
    }
    serde_json::from_slice(body).map_err(|_| ApiError::MalformedJson)
}

/// The body as a dict, for views whose permission class calls `request.data.get(...)`: a JSON
/// array or scalar there is an `AttributeError` in DefectDojo, i.e. a 500.
pub fn parse_object_or_500(req: &HttpRequest, body: &Bytes) -> ApiResult<Map<String, Value>> {
    match parse(req, body)? {
        Value::Object(map) => Ok(map),
        _ => Err(ApiError::Internal),
    }
}

/// The body as a dict, for serializers: anything else is DRF's
/// `Invalid data. Expected a dictionary, but got <type>.`
pub fn parse_object(req: &HttpRequest, body: &Bytes) -> ApiResult<Map<String, Value>> {
    match parse(req, body)? {
        Value::Object(map) => Ok(map),
        other => Err(ApiError::non_field(format!(
            "Invalid data. Expected a dictionary, but got {}.",
            super::fields::py_type_name(&other)
        ))),
    }
}
