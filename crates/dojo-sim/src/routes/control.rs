//! `/__sim/`: test control, no authentication, never subject to latency or faults.

use std::time::Duration;

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::config::{Faults, WebhookTarget};
use crate::db::Table;
use crate::drf::fields::{self, Mode, ValidatedExt};
use crate::drf::{body, ApiResult, ErrorItem, FieldErrors};
use crate::model::finding::{self, Finding};
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/stats", web::get().to(stats))
        .route("/stats/reset", web::post().to(reset_stats))
        .route("/faults", web::get().to(get_faults))
        .route("/faults", web::put().to(put_faults))
        .route("/latency", web::get().to(get_latency))
        .route("/latency", web::put().to(put_latency))
        .route("/tag-step", web::get().to(get_tag_step))
        .route("/tag-step", web::put().to(put_tag_step))
        .route("/reset", web::post().to(reset))
        .route("/webhook", web::get().to(get_webhook))
        .route("/webhook", web::put().to(put_webhook))
        .route("/findings", web::post().to(seed_finding))
        .route("/tag-rows", web::get().to(tag_rows))
        .route("/tag-rows", web::post().to(create_tag_rows));
}

fn bad_request(message: impl Into<String>) -> HttpResponse {
    HttpResponse::BadRequest().json(json!({ "message": message.into() }))
}

async fn stats(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(state.stats.snapshot())
}

async fn reset_stats(state: web::Data<AppState>) -> HttpResponse {
    state.stats.reset();
    HttpResponse::NoContent().finish()
}

async fn get_faults(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(state.knobs().faults)
}

/// Replaces the faults; omitted fields take their defaults.
async fn put_faults(state: web::Data<AppState>, payload: web::Bytes) -> HttpResponse {
    let faults: Faults = match serde_json::from_slice(&payload) {
        Ok(f) => f,
        Err(e) => return bad_request(format!("invalid faults: {e}")),
    };
    if let Err(e) = faults.validate() {
        return bad_request(e);
    }
    state.set_faults(faults.clone());
    HttpResponse::Ok().json(faults)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Latency {
    ms: u64,
}

async fn get_latency(state: web::Data<AppState>) -> HttpResponse {
    let knobs = state.knobs();
    HttpResponse::Ok().json(json!({
        "ms": knobs.latency.as_millis() as u64,
        "profile": knobs.latency_profile.as_ref().map(|p| p.name.clone()),
    }))
}

async fn put_latency(state: web::Data<AppState>, payload: web::Bytes) -> HttpResponse {
    match serde_json::from_slice::<Latency>(&payload) {
        Ok(l) => {
            state.set_latency(Duration::from_millis(l.ms));
            HttpResponse::Ok().json(json!({ "ms": l.ms }))
        }
        Err(e) => bad_request(format!("expected {{\"ms\": N}}: {e}")),
    }
}

async fn get_tag_step(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "ms": state.knobs().tag_step.as_millis() as u64 }))
}

/// `{"ms": N}`: a PUT/PATCH with `tags` then shows the saved finding with no tags for N ms
/// before linking the new ones, as DefectDojo's two steps do (docs/defectdojo.md §9).
async fn put_tag_step(state: web::Data<AppState>, payload: web::Bytes) -> HttpResponse {
    match serde_json::from_slice::<Latency>(&payload) {
        Ok(l) => {
            state.set_tag_step(Duration::from_millis(l.ms));
            HttpResponse::Ok().json(json!({ "ms": l.ms }))
        }
        Err(e) => bad_request(format!("expected {{\"ms\": N}}: {e}")),
    }
}

/// Wipes all data back to a fresh instance. Stats, faults, latency and the webhook are kept.
async fn reset(state: web::Data<AppState>) -> HttpResponse {
    state.reset_data();
    HttpResponse::NoContent().finish()
}

async fn get_webhook(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(state.webhooks.status_json())
}

/// Sets (`{"url","header_name","header_value"}`) or removes (`null`) the webhook target and
/// resets its status to `active`.
async fn put_webhook(state: web::Data<AppState>, payload: web::Bytes) -> HttpResponse {
    match serde_json::from_slice::<Option<WebhookTarget>>(&payload) {
        Ok(target) => {
            state.webhooks.set_target(target);
            HttpResponse::Ok().json(state.webhooks.status_json())
        }
        Err(e) => bad_request(format!("invalid webhook target: {e}")),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TagRows {
    names: Vec<String>,
}

/// The finding tag table as `{"rows": [{"name", "count"}]}`, ordered by name.
fn tag_rows_json(state: &AppState) -> Value {
    let db = state.db();
    let rows: Vec<Value> = db
        .finding_tags
        .rows()
        .map(|(name, count)| json!({ "name": name, "count": count }))
        .collect();
    json!({ "rows": rows })
}

async fn tag_rows(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(tag_rows_json(&state))
}

/// Creates raw tag rows with exactly the given spelling, the way the original design's
/// `Tag.objects.get_or_create(name=...)` did through the ORM (docs/defectdojo.md §7, §9): a
/// name that differs from an existing row only in case becomes a second row (a case twin).
/// Answers 201 with every row, like `GET /__sim/tag-rows`.
async fn create_tag_rows(state: web::Data<AppState>, payload: web::Bytes) -> HttpResponse {
    let input: TagRows = match serde_json::from_slice(&payload) {
        Ok(input) => input,
        Err(e) => return bad_request(format!("expected {{\"names\": [\"...\"]}}: {e}")),
    };
    if let Some(bad) = input.names.iter().find(|n| n.trim().is_empty()) {
        return bad_request(format!("names: empty tag name {bad:?}"));
    }
    state.db().finding_tags.create_rows_exact(&input.names);
    HttpResponse::Created().json(tag_rows_json(&state))
}

/// Inserts a finding the way a direct ORM write does (docs/defectdojo.md §7): no serializer rules, no
/// notification, tags stored with exactly the given spelling (so case twins such as "WSTG" and
/// "wstg" can exist). `Finding.save()` still runs: titles are title-cased and the status rules
/// apply. Body: the finding fields (validated like a PATCH) plus a required `test`.
async fn seed_finding(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Bytes,
) -> ApiResult<HttpResponse> {
    let input: Map<String, Value> = body::parse_object(&req, &payload)?;
    let mut db = state.db();
    let v = fields::validate(&finding::create_fields(), &input, Mode::Patch, &*db)?;
    let Some(test) = v.u64_of("test") else {
        return Err(FieldErrors::single("test", ErrorItem::required()).into());
    };
    let mut f = Finding::new(test, db.admin().id);
    f.apply(&v);
    if f.severity.is_empty() {
        f.severity = "Info".into();
    }
    let mut tags: Vec<String> = Vec::new();
    for tag in v.strings_of("tags").unwrap_or_default() {
        if !tags.contains(&tag) {
            tags.push(tag);
        }
    }
    f.tags = tags.clone();
    f.found_by = match v.ids_of("found_by") {
        Some(ids) if !ids.is_empty() => ids,
        _ => db
            .tests
            .get(&test)
            .and_then(|t| t.u64("test_type"))
            .into_iter()
            .collect(),
    };
    f.id = db.next_id(Table::Finding);
    f.save(None, &db.save_context(test));
    db.finding_tags.acquire_exact(&tags);
    let body = f.to_json(&db, finding::View::Read, false);
    db.findings.insert(f.id, f);
    Ok(HttpResponse::Created().json(body))
}
