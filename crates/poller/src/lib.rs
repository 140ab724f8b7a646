//! wstg-poller: reads DefectDojo back. DefectDojo sends no webhook when a
//! finding is edited, so polling is the source of truth for changes made
//! there; its webhooks only make the poller look sooner.
//!
//! Each interval, for the projects whose lease it holds, the poller reads one
//! change feed (findings under their product types, newest status change
//! first, down to a watermark) and, every `poller.full_scan_secs`, each
//! project's WSTG test in full (text edits and deletions do not show in the
//! feed); `poller.feed = "per_test"` reads every test in full every pass.
//! Each finding is compared with the store's snapshot (`updated`, status
//! flags, tags, notes); each difference becomes one reconciliation event on
//! the stream; the workers decide what it means (pull, conflict, unlink).
//! Nothing changed: no stream write (docs/sync-rules.md, the poller).

pub mod alerts;
pub mod comments;
pub mod evidence;
pub mod lease;
pub mod metrics;
pub mod observe;
pub mod retention;
pub mod runner;
pub mod vulnerabilities;
pub mod webhook;

pub use observe::{observe_feed, observe_project, FeedOutcome, Observation};
pub use retention::{RetentionJob, RetentionReport};
pub use runner::{Poller, PollerOptions};
pub use webhook::WebhookKeeper;
