//! Connections to Redis, the store and DefectDojo, with errors that name
//! what failed (never a secret). The services wait for Redis and the store
//! ([`wait_for_queue`], [`wait_for_store`]); `wstgctl` fails at once
//! ([`queue`], [`store`]): an operator at a terminal wants the answer now.

use anyhow::Context;
use dojo_client::{DojoClient, DojoConfig, NotesField, Severity};
use wstg_queue::{DlqBounds, Queue, QueueConfig, QueueError};
use wstg_settings::{RetentionSettings, Settings};
use wstg_store::{Store, StoreError};

use crate::patience::wait_for;

/// The queue, with `tune` applied to its configuration; warns when Redis
/// could evict queue keys or does not persist them. One attempt.
pub async fn queue(
    settings: &Settings,
    tune: impl FnOnce(&mut QueueConfig),
) -> anyhow::Result<Queue> {
    let cfg = queue_config(settings, tune);
    let queue = Queue::connect(cfg)
        .await
        .with_context(|| redis_context(settings))?;
    warn_on_data_loss_settings(&queue).await;
    Ok(queue)
}

/// [`queue`], waiting while Redis is unreachable (a service starting before
/// Redis, or during its restart).
pub async fn wait_for_queue(
    settings: &Settings,
    tune: impl FnOnce(&mut QueueConfig),
) -> anyhow::Result<Queue> {
    let cfg = queue_config(settings, tune);
    let target = settings.redis.redacted_url();
    let queue = wait_for("Redis", &target, settings.startup.wait(), || {
        Queue::connect(cfg.clone())
    })
    .await
    .map_err(|e: QueueError| anyhow::Error::new(e))
    .with_context(|| redis_context(settings))?;
    warn_on_data_loss_settings(&queue).await;
    Ok(queue)
}

fn queue_config(settings: &Settings, tune: impl FnOnce(&mut QueueConfig)) -> QueueConfig {
    let mut cfg = QueueConfig::new(
        settings.redis.url.clone(),
        settings.redis.key_prefix.clone(),
    );
    cfg.blocking_pool_size = settings.redis.blocking_pool_size;
    cfg.dlq_bounds = dlq_bounds(&settings.retention);
    tune(&mut cfg);
    cfg
}

/// The dead-letter queue's bounds from `[retention]`.
pub fn dlq_bounds(retention: &RetentionSettings) -> DlqBounds {
    DlqBounds {
        max_entries: Some(retention.dlq_max_entries()),
        max_age: retention.dlq_max_age(),
    }
}

fn redis_context(settings: &Settings) -> String {
    format!("connecting to Redis at {}", settings.redis.redacted_url())
}

/// Eviction policy and persistence (AOF): Redis settings that lose queued
/// work (docs/reliability.md).
async fn warn_on_data_loss_settings(queue: &Queue) {
    queue
        .startup_warnings()
        .await
        .iter()
        .for_each(|w| tracing::warn!("{w}"));
}

/// The store, opened (never created or migrated: `wstgctl migrate` does
/// that) with its schema version checked; another version is an error
/// naming `wstgctl migrate`. One attempt.
pub async fn store(settings: &Settings) -> anyhow::Result<Store> {
    Store::connect(&settings.database.url)
        .await
        .with_context(|| store_context(settings))
}

/// [`store`], waiting while the database is unreachable.
pub async fn wait_for_store(settings: &Settings) -> anyhow::Result<Store> {
    let target = settings.database.redacted_url();
    wait_for("the store", &target, settings.startup.wait(), || {
        Store::connect(&settings.database.url)
    })
    .await
    .map_err(|e: StoreError| anyhow::Error::new(e))
    .with_context(|| store_context(settings))
}

fn store_context(settings: &Settings) -> String {
    format!("opening the store at {}", settings.database.redacted_url())
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The queue's own default bounds are the shipped configuration's, so a
    /// queue opened without settings (tests, tools) bounds alike.
    #[test]
    fn the_queue_default_dlq_bounds_are_the_configured_defaults() {
        let settings =
            Settings::load_from(std::iter::empty::<(String, String)>()).expect("defaults load");
        assert_eq!(dlq_bounds(&settings.retention), DlqBounds::default());
    }
}
