//! The bed of the fault-injection suite: a whole wstg-bridge as real
//! processes (the DefectDojo emulator `dojo-sim`, `wstg-ingest`, N ×
//! `wstg-worker`), real Redis under a fresh key prefix (or a private
//! redis-server with AOF), a fresh SQLite store; a tracker client that posts
//! bursts the way the tracker does (Idempotency-Key, retries on 503 after
//! Retry-After); and the end-of-case check every case shares:
//!
//! - every accepted (202) event's effect is in DefectDojo: for each item the
//!   finding holds the state of the item's last accepted event (explicit,
//!   increasing tracker timestamps define "last");
//! - no finding is duplicated: exactly one finding per item, none for items
//!   never sent;
//! - the dead-letter queue holds exactly the permanent failures;
//! - the queue is quiet (nothing in the stream, pending or delayed).
//!
//! Each case writes its row of the table in docs/reliability.md to
//! `target/debug/fault-report/<case>.md` and prints it.

#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures::StreamExt;
use serde_json::{json, Value};
use test_support::process::{bin, bin_dir, free_port, Proc};
use test_support::FreshDb;
use wstg_domain::mapping::{flags_for, status_tag};
use wstg_domain::{Catalogue, CatalogueVersion, Status};
use wstg_queue::{DeadLetter, Queue, QueueConfig, QueueStats};

use crate::common::{dojo_findings, flags_of, service_env, tags_of, DOJO_TOKEN};

pub const ADMIN_TOKEN: &str = "fault-suite-admin-token";

/// Cases run one at a time: each starts five or more processes, and the
/// drain times they measure mean little if two cases share two cores.
pub static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// `FAULT_OUTAGE_SECS` (default 30): how long the DefectDojo outage lasts.
pub fn outage_secs() -> u64 {
    std::env::var("FAULT_OUTAGE_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30)
}

/// The first `n` WSTG 4.2 ids.
pub fn item_ids(n: usize) -> Vec<String> {
    Catalogue::get(CatalogueVersion::V4_2)
        .entries()
        .iter()
        .take(n)
        .map(|e| e.id.clone())
        .collect()
}

/// One tracker change the client will post.
#[derive(Debug, Clone)]
pub struct Planned {
    pub wstg_id: String,
    pub status: Status,
    pub notes: String,
    pub at: DateTime<Utc>,
    /// The Idempotency-Key the client sends (and re-sends on retries).
    pub key: String,
}

impl Planned {
    pub fn body(&self) -> Value {
        json!({
            "wstg_id": self.wstg_id,
            "status": self.status.as_str(),
            "notes": self.notes,
            "timestamp": self.at.to_rfc3339(),
            "user": "fault-suite",
        })
    }
}

/// An event the ingest accepted.
#[derive(Debug, Clone)]
pub struct Sent {
    pub event_id: String,
    pub plan: Planned,
}

/// A private redis-server with AOF in its own directory, for the cases that
/// restart Redis.
pub struct PrivateRedis {
    pub port: u16,
    pub dir: PathBuf,
    fsync: &'static str,
    child: Option<std::process::Child>,
}

impl PrivateRedis {
    pub async fn start(fsync: &'static str) -> PrivateRedis {
        let port = free_port();
        let dir = std::env::temp_dir().join(format!(
            "wstg-fault-redis-{port}-{}",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let mut r = PrivateRedis {
            port,
            dir,
            fsync,
            child: None,
        };
        r.spawn().await;
        r
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    async fn spawn(&mut self) {
        let child = std::process::Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--dir", self.dir.to_str().unwrap()])
            .args(["--appendonly", "yes", "--appendfsync", self.fsync])
            .args(["--save", "", "--maxmemory-policy", "noeviction"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server must be installed");
        self.child = Some(child);
        let url = self.url();
        test_support::eventually_async(Duration::from_secs(10), "private redis answers", || {
            let url = url.clone();
            async move {
                let c = redis::Client::open(url.as_str()).ok()?;
                let mut conn = c.get_multiplexed_async_connection().await.ok()?;
                // LOADING (replaying the AOF) is an error reply: wait it out.
                redis::cmd("PING")
                    .query_async::<String>(&mut conn)
                    .await
                    .ok()
            }
        })
        .await;
    }

    /// Stops Redis with `signal` ("TERM": a clean shutdown that flushes the
    /// AOF; "KILL": a crash) and waits for it to exit.
    pub async fn stop(&mut self, signal: &str) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let _ = std::process::Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(child.id().to_string())
            .status();
        test_support::eventually(Duration::from_secs(10), "redis exits", || {
            child.try_wait().ok().flatten().map(|_| ())
        })
        .await;
    }

    pub async fn start_again(&mut self) {
        self.spawn().await;
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[derive(Default)]
pub struct BedOptions {
    pub workers: usize,
    /// A private Redis instead of the shared one.
    pub redis_url: Option<String>,
    /// Environment overrides for ingest and workers.
    pub env: Vec<(&'static str, String)>,
}

/// The system under test.
pub struct Bed {
    pub case: &'static str,
    pub prefix: String,
    pub redis_url: String,
    pub env: Vec<(String, String)>,
    pub dojo_url: String,
    pub ingest_url: String,
    pub http: reqwest::Client,
    pub queue: Queue,
    pub workers: Vec<Proc>,
    /// Every accepted event, in acceptance order.
    pub sent: Vec<Sent>,
    /// 503 answers the client saw (and retried).
    pub unavailable: u64,
    /// The tracker clock of this case: events are stamped `base + k s`.
    pub base: DateTime<Utc>,
    pub started: Instant,
    dojo: Proc,
    ingest: Proc,
    pub db: FreshDb,
}

fn set(env: &mut Vec<(String, String)>, key: &str, value: String) {
    env.retain(|(k, _)| k != key);
    env.push((key.to_owned(), value));
}

impl Bed {
    pub async fn start(case: &'static str, opts: BedOptions) -> Bed {
        test_support::init_test_logging();
        let db = test_support::fresh_sqlite();
        wstg_harness::migrate(&db).await;
        let prefix = test_support::unique_prefix();
        let dojo_addr = format!("127.0.0.1:{}", free_port());
        let mut dojo = Proc::start(
            "dojo-sim",
            &["--addr", &dojo_addr, "--token", DOJO_TOKEN],
            &[],
        )
        .unwrap();
        dojo.wait_for_line("listening on", Duration::from_secs(30))
            .await
            .unwrap();
        let dojo_url = format!("http://{dojo_addr}");
        let ingest_addr = format!("127.0.0.1:{}", free_port());
        let mut env = service_env(&prefix, &db.url, &dojo_url, &ingest_addr);
        // Short timings: DefectDojo calls time out after 2 s, so a message
        // left by a dead worker can be reclaimed after 8 s (the settings
        // demand more than timeout + 5 s).
        set(&mut env, "WSTG_DOJO_TIMEOUT_SECS", "2".into());
        set(&mut env, "WSTG_WORKER_CLAIM_MIN_IDLE_SECS", "8".into());
        set(&mut env, "WSTG_WORKER_BLOCK_MS", "500".into());
        set(&mut env, "WSTG_INGEST_ADMIN_TOKEN", ADMIN_TOKEN.into());
        // FAULT_LOG=<filter> (with TEST_LOG=1 to see it) for a case's logs.
        set(
            &mut env,
            "WSTG_LOG_LEVEL",
            std::env::var("FAULT_LOG").unwrap_or_else(|_| "warn".into()),
        );
        if let Some(url) = &opts.redis_url {
            set(&mut env, "WSTG_REDIS_URL", url.clone());
        }
        for (k, v) in &opts.env {
            set(&mut env, k, v.clone());
        }
        let redis_url = env
            .iter()
            .find(|(k, _)| k == "WSTG_REDIS_URL")
            .map(|(_, v)| v.clone())
            .unwrap();
        let mut ingest = Proc::start("wstg-ingest", &[], &env).unwrap();
        ingest
            .wait_for_line("listening on", Duration::from_secs(30))
            .await
            .unwrap();
        let mut bed = Bed {
            case,
            queue: Queue::connect(QueueConfig::new(redis_url.clone(), prefix.clone()))
                .await
                .unwrap(),
            prefix,
            redis_url,
            env,
            dojo_url,
            ingest_url: format!("http://{ingest_addr}"),
            // Every call carries the configured ingest token (service_env).
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .default_headers(
                    [(
                        reqwest::header::AUTHORIZATION,
                        format!("Bearer {}", crate::common::INGEST_TOKEN)
                            .parse()
                            .unwrap(),
                    )]
                    .into_iter()
                    .collect(),
                )
                .build()
                .unwrap(),
            workers: Vec::new(),
            sent: Vec::new(),
            unavailable: 0,
            base: Utc::now() - chrono::Duration::days(1),
            started: Instant::now(),
            dojo,
            ingest,
            db,
        };
        for _ in 0..opts.workers {
            bed.add_worker().await;
        }
        bed
    }

    pub async fn add_worker(&mut self) {
        let mut w = Proc::start("wstg-worker", &[], &self.env).unwrap();
        w.wait_for_line("wstg-worker started", Duration::from_secs(30))
            .await
            .unwrap();
        self.workers.push(w);
    }

    /// `events` tracker changes spread over `items`, the `k`-th change of an
    /// item (from `first_k`) stamped `base + k s`, so the last one is the
    /// newest; statuses cycle through all five. Posted in a shuffled order.
    pub fn plan(&self, items: &[String], events: usize, first_k: usize) -> Vec<Planned> {
        let mut plan: Vec<Planned> = (0..events)
            .map(|i| {
                let id = &items[i % items.len()];
                let k = first_k + i / items.len();
                Planned {
                    wstg_id: id.clone(),
                    status: Status::ALL[(i + k * 2) % 5],
                    notes: format!("{} {id} v{k}", self.case),
                    at: self.base + chrono::Duration::seconds(k as i64),
                    key: format!("{}-{id}-{k}", self.case),
                }
            })
            .collect();
        plan.sort_by_key(|p| {
            p.key.bytes().fold(0u64, |h, b| {
                h.wrapping_mul(1_099_511_628_211).wrapping_add(u64::from(b))
            })
        });
        plan
    }

    /// Posts every planned change, `concurrency` at a time, retrying 503s
    /// after their Retry-After and dropped connections, with the same
    /// Idempotency-Key, until accepted. Panics on any other answer.
    pub async fn post_all(&mut self, plan: Vec<Planned>, concurrency: usize) {
        let url = format!("{}/api/wstg/sync", self.ingest_url);
        let http = self.http.clone();
        let results: Vec<(Planned, Posted)> = futures::stream::iter(plan)
            .map(|p| {
                let (http, url) = (http.clone(), url.clone());
                async move {
                    let r = post_until_accepted(&http, &url, &p).await;
                    (p, r)
                }
            })
            .buffer_unordered(concurrency)
            .collect()
            .await;
        for (plan, r) in results {
            let (event_id, unavailable) = r.unwrap_or_else(|e| panic!("{}: {e}", plan.key));
            self.unavailable += unavailable;
            self.sent.push(Sent { event_id, plan });
        }
    }

    /// The last accepted change of each item.
    pub fn expected(&self) -> HashMap<String, Sent> {
        let mut last: HashMap<String, Sent> = HashMap::new();
        for s in &self.sent {
            match last.get(&s.plan.wstg_id) {
                Some(prev) if prev.plan.at >= s.plan.at => {}
                _ => {
                    last.insert(s.plan.wstg_id.clone(), s.clone());
                }
            }
        }
        last
    }

    pub async fn sim_put(&self, what: &str, body: Value) {
        let r = self
            .http
            .put(format!("{}/__sim/{what}", self.dojo_url))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "PUT /__sim/{what}: {}", r.status());
    }

    pub async fn faults(&self, body: Value) {
        self.sim_put("faults", body).await;
    }

    pub async fn clear_faults(&self) {
        self.sim_put("faults", json!({})).await;
        self.sim_put("latency", json!({"ms": 0})).await;
    }

    pub async fn sim_stats(&self) -> Value {
        test_support::sim_stats::fetch(&self.http, &self.dojo_url).await
    }

    /// `GET /api/wstg/status` of the ingest.
    pub async fn status(&self) -> Value {
        self.http
            .get(format!("{}/api/wstg/status", self.ingest_url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Runs `wstgctl` with the services' environment; returns its exit
    /// success and stdout.
    pub async fn wstgctl(&self, args: &[&str]) -> (bool, String) {
        let mut cmd = tokio::process::Command::new(bin("wstgctl"));
        cmd.args(args).stdin(Stdio::null()).stderr(Stdio::inherit());
        for (k, _) in std::env::vars() {
            if k.starts_with("WSTG_") && !k.starts_with("WSTG_TEST_") && k != "WSTG_BIN_DIR" {
                cmd.env_remove(k);
            }
        }
        cmd.envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let out = tokio::time::timeout(Duration::from_secs(30), cmd.output())
            .await
            .expect("wstgctl finishes")
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    }

    /// Pending entries of the worker process `pid`.
    pub async fn pending_of(&self, pid: u32) -> usize {
        pending_of(&self.queue, pid).await
    }

    /// One look at the whole system. Items in `not_applied` are expected to
    /// be dead-lettered instead, so their state is not checked (their
    /// findings still count for duplicates).
    pub async fn observe(&self, not_applied: &HashSet<String>) -> Observation {
        let expected = self.expected();
        let findings = dojo_findings(&self.http, &self.dojo_url).await;
        let mut by_item: HashMap<String, Vec<Value>> = HashMap::new();
        for f in findings {
            let id = f["unique_id_from_tool"].as_str().unwrap_or("").to_owned();
            by_item.entry(id).or_default().push(f);
        }
        let mut wrong = Vec::new();
        let mut wrong_items = HashSet::new();
        let mut applied = 0;
        for (id, last) in &expected {
            if not_applied.contains(id) {
                continue;
            }
            let p = &last.plan;
            let ok = by_item.get(id).is_some_and(|fs| {
                fs.iter().any(|f| {
                    flags_of(f) == flags_for(p.status)
                        && tags_of(f).contains(&status_tag(p.status))
                        && f["mitigation"] == json!(p.notes)
                })
            });
            if ok {
                applied += 1;
            } else {
                let seen = by_item
                    .get(id)
                    .and_then(|fs| fs.first())
                    .map(|f| format!("{} / {:?}", f["mitigation"], tags_of(f)))
                    .unwrap_or_else(|| "no finding".to_owned());
                wrong_items.insert(id.clone());
                wrong.push(format!(
                    "{id}: want {} {:?}, have {seen}",
                    p.status.as_str(),
                    p.notes
                ));
            }
        }
        wrong.sort();
        let duplicated = by_item.values().map(|fs| fs.len().saturating_sub(1)).sum();
        let stray = by_item
            .keys()
            .filter(|id| !expected.contains_key(*id))
            .count();
        Observation {
            items: expected.len() - not_applied.len().min(expected.len()),
            applied,
            wrong,
            wrong_items,
            not_applied: not_applied.clone(),
            duplicated,
            stray,
            queue: self.queue.stats().await.ok(),
            dlq: self.queue.dlq_list(10_000).await.unwrap_or_default(),
        }
    }

    /// Waits until every expected effect is in DefectDojo and the queue is
    /// quiet (or `timeout`), and says when each happened, counted from `t0`.
    pub async fn settle(
        &self,
        not_applied: &HashSet<String>,
        t0: Instant,
        timeout: Duration,
    ) -> Settled {
        let deadline = Instant::now() + timeout;
        let mut applied_after = None;
        loop {
            let obs = self.observe(not_applied).await;
            let done = obs.wrong.is_empty() && obs.duplicated == 0;
            if done && applied_after.is_none() {
                applied_after = Some(t0.elapsed());
            }
            if !done {
                applied_after = None;
            }
            let quiet = obs
                .queue
                .as_ref()
                .is_some_and(|q| q.stream_len == 0 && q.pending == 0 && q.delayed == 0);
            if !(done && quiet) && Instant::now() >= deadline {
                eprintln!(
                    "[{}] not settled after {timeout:?}: {} wrong {:?}, {} duplicated, queue {:?}, {} dead letters",
                    self.case,
                    obs.wrong.len(),
                    obs.wrong.iter().take(5).collect::<Vec<_>>(),
                    obs.duplicated,
                    obs.queue,
                    obs.dlq.len()
                );
            }
            if (done && quiet) || Instant::now() >= deadline {
                return Settled {
                    quiet_after: (done && quiet).then(|| t0.elapsed()),
                    applied_after,
                    obs,
                };
            }
            // Polling: each look lists every finding, so not every 20 ms.
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Waits until the queue is quiet and the dead-letter queue holds `dlq`
    /// entries, without asking DefectDojo anything (for phases where the
    /// emulator's injected faults would answer the observer too).
    pub async fn wait_queue(&self, dlq: u64, timeout: Duration) -> QueueStats {
        test_support::eventually_async(timeout, "queue quiet with the dead letters", || async {
            let q = self.queue.stats().await.ok()?;
            (q.stream_len == 0 && q.pending == 0 && q.delayed == 0 && q.dlq == dlq).then_some(q)
        })
        .await
    }

    /// The standard end-of-case assertions and the report row.
    pub fn check_and_report(
        &self,
        fault: &str,
        settled: &Settled,
        expected_dlq: &[ExpectDead],
        notes: &str,
    ) {
        let obs = &settled.obs;
        // An event is applied when its item ends in DefectDojo in the state
        // of the item's last accepted event (its own, or a newer one that
        // superseded it: newest wins).
        let applied = self
            .sent
            .iter()
            .filter(|s| {
                !obs.wrong_items.contains(&s.plan.wstg_id)
                    && !obs.not_applied.contains(&s.plan.wstg_id)
            })
            .count();
        let row = Row {
            fault: fault.to_owned(),
            accepted: self.sent.len(),
            applied,
            items: obs.items,
            applied_items: obs.applied,
            dlq: obs.dlq.len(),
            lost: obs.wrong.len(),
            duplicated: obs.duplicated + obs.stray,
            drain: settled.applied_after,
            quiet: settled.quiet_after,
            notes: notes.to_owned(),
        };
        row.write(self.case);
        assert!(
            obs.wrong.is_empty(),
            "{fault}: {} items lost (finding not in the last accepted state): {:#?}",
            obs.wrong.len(),
            obs.wrong
        );
        assert_eq!(obs.duplicated, 0, "{fault}: duplicated findings");
        assert_eq!(obs.stray, 0, "{fault}: findings for items never sent");
        let q = obs.queue.clone().unwrap_or_default();
        assert!(
            settled.quiet_after.is_some(),
            "{fault}: the queue never went quiet: {q:?}"
        );
        check_dlq(fault, &obs.dlq, expected_dlq);
    }

    /// Stops every process (workers with SIGTERM first).
    pub async fn stop(mut self) {
        for w in &self.workers {
            let _ = w.signal("TERM");
        }
        for w in &mut self.workers {
            let _ = w.wait(Duration::from_secs(30)).await;
        }
        let _ = self.ingest.signal("TERM");
        let _ = self.dojo.signal("TERM");
        let _ = self.ingest.wait(Duration::from_secs(15)).await;
        let _ = self.dojo.wait(Duration::from_secs(15)).await;
        let mut conn = self.queue.connection();
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{}:*", self.prefix))
            .query_async(&mut conn)
            .await
            .unwrap_or_default();
        if !keys.is_empty() {
            let _ = redis::cmd("DEL")
                .arg(keys)
                .query_async::<()>(&mut conn)
                .await;
        }
    }
}

/// Pending entries of the worker process `pid` (its consumer name holds the
/// pid: host-pid-random).
pub async fn pending_of(queue: &Queue, pid: u32) -> usize {
    let reply: Result<redis::streams::StreamInfoConsumersReply, _> = redis::cmd("XINFO")
        .arg("CONSUMERS")
        .arg(&queue.keys().events)
        .arg(wstg_queue::GROUP)
        .query_async(&mut queue.connection())
        .await;
    let tag = format!("-{pid}-");
    reply
        .map(|r| {
            r.consumers
                .iter()
                .filter(|c| c.name.contains(&tag))
                .map(|c| c.pending)
                .sum()
        })
        .unwrap_or(0)
}

/// (event id, 503s seen), or why the change was not accepted.
type Posted = Result<(String, u64), String>;

/// Posts one change until the ingest accepts it.
async fn post_until_accepted(http: &reqwest::Client, url: &str, p: &Planned) -> Posted {
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut unavailable = 0;
    loop {
        let r = http
            .post(url)
            .header("Idempotency-Key", &p.key)
            .json(&p.body())
            .send()
            .await;
        match r {
            // 202 queued, or 200 "duplicate": an earlier try got through.
            Ok(r) if r.status() == 202 || r.status() == 200 => {
                let v: Value = r.json().await.map_err(|e| e.to_string())?;
                let id = v["event_id"]
                    .as_str()
                    .ok_or(format!("no event_id in {v}"))?;
                return Ok((id.to_owned(), unavailable));
            }
            Ok(r) if r.status() == 503 => {
                unavailable += 1;
                let after = r
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<u64>().ok())
                    .ok_or("503 without Retry-After")?;
                tokio::time::sleep(Duration::from_secs(after.min(5))).await;
            }
            Ok(r) => {
                let status = r.status();
                return Err(format!("{status}: {}", r.text().await.unwrap_or_default()));
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
        if Instant::now() >= deadline {
            return Err("not accepted within 120 s".into());
        }
    }
}

pub struct Observation {
    /// Items whose effect is expected in DefectDojo.
    pub items: usize,
    pub applied: usize,
    /// Items whose finding is missing or not in the last accepted state.
    pub wrong: Vec<String>,
    pub wrong_items: HashSet<String>,
    /// Items expected in the dead-letter queue rather than in DefectDojo.
    pub not_applied: HashSet<String>,
    /// Findings beyond the first of each item.
    pub duplicated: usize,
    /// Findings of items never sent.
    pub stray: usize,
    pub queue: Option<QueueStats>,
    pub dlq: Vec<DeadLetter>,
}

pub struct Settled {
    pub obs: Observation,
    /// When every expected effect was first (and stayed) in DefectDojo.
    pub applied_after: Option<Duration>,
    /// When, in addition, the queue held nothing: stream, pending, delayed.
    pub quiet_after: Option<Duration>,
}

/// What a dead letter must be.
#[derive(Debug, Clone)]
pub enum ExpectDead {
    /// The event with this id, whose error contains every one of `error`.
    Event {
        event_id: String,
        attempts: Option<u32>,
        error: Vec<&'static str>,
    },
    /// A payload that is not an event, stored as sent.
    Raw { raw: String, error: &'static str },
}

pub fn check_dlq(fault: &str, dlq: &[DeadLetter], expected: &[ExpectDead]) {
    let describe = |d: &DeadLetter| {
        format!(
            "{} {:?} attempts={} error={}",
            d.id,
            d.event_id(),
            d.attempts,
            d.error
        )
    };
    assert_eq!(
        dlq.len(),
        expected.len(),
        "{fault}: the dead-letter queue holds exactly the permanent failures; it holds {:#?}, expected {expected:#?}",
        dlq.iter().map(describe).collect::<Vec<_>>()
    );
    for e in expected {
        let found = dlq.iter().find(|d| match e {
            ExpectDead::Event { event_id, .. } => {
                d.event_id().map(|u| u.to_string()).as_deref() == Some(event_id)
            }
            ExpectDead::Raw { raw, .. } => d.raw == *raw,
        });
        let d = found.unwrap_or_else(|| panic!("{fault}: no dead letter for {e:?}"));
        match e {
            ExpectDead::Event {
                attempts, error, ..
            } => {
                if let Some(a) = attempts {
                    assert_eq!(d.attempts, *a, "{fault}: attempts of {}", describe(d));
                }
                for part in error {
                    assert!(
                        d.error.contains(part),
                        "{fault}: '{part}' not in {}",
                        describe(d)
                    );
                }
            }
            ExpectDead::Raw { error, .. } => {
                assert!(
                    d.error.contains(error),
                    "{fault}: '{error}' not in {}",
                    describe(d)
                );
            }
        }
    }
}

/// One line of the table in docs/reliability.md.
pub struct Row {
    pub fault: String,
    pub accepted: usize,
    pub applied: usize,
    pub items: usize,
    pub applied_items: usize,
    pub dlq: usize,
    pub lost: usize,
    pub duplicated: usize,
    pub drain: Option<Duration>,
    pub quiet: Option<Duration>,
    pub notes: String,
}

fn secs(d: Option<Duration>) -> String {
    d.map(|d| format!("{:.1} s", d.as_secs_f64()))
        .unwrap_or_else(|| "never".to_owned())
}

impl Row {
    pub fn markdown(&self) -> String {
        format!(
            "| {} | {} | {} ({} / {} items) | {} | {} | {} | {} | {} | {} |",
            self.fault,
            self.accepted,
            self.applied,
            self.applied_items,
            self.items,
            self.dlq,
            self.lost,
            self.duplicated,
            secs(self.drain),
            secs(self.quiet),
            self.notes
        )
    }

    fn write(&self, case: &str) {
        let line = self.markdown();
        println!("{line}");
        let dir = bin_dir().join("fault-report");
        let _ = std::fs::create_dir_all(&dir);
        let _ = std::fs::write(dir.join(format!("{case}.md")), format!("{line}\n"));
    }
}
