//! Exit codes: what a script can tell from `$?`. Commands raise typed
//! errors (or let the library crates' typed errors through, inside anyhow
//! context); [`ExitClass::of`] maps them, never the message text.
//!
//! | code | meaning |
//! |------|---------|
//! | 0 | done (also when the reader of stdout went away: `wstgctl … \| head`) |
//! | 1 | failed: anything not below (a check failed, DefectDojo refused a request) |
//! | 2 | usage or configuration: bad arguments, a missing or invalid setting, no database or a schema that is not this build's (run `wstgctl migrate`) |
//! | 3 | not found: the named project, item, dead letter or token does not exist |
//! | 4 | infrastructure down: Redis, the store or DefectDojo did not answer |
//! | 5 | partial: part of the work was done (sync not applied within `--wait`) |

use std::process::ExitCode;

use dojo_client::DojoError;
use wstg_domain::project::ProjectNameError;
use wstg_domain::wstg_id::WstgIdError;
use wstg_queue::QueueError;
use wstg_settings::SettingsError;
use wstg_store::{
    AddProjectError, MapProjectError, ProjectNameError as StoreProjectNameError, StoreError,
};

/// The exit codes, as `wstgctl --help` lists them.
pub const HELP: &str = "\
Exit codes:
  0  done (a closed stdout, as in `wstgctl ... | head`, is not an error)
  1  failed (a check failed, DefectDojo refused a request, anything else)
  2  usage or configuration: bad arguments, a missing or invalid setting
     (the message names the variable), no database or a schema that is not
     this build's (run `wstgctl migrate`)
  3  not found: the named project, item, dead letter or token
  4  infrastructure down: Redis, the store or DefectDojo unreachable
  5  partial: part of the work done (e.g. sync not applied within --wait)";

/// What a command raises for the outcomes it decides itself.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Arguments that cannot work together or do not parse.
    #[error("{0}")]
    Usage(String),
    /// The named thing does not exist.
    #[error("{0}")]
    NotFound(String),
    /// Part of the work was done; the message says which part was not.
    #[error("{0}")]
    Partial(String),
    /// A check the command exists to make failed (`doctor`, `setup-webhook`).
    #[error("{0}")]
    CheckFailed(String),
    /// stdout was closed by its reader: not a failure of the command.
    #[error("stdout was closed")]
    ClosedPipe,
}

/// The class of an outcome, and its exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitClass {
    Ok,
    Failed,
    Usage,
    NotFound,
    Unreachable,
    Partial,
}

impl ExitClass {
    pub fn code(self) -> u8 {
        match self {
            ExitClass::Ok => 0,
            ExitClass::Failed => 1,
            ExitClass::Usage => 2,
            ExitClass::NotFound => 3,
            ExitClass::Unreachable => 4,
            ExitClass::Partial => 5,
        }
    }

    /// The name in `--output json` error objects.
    pub fn name(self) -> &'static str {
        match self {
            ExitClass::Ok => "ok",
            ExitClass::Failed => "failed",
            ExitClass::Usage => "usage",
            ExitClass::NotFound => "not_found",
            ExitClass::Unreachable => "unreachable",
            ExitClass::Partial => "partial",
        }
    }

    pub fn exit_code(self) -> ExitCode {
        ExitCode::from(self.code())
    }

    /// The class of `error`: the first typed error in its chain that has
    /// one, else [`ExitClass::Failed`].
    pub fn of(error: &anyhow::Error) -> ExitClass {
        error
            .chain()
            .find_map(class_of)
            .unwrap_or(ExitClass::Failed)
    }
}

fn class_of(cause: &(dyn std::error::Error + 'static)) -> Option<ExitClass> {
    if let Some(e) = cause.downcast_ref::<CliError>() {
        return Some(match e {
            CliError::Usage(_) => ExitClass::Usage,
            CliError::NotFound(_) => ExitClass::NotFound,
            CliError::Partial(_) => ExitClass::Partial,
            CliError::CheckFailed(_) => ExitClass::Failed,
            CliError::ClosedPipe => ExitClass::Ok,
        });
    }
    if cause.downcast_ref::<SettingsError>().is_some() {
        return Some(ExitClass::Usage);
    }
    if let Some(e) = cause.downcast_ref::<StoreError>() {
        return Some(match e {
            // Refused, timed out, restarting: down. A database that does
            // not exist or refuses the credentials: configuration.
            StoreError::Connect { .. } | StoreError::Query { .. } if e.is_transient() => {
                ExitClass::Unreachable
            }
            StoreError::Connect { .. } => ExitClass::Usage,
            StoreError::InvalidUrl { .. }
            | StoreError::Missing { .. }
            | StoreError::Schema(_)
            | StoreError::CreateDir { .. }
            | StoreError::CreateFile { .. }
            | StoreError::BackupUnsupported(_) => ExitClass::Usage,
            _ => ExitClass::Failed,
        });
    }
    if let Some(e) = cause.downcast_ref::<QueueError>() {
        return Some(if e.is_transient() {
            ExitClass::Unreachable
        } else if matches!(e, QueueError::Config(_)) {
            ExitClass::Usage
        } else {
            ExitClass::Failed
        });
    }
    if let Some(e) = cause.downcast_ref::<DojoError>() {
        return Some(match e {
            DojoError::Transient { .. } => ExitClass::Unreachable,
            DojoError::NotFound { .. } => ExitClass::NotFound,
            DojoError::Unauthorized | DojoError::Config(_) => ExitClass::Usage,
            _ => ExitClass::Failed,
        });
    }
    if let Some(e) = cause.downcast_ref::<WstgIdError>() {
        return Some(match e {
            WstgIdError::NotInCatalogue { .. } => ExitClass::NotFound,
            _ => ExitClass::Usage,
        });
    }
    if let Some(e) = cause.downcast_ref::<AddProjectError>() {
        return match e {
            // `transparent`: the store error is this one's message, not a
            // further link of the chain.
            AddProjectError::Store(inner) => class_of(inner),
            _ => Some(ExitClass::Usage),
        };
    }
    if let Some(e) = cause.downcast_ref::<MapProjectError>() {
        return match e {
            MapProjectError::Store(inner) => class_of(inner),
            MapProjectError::Unknown(_) => Some(ExitClass::NotFound),
            // The project is fine; what was asked cannot be done any more.
            MapProjectError::Linked { .. } => Some(ExitClass::Failed),
        };
    }
    if cause.downcast_ref::<ProjectNameError>().is_some()
        || cause.downcast_ref::<StoreProjectNameError>().is_some()
    {
        return Some(ExitClass::Usage);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_errors_keep_their_class_under_context() {
        use anyhow::Context;
        let nf: anyhow::Result<()> = Err(CliError::NotFound("no project x".into()).into());
        let e = nf.context("listing items").unwrap_err();
        assert_eq!(ExitClass::of(&e), ExitClass::NotFound);
        assert_eq!(ExitClass::of(&anyhow::anyhow!("plain")), ExitClass::Failed);
        let missing = SettingsError::Missing {
            key: "dojo.token",
            env: "WSTG_DOJO_TOKEN".into(),
            service: "wstgctl sync",
        };
        assert_eq!(
            ExitClass::of(&anyhow::Error::from(missing)),
            ExitClass::Usage
        );
    }

    #[test]
    fn every_code_is_listed_in_the_help() {
        for class in [
            ExitClass::Ok,
            ExitClass::Failed,
            ExitClass::Usage,
            ExitClass::NotFound,
            ExitClass::Unreachable,
            ExitClass::Partial,
        ] {
            assert!(
                HELP.contains(&format!("\n  {}  ", class.code())),
                "{class:?}"
            );
        }
    }
}
