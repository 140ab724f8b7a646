//! Liveness and readiness, as the worker and the poller answer them
//! (`wstg_ops::readiness`): Redis and the store each within a second; the
//! workers' DefectDojo breaker is reported, never failing readiness.

use std::sync::Arc;

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
    let queue = state.queue.clone();
    let checks = wstg_ops::Checks {
        service: "wstg-ingest",
        queue: state.queue.clone(),
        store: state.store.clone(),
        dojo: Arc::new(move || {
            let queue = queue.clone();
            Box::pin(async move {
                json!({ "breaker": wstg_ops::readiness::workers_breaker(&queue).await })
            })
        }),
    };
    wstg_ops::server::readiness(&checks).await
}
