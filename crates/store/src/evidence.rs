//! Evidence files: their bytes and how each stands against DefectDojo
//! (migration 20261202000002). Bytes are read only by [`Store::evidence_bytes`]:
//! listings carry metadata.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::any::AnyRow;
use uuid::Uuid;
use wstg_domain::evidence::{EvidenceName, EvidenceOrigin, EvidenceState, EvidenceTarget};
use wstg_domain::sync::evidence::KnownEvidence;
use wstg_domain::{ProjectName, WstgId};

use crate::error::StoreError;
use crate::rows::{self, get};
use crate::store::Store;

/// One evidence file without its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EvidenceRecord {
    pub id: Uuid,
    pub project: ProjectName,
    pub wstg_id: WstgId,
    pub target: EvidenceTarget,
    pub name: EvidenceName,
    pub content_type: String,
    pub size: u64,
    pub sha256: String,
    pub origin: EvidenceOrigin,
    pub state: EvidenceState,
    pub dojo_finding_id: Option<i64>,
    pub dojo_file_id: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl EvidenceRecord {
    pub fn known(&self) -> KnownEvidence {
        KnownEvidence {
            id: self.id,
            origin: self.origin,
            state: self.state,
            dojo_file_id: self.dojo_file_id,
        }
    }
}

/// A file to record.
#[derive(Debug, Clone)]
pub struct NewEvidence<'a> {
    pub id: Uuid,
    pub project: &'a ProjectName,
    pub wstg_id: &'a WstgId,
    pub target: &'a EvidenceTarget,
    pub name: &'a EvidenceName,
    pub content_type: &'a str,
    pub sha256: &'a str,
    pub bytes: &'a [u8],
    pub origin: EvidenceOrigin,
    /// For a file copied from DefectDojo: where it is.
    pub dojo: Option<(i64, i64)>,
    pub at: DateTime<Utc>,
}

const COLUMNS: &str = "id, project, wstg_id, target_kind, target_id, name, content_type, size, \
     sha256, origin, state, dojo_finding_id, dojo_file_id, last_error, created_at, updated_at";

impl Store {
    /// Records a file, if the project's files stay within `project_quota`
    /// bytes with it (one statement: the quota check and the insert cannot
    /// be raced apart). Returns false when the quota would be exceeded; a
    /// DefectDojo file already recorded (same finding and file id) is not
    /// recorded again and also returns false.
    pub async fn add_evidence(
        &self,
        new: &NewEvidence<'_>,
        project_quota: u64,
    ) -> Result<bool, StoreError> {
        let target_id = match new.target {
            EvidenceTarget::Item => new.wstg_id.as_str().to_owned(),
            EvidenceTarget::Vulnerability(id) => id.clone(),
        };
        let (state, finding, file) = match new.dojo {
            Some((finding, file)) => (EvidenceState::Uploaded, Some(finding), Some(file)),
            None => (EvidenceState::Pending, None, None),
        };
        let size = i64::try_from(new.bytes.len()).unwrap_or(i64::MAX);
        let quota = i64::try_from(project_quota).unwrap_or(i64::MAX);
        let at = rows::millis(new.at);
        let done = sqlx::query(
            "INSERT INTO evidence (id, project, wstg_id, target_kind, target_id, name, content_type, \
             size, sha256, bytes, origin, state, dojo_finding_id, dojo_file_id, created_at, updated_at) \
             SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15 \
             WHERE (SELECT COALESCE(SUM(size), 0) FROM evidence WHERE project = $2) + $8 <= $16 \
             ON CONFLICT DO NOTHING",
        )
        .bind(rows::uuid_text(new.id))
        .bind(new.project.as_str())
        .bind(new.wstg_id.as_str())
        .bind(new.target.kind())
        .bind(target_id)
        .bind(new.name.as_str())
        .bind(new.content_type)
        .bind(size)
        .bind(new.sha256)
        .bind(new.bytes.to_vec())
        .bind(new.origin.as_str())
        .bind(state.as_str())
        .bind(finding)
        .bind(file)
        .bind(at)
        .bind(quota)
        .execute(&self.pool)
        .await
        .map_err(StoreError::query(format!("add_evidence({})", new.id)))?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn evidence(&self, id: Uuid) -> Result<Option<EvidenceRecord>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM evidence WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(rows::uuid_text(id))
            .fetch_optional(&self.pool)
            .await
            .map_err(StoreError::query(format!("evidence({id})")))?;
        row.as_ref().map(from_row).transpose()
    }

    /// The bytes of one file.
    pub async fn evidence_bytes(&self, id: Uuid) -> Result<Option<Vec<u8>>, StoreError> {
        let row = sqlx::query("SELECT bytes FROM evidence WHERE id = $1")
            .bind(rows::uuid_text(id))
            .fetch_optional(&self.pool)
            .await
            .map_err(StoreError::query(format!("evidence_bytes({id})")))?;
        row.as_ref().map(|r| get::<Vec<u8>>(r, "bytes")).transpose()
    }

    /// The files of one item (its own and its vulnerabilities'), oldest first.
    pub async fn item_evidence(
        &self,
        project: &ProjectName,
        wstg_id: &WstgId,
    ) -> Result<Vec<EvidenceRecord>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM evidence WHERE project = $1 AND wstg_id = $2 ORDER BY id"
        );
        let found = sqlx::query(&sql)
            .bind(project.as_str())
            .bind(wstg_id.as_str())
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::query(format!(
                "item_evidence({project}/{wstg_id})"
            )))?;
        found.iter().map(from_row).collect()
    }

    /// The files recorded against one DefectDojo finding (uploaded to it,
    /// copied from it, or waiting to go to it).
    pub async fn finding_evidence(
        &self,
        project: &ProjectName,
        finding_id: i64,
        wstg_id: &WstgId,
        target: &EvidenceTarget,
    ) -> Result<Vec<EvidenceRecord>, StoreError> {
        let target_id = match target {
            EvidenceTarget::Item => wstg_id.as_str().to_owned(),
            EvidenceTarget::Vulnerability(id) => id.clone(),
        };
        let sql = format!(
            "SELECT {COLUMNS} FROM evidence WHERE project = $1 AND (dojo_finding_id = $2 \
             OR (dojo_finding_id IS NULL AND target_kind = $3 AND target_id = $4)) ORDER BY id"
        );
        let found = sqlx::query(&sql)
            .bind(project.as_str())
            .bind(finding_id)
            .bind(target.kind())
            .bind(target_id)
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::query(format!("finding_evidence({finding_id})")))?;
        found.iter().map(from_row).collect()
    }

    /// Records that the file is on `finding` as `file`. Only a pending file
    /// changes: a redelivery changes nothing.
    pub async fn mark_evidence_uploaded(
        &self,
        id: Uuid,
        finding: i64,
        file: i64,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE evidence SET state = 'uploaded', dojo_finding_id = $2, dojo_file_id = $3, \
             last_error = NULL, updated_at = $4 WHERE id = $1 AND state = 'pending'",
        )
        .bind(rows::uuid_text(id))
        .bind(finding)
        .bind(file)
        .bind(rows::millis(at))
        .execute(&self.pool)
        .await
        .map_err(StoreError::query(format!("mark_evidence_uploaded({id})")))?;
        Ok(done.rows_affected() == 1)
    }

    /// Records that DefectDojo no longer lists the uploaded file.
    pub async fn mark_evidence_removed(
        &self,
        id: Uuid,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE evidence SET state = 'removed_in_dojo', updated_at = $2 \
             WHERE id = $1 AND state = 'uploaded'",
        )
        .bind(rows::uuid_text(id))
        .bind(rows::millis(at))
        .execute(&self.pool)
        .await
        .map_err(StoreError::query(format!("mark_evidence_removed({id})")))?;
        Ok(done.rows_affected() == 1)
    }

    /// Keeps why the last upload attempt failed (bounded), for the page.
    pub async fn mark_evidence_failed(
        &self,
        id: Uuid,
        error: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE evidence SET last_error = $2, updated_at = $3 WHERE id = $1")
            .bind(rows::uuid_text(id))
            .bind(rows::bounded(error))
            .bind(rows::millis(at))
            .execute(&self.pool)
            .await
            .map_err(StoreError::query(format!("mark_evidence_failed({id})")))?;
        Ok(())
    }

    /// Bytes held for `project` (the quota's measure).
    pub async fn project_evidence_bytes(&self, project: &ProjectName) -> Result<u64, StoreError> {
        let row = sqlx::query("SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) AS total FROM evidence WHERE project = $1")
            .bind(project.as_str())
            .fetch_one(&self.pool)
            .await
            .map_err(StoreError::query(format!("project_evidence_bytes({project})")))?;
        rows::count(get(&row, "total")?)
    }
}

fn from_row(row: &AnyRow) -> Result<EvidenceRecord, StoreError> {
    let target_kind: String = get(row, "target_kind")?;
    let target_id: String = get(row, "target_id")?;
    let target = match target_kind.as_str() {
        "item" => EvidenceTarget::Item,
        "vulnerability" => EvidenceTarget::Vulnerability(target_id),
        other => return Err(StoreError::corrupt("evidence target", other)),
    };
    let origin = match get::<String>(row, "origin")?.as_str() {
        "tracker" => EvidenceOrigin::Tracker,
        "dojo" => EvidenceOrigin::Dojo,
        other => return Err(StoreError::corrupt("evidence origin", other)),
    };
    let state = match get::<String>(row, "state")?.as_str() {
        "pending" => EvidenceState::Pending,
        "uploaded" => EvidenceState::Uploaded,
        "removed_in_dojo" => EvidenceState::RemovedInDojo,
        other => return Err(StoreError::corrupt("evidence state", other)),
    };
    let size: i64 = get(row, "size")?;
    Ok(EvidenceRecord {
        id: rows::uuid(&get::<String>(row, "id")?, "evidence id")?,
        project: rows::project(&get::<String>(row, "project")?)?,
        wstg_id: rows::wstg_id(get(row, "wstg_id")?)?,
        target,
        name: EvidenceName::from_stored(get(row, "name")?),
        content_type: get(row, "content_type")?,
        size: rows::count(size)?,
        sha256: get(row, "sha256")?,
        origin,
        state,
        dojo_finding_id: get(row, "dojo_finding_id")?,
        dojo_file_id: get(row, "dojo_file_id")?,
        last_error: get(row, "last_error")?,
        created_at: rows::time(get(row, "created_at")?, "evidence created_at")?,
        updated_at: rows::time(get(row, "updated_at")?, "evidence updated_at")?,
    })
}
