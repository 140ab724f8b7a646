//! What can go wrong talking to DefectDojo, and whether trying again helps.
//!
//! The classification follows DefectDojo's own exception handler
//! (dojo/api_v2/exception_handler.py, `custom_exception_handler`):
//!
//! - DRF validation errors: 400 `{field: [msg], "message": "<python repr>", "pro": [..]}`,
//!   rule errors under `non_field_errors`; a `serializers.ValidationError(str)`
//!   raised outside `validate` (the JIRA push in `FindingSerializer.update`)
//!   gives a bare JSON list.
//! - Malformed JSON: 400 `{"message": "JSON request content is malformed"}`.
//! - Authentication: 403 (SessionAuthentication is first, so never 401)
//!   `{"detail": "Invalid token."}` / `"Authentication credentials were not provided."`.
//! - Permission denied: 403 `{"detail": "You do not have permission to perform this action."}`.
//! - 404 `{"detail": "No Finding matches the given query."}`.
//! - Unique violation (a concurrent create won the race) and
//!   `RestrictedError` on delete: 409 `{"message": ..}`.
//! - Any other Python exception inside an API view: 500
//!   `{"message": "Internal server error, check logs for details", "pro": [..]}`
//!   (or `{"message": str(exc)}` when System_Settings.api_expose_error_details
//!   is on; off by default). The tag case-twin failure of docs/defectdojo.md §7 is such a
//!   500: tagulous looks tags up with `objects.get(name__iexact=..)`, which
//!   raises `MultipleObjectsReturned("get() returned more than one
//!   Tagulous_Finding_tags -- it returned 2!")`. It is deterministic: the
//!   same write fails the same way until the tag rows are merged.
//! - An infrastructure failure (database down) makes the handler's own
//!   `System_Settings.objects.get()` fail too; Django then answers with its
//!   HTML 500 page (`handler500`, dojo/urls.py:98), and proxies answer
//!   502/503/504. Those are transient.

use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::Value;

/// The body DefectDojo's exception handler gives any unexpected exception
/// when `api_expose_error_details` is off (the default).
pub const GENERIC_500_MESSAGE: &str = "Internal server error, check logs for details";

#[derive(Debug, thiserror::Error)]
pub enum DojoError {
    /// Worth retrying: 5xx (except the deterministic 500s below), 408, 429,
    /// timeouts, refused or reset connections.
    #[error("DefectDojo is temporarily unavailable{}: {message}{}", fmt_status(*.status), fmt_retry(*.retry_after))]
    Transient {
        status: Option<u16>,
        retry_after: Option<Duration>,
        message: String,
        /// Whether the request reached DefectDojo: a write that may have
        /// been carried out must not be taken for never sent.
        sent: Sent,
    },
    /// DefectDojo refused the request and will refuse it again as sent.
    #[error("DefectDojo rejected the request (HTTP {status}): {message}")]
    Permanent {
        status: u16,
        message: String,
        body: Value,
    },
    /// 404.
    #[error("not found in DefectDojo: {what}")]
    NotFound { what: String },
    /// 403 about credentials: the token is wrong, revoked, or API tokens are
    /// disabled (DefectDojo answers 403, not 401).
    #[error("DefectDojo did not accept the API token (HTTP 403); check the configured token")]
    Unauthorized,
    /// DefectDojo answered success with a body we could not read.
    #[error("unexpected answer from DefectDojo: {0}")]
    Decode(String),
    /// The client could not be built from its configuration.
    #[error("invalid DefectDojo client configuration: {0}")]
    Config(String),
}

/// Whether a failed request reached DefectDojo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sent {
    /// Never left: the connection was refused, the name did not resolve.
    /// Nothing happened in DefectDojo.
    Never,
    /// Sent, no answer: it timed out, the connection broke after sending,
    /// or a gateway timed out waiting for DefectDojo. It may have been
    /// carried out, and may still be.
    Unknown,
    /// DefectDojo (or a proxy in front of it) answered with an error.
    Answered,
}

fn fmt_status(status: Option<u16>) -> String {
    status.map(|s| format!(" (HTTP {s})")).unwrap_or_default()
}

fn fmt_retry(retry: Option<Duration>) -> String {
    retry
        .map(|d| format!(" (retry after {} s)", d.as_secs()))
        .unwrap_or_default()
}

impl DojoError {
    /// True for DefectDojo's answer to a reference to a test that does not
    /// exist: a 400 on the `test` field ("Select a valid choice") or a 404
    /// "No Test matches the given query." (the project's test was deleted).
    pub fn is_missing_test(&self) -> bool {
        match self {
            DojoError::Permanent {
                status: 400, body, ..
            } => body.get("test").is_some(),
            DojoError::NotFound { what } => what.contains("No Test matches"),
            _ => false,
        }
    }

    /// True when the same request may succeed later.
    pub fn is_retryable(&self) -> bool {
        matches!(self, DojoError::Transient { .. })
    }

    /// How long DefectDojo (or a proxy in front of it) asked us to wait.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            DojoError::Transient { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The HTTP status, when there was an answer.
    pub fn status(&self) -> Option<u16> {
        match self {
            DojoError::Transient { status, .. } => *status,
            DojoError::Permanent { status, .. } => Some(*status),
            DojoError::NotFound { .. } => Some(404),
            DojoError::Unauthorized => Some(403),
            DojoError::Decode(_) | DojoError::Config(_) => None,
        }
    }

    pub(crate) fn transient(sent: Sent, message: impl Into<String>) -> DojoError {
        DojoError::Transient {
            status: None,
            retry_after: None,
            message: message.into(),
            sent,
        }
    }

    /// True when the request may have been carried out although no answer
    /// said so (and may still be): a timeout, a connection broken after
    /// sending, a gateway timeout.
    pub fn outcome_unknown(&self) -> bool {
        matches!(
            self,
            DojoError::Transient {
                sent: Sent::Unknown,
                ..
            }
        )
    }

    /// True when the request never reached DefectDojo.
    pub fn never_sent(&self) -> bool {
        matches!(
            self,
            DojoError::Transient {
                sent: Sent::Never,
                ..
            }
        )
    }

    /// True for DefectDojo's deterministic 500 on a write that carried tags
    /// (a tag row with a case twin, docs/defectdojo.md §7).
    pub fn is_tag_collision(&self) -> bool {
        matches!(self, DojoError::Permanent { status: 500, .. })
    }
}

/// What the request was, as far as classifying its failure goes.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestContext {
    /// The request body carried `tags`: a generic 500 is then the tag
    /// case-twin failure (docs/defectdojo.md §7), which no retry can fix.
    pub writes_tags: bool,
}

/// Turns a non-success answer into an error.
///
/// `what` names the request for `NotFound` (e.g. `GET findings/7/`);
/// `retry_after` is the raw `Retry-After` header; `now` anchors HTTP dates.
pub fn classify(
    status: u16,
    retry_after: Option<&str>,
    body: &[u8],
    what: &str,
    ctx: RequestContext,
    now: DateTime<Utc>,
) -> DojoError {
    let json: Option<Value> = serde_json::from_slice(body).ok();
    let message = json
        .as_ref()
        .map(error_message)
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| text_summary(body));
    let retry_after = retry_after.and_then(|v| parse_retry_after(v, now));
    let body_value = json.clone().unwrap_or_else(|| {
        if body.is_empty() {
            Value::Null
        } else {
            Value::String(text_summary(body))
        }
    });
    let permanent = |message: String| DojoError::Permanent {
        status,
        message,
        body: body_value.clone(),
    };
    match status {
        404 => DojoError::NotFound {
            what: match detail(json.as_ref()) {
                Some(d) => format!("{what}: {d}"),
                None => what.to_owned(),
            },
        },
        401 => DojoError::Unauthorized,
        403 if is_credentials_detail(detail(json.as_ref()).unwrap_or_default()) => {
            DojoError::Unauthorized
        }
        408 | 429 => DojoError::Transient {
            status: Some(status),
            retry_after,
            message,
            sent: Sent::Answered,
        },
        500 if is_deterministic_500(json.as_ref(), ctx) => permanent(format!(
            "{message} (DefectDojo raised an unexpected exception for this request; \
             when the request writes tags this is a tag with a case twin, docs/defectdojo.md §7; \
             retrying will not help)"
        )),
        500..=599 => DojoError::Transient {
            status: Some(status),
            retry_after,
            message,
            // A gateway that gave up waiting: DefectDojo may still finish.
            sent: if status == 504 {
                Sent::Unknown
            } else {
                Sent::Answered
            },
        },
        // Redirects are not followed: a redirected POST would turn into a GET.
        300..=399 => permanent(
            "unexpected redirect; check the configured base URL (scheme, host, path prefix)"
                .to_owned(),
        ),
        _ => permanent(message),
    }
}

fn detail(json: Option<&Value>) -> Option<&str> {
    json?.get("detail")?.as_str()
}

/// DRF's authentication failures (rest_framework/authentication.py,
/// exceptions.NotAuthenticated / AuthenticationFailed), as opposed to
/// `PermissionDenied` ("You do not have permission to perform this action.").
fn is_credentials_detail(detail: &str) -> bool {
    let d = detail.to_ascii_lowercase();
    [
        "credentials",
        "token",
        "authenticat",
        "user inactive",
        "username/password",
    ]
    .iter()
    .any(|k| d.contains(k))
}

/// A 500 produced by DefectDojo's exception handler for an exception that
/// retrying cannot fix.
fn is_deterministic_500(json: Option<&Value>, ctx: RequestContext) -> bool {
    let Some(message) = json.and_then(|j| j.get("message")).and_then(Value::as_str) else {
        // Not the API exception handler (an HTML page, a proxy): transient.
        return false;
    };
    if message.contains("returned more than one") || message.contains("MultipleObjectsReturned") {
        return true;
    }
    ctx.writes_tags && message == GENERIC_500_MESSAGE
}

/// A readable message from a DefectDojo error body: `detail`, then
/// `non_field_errors`, then `field: msg` pairs; `message` (a Python repr of
/// the same errors) only when nothing else is there; `pro` (an
/// advertisement) never.
pub fn error_message(body: &Value) -> String {
    match body {
        Value::Object(map) => {
            let mut parts = Vec::new();
            if let Some(d) = map.get("detail") {
                parts.push(flatten(d));
            }
            if let Some(n) = map.get("non_field_errors") {
                parts.push(flatten(n));
            }
            for (k, v) in map {
                if matches!(
                    k.as_str(),
                    "detail" | "non_field_errors" | "message" | "pro"
                ) {
                    continue;
                }
                parts.push(format!("{k}: {}", flatten(v)));
            }
            if parts.is_empty() {
                if let Some(m) = map.get("message") {
                    parts.push(flatten(m));
                }
            }
            parts.retain(|p| !p.is_empty());
            parts.join("; ")
        }
        other => flatten(other),
    }
}

fn flatten(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(items) => items
            .iter()
            .map(flatten)
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join("; "),
        Value::Object(_) => error_message(v),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

const SUMMARY_MAX: usize = 300;

fn text_summary(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return "empty body".to_owned();
    }
    if text.starts_with('<') {
        return format!("non-JSON (HTML) body of {} bytes", body.len());
    }
    let mut s: String = text.chars().take(SUMMARY_MAX).collect();
    if s.len() < text.len() {
        s.push('…');
    }
    s
}

/// Parses `Retry-After` (RFC 9110 §10.2.3): delay-seconds or an HTTP-date
/// (IMF-fixdate, and the obsolete RFC 850 and asctime forms). A date in the
/// past means "now" (zero).
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    if value.bytes().all(|b| b.is_ascii_digit()) {
        return value.parse::<u64>().ok().map(Duration::from_secs);
    }
    let at: DateTime<Utc> = DateTime::parse_from_rfc2822(value)
        .map(|d| d.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            // RFC 850: Sunday, 06-Nov-94 08:49:37 GMT
            NaiveDateTime::parse_from_str(value, "%A, %d-%b-%y %H:%M:%S GMT")
                .ok()
                // asctime: Sun Nov  6 08:49:37 1994
                .or_else(|| NaiveDateTime::parse_from_str(value, "%a %b %e %H:%M:%S %Y").ok())
                .map(|n| n.and_utc())
        })?;
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-22T06:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn classify_json(status: u16, body: Value) -> DojoError {
        classify(
            status,
            None,
            body.to_string().as_bytes(),
            "GET findings/1/",
            RequestContext::default(),
            now(),
        )
    }

    const PRO: &str =
        "Pro comes with support. Try today for free or email us at hello@defectdojo.com";

    #[test]
    fn field_errors_ignore_message_and_pro() {
        // recorded/72-create-400-tag-with-space.json
        let e = classify_json(
            400,
            json!({
                "tags": ["Invalid tag: 'WSTG INFO'. Tags should not contain spaces, commas, or quotes."],
                "message": "{'tags': [ErrorDetail(string=\"Invalid tag: 'WSTG INFO'...\", code='invalid')]}",
                "pro": [PRO]
            }),
        );
        match &e {
            DojoError::Permanent {
                status: 400,
                message,
                body,
            } => {
                assert_eq!(
                    message,
                    "tags: Invalid tag: 'WSTG INFO'. Tags should not contain spaces, commas, or quotes."
                );
                assert!(body.get("tags").is_some());
            }
            other => panic!("{other:?}"),
        }
        assert!(!e.is_retryable());
        assert!(!e.to_string().contains("Pro comes"));
    }

    #[test]
    fn non_field_errors_and_detail_and_bare_message() {
        // recorded/21, 17, 54
        let e = classify_json(
            400,
            json!({"non_field_errors": ["False positive findings cannot be verified."], "message": "x", "pro": [PRO]}),
        );
        assert!(
            matches!(&e, DojoError::Permanent { message, .. } if message == "False positive findings cannot be verified."),
            "{e:?}"
        );
        let e = classify_json(
            400,
            json!({"detail": "Unable to check for permissions: Attribute 'test' is required"}),
        );
        assert!(
            matches!(&e, DojoError::Permanent { message, .. } if message.contains("Attribute 'test' is required"))
        );
        let e = classify_json(400, json!({"message": "JSON request content is malformed"}));
        assert!(
            matches!(&e, DojoError::Permanent { message, .. } if message == "JSON request content is malformed")
        );
        // Several fields: all named.
        let e = classify_json(
            400,
            json!({"target_start": ["This field is required."], "test_type": ["This field is required."], "message": "x", "pro": [PRO]}),
        );
        let DojoError::Permanent { message, .. } = &e else {
            panic!("{e:?}")
        };
        assert!(message.contains("target_start: This field is required."));
        assert!(message.contains("test_type: This field is required."));
        // A bare list (ValidationError(str) raised in update(), e.g. a JIRA push).
        let e = classify_json(400, json!(["JIRA push failed"]));
        assert!(
            matches!(&e, DojoError::Permanent { message, .. } if message == "JIRA push failed")
        );
    }

    #[test]
    fn forbidden_is_unauthorized_only_for_credentials() {
        for detail in [
            "Invalid token.",
            "Authentication credentials were not provided.",
            "Invalid token header. No credentials provided.",
            "User inactive or deleted.",
        ] {
            assert!(
                matches!(
                    classify_json(403, json!({ "detail": detail })),
                    DojoError::Unauthorized
                ),
                "{detail}"
            );
        }
        let e = classify_json(
            403,
            json!({"detail": "You do not have permission to perform this action."}),
        );
        assert!(
            matches!(e, DojoError::Permanent { status: 403, .. }),
            "{e:?}"
        );
        assert!(matches!(
            classify_json(401, json!({})),
            DojoError::Unauthorized
        ));
        assert!(!DojoError::Unauthorized.is_retryable());
    }

    #[test]
    fn not_found_names_the_request() {
        let e = classify_json(
            404,
            json!({"detail": "No Finding matches the given query."}),
        );
        match e {
            DojoError::NotFound { what } => {
                assert_eq!(what, "GET findings/1/: No Finding matches the given query.")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn server_errors_are_transient_except_deterministic_500s() {
        for status in [500, 502, 503, 504] {
            let e = classify(
                status,
                None,
                b"<html>oops</html>",
                "x",
                RequestContext::default(),
                now(),
            );
            assert!(e.is_retryable(), "{status}: {e:?}");
            assert_eq!(e.status(), Some(status));
            // Only a gateway timeout leaves the outcome open: DefectDojo may
            // still be carrying the request out.
            assert_eq!(e.outcome_unknown(), status == 504, "{status}");
            assert!(!e.never_sent());
        }
        let generic = json!({"message": GENERIC_500_MESSAGE, "pro": [PRO]});
        // A generic 500 on a read: transient.
        assert!(classify_json(500, generic.clone()).is_retryable());
        // The same body on a write that carries tags: the case-twin failure.
        let e = classify(
            500,
            None,
            generic.to_string().as_bytes(),
            "POST findings/",
            RequestContext { writes_tags: true },
            now(),
        );
        assert!(
            matches!(e, DojoError::Permanent { status: 500, .. }),
            "{e:?}"
        );
        // With api_expose_error_details on, the exception text says it.
        let e = classify_json(
            500,
            json!({"message": "get() returned more than one Tagulous_Finding_tags -- it returned 2!", "pro": [PRO]}),
        );
        assert!(!e.is_retryable(), "{e:?}");
        assert!(e.to_string().contains("returned more than one"));
    }

    #[test]
    fn throttling_and_timeouts_are_transient_with_retry_after() {
        let e = classify(429, Some("7"), b"{}", "x", RequestContext::default(), now());
        assert!(e.is_retryable());
        assert_eq!(e.retry_after(), Some(Duration::from_secs(7)));
        assert!(e.to_string().contains("retry after 7 s"), "{e}");
        let e = classify(
            503,
            Some("Sun, 22 Nov 2026 06:00:30 GMT"),
            b"",
            "x",
            RequestContext::default(),
            now(),
        );
        assert_eq!(e.retry_after(), Some(Duration::from_secs(30)));
        let e = classify(408, None, b"", "x", RequestContext::default(), now());
        assert!(e.is_retryable());
        assert_eq!(e.retry_after(), None);
    }

    #[test]
    fn conflicts_and_other_4xx_are_permanent() {
        let e = classify_json(
            409,
            json!({"message": "The request conflicts with an existing record"}),
        );
        assert!(
            matches!(&e, DojoError::Permanent { status: 409, message, .. } if message.contains("conflicts"))
        );
        let e = classify(405, None, b"", "x", RequestContext::default(), now());
        assert!(
            matches!(&e, DojoError::Permanent { status: 405, message, .. } if message == "empty body")
        );
    }

    #[test]
    fn retry_after_forms() {
        let n = now();
        assert_eq!(parse_retry_after("0", n), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after(" 120 ", n),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("Sun, 22 Nov 2026 06:01:00 GMT", n),
            Some(Duration::from_secs(60))
        );
        // RFC 850 and asctime.
        assert_eq!(
            parse_retry_after("Sunday, 22-Nov-26 06:00:10 GMT", n),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            parse_retry_after("Sun Nov 22 06:00:05 2026", n),
            Some(Duration::from_secs(5))
        );
        // In the past: now.
        assert_eq!(
            parse_retry_after("Sun, 22 Nov 2026 05:00:00 GMT", n),
            Some(Duration::ZERO)
        );
        for bad in ["", "soon", "-5", "1.5"] {
            assert_eq!(parse_retry_after(bad, n), None, "{bad}");
        }
    }
}
