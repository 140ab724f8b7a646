//! Generic list / retrieve / create / update handlers for the hierarchy resources (product
//! types, products, engagements, tests, test types). Each resource describes itself with a
//! [`RecordKind`]; the handlers follow DRF's `ModelViewSet` plus DefectDojo's POST permission
//! check and prefetch mixins.

use std::collections::BTreeMap;

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use super::{
    created, list_body, ok, permission_parent, pk, resource, unique_name, with_empty_prefetch,
};
use crate::auth::Authenticated;
use crate::db::{Db, Table};
use crate::drf::fields::{self, Field, Lookup, Mode, Target, Validated, ValidatedExt};
use crate::drf::{body, ApiError, ApiResult};
use crate::filters::records::{self, Spec};
use crate::model::record::Record;
use crate::state::AppState;
use crate::webhooks::{Event, Events};

pub struct RecordKind {
    /// Django model name, as in "No <model> matches the given query."
    pub model: &'static str,
    /// for the unique-name error: "<verbose> with this name already exists."
    pub unique_name: Option<&'static str>,
    pub table: Table,
    pub fields: &'static [Field],
    pub filters: &'static [Spec],
    pub defaults: fn() -> serde_json::Map<String, Value>,
    pub rows: fn(&Db) -> &BTreeMap<u64, Record>,
    pub rows_mut: fn(&mut Db) -> &mut BTreeMap<u64, Record>,
    /// retrieve / list / update representation
    pub render: fn(&Record, &Db) -> Value,
    /// POST response representation (some viewsets use a different create serializer)
    pub render_created: fn(&Record, &Db) -> Value,
    /// the POST permission check on the parent: `(attribute, parent model, parent table)`
    pub parent: Option<(&'static str, &'static str, Target)>,
    /// object-level `validate()` on create
    pub validate_create: fn(&Validated) -> ApiResult<()>,
    /// notification fired after a create
    pub created_event: fn(&Db, &Record, &Events<'_>) -> Option<Event>,
    /// whether the viewset uses DefectDojo's prefetch mixins (adds `"prefetch": {}`)
    pub prefetch: bool,
    /// the queryset's `order_by("name")` instead of id (`get_authorized_*`, dojo/*/queries.py)
    pub order_by_name: bool,
}

pub fn no_extra_validation(_: &Validated) -> ApiResult<()> {
    Ok(())
}

pub fn no_event(_: &Db, _: &Record, _: &Events<'_>) -> Option<Event> {
    None
}

/// Registers `/<name>/` and `/<name>/{id}/` for `kind`.
pub fn register(cfg: &mut web::ServiceConfig, path: &str, kind: &'static RecordKind) {
    cfg.service(
        resource(&format!("/{path}/"))
            .route(web::get().to(
                move |_a: Authenticated, s: web::Data<AppState>, r: HttpRequest| list(kind, s, r),
            ))
            .route(web::post().to(
                move |_a: Authenticated, s: web::Data<AppState>, r: HttpRequest, b: web::Bytes| {
                    create(kind, s, r, b)
                },
            )),
    )
    .service(
        resource(&format!("/{path}/{{id}}/"))
            .route(web::get().to(
                move |_a: Authenticated, s: web::Data<AppState>, id: web::Path<String>| {
                    retrieve(kind, s, id.into_inner())
                },
            ))
            .route(web::patch().to(
                move |_a: Authenticated,
                      s: web::Data<AppState>,
                      r: HttpRequest,
                      id: web::Path<String>,
                      b: web::Bytes| {
                    update(kind, s, r, id.into_inner(), b, Mode::Patch)
                },
            ))
            .route(web::put().to(
                move |_a: Authenticated,
                      s: web::Data<AppState>,
                      r: HttpRequest,
                      id: web::Path<String>,
                      b: web::Bytes| {
                    update(kind, s, r, id.into_inner(), b, Mode::Put)
                },
            )),
    );
}

async fn list(
    kind: &'static RecordKind,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let db = state.db();
    let mut rows = records::apply(
        (kind.rows)(&db).values(),
        kind.filters,
        &super::query(&req),
        &db,
    )?;
    if kind.order_by_name {
        // bytewise, like the recorded tag lists; ids break ties
        rows.sort_by(|a, b| a.str("name").cmp(&b.str("name")).then(a.id.cmp(&b.id)));
    }
    let prefetch = kind.prefetch.then(|| json!({}));
    Ok(list_body(rows, &req, |r| (kind.render)(r, &db), prefetch))
}

async fn retrieve(
    kind: &'static RecordKind,
    state: web::Data<AppState>,
    id: String,
) -> ApiResult<HttpResponse> {
    let id = pk(&id, kind.model)?;
    let db = state.db();
    let row = (kind.rows)(&db)
        .get(&id)
        .ok_or_else(|| ApiError::not_found(kind.model))?;
    let body = (kind.render)(row, &db);
    Ok(ok(if kind.prefetch {
        with_empty_prefetch(body)
    } else {
        body
    }))
}

fn name_taken(
    kind: &RecordKind,
    db: &Db,
    name: Option<&str>,
    except: Option<u64>,
) -> ApiResult<()> {
    match (kind.unique_name, name) {
        (Some(verbose), Some(name)) => unique_name(
            (kind.rows)(db)
                .values()
                .any(|r| Some(r.id) != except && r.str("name") == Some(name)),
            verbose,
        ),
        _ => Ok(()),
    }
}

async fn create(
    kind: &'static RecordKind,
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Bytes,
) -> ApiResult<HttpResponse> {
    let mut db = state.db();
    let input = if let Some((attribute, model, target)) = kind.parent {
        let input = body::parse_object_or_500(&req, &payload)?;
        permission_parent(&input, attribute, model, |id| db.exists(target, id))?;
        input
    } else {
        body::parse_object(&req, &payload)?
    };
    let v = fields::validate(kind.fields, &input, Mode::Create, &*db)?;
    name_taken(kind, &db, v.str_of("name"), None)?;
    (kind.validate_create)(&v)?;

    let id = db.next_id(kind.table);
    let row = Record::new(id, (kind.defaults)(), v);
    let body = (kind.render_created)(&row, &db);
    let event = (kind.created_event)(&db, &row, &state.webhooks.events());
    (kind.rows_mut)(&mut db).insert(id, row);
    drop(db);
    if let Some(event) = event {
        state.notify(event);
    }
    Ok(created(body))
}

async fn update(
    kind: &'static RecordKind,
    state: web::Data<AppState>,
    req: HttpRequest,
    id: String,
    payload: web::Bytes,
    mode: Mode,
) -> ApiResult<HttpResponse> {
    let id = pk(&id, kind.model)?;
    let input = body::parse_object(&req, &payload)?;
    let mut db = state.db();
    if !(kind.rows)(&db).contains_key(&id) {
        return Err(ApiError::not_found(kind.model));
    }
    let v = fields::validate(kind.fields, &input, mode, &*db)?;
    name_taken(kind, &db, v.str_of("name"), Some(id))?;
    let mut row = (kind.rows)(&db)
        .get(&id)
        .cloned()
        .ok_or_else(|| ApiError::not_found(kind.model))?;
    row.update(v);
    let body = (kind.render)(&row, &db);
    (kind.rows_mut)(&mut db).insert(id, row);
    Ok(ok(body))
}
