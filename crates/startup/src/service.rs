//! The one `main` of the three services: arguments (`--help`, `--version`,
//! answered before anything starts), settings, telemetry, build, run, and
//! the exit code.
//!
//! Exit codes: 0 stopped on a signal (or `--help`/`--version`); 1 could not
//! start, or stopped with an error; 2 a configuration error (an unknown or
//! invalid setting, a missing one the service needs) or bad arguments.

use std::fmt::Write as _;
use std::future::Future;
use std::process::ExitCode;

use tokio_util::sync::CancellationToken;
use wstg_settings::keys::{self, CONFIG_VAR};
use wstg_settings::{Settings, SettingsError};

use crate::signal::shutdown_on_signal;
use crate::telemetry;

/// What a service says about itself in `--help` and `--version`.
pub struct Service {
    /// The binary's name: `wstg-worker`.
    pub name: &'static str,
    /// `env!("CARGO_PKG_VERSION")` of the binary.
    pub version: &'static str,
    /// One line: what it does.
    pub about: &'static str,
    /// Keys whose variables the help names, besides those every service
    /// reads (Redis, the store, logging).
    pub keys: &'static [&'static str],
}

const COMMON_KEYS: &[&str] = &["redis.url", "redis.key_prefix", "database.url", "log.level"];

impl Service {
    fn command(&self) -> clap::Command {
        clap::Command::new(self.name)
            .version(self.version)
            .about(self.about)
            .after_help(self.variables_help())
    }

    /// The variables the service reads, named by the settings' own rule
    /// (so the help cannot name a variable that does not exist).
    fn variables_help(&self) -> String {
        let mut help =
            String::from("Configured by the environment (every setting: docs/configuration.md):\n");
        let _ = writeln!(
            help,
            "  {CONFIG_VAR:<40} a TOML file layered over the compiled defaults"
        );
        for path in COMMON_KEYS.iter().chain(self.keys) {
            let Some(key) = keys::find(path) else {
                continue;
            };
            let also = key
                .file_env()
                .map(|f| format!(" (or {f})"))
                .unwrap_or_default();
            let _ = writeln!(help, "  {:<40} {}{also}", key.env, key.path);
        }
        help.push_str("Unknown WSTG_* variables and keys are errors (exit code 2).");
        help
    }
}

/// Parses the arguments, loads the settings, initialises telemetry, then
/// runs `build` and `run` on a Tokio runtime. SIGTERM or SIGINT cancels the
/// token `run` gets, and also ends a start still waiting for Redis.
pub fn main<T, B, BF, R, RF>(service: Service, build: B, run: R) -> ExitCode
where
    B: FnOnce(Settings) -> BF,
    BF: Future<Output = anyhow::Result<T>>,
    R: FnOnce(T, CancellationToken) -> RF,
    RF: Future<Output = anyhow::Result<()>>,
{
    // Exits by itself for --help and --version (0) and bad arguments (2).
    service.command().get_matches();
    let name = service.name;
    let settings = match Settings::load() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{name}: configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(&settings.log);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{name}: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let shutdown = shutdown_on_signal();
        let built = tokio::select! {
            built = build(settings) => built,
            () = shutdown.cancelled() => return ExitCode::SUCCESS,
        };
        let app = match built {
            Ok(app) => app,
            Err(e) => {
                // One line: the log goes to stderr too, and a second copy
                // there is noise.
                eprintln!("{name}: could not start: {e:#}");
                return exit_code(&e);
            }
        };
        match run(app, shutdown).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("{name}: stopped with an error: {e:#}");
                exit_code(&e)
            }
        }
    })
}

/// 2 for a configuration error found while building (a setting the service
/// needs is missing), 1 for everything else.
fn exit_code(e: &anyhow::Error) -> ExitCode {
    if e.chain()
        .any(|c| c.downcast_ref::<SettingsError>().is_some())
    {
        ExitCode::from(2)
    } else {
        ExitCode::FAILURE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_help_names_existing_variables() {
        let service = Service {
            name: "wstg-worker",
            version: "0.0.0",
            about: "test",
            keys: &["dojo.url", "dojo.token", "worker.concurrency"],
        };
        let help = service.variables_help();
        for var in [
            "WSTG_CONFIG",
            "WSTG_REDIS_URL",
            "WSTG_REDIS_URL_FILE",
            "WSTG_DATABASE_URL",
            "WSTG_DOJO_TOKEN_FILE",
            "WSTG_WORKER_CONCURRENCY",
            "WSTG_LOG_LEVEL",
        ] {
            assert!(help.contains(var), "{var} missing from\n{help}");
        }
        service.command().debug_assert();
    }
}
