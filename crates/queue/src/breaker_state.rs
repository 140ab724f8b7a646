//! Where each worker replica publishes the state of its DefectDojo circuit
//! breaker, so the API status and `wstgctl status` can show it: the hash
//! `P:breaker`, one field per consumer name, each value a JSON
//! [`BreakerState`].
//!
//! ```sh
//! redis-cli HGETALL {wstg}:breaker
//! ```
//!
//! The worker owns the breaker (crates/worker/src/breaker.rs); this module
//! only stores and reads its published state. Replicas refresh their field
//! every few seconds and delete it when they stop cleanly; a field not
//! refreshed for a while belongs to a replica that died and is left out of
//! the summary.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::QueueError;
use crate::queue::Queue;

/// One replica's breaker, as it published it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BreakerState {
    /// The consumer name of the replica.
    pub consumer: String,
    /// `closed` (calls flow), `open` (no calls until `reopen_at`) or
    /// `half_open` (one probe call decides).
    pub state: String,
    /// Consecutive transient DefectDojo failures seen.
    pub failures: u32,
    /// When the breaker last opened (kept while it is open or half open).
    pub opened_at: Option<DateTime<Utc>>,
    /// When an open breaker lets a probe through.
    pub reopen_at: Option<DateTime<Utc>>,
    /// The current cool-down, in seconds.
    pub cooldown_secs: u64,
    /// How many times it opened since the replica started.
    pub trips: u64,
    /// The last transient failure (no secrets: DefectDojo's error text).
    pub last_error: Option<String>,
    pub updated_at: DateTime<Utc>,
}

/// Every live replica's breaker and a one-word summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BreakerReport {
    /// `open` if any live replica's breaker is open, else `half_open` if any
    /// is half open, else `closed`; `unknown` when no replica published.
    pub state: String,
    /// Live replicas whose breaker is not closed.
    pub open: usize,
    pub workers: Vec<BreakerState>,
    /// Fields older than the freshness limit (replicas that died), not
    /// counted above.
    pub stale: usize,
}

impl Queue {
    /// The hash key, `P:breaker`.
    pub fn breaker_key(&self) -> String {
        self.keys.breaker.clone()
    }

    /// Stores `state` under its consumer name.
    pub async fn publish_breaker(&self, state: &BreakerState) -> Result<(), QueueError> {
        let json = serde_json::to_string(state)?;
        redis::cmd("HSET")
            .arg(self.breaker_key())
            .arg(&state.consumer)
            .arg(json)
            .query_async::<()>(&mut self.conn.clone())
            .await?;
        Ok(())
    }

    /// Removes a replica's field (it stopped cleanly).
    pub async fn remove_breaker(&self, consumer: &str) -> Result<(), QueueError> {
        redis::cmd("HDEL")
            .arg(self.breaker_key())
            .arg(consumer)
            .query_async::<()>(&mut self.conn.clone())
            .await?;
        Ok(())
    }

    /// Every published breaker refreshed within `fresh`, and the summary.
    pub async fn breaker_report(&self, fresh: Duration) -> Result<BreakerReport, QueueError> {
        let all: Vec<(String, String)> = redis::cmd("HGETALL")
            .arg(self.breaker_key())
            .query_async(&mut self.conn.clone())
            .await?;
        let oldest = Utc::now() - chrono::Duration::from_std(fresh).unwrap_or_default();
        let mut workers = Vec::new();
        let mut stale = 0;
        for (_, json) in all {
            match serde_json::from_str::<BreakerState>(&json) {
                Ok(s) if s.updated_at >= oldest => workers.push(s),
                _ => stale += 1,
            }
        }
        workers.sort_by(|a, b| a.consumer.cmp(&b.consumer));
        Ok(summarize(workers, stale))
    }
}

fn summarize(workers: Vec<BreakerState>, stale: usize) -> BreakerReport {
    let count = |s: &str| workers.iter().filter(|w| w.state == s).count();
    let (open, half_open) = (count("open"), count("half_open"));
    let state = if workers.is_empty() {
        "unknown"
    } else if open > 0 {
        "open"
    } else if half_open > 0 {
        "half_open"
    } else {
        "closed"
    };
    BreakerReport {
        state: state.to_owned(),
        open: open + half_open,
        workers,
        stale,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(consumer: &str, s: &str) -> BreakerState {
        BreakerState {
            consumer: consumer.to_owned(),
            state: s.to_owned(),
            failures: 0,
            opened_at: None,
            reopen_at: None,
            cooldown_secs: 5,
            trips: 0,
            last_error: None,
            updated_at: Utc::now(),
        }
    }

    #[test]
    fn the_summary_is_the_worst_live_state() {
        assert_eq!(summarize(vec![], 0).state, "unknown");
        let r = summarize(vec![state("a", "closed"), state("b", "half_open")], 1);
        assert_eq!((r.state.as_str(), r.open, r.stale), ("half_open", 1, 1));
        let r = summarize(
            vec![
                state("a", "open"),
                state("b", "half_open"),
                state("c", "closed"),
            ],
            0,
        );
        assert_eq!((r.state.as_str(), r.open), ("open", 2));
    }
}
