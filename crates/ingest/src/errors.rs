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
    #[error("authentication required")]
    Unauthorized,
    /// Not authenticated, and why (the body says what was missing or wrong).
    #[error(transparent)]
    Auth(#[from] crate::auth_failure::AuthFailure),
    /// The endpoint is switched off (e.g. admin endpoints without a token).
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("{0} not found")]
    NotFound(String),
    /// Redis (or the store) is unreachable: the client should retry.
    #[error("{0} unavailable, retry later")]
    Unavailable(&'static str),
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
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
            ApiError::Unauthorized | ApiError::Auth(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let ApiError::Auth(failure) = self {
            return failure.error_response();
        }
        let mut body = json!({ "success": false, "error": self.to_string() });
        match self {
            ApiError::Invalid { field, reason } => {
                body["field"] = json!(field);
                body["reason"] = json!(reason);
            }
            ApiError::TooLarge { .. } => {
                body["field"] = json!("body");
                body["reason"] = json!(self.to_string().trim_start_matches("body: "));
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
            _ => {}
        }
        resp.json(body)
    }
}
