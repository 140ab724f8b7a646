//! Fault injection for `/api/v2` (a test aid, not DefectDojo behaviour).

use std::time::Duration;

use actix_web::{http::StatusCode, HttpResponse};
use rand::Rng;
use serde_json::json;

use crate::config::Faults;

/// How long a simulated timeout hangs before answering: longer than any sane client timeout.
pub const TIMEOUT_HANG: Duration = Duration::from_secs(120);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    Timeout,
    Throttle { retry_after_secs: u64 },
    Error { status: StatusCode },
}

/// Draws the fault (if any) for one request: timeout, then 429, then error.
pub fn decide(faults: &Faults, rng: &mut impl Rng) -> Option<Fault> {
    // `gen::<f64>()` is in [0, 1): a rate of 1.0 always fires, 0.0 never does.
    if rng.gen::<f64>() < faults.timeout_rate {
        return Some(Fault::Timeout);
    }
    if rng.gen::<f64>() < faults.rate_429 {
        return Some(Fault::Throttle {
            retry_after_secs: faults.retry_after_secs,
        });
    }
    if rng.gen::<f64>() < faults.error_rate {
        let status = StatusCode::from_u16(faults.error_status)
            .ok()
            .filter(|s| s.is_client_error() || s.is_server_error())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return Some(Fault::Error { status });
    }
    None
}

/// The response for a fault (after the hang, for a timeout).
pub fn response(fault: Fault) -> HttpResponse {
    match fault {
        Fault::Timeout => HttpResponse::GatewayTimeout().json(json!({
            "message": "simulated timeout"
        })),
        // DRF's throttled wording, although DefectDojo itself does not throttle API v2.
        Fault::Throttle { retry_after_secs } => HttpResponse::TooManyRequests()
            .insert_header(("Retry-After", retry_after_secs.to_string()))
            .json(json!({
                "detail": format!(
                    "Request was throttled. Expected available in {retry_after_secs} seconds."
                )
            })),
        Fault::Error { status } => {
            HttpResponse::build(status).json(json!({ "message": "simulated failure" }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_zero_and_one_are_deterministic() {
        let mut rng = rand::thread_rng();
        let none = Faults::default();
        let all_errors = Faults {
            error_rate: 1.0,
            error_status: 503,
            ..Faults::default()
        };
        for _ in 0..100 {
            assert_eq!(decide(&none, &mut rng), None);
            assert_eq!(
                decide(&all_errors, &mut rng),
                Some(Fault::Error {
                    status: StatusCode::SERVICE_UNAVAILABLE
                })
            );
        }
    }
}
