//! The vulnerability step of a poll pass (issue 12): one list of the
//! project's engagement, every finding with a tag containing `wstg-` and
//! no status tag (`test__engagement=E&tag=wstg-&not_tags=<the five status
//! tags>`, docs/defectdojo.md §15), whoever made it. Each finding
//! `wstg_domain::vulnerability::finding_role` calls a vulnerability, and
//! whose fields or status differ from the store's, becomes one
//! `vulnerability` event; a linked vulnerability no longer listed becomes
//! one asking the worker to read it again (deleted, or untagged).
//!
//! Cost: one request per project and pass (more only past `dojo.page_size`
//! vulnerability findings), counted in the pass's request metric beside the
//! item read.

use std::collections::{HashMap, HashSet};

use chrono::Utc;
use dojo_client::{looks_like_wstg_id, DojoClient};
use wstg_domain::vulnerability::{finding_role, FindingRole, VulnStatus};
use wstg_domain::{Catalogue, Envelope, EventKind, ProjectName, VulnObservation};
use wstg_queue::Queue;
use wstg_store::{ProjectLinks, Store};

/// What the step saw and did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VulnPass {
    /// DefectDojo requests made.
    pub requests: u32,
    /// Vulnerability findings read.
    pub findings: usize,
    /// Events queued.
    pub emitted: usize,
}

pub async fn observe_vulnerabilities(
    dojo: &DojoClient,
    store: &Store,
    queue: &Queue,
    catalogue: &Catalogue,
    project: &ProjectName,
    links: &ProjectLinks,
) -> anyhow::Result<VulnPass> {
    // The store first (as the item poll does): a vulnerability linked before
    // the list was read is in it unless it left.
    let records = store.linked_vulnerabilities(project).await?;
    let item_findings: HashSet<i64> = store
        .items(project)
        .await?
        .into_iter()
        .filter_map(|r| r.finding_id)
        .collect();
    let by_finding: HashMap<i64, _> = records
        .iter()
        .filter_map(|r| Some((r.finding_id?, r)))
        .collect();
    let page = dojo
        .list_engagement_vulnerability_findings(links.engagement_id)
        .await?;
    let mut listed = HashSet::new();
    let mut events = Vec::new();
    for f in &page.findings {
        if item_findings.contains(&f.id) {
            continue;
        }
        let FindingRole::Vulnerability { id_tag } = finding_role(
            f.unique_id_from_tool.as_deref(),
            &f.tags,
            &looks_like_wstg_id,
        ) else {
            continue;
        };
        let Ok(wstg_id) = catalogue.parse_id(&id_tag.to_ascii_uppercase()) else {
            continue;
        };
        listed.insert(f.id);
        let fields = f.vulnerability_fields();
        let status = f.vulnerability_status();
        let known = by_finding.get(&f.id);
        let news = match known {
            Some(r) => {
                r.status != VulnStatus::Deleted
                    && (r.synced.as_ref() != Some(&fields) || r.status != status)
            }
            None => true,
        };
        if news {
            events.push(EventKind::Vulnerability {
                wstg_id,
                vulnerability_id: known.map(|r| r.id),
                observed: Some(VulnObservation::Present {
                    finding_id: f.id,
                    fields,
                    status,
                    updated: f.updated.clone(),
                }),
            });
        }
    }
    for r in &records {
        let Some(fid) = r.finding_id else { continue };
        if r.status != VulnStatus::Deleted && !listed.contains(&fid) {
            events.push(EventKind::Vulnerability {
                wstg_id: r.wstg_id.clone(),
                vulnerability_id: Some(r.id),
                observed: Some(VulnObservation::Missing { finding_id: fid }),
            });
        }
    }
    let emitted = events.len();
    for kind in events {
        queue
            .publish(&Envelope::new(project.clone(), kind, Utc::now()))
            .await?;
    }
    Ok(VulnPass {
        requests: page.requests,
        findings: page.findings.len(),
        emitted,
    })
}
