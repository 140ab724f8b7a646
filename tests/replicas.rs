//! Scaled workers as real processes: three wstg-worker replicas and a
//! wstg-ingest process share one stream; DefectDojo (the emulator) answers
//! slowly. Every item must end with exactly one finding, in the state of the
//! item's last event.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use common::{dojo_findings, flags_of, service_env, tags_of, DOJO_TOKEN};
use futures::StreamExt;
use serde_json::json;
use test_support::process::{free_port, Proc};
use wstg_domain::mapping::{flags_for, status_tag};
use wstg_domain::{Catalogue, CatalogueVersion, Status};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_worker_processes_make_exactly_one_finding_per_item_in_its_last_state() {
    test_support::init_test_logging();
    let db = test_support::fresh_sqlite();
    wstg_harness::migrate(&db).await;
    let mut sim_cfg = dojo_sim::SimConfig::new(DOJO_TOKEN);
    sim_cfg.latency = Duration::from_millis(20);
    let sim = dojo_sim::spawn(sim_cfg).await.unwrap();
    let prefix = test_support::unique_prefix();
    let port = free_port();
    let env = service_env(
        &prefix,
        &db.url,
        &sim.base_url,
        &format!("127.0.0.1:{port}"),
    );

    let mut ingest = Proc::start("wstg-ingest", &[], &env).unwrap();
    ingest
        .wait_for_line("listening on", Duration::from_secs(30))
        .await
        .unwrap();
    let mut workers = Vec::new();
    for _ in 0..3 {
        let mut w = Proc::start("wstg-worker", &[], &env).unwrap();
        w.wait_for_line("wstg-worker started", Duration::from_secs(30))
            .await
            .unwrap();
        workers.push(w);
    }

    // 50 items, 4 events each, with explicit tracker timestamps, posted all
    // at once in an order unrelated to their timestamps.
    let ids: Vec<String> = Catalogue::get(CatalogueVersion::V4_2)
        .entries()
        .iter()
        .take(50)
        .map(|e| e.id.clone())
        .collect();
    let base = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap();
    let mut events = Vec::new();
    let mut last: HashMap<String, Status> = HashMap::new();
    for (i, id) in ids.iter().enumerate() {
        for k in 0..4usize {
            let status = Status::ALL[(i + k * 3) % 5];
            let at = base + chrono::Duration::seconds(k as i64);
            events.push(json!({"wstg_id": id, "status": status.as_str(), "timestamp": at.to_rfc3339(), "notes": format!("{id} v{k}")}));
            last.insert(id.clone(), status);
        }
    }
    // Deterministic shuffle: newest events are not always posted last.
    events.sort_by_key(|e| {
        let s = e.to_string();
        s.bytes()
            .fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)))
    });
    let http = common::authed_client();
    let url = format!("http://127.0.0.1:{port}/api/wstg/sync");
    let statuses: Vec<u16> = futures::stream::iter(events)
        .map(|e| {
            let (http, url) = (http.clone(), url.clone());
            async move {
                http.post(url)
                    .json(&e)
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            }
        })
        .buffer_unordered(50)
        .collect()
        .await;
    assert!(statuses.iter().all(|s| *s == 202), "{statuses:?}");

    let findings = test_support::eventually_async(
        Duration::from_secs(60),
        "every item in its last state",
        || async {
            let findings = dojo_findings(&http, &sim.base_url).await;
            let done = ids.iter().all(|id| {
                findings.iter().any(|f| {
                    f["unique_id_from_tool"] == json!(id)
                        && flags_of(f) == flags_for(last[id])
                        && tags_of(f).contains(&status_tag(last[id]))
                        && f["mitigation"] == json!(format!("{id} v3"))
                })
            });
            (done && common::stream_len(&prefix).await == 0).then_some(findings)
        },
    )
    .await;
    assert_eq!(findings.len(), 50, "exactly one finding per item");
    let mut per_item: HashMap<String, usize> = HashMap::new();
    for f in &findings {
        *per_item
            .entry(f["unique_id_from_tool"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    assert!(per_item.values().all(|n| *n == 1), "{per_item:?}");

    for w in &workers {
        w.signal("TERM").unwrap();
    }
    for w in &mut workers {
        let status = w.wait(Duration::from_secs(30)).await.unwrap();
        assert!(
            status.success(),
            "worker exits cleanly on SIGTERM: {status}"
        );
    }
    ingest.signal("TERM").unwrap();
    sim.stop().await;
}
