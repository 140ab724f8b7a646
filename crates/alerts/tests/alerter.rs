//! The alerting job against real Redis, a real SQLite store and a local
//! receiver: one message per incident whichever replica evaluates, none
//! again after a failover, and the cooldown.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use chrono::Utc;
use secrecy::SecretString;
use test_support::receiver::Receiver;
use wstg_alerts::{Alerter, Webhook};
use wstg_domain::{Envelope, EventKind, ProjectName};
use wstg_queue::{Queue, QueueConfig};
use wstg_settings::{AlertKind, AlertSettings, AlertThresholds};
use wstg_store::Store;

struct Bed {
    queue: Queue,
    store: Store,
    rx: Receiver,
    settings: AlertSettings,
    _db: test_support::FreshDb,
}

async fn bed(cooldown: Duration) -> Bed {
    bed_with(cooldown, |_| {}).await
}

async fn bed_with(cooldown: Duration, tune: impl FnOnce(&mut AlertThresholds)) -> Bed {
    test_support::init_test_logging();
    let rx = Receiver::start().await;
    let queue = Queue::connect(QueueConfig::new(
        test_support::redis_url(),
        test_support::unique_prefix(),
    ))
    .await
    .unwrap();
    let db = test_support::fresh_sqlite();
    Store::migrate(&db.url).await.unwrap();
    let store = Store::connect(&db.url).await.unwrap();
    // Only the dead-letter rule can fire here; the others are far away.
    let mut settings = AlertSettings {
        webhook_url: Some(SecretString::from(rx.url.clone())),
        kind: AlertKind::Json,
        interval: Duration::from_secs(1),
        cooldown,
        timeout: Duration::from_secs(2),
        retries: 1,
        thresholds: AlertThresholds {
            dead_letters_max: 0,
            dojo_unreachable: Duration::from_secs(3600),
            sync_stale: Duration::from_secs(3600),
            conflicts_max: 1000,
            pending_percent: 100,
            pending_for: Duration::from_secs(3600),
            backlog_age: Duration::from_secs(3600),
        },
    };
    tune(&mut settings.thresholds);
    Bed {
        queue,
        store,
        rx,
        settings,
        _db: db,
    }
}

impl Bed {
    fn alerter(&self, holder: &str) -> Alerter {
        let webhook = Webhook::from_settings(&self.settings).unwrap().unwrap();
        Alerter::new(
            webhook,
            self.settings.clone(),
            self.queue.clone(),
            self.store.clone(),
            holder,
        )
    }

    async fn dead_letter(&self) {
        let env = Envelope::new(
            ProjectName::default_project(),
            EventKind::Reconcile {
                wstg_id: None,
                reason: "alert test".into(),
                observed: None,
            },
            Utc::now(),
        );
        self.queue
            .dead_letter(&env, "", "refused for the test")
            .await
            .unwrap();
    }

    async fn drop_lease(&self) {
        redis::cmd("DEL")
            .arg(&self.queue.keys().alert_lease)
            .query_async::<()>(&mut self.queue.connection())
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_alert_and_one_resolved_whichever_replica_evaluates() {
    let b = bed(Duration::ZERO).await;
    let (a, c) = (b.alerter("replica-a"), b.alerter("replica-c"));
    assert!(
        a.evaluate_once().await.unwrap().sent.is_empty(),
        "all quiet"
    );
    b.dead_letter().await;
    for _ in 0..3 {
        let ea = a.evaluate_once().await.unwrap();
        let ec = c.evaluate_once().await.unwrap();
        assert!(ec.skipped, "the lease holder alone evaluates");
        assert!(!ea.skipped);
    }
    assert_eq!(
        b.rx.count("dead_letters", "firing"),
        1,
        "{:?}",
        b.rx.bodies()
    );
    let fired = b.rx.bodies()[0].clone();
    assert_eq!(fired["value"], 1);
    assert_eq!(fired["threshold"], 0);
    assert_eq!(fired["deployment"], b.queue.keys().prefix());
    assert!(
        fired["since"].is_string() && fired["project"].is_null(),
        "{fired}"
    );

    // Failover: replica a is gone (its lease expired); c takes over and
    // knows the incident was announced.
    b.drop_lease().await;
    b.dead_letter().await;
    for _ in 0..2 {
        assert!(!c.evaluate_once().await.unwrap().skipped);
    }
    assert_eq!(
        b.rx.count("dead_letters", "firing"),
        1,
        "{:?}",
        b.rx.bodies()
    );

    b.queue.dlq_purge().await.unwrap();
    for _ in 0..3 {
        c.evaluate_once().await.unwrap();
    }
    assert_eq!(
        b.rx.count("dead_letters", "resolved"),
        1,
        "{:?}",
        b.rx.bodies()
    );
    let resolved = b.rx.bodies().last().cloned().unwrap();
    assert_eq!(
        resolved["incident_id"], fired["incident_id"],
        "paired with its alert"
    );
    assert_eq!(b.rx.bodies().len(), 2, "{:?}", b.rx.bodies());
    b.rx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_delivery_is_tried_again_and_sent_once() {
    let b = bed(Duration::ZERO).await;
    let a = b.alerter("replica-a");
    b.dead_letter().await;
    b.rx.answer_next(&[500, 500]);
    let e = a.evaluate_once().await.unwrap();
    assert_eq!((e.failed, e.sent.len()), (1, 0), "{e:?}");
    let e = a.evaluate_once().await.unwrap();
    assert_eq!(e.sent, vec![("dead_letters".to_owned(), "firing")]);
    a.evaluate_once().await.unwrap();
    assert_eq!(b.rx.count("dead_letters", "firing"), 1);
    b.rx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cooldown_holds_back_a_condition_that_comes_back_at_once() {
    let cooldown = Duration::from_secs(2);
    let b = bed(cooldown).await;
    let a = b.alerter("replica-a");
    b.dead_letter().await;
    a.evaluate_once().await.unwrap();
    b.queue.dlq_purge().await.unwrap();
    a.evaluate_once().await.unwrap();
    assert_eq!(
        b.rx.bodies().len(),
        2,
        "fired and resolved: {:?}",
        b.rx.bodies()
    );

    // Back at once: quiet within the cooldown, announced when it ends.
    b.dead_letter().await;
    assert!(a.evaluate_once().await.unwrap().sent.is_empty());
    let again = test_support::eventually_async(
        Duration::from_secs(10),
        "the second alert after the cooldown",
        || async {
            let e = a.evaluate_once().await.unwrap();
            (!e.sent.is_empty()).then_some(e)
        },
    )
    .await;
    assert_eq!(again.sent, vec![("dead_letters".to_owned(), "firing")]);
    let bodies = b.rx.bodies();
    assert_eq!(bodies.len(), 3, "{bodies:?}");
    let at = |i: usize| {
        chrono::DateTime::parse_from_rfc3339(bodies[i]["sent_at"].as_str().unwrap()).unwrap()
    };
    assert!(
        (at(2) - at(1)).to_std().unwrap() >= cooldown,
        "resolved at {}, alerted again at {}",
        at(1),
        at(2)
    );
    assert_ne!(
        bodies[2]["incident_id"], bodies[0]["incident_id"],
        "a new incident"
    );
    b.rx.stop().await;
}

/// Evaluates until a message is sent; returns what was sent.
async fn until_sent(a: &Alerter, what: &str) -> Vec<(String, &'static str)> {
    test_support::eventually_async(Duration::from_secs(10), what, || async {
        let e = a.evaluate_once().await.unwrap();
        (!e.sent.is_empty()).then_some(e.sent)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_old_backlog_alerts_and_resolves_when_it_drains() {
    let b = bed_with(Duration::ZERO, |t| {
        t.dead_letters_max = 1000;
        t.backlog_age = Duration::from_secs(1);
    })
    .await;
    let a = b.alerter("replica-a");
    // No worker runs: the event waits on the stream.
    let env = Envelope::new(
        ProjectName::default_project(),
        EventKind::Reconcile {
            wstg_id: None,
            reason: "alert test".into(),
            observed: None,
        },
        Utc::now(),
    );
    b.queue.publish(&env).await.unwrap();
    let sent = until_sent(&a, "the backlog alert").await;
    assert_eq!(sent, vec![("backlog_age".to_owned(), "firing")]);
    let alert = b.rx.bodies()[0].clone();
    assert!(alert["value"].as_i64().unwrap() >= 1, "{alert}");

    redis::cmd("XTRIM")
        .arg(&b.queue.keys().events)
        .arg("MAXLEN")
        .arg(0)
        .query_async::<()>(&mut b.queue.connection())
        .await
        .unwrap();
    let sent = a.evaluate_once().await.unwrap().sent;
    assert_eq!(sent, vec![("backlog_age".to_owned(), "resolved")]);
    b.rx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_worker_breaker_counts_as_defectdojo_unreachable() {
    let b = bed_with(Duration::ZERO, |t| {
        t.dead_letters_max = 1000;
        t.dojo_unreachable = Duration::from_secs(1);
    })
    .await;
    let a = b.alerter("replica-a");
    let now = Utc::now();
    let state = |s: &str| wstg_queue::BreakerState {
        consumer: "worker-test".into(),
        state: s.into(),
        failures: 5,
        opened_at: Some(now),
        reopen_at: Some(now + chrono::Duration::seconds(60)),
        cooldown_secs: 60,
        trips: 1,
        last_error: Some("HTTP 502 from DefectDojo".into()),
        updated_at: Utc::now(),
    };
    b.queue.publish_breaker(&state("open")).await.unwrap();
    assert!(
        a.evaluate_once().await.unwrap().sent.is_empty(),
        "not for long enough yet"
    );
    let sent = until_sent(&a, "the unreachable alert").await;
    assert_eq!(sent, vec![("dojo_unreachable".to_owned(), "firing")]);
    let alert = b.rx.bodies()[0].clone();
    assert!(
        alert["summary"].as_str().unwrap().contains("HTTP 502"),
        "{alert}"
    );

    b.queue.publish_breaker(&state("closed")).await.unwrap();
    let sent = a.evaluate_once().await.unwrap().sent;
    assert_eq!(sent, vec![("dojo_unreachable".to_owned(), "resolved")]);
    b.rx.stop().await;
}
