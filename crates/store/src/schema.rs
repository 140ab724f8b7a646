//! The schema version a database holds, against the one this build needs.
//!
//! Migrations are an explicit step (`wstgctl migrate`): services and
//! read-only commands only open a database, and refuse one whose schema is
//! missing, older or newer than this build's, with a message saying what to
//! do. Running against an older schema would fail on the first missing
//! column; against a newer one it could write rows a newer version reads
//! wrongly.

use std::fmt;

use sqlx::AnyPool;

use crate::error::StoreError;
use crate::migrations::MIGRATOR;
use crate::target::Backend;

/// The schema version this build needs: its newest migration.
pub fn expected_version() -> i64 {
    known_versions().into_iter().max().unwrap_or(0)
}

/// The versions of this build's migrations, oldest first.
pub fn known_versions() -> Vec<i64> {
    MIGRATOR
        .iter()
        .filter(|m| m.migration_type.is_up_migration())
        .map(|m| m.version)
        .collect()
}

/// How a database's schema stands against this build.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum SchemaState {
    /// Every migration of this build is applied, and no other.
    Current { version: i64 },
    /// No migration was ever applied (a new, empty database).
    Empty,
    /// Some of this build's migrations are missing: `wstgctl migrate`.
    Older { version: i64, missing: Vec<i64> },
    /// Migrations this build does not know are applied: a newer
    /// wstg-bridge wrote this schema.
    Newer { version: i64, unknown: Vec<i64> },
    /// A migration failed half-way (its row says `success = false`).
    Dirty { version: i64 },
}

impl SchemaState {
    pub fn is_current(&self) -> bool {
        matches!(self, SchemaState::Current { .. })
    }
}

/// Why a database cannot be used as it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct SchemaMismatch {
    /// The redacted target.
    pub target: String,
    pub state: SchemaState,
    pub expected: i64,
}

impl fmt::Display for SchemaMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (target, expected) = (&self.target, self.expected);
        match &self.state {
            SchemaState::Current { .. } => write!(f, "the schema of {target} is current"),
            SchemaState::Empty => write!(
                f,
                "the database {target} has no schema yet (this build needs version {expected}): run `wstgctl migrate` first"
            ),
            SchemaState::Older { version, .. } => write!(
                f,
                "the database {target} is at schema version {version}, older than this build's {expected}: run `wstgctl migrate` to upgrade it"
            ),
            SchemaState::Newer { version, .. } => write!(
                f,
                "the database {target} is at schema version {version}, newer than this build's {expected} (a newer wstg-bridge migrated it): run that version, or restore a backup taken before the upgrade; `wstgctl migrate` never downgrades"
            ),
            SchemaState::Dirty { version } => write!(
                f,
                "the migration to schema version {version} of {target} failed half-way: restore a backup, or repair it by hand, then run `wstgctl migrate`"
            ),
        }
    }
}

/// Reads which migrations `pool`'s database holds.
pub(crate) async fn state(pool: &AnyPool, backend: Backend) -> Result<SchemaState, StoreError> {
    let exists_sql = match backend {
        Backend::Sqlite => {
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'"
        }
        Backend::Postgres => {
            "SELECT COUNT(*) FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_name = '_sqlx_migrations'"
        }
    };
    let exists: i64 = sqlx::query_scalar(exists_sql)
        .fetch_one(pool)
        .await
        .map_err(StoreError::query("reading the schema version"))?;
    if exists == 0 {
        return Ok(SchemaState::Empty);
    }
    // `success` is BOOLEAN on PostgreSQL and an integer on SQLite: compare
    // it the way both understand.
    let rows: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT version, CAST(CASE WHEN success THEN 1 ELSE 0 END AS BIGINT) \
         FROM _sqlx_migrations ORDER BY version",
    )
    .fetch_all(pool)
    .await
    .map_err(StoreError::query("reading the schema version"))?;
    let rows: Vec<(i64, bool)> = rows.into_iter().map(|(v, ok)| (v, ok == 1)).collect();
    Ok(compare(&rows))
}

/// Compares applied `(version, success)` rows with this build's migrations.
fn compare(applied: &[(i64, bool)]) -> SchemaState {
    if let Some((version, _)) = applied.iter().find(|(_, ok)| !ok) {
        return SchemaState::Dirty { version: *version };
    }
    let known = known_versions();
    let Some(version) = applied.iter().map(|(v, _)| *v).max() else {
        return SchemaState::Empty;
    };
    let unknown: Vec<i64> = applied
        .iter()
        .map(|(v, _)| *v)
        .filter(|v| !known.contains(v))
        .collect();
    if !unknown.is_empty() {
        return SchemaState::Newer { version, unknown };
    }
    let missing: Vec<i64> = known
        .iter()
        .copied()
        .filter(|v| !applied.iter().any(|(a, _)| a == v))
        .collect();
    if missing.is_empty() {
        SchemaState::Current { version }
    } else {
        SchemaState::Older { version, missing }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> Vec<(i64, bool)> {
        MIGRATOR.iter().map(|m| (m.version, true)).collect()
    }

    #[test]
    fn every_migration_applied_is_current() {
        assert_eq!(
            compare(&all()),
            SchemaState::Current {
                version: expected_version()
            }
        );
    }

    #[test]
    fn a_missing_migration_is_older_and_an_unknown_one_newer() {
        let mut older = all();
        let last = older.pop().map(|(v, _)| v);
        assert!(
            matches!(compare(&older), SchemaState::Older { missing, .. } if missing == last.into_iter().collect::<Vec<_>>())
        );
        let mut newer = all();
        newer.push((99_991_231_000_001, true));
        assert!(matches!(
            compare(&newer),
            SchemaState::Newer {
                version: 99_991_231_000_001,
                ..
            }
        ));
        assert_eq!(compare(&[]), SchemaState::Empty);
        let mut dirty = all();
        if let Some(last) = dirty.last_mut() {
            last.1 = false;
        }
        assert!(matches!(compare(&dirty), SchemaState::Dirty { .. }));
    }
}
