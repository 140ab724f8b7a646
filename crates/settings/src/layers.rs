//! The layering: the compiled defaults, then the TOML file named by
//! `WSTG_CONFIG`, then the environment (each variable named by the rule in
//! [`crate::keys`]); the `config` crate merges them. Before anything is
//! merged, every name is checked: an unknown key or `WSTG_*` variable stops
//! the start with the name that was probably meant.

use std::collections::BTreeMap;

use config::{Config, Environment, File, FileFormat, Source};

use crate::error::{SettingsError, Unknown};
use crate::keys::{self, Key, CONFIG_VAR, DEFAULTS, NOT_SETTINGS, RENAMED, TEST_PREFIX};

/// The merged configuration of `vars` (the process environment, or a test's
/// map), not yet deserialized.
pub(crate) fn merge(vars: &BTreeMap<String, String>) -> Result<Config, SettingsError> {
    let file = vars
        .get(CONFIG_VAR)
        .map(|path| File::new(path, FileFormat::Toml).required(true));
    let mut unknown = unknown_variables(vars);
    if let (Some(source), Some(path)) = (&file, vars.get(CONFIG_VAR)) {
        let table = source
            .collect()
            .map_err(|e| SettingsError::Read(e.to_string()))?;
        unknown.extend(unknown_keys(&table, path));
    }
    if !unknown.is_empty() {
        return Err(SettingsError::Unknown(unknown));
    }

    let mut scalars = config::Map::new();
    let mut lists = Vec::new();
    for key in keys::known() {
        let Some(value) = value_of(key, vars)? else {
            continue;
        };
        if key.list {
            // Lists keep the comma-separated form of the environment.
            let items: Vec<String> = value
                .split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect();
            lists.push((key.path.as_str(), items));
        } else {
            scalars.insert(key.path.clone(), value);
        }
    }

    let mut builder = Config::builder().add_source(File::from_str(DEFAULTS, FileFormat::Toml));
    if let Some(file) = file {
        builder = builder.add_source(file);
    }
    // Values stay strings (no `try_parsing`): a token "0123" must not become
    // the number 123. Serde converts "3" where a number is expected.
    builder = builder.add_source(Environment::default().source(Some(scalars)));
    for (path, items) in lists {
        builder = builder
            .set_override(path, items)
            .map_err(|e| SettingsError::Read(e.to_string()))?;
    }
    builder
        .build()
        .map_err(|e| SettingsError::Read(e.to_string()))
}

/// The environment's value for `key`: `X`, or the trimmed content of the
/// file `X_FILE` names (secrets only); both at once is an error.
fn value_of(key: &Key, vars: &BTreeMap<String, String>) -> Result<Option<String>, SettingsError> {
    let direct = vars.get(&key.env);
    let Some(file_var) = key.file_env() else {
        return Ok(direct.cloned());
    };
    let Some(path) = vars.get(&file_var) else {
        return Ok(direct.cloned());
    };
    if direct.is_some() {
        return Err(SettingsError::BothGiven {
            var: key.env.clone(),
            file_var,
        });
    }
    let fail = |reason: String| SettingsError::SecretFile {
        file_var: file_var.clone(),
        path: path.clone(),
        reason,
    };
    let content = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
    let value = content.trim();
    if value.is_empty() {
        return Err(fail("the file is empty".into()));
    }
    Ok(Some(value.to_owned()))
}

/// Every `WSTG_*` variable that names no setting.
fn unknown_variables(vars: &BTreeMap<String, String>) -> Vec<Unknown> {
    let mut accepted: Vec<String> = vec![CONFIG_VAR.to_owned()];
    for key in keys::known() {
        accepted.push(key.env.clone());
        accepted.extend(key.file_env());
    }
    vars.keys()
        .filter(|name| name.starts_with("WSTG_") && !name.starts_with(TEST_PREFIX))
        .filter(|name| !accepted.contains(name) && !NOT_SETTINGS.contains(&name.as_str()))
        .map(|name| {
            let renamed = RENAMED
                .iter()
                .find(|(old, _)| old == name)
                .and_then(|(_, key)| keys::find(key));
            let hint = match renamed {
                Some(key) => Some(format!("renamed {}", key.env)),
                None => closest(name, accepted.iter().map(String::as_str))
                    .map(|c| format!("did you mean {c}?")),
            };
            Unknown {
                what: format!("variable {name}"),
                hint,
            }
        })
        .collect()
}

/// Every key of the file that is not a setting.
fn unknown_keys(table: &config::Map<String, config::Value>, path: &str) -> Vec<Unknown> {
    let mut unknown = Vec::new();
    keys::flatten("", table, &mut |key, _| {
        if keys::find(&key).is_none() {
            let hint = closest(&key, keys::known().iter().map(|k| k.path.as_str()))
                .map(|c| format!("did you mean {c}?"));
            unknown.push(Unknown {
                what: format!("key {key} in {path}"),
                hint,
            });
        }
    });
    // The file's table has no order: report in key order, the same every run.
    unknown.sort_by(|a, b| a.what.cmp(&b.what));
    unknown
}

/// The candidate nearest to `name` by edit distance, if it is near enough
/// to be a typo (a quarter of the name's length, at least 2 edits).
pub(crate) fn closest<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let limit = (name.len() / 4).max(2);
    candidates
        .into_iter()
        .map(|c| (strsim::levenshtein(name, c), c))
        .filter(|(distance, _)| *distance <= limit)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, c)| c)
}
