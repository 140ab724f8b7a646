//! wstgctl: the operator's command line. It reads the same environment as
//! the services (WSTG_REDIS_URL, WSTG_DATABASE_URL, WSTG_REDIS_KEY_PREFIX, …).
//!
//! One module per command; a new command is a variant of [`Command`] and a
//! line in [`run`].

mod alert;
mod dlq;
mod doctor;
mod output;
mod setup_webhook;
mod status;
mod sync;

mod project;
mod token;

use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use wstg_domain::ProjectName;
use wstg_settings::Settings;
use wstg_startup::connect as service;

#[derive(Parser)]
#[command(
    name = "wstgctl",
    version,
    about = "Operate wstg-bridge: status, dead letters, manual sync, DefectDojo set-up and health"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Sync summary, queue depth, dead-letter count and each worker's
    /// DefectDojo circuit breaker, as JSON.
    Status {
        #[arg(long)]
        project: Option<String>,
    },
    /// Reconcile with DefectDojo now (all projects, one project, or one
    /// item) and report what was linked, created and pulled.
    Sync {
        #[arg(long)]
        project: Option<String>,
        #[arg(long)]
        item: Option<String>,
        /// Seconds to wait for the workers to apply it (0: only queue).
        #[arg(long, default_value_t = 60)]
        wait: u64,
    },
    /// The dead-letter queue.
    Dlq {
        #[command(subcommand)]
        command: dlq::DlqCommand,
    },
    /// API tokens: create (shown once), list, revoke.
    Token {
        #[command(subcommand)]
        command: token::TokenCommand,
    },
    /// Projects: add (admin), list.
    Project {
        #[command(subcommand)]
        command: project::ProjectCommand,
    },
    /// Recent audit rows, newest first.
    Audit {
        #[arg(long)]
        project: Option<String>,
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
    /// Make DefectDojo's notification webhook (enable webhooks, create or
    /// re-create it with its header, subscribe the events) and verify it.
    SetupWebhook {
        /// Where DefectDojo posts: wstg-ingest's /api/wstg/webhook
        /// (default: WSTG_DOJO_WEBHOOK_URL).
        #[arg(long)]
        url: Option<url::Url>,
    },
    /// Alerts to people: `alert test` sends one to the configured webhook.
    Alert {
        #[command(subcommand)]
        command: alert::AlertCommand,
    },
    /// Check the token's permissions, the WSTG test, damaged tag rows, the
    /// webhook, Redis persistence and eviction, and the store.
    Doctor,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        // The reader went away (`wstgctl dlq list | head`): nothing to say.
        Err(e) if e.downcast_ref::<output::ClosedPipe>().is_some() => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("wstgctl: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = Settings::load()?;
    match cli.command {
        Command::Status { project } => status::run(&settings, project).await,
        Command::Sync {
            project,
            item,
            wait,
        } => sync::run(&settings, project, item, Duration::from_secs(wait)).await,
        Command::Token { command } => token::run(&settings, command).await,
        Command::Project { command } => project::run(&settings, command).await,
        Command::Audit { project, limit } => {
            let project = project.map(|p| ProjectName::parse(&p)).transpose()?;
            let rows = service::store(&settings)
                .await?
                .recent_audit(project.as_ref(), limit)
                .await?;
            output::json(&rows)
        }
        Command::Dlq { command } => {
            let queue = service::queue(&settings, |_| {}).await?;
            dlq::run(&queue, command).await
        }
        Command::SetupWebhook { url } => setup_webhook::run(&settings, url).await,
        Command::Doctor => doctor::run(&settings).await,
        Command::Alert { command } => alert::run(&settings, command).await,
    }
}
