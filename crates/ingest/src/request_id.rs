//! `X-Request-Id`: one id per request, on every answer, in the request's
//! log span and in every error body, so a client's report ("it said 400")
//! can be found in the logs.
//!
//! A client (or a proxy in front of us) may send its own id; it is kept when
//! it is well-formed ([`accept`]: 1 to [`MAX_LEN`] characters of
//! `A-Z a-z 0-9 - _ . : /`), so one id follows a request through several
//! services. Anything else, too long or holding other characters (a log
//! injection attempt, say), is replaced by a fresh UUID: never echoed.
//!
//! The middleware is the outermost one (startup.rs): it runs before the
//! request log, whose root span ([`RequestIdSpan`]) reads the id from the
//! request's extensions, and it wraps everything that can answer with an
//! error, which reads the id from a task-local ([`current`]).

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::error::InternalError;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage};
use tracing::Span;
use tracing_actix_web::{DefaultRootSpanBuilder, RootSpanBuilder};

pub const HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// The longest incoming id kept. A UUID is 36 characters; 128 leaves room
/// for a proxy's own formats without letting a client fill our logs.
pub const MAX_LEN: usize = 128;

/// This request's id, in the request's extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(String);

impl RequestId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

tokio::task_local! {
    static CURRENT: RequestId;
}

/// The id of the request being answered, for error bodies built where the
/// request is out of reach (`ResponseError::error_response`).
pub fn current() -> Option<String> {
    CURRENT.try_with(|id| id.0.clone()).ok()
}

/// The incoming id if it is well-formed, else `None`.
pub fn accept(value: Option<&HeaderValue>) -> Option<RequestId> {
    let v = value?.to_str().ok()?;
    let well_formed = !v.is_empty()
        && v.len() <= MAX_LEN
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':' | b'/'));
    well_formed.then(|| RequestId(v.to_owned()))
}

/// The incoming id, or a new UUID (v4: nothing guessable about the next one).
pub fn of(req: &ServiceRequest) -> RequestId {
    accept(req.headers().get(&HEADER))
        .unwrap_or_else(|| RequestId(uuid::Uuid::new_v4().to_string()))
}

/// The middleware (`middleware::from_fn`).
pub async fn request_id(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let id = of(&req);
    req.extensions_mut().insert(id.clone());
    let header = HeaderValue::from_str(id.as_str()).ok();
    match CURRENT.scope(id.clone(), next.call(req)).await {
        Ok(mut res) => {
            if let Some(v) = header {
                res.headers_mut().insert(HEADER, v);
            }
            Ok(res)
        }
        // An error an inner middleware returned (the guard's 401, say) is
        // turned into its answer here, inside the scope, so its body
        // carries the id too (actix would build it later, outside).
        Err(e) => {
            let mut res = CURRENT.sync_scope(id, || e.error_response());
            if let Some(v) = header {
                res.headers_mut().insert(HEADER, v);
            }
            Err(InternalError::from_response(e.to_string(), res).into())
        }
    }
}

/// The request log's root span, with our `request_id` (tracing-actix-web's
/// own is a UUID it generates, which could not carry a client's id).
pub struct RequestIdSpan;

impl RootSpanBuilder for RequestIdSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let request_id = request
            .extensions()
            .get::<RequestId>()
            .map(|id| id.0.clone())
            .unwrap_or_default();
        let route = request.match_pattern().unwrap_or_else(|| "default".into());
        tracing::info_span!(
            "HTTP request",
            http.method = %request.method(),
            http.route = %route,
            http.target = %request.path(),
            http.status_code = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
            exception.message = tracing::field::Empty,
            exception.details = tracing::field::Empty,
            request_id = %request_id,
        )
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hv(s: &str) -> HeaderValue {
        HeaderValue::from_str(s).expect("header value")
    }

    #[test]
    fn a_well_formed_id_is_kept() {
        for ok in [
            "abc",
            "3f1c0b9e-5d2a-4c1e-9b7a-2f0e8d6c4a1b",
            "lb-01:42/7.x_y",
        ] {
            assert_eq!(accept(Some(&hv(ok))).map(|i| i.0), Some(ok.to_owned()));
        }
        let longest = "a".repeat(MAX_LEN);
        assert!(accept(Some(&hv(&longest))).is_some());
    }

    #[test]
    fn a_long_empty_or_odd_id_is_refused() {
        let too_long = "a".repeat(MAX_LEN + 1);
        for bad in [
            too_long.as_str(),
            "",
            "has space",
            "semi;colon",
            "quote\"",
            "tab\t",
        ] {
            assert_eq!(accept(Some(&hv(bad))), None, "{bad:?}");
        }
        assert_eq!(accept(None), None);
    }
}
