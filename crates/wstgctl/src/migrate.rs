//! `wstgctl migrate`: the one command that creates the database and applies
//! the schema migrations (the services and every other command only open
//! it, and refuse another schema version). It also renames Redis keys of
//! the layout before the hash tag (`P:events` → `{P}:events`, see
//! docs/redis-keys.md), which the services refuse to start beside.

use serde::Serialize;
use wstg_queue::LegacyMigration;
use wstg_settings::Settings;
use wstg_store::Store;

use crate::output::Out;

pub async fn run(settings: &Settings, out: Out) -> anyhow::Result<()> {
    let done = Store::migrate(&settings.database.url)
        .await
        .map_err(anyhow::Error::from)
        .map_err(|e| {
            e.context(format!(
                "migrating the store at {} (WSTG_DATABASE_URL)",
                settings.database.redacted_url()
            ))
        })?;
    // Opened, not connected: connecting refuses old-layout keys, and
    // renaming them is this command's job.
    let queue = crate::open::queue(settings).await?;
    let keys = queue
        .migrate_legacy_keys()
        .await
        .map_err(anyhow::Error::from)
        .map_err(|e| e.context("renaming Redis keys to the hash-tagged layout"))?;
    let mut text = if done.applied.is_empty() {
        format!(
            "{}: schema version {} is current; nothing to do",
            done.target, done.version
        )
    } else {
        format!(
            "{}: applied {} migration(s) ({}); schema version {}",
            done.target,
            done.applied.len(),
            done.applied
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            done.version
        )
    };
    if keys.renamed > 0 {
        text.push_str(&format!(
            "\nRedis: renamed {} key(s) to {}:…",
            keys.renamed,
            queue.keys().tagged()
        ));
    }
    if !keys.conflicts.is_empty() {
        anyhow::bail!(
            "Redis keys of the old layout whose new name already exists (a service of \
             this version ran before the migration): {}; move or delete them by hand \
             (docs/deploy.md, \"Upgrading the key layout\")",
            keys.conflicts.join(", ")
        );
    }
    #[derive(Serialize)]
    struct Migrated<'a, T: Serialize> {
        #[serde(flatten)]
        store: &'a T,
        redis_keys: LegacyMigration,
    }
    out.done(
        text,
        &Migrated {
            store: &done,
            redis_keys: keys,
        },
    )
}
