//! Which settings exist, and the one rule that names their environment
//! variables.
//!
//! The set of keys is read off the compiled defaults (config/default.toml
//! lists every key; an unset secret is `""`), so adding a setting is adding
//! it to the defaults and to its section struct: there is no table to keep in
//! step. The variable of key `a.b_c` is `WSTG_A_B_C`.

use std::sync::OnceLock;

use config::{File, FileFormat, Source, Value, ValueKind};

/// The commented defaults, compiled in.
pub(crate) const DEFAULTS: &str = include_str!("../../../config/default.toml");

/// Names the TOML file layered over the defaults.
pub const CONFIG_VAR: &str = "WSTG_CONFIG";

/// `X_FILE` names a file whose trimmed content is the secret `X`.
pub const FILE_SUFFIX: &str = "_FILE";

/// The keys whose value is a secret, or a URL that may carry a password:
/// each may also be given as a file (`WSTG_DOJO_TOKEN_FILE`), as container
/// secrets are mounted.
pub const SECRET_KEYS: &[&str] = &[
    "dojo.token",
    "ingest.token",
    "ingest.webhook_key",
    "ingest.admin_token",
    "redis.url",
    "database.url",
    "alert.webhook_url",
    "metrics.token",
];

/// `WSTG_*` variables that are not settings: the test suites, the scripts
/// and docker-compose.yml read them, and a shell that runs both must not
/// stop the services. `WSTG_TEST_*` is reserved for the test suites.
pub const NOT_SETTINGS: &[&str] = &[
    "WSTG_BIN_DIR",
    "WSTG_CHROMIUM",
    "WSTG_DOJO_KIT",
    "WSTG_INGEST_BIND",
    "WSTG_POSTGRES_PASSWORD",
    "WSTG_UPDATE_SCREENSHOTS",
];
pub const TEST_PREFIX: &str = "WSTG_TEST_";

/// Variables renamed when the names became derived from the keys: starting
/// with an old name fails with the new one in the message.
pub const RENAMED: &[(&str, &str)] = &[
    ("WSTG_KEY_PREFIX", "redis.key_prefix"),
    ("WSTG_LOG", "log.level"),
    ("WSTG_ADMIN_TOKEN", "ingest.admin_token"),
    ("WSTG_CORS_ORIGINS", "ingest.cors_origins"),
    ("WSTG_MAX_BODY_BYTES", "ingest.max_body_bytes"),
    ("WSTG_WEBHOOK_KEY", "ingest.webhook_key"),
    ("WSTG_WEBHOOK_HEADER", "ingest.webhook_header"),
    ("WSTG_CLAIM_MIN_IDLE_SECS", "worker.claim_min_idle_secs"),
    ("WSTG_MAX_DELIVERIES", "worker.max_deliveries"),
    (
        "WSTG_ITEM_WRITE_INTERVAL_MS",
        "worker.item_write_interval_ms",
    ),
    (
        "WSTG_SHUTDOWN_DEADLINE_SECS",
        "worker.shutdown_deadline_secs",
    ),
    ("WSTG_POLL_INTERVAL_SECS", "poller.interval_secs"),
    ("WSTG_CONFLICT_POLICY", "poller.conflict_policy"),
    ("WSTG_ALLOW_ANONYMOUS", "auth.allow_anonymous"),
    ("WSTG_PUBLIC_HOST", "auth.public_host"),
    (
        "WSTG_CREATE_PROJECTS_ON_DEMAND",
        "auth.create_projects_on_demand",
    ),
    ("WSTG_MAX_STREAMS", "limits.max_streams"),
    ("WSTG_REQUEST_TIMEOUT_MS", "limits.request_timeout_ms"),
    ("WSTG_MAX_CONNECTIONS", "limits.max_connections"),
    ("WSTG_KEEP_ALIVE_SECS", "limits.keep_alive_secs"),
    ("WSTG_RATE_LIMIT_PER_SEC", "limits.rate_per_sec"),
    ("WSTG_RATE_LIMIT_BURST", "limits.rate_burst"),
    ("WSTG_MAX_BACKLOG", "limits.max_backlog"),
    (
        "WSTG_WEBHOOK_POLL_INTERVAL_SECS",
        "limits.webhook_poll_interval_secs",
    ),
];

/// One setting: its key path and whether its value is a list (given
/// comma-separated in the environment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    pub path: String,
    pub env: String,
    pub list: bool,
}

impl Key {
    pub fn is_secret(&self) -> bool {
        SECRET_KEYS.contains(&self.path.as_str())
    }

    /// `WSTG_…_FILE` for a secret.
    pub fn file_env(&self) -> Option<String> {
        self.is_secret()
            .then(|| format!("{}{FILE_SUFFIX}", self.env))
    }
}

/// The environment variable of `key`: `WSTG_` + the key path upper-cased,
/// `.` → `_`.
pub fn env_var(key: &str) -> String {
    format!("WSTG_{}", key.to_ascii_uppercase().replace('.', "_"))
}

/// Every setting, sorted by key path.
pub fn known() -> &'static [Key] {
    static KEYS: OnceLock<Vec<Key>> = OnceLock::new();
    KEYS.get_or_init(|| {
        // The defaults are compiled in and loaded by every test: they parse.
        #[allow(clippy::expect_used)]
        let table = File::from_str(DEFAULTS, FileFormat::Toml)
            .collect()
            .expect("config/default.toml is valid TOML");
        let mut keys = Vec::new();
        flatten("", &table, &mut |path, value| {
            keys.push(Key {
                env: env_var(&path),
                list: matches!(value.kind, ValueKind::Array(_)),
                path,
            })
        });
        keys.sort_by(|a, b| a.path.cmp(&b.path));
        keys
    })
}

/// The key named `path`, if it exists.
pub fn find(path: &str) -> Option<&'static Key> {
    known().iter().find(|k| k.path == path)
}

/// Calls `leaf` with the dotted path of every value that is not a table.
pub(crate) fn flatten(
    prefix: &str,
    table: &config::Map<String, Value>,
    leaf: &mut dyn FnMut(String, &Value),
) {
    for (name, value) in table {
        let path = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}.{name}")
        };
        match &value.kind {
            ValueKind::Table(inner) => flatten(&path, inner, leaf),
            _ => leaf(path, value),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn the_rule_names_every_variable() {
        assert_eq!(env_var("redis.key_prefix"), "WSTG_REDIS_KEY_PREFIX");
        assert_eq!(env_var("catalogue_version"), "WSTG_CATALOGUE_VERSION");
        assert_eq!(
            find("log.level").map(|k| k.env.as_str()),
            Some("WSTG_LOG_LEVEL")
        );
    }

    #[test]
    fn every_key_has_its_own_variable() {
        let mut seen = HashSet::new();
        for k in known() {
            assert!(seen.insert(k.env.clone()), "{} named twice", k.env);
            if let Some(f) = k.file_env() {
                assert!(seen.insert(f.clone()), "{f} named twice");
            }
        }
        assert!(!seen.contains(CONFIG_VAR));
        for name in NOT_SETTINGS {
            assert!(!seen.contains(*name), "{name} is a setting");
        }
    }

    #[test]
    fn secrets_renamed_and_lists_name_existing_keys() {
        for k in SECRET_KEYS {
            assert!(find(k).is_some(), "secret {k} is not a setting");
        }
        for (old, key) in RENAMED {
            let new = find(key).map(|k| k.env.clone());
            assert!(new.is_some(), "{old} was renamed to the unknown key {key}");
            assert_ne!(new.as_deref(), Some(*old));
        }
        let lists: Vec<&str> = known()
            .iter()
            .filter(|k| k.list)
            .map(|k| k.path.as_str())
            .collect();
        assert_eq!(lists, ["dojo.test_types", "ingest.cors_origins"]);
    }
}
