//! Building and running the HTTP server (zero2prod's `startup`): tests build
//! an `Application` on port 0 and read the port back.

use std::net::TcpListener;

use actix_cors::Cors;
use actix_web::dev::Server;
use actix_web::{http, middleware, web, App, HttpServer};
use anyhow::Context;
use tracing_actix_web::TracingLogger;
use wstg_domain::Catalogue;
use wstg_settings::Settings;
use wstg_startup::connect as service;

use crate::request_id::RequestIdSpan;
use crate::routes;
use crate::state::{AppState, AuthConfig};

pub struct Application {
    port: u16,
    server: Server,
}

impl Application {
    /// Connects to Redis and the store and binds `settings.ingest.addr`.
    pub async fn build(settings: &Settings) -> anyhow::Result<Application> {
        let auth = auth_config(settings)?;
        // The process's Prometheus recorder (once; `/metrics` renders it).
        wstg_ops::install("wstg-ingest");
        // The store first: a store that cannot open must leave nothing in Redis.
        let store = service::wait_for_store(settings).await?;
        let queue = service::wait_for_queue(settings, |_| {}).await?;
        let listener = TcpListener::bind(settings.ingest.addr)
            .with_context(|| format!("binding {}", settings.ingest.addr))?;
        let port = listener.local_addr()?.port();
        let state = web::Data::new(AppState {
            queue: queue.clone(),
            store,
            catalogue: Catalogue::get(settings.catalogue_version),
            catalogues: Default::default(),
            default_project: settings.default_project.clone(),
            ingest_token: settings.ingest.token.clone(),
            max_body_bytes: settings.ingest.max_body_bytes,
            webhook_key: settings.ingest.webhook_key.clone(),
            webhook_header: settings.ingest.webhook_header.clone(),
            admin_token: settings.ingest.admin_token.clone(),
            metrics_token: settings.metrics.token.clone(),
            dojo_ui: settings.dojo.url.as_str().trim_end_matches('/').to_owned(),
            auth,
            live: crate::live::LiveFeed::start(queue.clone(), settings.limits.max_streams),
            backlog: crate::backlog::Backlog::start(queue.clone(), settings.limits.max_backlog),
            request_timeout: settings.limits.request_timeout(),
            webhook_poll_interval: std::time::Duration::from_secs(
                settings.limits.webhook_poll_interval_secs,
            ),
            evidence: crate::routes::evidence::EvidenceLimits {
                max_file_bytes: settings.limits.evidence_max_file_bytes,
                max_project_bytes: settings.limits.evidence_max_project_bytes,
            },
        });
        // Bounds (issue 9): the rate limit is its own middleware. actix runs
        // the last `wrap` first: it sits inside the request log and CORS (a
        // browser can read a 429) and must stay outside authentication (a
        // flood of wrong tokens is limited too), so an auth middleware is
        // wrapped before it.
        let rate_limit = web::Data::from(crate::rate_limit::RateLimit::start(
            settings.limits.rate_per_sec,
            settings.limits.rate_burst,
        ));
        let openapi = web::Data::new(crate::openapi::Served::new(
            &settings.ingest.webhook_header,
        )?);
        let limits = settings.limits.clone();
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
                // The tracker page may show a failed request's id.
                .expose_headers([crate::request_id::HEADER])
                .max_age(3600);
            App::new()
                .wrap(middleware::from_fn(crate::rate_limit::limit_rate))
                .wrap(cors)
                .wrap(crate::unmatched::method_not_allowed())
                .wrap(TracingLogger::<RequestIdSpan>::new())
                // Every answer is counted, 429s and CORS refusals included
                // (wstg_http_requests_total).
                .wrap(middleware::from_fn(wstg_ops::http_metrics::record))
                // Outermost: the id is set before the request log opens its
                // span and is on every answer, errors of the layers above included.
                .wrap(middleware::from_fn(crate::request_id::request_id))
                .app_data(state.clone())
                .app_data(rate_limit.clone())
                .app_data(openapi.clone())
                .app_data(crate::unmatched::query_config())
                .app_data(crate::unmatched::path_config())
                .configure(routes::configure)
                .default_service(web::to(crate::unmatched::not_found))
        })
        // Server bounds (issue 9): the head must arrive within the request
        // timeout (the body has its own, in body.rs), idle keep-alive
        // connections close, and each worker thread holds a bounded number
        // of connections.
        .client_request_timeout(limits.request_timeout())
        .client_disconnect_timeout(std::time::Duration::from_secs(1))
        .keep_alive(std::time::Duration::from_secs(limits.keep_alive_secs))
        .max_connections(limits.max_connections)
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

/// The guard's configuration. Anonymous access is refused outright unless
/// the ingest listens on loopback only, and said loudly when it is on.
fn auth_config(settings: &Settings) -> anyhow::Result<AuthConfig> {
    let addr = settings.ingest.addr;
    if settings.auth.allow_anonymous {
        anyhow::ensure!(
            addr.ip().is_loopback(),
            "auth.allow_anonymous (WSTG_AUTH_ALLOW_ANONYMOUS) is on but ingest.addr ({addr}) is not a \
             loopback address: anyone on the network could read and change every checklist. \
             Use tokens (wstgctl token create), or listen on 127.0.0.1"
        );
        tracing::warn!(
            %addr,
            "ANONYMOUS ACCESS IS ON (auth.allow_anonymous): any local process or user can read \
             and change every checklist without a token. Do not use this on a shared host."
        );
    }
    let mut hosts: Vec<String> = ["localhost", "127.0.0.1", "[::1]"]
        .into_iter()
        .map(str::to_owned)
        .collect();
    if !addr.ip().is_unspecified() && !addr.ip().is_loopback() {
        hosts.push(match addr.ip() {
            std::net::IpAddr::V4(ip) => ip.to_string(),
            std::net::IpAddr::V6(ip) => format!("[{ip}]"),
        });
    }
    if let Some(h) = &settings.auth.public_host {
        hosts.push(crate::guard::host_name(h));
    }
    Ok(AuthConfig {
        allow_anonymous: settings.auth.allow_anonymous,
        hosts,
        origins: settings.ingest.cors_origins.clone(),
        create_projects_on_demand: settings.auth.create_projects_on_demand,
    })
}
