//! Delayed retries: scheduling, promotion by many replicas at once, and the
//! atomic retry-and-ack.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashSet;

use chrono::{Duration as ChronoDuration, Utc};
use common::*;

#[tokio::test]
async fn promote_due_moves_only_due_entries_oldest_first() {
    let q = queue().await;
    let now = Utc::now();
    let (late, later, future) = (envelope(1), envelope(2), envelope(3));
    q.schedule_retry(&later, now - ChronoDuration::milliseconds(10))
        .await
        .unwrap();
    q.schedule_retry(&late, now - ChronoDuration::seconds(1))
        .await
        .unwrap();
    q.schedule_retry(&future, now + ChronoDuration::hours(1))
        .await
        .unwrap();
    assert_eq!(q.stats().await.unwrap().delayed, 3);

    assert_eq!(q.promote_due(now, 100).await.unwrap(), 2);
    assert_eq!(
        q.promote_due(now, 100).await.unwrap(),
        0,
        "nothing left due"
    );
    let stats = q.stats().await.unwrap();
    assert_eq!(stats.delayed, 1);
    assert_eq!(stats.stream_len, 2);

    let mut c = q.consumer("c").await.unwrap();
    let got = read_n(&mut c, 2).await;
    let ids: Vec<_> = got.iter().map(|d| d.event_id().unwrap()).collect();
    assert_eq!(ids, vec![late.event_id, later.event_id], "oldest due first");
    assert_eq!(got[0].envelope.as_ref().unwrap(), &late);

    let next = q.delayed_next_due().await.unwrap().unwrap();
    let expected = now + ChronoDuration::hours(1);
    assert!(
        (next - expected).num_milliseconds().abs() <= 1,
        "{next} vs {expected}"
    );

    // Its time comes.
    assert_eq!(q.promote_due(expected, 100).await.unwrap(), 1);
    assert_eq!(q.delayed_next_due().await.unwrap(), None);
    cleanup(&q).await;
}

#[tokio::test]
async fn rescheduling_an_event_keeps_one_retry_with_the_latest_envelope() {
    let q = queue().await;
    let mut env = envelope(1);
    env.attempt = 1;
    q.schedule_retry(&env, Utc::now()).await.unwrap();
    env.attempt = 2;
    q.schedule_retry(&env, Utc::now()).await.unwrap();
    assert_eq!(q.stats().await.unwrap().delayed, 1);
    assert_eq!(q.promote_due(Utc::now(), 10).await.unwrap(), 1);
    let mut c = q.consumer("c").await.unwrap();
    let got = read_n(&mut c, 1).await;
    assert_eq!(got[0].envelope.as_ref().unwrap().attempt, 2);
    cleanup(&q).await;
}

#[tokio::test]
async fn concurrent_promoters_move_each_entry_exactly_once() {
    let q = queue().await;
    let past = Utc::now() - ChronoDuration::seconds(5);
    let mut expected = HashSet::new();
    for n in 0..300 {
        let env = envelope(n);
        expected.insert(env.event_id);
        q.schedule_retry(&env, past).await.unwrap();
    }

    let now = Utc::now();
    let promoters: Vec<_> = (0..4)
        .map(|_| {
            let q = q.clone();
            tokio::spawn(async move {
                let mut moved = 0;
                loop {
                    let n = q.promote_due(now, 7).await.unwrap();
                    if n == 0 {
                        return moved;
                    }
                    moved += n;
                }
            })
        })
        .collect();
    let mut total = 0;
    for p in promoters {
        total += p.await.unwrap();
    }
    assert_eq!(total, 300);
    assert_eq!(xlen(&q.keys().events).await, 300);
    assert_eq!(q.stats().await.unwrap().delayed, 0);

    let mut c = q.consumer("c").await.unwrap();
    let got = read_n(&mut c, 300).await;
    let ids: Vec<_> = got.iter().map(|d| d.event_id().unwrap()).collect();
    let unique: HashSet<_> = ids.iter().cloned().collect();
    assert_eq!(unique.len(), 300, "no event was moved twice");
    assert_eq!(unique, expected);
    cleanup(&q).await;
}

#[tokio::test]
async fn retry_later_schedules_and_acks_in_one_step() {
    let q = queue().await;
    let env = envelope(1);
    q.publish(&env).await.unwrap();
    let mut c = q.consumer("c").await.unwrap();
    let d = read_n(&mut c, 1).await.remove(0);

    let mut next = d.envelope.clone().unwrap();
    next.attempt += 1;
    assert!(q.retry_later(&d.id, &next, Utc::now()).await.unwrap());
    assert_eq!(pending(&q).await, 0, "the delivery was acked");
    assert_eq!(xlen(&q.keys().events).await, 0, "and deleted");
    assert_eq!(q.stats().await.unwrap().delayed, 1);
    // A second call for the same delivery finds nothing pending.
    assert!(!q.retry_later(&d.id, &next, Utc::now()).await.unwrap());

    assert_eq!(q.promote_due(Utc::now(), 10).await.unwrap(), 1);
    let again = read_n(&mut c, 1).await.remove(0);
    let back = again.envelope.unwrap();
    assert_eq!(back.event_id, env.event_id);
    assert_eq!(back.attempt, 1);
    cleanup(&q).await;
}

#[tokio::test]
async fn the_mover_loop_promotes_and_stops_on_shutdown() {
    let q = queue().await;
    q.schedule_retry(&envelope(1), Utc::now()).await.unwrap();
    let shutdown = tokio_util::sync::CancellationToken::new();
    let mover = {
        let q = q.clone();
        let s = shutdown.clone();
        tokio::spawn(async move {
            q.run_delayed_mover(s, std::time::Duration::from_millis(20))
                .await
        })
    };
    test_support::eventually_async(std::time::Duration::from_secs(5), "promotion", || {
        let key = q.keys().events.clone();
        async move { (xlen(&key).await == 1).then_some(()) }
    })
    .await;
    shutdown.cancel();
    tokio::time::timeout(std::time::Duration::from_secs(2), mover)
        .await
        .expect("mover stops on shutdown")
        .unwrap();
    cleanup(&q).await;
}

#[tokio::test]
async fn deferrals_with_one_id_collapse_into_the_earliest() {
    use wstg_domain::{Catalogue, CatalogueVersion, Envelope, EventKind, ProjectName};
    let q = wstg_queue::Queue::connect(wstg_queue::QueueConfig::new(
        test_support::redis_url(),
        test_support::unique_prefix(),
    ))
    .await
    .unwrap();
    let project = ProjectName::default_project();
    let id = Catalogue::get(CatalogueVersion::V4_2)
        .parse_id("WSTG-INFO-01")
        .unwrap();
    let (event_id, kind) = EventKind::push_item(&project, &id);
    let mut env = Envelope::new(project.clone(), kind, chrono::Utc::now());
    env.event_id = event_id;
    let now = chrono::Utc::now();
    assert!(q
        .defer(&env, now + chrono::Duration::milliseconds(300))
        .await
        .unwrap());
    assert!(!q
        .defer(&env, now + chrono::Duration::milliseconds(100))
        .await
        .unwrap());
    assert!(!q
        .defer(&env, now + chrono::Duration::seconds(5))
        .await
        .unwrap());
    assert_eq!(q.stats().await.unwrap().delayed, 1);
    assert_eq!(q.promote_due(now, 10).await.unwrap(), 0, "not due yet");
    assert_eq!(
        q.promote_due(now + chrono::Duration::milliseconds(301), 10)
            .await
            .unwrap(),
        1
    );
    assert_eq!(q.stats().await.unwrap().stream_len, 1);
    // Another item's deferral has another id.
    let other = Catalogue::get(CatalogueVersion::V4_2)
        .parse_id("WSTG-INFO-02")
        .unwrap();
    assert_ne!(EventKind::push_item(&project, &other).0, event_id);
}
