//! The schema: one set of migrations for both backends, applied by
//! `Store::migrate` (`wstgctl migrate`), never at connect.

use std::time::Duration;

use sqlx::any::AnyPoolOptions;
use sqlx::migrate::{MigrateError, Migrator};

use crate::error::StoreError;
use crate::sqlite;
use crate::target::{Backend, Target};

/// The migrations in `crates/store/migrations`, embedded at build time.
pub static MIGRATOR: Migrator = sqlx::migrate!();

/// How often a SQLite migration is tried when several `wstgctl migrate`
/// runs (an orchestrator's init jobs, say) meet on a fresh file.
const SQLITE_ATTEMPTS: u32 = 5;

/// Applies the pending migrations (the body of `Store::migrate`).
///
/// PostgreSQL serialises concurrent migrators with an advisory lock. sqlx's
/// SQLite migrator takes no lock: when several migrations run together on a
/// new file, all but one fail (table exists, or the version row
/// is already there) and their transaction rolls back. Trying again then
/// finds the migrations applied, so those failures are retried.
pub(crate) async fn apply(
    database_url: &str,
    target: &Target,
    connect_timeout: Duration,
) -> Result<(), StoreError> {
    let mut attempt = 1;
    loop {
        match apply_once(database_url, target, connect_timeout).await {
            Err(StoreError::Migrate { error, .. })
                if target.backend == Backend::Sqlite
                    && attempt < SQLITE_ATTEMPTS
                    && is_race(&error) =>
            {
                tracing::debug!(target = %target, attempt, %error, "migration raced another process; retrying");
                tokio::time::sleep(Duration::from_millis(50 * u64::from(attempt))).await;
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// Runs on its own one-connection pool, closed afterwards, rather than on
/// the store's pool: on PostgreSQL a failed run can leave the advisory lock
/// held by its connection, which must then be closed, not reused.
async fn apply_once(
    database_url: &str,
    target: &Target,
    connect_timeout: Duration,
) -> Result<(), StoreError> {
    let mut options = AnyPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(connect_timeout);
    if target.backend == Backend::Sqlite {
        options = options.after_connect(|conn, _meta| Box::pin(sqlite::configure(conn)));
    }
    let pool = options
        .connect(database_url)
        .await
        .map_err(StoreError::connect(target))?;
    // `run(&pool)`, not `run(&mut conn)`: the latter's `Acquire` bound makes
    // the future non-`Send` for callers that spawn `Store::connect`.
    let result = MIGRATOR.run(&pool).await;
    pool.close().await;
    result.map_err(|error| StoreError::Migrate {
        target: target.redacted.clone(),
        error,
    })
}

/// A failure to execute, as opposed to a history that does not match this
/// build (modified or missing migrations), which no retry fixes.
fn is_race(error: &MigrateError) -> bool {
    matches!(
        error,
        MigrateError::Execute(_) | MigrateError::ExecuteMigration(..)
    )
}
