//! Many changes over many items, posted as fast as the tracker can, then the
//! time until DefectDojo holds every item's last state: worker scaling
//! (`--replicas 1,2,4,8 --changes 1000 --items 200`) and the burst
//! (`--replicas 2 --changes 1000 --items 50`), at a DefectDojo latency
//! profile (`--latency-profile real`, docs/benchmarks.md).
//!
//! Items are spread over projects of at most 97 items (the WSTG 4.2
//! catalogue). Each item's finding exists first (its first change costs a
//! lookup and a create); then change `i` goes to item `i % items`, so every
//! item gets `changes / items` changes, the last one known. The clock runs
//! from the first post until the queue is empty (every change applied or
//! coalesced, nothing delayed), then one read of DefectDojo checks every
//! item's status flags, status tag and notes against its last change.
//!
//! `--original-design` is the baseline for the burst: the same clients, the
//! same changes, but each change is what the original design's sync endpoint
//! did with it, one synchronous DefectDojo PATCH before answering, with no
//! queue, no coalescing and no worker. It leaves out the original's lookups
//! before each write, so it is a lower bound on the original's time.

#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use clap::Parser;
use serde_json::json;
use wstg_bench::{ProfileChoice, System};
use wstg_domain::mapping::{flags_for, status_tag};
use wstg_domain::{Catalogue, CatalogueVersion, Status};

#[derive(Parser)]
struct Args {
    /// Worker replicas to measure, one fresh system each.
    #[arg(long, value_delimiter = ',', default_value = "1,2,4")]
    replicas: Vec<usize>,
    #[arg(long, default_value_t = 1000)]
    changes: usize,
    #[arg(long, default_value_t = 200)]
    items: usize,
    /// `real`, `zero` or a profile file.
    #[arg(long, default_value = "real")]
    latency_profile: ProfileChoice,
    /// Pollers running meanwhile (their list reads compete with the writes).
    #[arg(long, default_value_t = 0)]
    pollers: usize,
    /// Tracker clients posting at once; each owns every `clients`-th item,
    /// so an item's changes still arrive in order.
    #[arg(long, default_value_t = 1)]
    clients: usize,
    /// Extra settings, `KEY=VALUE` (e.g. WSTG_WORKER_CONCURRENCY=32).
    #[arg(long = "env")]
    env: Vec<String>,
    /// Measure the original design instead (module docs): each change is one
    /// synchronous PATCH straight to DefectDojo from its client.
    #[arg(long)]
    original_design: bool,
}

struct Item {
    project: String,
    wstg_id: String,
}

const ADMIN_TOKEN: &str = "bench-admin-token-0123456789";

fn wstg_harness_client(token: &str) -> reqwest::Client {
    wstg_bench::client_with_token(token)
}

const PROJECTS: [&str; 6] = ["atlas", "borealis", "cygnus", "draco", "eridanus", "fornax"];

fn items(n: usize) -> Vec<Item> {
    let catalogue: Vec<String> = Catalogue::get(CatalogueVersion::V4_2)
        .entries()
        .iter()
        .map(|e| e.id.clone())
        .collect();
    (0..n)
        .map(|i| Item {
            project: PROJECTS[i / catalogue.len()].to_owned(),
            wstg_id: catalogue[i % catalogue.len()].clone(),
        })
        .collect()
}

async fn wait_idle(sys: &System, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if test_support::redis_env::queue_idle(&sys.prefix).await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

fn status_of(i: usize, items: usize) -> Status {
    Status::ALL[(i / items + 1) % Status::ALL.len()]
}

/// Each item's DefectDojo finding, as the tracker API reports it after the
/// warm-up made them.
async fn finding_ids(sys: &System, items: &[Item]) -> Vec<i64> {
    let mut ids = Vec::with_capacity(items.len());
    for it in items {
        let v: serde_json::Value = sys
            .http
            .get(format!("{}/api/wstg/items/{}", sys.ingest_url, it.wstg_id))
            .query(&[("project", it.project.as_str())])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        ids.push(
            v["finding_id"]
                .as_i64()
                .unwrap_or_else(|| panic!("no finding for {}: {v}", it.wstg_id)),
        );
    }
    ids
}

/// What the original design's endpoint did with one change: the PATCH,
/// answered before the next change of this client is sent.
async fn original_write(sys: &System, finding_id: i64, wstg_id: &str, status: Status, notes: &str) {
    let flags = flags_for(status);
    let mut body = serde_json::to_value(flags).unwrap();
    body["mitigation"] = json!(notes);
    body["tags"] = json!([wstg_id.to_ascii_lowercase(), status_tag(status)]);
    sys.dojo_patch(finding_id, &body).await;
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let env: Vec<(String, String)> = args
        .env
        .iter()
        .map(|kv| {
            let (k, v) = kv.split_once('=').expect("--env KEY=VALUE");
            (k.to_owned(), v.to_owned())
        })
        .collect();
    let mut env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    env.push(("WSTG_INGEST_ADMIN_TOKEN", ADMIN_TOKEN));
    println!(
        "scenario: {} changes over {} items from {} client(s), DefectDojo profile {}, {} poller(s)",
        args.changes, args.items, args.clients, args.latency_profile, args.pollers
    );
    let mut base: Option<f64> = None;
    for &replicas in &args.replicas {
        let sys = wstg_bench::start_profiled(
            replicas,
            Duration::ZERO,
            args.latency_profile.clone(),
            args.pollers,
            &env,
        )
        .await;
        let items = items(args.items);
        let mut projects: Vec<&str> = items.iter().map(|it| it.project.as_str()).collect();
        projects.dedup();
        for p in projects {
            let r = wstg_harness_client(ADMIN_TOKEN)
                .post(format!("{}/api/wstg/admin/projects", sys.ingest_url))
                .json(&json!({ "name": p }))
                .send()
                .await
                .unwrap();
            assert!(
                r.status().is_success(),
                "creating project {p}: {}",
                r.status()
            );
        }
        let warm = Instant::now();
        for it in &items {
            sys.post_ok(
                &json!({"project": it.project, "wstg_id": it.wstg_id, "status": "not_started"}),
            )
            .await;
        }
        assert!(
            wait_idle(&sys, Duration::from_secs(600)).await,
            "warm-up did not finish"
        );
        let warm_secs = warm.elapsed().as_secs_f64();
        // Past every item's write interval.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let finding_ids = if args.original_design {
            finding_ids(&sys, &items).await
        } else {
            Vec::new()
        };
        let (req0, writes0) = sys.sim_counts().await;
        let start = Instant::now();
        let posters = (0..args.clients).map(|c| {
            let (sys, items, finding_ids) = (&sys, &items, &finding_ids);
            async move {
                for i in (0..args.changes).filter(|i| (i % args.items) % args.clients == c) {
                    let it = &items[i % args.items];
                    let status = status_of(i, args.items);
                    let notes = format!("{} change {i}", it.project);
                    if args.original_design {
                        original_write(
                            sys,
                            finding_ids[i % args.items],
                            &it.wstg_id,
                            status,
                            &notes,
                        )
                        .await;
                    } else {
                        sys.post_ok(&json!({
                            "project": it.project,
                            "wstg_id": it.wstg_id,
                            "status": status.as_str(),
                            "notes": notes,
                        }))
                        .await;
                    }
                }
            }
        });
        futures::future::join_all(posters).await;
        let sent = start.elapsed().as_secs_f64();
        let idle = wait_idle(&sys, Duration::from_secs(900)).await;
        let consistent = start.elapsed().as_secs_f64();
        let (req1, writes1) = sys.sim_counts().await;
        // Every item's last state, read once after the clock stopped.
        let findings = wstg_bench::dojo_findings(&sys.http, &sys.sim.base_url).await;
        let mut wrong = 0;
        for (k, it) in items.iter().enumerate() {
            let last = (0..args.changes).rev().find(|i| i % args.items == k);
            let Some(last) = last else { continue };
            let want_status = status_of(last, args.items);
            let want_notes = format!("{} change {last}", it.project);
            let ok = findings.iter().any(|f| {
                f["unique_id_from_tool"] == json!(it.wstg_id)
                    && f["mitigation"] == json!(want_notes)
                    && wstg_bench::flags_of(f) == flags_for(want_status)
                    && wstg_bench::tags_of(f).contains(&status_tag(want_status))
            });
            if !ok {
                wrong += 1;
            }
        }
        let rate = args.changes as f64 / consistent;
        let speedup = base.map_or(1.0, |b| rate / b);
        base.get_or_insert(rate);
        println!(
            "{}replicas {replicas}: warm-up {warm_secs:.1} s; {} changes posted in {sent:.2} s; \
             DefectDojo holds every item's last state after {consistent:.2} s{}; \
             {rate:.1} changes/s ({speedup:.2}x the first row); DefectDojo requests {}, writes {} \
             ({:.2} writes/s); items wrong {wrong} of {}",
            if args.original_design {
                "original design (one synchronous PATCH per change, no worker); "
            } else {
                ""
            },
            args.changes,
            if idle { "" } else { " (NOT idle: gave up)" },
            req1 - req0,
            writes1 - writes0,
            (writes1 - writes0) as f64 / consistent,
            args.items,
        );
        sys.stop().await;
    }
}
