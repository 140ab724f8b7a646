//! HTTP routes. The paths under /api/wstg are the original design's public
//! contract.

pub mod admin;
pub mod assignment;
pub mod comments;
pub mod dashboard;
pub mod evidence;
pub mod health;
pub mod import_export;
pub mod items;
pub mod metrics;
pub mod pages;
pub mod projects;
pub mod status;
pub mod stream;
pub mod sync;
pub mod vulnerabilities;
pub mod webhook;

use actix_web::middleware::from_fn;
use actix_web::web;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/healthz").route(web::get().to(health::healthz)))
        .service(web::resource("/readyz").route(web::get().to(health::readyz)))
        // The API's description: public, it holds no secret and no data.
        .service(
            web::resource(crate::openapi::PATH).route(web::get().to(crate::openapi::openapi_json)),
        )
        // Prometheus: its own bearer check (routes/metrics.rs), outside the
        // browser guard, since a scraper names the host it was configured with.
        .service(web::resource("/metrics").route(web::get().to(metrics::get_metrics)))
        // DefectDojo's webhook authenticates with its own static header
        // key; registered before the guarded scope, so it matches first.
        .service(web::resource("/api/wstg/webhook").route(web::post().to(webhook::post_webhook)))
        // The tracker page, dashboard and drop-in script (issue 5): static,
        // public, and they hold no data.
        .service(web::resource("/").route(web::get().to(pages::index)))
        .service(web::resource("/dashboard").route(web::get().to(pages::dashboard)))
        .service(web::resource("/static/{file}").route(web::get().to(pages::static_file)))
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
    cfg.service(web::resource("/sync").route(web::post().to(sync::post_sync)))
        .service(web::resource("/status").route(web::get().to(status::get_status)))
        // The tracker's read side (issue 3).
        .service(web::resource("/catalogue").route(web::get().to(items::get_catalogue)))
        .service(web::resource("/projects").route(web::get().to(items::get_projects)))
        .service(web::resource("/items").route(web::get().to(items::get_items)))
        .service(web::resource("/items/{wstg_id}").route(web::get().to(items::get_item)))
        .service(
            web::resource("/items/{wstg_id}/evidence")
                .route(web::get().to(evidence::get_item_evidence))
                .route(web::post().to(evidence::post_evidence)),
        )
        .service(web::resource("/evidence/{id}").route(web::get().to(evidence::get_evidence)))
        .service(
            web::resource("/items/{wstg_id}/vulnerabilities")
                .route(web::get().to(vulnerabilities::get_vulnerabilities))
                .route(web::post().to(vulnerabilities::post_vulnerability)),
        )
        .service(
            web::resource("/vulnerabilities/{id}")
                .route(web::patch().to(vulnerabilities::patch_vulnerability)),
        )
        .service(
            web::resource("/items/{wstg_id}/comments")
                .route(web::get().to(comments::get_comments))
                .route(web::post().to(comments::post_comment)),
        )
        .service(web::resource("/stream").route(web::get().to(stream::get_stream)))
        .service(web::resource("/import").route(web::post().to(import_export::post_import)))
        .service(web::resource("/export").route(web::get().to(import_export::get_export)))
        .service(web::resource("/dashboard").route(web::get().to(dashboard::get_dashboard)));
}
