//! `wstgctl sync` (the original design's `make sync-wstg` / `--once`).

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use anyhow::Context;
use chrono::Utc;
use serde::Serialize;
use wstg_domain::wstg_id::WstgIdError;
use wstg_domain::{Catalogue, Envelope, EventKind, ProjectName, WstgId};
use wstg_queue::Queue;
use wstg_settings::Settings;
use wstg_startup::connect as service;
use wstg_store::{Direction, ItemRecord, SyncState};
use wstg_worker::bootstrap::{Bootstrapper, HierarchyNames};
use wstg_worker::item_lock::ItemLocks;

use crate::exit::CliError;
use crate::open;
use crate::output::Out;

/// One project's sync, as `--output json` prints it.
#[derive(Debug, Serialize)]
pub struct ProjectSync {
    pub project: String,
    pub findings_read: usize,
    pub requests: u32,
    pub queued_changes: usize,
    pub rechecked: usize,
    pub linked: usize,
    pub created: usize,
    pub pulled: usize,
    /// Whether the workers applied everything within `--wait`.
    pub applied: bool,
}

/// What a sync did to one project, from the store before and after.
#[derive(Debug, Default, PartialEq, Eq, Serialize)]
pub struct Outcome {
    /// Items now linked to a finding that was already in DefectDojo.
    pub linked: usize,
    /// Items now linked to a finding that was not there before.
    pub created: usize,
    /// Items whose tracker state was taken from DefectDojo.
    pub pulled: usize,
}

/// Compares the item records before and after the sync; `present` are the
/// finding ids the test held before it.
pub fn outcome(
    before: &HashMap<WstgId, ItemRecord>,
    after: &[ItemRecord],
    present: &HashSet<i64>,
) -> Outcome {
    let mut o = Outcome::default();
    for r in after {
        let old = before.get(&r.wstg_id);
        if let Some(f) = r.finding_id {
            if old.and_then(|o| o.finding_id) != Some(f) {
                if present.contains(&f) {
                    o.linked += 1;
                } else {
                    o.created += 1;
                }
            }
        }
        if r.last_sync_direction == Some(Direction::DojoToTracker)
            && old.and_then(|o| o.tracker.as_ref()) != r.tracker.as_ref()
        {
            o.pulled += 1;
        }
    }
    o
}

/// Makes sure each project's DefectDojo hierarchy exists (finding the WSTG
/// test by the configured criteria before making one), reads its test once
/// and queues an event for every item that differs, re-checks every item
/// whose tracker change is still pending or failed, then waits up to `wait`
/// for the workers to apply it all and reports what was linked, created and
/// pulled. Exit 5 (partial) when not everything was applied within `wait`.
pub async fn run(
    settings: &Settings,
    out: Out,
    project: Option<String>,
    item: Option<String>,
    wait: Duration,
) -> anyhow::Result<()> {
    let notes_field = service::notes_field(settings)?;
    let dojo = service::dojo(settings, "wstgctl sync")?;
    let store = open::store(settings).await?;
    let queue = open::queue_for_writing(settings).await?;
    let locks = ItemLocks::new(
        queue.connection(),
        &settings.redis.key_prefix,
        settings.dojo.timeout * 3,
    );
    let bootstrap = Bootstrapper::new(
        dojo.clone(),
        store.clone(),
        locks,
        HierarchyNames::from_settings(settings),
    );
    let projects: Vec<ProjectName> = match project {
        Some(p) => vec![open::existing_project(&store, settings, &p).await?],
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
    // A malformed id, or one the project's catalogue (issue 12 item 5; the
    // configured one without --project) lacks, fails before DefectDojo is
    // touched.
    let catalogue = match &projects[..] {
        [only_one] if item.is_some() => bootstrap.catalogues().of(only_one).await?,
        _ => Catalogue::get(settings.catalogue_version),
    };
    let only = item
        .map(|i| {
            catalogue.parse_id(&i).map_err(|e| match e {
                // Well-formed, but no such test: not found, and which
                // catalogue was asked.
                WstgIdError::NotInCatalogue { .. } => anyhow::Error::from(CliError::NotFound(
                    format!("--item: {e} (the project's catalogue, or the one WSTG_CATALOGUE_VERSION selects)"),
                )),
                _ => anyhow::Error::from(e).context("--item"),
            })
        })
        .transpose()?;
    let mut report = Vec::new();
    for project in projects {
        let catalogue = bootstrap.catalogues().of(&project).await?;
        let links = bootstrap
            .links(&project)
            .await
            .with_context(|| format!("preparing project {project} in DefectDojo"))?;
        let before: HashMap<WstgId, ItemRecord> = store
            .items(&project)
            .await?
            .into_iter()
            .map(|r| (r.wstg_id.clone(), r))
            .collect();
        // The findings there before, to tell a link from a creation.
        let present: HashSet<i64> = dojo
            .list_test_findings(links.test_id)
            .await?
            .findings
            .iter()
            .map(|f| f.id)
            .collect();
        let seen = wstg_poller::observe_project(
            &dojo,
            &store,
            &queue,
            catalogue,
            notes_field,
            &project,
            &links,
            only.as_ref(),
            "wstgctl sync",
        )
        .await?;
        let mut rechecked = 0;
        for record in before.values() {
            if only.as_ref().is_some_and(|o| *o != record.wstg_id)
                || !matches!(record.sync_state, SyncState::Pending | SyncState::Failed)
            {
                continue;
            }
            let env = Envelope::new(
                project.clone(),
                EventKind::Reconcile {
                    wstg_id: Some(record.wstg_id.clone()),
                    reason: "wstgctl sync".to_owned(),
                    observed: None,
                },
                Utc::now(),
            );
            queue.publish(&env).await?;
            rechecked += 1;
        }
        let applied = wait_idle(&queue, wait).await?;
        let o = outcome(&before, &store.items(&project).await?, &present);
        let tail = if applied {
            String::new()
        } else {
            format!(
                "; not all applied within {} s (are the workers running?)",
                wait.as_secs()
            )
        };
        if !out.is_json() {
            out.done(
                format!(
                    "{project}: read {} findings in {} request(s); queued {} DefectDojo change(s) and {} re-check(s) of pending items; linked {}, created {}, pulled {}{tail}",
                    seen.findings, seen.requests, seen.emitted, rechecked, o.linked, o.created, o.pulled
                ),
                &(),
            )?;
        }
        report.push(ProjectSync {
            project: project.to_string(),
            findings_read: seen.findings,
            requests: seen.requests,
            queued_changes: seen.emitted,
            rechecked,
            linked: o.linked,
            created: o.created,
            pulled: o.pulled,
            applied,
        });
    }
    if out.is_json() {
        out.done("", &report)?;
    }
    let unapplied: Vec<&str> = report
        .iter()
        .filter(|r| !r.applied)
        .map(|r| r.project.as_str())
        .collect();
    if unapplied.is_empty() || wait.is_zero() {
        Ok(())
    } else {
        Err(CliError::Partial(format!(
            "queued, but not all applied within {} s in {} (are the workers running? `wstgctl status` shows the queue)",
            wait.as_secs(),
            unapplied.join(", ")
        ))
        .into())
    }
}

/// Waits until nothing is queued or waiting for a retry; false on timeout.
async fn wait_idle(queue: &Queue, wait: Duration) -> anyhow::Result<bool> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let s = queue.stats().await?;
        if s.stream_len == 0 && s.delayed == 0 {
            return Ok(true);
        }
        if tokio::time::Instant::now() >= deadline {
            return Ok(false);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
