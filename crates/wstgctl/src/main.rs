//! wstgctl: the operator's command line. It reads the same environment as
//! the services (WSTG_REDIS_URL, WSTG_DATABASE_URL, WSTG_KEY_PREFIX, …).

use std::process::ExitCode;

use anyhow::Context;
use chrono::Utc;
use clap::{Parser, Subcommand};
use serde_json::json;
use wstg_domain::{Catalogue, Envelope, EventKind, ProjectName};
use wstg_queue::{Queue, QueueConfig};
use wstg_settings::Settings;
use wstg_store::Store;

#[derive(Parser)]
#[command(
    name = "wstgctl",
    version,
    about = "Operate wstg-bridge: status, dead letters, manual sync"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Sync summary, queue depth and dead-letter count, as JSON.
    Status {
        #[arg(long)]
        project: Option<String>,
    },
    /// Reconcile with DefectDojo now (all projects, one project, or one item).
    Sync {
        #[arg(long)]
        project: Option<String>,
        #[arg(long)]
        item: Option<String>,
    },
    /// The dead-letter queue.
    Dlq {
        #[command(subcommand)]
        command: DlqCommand,
    },
    /// Recent audit rows, newest first.
    Audit {
        #[arg(long)]
        project: Option<String>,
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
}

#[derive(Subcommand)]
enum DlqCommand {
    /// List dead letters (oldest first).
    List {
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// Show one dead letter in full.
    Show { id: String },
    /// Put a dead letter (or all of them) back on the queue, same event id.
    Replay {
        id: Option<String>,
        #[arg(long)]
        all: bool,
    },
    /// Delete every dead letter.
    Purge {
        #[arg(long)]
        yes: bool,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("wstgctl: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn queue(settings: &Settings) -> anyhow::Result<Queue> {
    Queue::connect(QueueConfig::new(
        settings.redis.url.clone(),
        settings.redis.key_prefix.clone(),
    ))
    .await
    .with_context(|| format!("connecting to Redis at {}", settings.redis.redacted_url()))
}

async fn store(settings: &Settings) -> anyhow::Result<Store> {
    Store::connect(&settings.database.url)
        .await
        .with_context(|| format!("opening the store at {}", settings.database.redacted_url()))
}

fn print(v: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = Settings::load()?;
    match cli.command {
        Command::Status { project } => {
            let project = project.map(|p| ProjectName::parse(&p)).transpose()?;
            let store = store(&settings).await?;
            let summary = store.status_summary(project.as_ref()).await?;
            let queue = queue(&settings).await?.stats().await?;
            print(&json!({ "sync": summary, "queue": queue }))
        }
        Command::Sync { project, item } => {
            let store = store(&settings).await?;
            let catalogue = Catalogue::get(settings.catalogue_version);
            let wstg_id = item.map(|i| catalogue.parse_id(&i)).transpose()?;
            let projects: Vec<ProjectName> = match project {
                Some(p) => vec![ProjectName::parse(&p)?],
                None => {
                    let mut known: Vec<ProjectName> = store
                        .projects()
                        .await?
                        .into_iter()
                        .map(|(p, _)| p)
                        .collect();
                    if known.is_empty() {
                        known.push(settings.default_project.clone());
                    }
                    known
                }
            };
            let queue = queue(&settings).await?;
            for project in projects {
                let env = Envelope::new(
                    project.clone(),
                    EventKind::Reconcile {
                        wstg_id: wstg_id.clone(),
                        reason: "wstgctl sync".to_owned(),
                    },
                    Utc::now(),
                );
                queue.publish(&env).await?;
                println!(
                    "queued reconciliation of {project} (event {})",
                    env.event_id
                );
            }
            Ok(())
        }
        Command::Audit { project, limit } => {
            let project = project.map(|p| ProjectName::parse(&p)).transpose()?;
            let rows = store(&settings)
                .await?
                .recent_audit(project.as_ref(), limit)
                .await?;
            print(&rows)
        }
        Command::Dlq { command } => {
            let queue = queue(&settings).await?;
            match command {
                DlqCommand::List { limit } => print(&queue.dlq_list(limit).await?),
                DlqCommand::Show { id } => match queue.dlq_get(&id).await? {
                    Some(d) => print(&d),
                    None => anyhow::bail!("no dead letter {id}"),
                },
                DlqCommand::Replay { all: true, .. } => {
                    let n = queue.dlq_replay_all().await?;
                    println!("replayed {n} dead letters");
                    Ok(())
                }
                DlqCommand::Replay { id: Some(id), .. } => match queue.dlq_replay(&id).await? {
                    Some(new_id) => {
                        println!("replayed {id} as {new_id}");
                        Ok(())
                    }
                    None => anyhow::bail!("no dead letter {id}"),
                },
                DlqCommand::Replay {
                    id: None,
                    all: false,
                } => anyhow::bail!("name a dead letter id, or --all"),
                DlqCommand::Purge { yes } => {
                    anyhow::ensure!(yes, "purge deletes every dead letter: add --yes");
                    let n = queue.dlq_purge().await?;
                    println!("purged {n} dead letters");
                    Ok(())
                }
            }
        }
    }
}
