//! Alerts to people, end to end: real ingest, worker and poller processes,
//! the DefectDojo emulator, real Redis and SQLite, and a local webhook
//! receiver recording every body. A DefectDojo outage, a dead letter, a
//! stale poller and conflicts each deliver exactly one alert and exactly one
//! "resolved", with two pollers running; `wstgctl alert test` reports the
//! receiver's status.
//!
//! Thresholds are seconds here (interval 1 s); each test sets the rule it
//! exercises low and the others out of reach. "No duplicates" is checked
//! after three more evaluation periods: waiting for something not to happen
//! needs a wait.

mod common;

use std::time::Duration;

use common::{dojo_finding, service_env, DOJO_TOKEN};
use serde_json::{json, Value};
use test_support::eventually_async;
use test_support::process::{bin, free_port, Proc};
use test_support::receiver::Receiver;

const WAIT: Duration = Duration::from_secs(30);
/// Three evaluation periods: long enough for a duplicate to show.
const QUIET: Duration = Duration::from_secs(3);

struct Bed {
    sim: dojo_sim::RunningSim,
    rx: Receiver,
    env: Vec<(String, String)>,
    prefix: String,
    ingest_url: String,
    http: reqwest::Client,
    procs: Vec<Proc>,
    _db: test_support::FreshDb,
}

/// Every rule out of reach, then `rules` (env var suffix, value) applied.
fn alert_env(url: &str, rules: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = [
        ("WSTG_ALERT_WEBHOOK_URL", url),
        ("WSTG_ALERT_KIND", "json"),
        ("WSTG_ALERT_INTERVAL_SECS", "1"),
        ("WSTG_ALERT_COOLDOWN_SECS", "0"),
        ("WSTG_ALERT_TIMEOUT_SECS", "2"),
        ("WSTG_ALERT_RETRIES", "1"),
        ("WSTG_ALERT_DEAD_LETTERS_MAX", "1000"),
        ("WSTG_ALERT_DOJO_UNREACHABLE_SECS", "3600"),
        ("WSTG_ALERT_SYNC_STALE_SECS", "3600"),
        ("WSTG_ALERT_CONFLICTS_MAX", "1000"),
        ("WSTG_ALERT_PENDING_PERCENT", "100"),
        ("WSTG_ALERT_BACKLOG_AGE_SECS", "3600"),
        ("WSTG_POLLER_INTERVAL_SECS", "1"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    for (k, v) in rules {
        env.retain(|(name, _)| name != k);
        env.push((k.to_string(), v.to_string()));
    }
    env
}

impl Bed {
    async fn start(pollers: usize, rules: &[(&str, &str)]) -> Bed {
        test_support::init_test_logging();
        let db = test_support::fresh_sqlite();
        common::migrate(&db).await;
        let sim = dojo_sim::spawn(dojo_sim::SimConfig::new(DOJO_TOKEN))
            .await
            .unwrap();
        let rx = Receiver::start().await;
        let prefix = test_support::unique_prefix();
        let port = free_port();
        let mut env = service_env(
            &prefix,
            &db.url,
            &sim.base_url,
            &format!("127.0.0.1:{port}"),
        );
        env.extend(alert_env(&rx.url, rules));
        // scripts/grep-test-logs.sh --test alerts runs this at debug level
        // and looks for the webhook URL's secret in every line.
        let level = std::env::var("FAULT_LOG").unwrap_or_else(|_| "warn,wstg_alerts=info".into());
        env.retain(|(k, _)| k != "WSTG_LOG_LEVEL");
        env.push(("WSTG_LOG_LEVEL".into(), level));
        let mut procs = Vec::new();
        let mut ingest = Proc::start("wstg-ingest", &[], &env).unwrap();
        ingest.wait_for_line("listening on", WAIT).await.unwrap();
        procs.push(ingest);
        let mut worker = Proc::start("wstg-worker", &[], &env).unwrap();
        worker
            .wait_for_line("wstg-worker started", WAIT)
            .await
            .unwrap();
        procs.push(worker);
        for _ in 0..pollers {
            let mut p = Proc::start("wstg-poller", &[], &env).unwrap();
            p.wait_for_line("wstg-poller started", WAIT).await.unwrap();
            procs.push(p);
        }
        Bed {
            sim,
            rx,
            env,
            ingest_url: format!("http://127.0.0.1:{port}"),
            http: common::authed_client(),
            prefix,
            procs,
            _db: db,
        }
    }

    async fn post(&self, body: Value) {
        let r = self
            .http
            .post(format!("{}/api/wstg/sync", self.ingest_url))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 202, "{body}");
    }

    /// A tracker change that reaches DefectDojo; its finding.
    async fn synced(&self, wstg_id: &str, status: &str) -> Value {
        self.post(json!({"wstg_id": wstg_id, "status": status}))
            .await;
        eventually_async(WAIT, "the finding exists", || async {
            dojo_finding(&self.http, &self.sim.base_url, wstg_id).await
        })
        .await
    }

    async fn faults(&self, body: Value) {
        let r = self
            .http
            .put(format!("{}/__sim/faults", self.sim.base_url))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.status());
    }

    async fn redis(&self) -> redis::aio::MultiplexedConnection {
        redis::Client::open(test_support::redis_url())
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap()
    }

    async fn dlq_len(&self) -> u64 {
        redis::cmd("XLEN")
            .arg(test_support::redis_env::key(&self.prefix, "dlq"))
            .query_async(&mut self.redis().await)
            .await
            .unwrap()
    }

    /// Waits for exactly `n` messages of `rule` in `state`.
    async fn wait_for(&self, rule: &str, state: &str, n: usize) {
        eventually_async(
            WAIT,
            &format!("{n} '{state}' message(s) for {rule}"),
            || async { (self.rx.count(rule, state) >= n).then_some(()) },
        )
        .await;
        assert_eq!(
            self.rx.count(rule, state),
            n,
            "{rule} {state}: {:#?}",
            self.rx.bodies()
        );
    }

    /// After three more evaluations, still exactly these counts.
    async fn still(&self, expected: &[(&str, &str, usize)]) {
        tokio::time::sleep(QUIET).await;
        for (rule, state, n) in expected {
            assert_eq!(
                self.rx.count(rule, state),
                *n,
                "{rule} {state} after a further evaluation period: {:#?}",
                self.rx.bodies()
            );
        }
    }

    /// The firing and the resolved message of `rule` carry one incident id.
    fn paired(&self, rule: &str) {
        let ids: Vec<Value> = self
            .rx
            .bodies()
            .iter()
            .filter(|b| b["rule"] == rule)
            .map(|b| b["incident_id"].clone())
            .collect();
        assert_eq!(ids.len(), 2, "{ids:?}");
        assert_eq!(ids[0], ids[1], "the resolved names the alert's incident");
    }

    async fn stop(self) {
        drop(self.procs);
        let _ = test_support::redis_env::delete_prefix(&self.prefix).await;
        self.rx.stop().await;
        self.sim.stop().await;
    }
}

/// DefectDojo answers 500 to everything: `dojo_unreachable` and
/// `sync_stale` each fire once and resolve once when it is back, with two
/// pollers running (one sender).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_defectdojo_outage_alerts_once_and_resolves_once_with_two_pollers() {
    let bed = Bed::start(
        2,
        &[
            ("WSTG_ALERT_DOJO_UNREACHABLE_SECS", "2"),
            ("WSTG_ALERT_SYNC_STALE_SECS", "4"),
        ],
    )
    .await;
    bed.synced("WSTG-INFO-01", "In Progress").await;
    bed.still(&[
        ("dojo_unreachable", "firing", 0),
        ("sync_stale", "firing", 0),
    ])
    .await;

    bed.faults(json!({"error_rate": 1.0, "error_status": 500}))
        .await;
    bed.wait_for("dojo_unreachable", "firing", 1).await;
    bed.wait_for("sync_stale", "firing", 1).await;
    let alert = bed
        .rx
        .bodies()
        .into_iter()
        .find(|b| b["rule"] == "dojo_unreachable")
        .unwrap();
    assert_eq!(alert["deployment"], bed.prefix.as_str());
    assert!(
        alert["summary"].as_str().unwrap().contains("DefectDojo"),
        "{alert}"
    );
    assert!(
        alert["value"].as_i64().unwrap() >= 2,
        "seconds unreachable: {alert}"
    );
    bed.still(&[
        ("dojo_unreachable", "firing", 1),
        ("sync_stale", "firing", 1),
    ])
    .await;

    bed.faults(json!({})).await;
    bed.wait_for("dojo_unreachable", "resolved", 1).await;
    bed.wait_for("sync_stale", "resolved", 1).await;
    bed.still(&[
        ("dojo_unreachable", "firing", 1),
        ("dojo_unreachable", "resolved", 1),
        ("sync_stale", "firing", 1),
        ("sync_stale", "resolved", 1),
    ])
    .await;
    let resolved = bed
        .rx
        .bodies()
        .into_iter()
        .find(|b| b["rule"] == "dojo_unreachable" && b["state"] == "resolved")
        .unwrap();
    assert_eq!(
        resolved["summary"], "DefectDojo answers again",
        "{resolved}"
    );
    bed.paired("dojo_unreachable");
    bed.paired("sync_stale");
    assert_eq!(bed.rx.bodies().len(), 4, "{:#?}", bed.rx.bodies());
    bed.stop().await;
}

/// A change DefectDojo refuses (400) is dead-lettered: one alert; replayed
/// (`wstgctl dlq replay --all`) once DefectDojo takes it: one "resolved".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_letter_alerts_once_and_resolves_once_after_replay() {
    let bed = Bed::start(2, &[("WSTG_ALERT_DEAD_LETTERS_MAX", "0")]).await;
    bed.synced("WSTG-INFO-01", "In Progress").await;

    bed.faults(json!({"error_rate": 1.0, "error_status": 400}))
        .await;
    bed.post(json!({"wstg_id": "WSTG-INFO-02", "status": "Done"}))
        .await;
    eventually_async(WAIT, "the refused change is dead-lettered", || async {
        (bed.dlq_len().await == 1).then_some(())
    })
    .await;
    bed.faults(json!({})).await;
    bed.wait_for("dead_letters", "firing", 1).await;
    let alert = bed.rx.bodies()[0].clone();
    assert_eq!(
        (alert["value"].clone(), alert["threshold"].clone()),
        (json!(1), json!(0))
    );
    bed.still(&[("dead_letters", "firing", 1)]).await;

    let out = tokio::process::Command::new(bin("wstgctl"))
        .args(["dlq", "replay", "--all"])
        .envs(bed.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    bed.wait_for("dead_letters", "resolved", 1).await;
    bed.still(&[
        ("dead_letters", "firing", 1),
        ("dead_letters", "resolved", 1),
    ])
    .await;
    bed.paired("dead_letters");
    bed.stop().await;
}

/// A poller replica that hangs holding the project's lease: no pass reads
/// DefectDojo, the sync goes stale; one alert, and one "resolved" once a
/// live poller polls again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_poller_alerts_once_and_resolves_once() {
    let bed = Bed::start(1, &[("WSTG_ALERT_SYNC_STALE_SECS", "3")]).await;
    bed.synced("WSTG-INFO-01", "In Progress").await;

    // A stuck holder keeps the project's lease.
    let lease = test_support::redis_env::key(&bed.prefix, "poller:lease:default");
    redis::cmd("SET")
        .arg(&lease)
        .arg("poller-that-hangs")
        .arg("PX")
        .arg(120_000)
        .query_async::<()>(&mut bed.redis().await)
        .await
        .unwrap();
    bed.wait_for("sync_stale", "firing", 1).await;
    bed.still(&[("sync_stale", "firing", 1)]).await;

    // The stuck replica is gone (its lease expires): polling resumes.
    redis::cmd("DEL")
        .arg(&lease)
        .query_async::<()>(&mut bed.redis().await)
        .await
        .unwrap();
    bed.wait_for("sync_stale", "resolved", 1).await;
    bed.still(&[("sync_stale", "firing", 1), ("sync_stale", "resolved", 1)])
        .await;
    bed.paired("sync_stale");
    assert_eq!(bed.rx.bodies().len(), 2, "{:#?}", bed.rx.bodies());
    bed.stop().await;
}

/// Both sides change an item before a poll sees DefectDojo's change: a
/// conflict (settled by the policy). Above the threshold (0): one alert for
/// the project; the item's next clean sync: one "resolved".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conflicts_above_the_threshold_alert_once_and_resolve_once() {
    let bed = Bed::start(
        1,
        &[
            ("WSTG_ALERT_CONFLICTS_MAX", "0"),
            // The conflict must meet the tracker's change, not a poll.
            ("WSTG_POLLER_INTERVAL_SECS", "3600"),
        ],
    )
    .await;
    let finding = bed.synced("WSTG-SESS-01", "In Progress").await;
    let id = finding["id"].as_i64().unwrap();
    let r = bed
        .http
        .patch(format!("{}/api/v2/findings/{id}/", bed.sim.base_url))
        .header("Authorization", format!("Token {DOJO_TOKEN}"))
        .json(&json!({"is_mitigated": true, "active": false}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    bed.post(json!({"wstg_id": "WSTG-SESS-01", "status": "Blocked", "notes": "meanwhile"}))
        .await;
    bed.wait_for("conflicts", "firing", 1).await;
    let alert = bed
        .rx
        .bodies()
        .into_iter()
        .find(|b| b["rule"] == "conflicts")
        .unwrap();
    assert_eq!(alert["project"], "default");
    assert_eq!(alert["value"], 1);
    bed.still(&[("conflicts", "firing", 1)]).await;

    // The next tracker change syncs cleanly: the item leaves the conflict.
    bed.post(json!({"wstg_id": "WSTG-SESS-01", "status": "Done", "notes": "settled"}))
        .await;
    bed.wait_for("conflicts", "resolved", 1).await;
    bed.still(&[("conflicts", "firing", 1), ("conflicts", "resolved", 1)])
        .await;
    bed.paired("conflicts");
    bed.stop().await;
}

/// `wstgctl alert test` posts one test body and prints the receiver's
/// status; a receiver that refuses it makes the command fail, naming the
/// status and never the URL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wstgctl_alert_test_reports_the_receivers_status() {
    let rx = Receiver::start().await;
    let prefix = test_support::unique_prefix();
    let mut env = service_env(
        &prefix,
        "sqlite://./unused.db",
        "http://127.0.0.1:9",
        "127.0.0.1:0",
    );
    env.extend(alert_env(&rx.url, &[("WSTG_ALERT_KIND", "slack")]));
    let run = |env: Vec<(String, String)>| async move {
        tokio::process::Command::new(bin("wstgctl"))
            .args(["--output", "json", "alert", "test"])
            .env_clear()
            .envs(env)
            .output()
            .await
            .unwrap()
    };
    let out = run(env.clone()).await;
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["status"], 200, "{report}");
    let bodies = rx.bodies();
    assert_eq!(bodies.len(), 1);
    assert!(
        bodies[0]["text"].as_str().unwrap().contains("TEST"),
        "{bodies:?}"
    );

    rx.answer_next(&[403]);
    let out = run(env.clone()).await;
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("HTTP 403"), "{stderr}");
    assert!(!stderr.contains(&rx.secret), "{stderr}");

    env.retain(|(k, _)| k != "WSTG_ALERT_WEBHOOK_URL");
    let out = run(env).await;
    assert_eq!(out.status.code(), Some(2), "a missing setting is exit 2");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("WSTG_ALERT_WEBHOOK_URL"),
        "names the variable"
    );
    rx.stop().await;
}
