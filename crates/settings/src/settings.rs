//! `Settings`: the commented defaults in `config/default.toml`, then the file
//! named by `WSTG_CONFIG`, then the environment variables in [`ENV_VARS`].
//!
//! Values are parsed into domain types here, so a service that started has a
//! valid configuration; what is wrong is reported by key and env var name.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use config::{Config, File, FileFormat};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use wstg_domain::{CatalogueVersion, ConflictPolicy, ProjectName};

const DEFAULTS: &str = include_str!("../../../config/default.toml");

/// Every environment variable the services read, the key it sets, and what
/// it means. docs/configuration.md is this table.
pub const ENV_VARS: &[(&str, &str, &str)] = &[
    (
        "WSTG_CONFIG",
        "-",
        "path of a TOML file layered over the defaults",
    ),
    (
        "WSTG_CATALOGUE_VERSION",
        "catalogue_version",
        "WSTG catalogue: 4.2, latest, tracker-2025-03-29",
    ),
    (
        "WSTG_DEFAULT_PROJECT",
        "default_project",
        "project of events that name none",
    ),
    ("WSTG_REDIS_URL", "redis.url", "Redis URL (the queue)"),
    (
        "WSTG_KEY_PREFIX",
        "redis.key_prefix",
        "prefix of every Redis key",
    ),
    (
        "WSTG_DATABASE_URL",
        "database.url",
        "sqlite:///abs/path.db or sqlite://rel/path.db (created when missing), or postgres://…",
    ),
    ("WSTG_DOJO_URL", "dojo.url", "DefectDojo base URL"),
    (
        "WSTG_DOJO_TOKEN",
        "dojo.token",
        "DefectDojo API v2 key (secret)",
    ),
    (
        "WSTG_DOJO_TIMEOUT_SECS",
        "dojo.timeout_secs",
        "DefectDojo call timeout",
    ),
    (
        "WSTG_DOJO_NOTES_FIELD",
        "dojo.notes_field",
        "finding field holding the notes",
    ),
    (
        "WSTG_DOJO_SEVERITY",
        "dojo.severity",
        "severity of created findings",
    ),
    (
        "WSTG_DOJO_PRODUCT_TYPE",
        "dojo.product_type",
        "product type name",
    ),
    ("WSTG_DOJO_ENGAGEMENT", "dojo.engagement", "engagement name"),
    ("WSTG_DOJO_TEST_TYPE", "dojo.test_type", "test type name"),
    (
        "WSTG_INGEST_ADDR",
        "ingest.addr",
        "address wstg-ingest listens on",
    ),
    (
        "WSTG_INGEST_TOKEN",
        "ingest.token",
        "bearer token required from the tracker (secret)",
    ),
    (
        "WSTG_ADMIN_TOKEN",
        "ingest.admin_token",
        "bearer token of the admin endpoints (dead letters); unset: they refuse every call (secret)",
    ),
    (
        "WSTG_CORS_ORIGINS",
        "ingest.cors_origins",
        "allowed browser origins, comma-separated",
    ),
    (
        "WSTG_MAX_BODY_BYTES",
        "ingest.max_body_bytes",
        "largest request body",
    ),
    (
        "WSTG_WEBHOOK_KEY",
        "ingest.webhook_key",
        "key DefectDojo's webhook must present (secret)",
    ),
    (
        "WSTG_WEBHOOK_HEADER",
        "ingest.webhook_header",
        "header carrying the webhook key",
    ),
    (
        "WSTG_WORKER_CONCURRENCY",
        "worker.concurrency",
        "items applied at once per worker",
    ),
    (
        "WSTG_WORKER_BATCH",
        "worker.batch",
        "entries read per XREADGROUP",
    ),
    (
        "WSTG_WORKER_BLOCK_MS",
        "worker.block_ms",
        "XREADGROUP BLOCK time",
    ),
    (
        "WSTG_CLAIM_MIN_IDLE_SECS",
        "worker.claim_min_idle_secs",
        "idle time before a stuck message is reclaimed",
    ),
    (
        "WSTG_MAX_DELIVERIES",
        "worker.max_deliveries",
        "deliveries before a poison message is dead-lettered",
    ),
    (
        "WSTG_ITEM_WRITE_INTERVAL_MS",
        "worker.item_write_interval_ms",
        "least time between two DefectDojo writes to one item (coalescing)",
    ),
    (
        "WSTG_SHUTDOWN_DEADLINE_SECS",
        "worker.shutdown_deadline_secs",
        "time in-flight work gets after SIGTERM",
    ),
    (
        "WSTG_POLL_INTERVAL_SECS",
        "poller.interval_secs",
        "seconds between DefectDojo polls",
    ),
    (
        "WSTG_CONFLICT_POLICY",
        "poller.conflict_policy",
        "dojo_wins, tracker_wins, newest_wins",
    ),
    ("WSTG_LOG_FORMAT", "log.format", "human or json"),
    ("WSTG_LOG", "log.level", "tracing filter, e.g. info"),
];

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("configuration could not be read: {0}")]
    Read(String),
    #[error("{key} ({env}): {reason}")]
    Invalid {
        key: &'static str,
        env: &'static str,
        reason: String,
    },
    #[error("{key} ({env}) is required by {service}")]
    Missing {
        key: &'static str,
        env: &'static str,
        service: &'static str,
    },
}

fn env_of(key: &str) -> &'static str {
    ENV_VARS
        .iter()
        .find(|(_, k, _)| *k == key)
        .map(|(e, _, _)| *e)
        .unwrap_or("-")
}

fn invalid(key: &'static str, reason: impl fmt::Display) -> SettingsError {
    SettingsError::Invalid {
        key,
        env: env_of(key),
        reason: reason.to_string(),
    }
}

/// A value of the wrong type ("5s" for a number of seconds) is reported
/// like every other invalid value: by key and environment variable.
fn read_error(e: config::ConfigError) -> SettingsError {
    if let config::ConfigError::Type {
        key: Some(key),
        unexpected,
        expected,
        ..
    } = &e
    {
        if let Some((_, key, _)) = ENV_VARS.iter().find(|(_, k, _)| k == key) {
            return invalid(key, format!("{unexpected} is not {expected}"));
        }
    }
    SettingsError::Read(e.to_string())
}

/// The raw, stringly shape of the file, before parsing into domain types.
#[derive(Deserialize)]
struct Raw {
    catalogue_version: String,
    default_project: String,
    redis: RawRedis,
    database: RawDatabase,
    dojo: RawDojo,
    ingest: RawIngest,
    worker: WorkerSettings,
    poller: RawPoller,
    log: RawLog,
}
#[derive(Deserialize)]
struct RawRedis {
    url: String,
    key_prefix: String,
}
#[derive(Deserialize)]
struct RawDatabase {
    url: String,
}
#[derive(Deserialize)]
struct RawDojo {
    url: String,
    token: Option<String>,
    timeout_secs: u64,
    notes_field: String,
    severity: String,
    product_type: String,
    engagement: String,
    test_type: String,
}
#[derive(Deserialize)]
struct RawIngest {
    addr: String,
    token: Option<String>,
    cors_origins: Vec<String>,
    max_body_bytes: usize,
    webhook_key: Option<String>,
    webhook_header: String,
    admin_token: Option<String>,
}
#[derive(Deserialize)]
struct RawPoller {
    interval_secs: u64,
    conflict_policy: String,
}
#[derive(Deserialize)]
struct RawLog {
    format: String,
    level: String,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub catalogue_version: CatalogueVersion,
    pub default_project: ProjectName,
    pub redis: RedisSettings,
    pub database: DatabaseSettings,
    pub dojo: DojoSettings,
    pub ingest: IngestSettings,
    pub worker: WorkerSettings,
    pub poller: PollerSettings,
    pub log: LogSettings,
}

#[derive(Clone)]
pub struct RedisSettings {
    pub url: String,
    pub key_prefix: String,
}

#[derive(Clone)]
pub struct DatabaseSettings {
    pub url: String,
}

#[derive(Debug, Clone)]
pub struct DojoSettings {
    pub url: url::Url,
    pub token: Option<SecretString>,
    pub timeout: Duration,
    pub notes_field: String,
    pub severity: String,
    pub product_type: String,
    pub engagement: String,
    pub test_type: String,
}

#[derive(Debug, Clone)]
pub struct IngestSettings {
    pub addr: SocketAddr,
    pub token: Option<SecretString>,
    pub cors_origins: Vec<String>,
    pub max_body_bytes: usize,
    pub webhook_key: Option<SecretString>,
    pub webhook_header: String,
    /// Required by the admin endpoints; `None`: they refuse every call.
    pub admin_token: Option<SecretString>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct WorkerSettings {
    pub concurrency: usize,
    pub batch: usize,
    pub block_ms: u64,
    pub claim_min_idle_secs: u64,
    pub max_deliveries: u32,
    /// After SIGTERM, how long in-flight work may run before it is left,
    /// unacknowledged, for another replica.
    pub shutdown_deadline_secs: u64,
    /// Least time between two DefectDojo writes to one item.
    pub item_write_interval_ms: u64,
}

#[derive(Debug, Clone)]
pub struct PollerSettings {
    pub interval: Duration,
    pub conflict_policy: ConflictPolicy,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Human,
    Json,
}

#[derive(Debug, Clone)]
pub struct LogSettings {
    pub format: LogFormat,
    pub level: String,
}

/// URLs may carry passwords: show them with the password masked.
fn redact_url(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => raw.to_owned(),
    }
}

impl fmt::Debug for RedisSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisSettings")
            .field("url", &redact_url(&self.url))
            .field("key_prefix", &self.key_prefix)
            .finish()
    }
}

impl fmt::Debug for DatabaseSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatabaseSettings")
            .field("url", &redact_url(&self.url))
            .finish()
    }
}

impl DatabaseSettings {
    /// The URL with any password masked, for logs.
    pub fn redacted_url(&self) -> String {
        redact_url(&self.url)
    }
}

impl RedisSettings {
    pub fn redacted_url(&self) -> String {
        redact_url(&self.url)
    }
}

fn secret(v: Option<String>) -> Option<SecretString> {
    v.filter(|s| !s.trim().is_empty())
        .map(|s| SecretString::from(s.trim().to_owned()))
}

impl Settings {
    /// Loads from the defaults, `WSTG_CONFIG` and the process environment.
    pub fn load() -> Result<Settings, SettingsError> {
        Self::load_from(|name| std::env::var(name).ok())
    }

    /// Loads with `env` as the environment (tests pass a map).
    pub fn load_from(env: impl Fn(&str) -> Option<String>) -> Result<Settings, SettingsError> {
        let mut builder = Config::builder().add_source(File::from_str(DEFAULTS, FileFormat::Toml));
        if let Some(path) = env("WSTG_CONFIG") {
            builder = builder.add_source(File::new(&path, FileFormat::Toml).required(true));
        }
        for (name, key, _) in ENV_VARS {
            if *key == "-" {
                continue;
            }
            let Some(value) = env(name) else { continue };
            builder = if *key == "ingest.cors_origins" {
                let list: Vec<String> = value
                    .split(',')
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
                    .collect();
                builder.set_override(*key, list)
            } else {
                builder.set_override(*key, value)
            }
            .map_err(|e| SettingsError::Read(e.to_string()))?;
        }
        let raw: Raw = builder
            .build()
            .and_then(Config::try_deserialize)
            .map_err(read_error)?;
        Self::parse(raw)
    }

    fn parse(raw: Raw) -> Result<Settings, SettingsError> {
        let catalogue_version = raw
            .catalogue_version
            .parse()
            .map_err(|e| invalid("catalogue_version", e))?;
        let default_project =
            ProjectName::parse(&raw.default_project).map_err(|e| invalid("default_project", e))?;
        for (key, url, schemes) in [
            ("redis.url", &raw.redis.url, &["redis", "rediss"][..]),
            (
                "database.url",
                &raw.database.url,
                &["sqlite", "postgres", "postgresql"][..],
            ),
        ] {
            let scheme = url.split(':').next().unwrap_or_default();
            if !schemes.contains(&scheme) {
                return Err(invalid(
                    key,
                    format!(
                        "'{}' must start with {}",
                        redact_url(url),
                        schemes.join(":// or ") + "://"
                    ),
                ));
            }
        }
        if raw.redis.key_prefix.is_empty() || raw.redis.key_prefix.contains(char::is_whitespace) {
            return Err(invalid(
                "redis.key_prefix",
                "must be non-empty and contain no blanks",
            ));
        }
        let dojo_url = url::Url::parse(&raw.dojo.url).map_err(|e| invalid("dojo.url", e))?;
        if !matches!(dojo_url.scheme(), "http" | "https") {
            return Err(invalid("dojo.url", "must be an http:// or https:// URL"));
        }
        if raw.dojo.timeout_secs == 0 {
            return Err(invalid("dojo.timeout_secs", "must be at least 1"));
        }
        const NOTES_FIELDS: [&str; 5] = [
            "mitigation",
            "description",
            "steps_to_reproduce",
            "impact",
            "references",
        ];
        if !NOTES_FIELDS.contains(&raw.dojo.notes_field.as_str()) {
            return Err(invalid(
                "dojo.notes_field",
                format!(
                    "'{}' is not one of {}",
                    raw.dojo.notes_field,
                    NOTES_FIELDS.join(", ")
                ),
            ));
        }
        const SEVERITIES: [&str; 5] = ["Info", "Low", "Medium", "High", "Critical"];
        if !SEVERITIES.contains(&raw.dojo.severity.as_str()) {
            return Err(invalid(
                "dojo.severity",
                format!(
                    "'{}' is not one of {}",
                    raw.dojo.severity,
                    SEVERITIES.join(", ")
                ),
            ));
        }
        let addr: SocketAddr = raw
            .ingest
            .addr
            .parse()
            .map_err(|e| invalid("ingest.addr", format!("'{}': {e}", raw.ingest.addr)))?;
        if raw.ingest.max_body_bytes < 1024 {
            return Err(invalid("ingest.max_body_bytes", "must be at least 1024"));
        }
        if raw.ingest.webhook_header.trim().is_empty() {
            return Err(invalid("ingest.webhook_header", "must name a header"));
        }
        let w = &raw.worker;
        if w.concurrency == 0 || w.batch == 0 || w.max_deliveries == 0 {
            return Err(invalid(
                "worker.concurrency",
                "worker concurrency, batch and max_deliveries must be at least 1",
            ));
        }
        // A message is reclaimed from a live worker if a DefectDojo call can
        // outlast the idle time: that would apply it twice at once.
        if w.claim_min_idle_secs <= raw.dojo.timeout_secs + 5 {
            return Err(invalid(
                "worker.claim_min_idle_secs",
                format!(
                    "must exceed dojo.timeout_secs + 5 s ({} s), or a slow DefectDojo call is taken over while it runs",
                    raw.dojo.timeout_secs + 5
                ),
            ));
        }
        if raw.poller.interval_secs == 0 {
            return Err(invalid("poller.interval_secs", "must be at least 1"));
        }
        let conflict_policy = raw
            .poller
            .conflict_policy
            .parse()
            .map_err(|e| invalid("poller.conflict_policy", e))?;
        let format = match raw.log.format.to_ascii_lowercase().as_str() {
            "human" | "text" | "pretty" => LogFormat::Human,
            "json" => LogFormat::Json,
            other => {
                return Err(invalid(
                    "log.format",
                    format!("'{other}' is not human or json"),
                ))
            }
        };
        Ok(Settings {
            catalogue_version,
            default_project,
            redis: RedisSettings {
                url: raw.redis.url,
                key_prefix: raw.redis.key_prefix,
            },
            database: DatabaseSettings {
                url: raw.database.url,
            },
            dojo: DojoSettings {
                url: dojo_url,
                token: secret(raw.dojo.token),
                timeout: Duration::from_secs(raw.dojo.timeout_secs),
                notes_field: raw.dojo.notes_field,
                severity: raw.dojo.severity,
                product_type: raw.dojo.product_type,
                engagement: raw.dojo.engagement,
                test_type: raw.dojo.test_type,
            },
            ingest: IngestSettings {
                addr,
                token: secret(raw.ingest.token),
                cors_origins: raw.ingest.cors_origins,
                max_body_bytes: raw.ingest.max_body_bytes,
                webhook_key: secret(raw.ingest.webhook_key),
                webhook_header: raw.ingest.webhook_header,
                admin_token: secret(raw.ingest.admin_token),
            },
            worker: raw.worker,
            poller: PollerSettings {
                interval: Duration::from_secs(raw.poller.interval_secs),
                conflict_policy,
            },
            log: LogSettings {
                format,
                level: raw.log.level,
            },
        })
    }

    /// The DefectDojo token, or the error a service that needs it reports.
    pub fn require_dojo_token(
        &self,
        service: &'static str,
    ) -> Result<&SecretString, SettingsError> {
        match &self.dojo.token {
            Some(t) if !t.expose_secret().is_empty() => Ok(t),
            _ => Err(SettingsError::Missing {
                key: "dojo.token",
                env: "WSTG_DOJO_TOKEN",
                service,
            }),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn load(vars: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::load_from(|k| map.get(k).cloned())
    }

    #[test]
    fn the_defaults_alone_are_a_valid_configuration() {
        let s = load(&[]).unwrap();
        assert_eq!(s.catalogue_version, CatalogueVersion::V4_2);
        assert_eq!(s.redis.key_prefix, "wstg");
        assert!(s.database.url.starts_with("sqlite://"));
        assert_eq!(s.poller.conflict_policy, ConflictPolicy::DojoWins);
        assert!(
            s.ingest.webhook_key.is_none(),
            "there is no default webhook key"
        );
        assert!(
            s.ingest.admin_token.is_none(),
            "there is no default admin token"
        );
    }

    #[test]
    fn environment_variables_override_the_file() {
        let s = load(&[
            ("WSTG_REDIS_URL", "redis://10.0.0.1:6380"),
            ("WSTG_KEY_PREFIX", "t1"),
            ("WSTG_DATABASE_URL", "postgres://u:p@db/wstg"),
            ("WSTG_DOJO_URL", "https://dojo.example"),
            ("WSTG_DOJO_TOKEN", "abc"),
            ("WSTG_INGEST_ADDR", "0.0.0.0:9000"),
            ("WSTG_INGEST_TOKEN", "tt"),
            ("WSTG_WEBHOOK_KEY", "wk"),
            ("WSTG_CORS_ORIGINS", "http://a, http://b"),
            ("WSTG_CATALOGUE_VERSION", "latest"),
            ("WSTG_POLL_INTERVAL_SECS", "3"),
        ])
        .unwrap();
        assert_eq!(s.redis.url, "redis://10.0.0.1:6380");
        assert_eq!(s.redis.key_prefix, "t1");
        assert_eq!(s.ingest.addr.port(), 9000);
        assert_eq!(s.ingest.cors_origins, vec!["http://a", "http://b"]);
        assert_eq!(s.catalogue_version, CatalogueVersion::Latest);
        assert_eq!(s.poller.interval, Duration::from_secs(3));
        assert_eq!(s.require_dojo_token("test").unwrap().expose_secret(), "abc");
    }

    #[test]
    fn errors_name_the_key_and_the_variable() {
        let err = load(&[("WSTG_CATALOGUE_VERSION", "3.0")])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("catalogue_version") && err.contains("WSTG_CATALOGUE_VERSION"),
            "{err}"
        );
        let err = load(&[("WSTG_INGEST_ADDR", "nowhere")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("WSTG_INGEST_ADDR"), "{err}");
        let err = load(&[("WSTG_CONFLICT_POLICY", "coin_flip")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("WSTG_CONFLICT_POLICY"), "{err}");
        let err = load(&[("WSTG_DATABASE_URL", "mysql://x")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("WSTG_DATABASE_URL"), "{err}");
        let err = load(&[("WSTG_POLL_INTERVAL_SECS", "5s")])
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "poller.interval_secs (WSTG_POLL_INTERVAL_SECS): string \"5s\" is not an integer"
        );
        let err = load(&[])
            .unwrap()
            .require_dojo_token("wstg-worker")
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "dojo.token (WSTG_DOJO_TOKEN) is required by wstg-worker"
        );
    }

    #[test]
    fn secrets_and_passwords_never_show_in_debug_output() {
        let s = load(&[
            ("WSTG_DOJO_TOKEN", "dojo-secret-token"),
            ("WSTG_INGEST_TOKEN", "ingest-secret-token"),
            ("WSTG_WEBHOOK_KEY", "webhook-secret-key"),
            ("WSTG_ADMIN_TOKEN", "admin-secret-token"),
            ("WSTG_DATABASE_URL", "postgres://u:db-password@db/wstg"),
            ("WSTG_REDIS_URL", "redis://:redis-password@r:6379"),
        ])
        .unwrap();
        let dump = format!("{s:?}");
        for secret in [
            "dojo-secret-token",
            "ingest-secret-token",
            "webhook-secret-key",
            "admin-secret-token",
            "db-password",
            "redis-password",
        ] {
            assert!(!dump.contains(secret), "{secret} leaked in {dump}");
        }
    }

    #[test]
    fn a_claim_idle_time_shorter_than_a_dojo_call_is_refused() {
        let err = load(&[("WSTG_CLAIM_MIN_IDLE_SECS", "10")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("WSTG_CLAIM_MIN_IDLE_SECS"), "{err}");
    }
}
