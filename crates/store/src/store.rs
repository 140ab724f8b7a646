//! `Store`: the connection pool, opened and migrated in one call.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::AnyPoolOptions;
use sqlx::AnyPool;

use crate::error::StoreError;
use crate::migrations;
use crate::sqlite;
use crate::target::{Backend, Target};

/// Connections per process on PostgreSQL. Each replica (ingest API, workers,
/// poller) has its own pool, so this times the replica count must stay well
/// under the server's `max_connections` (100 by default).
const POSTGRES_MAX_CONNECTIONS: u32 = 8;

/// How the store connects. `StoreOptions::default()` suits the services.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreOptions {
    /// The most connections this process opens; `None` for the backend's
    /// default (SQLite 4: one writer at a time anyway; PostgreSQL 8, so that
    /// several replicas stay under the server's default limit of 100).
    pub max_connections: Option<u32>,
    /// How long connecting may take, including retries while the server is
    /// unreachable (a database starting beside the services), and how long
    /// a call waits for a free connection before failing transiently.
    pub acquire_timeout: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            max_connections: None,
            acquire_timeout: Duration::from_secs(30),
        }
    }
}

/// The store of sync state, project links and the audit trail. Cheap to
/// clone: clones share one pool.
#[derive(Clone)]
pub struct Store {
    pub(crate) pool: AnyPool,
    backend: Backend,
    /// The redacted target, for logs and `Debug`.
    target: Arc<str>,
}

impl fmt::Debug for Store {
    // Not derived: the pool's options hold the full URL, password included.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend)
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens `database_url` and applies pending migrations.
    ///
    /// `sqlite://data/wstg.db?mode=rwc` is a file (relative to the working
    /// directory; `sqlite:///abs/path.db` for an absolute one): its directory
    /// is created, `mode=rwc` creates the file, and it is switched to WAL
    /// journaling. `postgres://user:password@host:5432/db` is a server; the
    /// password never appears in errors, logs or `Debug` output.
    pub async fn connect(database_url: &str) -> Result<Store, StoreError> {
        Store::connect_with(database_url, &StoreOptions::default()).await
    }

    /// [`Store::connect`] with explicit pool settings.
    pub async fn connect_with(
        database_url: &str,
        options: &StoreOptions,
    ) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let target = Target::parse(database_url)?;
        if target.backend == Backend::Sqlite {
            sqlite::prepare(database_url, &target).await?;
        }
        migrations::apply(database_url, &target, options.acquire_timeout).await?;
        let pool = pool_options(target.backend, options)
            .connect(database_url)
            .await
            .map_err(StoreError::connect(&target))?;
        tracing::info!(backend = %target.backend, target = %target, "store connected");
        Ok(Store {
            pool,
            backend: target.backend,
            target: target.redacted.into(),
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Checks that the database answers (for health endpoints).
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(StoreError::query("ping"))
    }

    /// Closes the pool, waiting for connections in use to be returned. Later
    /// calls on this store (or its clones) fail.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

fn pool_options(backend: Backend, options: &StoreOptions) -> AnyPoolOptions {
    let pool = AnyPoolOptions::new().acquire_timeout(options.acquire_timeout);
    match backend {
        Backend::Sqlite => pool
            .max_connections(options.max_connections.unwrap_or(sqlite::MAX_CONNECTIONS))
            .after_connect(|conn, _meta| Box::pin(sqlite::configure(conn))),
        Backend::Postgres => {
            pool.max_connections(options.max_connections.unwrap_or(POSTGRES_MAX_CONNECTIONS))
        }
    }
}
