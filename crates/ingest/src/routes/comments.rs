//! An item's discussion (issue 12 item 4): `GET` and `POST
//! /api/wstg/items/{wstg_id}/comments?project=`. A comment is stored, then
//! a worker posts it as a note on the item's finding
//! (docs/sync-rules.md, "Comments"); notes made in DefectDojo come back
//! through the poller.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Utc;
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;
use wstg_domain::comment::MAX_COMMENTS_PER_ITEM;
use wstg_domain::{CommentBody, Envelope, EventKind, Username};

use crate::auth::Principal;
use crate::body::{json_object, read_limited, req_str};
use crate::errors::ApiError;
use crate::project_access::{readable_item, writable_item};
use crate::routes::items::ProjectQuery;
use crate::state::AppState;

/// One comment.
#[derive(Serialize, ToSchema)]
pub struct Comment {
    /// UUID v7.
    pub id: String,
    pub wstg_id: String,
    /// The tracker author, or the DefectDojo note's author (lowercase username).
    pub author: String,
    pub body: String,
    /// RFC 3339.
    pub created_at: String,
    /// `tracker` or `dojo`.
    pub origin: String,
    /// The DefectDojo note it is, once posted (or when it came from one).
    pub dojo_note_id: Option<i64>,
    /// `true` once it is a DefectDojo note too.
    pub synced: bool,
}

/// `{project, wstg_id, comments}`.
#[derive(Serialize, ToSchema)]
pub struct Comments {
    pub project: String,
    pub wstg_id: String,
    /// Oldest first; at most 200.
    pub comments: Vec<Comment>,
}

/// `{author, body}`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct NewComment {
    /// 1 to 150 letters, digits or `@ . + - _` (stored lowercase).
    pub author: String,
    /// 1 to 4,000 characters (trimmed).
    pub body: String,
}

fn unavailable(e: wstg_store::StoreError) -> ApiError {
    tracing::warn!(error = %e, "store unavailable");
    ApiError::Unavailable("store")
}

fn view(c: wstg_store::CommentRecord) -> Comment {
    Comment {
        id: c.id.to_string(),
        wstg_id: c.wstg_id.as_str().to_owned(),
        author: c.author.as_str().to_owned(),
        body: c.body.as_str().to_owned(),
        created_at: c.created_at.to_rfc3339(),
        origin: c.origin.to_owned(),
        dojo_note_id: c.dojo_note_id,
        synced: c.synced,
    }
}

/// The item's discussion, oldest first.
#[utoipa::path(get, path = "/api/wstg/items/{wstg_id}/comments", tag = "tracker",
    params(("wstg_id" = String, Path, description = "A catalogue id, e.g. WSTG-INFO-01"), ProjectQuery),
    responses(
        (status = 200, description = "The comments", body = Comments),
        (status = 400, description = "`wstg_id` or `project` is invalid", body = crate::api_schemas::ErrorBody),
        (status = 404, description = "No such item or project", body = crate::api_schemas::ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn get_comments(
    principal: Principal,
    path: web::Path<String>,
    query: web::Query<ProjectQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (project, id) = readable_item(
        &state,
        &principal,
        query.project(&state)?,
        &path.into_inner(),
    )
    .await?;
    let comments = state
        .store
        .comments(&project, &id)
        .await
        .map_err(unavailable)?;
    Ok(HttpResponse::Ok().json(Comments {
        project: project.as_str().to_owned(),
        wstg_id: id.as_str().to_owned(),
        comments: comments.into_iter().map(view).collect(),
    }))
}

/// Adds a comment; a worker posts it to the item's finding as a note.
#[utoipa::path(post, path = "/api/wstg/items/{wstg_id}/comments", tag = "tracker",
    params(("wstg_id" = String, Path, description = "A catalogue id, e.g. WSTG-INFO-01"), ProjectQuery),
    request_body = NewComment,
    responses(
        (status = 201, description = "Stored; to be posted to DefectDojo", body = Comment),
        (status = 400, description = "A field is missing or invalid (named in `field`)", body = crate::api_schemas::ErrorBody),
        (status = 404, description = "No such item or project", body = crate::api_schemas::ErrorBody),
        (status = 422, description = "The item already holds 200 comments", body = crate::api_schemas::ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn post_comment(
    req: HttpRequest,
    principal: Principal,
    path: web::Path<String>,
    query: web::Query<ProjectQuery>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    state.backlog.admit()?;
    let (project, id) = writable_item(
        &state,
        &principal,
        query.project(&state)?,
        &path.into_inner(),
    )
    .await?;
    let bytes = read_limited(&req, payload, state.max_body_bytes).await?;
    let obj = json_object(&bytes)?;
    let author =
        Username::parse(req_str(&obj, "author")?).map_err(|e| ApiError::invalid("author", e))?;
    let body =
        CommentBody::parse(req_str(&obj, "body")?).map_err(|e| ApiError::invalid("body", e))?;
    let Some(stored) = state
        .store
        .add_comment(&project, &id, &author, &body, MAX_COMMENTS_PER_ITEM)
        .await
        .map_err(unavailable)?
    else {
        return Err(ApiError::Conflict {
            field: "body".into(),
            reason: format!("the item already holds {MAX_COMMENTS_PER_ITEM} comments"),
        });
    };
    let env = Envelope::new(
        project.clone(),
        EventKind::SyncComments {
            wstg_id: id.clone(),
        },
        Utc::now(),
    );
    // Stored is what counts: if the event is lost, the poller queues it
    // again on its next pass (crates/poller/src/comments.rs).
    if let Err(e) = state.queue.publish(&env).await {
        tracing::warn!(%project, wstg_id = %id, error = %e, "comment stored; its sync event not queued");
    }
    Ok(HttpResponse::Created().json(json!(view(stored))))
}
