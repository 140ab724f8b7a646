//! What `/readyz` checks: Redis and the store answer (each within a
//! second), and what DefectDojo's circuit breaker says.
//!
//! DefectDojo's state is reported but does not make the process unready:
//! readiness tells an orchestrator whether to route to, or keep, this
//! replica, and neither helps while DefectDojo is away. Restarting a worker
//! would throw away its breaker (the new one would hammer DefectDojo again)
//! and its queue position, while the breaker already parks the work and the
//! queue keeps it. Redis or the store away is different: the process can do
//! nothing, and another replica (or a restart) may reach them.
//!
//! The body names what is away and never says why (an error text could
//! carry a host name or a URL): health endpoints are unauthenticated.

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use serde_json::{json, Map, Value};
use wstg_queue::Queue;
use wstg_store::Store;

/// How long each dependency has to answer a probe.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// What the process knows of DefectDojo, as a JSON object (no error text).
pub type DojoProbe = Arc<dyn Fn() -> BoxFuture<'static, Value> + Send + Sync>;

#[derive(Clone)]
pub struct Checks {
    pub service: &'static str,
    pub queue: Queue,
    pub store: Store,
    pub dojo: DojoProbe,
}

/// The outcome of one probe.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub ready: bool,
    pub body: Value,
}

impl Checks {
    pub async fn run(&self) -> Report {
        let redis = tokio::time::timeout(PROBE_TIMEOUT, self.queue.ping());
        let store = tokio::time::timeout(PROBE_TIMEOUT, self.store.ping());
        let (redis, store, dojo) = tokio::join!(redis, store, (self.dojo)());
        let redis_ok = matches!(redis, Ok(Ok(())));
        let store_ok = matches!(store, Ok(Ok(())));
        let mut away = Vec::new();
        if !redis_ok {
            away.push("redis");
        }
        if !store_ok {
            away.push("store");
        }
        let ready = away.is_empty();
        let word = |ok: bool| if ok { "ok" } else { "unreachable" };
        let mut body = Map::new();
        body.insert(
            "status".into(),
            json!(if ready { "ready" } else { "unavailable" }),
        );
        body.insert("service".into(), json!(self.service));
        body.insert("redis".into(), json!(word(redis_ok)));
        body.insert("store".into(), json!(word(store_ok)));
        body.insert("away".into(), json!(away));
        body.insert("dojo".into(), dojo);
        Report {
            ready,
            body: Value::Object(body),
        }
    }
}

/// The worst DefectDojo breaker the workers publish (`closed`, `half_open`,
/// `open`), or `unknown` when none is running or Redis does not answer.
pub async fn workers_breaker(queue: &Queue) -> String {
    tokio::time::timeout(PROBE_TIMEOUT, queue.breaker_report(Duration::from_secs(30)))
        .await
        .ok()
        .and_then(Result::ok)
        .map_or_else(|| "unknown".to_owned(), |r| r.state)
}
