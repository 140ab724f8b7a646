//! Liveness and readiness.

use actix_web::{web, HttpResponse};
use serde_json::json;

use crate::state::AppState;

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "health",
    responses((status = 200, description = "Alive", body = crate::api_schemas::Health)))]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// The process can do its job: Redis and the store answer.
#[utoipa::path(get, path = "/readyz", tag = "health",
    responses(
        (status = 200, description = "Redis and the store answer", body = crate::api_schemas::Readiness),
        (status = 503, description = "Redis or the store is away (Retry-After)", body = crate::api_schemas::Readiness),
    ))]
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let (redis, store) = tokio::join!(state.queue.ping(), state.store.ping());
    let ok = redis.is_ok() && store.is_ok();
    let body = json!({
        "status": if ok { "ready" } else { "unavailable" },
        "redis": if redis.is_ok() { "ok" } else { "unreachable" },
        "store": if store.is_ok() { "ok" } else { "unreachable" },
    });
    if ok {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable()
            .insert_header(("Retry-After", "1"))
            .json(body)
    }
}
