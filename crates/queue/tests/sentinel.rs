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

async fn try_sentinel_cmd(sentinel: &str, args: &[&str]) -> redis::RedisResult<redis::Value> {
    let client = redis::Client::open(format!("redis://{sentinel}"))?;
    let mut conn = client.get_multiplexed_async_connection().await?;
    let mut cmd = redis::cmd("SENTINEL");
    for a in args {
        cmd.arg(*a);
    }
    cmd.query_async(&mut conn).await
}

async fn sentinel_cmd(sentinel: &str, args: &[&str]) -> redis::Value {
    try_sentinel_cmd(sentinel, args)
        .await
        .unwrap_or_else(|e| panic!("SENTINEL {args:?}: {e}"))
}

async fn master_addr(sentinel: &str) -> String {
    let v = sentinel_cmd(sentinel, &["GET-MASTER-ADDR-BY-NAME", MASTER]).await;
    let (host, port): (String, u16) = redis::from_redis_value(v).unwrap();
    format!("{host}:{port}")
}

/// How a test publishes: plainly (one XADD: at least once), or every other
/// event with an idempotency key (the key's record and the entry are one
/// script's write: exactly once).
#[derive(Clone, Copy, PartialEq)]
enum Publishing {
    Plain,
    HalfWithKeys,
}

impl Publishing {
    fn keyed(self, n: usize) -> bool {
        self == Publishing::HalfWithKeys && n % 2 == 1
    }
}

/// Publishes `env` until a publish is confirmed (transient errors are
/// retried, as the ingest's clients do on a 503), at most 30 s.
async fn publish_until_done(
    q: &Queue,
    env: &wstg_domain::Envelope,
    keyed: bool,
    retries: &Mutex<u32>,
) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut failures = 0;
    loop {
        let key = env.event_id.to_string();
        let done = if keyed {
            q.publish_idempotent(env, &key, "fingerprint", Duration::from_secs(600))
                .await
                .map(drop)
        } else {
            q.publish(env).await.map(drop)
        };
        match done {
            Ok(()) => return,
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

/// What [`publish_across_a_failover`] did.
struct Published {
    ids: HashSet<Uuid>,
    /// The events published with an idempotency key.
    keyed: HashSet<Uuid>,
    /// The primary the sentinels named once the failover happened.
    after: String,
    /// Publishes that met a transient error and were tried again.
    retries: u32,
}

/// Publishes at least `EVENTS` events at a steady pace, asks the sentinels
/// for a failover a third of the way through, and goes on publishing until
/// they name a new primary: the publishes span the failover. A requested
/// failover can abort (a promotion slower than the setup's 5 s failover
/// timeout on a loaded machine): it is asked for again every 10 s, for at
/// most 90 s, and the test fails with the sentinels' logs if none happens.
async fn publish_across_a_failover(
    q: &Queue,
    sentinel: &str,
    before: &str,
    publishing: Publishing,
) -> Published {
    let retries = Mutex::new(0);
    let mut ids = HashSet::new();
    let mut keyed = HashSet::new();
    let mut pace = tokio::time::interval(Duration::from_millis(15));
    let mut first_request: Option<Instant> = None;
    let mut last_request = Instant::now();
    let mut after: Option<String> = None;
    let mut n = 0;
    while n < EVENTS || after.is_none() {
        pace.tick().await;
        if n == EVENTS / 3 {
            sentinel_cmd(sentinel, &["FAILOVER", MASTER]).await;
            first_request = Some(Instant::now());
            last_request = Instant::now();
        }
        if let (Some(first), None) = (first_request, &after) {
            let now = master_addr(sentinel).await;
            if now != before {
                after = Some(now);
            } else if first.elapsed() > Duration::from_secs(90) {
                panic!(
                    "the sentinels still name {before} 90 s after a failover was requested\n{}",
                    test_support::redis_topology::sentinel_logs(40)
                );
            } else if last_request.elapsed() > Duration::from_secs(10) {
                // Refused with INPROG while the aborted one winds down: fine.
                let _ = try_sentinel_cmd(sentinel, &["FAILOVER", MASTER]).await;
                last_request = Instant::now();
            }
        }
        let env = envelope(n);
        publish_until_done(q, &env, publishing.keyed(n), &retries).await;
        ids.insert(env.event_id);
        if publishing.keyed(n) {
            keyed.insert(env.event_id);
        }
        n += 1;
    }
    let retries = *retries.lock().unwrap();
    Published {
        ids,
        keyed,
        after: after.unwrap_or_default(),
        retries,
    }
}

/// Waits until the setup can fail over (again): every sentinel sees a
/// replica of the current master in sync, and saw it report itself a
/// replica. A sentinel that last polled the old primary's `INFO` before it
/// was demoted (every 10 s outside a failover) still takes it for a master
/// that has been one for long: when the next failover promotes it, that
/// sentinel turns it straight back into a replica, and the failover times
/// out (seen in CI as "no new primary in 30 s").
async fn ready_for_failover(sentinels: &[String]) {
    test_support::eventually_async(Duration::from_secs(30), "a replica in sync", || async {
        let master = master_addr(&sentinels[0]).await;
        let (_, master_port) = master.rsplit_once(':')?;
        for sentinel in sentinels {
            let v = sentinel_cmd(sentinel, &["REPLICAS", MASTER]).await;
            let replicas: Vec<HashMap<String, String>> = redis::from_redis_value(v).ok()?;
            let field =
                |r: &HashMap<String, String>, k: &str| r.get(k).cloned().unwrap_or_default();
            replicas
                .iter()
                .any(|r| {
                    field(r, "flags") == "slave"
                        && field(r, "role-reported") == "slave"
                        && field(r, "master-link-status") == "ok"
                        && field(r, "master-port") == master_port
                })
                .then_some(())?;
        }
        Some(())
    })
    .await;
}

#[tokio::test]
async fn a_failover_in_the_middle_loses_and_duplicates_nothing() {
    let _turn = TURN.lock().await;
    let url = test_support::redis_topology::sentinel_url();
    let sentinels = test_support::redis_topology::sentinels_of(&url);
    ready_for_failover(&sentinels).await;
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

    // The publisher, with the failover in the middle.
    let Published {
        ids: published,
        after,
        retries,
        ..
    } = publish_across_a_failover(&q, &sentinels[0], &before, Publishing::Plain).await;

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
    let unknown = applied.keys().filter(|id| !published.contains(id)).count();
    let delivered = *delivered.lock().unwrap();
    println!(
        "failover {before} -> {after}: {} published, {} applied, 0 lost, {twice} applied twice, \
         {} deliveries ({} redelivered), {} publish retries",
        published.len(),
        applied.len(),
        delivered,
        delivered.saturating_sub(applied.len() as u64),
        retries
    );
    assert_eq!(twice, 0, "events applied twice");
    assert_eq!(unknown, 0, "events applied that were never published");
    assert_eq!(applied.len(), published.len());
}

/// Without a worker reading from the old primary, what it accepted after
/// the replica was promoted is gone once the sentinels demote it: only
/// publishes a replica confirmed may count as done. After the failover the
/// new primary's stream holds every published event. A publish with an
/// idempotency key is there exactly once. A plain one is at least once: a
/// write the replica got but did not confirm in time (its `XDEL` then
/// reached only the old primary) survives beside the retried copy, which
/// the worker's dedup by event id catches (the test above); such copies
/// are counted and printed.
#[tokio::test]
async fn publishes_confirmed_across_a_failover_are_kept_once() {
    let _turn = TURN.lock().await;
    let url = test_support::redis_topology::sentinel_url();
    let sentinels = test_support::redis_topology::sentinels_of(&url);
    ready_for_failover(&sentinels).await;
    let q = queue_with(QueueConfig {
        redis_url: url,
        ..config()
    })
    .await;
    let before = master_addr(&sentinels[0]).await;

    let Published {
        ids: published,
        keyed: keyed_ids,
        after,
        retries,
    } = publish_across_a_failover(&q, &sentinels[0], &before, Publishing::HalfWithKeys).await;
    // The old primary is demoted (it then drops what only it had).
    ready_for_failover(&sentinels).await;

    // Read the new primary's whole stream, once, without acking. (The
    // first command after the demotion may meet the cut connection:
    // retried.)
    let stats = test_support::eventually_async(Duration::from_secs(10), "stats", || async {
        q.stats().await.ok()
    })
    .await;
    let mut c = q.consumer("reader").await.unwrap();
    let mut seen: HashMap<Uuid, u32> = HashMap::new();
    let mut entries = 0;
    let deadline = Instant::now() + Duration::from_secs(30);
    while entries < stats.stream_len && Instant::now() < deadline {
        match c.read().await {
            Ok(batch) => {
                for d in batch {
                    entries += 1;
                    *seen.entry(d.event_id().unwrap()).or_insert(0) += 1;
                }
            }
            Err(e) if e.is_transient() => {}
            Err(e) => panic!("read: {e}"),
        }
    }
    let lost = published.iter().filter(|id| !seen.contains_key(id)).count();
    let unknown = seen.keys().filter(|id| !published.contains(id)).count();
    let twice = |keyed: bool| {
        seen.iter()
            .filter(|(id, n)| **n > 1 && keyed_ids.contains(id) == keyed)
            .count()
    };
    println!(
        "failover {before} -> {after}: {} published ({} with a key), {lost} lost, \
         twice: {} with a key, {} plain; stream {}, {} publish retries",
        published.len(),
        keyed_ids.len(),
        twice(true),
        twice(false),
        stats.stream_len,
        retries
    );
    assert_eq!(entries, stats.stream_len, "entries left unread");
    assert_eq!(lost, 0, "published events missing after the failover");
    assert_eq!(unknown, 0, "entries that were never published");
    assert_eq!(
        twice(true),
        0,
        "events published with a key in the stream twice"
    );
}
