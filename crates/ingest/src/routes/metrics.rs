//! `GET /metrics`: the ingest's Prometheus text (docs/operations.md).
//!
//! Needs `Authorization: Bearer <token>` with the metrics token
//! (`metrics.token`) or an admin token (configured or stored); anonymous
//! access never opens it. Not behind the browser guard: a scraper sends the
//! Host it was configured with, and no browser page needs this.

use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use secrecy::ExposeSecret;
use wstg_ops::access::{constant_time_eq, Denied};

use crate::auth::{authenticate, bearer};
use crate::errors::ApiError;
use crate::state::AppState;

pub async fn get_metrics(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let token = match bearer(&req) {
        Ok(Some(t)) => t,
        Ok(None) | Err(_) => return wstg_ops::server::refused(Denied::BadToken),
    };
    let is_metrics_token = state
        .metrics_token
        .as_ref()
        .is_some_and(|t| constant_time_eq(&token, t.expose_secret()));
    if !is_metrics_token {
        match authenticate(&state, Some(&token)).await {
            Ok(p) if p.is_admin() => {}
            Ok(_) => {
                return ApiError::Denied("an admin or metrics token is required".to_owned())
                    .error_response()
            }
            Err(e @ ApiError::Unavailable(_)) => return e.error_response(),
            Err(_) => return wstg_ops::server::refused(Denied::BadToken),
        }
    }
    wstg_ops::server::scrape(&state.queue).await
}
