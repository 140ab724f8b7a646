//! End-to-end latency, tracker post → finding state in the emulator, with no
//! backlog and 0 ms emulator latency; and DefectDojo calls per status change
//! in steady state.
//!
//! The items are created first (the first change of an item costs a lookup
//! and a create); then each measured change flips an existing item, one at a
//! time, and the clock stops when the emulator has counted the write.
//!
//! DefectDojo's own share of each change is measured in the same run: the
//! emulator sums the delay it injected into the writes it counted, so
//! `e2e − that delay` is what the bridge added to that change, and the
//! tail target (p95 ≤ DefectDojo's own p95 + 20 ms) compares two
//! distributions of the same run instead of the profile's nominal figure.

#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use clap::Parser;
use serde_json::json;
use wstg_bench::{histogram, summary};
use wstg_domain::{Catalogue, CatalogueVersion, Status};

#[derive(Parser)]
struct Args {
    #[arg(long, default_value_t = 300)]
    changes: usize,
    #[arg(long, default_value_t = 2)]
    workers: usize,
    /// DefectDojo's latency: `zero`, `real` (measured on DefectDojo 3.2.0) or a profile file.
    #[arg(long, default_value = "zero")]
    latency_profile: wstg_bench::ProfileChoice,
    /// Pollers running meanwhile: their list reads compete with the writes.
    #[arg(long, default_value_t = 0)]
    pollers: usize,
    /// The pollers' interval, in seconds.
    #[arg(long, default_value_t = 5)]
    poll_interval_secs: u64,
    /// Extra settings, `KEY=VALUE` (e.g. WSTG_POLLER_FEED=per_test).
    #[arg(long = "env")]
    env: Vec<String>,
}

/// The emulator's successful writes so far and their injected delay (µs).
async fn write_counts(sys: &wstg_bench::System) -> (u64, u64) {
    let s = wstg_bench::dojo_stats(&sys.http, &sys.sim.base_url).await;
    (
        s["writes"].as_u64().unwrap(),
        s["write_delay_us"].as_u64().unwrap_or(0),
    )
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let interval = args.poll_interval_secs.to_string();
    let extra: Vec<(String, String)> = args
        .env
        .iter()
        .map(|kv| {
            let (k, v) = kv.split_once('=').expect("--env KEY=VALUE");
            (k.to_owned(), v.to_owned())
        })
        .collect();
    let mut env: Vec<(&str, &str)> = vec![("WSTG_POLLER_INTERVAL_SECS", &interval)];
    env.extend(extra.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let sys = wstg_bench::start_profiled(
        args.workers,
        Duration::ZERO,
        args.latency_profile.clone(),
        args.pollers,
        &env,
    )
    .await;
    let ids: Vec<String> = Catalogue::get(CatalogueVersion::V4_2)
        .entries()
        .iter()
        .take(60)
        .map(|e| e.id.clone())
        .collect();
    for id in &ids {
        sys.post_ok(&json!({"wstg_id": id, "status": "not_started"}))
            .await;
    }
    let deadline = Instant::now() + Duration::from_secs(300);
    while sys.sim_counts().await.1 < ids.len() as u64 {
        assert!(Instant::now() < deadline, "warm-up did not finish");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Wait until the warm-up's writes have stopped (no new write for a
    // second, which also covers the per-item write interval): a trailing
    // warm-up write counted during the first changes stopped their clock
    // early (a row once showed a p50 below DefectDojo's own delay).
    let mut quiet = (write_counts(&sys).await.0, Instant::now());
    while quiet.1.elapsed() < Duration::from_secs(1) {
        assert!(Instant::now() < deadline, "warm-up writes did not stop");
        tokio::time::sleep(Duration::from_millis(100)).await;
        let writes = write_counts(&sys).await.0;
        if writes != quiet.0 {
            quiet = (writes, Instant::now());
        }
    }
    let (req0, writes0) = sys.sim_counts().await;
    let mut h = histogram();
    // DefectDojo's injected delay in the writes of each change, and the rest.
    let mut own = histogram();
    let mut added = histogram();
    // No backlog and no coalescing: an item is changed again only after the
    // write interval has passed since its last change.
    let mut last_change: std::collections::HashMap<String, Instant> =
        std::collections::HashMap::new();
    for i in 0..args.changes {
        let id = &ids[i % ids.len()];
        if let Some(wait) = last_change
            .get(id)
            .and_then(|t| Duration::from_millis(400).checked_sub(t.elapsed()))
        {
            tokio::time::sleep(wait).await;
        }
        last_change.insert(id.clone(), Instant::now());
        let status = [
            Status::InProgress,
            Status::Blocked,
            Status::Done,
            Status::NotApplicable,
            Status::NotStarted,
        ][(i / ids.len()) % 5];
        let (before, delay_before) = write_counts(&sys).await;
        let t = Instant::now();
        sys.post_ok(&json!({"wstg_id": id, "status": status.as_str()}))
            .await;
        let delay_after = loop {
            let (writes, delay) = write_counts(&sys).await;
            if writes > before {
                break delay;
            }
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "change {i} not applied"
            );
            tokio::time::sleep(Duration::from_micros(500)).await;
        };
        let took = t.elapsed().as_micros() as u64;
        let dojo = delay_after - delay_before;
        h.record(took).unwrap();
        own.record(dojo.max(1)).unwrap();
        added.record(took.saturating_sub(dojo).max(1)).unwrap();
    }
    let (req1, writes1) = sys.sim_counts().await;
    // The emulator also counts our stats polls? No: /__sim/ is not counted.
    let calls = (req1 - req0) as f64 / args.changes as f64;
    println!(
        "e2e tracker→DefectDojo latency (steady state, {} workers, {} pollers every {} s, DefectDojo {}, settings {:?}): {}",
        args.workers,
        args.pollers,
        args.poll_interval_secs,
        args.latency_profile,
        args.env,
        summary(&h)
    );
    let ms = |h: &hdrhistogram::Histogram<u64>, q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    println!(
        "DefectDojo's own time in those changes (the emulator's injected delay, same run): {}",
        summary(&own)
    );
    println!(
        "the bridge's part of each change (e2e minus DefectDojo's own): {}",
        summary(&added)
    );
    println!(
        "tail: e2e p95 {:.2} ms = DefectDojo's own p95 {:.2} ms + {:.2} ms (target + 20 ms)",
        ms(&h, 0.95),
        ms(&own, 0.95),
        ms(&h, 0.95) - ms(&own, 0.95)
    );
    if let Some(p) = &args.latency_profile.0 {
        let ms = |q: f64| {
            p.at(dojo_sim::latency::Operation::PatchFinding, q)
                .as_secs_f64()
                * 1000.0
        };
        println!(
            "DefectDojo's own PATCH in the profile: p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms",
            ms(0.5),
            ms(0.95),
            ms(0.99)
        );
    }
    println!(
        "DefectDojo calls per status change: {calls:.2} ({} requests, {} writes, {} changes)",
        req1 - req0,
        writes1 - writes0,
        args.changes
    );
    sys.stop().await;
}
