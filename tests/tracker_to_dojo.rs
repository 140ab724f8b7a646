//! Tracker → DefectDojo, end to end: a status posted to the ingest API ends
//! as the matching finding in the emulator, on both store backends.

mod common;

use common::{dojo_finding, dojo_findings, dojo_writes, flags_of, tags_of, System, WAIT};
use serde_json::json;
use test_support::{eventually_async, FreshDb};
use wstg_domain::mapping::{flags_for, status_tag};
use wstg_domain::Status;

async fn each_status_lands_as_the_mapped_finding(db: FreshDb) {
    let sys = System::start(db, 1).await;
    // One item walks through every status: created once, then updated.
    for (i, status) in Status::ALL.into_iter().enumerate() {
        let resp = sys
            .post_sync(&json!({
                "wstg_id": "WSTG-INFO-01",
                "status": status.label(),
                "notes": format!("step {i}"),
                "user": "alice",
            }))
            .await;
        assert_eq!(resp.status(), 202, "{status}");
        let body: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(body["success"], true);
        assert!(body["event_id"].is_string());

        let finding = eventually_async(WAIT, &format!("finding in state {status}"), || async {
            let f = dojo_finding(&sys.http, &sys.sim.base_url, "WSTG-INFO-01").await?;
            let tags = tags_of(&f);
            (flags_of(&f) == flags_for(status)
                && tags.contains(&status_tag(status))
                && f["mitigation"] == json!(format!("step {i}")))
            .then_some(f)
        })
        .await;
        let tags = tags_of(&finding);
        assert!(
            tags.contains(&"wstg".to_owned()) && tags.contains(&"wstg-info-01".to_owned()),
            "{tags:?}"
        );
        assert_eq!(
            tags.iter()
                .filter(|t| t.starts_with("wstg-status:"))
                .count(),
            1,
            "exactly one status tag: {tags:?}"
        );
    }
    assert_eq!(
        dojo_findings(&sys.http, &sys.sim.base_url).await.len(),
        1,
        "created once, then updated"
    );
    sys.stop().await;
}

#[tokio::test]
async fn each_status_lands_as_the_mapped_finding_on_sqlite() {
    each_status_lands_as_the_mapped_finding(test_support::fresh_sqlite()).await;
}

#[tokio::test]
async fn each_status_lands_as_the_mapped_finding_on_postgres() {
    each_status_lands_as_the_mapped_finding(test_support::fresh_postgres().await.unwrap()).await;
}

#[tokio::test]
async fn a_change_that_dojo_already_holds_makes_no_call() {
    let sys = System::start(test_support::fresh_sqlite(), 1).await;
    let post = |status: &'static str| {
        let sys = &sys;
        async move {
            sys.post_sync(&json!({"wstg_id": "WSTG-CONF-02", "status": status, "notes": "n"}))
                .await
        }
    };
    post("done").await;
    eventually_async(WAIT, "finding done", || async {
        let f = dojo_finding(&sys.http, &sys.sim.base_url, "WSTG-CONF-02").await?;
        (flags_of(&f) == flags_for(Status::Done)).then_some(())
    })
    .await;
    // Counted once the worker has its answer, i.e. once the queue drained.
    sys.settle().await;
    let writes = dojo_writes(&sys.http, &sys.sim.base_url).await;
    // The same state again, then a real change: only the change writes.
    post("Done").await;
    post("blocked").await;
    eventually_async(WAIT, "finding blocked", || async {
        let f = dojo_finding(&sys.http, &sys.sim.base_url, "WSTG-CONF-02").await?;
        tags_of(&f)
            .contains(&status_tag(Status::Blocked))
            .then_some(())
    })
    .await;
    sys.settle().await;
    assert_eq!(
        dojo_writes(&sys.http, &sys.sim.base_url).await,
        writes + 1,
        "{}",
        common::dojo_stats(&sys.http, &sys.sim.base_url).await
    );
    sys.stop().await;
}

#[tokio::test]
async fn an_older_event_never_overwrites_a_newer_state() {
    let sys = System::start(test_support::fresh_sqlite(), 1).await;
    let newer = sys
        .post_sync(&json!({"wstg_id": "WSTG-ATHN-01", "status": "done", "timestamp": "2026-01-02T10:00:00Z"}))
        .await;
    assert_eq!(newer.status(), 202);
    eventually_async(WAIT, "finding done", || async {
        let f = dojo_finding(&sys.http, &sys.sim.base_url, "WSTG-ATHN-01").await?;
        (flags_of(&f) == flags_for(Status::Done)).then_some(())
    })
    .await;
    let older = sys
        .post_sync(&json!({"wstg_id": "WSTG-ATHN-01", "status": "in_progress", "timestamp": "2026-01-02T09:00:00Z"}))
        .await;
    assert_eq!(older.status(), 202);
    // Acknowledged entries are deleted: an empty stream means it was processed.
    eventually_async(WAIT, "older event processed", || async {
        (common::stream_len(&sys.prefix).await == 0).then_some(())
    })
    .await;
    let f = dojo_finding(&sys.http, &sys.sim.base_url, "WSTG-ATHN-01")
        .await
        .unwrap();
    assert_eq!(flags_of(&f), flags_for(Status::Done));
    assert!(tags_of(&f).contains(&status_tag(Status::Done)));
    sys.stop().await;
}
