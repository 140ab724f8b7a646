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
    // Finding an existing WSTG test (a DefectDojo with history).
    (
        "WSTG_DOJO_PRODUCT",
        "dojo.product",
        "product of the default project; empty: named after the project",
    ),
    (
        "WSTG_DOJO_TEST_TITLE",
        "dojo.test_title",
        "title of the WSTG test; empty: OWASP WSTG <catalogue> checklist",
    ),
    (
        "WSTG_DOJO_TEST_TYPES",
        "dojo.test_types",
        "other test type names an existing WSTG test may have, comma-separated",
    ),
    (
        "WSTG_DOJO_WEBHOOK_URL",
        "dojo.webhook_url",
        "URL DefectDojo's webhook posts to (wstg-ingest's /api/wstg/webhook); set: the poller keeps it alive",
    ),
    (
        "WSTG_DOJO_WEBHOOK_CHECK_PASSES",
        "dojo.webhook_check_passes",
        "poller passes between two checks of DefectDojo's webhook",
    ),
    (
        "WSTG_INGEST_ADDR",
        "ingest.addr",
        "address wstg-ingest listens on",
    ),
    (
        "WSTG_INGEST_TOKEN",
        "ingest.token",
        "configured tracker token: read and write on every project (secret)",
    ),
    (
        "WSTG_ADMIN_TOKEN",
        "ingest.admin_token",
        "configured admin token: admin endpoints (dead letters, projects) and every project (secret)",
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
        "WSTG_WORKER_OPS_ADDR",
        "worker.ops_addr",
        "address of the worker's /healthz, /readyz and /metrics (port 0: any free port, printed at start)",
    ),
    (
        "WSTG_POLLER_OPS_ADDR",
        "poller.ops_addr",
        "address of the poller's /healthz, /readyz and /metrics (port 0: any free port, printed at start)",
    ),
    (
        "WSTG_METRICS_TOKEN",
        "metrics.token",
        "bearer token for /metrics on every service (secret); unset: ingest needs an admin token, ops addresses are open on loopback only",
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
    (
        "WSTG_ALLOW_ANONYMOUS",
        "auth.allow_anonymous",
        "true: requests without a token get tracker rights on every project (loopback only; never on a shared host)",
    ),
    (
        "WSTG_PUBLIC_HOST",
        "auth.public_host",
        "host name (Host header) the ingest is reached by besides loopback names; others get 421",
    ),
    (
        "WSTG_CREATE_PROJECTS_ON_DEMAND",
        "auth.create_projects_on_demand",
        "true: a write to an unknown project creates it (demo); false: 400 until an admin adds it",
    ),
    (
        "WSTG_REDIS_BLOCKING_POOL_SIZE",
        "redis.blocking_pool_size",
        "most pooled Redis connections for blocking reads (consumers, feed readers) per process",
    ),
    (
        "WSTG_MAX_STREAMS",
        "limits.max_streams",
        "most open live streams (/api/wstg/stream) per ingest process; past it 503",
    ),
    (
        "WSTG_REQUEST_TIMEOUT_MS",
        "limits.request_timeout_ms",
        "time a client has to send a request's head, and again its body; then 408 and the connection is closed",
    ),
    (
        "WSTG_MAX_CONNECTIONS",
        "limits.max_connections",
        "most open connections per ingest worker thread",
    ),
    (
        "WSTG_KEEP_ALIVE_SECS",
        "limits.keep_alive_secs",
        "idle time before a keep-alive connection is closed",
    ),
    (
        "WSTG_RATE_LIMIT_PER_SEC",
        "limits.rate_per_sec",
        "sustained requests per second per credential (or per IP when anonymous); past it 429",
    ),
    (
        "WSTG_RATE_LIMIT_BURST",
        "limits.rate_burst",
        "requests a credential may send at once before the rate applies",
    ),
    (
        "WSTG_MAX_BACKLOG",
        "limits.max_backlog",
        "events waiting on the Redis stream past which the ingest answers 503",
    ),
    (
        "WSTG_WEBHOOK_POLL_INTERVAL_SECS",
        "limits.webhook_poll_interval_secs",
        "least time between two polls forced by DefectDojo webhooks",
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
    // Any other value serde refused ("invalid socket address syntax for
    // key `worker.ops_addr`") names its key: say its variable too.
    let text = e.to_string();
    if let Some((reason, rest)) = text.split_once(" for key `") {
        let key = rest.split('`').next().unwrap_or_default();
        if let Some((_, key, _)) = ENV_VARS.iter().find(|(_, k, _)| *k == key) {
            return invalid(key, reason);
        }
    }
    SettingsError::Read(text)
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
    auth: RawAuth,
    limits: LimitSettings,
    metrics: crate::metrics::RawMetrics,
    log: RawLog,
}
#[derive(Deserialize)]
struct RawRedis {
    url: String,
    key_prefix: String,
    blocking_pool_size: usize,
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
    product: String,
    test_title: String,
    test_types: Vec<String>,
    webhook_url: Option<String>,
    webhook_check_passes: u32,
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
    ops_addr: String,
}
#[derive(Deserialize)]
struct RawAuth {
    allow_anonymous: bool,
    public_host: Option<String>,
    create_projects_on_demand: bool,
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
    pub auth: AuthSettings,
    pub limits: LimitSettings,
    pub metrics: crate::metrics::MetricsSettings,
    pub log: LogSettings,
}

#[derive(Clone)]
pub struct RedisSettings {
    pub url: String,
    pub key_prefix: String,
    /// Most pooled connections for blocking reads per process.
    pub blocking_pool_size: usize,
}

/// Bounds on what clients can make a process hold (issue 9): every
/// outside-consumable resource has one. config/default.toml explains each.
#[derive(Debug, Clone, Deserialize)]
pub struct LimitSettings {
    pub max_streams: usize,
    pub request_timeout_ms: u64,
    pub max_connections: usize,
    pub keep_alive_secs: u64,
    pub rate_per_sec: u32,
    pub rate_burst: u32,
    pub max_backlog: u64,
    pub webhook_poll_interval_secs: u64,
}

impl LimitSettings {
    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }
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
    /// Product of the default project (an existing DefectDojo's product);
    /// `None`: every product is named after its project.
    pub product: Option<String>,
    /// Title of the WSTG test; `None`: `OWASP WSTG <catalogue> checklist`.
    pub test_title: Option<String>,
    /// Other test type names an existing WSTG test may have (the original
    /// design's "WSTG Security Testing"); `test_type` is always accepted.
    pub test_types: Vec<String>,
    /// Where DefectDojo's notification webhook posts to; set: the poller
    /// checks the webhook and re-creates it when DefectDojo killed it.
    pub webhook_url: Option<url::Url>,
    /// Poller passes between two webhook checks.
    pub webhook_check_passes: u32,
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
    /// Where `/healthz`, `/readyz` and `/metrics` are served (port 0: any
    /// free port, so replicas on one host never clash).
    pub ops_addr: SocketAddr,
}

#[derive(Debug, Clone)]
pub struct PollerSettings {
    pub interval: Duration,
    pub conflict_policy: ConflictPolicy,
    /// Where `/healthz`, `/readyz` and `/metrics` are served.
    pub ops_addr: SocketAddr,
}

/// Who may call the API (docs/security.md). The configured tokens themselves
/// stay under `[ingest]` (`token`, `admin_token`); tokens made with
/// `wstgctl token create` live, hashed, in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthSettings {
    /// Requests without a token get tracker rights on every project. The
    /// ingest refuses to start with it unless it listens on loopback.
    pub allow_anonymous: bool,
    /// The host name (lowercase, no port) browsers reach the ingest by,
    /// besides `localhost`, `127.0.0.1` and `[::1]`: the Host check against
    /// DNS rebinding.
    pub public_host: Option<String>,
    /// A tracker write to a project nobody created creates it (the demo);
    /// otherwise it is refused until an admin runs `wstgctl project add`.
    pub create_projects_on_demand: bool,
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

// URLs may carry passwords: every one goes through the workspace's single
// redactor, which also copes with URLs that do not parse.
use wstg_domain::redact_url;

impl fmt::Debug for RedisSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisSettings")
            .field("url", &redact_url(&self.url))
            .field("key_prefix", &self.key_prefix)
            .field("blocking_pool_size", &self.blocking_pool_size)
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

pub(crate) fn secret(v: Option<String>) -> Option<SecretString> {
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
            builder = if *key == "ingest.cors_origins" || *key == "dojo.test_types" {
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
        let non_empty = |v: String| Some(v.trim().to_owned()).filter(|v| !v.is_empty());
        let webhook_url = match raw.dojo.webhook_url.and_then(non_empty) {
            None => None,
            Some(u) => {
                let u = url::Url::parse(&u).map_err(|e| invalid("dojo.webhook_url", e))?;
                if !matches!(u.scheme(), "http" | "https") {
                    return Err(invalid(
                        "dojo.webhook_url",
                        "must be an http:// or https:// URL",
                    ));
                }
                Some(u)
            }
        };
        if raw.dojo.webhook_check_passes == 0 {
            return Err(invalid("dojo.webhook_check_passes", "must be at least 1"));
        }
        let mut test_types: Vec<String> = Vec::new();
        for t in raw.dojo.test_types.into_iter().filter_map(non_empty) {
            if !test_types.contains(&t) {
                test_types.push(t);
            }
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
        if raw.redis.blocking_pool_size == 0 {
            return Err(invalid("redis.blocking_pool_size", "must be at least 1"));
        }
        let l = &raw.limits;
        for (key, value) in [
            ("limits.max_streams", l.max_streams as u64),
            ("limits.request_timeout_ms", l.request_timeout_ms),
            ("limits.max_connections", l.max_connections as u64),
            ("limits.rate_per_sec", u64::from(l.rate_per_sec)),
            ("limits.rate_burst", u64::from(l.rate_burst)),
            ("limits.max_backlog", l.max_backlog),
            (
                "limits.webhook_poll_interval_secs",
                l.webhook_poll_interval_secs,
            ),
        ] {
            if value == 0 {
                return Err(invalid(key, "must be at least 1"));
            }
        }
        if raw.poller.interval_secs == 0 {
            return Err(invalid("poller.interval_secs", "must be at least 1"));
        }
        let conflict_policy = raw
            .poller
            .conflict_policy
            .parse()
            .map_err(|e| invalid("poller.conflict_policy", e))?;
        let poller_ops_addr: SocketAddr =
            raw.poller.ops_addr.parse().map_err(|e| {
                invalid("poller.ops_addr", format!("'{}': {e}", raw.poller.ops_addr))
            })?;
        let public_host = match raw.auth.public_host.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(h) => {
                let h = h.to_ascii_lowercase();
                let ok = h.len() <= 253
                    && h.bytes().all(|b| {
                        b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'[' | b']' | b':')
                    });
                if !ok {
                    return Err(invalid(
                        "auth.public_host",
                        format!("'{h}' must be a bare host name such as wstg.example.org (no scheme, no path)"),
                    ));
                }
                Some(h)
            }
        };
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
                blocking_pool_size: raw.redis.blocking_pool_size,
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
                product: non_empty(raw.dojo.product),
                test_title: non_empty(raw.dojo.test_title),
                test_types,
                webhook_url,
                webhook_check_passes: raw.dojo.webhook_check_passes,
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
                ops_addr: poller_ops_addr,
            },
            auth: AuthSettings {
                allow_anonymous: raw.auth.allow_anonymous,
                public_host,
                create_projects_on_demand: raw.auth.create_projects_on_demand,
            },
            limits: raw.limits,
            metrics: crate::metrics::MetricsSettings::parse(raw.metrics),
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
    fn authentication_is_required_by_default() {
        let s = load(&[]).unwrap();
        assert!(!s.auth.allow_anonymous);
        assert!(!s.auth.create_projects_on_demand);
        assert_eq!(s.auth.public_host, None);
        let s = load(&[
            ("WSTG_ALLOW_ANONYMOUS", "true"),
            ("WSTG_PUBLIC_HOST", "WSTG.example.org"),
            ("WSTG_CREATE_PROJECTS_ON_DEMAND", "true"),
        ])
        .unwrap();
        assert!(s.auth.allow_anonymous && s.auth.create_projects_on_demand);
        assert_eq!(s.auth.public_host.as_deref(), Some("wstg.example.org"));
        let err = load(&[("WSTG_PUBLIC_HOST", "https://x/y")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("WSTG_PUBLIC_HOST"), "{err}");
    }

    #[test]
    fn wstg_test_lookup_settings_accept_the_original_design_by_default() {
        let s = load(&[]).unwrap();
        assert!(s
            .dojo
            .test_types
            .iter()
            .any(|t| t == "WSTG Security Testing"));
        assert_eq!(s.dojo.product, None);
        assert_eq!(s.dojo.test_title, None);
        assert_eq!(s.dojo.webhook_url, None);
        let s = load(&[
            ("WSTG_DOJO_PRODUCT", "Medical Register App"),
            ("WSTG_DOJO_TEST_TITLE", "Pentest 2026"),
            (
                "WSTG_DOJO_TEST_TYPES",
                "Pen Test, WSTG Security Testing,,Pen Test",
            ),
            (
                "WSTG_DOJO_WEBHOOK_URL",
                "http://bridge:8088/api/wstg/webhook",
            ),
        ])
        .unwrap();
        assert_eq!(s.dojo.product.as_deref(), Some("Medical Register App"));
        assert_eq!(s.dojo.test_title.as_deref(), Some("Pentest 2026"));
        assert_eq!(s.dojo.test_types, vec!["Pen Test", "WSTG Security Testing"]);
        assert_eq!(
            s.dojo.webhook_url.unwrap().as_str(),
            "http://bridge:8088/api/wstg/webhook"
        );
        let err = load(&[("WSTG_DOJO_WEBHOOK_URL", "ftp://x")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("WSTG_DOJO_WEBHOOK_URL"), "{err}");
    }

    #[test]
    fn ops_addresses_default_to_loopback_and_any_port() {
        let s = load(&[]).unwrap();
        assert_eq!(s.worker.ops_addr.to_string(), "127.0.0.1:0");
        assert_eq!(s.poller.ops_addr.to_string(), "127.0.0.1:0");
        assert!(
            s.metrics.token.is_none(),
            "there is no default metrics token"
        );
        let s = load(&[
            ("WSTG_WORKER_OPS_ADDR", "0.0.0.0:9101"),
            ("WSTG_POLLER_OPS_ADDR", "0.0.0.0:9102"),
            ("WSTG_METRICS_TOKEN", "metrics-secret-token"),
        ])
        .unwrap();
        assert_eq!(s.worker.ops_addr.port(), 9101);
        assert_eq!(s.poller.ops_addr.port(), 9102);
        assert!(!format!("{s:?}").contains("metrics-secret-token"));
        for var in ["WSTG_WORKER_OPS_ADDR", "WSTG_POLLER_OPS_ADDR"] {
            let err = load(&[(var, "nowhere")]).unwrap_err().to_string();
            assert!(err.contains(var), "{err}");
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
