//! `[retention]`: how long the data that would otherwise grow forever is
//! kept — the audit trail in the store and the dead-letter queue in Redis.
//! The poller's retention job prunes both (crates/poller/src/retention.rs).

use std::time::Duration;

use serde::Deserialize;

/// Retention as read from `[retention]`; config/default.toml explains each.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionSettings {
    /// Audit entries older than this many days are deleted; 0 keeps them
    /// forever.
    pub audit_days: u32,
    /// Dead letters older than this many days are dropped; 0: no age bound.
    pub dlq_max_age_days: u32,
    /// Most dead letters kept (the oldest beyond it are dropped); at least 1.
    pub dlq_max_entries: u64,
    /// Seconds between two runs of the retention job.
    pub interval_secs: u64,
}

const DAY: Duration = Duration::from_secs(24 * 3600);

impl RetentionSettings {
    /// How long audit entries are kept; `None`: forever.
    pub fn audit_max_age(&self) -> Option<Duration> {
        (self.audit_days > 0).then(|| DAY * self.audit_days)
    }

    /// Most dead letters kept (always bounded).
    pub fn dlq_max_entries(&self) -> u64 {
        self.dlq_max_entries
    }

    /// How long a dead letter is kept; `None`: no age bound.
    pub fn dlq_max_age(&self) -> Option<Duration> {
        (self.dlq_max_age_days > 0).then(|| DAY * self.dlq_max_age_days)
    }

    pub fn interval(&self) -> Duration {
        Duration::from_secs(self.interval_secs)
    }
}
