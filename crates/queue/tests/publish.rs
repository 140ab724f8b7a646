//! Idempotent publishing and stream trimming.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::*;
use wstg_queue::{Published, QueueConfig};

#[tokio::test]
async fn publish_idempotent_adds_once_per_key() {
    let q = queue().await;
    let first = envelope(1);
    let second = envelope(2);
    let ttl = Duration::from_secs(60);

    let a = q
        .publish_idempotent(&first, "delivery-42", "fp-a", ttl)
        .await
        .unwrap();
    let Published::New(stream_id) = a else {
        panic!("first publish must be new: {a:?}")
    };
    let b = q
        .publish_idempotent(&second, "delivery-42", "fp-a", ttl)
        .await
        .unwrap();
    assert_eq!(
        b,
        Published::Duplicate {
            event_id: first.event_id
        }
    );
    assert_eq!(xlen(&q.keys().events).await, 1);

    let entries: Vec<(String, Vec<(String, String)>)> = redis::cmd("XRANGE")
        .arg(&q.keys().events)
        .arg("-")
        .arg("+")
        .query_async(&mut raw().await)
        .await
        .unwrap();
    assert_eq!(entries[0].0, stream_id);

    let pttl: i64 = redis::cmd("PTTL")
        .arg(q.keys().idem("delivery-42"))
        .query_async(&mut raw().await)
        .await
        .unwrap();
    assert!(pttl > 0 && pttl <= 60_000, "key carries the TTL ({pttl})");

    // Another key publishes normally.
    assert!(matches!(
        q.publish_idempotent(&second, "delivery-43", "fp-a", ttl)
            .await
            .unwrap(),
        Published::New(_)
    ));
    assert_eq!(xlen(&q.keys().events).await, 2);
    cleanup(&q).await;
}

#[tokio::test]
async fn a_key_reused_for_another_request_is_reported_not_swallowed() {
    let q = queue().await;
    let ttl = Duration::from_secs(60);
    let first = envelope(1);
    assert!(matches!(
        q.publish_idempotent(&first, "k1", "body-a", ttl)
            .await
            .unwrap(),
        Published::New(_)
    ));
    assert_eq!(
        q.publish_idempotent(&envelope(2), "k1", "body-b", ttl)
            .await
            .unwrap(),
        Published::KeyReused {
            event_id: first.event_id
        }
    );
    assert_eq!(
        xlen(&q.keys().events).await,
        1,
        "nothing added for the reuse"
    );
    // A record from before fingerprints existed (bare event id) stays a
    // duplicate, whatever the fingerprint.
    let _: () = redis::cmd("SET")
        .arg(q.keys().idem("old"))
        .arg(first.event_id.to_string())
        .query_async(&mut raw().await)
        .await
        .unwrap();
    assert_eq!(
        q.publish_idempotent(&envelope(3), "old", "any", ttl)
            .await
            .unwrap(),
        Published::Duplicate {
            event_id: first.event_id
        }
    );
    cleanup(&q).await;
}

#[tokio::test]
async fn concurrent_publishes_with_one_key_add_exactly_one_entry() {
    let q = queue().await;
    let tasks: Vec<_> = (0..16)
        .map(|n| {
            let q = q.clone();
            tokio::spawn(async move {
                q.publish_idempotent(&envelope(n), "same", "fp", Duration::from_secs(60))
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut new = 0;
    let mut dup_ids = std::collections::HashSet::new();
    for t in tasks {
        match t.await.unwrap() {
            Published::New(_) => new += 1,
            Published::Duplicate { event_id } => {
                dup_ids.insert(event_id);
            }
            other => panic!("one fingerprint, no reuse: {other:?}"),
        }
    }
    assert_eq!(new, 1);
    assert_eq!(
        dup_ids.len(),
        1,
        "every duplicate names the same first event"
    );
    assert_eq!(xlen(&q.keys().events).await, 1);
    cleanup(&q).await;
}

#[tokio::test]
async fn idempotency_expires_with_its_ttl() {
    let q = queue().await;
    let ttl = Duration::from_millis(50);
    assert!(matches!(
        q.publish_idempotent(&envelope(1), "k", "fp", ttl)
            .await
            .unwrap(),
        Published::New(_)
    ));
    test_support::eventually_async(Duration::from_secs(5), "the key to expire", || {
        let q = q.clone();
        async move {
            match q
                .publish_idempotent(&envelope(2), "k", "fp", ttl)
                .await
                .unwrap()
            {
                Published::New(_) => Some(()),
                _ => None,
            }
        }
    })
    .await;
    cleanup(&q).await;
}

#[tokio::test]
async fn maxlen_trims_the_events_stream_approximately() {
    let q = queue_with(QueueConfig {
        maxlen: Some(10),
        ..config()
    })
    .await;
    for n in 0..1000 {
        q.publish(&envelope(n)).await.unwrap();
    }
    let len = xlen(&q.keys().events).await;
    assert!((10..1000).contains(&len), "trimmed to about 10, got {len}");
    cleanup(&q).await;
}

#[tokio::test]
async fn connection_errors_are_transient_and_never_show_the_password() {
    let cfg = QueueConfig::new("redis://user:hunter2@127.0.0.1:1", "p");
    let err = wstg_queue::Queue::connect(cfg.clone()).await.unwrap_err();
    assert!(err.is_transient(), "{err}");
    assert!(!err.to_string().contains("hunter2"), "{err}");
    assert!(!format!("{err:?}").contains("hunter2"), "{err:?}");
    assert!(!format!("{cfg:?}").contains("hunter2"));

    let bad = QueueConfig::new("not-a-url://user:hunter2@x", "p");
    let err = wstg_queue::Queue::connect(bad).await.unwrap_err();
    assert!(!err.is_transient());
    assert!(!err.to_string().contains("hunter2"), "{err}");
}

#[tokio::test]
async fn the_shared_connection_recovers_after_being_killed() {
    let q = queue().await;
    let id: i64 = redis::cmd("CLIENT")
        .arg("ID")
        .query_async(&mut q.connection())
        .await
        .unwrap();
    let _: i64 = redis::cmd("CLIENT")
        .arg("KILL")
        .arg("ID")
        .arg(id)
        .query_async(&mut raw().await)
        .await
        .unwrap();
    let mut failures = 0;
    poll("publish to succeed again", async || {
        match q.publish(&envelope(1)).await {
            Ok(_) => Some(()),
            Err(e) => {
                assert!(e.is_transient(), "{e}");
                failures += 1;
                None
            }
        }
    })
    .await;
    assert!(
        failures <= 1,
        "at most the command in flight fails ({failures})"
    );
    assert_eq!(xlen(&q.keys().events).await, 1);
    cleanup(&q).await;
}
