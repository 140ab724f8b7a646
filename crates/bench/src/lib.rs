//! Shared pieces of the benchmark binaries.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::time::Duration;

use hdrhistogram::Histogram;
use tokio_util::sync::CancellationToken;
use wstg_settings::Settings;

pub const DOJO_TOKEN: &str = "bench-dojo-token";

/// wstg-bridge in this process (ingest + workers) against an in-process
/// emulator over loopback TCP, with a fresh SQLite store and Redis prefix.
pub struct BenchSystem {
    pub sim: dojo_sim::RunningSim,
    pub ingest_url: String,
    pub prefix: String,
    pub http: reqwest::Client,
    shutdown: CancellationToken,
    _db: test_support::FreshDb,
}

impl BenchSystem {
    pub async fn start(workers: usize, dojo_latency: Duration) -> BenchSystem {
        Self::start_with(workers, dojo_latency, 0, &[]).await
    }

    /// With `pollers` pollers and extra settings (name, value).
    pub async fn start_with(
        workers: usize,
        dojo_latency: Duration,
        pollers: usize,
        extra_env: &[(&str, &str)],
    ) -> BenchSystem {
        let mut cfg = dojo_sim::SimConfig::new(DOJO_TOKEN);
        cfg.latency = dojo_latency;
        let sim = dojo_sim::spawn(cfg).await.unwrap();
        let db = test_support::fresh_sqlite();
        let prefix = test_support::unique_prefix();
        let env: HashMap<String, String> = [
            ("WSTG_REDIS_URL", test_support::redis_url()),
            ("WSTG_KEY_PREFIX", prefix.clone()),
            ("WSTG_DATABASE_URL", db.url.clone()),
            ("WSTG_DOJO_URL", sim.base_url.clone()),
            ("WSTG_DOJO_TOKEN", DOJO_TOKEN.to_owned()),
            ("WSTG_INGEST_ADDR", "127.0.0.1:0".to_owned()),
            ("WSTG_LOG", "error".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .chain(
            extra_env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string())),
        )
        .collect();
        let settings = Settings::load_from(|k| env.get(k).cloned()).unwrap();
        let app = wstg_ingest::Application::build(&settings).await.unwrap();
        let ingest_url = format!("http://127.0.0.1:{}", app.port());
        tokio::spawn(app.run_until_stopped());
        let shutdown = CancellationToken::new();
        for _ in 0..workers {
            let w = wstg_worker::Worker::build(&settings).await.unwrap();
            tokio::spawn(w.run(shutdown.clone()));
        }
        for _ in 0..pollers {
            let p = wstg_poller::Poller::build(&settings).await.unwrap();
            tokio::spawn(p.run(shutdown.clone()));
        }
        BenchSystem {
            sim,
            ingest_url,
            prefix,
            http: reqwest::Client::new(),
            shutdown,
            _db: db,
        }
    }

    pub async fn post(&self, body: serde_json::Value) {
        let r = self
            .http
            .post(format!("{}/api/wstg/sync", self.ingest_url))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 202);
    }

    pub async fn sim_stats(&self) -> (u64, u64) {
        let s: serde_json::Value = self
            .http
            .get(format!("{}/__sim/stats", self.sim.base_url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        (
            s["requests"].as_u64().unwrap(),
            s["writes"].as_u64().unwrap(),
        )
    }

    pub async fn finding(&self, wstg_id: &str) -> Option<serde_json::Value> {
        let body: serde_json::Value = self
            .http
            .get(format!("{}/api/v2/findings/?limit=1000", self.sim.base_url))
            .header("Authorization", format!("Token {DOJO_TOKEN}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        body["results"]
            .as_array()?
            .iter()
            .find(|f| f["unique_id_from_tool"] == serde_json::json!(wstg_id))
            .cloned()
    }

    /// The tracker's view of one item (`GET /api/wstg/items/{id}`).
    pub async fn item(&self, wstg_id: &str) -> serde_json::Value {
        self.http
            .get(format!("{}/api/wstg/items/{wstg_id}", self.ingest_url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    pub async fn stop(self) {
        self.shutdown.cancel();
        let _ = test_support::redis_env::delete_prefix(&self.prefix).await;
        self.sim.stop().await;
    }
}

pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).unwrap()
}

/// "p50 1.23 ms, p99 4.56 ms, max 7.89 ms" from a histogram of microseconds.
pub fn summary(h: &Histogram<u64>) -> String {
    let ms = |us: u64| us as f64 / 1000.0;
    format!(
        "n {}, p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        h.len(),
        ms(h.value_at_quantile(0.5)),
        ms(h.value_at_quantile(0.9)),
        ms(h.value_at_quantile(0.99)),
        ms(h.max())
    )
}
