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
//! Every call needs an admin token: `WSTG_INGEST_ADMIN_TOKEN` or one made with
//! `wstgctl token create --admin`. There is no default token. A missing or
//! wrong token is a 401 (the guard, guard.rs); a tracker token (the ingest
//! token included) is a 403.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::json;
use wstg_queue::QueueError;

use crate::auth::Principal;
use crate::errors::ApiError;
use crate::state::AppState;

/// The most dead letters one list call returns.
pub const MAX_LIST: usize = 1000;

pub fn configure(cfg: &mut web::ServiceConfig) {
    // Relative to the guarded /api/wstg scope.
    cfg.route("/admin/dlq", web::get().to(list))
        .route("/admin/dlq", web::delete().to(purge))
        .route("/admin/dlq/replay-all", web::post().to(replay_all))
        .route("/admin/dlq/{id}", web::get().to(show))
        .route("/admin/dlq/{id}/replay", web::post().to(replay));
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
    principal: Principal,
    query: web::Query<ListQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    principal.require_admin()?;
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
    principal: Principal,
    id: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    principal.require_admin()?;
    match state.queue.dlq_get(&id).await.map_err(queue_error)? {
        Some(dl) => Ok(HttpResponse::Ok().json(json!({"success": true, "dead_letter": dl}))),
        None => Err(ApiError::NotFound(format!("dead letter {id}"))),
    }
}

async fn replay(
    principal: Principal,
    id: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    principal.require_admin()?;
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
    principal: Principal,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    principal.require_admin()?;
    let n = state.queue.dlq_replay_all().await.map_err(queue_error)?;
    tracing::info!(replayed = n, "dead-letter queue replayed by an admin");
    Ok(HttpResponse::Ok().json(json!({"success": true, "replayed": n})))
}

async fn purge(principal: Principal, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    principal.require_admin()?;
    let n = state.queue.dlq_purge().await.map_err(queue_error)?;
    tracing::warn!(purged = n, "dead-letter queue purged by an admin");
    Ok(HttpResponse::Ok().json(json!({"success": true, "purged": n})))
}
