//! The dead-letter queue: recording, reading, replaying, purging.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;

use chrono::Utc;
use common::*;

#[tokio::test]
async fn dead_letter_then_list_get_and_replay_with_identity_kept() {
    let q = queue().await;
    let env = envelope(1);
    q.publish(&env).await.unwrap();
    let mut c = q.consumer("c").await.unwrap();
    let d = read_n(&mut c, 1).await.remove(0);

    let before = Utc::now();
    let mut dead = d.envelope.clone().unwrap();
    dead.attempt = 9;
    let dlq_id = q
        .dead_letter(&dead, &d.id, "DefectDojo said 400")
        .await
        .unwrap();
    assert_eq!(pending(&q).await, 0, "dead-lettering acked the delivery");
    assert_eq!(xlen(&q.keys().events).await, 0);

    let list = q.dlq_list(10).await.unwrap();
    assert_eq!(list.len(), 1);
    let dl = &list[0];
    assert_eq!(dl.id, dlq_id);
    assert_eq!(dl.envelope.as_ref().unwrap(), &dead);
    assert_eq!(dl.attempts, 9);
    assert_eq!(dl.error, "DefectDojo said 400");
    assert_eq!(dl.source_id.as_deref(), Some(d.id.as_str()));
    assert!(dl.dead_at >= before - chrono::Duration::seconds(1));
    assert_eq!(
        dl.first_failed_at,
        Some(dl.dead_at),
        "never retried: failed first when it died"
    );
    assert_eq!(q.dlq_get(&dlq_id).await.unwrap().as_ref(), Some(dl));
    assert_eq!(q.dlq_get("0-1").await.unwrap(), None);
    assert_eq!(q.dlq_get("not an id").await.unwrap(), None);

    // Readable by an operator with XRANGE.
    let entries: Vec<(String, Vec<(String, String)>)> = redis::cmd("XRANGE")
        .arg(&q.keys().dlq)
        .arg("-")
        .arg("+")
        .query_async(&mut raw().await)
        .await
        .unwrap();
    let fields: HashMap<_, _> = entries[0].1.iter().cloned().collect();
    for f in [
        "data",
        "event_id",
        "attempts",
        "error",
        "first_failed_at",
        "dead_at",
        "source_id",
    ] {
        assert!(fields.contains_key(f), "field {f} in {fields:?}");
    }
    assert!(fields["data"].contains(&env.event_id.to_string()));

    let new_id = q.dlq_replay(&dlq_id).await.unwrap().unwrap();
    assert!(q.dlq_list(10).await.unwrap().is_empty());
    assert_eq!(
        q.dlq_replay(&dlq_id).await.unwrap(),
        None,
        "gone after replay"
    );
    let back = read_n(&mut c, 1).await.remove(0);
    assert_eq!(back.id, new_id);
    let back_env = back.envelope.unwrap();
    assert_eq!(back_env.event_id, env.event_id, "identity kept");
    assert_eq!(back_env.attempt, 0, "attempts reset");
    assert_eq!(back_env.kind, env.kind);
    cleanup(&q).await;
}

#[tokio::test]
async fn first_failed_at_comes_from_the_first_scheduled_retry() {
    let q = queue().await;
    let mut env = envelope(1);
    let t0 = Utc::now();
    env.attempt = 1;
    q.schedule_retry(&env, Utc::now()).await.unwrap();
    let t1 = Utc::now();
    env.attempt = 2;
    q.schedule_retry(&env, Utc::now()).await.unwrap();
    env.attempt = 3;
    q.dead_letter(&env, "", "gave up").await.unwrap();
    let dl = q.dlq_list(1).await.unwrap().remove(0);
    let first = dl.first_failed_at.unwrap();
    let slack = chrono::Duration::milliseconds(1);
    assert!(
        first >= t0 - slack && first <= t1 + slack,
        "{first} not in [{t0}, {t1}]"
    );
    assert!(first <= dl.dead_at);
    assert_eq!(dl.source_id, None);
    let gone: bool = redis::cmd("EXISTS")
        .arg(q.keys().failed_at(&env.event_id))
        .query_async(&mut raw().await)
        .await
        .unwrap();
    assert!(!gone, "the first-failure record moves into the dead letter");
    cleanup(&q).await;
}

#[tokio::test]
async fn replay_all_and_purge() {
    let q = queue().await;
    for n in 0..5 {
        let mut env = envelope(n);
        env.attempt = 4;
        q.dead_letter(&env, "", "boom").await.unwrap();
    }
    q.dead_letter_raw("{not json", "", "poison").await.unwrap();
    assert_eq!(q.stats().await.unwrap().dlq, 6);

    assert_eq!(q.dlq_replay_all().await.unwrap(), 6);
    assert_eq!(q.stats().await.unwrap().dlq, 0);
    let mut c = q.consumer("c").await.unwrap();
    let got = read_n(&mut c, 6).await;
    assert!(got[..5]
        .iter()
        .all(|d| d.envelope.as_ref().unwrap().attempt == 0));
    assert_eq!(got[5].raw, "{not json", "non-JSON goes back as it was");
    assert_eq!(q.dlq_replay_all().await.unwrap(), 0);

    for d in &got[..3] {
        q.dead_letter_delivery(d, "again").await.unwrap();
    }
    assert_eq!(q.dlq_purge().await.unwrap(), 3);
    assert!(q.dlq_list(10).await.unwrap().is_empty());
    assert_eq!(q.dlq_purge().await.unwrap(), 0);
    cleanup(&q).await;
}

#[tokio::test]
async fn replay_all_pages_through_a_large_dlq() {
    let q = queue().await;
    for n in 0..250 {
        q.dead_letter(&envelope(n), "", "boom").await.unwrap();
    }
    let page1 = q.dlq_list(100).await.unwrap();
    let page2 = q.dlq_list_after(&page1[99].id, 100).await.unwrap();
    assert_eq!(page2.len(), 100);
    assert!(page2[0].id > page1[99].id);
    assert_eq!(q.dlq_replay_all().await.unwrap(), 250);
    assert_eq!(xlen(&q.keys().events).await, 250);
    assert_eq!(xlen(&q.keys().dlq).await, 0);
    cleanup(&q).await;
}

#[tokio::test]
async fn concurrent_replays_of_one_dead_letter_requeue_it_once() {
    let q = queue().await;
    let id = q.dead_letter(&envelope(1), "", "boom").await.unwrap();
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let q = q.clone();
            let id = id.clone();
            tokio::spawn(async move { q.dlq_replay(&id).await.unwrap() })
        })
        .collect();
    let mut replayed = 0;
    for t in tasks {
        if t.await.unwrap().is_some() {
            replayed += 1;
        }
    }
    assert_eq!(replayed, 1);
    assert_eq!(xlen(&q.keys().events).await, 1);
    cleanup(&q).await;
}

#[tokio::test]
async fn dead_letters_record_the_delivery_count_of_a_crash_looping_entry() {
    let q = queue().await;
    q.publish(&envelope(1)).await.unwrap();
    let mut a = q.consumer("a").await.unwrap();
    let mut b = q.consumer("b").await.unwrap();
    read_n(&mut a, 1).await;
    let d = claim_some(&mut b).await.remove(0);
    assert_eq!(d.deliveries, 2);
    q.dead_letter(d.envelope.as_ref().unwrap(), &d.id, "worker crashed")
        .await
        .unwrap();
    let dl = q.dlq_list(1).await.unwrap().remove(0);
    assert_eq!(
        dl.attempts, 2,
        "attempt 0 in the envelope, but delivered twice"
    );
    assert_eq!(pending(&q).await, 0);
    cleanup(&q).await;
}

/// `purge --older-than`: exactly the dead letters that died before the
/// cutoff go; a newer one (even one written by hand) stays.
#[tokio::test]
async fn purging_by_age_removes_only_the_older_dead_letters() {
    let q = queue().await;
    let mut conn = raw().await;
    let hour_ago = Utc::now() - chrono::Duration::hours(1);
    // Both inside the queue's own age bound (30 days), which a dead letter
    // also enforces as it arrives: older ones would be gone before the purge.
    let day_ago = Utc::now() - chrono::Duration::days(1);
    for ms in [day_ago.timestamp_millis(), hour_ago.timestamp_millis() - 1] {
        let _: String = redis::cmd("XADD")
            .arg(&q.keys().dlq)
            .arg(format!("{ms}-0"))
            .arg("data")
            .arg("{}")
            .query_async(&mut conn)
            .await
            .unwrap();
    }
    let recent = q.dead_letter(&envelope(1), "0-1", "recent").await.unwrap();
    assert_eq!(q.dlq_purge_older_than(hour_ago).await.unwrap(), 2);
    let left: Vec<String> = q
        .dlq_list(10)
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.id)
        .collect();
    assert_eq!(left, vec![recent]);
    assert_eq!(q.dlq_purge_older_than(hour_ago).await.unwrap(), 0);
    cleanup(&q).await;
}

/// `Queue::open` (read-only callers) makes no key: no stream, no group.
#[tokio::test]
async fn opening_for_reading_creates_nothing() {
    let cfg = config();
    let q = wstg_queue::Queue::open(cfg.clone()).await.unwrap();
    assert_eq!(q.stats().await.unwrap().stream_len, 0);
    assert!(q.dlq_list(10).await.unwrap().is_empty());
    let mut conn = raw().await;
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{{{}}}:*", cfg.prefix))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(keys.is_empty(), "{keys:?}");
    // Redis away: an error at open, transient.
    let mut away = cfg;
    away.redis_url = "redis://127.0.0.1:1".to_owned();
    let err = wstg_queue::Queue::open(away).await.unwrap_err();
    assert!(err.is_transient(), "{err}");
}
