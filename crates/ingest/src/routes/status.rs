//! `GET /api/wstg/status`: the original design's summary fields
//! (last_sync, total_items, synced_items, pending_items, conflicts) with real
//! values from the store, plus the queue's depth.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::json;
use wstg_domain::ProjectName;

use crate::auth::Principal;
use crate::errors::ApiError;
use crate::state::AppState;

/// A worker's published breaker older than this belongs to a dead replica.
const BREAKER_FRESH: std::time::Duration = std::time::Duration::from_secs(30);

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatusQuery {
    project: Option<String>,
}

/// Sync figures for one project, or (for a token that sees every project)
/// all of them.
#[utoipa::path(get, path = "/api/wstg/status", tag = "tracker", params(StatusQuery),
    responses((status = 200, description = "The summary", body = crate::api_schemas::Status)),
    security(("bearer" = [])))]
pub async fn get_status(
    principal: Principal,
    query: web::Query<StatusQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let project = match query.project.as_deref() {
        Some(p) => Some(
            crate::project_access::readable(
                &state,
                &principal,
                crate::project_access::parse_project(Some(p), &state)?,
            )
            .await?,
        ),
        // Figures over every project: only for a token that sees them all.
        None if principal.sees_every_project() => None,
        None => {
            return Err(ApiError::Denied(
                "this token sees only some projects: name one with ?project=".to_owned(),
            ))
        }
    };
    Ok(HttpResponse::Ok().json(status_body(&state, project.as_ref()).await?))
}

/// The body of `GET /api/wstg/status`, also the `status` of the dashboard.
pub async fn status_body(
    state: &AppState,
    project: Option<&ProjectName>,
) -> Result<serde_json::Value, ApiError> {
    let summary = state.store.status_summary(project).await.map_err(|e| {
        tracing::warn!(error = %e, "store unavailable");
        ApiError::Unavailable("store")
    })?;
    let queue = state.queue.stats().await.ok();
    let mut body = serde_json::to_value(&summary).map_err(|e| ApiError::Internal(e.into()))?;
    body["queue"] = json!(queue);
    // Each worker's DefectDojo circuit breaker (crates/worker/src/breaker.rs).
    let breaker = state.queue.breaker_report(BREAKER_FRESH).await.ok();
    body["dojo"] = json!({ "breaker": breaker, "webhook": webhook_state(state).await });
    body["catalogue_version"] = json!(state.catalogue.version().as_str());
    body["catalogue_items"] = json!(state.catalogue.len());
    Ok(body)
}

/// DefectDojo's webhook as the poller last found it (`<prefix>:dojo:webhook`,
/// written by crates/poller/src/webhook.rs): status, whether it is healthy,
/// how often the bridge re-created it. `null` when no webhook URL is
/// configured or no poller has checked yet.
async fn webhook_state(state: &AppState) -> serde_json::Value {
    let key = state.queue.keys().dojo_webhook.clone();
    let raw: Option<String> = redis::cmd("GET")
        .arg(&key)
        .query_async(&mut state.queue.connection())
        .await
        .ok()
        .flatten();
    raw.and_then(|r| serde_json::from_str(&r).ok())
        .unwrap_or(serde_json::Value::Null)
}
