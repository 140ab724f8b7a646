//! Two poller processes: each project is polled by one at a time, and
//! polling goes on when that one is killed.

mod common;

use std::time::{Duration, Instant};

use common::{dojo_finding, service_env, DOJO_TOKEN};
use serde_json::{json, Value};
use test_support::eventually_async;
use test_support::process::{free_port, Proc};

async fn lease_holder(prefix: &str, project: &str) -> Option<String> {
    test_support::redis_env::get(&test_support::redis_env::key(
        prefix,
        &format!("poller:lease:{project}"),
    ))
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_poller_per_project_and_a_standby_takes_over_when_it_dies() {
    test_support::init_test_logging();
    let db = test_support::fresh_sqlite();
    wstg_harness::migrate(&db).await;
    let sim = dojo_sim::spawn(dojo_sim::SimConfig::new(DOJO_TOKEN))
        .await
        .unwrap();
    let prefix = test_support::unique_prefix();
    let port = free_port();
    let mut env = service_env(
        &prefix,
        &db.url,
        &sim.base_url,
        &format!("127.0.0.1:{port}"),
    );
    env.push(("WSTG_POLLER_INTERVAL_SECS".into(), "1".into()));
    let http = common::authed_client();
    let ingest_url = format!("http://127.0.0.1:{port}");

    let mut ingest = Proc::start("wstg-ingest", &[], &env).unwrap();
    ingest
        .wait_for_line("listening on", Duration::from_secs(30))
        .await
        .unwrap();
    let mut worker = Proc::start("wstg-worker", &[], &env).unwrap();
    worker
        .wait_for_line("wstg-worker started", Duration::from_secs(30))
        .await
        .unwrap();
    // The tracker's first change creates the project's DefectDojo test.
    let r = http
        .post(format!("{ingest_url}/api/wstg/sync"))
        .json(&json!({"wstg_id": "WSTG-INFO-01", "status": "in_progress"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let finding = eventually_async(Duration::from_secs(20), "finding created", || async {
        dojo_finding(&http, &sim.base_url, "WSTG-INFO-01").await
    })
    .await;

    let mut pollers = Vec::new();
    let mut names = Vec::new();
    for _ in 0..2 {
        let mut p = Proc::start("wstg-poller", &[], &env).unwrap();
        let line = p
            .wait_for_line("wstg-poller started", Duration::from_secs(30))
            .await
            .unwrap();
        let name = line
            .rsplit('(')
            .next()
            .unwrap()
            .trim_end_matches(')')
            .to_owned();
        names.push(name);
        pollers.push(p);
    }
    let holder = eventually_async(
        Duration::from_secs(10),
        "a poller holds the project",
        || async { lease_holder(&prefix, "default").await },
    )
    .await;
    let holder_ix = names
        .iter()
        .position(|n| *n == holder)
        .expect("the holder is one of ours");

    // One at a time: over ~4 s at a 1 s interval, about 4 passes, not 8.
    let list_polls = test_support::sim_stats::list_requests;
    let stats = |http: reqwest::Client, url: String| async move {
        test_support::sim_stats::fetch(&http, &url).await
    };
    let before = list_polls(&stats(http.clone(), sim.base_url.clone()).await);
    let t = Instant::now();
    tokio::time::sleep(Duration::from_secs(4)).await;
    let passes = list_polls(&stats(http.clone(), sim.base_url.clone()).await) - before;
    let seconds = t.elapsed().as_secs_f64();
    assert!(
        passes as f64 <= seconds + 1.0,
        "{passes} passes in {seconds:.1} s: two pollers polled the same project"
    );
    assert!(passes >= 2, "the project is being polled ({passes} passes)");

    // Kill the holder; the standby takes over and a DefectDojo change still arrives.
    pollers[holder_ix].signal("KILL").unwrap();
    let id = finding["id"].as_i64().unwrap();
    let r = http
        .patch(format!("{}/api/v2/findings/{id}/", sim.base_url))
        .header("Authorization", format!("Token {DOJO_TOKEN}"))
        .json(&json!({"is_mitigated": true, "active": false}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    eventually_async(
        Duration::from_secs(20),
        "standby holds the lease",
        || async {
            let h = lease_holder(&prefix, "default").await?;
            (h == names[1 - holder_ix]).then_some(())
        },
    )
    .await;
    eventually_async(
        Duration::from_secs(20),
        "the change reached the tracker",
        || async {
            let items: Value = http
                .get(format!("{ingest_url}/api/wstg/items"))
                .send()
                .await
                .ok()?
                .json()
                .await
                .ok()?;
            items["items"]
                .as_array()?
                .iter()
                .find(|i| i["wstg_id"] == "WSTG-INFO-01" && i["status"] == "done")
                .map(|_| ())
        },
    )
    .await;

    pollers[1 - holder_ix].signal("TERM").unwrap();
    let status = pollers[1 - holder_ix]
        .wait(Duration::from_secs(10))
        .await
        .unwrap();
    assert!(status.success());
    worker.signal("TERM").unwrap();
    ingest.signal("TERM").unwrap();
    sim.stop().await;
}
