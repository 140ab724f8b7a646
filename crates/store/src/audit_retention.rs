//! Pruning the audit trail (`retention.audit_days`): entries logged before a
//! cutoff are deleted in small batches, each its own short statement, so
//! neither SQLite's single writer nor PostgreSQL's row locks are held long
//! enough to stall the workers appending to it.

use chrono::{DateTime, Utc};

use crate::error::StoreError;
use crate::rows;
use crate::store::Store;

/// Rows one statement deletes: small enough to finish in milliseconds.
pub const AUDIT_PRUNE_BATCH: u32 = 1000;

impl Store {
    /// Deletes at most `limit` of the oldest audit entries logged before
    /// `cutoff`; returns how many went. The subquery walks the
    /// `audit_log_newest (logged_at, id)` index from its oldest end.
    pub async fn prune_audit_batch(
        &self,
        cutoff: DateTime<Utc>,
        limit: u32,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "DELETE FROM audit_log WHERE id IN \
             (SELECT id FROM audit_log WHERE logged_at < $1 ORDER BY logged_at, id LIMIT $2)",
        )
        .bind(rows::millis(cutoff))
        .bind(i64::from(limit))
        .execute(&self.pool)
        .await
        .map_err(StoreError::query(format!(
            "prune_audit_batch(before {cutoff})"
        )))?;
        Ok(done.rows_affected())
    }

    /// Deletes every audit entry logged before `cutoff`, batch after batch
    /// (other writers get the database between two); returns how many went.
    pub async fn prune_audit_before(&self, cutoff: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut total = 0;
        loop {
            let n = self.prune_audit_batch(cutoff, AUDIT_PRUNE_BATCH).await?;
            total += n;
            if n < u64::from(AUDIT_PRUNE_BATCH) {
                return Ok(total);
            }
            tokio::task::yield_now().await;
        }
    }
}
