//! wstg-worker: consumes the event stream and brings each item's DefectDojo
//! finding to the tracker's latest state.
//!
//! Delivery is at least once; application is idempotent because it is
//! state-based: an event records the tracker's state in the store (newest
//! wins), then the item is reconciled from the store, so replays, duplicates
//! and out-of-order deliveries all converge on the same finding.

pub mod apply;
pub mod bootstrap;
pub mod breaker;
pub mod comments;
pub mod error;
pub mod evidence;
pub mod intent;
pub mod item_lock;
pub mod metrics;
pub mod project_catalogue;
pub mod runner;
pub mod vulnerability;

pub use runner::{Worker, WorkerOptions};
