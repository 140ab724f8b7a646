//! `/api/v2/system_settings/` (SystemSettingsViewSet): list and, on the detail route, only
//! PUT and PATCH — a GET of `/system_settings/1/` is 405 (recorded,
//! tests/fixtures/recorded/webhook-lifecycle/03). The bridge turns
//! `enable_webhooks_notifications` on here (docs/defectdojo.md §6, §10).

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{Map, Value};

use super::{list_body, ok, pk, resource};
use crate::auth::Authenticated;
use crate::drf::{body, ApiError, ApiResult};
use crate::model::system_settings::{self, MODEL};
use crate::state::AppState;

const ID: u64 = 1;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/system_settings/").route(web::get().to(list)))
        .service(
            resource("/system_settings/{id}/")
                .route(web::put().to(update))
                .route(web::patch().to(update)),
        );
}

fn render(row: &Map<String, Value>) -> Value {
    let mut map = row.clone();
    map.insert("id".into(), Value::from(ID));
    Value::Object(map)
}

async fn list(
    _a: Authenticated,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let row = render(&state.db().system_settings);
    Ok(list_body(vec![row], &req, |r| r, None))
}

/// PUT and PATCH alike: every field has a default, so a PUT requires nothing either.
async fn update(
    _a: Authenticated,
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    payload: web::Bytes,
) -> ApiResult<HttpResponse> {
    if pk(&id, MODEL)? != ID {
        return Err(ApiError::not_found(MODEL));
    }
    let input = body::parse_object(&req, &payload)?;
    let mut db = state.db();
    let v = system_settings::validate(&db.system_settings, &input).map_err(ApiError::Validation)?;
    db.system_settings.extend(v);
    Ok(ok(render(&db.system_settings)))
}
