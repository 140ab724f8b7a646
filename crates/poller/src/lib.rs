//! wstg-poller: reads DefectDojo back. DefectDojo sends no webhook when a
//! finding is edited, so polling is the source of truth for changes made
//! there; its webhooks only make the poller look sooner.
//!
//! Each interval, for each project whose lease it holds, the poller reads
//! the project's WSTG test in one request and compares every finding with the
//! store's snapshot (`updated`, status flags, tags, notes). Each difference
//! becomes one reconciliation event on the stream; the workers decide what
//! it means (pull, conflict, unlink). Nothing changed: no stream write.

pub mod alerts;
pub mod comments;
pub mod lease;
pub mod metrics;
pub mod observe;
pub mod retention;
pub mod runner;
pub mod webhook;

pub use observe::{observe_project, Observation};
pub use retention::{RetentionJob, RetentionReport};
pub use runner::{Poller, PollerOptions};
pub use webhook::WebhookKeeper;
