//! What every wstg-bridge process does at start: load the settings (or say
//! what is wrong and exit 2), connect to Redis, the store and DefectDojo
//! with errors that name what failed (never a secret), and stop on SIGTERM.

use std::process::ExitCode;

use anyhow::Context;
use dojo_client::{DojoClient, DojoConfig, NotesField, Severity};
use tokio_util::sync::CancellationToken;
use wstg_queue::{Queue, QueueConfig};
use wstg_store::Store;

use crate::settings::Settings;

/// The settings, or the exit code after printing why they are invalid.
pub fn load(service: &str) -> Result<Settings, ExitCode> {
    Settings::load().map_err(|e| {
        eprintln!("{service}: configuration error: {e}");
        ExitCode::from(2)
    })
}

/// A token cancelled on SIGTERM or SIGINT (call inside a Tokio runtime).
pub fn shutdown_on_signal() -> CancellationToken {
    let token = CancellationToken::new();
    let cancel = token.clone();
    tokio::spawn(async move {
        use tokio::signal::unix::{signal, SignalKind};
        let (Ok(mut term), Ok(mut int)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) else {
            return;
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        tracing::info!("shutting down");
        cancel.cancel();
    });
    token
}

/// The queue, with `tune` applied to its configuration; warns when Redis
/// could evict queue keys or does not persist them.
pub async fn queue(
    settings: &Settings,
    tune: impl FnOnce(&mut QueueConfig),
) -> anyhow::Result<Queue> {
    let mut cfg = QueueConfig::new(
        settings.redis.url.clone(),
        settings.redis.key_prefix.clone(),
    );
    cfg.blocking_pool_size = settings.redis.blocking_pool_size;
    cfg.dlq_bounds = settings.retention.dlq_bounds();
    tune(&mut cfg);
    let queue = Queue::connect(cfg)
        .await
        .with_context(|| format!("connecting to Redis at {}", settings.redis.redacted_url()))?;
    // Eviction policy and persistence (AOF): settings that lose queued work.
    queue
        .startup_warnings()
        .await
        .iter()
        .for_each(|w| tracing::warn!("{w}"));
    Ok(queue)
}

/// The store, migrated.
pub async fn store(settings: &Settings) -> anyhow::Result<Store> {
    Store::connect(&settings.database.url)
        .await
        .with_context(|| format!("opening the store at {}", settings.database.redacted_url()))
}

/// The DefectDojo client; the token is required by `service`.
pub fn dojo(settings: &Settings, service: &'static str) -> anyhow::Result<DojoClient> {
    let token = settings.require_dojo_token(service)?.clone();
    let mut cfg = DojoConfig::new(settings.dojo.url.clone(), token);
    cfg.timeout = settings.dojo.timeout;
    cfg.notes_field = notes_field(settings)?;
    cfg.severity = settings
        .dojo
        .severity
        .parse::<Severity>()
        .map_err(|e| anyhow::anyhow!("dojo.severity: {e}"))?;
    DojoClient::new(cfg).context("building the DefectDojo client")
}

/// The finding field holding the tracker notes.
pub fn notes_field(settings: &Settings) -> anyhow::Result<NotesField> {
    settings
        .dojo
        .notes_field
        .parse()
        .map_err(|e| anyhow::anyhow!("dojo.notes_field: {e}"))
}
