//! Shared pieces of the benchmark binaries. The system under measurement is
//! the same in-process wstg-bridge the system tests use (`wstg-harness`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

pub use dojo_sim::ProfileChoice;
use hdrhistogram::Histogram;
pub use wstg_harness::{
    client_with_token, dojo_finding, dojo_findings, dojo_stats, flags_of, tags_of, System,
    DOJO_TOKEN,
};

/// wstg-bridge in this process (ingest, `workers`, `pollers`) against an
/// emulator answering after `dojo_latency`, with a fresh SQLite store and
/// Redis prefix, and `env` on top of the defaults.
pub async fn start(
    workers: usize,
    dojo_latency: Duration,
    pollers: usize,
    env: &[(&str, &str)],
) -> System {
    start_profiled(workers, dojo_latency, ProfileChoice(None), pollers, env).await
}

/// [`start`] with the emulator's delays drawn from a latency profile too
/// (`--latency-profile real|zero|<file.json>`).
pub async fn start_profiled(
    workers: usize,
    dojo_latency: Duration,
    profile: ProfileChoice,
    pollers: usize,
    env: &[(&str, &str)],
) -> System {
    let mut sim = dojo_sim::SimConfig::new(DOJO_TOKEN);
    sim.latency = dojo_latency;
    sim.latency_profile = profile.0;
    let mut env = env.to_vec();
    env.push(("WSTG_LOG_LEVEL", "error"));
    System::start_on(sim, test_support::fresh_sqlite(), workers, pollers, &env).await
}

pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).unwrap()
}

/// "p50 1.23 ms, p99 4.56 ms, max 7.89 ms" from a histogram of microseconds.
pub fn summary(h: &Histogram<u64>) -> String {
    let ms = |us: u64| us as f64 / 1000.0;
    format!(
        "n {}, p50 {:.2} ms, p90 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        h.len(),
        ms(h.value_at_quantile(0.5)),
        ms(h.value_at_quantile(0.9)),
        ms(h.value_at_quantile(0.95)),
        ms(h.value_at_quantile(0.99)),
        ms(h.max())
    )
}
