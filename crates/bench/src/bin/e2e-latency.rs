//! End-to-end latency, tracker post → finding state in the emulator, with no
//! backlog and 0 ms emulator latency; and DefectDojo calls per status change
//! in steady state.
//!
//! The items are created first (the first change of an item costs a lookup
//! and a create); then each measured change flips an existing item, one at a
//! time, and the clock stops when the emulator has counted the write.

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
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let interval = args.poll_interval_secs.to_string();
    let sys = wstg_bench::start_profiled(
        args.workers,
        Duration::ZERO,
        args.latency_profile.clone(),
        args.pollers,
        &[("WSTG_POLLER_INTERVAL_SECS", &interval)],
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
    // Let the per-item write interval pass before measuring.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let (req0, writes0) = sys.sim_counts().await;
    let mut h = histogram();
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
        let (_, before) = sys.sim_counts().await;
        let t = Instant::now();
        sys.post_ok(&json!({"wstg_id": id, "status": status.as_str()}))
            .await;
        loop {
            if sys.sim_counts().await.1 > before {
                break;
            }
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "change {i} not applied"
            );
            tokio::time::sleep(Duration::from_micros(500)).await;
        }
        h.record(t.elapsed().as_micros() as u64).unwrap();
    }
    let (req1, writes1) = sys.sim_counts().await;
    // The emulator also counts our stats polls? No: /__sim/ is not counted.
    let calls = (req1 - req0) as f64 / args.changes as f64;
    println!(
        "e2e tracker→DefectDojo latency (steady state, {} workers, {} pollers every {} s, DefectDojo {}): {}",
        args.workers,
        args.pollers,
        args.poll_interval_secs,
        args.latency_profile,
        summary(&h)
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
