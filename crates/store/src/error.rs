//! `StoreError`: what failed, with enough context to act on, and never a
//! connection-string password.
//!
//! Messages carry the underlying cause in their text (callers mostly log the
//! top-level error), so the cause is deliberately not also exposed as
//! `source()`: `{:#}` chains would otherwise print it twice.

use std::path::PathBuf;

use crate::schema::SchemaMismatch;
use crate::target::Target;

/// An error of the store. Database targets appear only in their redacted form
/// (`postgres://user@host:5432/db`, or the SQLite file path).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database URL could not be understood. The URL itself is not
    /// repeated: it may hold a password.
    #[error("invalid database URL: {reason}")]
    InvalidUrl { reason: String },

    #[error("cannot create the directory {} for the SQLite database: {error}", path.display())]
    CreateDir {
        path: PathBuf,
        error: std::io::Error,
    },

    #[error("cannot create the SQLite database file {}: {error} (make its directory writable, or point WSTG_DATABASE_URL at a writable place)", path.display())]
    CreateFile {
        path: PathBuf,
        error: std::io::Error,
    },

    /// `Store::connect` never creates a database: `wstgctl migrate` does.
    #[error("no SQLite database at {}: create it with `wstgctl migrate` (or point WSTG_DATABASE_URL at the existing one)", path.display())]
    Missing { path: PathBuf },

    /// The database's schema is not this build's (see [`SchemaMismatch`]).
    #[error("{0}")]
    Schema(SchemaMismatch),

    /// `Store::backup_to` on a backend it cannot copy itself.
    #[error("{0}")]
    BackupUnsupported(String),

    #[error("cannot connect to {target}: {error}")]
    Connect { target: String, error: sqlx::Error },

    #[error("cannot apply the schema migrations to {target}: {error}")]
    Migrate {
        target: String,
        error: sqlx::migrate::MigrateError,
    },

    /// A statement failed; `operation` names the store call and its item.
    #[error("{operation} failed: {error}")]
    Query {
        operation: String,
        error: sqlx::Error,
    },

    /// A stored value does not parse back (edited by hand, or written by a
    /// newer version of wstg-bridge).
    #[error("stored {what} is invalid: {detail}")]
    Corrupt { what: String, detail: String },
}

impl StoreError {
    pub(crate) fn query(operation: impl Into<String>) -> impl FnOnce(sqlx::Error) -> StoreError {
        let operation = operation.into();
        move |error| StoreError::Query { operation, error }
    }

    pub(crate) fn connect(target: &Target) -> impl FnOnce(sqlx::Error) -> StoreError {
        let target = target.redacted.clone();
        move |error| StoreError::Connect { target, error }
    }

    pub(crate) fn corrupt(what: impl Into<String>, detail: impl ToString) -> StoreError {
        StoreError::Corrupt {
            what: what.into(),
            detail: detail.to_string(),
        }
    }

    /// Whether trying again later may succeed: the database was unreachable,
    /// busy or restarting, or the pool had no free connection in time. The
    /// workers use it to retry an event rather than dead-letter it.
    pub fn is_transient(&self) -> bool {
        match self {
            StoreError::Connect { error, .. } | StoreError::Query { error, .. } => {
                is_transient_sqlx(error)
            }
            StoreError::InvalidUrl { .. }
            | StoreError::CreateDir { .. }
            | StoreError::CreateFile { .. }
            | StoreError::Migrate { .. }
            | StoreError::Missing { .. }
            | StoreError::Schema(_)
            | StoreError::BackupUnsupported(_)
            | StoreError::Corrupt { .. } => false,
        }
    }
}

pub(crate) fn is_transient_sqlx(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            matches!(
                code.as_ref(),
                // SQLite: BUSY, LOCKED and their extended codes (BUSY_RECOVERY,
                // BUSY_SNAPSHOT, BUSY_TIMEOUT, LOCKED_SHAREDCACHE).
                "5" | "6" | "261" | "517" | "773" | "262"
                // PostgreSQL: serialization failure, deadlock, shutdown,
                // cannot connect now, too many connections.
                | "40001" | "40P01" | "57P01" | "57P02" | "57P03" | "53300"
            ) || code.starts_with("08") // PostgreSQL connection exceptions
        }),
        _ => false,
    }
}
