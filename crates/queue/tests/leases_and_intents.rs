//! The one lease implementation and the write-ahead intents, against Redis.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use chrono::Utc;
use uuid::Uuid;
use wstg_domain::sync::InFlightWrite;
use wstg_domain::Status;
use wstg_queue::Leases;

fn write(status: Status) -> InFlightWrite {
    InFlightWrite {
        id: Uuid::now_v7(),
        finding_id: Some(7),
        status: Some(status),
        notes: None,
        tags: Some(vec![
            "wstg".into(),
            format!("wstg-status:{}", status.as_str()),
        ]),
        sent_at: Utc::now(),
    }
}

/// Work longer than the lease's term keeps it (no waiter gets the item
/// meanwhile); a lease that was lost anyway stops the work.
#[tokio::test]
async fn a_lease_is_kept_while_its_work_runs_and_lost_work_stops() {
    let q = common::queue().await;
    let leases = Leases::new(
        q.connection(),
        q.keys().prefix(),
        Duration::from_millis(300),
    );
    let name = "item:p:WSTG-INFO-02";
    let lease = leases.acquire(name, Duration::ZERO).await.unwrap().unwrap();
    let waiter = leases.clone();
    // Four terms of work; a waiter tries for all of it and gets nothing.
    let (done, waited) = tokio::join!(
        leases.hold_during(&lease, tokio::time::sleep(Duration::from_millis(1200))),
        waiter.acquire(name, Duration::from_millis(1000)),
    );
    assert_eq!(done, Ok(()));
    assert!(waited.unwrap().is_none(), "held through the whole work");
    // Taken by another while stalled (here: deleted and retaken by hand):
    // the work is dropped at its next renewal.
    let key = lease.key().to_owned();
    let thief = leases.clone();
    let steal = async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let _: () = redis::cmd("SET")
            .arg(&key)
            .arg("someone-else")
            .query_async(&mut common::raw().await)
            .await
            .unwrap();
        thief
    };
    let started = std::time::Instant::now();
    let (lost, _) = tokio::join!(
        leases.hold_during(&lease, tokio::time::sleep(Duration::from_secs(5))),
        steal,
    );
    assert_eq!(lost, Err(wstg_queue::lease::LeaseLost));
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "dropped at the first renewal"
    );
    common::cleanup(&q).await;
}

#[tokio::test]
async fn a_lease_has_one_holder_until_released_or_expired() {
    let q = common::queue().await;
    let leases = Leases::new(
        q.connection(),
        q.keys().prefix(),
        Duration::from_millis(300),
    );
    let first = leases
        .acquire("item:p:WSTG-INFO-01", Duration::ZERO)
        .await
        .unwrap()
        .expect("free");
    assert_eq!(first.key(), q.keys().item_lock("p", "WSTG-INFO-01"));
    assert!(leases
        .acquire("item:p:WSTG-INFO-01", Duration::from_millis(20))
        .await
        .unwrap()
        .is_none());
    leases.release(first).await;
    let second = leases
        .acquire("item:p:WSTG-INFO-01", Duration::ZERO)
        .await
        .unwrap()
        .expect("released");
    // Kept: still held after the first term would have ended.
    leases.keep(second).await;
    // A named holder (the poller's way): take, renew, refuse another.
    let key = q.keys().poller_lease("p");
    assert!(leases.hold(&key, "a").await.unwrap());
    assert!(leases.hold(&key, "a").await.unwrap());
    assert!(!leases.hold(&key, "b").await.unwrap());
    assert_eq!(leases.holder_of(&key).await.unwrap().as_deref(), Some("a"));
    leases.release_held(&key, "b").await;
    assert_eq!(leases.holder_of(&key).await.unwrap().as_deref(), Some("a"));
    // Expired: the other takes it.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(leases.hold(&key, "b").await.unwrap());
    common::cleanup(&q).await;
}

#[tokio::test]
async fn intents_are_recorded_listed_oldest_first_cleared_and_expire() {
    let q = common::queue().await;
    let (a, b) = (write(Status::Done), write(Status::Blocked));
    q.record_intent("p", "WSTG-INFO-01", &a).await.unwrap();
    q.record_intent("p", "WSTG-INFO-01", &b).await.unwrap();
    assert_eq!(
        q.intents("p", "WSTG-INFO-01").await.unwrap(),
        vec![a.clone(), b.clone()]
    );
    assert!(q.intents("p", "WSTG-INFO-02").await.unwrap().is_empty());
    q.clear_intent("p", "WSTG-INFO-01", a.id).await.unwrap();
    assert_eq!(q.intents("p", "WSTG-INFO-01").await.unwrap(), vec![b]);
    let ttl: i64 = redis::cmd("PTTL")
        .arg(q.keys().intents("p", "WSTG-INFO-01"))
        .query_async(&mut q.connection())
        .await
        .unwrap();
    assert!(
        ttl > 0 && ttl <= wstg_queue::intents::TTL.as_millis() as i64,
        "{ttl}"
    );
    // Bounded per item: the oldest go first.
    let many: Vec<InFlightWrite> = (0..wstg_queue::intents::KEEP + 3)
        .map(|_| write(Status::InProgress))
        .collect();
    for w in &many {
        q.record_intent("p", "WSTG-INFO-03", w).await.unwrap();
    }
    let kept = q.intents("p", "WSTG-INFO-03").await.unwrap();
    assert_eq!(kept.len(), wstg_queue::intents::KEEP);
    assert_eq!(kept.first(), many.get(3));
    common::cleanup(&q).await;
}
