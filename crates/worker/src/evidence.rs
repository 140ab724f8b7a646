//! Uploading evidence files (issue 12 item 2): the worker executes
//! `wstg_domain::sync::evidence::plan_upload`, nothing more.
//!
//! Upload once: the finding's file list is read before every upload, and a
//! file titled with the evidence id is adopted instead of uploading a second
//! copy (the worker died after DefectDojo stored it, or the answer was
//! lost). The file's own lease keeps two workers from uploading it at once
//! (a redelivery claimed while the first attempt still runs).

use chrono::Utc;
use uuid::Uuid;
use wstg_domain::evidence::{dojo_title, EvidenceName, EvidenceTarget, EvidenceType};
use wstg_domain::evidence::{EvidenceOrigin, EvidenceState};
use wstg_domain::sync::evidence::{plan_upload, UploadStep};
use wstg_domain::{Envelope, EventKind, ProjectName, WstgId};
use wstg_store::EvidenceRecord;

use crate::apply::{Applied, Applier};
use crate::error::WorkError;

impl Applier {
    /// Brings one evidence file to its target's finding.
    pub async fn sync_evidence(
        &self,
        project: &ProjectName,
        wstg_id: &WstgId,
        evidence_id: Uuid,
    ) -> Result<Applied, WorkError> {
        let Some(record) = self.store.evidence(evidence_id).await? else {
            // Nothing to upload (a store restored from an older backup).
            return Err(WorkError::Permanent(format!(
                "evidence {evidence_id} is not in the store"
            )));
        };
        let lease = self
            .locks
            .acquire(&format!("evidence:{evidence_id}"), self.lock_wait)
            .await
            .map_err(|e| WorkError::Queue(e.into()))?
            .ok_or_else(|| {
                WorkError::Busy(format!(
                    "evidence {evidence_id} is being uploaded by another worker"
                ))
            })?;
        let work = self.upload_locked(project, wstg_id, &record);
        let result = self
            .locks
            .hold_during(&lease, work)
            .await
            .unwrap_or_else(|lost| Err(WorkError::Busy(format!("evidence {evidence_id}: {lost}"))));
        match &result {
            // The upload may still land: the retry finds it by title.
            Err(e) if e.outcome_unknown() => self.locks.keep(lease).await,
            _ => self.locks.release(lease).await,
        }
        if let Err(e) = &result {
            let _ = self
                .store
                .mark_evidence_failed(evidence_id, &e.dead_letter_text(), Utc::now())
                .await;
        }
        result
    }

    async fn upload_locked(
        &self,
        project: &ProjectName,
        wstg_id: &WstgId,
        record: &EvidenceRecord,
    ) -> Result<Applied, WorkError> {
        let known = record.known();
        // Cheap exits first: a redelivery of a done upload reads nothing.
        if plan_upload(&known, Some(0), &[]) == UploadStep::Nothing {
            return Ok(Applied::AlreadyInSync);
        }
        let finding = self
            .target_finding(project, wstg_id, &record.target)
            .await?;
        if finding.is_none() {
            // The item has no finding yet (its status was never set): the
            // file waits, pending, and is queued again when the item's
            // finding is made (`queue_pending_evidence`).
            tracing::info!(evidence = %record.id, %wstg_id, "evidence waits for the item's finding");
            return Ok(Applied::AlreadyInSync);
        }
        let listed = match finding {
            Some(f) => self.dojo.list_finding_files(f).await?,
            None => Vec::new(),
        };
        match (plan_upload(&known, finding, &listed), finding) {
            (UploadStep::Nothing, _) => Ok(Applied::AlreadyInSync),
            (UploadStep::WaitForFinding, _) | (_, None) => Err(WorkError::Retry(format!(
                "{wstg_id} has no DefectDojo finding yet to attach evidence {} to",
                record.id
            ))),
            (UploadStep::Adopt { file_id }, Some(f)) => {
                tracing::info!(evidence = %record.id, finding = f, file = file_id, "evidence already in DefectDojo; adopted");
                self.store
                    .mark_evidence_uploaded(record.id, f, file_id, Utc::now())
                    .await?;
                Ok(Applied::Matched { finding_id: f })
            }
            (UploadStep::Upload, Some(f)) => {
                let bytes = self.store.evidence_bytes(record.id).await?.ok_or_else(|| {
                    WorkError::Permanent(format!("evidence {} lost its bytes", record.id))
                })?;
                let kind =
                    EvidenceType::from_content_type(&record.content_type).ok_or_else(|| {
                        WorkError::Permanent(format!(
                            "evidence {} has a content type this build does not send: {}",
                            record.id, record.content_type
                        ))
                    })?;
                let title = dojo_title(record.id, &record.name);
                let file_name = EvidenceName::for_dojo(&record.name, kind);
                let mime = kind.content_type().split(';').next().unwrap_or_default();
                let file_id = self
                    .dojo
                    .upload_finding_file(f, &title, &file_name, mime, bytes)
                    .await?;
                tracing::info!(evidence = %record.id, finding = f, file = file_id, "evidence uploaded");
                self.store
                    .mark_evidence_uploaded(record.id, f, file_id, Utc::now())
                    .await?;
                Ok(Applied::Updated { finding_id: f })
            }
        }
    }

    /// Queues the item's files still waiting for a finding, once the item
    /// has one (called after a push made or linked it). A failure is logged:
    /// the files stay pending and are queued by the next such push.
    pub async fn queue_pending_evidence(&self, project: &ProjectName, wstg_id: &WstgId) {
        let files = match self.store.item_evidence(project, wstg_id).await {
            Ok(f) => f,
            Err(e) => {
                tracing::warn!(error = %e, %wstg_id, "pending evidence not read");
                return;
            }
        };
        for f in files
            .iter()
            .filter(|f| f.origin == EvidenceOrigin::Tracker && f.state == EvidenceState::Pending)
        {
            let env = Envelope::new(
                project.clone(),
                EventKind::Evidence {
                    wstg_id: wstg_id.clone(),
                    evidence_id: f.id,
                },
                Utc::now(),
            );
            if let Err(e) = self.queue.publish(&env).await {
                tracing::warn!(error = %e, evidence = %f.id, "pending evidence not queued");
            }
        }
    }

    /// The finding a file goes to: the item's, or the vulnerability's own
    /// finding (issue 12 item 1). Everything else is the same for both.
    async fn target_finding(
        &self,
        project: &ProjectName,
        wstg_id: &WstgId,
        target: &EvidenceTarget,
    ) -> Result<Option<i64>, WorkError> {
        match target {
            EvidenceTarget::Item => Ok(self
                .store
                .item(project, wstg_id)
                .await?
                .and_then(|r| r.finding_id)),
            EvidenceTarget::Vulnerability(id) => {
                let vid = Uuid::parse_str(id).map_err(|e| {
                    WorkError::Permanent(format!("evidence target vulnerability '{id}': {e}"))
                })?;
                let Some(v) = self.store.vulnerability(vid).await? else {
                    return Err(WorkError::Permanent(format!(
                        "vulnerability {id} is not in the store"
                    )));
                };
                if &v.project != project || &v.wstg_id != wstg_id {
                    return Err(WorkError::Permanent(format!(
                        "vulnerability {id} is not under {project}/{wstg_id}"
                    )));
                }
                match v.finding_id {
                    Some(f) => Ok(Some(f)),
                    // Its finding is being created (crate::vulnerability):
                    // the retry attaches to it.
                    None => Err(WorkError::Retry(format!(
                        "vulnerability {id} has no DefectDojo finding yet"
                    ))),
                }
            }
        }
    }
}
