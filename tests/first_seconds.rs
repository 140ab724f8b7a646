//! A fresh bridge tells the truth before the first change: the dashboard
//! counts every running worker and knows whether DefectDojo answers, because
//! workers join the consumer group when they start and the poller reads
//! DefectDojo while no project exists yet.

mod common;

use std::time::Duration;

use common::System;
use serde_json::Value;

async fn dashboard(sys: &System) -> Value {
    sys.http
        .get(format!("{}/api/wstg/dashboard", sys.ingest_url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_fresh_bridge_shows_its_workers_and_dojo_before_any_change() {
    let sys = System::start_full(test_support::fresh_sqlite(), 2, 1, &[]).await;
    let board = test_support::eventually_async(
        Duration::from_secs(10),
        "dashboard: 2 consumers and DefectDojo reachable",
        || async {
            let d = dashboard(&sys).await;
            (d["status"]["queue"]["consumers"] == 2 && d["dojo"]["reachable"] == true).then_some(d)
        },
    )
    .await;
    assert_eq!(board["dojo"]["basis"], "poller_heartbeat", "{board}");
    assert_eq!(board["statistics"]["recent_syncs"], serde_json::json!([]));
    sys.stop().await;
}

#[tokio::test]
async fn a_wrong_dojo_token_shows_as_unreachable_before_any_change() {
    let sys = System::start_full(
        test_support::fresh_sqlite(),
        0,
        1,
        &[("WSTG_DOJO_TOKEN", "not-the-emulators-token")],
    )
    .await;
    let board = test_support::eventually_async(
        Duration::from_secs(10),
        "dashboard: DefectDojo unreachable",
        || async {
            let d = dashboard(&sys).await;
            (d["dojo"]["reachable"] == false).then_some(d)
        },
    )
    .await;
    let detail = board["dojo"]["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("DefectDojo did not accept the API token"),
        "{}",
        board["dojo"]
    );
    assert!(!board.to_string().contains("not-the-emulators-token"));
    sys.stop().await;
}
