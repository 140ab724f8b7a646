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
        let (req0, writes0) = sys.sim_counts().await;
        let start = Instant::now();
        let posters = (0..args.clients).map(|c| {
            let (sys, items) = (&sys, &items);
            async move {
                for i in (0..args.changes).filter(|i| (i % args.items) % args.clients == c) {
                    let it = &items[i % args.items];
                    sys.post_ok(&json!({
                        "project": it.project,
                        "wstg_id": it.wstg_id,
                        "status": status_of(i, args.items).as_str(),
                        "notes": format!("{} change {i}", it.project),
                    }))
                    .await;
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
            "replicas {replicas}: warm-up {warm_secs:.1} s; {} changes posted in {sent:.2} s; \
             DefectDojo holds every item's last state after {consistent:.2} s{}; \
             {rate:.1} changes/s ({speedup:.2}x the first row); DefectDojo requests {}, writes {} \
             ({:.2} writes/s); items wrong {wrong} of {}",
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
