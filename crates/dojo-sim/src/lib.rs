//! `dojo-sim`: an in-memory emulator of the DefectDojo 3.2.0 API v2 subset wstg-bridge uses.
//!
//! It reproduces the real server's status codes, body shapes and model-side rewrites as
//! described in docs/defectdojo.md and recorded in `tests/fixtures/recorded/`, and adds test
//! controls under `/__sim/` (stats, fault injection, latency, reset, webhook target, ORM-style
//! seeding of findings and tag rows).
//! `tests/contract.rs` replays every recorded request/response pair against it.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! let sim = dojo_sim::spawn(dojo_sim::SimConfig::new("0123456789abcdef")).await?;
//! // point a client at sim.base_url with "Authorization: Token 0123456789abcdef"
//! sim.stop().await;
//! # Ok(()) }
//! ```

mod auth;
pub mod cli;
mod clock;
mod config;
mod db;
mod drf;
mod faults;
mod filters;
mod hash;
pub mod latency;
mod model;
mod pipeline;
mod prefetch;
mod routes;
mod server;
mod state;
mod stats;
mod status;
mod tags;
mod titlecase;
mod webhooks;

pub use config::{Faults, SimConfig, WebhookTarget};
pub use latency::{LatencyProfile, ProfileChoice};
pub use server::{spawn, spawn_on, RunningSim};
