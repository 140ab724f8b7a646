//! HTTP routes. The paths under /api/wstg are the original design's public
//! contract.

pub mod health;
pub mod status;
pub mod sync;
pub mod webhook;

use actix_web::web;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(health::healthz))
        .route("/readyz", web::get().to(health::readyz))
        .route("/api/wstg/sync", web::post().to(sync::post_sync))
        .route("/api/wstg/status", web::get().to(status::get_status))
        .route("/api/wstg/webhook", web::post().to(webhook::post_webhook));
}
