//! The poller's cost and DefectDojo → tracker latency.
//!
//! 1. With 100 synced, unchanged items: DefectDojo requests per poll pass
//!    (target 1) and stream writes (target 0).
//! 2. A lead closes a finding in DefectDojo; time until the tracker's API
//!    shows it, with a webhook hint right after the change (target < 1 s)
//!    and without (target < interval + 1 s).

#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use clap::Parser;
use serde_json::json;
use wstg_bench::{histogram, summary, System, DOJO_TOKEN};
use wstg_domain::{Catalogue, CatalogueVersion};

#[derive(Parser)]
struct Args {
    #[arg(long, default_value_t = 100)]
    items: usize,
    #[arg(long, default_value_t = 10)]
    interval_secs: u64,
    #[arg(long, default_value_t = 20)]
    hinted_samples: usize,
    #[arg(long, default_value_t = 3)]
    unhinted_samples: usize,
}

use test_support::sim_stats::list_requests as list_polls;

async fn stats(sys: &System) -> serde_json::Value {
    test_support::sim_stats::fetch(&sys.http, &sys.sim.base_url).await
}

async fn stream_len(prefix: &str) -> u64 {
    test_support::stream_len(prefix).await
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let interval = args.interval_secs.to_string();
    let sys = wstg_bench::start(
        2,
        Duration::ZERO,
        1,
        &[
            ("WSTG_POLLER_INTERVAL_SECS", &interval),
            ("WSTG_INGEST_WEBHOOK_KEY", "bench-hook"),
            // Webhooks force at most one poll per this interval (issue 9):
            // the hinted samples are spaced past it, so each hint is honoured.
            ("WSTG_LIMITS_WEBHOOK_POLL_INTERVAL_SECS", "1"),
        ],
    )
    .await;
    let ids: Vec<String> = Catalogue::get(CatalogueVersion::V4_2)
        .entries()
        .iter()
        .take(args.items)
        .map(|e| e.id.clone())
        .collect();
    for id in &ids {
        sys.post_ok(&json!({"wstg_id": id, "status": "in_progress"}))
            .await;
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let s = stats(&sys).await;
        if s["by_route"]["POST /api/v2/findings/"]
            .as_u64()
            .unwrap_or(0)
            >= ids.len() as u64
            && stream_len(&sys.prefix).await == 0
        {
            break;
        }
        assert!(Instant::now() < deadline, "set-up did not finish");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // 1. Cost of polling unchanged items.
    let s0 = stats(&sys).await;
    let polls0 = list_polls(&s0);
    let start = Instant::now();
    while list_polls(&stats(&sys).await) < polls0 + 3 {
        assert!(start.elapsed() < Duration::from_secs(args.interval_secs * 5 + 10));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let s1 = stats(&sys).await;
    let passes = list_polls(&s1) - polls0;
    let requests = s1["requests"].as_u64().unwrap() - s0["requests"].as_u64().unwrap();
    println!(
        "poll cost with {} unchanged items: {:.2} DefectDojo requests per pass ({requests} requests / {passes} passes), stream length {}",
        ids.len(),
        requests as f64 / passes as f64,
        stream_len(&sys.prefix).await
    );

    // 2. DefectDojo → tracker latency.
    let findings: serde_json::Value = sys
        .http
        .get(format!("{}/api/v2/findings/?limit=1000", sys.sim.base_url))
        .header("Authorization", format!("Token {DOJO_TOKEN}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let findings = findings["results"].as_array().unwrap().clone();
    let mut next = findings.iter();
    for (label, samples, hint) in [
        ("with a webhook hint", args.hinted_samples, true),
        ("without a hint (poll only)", args.unhinted_samples, false),
    ] {
        let mut h = histogram();
        for _ in 0..samples {
            // A lone hint: webhooks force at most one poll a second here
            // (WSTG_LIMITS_WEBHOOK_POLL_INTERVAL_SECS), and back-to-back samples
            // would measure that cap, not the latency.
            tokio::time::sleep(Duration::from_millis(1100)).await;
            let f = next.next().expect("enough findings");
            let (id, wstg_id) = (
                f["id"].as_i64().unwrap(),
                f["unique_id_from_tool"].as_str().unwrap().to_owned(),
            );
            let t = Instant::now();
            let r = sys
                .http
                .patch(format!("{}/api/v2/findings/{id}/", sys.sim.base_url))
                .header("Authorization", format!("Token {DOJO_TOKEN}"))
                .json(&json!({"is_mitigated": true, "active": false}))
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success());
            if hint {
                let r = sys
                    .http
                    .post(format!("{}/api/wstg/webhook", sys.ingest_url))
                    .header("X-API-Key", "bench-hook")
                    .header("X-DefectDojo-Event", "finding_closed")
                    .json(&json!({"title": "Closing", "description": "", "user": null, "url_ui": format!("{}/finding/{id}", sys.sim.base_url)}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 202);
            }
            loop {
                if sys.item(&wstg_id).await["status"] == "done" {
                    break;
                }
                assert!(
                    t.elapsed() < Duration::from_secs(args.interval_secs * 3 + 10),
                    "{wstg_id} never arrived"
                );
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            h.record(t.elapsed().as_micros() as u64).unwrap();
        }
        println!(
            "DefectDojo → tracker latency {label} (interval {} s): {}",
            args.interval_secs,
            summary(&h)
        );
    }
    sys.stop().await;
}
