//! The fault-injection suite: real processes (dojo-sim, wstg-ingest, three
//! wstg-worker replicas), real Redis, a fresh SQLite store per case. Each case
//! injects one fault during a burst of tracker changes and then asserts, for
//! every accepted (202) event, that its effect is in DefectDojo (each item's
//! finding is in the state of the item's last accepted event), that no
//! finding is duplicated, and that the dead-letter queue holds exactly the
//! permanent failures. The measured rows go to docs/reliability.md.
//!
//! ```sh
//! cargo build --workspace --bins
//! cargo test -p wstg-bridge --test faults -- --nocapture   # prints the table rows
//! FAULT_OUTAGE_SECS=10 cargo test -p wstg-bridge --test faults   # a shorter DefectDojo outage
//! ```
//!
//! The cases run one after another (harness::SERIAL), so the drain times are
//! not two cases sharing the cores.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "faults/harness.rs"]
mod harness;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use harness::{
    item_ids, outage_secs, pending_of, Bed, BedOptions, ExpectDead, PrivateRedis, ADMIN_TOKEN,
    SERIAL,
};
use serde_json::{json, Value};
use wstg_domain::{
    Catalogue, CatalogueVersion, Envelope, EventKind, Notes, ProjectName, Status, TrackerChange,
};

const SETTLE: Duration = Duration::from_secs(180);

fn none() -> HashSet<String> {
    HashSet::new()
}

/// SIGKILL of one of three workers while they work through 1,000 events:
/// its unacknowledged messages are reclaimed (XAUTOCLAIM) by the others.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_of_a_worker_during_a_burst_of_1000_events() {
    let _serial = SERIAL.lock().await;
    let mut bed = Bed::start(
        "sigkill-burst",
        BedOptions {
            workers: 3,
            ..Default::default()
        },
    )
    .await;
    // DefectDojo answers in 20 ms, so the victim dies with calls in flight.
    bed.sim_put("latency", json!({"ms": 20})).await;
    let items = item_ids(97);
    let plan = bed.plan(&items, 1000, 0);

    let mut victim = bed.workers.remove(0);
    let pid = victim.child.id().unwrap();
    let (queue, http, dojo) = (bed.queue.clone(), bed.http.clone(), bed.dojo_url.clone());
    let killer = tokio::spawn(async move {
        // Mid-burst: DefectDojo is being written and the victim holds
        // delivered, unacknowledged messages.
        let pending = test_support::eventually_async(
            Duration::from_secs(60),
            "the victim holds unacknowledged work",
            || async {
                let p = pending_of(&queue, pid).await;
                let writes = common::dojo_writes(&http, &dojo).await;
                (p >= 10 && writes >= 20).then_some(p)
            },
        )
        .await;
        victim.signal("KILL").unwrap();
        let status = victim.wait(Duration::from_secs(10)).await.unwrap();
        (pending, status, Instant::now())
    });
    let burst_start = Instant::now();
    bed.post_all(plan, 16).await;
    let burst_done = Instant::now();
    let (pending_at_kill, status, killed_at) = killer.await.unwrap();
    assert!(!status.success(), "the worker was killed: {status}");
    assert!(pending_at_kill > 0);

    let settled = bed.settle(&none(), burst_done, SETTLE).await;
    let when = if killed_at <= burst_done {
        "while events were still being posted"
    } else {
        "after the last event was accepted"
    };
    bed.check_and_report(
        "SIGKILL of 1 of 3 workers during a burst of 1,000 events",
        &settled,
        &[],
        &format!(
            "burst posted in {:.1} s; killed {when}, holding {pending_at_kill} unacknowledged messages; reclaimed after the 8 s idle time",
            (burst_done - burst_start).as_secs_f64()
        ),
    );
    assert_eq!(bed.sent.len(), 1000);
    bed.stop().await;
}

/// Redis stopped (and started again on the same AOF) while events are
/// being posted and applied.
async fn redis_restart_case(case: &'static str, fault: &str, fsync: &'static str, signal: &str) {
    let _serial = SERIAL.lock().await;
    let mut redis = Some(PrivateRedis::start(fsync).await);
    let mut bed = Bed::start(
        case,
        BedOptions {
            workers: 3,
            redis_url: redis.as_ref().map(PrivateRedis::url),
            ..Default::default()
        },
    )
    .await;
    // Slow DefectDojo a little so a backlog is waiting when Redis goes.
    bed.sim_put("latency", json!({"ms": 20})).await;
    let items = item_ids(97);
    let plan = bed.plan(&items, 400, 0);
    let mut backlog = 0;
    let mut restart = None;
    for (i, chunk) in plan.chunks(50).enumerate() {
        if i == 3 {
            backlog = bed.queue.stats().await.map(|s| s.stream_len).unwrap_or(0);
            let mut redis = redis.take().unwrap();
            redis.stop(signal).await;
            // Redis stays away for 3 s, then comes back on its AOF.
            restart = Some(tokio::spawn(async move {
                tokio::time::sleep(Duration::from_secs(3)).await;
                redis.start_again().await;
                redis
            }));
        }
        bed.post_all(chunk.to_vec(), 16).await;
    }
    let burst_done = Instant::now();
    let _redis = restart.unwrap().await.unwrap();
    assert!(
        bed.unavailable > 0,
        "the ingest answered 503 while Redis was away"
    );
    assert!(backlog > 0, "a backlog was queued when Redis stopped");

    let settled = bed.settle(&none(), burst_done, SETTLE).await;
    bed.check_and_report(
        fault,
        &settled,
        &[],
        &format!(
            "{backlog} events queued when Redis stopped; Redis away 3 s; the tracker client saw {} × 503 + Retry-After and retried with the same Idempotency-Key",
            bed.unavailable
        ),
    );
    bed.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restarted_with_aof_during_a_burst() {
    redis_restart_case(
        "redis-restart",
        "Redis restarted (SIGTERM, AOF everysec) during a burst",
        "everysec",
        "TERM",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_crashed_with_aof_always_during_a_burst() {
    redis_restart_case(
        "redis-crash",
        "Redis crashed (SIGKILL, AOF always) during a burst",
        "always",
        "KILL",
    )
    .await;
}

/// The state of the published breakers, as `GET /api/wstg/status` says.
async fn breaker_state(bed: &Bed) -> String {
    bed.status().await["dojo"]["breaker"]["state"]
        .as_str()
        .unwrap_or("")
        .to_owned()
}

/// DefectDojo answers 500 to everything for FAULT_OUTAGE_SECS (30 s), then
/// recovers: the breaker opens (and the status says so), nothing is
/// dead-lettered, and the backlog drains in the newest state per item.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dojo_answers_500_for_an_outage_then_recovers() {
    let _serial = SERIAL.lock().await;
    let outage = Duration::from_secs(outage_secs());
    let mut bed = Bed::start(
        "dojo-500",
        BedOptions {
            workers: 3,
            ..Default::default()
        },
    )
    .await;
    let items = item_ids(97);
    bed.post_all(bed.plan(&items[..40], 40, 0), 16).await;
    let warm = bed.settle(&none(), Instant::now(), SETTLE).await;
    assert!(warm.obs.wrong.is_empty(), "{:?}", warm.obs.wrong);

    bed.faults(json!({"error_rate": 1.0, "error_status": 500}))
        .await;
    let outage_start = Instant::now();
    let before = bed.sim_stats().await;
    bed.post_all(bed.plan(&items, 300, 1), 32).await;
    test_support::eventually_async(
        outage,
        "the breaker opens and the status shows it",
        || async { (breaker_state(&bed).await == "open").then_some(()) },
    )
    .await;
    let (ok, out) = bed.wstgctl(&["--output", "json", "status"]).await;
    assert!(ok, "wstgctl status");
    let ctl: Value = serde_json::from_str(&out).unwrap();
    let ctl_state = ctl["dojo"]["breaker"]["state"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    assert!(
        ctl_state == "open" || ctl_state == "half_open",
        "wstgctl status shows the breaker: {ctl}"
    );
    // More changes while DefectDojo is still down.
    tokio::time::sleep_until((outage_start + outage / 2).into()).await;
    bed.post_all(bed.plan(&items, 100, 10), 32).await;
    tokio::time::sleep_until((outage_start + outage).into()).await;
    let during = bed.sim_stats().await;
    bed.clear_faults().await;
    let recovered = Instant::now();

    let settled = bed.settle(&none(), recovered, SETTLE).await;
    let calls = during["requests"].as_u64().unwrap() - before["requests"].as_u64().unwrap();
    let accepted_in_outage = 400;
    test_support::eventually_async(Duration::from_secs(30), "the breaker closes", || async {
        (breaker_state(&bed).await == "closed").then_some(())
    })
    .await;
    bed.check_and_report(
        &format!("DefectDojo answers 500 for {} s, then recovers", outage.as_secs()),
        &settled,
        &[],
        &format!(
            "{accepted_in_outage} events accepted during the outage; {calls} DefectDojo calls in the {} s (circuit breaker open, shown by the status and wstgctl)",
            outage.as_secs()
        ),
    );
    assert!(
        calls < accepted_in_outage,
        "the breaker stops the hammering: {calls} calls for {accepted_in_outage} events"
    );
    bed.stop().await;
}

/// DefectDojo throttles half the calls with 429 + Retry-After for 15 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dojo_throttles_with_429_and_retry_after() {
    let _serial = SERIAL.lock().await;
    let mut bed = Bed::start(
        "dojo-429",
        BedOptions {
            workers: 3,
            ..Default::default()
        },
    )
    .await;
    let items = item_ids(97);
    bed.faults(json!({"rate_429": 0.5, "retry_after_secs": 2}))
        .await;
    let start = Instant::now();
    bed.post_all(bed.plan(&items, 300, 0), 32).await;
    tokio::time::sleep_until((start + Duration::from_secs(15)).into()).await;
    let during = bed.sim_stats().await;
    bed.clear_faults().await;
    let cleared = Instant::now();
    let throttled = during["faults"].as_u64().unwrap();
    assert!(throttled > 0, "DefectDojo throttled calls");
    let settled = bed.settle(&none(), cleared, SETTLE).await;
    bed.check_and_report(
        "DefectDojo answers 429 (Retry-After: 2) to half the calls for 15 s",
        &settled,
        &[],
        &format!("{throttled} calls throttled"),
    );
    bed.stop().await;
}

/// DefectDojo answers after 2 s for 15 s while the client gives up after 1 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dojo_latency_of_2s_with_client_timeouts() {
    let _serial = SERIAL.lock().await;
    let mut bed = Bed::start(
        "dojo-latency",
        BedOptions {
            workers: 3,
            env: vec![("WSTG_DOJO_TIMEOUT_SECS", "1".into())],
            ..Default::default()
        },
    )
    .await;
    let items = item_ids(97);
    bed.post_all(bed.plan(&items[..40], 40, 0), 16).await;
    let warm = bed.settle(&none(), Instant::now(), SETTLE).await;
    assert!(warm.obs.wrong.is_empty(), "{:?}", warm.obs.wrong);

    bed.sim_put("latency", json!({"ms": 2000})).await;
    let start = Instant::now();
    bed.post_all(bed.plan(&items, 300, 1), 32).await;
    tokio::time::sleep_until((start + Duration::from_secs(15)).into()).await;
    bed.clear_faults().await;
    let cleared = Instant::now();
    let settled = bed.settle(&none(), cleared, SETTLE).await;
    bed.check_and_report(
        "DefectDojo latency 2 s with 1 s client timeouts for 15 s",
        &settled,
        &[],
        "every call timed out while slow; no finding created twice",
    );
    bed.stop().await;
}

/// SIGTERM to a worker in the middle of batches it cannot finish within its
/// shutdown deadline (3 s; DefectDojo answers in 600 ms): it exits 0 within
/// the deadline, acknowledges only what it finished, and the other replicas
/// take over the rest. The changes are queued before the victim starts, so
/// its first reads take whole batches (with batches in flight, workers
/// running while the changes trickle in read them a few at a time and may
/// never hold many); it applies 4 items at a time per batch, so a batch of
/// 100 takes ~15 s. The other two start once it holds its batches.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_mid_batch_exits_within_the_deadline_and_loses_nothing() {
    let _serial = SERIAL.lock().await;
    let deadline = Duration::from_secs(3);
    let mut bed = Bed::start(
        "sigterm",
        BedOptions {
            workers: 0,
            env: vec![
                (
                    "WSTG_WORKER_SHUTDOWN_DEADLINE_SECS",
                    deadline.as_secs().to_string(),
                ),
                ("WSTG_WORKER_CONCURRENCY", "4".to_owned()),
            ],
            ..Default::default()
        },
    )
    .await;
    bed.sim_put("latency", json!({"ms": 600})).await;
    let items = item_ids(97);
    bed.post_all(bed.plan(&items, 300, 0), 32).await;
    bed.add_worker().await;
    let mut victim = bed.workers.remove(0);
    let pid = victim.child.id().unwrap();
    let pending = test_support::eventually_async(
        Duration::from_secs(30),
        "the victim holds its batches",
        || async {
            let p = bed.pending_of(pid).await;
            (p >= 100).then_some(p)
        },
    )
    .await;
    bed.add_worker().await;
    bed.add_worker().await;
    victim.signal("TERM").unwrap();
    let asked = Instant::now();
    let status = victim
        .wait(deadline + Duration::from_secs(10))
        .await
        .unwrap();
    let took = asked.elapsed();
    assert!(status.success(), "exit 0 on SIGTERM: {status}");
    // The deadline, plus one XREADGROUP block and the exit.
    assert!(
        took <= deadline + Duration::from_secs(2),
        "stopped within the deadline: {took:?}"
    );
    // Normally the deadline cuts the batch short and its messages stay
    // pending; if the batch happened to end just before the signal, the
    // worker was blocked in XREADGROUP, and what that read had just taken
    // stays pending too. Either way the others must finish it.
    let left = bed.pending_of(pid).await;
    let settled = bed.settle(&none(), asked, SETTLE).await;
    bed.check_and_report(
        "SIGTERM to 1 of 3 workers mid-batch (3 s deadline, DefectDojo 600 ms)",
        &settled,
        &[],
        &format!(
            "held {pending} messages; exited 0 after {:.1} s; left {left} unacknowledged for the others",
            took.as_secs_f64()
        ),
    );
    bed.stop().await;
}

fn tracker_envelope(
    wstg_id: &str,
    status: Status,
    notes: &str,
    at: chrono::DateTime<chrono::Utc>,
) -> Envelope {
    let id = Catalogue::get(CatalogueVersion::V4_2)
        .parse_id(wstg_id)
        .unwrap();
    Envelope::new(
        ProjectName::default_project(),
        EventKind::TrackerChange(TrackerChange {
            wstg_id: id,
            status,
            notes: Some(Notes::parse(notes).unwrap()),
            occurred_at: at,
            user: Some("fault-suite".into()),
            assignee: None,
        }),
        chrono::Utc::now(),
    )
}

/// Creates of findings DefectDojo performed so far.
async fn finding_creates(bed: &Bed) -> u64 {
    bed.sim_stats().await["by_route"]["POST /api/v2/findings/"]
        .as_u64()
        .unwrap_or(0)
}

/// A poison entry, an event that kept killing its workers, and DefectDojo
/// refusing events with a permanent 400: all dead-lettered at once, without
/// retries, with DefectDojo's error body; the workers keep going. After the
/// cause is fixed, a replay (one over the admin API, the rest with
/// `wstgctl dlq replay --all`) applies each event once; only the poison,
/// which no fix can help, is dead again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poison_permanent_400_and_replay_after_the_fix() {
    let _serial = SERIAL.lock().await;
    let mut bed = Bed::start(
        "poison-400-replay",
        BedOptions {
            workers: 3,
            env: vec![("WSTG_WORKER_MAX_DELIVERIES", "3".into())],
            ..Default::default()
        },
    )
    .await;
    let items = item_ids(40);
    bed.post_all(bed.plan(&items[..20], 20, 0), 16).await;
    let warm = bed.settle(&none(), Instant::now(), SETTLE).await;
    assert!(warm.obs.wrong.is_empty(), "{:?}", warm.obs.wrong);
    let mut conn = bed.queue.connection();
    let events_key = bed.queue.keys().events.clone();

    // 1. Poison: not an event at all. The workers dead-letter it and go on.
    let poison = "{\"this is\": not json".to_owned();
    let _: String = redis::cmd("XADD")
        .arg(&events_key)
        .arg("*")
        .arg("data")
        .arg(&poison)
        .query_async(&mut conn)
        .await
        .unwrap();
    bed.post_all(bed.plan(&items[..20], 20, 1), 16).await;
    let after_poison = bed.settle(&none(), Instant::now(), SETTLE).await;
    assert!(
        after_poison.obs.wrong.is_empty(),
        "the workers went on after the poison"
    );

    // 2. An event that kept killing its workers: a ghost consumer took it 10
    // times and never acked (as a worker that crashes on it would). Added,
    // hidden from `>` readers and claimed by the ghost in one script.
    let over = tracker_envelope(&items[20], Status::Done, "over-delivered", bed.base);
    bed.sent.push(harness::Sent {
        event_id: over.event_id.to_string(),
        plan: harness::Planned {
            wstg_id: items[20].clone(),
            status: Status::Done,
            notes: "over-delivered".into(),
            at: bed.base,
            key: "ghost".into(),
        },
    });
    let ghost = redis::Script::new(
        r"
local id = redis.call('XADD', KEYS[1], '*', 'data', ARGV[1], 'event_id', ARGV[2])
redis.call('XGROUP', 'SETID', KEYS[1], 'workers', id)
redis.call('XCLAIM', KEYS[1], 'workers', 'ghost', 0, id, 'RETRYCOUNT', 10, 'FORCE', 'JUSTID')
return id
",
    );
    let _: String = ghost
        .key(&events_key)
        .arg(serde_json::to_string(&over).unwrap())
        .arg(over.event_id.to_string())
        .invoke_async(&mut conn)
        .await
        .unwrap();

    // 3. DefectDojo refuses every request with 400 (a permanent error)
    // while five fresh items are changed.
    bed.faults(json!({"error_rate": 1.0, "error_status": 400}))
        .await;
    let before_400 = bed.sim_stats().await["faults"].as_u64().unwrap();
    let refused_plan = bed.plan(&items[30..35], 5, 0);
    bed.post_all(refused_plan.clone(), 5).await;
    let refused: Vec<harness::Sent> = bed
        .sent
        .iter()
        .filter(|s| refused_plan.iter().any(|p| p.key == s.plan.key))
        .cloned()
        .collect();
    let mut expected: Vec<ExpectDead> = vec![
        ExpectDead::Raw {
            raw: poison.clone(),
            error: "undecodable",
        },
        ExpectDead::Event {
            event_id: over.event_id.to_string(),
            attempts: None,
            error: vec!["delivered", "times without completing"],
        },
    ];
    for s in &refused {
        expected.push(ExpectDead::Event {
            event_id: s.event_id.clone(),
            attempts: Some(1),
            error: vec![
                "HTTP 400",
                "simulated failure",
                r#"DefectDojo answered: {"message":"simulated failure"}"#,
            ],
        });
    }
    bed.wait_queue(7, SETTLE).await;
    let refusals = bed.sim_stats().await["faults"].as_u64().unwrap() - before_400;
    let dead = bed.queue.dlq_list(100).await.unwrap();
    harness::check_dlq("permanent failures", &dead, &expected);
    assert_eq!(
        refusals, 5,
        "one DefectDojo call per refused event: no retries of a permanent error"
    );
    // The store marks each refused item failed, with DefectDojo's error.
    let store = wstg_store::Store::connect(&bed.db.url).await.unwrap();
    for s in &refused {
        let id = Catalogue::get(CatalogueVersion::V4_2)
            .parse_id(&s.plan.wstg_id)
            .unwrap();
        let row = store
            .item(&ProjectName::default_project(), &id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.sync_state, wstg_store::SyncState::Failed, "{id}");
        assert!(
            row.last_error.as_deref().unwrap_or("").contains("HTTP 400"),
            "{id}: {:?}",
            row.last_error
        );
    }
    assert_eq!(bed.status().await["queue"]["dlq"], json!(7));

    // The admin endpoints: a token is required...
    let admin = format!("{}/api/wstg/admin/dlq", bed.ingest_url);
    let r = reqwest::Client::new().get(&admin).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let r = bed
        .http
        .get(&admin)
        .bearer_auth("wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["success"], false);
    // ... the tracker's ingest token does not open them ...
    let r = bed.http.get(&admin).send().await.unwrap();
    assert_eq!(r.status(), 403, "a tracker token is not an admin token");
    // ... and without a configured one (and no stored admin token) nobody
    // gets in.
    let mut no_admin = bed.env.clone();
    no_admin.retain(|(k, _)| k != "WSTG_INGEST_ADMIN_TOKEN" && k != "WSTG_INGEST_ADDR");
    no_admin.push(("WSTG_INGEST_ADDR".into(), "127.0.0.1:0".into()));
    let app = wstg_ingest::Application::build(&common::settings_from(&no_admin))
        .await
        .unwrap();
    let shut = format!("http://127.0.0.1:{}/api/wstg/admin/dlq", app.port());
    let server = tokio::spawn(app.run_until_stopped());
    let r = bed
        .http
        .get(&shut)
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "no admin token configured: always refused");
    server.abort();
    // With the token: list and show.
    let list: Value = bed
        .http
        .get(&admin)
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["count"], json!(7), "{list}");
    let first_refused = dead
        .iter()
        .find(|d| d.event_id().map(|u| u.to_string()) == Some(refused[0].event_id.clone()))
        .unwrap()
        .id
        .clone();
    let shown: Value = bed
        .http
        .get(format!("{admin}/{first_refused}"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        shown["dead_letter"]["error"]
            .as_str()
            .unwrap()
            .contains("HTTP 400"),
        "{shown}"
    );
    let (ok, out) = bed.wstgctl(&["dlq", "show", &first_refused]).await;
    assert!(ok && out.contains(&refused[0].event_id), "{out}");

    // The cause is fixed; replay one over the API, the rest with one command.
    bed.clear_faults().await;
    let creates_before = finding_creates(&bed).await;
    let r = bed
        .http
        .post(format!("{admin}/{first_refused}/replay"))
        .bearer_auth(ADMIN_TOKEN)
        .header("Content-Type", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let replayed_at = Instant::now();
    let (ok, out) = bed.wstgctl(&["dlq", "replay", "--all"]).await;
    assert!(ok, "wstgctl dlq replay --all");
    assert!(out.contains("replayed 6 dead letters"), "{out}");

    let settled = bed.settle(&none(), replayed_at, SETTLE).await;
    // Each replayed event was applied once: one create per item.
    let creates = finding_creates(&bed).await - creates_before;
    assert_eq!(creates, 6, "one finding created per replayed event");

    // The same event delivered twice (same event id) is applied once, and a
    // client retry with the same Idempotency-Key is one event.
    let writes_before = common::dojo_writes(&bed.http, &bed.dojo_url).await;
    let _: String = redis::cmd("XADD")
        .arg(&events_key)
        .arg("*")
        .arg("data")
        .arg(serde_json::to_string(&over).unwrap())
        .arg("event_id")
        .arg(over.event_id.to_string())
        .query_async(&mut conn)
        .await
        .unwrap();
    let again = &refused[0].plan;
    let r = bed
        .http
        .post(format!("{}/api/wstg/sync", bed.ingest_url))
        .header("Idempotency-Key", &again.key)
        .json(&again.body())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "a client retry is a duplicate");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["status"], "duplicate");
    assert_eq!(body["event_id"], json!(refused[0].event_id));
    let settled_again = bed.settle(&none(), Instant::now(), SETTLE).await;
    assert!(settled_again.quiet_after.is_some());
    assert_eq!(
        common::dojo_writes(&bed.http, &bed.dojo_url).await,
        writes_before,
        "a duplicate delivery writes nothing"
    );

    bed.check_and_report(
        "poison entry, an event delivered 11 times, permanent 400 (×5); replay after the fix",
        &settled,
        &[ExpectDead::Raw {
            raw: poison.clone(),
            error: "undecodable",
        }],
        &format!(
            "7 dead-lettered at once (400s with 1 attempt and DefectDojo's body, {refusals} DefectDojo calls); replay applied 6 once ({creates} creates); the poison is dead again"
        ),
    );
    let (ok, _) = bed.wstgctl(&["dlq", "purge", "--all", "--yes"]).await;
    assert!(ok);
    assert_eq!(bed.queue.stats().await.unwrap().dlq, 0);
    bed.stop().await;
}

/// Issue 12: a vulnerability recorded while DefectDojo answers 500 to
/// everything is created once it recovers, exactly once (the create is
/// retried through the delayed set and the breaker; every retry looks the
/// finding up by its unique id first).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vulnerability_create_under_a_dojo_outage_is_made_once() {
    let _serial = SERIAL.lock().await;
    let bed = Bed::start(
        "vulnerability-outage",
        BedOptions {
            workers: 2,
            ..Default::default()
        },
    )
    .await;
    // The project's hierarchy and the item's own finding, before the outage.
    let r = bed
        .http
        .post(format!("{}/api/wstg/sync", bed.ingest_url))
        .json(&json!({"wstg_id": "WSTG-INPV-05", "status": "In Progress"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let item_url = format!("{}/api/wstg/items/WSTG-INPV-05", bed.ingest_url);
    test_support::eventually_async(Duration::from_secs(30), "the item synced", || async {
        let v: Value = bed
            .http
            .get(&item_url)
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        v["finding_id"].is_i64().then_some(())
    })
    .await;

    bed.faults(json!({"error_rate": 1.0, "error_status": 500}))
        .await;
    let before = bed.sim_stats().await;
    let r = bed
        .http
        .post(format!("{item_url}/vulnerabilities"))
        .header("Idempotency-Key", "outage-1")
        .json(&json!({"title": "SQL injection in login", "severity": "High", "description": "union based", "cwe": 89}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let id = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // DefectDojo is asked and refuses for a while.
    test_support::eventually_async(
        Duration::from_secs(30),
        "the create refused at least twice",
        || async {
            let now = bed.sim_stats().await;
            (now["faults"].as_u64()? >= before["faults"].as_u64()? + 2).then_some(())
        },
    )
    .await;
    bed.clear_faults().await;
    let list_url = format!("{item_url}/vulnerabilities");
    test_support::eventually_async(
        SETTLE,
        "the vulnerability created after recovery",
        || async {
            let v: Value = bed
                .http
                .get(&list_url)
                .send()
                .await
                .ok()?
                .json()
                .await
                .ok()?;
            v["vulnerabilities"]
                .as_array()?
                .iter()
                .any(|v| {
                    v["id"] == json!(id) && v["finding_id"].is_i64() && v["status"] == "active"
                })
                .then_some(())
        },
    )
    .await;
    let all: Value = bed
        .http
        .get(format!(
            "{}/api/v2/findings/?limit=1000&tags=wstg-vuln",
            bed.dojo_url
        ))
        .header("Authorization", format!("Token {}", common::DOJO_TOKEN))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(all["count"], 1, "exactly one finding: {all:#}");
    assert_eq!(
        all["results"][0]["unique_id_from_tool"],
        json!(format!("wstg-vuln:{id}"))
    );
    println!(
        "| vulnerability create under a DefectDojo 500 outage | 1 recorded | 1 finding after recovery |"
    );
}
