//! Data lifecycle, end to end (issue 10, scope 5): an event of a newer
//! envelope version is dead-lettered with that reason while one queued before
//! versions existed is applied; the poller's retention job prunes the audit
//! trail and the dead-letter queue to their bounds and nothing else, counts
//! the drops where the status shows them, and holds and gives up its lease.

mod common;

use std::time::Duration;

use chrono::Utc;
use common::{dojo_finding, System, WAIT};
use serde_json::{json, Value};
use test_support::{eventually_async, FreshDb};
use tokio_util::sync::CancellationToken;
use wstg_domain::{
    Catalogue, CatalogueVersion, Envelope, EventKind, ProjectName, Status, TrackerChange,
    ENVELOPE_VERSION,
};
use wstg_poller::{RetentionJob, RetentionReport};
use wstg_queue::{DlqBounds, Keys, Queue, QueueConfig};
use wstg_store::{AuditEntry, Direction, Store};

const DAY: chrono::Duration = chrono::Duration::days(1);

fn change(wstg_id: &str, status: Status) -> Envelope {
    let id = Catalogue::get(CatalogueVersion::V4_2)
        .parse_id(wstg_id)
        .unwrap();
    Envelope::new(
        ProjectName::default_project(),
        EventKind::TrackerChange(TrackerChange {
            wstg_id: id,
            status,
            notes: None,
            occurred_at: Utc::now(),
            user: Some("lifecycle".into()),
            assignee: None,
        }),
        Utc::now(),
    )
}

async fn redis() -> redis::aio::MultiplexedConnection {
    redis::Client::open(test_support::redis_url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

/// XADDs `data` to `stream` as the queue lays entries out, under `id`.
async fn xadd(stream: &str, id: &str, data: &Value) {
    let _: String = redis::cmd("XADD")
        .arg(stream)
        .arg(id)
        .arg("data")
        .arg(data.to_string())
        .arg("event_id")
        .arg(data["event_id"].as_str().unwrap())
        .query_async(&mut redis().await)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_newer_envelope_version_is_dead_lettered_with_that_reason_and_an_unversioned_one_applied()
{
    let sys = System::start(test_support::fresh_sqlite(), 1).await;
    let keys = Keys::new(&sys.prefix);

    let mut newer = serde_json::to_value(change("WSTG-INFO-01", Status::Done)).unwrap();
    newer["version"] = json!(ENVELOPE_VERSION + 98);
    // As queued by the release before envelope versions existed.
    let mut unversioned = serde_json::to_value(change("WSTG-INFO-02", Status::Done)).unwrap();
    unversioned.as_object_mut().unwrap().remove("version");
    xadd(&keys.events, "*", &newer).await;
    xadd(&keys.events, "*", &unversioned).await;

    eventually_async(WAIT, "the unversioned change applied", || async {
        dojo_finding(&sys.http, &sys.sim.base_url, "WSTG-INFO-02").await
    })
    .await;
    sys.settle().await;
    let queue = Queue::connect(QueueConfig::new(
        test_support::redis_url(),
        sys.prefix.clone(),
    ))
    .await
    .unwrap();
    let dead = queue.dlq_list(10).await.unwrap();
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!(dead[0].event_id().unwrap().to_string(), newer["event_id"]);
    assert!(
        dead[0]
            .error
            .starts_with(&format!("envelope version {}", ENVELOPE_VERSION + 98)),
        "the reason names the version: {}",
        dead[0].error
    );
    assert_eq!(
        dead[0].raw,
        newer.to_string(),
        "kept as queued, for a replay after the upgrade"
    );
    assert!(
        dojo_finding(&sys.http, &sys.sim.base_url, "WSTG-INFO-01")
            .await
            .is_none(),
        "the newer event was not guessed at"
    );
    sys.stop().await;
}

async fn retention_prunes_what_is_past_its_bounds_and_nothing_else(db: FreshDb) {
    let sys = System::start_with(
        db,
        0,
        &[
            ("WSTG_RETENTION_AUDIT_DAYS", "30"),
            ("WSTG_RETENTION_DLQ_MAX_AGE_DAYS", "30"),
            ("WSTG_RETENTION_DLQ_MAX_ENTRIES", "2"),
            ("WSTG_RETENTION_INTERVAL_SECS", "1"),
        ],
    )
    .await;
    let store = Store::connect(&sys.settings.database.url).await.unwrap();
    let project = ProjectName::default_project();
    let item = Catalogue::get(CatalogueVersion::V4_2)
        .parse_id("WSTG-INFO-01")
        .unwrap();
    let now = Utc::now();
    let mut kept = Vec::new();
    // Past 30 days: 400 days, 31 days, 30 days and an hour.
    for age in [DAY * 400, DAY * 31, DAY * 30 + chrono::Duration::hours(1)] {
        let mut e = AuditEntry::new(project.clone(), item.clone(), Direction::TrackerToDojo);
        e.timestamp = now - age;
        store.append_audit(&e).await.unwrap();
    }
    for age_hours in [30 * 24 - 1, 1, 0] {
        let mut e = AuditEntry::new(project.clone(), item.clone(), Direction::DojoToTracker);
        e.timestamp = now - chrono::Duration::hours(age_hours);
        store.append_audit(&e).await.unwrap();
        kept.push(e.id);
    }

    // Dead letters written with no bound: one 31 days old, three fresh.
    let unbounded = Queue::connect(QueueConfig {
        dlq_bounds: DlqBounds::UNBOUNDED,
        ..QueueConfig::new(test_support::redis_url(), sys.prefix.clone())
    })
    .await
    .unwrap();
    let old = serde_json::to_value(change("WSTG-ATHN-01", Status::Done)).unwrap();
    let old_ms = (now - DAY * 31).timestamp_millis();
    xadd(&unbounded.keys().dlq, &format!("{old_ms}-0"), &old).await;
    let fresh: Vec<Envelope> = ["WSTG-INFO-02", "WSTG-INFO-03", "WSTG-INFO-04"]
        .iter()
        .map(|id| change(id, Status::Blocked))
        .collect();
    for env in &fresh {
        unbounded
            .dead_letter(env, "", "DefectDojo said 400")
            .await
            .unwrap();
    }

    // The poller's job, on a queue configured from the settings.
    let queue = wstg_startup::connect::queue(&sys.settings, |_| {})
        .await
        .unwrap();
    let job = RetentionJob::new(
        &sys.settings,
        store.clone(),
        queue.clone(),
        "retention-test",
    );
    let report = job.run_once().await.unwrap();
    assert_eq!(
        report,
        RetentionReport {
            audit_deleted: 3,
            dlq_dropped: 2
        }
    );
    let mut left: Vec<_> = store
        .recent_audit(None, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect();
    left.sort();
    kept.sort();
    assert_eq!(left, kept, "entries younger than 30 days stay");
    let dlq: Vec<String> = queue
        .dlq_list(10)
        .await
        .unwrap()
        .iter()
        .map(|d| d.event_id().unwrap().to_string())
        .collect();
    assert_eq!(
        dlq,
        fresh[1..]
            .iter()
            .map(|e| e.event_id.to_string())
            .collect::<Vec<_>>(),
        "the over-age one and the oldest over the size bound went"
    );
    // Counted where operators look.
    let status: Value = sys
        .http
        .get(format!("{}/api/wstg/status", sys.ingest_url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status["queue"]["dlq_dropped"], 2, "{status}");
    assert_eq!(status["queue"]["dlq"], 2, "{status}");
    assert_eq!(
        job.run_once().await.unwrap(),
        RetentionReport::default(),
        "nothing more"
    );

    // Run as a service: it takes the lease, and gives it up on shutdown.
    let lease = queue.keys().retention_lease();
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(job.run(shutdown.clone()));
    eventually_async(WAIT, "the retention lease taken", || async {
        (test_support::redis_env::get(&lease).await.as_deref() == Some("retention-test"))
            .then_some(())
    })
    .await;
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(5), running)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(test_support::redis_env::get(&lease).await, None, "released");
    sys.stop().await;
}

#[tokio::test]
async fn retention_prunes_what_is_past_its_bounds_and_nothing_else_on_sqlite() {
    retention_prunes_what_is_past_its_bounds_and_nothing_else(test_support::fresh_sqlite()).await;
}

#[tokio::test]
async fn retention_prunes_what_is_past_its_bounds_and_nothing_else_on_postgres() {
    retention_prunes_what_is_past_its_bounds_and_nothing_else(
        test_support::fresh_postgres().await.unwrap(),
    )
    .await;
}
