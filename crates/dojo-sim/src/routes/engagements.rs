//! `/api/v2/engagements/` (EngagementViewSet + ApiEngagementFilter; LIVE 11-12) and the
//! `close`/`reopen` actions. Creating one fires `engagement_added` (raw/0003); close and
//! reopen fire `engagement_closed`/`engagement_reopened` (trigger-A1/A2, raw/0015, 0018).

use actix_web::{web, HttpResponse};
use serde_json::json;

use super::records::{self, RecordKind};
use super::{ok, pk, resource};
use crate::auth::Authenticated;
use crate::db::{Db, Table};
use crate::drf::fields::{Target, Validated, ValidatedExt};
use crate::drf::{ApiError, ApiResult};
use crate::filters::records::Filter;
use crate::model::engagement;
use crate::model::record::Record;
use crate::state::AppState;
use crate::webhooks::{Event, Events};

static KIND: RecordKind = RecordKind {
    model: engagement::MODEL,
    unique_name: None,
    table: Table::Engagement,
    fields: engagement::FIELDS,
    filters: &[
        ("id", Filter::Exact("id")),
        ("active", Filter::Bool("active")),
        ("target_start", Filter::Exact("target_start")),
        ("target_end", Filter::Exact("target_end")),
        ("status", Filter::Exact("status")),
        ("product", Filter::ModelChoice("product", Target::Product)),
        ("name", Filter::Exact("name")),
        ("version", Filter::Exact("version")),
    ],
    defaults: engagement::defaults_map,
    rows: |db| &db.engagements,
    rows_mut: |db| &mut db.engagements,
    render: |r, _| engagement::to_json(r),
    render_created: |r, _| engagement::to_json(r),
    parent: Some(("product", "Product", Target::Product)),
    validate_create,
    created_event,
    // EngagementViewSet has no prefetch mixin in 3.2.0 (its `PrefetchDojoModelViewSet` base is
    // commented out): no `"prefetch"` key on list or retrieve (recorded/projects 09, 13).
    prefetch: false,
    order_by_name: false,
};

/// `EngagementSerializer.validate` on POST.
fn validate_create(v: &Validated) -> ApiResult<()> {
    let start = v.date_of("target_start").flatten();
    let end = v.date_of("target_end").flatten();
    if let (Some(start), Some(end)) = (start, end) {
        if start > end {
            return Err(ApiError::non_field(engagement::MSG_START_AFTER_END));
        }
    }
    Ok(())
}

fn created_event(db: &Db, r: &Record, events: &Events<'_>) -> Option<Event> {
    let product = db.products.get(&r.u64("product")?)?;
    let pt = db.product_types.get(&product.u64("prod_type")?)?;
    Some(events.engagement_added(
        (pt.id, pt.str("name").unwrap_or_default()),
        (product.id, product.str("name").unwrap_or_default()),
        (r.id, r.str("name").unwrap_or("None")),
    ))
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    records::register(cfg, "engagements", &KIND);
    cfg.service(resource("/engagements/{id}/close/").route(web::post().to(close)))
        .service(resource("/engagements/{id}/reopen/").route(web::post().to(reopen)));
}

/// engagement/services.py `close_engagement` / `reopen_engagement`: flip `active`, set the
/// status, answer `{}` (trigger-A1/A2) and notify.
fn set_open(state: &AppState, id: &str, open: bool) -> ApiResult<HttpResponse> {
    let id = pk(id, engagement::MODEL)?;
    let mut db = state.db();
    let row = db
        .engagements
        .get_mut(&id)
        .ok_or_else(|| ApiError::not_found(engagement::MODEL))?;
    let status = if open { "In Progress" } else { "Completed" };
    row.update(
        [("active", json!(open)), ("status", json!(status))]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    );
    let name = row.str("name").unwrap_or("None").to_string();
    drop(db);
    let events = state.webhooks.events();
    let event = if open {
        events.engagement_reopened(id, &name)
    } else {
        events.engagement_closed(id, &name)
    };
    state.notify(event);
    Ok(ok(json!({})))
}

async fn close(
    _a: Authenticated,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    set_open(&state, &id, false)
}

async fn reopen(
    _a: Authenticated,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    set_open(&state, &id, true)
}
