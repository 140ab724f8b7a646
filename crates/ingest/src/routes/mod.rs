//! HTTP routes. The paths under /api/wstg are the original design's public
//! contract.

pub mod admin;
pub mod dashboard;
pub mod health;
pub mod import_export;
pub mod items;
pub mod metrics;
pub mod pages;
pub mod projects;
pub mod status;
pub mod stream;
pub mod sync;
pub mod webhook;

use actix_web::middleware::from_fn;
use actix_web::web;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(health::healthz))
        .route("/readyz", web::get().to(health::readyz))
        // Prometheus: its own bearer check (routes/metrics.rs), outside the
        // browser guard, since a scraper names the host it was configured with.
        .route("/metrics", web::get().to(metrics::get_metrics))
        // DefectDojo's webhook authenticates with its own static header
        // key; registered before the guarded scope, so it matches first.
        .route("/api/wstg/webhook", web::post().to(webhook::post_webhook))
        // The tracker page, dashboard and drop-in script (issue 5): static,
        // public, and they hold no data.
        .route("/", web::get().to(pages::index))
        .route("/dashboard", web::get().to(pages::dashboard))
        .route("/static/{file}", web::get().to(pages::static_file))
        // Everything else under /api/wstg passes the one guard (guard.rs):
        // Host, Origin, Content-Type, then the token.
        .service(
            web::scope("/api/wstg")
                .wrap(from_fn(crate::guard::guard))
                .configure(api),
        );
}

/// The guarded API, relative to `/api/wstg`.
fn api(cfg: &mut web::ServiceConfig) {
    admin::configure(cfg);
    projects::configure(cfg);
    cfg.route("/sync", web::post().to(sync::post_sync))
        .route("/status", web::get().to(status::get_status))
        // The tracker's read side (issue 3).
        .route("/catalogue", web::get().to(items::get_catalogue))
        .route("/projects", web::get().to(items::get_projects))
        .route("/items", web::get().to(items::get_items))
        .route("/items/{wstg_id}", web::get().to(items::get_item))
        .route("/stream", web::get().to(stream::get_stream))
        .route("/import", web::post().to(import_export::post_import))
        .route("/export", web::get().to(import_export::get_export))
        .route("/dashboard", web::get().to(dashboard::get_dashboard));
}
