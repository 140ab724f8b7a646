//! What operators scrape and probe (docs/operations.md).
//!
//! - [`recorder`]: the process's Prometheus recorder, installed once; every
//!   crate records through the `metrics` facade (a no-op in processes that
//!   install none, such as `wstgctl`).
//! - [`catalogue`]: every metric of wstg-bridge: name, type, labels, which
//!   service exposes it, and what it means (docs/operations.md is its table).
//! - [`readiness`]: what `/readyz` checks and says.
//! - [`server`]: the small HTTP server of the worker and the poller
//!   (`/healthz`, `/readyz`, `/metrics` on `worker.ops_addr` /
//!   `poller.ops_addr`).
//! - [`access`]: who may read `/metrics`.
//! - [`http_metrics`]: the ingest's request counter and latency histogram,
//!   by route pattern.

pub mod access;
pub mod catalogue;
pub mod http_metrics;
pub mod readiness;
pub mod recorder;
pub mod server;

pub use access::MetricsAccess;
pub use readiness::{Checks, DojoProbe};
pub use recorder::{install, render, CONTENT_TYPE};
pub use server::OpsServer;
