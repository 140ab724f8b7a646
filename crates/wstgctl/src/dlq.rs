//! `wstgctl dlq`: the dead-letter queue.

use clap::Subcommand;
use wstg_queue::Queue;

use crate::output;

#[derive(Subcommand)]
pub enum DlqCommand {
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

pub async fn run(queue: &Queue, command: DlqCommand) -> anyhow::Result<()> {
    match command {
        DlqCommand::List { limit } => output::json(&queue.dlq_list(limit).await?),
        DlqCommand::Show { id } => match queue.dlq_get(&id).await? {
            Some(d) => output::json(&d),
            None => anyhow::bail!("no dead letter {id}"),
        },
        DlqCommand::Replay { all: true, .. } => {
            let n = queue.dlq_replay_all().await?;
            output::line(format!("replayed {n} dead letters"))
        }
        DlqCommand::Replay { id: Some(id), .. } => match queue.dlq_replay(&id).await? {
            Some(new_id) => output::line(format!("replayed {id} as {new_id}")),
            None => anyhow::bail!("no dead letter {id}"),
        },
        DlqCommand::Replay {
            id: None,
            all: false,
        } => anyhow::bail!("name a dead letter id, or --all"),
        DlqCommand::Purge { yes } => {
            anyhow::ensure!(yes, "purge deletes every dead letter: add --yes");
            let n = queue.dlq_purge().await?;
            output::line(format!("purged {n} dead letters"))
        }
    }
}
