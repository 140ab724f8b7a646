//! A whole wstg-bridge (ingest, workers, pollers) in one process, against
//! the DefectDojo emulator over TCP, real Redis (a fresh key prefix) and a
//! fresh database; and the environment to start the real binaries with.
//! The system tests (tests/) and the benchmarks (crates/bench) share it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use serde_json::{json, Value};
use test_support::FreshDb;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use wstg_settings::Settings;

pub const DOJO_TOKEN: &str = "system-test-dojo-token";

/// The configured tracker token (`WSTG_INGEST_TOKEN`) of every system under
/// test: the ingest refuses anonymous calls by default.
pub const INGEST_TOKEN: &str = "system-test-ingest-token";

/// An HTTP client that sends [`INGEST_TOKEN`] on every request.
pub fn authed_client() -> reqwest::Client {
    client_with_token(INGEST_TOKEN)
}

/// An HTTP client that sends `token` as its bearer token on every request.
pub fn client_with_token(token: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {token}").parse().expect("a header value"),
    );
    reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .expect("an HTTP client")
}

/// The environment the services read, for this system.
pub fn service_env(
    prefix: &str,
    db_url: &str,
    dojo_url: &str,
    ingest_addr: &str,
) -> Vec<(String, String)> {
    [
        ("WSTG_REDIS_URL", test_support::redis_url()),
        ("WSTG_REDIS_KEY_PREFIX", prefix.to_owned()),
        ("WSTG_DATABASE_URL", db_url.to_owned()),
        ("WSTG_DOJO_URL", dojo_url.to_owned()),
        ("WSTG_DOJO_TOKEN", DOJO_TOKEN.to_owned()),
        ("WSTG_INGEST_ADDR", ingest_addr.to_owned()),
        ("WSTG_INGEST_TOKEN", INGEST_TOKEN.to_owned()),
        ("WSTG_WORKER_BLOCK_MS", "500".to_owned()),
        ("WSTG_DOJO_TIMEOUT_SECS", "5".to_owned()),
        ("WSTG_WORKER_CLAIM_MIN_IDLE_SECS", "15".to_owned()),
        // WSTG_TEST_SERVICE_LOG_LEVEL (e.g. `debug`) turns the services'
        // logs up while a failing test is looked into (with WSTG_TEST_LOG_DIR).
        (
            "WSTG_LOG_LEVEL",
            std::env::var("WSTG_TEST_SERVICE_LOG_LEVEL").unwrap_or_else(|_| "warn".to_owned()),
        ),
        // The suites and benchmarks send thousands of requests from one
        // address; the rate limit has its own test (tests/bounds.rs).
        ("WSTG_LIMITS_RATE_PER_SEC", "1000000".to_owned()),
        ("WSTG_LIMITS_RATE_BURST", "1000000".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

pub fn settings_from(env: &[(String, String)]) -> Settings {
    Settings::load_from(env.iter().cloned()).expect("valid test settings")
}

/// wstg-bridge running inside the test process.
pub struct System {
    pub sim: dojo_sim::RunningSim,
    pub ingest_url: String,
    pub prefix: String,
    pub settings: Settings,
    /// Sends the configured tracker token on every request.
    pub http: reqwest::Client,
    /// The environment the services were configured with (for wstgctl).
    pub env: Vec<(String, String)>,
    shutdown: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
    _db: FreshDb,
}

/// Creates and migrates a fresh database, as `wstgctl migrate` does before
/// a deployment starts: the services only open a database whose schema is
/// current, and refuse any other.
pub async fn migrate(db: &FreshDb) {
    wstg_store::Store::migrate(&db.url)
        .await
        .unwrap_or_else(|e| panic!("migrating the test's {} database: {e}", db.kind));
}

impl System {
    pub async fn start(db: FreshDb, workers: usize) -> System {
        Self::start_with(db, workers, &[]).await
    }

    pub async fn start_with(db: FreshDb, workers: usize, extra_env: &[(&str, &str)]) -> System {
        Self::start_full(db, workers, 0, extra_env).await
    }

    /// With `pollers` in-process pollers too (two-way sync).
    pub async fn start_full(
        db: FreshDb,
        workers: usize,
        pollers: usize,
        extra_env: &[(&str, &str)],
    ) -> System {
        Self::start_on(
            dojo_sim::SimConfig::new(DOJO_TOKEN),
            db,
            workers,
            pollers,
            extra_env,
        )
        .await
    }

    /// With an emulator configured by `sim` (latency, faults); its token
    /// must be [`DOJO_TOKEN`].
    pub async fn start_on(
        sim: dojo_sim::SimConfig,
        db: FreshDb,
        workers: usize,
        pollers: usize,
        extra_env: &[(&str, &str)],
    ) -> System {
        test_support::init_test_logging();
        migrate(&db).await;
        let sim = dojo_sim::spawn(sim).await.unwrap();
        let prefix = test_support::unique_prefix();
        let mut env = service_env(&prefix, &db.url, &sim.base_url, "127.0.0.1:0");
        env.extend(
            extra_env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string())),
        );
        let settings = settings_from(&env);
        // The tracker token the test configured, else the harness's.
        let token = env
            .iter()
            .rev()
            .find(|(k, _)| k == "WSTG_INGEST_TOKEN")
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| INGEST_TOKEN.to_owned());
        let app = wstg_ingest::Application::build(&settings).await.unwrap();
        let ingest_url = format!("http://127.0.0.1:{}", app.port());
        let shutdown = CancellationToken::new();
        let mut tasks = vec![tokio::spawn(async move {
            let _ = app.run_until_stopped().await;
        })];
        for _ in 0..workers {
            let worker = wstg_worker::Worker::build(&settings).await.unwrap();
            let token = shutdown.clone();
            tasks.push(tokio::spawn(async move {
                worker.run(token).await.unwrap();
            }));
        }
        for _ in 0..pollers {
            let poller = wstg_poller::Poller::build(&settings).await.unwrap();
            let token = shutdown.clone();
            tasks.push(tokio::spawn(async move {
                poller.run(token).await.unwrap();
            }));
        }
        System {
            sim,
            ingest_url,
            prefix,
            settings,
            http: client_with_token(&token),
            env,
            shutdown,
            tasks,
            _db: db,
        }
    }

    pub async fn post_sync(&self, body: &Value) -> reqwest::Response {
        self.http
            .post(format!("{}/api/wstg/sync", self.ingest_url))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// A JSON answer of the ingest at `path` (e.g. `/api/wstg/dashboard`),
    /// with the tracker token.
    pub async fn get_json(&self, path: &str) -> Value {
        self.http
            .get(format!("{}{path}", self.ingest_url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// `GET /api/wstg/items` of the default project.
    pub async fn items(&self) -> Vec<Value> {
        let body = self.get_json("/api/wstg/items").await;
        body["items"].as_array().cloned().unwrap()
    }

    /// One item (`GET /api/wstg/items/{wstg_id}`) of the default project.
    pub async fn item(&self, wstg_id: &str) -> Value {
        self.item_of(None, wstg_id).await
    }

    /// One item of `project` (`None`: the default project), as the tracker
    /// API shows it from the store.
    pub async fn item_of(&self, project: Option<&str>, wstg_id: &str) -> Value {
        let mut req = self
            .http
            .get(format!("{}/api/wstg/items/{wstg_id}", self.ingest_url));
        if let Some(project) = project {
            req = req.query(&[("project", project)]);
        }
        req.send().await.unwrap().json().await.unwrap()
    }

    /// Posts a tracker change that must be accepted.
    pub async fn post_ok(&self, body: &Value) {
        let resp = self.post_sync(body).await;
        assert_eq!(resp.status(), 202, "{body}");
    }

    /// Waits until nothing is queued: every accepted change has been handled
    /// and acknowledged (so the emulator has counted its writes).
    pub async fn settle(&self) {
        test_support::eventually_async(WAIT, "the queue to drain", || async {
            test_support::redis_env::queue_idle(&self.prefix)
                .await
                .then_some(())
        })
        .await;
    }

    /// The emulator's (requests, successful writes) so far.
    pub async fn sim_counts(&self) -> (u64, u64) {
        let s = dojo_stats(&self.http, &self.sim.base_url).await;
        (
            s["requests"].as_u64().unwrap(),
            s["writes"].as_u64().unwrap(),
        )
    }

    /// PATCHes a finding in the emulator, as a DefectDojo user would.
    pub async fn dojo_patch(&self, finding_id: i64, body: &Value) -> Value {
        let resp = self
            .http
            .patch(format!(
                "{}/api/v2/findings/{finding_id}/",
                self.sim.base_url
            ))
            .header("Authorization", format!("Token {DOJO_TOKEN}"))
            .json(body)
            .send()
            .await
            .unwrap();
        assert!(
            resp.status().is_success(),
            "PATCH {body}: {}",
            resp.status()
        );
        resp.json().await.unwrap()
    }

    /// Audit rows, newest first (through the store, as wstgctl audit does).
    pub async fn audit(&self) -> Vec<wstg_store::AuditEntry> {
        let store = wstg_store::Store::connect(&self.settings.database.url)
            .await
            .unwrap();
        store.recent_audit(None, 1000).await.unwrap()
    }

    pub async fn stop(self) {
        self.shutdown.cancel();
        for t in self.tasks {
            t.abort();
        }
        let _ = test_support::redis_env::delete_prefix(&self.prefix).await;
        self.sim.stop().await;
    }
}

/// Every finding the emulator holds.
pub async fn dojo_findings(http: &reqwest::Client, dojo_url: &str) -> Vec<Value> {
    let body: Value = http
        .get(format!("{dojo_url}/api/v2/findings/?limit=100000&o=id"))
        .header("Authorization", format!("Token {DOJO_TOKEN}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["results"].as_array().cloned().unwrap_or_default()
}

/// The emulator's finding for a WSTG id (by unique_id_from_tool).
pub async fn dojo_finding(http: &reqwest::Client, dojo_url: &str, wstg_id: &str) -> Option<Value> {
    dojo_findings(http, dojo_url)
        .await
        .into_iter()
        .find(|f| f["unique_id_from_tool"] == json!(wstg_id))
}

/// The emulator's count of successful writes.
pub async fn dojo_writes(http: &reqwest::Client, dojo_url: &str) -> u64 {
    let stats: Value = http
        .get(format!("{dojo_url}/__sim/stats"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    stats["writes"].as_u64().unwrap()
}

/// Length of the events stream under `prefix`.
pub async fn stream_len(prefix: &str) -> u64 {
    test_support::stream_len(prefix).await
}

/// The status flags of a finding JSON, in the order of `DojoFlags`.
pub fn flags_of(f: &Value) -> wstg_domain::DojoFlags {
    let b = |k: &str| f[k].as_bool().unwrap_or(false);
    wstg_domain::DojoFlags {
        active: b("active"),
        verified: b("verified"),
        false_p: b("false_p"),
        out_of_scope: b("out_of_scope"),
        risk_accepted: b("risk_accepted"),
        is_mitigated: b("is_mitigated"),
        duplicate: b("duplicate"),
        under_review: b("under_review"),
    }
}

pub fn tags_of(f: &Value) -> Vec<String> {
    f["tags"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|t| t.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The emulator's request counts by route, for assertion messages.
pub async fn dojo_stats(http: &reqwest::Client, dojo_url: &str) -> Value {
    test_support::sim_stats::fetch(http, dojo_url).await
}

pub const WAIT: Duration = Duration::from_secs(15);
