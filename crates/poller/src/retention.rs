//! The retention job: what would otherwise grow forever is pruned here —
//! audit entries older than `retention.audit_days` (the store deletes them
//! in short batches) and dead letters past the DLQ's age and size bounds
//! (the queue drops them, counting and logging each).
//!
//! It runs in the poller process beside the poll loop, not inside it: once
//! at start, then every `retention.interval_secs`, and only on the replica
//! holding the lease `P:lock:retention`, so replicas do not delete the same
//! rows at once. A dead holder's lease runs out after two intervals.

use std::time::Duration;

use anyhow::Context;
use tokio_util::sync::CancellationToken;
use wstg_queue::{Leases, Queue};
use wstg_settings::Settings;
use wstg_store::Store;

/// What one run removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetentionReport {
    /// Audit entries deleted.
    pub audit_deleted: u64,
    /// Dead letters dropped (each also logged and counted in `P:dlq:dropped`).
    pub dlq_dropped: usize,
}

pub struct RetentionJob {
    store: Store,
    queue: Queue,
    leases: Leases,
    lease_key: String,
    holder: String,
    /// `None`: the audit is kept forever.
    audit_max_age: Option<Duration>,
    interval: Duration,
}

impl RetentionJob {
    /// The job of the poller `holder`, on its store and queue (whose
    /// configuration carries the DLQ's bounds).
    pub fn new(settings: &Settings, store: Store, queue: Queue, holder: &str) -> RetentionJob {
        let interval = settings.retention.interval();
        let keys = queue.keys().clone();
        RetentionJob {
            leases: Leases::new(queue.connection(), keys.prefix(), interval * 2),
            lease_key: keys.retention_lease(),
            store,
            queue,
            holder: holder.to_owned(),
            audit_max_age: settings.retention.audit_max_age(),
            interval,
        }
    }

    /// Runs until `shutdown`, then gives the lease up so a standby replica
    /// takes over at its next interval.
    pub async fn run(self, shutdown: CancellationToken) {
        tracing::info!(interval = ?self.interval, audit_max_age = ?self.audit_max_age, "retention job running");
        while !shutdown.is_cancelled() {
            match self.leases.hold(&self.lease_key, &self.holder).await {
                Ok(true) => {
                    if let Err(e) = self.run_once().await {
                        tracing::warn!(error = %format!("{e:#}"), "retention run failed; trying again next interval");
                    }
                }
                Ok(false) => tracing::debug!("another poller holds the retention lease"),
                Err(e) => {
                    tracing::warn!(error = %e, "Redis unavailable; retention skipped this interval")
                }
            }
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep(self.interval) => {}
            }
        }
        self.leases
            .release_held(&self.lease_key, &self.holder)
            .await;
    }

    /// One pass: prunes the audit, then the dead-letter queue; logs how many
    /// of each went. Both run even if the other fails.
    pub async fn run_once(&self) -> anyhow::Result<RetentionReport> {
        let audit = match self.audit_max_age {
            Some(age) => {
                let cutoff = chrono::Utc::now()
                    - chrono::Duration::from_std(age).context("retention.audit_days")?;
                Some(
                    self.store
                        .prune_audit_before(cutoff)
                        .await
                        .with_context(|| format!("pruning audit entries before {cutoff}")),
                )
            }
            None => None,
        };
        let dlq = self
            .queue
            .dlq_enforce_bounds()
            .await
            .context("holding the dead-letter queue to its bounds");
        let report = RetentionReport {
            audit_deleted: match &audit {
                Some(Ok(n)) => *n,
                _ => 0,
            },
            dlq_dropped: dlq.as_ref().map_or(0, Vec::len),
        };
        tracing::info!(
            audit_deleted = report.audit_deleted,
            audit_kept_forever = self.audit_max_age.is_none(),
            dlq_dropped = report.dlq_dropped,
            "retention run done"
        );
        if let Some(Err(e)) = audit {
            return Err(e);
        }
        dlq?;
        Ok(report)
    }
}
