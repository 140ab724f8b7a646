//! `wstgctl migrate`: the one command that creates the database and applies
//! the schema migrations (the services and every other command only open
//! it, and refuse another schema version).

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
    let text = if done.applied.is_empty() {
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
    out.done(text, &done)
}
