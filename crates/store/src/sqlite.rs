//! What SQLite needs before several processes can share one file: the
//! directory, WAL journaling, and per-connection settings that make
//! concurrent writers wait instead of failing.

use std::time::{Duration, Instant};

use sqlx::AnyConnection;
use sqlx::{Connection, Executor};

use crate::error::{is_transient_sqlx, StoreError};
use crate::target::Target;

/// How long a statement waits for another connection's write lock before it
/// fails with SQLITE_BUSY. The ingest API and the workers write to one file;
/// each write is a single short statement, so waiting is always right. Longer
/// than sqlx's 5 s default to ride out slow disks under test load.
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Connections per process. SQLite admits one writer at a time, so more
/// connections only add lock contention; a few let reads run beside a write.
pub(crate) const MAX_CONNECTIONS: u32 = 4;

/// Creates the directory of the database file (the default lives under
/// `./data`, which a fresh checkout does not have) and switches the file to
/// WAL journaling.
pub(crate) async fn prepare(database_url: &str, target: &Target) -> Result<(), StoreError> {
    let Some(file) = &target.sqlite_file else {
        return Ok(());
    };
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(|error| StoreError::CreateDir {
                path: dir.to_owned(),
                error,
            })?;
    }
    if creates_file(database_url) {
        create_file(file)?;
    }
    enable_wal(database_url, target).await
}

/// Whether the URL lets the file be created: no `mode=` (what a user
/// writes, `sqlite:///path/x.db`) or `mode=rwc`. `mode=ro` / `mode=rw` ask
/// for an existing file and are left to fail as they say.
fn creates_file(database_url: &str) -> bool {
    let mode = database_url
        .split_once('?')
        .and_then(|(_, params)| params.split('&').find_map(|kv| kv.strip_prefix("mode=")));
    matches!(mode, None | Some("rwc"))
}

/// Creates a missing database file (SQLite takes an empty file as an empty
/// database). Done here rather than by the driver so that a directory we
/// cannot write to is reported by path and reason, not as SQLite's bare
/// "unable to open database file".
fn create_file(file: &std::path::Path) -> Result<(), StoreError> {
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(file)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(error) => Err(StoreError::CreateFile {
            path: file.to_owned(),
            error,
        }),
    }
}

/// Per-connection settings, run on every new connection. sqlx's Any driver
/// builds SQLite options from the URL alone, so they cannot be set there.
pub(crate) async fn configure(conn: &mut AnyConnection) -> Result<(), sqlx::Error> {
    conn.execute(format!("PRAGMA busy_timeout = {}", BUSY_TIMEOUT.as_millis()).as_str())
        .await?;
    // sqlx turns foreign keys on by default already; say so rather than rely on it.
    conn.execute("PRAGMA foreign_keys = ON").await?;
    // `synchronous` stays at its FULL default: a worker acknowledges a queue
    // event once the store has it, so a commit must survive power loss.
    Ok(())
}

/// WAL lets readers (the API, the poller) run beside the one writer, and is
/// a property of the file, so setting it once suffices. Switching needs an
/// exclusive lock that SQLite's busy timeout does not wait for, so when
/// several processes start together we retry here.
async fn enable_wal(database_url: &str, target: &Target) -> Result<(), StoreError> {
    let mut conn = AnyConnection::connect(database_url)
        .await
        .map_err(StoreError::connect(target))?;
    configure(&mut conn)
        .await
        .map_err(StoreError::connect(target))?;
    let deadline = Instant::now() + BUSY_TIMEOUT;
    let result = loop {
        let current: Result<String, _> = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(&mut conn)
            .await;
        let attempt = match current {
            Ok(mode) if mode.eq_ignore_ascii_case("wal") => Ok(mode),
            Ok(_) => {
                sqlx::query_scalar::<_, String>("PRAGMA journal_mode = WAL")
                    .fetch_one(&mut conn)
                    .await
            }
            Err(e) => Err(e),
        };
        match attempt {
            Err(e) if is_transient_sqlx(&e) && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
            other => break other,
        }
    };
    let _ = conn.close().await;
    let mode = result.map_err(StoreError::connect(target))?;
    if !mode.eq_ignore_ascii_case("wal") {
        // Some file systems (network mounts) cannot do WAL; SQLite then keeps
        // a rollback journal, which still serialises writers correctly.
        tracing::warn!(target = %target, journal_mode = %mode, "SQLite refused WAL journaling");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::Store;

    #[tokio::test]
    async fn pooled_connections_wait_for_locks_and_enforce_foreign_keys() {
        let db = test_support::fresh_sqlite();
        Store::migrate(&db.url).await.unwrap();
        let store = Store::connect(&db.url).await.unwrap();
        // Every pooled connection, not only the first: hold several at once.
        let mut held = Vec::new();
        for _ in 0..MAX_CONNECTIONS {
            held.push(store.pool.acquire().await.unwrap());
        }
        for conn in &mut held {
            let timeout: i64 = sqlx::query_scalar("PRAGMA busy_timeout")
                .fetch_one(&mut **conn)
                .await
                .unwrap();
            assert_eq!(timeout, i64::try_from(BUSY_TIMEOUT.as_millis()).unwrap());
            let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
                .fetch_one(&mut **conn)
                .await
                .unwrap();
            assert_eq!(fk, 1);
            let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
                .fetch_one(&mut **conn)
                .await
                .unwrap();
            assert_eq!(mode, "wal");
        }
    }
}
