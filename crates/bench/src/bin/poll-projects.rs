//! What polling costs DefectDojo with many projects (issue 14, item 5).
//!
//! For each latency profile and each project count N: a fresh system
//! (ingest, 2 workers, 1 poller, a migrated SQLite store, dojo-sim at the
//! profile), N projects created through the admin API, each with
//! `--items-per-project` items synced through the bridge (so each project
//! has its product, engagement, WSTG test and findings in DefectDojo).
//! Then, with nothing changing:
//!
//! 1. DefectDojo requests per poll interval over a fixed idle window of
//!    `--idle-intervals` intervals (dojo-sim's `/__sim/stats`), and how
//!    many finding list requests that was per project;
//! 2. DefectDojo → store latency: a finding is closed in dojo-sim through
//!    its HTTP API, as a DefectDojo user would, and the clock runs until the
//!    tracker API (which reads the store) shows the item done. No webhook
//!    hint is sent, so this is the poll path alone.
//!
//! Each is measured for each `--feeds` mode (`poller.feed`): `per_test`,
//! one list of each project's test per pass (the poller reads the projects
//! one after another, so once a pass takes longer than the interval the
//! passes run back to back and the latency follows the pass time), and
//! `per_product_type`, one change-feed request per pass for all projects
//! plus a full read of each test every `--full-scan-secs`. The load average
//! (/proc/loadavg) is printed beside each row: the machine is shared.

#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use clap::Parser;
use serde_json::{json, Value};
use wstg_bench::{ProfileChoice, System};
use wstg_domain::{Catalogue, CatalogueVersion};

#[derive(Parser)]
struct Args {
    /// Project counts to measure, one fresh system each.
    #[arg(long, value_delimiter = ',', default_value = "1,10,100")]
    projects: Vec<usize>,
    /// dojo-sim latency profiles (`zero`, `real` or a profile file).
    #[arg(long, value_delimiter = ',', default_value = "zero,real")]
    latency_profiles: Vec<ProfileChoice>,
    /// Items synced per project (one DefectDojo finding each); more if
    /// `--changes` needs them, as every change closes a finding of its own.
    #[arg(long, default_value_t = 3)]
    items_per_project: usize,
    /// The poller's interval (`WSTG_POLLER_INTERVAL_SECS`).
    #[arg(long, default_value_t = 2)]
    interval_secs: u64,
    /// Length of the idle window, in poll intervals.
    #[arg(long, default_value_t = 3)]
    idle_intervals: u64,
    /// Findings closed in DefectDojo, one at a time, for the latency.
    #[arg(long, default_value_t = 5)]
    changes: usize,
    /// Poller feed modes to measure (`WSTG_POLLER_FEED`).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "per_test,per_product_type"
    )]
    feeds: Vec<String>,
    /// With `per_product_type`: `WSTG_POLLER_FULL_SCAN_SECS`.
    #[arg(long, default_value_t = 300)]
    full_scan_secs: u64,
}

/// The 1-minute load average.
fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".to_owned())
}

const ADMIN_TOKEN: &str = "bench-admin-token-0123456789";

fn project_name(i: usize) -> String {
    format!("bench-{i:03}")
}

async fn stats(sys: &System) -> Value {
    test_support::sim_stats::fetch(&sys.http, &sys.sim.base_url).await
}

fn count(stats: &Value, route: &str) -> u64 {
    stats["by_route"][route].as_u64().unwrap_or(0)
}

/// Waits until every finding exists and the queue is empty.
async fn wait_synced(sys: &System, findings: u64, limit: Duration) {
    let deadline = Instant::now() + limit;
    loop {
        if count(&stats(sys).await, "POST /api/v2/findings/") >= findings
            && test_support::redis_env::queue_idle(&sys.prefix).await
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "set-up did not finish in {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The tracker's view of one item of one project (read from the store).
async fn item_status(sys: &System, project: &str, wstg_id: &str) -> Value {
    sys.item_of(Some(project), wstg_id).await["status"].clone()
}

struct Row {
    feed: String,
    load: String,
    profile: String,
    projects: usize,
    setup_secs: f64,
    requests_per_interval: f64,
    lists_per_interval: f64,
    lists_per_project_per_interval: f64,
    pass_secs: f64,
    latency_ms: Vec<f64>,
}

async fn measure(args: &Args, feed: &str, profile: &ProfileChoice, n: usize) -> Row {
    let interval = args.interval_secs.to_string();
    let full_scan = args.full_scan_secs.to_string();
    let per_test = feed == "per_test";
    let sys = wstg_bench::start_profiled(
        2,
        Duration::ZERO,
        profile.clone(),
        1,
        &[
            ("WSTG_POLLER_INTERVAL_SECS", &interval),
            ("WSTG_INGEST_ADMIN_TOKEN", ADMIN_TOKEN),
            ("WSTG_POLLER_FEED", feed),
            ("WSTG_POLLER_FULL_SCAN_SECS", &full_scan),
        ],
    )
    .await;
    let ids: Vec<String> = Catalogue::get(CatalogueVersion::V4_2)
        .entries()
        .iter()
        // Every change closes a finding of its own: enough items for them.
        .take(args.items_per_project.max(args.changes.div_ceil(n)))
        .map(|e| e.id.clone())
        .collect();
    let admin = wstg_bench::client_with_token(ADMIN_TOKEN);
    let setup = Instant::now();
    for p in 0..n {
        let r = admin
            .post(format!("{}/api/wstg/admin/projects", sys.ingest_url))
            .json(&json!({ "name": project_name(p) }))
            .send()
            .await
            .unwrap();
        assert!(
            r.status().is_success(),
            "creating project {p}: {}",
            r.status()
        );
        for id in &ids {
            sys.post_ok(
                &json!({"project": project_name(p), "wstg_id": id, "status": "in_progress"}),
            )
            .await;
        }
    }
    wait_synced(&sys, (n * ids.len()) as u64, Duration::from_secs(600)).await;
    let setup_secs = setup.elapsed().as_secs_f64();
    // Let the poller see every project at least once (its first pass over a
    // new project), so the window measures the steady state. The feed read
    // each new project in full in the pass after its links appeared, during
    // the set-up; three more lists are three more passes.
    let lists_before = test_support::sim_stats::list_requests(&stats(&sys).await);
    let deadline = Instant::now() + Duration::from_secs(300);
    let cover = if per_test { n as u64 } else { 3 };
    while test_support::sim_stats::list_requests(&stats(&sys).await) < lists_before + cover {
        assert!(
            Instant::now() < deadline,
            "the poller never covered every project"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    if !per_test {
        // The feed reads findings changed in the 5 s before the newest
        // change again until that change has stood 10 s (the poller's
        // FEED_SETTLE): the set-up's last changes must be behind it.
        let settled = setup + Duration::from_secs_f64(setup_secs) + Duration::from_secs(12);
        tokio::time::sleep_until(settled.into()).await;
    }

    // 1. Idle cost over a fixed window.
    let window = Duration::from_secs(args.interval_secs * args.idle_intervals);
    let s0 = stats(&sys).await;
    let t0 = Instant::now();
    tokio::time::sleep(window).await;
    let s1 = stats(&sys).await;
    let elapsed = t0.elapsed().as_secs_f64();
    let intervals = elapsed / args.interval_secs as f64;
    let requests = s1["requests"].as_u64().unwrap() - s0["requests"].as_u64().unwrap();
    let lists =
        test_support::sim_stats::list_requests(&s1) - test_support::sim_stats::list_requests(&s0);
    let writes = s1["writes"].as_u64().unwrap() - s0["writes"].as_u64().unwrap();
    assert_eq!(writes, 0, "DefectDojo writes while idle");
    // Passes in the window: every pass lists each project once (per test;
    // the feed's passes cannot be told from its full reads here).
    let passes = if per_test {
        lists as f64 / n as f64
    } else {
        0.0
    };
    let load_at = load();

    // 2. DefectDojo → store latency, poll only.
    let mut latency_ms = Vec::new();
    for k in 0..args.changes {
        // Spread the changes over the projects and over the pass's phase.
        let j = k * (n * ids.len()) / args.changes;
        let (p, wstg_id) = (project_name(j / ids.len()), &ids[j % ids.len()]);
        let phase = (k as f64 * 0.37).fract() * args.interval_secs as f64;
        tokio::time::sleep(Duration::from_secs_f64(0.3 + phase)).await;
        let fid = dojo_finding_id(&sys, &p, wstg_id).await;
        let t = Instant::now();
        sys.dojo_patch(fid, &json!({"is_mitigated": true, "active": false}))
            .await;
        loop {
            if item_status(&sys, &p, wstg_id).await == "done" {
                break;
            }
            assert!(
                t.elapsed() < Duration::from_secs(args.interval_secs * 3 + 120),
                "{p} {wstg_id} never arrived"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let us = t.elapsed().as_micros() as u64;
        latency_ms.push(us as f64 / 1000.0);
    }
    sys.stop().await;
    Row {
        feed: feed.to_owned(),
        load: format!("{load_at} / {}", load()),
        profile: profile.to_string(),
        projects: n,
        setup_secs,
        requests_per_interval: requests as f64 / intervals,
        lists_per_interval: lists as f64 / intervals,
        lists_per_project_per_interval: lists as f64 / intervals / n as f64,
        pass_secs: if passes > 0.0 {
            elapsed / passes
        } else {
            f64::NAN
        },
        latency_ms,
    }
}

/// The finding the store links to `project`'s item (the tracker API shows
/// its id), so the change lands on that project's own finding.
async fn dojo_finding_id(sys: &System, project: &str, wstg_id: &str) -> i64 {
    let v = sys.item_of(Some(project), wstg_id).await;
    v["finding_id"]
        .as_i64()
        .unwrap_or_else(|| panic!("{project} {wstg_id} has no finding id: {v}"))
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    println!(
        "scenario: 1 poller every {} s, {} items per project, idle window {} intervals, {} findings closed in DefectDojo (no webhook hint), full reads every {} s with the feed",
        args.interval_secs, args.items_per_project, args.idle_intervals, args.changes, args.full_scan_secs
    );
    let mut rows = Vec::new();
    for profile in &args.latency_profiles {
        for &n in &args.projects {
            for feed in &args.feeds {
                let row = measure(&args, feed, profile, n).await;
                println!(
                "{} (load {}), profile {}, {} projects: set-up {:.1} s; {:.1} DefectDojo requests per interval ({:.1} finding lists, {:.2} per project); passes every {:.2} s; DefectDojo → store {:?} ms",
                row.feed,
                row.load,
                row.profile,
                row.projects,
                row.setup_secs,
                row.requests_per_interval,
                row.lists_per_interval,
                row.lists_per_project_per_interval,
                row.pass_secs,
                row.latency_ms.iter().map(|l| l.round()).collect::<Vec<_>>()
            );
                rows.push(row);
            }
        }
    }
    println!();
    println!(
        "| feed | profile | projects | DefectDojo requests / interval ({} s) | finding lists / interval | per project | time between passes | DefectDojo → store, median | min | max | load (1 min) at window / end |",
        args.interval_secs
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for r in &rows {
        let min = r.latency_ms.iter().copied().fold(f64::INFINITY, f64::min);
        let max = r.latency_ms.iter().copied().fold(0.0, f64::max);
        println!(
            "| {} | {} | {} | {:.1} | {:.1} | {:.2} | {} | {:.0} ms | {:.0} ms | {:.0} ms | {} |",
            r.feed,
            r.profile,
            r.projects,
            r.requests_per_interval,
            r.lists_per_interval,
            r.lists_per_project_per_interval,
            if r.pass_secs.is_finite() {
                format!("{:.2} s", r.pass_secs)
            } else {
                "—".to_owned()
            },
            median(&r.latency_ms),
            min,
            max,
            r.load
        );
    }
}
