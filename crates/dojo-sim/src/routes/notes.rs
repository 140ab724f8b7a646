//! `/api/v2/notes/` (NotesViewSet: superuser only, ordered by id, LIVE 64).

use actix_web::{web, HttpRequest, HttpResponse};

use super::{list_body, ok, pk, query, resource};
use crate::auth::Authenticated;
use crate::drf::{ApiError, ApiResult};
use crate::filters::common;
use crate::state::AppState;

const MODEL: &str = "Notes";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/notes/").route(web::get().to(list)))
        .service(resource("/notes/{id}/").route(web::get().to(retrieve)));
}

async fn list(
    _a: Authenticated,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let db = state.db();
    let q = query(&req);
    let id = q.get_nonempty("id").and_then(|v| v.parse::<u64>().ok());
    let entry = q.get_nonempty("entry");
    let author = q.get_nonempty("author").and_then(|v| v.parse::<u64>().ok());
    let private = q.get_nonempty("private").and_then(common::boolean);
    let notes: Vec<_> = db
        .notes
        .values()
        .filter(|n| id.is_none_or(|id| n.id == id))
        .filter(|n| entry.is_none_or(|e| n.entry == e))
        .filter(|n| author.is_none_or(|a| n.author == a))
        .filter(|n| private.is_none_or(|p| n.private == p))
        .collect();
    Ok(list_body(notes, &req, |n| n.to_json(&db), None))
}

async fn retrieve(
    _a: Authenticated,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = pk(&id, MODEL)?;
    let db = state.db();
    let note = db
        .notes
        .get(&id)
        .ok_or_else(|| ApiError::not_found(MODEL))?;
    Ok(ok(note.to_json(&db)))
}
