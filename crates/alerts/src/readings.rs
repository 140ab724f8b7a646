//! What the rules look at, read once per evaluation from the queue (Redis)
//! and the store. Figures come from several reads and are not one atomic
//! view; the rules only need them to be recent.

use std::time::Duration;

use chrono::{DateTime, Utc};
use wstg_queue::Queue;
use wstg_store::Store;

/// A worker's breaker published longer ago than this belongs to a replica
/// that died and is not evidence (the status API uses the same limit).
const BREAKER_FRESH: Duration = Duration::from_secs(30);

/// The longest reason text kept from DefectDojo's error (it goes into a
/// message that people read; DefectDojo's error pages are long).
const REASON_MAX: usize = 300;

/// One project's item counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectCounts {
    pub project: String,
    pub total: u64,
    pub pending: u64,
    pub in_conflict: u64,
}

/// Everything the rules need. `None` in a store figure means the store did
/// not answer: the rules that need it are skipped this time, and their
/// incidents stay as they were.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Readings {
    pub dead_letters: u64,
    /// Why DefectDojo counts as unreachable now, if it does: the poller's
    /// last pass could not read it, or a live worker's breaker is open.
    pub dojo_unreachable: Option<String>,
    /// The last complete poll pass (Redis).
    pub last_poll_ok: Option<DateTime<Utc>>,
    /// The last sync of any item, either way (store).
    pub last_item_sync: Option<DateTime<Utc>>,
    /// The oldest unfinished event's age: its time on the stream, or the
    /// longest a delivered one has waited for its ack, whichever is more.
    pub backlog_age: Option<Duration>,
    /// Per project; `None` when the store did not answer.
    pub projects: Option<Vec<ProjectCounts>>,
}

impl Readings {
    /// The last successful sync: a complete poll pass or an item synced.
    pub fn last_sync(&self) -> Option<DateTime<Utc>> {
        self.last_poll_ok.max(self.last_item_sync)
    }
}

fn bounded(s: &str) -> String {
    if s.chars().count() <= REASON_MAX {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(REASON_MAX).collect();
        t.push('…');
        t
    }
}

/// Reads every figure. Redis must answer (without it no replica holds the
/// alert lease anyway); the store may not.
pub async fn read(queue: &Queue, store: &Store) -> anyhow::Result<Readings> {
    let stats = queue.stats().await?;
    let stream_age = queue.backlog_age().await?;
    let pending_idle = stats.oldest_pending_idle_ms.map(Duration::from_millis);
    let backlog_age = stream_age.max(pending_idle);

    let heartbeat = queue.poller_heartbeat().await?;
    let breakers = queue.breaker_report(BREAKER_FRESH).await?;
    let dojo_unreachable = match heartbeat {
        Some(h) if h["dojo_reachable"] == serde_json::json!(false) => Some(format!(
            "the poller cannot read DefectDojo: {}",
            h["last_error"].as_str().unwrap_or("no answer")
        )),
        _ if breakers.state == "open" => {
            let why = breakers
                .workers
                .iter()
                .find(|w| w.state == "open")
                .and_then(|w| w.last_error.clone())
                .unwrap_or_else(|| "DefectDojo calls keep failing".to_owned());
            Some(format!(
                "{} worker circuit breaker(s) open: {why}",
                breakers.open
            ))
        }
        _ => None,
    }
    .map(|s| bounded(&s));

    let last_poll_ok = queue.last_poll_ok().await?;
    let (last_item_sync, projects) = match store_counts(store).await {
        Ok((last, projects)) => (last, Some(projects)),
        Err(e) => {
            tracing::warn!(error = %format!("{e:#}"), "alerts: the store did not answer; its rules are skipped this time");
            (None, None)
        }
    };
    Ok(Readings {
        dead_letters: stats.dlq,
        dojo_unreachable,
        last_poll_ok,
        last_item_sync,
        backlog_age,
        projects,
    })
}

async fn store_counts(
    store: &Store,
) -> anyhow::Result<(Option<DateTime<Utc>>, Vec<ProjectCounts>)> {
    let all = store.status_summary(None).await?;
    let mut names: Vec<_> = store
        .registered_projects()
        .await?
        .into_iter()
        .map(|p| p.name)
        .collect();
    for (name, _) in store.projects().await? {
        if !names.contains(&name) {
            names.push(name);
        }
    }
    let mut projects = Vec::with_capacity(names.len());
    for name in names {
        let s = store.status_summary(Some(&name)).await?;
        projects.push(ProjectCounts {
            project: name.as_str().to_owned(),
            total: s.total_items,
            pending: s.pending_items,
            in_conflict: s.items_in_conflict,
        });
    }
    Ok((all.last_sync, projects))
}
