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
}

impl WorkError {
    pub fn is_retryable(&self) -> bool {
        match self {
            WorkError::Dojo(e) => e.is_retryable(),
            // The store and Redis being away is an outage, not a bad event.
            WorkError::Store(_) | WorkError::Queue(_) => true,
            WorkError::Permanent(_) => false,
        }
    }

    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            WorkError::Dojo(e) => e.retry_after(),
            _ => None,
        }
    }
}
