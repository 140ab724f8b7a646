//! One pass over one project: read the test's findings and the store, and
//! queue a reconciliation event per item the sync rule calls changed
//! (`wstg_domain::sync::observe` decides; this file only reads and queues).

use std::collections::{HashMap, HashSet};

use chrono::Utc;
use dojo_client::{DojoClient, Finding, NotesField};
use wstg_domain::sync::observe;
use wstg_domain::{Catalogue, DojoItem, Envelope, EventKind, ProjectName, WstgId};
use wstg_queue::Queue;
use wstg_store::{ItemRecord, ProjectLinks, Store};

/// What one pass saw and did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Observation {
    /// DefectDojo requests made.
    pub requests: u32,
    /// Findings read.
    pub findings: usize,
    /// Reconciliation events queued.
    pub emitted: usize,
    /// The items whose finding was seen changed, with the finding: a new
    /// note bumps `updated`, so these are the findings whose notes may be
    /// news (crate::comments reads them).
    pub changed: Vec<(WstgId, i64)>,
}

/// The item a finding names: its unique id, an id tag in any case, or the
/// title prefix the original design wrote; checked against the catalogue.
/// A vulnerability finding in the test (issue 12) is never an item's.
fn item_of(f: &Finding, catalogue: &Catalogue) -> Option<WstgId> {
    if wstg_domain::vulnerability::is_marked_vulnerability(
        f.unique_id_from_tool.as_deref(),
        &f.tags,
    ) {
        return None;
    }
    catalogue.parse_id(&f.wstg_id_hint()?).ok()
}

/// Reads `project`'s WSTG test and queues one event per changed item.
/// `only` limits the pass to one item (wstgctl sync --item).
#[allow(clippy::too_many_arguments)]
pub async fn observe_project(
    dojo: &DojoClient,
    store: &Store,
    queue: &Queue,
    catalogue: &Catalogue,
    notes_field: NotesField,
    project: &ProjectName,
    links: &ProjectLinks,
    only: Option<&WstgId>,
    reason: &str,
) -> anyhow::Result<Observation> {
    // The store first, DefectDojo second: every finding the store links was
    // then made before the list was read, so it is in the list unless it was
    // deleted. Read the other way round, a finding a worker created and
    // recorded between the two reads looked deleted: the item was unlinked
    // and the next tracker change created a second finding (seen in the
    // original-design scenario under load).
    let records: HashMap<WstgId, ItemRecord> = store
        .items(project)
        .await?
        .into_iter()
        .map(|r| (r.wstg_id.clone(), r))
        .collect();
    let page = dojo.list_test_findings(links.test_id).await?;
    let present: HashSet<i64> = page.findings.iter().map(|f| f.id).collect();
    let in_scope = |id: &WstgId| only.is_none_or(|o| o == id);

    // Which finding stands for each item, and what is news, are the sync
    // rule's to say (wstg_domain::sync::observe); this pass only reads.
    let by_id: HashMap<i64, &Finding> = page.findings.iter().map(|f| (f.id, f)).collect();
    let linked: HashMap<WstgId, i64> = records
        .iter()
        .filter_map(|(id, r)| Some((id.clone(), r.finding_id?)))
        .collect();
    let chosen = observe::choose_findings(
        page.findings
            .iter()
            .filter_map(|f| Some((f.id, item_of(f, catalogue)?)))
            .filter(|(_, id)| in_scope(id)),
        &linked,
    );
    let mut chosen: Vec<(WstgId, DojoItem)> = chosen
        .into_iter()
        .filter_map(|(id, fid)| Some((id, by_id.get(&fid)?.to_dojo_item(notes_field))))
        .collect();
    chosen.sort_by(|a, b| a.0.cmp(&b.0));
    let snapshots: HashMap<WstgId, (i64, Option<DojoItem>)> = records
        .iter()
        .filter(|(id, _)| in_scope(id))
        .filter_map(|(id, r)| Some((id.clone(), (r.finding_id?, r.dojo.clone()))))
        .collect();
    let events = observe::observations(chosen, &snapshots, &|fid| present.contains(&fid));

    let emitted = events.len();
    let changed = events
        .iter()
        .filter_map(|(id, o)| match o {
            wstg_domain::DojoObservation::Present(d) => Some((id.clone(), d.finding_id)),
            wstg_domain::DojoObservation::Deleted { .. } => None,
        })
        .collect();
    for (wstg_id, observed) in events {
        let env = Envelope::new(
            project.clone(),
            EventKind::Reconcile {
                wstg_id: Some(wstg_id),
                reason: reason.to_owned(),
                observed: Some(observed),
            },
            Utc::now(),
        );
        queue.publish(&env).await?;
    }
    // Files added or removed in DefectDojo on the linked findings
    // (crate::evidence: no request unless a finding's file ids changed).
    let file_requests =
        crate::evidence::observe_linked_files(dojo, store, project, &linked, &by_id).await;
    Ok(Observation {
        requests: page.requests + file_requests,
        findings: page.findings.len(),
        emitted,
        changed,
    })
}

/// What a change feed did for one project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedOutcome {
    /// Reconciliation events queued, and the items (with their finding)
    /// whose finding the sync rule saw changed: their notes are read next
    /// (crate::comments), as after a full read.
    Emitted(usize, Vec<(WstgId, i64)>),
    /// The feed held a finding only the whole test can place (an unlinked
    /// item's, or a duplicate): read the test in full this pass.
    NeedsFullScan,
}

/// Compares the findings a change feed brought for `project` (findings of
/// its WSTG test whose status changed since the watermark) with the store's
/// snapshots and queues one event per change. Absence means nothing here:
/// deletions are the full scan's (`observe_project`).
#[allow(clippy::too_many_arguments)]
pub async fn observe_feed(
    store: &Store,
    queue: &Queue,
    catalogue: &Catalogue,
    notes_field: NotesField,
    project: &ProjectName,
    findings: &[&Finding],
    reason: &str,
) -> anyhow::Result<FeedOutcome> {
    let records: HashMap<WstgId, ItemRecord> = store
        .items(project)
        .await?
        .into_iter()
        .map(|r| (r.wstg_id.clone(), r))
        .collect();
    let linked: HashMap<WstgId, i64> = records
        .iter()
        .filter_map(|(id, r)| Some((id.clone(), r.finding_id?)))
        .collect();
    let Some(chosen) = observe::feed_findings(
        findings
            .iter()
            .filter_map(|f| Some((f.id, item_of(f, catalogue)?))),
        &linked,
    ) else {
        return Ok(FeedOutcome::NeedsFullScan);
    };
    let by_id: HashMap<i64, &Finding> = findings.iter().map(|f| (f.id, *f)).collect();
    let snapshots: HashMap<WstgId, (i64, Option<DojoItem>)> = chosen
        .iter()
        .filter_map(|(id, _)| {
            let r = records.get(id)?;
            Some((id.clone(), (r.finding_id?, r.dojo.clone())))
        })
        .collect();
    let chosen: Vec<(WstgId, DojoItem)> = chosen
        .into_iter()
        .filter_map(|(id, fid)| Some((id, by_id.get(&fid)?.to_dojo_item(notes_field))))
        .collect();
    let events = observe::observations(chosen, &snapshots, &|_| true);
    let emitted = events.len();
    let changed = events
        .iter()
        .filter_map(|(id, o)| match o {
            wstg_domain::DojoObservation::Present(d) => Some((id.clone(), d.finding_id)),
            wstg_domain::DojoObservation::Deleted { .. } => None,
        })
        .collect();
    for (wstg_id, observed) in events {
        let env = Envelope::new(
            project.clone(),
            EventKind::Reconcile {
                wstg_id: Some(wstg_id),
                reason: reason.to_owned(),
                observed: Some(observed),
            },
            Utc::now(),
        );
        queue.publish(&env).await?;
    }
    Ok(FeedOutcome::Emitted(emitted, changed))
}
