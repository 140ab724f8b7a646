//! The one error type of the HTTP API. Every error is a JSON body that names
//! what was wrong; nothing internal (and no secret) is echoed back.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A request field is missing or invalid.
    #[error("{field}: {reason}")]
    Invalid { field: String, reason: String },
    #[error("body: request body exceeds {limit} bytes")]
    TooLarge { limit: usize },
    /// An evidence file past a bound (its size, or the project's total).
    #[error("{field}: {reason}")]
    FileTooLarge { field: &'static str, reason: String },
    /// An evidence file whose bytes are not an accepted kind.
    #[error("{field}: {reason}")]
    UnsupportedFile { field: &'static str, reason: String },
    #[error("authentication required")]
    Unauthorized,
    /// Not authenticated, and why (the body says what was missing or wrong).
    #[error(transparent)]
    Auth(#[from] crate::auth_failure::AuthFailure),
    /// The endpoint is switched off (e.g. admin endpoints without a token).
    #[error("{0}")]
    Forbidden(&'static str),
    /// The token is valid but may not do this (another project, not admin).
    #[error("{0}")]
    Denied(String),
    /// A page on another site sent the request (Origin / Sec-Fetch-Site).
    #[error("cross-site request refused: {0}")]
    CrossSite(String),
    /// A state-changing request whose body is not declared as JSON.
    #[error("Content-Type: state-changing requests must be sent as application/json")]
    UnsupportedMediaType,
    /// The Host header names a host this ingest is not (DNS rebinding).
    #[error("Host: '{0}' is not a name of this service")]
    MisdirectedHost(String),
    #[error("{0} not found")]
    NotFound(String),
    /// Redis (or the store) is unreachable: the client should retry.
    #[error("{0} unavailable, retry later")]
    Unavailable(&'static str),
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
    /// A bound was reached (open streams, event backlog): 503 with this
    /// Retry-After, in seconds.
    #[error("{what}, retry later")]
    Busy {
        what: &'static str,
        retry_after_secs: u64,
    },
    /// The caller's rate limit (429 with Retry-After, in seconds).
    #[error("rate limit exceeded, retry later")]
    RateLimited { retry_after_secs: u64 },
    /// The request is well-formed but contradicts an earlier one (an
    /// idempotency key reused for another body): 422 naming the field.
    #[error("{field}: {reason}")]
    Conflict { field: String, reason: String },
    /// The client did not send its body in time (408; the connection closes).
    #[error("body: not received within {limit_ms} ms")]
    BodyTimeout { limit_ms: u64 },
    /// No route has this path (404).
    #[error("{path}: no such endpoint")]
    NoRoute { path: String },
    /// The path takes other methods (405 with `Allow`).
    #[error("method {method} not allowed here; allowed: {}", allowed.join(", "))]
    MethodNotAllowed {
        method: String,
        allowed: Vec<String>,
    },
}

impl ApiError {
    pub fn invalid(field: impl Into<String>, reason: impl std::fmt::Display) -> ApiError {
        ApiError::Invalid {
            field: field.into(),
            reason: reason.to_string(),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Invalid { .. } => StatusCode::BAD_REQUEST,
            ApiError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::FileTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedFile { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Unauthorized | ApiError::Auth(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) | ApiError::Denied(_) | ApiError::CrossSite(_) => {
                StatusCode::FORBIDDEN
            }
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::MisdirectedHost(_) => StatusCode::MISDIRECTED_REQUEST,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::Busy { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Conflict { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::BodyTimeout { .. } => StatusCode::REQUEST_TIMEOUT,
            ApiError::NoRoute { .. } => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let ApiError::Auth(failure) = self {
            return failure.error_response();
        }
        let mut body = json!({ "success": false, "error": self.to_string() });
        with_request_id(&mut body);
        match self {
            ApiError::Invalid { field, reason } | ApiError::Conflict { field, reason } => {
                body["field"] = json!(field);
                body["reason"] = json!(reason);
            }
            ApiError::FileTooLarge { field, reason }
            | ApiError::UnsupportedFile { field, reason } => {
                body["field"] = json!(field);
                body["reason"] = json!(reason);
            }
            ApiError::BodyTimeout { .. } => {
                body["field"] = json!("body");
                body["reason"] = json!(self.to_string().trim_start_matches("body: "));
            }
            ApiError::TooLarge { .. } => {
                body["field"] = json!("body");
                body["reason"] = json!(self.to_string().trim_start_matches("body: "));
            }
            ApiError::UnsupportedMediaType => {
                body["field"] = json!("Content-Type");
                body["reason"] = json!("must be application/json");
            }
            ApiError::MisdirectedHost(_) => {
                body["field"] = json!("Host");
                body["reason"] = json!("not a name of this service (set auth.public_host)");
            }
            ApiError::MethodNotAllowed { method, allowed } => {
                body["field"] = json!("method");
                body["reason"] = json!(format!("{method} is not one of {}", allowed.join(", ")));
                body["allowed"] = json!(allowed);
            }
            ApiError::Internal(e) => {
                // The cause goes to the log, not to the client.
                tracing::error!(error = ?e, "request failed");
            }
            _ => {}
        }
        let mut resp = HttpResponse::build(self.status_code());
        match self {
            ApiError::Unavailable(_) => {
                resp.insert_header((header::RETRY_AFTER, HeaderValue::from_static("1")));
            }
            ApiError::Unauthorized => {
                resp.insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")));
            }
            ApiError::Busy {
                retry_after_secs, ..
            }
            | ApiError::RateLimited { retry_after_secs } => {
                resp.insert_header((header::RETRY_AFTER, retry_after_secs.max(&1).to_string()));
            }
            // The rest of the body may still be on its way (or never come):
            // the connection cannot carry another request.
            ApiError::BodyTimeout { .. } => {
                resp.insert_header((header::CONNECTION, HeaderValue::from_static("close")));
            }
            ApiError::MethodNotAllowed { allowed, .. } => {
                resp.insert_header((header::ALLOW, allowed.join(", ")));
            }
            _ => {}
        }
        resp.json(body)
    }
}

/// Adds the request's id (request_id.rs) to an error body, so a client's
/// report can be found in the logs.
pub fn with_request_id(body: &mut serde_json::Value) {
    if let Some(id) = crate::request_id::current() {
        body["request_id"] = json!(id);
    }
}
