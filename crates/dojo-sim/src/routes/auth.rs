//! `POST /api/v2/api-token-auth/` and `GET /api/v2/user_profile/` (LIVE 01, 05).

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use super::{ok, resource};
use crate::auth::Authenticated;
use crate::drf::body;
use crate::drf::fields::{self, Field, Kind, Mode};
use crate::drf::{ApiError, ApiResult, ErrorItem, FieldErrors};
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api-token-auth/").route(web::post().to(obtain_token)))
        .service(resource("/user_profile/").route(web::get().to(user_profile)));
}

const TOKEN_FIELDS: &[Field] = &[
    Field::required("username", Kind::chars(150, false)),
    Field::required("password", Kind::chars(128, false)),
];

/// DRF's `obtain_auth_token` (urls.py:207-215). The simulator has one user, `admin`, and no
/// password store: any non-empty password is accepted for `admin`, and the answer is always
/// the configured token. Other usernames get DRF's credentials error.
async fn obtain_token(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Bytes,
) -> ApiResult<HttpResponse> {
    let input = body::parse_object(&req, &payload)?;
    let db = state.db();
    let v = fields::validate(TOKEN_FIELDS, &input, Mode::Create, &*db)?;
    if v.get("username").and_then(|u| u.as_str()) != Some(db.admin().username.as_str()) {
        return Err(ApiError::Validation(FieldErrors::single(
            "non_field_errors",
            ErrorItem::new(
                "Unable to log in with provided credentials.",
                "authorization",
            ),
        )));
    }
    Ok(ok(json!({ "token": state.token })))
}

async fn user_profile(_auth: Authenticated, state: web::Data<AppState>) -> HttpResponse {
    ok(state.db().admin().profile())
}
