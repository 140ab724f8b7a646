//! Helpers shared by the integration tests: a started simulator and a small JSON client.
#![allow(dead_code)] // each test binary uses a different subset

use std::future::Future;
use std::time::Duration;

use dojo_sim::{RunningSim, SimConfig};
use reqwest::{Method, StatusCode};
use serde_json::Value;

pub const TOKEN: &str = "0123456789abcdef0123456789abcdef01234567";

/// A simulator plus a client authenticated against it.
pub struct Sim {
    pub running: RunningSim,
    pub api: Api,
}

pub async fn start() -> Sim {
    start_with(SimConfig::new(TOKEN)).await
}

pub async fn start_with(config: SimConfig) -> Sim {
    let token = config.token.clone();
    let running = dojo_sim::spawn(config).await.expect("simulator starts");
    let api = Api::new(&running.base_url, &token);
    Sim { running, api }
}

#[derive(Clone)]
pub struct Api {
    pub client: reqwest::Client,
    pub base: String,
    pub token: String,
}

/// A response: status, parsed JSON body (`Value::String` for non-JSON, `""` for no body) and
/// headers.
#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub body: Value,
    pub headers: reqwest::header::HeaderMap,
}

impl Api {
    pub fn new(base: &str, token: &str) -> Self {
        Self {
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("client builds"),
            base: base.to_string(),
            token: token.to_string(),
        }
    }

    pub async fn send(&self, method: Method, path: &str, body: Option<&Value>) -> Resp {
        let mut req = self
            .client
            .request(method, format!("{}{}", self.base, path))
            .header("Authorization", format!("Token {}", self.token))
            .header("Accept", "application/json");
        if let Some(body) = body {
            req = req.json(body);
        }
        let res = req.send().await.expect("request is answered");
        into_resp(res).await
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.send(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Resp {
        self.send(Method::POST, path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: &Value) -> Resp {
        self.send(Method::PATCH, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: &Value) -> Resp {
        self.send(Method::PUT, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Resp {
        self.send(Method::DELETE, path, None).await
    }

    /// `/__sim/` control calls (no auth).
    pub async fn control(&self, method: Method, path: &str, body: Option<&Value>) -> Resp {
        let mut req = self
            .client
            .request(method, format!("{}{}", self.base, path));
        if let Some(body) = body {
            req = req.json(body);
        }
        into_resp(req.send().await.expect("control request is answered")).await
    }
}

pub async fn into_resp(res: reqwest::Response) -> Resp {
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = res.bytes().await.expect("body is readable");
    let body = if bytes.is_empty() {
        Value::String(String::new())
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
    };
    Resp {
        status,
        body,
        headers,
    }
}

/// Polls `check` every 20 ms until it yields `Some`, failing after `timeout`.
pub async fn eventually<T, F, Fut>(timeout: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Creates product type, product, engagement and test (ids as in the recordings when run on
/// a fresh simulator) and returns the test id.
pub async fn hierarchy(api: &Api, enable_simple_risk_acceptance: bool) -> u64 {
    use serde_json::json;
    let pt = api
        .post("/api/v2/product_types/", &json!({"name": "PT"}))
        .await;
    assert_eq!(pt.status, 201, "{:?}", pt.body);
    let product = api
        .post(
            "/api/v2/products/",
            &json!({"name": "App", "description": "d", "prod_type": pt.body["id"],
                    "enable_simple_risk_acceptance": enable_simple_risk_acceptance}),
        )
        .await;
    assert_eq!(product.status, 201, "{:?}", product.body);
    let eng = api
        .post(
            "/api/v2/engagements/",
            &json!({"name": "E", "product": product.body["id"],
                    "target_start": "2026-01-01", "target_end": "2026-12-31"}),
        )
        .await;
    assert_eq!(eng.status, 201, "{:?}", eng.body);
    let test = api
        .post(
            "/api/v2/tests/",
            &json!({"engagement": eng.body["id"], "test_type": 3, "title": "T",
                    "target_start": "2026-01-01T00:00:00Z", "target_end": "2026-12-31T00:00:00Z"}),
        )
        .await;
    assert_eq!(test.status, 201, "{:?}", test.body);
    test.body["id"].as_u64().expect("test id")
}

/// A valid finding body for `test`.
pub fn finding_body(test: u64, title: &str, tags: &[&str]) -> Value {
    serde_json::json!({
        "test": test,
        "found_by": [],
        "severity": "Medium",
        "numerical_severity": "S2",
        "active": true,
        "verified": false,
        "title": title,
        "description": "d",
        "tags": tags,
    })
}
