//! Two-way sync: DefectDojo → tracker through the poller, echo suppression,
//! conflicts under each policy, deleted findings, webhook hints.

mod common;

use std::time::Duration;

use common::{dojo_finding, dojo_writes, flags_of, tags_of, System, DOJO_TOKEN};
use serde_json::{json, Value};
use test_support::eventually_async;
use wstg_domain::mapping::{flags_for, status_tag};
use wstg_domain::Status;

const POLL: &str = "1";
const WAIT: Duration = Duration::from_secs(20);

async fn two_way(extra: &[(&str, &str)]) -> System {
    let mut env = vec![
        ("WSTG_POLLER_INTERVAL_SECS", POLL),
        ("WSTG_INGEST_WEBHOOK_KEY", "hook-key-1"),
    ];
    env.extend_from_slice(extra);
    System::start_full(test_support::fresh_sqlite(), 1, 1, &env).await
}

/// Posts a tracker change and waits until the item is synced with a finding.
async fn tracker_sets(sys: &System, wstg_id: &str, status: Status) -> i64 {
    let resp = sys
        .post_sync(&json!({"wstg_id": wstg_id, "status": status.as_str(), "notes": format!("{wstg_id} notes")}))
        .await;
    assert_eq!(resp.status(), 202);
    eventually_async(WAIT, &format!("{wstg_id} synced as {status}"), || async {
        let item = sys.item(wstg_id).await;
        (item["status"] == json!(status.as_str())
            && item["sync_state"] == "synced"
            && item["finding_id"].is_i64())
        .then(|| item["finding_id"].as_i64().unwrap())
    })
    .await
}

async fn tracker_shows(sys: &System, wstg_id: &str, status: Status) -> Value {
    eventually_async(
        WAIT,
        &format!("tracker shows {wstg_id} as {status}"),
        || async {
            let item = sys.item(wstg_id).await;
            (item["status"] == json!(status.as_str())).then_some(item)
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_defectdojo_status_combination_reaches_the_tracker() {
    let sys = two_way(&[]).await;
    // Risk acceptance needs the product setting, as in DefectDojo.
    let first = tracker_sets(&sys, "WSTG-INFO-01", Status::InProgress).await;
    let finding: Value = sys
        .http
        .get(format!(
            "{}/api/v2/findings/{first}/?related_fields=true",
            sys.sim.base_url
        ))
        .header("Authorization", format!("Token {DOJO_TOKEN}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let product = finding["related_fields"]["test"]["engagement"]["product"]["id"]
        .as_i64()
        .expect("related_fields carries the product id");
    let r = sys
        .http
        .patch(format!("{}/api/v2/products/{product}/", sys.sim.base_url))
        .header("Authorization", format!("Token {DOJO_TOKEN}"))
        .json(&json!({"enable_simple_risk_acceptance": true}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());

    // What a lead does in DefectDojo (UI-only states included), and what the
    // tracker must show for it.
    let cases: [(&str, Value, Status); 8] = [
        (
            "WSTG-INFO-02",
            json!({"is_mitigated": true, "active": false}),
            Status::Done,
        ),
        ("WSTG-INFO-03", json!({"verified": true}), Status::Done),
        (
            "WSTG-INFO-04",
            json!({"risk_accepted": true, "active": false}),
            Status::Done,
        ),
        (
            "WSTG-INFO-05",
            json!({"false_p": true, "verified": false}),
            Status::NotApplicable,
        ),
        (
            "WSTG-INFO-06",
            json!({"out_of_scope": true}),
            Status::NotApplicable,
        ),
        (
            "WSTG-INFO-07",
            json!({"duplicate": true, "active": false, "verified": false}),
            Status::NotApplicable,
        ),
        ("WSTG-INFO-08", json!({"is_mitigated": true}), Status::Done),
        ("WSTG-INFO-09", json!({"active": false}), Status::Done),
    ];
    let mut ids = Vec::new();
    for (wstg_id, _, _) in &cases {
        ids.push(tracker_sets(&sys, wstg_id, Status::Blocked).await);
    }
    for ((_, patch, _), id) in cases.iter().zip(&ids) {
        sys.dojo_patch(*id, patch).await;
    }
    for (wstg_id, _, want) in &cases {
        tracker_shows(&sys, wstg_id, *want).await;
    }
    // After a pull the status tag says what the flags say (one write,
    // docs/sync-rules.md), so a closed finding carries no stale open tag...
    eventually_async(WAIT, "status tag aligned after the pull", || async {
        let f = dojo_finding(&sys.http, &sys.sim.base_url, "WSTG-INFO-02").await?;
        tags_of(&f)
            .contains(&status_tag(Status::Done))
            .then_some(())
    })
    .await;
    // ...and reopened in DefectDojo it reads as work resumed.
    sys.dojo_patch(ids[0], &json!({"active": true, "is_mitigated": false}))
        .await;
    tracker_shows(&sys, "WSTG-INFO-02", Status::InProgress).await;
    // Done in the tracker, then reopened in DefectDojo: work resumed.
    let done = tracker_sets(&sys, "WSTG-INFO-10", Status::Done).await;
    sys.dojo_patch(done, &json!({"active": true, "is_mitigated": false}))
        .await;
    tracker_shows(&sys, "WSTG-INFO-10", Status::InProgress).await;
    // Notes edited in DefectDojo come back too.
    sys.dojo_patch(ids[1], &json!({"mitigation": "lead: confirmed"}))
        .await;
    eventually_async(WAIT, "notes pulled", || async {
        (sys.item("WSTG-INFO-03").await["notes"] == "lead: confirmed").then_some(())
    })
    .await;
    let audit = sys.audit().await;
    assert!(audit.iter().any(|a| a.wstg_id.as_str() == "WSTG-INFO-05"
        && a.direction == wstg_store::Direction::DojoToTracker
        && a.new_status == Some(Status::NotApplicable)));
    sys.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_tracker_status_round_trips_unchanged_and_echoes_nothing() {
    let sys = two_way(&[]).await;
    let ids = [
        "WSTG-CONF-01",
        "WSTG-CONF-02",
        "WSTG-CONF-03",
        "WSTG-CONF-04",
        "WSTG-CONF-05",
    ];
    for (id, status) in ids.iter().zip(Status::ALL) {
        tracker_sets(&sys, id, status).await;
    }
    let writes = dojo_writes(&sys.http, &sys.sim.base_url).await;
    // One more change: exactly one DefectDojo write, no tracker-side change.
    tracker_sets(&sys, "WSTG-CONF-01", Status::Done).await;
    // Let several polls read the finding back.
    let polls_before = list_requests(&sys).await;
    eventually_async(WAIT, "three more polls", || async {
        (list_requests(&sys).await >= polls_before + 3).then_some(())
    })
    .await;
    assert_eq!(
        dojo_writes(&sys.http, &sys.sim.base_url).await,
        writes + 1,
        "{}",
        common::dojo_stats(&sys.http, &sys.sim.base_url).await
    );
    for (id, status) in ids.iter().zip(Status::ALL) {
        let want = if *id == "WSTG-CONF-01" {
            Status::Done
        } else {
            status
        };
        assert_eq!(
            sys.item(id).await["status"],
            json!(want.as_str()),
            "{id} round trip"
        );
    }
    assert!(
        !sys.audit()
            .await
            .iter()
            .any(|a| a.direction == wstg_store::Direction::DojoToTracker),
        "our own writes must not come back as DefectDojo changes"
    );

    // A DefectDojo change makes one DefectDojo write, the status tag put in
    // line with the flags, and never a second (no loop).
    let f = dojo_finding(&sys.http, &sys.sim.base_url, "WSTG-CONF-02")
        .await
        .unwrap();
    let writes = dojo_writes(&sys.http, &sys.sim.base_url).await;
    sys.dojo_patch(
        f["id"].as_i64().unwrap(),
        &json!({"is_mitigated": true, "active": false}),
    )
    .await;
    tracker_shows(&sys, "WSTG-CONF-02", Status::Done).await;
    let polls = list_requests(&sys).await;
    eventually_async(WAIT, "three more polls", || async {
        (list_requests(&sys).await >= polls + 3).then_some(())
    })
    .await;
    // The lead's PATCH and our one alignment.
    assert_eq!(dojo_writes(&sys.http, &sys.sim.base_url).await, writes + 2);
    sys.stop().await;
}

async fn list_requests(sys: &System) -> u64 {
    test_support::sim_stats::list_requests(&common::dojo_stats(&sys.http, &sys.sim.base_url).await)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unchanged_items_cost_one_request_per_poll_and_no_stream_writes() {
    let sys = two_way(&[]).await;
    for id in ["WSTG-ERRH-01", "WSTG-ERRH-02", "WSTG-CRYP-01"] {
        tracker_sets(&sys, id, Status::InProgress).await;
    }
    // The poller's first pass over a new project also asks which product
    // type its product is under (the change feed's grouping): not counted.
    let warm = list_requests(&sys).await;
    eventually_async(WAIT, "two passes over the project", || async {
        (list_requests(&sys).await >= warm + 2).then_some(())
    })
    .await;
    // Requests and passes are read from one snapshot each: a poll landing
    // between two separate reads was once counted on one side only.
    let before = common::dojo_stats(&sys.http, &sys.sim.base_url).await;
    let polls = test_support::sim_stats::list_requests(&before);
    let after = eventually_async(WAIT, "five more polls", || async {
        let s = common::dojo_stats(&sys.http, &sys.sim.base_url).await;
        (test_support::sim_stats::list_requests(&s) >= polls + 5).then_some(s)
    })
    .await;
    let passes = test_support::sim_stats::list_requests(&after) - polls;
    let requests = |s: &Value| s["requests"].as_u64().unwrap();
    assert_eq!(
        requests(&after) - requests(&before),
        passes,
        "one request per pass, nothing else; by route before {} and after {}",
        before["by_route"],
        after["by_route"]
    );
    // Nothing queued while nothing changed.
    assert_eq!(common::stream_len(&sys.prefix).await, 0);
    sys.stop().await;
}

/// Both sides change one item before the poller sees DefectDojo's change.
async fn conflict(policy: &str, tracker_older: bool) -> (System, Value) {
    // A long interval: the conflict is found when the tracker's change meets
    // DefectDojo's answer, not by a poll.
    let sys = System::start_full(
        test_support::fresh_sqlite(),
        1,
        1,
        &[
            ("WSTG_POLLER_INTERVAL_SECS", "3600"),
            ("WSTG_POLLER_CONFLICT_POLICY", policy),
        ],
    )
    .await;
    let id = tracker_sets(&sys, "WSTG-SESS-01", Status::InProgress).await;
    // Newer than the tracker's last change, older than the lead's.
    let before_lead = chrono::Utc::now();
    tokio::time::sleep(Duration::from_millis(20)).await;
    sys.dojo_patch(id, &json!({"is_mitigated": true, "active": false}))
        .await;
    let mut change =
        json!({"wstg_id": "WSTG-SESS-01", "status": "blocked", "notes": "WSTG-SESS-01 notes"});
    if tracker_older {
        change["timestamp"] = json!(before_lead.to_rfc3339());
    }
    assert_eq!(sys.post_sync(&change).await.status(), 202);
    let audit = eventually_async(WAIT, "conflict recorded", || async {
        sys.audit().await.into_iter().find(|a| a.conflict.is_some())
    })
    .await;
    assert_eq!(audit.conflict.as_deref(), Some(policy));
    let status = sys.get_json("/api/wstg/status").await;
    assert!(status["conflicts"].as_u64().unwrap() >= 1, "{status}");
    (sys, json!(audit.direction.as_str()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conflict_dojo_wins_keeps_defectdojo_state_on_both_sides() {
    let (sys, _) = conflict("dojo_wins", false).await;
    tracker_shows(&sys, "WSTG-SESS-01", Status::Done).await;
    let f = dojo_finding(&sys.http, &sys.sim.base_url, "WSTG-SESS-01")
        .await
        .unwrap();
    assert!(!f["active"].as_bool().unwrap());
    assert!(
        tags_of(&f).contains(&status_tag(Status::Done)),
        "the status tag follows DefectDojo's state"
    );
    sys.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conflict_tracker_wins_writes_the_tracker_state_over_defectdojo() {
    let (sys, _) = conflict("tracker_wins", false).await;
    let f = eventually_async(WAIT, "finding blocked", || async {
        let f = dojo_finding(&sys.http, &sys.sim.base_url, "WSTG-SESS-01").await?;
        (flags_of(&f) == flags_for(Status::Blocked)).then_some(f)
    })
    .await;
    assert!(tags_of(&f).contains(&status_tag(Status::Blocked)));
    assert_eq!(sys.item("WSTG-SESS-01").await["status"], "blocked");
    sys.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conflict_newest_wins_picks_the_later_change() {
    let (sys, _) = conflict("newest_wins", false).await;
    eventually_async(WAIT, "tracker's newer change wins", || async {
        let f = dojo_finding(&sys.http, &sys.sim.base_url, "WSTG-SESS-01").await?;
        (flags_of(&f) == flags_for(Status::Blocked)).then_some(())
    })
    .await;
    sys.stop().await;
    let (sys, _) = conflict("newest_wins", true).await;
    tracker_shows(&sys, "WSTG-SESS-01", Status::Done).await;
    sys.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finding_deleted_in_defectdojo_unlinks_and_is_made_again_on_the_next_change() {
    let sys = two_way(&[]).await;
    let id = tracker_sets(&sys, "WSTG-BUSL-01", Status::InProgress).await;
    let r = sys
        .http
        .delete(format!("{}/api/v2/findings/{id}/", sys.sim.base_url))
        .header("Authorization", format!("Token {DOJO_TOKEN}"))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    eventually_async(WAIT, "item unlinked", || async {
        sys.item("WSTG-BUSL-01").await["finding_id"]
            .is_null()
            .then_some(())
    })
    .await;
    assert_eq!(
        sys.item("WSTG-BUSL-01").await["status"],
        "in_progress",
        "the tracker keeps its state"
    );
    let again = tracker_sets(&sys, "WSTG-BUSL-01", Status::Done).await;
    assert_ne!(again, id, "a new finding");
    sys.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_hint_makes_the_poller_look_at_once() {
    // A long interval: only the webhook can explain a quick update.
    let sys = System::start_full(
        test_support::fresh_sqlite(),
        1,
        1,
        &[
            ("WSTG_POLLER_INTERVAL_SECS", "3600"),
            ("WSTG_INGEST_WEBHOOK_KEY", "hook-key-1"),
        ],
    )
    .await;
    let id = tracker_sets(&sys, "WSTG-CLNT-01", Status::InProgress).await;
    sys.dojo_patch(id, &json!({"is_mitigated": true, "active": false}))
        .await;
    let resp = sys
        .http
        .post(format!("{}/api/wstg/webhook", sys.ingest_url))
        .header("X-API-Key", "hook-key-1")
        .header("X-DefectDojo-Event", "finding_closed")
        .json(&json!({"description": "closed", "title": "Closing of WSTG-CLNT-01", "user": null, "url_ui": format!("{}/finding/{id}", sys.sim.base_url)}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202);
    let t = std::time::Instant::now();
    tracker_shows(&sys, "WSTG-CLNT-01", Status::Done).await;
    assert!(t.elapsed() < Duration::from_secs(10));
    sys.stop().await;
}

#[tokio::test]
async fn webhook_authentication_and_every_recorded_defectdojo_event() {
    let sys = System::start_with(
        test_support::fresh_sqlite(),
        0,
        &[
            ("WSTG_INGEST_WEBHOOK_KEY", "hook-key-1"),
            ("WSTG_INGEST_WEBHOOK_HEADER", "Authorization"),
        ],
    )
    .await;
    let url = format!("{}/api/wstg/webhook", sys.ingest_url);
    let body = json!({"event": "finding_updated", "finding": {"id": 1}});
    for (header, expect) in [
        (Some("Bearer hook-key-1"), 202),
        (Some("hook-key-1"), 202),
        (Some("Bearer hook-key-2"), 401),
        (Some("Bearer "), 401),
        (None, 401),
    ] {
        let mut req = sys.http.post(&url).json(&body);
        if let Some(h) = header {
            req = req.header("Authorization", h);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status().as_u16(), expect, "{header:?}");
        let text = resp.text().await.unwrap();
        assert!(
            !text.contains("hook-key"),
            "the key is never echoed: {text}"
        );
    }
    // Every payload the real DefectDojo sent, with its event header.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("crates/dojo-sim/tests/fixtures/recorded/webhooks/raw");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let rec: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let event = rec["headers"]["X-DefectDojo-Event"].as_str().unwrap();
        let resp = sys
            .http
            .post(&url)
            .header("Authorization", "Bearer hook-key-1")
            .header("X-DefectDojo-Event", event)
            .header("Content-Type", "application/json")
            .body(rec["body_raw"].as_str().unwrap().to_owned())
            .send()
            .await
            .unwrap();
        assert!(
            resp.status().is_success(),
            "{}: {}",
            path.display(),
            resp.status()
        );
        seen += 1;
    }
    assert!(seen >= 40, "recorded payloads replayed: {seen}");
    // Hints never touch the work stream or set a status.
    assert_eq!(common::stream_len(&sys.prefix).await, 0);
    sys.stop().await;

    // No configured key: every call is refused (no default-key bypass).
    let sys = System::start_with(test_support::fresh_sqlite(), 0, &[]).await;
    let resp = sys
        .http
        .post(format!("{}/api/wstg/webhook", sys.ingest_url))
        .header("X-API-Key", "change_me_in_production")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    sys.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_project_whose_defectdojo_test_was_deleted_is_bootstrapped_again() {
    let sys = two_way(&[]).await;
    tracker_sets(&sys, "WSTG-IDNT-01", Status::InProgress).await;
    // DefectDojo loses the project's hierarchy and findings.
    let r = sys
        .http
        .post(format!("{}/__sim/reset", sys.sim.base_url))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    // The next tracker change makes the hierarchy and the finding again
    // (after one retry), instead of failing on the stale test id forever.
    let r = sys
        .post_sync(
            &json!({"wstg_id": "WSTG-IDNT-01", "status": "done", "notes": "WSTG-IDNT-01 notes"}),
        )
        .await;
    assert_eq!(r.status(), 202);
    let f = eventually_async(WAIT, "finding made again", || async {
        let f = dojo_finding(&sys.http, &sys.sim.base_url, "WSTG-IDNT-01").await?;
        (flags_of(&f) == flags_for(Status::Done)).then_some(f)
    })
    .await;
    assert!(tags_of(&f).contains(&status_tag(Status::Done)));
    eventually_async(WAIT, "item synced", || async {
        (sys.item("WSTG-IDNT-01").await["sync_state"] == "synced").then_some(())
    })
    .await;
    sys.stop().await;
}
