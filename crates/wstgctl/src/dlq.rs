//! `wstgctl dlq`: the dead-letter queue. Listing and showing only read
//! (the queue is opened without creating anything); replay queues events
//! again; purge deletes, and says what it deletes: every dead letter
//! (`--all --yes`) or those older than an age (`--older-than 7d`).

use chrono::{DateTime, Utc};
use clap::{ArgGroup, Subcommand};
use serde_json::json;
use wstg_domain::ProjectName;
use wstg_queue::{DeadLetter, Queue};
use wstg_settings::Settings;
use wstg_store::normalise_project_name;

use crate::exit::CliError;
use crate::open;
use crate::output::{opt, table, Out};

/// Dead letters read per page while filtering by project.
const PAGE: usize = 200;

#[derive(Subcommand)]
pub enum DlqCommand {
    /// List dead letters, oldest first. Reads WSTG_REDIS_URL, WSTG_REDIS_KEY_PREFIX.
    List {
        /// At most this many.
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=10_000))]
        limit: u32,
        /// Only dead letters of this project (as written in their event).
        #[arg(long)]
        project: Option<String>,
        /// Only those after this dead-letter id (paging: pass the last id
        /// of the previous page) or this time (RFC 3339, e.g.
        /// 2026-12-01T06:00:00Z).
        #[arg(long, value_name = "ID|TIME")]
        after: Option<String>,
    },
    /// Show one dead letter in full (exit 3 if there is none with this id).
    /// Reads WSTG_REDIS_URL, WSTG_REDIS_KEY_PREFIX.
    Show {
        /// The dead letter's id (see `dlq list`).
        id: String,
    },
    /// Put a dead letter (or all of them) back on the queue, same event id
    /// (exit 3 if there is none with this id). Reads WSTG_REDIS_URL, WSTG_REDIS_KEY_PREFIX.
    Replay {
        /// The dead letter's id (see `dlq list`).
        id: Option<String>,
        /// Every dead letter.
        #[arg(long, conflicts_with = "id")]
        all: bool,
    },
    /// Delete dead letters: `--older-than 7d` (those dead longer than
    /// that), or `--all --yes` (every one). Reads WSTG_REDIS_URL, WSTG_REDIS_KEY_PREFIX.
    #[command(group(ArgGroup::new("which").required(true).args(["all", "older_than"])))]
    Purge {
        /// Every dead letter (needs --yes).
        #[arg(long)]
        all: bool,
        /// Confirms --all.
        #[arg(long, requires = "all")]
        yes: bool,
        /// Those dead longer than this (e.g. 30m, 12h, 7d).
        #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
        older_than: Option<std::time::Duration>,
    },
}

pub async fn run(settings: &Settings, out: Out, command: DlqCommand) -> anyhow::Result<()> {
    match command {
        DlqCommand::List {
            limit,
            project,
            after,
        } => {
            // Arguments first: a typo is a usage error even with Redis away.
            let after = after.as_deref().map(parse_after).transpose()?;
            let project = project
                .map(|p| {
                    normalise_project_name(&p)
                        .map_err(|e| CliError::Usage(format!("--project: {e}")))
                })
                .transpose()?;
            let queue = open::queue(settings).await?;
            let list = list(&queue, limit as usize, project.as_ref(), after).await?;
            out.show(&list, |list| {
                table(
                    &["ID", "DEAD AT", "PROJECT", "EVENT", "ATTEMPTS", "ERROR"],
                    list.iter().map(|d| {
                        vec![
                            d.id.clone(),
                            d.dead_at.format("%Y-%m-%d %H:%M:%S").to_string(),
                            opt(d.envelope.as_ref().map(|e| e.project.to_string())),
                            opt(d.envelope.as_ref().map(|e| e.event_id)),
                            d.attempts.to_string(),
                            d.error.chars().take(80).collect(),
                        ]
                    }),
                )
            })
        }
        DlqCommand::Show { id } => {
            let queue = open::queue(settings).await?;
            match queue.dlq_get(&id).await? {
                Some(d) => out.show(&d, |d| {
                    crate::output::fields([
                        ("id", d.id.clone()),
                        ("dead at", d.dead_at.to_rfc3339()),
                        (
                            "first failed at",
                            opt(d.first_failed_at.map(|t| t.to_rfc3339())),
                        ),
                        ("attempts", d.attempts.to_string()),
                        ("source id", opt(d.source_id.as_deref())),
                        ("error", d.error.clone()),
                        ("event", d.raw.clone()),
                    ])
                }),
                None => Err(CliError::NotFound(format!("no dead letter {id}")).into()),
            }
        }
        DlqCommand::Replay { all: true, .. } => {
            let queue = open::queue_for_writing(settings).await?;
            let n = queue.dlq_replay_all().await?;
            out.done(
                format!("replayed {n} dead letters"),
                &json!({ "replayed": n }),
            )
        }
        DlqCommand::Replay { id: Some(id), .. } => {
            let queue = open::queue_for_writing(settings).await?;
            match queue.dlq_replay(&id).await? {
                Some(new_id) => out.done(
                    format!("replayed {id} as {new_id}"),
                    &json!({ "replayed": 1, "id": id, "new_id": new_id }),
                ),
                None => Err(CliError::NotFound(format!("no dead letter {id}")).into()),
            }
        }
        DlqCommand::Replay {
            id: None,
            all: false,
        } => Err(CliError::Usage("name a dead letter id, or --all".to_owned()).into()),
        DlqCommand::Purge {
            all,
            yes,
            older_than,
        } => {
            if all && !yes {
                return Err(CliError::Usage(
                    "--all deletes every dead letter: add --yes".to_owned(),
                )
                .into());
            }
            let queue = open::queue(settings).await?;
            match older_than {
                Some(age) => {
                    let cutoff = Utc::now()
                        - chrono::Duration::from_std(age)
                            .map_err(|_| CliError::Usage("--older-than is too long".to_owned()))?;
                    let n = queue.dlq_purge_older_than(cutoff).await?;
                    out.done(
                        format!(
                            "purged {n} dead letters older than {}",
                            humantime::format_duration(age)
                        ),
                        &json!({ "purged": n, "older_than_secs": age.as_secs(), "cutoff": cutoff }),
                    )
                }
                None => {
                    let n = queue.dlq_purge().await?;
                    out.done(format!("purged {n} dead letters"), &json!({ "purged": n }))
                }
            }
        }
    }
}

/// Where listing starts.
#[derive(Debug, Clone, PartialEq, Eq)]
enum After {
    Id(String),
    Time(DateTime<Utc>),
}

fn parse_after(raw: &str) -> Result<After, CliError> {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let is_id = match raw.split_once('-') {
        Some((ms, seq)) => digits(ms) && digits(seq),
        None => digits(raw),
    };
    if is_id {
        return Ok(After::Id(raw.to_owned()));
    }
    DateTime::parse_from_rfc3339(raw)
        .map(|t| After::Time(t.with_timezone(&Utc)))
        .map_err(|_| {
            CliError::Usage(format!(
                "--after '{raw}' is neither a dead-letter id (1764568800000-0) nor an RFC 3339 time (2026-12-01T06:00:00Z)"
            ))
        })
}

/// Up to `limit` dead letters after `after`, of `project` if given; pages
/// through the stream so that a filter still fills the list.
async fn list(
    queue: &Queue,
    limit: usize,
    project: Option<&ProjectName>,
    after: Option<After>,
) -> anyhow::Result<Vec<DeadLetter>> {
    // The exclusive start id: a time T starts after every id of T's millisecond.
    let mut cursor = match after {
        Some(After::Id(id)) => Some(id),
        Some(After::Time(t)) => Some(format!("{}-{}", t.timestamp_millis().max(0), u64::MAX)),
        None => None,
    };
    let mut found = Vec::new();
    loop {
        let page_size = if project.is_some() {
            PAGE
        } else {
            limit - found.len()
        };
        let page = match &cursor {
            Some(c) => queue.dlq_list_after(c, page_size).await?,
            None => queue.dlq_list(page_size).await?,
        };
        let Some(last) = page.last() else { break };
        cursor = Some(last.id.clone());
        let end_of_stream = page.len() < page_size;
        found.extend(page.into_iter().filter(|d| {
            project.is_none_or(|p| d.envelope.as_ref().is_some_and(|e| &e.project == p))
        }));
        if found.len() >= limit || end_of_stream {
            break;
        }
    }
    found.truncate(limit);
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn after_takes_an_id_or_a_time_and_names_both_when_neither() {
        assert!(
            matches!(parse_after("1764568800000-3"), Ok(After::Id(ref s)) if s == "1764568800000-3")
        );
        assert!(matches!(parse_after("1764568800000"), Ok(After::Id(_))));
        assert!(matches!(
            parse_after("2026-12-01T06:00:00Z"),
            Ok(After::Time(_))
        ));
        let err = parse_after("yesterday").unwrap_err().to_string();
        assert!(
            err.contains("RFC 3339") && err.contains("dead-letter id"),
            "{err}"
        );
    }
}
