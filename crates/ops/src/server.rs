//! The ops HTTP server of the worker and the poller: `/healthz`, `/readyz`
//! and `/metrics` on `worker.ops_addr` / `poller.ops_addr`.
//!
//! The default address is `127.0.0.1:0`: loopback only (secure by default)
//! and a port the system picks, so any number of replicas start on one host
//! without a port clash (the bound address is printed and logged at start).
//! Deployments set a fixed address (docs/operations.md).
//!
//! Bounded like everything reachable from outside: one worker thread, 64
//! connections, 5 s to send a request head, 5 s keep-alive.

use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

use actix_web::dev::{Server, ServerHandle};
use actix_web::{http::header, web, App, HttpRequest, HttpResponse, HttpServer};
use anyhow::Context;
use serde_json::json;
use wstg_queue::Queue;

use crate::access::{Denied, MetricsAccess};
use crate::readiness::Checks;

/// How long a scrape waits for the queue's figures.
pub const SCRAPE_TIMEOUT: Duration = Duration::from_secs(2);

struct OpsState {
    checks: Checks,
    access: MetricsAccess,
}

pub struct OpsServer {
    addr: SocketAddr,
    handle: ServerHandle,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl OpsServer {
    /// Binds `addr` and serves in the background (call inside a Tokio
    /// runtime). `token` is `metrics.token`.
    pub fn start(
        addr: SocketAddr,
        checks: Checks,
        token: Option<secrecy::SecretString>,
    ) -> anyhow::Result<OpsServer> {
        let listener =
            TcpListener::bind(addr).with_context(|| format!("binding the ops address {addr}"))?;
        let bound = listener.local_addr()?;
        let access = MetricsAccess::for_addr(bound, token);
        if matches!(access, MetricsAccess::Refused) {
            tracing::warn!(
                addr = %bound,
                "the ops address is not loopback and metrics.token (WSTG_METRICS_TOKEN) is not set: \
                 /metrics answers 403 until it is; /healthz and /readyz are served"
            );
        }
        let state = web::Data::new(OpsState { checks, access });
        let server: Server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .route("/healthz", web::get().to(healthz))
                .route("/readyz", web::get().to(readyz))
                .route("/metrics", web::get().to(metrics))
                .default_service(web::to(not_found))
        })
        .workers(1)
        .max_connections(64)
        .client_request_timeout(Duration::from_secs(5))
        .keep_alive(Duration::from_secs(5))
        .disable_signals()
        .shutdown_timeout(1)
        .listen(listener)?
        .run();
        let handle = server.handle();
        let task = tokio::spawn(server);
        Ok(OpsServer {
            addr: bound,
            handle,
            task,
        })
    }

    /// The address bound (the port the system picked for `:0`).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    pub async fn stop(self) {
        self.handle.stop(true).await;
        let _ = self.task.await;
    }
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

async fn readyz(state: web::Data<OpsState>) -> HttpResponse {
    readiness(&state.checks).await
}

/// `/readyz`: 200, or 503 with Retry-After, and the report as JSON.
pub async fn readiness(checks: &Checks) -> HttpResponse {
    let report = checks.run().await;
    if report.ready {
        HttpResponse::Ok().json(report.body)
    } else {
        HttpResponse::ServiceUnavailable()
            .insert_header((header::RETRY_AFTER, "1"))
            .json(report.body)
    }
}

async fn metrics(req: HttpRequest, state: web::Data<OpsState>) -> HttpResponse {
    let auth = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if let Err(denied) = state.access.check(auth) {
        return refused(denied);
    }
    scrape(&state.checks.queue).await
}

/// The Prometheus text, with the queue's gauges read now.
pub async fn scrape(queue: &Queue) -> HttpResponse {
    queue.record_gauges(SCRAPE_TIMEOUT).await;
    HttpResponse::Ok()
        .content_type(crate::recorder::CONTENT_TYPE)
        .body(crate::recorder::render())
}

/// The JSON answer to a refused scrape.
pub fn refused(denied: Denied) -> HttpResponse {
    match denied {
        Denied::BadToken => HttpResponse::Unauthorized()
            .insert_header((header::WWW_AUTHENTICATE, "Bearer"))
            .json(json!({
                "success": false,
                "error": "metrics: a valid bearer token is required (metrics.token, WSTG_METRICS_TOKEN)",
                "field": "Authorization",
                "reason": "missing or wrong bearer token",
            })),
        Denied::NoTokenConfigured => HttpResponse::Forbidden().json(json!({
            "success": false,
            "error": "metrics: this address is reachable from the network and metrics.token \
                      (WSTG_METRICS_TOKEN) is not set, so /metrics is closed",
            "field": "metrics.token",
            "reason": "not set",
        })),
    }
}

async fn not_found() -> HttpResponse {
    HttpResponse::NotFound().json(json!({
        "success": false,
        "error": "not found: the ops address serves /healthz, /readyz and /metrics",
    }))
}
