//! wstgctl: the operator's command line. It reads the same settings as the
//! services (config/default.toml, WSTG_CONFIG, WSTG_* variables; the ones
//! each command needs are named in its help), prints a table for people or
//! JSON for scripts (`--output`), and exits with a documented code
//! ([`exit`]).
//!
//! One module per command; a new command is a variant of [`Command`] and a
//! line in [`run`].

mod alert;
mod audit;
mod backup;
mod dlq;
mod doctor;
mod exit;
mod items;
mod migrate;
mod open;
mod output;
mod project;
mod setup_webhook;
mod status;
mod sync;
mod token;

use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use wstg_settings::Settings;

use crate::exit::ExitClass;
use crate::output::{Format, Out};

#[derive(Parser)]
#[command(
    name = "wstgctl",
    version,
    about = "Operate wstg-bridge: status, items, dead letters, manual sync, migrations, backups, DefectDojo set-up and health",
    long_about = "Operate wstg-bridge: status, items, dead letters, manual sync, migrations, backups, DefectDojo set-up and health.\n\n\
        Settings come from config/default.toml, the file WSTG_CONFIG names, then WSTG_* variables \
        (docs/configuration.md); each command's help names the ones it reads. A missing or invalid \
        setting is an error naming its variable. No command creates the database or the queue's \
        streams unless that is its job (`migrate`; `sync` and `dlq replay` queue events).",
    after_help = exit::HELP,
    after_long_help = exit::HELP
)]
struct Cli {
    /// How to print results: `table` for people, `json` for scripts (one
    /// JSON document on stdout; errors as {"error": {...}} on stderr).
    #[arg(long, global = true, value_enum, default_value_t = Format::Table)]
    output: Format,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Sync summary, queue depth, dead letters, live workers and each
    /// worker's DefectDojo circuit breaker. Reads WSTG_DATABASE_URL,
    /// WSTG_REDIS_URL, WSTG_REDIS_KEY_PREFIX; creates nothing.
    Status {
        /// Only this project's items (default: every project).
        #[arg(long)]
        project: Option<String>,
    },
    /// A project's items: tracker status, sync state, DefectDojo finding id.
    /// Reads WSTG_DATABASE_URL, WSTG_DEFAULT_PROJECT.
    Items(items::ItemsArgs),
    /// Reconcile with DefectDojo now (all projects, one project, or one
    /// item) and report what was linked, created and pulled. Exit 5 when the
    /// workers did not apply it all within --wait. Reads WSTG_DATABASE_URL,
    /// WSTG_REDIS_URL, WSTG_REDIS_KEY_PREFIX, WSTG_DOJO_URL,
    /// WSTG_DOJO_TOKEN, WSTG_CATALOGUE_VERSION and the WSTG_DOJO_* names.
    Sync {
        /// Only this project.
        #[arg(long)]
        project: Option<String>,
        /// Only this item (an id of the configured catalogue, e.g. WSTG-INFO-01).
        #[arg(long)]
        item: Option<String>,
        /// Seconds to wait for the workers to apply it (0: only queue).
        #[arg(long, default_value_t = 60)]
        wait: u64,
    },
    /// The dead-letter queue: list, show, replay, purge. Reads
    /// WSTG_REDIS_URL, WSTG_REDIS_KEY_PREFIX.
    Dlq {
        #[command(subcommand)]
        command: dlq::DlqCommand,
    },
    /// API tokens: create (shown once), list, revoke. Reads
    /// WSTG_DATABASE_URL, WSTG_DEFAULT_PROJECT.
    Token {
        #[command(subcommand)]
        command: token::TokenCommand,
    },
    /// Projects: add (admin), list, show. Reads WSTG_DATABASE_URL,
    /// WSTG_DEFAULT_PROJECT.
    Project {
        #[command(subcommand)]
        command: project::ProjectCommand,
    },
    /// Recent audit rows (every sync attempt), newest first. Reads
    /// WSTG_DATABASE_URL.
    Audit {
        /// Only this project.
        #[arg(long)]
        project: Option<String>,
        /// How many rows.
        #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=10_000))]
        limit: u32,
    },
    /// Create the database if missing and apply the pending schema
    /// migrations; idempotent. Run it before starting the services and after
    /// every upgrade (they refuse another schema version). Reads
    /// WSTG_DATABASE_URL.
    Migrate,
    /// Copy the store to a new file while the services run (SQLite:
    /// VACUUM INTO, consistent in WAL mode). On PostgreSQL it prints the
    /// pg_dump command to use and exits 2. Reads WSTG_DATABASE_URL.
    Backup {
        /// The new file to write (must not exist).
        #[arg(long, value_name = "PATH")]
        to: std::path::PathBuf,
    },
    /// Make DefectDojo's notification webhook (enable webhooks, create or
    /// re-create it with its header, subscribe the events) and verify it.
    /// Reads WSTG_DOJO_URL, WSTG_DOJO_TOKEN (superuser), WSTG_INGEST_WEBHOOK_KEY,
    /// WSTG_INGEST_WEBHOOK_HEADER, WSTG_DOJO_WEBHOOK_URL.
    SetupWebhook {
        /// Where DefectDojo posts: wstg-ingest's /api/wstg/webhook
        /// (default: WSTG_DOJO_WEBHOOK_URL).
        #[arg(long)]
        url: Option<url::Url>,
    },
    /// Alerts to people: `alert test` sends one to the configured webhook
    /// (WSTG_ALERT_WEBHOOK_URL).
    Alert {
        #[command(subcommand)]
        command: alert::AlertCommand,
    },
    /// Check the token's permissions, the WSTG test, damaged tag rows, the
    /// webhook, Redis persistence and eviction, the store and its schema.
    /// Exit 1 when a check fails. Reads WSTG_DATABASE_URL, WSTG_REDIS_URL,
    /// WSTG_REDIS_KEY_PREFIX, WSTG_DOJO_URL, WSTG_DOJO_TOKEN and the
    /// WSTG_DOJO_* names.
    Doctor,
}

#[tokio::main]
async fn main() -> ExitCode {
    // Usage errors exit 2, --help and --version 0 (clap's own codes).
    let cli = Cli::parse();
    let out = Out { format: cli.output };
    match run(cli, out).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let class = ExitClass::of(&e);
            // The reader went away (`wstgctl dlq list | head`): nothing to say.
            if class != ExitClass::Ok {
                out.error(class, &e);
            }
            class.exit_code()
        }
    }
}

async fn run(cli: Cli, out: Out) -> anyhow::Result<()> {
    let settings = Settings::load()?;
    match cli.command {
        Command::Status { project } => status::run(&settings, out, project).await,
        Command::Items(args) => items::run(&settings, out, args).await,
        Command::Sync {
            project,
            item,
            wait,
        } => sync::run(&settings, out, project, item, Duration::from_secs(wait)).await,
        Command::Token { command } => token::run(&settings, out, command).await,
        Command::Project { command } => project::run(&settings, out, command).await,
        Command::Audit { project, limit } => audit::run(&settings, out, project, limit).await,
        Command::Dlq { command } => dlq::run(&settings, out, command).await,
        Command::Migrate => migrate::run(&settings, out).await,
        Command::Backup { to } => backup::run(&settings, out, &to).await,
        Command::SetupWebhook { url } => setup_webhook::run(&settings, out, url).await,
        Command::Doctor => doctor::run(&settings, out).await,
        Command::Alert { command } => alert::run(&settings, out, command).await,
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    /// Every command and subcommand says what it does and which variables
    /// it reads; every argument is explained.
    #[test]
    fn every_help_text_is_filled_in_and_names_its_variables() {
        fn walk(cmd: &clap::Command, path: &str) {
            for sub in cmd.get_subcommands() {
                let path = format!("{path} {}", sub.get_name());
                let about = sub.get_about().map(ToString::to_string).unwrap_or_default();
                assert!(!about.trim().is_empty(), "`{path}` has no help text");
                if sub.get_subcommands().next().is_none() {
                    assert!(
                        about.contains("WSTG_"),
                        "`{path}` names no variable: {about}"
                    );
                }
                for arg in sub.get_arguments() {
                    let id = arg.get_id().as_str();
                    if matches!(id, "help" | "version" | "output") {
                        continue;
                    }
                    assert!(
                        arg.get_help().is_some(),
                        "`{path}` argument {id} has no help"
                    );
                }
                walk(sub, &path);
            }
        }
        Cli::command().debug_assert();
        walk(&Cli::command(), "wstgctl");
    }
}
