//! wstg-bridge as real processes (wstg-ingest, two wstg-workers, one
//! wstg-poller, and wstgctl) against a [`Backend`], with real Redis (a fresh
//! key prefix) and a fresh database.

use std::time::Duration;

use serde_json::{json, Value};
use test_support::process::{free_port, Proc};
use test_support::{eventually_async, FreshDb};
use wstg_domain::Status;

use crate::backend::Backend;

/// How long a real DefectDojo may take to show a change (PATCH ~70 ms, a
/// list of a test ~250 ms, a poll pass every second).
/// Generous: a real DefectDojo on two shared cores answers a write in
/// 0.1-0.5 s, and a scenario queues a whole checklist at once.
pub const WAIT: Duration = Duration::from_secs(180);

pub struct Bridge {
    pub url: String,
    pub prefix: String,
    pub project: String,
    pub env: Vec<(String, String)>,
    pub http: reqwest::Client,
    ingest: Proc,
    _workers: Vec<Proc>,
    _poller: Proc,
    _db: FreshDb,
}

/// A project name no earlier run used (scenarios never share DefectDojo
/// products, so a staging DefectDojo needs no reset).
pub fn fresh_project(what: &str) -> String {
    format!(
        "it-{what}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    )
}

impl Bridge {
    /// `{ingest}` in an `extra` value is replaced by wstg-ingest's base URL.
    pub async fn start(dojo: &Backend, project: &str, extra: &[(&str, &str)]) -> Bridge {
        test_support::init_test_logging();
        let db = test_support::fresh_sqlite();
        wstg_harness::migrate(&db).await;
        let prefix = test_support::unique_prefix();
        let port = free_port();
        let addr = format!("127.0.0.1:{port}");
        let mut env = crate::common::service_env(&prefix, &db.url, &dojo.url, &addr);
        for (k, v) in [
            ("WSTG_DOJO_TOKEN", dojo.token.as_str()),
            ("WSTG_DEFAULT_PROJECT", project),
            ("WSTG_POLLER_INTERVAL_SECS", "1"),
            // Notes, files and tag edits move no status time in DefectDojo:
            // only the full reads see them (docs/sync-rules.md, polling).
            ("WSTG_POLLER_FULL_SCAN_SECS", "2"),
            ("WSTG_DOJO_TIMEOUT_SECS", "10"),
            ("WSTG_WORKER_CLAIM_MIN_IDLE_SECS", "30"),
            ("WSTG_INGEST_WEBHOOK_KEY", "integration-webhook-key"),
            ("WSTG_INGEST_ADMIN_TOKEN", "integration-admin-token"),
        ]
        .into_iter()
        .chain(extra.iter().copied())
        {
            env.retain(|(ek, _)| ek != k);
            env.push((
                k.to_owned(),
                v.replace("{ingest}", &format!("http://{addr}")),
            ));
        }
        let mut ingest = Proc::start("wstg-ingest", &[], &env).unwrap();
        ingest
            .wait_for_line("listening on", Duration::from_secs(30))
            .await
            .unwrap();
        let mut workers = Vec::new();
        for _ in 0..2 {
            let mut w = Proc::start("wstg-worker", &[], &env).unwrap();
            w.wait_for_line("wstg-worker started", Duration::from_secs(30))
                .await
                .unwrap();
            workers.push(w);
        }
        let mut poller = Proc::start("wstg-poller", &[], &env).unwrap();
        poller
            .wait_for_line("wstg-poller started", Duration::from_secs(30))
            .await
            .unwrap();
        Bridge {
            url: format!("http://{addr}"),
            prefix,
            project: project.to_owned(),
            env,
            // The services take the harness's WSTG_INGEST_TOKEN (service_env).
            http: crate::common::authed_client(),
            ingest,
            _workers: workers,
            _poller: poller,
            _db: db,
        }
    }

    /// Kills wstg-ingest (see [`Bridge::start_ingest`]).
    pub async fn kill_ingest(&mut self) {
        self.ingest.signal("KILL").unwrap();
        let _ = self.ingest.wait(Duration::from_secs(10)).await;
    }

    /// Starts wstg-ingest again on the same address.
    pub async fn start_ingest(&mut self) {
        let mut ingest = Proc::start("wstg-ingest", &[], &self.env).unwrap();
        ingest
            .wait_for_line("listening on", Duration::from_secs(30))
            .await
            .unwrap();
        self.ingest = ingest;
    }

    /// `GET /api/wstg/status`.
    pub async fn status(&self) -> Value {
        self.http
            .get(format!("{}/api/wstg/status", self.url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// A tracker change, accepted.
    pub async fn set(&self, wstg_id: &str, status: Status, notes: &str) {
        let body = json!({"wstg_id": wstg_id, "status": status.as_str(), "notes": notes});
        let r = self
            .http
            .post(format!("{}/api/wstg/sync", self.url))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 202, "{body}");
    }

    pub async fn item(&self, wstg_id: &str) -> Value {
        self.http
            .get(format!("{}/api/wstg/items/{wstg_id}", self.url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    pub async fn items(&self) -> Vec<Value> {
        let v: Value = self
            .http
            .get(format!("{}/api/wstg/items", self.url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v["items"].as_array().cloned().unwrap()
    }

    /// The item once it is linked to a finding and shows `status`.
    pub async fn linked(&self, wstg_id: &str, status: Status) -> (Value, i64) {
        eventually_async(
            WAIT,
            &format!("{wstg_id} linked and {}", status.as_str()),
            || async {
                let item = self.item(wstg_id).await;
                let id = item["finding_id"].as_i64()?;
                (item["status"] == status.as_str() && item["sync_state"] == "synced")
                    .then_some((item, id))
            },
        )
        .await
    }

    /// The tracker shows `status` for `wstg_id`.
    pub async fn shows(&self, wstg_id: &str, status: Status) -> Value {
        eventually_async(
            WAIT,
            &format!("the tracker to show {wstg_id} {}", status.as_str()),
            || async {
                let item = self.item(wstg_id).await;
                (item["status"] == status.as_str()).then_some(item)
            },
        )
        .await
    }

    /// Nothing queued or waiting for a retry.
    pub async fn settle(&self) {
        eventually_async(WAIT, "the queue to drain", || async {
            test_support::redis_env::queue_idle(&self.prefix)
                .await
                .then_some(())
        })
        .await;
    }

    /// Waits for `n` more poller passes (each writes a new heartbeat).
    pub async fn poller_passes(&self, n: usize) {
        let key = test_support::redis_env::key(&self.prefix, "poller:heartbeat");
        let mut seen = test_support::redis_env::get(&key).await;
        for i in 0..n {
            seen = Some(
                eventually_async(WAIT, &format!("poller pass {}", i + 1), || {
                    let prev = seen.clone();
                    let key = key.clone();
                    async move {
                        let now = test_support::redis_env::get(&key).await?;
                        (Some(&now) != prev.as_ref()).then_some(now)
                    }
                })
                .await,
            );
        }
    }

    /// Runs wstgctl with the services' environment: (success, stdout, stderr).
    pub async fn wstgctl(&self, args: &[&str]) -> (bool, String, String) {
        let mut cmd = tokio::process::Command::new(test_support::process::bin("wstgctl"));
        cmd.args(args);
        for (k, _) in std::env::vars() {
            if k.starts_with("WSTG_") && !k.starts_with("WSTG_TEST_") {
                cmd.env_remove(k);
            }
        }
        let out = cmd
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .output()
            .await
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// The dead letters, as `wstgctl dlq list` prints them.
    pub async fn dead_letters(&self) -> Vec<Value> {
        let (ok, out, err) = self.wstgctl(&["--output", "json", "dlq", "list"]).await;
        assert!(ok, "wstgctl dlq list: {err}");
        serde_json::from_str::<Value>(&out)
            .unwrap()
            .as_array()
            .cloned()
            .unwrap()
    }
}
