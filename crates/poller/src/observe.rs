//! One pass over one project: read the test's findings, compare with the
//! store, queue a reconciliation event per item that changed.

use std::collections::{HashMap, HashSet};

use chrono::Utc;
use dojo_client::{DojoClient, Finding, NotesField};
use wstg_domain::{Catalogue, DojoItem, DojoObservation, Envelope, EventKind, ProjectName, WstgId};
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
}

/// Equal for sync purposes: same finding, same save, same flags, same tags
/// in any order, same notes.
fn same(a: &DojoItem, b: &DojoItem) -> bool {
    a.finding_id == b.finding_id
        && a.updated == b.updated
        && a.flags == b.flags
        && wstg_domain::mapping::same_tags(&a.tags, &b.tags)
        && a.notes.replace("\r\n", "\n") == b.notes.replace("\r\n", "\n")
}

/// The item a finding stands for: its unique id, an id tag in any case, or
/// the title prefix the original design wrote; checked against the catalogue.
fn item_of(f: &Finding, catalogue: &Catalogue) -> Option<WstgId> {
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
    let page = dojo.list_test_findings(links.test_id).await?;
    let records: HashMap<WstgId, ItemRecord> = store
        .items(project)
        .await?
        .into_iter()
        .map(|r| (r.wstg_id.clone(), r))
        .collect();
    let present: HashSet<i64> = page.findings.iter().map(|f| f.id).collect();

    // One finding per item: the linked one if it is there, else the oldest.
    let mut chosen: HashMap<WstgId, &Finding> = HashMap::new();
    for f in &page.findings {
        let Some(id) = item_of(f, catalogue) else {
            continue;
        };
        if only.is_some_and(|o| *o != id) {
            continue;
        }
        let linked = records.get(&id).and_then(|r| r.finding_id);
        match chosen.get(&id) {
            Some(current) if linked == Some(current.id) => {}
            Some(current) if linked != Some(f.id) && current.id < f.id => {}
            _ => {
                chosen.insert(id, f);
            }
        }
    }

    let mut events = Vec::new();
    for (id, f) in chosen {
        let observed = f.to_dojo_item(notes_field);
        let known = records
            .get(&id)
            .and_then(|r| r.dojo.as_ref().filter(|_| r.finding_id.is_some()));
        if known.is_some_and(|k| same(k, &observed)) {
            continue;
        }
        events.push((id, DojoObservation::Present(observed)));
    }
    for (id, r) in &records {
        if only.is_some_and(|o| o != id) {
            continue;
        }
        if let Some(fid) = r.finding_id {
            if !present.contains(&fid) && !events.iter().any(|(e, _)| e == id) {
                events.push((id.clone(), DojoObservation::Deleted { finding_id: fid }));
            }
        }
    }

    let emitted = events.len();
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
    Ok(Observation {
        requests: page.requests,
        findings: page.findings.len(),
        emitted,
    })
}
