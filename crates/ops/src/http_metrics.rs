//! The ingest's HTTP metrics, as an actix middleware: one counter by
//! method, route pattern and status, one latency histogram by method and
//! route pattern. The route is the pattern actix matched
//! (`/api/wstg/items/{wstg_id}`), never the raw path, and `unmatched` for a
//! path no route serves, so a scan of random URLs adds no series.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::Error;

use crate::catalogue::{HTTP_DURATION, HTTP_REQUESTS};

/// The `route` label of a request no route matched.
pub const UNMATCHED: &str = "unmatched";

/// `App::new().wrap(actix_web::middleware::from_fn(http_metrics::record))`.
pub async fn record(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let method = method_label(req.method());
    let result = next.call(req).await;
    let (route, status) = match &result {
        Ok(res) => (
            res.request()
                .match_pattern()
                .unwrap_or_else(|| UNMATCHED.to_owned()),
            res.status().as_u16(),
        ),
        // An error that escaped the handlers: actix answers it with its
        // status (500 unless the error says otherwise).
        Err(e) => (
            UNMATCHED.to_owned(),
            e.as_response_error().status_code().as_u16(),
        ),
    };
    metrics::counter!(
        HTTP_REQUESTS,
        "method" => method,
        "route" => route.clone(),
        "status" => status.to_string(),
    )
    .increment(1);
    metrics::histogram!(HTTP_DURATION, "method" => method, "route" => route)
        .record(started.elapsed().as_secs_f64());
    result
}

/// Known methods by name; anything else (a client can send any token) is
/// `other`.
fn method_label(m: &actix_web::http::Method) -> &'static str {
    use actix_web::http::Method;
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}
