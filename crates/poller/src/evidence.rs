//! Files added in DefectDojo appear in the tracker (issue 12 item 2).
//!
//! The cheapest way: every finding the pass lists already carries the ids
//! of its files (`files` in its JSON, docs/defectdojo.md §16). Only for a
//! finding the bridge links whose ids differ from what the store knows
//! (`wstg_domain::sync::evidence::files_changed`) is its file list read
//! (one request), and only files that are news are downloaded (one request
//! each, read at most up to `limits.evidence_max_file_bytes`). A pass in
//! which no file changed costs no DefectDojo request and one store query
//! per linked finding. What to do is the sync rule's
//! (`observe_files`); this file only reads, downloads and records.

use std::collections::HashMap;
use std::sync::OnceLock;

use chrono::Utc;
use dojo_client::{DojoClient, Finding};
use sha2::{Digest, Sha256};
use uuid::Uuid;
use wstg_domain::evidence::{EvidenceName, EvidenceOrigin, EvidenceTarget, EvidenceType};
use wstg_domain::sync::evidence::{files_changed, observe_files, DojoFile};
use wstg_domain::{ProjectName, WstgId};
use wstg_store::{NewEvidence, Store};

/// The bounds the poller copies files within (`limits.evidence_*`).
#[derive(Debug, Clone, Copy)]
pub struct FileLimits {
    pub max_file_bytes: u64,
    pub max_project_bytes: u64,
}

static LIMITS: OnceLock<FileLimits> = OnceLock::new();

/// Set once by the process from its settings; `wstgctl sync` and tests
/// without it get the defaults of config/default.toml.
pub fn configure(limits: FileLimits) {
    let _ = LIMITS.set(limits);
}

fn limits() -> FileLimits {
    *LIMITS.get().unwrap_or(&FileLimits {
        max_file_bytes: 10 * 1024 * 1024,
        max_project_bytes: 1024 * 1024 * 1024,
    })
}

/// Looks at the files of every linked finding of the pass; returns the
/// DefectDojo requests made. Failures are logged and left for the next
/// pass: the item sync of this pass does not depend on them.
pub async fn observe_linked_files(
    dojo: &DojoClient,
    store: &Store,
    project: &ProjectName,
    linked: &HashMap<WstgId, i64>,
    findings: &HashMap<i64, &Finding>,
) -> u32 {
    let mut requests = 0;
    for (wstg_id, finding_id) in linked {
        let Some(finding) = findings.get(finding_id) else {
            continue;
        };
        let target = EvidenceTarget::Item;
        if let Err(e) = observe_one(
            dojo,
            store,
            project,
            wstg_id,
            &target,
            finding,
            &mut requests,
        )
        .await
        {
            tracing::warn!(%project, %wstg_id, finding = finding.id, error = %e, "finding's files not observed; next pass")
        }
    }
    // Vulnerabilities' own findings (issue 12 item 1), the same way.
    let vulns = match store.linked_vulnerabilities(project).await {
        Ok(v) => v,
        Err(e) => {
            tracing::warn!(%project, error = %e, "vulnerabilities not read; their files next pass");
            Vec::new()
        }
    };
    for v in vulns {
        let Some(finding) = v.finding_id.and_then(|f| findings.get(&f)) else {
            continue;
        };
        let target = EvidenceTarget::Vulnerability(v.id.to_string());
        if let Err(e) = observe_one(
            dojo,
            store,
            project,
            &v.wstg_id,
            &target,
            finding,
            &mut requests,
        )
        .await
        {
            tracing::warn!(%project, vulnerability = %v.id, finding = finding.id, error = %e, "finding's files not observed; next pass")
        }
    }
    requests
}

async fn observe_one(
    dojo: &DojoClient,
    store: &Store,
    project: &ProjectName,
    wstg_id: &WstgId,
    target: &EvidenceTarget,
    finding: &Finding,
    requests: &mut u32,
) -> anyhow::Result<()> {
    let records = store
        .finding_evidence(project, finding.id, wstg_id, target)
        .await?;
    let known: Vec<_> = records.iter().map(|r| r.known()).collect();
    if !files_changed(&known, &finding.files) {
        return Ok(());
    }
    *requests += 1;
    let listed = dojo.list_finding_files(finding.id).await?;
    let seen = observe_files(&known, &listed);
    let now = Utc::now();
    for (id, file) in &seen.adopted {
        store
            .mark_evidence_uploaded(*id, finding.id, *file, now)
            .await?;
    }
    for id in &seen.removed {
        if store.mark_evidence_removed(*id, now).await? {
            tracing::info!(%project, %wstg_id, evidence = %id, "evidence removed in DefectDojo; kept in the tracker");
        }
    }
    for file in &seen.added {
        *requests += 1;
        copy_file(dojo, store, project, wstg_id, target, finding.id, file).await?;
    }
    Ok(())
}

/// Downloads one file added in DefectDojo and records it as origin `dojo`.
/// A file past the size limit or of a kind the tracker does not serve is
/// recorded without its bytes (a link to DefectDojo on the page, and never
/// downloaded again).
async fn copy_file(
    dojo: &DojoClient,
    store: &Store,
    project: &ProjectName,
    wstg_id: &WstgId,
    target: &EvidenceTarget,
    finding: i64,
    file: &DojoFile,
) -> anyhow::Result<()> {
    let limits = limits();
    let name = EvidenceName::sanitise(&file.title);
    let (bytes, content_type) = match dojo
        .download_finding_file(finding, file.id, limits.max_file_bytes)
        .await
    {
        Ok(bytes) => {
            let sniffed = infer::get(&bytes).map(|t| t.mime_type());
            match EvidenceType::classify(sniffed, &name, &bytes) {
                Ok(kind) => (bytes, kind.content_type().to_owned()),
                Err(e) => {
                    tracing::info!(finding, file = file.id, reason = %e, "DefectDojo file not copied (kind)");
                    (Vec::new(), "application/octet-stream".to_owned())
                }
            }
        }
        Err(e) if !e.is_retryable() => {
            tracing::info!(finding, file = file.id, reason = %e, "DefectDojo file not copied");
            (Vec::new(), "application/octet-stream".to_owned())
        }
        Err(e) => return Err(e.into()),
    };
    let sha256 = hex::encode(Sha256::digest(&bytes));
    let new = NewEvidence {
        id: Uuid::now_v7(),
        project,
        wstg_id,
        target,
        name: &name,
        content_type: &content_type,
        sha256: &sha256,
        bytes: &bytes,
        origin: EvidenceOrigin::Dojo,
        dojo: Some((finding, file.id)),
        at: Utc::now(),
    };
    if store.add_evidence(&new, limits.max_project_bytes).await? {
        tracing::info!(%project, %wstg_id, finding, file = file.id, size = bytes.len(), "file added in DefectDojo copied to the tracker");
    } else if !bytes.is_empty() {
        // Over the project's quota (or recorded meanwhile): recorded
        // without its bytes, so it is not downloaded again every pass.
        let empty_sha = hex::encode(Sha256::digest([]));
        let bare = NewEvidence {
            content_type: "application/octet-stream",
            sha256: &empty_sha,
            bytes: &[],
            ..new
        };
        store.add_evidence(&bare, limits.max_project_bytes).await?;
        tracing::warn!(%project, finding, file = file.id, "DefectDojo file recorded without its bytes: the project's evidence quota is full");
    }
    Ok(())
}
