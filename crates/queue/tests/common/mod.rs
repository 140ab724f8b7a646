//! Shared setup for the queue tests: a queue under a fresh key prefix on the
//! test Redis, envelopes, and raw access for assertions.

#![allow(dead_code, clippy::unwrap_used)]

use std::time::Duration;

use chrono::Utc;
use redis::aio::MultiplexedConnection;
use wstg_domain::{Envelope, EventKind, ProjectName};
use wstg_queue::{Consumer, Delivery, Queue, QueueConfig};

/// Test defaults: a unique prefix, short BLOCK so empty reads return fast,
/// short claim idle so reclaim tests do not wait a minute.
pub fn config() -> QueueConfig {
    QueueConfig {
        block: Duration::from_millis(100),
        claim_min_idle: Duration::from_millis(200),
        ..QueueConfig::new(test_support::redis_url(), test_support::unique_prefix())
    }
}

pub async fn queue() -> Queue {
    queue_with(config()).await
}

pub async fn queue_with(cfg: QueueConfig) -> Queue {
    test_support::init_test_logging();
    Queue::connect(cfg)
        .await
        .expect("connect to the test Redis")
}

/// A distinct envelope (a reconcile event needs no catalogue lookups).
pub fn envelope(n: usize) -> Envelope {
    Envelope::new(
        ProjectName::default_project(),
        EventKind::Reconcile {
            wstg_id: None,
            reason: format!("test event {n}"),
            observed: None,
        },
        Utc::now(),
    )
}

pub async fn raw() -> MultiplexedConnection {
    redis::Client::open(test_support::redis_url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

pub async fn xlen(key: &str) -> u64 {
    redis::cmd("XLEN")
        .arg(key)
        .query_async(&mut raw().await)
        .await
        .unwrap()
}

/// Pending count of the group, from XPENDING's summary form.
pub async fn pending(q: &Queue) -> u64 {
    let summary: redis::streams::StreamPendingReply = redis::cmd("XPENDING")
        .arg(&q.keys().events)
        .arg(wstg_queue::GROUP)
        .query_async(&mut raw().await)
        .await
        .unwrap();
    summary.count() as u64
}

/// Reads until `n` deliveries arrived (fails the test after 5 s).
pub async fn read_n(c: &mut Consumer, n: usize) -> Vec<Delivery> {
    let mut got = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while got.len() < n {
        assert!(
            tokio::time::Instant::now() < deadline,
            "read only {} of {n} deliveries",
            got.len()
        );
        got.extend(c.read().await.unwrap());
    }
    got
}

pub async fn cleanup(q: &Queue) {
    test_support::redis_env::delete_prefix(q.keys().prefix())
        .await
        .unwrap();
}

/// Polls `check` every 20 ms until it yields, failing the test after 5 s.
/// Unlike `test_support::eventually_async` the check may hold `&mut`
/// borrows (a consumer) across its awaits.
pub async fn poll<T>(what: &str, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for: {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Calls `claim_stale` until it returns something.
pub async fn claim_some(c: &mut Consumer) -> Vec<Delivery> {
    poll("a stale entry to be reclaimed", async || {
        Some(c.claim_stale().await.unwrap()).filter(|v| !v.is_empty())
    })
    .await
}
