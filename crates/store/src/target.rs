//! Understanding a database URL without ever repeating its password: which
//! backend it names, a redacted form for logs and errors, and for SQLite the
//! file it opens.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sqlx::any::AnyConnectOptions;

use crate::error::StoreError;

/// The database behind a [`Store`](crate::Store).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Backend {
    /// An embedded file, the default: one host, several processes.
    Sqlite,
    /// A server shared by replicas across hosts.
    Postgres,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A parsed database URL.
#[derive(Clone)]
pub(crate) struct Target {
    pub backend: Backend,
    /// Printable: no password, no query parameters.
    pub redacted: String,
    /// The SQLite file; `None` for PostgreSQL.
    pub sqlite_file: Option<PathBuf>,
}

impl Target {
    pub fn parse(database_url: &str) -> Result<Target, StoreError> {
        // Parse exactly as sqlx's Any driver will, so the file we prepare is
        // the file it opens. The parse error names the problem, not the URL.
        let options =
            AnyConnectOptions::from_str(database_url).map_err(|e| StoreError::InvalidUrl {
                reason: e.to_string(),
            })?;
        let url = &options.database_url;
        match url.scheme() {
            "sqlite" => {
                // sqlx's Any driver parses the URL again for every
                // connection, and each parse of an in-memory URL names a new
                // database: the pool would not share one, nor see the
                // migrations.
                let file = sqlite_file(url.as_str())?.ok_or_else(|| StoreError::InvalidUrl {
                    reason: "in-memory SQLite is not supported; name a file \
                             (sqlite://data/wstg.db?mode=rwc)"
                        .to_owned(),
                })?;
                Ok(Target {
                    backend: Backend::Sqlite,
                    redacted: format!("sqlite:{}", file.display()),
                    sqlite_file: Some(file),
                })
            }
            "postgres" | "postgresql" => {
                let user = url.username();
                let host = url.host_str().unwrap_or("localhost");
                let port = url.port().unwrap_or(5432);
                let db = url.path().trim_start_matches('/');
                let user = if user.is_empty() {
                    String::new()
                } else {
                    format!("{user}@")
                };
                Ok(Target {
                    backend: Backend::Postgres,
                    redacted: format!("postgres://{user}{host}:{port}/{db}"),
                    sqlite_file: None,
                })
            }
            other => Err(StoreError::InvalidUrl {
                reason: format!(
                    "unsupported scheme '{other}' (expected sqlite://… or postgres://…)"
                ),
            }),
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted)
    }
}

/// The file a `sqlite:` URL opens, by the rules of sqlx-sqlite's URL parser
/// (`sqlite://data/x.db` and `sqlite:data/x.db` are the relative path
/// `data/x.db`; `sqlite:///abs/x.db` is absolute; `%xx` escapes decode).
fn sqlite_file(url: &str) -> Result<Option<PathBuf>, StoreError> {
    let rest = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    let (database, params) = match rest.split_once('?') {
        Some((d, p)) => (d, Some(p)),
        None => (rest, None),
    };
    let in_memory = database.is_empty()
        || database == ":memory:"
        || params.is_some_and(|p| p.split('&').any(|kv| kv == "mode=memory"));
    if in_memory {
        return Ok(None);
    }
    let decoded = percent_decode(database).ok_or_else(|| StoreError::InvalidUrl {
        reason: "the SQLite file name has an invalid %-escape or is not UTF-8".to_owned(),
    })?;
    Ok(Some(PathBuf::from(decoded)))
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn postgres_targets_never_show_the_password() {
        let t = Target::parse("postgres://bridge:s3cr%40t@db.example:6543/wstg?password=other")
            .unwrap();
        assert_eq!(t.backend, Backend::Postgres);
        assert_eq!(t.redacted, "postgres://bridge@db.example:6543/wstg");
        assert!(!t.redacted.contains("s3cr"));
        assert!(!t.redacted.contains("other"));
    }

    #[test]
    fn sqlite_urls_name_the_file_sqlx_opens() {
        let rel = Target::parse("sqlite://data/wstg.db?mode=rwc").unwrap();
        assert_eq!(rel.backend, Backend::Sqlite);
        assert_eq!(rel.sqlite_file, Some(PathBuf::from("data/wstg.db")));
        let abs = Target::parse("sqlite:///tmp/a%20b/x.db").unwrap();
        assert_eq!(abs.sqlite_file, Some(PathBuf::from("/tmp/a b/x.db")));
        let short = Target::parse("sqlite:data/x.db").unwrap();
        assert_eq!(short.sqlite_file, Some(PathBuf::from("data/x.db")));
        for memory in ["sqlite::memory:", "sqlite://", "sqlite://x.db?mode=memory"] {
            assert!(Target::parse(memory).is_err(), "{memory}");
        }
    }

    #[test]
    fn other_schemes_are_refused_without_echoing_the_url() {
        let err = Target::parse("mysql://root:hunter2@localhost/x")
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("unsupported scheme 'mysql'"), "{err}");
        assert!(!err.contains("hunter2"));
    }
}
