//! `Settings`: the commented defaults in `config/default.toml`, then the file
//! named by `WSTG_CONFIG`, then the environment (`WSTG_` + the key path,
//! upper-cased, `.` → `_`; see [`crate::keys`]).
//!
//! Values are parsed into domain types here, so a service that started has a
//! valid configuration; what is wrong is reported by key and env var name.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use wstg_domain::{CatalogueVersion, ConflictPolicy, NameTemplate, ProjectName, TargetTemplates};

use crate::alert::{AlertSettings, RawAlert};
use crate::error::{invalid, SettingsError};
use crate::keys::{self, env_var};
use crate::layers;
use crate::metrics::{MetricsSettings, RawMetrics};
use crate::retention::RetentionSettings;
pub use crate::startup::StartupSettings;

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
        if let Some(key) = keys::find(key) {
            return invalid(key.path.as_str(), format!("{unexpected} is not {expected}"));
        }
    }
    // Any other value serde refused ("invalid socket address syntax" at
    // `worker.ops_addr`) carries its key in the error's structure: say its
    // variable too.
    if let config::ConfigError::At {
        error,
        key: Some(key),
        ..
    } = &e
    {
        if let Some(key) = keys::find(key) {
            return invalid(key.path.as_str(), error.to_string());
        }
    }
    SettingsError::Read(e.to_string())
}

/// The raw, stringly shape of the file, before parsing into domain types.
/// Every field is required: config/default.toml holds every key (an unset
/// secret as ""), which is how [`keys::known`] knows them all; and no
/// section accepts a field it does not have, so the defaults hold nothing
/// else.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
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
    startup: StartupSettings,
    alert: RawAlert,
    retention: RetentionSettings,
    metrics: RawMetrics,
    log: RawLog,
}
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRedis {
    url: String,
    key_prefix: String,
    blocking_pool_size: usize,
}
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDatabase {
    url: String,
}
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDojo {
    url: String,
    token: String,
    timeout_secs: u64,
    notes_field: String,
    severity: String,
    product_type: String,
    engagement: String,
    test_type: String,
    product: String,
    product_template: String,
    test_title: String,
    test_types: Vec<String>,
    webhook_url: String,
    webhook_check_passes: u32,
}
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIngest {
    addr: String,
    token: String,
    cors_origins: Vec<String>,
    max_body_bytes: usize,
    webhook_key: String,
    webhook_header: String,
    admin_token: String,
}
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPoller {
    interval_secs: u64,
    conflict_policy: String,
    ops_addr: String,
    feed: crate::PollFeed,
    full_scan_secs: u64,
}
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAuth {
    allow_anonymous: bool,
    public_host: String,
    create_projects_on_demand: bool,
}
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
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
    pub startup: StartupSettings,
    pub alert: AlertSettings,
    pub retention: RetentionSettings,
    pub metrics: MetricsSettings,
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
#[serde(deny_unknown_fields)]
pub struct LimitSettings {
    pub max_streams: usize,
    pub request_timeout_ms: u64,
    pub max_connections: usize,
    pub keep_alive_secs: u64,
    pub rate_per_sec: u32,
    pub rate_burst: u32,
    pub max_backlog: u64,
    pub webhook_poll_interval_secs: u64,
    /// One evidence file's most bytes (the upload route's body limit too).
    pub evidence_max_file_bytes: u64,
    /// All evidence files of one project together, in bytes.
    pub evidence_max_project_bytes: u64,
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
    /// The names of the hierarchy parts a project does not map itself
    /// (`product_template`, `engagement`, `product_type`, `test_title`
    /// parsed as templates with `{project}` and `{catalogue}`).
    pub templates: TargetTemplates,
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
#[serde(deny_unknown_fields)]
pub struct WorkerSettings {
    pub concurrency: usize,
    pub batch: usize,
    /// Batches worked on at once (the next is read while earlier ones run).
    pub batches_in_flight: usize,
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
    /// Per test, or one change feed per product type.
    pub feed: crate::PollFeed,
    /// With the product-type feed: time between two full reads of each test
    /// (text, note and tag edits and deletions are only seen there).
    pub full_scan: Duration,
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

/// An empty secret is an unset one (the defaults hold every secret as "").
pub(crate) fn secret(v: String) -> Option<SecretString> {
    Some(v.trim().to_owned())
        .filter(|s| !s.is_empty())
        .map(SecretString::from)
}

impl Settings {
    /// Loads from the defaults, `WSTG_CONFIG` and the process environment.
    pub fn load() -> Result<Settings, SettingsError> {
        Self::load_from(std::env::vars())
    }

    /// Loads with `vars` as the whole environment (tests pass their own).
    pub fn load_from<K, V>(
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> Result<Settings, SettingsError>
    where
        K: Into<String>,
        V: Into<String>,
    {
        let vars: BTreeMap<String, String> = vars
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        let raw: Raw = layers::merge(&vars)?
            .try_deserialize()
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
            (
                "redis.url",
                &raw.redis.url,
                &[
                    "redis",
                    "rediss",
                    "redis+cluster",
                    "rediss+cluster",
                    "redis+sentinel",
                ][..],
            ),
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
        if raw.redis.key_prefix.is_empty()
            || raw.redis.key_prefix.contains(char::is_whitespace)
            || raw.redis.key_prefix.contains(['{', '}'])
        {
            // Braces: every key is `{prefix}:…`, a Redis Cluster hash tag.
            return Err(invalid(
                "redis.key_prefix",
                "must be non-empty and contain no blanks, '{' or '}'",
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
        let webhook_url = match non_empty(raw.dojo.webhook_url) {
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
        if w.batches_in_flight == 0 || w.batches_in_flight > 16 {
            return Err(invalid("worker.batches_in_flight", "must be from 1 to 16"));
        }
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
            ("limits.evidence_max_file_bytes", l.evidence_max_file_bytes),
            (
                "limits.evidence_max_project_bytes",
                l.evidence_max_project_bytes,
            ),
        ] {
            if value == 0 {
                return Err(invalid(key, "must be at least 1"));
            }
        }
        if raw.retention.dlq_max_entries == 0 {
            return Err(invalid(
                "retention.dlq_max_entries",
                "must be at least 1 (the dead-letter queue is always bounded)",
            ));
        }
        if raw.retention.interval_secs == 0 {
            return Err(invalid("retention.interval_secs", "must be at least 1"));
        }
        if raw.poller.interval_secs == 0 {
            return Err(invalid("poller.interval_secs", "must be at least 1"));
        }
        if raw.poller.full_scan_secs == 0 {
            return Err(invalid("poller.full_scan_secs", "must be at least 1"));
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
        let public_host = match Some(raw.auth.public_host.trim()) {
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
        let level = log_filter(&raw.log.level)?;
        let template =
            |key: &'static str, raw: &str| NameTemplate::parse(raw).map_err(|e| invalid(key, e));
        let test_title = non_empty(raw.dojo.test_title.clone());
        let templates = TargetTemplates {
            product: template("dojo.product_template", &raw.dojo.product_template)?,
            engagement: template("dojo.engagement", &raw.dojo.engagement)?,
            product_type: template("dojo.product_type", &raw.dojo.product_type)?,
            test_title: match &test_title {
                Some(t) => template("dojo.test_title", t)?,
                None => template("dojo.test_title", "OWASP WSTG {catalogue} checklist")?,
            },
            default_product: non_empty(raw.dojo.product.clone()),
            default_project: default_project.clone(),
            catalogue: catalogue_version,
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
                test_title,
                test_types,
                templates,
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
                feed: raw.poller.feed,
                full_scan: Duration::from_secs(raw.poller.full_scan_secs),
            },
            auth: AuthSettings {
                allow_anonymous: raw.auth.allow_anonymous,
                public_host,
                create_projects_on_demand: raw.auth.create_projects_on_demand,
            },
            limits: raw.limits,
            startup: raw.startup,
            alert: crate::alert::parse(raw.alert)?,
            retention: raw.retention,
            metrics: MetricsSettings::parse(raw.metrics),
            log: LogSettings { format, level },
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
                env: env_var("dojo.token"),
                service,
            }),
        }
    }
}

/// `level` when it is a tracing filter: tracing would otherwise drop what it
/// cannot parse and log at a level nobody asked for. A bare word a typo
/// away from a level ("inf", "debgu") is refused too: tracing reads it as a
/// target name and logs nothing of ours.
fn log_filter(level: &str) -> Result<String, SettingsError> {
    const LEVELS: [&str; 6] = ["trace", "debug", "info", "warn", "error", "off"];
    if let Err(e) = tracing_subscriber::EnvFilter::builder().parse(level) {
        return Err(invalid(
            "log.level",
            format!("'{level}' is not a tracing filter: {e}"),
        ));
    }
    for directive in level.split(',').map(str::trim) {
        let word = directive.to_ascii_lowercase();
        let bare = !word.is_empty() && word.chars().all(|c| c.is_ascii_alphabetic());
        if bare && !LEVELS.contains(&word.as_str()) {
            if let Some(meant) = layers::closest(&word, LEVELS) {
                return Err(invalid(
                    "log.level",
                    format!("'{directive}' is not a level (did you mean {meant}?)"),
                ));
            }
        }
    }
    Ok(level.to_owned())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn load(vars: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        Settings::load_from(vars.iter().copied())
    }

    /// A file under the temp dir holding `content`, unique to this test.
    fn temp_file(name: &str, content: &str) -> String {
        let path =
            std::env::temp_dir().join(format!("wstg-settings-{}-{name}", std::process::id()));
        std::fs::write(&path, content).unwrap();
        path.to_string_lossy().into_owned()
    }

    #[test]
    fn an_unknown_key_in_the_file_is_an_error_with_a_did_you_mean() {
        let path = temp_file(
            "unknown.toml",
            "[redis]\nkey_prefx = \"x\"\n[worker]\nconcurrency = 2\nflux_capacitor = 1\n",
        );
        let err = load(&[("WSTG_CONFIG", &path)]).unwrap_err().to_string();
        assert_eq!(
            err,
            format!(
                "unknown key redis.key_prefx in {path} (did you mean redis.key_prefix?); \
                 unknown key worker.flux_capacitor in {path}"
            )
        );
        let path = temp_file("known.toml", "[worker]\nconcurrency = 2\n");
        let s = load(&[("WSTG_CONFIG", &path)]).unwrap();
        assert_eq!(s.worker.concurrency, 2);
    }

    #[test]
    fn an_unknown_variable_is_an_error_with_a_did_you_mean() {
        let err = load(&[("WSTG_REDIS_KEY_PREFX", "x")])
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "unknown variable WSTG_REDIS_KEY_PREFX (did you mean WSTG_REDIS_KEY_PREFIX?)"
        );
        let err = load(&[("WSTG_KEY_PREFIX", "x"), ("WSTG_LOG", "debug")])
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "unknown variable WSTG_KEY_PREFIX (renamed WSTG_REDIS_KEY_PREFIX); \
             unknown variable WSTG_LOG (renamed WSTG_LOG_LEVEL)"
        );
        let err = load(&[("WSTG_DOJO_TOKEN_FLIE", "/x")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("did you mean WSTG_DOJO_TOKEN_FILE?"), "{err}");
        // Not settings: the test suites' and the scripts' own variables.
        load(&[
            ("WSTG_TEST_REDIS_URL", "redis://x"),
            ("WSTG_DOJO_KIT", "/kit"),
            ("OTHER", "x"),
        ])
        .unwrap();
    }

    #[test]
    fn an_invalid_log_filter_is_an_error() {
        let err = load(&[("WSTG_LOG_LEVEL", "info,wstg_worker=loud")])
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(
                "log.level (WSTG_LOG_LEVEL): 'info,wstg_worker=loud' is not a tracing filter"
            ),
            "{err}"
        );
        let err = load(&[("WSTG_LOG_LEVEL", "debgu")])
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "log.level (WSTG_LOG_LEVEL): 'debgu' is not a level (did you mean debug?)"
        );
        let s = load(&[("WSTG_LOG_LEVEL", "warn,wstg_worker=debug,sqlx")]).unwrap();
        assert_eq!(s.log.level, "warn,wstg_worker=debug,sqlx");
    }

    #[test]
    fn a_secret_can_be_read_from_a_file() {
        let token = temp_file("token", "  file-token\n");
        let url = temp_file("redis-url", "redis://:pw@10.0.0.9:6379\n");
        let s = load(&[
            ("WSTG_DOJO_TOKEN_FILE", &token),
            ("WSTG_INGEST_ADMIN_TOKEN_FILE", &token),
            ("WSTG_REDIS_URL_FILE", &url),
        ])
        .unwrap();
        assert_eq!(
            s.require_dojo_token("test").unwrap().expose_secret(),
            "file-token"
        );
        assert_eq!(
            s.ingest
                .admin_token
                .as_ref()
                .map(|t| t.expose_secret().to_owned()),
            Some("file-token".to_owned())
        );
        assert_eq!(s.redis.url, "redis://:pw@10.0.0.9:6379");

        let err = load(&[("WSTG_DOJO_TOKEN_FILE", "/nonexistent/wstg-token")])
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("WSTG_DOJO_TOKEN_FILE: cannot read /nonexistent/wstg-token:"),
            "{err}"
        );
        let empty = temp_file("empty", "\n");
        let err = load(&[("WSTG_INGEST_TOKEN_FILE", &empty)])
            .unwrap_err()
            .to_string();
        assert!(err.ends_with("the file is empty"), "{err}");
        // Only secrets have a _FILE form.
        let err = load(&[("WSTG_DOJO_URL_FILE", &token)])
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("unknown variable WSTG_DOJO_URL_FILE"),
            "{err}"
        );
    }

    #[test]
    fn a_secret_given_both_ways_is_an_error() {
        let token = temp_file("both", "t");
        let err = load(&[
            ("WSTG_INGEST_WEBHOOK_KEY", "k"),
            ("WSTG_INGEST_WEBHOOK_KEY_FILE", &token),
        ])
        .unwrap_err()
        .to_string();
        assert_eq!(
            err,
            "WSTG_INGEST_WEBHOOK_KEY and WSTG_INGEST_WEBHOOK_KEY_FILE are both set: give the secret one way"
        );
    }

    #[test]
    fn a_secret_that_is_a_number_stays_a_string() {
        let s = load(&[
            ("WSTG_INGEST_TOKEN", "007"),
            ("WSTG_REDIS_KEY_PREFIX", "01"),
        ])
        .unwrap();
        assert_eq!(
            s.ingest
                .token
                .as_ref()
                .map(|t| t.expose_secret().to_owned()),
            Some("007".to_owned())
        );
        assert_eq!(s.redis.key_prefix, "01");
    }

    #[test]
    fn the_defaults_name_only_existing_variables() {
        let defaults = crate::keys::DEFAULTS;
        for word in defaults.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
            if !word.starts_with("WSTG_") || word == "WSTG_" || word == keys::CONFIG_VAR {
                continue;
            }
            let known = keys::known()
                .iter()
                .any(|k| k.env == word || k.file_env().as_deref() == Some(word));
            assert!(
                known,
                "config/default.toml names {word}, which is no setting"
            );
        }
        // And each key's comment names its variable.
        for key in keys::known() {
            assert!(
                defaults.contains(&key.env),
                "config/default.toml does not name {} ({})",
                key.env,
                key.path
            );
        }
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

    /// Every Redis key is `{prefix}:…` (a cluster hash tag): a brace in the
    /// prefix would end the tag early.
    #[test]
    fn a_key_prefix_with_braces_is_refused() {
        for prefix in ["{wstg}", "a}b"] {
            let e = load(&[("WSTG_REDIS_KEY_PREFIX", prefix)]).unwrap_err();
            assert!(e.to_string().contains("redis.key_prefix"), "{e}");
        }
    }

    #[test]
    fn cluster_and_sentinel_urls_are_accepted() {
        for url in [
            "redis+cluster://:pw@10.0.0.1:7000,10.0.0.2:7001",
            "redis+sentinel://10.0.0.1:26379,10.0.0.2:26379/mymaster",
        ] {
            let s = load(&[("WSTG_REDIS_URL", url)]).unwrap();
            assert_eq!(s.redis.url, url);
        }
        assert!(load(&[("WSTG_REDIS_URL", "memcached://h")]).is_err());
    }

    #[test]
    fn environment_variables_override_the_file() {
        let s = load(&[
            ("WSTG_REDIS_URL", "redis://10.0.0.1:6380"),
            ("WSTG_REDIS_KEY_PREFIX", "t1"),
            ("WSTG_DATABASE_URL", "postgres://u:p@db/wstg"),
            ("WSTG_DOJO_URL", "https://dojo.example"),
            ("WSTG_DOJO_TOKEN", "abc"),
            ("WSTG_INGEST_ADDR", "0.0.0.0:9000"),
            ("WSTG_INGEST_TOKEN", "tt"),
            ("WSTG_INGEST_WEBHOOK_KEY", "wk"),
            ("WSTG_INGEST_CORS_ORIGINS", "http://a, http://b"),
            ("WSTG_CATALOGUE_VERSION", "latest"),
            ("WSTG_POLLER_INTERVAL_SECS", "3"),
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
        let err = load(&[("WSTG_POLLER_CONFLICT_POLICY", "coin_flip")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("WSTG_POLLER_CONFLICT_POLICY"), "{err}");
        let err = load(&[("WSTG_DATABASE_URL", "mysql://x")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("WSTG_DATABASE_URL"), "{err}");
        let err = load(&[("WSTG_POLLER_INTERVAL_SECS", "5s")])
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "poller.interval_secs (WSTG_POLLER_INTERVAL_SECS): string \"5s\" is not an integer"
        );
        // A value serde itself refuses (WorkerSettings parses the address).
        let err = load(&[("WSTG_WORKER_OPS_ADDR", "not-an-address")])
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("worker.ops_addr (WSTG_WORKER_OPS_ADDR): "),
            "{err}"
        );
        assert!(!err.contains("for key"), "{err}");
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
            ("WSTG_INGEST_WEBHOOK_KEY", "webhook-secret-key"),
            ("WSTG_INGEST_ADMIN_TOKEN", "admin-secret-token"),
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
            ("WSTG_AUTH_ALLOW_ANONYMOUS", "true"),
            ("WSTG_AUTH_PUBLIC_HOST", "WSTG.example.org"),
            ("WSTG_AUTH_CREATE_PROJECTS_ON_DEMAND", "true"),
        ])
        .unwrap();
        assert!(s.auth.allow_anonymous && s.auth.create_projects_on_demand);
        assert_eq!(s.auth.public_host.as_deref(), Some("wstg.example.org"));
        let err = load(&[("WSTG_AUTH_PUBLIC_HOST", "https://x/y")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("WSTG_AUTH_PUBLIC_HOST"), "{err}");
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
    fn retention_defaults_keep_a_year_of_audit_and_bound_the_dead_letters() {
        let r = load(&[]).unwrap().retention;
        assert_eq!(r.audit_days, 365);
        assert_eq!(r.audit_max_age(), Some(Duration::from_secs(365 * 86_400)));
        assert_eq!(r.dlq_max_entries(), 10_000);
        assert_eq!(r.dlq_max_age(), Some(Duration::from_secs(30 * 86_400)));
        assert_eq!(r.interval(), Duration::from_secs(3600));

        let r = load(&[
            ("WSTG_RETENTION_AUDIT_DAYS", "0"),
            ("WSTG_RETENTION_DLQ_MAX_AGE_DAYS", "0"),
            ("WSTG_RETENTION_DLQ_MAX_ENTRIES", "5"),
            ("WSTG_RETENTION_INTERVAL_SECS", "60"),
        ])
        .unwrap()
        .retention;
        assert_eq!(r.audit_max_age(), None, "0 keeps the audit forever");
        assert_eq!(r.dlq_max_age(), None);
        assert_eq!(r.dlq_max_entries(), 5);
        assert_eq!(r.interval(), Duration::from_secs(60));

        let err = load(&[("WSTG_RETENTION_DLQ_MAX_ENTRIES", "0")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("WSTG_RETENTION_DLQ_MAX_ENTRIES"), "{err}");
        let err = load(&[("WSTG_RETENTION_AUDIT_DAYS", "-1")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("retention.audit_days"), "{err}");
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
        let err = load(&[("WSTG_WORKER_CLAIM_MIN_IDLE_SECS", "10")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("WSTG_WORKER_CLAIM_MIN_IDLE_SECS"), "{err}");
    }

    #[test]
    fn alerts_are_off_without_a_webhook_url() {
        let s = load(&[]).unwrap();
        assert!(!s.alert.enabled());
        assert_eq!(s.alert.kind, crate::alert::AlertKind::Slack);
        assert_eq!(s.alert.thresholds.conflicts_max, 10);
        assert_eq!(s.alert.thresholds.pending_percent, 20);
        assert_eq!(s.alert.thresholds.sync_stale, Duration::from_secs(3600));
    }

    #[test]
    fn the_alert_webhook_url_is_a_secret_and_may_come_from_a_file() {
        let url = "https://hooks.slack.example/services/T0/B0/alert-secret-part";
        let s = load(&[("WSTG_ALERT_WEBHOOK_URL", url), ("WSTG_ALERT_KIND", "JSON")]).unwrap();
        assert!(s.alert.enabled());
        assert_eq!(s.alert.kind, crate::alert::AlertKind::Json);
        assert!(!format!("{s:?}").contains("alert-secret-part"));

        let path = temp_file("alert-url", &format!("{url}\n"));
        let s = load(&[("WSTG_ALERT_WEBHOOK_URL_FILE", path.as_str())]).unwrap();
        assert_eq!(s.alert.webhook_url.as_ref().unwrap().expose_secret(), url);

        // A bad URL is refused without quoting it.
        let err = load(&[("WSTG_ALERT_WEBHOOK_URL", "ftp://secret-host/x")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("WSTG_ALERT_WEBHOOK_URL"), "{err}");
        assert!(!err.contains("secret-host"), "{err}");
        let err = load(&[("WSTG_ALERT_KIND", "pager")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("WSTG_ALERT_KIND"), "{err}");
    }
}
