//! Issue 12 item 4: an item's discussion ↔ its finding's DefectDojo notes,
//! through the real ingest, worker and poller against dojo-sim.

mod common;

use std::time::Duration;

use common::{System, DOJO_TOKEN};
use serde_json::{json, Value};
use test_support::eventually_async;

const WAIT: Duration = Duration::from_secs(20);

async fn comments(sys: &System, wstg_id: &str) -> Vec<Value> {
    let body: Value = sys
        .http
        .get(format!(
            "{}/api/wstg/items/{wstg_id}/comments",
            sys.ingest_url
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["comments"].as_array().cloned().unwrap()
}

async fn post_comment(sys: &System, wstg_id: &str, body: &Value) -> reqwest::Response {
    sys.http
        .post(format!(
            "{}/api/wstg/items/{wstg_id}/comments",
            sys.ingest_url
        ))
        .json(body)
        .send()
        .await
        .unwrap()
}

async fn notes(sys: &System, finding: i64) -> Vec<Value> {
    let body: Value = sys
        .http
        .get(format!(
            "{}/api/v2/findings/{finding}/notes/",
            sys.sim.base_url
        ))
        .header("Authorization", format!("Token {DOJO_TOKEN}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["notes"].as_array().cloned().unwrap()
}

/// Waits for `n` more poller passes (each writes a new heartbeat).
async fn poller_passes(sys: &System, n: usize) {
    let key = test_support::redis_env::key(&sys.prefix, "poller:heartbeat");
    let mut seen = test_support::redis_env::get(&key).await;
    for i in 0..n {
        let prev = seen.clone();
        seen = Some(
            eventually_async(WAIT, &format!("poller pass {}", i + 1), || {
                let (prev, key) = (prev.clone(), key.clone());
                async move {
                    let now = test_support::redis_env::get(&key).await?;
                    (Some(&now) != prev.as_ref()).then_some(now)
                }
            })
            .await,
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn comments_round_trip_both_ways_once_and_never_echo() {
    let sys = System::start_full(
        test_support::fresh_sqlite(),
        1,
        1,
        &[
            ("WSTG_POLLER_INTERVAL_SECS", "1"),
            // Notes and tag edits move no status time: only the full reads
            // see them (docs/sync-rules.md, polling).
            ("WSTG_POLLER_FULL_SCAN_SECS", "1"),
        ],
    )
    .await;
    let id = "WSTG-INFO-01";

    // A comment before the item has a finding waits for it.
    let r = post_comment(
        &sys,
        id,
        &json!({"author": "Alice", "body": " robots.txt read\r\n"}),
    )
    .await;
    assert_eq!(r.status(), 201);
    let stored: Value = r.json().await.unwrap();
    assert_eq!(stored["author"], "alice");
    assert_eq!(stored["body"], "robots.txt read");
    assert_eq!(stored["origin"], "tracker");
    assert_eq!(stored["synced"], false);

    sys.post_ok(&json!({"wstg_id": id, "status": "in_progress"}))
        .await;
    let finding = eventually_async(WAIT, "the item linked", || async {
        sys.item(id).await["finding_id"].as_i64()
    })
    .await;

    // Tracker → DefectDojo: exactly one note, the tracker author named.
    let linked = eventually_async(WAIT, "the comment posted and found", || async {
        let c = comments(&sys, id).await;
        (c.len() == 1 && c[0]["synced"] == true).then(|| c[0]["dojo_note_id"].as_i64().unwrap())
    })
    .await;
    let n = notes(&sys, finding).await;
    assert_eq!(n.len(), 1, "{n:?}");
    assert_eq!(n[0]["id"], linked);
    assert_eq!(n[0]["entry"], "robots.txt read\n\n— alice (WSTG tracker)");

    // DefectDojo → tracker: a lead's note comes back with author and date.
    let r = sys
        .http
        .post(format!(
            "{}/api/v2/findings/{finding}/notes/",
            sys.sim.base_url
        ))
        .header("Authorization", format!("Token {DOJO_TOKEN}"))
        .json(&json!({"entry": "Lead: confirmed, see ticket 12", "private": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let back = eventually_async(WAIT, "the note back as a comment", || async {
        let c = comments(&sys, id).await;
        (c.len() == 2).then(|| c[1].clone())
    })
    .await;
    assert_eq!(back["origin"], "dojo");
    assert_eq!(back["author"], "admin");
    assert_eq!(back["body"], "Lead: confirmed, see ticket 12");
    assert!(back["dojo_note_id"].as_i64().unwrap() > linked);

    // A second tracker comment, then several passes: one more note, and
    // nothing echoed either way.
    let r = post_comment(&sys, id, &json!({"author": "bob", "body": "second"})).await;
    assert_eq!(r.status(), 201);
    eventually_async(WAIT, "the second comment posted", || async {
        let c = comments(&sys, id).await;
        (c.len() == 3 && c.iter().all(|c| c["synced"] == true)).then_some(())
    })
    .await;
    sys.settle().await;
    poller_passes(&sys, 3).await;
    sys.settle().await;
    assert_eq!(
        notes(&sys, finding).await.len(),
        3,
        "one note per tracker comment, no echo"
    );
    // What reading notes costs when nothing changed: nothing. Three idle
    // passes make only the passes' own list requests: the change feed, and
    // (full reads every second here) the test's list and the vulnerability
    // list, three per pass; a notes read would add one per item.
    let (before, _) = sys.sim_counts().await;
    poller_passes(&sys, 3).await;
    let (after, _) = sys.sim_counts().await;
    eprintln!(
        "idle: {} DefectDojo requests in 3 poll passes",
        after - before
    );
    assert!(
        after - before <= 3 * 3 + 1,
        "{} requests in 3 idle passes",
        after - before
    );
    let c = comments(&sys, id).await;
    assert_eq!(c.len(), 3, "no note brought back twice: {c:?}");
    assert_eq!(
        c.iter()
            .map(|c| c["origin"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["tracker", "dojo", "tracker"]
    );
    sys.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_comment_is_refused_naming_the_field() {
    let sys = System::start(test_support::fresh_sqlite(), 0).await;
    for (body, field) in [
        (json!({"author": "a b", "body": "x"}), "author"),
        (json!({"body": "x"}), "author"),
        (json!({"author": "alice", "body": "  "}), "body"),
        (
            json!({"author": "alice", "body": "x".repeat(4_001)}),
            "body",
        ),
        (json!({"author": "alice", "body": 7}), "body"),
    ] {
        let r = post_comment(&sys, "WSTG-INFO-01", &body).await;
        assert_eq!(r.status(), 400, "{body}");
        let err: Value = r.json().await.unwrap();
        assert_eq!(err["field"], field, "{body}");
    }
    let r = post_comment(&sys, "WSTG-NOPE-01", &json!({"author": "a", "body": "x"})).await;
    assert!(r.status().is_client_error());
    // Without a token: refused.
    let r = reqwest::Client::new()
        .post(format!(
            "{}/api/wstg/items/WSTG-INFO-01/comments",
            sys.ingest_url
        ))
        .json(&json!({"author": "a", "body": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(comments(&sys, "WSTG-INFO-01").await.is_empty());
    sys.stop().await;
}

async fn items_assigned(sys: &System, who: &str) -> Vec<String> {
    let body: Value = sys
        .http
        .get(format!("{}/api/wstg/items", sys.ingest_url))
        .query(&[("assignee", who)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["wstg_id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_assignment_round_trips_both_ways_without_echo() {
    let sys = System::start_full(
        test_support::fresh_sqlite(),
        1,
        1,
        &[
            ("WSTG_POLLER_INTERVAL_SECS", "1"),
            // Notes and tag edits move no status time: only the full reads
            // see them (docs/sync-rules.md, polling).
            ("WSTG_POLLER_FULL_SCAN_SECS", "1"),
        ],
    )
    .await;
    let (a, b) = ("WSTG-INFO-01", "WSTG-INFO-02");
    sys.post_ok(&json!({"wstg_id": a, "status": "in_progress", "assignee": "Alice"}))
        .await;
    sys.post_ok(&json!({"wstg_id": b, "status": "blocked"}))
        .await;

    // Tracker → DefectDojo: the finding carries the assignee tag.
    let finding = eventually_async(WAIT, "A synced with its assignee", || async {
        let item = sys.item(a).await;
        (item["sync_state"] == "synced" && item["assignee"] == "alice")
            .then(|| item["finding_id"].as_i64())
            .flatten()
    })
    .await;
    let tags = |f: Value| common::tags_of(&f);
    let f = common::dojo_finding(&sys.http, &sys.sim.base_url, a)
        .await
        .unwrap();
    assert!(
        tags(f.clone()).contains(&"wstg-assignee:alice".to_owned()),
        "{f}"
    );
    assert_eq!(items_assigned(&sys, "alice").await, vec![a]);
    assert_eq!(
        items_assigned(&sys, "-").await.len(),
        sys.items().await.len() - 1
    );

    // DefectDojo → tracker: a lead retags the finding to carol.
    let mut new_tags: Vec<String> = tags(f)
        .into_iter()
        .filter(|t| !t.starts_with("wstg-assignee:"))
        .collect();
    new_tags.push("wstg-assignee:carol".into());
    sys.dojo_patch(finding, &json!({"tags": new_tags})).await;
    eventually_async(WAIT, "carol in the tracker", || async {
        (sys.item(a).await["assignee"] == "carol").then_some(())
    })
    .await;
    assert_eq!(items_assigned(&sys, "carol").await, vec![a]);

    // Absent keeps it; null clears it (in DefectDojo too).
    sys.post_ok(&json!({"wstg_id": a, "status": "done"})).await;
    eventually_async(WAIT, "done, still carol", || async {
        let item = sys.item(a).await;
        (item["status"] == "done" && item["sync_state"] == "synced").then_some(item)
    })
    .await;
    assert_eq!(sys.item(a).await["assignee"], "carol");
    sys.post_ok(&json!({"wstg_id": a, "status": "done", "assignee": null}))
        .await;
    eventually_async(WAIT, "the tag removed in DefectDojo", || async {
        let f = common::dojo_finding(&sys.http, &sys.sim.base_url, a).await?;
        (!tags(f).iter().any(|t| t.starts_with("wstg-assignee:"))).then_some(())
    })
    .await;

    // No echo: several passes later, no more writes and no change.
    sys.settle().await;
    poller_passes(&sys, 2).await;
    sys.settle().await;
    let writes = common::dojo_writes(&sys.http, &sys.sim.base_url).await;
    poller_passes(&sys, 3).await;
    sys.settle().await;
    assert_eq!(
        common::dojo_writes(&sys.http, &sys.sim.base_url).await,
        writes,
        "no write after the sync settled"
    );
    assert!(sys.item(a).await["assignee"].is_null());
    let dash = sys.get_json("/api/wstg/dashboard").await;
    assert_eq!(dash["statistics"]["by_assignee"], json!({"-": 2}));
    let r = sys
        .post_sync(&json!({"wstg_id": b, "status": "blocked", "assignee": "a b"}))
        .await;
    assert_eq!(r.status(), 400);
    let err: Value = r.json().await.unwrap();
    assert_eq!(err["field"], "assignee");
    sys.stop().await;
}

/// A lead's reassignment read half-applied (docs/defectdojo.md §9, torn
/// reads; seen on the real DefectDojo 3.2.0): DefectDojo saves the finding,
/// then links its new tags, and a poll in between sees no tags. The window
/// is held open here for longer than a full-scan interval, so a poll reads
/// it. The bridge writes nothing over the lead's change, never shows the
/// tester's status as another, and pulls the new assignee once it is there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reassignment_read_half_applied_is_neither_pulled_nor_written_over() {
    let sys = System::start_full(
        test_support::fresh_sqlite(),
        1,
        1,
        &[
            ("WSTG_POLLER_INTERVAL_SECS", "1"),
            ("WSTG_POLLER_FULL_SCAN_SECS", "1"),
        ],
    )
    .await;
    let a = "WSTG-INFO-01";
    sys.post_ok(&json!({"wstg_id": a, "status": "blocked", "assignee": "alice"}))
        .await;
    let finding = eventually_async(WAIT, "synced with its assignee", || async {
        let item = sys.item(a).await;
        (item["sync_state"] == "synced" && item["assignee"] == "alice")
            .then(|| item["finding_id"].as_i64())
            .flatten()
    })
    .await;
    sys.settle().await;
    let f = common::dojo_finding(&sys.http, &sys.sim.base_url, a)
        .await
        .unwrap();
    let mut new_tags: Vec<String> = common::tags_of(&f)
        .into_iter()
        .filter(|t| !t.starts_with("wstg-assignee:"))
        .collect();
    new_tags.push("wstg-assignee:carol".into());
    let r = sys
        .http
        .put(format!("{}/__sim/tag-step", sys.sim.base_url))
        .json(&json!({"ms": 2500}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let polls = test_support::sim_stats::list_requests(
        &common::dojo_stats(&sys.http, &sys.sim.base_url).await,
    );
    let writes = common::dojo_writes(&sys.http, &sys.sim.base_url).await;
    let lead = {
        let sys_http = sys.http.clone();
        let url = format!("{}/api/v2/findings/{finding}/", sys.sim.base_url);
        tokio::spawn(async move {
            sys_http
                .patch(url)
                .header("Authorization", format!("Token {}", common::DOJO_TOKEN))
                .json(&json!({"tags": new_tags}))
                .send()
                .await
                .unwrap()
                .status()
        })
    };
    // While the lead's tags are not linked yet, polls read the finding
    // without tags: the tracker keeps the tester's state.
    eventually_async(WAIT, "two polls inside the window", || async {
        let s = common::dojo_stats(&sys.http, &sys.sim.base_url).await;
        (test_support::sim_stats::list_requests(&s) >= polls + 2).then_some(())
    })
    .await;
    let item = sys.item(a).await;
    assert_eq!(item["status"], "blocked", "{item}");
    assert_eq!(item["assignee"], "alice", "{item}");
    assert!(lead.await.unwrap().is_success());
    eventually_async(WAIT, "carol in the tracker", || async {
        (sys.item(a).await["assignee"] == "carol").then_some(())
    })
    .await;
    sys.settle().await;
    assert_eq!(sys.item(a).await["status"], "blocked");
    assert_eq!(
        common::dojo_writes(&sys.http, &sys.sim.base_url).await,
        writes + 1,
        "the lead's PATCH and nothing of ours"
    );
    let f = common::dojo_finding(&sys.http, &sys.sim.base_url, a)
        .await
        .unwrap();
    assert!(
        common::tags_of(&f).contains(&"wstg-assignee:carol".to_owned()),
        "{f}"
    );
    sys.stop().await;
}
