//! Publishing and consuming: reads, acks, the group split, reclaiming stuck
//! entries, poison, long BLOCKs and connection loss.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use common::*;
use wstg_queue::QueueConfig;

#[tokio::test]
async fn publish_read_ack_leaves_nothing_behind() {
    let q = queue().await;
    let sent: Vec<_> = (0..3).map(envelope).collect();
    let mut ids = Vec::new();
    for env in &sent {
        ids.push(q.publish(env).await.unwrap());
    }

    let mut c = q.consumer("c1").await.unwrap();
    let got = read_n(&mut c, 3).await;
    assert_eq!(got.iter().map(|d| d.id.clone()).collect::<Vec<_>>(), ids);
    for (d, env) in got.iter().zip(&sent) {
        assert_eq!(d.envelope.as_ref().unwrap(), env);
        assert_eq!(d.deliveries, 1);
        assert_eq!(d.event_id(), Some(env.event_id));
    }
    assert_eq!(pending(&q).await, 3);

    c.ack(&ids).await.unwrap();
    assert_eq!(xlen(&q.keys().events).await, 0, "acked entries are deleted");
    assert_eq!(pending(&q).await, 0);
    assert!(c.read().await.unwrap().is_empty());
    // Acking again is a no-op.
    c.ack(&ids).await.unwrap();
    cleanup(&q).await;
}

#[tokio::test]
async fn stream_entries_are_readable_json_with_event_id() {
    let q = queue().await;
    let env = envelope(1);
    let id = q.publish(&env).await.unwrap();
    let entries: Vec<(String, Vec<(String, String)>)> = redis::cmd("XRANGE")
        .arg(&q.keys().events)
        .arg("-")
        .arg("+")
        .query_async(&mut raw().await)
        .await
        .unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].0, id);
    let fields: std::collections::HashMap<_, _> = entries[0].1.iter().cloned().collect();
    let json: serde_json::Value = serde_json::from_str(&fields["data"]).unwrap();
    assert_eq!(json["type"], "reconcile");
    assert_eq!(fields["event_id"], env.event_id.to_string());
    cleanup(&q).await;
}

#[tokio::test]
async fn two_consumers_split_a_batch_without_overlap() {
    let q = queue_with(QueueConfig {
        batch: 10,
        ..config()
    })
    .await;
    let mut all = HashSet::new();
    for n in 0..50 {
        all.insert(q.publish(&envelope(n)).await.unwrap());
    }

    // Alternating reads: each gets its own batches.
    let mut c1 = q.consumer("c1").await.unwrap();
    let mut c2 = q.consumer("c2").await.unwrap();
    let mut got1 = HashSet::new();
    let mut got2 = HashSet::new();
    loop {
        let b1 = c1.read().await.unwrap();
        let b2 = c2.read().await.unwrap();
        assert!(b1.len() <= 10 && b2.len() <= 10, "COUNT is honoured");
        if b1.is_empty() && b2.is_empty() {
            break;
        }
        got1.extend(b1.into_iter().map(|d| d.id));
        got2.extend(b2.into_iter().map(|d| d.id));
    }
    // Five batches of ten, handed out c1, c2, c1, c2, c1.
    assert_eq!(got1.len(), 30);
    assert_eq!(got2.len(), 20);
    assert!(got1.is_disjoint(&got2));
    assert_eq!(&got1 | &got2, all);

    // Concurrent readers: still every entry exactly once.
    let mut more = HashSet::new();
    for n in 0..200 {
        more.insert(q.publish(&envelope(n)).await.unwrap());
    }
    let reader = |mut c: wstg_queue::Consumer| async move {
        let mut ids = Vec::new();
        loop {
            let b = c.read().await.unwrap();
            if b.is_empty() {
                return ids;
            }
            ids.extend(b.into_iter().map(|d| d.id));
        }
    };
    let (a, b) = tokio::join!(tokio::spawn(reader(c1)), tokio::spawn(reader(c2)));
    let (a, b) = (a.unwrap(), b.unwrap());
    let sa: HashSet<_> = a.iter().cloned().collect();
    let sb: HashSet<_> = b.iter().cloned().collect();
    assert_eq!(sa.len(), a.len());
    assert_eq!(sb.len(), b.len());
    assert!(sa.is_disjoint(&sb));
    assert_eq!(&sa | &sb, more);
    cleanup(&q).await;
}

#[tokio::test]
async fn unacked_entry_is_reclaimed_after_min_idle_with_rising_delivery_count() {
    let q = queue().await; // claim_min_idle 200 ms
    let env = envelope(1);
    let id = q.publish(&env).await.unwrap();

    let mut dead = q.consumer("dies").await.unwrap();
    // Before the delivery: the entry's idle time starts at the delivery, so
    // a claim after 200 ms of idleness is at least 200 ms after this.
    let started = Instant::now();
    let first = read_n(&mut dead, 1).await;
    assert_eq!(first[0].deliveries, 1);

    let mut rescuer = q.consumer("rescuer").await.unwrap();
    // Not idle long enough yet: nothing to claim.
    assert!(rescuer.claim_stale().await.unwrap().is_empty());

    let claimed = claim_some(&mut rescuer).await;
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].id, id);
    assert_eq!(claimed[0].envelope.as_ref().unwrap(), &env);
    assert_eq!(claimed[0].deliveries, 2);
    assert!(!claimed[0].exceeded(2));
    assert!(claimed[0].exceeded(1));

    // The original owner's late ack still works (any member may ack).
    dead.ack(std::slice::from_ref(&id)).await.unwrap();
    assert_eq!(pending(&q).await, 0);
    cleanup(&q).await;
}

#[tokio::test]
async fn delivery_count_keeps_rising_across_reclaims() {
    let q = queue().await;
    let id = q.publish(&envelope(1)).await.unwrap();
    let mut a = q.consumer("a").await.unwrap();
    let mut b = q.consumer("b").await.unwrap();
    read_n(&mut a, 1).await;
    let mut counts = Vec::new();
    for round in 0..3 {
        let c = if round % 2 == 0 { &mut b } else { &mut a };
        let got = claim_some(c).await;
        assert_eq!(got[0].id, id);
        counts.push(got[0].deliveries);
    }
    assert_eq!(counts, vec![2, 3, 4]);
    cleanup(&q).await;
}

#[tokio::test]
async fn poison_entries_surface_as_decode_errors_and_can_be_dead_lettered() {
    let q = queue().await;
    let mut conn = raw().await;
    let bad_json: String = redis::cmd("XADD")
        .arg(&q.keys().events)
        .arg("*")
        .arg("data")
        .arg("this is not json")
        .query_async(&mut conn)
        .await
        .unwrap();
    let no_data: String = redis::cmd("XADD")
        .arg(&q.keys().events)
        .arg("*")
        .arg("something")
        .arg("else")
        .query_async(&mut conn)
        .await
        .unwrap();
    let good = q.publish(&envelope(1)).await.unwrap();

    let mut c = q.consumer("c").await.unwrap();
    let got = read_n(&mut c, 3).await;
    assert_eq!(got[0].id, bad_json);
    assert_eq!(got[0].raw, "this is not json");
    assert!(got[0].envelope.is_err());
    assert_eq!(got[1].id, no_data);
    assert!(got[1]
        .envelope
        .as_ref()
        .unwrap_err()
        .to_string()
        .contains("something"));
    assert_eq!(got[2].id, good);
    assert!(got[2].envelope.is_ok());

    for d in &got[..2] {
        q.dead_letter_delivery(d, "undecodable").await.unwrap();
    }
    c.ack(&[good]).await.unwrap();
    assert_eq!(pending(&q).await, 0, "dead-lettering acked the poison");
    assert_eq!(xlen(&q.keys().events).await, 0);
    let dlq = q.dlq_list(10).await.unwrap();
    assert_eq!(dlq.len(), 2);
    assert_eq!(dlq[0].raw, "this is not json");
    assert_eq!(dlq[0].envelope, None);
    assert_eq!(dlq[0].attempts, 1, "one delivery");
    assert_eq!(dlq[0].source_id.as_deref(), Some(bad_json.as_str()));
    cleanup(&q).await;
}

#[tokio::test]
async fn block_longer_than_the_default_response_timeout_returns_empty() {
    let q = queue_with(QueueConfig {
        block: Duration::from_millis(1500),
        ..config()
    })
    .await;
    let mut c = q.consumer("patient").await.unwrap();
    let started = Instant::now();
    let got = c.read().await.expect("an empty BLOCK is not an error");
    assert!(got.is_empty());
    assert!(
        started.elapsed() >= Duration::from_millis(1400),
        "the read really blocked ({:?})",
        started.elapsed()
    );

    // An entry arriving during the BLOCK ends it early.
    let publisher = q.clone();
    let env = envelope(1);
    let started = Instant::now();
    let (got, _) = tokio::join!(c.read(), publisher.publish(&env));
    let mut got = got.unwrap();
    if got.is_empty() {
        // The publish won the race to Redis before the read was sent? Then
        // the read returned it at once; otherwise read once more.
        got = c.read().await.unwrap();
    }
    assert_eq!(got.len(), 1);
    assert!(started.elapsed() < Duration::from_millis(1500) * 2);
    cleanup(&q).await;
}

/// The consumer's Redis client id, found by its connection name.
async fn client_id(consumer: &str) -> Option<i64> {
    let list: String = redis::cmd("CLIENT")
        .arg("LIST")
        .query_async(&mut raw().await)
        .await
        .unwrap();
    // Pooled connections are named `wstg:<prefix>:consumer:<name>`.
    let suffix = format!(":consumer:{consumer}");
    list.lines()
        .find(|l| {
            l.split(' ').any(|f| {
                f.strip_prefix("name=")
                    .is_some_and(|n| n.starts_with("wstg:") && n.ends_with(&suffix))
            })
        })
        .and_then(|l| l.split(' ').find_map(|f| f.strip_prefix("id=")))
        .and_then(|id| id.parse().ok())
}

async fn kill(id: i64) {
    let _: i64 = redis::cmd("CLIENT")
        .arg("KILL")
        .arg("ID")
        .arg(id)
        .query_async(&mut raw().await)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_lost_connection_is_a_transient_error_and_the_next_call_reconnects() {
    let q = queue().await;
    let name = format!("victim-{}", uuid::Uuid::new_v4().simple());
    let mut c = q.consumer(&name).await.unwrap();
    let id = client_id(&name)
        .await
        .expect("consumer connection is named");
    kill(id).await;

    let err = poll("read to fail", async || c.read().await.err()).await;
    assert!(err.is_transient(), "{err}");

    let sent = q.publish(&envelope(1)).await.unwrap();
    let got = read_n(&mut c, 1).await;
    assert_eq!(got[0].id, sent);
    let new_id = client_id(&name)
        .await
        .expect("reconnected under the same name");
    assert_ne!(new_id, id);
    c.ack(&[sent]).await.unwrap();
    assert_eq!(pending(&q).await, 0);
    cleanup(&q).await;
}

#[tokio::test]
async fn a_connection_killed_mid_block_fails_the_read_promptly() {
    let q = queue_with(QueueConfig {
        block: Duration::from_secs(2),
        ..config()
    })
    .await;
    let name = format!("blocked-{}", uuid::Uuid::new_v4().simple());
    let mut c = q.consumer(&name).await.unwrap();
    let id = client_id(&name).await.unwrap();
    let reader = tokio::spawn(async move {
        let started = Instant::now();
        let r = c.read().await;
        (r.map(|v| v.len()), started.elapsed(), c)
    });
    // Kill once the server shows the connection inside XREADGROUP.
    test_support::eventually_async(Duration::from_secs(5), "consumer to block", || async {
        let list: String = redis::cmd("CLIENT")
            .arg("LIST")
            .query_async(&mut raw().await)
            .await
            .unwrap();
        list.lines()
            .any(|l| l.contains(&format!("id={id} ")) && l.contains("cmd=xreadgroup"))
            .then_some(())
    })
    .await;
    kill(id).await;
    let (r, took, mut c) = reader.await.unwrap();
    let err = r.expect_err("the read lost its connection");
    assert!(err.is_transient(), "{err}");
    assert!(took < Duration::from_secs(2), "failed promptly ({took:?})");
    c.reconnect().await.unwrap();
    assert!(c.read().await.unwrap().is_empty());
    cleanup(&q).await;
}

#[tokio::test]
async fn a_deleted_stream_and_group_are_recreated_without_losing_new_entries() {
    let q = queue().await;
    let mut c = q.consumer("c").await.unwrap();
    let _: () = redis::cmd("DEL")
        .arg(&q.keys().events)
        .query_async(&mut raw().await)
        .await
        .unwrap();
    // XADD recreates the stream without the group; the consumer recreates
    // the group from id 0 and still sees this entry.
    let id = q.publish(&envelope(1)).await.unwrap();
    let got = read_n(&mut c, 1).await;
    assert_eq!(got[0].id, id);

    let _: () = redis::cmd("DEL")
        .arg(&q.keys().events)
        .query_async(&mut raw().await)
        .await
        .unwrap();
    assert!(c.claim_stale().await.unwrap().is_empty());
    cleanup(&q).await;
}

#[tokio::test]
async fn pending_entries_whose_data_was_deleted_are_acked_away_by_claim() {
    let q = queue().await;
    let id = q.publish(&envelope(1)).await.unwrap();
    let mut a = q.consumer("a").await.unwrap();
    read_n(&mut a, 1).await;
    // Deleted behind the group's back (trim, operator XDEL).
    let _: u64 = redis::cmd("XDEL")
        .arg(&q.keys().events)
        .arg(&id)
        .query_async(&mut raw().await)
        .await
        .unwrap();
    assert_eq!(pending(&q).await, 1);
    let mut b = q.consumer("b").await.unwrap();
    poll("PEL to empty", async || {
        assert!(
            b.claim_stale().await.unwrap().is_empty(),
            "nothing to deliver"
        );
        (pending(&q).await == 0).then_some(())
    })
    .await;
    cleanup(&q).await;
}

/// A consumer counts in the group from the moment it joins, before it is
/// handed anything (Redis 7.0 alone would register it at its first entry),
/// so the dashboard shows every running worker from its start.
#[tokio::test]
async fn a_consumer_counts_from_the_moment_it_joins() {
    let q = queue_with(config()).await;
    assert_eq!(q.stats().await.unwrap().consumers, 0);
    let _a = q.consumer("a").await.unwrap();
    let _b = q.consumer("b").await.unwrap();
    assert_eq!(q.stats().await.unwrap().consumers, 2);
    cleanup(&q).await;
}

#[tokio::test]
async fn idle_consumers_without_pending_work_are_pruned() {
    let q = queue_with(QueueConfig {
        batch: 1,
        ..config()
    })
    .await;
    q.publish(&envelope(1)).await.unwrap();
    q.publish(&envelope(2)).await.unwrap();
    let mut busy = q.consumer("busy").await.unwrap();
    read_n(&mut busy, 1).await; // holds one pending entry
    let mut idle = q.consumer("idle").await.unwrap();
    let done = read_n(&mut idle, 1).await;
    idle.ack(&[done[0].id.clone()]).await.unwrap();
    assert_eq!(q.stats().await.unwrap().consumers, 2);

    let pruned = q.prune_consumers(Duration::ZERO).await.unwrap();
    assert_eq!(pruned, 1, "only the consumer without pending entries");
    let stats = q.stats().await.unwrap();
    assert_eq!(stats.consumers, 1);
    assert_eq!(stats.pending, 1);
    // A long idle threshold prunes nobody.
    assert_eq!(
        q.prune_consumers(Duration::from_secs(3600)).await.unwrap(),
        0
    );
    cleanup(&q).await;
}

/// A live holder's heartbeat keeps its entries from being reclaimed, however
/// long it works on them; once it stops, they are reclaimed as usual. An
/// entry someone else claimed in the meantime is not taken back.
#[tokio::test]
async fn held_entries_touched_by_their_holder_are_not_reclaimed() {
    let q = queue().await; // claim_min_idle 200 ms
    let id = q.publish(&envelope(1)).await.unwrap();
    let mut holder = q.consumer("holder").await.unwrap();
    let mut other = q.consumer("other").await.unwrap();
    read_n(&mut holder, 1).await;
    let held = vec![id.clone()];
    // Six times the idle limit in hand, touched every 100 ms.
    for _ in 0..12 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(q.touch_held("holder", &held).await.unwrap(), 1);
        assert!(
            other.claim_stale().await.unwrap().is_empty(),
            "an entry whose holder is alive is not reclaimed"
        );
    }
    // The holder stops touching: the entry is reclaimed, delivered twice.
    let claimed = claim_some(&mut other).await;
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].id, id);
    assert_eq!(
        claimed[0].deliveries, 2,
        "touching does not count as a delivery"
    );
    // The old holder's heartbeat no longer applies to it.
    assert_eq!(q.touch_held("holder", &held).await.unwrap(), 0);
    let owner: Vec<redis::Value> = redis::cmd("XPENDING")
        .arg(&q.keys().events)
        .arg(wstg_queue::GROUP)
        .arg("-")
        .arg("+")
        .arg(10)
        .query_async(&mut raw().await)
        .await
        .unwrap();
    assert_eq!(owner.len(), 1);
    assert!(
        format!("{owner:?}").contains("other"),
        "still the new holder's: {owner:?}"
    );
    // Any member may ack, on the shared connection too.
    q.ack(&held).await.unwrap();
    assert_eq!(pending(&q).await, 0);
    cleanup(&q).await;
}
