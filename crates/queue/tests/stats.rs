//! Gauges and health checks.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use chrono::Utc;
use common::*;
use wstg_queue::{QueueConfig, QueueStats};

#[tokio::test]
async fn stats_count_every_part_of_the_queue() {
    let q = queue_with(QueueConfig {
        batch: 2,
        ..config()
    })
    .await;
    assert_eq!(
        q.stats().await.unwrap(),
        QueueStats {
            lag: Some(0),
            ..Default::default()
        }
    );

    for n in 0..5 {
        q.publish(&envelope(n)).await.unwrap();
    }
    let mut c = q.consumer("c").await.unwrap();
    let got = c.read().await.unwrap();
    assert_eq!(got.len(), 2, "batch of 2");
    q.schedule_retry(&envelope(10), Utc::now() + chrono::Duration::hours(1))
        .await
        .unwrap();
    q.dead_letter(&envelope(11), "", "boom").await.unwrap();

    let s = q.stats().await.unwrap();
    assert_eq!(s.stream_len, 5);
    assert_eq!(s.pending, 2);
    assert_eq!(s.lag, Some(3));
    assert_eq!(s.consumers, 1);
    assert_eq!(s.delayed, 1);
    assert_eq!(s.dlq, 1);
    assert!(s.oldest_pending_idle_ms.is_some());

    // Idle time grows while nobody acks.
    test_support::eventually_async(Duration::from_secs(5), "idle to grow", || {
        let q = q.clone();
        async move {
            let idle = q.stats().await.unwrap().oldest_pending_idle_ms?;
            (idle >= 100).then_some(())
        }
    })
    .await;

    c.ack(&got.iter().map(|d| d.id.clone()).collect::<Vec<_>>())
        .await
        .unwrap();
    let s = q.stats().await.unwrap();
    assert_eq!((s.stream_len, s.pending, s.lag), (3, 0, Some(3)));
    assert_eq!(s.oldest_pending_idle_ms, None);

    let json = serde_json::to_value(&s).unwrap();
    assert_eq!(json["stream_len"], 3);
    cleanup(&q).await;
}

#[tokio::test]
async fn stats_survive_a_deleted_stream() {
    let q = queue().await;
    let _: () = redis::cmd("DEL")
        .arg(&q.keys().events)
        .query_async(&mut raw().await)
        .await
        .unwrap();
    assert_eq!(q.stats().await.unwrap(), QueueStats::default());
    cleanup(&q).await;
}

#[tokio::test]
async fn ping_and_eviction_policy() {
    let q = queue().await;
    q.ping().await.unwrap();
    let policy: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("maxmemory-policy")
        .query_async(&mut raw().await)
        .await
        .unwrap();
    let warning = q.check_eviction_policy().await.unwrap();
    if policy.get(1).map(String::as_str) == Some("noeviction") {
        assert_eq!(warning, None);
    } else {
        assert!(warning.unwrap().contains(&policy[1]));
    }
    cleanup(&q).await;
}

/// The oldest unfinished event's age comes from its stream id: none on an
/// empty stream, the first entry's age otherwise (never a later one's).
#[tokio::test]
async fn the_oldest_event_age_is_the_first_entrys() {
    let q = queue().await;
    assert_eq!(q.oldest_event_age().await.unwrap(), None);
    let old_ms = Utc::now().timestamp_millis() - 90_000;
    let _: String = redis::cmd("XADD")
        .arg(&q.keys().events)
        .arg(format!("{old_ms}-0"))
        .arg("x")
        .arg("1")
        .query_async(&mut raw().await)
        .await
        .unwrap();
    q.publish(&envelope(1)).await.unwrap();
    let age = q.oldest_event_age().await.unwrap().unwrap();
    assert!(
        age >= Duration::from_secs(90) && age < Duration::from_secs(100),
        "{age:?}"
    );
    cleanup(&q).await;
}
