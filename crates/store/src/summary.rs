//! The status summary behind `GET /api/wstg/status`: the original design's
//! fields, counted from the items instead of guessed.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use wstg_domain::{ProjectName, Status};

use crate::error::StoreError;
use crate::rows::{self, get};
use crate::states::{Direction, SyncState};
use crate::store::Store;

/// The key for items that have no tracker status or were never synced
/// (the original design's `Unknown`).
pub const UNKNOWN_KEY: &str = "unknown";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusSummary {
    /// The latest successful sync, either way.
    pub last_sync: Option<DateTime<Utc>>,
    pub total_items: u64,
    pub synced_items: u64,
    pub pending_items: u64,
    /// Conflicts seen: every conflict the audit trail records (each was
    /// resolved by the configured policy).
    pub conflicts: u64,
    /// Items whose last sync settled a conflict (the losing side's change
    /// was discarded); each clears at its next sync without one.
    pub items_in_conflict: u64,
    pub failed_items: u64,
    /// Items by tracker status: every status, zero or not, plus `unknown`
    /// when some items have no tracker status.
    pub by_status: BTreeMap<String, u64>,
    /// Items by the direction of their last sync: both directions, plus
    /// `unknown` when some items were never synced.
    pub by_direction: BTreeMap<String, u64>,
}

impl Store {
    /// Counts the items of `project`, or of every project.
    pub async fn status_summary(
        &self,
        project: Option<&ProjectName>,
    ) -> Result<StatusSummary, StoreError> {
        // One grouped query: every count comes from the same snapshot.
        let groups = sqlx::query(
            "SELECT sync_state, tracker_status, last_sync_direction, \
                    COUNT(*) AS n, MAX(last_sync_at) AS last_sync \
             FROM items \
             WHERE ($1 IS NULL OR project = $1) \
             GROUP BY sync_state, tracker_status, last_sync_direction",
        )
        .bind(project.map(|p| p.as_str()))
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::query(match project {
            Some(p) => format!("status_summary({p})"),
            None => "status_summary".to_owned(),
        }))?;

        let mut summary = StatusSummary {
            last_sync: None,
            total_items: 0,
            synced_items: 0,
            pending_items: 0,
            conflicts: 0,
            items_in_conflict: 0,
            failed_items: 0,
            by_status: Status::ALL
                .iter()
                .map(|s| (s.as_str().to_owned(), 0))
                .collect(),
            by_direction: Direction::ALL
                .iter()
                .map(|d| (d.as_str().to_owned(), 0))
                .collect(),
        };
        for row in &groups {
            let n = rows::count(get(row, "n")?)?;
            let state: String = get(row, "sync_state")?;
            let state: SyncState = state
                .parse()
                .map_err(|e| StoreError::corrupt("sync state", e))?;
            let status: Option<String> = get(row, "tracker_status")?;
            let direction: Option<String> = get(row, "last_sync_direction")?;
            let last_sync = rows::opt_time(get(row, "last_sync")?, "last sync time")?;

            summary.total_items += n;
            *match state {
                SyncState::Synced => &mut summary.synced_items,
                SyncState::Pending => &mut summary.pending_items,
                SyncState::Conflict => &mut summary.items_in_conflict,
                SyncState::Failed => &mut summary.failed_items,
            } += n;
            *summary
                .by_status
                .entry(status.unwrap_or_else(|| UNKNOWN_KEY.to_owned()))
                .or_default() += n;
            *summary
                .by_direction
                .entry(direction.unwrap_or_else(|| UNKNOWN_KEY.to_owned()))
                .or_default() += n;
            summary.last_sync = summary.last_sync.max(last_sync);
        }
        let resolved = sqlx::query(
            "SELECT COUNT(*) AS n FROM audit_log \
             WHERE conflict IS NOT NULL AND ($1 IS NULL OR project = $1)",
        )
        .bind(project.map(|p| p.as_str()))
        .fetch_one(&self.pool)
        .await
        .map_err(StoreError::query("status_summary(conflicts)".to_owned()))?;
        summary.conflicts = rows::count(get(&resolved, "n")?)?;
        Ok(summary)
    }
}
