//! Starting and stopping a simulator instance.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener};

use actix_web::{dev::ServerHandle, middleware::from_fn, web, App, HttpServer};
use anyhow::Context;
use tokio::task::JoinHandle;

use crate::config::SimConfig;
use crate::pipeline;
use crate::routes;
use crate::state::AppState;
use crate::webhooks::Notifier;

/// Request bodies up to this size are accepted.
const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// A running simulator. Stop it with [`RunningSim::stop`]; dropping it stops it too, without
/// waiting.
pub struct RunningSim {
    /// The bound address.
    pub addr: SocketAddr,
    /// `http://127.0.0.1:PORT` (no trailing slash): the `DD_URL` to give a client.
    pub base_url: String,
    handle: ServerHandle,
    server: Option<JoinHandle<std::io::Result<()>>>,
    webhooks: Option<JoinHandle<()>>,
}

impl RunningSim {
    /// Stops accepting connections, lets in-flight requests finish (1 s at most) and waits for
    /// the server to shut down. Queued webhook deliveries are dropped.
    pub async fn stop(mut self) {
        self.handle.stop(true).await;
        if let Some(server) = self.server.take() {
            if let Err(e) = server.await {
                tracing::warn!(error = %e, "simulator server task failed");
            }
        }
        if let Some(webhooks) = self.webhooks.take() {
            webhooks.abort();
        }
    }
}

impl Drop for RunningSim {
    fn drop(&mut self) {
        if self.server.is_some() {
            // sends the stop command right away; the returned future only waits for it
            drop(self.handle.stop(false));
        }
        if let Some(webhooks) = self.webhooks.take() {
            webhooks.abort();
        }
    }
}

/// Binds `127.0.0.1:0` and starts a simulator there.
pub async fn spawn(config: SimConfig) -> anyhow::Result<RunningSim> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("binding 127.0.0.1:0")?;
    spawn_on(config, listener).await
}

/// The URL clients should use for a bound address (a wildcard bind is reached via loopback).
fn base_url_for(addr: SocketAddr) -> String {
    let reachable = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::new(Ipv4Addr::LOCALHOST.into(), addr.port())
        }
        IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::new(Ipv6Addr::LOCALHOST.into(), addr.port())
        }
        _ => addr,
    };
    format!("http://{reachable}")
}

/// Starts a simulator on an already bound listener. Must be called inside a tokio runtime;
/// the server and the webhook sender run as tasks of that runtime.
pub async fn spawn_on(config: SimConfig, listener: TcpListener) -> anyhow::Result<RunningSim> {
    listener
        .set_nonblocking(true)
        .context("setting the listener non-blocking")?;
    let addr = listener.local_addr().context("reading the bound address")?;
    let base_url = base_url_for(addr);
    let site_url = config
        .site_url
        .clone()
        .unwrap_or_else(|| base_url.clone())
        .trim_end_matches('/')
        .to_string();
    let (notifier, webhook_task) = Notifier::start(config.webhook.clone(), site_url);
    let state = web::Data::new(AppState::new(&config, notifier));

    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .app_data(web::PayloadConfig::new(MAX_BODY_BYTES))
            .wrap(from_fn(pipeline::log_requests))
            .configure(routes::configure)
    })
    .workers(2)
    .disable_signals()
    .shutdown_timeout(1)
    .listen(listener)
    .context("starting the HTTP server")?
    .run();
    let handle = server.handle();
    let server = tokio::spawn(server);

    Ok(RunningSim {
        addr,
        base_url,
        handle,
        server: Some(server),
        webhooks: Some(webhook_task),
    })
}
