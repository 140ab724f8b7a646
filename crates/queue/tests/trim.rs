//! Trimming `P:events` never drops undelivered or unacknowledged work, and
//! the blocking pool is bounded.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashSet;
use std::time::Duration;

use common::*;
use wstg_queue::{Feed, QueueConfig, QueueError};

async fn ids(key: &str) -> Vec<String> {
    let entries: Vec<(String, Vec<(String, String)>)> = redis::cmd("XRANGE")
        .arg(key)
        .arg("-")
        .arg("+")
        .query_async(&mut raw().await)
        .await
        .unwrap();
    entries.into_iter().map(|(id, _)| id).collect()
}

#[tokio::test]
async fn trim_acknowledged_removes_only_what_every_group_acked() {
    let q = queue_with(QueueConfig {
        batch: 500,
        ..config()
    })
    .await;
    for n in 0..600 {
        q.publish(&envelope(n)).await.unwrap();
    }
    // A worker reads 500; 100 stay undelivered.
    let mut c = q.consumer("trimmer").await.unwrap();
    let delivered = read_n(&mut c, 500).await;
    // The first 450 are acked by hand WITHOUT the XDEL a worker does (the
    // leftover trim_acknowledged exists for); 50 stay pending.
    let mut conn = raw().await;
    for d in &delivered[..450] {
        let _: i64 = redis::cmd("XACK")
            .arg(&q.keys().events)
            .arg(wstg_queue::GROUP)
            .arg(&d.id)
            .query_async(&mut conn)
            .await
            .unwrap();
    }
    let must_stay: HashSet<String> = ids(&q.keys().events).await.into_iter().skip(450).collect();
    assert_eq!(must_stay.len(), 150, "50 pending + 100 undelivered");

    let trimmed = q.trim_acknowledged().await.unwrap();
    let left: HashSet<String> = ids(&q.keys().events).await.into_iter().collect();
    assert!(
        must_stay.is_subset(&left),
        "a pending or undelivered entry was trimmed"
    );
    assert!(
        trimmed >= 100,
        "whole macro nodes of acked entries go (trimmed {trimmed})"
    );
    assert_eq!(pending(&q).await, 50);

    // A second group that has read nothing pins everything that is left.
    let _: () = redis::cmd("XGROUP")
        .arg("CREATE")
        .arg(&q.keys().events)
        .arg("auditors")
        .arg("0")
        .query_async(&mut conn)
        .await
        .unwrap();
    let before = ids(&q.keys().events).await.len();
    assert_eq!(q.trim_acknowledged().await.unwrap(), 0);
    assert_eq!(ids(&q.keys().events).await.len(), before);
    assert_eq!(q.backlog().await.unwrap(), before as u64);
    cleanup(&q).await;
}

#[tokio::test]
async fn the_blocking_pool_is_bounded() {
    let q = queue_with(QueueConfig {
        blocking_pool_size: 2,
        ..config()
    })
    .await;
    let a = q
        .feed_reader(Feed::Changes, "0".into(), Duration::from_millis(100))
        .await
        .unwrap();
    let _b = q.consumer("pool-b").await.unwrap();
    assert_eq!(q.blocking_pool_status(), (2, 2));
    // A third blocking reader waits for a free connection, then gives up
    // with a transient error instead of opening a third connection.
    let third = q
        .feed_reader(Feed::PollHints, "0".into(), Duration::from_millis(100))
        .await;
    let Err(err) = third else {
        panic!("the pool is full: a third reader must not get a connection")
    };
    assert!(matches!(err, QueueError::PoolExhausted(_)), "{err}");
    assert!(err.is_transient());
    // A reader that goes returns its connection to the next one.
    drop(a);
    q.feed_reader(Feed::PollHints, "0".into(), Duration::from_millis(100))
        .await
        .unwrap();
    assert_eq!(q.blocking_pool_status().0, 2);
    cleanup(&q).await;
}
