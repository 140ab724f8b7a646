//! Opening the store and the queue the way each kind of command may:
//! nothing here creates a database, runs a migration or makes a stream
//! (`wstgctl migrate` creates the database; `sync` and `dlq replay`, whose
//! job is to queue events, use [`queue_for_writing`]).

use std::time::Duration;

use anyhow::Context;
use wstg_domain::ProjectName;
use wstg_queue::{Queue, QueueConfig};
use wstg_settings::Settings;
use wstg_store::{normalise_project_name, Store, StoreOptions};

use crate::exit::CliError;

/// How long a command waits for the store to answer: the services wait
/// 30 s for a database starting beside them; an operator at a prompt
/// should hear sooner that it is away (exit 4).
const STORE_WAIT: Duration = Duration::from_secs(5);

/// The existing store, its schema checked (a missing database or another
/// schema version is an error naming `wstgctl migrate`).
pub async fn store(settings: &Settings) -> anyhow::Result<Store> {
    let options = StoreOptions {
        // One command at a time: a couple of connections suffice.
        max_connections: Some(2),
        acquire_timeout: STORE_WAIT,
    };
    Store::connect_with(&settings.database.url, &options)
        .await
        .with_context(|| {
            format!(
                "opening the store at {} (WSTG_DATABASE_URL)",
                settings.database.redacted_url()
            )
        })
}

fn queue_config(settings: &Settings) -> QueueConfig {
    let mut cfg = QueueConfig::new(
        settings.redis.url.clone(),
        settings.redis.key_prefix.clone(),
    );
    cfg.blocking_pool_size = settings.redis.blocking_pool_size;
    cfg
}

fn redis_context(settings: &Settings) -> String {
    format!(
        "connecting to Redis at {} (WSTG_REDIS_URL)",
        settings.redis.redacted_url()
    )
}

/// The queue for reading: no XGROUP CREATE, no stream made.
pub async fn queue(settings: &Settings) -> anyhow::Result<Queue> {
    Queue::open(queue_config(settings))
        .await
        .with_context(|| redis_context(settings))
}

/// The queue for commands that publish (sync, replay): the consumer group
/// is made if missing, as the services do.
pub async fn queue_for_writing(settings: &Settings) -> anyhow::Result<Queue> {
    Queue::connect(queue_config(settings))
        .await
        .with_context(|| redis_context(settings))
}

/// `raw` as a project that exists: the default one, one an admin added, or
/// one the bridge has synced. Malformed is a usage error, unknown is
/// "not found".
pub async fn existing_project(
    store: &Store,
    settings: &Settings,
    raw: &str,
) -> anyhow::Result<ProjectName> {
    let project = normalise_project_name(raw).with_context(|| format!("project '{raw}'"))?;
    if project == settings.default_project
        || store.registered_project(&project).await?.is_some()
        || store.project_links(&project).await?.is_some()
    {
        Ok(project)
    } else {
        Err(CliError::NotFound(format!(
            "unknown project '{project}' (create it with `wstgctl project add`; `wstgctl project list` shows them)"
        ))
        .into())
    }
}

/// `raw` as a project a token may be given: the default one or one an
/// admin created (`wstgctl project add`).
pub async fn registered_project(
    store: &Store,
    settings: &Settings,
    raw: &str,
) -> anyhow::Result<ProjectName> {
    let project = normalise_project_name(raw).with_context(|| format!("project '{raw}'"))?;
    if project == settings.default_project || store.registered_project(&project).await?.is_some() {
        Ok(project)
    } else {
        Err(CliError::NotFound(format!(
            "unknown project '{project}': create it first with `wstgctl project add`"
        ))
        .into())
    }
}
