//! Per-credential rate limit over `/api/` (governor's GCRA, keyed).
//!
//! The key is a SHA-256 of the presented `Authorization` header, or of the
//! peer IP address when a request presents none. Hashing keeps no token in
//! memory longer than the request, and the limit does not depend on what
//! the authentication layer makes of the credential: it runs before it, so
//! a flood of wrong tokens is limited too (per presented value, and per
//! address for anonymous floods).
//!
//! The peer address is the TCP peer: behind a reverse proxy every anonymous
//! client shares the proxy's budget (X-Forwarded-For is not trusted, since
//! any client can send it).

use std::num::NonZeroU32;
use std::sync::{Arc, Weak};
use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, ResponseError};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use sha2::{Digest, Sha256};

use crate::errors::ApiError;

/// How often keys idle long enough to be full again are forgotten, so
/// rotating bogus credentials cannot grow the table without bound.
const FORGET_EVERY: Duration = Duration::from_secs(30);

pub struct RateLimit {
    limiter: DefaultKeyedRateLimiter<[u8; 32]>,
}

impl RateLimit {
    /// `per_sec` sustained, `burst` at once; both at least 1. Starts the
    /// task that forgets idle keys (it ends when the limiter is dropped).
    pub fn start(per_sec: u32, burst: u32) -> Arc<RateLimit> {
        let one = NonZeroU32::MIN;
        let quota = Quota::per_second(NonZeroU32::new(per_sec).unwrap_or(one))
            .allow_burst(NonZeroU32::new(burst).unwrap_or(one));
        let limit = Arc::new(RateLimit {
            limiter: RateLimiter::keyed(quota),
        });
        tokio::spawn(forget_idle(Arc::downgrade(&limit)));
        limit
    }

    /// `Err(seconds to wait)` when this request's key is over its rate.
    fn check(&self, req: &ServiceRequest) -> Result<(), u64> {
        let key = key_of(req);
        self.limiter.check_key(&key).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            // Whole seconds, rounded up: Retry-After has no fractions.
            wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
        })
    }
}

fn key_of(req: &ServiceRequest) -> [u8; 32] {
    let mut h = Sha256::new();
    match req.headers().get(actix_web::http::header::AUTHORIZATION) {
        Some(v) => {
            h.update(b"credential\0");
            h.update(v.as_bytes());
        }
        None => {
            h.update(b"peer\0");
            let ip = req
                .peer_addr()
                .map(|a| a.ip().to_string())
                .unwrap_or_default();
            h.update(ip.as_bytes());
        }
    }
    h.finalize().into()
}

async fn forget_idle(limit: Weak<RateLimit>) {
    let mut tick = tokio::time::interval(FORGET_EVERY);
    loop {
        tick.tick().await;
        let Some(limit) = limit.upgrade() else { return };
        limit.limiter.retain_recent();
        limit.limiter.shrink_to_fit();
    }
}

/// The middleware (`actix_web::middleware::from_fn`): 429 JSON with
/// Retry-After past the rate; `/healthz`, `/readyz` and the pages are not
/// limited (probes and static files), everything under `/api/` is.
pub async fn limit_rate(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if req.path().starts_with("/api/") {
        if let Some(limit) = req.app_data::<web::Data<RateLimit>>() {
            if let Err(retry_after_secs) = limit.check(&req) {
                let resp = ApiError::RateLimited { retry_after_secs }.error_response();
                return Ok(req.into_response(resp).map_into_right_body());
            }
        }
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}
