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
        .get(format!("{}/api/wstg/items/{wstg_id}/comments", sys.ingest_url))
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
        .post(format!("{}/api/wstg/items/{wstg_id}/comments", sys.ingest_url))
        .json(body)
        .send()
        .await
        .unwrap()
}

async fn notes(sys: &System, finding: i64) -> Vec<Value> {
    let body: Value = sys
        .http
        .get(format!("{}/api/v2/findings/{finding}/notes/", sys.sim.base_url))
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
    let key = format!("{}:poller:heartbeat", sys.prefix);
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
        &[("WSTG_POLLER_INTERVAL_SECS", "1")],
    )
    .await;
    let id = "WSTG-INFO-01";

    // A comment before the item has a finding waits for it.
    let r = post_comment(&sys, id, &json!({"author": "Alice", "body": " robots.txt read\r\n"})).await;
    assert_eq!(r.status(), 201);
    let stored: Value = r.json().await.unwrap();
    assert_eq!(stored["author"], "alice");
    assert_eq!(stored["body"], "robots.txt read");
    assert_eq!(stored["origin"], "tracker");
    assert_eq!(stored["synced"], false);

    sys.post_ok(&json!({"wstg_id": id, "status": "in_progress"})).await;
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
        .post(format!("{}/api/v2/findings/{finding}/notes/", sys.sim.base_url))
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
    assert_eq!(notes(&sys, finding).await.len(), 3, "one note per tracker comment, no echo");
    let c = comments(&sys, id).await;
    assert_eq!(c.len(), 3, "no note brought back twice: {c:?}");
    assert_eq!(
        c.iter().map(|c| c["origin"].as_str().unwrap()).collect::<Vec<_>>(),
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
        (json!({"author": "alice", "body": "x".repeat(4_001)}), "body"),
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
        .post(format!("{}/api/wstg/items/WSTG-INFO-01/comments", sys.ingest_url))
        .json(&json!({"author": "a", "body": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(comments(&sys, "WSTG-INFO-01").await.is_empty());
    sys.stop().await;
}
