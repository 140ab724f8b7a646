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
}

impl WorkError {
    pub fn is_retryable(&self) -> bool {
        match self {
            WorkError::Dojo(e) => e.is_retryable(),
            // The store and Redis being away is an outage, not a bad event.
            WorkError::Store(_) | WorkError::Queue(_) => true,
            WorkError::Permanent(_) => false,
            WorkError::BreakerOpen { .. } | WorkError::Busy(_) => true,
        }
    }

    /// True when a DefectDojo request may have been carried out although no
    /// answer said so, and may still be: it timed out, the connection broke
    /// after it was sent, or a gateway timed out waiting for DefectDojo.
    /// ("could not connect" is dojo-client's wording for a request that was
    /// never sent.)
    pub fn outcome_unknown(&self) -> bool {
        match self {
            WorkError::Dojo(DojoError::Transient {
                status: None,
                message,
                ..
            }) => !message.starts_with("could not connect"),
            WorkError::Dojo(DojoError::Transient {
                status: Some(504), ..
            }) => true,
            _ => false,
        }
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
