//! `/__sim/`: test control, no authentication, never subject to latency or faults.

use std::time::Duration;

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::config::{Faults, WebhookTarget};
use crate::db::Table;
use crate::drf::fields::{self, Mode};
use crate::drf::{body, ApiError, ApiResult};
use crate::model::finding::{self, Finding};
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/stats", web::get().to(stats))
        .route("/stats/reset", web::post().to(reset_stats))
        .route("/faults", web::get().to(get_faults))
        .route("/faults", web::put().to(put_faults))
        .route("/latency", web::get().to(get_latency))
        .route("/latency", web::put().to(put_latency))
        .route("/reset", web::post().to(reset))
        .route("/webhook", web::get().to(get_webhook))
        .route("/webhook", web::put().to(put_webhook))
        .route("/findings", web::post().to(seed_finding));
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
    HttpResponse::Ok().json(json!({ "ms": state.knobs().latency.as_millis() as u64 }))
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

/// Inserts a finding the way a direct ORM write does (FACTS §7): no serializer rules, no
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
    let fields = finding::create_fields();
    let v = fields::validate(&fields, &input, Mode::Patch, &*db)?;
    let Some(test) = v.get("test").and_then(Value::as_u64) else {
        return Err(ApiError::Validation(crate::drf::FieldErrors::single(
            "test",
            crate::drf::ErrorItem::required(),
        )));
    };
    let mut f = Finding::new(test, db.admin().id);
    f.apply(&v);
    if f.severity.is_empty() {
        f.severity = "Info".into();
    }
    let tags = fields::ValidatedExt::strings_of(&v, "tags").unwrap_or_default();
    f.tags = tags.clone();
    f.found_by = fields::ValidatedExt::ids_of(&v, "found_by")
        .filter(|ids| !ids.is_empty())
        .or_else(|| {
            db.tests
                .get(&test)
                .and_then(|t| t.u64("test_type"))
                .map(|tt| vec![tt])
        })
        .unwrap_or_default();
    f.id = db.next_id(Table::Finding);
    let ctx = db.save_context(test);
    f.save(None, &ctx);
    db.finding_tags.acquire_exact(&tags);
    let body = f.to_json(&db, finding::View::Read, false);
    db.findings.insert(f.id, f);
    Ok(HttpResponse::Created().json(body))
}
