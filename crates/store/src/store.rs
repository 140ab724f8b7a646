//! `Store`: the connection pool. Opening a database never creates or
//! migrates it ([`Store::connect`] checks its schema version and refuses a
//! mismatch); [`Store::migrate`] is the one call that does, run by
//! `wstgctl migrate` and by test harnesses.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::AnyPoolOptions;
use sqlx::AnyPool;

use crate::error::StoreError;
use crate::migrations;
use crate::schema::{self, SchemaMismatch, SchemaState};
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
    /// Opens the existing database at `database_url` and checks that its
    /// schema is the one this build needs.
    ///
    /// Nothing is created: a missing SQLite file is [`StoreError::Missing`],
    /// a database without this build's schema (empty, older or newer) is
    /// [`StoreError::Schema`], whose message names `wstgctl migrate`.
    /// `sqlite://data/wstg.db?mode=rwc` is a file (relative to the working
    /// directory; `sqlite:///abs/path.db` for an absolute one);
    /// `postgres://user:password@host:5432/db` is a server. The password
    /// never appears in errors, logs or `Debug` output.
    pub async fn connect(database_url: &str) -> Result<Store, StoreError> {
        Store::connect_with(database_url, &StoreOptions::default()).await
    }

    /// [`Store::connect`] with explicit pool settings.
    pub async fn connect_with(
        database_url: &str,
        options: &StoreOptions,
    ) -> Result<Store, StoreError> {
        let store = Store::open(database_url, options).await?;
        let state = schema::state(&store.pool, store.backend).await?;
        if !state.is_current() {
            store.close().await;
            return Err(StoreError::Schema(SchemaMismatch {
                target: store.target.to_string(),
                state,
                expected: schema::expected_version(),
            }));
        }
        tracing::info!(backend = %store.backend, target = %store.target, "store connected");
        Ok(store)
    }

    /// Creates the database if it is missing (the SQLite file and its
    /// directory, in WAL mode; a PostgreSQL database must exist) and applies
    /// the pending migrations. Idempotent; safe to run from several
    /// processes at once. Refuses a database migrated by a newer build.
    pub async fn migrate(database_url: &str) -> Result<Migration, StoreError> {
        Store::migrate_with(database_url, &StoreOptions::default()).await
    }

    /// [`Store::migrate`] with explicit pool settings.
    pub async fn migrate_with(
        database_url: &str,
        options: &StoreOptions,
    ) -> Result<Migration, StoreError> {
        sqlx::any::install_default_drivers();
        let target = Target::parse(database_url)?;
        if target.backend == Backend::Sqlite {
            sqlite::prepare(database_url, &target).await?;
        }
        let store = Store::open(database_url, options).await?;
        let before = schema::state(&store.pool, store.backend).await?;
        if matches!(
            before,
            SchemaState::Newer { .. } | SchemaState::Dirty { .. }
        ) {
            store.close().await;
            return Err(StoreError::Schema(SchemaMismatch {
                target: target.redacted,
                state: before,
                expected: schema::expected_version(),
            }));
        }
        migrations::apply(database_url, &target, options.acquire_timeout).await?;
        let after = schema::state(&store.pool, store.backend).await?;
        store.close().await;
        let applied_before = match &before {
            SchemaState::Current { .. } => schema::known_versions(),
            SchemaState::Older { missing, .. } => schema::known_versions()
                .into_iter()
                .filter(|v| !missing.contains(v))
                .collect(),
            _ => Vec::new(),
        };
        let applied = schema::known_versions()
            .into_iter()
            .filter(|v| !applied_before.contains(v))
            .collect();
        let SchemaState::Current { version } = after else {
            return Err(StoreError::Schema(SchemaMismatch {
                target: target.redacted,
                state: after,
                expected: schema::expected_version(),
            }));
        };
        tracing::info!(target = %target, version, ?applied, "schema migrated");
        Ok(Migration {
            target: target.redacted,
            version,
            applied,
        })
    }

    /// How the schema of the database at `database_url` stands, without
    /// creating or changing anything (`wstgctl doctor`, tests).
    pub async fn schema_state(database_url: &str) -> Result<SchemaState, StoreError> {
        let store = Store::open(database_url, &StoreOptions::default()).await?;
        let state = schema::state(&store.pool, store.backend).await;
        store.close().await;
        state
    }

    /// The pool on an existing database, schema unchecked.
    async fn open(database_url: &str, options: &StoreOptions) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let target = Target::parse(database_url)?;
        if let Some(file) = &target.sqlite_file {
            // Checked here rather than left to SQLite: with `mode=rwc` (the
            // default URL) the driver would create an empty file.
            if !file.is_file() {
                return Err(StoreError::Missing { path: file.clone() });
            }
        }
        let pool = pool_options(target.backend, options)
            .connect(database_url)
            .await
            .map_err(StoreError::connect(&target))?;
        Ok(Store {
            pool,
            backend: target.backend,
            target: target.redacted.into(),
        })
    }

    /// The redacted target (no password), for messages.
    pub fn target(&self) -> &str {
        &self.target
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

/// What [`Store::migrate`] did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Migration {
    /// The redacted target.
    pub target: String,
    /// The schema version now.
    pub version: i64,
    /// The migrations this run applied (empty when it was current).
    pub applied: Vec<i64>,
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
