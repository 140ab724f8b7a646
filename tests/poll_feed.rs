//! The poller's change feed (docs/sync-rules.md, polling; docs/defectdojo.md
//! §14): with `poller.feed = "per_product_type"`, a status change and a
//! text-only edit made in DefectDojo reach the store for projects under one
//! product type and under another, and an idle pass costs the same number of
//! DefectDojo requests whatever the number of projects.

mod common;

use std::time::Duration;

use common::{System, DOJO_TOKEN};
use serde_json::{json, Value};
use test_support::eventually_async;

const ADMIN: &str = "poll-feed-admin-token-0123456789";
const WAIT: Duration = Duration::from_secs(30);

async fn start(full_scan_secs: &str) -> System {
    System::start_full(
        test_support::fresh_sqlite(),
        1,
        1,
        &[
            ("WSTG_POLLER_INTERVAL_SECS", "1"),
            ("WSTG_POLLER_FEED", "per_product_type"),
            ("WSTG_POLLER_FULL_SCAN_SECS", full_scan_secs),
            ("WSTG_INGEST_ADMIN_TOKEN", ADMIN),
        ],
    )
    .await
}

/// A DefectDojo API call as a DefectDojo user makes it.
async fn dojo(sys: &System, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
    let mut req = sys
        .http
        .request(method, format!("{}/api/v2/{path}", sys.sim.base_url))
        .header("Authorization", format!("Token {DOJO_TOKEN}"));
    if let Some(body) = body {
        req = req.json(&body);
    }
    let resp = req.send().await.unwrap();
    assert!(resp.status().is_success(), "{path}: {}", resp.status());
    resp.json().await.unwrap()
}

/// Creates `project` and syncs `wstg_id` of it; returns its finding.
async fn project_with_item(sys: &System, project: &str, wstg_id: &str) -> i64 {
    let r = common::client_with_token(ADMIN)
        .post(format!("{}/api/wstg/admin/projects", sys.ingest_url))
        .json(&json!({ "name": project }))
        .send()
        .await
        .unwrap();
    assert!(
        r.status().is_success(),
        "creating {project}: {}",
        r.status()
    );
    sys.post_ok(
        &json!({"project": project, "wstg_id": wstg_id, "status": "in_progress", "notes": "first"}),
    )
    .await;
    eventually_async(WAIT, &format!("{project} {wstg_id} synced"), || async {
        let item = sys.item_of(Some(project), wstg_id).await;
        (item["sync_state"] == "synced" && item["finding_id"].is_i64())
            .then(|| item["finding_id"].as_i64().unwrap())
    })
    .await
}

async fn item_field(sys: &System, project: &str, wstg_id: &str, field: &str) -> Value {
    sys.item_of(Some(project), wstg_id).await[field].clone()
}

/// Projects `a-1`..`a-3` under the configured product type and `b-1`, whose
/// product already existed in DefectDojo under another product type (the
/// bridge links it where it is, and the feed must follow it), each with one
/// synced item; their findings.
async fn four_projects(sys: &System) -> Vec<(&'static str, i64)> {
    let other = dojo(
        sys,
        reqwest::Method::POST,
        "product_types/",
        Some(json!({"name": "Other PT"})),
    )
    .await;
    dojo(
        sys,
        reqwest::Method::POST,
        "products/",
        Some(json!({"name": "b-1", "description": "made before the bridge", "prod_type": other["id"]})),
    )
    .await;
    let mut findings = Vec::new();
    for p in ["a-1", "a-2", "a-3", "b-1"] {
        findings.push((p, project_with_item(sys, p, "WSTG-INFO-01").await));
    }
    let mut product_types = Vec::new();
    for (_, fid) in &findings {
        let f = dojo(
            sys,
            reqwest::Method::GET,
            &format!("findings/{fid}/?related_fields=true"),
            None,
        )
        .await;
        product_types
            .push(f["related_fields"]["test"]["engagement"]["product"]["prod_type"].clone());
    }
    assert_eq!(product_types[0], product_types[2]);
    assert_ne!(
        product_types[0], product_types[3],
        "two product types: {product_types:?}"
    );
    findings
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_changes_under_two_product_types_reach_the_store_through_the_feed() {
    // No full read of a test after the first in this test's time: only the
    // feed can bring the changes.
    let sys = start("3600").await;
    let findings = four_projects(&sys).await;
    for (p, fid) in [findings[1], findings[3]] {
        sys.dojo_patch(fid, &json!({"is_mitigated": true, "active": false}))
            .await;
        eventually_async(WAIT, &format!("{p} done in the store"), || async {
            (item_field(&sys, p, "WSTG-INFO-01", "status").await == "done").then_some(())
        })
        .await;
    }
    for p in ["a-1", "a-3"] {
        assert_eq!(
            item_field(&sys, p, "WSTG-INFO-01", "status").await,
            "in_progress",
            "{p} untouched"
        );
    }
    sys.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_only_edits_reach_the_store_through_the_full_reads() {
    let sys = start("3").await;
    let findings = four_projects(&sys).await;
    // A text-only edit leaves `last_status_update` where it was, so the feed
    // does not list it once the finding's last status change is more than
    // the feed's overlap (5 s) older than the newest one the feed read:
    // then only the full read of the test sees it. So: wait 11 s after the
    // last finding was made, then move the watermark with a status change.
    let last = findings[3].1;
    eventually_async(WAIT, "the findings' status changes 11 s old", || async {
        let f = dojo(
            &sys,
            reqwest::Method::GET,
            &format!("findings/{last}/"),
            None,
        )
        .await;
        let at = chrono::DateTime::parse_from_rfc3339(f["last_status_update"].as_str()?).ok()?;
        (chrono::Utc::now().signed_duration_since(at) > chrono::TimeDelta::seconds(11))
            .then_some(())
    })
    .await;
    sys.dojo_patch(
        findings[0].1,
        &json!({"is_mitigated": true, "active": false}),
    )
    .await;
    eventually_async(
        WAIT,
        "a-1 done in the store (the feed read past it)",
        || async {
            (item_field(&sys, "a-1", "WSTG-INFO-01", "status").await == "done").then_some(())
        },
    )
    .await;
    for (p, fid) in [findings[2], findings[3]] {
        sys.dojo_patch(
            fid,
            &json!({"mitigation": format!("{p}: edited in DefectDojo")}),
        )
        .await;
        eventually_async(WAIT, &format!("{p}'s text edit in the store"), || async {
            (item_field(&sys, p, "WSTG-INFO-01", "notes").await
                == format!("{p}: edited in DefectDojo"))
            .then_some(())
        })
        .await;
    }
    assert_eq!(
        item_field(&sys, "a-2", "WSTG-INFO-01", "notes").await,
        "first"
    );
    sys.stop().await;
}

/// DefectDojo requests in the first idle window of 3 poll intervals that
/// holds at most 4 (one request per pass): the poller's first full reads of
/// new projects cost one request each, once, and must be behind it. With one
/// list per project per pass (`per_test`) no window of 12 projects does.
async fn idle_window_requests(sys: &System) -> u64 {
    eventually_async(
        Duration::from_secs(40),
        "an idle window of at most 4 requests",
        || async {
            let before = common::dojo_stats(&sys.http, &sys.sim.base_url).await;
            tokio::time::sleep(Duration::from_secs(3)).await; // the measured window
            let after = common::dojo_stats(&sys.http, &sys.sim.base_url).await;
            assert_eq!(before["writes"], after["writes"], "no writes while idle");
            let n = after["requests"].as_u64().unwrap() - before["requests"].as_u64().unwrap();
            (n <= 4).then_some(n)
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_polling_costs_the_same_for_one_and_for_twelve_projects() {
    let sys = start("3600").await;
    project_with_item(&sys, "idle-00", "WSTG-INFO-01").await;
    let one = idle_window_requests(&sys).await;
    for i in 1..12 {
        project_with_item(&sys, &format!("idle-{i:02}"), "WSTG-INFO-01").await;
    }
    let twelve = idle_window_requests(&sys).await;
    // Three passes in a window of three intervals, one feed request each
    // (a fourth pass may start at the window's edge).
    assert!(
        one <= 4 && twelve <= one.max(3) + 1,
        "1 project: {one} requests, 12 projects: {twelve}"
    );
    sys.stop().await;
}
