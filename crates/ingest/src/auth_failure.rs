//! Why a request was not authenticated, in words a user can act on. One place
//! holds the wording of every 401, so the bearer check, the webhook check and
//! any middleware answer alike. The presented credential is never echoed: the
//! messages name headers and schemes, not values.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::{json, Value};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthFailure {
    /// No `Authorization` header at all.
    #[error("missing Authorization header: send 'Authorization: Bearer <token>'")]
    MissingBearer,
    /// An `Authorization` header that is not `Bearer <token>` (e.g. `Token x`, a bare token).
    #[error("malformed Authorization header: expected 'Bearer <token>'")]
    MalformedBearer,
    /// A well-formed bearer token that matches no token this bridge knows.
    #[error("unknown token: the bearer token is not valid here (mistyped, revoked, or for another deployment)")]
    UnknownToken,
    /// The webhook's key header is absent.
    #[error("missing {header} header: the webhook must send '{header}: <key>' (ingest.webhook_header, WSTG_INGEST_WEBHOOK_HEADER)")]
    MissingWebhookKey { header: String },
    /// The webhook's key header is present but holds another key.
    #[error("wrong webhook key in the {header} header (compare it with WSTG_INGEST_WEBHOOK_KEY)")]
    WrongWebhookKey { header: String },
    /// No webhook key is configured, so no webhook can be accepted.
    #[error("webhooks are refused: no webhook key is configured (set WSTG_INGEST_WEBHOOK_KEY)")]
    WebhookKeyNotConfigured,
}

impl AuthFailure {
    /// A stable word for programs, next to the sentence for people.
    pub fn kind(&self) -> &'static str {
        match self {
            AuthFailure::MissingBearer | AuthFailure::MissingWebhookKey { .. } => "missing_header",
            AuthFailure::MalformedBearer => "malformed_header",
            AuthFailure::UnknownToken => "unknown_token",
            AuthFailure::WrongWebhookKey { .. } => "wrong_key",
            AuthFailure::WebhookKeyNotConfigured => "not_configured",
        }
    }

    /// The header the client has to send.
    pub fn header(&self) -> &str {
        match self {
            AuthFailure::MissingWebhookKey { header } | AuthFailure::WrongWebhookKey { header } => {
                header
            }
            _ => "Authorization",
        }
    }

    /// The JSON body of the 401.
    pub fn body(&self) -> Value {
        json!({
            "success": false,
            "error": self.to_string(),
            "reason": self.kind(),
            "header": self.header(),
        })
    }

    fn is_bearer(&self) -> bool {
        matches!(
            self,
            AuthFailure::MissingBearer | AuthFailure::MalformedBearer | AuthFailure::UnknownToken
        )
    }
}

impl ResponseError for AuthFailure {
    fn status_code(&self) -> StatusCode {
        StatusCode::UNAUTHORIZED
    }

    fn error_response(&self) -> HttpResponse {
        let mut resp = HttpResponse::Unauthorized();
        if self.is_bearer() {
            resp.insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")));
        }
        let mut body = self.body();
        crate::errors::with_request_id(&mut body);
        resp.json(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_failure_says_what_was_missing_or_wrong() {
        let cases = [
            (
                AuthFailure::MissingBearer,
                "missing_header",
                "missing Authorization header",
            ),
            (
                AuthFailure::MalformedBearer,
                "malformed_header",
                "expected 'Bearer <token>'",
            ),
            (AuthFailure::UnknownToken, "unknown_token", "unknown token"),
            (
                AuthFailure::MissingWebhookKey {
                    header: "X-API-Key".into(),
                },
                "missing_header",
                "missing X-API-Key header",
            ),
            (
                AuthFailure::WrongWebhookKey {
                    header: "X-API-Key".into(),
                },
                "wrong_key",
                "wrong webhook key in the X-API-Key header",
            ),
            (
                AuthFailure::WebhookKeyNotConfigured,
                "not_configured",
                "WSTG_INGEST_WEBHOOK_KEY",
            ),
        ];
        for (failure, kind, words) in cases {
            let body = failure.body();
            assert_eq!(body["reason"], kind, "{body}");
            assert_eq!(body["success"], false, "{body}");
            assert!(
                body["error"].as_str().is_some_and(|e| e.contains(words)),
                "{body}"
            );
            assert_eq!(failure.status_code(), StatusCode::UNAUTHORIZED);
        }
    }

    #[test]
    fn the_webhook_failures_name_the_expected_header() {
        let f = AuthFailure::MissingWebhookKey {
            header: "X-Dojo-Key".into(),
        };
        assert_eq!(f.body()["header"], "X-Dojo-Key");
        assert!(f.to_string().contains("'X-Dojo-Key: <key>'"));
    }
}
