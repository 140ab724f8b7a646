//! `/api/v2/notifications/` (NotificationsViewSet): list, retrieve, create, PUT, PATCH,
//! DELETE. The bridge subscribes the events it uses to "webhooks" on the system row
//! (`user`/`product` null, `template` false), which a fresh instance does not have: the only
//! row is the admin's personal one (recorded, tests/fixtures/recorded/webhook-lifecycle/04,
//! 15; docs/defectdojo.md §6, §10). The list ignores every filter parameter (step 05:
//! `?user__isnull=true` still lists the admin's row).

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Map, Value};

use super::{created, list_body, ok, pk, resource, with_empty_prefetch};
use crate::auth::Authenticated;
use crate::db::Table;
use crate::drf::{body, ApiError, ApiResult};
use crate::model::notifications::{self, MODEL};
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/notifications/")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    )
    .service(
        resource("/notifications/{id}/")
            .route(web::get().to(retrieve))
            .route(web::put().to(update))
            .route(web::patch().to(update))
            .route(web::delete().to(delete)),
    );
}

fn render(id: u64, row: &Map<String, Value>) -> Value {
    let mut map = row.clone();
    map.insert("id".into(), Value::from(id));
    Value::Object(map)
}

async fn list(
    _a: Authenticated,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let db = state.db();
    let rows: Vec<Value> = db
        .notifications
        .iter()
        .map(|(id, row)| render(*id, row))
        .collect();
    Ok(list_body(rows, &req, |r| r, Some(json!({}))))
}

async fn retrieve(
    _a: Authenticated,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = pk(&id, MODEL)?;
    let db = state.db();
    let row = db
        .notifications
        .get(&id)
        .ok_or_else(|| ApiError::not_found(MODEL))?;
    Ok(ok(with_empty_prefetch(render(id, row))))
}

async fn create(
    _a: Authenticated,
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Bytes,
) -> ApiResult<HttpResponse> {
    let input = body::parse_object(&req, &payload)?;
    let mut db = state.db();
    let v = notifications::validate(&input, &*db).map_err(ApiError::Validation)?;
    let mut row = notifications::defaults();
    row.extend(v);
    let id = db.next_id(Table::Notifications);
    let body = render(id, &row);
    db.notifications.insert(id, row);
    Ok(created(body))
}

/// PUT and PATCH alike (every field has a default).
async fn update(
    _a: Authenticated,
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    payload: web::Bytes,
) -> ApiResult<HttpResponse> {
    let id = pk(&id, MODEL)?;
    let input = body::parse_object(&req, &payload)?;
    let mut db = state.db();
    if !db.notifications.contains_key(&id) {
        return Err(ApiError::not_found(MODEL));
    }
    let v = notifications::validate(&input, &*db).map_err(ApiError::Validation)?;
    let row = db
        .notifications
        .get_mut(&id)
        .ok_or_else(|| ApiError::not_found(MODEL))?;
    row.extend(v);
    Ok(ok(render(id, row)))
}

async fn delete(
    _a: Authenticated,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = pk(&id, MODEL)?;
    match state.db().notifications.remove(&id) {
        Some(_) => Ok(HttpResponse::NoContent().finish()),
        None => Err(ApiError::not_found(MODEL)),
    }
}
