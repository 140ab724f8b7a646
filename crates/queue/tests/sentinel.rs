//! A Sentinel-managed primary fails over while events are published and
//! consumed (scripts/redis-sentinel.sh, started by the test): no event
//! that a publish reported done is lost, and none is applied twice.
//!
//! "Applied" is what the worker does: record the event's effect once per
//! event id (its store dedups by id), then ack. Delivery stays at least
//! once: a read or an ack that reached the old primary after the replica
//! was promoted is lost with it, and the new primary delivers the entry
//! again; such redeliveries are counted and printed, and every one of them
//! must be caught by the id (0 effects applied twice), with nothing left in
//! the stream at the end.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use tokio::time::Instant;
use uuid::Uuid;
use wstg_queue::{Queue, QueueConfig};

const MASTER: &str = "wstgtest";
const EVENTS: usize = 300;

async fn sentinel_cmd(sentinel: &str, args: &[&str]) -> redis::Value {
    let client = redis::Client::open(format!("redis://{sentinel}")).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let mut cmd = redis::cmd("SENTINEL");
    for a in args {
        cmd.arg(*a);
    }
    cmd.query_async(&mut conn).await.unwrap()
}

async fn master_addr(sentinel: &str) -> String {
    let v = sentinel_cmd(sentinel, &["GET-MASTER-ADDR-BY-NAME", MASTER]).await;
    let (host, port): (String, u16) = redis::from_redis_value(v).unwrap();
    format!("{host}:{port}")
}

/// Publishes `env` until a publish is confirmed (transient errors are
/// retried, as the ingest's clients do on a 503), at most 30 s.
async fn publish_until_done(q: &Queue, env: &wstg_domain::Envelope, retries: &Mutex<u32>) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut failures = 0;
    loop {
        match q.publish(env).await {
            Ok(_) => return,
            Err(e) if e.is_transient() && Instant::now() < deadline => {
                failures += 1;
                *retries.lock().unwrap() += 1;
                tokio::time::sleep(wstg_queue::reconnect_delay(failures)).await;
            }
            Err(e) => panic!("publish of {} failed for good: {e}", env.event_id),
        }
    }
}

/// One failover at a time on the shared setup: the tests take turns.
static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Waits until a replica is in sync with the master, as the sentinels see
/// it: the setup can fail over (again).
async fn ready_for_failover(sentinel: &str) {
    test_support::eventually_async(Duration::from_secs(30), "a replica in sync", || async {
        let v = sentinel_cmd(sentinel, &["REPLICAS", MASTER]).await;
        let replicas: Vec<HashMap<String, String>> = redis::from_redis_value(v).ok()?;
        replicas
            .iter()
            .any(|r| {
                r.get("flags").map(String::as_str) == Some("slave")
                    && r.get("master-link-status").map(String::as_str) == Some("ok")
            })
            .then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_failover_in_the_middle_loses_and_duplicates_nothing() {
    let _turn = TURN.lock().await;
    let url = test_support::redis_topology::sentinel_url();
    let sentinels = test_support::redis_topology::sentinels_of(&url);
    ready_for_failover(&sentinels[0]).await;
    let cfg = QueueConfig {
        redis_url: url,
        claim_min_idle: Duration::from_secs(1),
        ..config()
    };
    let q = queue_with(cfg).await;
    let before = master_addr(&sentinels[0]).await;

    // The worker: applies each event once by id, acks, takes over stale
    // entries, and backs off on transient errors.
    let applied: Arc<Mutex<HashMap<Uuid, u32>>> = Arc::default();
    let delivered: Arc<Mutex<u64>> = Arc::default();
    let stop = tokio_util::sync::CancellationToken::new();
    let worker = {
        let (q, applied, delivered, stop) =
            (q.clone(), applied.clone(), delivered.clone(), stop.clone());
        tokio::spawn(async move {
            let mut consumer = loop {
                if let Ok(c) = q.consumer("sentinel-worker").await {
                    break c;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            };
            let mut failures = 0;
            let mut last_claim = Instant::now();
            while !stop.is_cancelled() {
                let batch = if last_claim.elapsed() > Duration::from_millis(500) {
                    last_claim = Instant::now();
                    consumer.claim_stale().await
                } else {
                    consumer.read().await
                };
                let batch = match batch {
                    Ok(b) => {
                        failures = 0;
                        b
                    }
                    Err(e) if e.is_transient() => {
                        failures += 1;
                        tokio::time::sleep(wstg_queue::reconnect_delay(failures)).await;
                        continue;
                    }
                    Err(e) => panic!("worker: {e}"),
                };
                for d in &batch {
                    *delivered.lock().unwrap() += 1;
                    // The store's dedup by event id: a redelivered event
                    // is acked, not applied again.
                    applied
                        .lock()
                        .unwrap()
                        .entry(d.event_id().unwrap())
                        .or_insert(1);
                }
                let ids: Vec<String> = batch.iter().map(|d| d.id.clone()).collect();
                if let Err(e) = consumer.ack(&ids).await {
                    assert!(e.is_transient(), "ack: {e}");
                }
            }
        })
    };

    // The publisher: EVENTS events at a steady pace; the failover starts a
    // third of the way through.
    let retries = Mutex::new(0);
    let mut published = HashSet::new();
    let mut pace = tokio::time::interval(Duration::from_millis(15));
    for n in 0..EVENTS {
        pace.tick().await;
        if n == EVENTS / 3 {
            sentinel_cmd(&sentinels[0], &["FAILOVER", MASTER]).await;
        }
        let env = envelope(n);
        publish_until_done(&q, &env, &retries).await;
        published.insert(env.event_id);
    }

    // The sentinels name a new master (the failover really happened).
    let after = test_support::eventually_async(Duration::from_secs(30), "a new master", || async {
        let now = master_addr(&sentinels[0]).await;
        (now != before).then_some(now)
    })
    .await;

    // Every published event is applied, within a bound that covers the
    // old primary's demotion (the sentinels wait ~8 s before reconfiguring
    // it, and the worker's connection follows when it is cut).
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let done = {
            let applied = applied.lock().unwrap();
            published
                .iter()
                .filter(|id| applied.contains_key(id))
                .count()
        };
        if done == published.len() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "lost: {} of {} published events never applied",
            published.len() - done,
            published.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Every entry, redeliveries included, ends acked on the new primary.
    test_support::eventually_async(Duration::from_secs(30), "an empty stream", || async {
        let s = q.stats().await.ok()?;
        (s.stream_len == 0 && s.pending == 0 && s.delayed == 0).then_some(())
    })
    .await;
    stop.cancel();
    worker.await.unwrap();

    let applied = applied.lock().unwrap();
    let twice = applied.values().filter(|n| **n > 1).count();
    assert!(
        before != after,
        "the sentinels still name {before}: no failover happened"
    );
    let unknown = applied.keys().filter(|id| !published.contains(id)).count();
    let delivered = *delivered.lock().unwrap();
    println!(
        "failover {before} -> {after}: {} published, {} applied, 0 lost, {twice} applied twice, \
         {} deliveries ({} redelivered), {} publish retries",
        published.len(),
        applied.len(),
        delivered,
        delivered.saturating_sub(applied.len() as u64),
        retries.lock().unwrap()
    );
    assert_eq!(twice, 0, "events applied twice");
    assert_eq!(unknown, 0, "events applied that were never published");
    assert_eq!(applied.len(), EVENTS);
}

/// Without a worker reading from the old primary, what it accepted after
/// the replica was promoted is gone once the sentinels demote it: only
/// publishes a replica confirmed may count as done. Every event published
/// across the failover is in the new primary's stream exactly once.
#[tokio::test]
async fn publishes_confirmed_across_a_failover_are_kept_once() {
    let _turn = TURN.lock().await;
    let url = test_support::redis_topology::sentinel_url();
    let sentinels = test_support::redis_topology::sentinels_of(&url);
    ready_for_failover(&sentinels[0]).await;
    let q = queue_with(QueueConfig {
        redis_url: url,
        ..config()
    })
    .await;
    let before = master_addr(&sentinels[0]).await;

    let retries = Mutex::new(0);
    let mut published = HashSet::new();
    let mut pace = tokio::time::interval(Duration::from_millis(15));
    for n in 0..EVENTS {
        pace.tick().await;
        if n == EVENTS / 3 {
            sentinel_cmd(&sentinels[0], &["FAILOVER", MASTER]).await;
        }
        let env = envelope(n);
        publish_until_done(&q, &env, &retries).await;
        published.insert(env.event_id);
    }
    // The sentinels finish a requested failover a moment after it is asked
    // for, which on a loaded machine can be after the last publish: wait
    // for it (still failing if none happens).
    let after = test_support::eventually_async(
        Duration::from_secs(30),
        "the sentinels to name a new primary (a failover)",
        || async {
            let now = master_addr(&sentinels[0]).await;
            (now != before).then_some(now)
        },
    )
    .await;
    // The old primary is demoted (it then drops what only it had).
    ready_for_failover(&sentinels[0]).await;

    // Read everything on the new primary, once, without acking.
    let mut c = q.consumer("reader").await.unwrap();
    let mut seen: HashMap<Uuid, u32> = HashMap::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while seen.len() < published.len() && Instant::now() < deadline {
        match c.read().await {
            Ok(batch) => {
                for d in batch {
                    *seen.entry(d.event_id().unwrap()).or_insert(0) += 1;
                }
            }
            Err(e) if e.is_transient() => {}
            Err(e) => panic!("read: {e}"),
        }
    }
    // Whatever else is in the stream (a second copy) arrives in the same
    // reads. (The first command after the demotion may meet the cut
    // connection: retried.)
    let stats = test_support::eventually_async(Duration::from_secs(10), "stats", || async {
        q.stats().await.ok()
    })
    .await;
    let lost = published.iter().filter(|id| !seen.contains_key(id)).count();
    let twice = seen.values().filter(|n| **n > 1).count();
    println!(
        "failover {before} -> {after}: {} published, {lost} lost, {twice} twice, stream {}, {} publish retries",
        published.len(),
        stats.stream_len,
        retries.lock().unwrap()
    );
    assert_eq!(lost, 0, "published events missing after the failover");
    assert_eq!(twice, 0, "events in the stream twice");
    assert_eq!(
        stats.stream_len, EVENTS as u64,
        "entries beyond the published events"
    );
}
