//! The audit trail: one entry per sync attempt, in the original design's log
//! shape (`timestamp`, `wstg_id`, `direction`, `old_status`, `new_status`,
//! `success`, `error_message`) plus what tracing a sync needs.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use uuid::Uuid;
use wstg_domain::{ProjectName, Status, WstgId};

use crate::error::StoreError;
use crate::rows::{self, get};
use crate::states::Direction;
use crate::store::Store;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// UUID v7: unique, and orders entries logged in the same millisecond.
    pub id: Uuid,
    pub timestamp: DateTime<Utc>,
    pub project: ProjectName,
    pub wstg_id: WstgId,
    pub direction: Direction,
    pub old_status: Option<Status>,
    pub new_status: Option<Status>,
    pub success: bool,
    pub error_message: Option<String>,
    /// The queue event that caused the sync.
    pub event_id: Option<Uuid>,
    /// Who made the change (the tracker user), when known.
    pub actor: Option<String>,
    pub finding_id: Option<i64>,
    /// How a conflict was resolved, e.g. `dojo_wins`.
    pub conflict: Option<String>,
    pub detail: Option<String>,
}

impl AuditEntry {
    /// A successful entry logged now, with the optional fields empty.
    pub fn new(project: ProjectName, wstg_id: WstgId, direction: Direction) -> AuditEntry {
        AuditEntry {
            id: Uuid::now_v7(),
            timestamp: Utc::now(),
            project,
            wstg_id,
            direction,
            old_status: None,
            new_status: None,
            success: true,
            error_message: None,
            event_id: None,
            actor: None,
            finding_id: None,
            conflict: None,
            detail: None,
        }
    }
}

const COLUMNS: &str = "id, logged_at, project, wstg_id, direction, old_status, new_status, \
     success, error_message, event_id, actor, finding_id, conflict, detail";

impl Store {
    /// Appends `entry`. Appending the same id again (a retried worker step)
    /// is a no-op, so an attempt is logged once.
    pub async fn append_audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO audit_log ({COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
             ON CONFLICT (id) DO NOTHING"
        );
        sqlx::query(&sql)
            .bind(rows::uuid_text(entry.id))
            .bind(rows::millis(entry.timestamp))
            .bind(entry.project.as_str())
            .bind(entry.wstg_id.as_str())
            .bind(entry.direction.as_str())
            .bind(entry.old_status.map(|s| s.as_str()))
            .bind(entry.new_status.map(|s| s.as_str()))
            .bind(i64::from(entry.success))
            .bind(entry.error_message.as_deref().map(rows::bounded))
            .bind(entry.event_id.map(rows::uuid_text))
            .bind(entry.actor.as_deref())
            .bind(entry.finding_id)
            .bind(entry.conflict.as_deref())
            .bind(entry.detail.as_deref().map(rows::bounded))
            .execute(&self.pool)
            .await
            .map_err(StoreError::query(format!(
                "append_audit({}/{}, entry {})",
                entry.project, entry.wstg_id, entry.id
            )))?;
        Ok(())
    }

    /// The newest `limit` entries, newest first; of one project or of all.
    pub async fn recent_audit(
        &self,
        project: Option<&ProjectName>,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM audit_log \
             WHERE ($1 IS NULL OR project = $1) \
             ORDER BY logged_at DESC, id DESC \
             LIMIT $2"
        );
        let found = sqlx::query(&sql)
            .bind(project.map(|p| p.as_str()))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::query(match project {
                Some(p) => format!("recent_audit({p})"),
                None => "recent_audit".to_owned(),
            }))?;
        found.iter().map(entry_from_row).collect()
    }
}

fn entry_from_row(row: &AnyRow) -> Result<AuditEntry, StoreError> {
    let id: String = get(row, "id")?;
    let what = |field: &str| format!("{field} of audit entry {id}");
    let direction: String = get(row, "direction")?;
    let success: i64 = get(row, "success")?;
    Ok(AuditEntry {
        timestamp: rows::time(get(row, "logged_at")?, &what("time"))?,
        project: rows::project(&get::<String>(row, "project")?)?,
        wstg_id: rows::wstg_id(get(row, "wstg_id")?)?,
        direction: direction
            .parse()
            .map_err(|e| StoreError::corrupt(what("direction"), e))?,
        old_status: rows::opt_status(get(row, "old_status")?)?,
        new_status: rows::opt_status(get(row, "new_status")?)?,
        success: success != 0,
        error_message: get(row, "error_message")?,
        event_id: rows::opt_uuid(get(row, "event_id")?, &what("event id"))?,
        actor: get(row, "actor")?,
        finding_id: get(row, "finding_id")?,
        conflict: get(row, "conflict")?,
        detail: get(row, "detail")?,
        id: rows::uuid(&id, "audit entry id")?,
    })
}
