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
    // One resource per path, so a wrong method is a 405 with `Allow`.
    cfg.service(
        web::resource("/admin/dlq")
            .route(web::get().to(list))
            .route(web::delete().to(purge)),
    )
    .service(web::resource("/admin/dlq/replay-all").route(web::post().to(replay_all)))
    .service(web::resource("/admin/dlq/{id}").route(web::get().to(show)))
    .service(web::resource("/admin/dlq/{id}/replay").route(web::post().to(replay)));
}

fn queue_error(e: QueueError) -> ApiError {
    if e.is_transient() {
        tracing::warn!(error = %e, "Redis unavailable");
        ApiError::Unavailable("redis")
    } else {
        ApiError::Internal(e.into())
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// 1 to 1000 (default 100). Read as text, so a bad one is a 400
    /// naming `limit` rather than the query's parser's words.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000)]
    limit: Option<String>,
    /// The `next_after` of the previous page (a stream id).
    #[param(pattern = "^([0-9]+(-[0-9]+)?)?$")]
    after: Option<String>,
}

/// Dead letters, oldest first, paged by id.
#[utoipa::path(get, path = "/api/wstg/admin/dlq", tag = "admin", params(ListQuery),
    responses(
        (status = 200, description = "A page of dead letters", body = crate::api_schemas::DeadLetterPage),
        (status = 400, description = "`limit` or `after` is invalid", body = crate::api_schemas::ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn list(
    principal: Principal,
    query: web::Query<ListQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    principal.require_admin()?;
    let limit = match query.limit.as_deref() {
        None => 100,
        Some(l) => l.trim().parse::<usize>().unwrap_or(0),
    };
    if limit == 0 || limit > MAX_LIST {
        return Err(ApiError::invalid(
            "limit",
            format!("must be a whole number between 1 and {MAX_LIST}"),
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

/// One dead letter.
#[utoipa::path(get, path = "/api/wstg/admin/dlq/{id}", tag = "admin",
    params(("id" = String, Path, description = "A dead-letter id")),
    responses(
        (status = 200, description = "The dead letter", body = crate::api_schemas::OneDeadLetter),
        (status = 404, description = "No such dead letter", body = crate::api_schemas::ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn show(
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

/// Put a dead letter back on the queue, same event id.
#[utoipa::path(post, path = "/api/wstg/admin/dlq/{id}/replay", tag = "admin",
    params(("id" = String, Path, description = "A dead-letter id")),
    responses(
        (status = 200, description = "Replayed", body = crate::api_schemas::Replayed),
        (status = 404, description = "No such dead letter", body = crate::api_schemas::ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn replay(
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

/// Replay every dead letter.
#[utoipa::path(post, path = "/api/wstg/admin/dlq/replay-all", tag = "admin",
    responses((status = 200, description = "Replayed", body = crate::api_schemas::ReplayedAll)),
    security(("bearer" = [])))]
pub async fn replay_all(
    principal: Principal,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    principal.require_admin()?;
    let n = state.queue.dlq_replay_all().await.map_err(queue_error)?;
    tracing::info!(replayed = n, "dead-letter queue replayed by an admin");
    Ok(HttpResponse::Ok().json(json!({"success": true, "replayed": n})))
}

/// Empty the dead-letter queue.
#[utoipa::path(delete, path = "/api/wstg/admin/dlq", tag = "admin",
    responses((status = 200, description = "Purged", body = crate::api_schemas::Purged)),
    security(("bearer" = [])))]
pub async fn purge(
    principal: Principal,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    principal.require_admin()?;
    let n = state.queue.dlq_purge().await.map_err(queue_error)?;
    tracing::warn!(purged = n, "dead-letter queue purged by an admin");
    Ok(HttpResponse::Ok().json(json!({"success": true, "purged": n})))
}
