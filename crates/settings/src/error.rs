//! What is wrong with a configuration, named by key and variable. Never a
//! secret's value: only names and paths.

use std::fmt;

use crate::keys::env_var;

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("configuration could not be read: {0}")]
    Read(String),
    #[error("{key} ({env}): {reason}")]
    Invalid {
        key: &'static str,
        env: String,
        reason: String,
    },
    #[error("{key} ({env}) is required by {service}")]
    Missing {
        key: &'static str,
        env: String,
        service: &'static str,
    },
    /// Settings that do not exist: a misspelt key or variable is an error,
    /// not a silently ignored wish.
    #[error("{}", join(.0))]
    Unknown(Vec<Unknown>),
    #[error("{var} and {file_var} are both set: give the secret one way")]
    BothGiven { var: String, file_var: String },
    #[error("{file_var}: cannot read {path}: {reason}")]
    SecretFile {
        file_var: String,
        path: String,
        reason: String,
    },
}

/// One unknown setting and, when there is one, the name that was probably
/// meant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unknown {
    /// `variable WSTG_X` or `key a.b in /etc/wstg.toml`.
    pub what: String,
    pub hint: Option<String>,
}

impl fmt::Display for Unknown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown {}", self.what)?;
        if let Some(hint) = &self.hint {
            write!(f, " ({hint})")?;
        }
        Ok(())
    }
}

fn join(unknown: &[Unknown]) -> String {
    unknown
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

pub(crate) fn invalid(key: &'static str, reason: impl fmt::Display) -> SettingsError {
    SettingsError::Invalid {
        key,
        env: env_var(key),
        reason: reason.to_string(),
    }
}
