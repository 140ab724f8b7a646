//! 100 changes to one item within one second: the final state must be the
//! last change's, with at most a handful of DefectDojo writes (coalescing).

#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use clap::Parser;
use serde_json::json;
use wstg_bench::dojo_finding;
use wstg_domain::mapping::{flags_for, status_tag};
use wstg_domain::Status;

#[derive(Parser)]
struct Args {
    #[arg(long, default_value_t = 100)]
    changes: usize,
    #[arg(long, default_value_t = 2)]
    workers: usize,
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let sys = wstg_bench::start(args.workers, Duration::ZERO, 0, &[]).await;
    // Warm-up: the project's hierarchy and the item's finding exist, and
    // the item has been idle longer than the write interval.
    sys.post_ok(&json!({"wstg_id": "WSTG-INFO-01", "status": "not_started"}))
        .await;
    while dojo_finding(&sys.http, &sys.sim.base_url, "WSTG-INFO-01")
        .await
        .is_none()
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (_, writes0) = sys.sim_counts().await;
    let start = Instant::now();
    let spacing = Duration::from_secs(1) / args.changes as u32;
    let mut last = Status::NotStarted;
    for i in 0..args.changes {
        last = Status::ALL[(i + 1) % 5];
        sys.post_ok(&json!({"wstg_id": "WSTG-INFO-01", "status": last.as_str(), "notes": format!("change {i}")}))
            .await;
        let due = spacing * (i as u32 + 1);
        if let Some(wait) = due.checked_sub(start.elapsed()) {
            tokio::time::sleep(wait).await;
        }
    }
    let sent_in = start.elapsed();
    let want_notes = format!("change {}", args.changes - 1);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(f) = dojo_finding(&sys.http, &sys.sim.base_url, "WSTG-INFO-01").await {
            let tags: Vec<String> = serde_json::from_value(f["tags"].clone()).unwrap_or_default();
            let flags = wstg_domain::DojoFlags {
                active: f["active"] == true,
                verified: f["verified"] == true,
                false_p: f["false_p"] == true,
                out_of_scope: f["out_of_scope"] == true,
                risk_accepted: f["risk_accepted"] == true,
                is_mitigated: f["is_mitigated"] == true,
                duplicate: f["duplicate"] == true,
                under_review: f["under_review"] == true,
            };
            if flags == flags_for(last)
                && tags.contains(&status_tag(last))
                && f["mitigation"] == json!(want_notes)
            {
                break;
            }
        }
        assert!(Instant::now() < deadline, "final state never reached");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let settled = start.elapsed();
    let (_, writes1) = sys.sim_counts().await;
    println!(
        "burst: {} changes to one item sent in {:.2} s; final state correct after {:.2} s; DefectDojo writes: {}",
        args.changes,
        sent_in.as_secs_f64(),
        settled.as_secs_f64(),
        writes1 - writes0
    );
    if std::env::var_os("BENCH_VERBOSE").is_some() {
        let s: serde_json::Value = sys
            .http
            .get(format!("{}/__sim/stats", sys.sim.base_url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        println!("{}", s["by_route"]);
    }
    sys.stop().await;
}
