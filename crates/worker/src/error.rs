//! The worker's one error type: retryable (try again later, through the
//! delayed set) or permanent (dead-letter now, with the reason).

use std::time::Duration;

use dojo_client::DojoError;
use wstg_queue::QueueError;
use wstg_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum WorkError {
    #[error("DefectDojo: {0}")]
    Dojo(#[from] DojoError),
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("queue: {0}")]
    Queue(#[from] QueueError),
    #[error("{0}")]
    Permanent(String),
    /// The DefectDojo circuit breaker refused the call (crate::breaker): the
    /// event is deferred to `until` without counting an attempt.
    #[error("DefectDojo circuit breaker open until {until}")]
    BreakerOpen {
        until: chrono::DateTime<chrono::Utc>,
    },
    /// Another replica holds the item's lease: try again later.
    #[error("{0}")]
    Busy(String),
    /// A local condition a retry resolves (the item kept changing while it
    /// was synced, the project's test is being made again). Not a
    /// DefectDojo outage: the circuit breaker ignores it.
    #[error("{0}")]
    Retry(String),
}

impl WorkError {
    pub fn is_retryable(&self) -> bool {
        match self {
            WorkError::Dojo(e) => e.is_retryable(),
            // The store and Redis being away is an outage, not a bad event.
            WorkError::Store(_) | WorkError::Queue(_) => true,
            WorkError::Permanent(_) => false,
            WorkError::BreakerOpen { .. } | WorkError::Busy(_) | WorkError::Retry(_) => true,
        }
    }

    /// True when a DefectDojo request may have been carried out although no
    /// answer said so, and may still be (`dojo_client::Sent::Unknown`).
    pub fn outcome_unknown(&self) -> bool {
        matches!(self, WorkError::Dojo(e) if e.outcome_unknown())
    }

    /// The text a dead letter and the store keep: the error, and for a
    /// DefectDojo refusal DefectDojo's own error body as it answered
    /// (without its "pro" advertisement).
    pub fn dead_letter_text(&self) -> String {
        match self {
            WorkError::Dojo(DojoError::Permanent { body, .. }) if !body.is_null() => {
                let mut body = body.clone();
                if let Some(map) = body.as_object_mut() {
                    map.remove("pro");
                }
                format!("{self}; DefectDojo answered: {body}")
            }
            _ => self.to_string(),
        }
    }

    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            WorkError::Dojo(e) => e.retry_after(),
            _ => None,
        }
    }
}
