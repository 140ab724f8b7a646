//! The queue's suite on a Redis Cluster of 3 masters (scripts/redis-cluster.sh,
//! started by the test): publish, idempotent publish, consume and ack,
//! retry through the delayed set, dead letter and replay, recovery of a
//! dead consumer's entries, feeds and leases. Every multi-key script runs
//! here: on a cluster, a key outside the deployment's hash tag would fail
//! with CROSSSLOT.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use chrono::Utc;
use common::*;
use redis::cluster::ClusterClient;
use wstg_queue::{Feed, Leases, Published, Queue, QueueConfig};

fn cluster_config() -> QueueConfig {
    QueueConfig {
        redis_url: test_support::redis_topology::cluster_url(),
        ..config()
    }
}

async fn cluster_queue() -> Queue {
    queue_with(cluster_config()).await
}

/// The cluster slot of `key`, as the cluster computes it.
async fn slot_of(key: &str) -> u16 {
    let nodes: Vec<String> = test_support::redis_topology::cluster_url()
        .trim_start_matches("redis+cluster://")
        .split(',')
        .map(|h| format!("redis://{h}"))
        .collect();
    let mut conn = ClusterClient::new(nodes)
        .unwrap()
        .get_async_connection()
        .await
        .unwrap();
    redis::cmd("CLUSTER")
        .arg("KEYSLOT")
        .arg(key)
        .query_async(&mut conn)
        .await
        .unwrap()
}

#[tokio::test]
async fn every_key_of_a_deployment_lives_in_one_slot() {
    let q = cluster_queue().await;
    let k = q.keys();
    let slot = slot_of(&k.events).await;
    for key in [
        k.delayed.clone(),
        k.dlq.clone(),
        k.idem("x"),
        k.item_lock("p", "WSTG-INFO-01"),
        k.intents("p", "WSTG-INFO-01"),
        k.feed("changes"),
    ] {
        assert_eq!(slot_of(&key).await, slot, "{key}");
    }
}

#[tokio::test]
async fn publish_consume_retry_dead_letter_replay_and_recovery() {
    let q = cluster_queue().await;

    // Publish, plain and idempotent (a script over two keys).
    let sent: Vec<_> = (0..4).map(envelope).collect();
    for env in &sent[..3] {
        q.publish(env).await.unwrap();
    }
    let first = q
        .publish_idempotent(&sent[3], "k1", "fp", Duration::from_secs(60))
        .await
        .unwrap();
    assert!(matches!(first, Published::New(_)), "{first:?}");
    let again = q
        .publish_idempotent(&sent[3], "k1", "fp", Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(
        again,
        Published::Duplicate {
            event_id: sent[3].event_id
        }
    );

    // Consume: a consumer that reads and dies leaves its entries pending.
    let mut dead = q.consumer("dies").await.unwrap();
    let taken = read_n(&mut dead, 4).await;
    drop(dead);

    // Recovery: another consumer takes them over once idle.
    let mut c = q.consumer("survivor").await.unwrap();
    let mut recovered = Vec::new();
    while recovered.len() < 4 {
        recovered.extend(claim_some(&mut c).await);
    }
    assert_eq!(recovered.len(), taken.len());
    assert!(recovered.iter().all(|d| d.deliveries == 2));

    // Retry: one goes to the delayed set (script: ack + schedule) and comes
    // back when due (script: promote).
    let retried = &recovered[0];
    let env = retried.envelope.clone().unwrap();
    assert!(q
        .retry_later(&retried.id, &env, Utc::now() - chrono::Duration::seconds(1))
        .await
        .unwrap());
    assert_eq!(q.promote_due(Utc::now(), 10).await.unwrap(), 1);

    // Dead letter (script: ack + DLQ) and replay (script: DLQ → stream).
    let poisoned = &recovered[1];
    let dl_id = q
        .dead_letter_delivery(poisoned, "gave up (cluster test)")
        .await
        .unwrap();
    assert_eq!(q.stats().await.unwrap().dlq, 1);
    assert!(q.dlq_replay(&dl_id).await.unwrap().is_some());
    assert_eq!(q.stats().await.unwrap().dlq, 0);

    // The rest is acked; the retried and the replayed come back once each.
    c.ack(&[recovered[2].id.clone(), recovered[3].id.clone()])
        .await
        .unwrap();
    let back = read_n(&mut c, 2).await;
    let mut back_ids: Vec<_> = back.iter().map(|d| d.event_id().unwrap()).collect();
    back_ids.sort();
    let mut want = vec![env.event_id, poisoned.event_id().unwrap()];
    want.sort();
    assert_eq!(back_ids, want);
    c.ack(&back.iter().map(|d| d.id.clone()).collect::<Vec<_>>())
        .await
        .unwrap();

    let stats = q.stats().await.unwrap();
    assert_eq!(
        (stats.stream_len, stats.pending, stats.delayed, stats.dlq),
        (0, 0, 0, 0)
    );
}

#[tokio::test]
async fn feeds_and_leases_work_on_a_cluster() {
    let q = cluster_queue().await;
    // A blocking feed read (pooled connection) sees what is published.
    let start = q.feed_last_id(Feed::Changes).await.unwrap();
    let mut reader = q
        .feed_reader(Feed::Changes, start, Duration::from_millis(100))
        .await
        .unwrap();
    q.publish_feed(Feed::Changes, "hello").await.unwrap();
    let got = poll("the feed entry", async || {
        let entries = reader.next().await.unwrap();
        (!entries.is_empty()).then_some(entries)
    })
    .await;
    assert_eq!(got.len(), 1);

    // Leases (scripts comparing a token before deleting or extending).
    let leases = Leases::new(q.connection(), q.keys().prefix(), Duration::from_secs(5));
    let lease = leases
        .acquire("item:p:WSTG-INFO-01", Duration::from_millis(100))
        .await
        .unwrap()
        .unwrap();
    assert!(leases
        .acquire("item:p:WSTG-INFO-01", Duration::from_millis(50))
        .await
        .unwrap()
        .is_none());
    leases.release(lease).await;
    assert!(leases
        .acquire("item:p:WSTG-INFO-01", Duration::from_millis(100))
        .await
        .unwrap()
        .is_some());
}

/// The start-up checks read the nodes' settings through the cluster
/// connection: the test cluster keeps no AOF, which they must say, and
/// its default eviction policy is fine.
#[tokio::test]
async fn startup_checks_read_a_cluster() {
    let q = cluster_queue().await;
    let warnings = q.startup_warnings().await;
    assert!(
        warnings.iter().any(|w| w.contains("appendonly no")),
        "{warnings:?}"
    );
    assert!(
        !warnings.iter().any(|w| w.contains("could not")),
        "{warnings:?}"
    );
}
