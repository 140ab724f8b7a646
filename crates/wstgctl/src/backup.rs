//! `wstgctl backup --to PATH`: a consistent copy of the store while the
//! services run. SQLite: `VACUUM INTO` (one read transaction, so the WAL's
//! contents are in the copy). PostgreSQL: this command does not run pg_dump
//! (its version must match the server's, and where the dump goes is the
//! operator's policy); it prints the command to run and exits 2.

use std::path::Path;

use serde_json::json;
use wstg_settings::Settings;
use wstg_store::Backend;

use crate::exit::CliError;
use crate::open;
use crate::output::Out;

pub async fn run(settings: &Settings, out: Out, to: &Path) -> anyhow::Result<()> {
    let store = open::store(settings).await?;
    if store.backend() == Backend::Postgres {
        return Err(CliError::Usage(format!(
            "{} is PostgreSQL: wstgctl backs up SQLite only. Back it up with PostgreSQL's own tool, e.g. \
             `pg_dump --format=custom --file {} \"$WSTG_DATABASE_URL\"` (restore with pg_restore; see docs/operations.md)",
            store.target(),
            to.display()
        ))
        .into());
    }
    if to.exists() {
        return Err(
            CliError::Usage(format!("{} exists already: name a new file", to.display())).into(),
        );
    }
    store.backup_to(to).await?;
    let bytes = std::fs::metadata(to).map(|m| m.len()).ok();
    out.done(
        format!(
            "backed up {} to {}{}",
            store.target(),
            to.display(),
            bytes.map(|b| format!(" ({b} bytes)")).unwrap_or_default()
        ),
        &json!({ "source": store.target(), "backup": to, "bytes": bytes }),
    )
}
