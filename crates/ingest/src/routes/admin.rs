//! The admin endpoints: the dead-letter queue over HTTP, as `wstgctl dlq`
//! does it from a shell.
//!
//! | method and path | what |
//! |---|---|
//! | `GET /api/wstg/admin/dlq?limit=100&after=<id>` | dead letters, oldest first (paged by id) |
//! | `GET /api/wstg/admin/dlq/{id}` | one dead letter |
//! | `POST /api/wstg/admin/dlq/{id}/replay` | put it back on the queue, same event id |
//! | `POST /api/wstg/admin/dlq/replay-all` | replay every dead letter |
//! | `DELETE /api/wstg/admin/dlq` | purge the dead-letter queue |
//!
//! Every call needs `Authorization: Bearer <WSTG_ADMIN_TOKEN>`. There is no
//! default token: while none is configured these endpoints answer 403 to
//! everyone, and a missing or wrong token is a 401. The tracker's ingest
//! token does not open them. Tokens are compared in constant time and never
//! logged.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;
use wstg_queue::QueueError;

use crate::auth::require_bearer;
use crate::errors::ApiError;
use crate::state::AppState;

/// The most dead letters one list call returns.
pub const MAX_LIST: usize = 1000;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/wstg/admin/dlq", web::get().to(list))
        .route("/api/wstg/admin/dlq", web::delete().to(purge))
        .route("/api/wstg/admin/dlq/replay-all", web::post().to(replay_all))
        .route("/api/wstg/admin/dlq/{id}", web::get().to(show))
        .route("/api/wstg/admin/dlq/{id}/replay", web::post().to(replay));
}

fn require_admin(req: &HttpRequest, state: &AppState) -> Result<(), ApiError> {
    match &state.admin_token {
        None => Err(ApiError::Forbidden(
            "admin endpoints are disabled: no admin token is configured (WSTG_ADMIN_TOKEN)",
        )),
        Some(token) => require_bearer(req, Some(token)),
    }
}

fn queue_error(e: QueueError) -> ApiError {
    if e.is_transient() {
        tracing::warn!(error = %e, "Redis unavailable");
        ApiError::Unavailable("redis")
    } else {
        ApiError::Internal(e.into())
    }
}

#[derive(Deserialize)]
pub struct ListQuery {
    limit: Option<usize>,
    after: Option<String>,
}

async fn list(
    req: HttpRequest,
    query: web::Query<ListQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    require_admin(&req, &state)?;
    let limit = query.limit.unwrap_or(100);
    if limit == 0 || limit > MAX_LIST {
        return Err(ApiError::invalid(
            "limit",
            format!("must be between 1 and {MAX_LIST}"),
        ));
    }
    let page = match query.after.as_deref() {
        None | Some("") => state.queue.dlq_list(limit).await,
        Some(after) => match state.queue.dlq_list_after(after, limit).await {
            Err(QueueError::Decode(_)) => {
                return Err(ApiError::invalid("after", "is not a dead-letter id"))
            }
            other => other,
        },
    }
    .map_err(queue_error)?;
    let next_after = (page.len() == limit)
        .then(|| page.last().map(|d| d.id.clone()))
        .flatten();
    Ok(HttpResponse::Ok().json(json!({
        "success": true,
        "count": page.len(),
        "next_after": next_after,
        "dead_letters": page,
    })))
}

async fn show(
    req: HttpRequest,
    id: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    require_admin(&req, &state)?;
    match state.queue.dlq_get(&id).await.map_err(queue_error)? {
        Some(dl) => Ok(HttpResponse::Ok().json(json!({"success": true, "dead_letter": dl}))),
        None => Err(ApiError::NotFound(format!("dead letter {id}"))),
    }
}

async fn replay(
    req: HttpRequest,
    id: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    require_admin(&req, &state)?;
    match state.queue.dlq_replay(&id).await.map_err(queue_error)? {
        Some(stream_id) => {
            tracing::info!(dlq_id = %id, %stream_id, "dead letter replayed by an admin");
            Ok(HttpResponse::Ok().json(json!({
                "success": true,
                "id": id.as_str(),
                "stream_id": stream_id,
            })))
        }
        None => Err(ApiError::NotFound(format!("dead letter {id}"))),
    }
}

async fn replay_all(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    require_admin(&req, &state)?;
    let n = state.queue.dlq_replay_all().await.map_err(queue_error)?;
    tracing::info!(replayed = n, "dead-letter queue replayed by an admin");
    Ok(HttpResponse::Ok().json(json!({"success": true, "replayed": n})))
}

async fn purge(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    require_admin(&req, &state)?;
    let n = state.queue.dlq_purge().await.map_err(queue_error)?;
    tracing::warn!(purged = n, "dead-letter queue purged by an admin");
    Ok(HttpResponse::Ok().json(json!({"success": true, "purged": n})))
}
