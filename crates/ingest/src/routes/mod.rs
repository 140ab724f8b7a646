//! HTTP routes. The paths under /api/wstg are the original design's public
//! contract.

pub mod admin;
pub mod dashboard;
pub mod health;
pub mod import_export;
pub mod items;
pub mod pages;
pub mod status;
pub mod stream;
pub mod sync;
pub mod webhook;

use actix_web::web;

pub fn configure(cfg: &mut web::ServiceConfig) {
    admin::configure(cfg);
    cfg.route("/healthz", web::get().to(health::healthz))
        .route("/readyz", web::get().to(health::readyz))
        .route("/api/wstg/sync", web::post().to(sync::post_sync))
        .route("/api/wstg/status", web::get().to(status::get_status))
        .route("/api/wstg/webhook", web::post().to(webhook::post_webhook))
        // The tracker's read side (issue 3).
        .route("/api/wstg/catalogue", web::get().to(items::get_catalogue))
        .route("/api/wstg/projects", web::get().to(items::get_projects))
        .route("/api/wstg/items", web::get().to(items::get_items))
        .route("/api/wstg/items/{wstg_id}", web::get().to(items::get_item))
        .route("/api/wstg/stream", web::get().to(stream::get_stream))
        // The tracker page, dashboard and drop-in script (issue 5).
        .route("/", web::get().to(pages::index))
        .route("/dashboard", web::get().to(pages::dashboard))
        .route("/static/{file}", web::get().to(pages::static_file))
        .route(
            "/api/wstg/import",
            web::post().to(import_export::post_import),
        )
        .route("/api/wstg/export", web::get().to(import_export::get_export))
        .route(
            "/api/wstg/dashboard",
            web::get().to(dashboard::get_dashboard),
        );
}
