//! Middleware: request logging for everything, and the `/api/v2` pipeline (stats, latency,
//! faults) that never applies to `/__sim/`.

use std::time::{Duration, Instant};

use actix_web::{
    body::{EitherBody, MessageBody},
    dev::{ServiceRequest, ServiceResponse},
    middleware::Next,
    web, Error,
};

use crate::faults::{self, Fault};
use crate::latency::{ListedFindings, Operation};
use crate::state::AppState;
use crate::stats::{is_write, route_key};

/// Logs one line per request, at DEBUG: the bridge polls every few seconds, and
/// those lines would drown everything else at INFO (`RUST_LOG=debug` shows them).
/// Headers and bodies are never logged (they carry the token).
pub async fn log_requests(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let method = req.method().to_string();
    let path = req.path().to_string();
    let res = next.call(req).await?;
    tracing::debug!(
        method = %method,
        path = %path,
        status = res.status().as_u16(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "request"
    );
    Ok(res)
}

/// Counts the request, waits the configured latency, then either answers with an injected
/// fault (before the handler runs, so nothing changes) or calls the API.
pub async fn api_pipeline(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return Ok(next.call(req).await?.map_into_left_body());
    };
    let method = req.method().to_string();
    state.stats.record_request(route_key(&method, req.path()));

    let knobs = state.knobs();
    let operation = Operation::of(&method, req.path());
    let delay = knobs.latency
        + knobs.latency_profile.as_ref().map_or(Duration::ZERO, |p| {
            p.sample(operation, &mut rand::thread_rng())
        });
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }

    let fault = faults::decide(&knobs.faults, &mut rand::thread_rng());
    if let Some(fault) = fault {
        state.stats.record_fault();
        if fault == Fault::Timeout {
            tokio::time::sleep(faults::TIMEOUT_HANG).await;
        }
        let res = req.into_response(faults::response(fault));
        return Ok(res.map_into_right_body());
    }

    let res = next.call(req).await?;
    // A list costs more with every finding on its page, as on the real server.
    let listed = res.response().extensions().get::<ListedFindings>().copied();
    if let (Some(profile), Some(listed)) = (&knobs.latency_profile, listed) {
        tokio::time::sleep(profile.per_findings(operation, listed.0)).await;
    }
    if is_write(&method) && res.status().is_success() {
        state.stats.record_write(delay);
    }
    Ok(res.map_into_left_body())
}
