//! Building and running the HTTP server (zero2prod's `startup`): tests build
//! an `Application` on port 0 and read the port back.

use std::net::TcpListener;

use actix_cors::Cors;
use actix_web::dev::Server;
use actix_web::{http, web, App, HttpServer};
use anyhow::Context;
use tracing_actix_web::TracingLogger;
use wstg_domain::Catalogue;
use wstg_settings::{service, Settings};

use crate::routes;
use crate::state::AppState;

pub struct Application {
    port: u16,
    server: Server,
}

impl Application {
    /// Connects to Redis and the store and binds `settings.ingest.addr`.
    pub async fn build(settings: &Settings) -> anyhow::Result<Application> {
        // The store first: a store that cannot open must leave nothing in Redis.
        let store = service::store(settings).await?;
        let queue = service::queue(settings, |_| {}).await?;
        let listener = TcpListener::bind(settings.ingest.addr)
            .with_context(|| format!("binding {}", settings.ingest.addr))?;
        let port = listener.local_addr()?.port();
        let state = web::Data::new(AppState {
            queue,
            store,
            catalogue: Catalogue::get(settings.catalogue_version),
            default_project: settings.default_project.clone(),
            ingest_token: settings.ingest.token.clone(),
            max_body_bytes: settings.ingest.max_body_bytes,
            webhook_key: settings.ingest.webhook_key.clone(),
            webhook_header: settings.ingest.webhook_header.clone(),
            admin_token: settings.ingest.admin_token.clone(),
            dojo_ui: settings.dojo.url.as_str().trim_end_matches('/').to_owned(),
        });
        let origins = settings.ingest.cors_origins.clone();
        let server = HttpServer::new(move || {
            let cors = origins
                .iter()
                .fold(Cors::default(), |c, o| c.allowed_origin(o))
                .allowed_methods(["GET", "POST"])
                .allowed_headers([
                    http::header::CONTENT_TYPE,
                    http::header::AUTHORIZATION,
                    http::header::HeaderName::from_static("idempotency-key"),
                    http::header::HeaderName::from_static("last-event-id"),
                ])
                .max_age(3600);
            App::new()
                .wrap(cors)
                .wrap(TracingLogger::default())
                .app_data(state.clone())
                .configure(routes::configure)
        })
        .listen(listener)?
        .shutdown_timeout(10)
        .run();
        Ok(Application { port, server })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}
