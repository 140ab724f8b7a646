//! `/api/v2/notifications/` (NotificationsViewSet): list, retrieve, create, PUT, PATCH,
//! DELETE. The bridge subscribes the events it uses to "webhooks" on the system row
//! (`user`/`product` null, `template` false), which a fresh instance does not have: the only
//! row is the admin's personal one (recorded, tests/fixtures/recorded/webhook-lifecycle/04,
//! 15; docs/defectdojo.md §6, §10). The list filters on `id`, `user`, `product` and
//! `template` only (`filterset_fields`); others, such as `user__isnull` (step 05), are ignored
//! and an empty value filters nothing, so the system row cannot be selected by filter: list
//! and look for `user` null.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use super::{created, list_body, ok, pk, resource, with_empty_prefetch};
use crate::auth::Authenticated;
use crate::db::Table;
use crate::drf::fields::Target;
use crate::drf::{body, ApiError, ApiResult};
use crate::filters::records::{self, Filter, Spec};
use crate::model::notifications::{self, MODEL};
use crate::model::record::Record;
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

const FILTERS: &[Spec] = &[
    ("id", Filter::NumberIn("id")),
    ("user", Filter::ModelChoice("user", Target::User)),
    ("product", Filter::ModelChoice("product", Target::Product)),
    ("template", Filter::Bool("template")),
];

fn render(row: &Record) -> Value {
    Value::Object(row.base_json())
}

async fn list(
    _a: Authenticated,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let db = state.db();
    let rows = records::apply(db.notifications.values(), FILTERS, &super::query(&req), &db)?;
    Ok(list_body(rows, &req, render, Some(json!({}))))
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
    Ok(ok(with_empty_prefetch(render(row))))
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
    let id = db.next_id(Table::Notifications);
    let row = Record::new(id, notifications::defaults(), v);
    let body = render(&row);
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
    row.update(v);
    Ok(ok(render(row)))
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
