//! `Store::backup_to`: a consistent copy of a SQLite database while the
//! services keep running.
//!
//! `VACUUM INTO` writes a new, compacted database file from one read
//! transaction, so the copy is consistent even in WAL mode with writers
//! active (copying `wstg.db` alone would miss what is still in `wstg.db-wal`).
//! PostgreSQL is backed up by its own tools (pg_dump); see
//! docs/operations.md.

use std::path::Path;

use crate::error::StoreError;
use crate::store::Store;
use crate::target::Backend;

impl Store {
    /// Writes a copy of the database to `destination`, a new file. Refuses
    /// an existing file (VACUUM INTO would, too, unless empty) and a
    /// PostgreSQL store.
    pub async fn backup_to(&self, destination: &Path) -> Result<(), StoreError> {
        if self.backend() != Backend::Sqlite {
            return Err(StoreError::BackupUnsupported(format!(
                "{} is a {} database: back it up with pg_dump (docs/operations.md)",
                self.target(),
                self.backend()
            )));
        }
        if destination.exists() {
            return Err(StoreError::BackupUnsupported(format!(
                "{} exists already: name a new file",
                destination.display()
            )));
        }
        let path = destination.to_str().ok_or_else(|| {
            StoreError::BackupUnsupported(format!(
                "{} is not valid UTF-8: name another file",
                destination.display()
            ))
        })?;
        sqlx::query("VACUUM INTO $1")
            .bind(path.to_owned())
            .execute(&self.pool)
            .await
            .map_err(StoreError::query(format!("VACUUM INTO {path}")))?;
        Ok(())
    }
}
